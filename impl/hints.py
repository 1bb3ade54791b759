"""The hint store: replicas kept for another node (Dynamo paper, section 4.6).

Theory of operation
-------------------
A node that stands in for another -- a sloppy-quorum *fallback*, or a node
handing a key range over after a ring change -- keeps the replica as a *hint*
in its storage engine's hint table, apart from its own versions: the
*intended* node, the key, and the record bytes. :class:`HintStore` owns that
table and an in-memory index of it (hint id -> (intended, key), and the ids per
(intended, key)), rebuilt from the engine at start, so that a hint identical to
one already kept (same intended node, key and record: a duplicated or retried
delivery) is not kept twice. Hints are delivered and deleted by hinted handoff
(:mod:`impl.handoff`).
"""

from __future__ import annotations

import collections

from impl.storage.base import Hint, Storage

__all__ = ["HintStore"]


class HintStore:
    """The hints a node keeps, in ``storage``'s hint table (``stats`` counts the
    duplicates it refused)."""

    def __init__(self, storage: Storage, stats: collections.Counter[str]) -> None:
        self.storage = storage
        self.stats = stats
        # hint id -> (intended node, key): an index of the engine's hint table
        self._index: dict[int, tuple[str, bytes]] = {
            hint.hint_id: (hint.intended, hint.key) for hint in storage.hints()}
        # (intended node, key) -> the ids of its hints: finds an identical hint fast
        self._by_target: dict[tuple[str, bytes], set[int]] = {}
        for hint_id, target in self._index.items():
            self._by_target.setdefault(target, set()).add(hint_id)

    def add(self, intended: str, key: bytes, record: bytes) -> None:
        """Keep a hinted replica, unless an identical one is already kept."""
        target = (intended, key)
        same = self._by_target.get(target)
        if same:
            for other in same:
                held = self.storage.get_hint(other)
                if held is not None and held.record == record:
                    self.stats["duplicate-hints"] += 1
                    return
        hint_id = self.storage.add_hint(intended, key, record)
        self._index[hint_id] = target
        self._by_target.setdefault(target, set()).add(hint_id)

    def remove(self, hint_id: int) -> None:
        """Delete a hint (its intended node acknowledged it, or it was re-addressed)."""
        self.storage.remove_hint(hint_id)
        held = self._index.pop(hint_id, None)
        if held is not None:
            same = self._by_target.get(held)
            if same is not None:
                same.discard(hint_id)
                if not same:
                    del self._by_target[held]

    def intended(self, hint_id: int) -> str | None:
        """The node hint ``hint_id`` is meant for (None: no such hint kept)."""
        held = self._index.get(hint_id)
        return None if held is None else held[0]

    def all(self) -> list[Hint]:
        """Every hint kept, from the engine."""
        return self.storage.hints()
