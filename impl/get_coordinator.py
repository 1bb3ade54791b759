"""The get coordinator (Dynamo paper, sections 4.5 and 4.6).

Theory of operation
-------------------
A node among the key's top N coordinates a get: it reads its own record and
asks each other *target* (``ReplicaGet``) -- or, for a target the failure
detector suspects, the next *fallback* (the sloppy quorum; a coordinator that is
itself a fallback counts its own read too; an empty reply of a node outside the
top N counts only beside a replica's word, :func:`counted_replies`). The
:class:`GetCoordination`
records, per target, the node asked (``sent_to``) and the ``replies``
received. Once R nodes replied (:func:`read_quorum_reached`, the coordinator's
own read included), PR of them *primaries* (:func:`primary_replies`: targets
answering for themselves; Riak's ``pr``, 0 by default), it answers the client
with the merge of their records (syntactic reconciliation) and an opaque
context. A get with PR above the targets the failure detector believes
reachable fails at once (Riak's ``pr_val_unsatisfied``), asking nobody.

Its timer (:class:`~impl.timers.GetTimeout`, every ``replica_timeout`` seconds)
suspects each silent target's node and asks the next fallback, until the get is
answered, or the request's deadline (``request_timeout``), when a get short of R
fails with a :class:`~impl.errors.QuorumError` that names the nodes asked that
were silent, the targets never asked, and those that answered (:func:`_named`,
session 35). When every node asked has replied, or at the deadline, the
coordination ends with read repair
(:mod:`impl.read_repair`). Between its answer and its end it *lingers*
(:mod:`impl.lingering`): no longer a request in flight for admission
(:attr:`impl.node.Node.pending`), and ended early, the same way, when more than
``max_pending_requests`` coordinations of the node linger, or they hold more than
``max_pending_bytes`` (session 33).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from impl.config import ClusterConfig, record_patience
from impl.context import encode_context_pairs
from impl.effects import CancelTimer, Effect, GetResult, Send, SetTimer
from impl.errors import QuorumError
from impl.forwarding import ReplyTo, answer
from impl.lingering import Lingering
from impl.messages import GetRequest, ReplicaGet, ReplicaGetReply
from impl.read_repair import ReadRepairer, reconciled
from impl.reaping import Reaper, all_targets_hold
from impl.replica import Replica
from impl.sloppy_quorum import SloppyQuorum, shortfall
from impl.timers import GetTimeout
from impl.versions import ClockMode, Record, context_pairs, live_values, merge, values

__all__ = ["GetCoordination", "GetCoordinator", "counted_replies", "primary_replies",
           "read_quorum_reached", "record_bytes"]


def record_bytes(record: Record) -> int:
    """The bytes of ``record``'s values (siblings and tombstones' none): what a get
    of it carries back to its client."""
    return sum(map(len, values(record)))  # (not a generator: half the time, session 42)


@dataclass(slots=True)
class GetCoordination:
    """A get in progress at its coordinator."""

    op_id: int
    key: bytes
    r: int
    targets: tuple[str, ...]  # the key's top N
    fallbacks: tuple[str, ...]  # the rest of the preference list, in order
    reply_to: ReplyTo
    deadline: float  # seconds, the node's time
    used: set[str] = field(default_factory=set)  # nodes asked (targets or fallbacks)
    sent_to: dict[str, str] = field(default_factory=dict)  # target -> node asked
    #: fallback -> the target it was asked for (``sent_to`` keeps only the last node
    #: asked per target; this names every fallback in a failed get's message)
    asked_for: dict[str, str] = field(default_factory=dict)
    replies: dict[str, Record] = field(default_factory=dict)  # node -> its record
    replied: bool = False
    #: after a membership change's handover, until it settles (pending ownership):
    #: the old and the new top N, each of which must give R replies (empty: R of
    #: the nodes asked; spec ``Coordination.groups``)
    groups: tuple[tuple[str, ...], ...] = ()
    #: the timeouts' multiple for a record larger than max_record_bytes
    #: (:func:`impl.config.record_patience`)
    patience: float = 1.0
    #: replies that do not count towards R: a rebuilding coordinator's own read
    #: of a key it holds nothing of or has not rebuilt (:mod:`impl.rebuild`; read
    #: repair and the reap's test still see it)
    uncounted: frozenset[str] = frozenset()
    #: the value bytes of the largest record gathered so far (the coordinator's own
    #: read, the replies): what the get holds and answers with, counted in
    #: :attr:`impl.node.Node.pending_bytes` until it answers (session 24)
    record_bytes: int = 0
    #: how many of the replies counted must be primaries' (:func:`primary_replies`;
    #: Riak's ``pr``; 0: any node's, the paper's sloppy quorum; session 39)
    pr: int = 0
    #: the coordinator's serving ring was a guess (:meth:`GetCoordinator.start`): its
    #: targets are every member up, the key's owners unknown among them, so neither a
    #: read repair nor a reap follows (a repair would copy the key to non-owners;
    #: anti-entropy and the rebuild bring the copies together)
    guessed: bool = False


def counted_replies(coordination: GetCoordination) -> set[str]:
    """The nodes whose replies count towards R: every reply but an
    :attr:`~GetCoordination.uncounted` one (once every target replied itself, an
    uncounted read counts too: the merge then holds every replica's copy, all a
    read can hold; Riak's ``notfound_ok = false`` answers not found once every
    replica did; else a get at R = N through a rebuilding node failed), and an
    empty reply of a node outside the key's targets (a fallback, or the
    coordinator itself when it is none of the key's top N: a joiner that routes
    by a ring its peers do not share yet) only once some target replied too or
    some reply holds a version. A fallback's empty store says nothing of the
    writes its target acknowledged before it was suspected: a not found needs the
    word of one of the key's replicas (Riak's ``pr``, primary reads, and
    ``basic_quorum``, which stop a fallback's notfound under ``notfound_ok`` from
    making R; session 19's second data probe: a get at R = 1 through a joiner its
    peers dropped the messages of answered not found from its own empty read, for
    a key every replica held)."""
    counted: set[str] = set(coordination.replies)
    if coordination.uncounted and not counted >= set(coordination.targets):
        counted = counted - coordination.uncounted
    targets = set(coordination.targets)
    if not counted & targets and all(coordination.replies[node].is_empty
                                     for node in counted):
        return set()  # only outsiders' empty stores: no replica's word yet
    return counted


def primary_replies(coordination: GetCoordination,
                    counted: set[str] | None = None) -> set[str]:
    """The *primaries* among :func:`counted_replies` (``counted``, when the caller
    has them already): the key's targets (its top N) that answered for themselves.
    A fallback never counts here, though its reply holds the writes it keeps as
    hints for its target (``hinted_reads``, session 49): it is not the target
    (Riak's ``num_pok`` of ``riak_kv_get_core``, counted over the replies of the preference list's
    ``primary`` entries; session 39; until session 39's review this function was
    defined and documented but the checks inlined their own copy)."""
    if counted is None:
        counted = counted_replies(coordination)
    return counted & set(coordination.targets)


def read_quorum_reached(coordination: GetCoordination) -> bool:
    """R nodes (the coordinator's own read included) of :func:`counted_replies`
    have replied, PR of them primaries (:func:`primary_replies`); during a
    membership change max(R, PR) within each of the coordination's groups (a
    group's members are all targets: primaries)."""
    counted = counted_replies(coordination)
    if coordination.groups:
        need = max(coordination.r, coordination.pr)
        return all(len(counted & set(group)) >= need for group in coordination.groups)
    return (len(counted) >= coordination.r
            and len(primary_replies(coordination, counted)) >= coordination.pr)


def _named(coordination: GetCoordination, counted: set[str],
           own_why: str = "not rebuilt") -> list[str]:
    """The clauses of a failed get's message that name its nodes, in the order of
    the preference list (each fallback after the target it was asked for, ``n4 for
    n2``): the nodes asked that did not answer (``no answer from n3, n4 for n3``),
    the targets suspected when the get began and never asked themselves (their
    share went to a fallback: ``suspected, not asked: n2``), the nodes whose replies
    counted towards R (``answered: n1, n5 for n2``), those whose replies did not
    (``not counted: n1 (the coordinator's own read, not rebuilt), n4``; the
    phrase after "own read" is ``own_why``: since session 57 when its own reads
    count again, :meth:`impl.node.Node.own_read_uncounted_why`), and why
    not (a guessed ring's get, :attr:`GetCoordination.guessed`: that it waits for
    every member asked). Before session 35 the 503 said only "get reached 2 of R=3 replicas before
    the timeout", naming no node, where a put's 504 named its silent nodes since
    session 32 (:func:`impl.put_coordinator._silent`)."""
    silent: list[str] = []
    skipped: list[str] = []
    answered: list[str] = []
    uncounted: list[str] = []
    asked = [(target, target) for target in coordination.targets]
    asked += [(node, intended) for node, intended in coordination.asked_for.items()]
    place = {target: at for at, target in enumerate(coordination.targets)}
    ordered = sorted(asked, key=lambda pair: place.get(pair[1], len(place)))
    # the rest: a coordinator outside the top N (its own read), in list order
    rank = {node: place for place, node in enumerate(coordination.fallbacks)}
    others = sorted((coordination.used | coordination.replies.keys())
                    - {node for node, _ in ordered},
                    key=lambda node: (rank.get(node, len(rank)), node))
    for node, target in [*ordered, *((node, node) for node in others)]:
        label = node if node == target else f"{node} for {target}"
        if node in counted:
            answered.append(label)
        elif node in coordination.replies:
            uncounted.append(f"{label} (the coordinator's own read, {own_why})"
                             if node in coordination.uncounted and not coordination.guessed
                             else label)
        elif node in coordination.used:
            silent.append(label)
        else:  # a target never asked: suspected when the get began
            skipped.append(label)
    # the outsiders are the replies of nodes outside the top N (an uncounted
    # target's own read is none: it was named "outside" until session 21)
    outsiders = 0 if counted else sum(node not in coordination.targets
                                      for node in coordination.replies)
    clauses = [f"{what}{', '.join(nodes)}" for what, nodes in (
        ("no answer from ", silent), ("suspected, not asked: ", skipped),
        ("answered: ", answered), ("not counted: ", uncounted)) if nodes]
    if coordination.guessed:
        # (until session 51's review every member's reply was named "the
        # coordinator's own read, not rebuilt", and the guess not at all)
        clauses.append("this node's serving ring is a guess (its store replaced while a "
                       "membership change moves ranges): every member asked, no reply "
                       "counts until each one answered")
    if outsiders:
        clauses.append(f"{outsiders} empty answer(s) of nodes outside the key's top N "
                       "do not make a not found")
    return clauses


class GetCoordinator:
    """The gets node ``name`` coordinates (see the module docstring)."""

    def __init__(self, name: str, config: ClusterConfig, replica: Replica,
                 quorum: SloppyQuorum, repairer: ReadRepairer,
                 ids: itertools.count[int], reaper: Reaper, lingering: Lingering) -> None:
        self.name = name
        self.config = config
        self.mode = ClockMode(config.clock)
        self.replica = replica
        self.quorum = quorum
        self.repairer = repairer
        self.ids = ids
        self.coordinations: dict[int, GetCoordination] = {}
        self.reaper = reaper
        #: the answered coordinations (this node's gets and puts) that wait for late
        #: replies, bounded (:mod:`impl.lingering`)
        self.lingering = lingering
        #: whether this node's own read (key, its record) must not count towards R:
        #: while its store is being rebuilt, an empty one or one of a range not
        #: rebuilt yet (:mod:`impl.rebuild`), or just rebuilt
        #: (:meth:`impl.node.Node._uncounted_read`); the key, its record, the time
        self.uncounted_read: Callable[[bytes, Record, float], bool] = (
            lambda key, own, now: False)
        #: why this node's own read of a key did not count and when it counts
        #: again, in a phrase for a failed get's message, at its deadline (the key,
        #: the time; :meth:`impl.node.Node.own_read_uncounted_why`; session 57)
        self.uncounted_why: Callable[[bytes, float], str] = lambda key, now: "not rebuilt"
        #: an internal get (a reap check) of ``key`` that did not hear every target
        #: by its deadline: (now, key, the check's ``ReplyTo.attempt``)
        #: -> effects (the node tries it again later)
        self.internal_failed: Callable[[float, bytes, int], list[Effect]] = (
            lambda now, key, attempt: [])
        #: a coordination ended (answered and repaired, or failed) -> effects: a reap
        #: that waited for it (:meth:`impl.reaping.Reaper.get_ended`; session 39)
        self.ended: Callable[[float, GetCoordination], list[Effect]] = (
            lambda now, coordination: [])

    def handlers(self) -> dict[type, Callable[[float, str, Any], list[Effect]]]:
        """The peer messages this mechanism handles: type -> handler(now, src, message)."""
        return {ReplicaGetReply: self.on_reply}

    def timers(self) -> dict[type, Callable[[float, Any], list[Effect]]]:
        """The timers this mechanism handles: type -> handler(now, timer)."""
        return {GetTimeout: self.on_timeout}

    def start(self, now: float, request: GetRequest, reply_to: ReplyTo) -> list[Effect]:
        """Coordinate a (checked) get: read locally, ask the other targets."""
        key = request.key
        targets, fallbacks = self.quorum.split(key)
        guessed = () if reply_to.internal else self.quorum.guessed()
        if guessed:
            # this node's serving ring is a guess (a replaced disk, or a restored store
            # set aside, took its peers' view mid-change: Gossiper.serving_guessed):
            # a target of the guess may be a new owner the range has not reached, whose
            # empty store answered a get at R = 1 not found (session 51's data probe),
            # and the key's true owners may be none of its top N (strategy 3 moves
            # other partitions than the leaver's). Every member that may hold a range
            # believed reachable is asked, and no reply counts until every one
            # answered: the merge then holds what every up member stores and keeps
            # as hints, the true owners' copies among them (as a fallback stands in
            # for a target down, the members up stand in for the members down)
            targets = tuple(node for node in guessed if self.quorum.reachable(node, now))
            fallbacks = ()
        pr = (0 if reply_to.internal  # a reap check reads the targets themselves
              else self.config.pr if request.pr is None else request.pr)
        if pr:
            up = [target for target in targets if self.quorum.reachable(target, now)]
            if len(up) < pr:
                return [self._unsatisfied(reply_to, pr, targets, up)]
        local = self.replica.local_record(key)
        # a record larger than max_record_bytes (a merge of several sides' puts)
        # takes longer to read from every replica: as many timeouts as it is
        # times max_record_bytes (session 17's service probe)
        local_bytes = record_bytes(local)
        patience = record_patience(self.config, local_bytes)
        coordination = GetCoordination(next(self.ids), key, request.r or self.config.r,
                                       targets, fallbacks, reply_to,
                                       now + self.config.request_timeout * patience,
                                       groups=() if guessed else self.quorum.groups(key),
                                       patience=patience,
                                       record_bytes=local_bytes, pr=pr,
                                       guessed=bool(guessed))
        self.coordinations[coordination.op_id] = coordination
        if self.name in targets or self.config.sloppy_quorum:
            # as a target, or as a fallback coordinator: its read counts too
            coordination.used.add(self.name)
            if self.name in targets:
                coordination.sent_to[self.name] = self.name
            if self.uncounted_read(key, local, now):  # a replaced disk's copy not rebuilt
                coordination.uncounted = frozenset((self.name,))
            # its own read is what it answers a peer's read with: its hints of the
            # key too (``hinted_reads``; a fallback coordinator's acknowledged write)
            coordination.replies[self.name] = self.replica.served_record(key, local)
        if guessed:
            coordination.uncounted = frozenset(targets) | coordination.uncounted
        out: list[Effect] = []
        for target in targets:
            if target not in coordination.sent_to:
                out.append(self._send(coordination, target, now, initial=True))
        out.extend(self._check(coordination, now))
        if coordination.op_id in self.coordinations:
            # (``max``/``min`` of two written out: :meth:`impl.replica.Replica.decode`)
            at = now + self.config.replica_timeout * patience
            out.append(SetTimer(GetTimeout(coordination.op_id),
                                coordination.deadline if coordination.deadline < at else at))
        return out

    def _unsatisfied(self, reply_to: ReplyTo, pr: int, targets: tuple[str, ...],
                     up: list[str]) -> Effect:
        """The answer of a get refused before it asks anyone: its coordinator
        believes fewer than ``pr`` of the key's ``targets`` reachable (``up``), as
        riak_kv_get_fsm's ``validate`` refuses PR above the primaries up
        (``{pr_val_unsatisfied, PR, NumPrimaries}``)."""
        suspected = [target for target in targets if target not in up]
        return answer(reply_to, None, QuorumError(
            f"get needs PR={pr} primaries (the key's top N answering themselves) but "
            f"{len(up)} of them {'is' if len(up) == 1 else 'are'} believed reachable "
            f"({', '.join(up) or 'none'}; suspected: {', '.join(suspected)}); nothing "
            "was asked (Riak's pr_val_unsatisfied)", needed=pr, got=len(up)))

    def on_reply(self, now: float, src: str, message: ReplicaGetReply) -> list[Effect]:
        """A node asked replied with its record."""
        coordination = self.coordinations.get(message.op_id)
        if (coordination is None or coordination.key != message.key
                or src not in coordination.used):
            return []
        record = (self.replica.decode(message.key, message.record) if message.record
                  else None)
        coordination.replies[src] = record if record is not None else Record.empty(self.mode)
        if record is not None:
            size = record_bytes(record)
            if size > coordination.record_bytes:
                coordination.record_bytes = size
        out = self._check(coordination, now)
        # a lingering get's late reply may be its largest record: counted (session
        # 33's review)
        out.extend(self.lingering.resize(now, coordination.op_id, coordination.record_bytes))
        return out

    def on_timeout(self, now: float, timer: GetTimeout) -> list[Effect]:
        """Ask fallbacks for the silent targets; at the deadline fail (short of R) or
        end with read repair. With ``timer.target`` set, only that target's part."""
        coordination = self.coordinations.get(timer.op_id)
        if coordination is None:
            return []
        if timer.target is not None:
            self.quorum.give_up(coordination.sent_to, timer.target, now)
            return [self._send(coordination, timer.target, now, initial=False)]
        if now >= coordination.deadline:
            if coordination.replied:
                return self._finish(coordination, now)
            del self.coordinations[timer.op_id]
            ended = self.ended(now, coordination)
            if coordination.reply_to.internal:  # a reap check short of its targets
                return [*self.internal_failed(now, coordination.key,
                                              coordination.reply_to.attempt), *ended]
            counted = counted_replies(coordination)
            what, needed, got = shortfall("R", len(counted), coordination.r,
                                          primary_replies(coordination, counted),
                                          coordination.pr, "replicas")
            named = _named(coordination, counted, self._own_why(coordination, now))
            return [answer(coordination.reply_to, None, QuorumError(
                f"get reached {what} before the timeout ({'; '.join(named)})",
                needed=needed, got=got)), *ended]
        out: list[Effect] = []
        for target in coordination.targets:
            sent = coordination.sent_to.get(target)
            if coordination.replied or (sent is not None and sent in coordination.replies):
                continue
            self.quorum.give_up(coordination.sent_to, target, now)
            out.append(self._send(coordination, target, now, initial=False))
        out.append(SetTimer(timer, min(now + self.config.replica_timeout
                                       * coordination.patience, coordination.deadline)))
        return out

    def _own_why(self, coordination: GetCoordination, now: float) -> str:
        """:attr:`uncounted_why` at ``now`` when this node's own read was uncounted
        (a guessed ring's get names its own reason), else the default phrase."""
        if self.name in coordination.uncounted and not coordination.guessed:
            return self.uncounted_why(coordination.key, now)
        return "not rebuilt"

    def _send(self, coordination: GetCoordination, target: str, now: float, *,
              initial: bool) -> Effect:
        node = target
        if coordination.reply_to.internal:
            pass  # a reap check asks the targets themselves (a fallback's answer never reaps)
        elif not (initial and self.quorum.reachable(target, now)):
            # no fallback left (or strict quorum): ask the target again
            node = self.quorum.fallback(coordination.fallbacks, coordination.used,
                                        now) or target
        coordination.sent_to[target] = node
        if node != target:
            coordination.asked_for[node] = target
        coordination.used.add(node)
        return Send(node, ReplicaGet(coordination.op_id, coordination.key))

    def _check(self, coordination: GetCoordination, now: float) -> list[Effect]:
        out: list[Effect] = []
        answers = not coordination.replied and read_quorum_reached(coordination)
        if answers:
            coordination.replied = True
            if self.name in coordination.replies:
                self._read_own_again(coordination)
            merged = reconciled(coordination.replies)
            context = encode_context_pairs(context_pairs(merged, self.config.vclock_max_pairs),
                                           key=coordination.key,
                                           mode=self.mode, secret=self.config.context_secret)
            if not coordination.reply_to.internal:
                out.append(answer(coordination.reply_to,
                                  GetResult(live_values(merged), context), None))
        if coordination.replied and coordination.used <= set(coordination.replies):
            out.extend(self._finish(coordination, now))
            out.append(CancelTimer(GetTimeout(coordination.op_id)))
        elif answers:  # answered, waits for the other nodes asked: it lingers
            out.extend(self.lingering.add(now, coordination.op_id, coordination.record_bytes,
                                          self.end_early))
        return out

    def _read_own_again(self, coordination: GetCoordination) -> None:
        """Merge this node's own record of the key, read again as it answers, into
        its read taken at the start: what reached its store (or its hints) while
        the get waited for its peers counts too. Session 55's hole 4
        (tests/impl/test_hint_moved_during_a_read.py): the coordinator counted
        its empty copy at once; a fallback asked later had meanwhile handed its
        hint of the acknowledged write to this very node (acknowledged, deleted)
        and answered empty; R met W at the fallback and the read missed the value,
        which had moved between the two answers. Read again, the merge holds it.
        The merge with the first read (not the fresh read alone) keeps what a reap
        removed meanwhile: a reply is never taken back. Costs one local read per
        answered get whose own read was taken (the decode cache makes an unchanged
        record the same object: no merge)."""
        first = coordination.replies[self.name]
        fresh = self.replica.served_record(coordination.key,
                                           self.replica.local_record(coordination.key))
        if fresh is first or fresh == first:
            return
        again = self.replica.prune(merge(first, fresh))
        coordination.replies[self.name] = again
        size = record_bytes(again)
        if size > coordination.record_bytes:
            coordination.record_bytes = size

    def end_early(self, now: float, op_id: int) -> list[Effect]:
        """End the answered get ``op_id`` before its deadline (more coordinations
        linger than :class:`~impl.lingering.Lingering` keeps): what its deadline
        would do, read repair with the replies it has and the reap's test."""
        coordination = self.coordinations.get(op_id)
        if coordination is None:
            return []
        return [*self._finish(coordination, now), CancelTimer(GetTimeout(op_id))]

    def _finish(self, coordination: GetCoordination, now: float) -> list[Effect]:
        self.coordinations.pop(coordination.op_id, None)
        self.lingering.discard(coordination.op_id)
        out: list[Effect] = []
        if coordination.guessed:
            return self.ended(now, coordination)
        if coordination.replies and self.config.read_repair:
            replicas = frozenset(coordination.targets).union(*coordination.groups)
            out.extend(self.repairer.repair(coordination.key, coordination.replies, replicas))
        if coordination.replies and self.config.delete_mode == "safe":
            merged = reconciled(coordination.replies)
            if all_targets_hold(coordination.targets, coordination.sent_to,
                                coordination.replies, merged, self.replica.prune):
                out.extend(self.reaper.schedule(now, coordination.key, merged,
                                                coordination.targets))
        out.extend(self.ended(now, coordination))
        return out
