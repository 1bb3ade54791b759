"""The hint store: replicas kept for another node (Dynamo paper, section 4.6).

Theory of operation
-------------------
A node that stands in for another -- a sloppy-quorum *fallback*, or a node
handing a key range over after a ring change -- keeps the replica as a *hint*
in its storage engine's hint table, apart from its own versions: the
*intended* node, the key, and the record bytes. :class:`HintStore` owns that
table (through the node's staged storage, :mod:`impl.staging`: an added or
removed hint is a Write effect) and an in-memory index of it -- how many hints
each (intended, key, record digest) has -- rebuilt from the engine at start, so
that a hint identical to one already kept (a duplicated or retried delivery) is
not kept twice. Hints are delivered and deleted by hinted handoff
(:mod:`impl.handoff`).
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from hashlib import blake2b

from impl.storage.base import Hint, HintHead, Storage

__all__ = ["HintStore"]


def _per_key(kept: collections.Counter[tuple[str, bytes, bytes]]) -> collections.Counter[bytes]:
    """The hints kept per key, from the index by (intended, key, record digest)."""
    keys: collections.Counter[bytes] = collections.Counter()
    for (_, key, _), count in kept.items():
        keys[key] += count
    return keys

def _ignored(key: bytes | None, record: bytes | None) -> None:
    """No one told of the hint store's changes."""


_Target = tuple[str, bytes, bytes]  # (intended, key, digest of the record)


def _target(intended: str, key: bytes, record: bytes) -> _Target:
    return intended, key, blake2b(record, digest_size=16).digest()


class HintStore:
    """The hints a node keeps, in ``storage``'s hint table (``stats`` counts the
    duplicates it refused)."""

    def __init__(self, storage: Storage, stats: collections.Counter[str]) -> None:
        self.storage = storage
        self.stats = stats
        self._kept = self._index()
        #: how many hints of each key are kept (:meth:`holds`)
        self._keys = _per_key(self._kept)
        #: told (key, record) of each hint added, (key, None) of each removed, and
        #: (None, None) at a reload (set by the replica: its merges of a key's hints,
        #: :meth:`impl.replica.Replica.hinted`)
        self.changed: Callable[[bytes | None, bytes | None], None] = _ignored

    def _index(self) -> collections.Counter[_Target]:
        return collections.Counter(_target(hint.intended, hint.key, hint.record)
                                   for hint in self.storage.hints())

    def reload(self) -> None:
        """Rebuild the index from the engine: hints it was told of did not reach the
        engine (a failed persist, a half-handled message), and an index that claims a
        hint the engine lacks would refuse that hint, when it comes again, as a
        duplicate (acknowledged, never kept)."""
        self._kept = self._index()
        self._keys = _per_key(self._kept)
        self.changed(None, None)

    def add(self, intended: str, key: bytes, record: bytes) -> None:
        """Keep a hinted replica, unless an identical one is already kept."""
        target = _target(intended, key, record)
        if self._kept[target] > 0:
            self.stats["duplicate-hints"] += 1
            return
        self.storage.add_hint(intended, key, record)
        self._kept[target] += 1
        self._keys[key] += 1
        self.changed(key, record)

    def remove(self, hint_id: int) -> None:
        """Delete a hint (its intended node acknowledged it, or it was re-addressed)."""
        held = self.storage.get_hint(hint_id)
        if held is None:
            return
        self.storage.remove_hint(hint_id)
        target = _target(held.intended, held.key, held.record)
        self._kept[target] -= 1
        if self._kept[target] <= 0:
            del self._kept[target]
        self._keys[held.key] -= 1
        if self._keys[held.key] <= 0:
            del self._keys[held.key]
        self.changed(held.key, None)

    def holds(self, key: bytes) -> bool:
        """Whether some hint of ``key`` is kept (for any node; from the in-memory
        index, no engine read)."""
        return self._keys[key] > 0

    def count(self, key: bytes) -> int:
        """How many hints of ``key`` are kept (for any node; from the index)."""
        return self._keys[key]

    def records_of(self, key: bytes) -> list[bytes]:
        """The records of the hints kept of ``key`` (for any node), in id order; none
        read from the engine when the index holds no hint of the key."""
        if not self.holds(key):
            return []
        return [hint.record for hint in self.storage.hints_of(key)]

    def get(self, hint_id: int) -> Hint | None:
        """Hint ``hint_id`` (None: no such hint kept)."""
        return self.storage.get_hint(hint_id)

    def intended(self, hint_id: int) -> str | None:
        """The node hint ``hint_id`` is meant for (None: no such hint kept)."""
        held = self.storage.get_hint(hint_id)
        return None if held is None else held.intended

    def all(self) -> list[Hint]:
        """Every hint kept, from the engine (every record read: not for a periodic
        path, see :meth:`heads`)."""
        return self.storage.hints()

    def heads(self, after: int | None, limit: int) -> list[HintHead]:
        """At most ``limit`` kept hints whose id is above ``after`` (None: from the
        first), in id order, without their records: a bounded page from the engine
        (:meth:`impl.storage.base.Storage.hint_heads`)."""
        return self.storage.hint_heads(after, limit)

    def pending_for(self) -> set[str]:
        """The nodes some kept hint is meant for, from the engine without reading
        the hints (:meth:`impl.storage.base.Storage.hint_nodes`; within an input
        that removed a node's last hint, still that node: a superset)."""
        return self.storage.hint_nodes()
