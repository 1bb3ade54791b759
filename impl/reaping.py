"""Reaping tombstones (deletes; Riak's ``delete_mode``).

Theory of operation
-------------------
A delete is a put of a tombstone (:data:`impl.versions.TOMBSTONE`): a version
that carries the delete's clock like any other, is replicated, hinted, read
repaired and exchanged by anti-entropy like any other, and that a get leaves out
of the values it answers. Removing the tombstone itself (*reaping*) is what can
go wrong: a replica that missed the delete still holds the deleted value, and
once no replica holds the tombstone that covers it, read repair or anti-entropy
copies the value back (a *resurrection*). ``config.delete_mode`` chooses:

- ``"safe"`` (the default; Riak's delayed ``delete_mode``): a coordinator that
  saw every one of the key's N targets -- the nodes themselves, not fallbacks --
  hold the tombstone and nothing newer (all N acknowledged the delete, or all N
  answered a get with exactly the tombstone record, or with nothing: a copy reaped
  already, since read repair writes no tombstone back into it, session 39) sets a
  :class:`~impl.timers.ReapTombstone` timer for ``tombstone_grace_s`` seconds;
  when it fires it sends :class:`~impl.messages.Reap` to the targets, and each
  removes its record only if it is still that tombstone record (exactly, or, in
  dvv with pruning of retired lifetimes, once both are pruned by what the
  reaping node knows: :func:`same_tombstone`, session 34). Riak:
  ``riak_kv_get_core:final_action/1`` (basho/riak_kv) decides ``delete`` only
  when the merged object is a tombstone, no read repair is pending and all N
  vnodes answered; Riak's deletion guide (basho/basho_docs,
  ``ops/advanced/deletion.md``): removed only if all N nodes store the tombstone,
  never while fallbacks are in use, after the ``delete_mode`` interval.
  *Known safe, not timed.* The grace period alone does not make a reap safe: a
  fallback cut off for longer keeps a hint of the deleted value, and a joining
  node the coordinator has not heard of holds a transferred copy; reaping then
  resurrects the value once they are heard from (found by review, issue 11).
  So when the timer fires the node asks every member of its view, joining and
  leaving ones included (:class:`~impl.messages.ReapQuery`, with the digest of
  its view), whether it holds anything of the key other than tombstones: a live
  version in its store, a hint of the key holding a live version, a put (a
  delete) of the key coordinated or forwarded, or a view other than the asker's
  (a member the asker has not heard of). A member coordinating gets of the key
  answers once the gets in progress when the query arrived have ended, and the
  asker waits for its own gets in progress when the round began: a get begun
  before may hold a reply read before the tombstone reached its replier (session
  39: before, a get in progress answered "not clean", and gets overlapping at
  every node refused every round); if one of them ended holding a live version,
  the answer is "not clean" and the round reaps nothing, for its read repair may
  be on its way to an empty copy (session 40: :meth:`Reaper.get_ended`). It
  reaps only once every member answered clean
  (:class:`~impl.messages.ReapQueryReply`) and its own state is clean too: a
  member down, cut off or silent for ``request_timeout`` counts as not clean,
  and the node asks again ``max(tombstone_grace_s, request_timeout)`` seconds
  later, up to :data:`REAP_ATTEMPTS` rounds, keeping the tombstone meanwhile (a
  later get that sees all N targets hold it schedules a new reap). A member
  holding a hint of the key delivers it at once when asked, so the tombstone
  meets the hinted value on the intended node and wins there. A member holding
  a copy the asker's tombstone dominates (a put's own record at a coordinator
  outside the key's top N, a read repair of a fallback: copies nothing else
  removes) settles it before answering (:meth:`Reaper._settle_dominated`: a
  node that is no replica of the key lets it go, a replica merges the
  tombstone); a copy the tombstone does not dominate still answers not clean.
  These are the spec's reap guards 2 (nothing of the key in flight or
  coordinated anywhere but a get holding nothing a delete covers) and 3 (no
  store, up or down, holds a live version the delete covers) by knowledge
  (:mod:`spec.deletes`); the grace period stays, for the messages in flight.
  Stricter than Riak, whose delayed ``delete_mode`` reaps once all N primaries
  hold the tombstone, whatever fallbacks or joining nodes hold.
- ``"immediate"``: as soon as the delete is acknowledged (and again on each later
  acknowledgement of it), the coordinator sets a
  :class:`~impl.timers.ReapTombstone` timer due at once; when it fires the
  coordinator reaps its own copy and tells every target to reap, and each
  removes its record if it holds only tombstones, whether or not every replica
  got the tombstone: the naive rule, kept to show the resurrection
  (``tests/impl/test_delete.py``). (A timer rather than a reap inside the
  acknowledgement's handler, so that the reap is a step of its own, as the
  spec's ``Reap`` is: ``vdynamo replay --on impl`` replays the spec's
  counterexample, docs/refinement.md.)
- ``"keep"``: tombstones are never reaped.

*Actors* (Riak's kv679). A node mints a dvv dot (or a server-vclock entry) for a
key one above the counter of its actor in its own copy of the key; a reap removes
that copy, and a reap may happen on some replicas and not others (a ``Reap``
lost, a copy that changed). A node that reaped and then coordinated a put of the
key would mint a dot a tombstone still held elsewhere already carries, and that
replica (and every one anti-entropy or read repair then reaches) would drop the
put as already seen: an acknowledged write lost. So a node whose reaped copy
carried a counter of its actor for the key begins a new *key epoch*: it mints
that key, and only that key, under a new actor from then on
(:func:`impl.versions.renew_key_actor`, with ``actor_epochs``), as the spec's
reap does (:mod:`spec.deletes`). Per key, as Riak's fix (``riak_kv_vnode``'s
``new_key_epoch``: a vnode coordinating a put of a key it has no object for
begins a new epoch; "Per-Key Actor Epochs In Riak", R. Brown, 2015): renewing
the node's actor for every key would give each key the node coordinates one
more clock entry per reaped key, without bound. An old owner letting a copy go
after a membership change (:meth:`Reaper.let_go`, called by :mod:`impl.handoff`)
forgets the counters the same way and begins the key epoch the same way: before,
a blind put it coordinated later (its forwards timed out) re-minted a dot the
new owners held for another value (tests/impl/test_let_go_key_epoch.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from impl.config import ClusterConfig
from impl.effects import CancelTimer, Effect, Send, SetTimer
from impl.hints import HintStore
from impl.messages import Reap, ReapQuery, ReapQueryReply
from impl.replica import Replica
from impl.timers import ReapTombstone
from impl.versions import (
    Record,
    counts_actor,
    encode_record,
    is_tombstone_only,
    merge,
)

__all__ = ["REAP_ATTEMPTS", "HeldAnswer", "ReapRound", "Reaper", "all_targets_hold",
           "same_tombstone"]

#: Query rounds a reap timer makes before it gives the reap up (each after
#: ``max(tombstone_grace_s, request_timeout)`` seconds; a later get that sees all N
#: targets hold the tombstone schedules a new reap).
REAP_ATTEMPTS = 8


def _unpruned(record: Record) -> Record:
    return record


def same_tombstone(mine: Record, decided: Record,
                   prune: Callable[[Record], Record] = _unpruned) -> bool:
    """Whether a node's copy ``mine`` is the tombstone record ``decided`` that a reap
    was decided on, as far as the node can tell: equal, or equal once both are
    pruned by ``prune`` (what the node knows of retired lifetimes:
    :meth:`impl.retired.RetiredActors.prune`; the identity outside dvv).

    Session 34: pruning makes two copies of one tombstone differ -- one still holds
    a value-less entry of a retired lifetime, one (written by a node that knew the
    retirement) no longer does -- and the exact comparison refused every such reap
    (the tombstones stayed until a later write or exchange made the copies equal;
    dvv-prune-retired-delete's lockstep: docs/refinement.md). Safe: pruning drops
    only entries that hold no value and whose actor no node mints again
    (:func:`impl.versions.prune_retired`), never an entry holding a value nor one of
    a live actor, so two records equal after it hold the same versions (the same
    tombstones, the same dots) and the same live entries: a copy holding a newer
    write (a value ``decided`` lacks, or a later dot of a live actor) is never the
    same. Pruned by the node's own knowledge, not the decider's (which may know
    retirements it does not) nor every retirement there is."""
    return mine == decided or prune(mine) == prune(decided)


def all_targets_hold(targets: tuple[str, ...], sent_to: Mapping[str, str],
                     replies: Mapping[str, Record], merged: Record,
                     prune: Callable[[Record], Record] = _unpruned) -> bool:
    """Whether every target answered a get itself (not through a fallback) with
    ``merged`` (exactly, or equal to it once both are pruned by ``prune``, the
    coordinator's knowledge: :func:`same_tombstone`) or with nothing, and ``merged``
    is tombstones only (so some target holds it): the safe rule's test.

    A target that answered with nothing counts since session 39: read repair no
    longer writes a tombstone into an empty copy (:func:`impl.read_repair.
    read_repair_targets`), so a key reaped on some of its targets and not on others
    (a ``Reap`` lost, a target cut off) would keep its tombstones for good. Riak's
    get core asks every primary to answer with the object, and repairs a notfound
    with the tombstone first (``riak_kv_get_core:final_action/1``); the safety is
    the query round's in either case (every member clean, :meth:`Reaper.on_query`),
    not this test, which only starts it."""
    if not is_tombstone_only(merged):
        return False
    for target in targets:
        reply = replies.get(target)
        if (sent_to.get(target) != target or reply is None
                or not (reply.is_empty or same_tombstone(reply, merged, prune))):
            return False
    return True


@dataclass(slots=True)
class ReapRound:
    """A reap's query round in progress at the node deciding it (``safe``)."""

    query_id: int
    timer: ReapTombstone  # the key, the tombstone record, the targets
    waiting: set[str]  # members asked that have not answered clean yet
    view: bytes  # the digest of the view the members were asked by
    #: the gets of the key this node coordinated when the round began that have not
    #: ended yet (op ids): the reap waits for them, not for later ones (session 39)
    reading: set[int] = field(default_factory=set)
    #: one of those gets ended holding a live version: the round reaps nothing (its
    #: read repair may be on its way to an empty copy; session 40)
    live: bool = False


@dataclass(slots=True)
class HeldAnswer:
    """A member's answer to a reap query, held until the gets of the key it
    coordinated when the query arrived have ended (session 39)."""

    query: ReapQuery
    reading: set[int]  # those gets not ended yet (op ids)
    #: one of those gets ended holding a live version: the answer is "not clean"
    #: (its read repair may be on its way to an empty copy; session 40)
    live: bool = False


def _no_members() -> tuple[tuple[str, ...], bytes]:
    return (), b"-"


class Reaper:
    """Tombstone reaping at node ``name`` (see the module docstring).

    ``members`` gives the node's view: the members to ask before a reap (every one
    that has not left, this node included or not) and the view's digest;
    ``hints`` is the node's hint store; ``busy(key)`` whether the node coordinates
    or forwards a put (a delete) of ``key``; ``reading(key)`` the op ids of the gets
    of ``key`` it coordinates (a reap waits for those in progress when its round
    begins or its query arrives, not for later ones: :meth:`on_query`; the node calls
    :meth:`get_ended` as each ends); ``deliver_hints(now, ids)`` sends the hints
    ``ids`` to their intended nodes now; ``replicates(key)`` whether the node is one
    of ``key``'s replicas by its view (in the key's top N on any ring a request or
    a transfer of the key uses: see :meth:`on_query`). (Their defaults: a node
    alone, replicating every key, with no hints and nothing in progress.)"""

    def __init__(self, name: str, config: ClusterConfig, replica: Replica,
                 actor: Callable[[bytes, Record], str] = lambda key, local: "",
                 renew_actor: Callable[[bytes], None] = lambda key: None, *,
                 members: Callable[[], tuple[tuple[str, ...], bytes]] = _no_members,
                 hints: HintStore | None = None,
                 busy: Callable[[bytes], bool] = lambda key: False,
                 reading: Callable[[bytes], frozenset[int]] = lambda key: frozenset(),
                 deliver_hints: Callable[[float, frozenset[int]], list[Effect]] = (
                     lambda now, ids: []),
                 replicates: Callable[[bytes], bool] = lambda key: True,
                 changing: Callable[[], bool] = lambda: False) -> None:
        self.name = name
        self.config = config
        self.replica = replica
        #: the actor id the node mints a key under now, and how it begins a new one
        self.actor = actor
        self.renew_actor = renew_actor
        #: how a removed copy holding no counter of the key's actor unpins the key
        #: (:func:`impl.versions.renew_key_actor` with ``held=False``; set by the node)
        self.unpin: Callable[[bytes], None] = lambda key: None
        #: how the node advances its store's generation before it takes part in a
        #: reap (a query round it asks, a clean answer) and returns the new one (""
        #: without the restore guard; set by the node: docs/runtime.md, "A live copy
        #: restored after a reap")
        self.advance: Callable[[float], str] = lambda now: ""
        self.members = members
        self.hints = hints
        self.busy = busy
        self.reading = reading
        self.deliver_hints = deliver_hints
        self.replicates = replicates
        self.changing = changing
        #: key -> its reap's query round in progress (volatile)
        self.rounds: dict[bytes, ReapRound] = {}
        #: key -> asker -> this member's answer to its latest query of the key, held
        #: until the gets it coordinated when the query arrived have ended (volatile;
        #: each ends by its deadline, and its end answers: :meth:`get_ended`)
        self.held: dict[bytes, dict[str, HeldAnswer]] = {}
        #: key -> the query rounds its reap timer made so far (volatile)
        self.attempts: dict[bytes, int] = {}
        #: key -> its reap timer not done yet, set or given up, or decided while a
        #: membership change was in progress (volatile): after a change settled each
        #: is set again, at the key's new top N (:meth:`after_change`)
        self.due: dict[bytes, ReapTombstone] = {}
        #: the reap timers this node has set and that have neither fired nor been
        #: cancelled since -> when each is due, on the node's clock (volatile):
        #: :meth:`schedule` leaves one of these as it is until it is overdue
        self.armed: dict[ReapTombstone, float] = {}
        self._query_ids = itertools.count(1)

    def handlers(self) -> dict[type, Callable[[float, str, Any], list[Effect]]]:
        """The peer messages this mechanism handles: type -> handler(now, src, message)."""
        return {Reap: lambda now, src, message: self.on_reap(message),
                ReapQuery: self.on_query,
                ReapQueryReply: lambda now, src, message: self.on_query_reply(src, message)}

    def timers(self) -> dict[type, Callable[[float, Any], list[Effect]]]:
        """The timers this mechanism handles: type -> handler(now, timer)."""
        return {ReapTombstone: self.on_timer}

    def schedule(self, now: float, key: bytes, record: Record,
                 targets: tuple[str, ...]) -> list[Effect]:
        """The safe rule holds for ``key``'s tombstone ``record`` at ``targets``: reap
        it there after the grace period (nothing in the other modes). A timer of the
        same tombstone already set keeps its time: before, each get that saw all N
        targets hold the tombstone set it again ``tombstone_grace_s`` later, so a
        deleted key read through one node more often than that (every 2 s under the
        default 3 s) was never reaped (session 38's probe,
        tests/impl/test_reap_polled_key.py). One overdue by more than the grace
        period is taken as lost and set again: an input that set it and then failed
        (a StorageError reading the key in a lone node's round) loses its SetTimer,
        and every later get found it set and left the key unreaped (session 38's
        review, tests/impl/test_reap_polled_key.py)."""
        if self.config.delete_mode != "safe":
            return []
        timer = ReapTombstone(key, encode_record(record), targets)
        self.due[key] = timer
        at = self.armed.get(timer)
        if at is not None and now <= at + self.config.tombstone_grace_s:
            return []
        at = now + self.config.tombstone_grace_s
        self.armed[timer] = at
        return [SetTimer(timer, at)]

    def after_change(self, now: float, top_n: Callable[[bytes], tuple[str, ...]]
                     ) -> list[Effect]:
        """A membership change settled (driven by the gossiper,
        :meth:`impl.gossip.Gossiper.take_reap_due`): every reap not done yet -- its
        timer still running or given up after :data:`REAP_ATTEMPTS` rounds -- is set
        again, due after the grace period, with its targets the key's top N now
        (``top_n(key)``) and its rounds counted afresh. While a change is in progress
        a reap's rounds find views that differ and members that are not clean, and
        its targets are the old owners: before, such a reap was given up, or reaped
        the old owners' copies only, and the new owners' tombstones stayed until a
        later get or delete of the key (tests/impl/test_reap_after_change.py). Only
        reaps this node decided are set again: each was found safe to start (every
        target held the tombstone), and a round still asks every member. A reap
        decided or given up while a change is in progress (``changing()``) is kept
        for this: its targets were the old owners, and a new owner's copy (from the
        transfer, or a write to the pending owners) stays, and anti-entropy copies
        it back to the old owners."""
        if self.config.delete_mode != "safe":
            return []
        out: list[Effect] = []
        for key, timer in sorted(self.due.items()):
            fresh = ReapTombstone(key, timer.record, top_n(key))
            self.due[key] = fresh
            self.attempts.pop(key, None)
            self.rounds.pop(key, None)
            self.armed.pop(timer, None)
            self.armed[fresh] = now + self.config.tombstone_grace_s
            out += [CancelTimer(timer), SetTimer(fresh, self.armed[fresh])]
        return out

    def reap_acknowledged(self, now: float, key: bytes, record: bytes,
                          targets: tuple[str, ...]) -> list[Effect]:
        """A delete of ``key`` (the coordinator's tombstone ``record``, encoded) was
        just acknowledged (by W targets, or by one more after that): with the naive
        rule (``delete_mode = "immediate"``) reap it at ``targets`` now, without
        waiting for the rest (nothing in other modes)."""
        if self.config.delete_mode != "immediate":
            return []
        return [SetTimer(ReapTombstone(key, record, targets), now)]

    def reap_now(self, key: bytes, record: bytes, targets: tuple[str, ...]) -> list[Effect]:
        """Tell ``targets`` to reap ``key``'s tombstone ``record`` (this node reaps
        its own copy at once)."""
        out: list[Effect] = []
        for target in targets:
            if target == self.name:
                self.reap_local(key, record)
            else:
                out.append(Send(target, Reap(key, record)))
        return out

    def on_timer(self, now: float, timer: ReapTombstone) -> list[Effect]:
        """The timer is due (``safe``: the grace period passed, or a query round's
        answers did not all come clean in time: ask every member again;
        ``immediate``: the delete was just acknowledged: reap at the targets)."""
        if self.config.delete_mode != "safe":
            return [*self.reap_now(timer.key, timer.record, timer.targets),
                    *self._reap_dominated_elsewhere(timer)]
        key = timer.key
        self.armed.pop(timer, None)
        self.rounds.pop(key, None)
        self.due.setdefault(key, timer)
        attempts = self.attempts.get(key, 0) + 1
        if attempts > REAP_ATTEMPTS:
            self.attempts.pop(key, None)
            # given up: the tombstone stays; kept in ``due``, set again once the next
            # change settles (a member cut off, which has not heard of the change,
            # gives up too), or a get schedules a new reap (as many entries as
            # tombstones kept, at the most)
            return []
        self.attempts[key] = attempts
        members, view = self.members()
        asked = {member for member in members if member != self.name}
        # a store copied before it held the tombstone repeats an earlier generation
        # than the one the members hear now, before any of them reaps
        query = ReapQuery(next(self._query_ids), key, timer.record, view,
                          generation=self.advance(now) if asked else "")
        self.rounds[key] = ReapRound(query.query_id, timer, asked, view,
                                     set(self.reading(key)))
        retry = now + max(self.config.tombstone_grace_s, self.config.request_timeout)
        self.armed[timer] = retry
        out: list[Effect] = [SetTimer(timer, retry)]
        out.extend(Send(member, query) for member in sorted(asked))
        out.extend(self._decide(key))  # no other member: decided now
        return out

    def _reap_dominated_elsewhere(self, timer: ReapTombstone) -> list[Effect]:
        """``immediate``: tell every member other than the targets to reap too (this
        node, if it is none of them, at once); one that is no replica of the key
        lets go a copy the tombstone dominates (:meth:`reap_local`). Such a copy (a
        stray copy left by two crossing membership changes, a coordinator's own
        record outside the key's top N) is one the delete never reached, and the
        stray-copy rule (:meth:`impl.gossip.Gossiper._hand_strays`) handed it back
        to the owners once they had reaped: the deleted value came back at R = N
        (session 22's review: 60 of 60 planted keys, every clock mode; fixed by
        session 23's review, tests/impl/test_data_fix_review.py). A replica that
        missed the delete still brings the value back: the naive rule's
        resurrection, kept to show it (tests/impl/test_delete.py); so does a member
        that misses this ``Reap`` (down, cut off) and keeps its copy. Costs one
        message per member beyond the targets per reap, in this mode only."""
        members, _ = self.members()
        if self.name not in timer.targets:  # a coordinator outside the top N
            self.reap_local(timer.key, timer.record)
        return [Send(member, Reap(timer.key, timer.record)) for member in sorted(members)
                if member != self.name and member not in timer.targets]

    def on_query(self, now: float, src: str, message: ReapQuery) -> list[Effect]:
        """A member deciding a reap asks: answer whether this node is clean of the
        key; a hint of it is delivered at once (the tombstone wins at its intended
        node, and a later round finds it gone). A copy the asker's tombstone
        dominates is settled first (:meth:`_settle_dominated`), so that a stale copy
        nothing else removes does not refuse every round.

        A clean answer waits for the gets of the key this node coordinates when the
        query arrives (:meth:`get_ended` sends it once the last of them ended), not
        for the gets that begin later (session 39). Before, a get of the key in
        progress answered "not clean", and gets overlapping at every node refused
        every round: a deleted key read through every node at once kept its
        tombstones for as long as it was read (tests/impl/test_reap_polled_key.py).
        Why those gets and no others: a get that began before the query may hold, or
        be about to receive, a reply read before the tombstone reached its replier,
        a value the delete covers, which it returns and read-repairs once the reap
        removed the tombstones (a resurrection; spec/deletes.py, guard 2, whose get
        part the checker shows needed: no_resurrection in 15 steps without it). A
        get that begins after it reads stores the round finds holding nothing the
        delete covers (guard 3). (A member holding a hint, a live copy, a put of
        the key or another view answers "not clean" at once, as before.)"""
        key = message.key
        tombstone = self.replica.decode(key, message.record)  # refuse a malformed one
        if not self._hints_of(key):
            self._settle_dominated(key, tombstone, message.view)
            reading = self.reading(key)
            if reading and self._clean(key, message.view):
                self.held.setdefault(key, {})[src] = HeldAnswer(message, set(reading))
                return []
        return self._answer(now, src, message)

    def get_ended(self, now: float, key: bytes, op_id: int, *,
                  live: bool = False) -> list[Effect]:
        """The get ``op_id`` of ``key`` this node coordinated ended (answered and
        repaired, or failed; ``live``: one of its replies held a live version):
        send each answer to a reap query that waited for it alone now
        (:meth:`on_query`), and decide this node's round of the key if it waited for
        it alone (:meth:`on_timer`).

        A get that ended holding a live version makes the answers and the round
        that waited for it "not clean" (session 40's review): its read repair has
        just sent that version to the repliers that answered without it, an empty
        copy among them (read repair writes no tombstone there since session 39),
        and a reap decided on the answer sent with it removes the tombstones while
        the repair is on its way: the version stays alone at the empty copy, the
        deleted value back (a get that began before the delete, one reply held up
        half a second, the delete's coordinator restarted:
        tests/impl/test_reap_waits_for_gets.py). The spec's guard 2 refuses the
        same reap for the get's reply and then for its read-repair message in
        flight (:mod:`spec.deletes`); the next round, a grace period later, finds
        the repaired copy and settles it (:meth:`_settle_dominated`)."""
        out: list[Effect] = []
        held = self.held.get(key)
        if held is not None:
            for src, answer in sorted(held.items()):
                if op_id in answer.reading:
                    answer.reading.discard(op_id)
                    answer.live |= live
                if not answer.reading:
                    del held[src]
                    out += (self._refuse(src, answer.query) if answer.live
                            else self._answer(now, src, answer.query))
            if not held:
                del self.held[key]
        round_ = self.rounds.get(key)
        if round_ is not None and op_id in round_.reading:
            round_.reading.discard(op_id)
            round_.live |= live
            out += self._decide(key)
        return out

    @staticmethod
    def _refuse(src: str, message: ReapQuery) -> list[Effect]:
        """Answer reap query ``message`` of ``src`` "not clean" (:meth:`get_ended`)."""
        return [Send(src, ReapQueryReply(message.query_id, message.key, False))]

    def _answer(self, now: float, src: str, message: ReapQuery) -> list[Effect]:
        """Answer reap query ``message`` of ``src`` (:meth:`on_query`)."""
        tombstone = self.replica.decode(message.key, message.record)
        held = self._hints_of(message.key)
        if not held:
            self._settle_dominated(message.key, tombstone, message.view)
        clean = not held and self._clean(message.key, message.view)
        # a clean answer lets the asker reap: it carries a generation advanced for
        # it, so a copy of this store taken before it held the tombstone is older
        # than one the asker heard (docs/runtime.md, "A live copy restored after a reap")
        generation = self.advance(now) if clean else ""
        out: list[Effect] = [Send(src, ReapQueryReply(message.query_id, message.key, clean,
                                                      generation))]
        if held:
            out.extend(self.deliver_hints(now, frozenset(held)))
        return out

    def _settle_dominated(self, key: bytes, tombstone: Record, view: bytes) -> None:
        """This node holds a copy of ``key`` that ``tombstone`` (the asker's, held by
        the asker, one of the key's top N) dominates or equals: every version of it
        is in the tombstone's causal past, so syntactic reconciliation with the
        tombstone leaves exactly the tombstone (paper 4.4). A replica of the key
        merges the tombstone (as read repair would); a node that is not one lets the
        copy go, as an old owner lets a handed-over copy go (:meth:`let_go`: a copy
        that carried this node's counter begins the key's epoch, kv679). Such copies
        are written by a coordinator outside the top N (its own record) and by a
        read repair of a fallback; nothing else ever removes them, and before this
        each one refused every reap of the key (issue 11's storage leak). A copy
        holding a version the tombstone does not dominate (a concurrent put, a
        newer version) is kept and still refuses the reap; so is any copy while this
        node coordinates or forwards a put of the key or sees another view (a joining
        node, a change the asker has not heard of); a get of the key in progress
        does not keep it (session 39: the tombstone dominates the copy, and a get
        that read it before is waited for, :meth:`on_query`). Safe: a dominated version is one the
        delete superseded, and no get returns it once it meets the tombstone.

        Except a replica's live copy in ``lww``, which is kept (and refuses the
        round): there "dominates" says only that the tombstone's stamp is higher, not
        that the copy is in the delete's past, and the query's tombstone is the one
        its timer was set with, which may be reaped already (another coordinator's
        round reaped the key, or a reap a membership change set again) and the key
        written again since, stamped below it (the tombstone's coordinator's clock
        ahead: the reap forgot the stamp a hybrid put would have exceeded); the
        merge deleted that acknowledged put (session 24's probe,
        tests/impl/test_lww_stale_reap_round.py). A replica that missed a current
        delete gets the tombstone from read repair or anti-entropy, which carry
        what the replicas hold now, and a later round reaps."""
        if not is_tombstone_only(tombstone) or self.busy(key) or self.members()[1] != view:
            return
        stored = self.replica.storage.read(key)
        if stored is None:
            return
        mine = self.replica.parse(stored)
        if merge(tombstone, mine) != tombstone:
            return  # a version the tombstone does not cover: it keeps refusing the reap
        if self.replicates(key):
            if not is_tombstone_only(mine) and self.config.clock != "lww":
                self.replica.merge_into_local(key, tombstone, encode_record(tombstone))
        else:
            self._forget(key, mine)

    def on_query_reply(self, src: str, message: ReapQueryReply) -> list[Effect]:
        """A member answered this node's query round: a member not clean ends the
        round (the timer asks again later); the last clean answer reaps."""
        round_ = self.rounds.get(message.key)
        if round_ is None or round_.query_id != message.query_id or src not in round_.waiting:
            return []
        if not message.clean:
            del self.rounds[message.key]
            return []
        round_.waiting.discard(src)
        return self._decide(message.key)

    def _decide(self, key: bytes) -> list[Effect]:
        """Every member answered clean and the gets of the key this node
        coordinated when the round began have ended, none holding a live version
        (:meth:`get_ended`): reap at the targets if this node is clean too (else
        the timer asks again later)."""
        round_ = self.rounds[key]
        if round_.waiting or round_.reading:
            return []
        del self.rounds[key]
        if round_.live:  # a get it waited for held a live version (get_ended)
            return []
        if self._hints_of(key) or not self._clean(key, round_.view):
            return []
        self.attempts.pop(key, None)
        timer = round_.timer
        if self.due.get(key) == timer and not self.changing():
            del self.due[key]  # (in a change: set again at the new top N once it settled)
        self.armed.pop(timer, None)
        return [CancelTimer(timer), *self.reap_now(key, timer.record, timer.targets)]

    def _hints_of(self, key: bytes) -> list[int]:
        """The ids of this node's hints of ``key`` that hold a live version (a hint of
        tombstones only brings no value back), and in ``lww`` every hint of ``key``:
        there a hint of tombstones delivered after the reap deletes a put written
        since and stamped below it (the tombstone's coordinator's clock ahead: the
        reap forgot the stamp a hybrid put would have exceeded), as a stale reap
        round did (:meth:`_settle_dominated`; session 24's probe,
        tests/impl/test_lww_stale_reap_round.py). So it is delivered first, and a
        later round reaps."""
        if self.hints is None:
            return []
        every = self.config.clock == "lww"
        return [hint.hint_id for hint in self.hints.all() if hint.key == key
                and (every or not is_tombstone_only(self.replica.parse(hint.record)))]

    def _clean(self, key: bytes, view: bytes) -> bool:
        """Whether this node holds nothing of ``key`` but tombstones, coordinates or
        forwards no put of it (its gets are waited for apart: :meth:`on_query`), and
        its view's digest is ``view``."""
        if self.busy(key) or self.members()[1] != view:
            return False
        stored = self.replica.storage.read(key)
        return stored is None or is_tombstone_only(self.replica.parse(stored))

    def on_reap(self, message: Reap) -> list[Effect]:
        """A coordinator decided to reap: remove the local record if it still is the
        tombstone record decided on (safe: :meth:`holds_decided`), or any
        tombstone-only record (immediate)."""
        self.replica.decode(message.key, message.record)  # refuse a malformed record
        self.reap_local(message.key, message.record)
        return []

    def reap_local(self, key: bytes, record: bytes) -> None:
        """Remove this node's copy of ``key`` if it holds only tombstones (``safe``:
        ``record``, exactly or modulo pruning: :meth:`holds_decided`). ``immediate``: a node
        that is no replica of the key lets go a copy ``record`` dominates too
        (:meth:`_reap_dominated_elsewhere`), even while it coordinates or forwards a request
        of the key (the delete itself, forwarded to a target: its reply and this reap
        cross): every version of such a copy is one the delete superseded, and a put
        coordinated here writes its own record, which the tombstone does not dominate. A
        copy it does not dominate (a sibling concurrent with the delete) is kept, with the
        tombstone merged in: the versions the delete covers are superseded there too."""
        if self.config.delete_mode == "keep":
            return
        stored = self.replica.storage.read(key)
        if stored is None:
            return
        mine = self.replica.parse(stored)
        if not is_tombstone_only(mine):
            if self.config.delete_mode == "immediate" and not self.replicates(key):
                tombstone = self.replica.parse(record)
                if is_tombstone_only(tombstone):
                    if merge(tombstone, mine) == tombstone:
                        self._forget(key, mine)  # no replica: a copy the delete covers
                    else:  # a sibling concurrent with the delete: kept, the versions
                        # the delete covers superseded (handed back whole by a stray
                        # look, they came back beside it: session 23's second review)
                        self.replica.merge_into_local(key, tombstone, record)
            return  # something newer than the delete arrived: keep it
        if self.config.delete_mode == "safe" and not self.holds_decided(mine, record):
            return
        self._forget(key, mine)

    def holds_decided(self, mine: Record, record: bytes) -> bool:
        """Whether this node's copy ``mine`` is the tombstone record ``record``
        (encoded) a reap was decided on: equal, or equal once both are pruned by what
        this node knows of retired lifetimes (:func:`same_tombstone`). ``safe``'s test
        before a reap removes the copy."""
        return same_tombstone(mine, self.replica.parse(record), self.replica.prune)

    def let_go(self, key: bytes) -> None:
        """Remove this node's copy of ``key`` after a membership change handed it over
        (the old owner lets it go, :mod:`impl.handoff`): as a reap, a copy that
        carried a counter of this node's actor for the key begins a new key epoch
        (module docstring, "Actors")."""
        stored = self.replica.storage.read(key)
        if stored is not None:
            self._forget(key, self.replica.parse(stored))

    def _forget(self, key: bytes, mine: Record) -> None:
        """Remove the local copy ``mine`` of ``key``; if it carried a counter of the
        actor this node mints ``key`` under, mint ``key`` under a new one from now
        on (the counters go with the copy: kv679)."""
        held = self.config.actor_epochs and counts_actor(mine, self.actor(key, mine))
        self.replica.reap(key)
        if held:
            self.renew_actor(key)
        elif self.config.actor_epochs:
            self.unpin(key)
