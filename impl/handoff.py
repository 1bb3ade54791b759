"""Hinted handoff (Dynamo paper, section 4.6).

Theory of operation
-------------------
:class:`HintedHandoff` delivers the hints of the node's hint store
(:mod:`impl.hints`) to their intended nodes:

- the hint scan (the :class:`~impl.timers.HintScan` timer, every
  ``hint_scan_interval`` seconds) sends each hint whose intended node the failure
  detector believes reachable (``HintDelivery``), at most
  ``MAX_HINTS_IN_FLIGHT`` awaiting an ack, resending one unanswered for
  ``request_timeout`` seconds, twice as long at each delivery of it unanswered
  again, up to the failure detector's ``max_retry_after``, and back to
  ``request_timeout`` once its intended node acknowledges any hint
  (:meth:`HintedHandoff._wait`; session 56); a hint for a node that left the ring is
  re-addressed to the key's current top N; a leaving node whose store is empty
  announces that it left (:meth:`impl.gossip.Gossiper.finish_leaving`), and the
  node whose change every member has seen the handover of announces that it
  settled (:meth:`impl.gossip.Gossiper.settle_if_seen`);
- the intended node merges a ``HintDelivery`` into its own versions and acks it
  (``HintAck``);
- a hint is deleted **only** when the ack comes from its intended node, or, on a
  leaving node, when a fallback that stays acknowledged keeping it for that node
  (:meth:`HintedHandoff._hand_over`: the hint is never held by no live node).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

from impl.config import ClusterConfig
from impl.effects import Effect, Send, SetTimer
from impl.gossip import Gossiper
from impl.hints import HintStore
from impl.membership import MemberStatus
from impl.messages import HintAck, HintDelivery, ReplicaPut, ReplicaPutAck
from impl.replica import Replica
from impl.sloppy_quorum import SloppyQuorum
from impl.timers import HintScan

__all__ = ["MAX_HINTS_IN_FLIGHT", "SCAN_BUDGET", "SCAN_PAGE", "HintedHandoff"]

MAX_HINTS_IN_FLIGHT = 256  # hint deliveries awaiting an ack, per node
#: Hints one scan visits at most, and the heads it reads from the engine at once
#: (:meth:`HintedHandoff._scan_page`): a scan's work and memory are bounded whatever
#: the hint table holds; with fewer hints a scan visits them all, as before.
SCAN_BUDGET = 4096
SCAN_PAGE = 256


class HintedHandoff:
    """Delivery of node ``name``'s hints (see the module docstring)."""

    def __init__(self, name: str, config: ClusterConfig, hints: HintStore, replica: Replica,
                 quorum: SloppyQuorum, gossiper: Gossiper) -> None:
        self.name = name
        self.config = config
        self.hints = hints
        self.replica = replica
        self.quorum = quorum
        self.gossiper = gossiper
        #: how an old owner lets a handed-over copy go (the node: beginning a key epoch
        #: when the copy held its counters, :meth:`impl.reaping.Reaper.let_go`; kv679)
        self.let_go: Callable[[bytes], None] = replica.reap
        #: hint id -> when its delivery was sent (awaiting the intended node's ack)
        self.in_flight: dict[int, float] = {}
        #: hint id -> (how long its delivery waits for an ack before it is sent again,
        #: its intended node, when that was set): a hint whose delivery went
        #: unanswered (:meth:`_unanswered`, :meth:`_wait`; session 56)
        self.backoff: dict[int, tuple[float, str, float]] = {}
        #: node -> when it last acknowledged a hint of this node (an answer as
        #: usual: every back-off for it set before then is void)
        self.acked_at: dict[str, float] = {}
        #: the id of the last hint the last scan visited (None: begin at the first)
        self._cursor: int | None = None
        #: the node's op ids (set by :class:`impl.node.Node`; None: no hand-over)
        self.ids: Iterator[int] | None = None
        #: a leaving node's hints whose delivery went unanswered (:meth:`_hand_over`)
        self.unanswered: set[int] = set()
        #: hint id -> (op id, the fallback that stays it was handed to, when): a
        #: hand-over awaiting that fallback's ``ReplicaPutAck``
        self.handing: dict[int, tuple[int, str, float]] = {}

    def handlers(self) -> dict[type, Callable[[float, str, Any], list[Effect]]]:
        """The peer messages this mechanism handles: type -> handler(now, src, message)."""
        return {HintDelivery: lambda now, src, message: self.on_delivery(src, message, now),
                HintAck: lambda now, src, message: self.on_ack(src, message, now)}

    def first_timers(self, now: float, draw: Callable[[float, float], float]) -> list[Effect]:
        """The first hint scan, at a random point of the first interval."""
        return [SetTimer(HintScan(), now + draw(0, self.config.hint_scan_interval))]

    def timers(self) -> dict[type, Callable[[float, Any], list[Effect]]]:
        """The timers this mechanism handles: type -> handler(now, timer)."""
        return {HintScan: self.on_timer}

    def on_timer(self, now: float, timer: HintScan) -> list[Effect]:
        """The hint scan timer: scan, and set the next scan."""
        return [SetTimer(HintScan(), now + self.config.hint_scan_interval),
                *self.on_scan(now, timer)]

    def on_scan(self, now: float, timer: HintScan) -> list[Effect]:
        """Deliver every kept hint whose intended node is believed reachable (with
        ``timer.hints`` set: exactly those hints, as if their retry time had come)."""
        # (a driver's scan of given hints sends those and does nothing else)
        out: list[Effect] = self.gossiper.settle_if_seen() if timer.hints is None else []
        if not self.config.hinted_handoff:
            return out
        retry = self.config.request_timeout
        pending_for = self.hints.pending_for()
        for key in self.gossiper.scanned(pending_for):
            self.let_go(key)  # handed over: the old owner's copy goes
        out.extend(self.gossiper.handoffs_done(pending_for))
        if (not pending_for and self.gossiper.status is MemberStatus.LEAVING
                and timer.hints is None
                and self.gossiper.transfer_after is None):  # (pending: transfer not begun)
            # (a driver's scan of given hints sends those and does nothing else)
            return [*out, *self.gossiper.finish_leaving(now)]
        if timer.hints is not None:
            for hint_id in timer.hints:
                self.in_flight.pop(hint_id, None)
        for hint_id, sent_at in list(self.in_flight.items()):
            # unanswered: due again, and no longer in flight; so is one sent "later"
            # than now, by a clock since stepped back (the simulator's set_skew; the
            # runtime's clock is monotonic): it waited out the step's length before
            # (session 22's data probe)
            if now - sent_at >= self._wait(hint_id, retry) or sent_at > now:
                del self.in_flight[hint_id]
                intended = self.hints.intended(hint_id)
                if intended is not None:
                    self._unanswered(now, hint_id, intended)
                if self.gossiper.status is MemberStatus.LEAVING and intended is not None:
                    self.unanswered.add(hint_id)  # (withheld, or lost: :meth:`_hand_over`)
                    self.quorum.suspect(intended, now)  # (until heard from again)
        if pending_for:
            self._scan_page(now, pending_for, timer.hints, out)
        if len(self.backoff) > 2 * MAX_HINTS_IN_FLIGHT:  # (bounded: hints deleted, or
            for hint_id in self.backoff.keys() - self.in_flight.keys():  # not sent on)
                del self.backoff[hint_id]
        return out

    def _wait(self, hint_id: int, retry: float) -> float:
        """How long (seconds) a delivery of hint ``hint_id`` waits for its ack
        before it is sent again: ``retry`` (``request_timeout``), or the hint's
        back-off (:meth:`_unanswered`) unless its intended node acknowledged a hint
        since that was set (it answers as usual again: a rebuild ended, a lost ack)."""
        held = self.backoff.get(hint_id)
        if held is None:
            return retry
        wait, intended, since = held
        acked = self.acked_at.get(intended)
        return retry if acked is not None and acked >= since else wait

    def _unanswered(self, now: float, hint_id: int, intended: str) -> None:
        """A delivery of hint ``hint_id`` to ``intended`` went unanswered (at
        ``now``, seconds): the next waits twice as long as this one did, up to the
        failure detector's ``max_retry_after`` (8 s by default). Why (session 55's
        hole 3, session 56): a rebuilding node stores a hint of a range it has not
        rebuilt and withholds its ack (:meth:`impl.node.Node._unrebuilt_mine`)
        until the range is rebuilt; resent each ``request_timeout``, each such hint
        crossed the network and was merged again about once a second for the whole
        rebuild (200 hints of 1 KB, a 108 s rebuild: 14,132 deliveries, 14.7 MB).
        What it costs: a hint whose node stopped withholding would be delivered up
        to the cap later; so each scan sends one hint backed off per node at the
        usual ``request_timeout`` (a probe, :meth:`_scan_page`), and the node's
        first ack ends the back-off of all (:meth:`_wait`): a rebuild's end is seen
        within about a scan."""
        retry = self.config.request_timeout
        wait = self._wait(hint_id, retry)
        cap = max(self.quorum.detector.max_retry_after, retry)
        self.backoff[hint_id] = (2 * wait if 2 * wait < cap else cap, intended, now)

    def _scan_page(self, now: float, pending_for: set[str], given: frozenset[int] | None,
                   out: list[Effect]) -> None:
        """Visit at most :data:`SCAN_BUDGET` kept hints, in id order from where the
        last scan stopped (wrapping to the first once), reading their heads in pages
        of :data:`SCAN_PAGE` and a record only for a hint it sends or re-addresses:
        a hint for a node that left goes to the key's current top N; a hint whose
        intended node is reachable and that is not in flight is sent, until
        ``MAX_HINTS_IN_FLIGHT`` await an ack (the next scan resumes there). With
        ``given`` (a driver's scan) every hint is visited from the first, only
        those are sent, and the next periodic scan's place is kept. Before session 14
        every scan read every hint with its record (47 MB of hints: 9% of a core
        with nothing to deliver). A periodic scan with nothing to do (every node
        hints are kept for is a member the failure detector suspects) reads none."""
        view = self.gossiper.view
        live = set(view.live_nodes)
        retry = self.config.request_timeout
        reachable = {node: self.quorum.reachable(node, now) for node in pending_for}
        if given is None and not any(reachable.values()) and all(
                node in live or node not in view for node in pending_for):
            return
        start = self._cursor if given is None else None
        after = start
        #: the nodes this scan sent a hint to (:meth:`_wait`'s probe)
        probed: set[str] = set()
        wrapped = start is None
        budget = SCAN_BUDGET if given is None else sys.maxsize
        while budget > 0:
            page = self.hints.heads(after, min(SCAN_PAGE, budget))
            if wrapped and start is not None:
                page = [head for head in page if head[0] <= start]
            if not page:
                if wrapped:
                    if given is None:  # a whole round: the next scan begins at the first
                        self._cursor = None
                    return
                wrapped, after = True, None
                continue
            for hint_id, intended, key in page:
                budget -= 1
                if intended not in live and intended in view:
                    held = self.hints.get(hint_id)
                    if held is not None:
                        self._retarget(hint_id, key, held.record)
                    after = hint_id
                    continue
                if given is not None and hint_id not in given:
                    after = hint_id
                    continue
                if intended not in reachable:
                    reachable[intended] = self.quorum.reachable(intended, now)
                if (hint_id in self.unanswered and given is None and reachable[intended]
                        and self._heard_since_suspected(intended)
                        and self.gossiper.status is MemberStatus.LEAVING):
                    self._hand_over(now, hint_id, intended, key, out)  # (and delivered)
                sent = self.in_flight.get(hint_id)
                if not reachable[intended] or (
                        sent is not None and now - sent < self._wait(hint_id, retry)
                        and (intended in probed or now - sent < retry)):
                    after = hint_id
                    continue
                # sent: its ack ends the back-off of every hint for its node
                # (:meth:`_wait`); a hint backed off, at most one for each node a
                # scan, is sent as if not (a probe; session 56)
                probed.add(intended)
                if len(self.in_flight) >= MAX_HINTS_IN_FLIGHT and sent is None:
                    if given is None:  # full: the next scan resumes at this hint
                        self._cursor = after
                    return
                held = self.hints.get(hint_id)
                if held is not None:
                    self.in_flight[hint_id] = now
                    out.append(Send(intended, HintDelivery(
                        hint_id, key, held.record, retired=self.replica.carried_raw(held.record),
                        moves=self.gossiper.moves_to(intended, key))))
                after = hint_id
        if given is None:
            self._cursor = after

    def _retarget(self, hint_id: int, key: bytes, record: bytes) -> None:
        """A hint for a node that left goes to the key's current top N instead; one for a
        node force-removed, to the key's top N on the future ring (while its ranges
        move, the serving ring still holds the removed node: the hint would come back
        to it; its new owners take the hint before they serve, a joining node's rule)."""
        intended = self.hints.intended(hint_id)
        ring = (self.gossiper.future if intended is not None
                and self.gossiper.is_removed(intended) else self.gossiper.partitioning)
        for target in ring.preference_list(key, self.config.n):
            if target == self.name:
                self.replica.merge_into_local(key, self.replica.parse(record), record)
            else:
                self.hints.add(target, key, record)
        self.remove(hint_id)

    def _hand_over(self, now: float, hint_id: int, intended: str, key: bytes,
                   out: list[Effect]) -> None:
        """A leaving node hands a hint whose delivery went unanswered (which made it
        suspect the intended node) and whose intended node it heard from since (it
        is up, and withholds the ack: a rebuilding node's rule), to the first of
        the key's fallbacks that stays (``UP``, reachable, neither this node nor the
        intended one), as a ``ReplicaPut`` with ``hint`` the intended node, resent
        after ``request_timeout`` unanswered; that fallback's ``ReplicaPutAck``
        deletes the hint here (:meth:`on_handover_ack`); with none, the hint waits.

        Why (session 55, ``s55-cycle``): a rebuilding node withholds the ``HintAck``
        of a key it replicates on both rings (:meth:`impl.node.Node._unrebuilt_mine`)
        and a leaving node announces ``left`` only once it holds no hint; the
        rebuild waited for a removal that strategy 3's claimant claimed only after
        the leave: none ended (``tests/impl/test_rebuilding_leave_cycle.py``). The
        hint stays held by a live fallback, which answers reads with it and
        delivers it once the range is rebuilt, so the write stays in the reads'
        reach (the hole acknowledging it would reopen:
        ``tests/impl/test_rebuilding_leave_removal.py``). A hint for a node not
        heard from since is not handed over: the leave waits for it as before (handed
        to a fallback the reader could not hear, a hinted read missed it:
        ``tests/impl/test_hinted_read_membership.py``, leave)."""
        handing = self.handing.get(hint_id)
        if self.ids is None or (handing is not None and 0 <= now - handing[2]
                                < self.config.request_timeout):
            return
        staying = set(self.gossiper.view.nodes_with((MemberStatus.UP,)))
        _, fallbacks = self.quorum.split(key)
        target = next((node for node in fallbacks if node in staying
                       and node not in (self.name, intended)
                       and self.quorum.reachable(node, now)), None)
        held = self.hints.get(hint_id)
        if target is None or held is None:
            return
        op_id = next(self.ids)
        self.handing[hint_id] = (op_id, target, now)
        out.append(Send(target, ReplicaPut(op_id, key, held.record, hint=intended,
                                           retired=self.replica.carried_raw(held.record))))

    def _heard_since_suspected(self, node: str) -> bool:
        """Whether a message from ``node`` arrived since the failure detector last
        suspected it (its count of timeouts cleared: it is up, and withheld an ack)."""
        record = self.quorum.detector.record(node)
        return record is not None and record.timeouts == 0

    def handover_of(self, src: str, message: ReplicaPutAck) -> int | None:
        """The hint ``message`` acknowledges the hand-over of (:meth:`_hand_over`:
        its op id, from the fallback it was sent to, for its key and intended node),
        or None (the ack of a put this node coordinates)."""
        for hint_id, (op_id, target, _) in self.handing.items():
            if op_id == message.op_id and target == src:
                held = self.hints.get(hint_id)
                if (held is not None and held.key == message.key
                        and self.hints.intended(hint_id) == message.hint):
                    return hint_id
        return None

    def on_handover_ack(self, hint_id: int) -> list[Effect]:
        """A fallback that stays keeps the hint: this leaving node's copy goes."""
        self.remove(hint_id)
        return []

    def on_delivery(self, src: str, message: HintDelivery, now: float = 0.0) -> list[Effect]:
        """The intended node merges a delivered hint into its versions and acks it (in
        dvv, a merge that keeps entries a pruning upstream dropped sends the merged
        copy to a replica of the key too: :attr:`impl.replica.Replica.one_way`;
        session 35)."""
        record = self.replica.decode(message.key, message.record)
        union, mine = self.replica.merge_one_way(message.key, record, message.record)
        self.gossiper.hand_on(message.key)  # an old owner: on to the key's new owners
        return [Send(src, HintAck(message.hint_id)),
                *self.replica.one_way(now, src, message.key, record, mine, False, union)]

    def on_ack(self, src: str, message: HintAck, now: float = 0.0) -> list[Effect]:
        """Hint deletion: only the intended node's ack of a hint we hold deletes it."""
        if self.hints.intended(message.hint_id) == src:
            self.acked_at[src] = now
            held = self.hints.get(message.hint_id)
            self.remove(message.hint_id)
            if held is not None and self.gossiper.let_go(src, held.key, held.record):
                self.let_go(held.key)  # a key range handed over: the old copy goes
        return []

    def remove(self, hint_id: int) -> None:
        self.hints.remove(hint_id)
        self.in_flight.pop(hint_id, None)
        self.backoff.pop(hint_id, None)
        self.unanswered.discard(hint_id)
        self.handing.pop(hint_id, None)
