"""Hinted handoff for the node core (Dynamo paper, section 4.6).

Theory of operation
-------------------
A node that stands in for another (a sloppy-quorum fallback, or a node handing a
key range over after a ring change) keeps the replica as a *hint* in its storage
engine's hint store, apart from its own versions: the intended node, the key and
the record bytes. :class:`HandoffMixin` is that part of :class:`impl.node.Node`:

- ``_add_hint`` / ``_remove_hint`` keep the store and the node's in-memory index
  of it (hint id -> (intended node, key); hints per key; hints per (node, key))
  in step. A hint identical to one already kept (same intended node, key and
  record: a duplicated or retried delivery) is not added twice.
- ``_scan_hints`` (the ``hints`` timer, every ``hint_scan_interval``) sends each
  hint whose intended node is believed reachable (``HintDelivery``), at most
  ``MAX_HINTS_IN_FLIGHT`` awaiting an ack, resending one unanswered for
  ``request_timeout``; a hint for a node that left the ring is re-addressed to
  the key's current top N (``_retarget``); a leaving node whose store is empty
  announces that it left.
- ``_on_hint_delivery`` merges the record into the intended node's own versions
  and acks; ``_on_hint_ack`` deletes the hint **only** when the ack comes from the
  hint's intended node.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING

from impl.effects import Effect, Send
from impl.membership import MemberStatus
from impl.messages import HintAck, HintDelivery

if TYPE_CHECKING:
    from impl.config import ClusterConfig
    from impl.membership import Membership
    from impl.storage.base import Storage
    from impl.versions import Record
    from spec.ring import Partitioning

__all__ = ["MAX_HINTS_IN_FLIGHT", "HandoffMixin"]

MAX_HINTS_IN_FLIGHT = 256  # hint deliveries awaiting an ack, per node


class HandoffMixin:
    """The hinted-handoff part of :class:`impl.node.Node` (see the module docstring)."""

    if TYPE_CHECKING:  # provided by Node
        name: str
        config: ClusterConfig
        storage: Storage
        stats: collections.Counter[str]
        view: Membership
        partitioning: Partitioning
        _hint_index: dict[int, tuple[str, bytes]]
        _hints_by_target: dict[tuple[str, bytes], set[int]]
        _hints_in_flight: dict[int, float]

        @property
        def status(self) -> MemberStatus | None: ...
        def _schedule(self, at: float, kind: str, ident: int = 0) -> None: ...
        def _leave_done(self) -> None: ...
        def _gossip_to(self, peer: str | None, out: list[Effect]) -> None: ...
        def _gossip_peer(self) -> str | None: ...
        def _reachable(self, node: str) -> bool: ...
        def _parse(self, raw: bytes) -> Record: ...
        def _decode(self, key: bytes, raw: bytes) -> Record: ...
        def _merge_into_local(self, key: bytes, record: Record,
                              raw: bytes | None = None) -> None: ...

    def _scan_hints(self, now: float, ident: int, out: list[Effect]) -> None:
        """Deliver every kept hint whose intended node is believed reachable."""
        self._schedule(now + self.config.hint_scan_interval, "hints")
        if not self.config.hinted_handoff:
            return
        retry = self.config.request_timeout
        hints = self.storage.hints()
        if not hints and self.status is MemberStatus.LEAVING:
            self._leave_done()
            self._gossip_to(self._gossip_peer(), out)
            return
        live = set(self.view.live_nodes)
        for hint_id, sent_at in list(self._hints_in_flight.items()):
            if now - sent_at >= retry:  # unanswered: due again, and no longer in flight
                del self._hints_in_flight[hint_id]
        for hint in hints:
            if hint.intended not in live and hint.intended in self.view:
                self._retarget(hint.hint_id, hint.key, hint.record)
                continue
            sent = self._hints_in_flight.get(hint.hint_id)
            if sent is not None and now - sent < retry:
                continue
            if not self._reachable(hint.intended):
                continue
            if len(self._hints_in_flight) >= MAX_HINTS_IN_FLIGHT and sent is None:
                break
            self._hints_in_flight[hint.hint_id] = now
            out.append(Send(hint.intended, HintDelivery(hint.hint_id, hint.key, hint.record)))

    def _retarget(self, hint_id: int, key: bytes, record: bytes) -> None:
        """A hint for a node that left goes to the key's current top N instead."""
        for target in self.partitioning.preference_list(key, self.config.n):
            if target == self.name:
                self._merge_into_local(key, self._parse(record), record)
            else:
                self._add_hint(target, key, record)
        self._remove_hint(hint_id)

    def _on_hint_delivery(self, now: float, src: str, message: HintDelivery,
                          out: list[Effect]) -> None:
        record = self._decode(message.key, message.record)
        self._merge_into_local(message.key, record, message.record)
        out.append(Send(src, HintAck(message.hint_id)))

    def _on_hint_ack(self, now: float, src: str, message: HintAck, out: list[Effect]) -> None:
        """Hint deletion: only the intended node's ack of a hint we hold deletes it."""
        held = self._hint_index.get(message.hint_id)
        if held is not None and held[0] == src:
            self._remove_hint(message.hint_id)

    def _add_hint(self, intended: str, key: bytes, record: bytes) -> None:
        """Keep a hinted replica, unless an identical one (same intended node, key
        and record: a duplicated or retried delivery) is already kept."""
        target = (intended, key)
        same = self._hints_by_target.get(target)
        if same:
            for other in same:
                held = self.storage.get_hint(other)
                if held is not None and held.record == record:
                    self.stats["duplicate-hints"] += 1
                    return
        hint_id = self.storage.add_hint(intended, key, record)
        self._hint_index[hint_id] = target
        self._hints_by_target.setdefault(target, set()).add(hint_id)

    def _remove_hint(self, hint_id: int) -> None:
        self.storage.remove_hint(hint_id)
        self._hints_in_flight.pop(hint_id, None)
        held = self._hint_index.pop(hint_id, None)
        if held is not None:
            same = self._hints_by_target.get(held)
            if same is not None:
                same.discard(hint_id)
                if not same:
                    del self._hints_by_target[held]
