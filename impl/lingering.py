"""Coordinations that answered their client and linger (session 33).

Theory of operation
-------------------
A get answers its client once R nodes replied, then waits for the other nodes it
asked, so that read repair sees every copy (:mod:`impl.get_coordinator`); a put
answers once W targets acknowledged, then keeps sending to the silent targets until
every one acknowledged (:mod:`impl.put_coordinator`). Either ends at the latest at
its request deadline (``request_timeout``). Such a *lingering* coordination has no
client waiting on it, so admission (``max_pending_requests``,
:attr:`impl.node.Node.pending`; ``max_pending_bytes``,
:attr:`impl.node.Node.pending_bytes`) no longer counts it; :class:`Lingering`
bounds them on their own: at most ``limit`` of them (the node's
``max_pending_requests``) holding at most ``byte_limit`` bytes (its
``max_pending_bytes``: a put's encoded record, a get's largest record gathered,
late replies included since session 33's review), and one more ends the oldest
*early*, as its timeouts and deadline would have ended it (read repair of the
stale nodes among the replies it has; a put's silent targets' writes sent to
fallbacks with hints, its later acks ignored as late acks), counted in the node's
``stats["lingering-ended-early"]``. A node thus holds at most twice each limit.

Before, with one node of three down and no fallback left, every answered get
waited its whole request timeout for the down node and counted as a request in
flight: one client reading back to back at ``r=1`` had 6,801 of 21,932 gets
refused 503 "saturated" in 15 s (session 33's user probe). Riak's get FSM lingers
the same way (``waiting_read_repair`` until every vnode answered or
``request_timeout``) and sidejob's ``fsm_limit`` counts it, but Riak asks a
fallback vnode for a down node's partition, so the vnodes it asks answer; a
Cassandra coordinator releases a request's admission (native transport's requests
and bytes in flight) once its response is written, and a late replica's reply only
finds its callback until the callback expires.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

from impl.effects import Effect

__all__ = ["Lingering"]


class Lingering:
    """The coordinations (gets and puts, by op id: a node's op ids are one sequence)
    that answered their client and wait for late replies, oldest answer first, at
    most ``limit`` of them and ``byte_limit`` bytes (see the module docstring).
    ``stats``: the node's counters (``lingering-ended-early``)."""

    def __init__(self, limit: int, byte_limit: int, stats: collections.Counter[str]) -> None:
        self.limit = limit
        self.byte_limit = byte_limit
        self.stats = stats
        #: op id -> the bytes it holds (from its answer on: :meth:`resize`)
        self._sizes: dict[int, int] = {}
        #: the sum of ``_sizes``
        self.bytes = 0
        #: op id -> what ends it early ((now, op id) -> effects: its coordinator's
        #: ``end_early``), in the order they answered
        self._ends: dict[int, Callable[[float, int], list[Effect]]] = {}

    def __len__(self) -> int:
        return len(self._ends)

    def __contains__(self, op_id: object) -> bool:
        return op_id in self._ends

    def add(self, now: float, op_id: int, size: int,
            end: Callable[[float, int], list[Effect]]) -> list[Effect]:
        """Op ``op_id`` answered its client and lingers holding ``size`` bytes,
        ``end(now, op_id)`` ending it early; the effects of ending the oldest ones
        early while more than ``limit`` linger or they hold more than ``byte_limit``
        bytes (a coordination larger than ``byte_limit`` alone ends at once)."""
        self.discard(op_id)  # (never twice: its bytes would count twice)
        self._ends[op_id] = end
        self._sizes[op_id] = size
        self.bytes += size
        return self._trim(now)

    def resize(self, now: float, op_id: int, size: int) -> list[Effect]:
        """Op ``op_id``, if it lingers, holds ``size`` bytes now (a get's late reply
        larger than the records it had when it answered); the effects of ending the
        oldest ones early while they hold more than ``byte_limit`` bytes, as
        :meth:`add`. Session 33's review: counted only when it answered, a get at
        ``r=1`` answered from its coordinator's own small or missing copy held its
        replicas' late records uncounted (4 such gets of 3,000-byte records: 12,000
        bytes held, 0 counted, with a ``byte_limit`` of 4,096)."""
        if op_id not in self._sizes:
            return []
        self.bytes += size - self._sizes[op_id]
        self._sizes[op_id] = size
        return self._trim(now)

    def _trim(self, now: float) -> list[Effect]:
        """End the oldest early while more than ``limit`` linger or they hold more
        than ``byte_limit`` bytes: the effects."""
        out: list[Effect] = []
        while len(self._ends) > self.limit or self.bytes > self.byte_limit:
            oldest = next(iter(self._ends))
            end_oldest = self._ends[oldest]
            self.discard(oldest)
            self.stats["lingering-ended-early"] += 1
            out.extend(end_oldest(now, oldest))
        return out

    def discard(self, op_id: int) -> None:
        """Op ``op_id`` ended (or never lingered): forget it."""
        if self._ends.pop(op_id, None) is not None:
            self.bytes -= self._sizes.pop(op_id)
