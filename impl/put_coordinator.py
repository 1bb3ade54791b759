"""The put coordinator (Dynamo paper, sections 4.5 and 4.6).

Theory of operation
-------------------
A node among the key's top N (or, forwarded to as a last resort, any node)
coordinates a put: it applies the client's value to its own record under the
context the client brought (:func:`impl.versions.apply_put`: the new version's
clock), writes the result locally, and sends the new version (``ReplicaPut``)
to each of the key's *targets* (its top N) -- or, for a target the failure
detector suspects, to the next *fallback* with a hint naming it (the sloppy
quorum, :mod:`impl.sloppy_quorum`). The :class:`PutCoordination` records, per
target, the node the write was ``sent_to``, and the targets whose write was
acknowledged (``acks``): a target acking without a hint counts for itself; a
fallback counts for the *intended* node its hint names, and only if the
coordinator did send it that hint (:func:`ack_counts`). The put is acknowledged
to its client once W targets are (:func:`put_quorum_reached`), the
coordinator's own included, PW of them by the target itself (a *primary* ack,
``primary_acks``; Riak's ``pw``, 0 by default: a fallback's hinted ack counts
towards W, never PW). A put with PW above the targets the failure detector
believes reachable is refused before anything is written (Riak's
``pw_val_unsatisfied``); one whose targets were all acknowledged, or whose
deadline passed, short of PW fails, its outcome unknown (some nodes hold it).

Its timer (:class:`~impl.timers.PutTimeout`, every ``replica_timeout``
seconds) suspects each silent target's node and sends that target's write to the
next fallback (or again to the target, when none is left), until every target
is acknowledged -- so a write lands on N nodes whenever N nodes are reachable --
or the request's deadline (``request_timeout``), when a put short of W fails
with a :class:`~impl.errors.QuorumError`. An answered put waiting for its other
targets' acks *lingers* (:mod:`impl.lingering`): not a request in flight for
admission, and ended early, as its deadline would end it, when more than
``max_pending_requests`` coordinations of the node linger, or they hold more than
``max_pending_bytes`` (session 33).

A put is minted again, before it is answered, when a replica's ack says its
version cannot stand: in client-vclock a replica holding a higher counter of
the put's entry (:meth:`PutCoordinator._remint`), in lww a replica whose floor
of the key (the stamp of a tombstone it reaped while ahead of its clock:
:mod:`impl.lww_floors`) is at or above the put's stamp
(:meth:`PutCoordinator._remint_above_floor`, session 25).

The functions :func:`ack_counts` and :func:`put_quorum_reached` are the places
the refinement tests' seeded mutants patch: keep them small.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from impl.config import ClusterConfig, record_patience
from impl.context import encode_context_pairs
from impl.effects import CancelTimer, Effect, PutResult, Send, SetTimer
from impl.errors import (
    BadMessageError,
    BadRequestError,
    DynamoError,
    QuorumError,
    TooLargeError,
)
from impl.forwarding import ReplyTo, answer, context_of
from impl.hints import HintStore
from impl.internal_errors import peer_data_error
from impl.lingering import Lingering
from impl.messages import PutRequest, ReplicaPut, ReplicaPutAck, ReplicaPutFailed
from impl.reaping import Reaper
from impl.replica import Replica
from impl.sloppy_quorum import SloppyQuorum, shortfall
from impl.timers import PutTimeout, ReapCheck
from impl.versions import (
    TOMBSTONE,
    ClockMode,
    Record,
    apply_put,
    context_clock,
    context_pairs,
    dot_actor,
    encode_record,
    is_tombstone_only,
    lww_version,
    merge,
    replicated_part,
    sibling_count,
    values,
    written_context_pairs,
)
from spec.vclock import VClock

__all__ = ["MAX_REMINTS", "PutCoordination", "PutCoordinator", "ack_counts",
           "put_quorum_reached", "sends_error"]


def _hidden_tombstones(record: Record, siblings: int) -> str:
    """What the refusal of a put over ``max_siblings`` adds when some of the
    ``siblings`` its ``record`` would hold are tombstones, which a get does not show
    (empty when none are). Before session 35's service probe a key read as four values
    refused a fifth blind put as having "more than 5 siblings", the fifth being the
    tombstone of a delete the blind puts were concurrent with."""
    tombstones = sum(1 for value in values(record) if value == TOMBSTONE)
    if not tombstones:
        return ""
    return (f" ({tombstones} of the {siblings} this put would make "
            f"{'is a tombstone' if tombstones == 1 else 'are tombstones'} of a delete, "
            "which a get does not show: a put with a get's context supersedes them)")


#: How many times a client-vclock put is minted again at most
#: (:meth:`PutCoordinator._remint`): each time a replica holds a counter of the
#: client above the one minted; more than once only if the client's earlier
#: versions are spread over replicas that each missed some.
MAX_REMINTS = 3


def _silent(coordination: PutCoordination) -> str:
    """The part of a put's timeout message naming the nodes its unacknowledged
    targets were sent to, in the order they were sent, the target itself and each
    fallback (`` (no acknowledgement from n1, n4 for n1)``), or "". Before session
    32's service probe the 504 said only "put reached 2 of W=3 replicas", and a
    replica whose disk was full (its writes failing, no answer sent) was named
    nowhere but in its own log; its first version named only the node a target's
    write was last sent to (``n5 for n1``: n1 and the first fallback n4, silent
    too, unnamed; session 32's review)."""
    silent: list[str] = []
    for target in coordination.targets:
        if target in coordination.acks:
            continue
        sent = [target] if target in coordination.used else []
        sent.extend(f"{node} for {target}" for node, intended
                    in coordination.hints_sent.items() if intended == target)
        silent.extend(sent or [target])
    if not silent:
        return ""
    return " (no acknowledgement from " + ", ".join(silent) + ")" + _failures(coordination)


def _failures(coordination: PutCoordination) -> str:
    """The part of a put's failure naming the writes that failed (the coordinator's
    own, a replica's :class:`~impl.messages.ReplicaPutFailed`), or "" (session 50)."""
    if not coordination.failures:
        return ""
    return "; failed: " + "; ".join(coordination.failures.values())


def _quorum_failed(coordination: PutCoordination) -> Effect:
    """The answer of a put that can no longer reach W (or PW) because writes failed
    (:attr:`PutCoordination.failures`): a QuorumError naming them
    (``replicas_failed``: HTTP 503; outcome unknown, the others may store it)."""
    what, needed, got = shortfall("W", len(coordination.acks), coordination.w,
                                  coordination.primary_acks, coordination.pw, "replicas")
    return answer(coordination.reply_to, None, QuorumError(
        f"{'delete' if coordination.tombstone else 'put'} reached {what} and cannot "
        f"reach the quorum{_failures(coordination)} (the other replicas may store "
        "it: outcome unknown)", needed=needed, got=got, replicas_failed=True), kind="put")


@dataclass(slots=True)
class PutCoordination:
    """A put in progress at its coordinator."""

    op_id: int
    key: bytes
    record: bytes  # the encoded record sent to every replica
    result_context: bytes
    w: int
    targets: tuple[str, ...]  # the key's top N
    fallbacks: tuple[str, ...]  # the rest of the preference list, in order
    reply_to: ReplyTo
    deadline: float  # seconds, the node's time
    sent_to: dict[str, str] = field(default_factory=dict)  # target -> node sent to
    hints_sent: dict[str, str] = field(default_factory=dict)  # fallback -> intended
    acks: set[str] = field(default_factory=set)  # targets acknowledged
    used: set[str] = field(default_factory=set)  # nodes sent to (targets or fallbacks)
    replied: bool = False
    #: a delete: the coordinator's own record after it (encoded), to reap later
    tombstone: bytes = b""
    #: during a membership change (pending ownership): the old and the new top N,
    #: each of which must give W acks (empty: W of the targets; spec
    #: ``Coordination.groups``)
    groups: tuple[tuple[str, ...], ...] = ()
    #: client-vclock: the request (to mint it again), the client's counter its
    #: version was minted with, and how many times it was minted again already
    request: PutRequest | None = None
    minted: int = 0
    #: dvv: the retired actors told with the record (:attr:`ReplicaPut.retired`:
    #: those that minted an entry of the stored record or the put's; session 33)
    retired: bytes = b""
    remints: int = 0
    #: client-vclock: the entry the version was minted under (its counter: ``minted``)
    entry: str = ""
    #: client-vclock: the clock of the version minted (a late re-mint keeps it,
    #: :meth:`PutCoordinator._remint`)
    version: VClock | None = None
    #: the timeouts' multiple for a record larger than max_record_bytes
    #: (:func:`impl.config.record_patience`)
    patience: float = 1.0
    #: lww: the stamp of the version minted (seconds; a replica's floor at or
    #: above it mints the put again: :meth:`PutCoordinator._remint_above_floor`)
    stamp: float = 0.0
    #: how many targets must acknowledge by themselves (Riak's ``pw``; session 39),
    #: and those that did: a subset of ``acks`` (an ack without a hint from the
    #: target, or the coordinator's own write as a target)
    pw: int = 0
    primary_acks: set[str] = field(default_factory=set)
    #: target -> why its write failed (the coordinator's own write: its engine's
    #: error, a full disk; a replica's ReplicaPutFailed): that part counts for
    #: nothing and the others' acks decide (session 50;
    #: :meth:`PutCoordinator.local_write_failed`, :meth:`PutCoordinator.on_failed`)
    failures: dict[str, str] = field(default_factory=dict)
    #: target -> the node whose write of its part failed last (the target itself, this
    #: node, or the fallback that held its part: :meth:`PutCoordinator._quorum_lost`
    #: counts a target failed while that node still holds its part; session 52)
    failed_at: dict[str, str] = field(default_factory=dict)
    #: the driver reported this put's own write settled (:meth:`PutCoordinator.
    #: writes_durable`): durable, or failed and already taken back by
    #: :meth:`PutCoordinator.local_write_failed`; a later failed write (another
    #: input's) leaves its own ack alone (session 51's review)
    own_durable: bool = False


def ack_counts(coordination: PutCoordination, src: str, hint: str) -> str | None:
    """The target an ack from ``src`` (echoing ``hint``) counts for, or None.

    A target acking without a hint counts for itself (whether or not a fallback
    was also sent its write later: it did store it); a fallback counts for the
    intended node its hint names only if the coordinator sent it exactly that hint.
    """
    if not hint:
        return src if src in coordination.targets and src in coordination.used else None
    return hint if coordination.hints_sent.get(src) == hint else None


def answer_id(reply_to: ReplyTo) -> tuple[str, int]:
    """How a driver names the answer to ``reply_to``: ("", request id) of a local
    client's Reply, (peer, op id) of a ForwardReply (:func:`impl.staging.reply_ids`)."""
    return (reply_to.peer, reply_to.op_id) if reply_to.peer else ("", reply_to.request_id)


def sends_error(coordination: PutCoordination) -> str | None:
    """How the coordination's records of its sends contradict each other (None:
    they agree): every node a target's write was sent to (``sent_to``) and every
    fallback sent a hint (``hints_sent``) is among the nodes sent to (``used``);
    ``sent_to`` maps targets only, ``hints_sent`` names targets only, and a
    fallback's entry of ``sent_to`` is the one its hint names. A contradiction
    is a bug of the coordinator, never a peer's doing."""
    targets = set(coordination.targets)
    for target, node in coordination.sent_to.items():
        if target not in targets:
            return f"sent_to maps {target!r}, not a target"
        if node not in coordination.used:
            return f"the write of {target!r} was sent to {node!r}, not among the nodes used"
        if node != target and coordination.hints_sent.get(node) != target:
            return f"the write of {target!r} was sent to {node!r} without its hint"
    for fallback, intended in coordination.hints_sent.items():
        if fallback not in coordination.used or intended not in targets:
            return f"hint for {intended!r} sent to {fallback!r}, not among the nodes used"
    if not coordination.acks <= targets:
        return f"acks {sorted(coordination.acks - targets)!r} are not targets"
    return None


def _client_counter(record: Record, entry: str) -> int:
    """The highest counter of ``entry`` among ``record``'s clocks (0: none)."""
    return max((s.clock.counter(entry) for s in record.siblings), default=0)


def put_quorum_reached(coordination: PutCoordination) -> bool:
    """The ack count check: W targets (the coordinator's own included) acknowledged,
    PW of them by themselves (``primary_acks``: Riak's ``num_pw`` of
    ``riak_kv_put_core``), W and PW within each of the coordination's groups during
    a membership change."""
    if coordination.groups:
        return all(len(coordination.acks.intersection(group)) >= coordination.w
                   and len(coordination.primary_acks.intersection(group)) >= coordination.pw
                   for group in coordination.groups)
    return (len(coordination.acks) >= coordination.w
            and len(coordination.primary_acks) >= coordination.pw)


class PutCoordinator:
    """The puts node ``name`` coordinates (see the module docstring)."""

    def __init__(self, name: str, config: ClusterConfig, replica: Replica, hints: HintStore,
                 quorum: SloppyQuorum, ids: itertools.count[int],
                 actor: Callable[[bytes, Record], str], reaper: Reaper,
                 stats: collections.Counter[str], lingering: Lingering) -> None:
        self.name = name
        #: key -> the actor id this node mints the key's dots under (kv679)
        self.actor = actor
        self.config = config
        self.mode = ClockMode(config.clock)
        self.replica = replica
        self.hints = hints
        self.quorum = quorum
        self.ids = ids
        self.coordinations: dict[int, PutCoordination] = {}
        self.reaper = reaper
        #: the node's counters: ``late-acks`` (acks of puts that ended, ignored)
        self.stats = stats
        #: the answered coordinations (this node's gets and puts) that wait for late
        #: acks, bounded (:mod:`impl.lingering`)
        self.lingering = lingering
        #: called with a key once no put of it is coordinated here any more (its
        #: coordinations all ended): the node hands its own copy of a key it
        #: coordinated from outside the top N to the owners
        #: (:meth:`impl.gossip.Gossiper.hand_outsider_copy`)
        self.ended: Callable[[bytes], None] = lambda key: None
        #: called with a key just before this node stores its own copy as the put's
        #: coordinator: a node outside the key's top N notes the key durably, so a
        #: restart before the put ends still hands the copy
        #: (:meth:`impl.gossip.Gossiper.mark_outsider_copy`)
        self.storing: Callable[[bytes], None] = lambda key: None
        #: whether this node's own write of a key must not count towards W: a
        #: rebuilding replaced disk's copy (:meth:`impl.node.Node._unacked_if_rebuilding`;
        #: session 54): its part fails at once (:meth:`_part_failed`: to a fallback,
        #: hinted, if one is left; else the put fails if W is out of reach); the key
        #: and the time (until its peers' suspicion of it has ended:
        #: :meth:`impl.node.Node._acks_uncounted`)
        self.uncounted_own: Callable[[bytes, float], bool] = lambda key, now: False
        #: when this node's own write counts again, a phrase for the put's 503 ("" when
        #: unknown): :meth:`impl.node.Node.own_write_uncounted_when` (session 57, as
        #: the get's :attr:`impl.get_coordinator.GetCoordinator.uncounted_why`)
        self.uncounted_when: Callable[[float], str] = lambda now: ""
        #: the request ids :meth:`local_write_failed` last left to a later answer
        self.taken_back: set[int] = set()
        #: seconds the host's wall clock is ahead of this node's clock (``now``),
        #: added to ``now`` for what a put stamps (lww stamps, the vector-clock
        #: modes' pair times, their truncation's ages): the runtime sets it at each
        #: input (``time.time() - now``), so an NTP step of the host's clock while the
        #: node runs moves the stamps and not the timers, which keep ``now`` (session
        #: 50's clock probe: a node started an hour behind kept stamping an hour
        #: behind after NTP corrected the host, and its blind lww writes lost to older
        #: ones; ``tests/runtime/test_ntp_step_stamps.py``). 0 in the simulator,
        #: whose nodes' clocks are the simulated wall clocks.
        self.wall_lead = 0.0
        #: key -> the record (encoded) of a put minted here whose own write failed,
        #: merged into the local copy before the key's next mint (:meth:`_coordinate`)
        #: so no dot of it is minted again (kv679: the others stored it, under W);
        #: bounded by ``max_pending_bytes``, the oldest forgotten first (session 50)
        self.unpersisted: dict[bytes, bytes] = {}
        self.unpersisted_bytes = 0
        #: (peer, request id or op id) -> a put that ended answered (every target
        #: acked), its answer perhaps held behind its own commit still running (a
        #: slow disk): :meth:`local_write_failed` remembers its record and answers it
        #: again by the others' acks when that answer was failed (session 50's
        #: review); bounded by ``max_pending_bytes``, the oldest forgotten first, and
        #: let go once no answer waits for a write (:meth:`answers_released`)
        self.held_ended: dict[tuple[str, int], PutCoordination] = {}
        self.held_ended_bytes = 0
        replica.write_listeners.append(self._written)

    def handlers(self) -> dict[type, Callable[[float, str, Any], list[Effect]]]:
        """The peer messages this mechanism handles: type -> handler(now, src, message)."""
        return {ReplicaPutAck: self.on_ack, ReplicaPutFailed: self.on_failed}

    def timers(self) -> dict[type, Callable[[float, Any], list[Effect]]]:
        """The timers this mechanism handles: type -> handler(now, timer)."""
        return {PutTimeout: self.on_timeout}

    def start(self, now: float, request: PutRequest, reply_to: ReplyTo) -> list[Effect]:
        """Coordinate a (checked) put: write locally, send to the targets; refused,
        nothing written, when fewer than its PW targets are believed reachable."""
        pw = self._pw(request)
        if pw:
            targets, _ = self.quorum.split(request.key, writing=True)
            up = [target for target in targets if self.quorum.reachable(target, now)]
            if len(up) < pw:
                suspected = [target for target in targets if target not in up]
                return [answer(reply_to, None, QuorumError(
                    f"{'delete' if request.delete else 'put'} needs PW={pw} primaries "
                    f"(the key's top N acknowledging themselves) but {len(up)} of them "
                    f"{'is' if len(up) == 1 else 'are'} believed reachable "
                    f"({', '.join(up) or 'none'}; suspected: {', '.join(suspected)}); "
                    "nothing was written (Riak's pw_val_unsatisfied)",
                    needed=pw, got=len(up), written=False), kind="put")]
        return self._coordinate(now, request, reply_to, now + self.config.request_timeout, 0)

    def _pw(self, request: PutRequest) -> int:
        """The request's PW: its own, else the cluster's."""
        return self.config.pw if request.pw is None else request.pw

    def _coordinate(self, now: float, request: PutRequest, reply_to: ReplyTo,
                    deadline: float, remints: int, *, replied: bool = False,
                    late: tuple[VClock, str] | None = None) -> list[Effect]:
        """Mint the put's version over this node's record, store it, send it to the
        targets (``remints``: the times it was minted before, :meth:`_remint`;
        ``replied``: the put was answered already, a round that answers nothing;
        ``late``: the answered version's clock and a fresh entry, the version
        minted again as that clock plus the entry's first counter, not above the
        client's, :meth:`_remint`)."""
        key = request.key
        context = context_of(self.config, self.mode, request)
        client_id, client_counter = request.client_id, request.client_counter
        if late is not None:
            context, client_id = late
            client_counter = 0
        lost = self.unpersisted.pop(key, None)
        if lost is not None:  # a version minted here whose own write failed: merged
            self.unpersisted_bytes -= len(lost)  # first, so no dot of it is minted again
            self.replica.merge_into_local(key, self.replica.parse(lost), lost)
        stored = self.replica.local_record(key)
        value = TOMBSTONE if request.delete else request.value
        actor = self.actor(key, stored)
        hybrid = self.config.lww_timestamps == "hybrid"
        # lww: above a tombstone of the key this node reaped while it was stamped
        # ahead of this clock (session 24; :meth:`impl.replica.Replica.lww_now`)
        wall = now + self.wall_lead  # the host's wall clock (session 50)
        stamp_now = (self.replica.lww_now(key, wall)
                     if self.mode is ClockMode.LWW and hybrid else wall)
        unpruned: list[Record] = []  # the put before its pruning (the last one made)

        def put_over(seen: VClock) -> Record:
            # dvv: less the value-less entries of retired lifetimes (session 33)
            whole = apply_put(
                stored, seen, value, coordinator=self.name, client_id=client_id,
                now=stamp_now, client_counter=client_counter, actor=actor,
                truncation=self.config.truncation, hybrid=hybrid,
                per_put=self.config.vclock_truncation == "put",
                counter_floor=self.replica.client_floor)
            unpruned[:] = [whole]
            return self.replica.prune(whole)

        try:
            record = put_over(context)
            siblings = sibling_count(record)
            if (not replied and not request.delete and siblings > self.config.max_siblings
                    and siblings > sibling_count(stored) and is_tombstone_only(stored)
                    and self.mode is not ClockMode.SERVER_VCLOCK):
                # Every sibling held is a tombstone (retried deletes in client-vclock
                # each keep one: "Delete retries (session 26)"), which a get answers as
                # no value, so no read can show them to reconcile: the put supersedes
                # them, as a put with a read's context (the join of their clocks)
                # does. Before session 31's user probe it was refused 400 "read and
                # reconcile them first" of a key that read as not found.
                # The join covers nothing the tombstones do not: in dvv it is the
                # record's causal past already (the new set's clock is unchanged), in
                # client-vclock a clock holding a version's own pair descends from a
                # read of that version. Not in server-vclock: a blind delete through
                # B mints {B: n+1} over no context, so tombstones {A: 2} and {B: 2},
                # each concurrent with a value {A: 1, B: 1} another replica holds,
                # join above it, and the put superseded that acknowledged value it
                # never saw (session 31's review); there the 400 stays (lww never
                # gets here: one version).
                context = context.merge(context_clock(stored))
                record = put_over(context)
                siblings = sibling_count(record)
        except BadRequestError as error:  # a counter at its limit (versions.MAX_COUNTER)
            return [] if replied else [answer(reply_to, None, error)]
        # A round of an answered put (``replied``) is never refused: its client was
        # told it is stored, and a refusal would answer it a second time and leave
        # the acknowledged version dominated (session 16's review).
        if (not replied and siblings > self.config.max_siblings
                and siblings > sibling_count(stored)):
            # a put that does not grow a record merges made larger (k partition
            # sides, each within the limit) is accepted, as the 413 of bytes is.
            # A TooLargeError (HTTP 413, as the record's bytes) since session 53:
            # until then a BadRequestError (400), so a client could not tell the
            # cap from a malformed request but by the message (Riak enforces
            # max_siblings and max_object_size at one place, riak_kv_vnode's put)
            return [answer(reply_to, None, TooLargeError(
                f"key has more than {self.config.max_siblings} siblings (max_siblings): read and "
                f"reconcile them first{_hidden_tombstones(record, siblings)}"))]
        encoded = encode_record(record)
        if len(encoded) > self.config.max_record_bytes and not (request.delete or replied):
            refused = self._record_too_large(key, stored, len(encoded), siblings, len(value))
            if refused is not None:
                return [answer(reply_to, None, refused)]
        # dvv: the put replicated whole, not pruned (session 39): the entries this
        # write emptied cover the values it superseded, which the replicas still
        # hold; each prunes them when it merges (told by ``coordination.retired``).
        # Replicated pruned, they left those values uncovered on every replica but
        # this one: a delete (or a read-modify-write) acknowledged by all N kept
        # what it removed for good once a retired lifetime's entries passed the
        # budget (tests/impl/test_prune_emptied_entries.py)
        sent = replicated_part(stored, unpruned[0] if self.mode is ClockMode.DVV else record)
        if self.mode is ClockMode.LWW and self.config.lww_timestamps != "hybrid":
            # the new version, even where it lost to the stored one (paper 4.5)
            sent = Record(self.mode, (lww_version(stored, context, value, coordinator=self.name,
                                                  now=wall, hybrid=False),))
        replica_record = encoded if sent is record else encode_record(sent)
        targets, fallbacks = self.quorum.split(key, writing=True)
        # a record larger than max_record_bytes (a merge of several sides' puts)
        # takes longer to reach every replica, and so does a put that replaces one
        # (each replica reads, merges and writes its stored record): as many
        # timeouts as the larger of the two is times max_record_bytes (session 17's
        # service probe). A round minted again keeps its deadline.
        # (``max``/``min`` of two written out: :meth:`impl.replica.Replica.decode`)
        stored_bytes = sum(map(len, values(stored)))
        patience = record_patience(self.config, stored_bytes if stored_bytes > len(encoded)
                                   else len(encoded))
        if remints == 0 and not replied:
            patient = now + self.config.request_timeout * patience
            if patient > deadline:
                deadline = patient
        coordination = PutCoordination(
            next(self.ids), key, replica_record,
            self._written_context(key, written_context_pairs(
                record, context, value, actor=dot_actor(stored, context, actor, client_id),
                writer=self.name, now=stamp_now,
                max_pairs=self.config.vclock_max_pairs)),
            request.w or self.config.w, targets, fallbacks, reply_to, deadline,
            tombstone=encoded if request.delete else b"",
            groups=self.quorum.groups(key, writing=True), replied=replied,
            patience=patience, pw=self._pw(request))
        # the retirements of the entries this put pruned and kept (session 33), the
        # entries its context brought among them: a context read through a replica
        # whose copy holds an entry pruned here names it, and that replica, not told,
        # kept it (session 35's review: its one-way ask made up for it)
        coordination.retired = self.replica.carried(stored, record, *unpruned)
        if self.mode is ClockMode.LWW and hybrid:
            coordination.request = request
            coordination.remints = remints
            coordination.stamp = max(sibling.stamp for sibling in sent.siblings)
        if self.mode is ClockMode.CLIENT_VCLOCK and late is None:
            # (a late round's version is concurrent with every clock of the client's
            # entry alone: no replica's record makes it mint again)
            coordination.request = request
            coordination.remints = remints
            # the entry the put incremented (session 23: the pair of this node's key
            # actor and the client, or a fresh entry of the pair) and its counter:
            # minted above the context's and the stored record's counters of it. A
            # concurrent sibling's pair is above the context's too, and when
            # truncation cut that sibling's clock it stayed in ``sent`` beside the new
            # version: taken for the put's entry when its counter was the higher,
            # it asked a re-mint at a replica's floor ack and, after an answer,
            # minted the value again over the sibling's clock (session 49's mutmut
            # survivor ``_coordinate__mutmut_292``'s neighbour)
            for sibling in sent.siblings:
                for entry, counter in sibling.clock.pairs:
                    if (counter > context.counter(entry) and counter > coordination.minted
                            and counter > _client_counter(stored, entry)):
                        coordination.entry = entry
                        coordination.minted, coordination.version = counter, sibling.clock
        # Written locally even when this node is not a replica of the key (a forwarded
        # request whose top N did not answer): its own record keeps the counters it
        # mints for the key increasing, so it never reuses a dot.
        self.storing(key)
        self.replica.store(key, encoded)
        uncounted = self.name in targets and self.uncounted_own(key, now)
        if self.name in targets:
            coordination.used.add(self.name)
            coordination.sent_to[self.name] = self.name
            if not uncounted:  # (else its part fails: below)
                coordination.acks.add(self.name)
                coordination.primary_acks.add(self.name)
        elif self.config.sloppy_quorum and (suspected := [
                target for target in targets if not self.quorum.reachable(target, now)]):
            # this node stands in, hinted, for the last target its failure detector
            # suspects (the last target when its forwards all timed out). Session 53's
            # review: for the last target whatever it suspects, and after the top N
            # all declined the forward (answers: none suspected) a W = N put was
            # acknowledged without that target, never sent the write
            # (tests/impl/test_forward_last_resort.py)
            intended = suspected[-1]
            self.hints.add(intended, key, replica_record)
            coordination.used.add(self.name)
            coordination.sent_to[intended] = self.name
            coordination.hints_sent[self.name] = intended
            coordination.acks.add(intended)
        self.coordinations[coordination.op_id] = coordination
        out: list[Effect] = []
        for target in targets:
            if target not in coordination.sent_to:
                out.append(self._send(coordination, target, now, initial=True))
        if uncounted:  # a rebuilding store's copy, which no read counts (session 54)
            self.stats["rebuild-uncounted-own-write"] += 1
            when = self.uncounted_when(now)
            out.extend(self._part_failed(
                coordination, self.name, f"{self.name} (this node's own write): a "
                "replaced disk rebuilding or just rebuilt, its copy not counted"
                + (f" ({when})" if when else ""), now))
            if coordination.op_id not in self.coordinations:  # W out of reach: failed
                return out
        out.extend(self._check(coordination, now))
        if coordination.op_id in self.coordinations:
            at = now + self.config.replica_timeout * patience
            out.append(SetTimer(PutTimeout(coordination.op_id),
                                coordination.deadline if coordination.deadline < at else at))
            if replied:  # a round of an answered put: no client waits on it
                out.extend(self.lingering.add(now, coordination.op_id,
                                              len(coordination.record), self.end_early))
        return out

    def _record_too_large(self, key: bytes, stored: Record, size: int, siblings: int,
                          value_bytes: int) -> TooLargeError | None:
        """The 413 of a put whose record would be ``size`` bytes, over
        ``max_record_bytes`` (Riak's ``max_object_size``: a put is refused when the
        object with its siblings would be too large), unless the put does not
        grow the record (one that reconciles siblings of a record that merges made
        large is never refused). None: accept it. Source: session 12's probe (a
        record of 5 MiB and more timed out at every put: 504, outcome unknown).
        ``siblings``: the values the record would hold; with one (``value_bytes``
        long) the message names the clock's bytes, not siblings to reconcile
        (session 32's data-loss probe: in dvv every start of a node that coordinates
        the key adds a clock entry, pruned only once retired and known so:
        :func:`impl.versions.prune_retired`, session 33; a record of one value within
        ``max_value_bytes`` was refused "reconcile its siblings")."""
        if size <= len(encode_record(stored)):
            return None
        limit = self.config.max_record_bytes
        if siblings <= 1:
            return TooLargeError(
                f"the record of this key would be {size} bytes with this value, over "
                f"max_record_bytes ({limit}): it would hold this one value ({value_bytes} "
                f"bytes) and {size - value_bytes} bytes of clock and metadata (in dvv a "
                "clock entry for each start of a node that coordinated the key, pruned "
                "only once the replicas heard of the start that retired it: "
                "docs/impl.md, 'Disk loss and key amnesia'); write a smaller value or "
                "raise max_record_bytes")
        return TooLargeError(
            f"the record of this key would be {size} bytes with this value, over "
            f"max_record_bytes ({limit}); read the key and "
            "reconcile its siblings (a put with its context replaces them), or write "
            "a smaller value")

    def on_ack(self, now: float, src: str, message: ReplicaPutAck) -> list[Effect]:
        """A replica (or a fallback) stored the write.

        An ack for a put that ended (every target acknowledged, the deadline
        passed, the engine failed) is a late or duplicate ack: ignored, as riak_kv
        drops the vnode replies of a put FSM that exited (``riak_kv_put_fsm``). So
        is an ack of a live put that names another key: the late ack of a put of
        an earlier lifetime of this node whose op id this one reuses (rare, not
        impossible: :func:`impl.node._op_id_base`), or a forged one, which counts
        for nothing either way; both are counted as ``late-acks``. A second ack of
        a target that already counted changes nothing. Raises PeerDataError
        (:data:`impl.internal_errors.PEER_DATA` "ack") for an ack of a live put,
        with its key, that counts for no target (:func:`ack_counts`: a node never
        sent the write, or sent another hint): a put's sends are recorded in the
        input that makes them, so no race makes one. Before blaming the peer the
        put's own records of its sends are checked (:func:`sends_error`); records
        that contradict each other are a bug of ours, raised as AssertionError (an
        internal error)."""
        coordination = self.coordinations.get(message.op_id)
        if coordination is None or coordination.key != message.key:  # a late ack
            self.stats["late-acks"] += 1
            return []
        target = ack_counts(coordination, src, message.hint)
        if target is None:
            wrong = sends_error(coordination)
            if wrong is not None:  # our own records lost or mixed up a send
                raise AssertionError(f"put {message.op_id}: {wrong}")
            raise peer_data_error("ack", BadMessageError(
                f"ack for put {message.op_id} that counts for no target"))
        if message.record:
            reminted = self._remint(now, coordination, message.record)
            if reminted is not None:
                return reminted
        coordination.acks.add(target)
        if not message.hint:  # the target itself stored it: a primary's ack
            coordination.primary_acks.add(target)
        if coordination.replied and coordination.tombstone:  # a late ack of a delete
            return [*self.reaper.reap_acknowledged(now, coordination.key,
                                                   coordination.tombstone,
                                                   coordination.targets),
                    *self._check(coordination, now)]
        return self._check(coordination, now)

    def _remint(self, now: float, coordination: PutCoordination,
                raw: bytes) -> list[Effect] | None:
        """Since session 23 a guard only: a client-vclock put mints under the entry of
        (this node's key actor, its client) (``coordination.entry``), which no other
        node mints, so a replica holds a higher counter of it only if a dot was
        re-used (a bug, a forged peer); that record asks the re-mint below. Before,
        the entry was the client's own, and the text below tells why.

        Mint a client-vclock put again when a replica's record ``raw`` (its ack
        kept none of the version: :meth:`impl.replica.Replica.on_replica_put`)
        holds a counter of the put's client above the one minted: the client
        forgot its counter (a restarted process reusing its id, or one sending a
        stale ``X-Vdynamo-Client-Counter``) and this node missed its last version,
        so the version was minted under a clock the replicas hold a dominating one
        of, and would be dropped everywhere although acknowledged (session 13's
        open finding). The replica's record is merged into this node's, the put
        is coordinated again over it (:func:`impl.versions.apply_put` counts the
        client's stored counter) with a new op id and the same deadline, and the
        first round's acks count for nothing.

        A put already answered (W acks came before this one: with W=2 of N=3 the
        replica holding the client's later counter may answer last) is minted
        again too, in a round that answers nothing (session 14's review: the
        acknowledged version was dominated on the replica that answered late and
        lost at the next read of all N), unless this node's own record holds a
        counter of the client above the one minted: the client wrote again
        through this node since its answer, and a version minted now would be
        ordered after that write. Such a *late* round does not count above the
        client's counters: the client may have written again through another
        coordinator since its answer, with a counter that collides with the ones
        the late record holds (it forgot its counter), and a version above them
        superseded that acknowledged later write (session 16's review, the
        strict xfail of session 21). It keeps the answered version's clock and
        adds one pair of a fresh entry (``<actor>/remint/<op id>``: this node's
        key actor, unique per storage lifetime, and the answered round's op
        id), so the version is concurrent with every clock that dominated it
        (a sibling of them, never dominated by the client's entry alone) and
        dominates only what the answered version did; the client's later write,
        whose context holds the answered clock but not the new pair, becomes its
        sibling rather than its loser. A late round is never minted again.
        None (the ack counts as an ack): another mode,
        that, a counter not above the one minted (an equal one is a version that
        read this one: Riak-style dominance, no collision), or
        :data:`MAX_REMINTS` reached. Riak left client-side actor ids for this
        class of fault (Riak 1.0's ``vnode_vclocks``: the coordinating vnode
        mints, riak_kv_put_fsm's ``coord`` put; Russell Brown, "Vector Clocks
        Revisited", Basho blog 2015), this project's ``dvv`` and
        ``server-vclock``; here the client's entry stays the actor. Raises
        PeerDataError for a bad record."""
        if self.mode is ClockMode.LWW:
            return self._remint_above_floor(now, coordination, raw)
        request = coordination.request
        if request is None or coordination.remints >= MAX_REMINTS:
            return None
        theirs = self.replica.decode(coordination.key, raw)
        entry = coordination.entry
        seen = _client_counter(theirs, entry)
        # (Before session 23 a replica's truncation or reap floor at or above the
        # counter minted asked a re-mint too: the client's entry was every
        # coordinator's, and one that missed the truncation could mint under the
        # floor. The (actor, client) entry is this node's alone, and its own floors
        # count in apply_put: another node's floor says nothing of it.)
        if seen <= coordination.minted:
            return None
        if coordination.replied and _client_counter(
                self.replica.local_record(coordination.key), entry) > coordination.minted:
            return None
        del self.coordinations[coordination.op_id]
        self.lingering.discard(coordination.op_id)
        self.stats["put-remints"] += 1
        self.replica.merge_into_local(coordination.key, theirs, raw)
        late = None
        if coordination.replied and coordination.version is not None:
            # The answered version plus one pair of an entry no clock holds yet: its
            # client may have written again through another coordinator since the
            # answer (session 16's review), and that write's clock collides with the
            # counters of the client this record holds, so a version above them
            # would be above it too.
            stored = self.replica.local_record(coordination.key)
            late = (coordination.version,
                    f"{self.actor(coordination.key, stored)}/remint/{coordination.op_id}")
        return [CancelTimer(PutTimeout(coordination.op_id)),
                *self._coordinate(now, request, coordination.reply_to, coordination.deadline,
                                  coordination.remints + 1, replied=coordination.replied,
                                  late=late)]

    def _remint_above_floor(self, now: float, coordination: PutCoordination,
                            raw: bytes) -> list[Effect] | None:
        """lww: mint a put not answered yet again above a replica's floor of its key
        (``raw``, a tombstone record stamped with the floor:
        :meth:`impl.replica.Replica._lww_ack`) if its version is stamped at or
        below it. The floor is the stamp of a tombstone that replica reaped while
        it was ahead of the replica's clock; this node did not reap it (it joined
        since, its disk was replaced, it coordinates from outside the top N) and
        stamped by its clock alone, so a late copy of the tombstone deleted the
        acknowledged put (session 25's review: ``[]`` at R = 3 where ``[v2]`` is
        right, 3 of 3 seeds after a replaced disk; the join case likewise). The
        floor is adopted here (:meth:`impl.replica.Replica.adopt_lww_floor`) and
        the put coordinated again over it with a new op id and the same deadline;
        the first round's acks count for nothing (as a client-vclock re-mint).
        None (the ack counts): a put answered already (its client holds the
        first stamp's context: a version above the floor could supersede the
        client's next write through a coordinator that has not seen it), a record
        not of tombstones only (no floor: a forged or newer peer) or a floor below
        the stamp, :data:`MAX_REMINTS` reached. PeerDataError for a bad record."""
        request = coordination.request
        if request is None or coordination.replied or coordination.remints >= MAX_REMINTS:
            return None
        theirs = self.replica.decode(coordination.key, raw)
        if not is_tombstone_only(theirs):  # a floor is a tombstone's stamp
            return None
        floor = max(sibling.stamp for sibling in theirs.siblings)
        if floor < coordination.stamp:
            return None
        del self.coordinations[coordination.op_id]
        self.stats["put-remints"] += 1
        self.replica.adopt_lww_floor(coordination.key, floor)
        return [CancelTimer(PutTimeout(coordination.op_id)),
                *self._coordinate(now, request, coordination.reply_to, coordination.deadline,
                                  coordination.remints + 1)]

    def on_timeout(self, now: float, timer: PutTimeout) -> list[Effect]:
        """Resend the silent targets' write to fallbacks; fail the put at its deadline.
        With ``timer.target`` set, only that target's part (no deadline, no re-arm)."""
        coordination = self.coordinations.get(timer.op_id)
        if coordination is None:
            return []
        if timer.target is not None:
            self.quorum.give_up(coordination.sent_to, timer.target, now)
            return [self._send(coordination, timer.target, now, initial=False)]
        if now >= coordination.deadline:
            check = self._expire(coordination, now)
            if coordination.replied:
                return check
            return [*check, self._failed(coordination, "before the timeout")]
        out: list[Effect] = []
        for target in coordination.targets:
            if target in coordination.acks or (target == self.name and self.quorum.fallback(
                    coordination.fallbacks, coordination.used, now) is None):
                continue  # (its own write failed: never a ReplicaPut to itself)
            self.quorum.give_up(coordination.sent_to, target, now)
            out.append(self._send(coordination, target, now, initial=False))
        out.append(SetTimer(timer, min(now + self.config.replica_timeout
                                       * coordination.patience, coordination.deadline)))
        return out

    def _failed(self, coordination: PutCoordination, when: str) -> Effect:
        """The QuorumError answer of a put short of W or PW ``when`` (before the
        timeout; with every target acknowledged, some by a fallback: short of PW, as
        riak_kv_put_core answers ``pw_val_unsatisfied`` once every vnode answered).
        Its outcome is unknown: the coordinator and the nodes that acknowledged hold
        it."""
        what, needed, got = shortfall("W", len(coordination.acks), coordination.w,
                                      coordination.primary_acks, coordination.pw, "replicas")
        return answer(coordination.reply_to, None, QuorumError(
            f"{'delete' if coordination.tombstone else 'put'} reached {what} {when}"
            + _silent(coordination), needed=needed, got=got), kind="put")

    def _expire(self, coordination: PutCoordination, now: float) -> list[Effect]:
        """End ``coordination`` short of every target's ack (its deadline, or
        :meth:`end_early`): later acks are late acks. A delete some target did not
        acknowledge gets a reap check: its write may still reach that target (held
        by the target's shadow round, a slow link), and nothing would then schedule
        the reap: the key is read again once those have landed."""
        del self.coordinations[coordination.op_id]
        self.lingering.discard(coordination.op_id)
        self._end(coordination.key)
        config = self.config
        later = now + config.request_timeout + max(config.tombstone_grace_s,
                                                   config.shadow_round_s)
        return ([SetTimer(ReapCheck(coordination.key), later)]
                if coordination.tombstone and config.delete_mode == "safe"
                and config.reap_checks else [])

    def end_early(self, now: float, op_id: int) -> list[Effect]:
        """End the answered put ``op_id`` before its deadline (more coordinations
        linger than :class:`~impl.lingering.Lingering` keeps), as its timeouts and
        deadline would: each silent target whose write went to the target itself is
        sent to the next fallback with a hint, once and without waiting for its ack
        (:meth:`_hint_silent`), then the put ends, every later ack a late ack (a
        target with no fallback left gets the write from anti-entropy)."""
        coordination = self.coordinations.get(op_id)
        if coordination is None:
            return []
        hinted = self._hint_silent(coordination, now)
        return [*hinted, *self._expire(coordination, now), CancelTimer(PutTimeout(op_id))]

    def _hint_silent(self, coordination: PutCoordination, now: float) -> list[Effect]:
        """The writes to the next fallbacks, with hints, of ``coordination``'s targets
        that have not acknowledged and were sent the write themselves, while
        fallbacks are left (sloppy quorum): what :meth:`on_timeout` sends them at
        ``replica_timeout``, so a put ended early leaves the hint its timeout would
        have (session 33's review: none did, and a target down but not suspected
        yet never got the write by hinted handoff). The target is not suspected
        (the put did not wait for it)."""
        out: list[Effect] = []
        for target in coordination.targets:
            if (target in coordination.acks or coordination.sent_to.get(target) != target
                    or target == self.name):
                continue
            if self.quorum.fallback(coordination.fallbacks, coordination.used, now) is None:
                break
            out.append(self._send(coordination, target, now, initial=False))
        return out

    def local_write_failed(self, now: float, error: DynamoError,
                           failed_replies: frozenset[tuple[str, int]] = frozenset()
                           ) -> list[Effect]:
        """This node's engine failed a batch of writes (a full disk): its own copy of
        each put it coordinates counts as one failed replica, and the others' acks
        decide (Riak's put FSM counts a vnode's ``{error, ...}`` as a failed reply;
        session 50's service probe: such a put was 500 "outcome unknown", although
        its ReplicaPuts had left and W others stored it).

        Every coordination not answered, and every one whose answer is among
        ``failed_replies`` (:func:`answer_id` of the answers the failed commit
        turned into errors or dropped: they were held behind it), loses its own
        ack and waits for the others; one answered now (W others acked already) is
        answered again, and one that cannot reach W any more without this node
        (fewer other targets than W) fails now with a QuorumError naming the
        error (``replicas_failed``: HTTP 503; its outcome is unknown, the others
        may store it). A forwarded put's held answer (a Send) is dropped and it is
        answered again as a local one is (before session 50's review its origin
        timed out). A put that ended before the failure (every target acked while
        its own commit ran: a slow disk) and whose answer is among them has its
        record remembered (:attr:`held_ended`, :attr:`unpersisted`) and is answered
        again by the others' acks (before session 50's review: the error, a 500
        though W others stored it). Returns the effects; :attr:`taken_back` names the request ids
        of local Replies left to a later answer."""
        out: list[Effect] = []
        self.taken_back = set()
        for answered in failed_replies & self.held_ended.keys():  # ended before the failure
            ended = self.held_ended.pop(answered)
            self.held_ended_bytes -= len(ended.record)
            out.extend(self._ended_write_failed(ended, error, now))
        for op_id, coordination in list(self.coordinations.items()):
            if coordination.replied and answer_id(coordination.reply_to) not in failed_replies:
                continue  # its answer left before (its own copy was durable then)
            if coordination.own_durable and not coordination.replied:
                continue  # its own write was durable before: another write failed
            self._remember_unpersisted(coordination.key, coordination.record)
            counted = self._own_target(coordination)
            if counted is None or coordination.sent_to.get(counted) != self.name:
                # (not its copy: a part an earlier failure handed to a fallback, whose
                # ack counts for it; session 51's service probe: each later failed
                # commit took that ack back, and W = 3 of 4 nodes timed out, 504)
                continue
            coordination.acks.discard(counted)
            coordination.primary_acks.discard(counted)
            if coordination.replied:
                coordination.replied = False
                self.lingering.discard(op_id)
                if not coordination.reply_to.peer:  # (a ForwardReply: dropped)
                    self.taken_back.add(coordination.reply_to.request_id)
            effects = [*self._part_failed(coordination, counted,
                                          f"{self.name} (this node's own write): {error}",
                                          now),
                       *self._check(coordination, now)]
            if coordination.replied and not coordination.reply_to.peer:  # answered again
                self.taken_back.discard(coordination.reply_to.request_id)  # now, or failed
            out.extend(effects)
        return out

    def _keep_ended(self, coordination: PutCoordination) -> None:
        """Keep the record of an answered put that ended (:attr:`held_ended`)."""
        answered = answer_id(coordination.reply_to)
        old = self.held_ended.pop(answered, None)
        self.held_ended_bytes -= 0 if old is None else len(old.record)
        self.held_ended[answered] = coordination
        self.held_ended_bytes += len(coordination.record)
        while self.held_ended_bytes > self.config.max_pending_bytes and len(self.held_ended) > 1:
            self.held_ended_bytes -= len(self.held_ended.pop(next(iter(self.held_ended))).record)

    def writes_durable(self) -> None:
        """The driver reports every write this node staged so far durable: the own
        writes of the puts it coordinates now are, so a later failed write (another
        input's) leaves their own acks (:attr:`PutCoordination.own_durable`). Before
        (session 51's review), :meth:`local_write_failed` took the own ack of every
        unanswered put: a node refusing a replica put of one put stopped counting
        its durable copy of another, which the spec acknowledges (W = 2: waited for
        a third ack; W = 3: failed 503). A driver that never reports keeps that
        conservative rule."""
        for coordination in self.coordinations.values():
            coordination.own_durable = True

    def answers_released(self) -> None:
        """The driver holds no answer of this node behind a write any more (each was
        performed, or failed through :meth:`local_write_failed`): no failure can
        name one of :attr:`held_ended` now, so they are let go. Before (the final
        read of session 50), a healthy node kept its last ``max_pending_bytes`` of
        ended puts for good: 3,000 small puts, 3,000 coordinations held."""
        if self.held_ended:
            self.held_ended.clear()
            self.held_ended_bytes = 0

    def _ended_write_failed(self, ended: PutCoordination, error: DynamoError,
                            now: float) -> list[Effect]:
        """``ended``'s own write failed after every target acked and its answer
        waited for that write (:meth:`local_write_failed`): its record is kept for
        the key's next mint, and it is answered again without its own copy (a
        fallback's ack for this node's part kept): stored when the others' acks
        still reach W (and PW); else, before its deadline and with a fallback left
        (sloppy quorum), it goes on, its part sent to the fallback with a hint as a
        put still going on (:meth:`_part_failed`), its answer left to later
        (:attr:`taken_back`); else a QuorumError (``replicas_failed``, outcome
        unknown) naming the failed write. Before session 51's review it never tried
        a fallback (503 with one up: session 51's service probe) and took back a
        fallback's ack as its own copy."""
        self._remember_unpersisted(ended.key, ended.record)
        counted = self._own_target(ended)
        why = f"{self.name} (this node's own write): {error}"
        if counted is None or ended.sent_to.get(counted) != self.name:
            return [answer(ended.reply_to, PutResult(ended.result_context), None)]
        ended.acks.discard(counted)
        ended.primary_acks.discard(counted)
        if put_quorum_reached(ended):
            return [answer(ended.reply_to, PutResult(ended.result_context), None)]
        if (now < ended.deadline and ended.op_id not in self.coordinations
                and len(ended.primary_acks) >= ended.pw  # (a fallback is no primary)
                and self.quorum.fallback(ended.fallbacks, ended.used, now) is not None):
            ended.replied = False
            self.coordinations[ended.op_id] = ended
            if not ended.reply_to.peer:  # (a ForwardReply held: dropped)
                self.taken_back.add(ended.reply_to.request_id)
            return [*self._part_failed(ended, counted, why, now), *self._check(ended, now),
                    SetTimer(PutTimeout(ended.op_id), min(
                        now + self.config.replica_timeout * ended.patience, ended.deadline))]
        ended.failures[counted] = why
        return [_quorum_failed(ended)]

    def _written(self, key: bytes, encoded: bytes) -> None:
        """A replica write listener: a reap of ``key`` (``encoded`` empty) forgets its
        :attr:`unpersisted` record, which a delete the reap followed covered. Before
        session 50's review the next mint merged it back over the reaped tombstone:
        a deleted value back."""
        if not encoded and key in self.unpersisted:
            self.unpersisted_bytes -= len(self.unpersisted.pop(key))

    def _remember_unpersisted(self, key: bytes, record: bytes) -> None:
        """Keep ``record`` (a put's, minted here, whose own write failed) for the
        key's next mint (:attr:`unpersisted`). Without it the next put of the key
        through this node read its copy without the lost version and minted the same
        dot again, which the replicas holding the first took for the same version:
        in dvv a blind ``v2`` after ``v1`` (200 at W = 2 through a full coordinator)
        read back ``[v2]``, v1 lost (session 50). Anti-entropy or read repair
        bring the version back meanwhile; the oldest entries are forgotten beyond
        ``max_pending_bytes``."""
        old = self.unpersisted.pop(key, None)
        if old is not None:
            self.unpersisted_bytes -= len(old)
            record = encode_record(merge(self.replica.parse(old), self.replica.parse(record)))
        self.unpersisted[key] = record
        self.unpersisted_bytes += len(record)
        while self.unpersisted_bytes > self.config.max_pending_bytes and len(
                self.unpersisted) > 1:
            forgotten = self.unpersisted.pop(next(iter(self.unpersisted)))
            self.unpersisted_bytes -= len(forgotten)
            self.stats["unpersisted-forgotten"] += 1

    def on_failed(self, now: float, src: str, message: ReplicaPutFailed) -> list[Effect]:
        """A replica (or a fallback) did not store the write: its engine failed (a
        full disk; session 50). Before, it sent nothing and its coordinator waited
        ``replica_timeout`` to resend, and a put that needed it timed out (504)
        naming it but not why. Now its part fails at once (:meth:`_part_failed`).
        A refusal for a put that ended, of another key, of a target acknowledged
        already, that counts for no target, or from a node that no longer holds the
        target's part (a timeout handed it on: the spec's coordinator awaits that
        node no more; session 52's review: it suspected the fallback holding the
        part and sent the part on again) is ignored (``late-acks``: it changes
        nothing a timeout would not)."""
        coordination = self.coordinations.get(message.op_id)
        target = None if coordination is None or coordination.key != message.key else (
            ack_counts(coordination, src, message.hint))
        if (coordination is None or target is None or target in coordination.acks
                or coordination.sent_to.get(target) != src):
            self.stats["late-acks"] += 1
            return []
        self.stats["replica-put-failed"] += 1
        who = f"{src} for {target}" if message.hint else src
        return [*self._part_failed(coordination, target, f"{who}: {message.error}", now),
                *self._check(coordination, now)]

    def _part_failed(self, coordination: PutCoordination, target: str, why: str,
                     now: float) -> list[Effect]:
        """``target``'s write failed (``why``): it goes to the next fallback with a
        hint when one is left (sloppy quorum); else, an unanswered put that can no
        longer reach W (or PW) without the targets whose writes failed fails now
        with a QuorumError naming them (``replicas_failed``: HTTP 503, Riak's
        ``too_many_fails``; its outcome unknown: others may store it), and one
        that still can waits for the others (a failed target is tried again at
        the next timeout)."""
        coordination.failures[target] = why
        coordination.failed_at[target] = coordination.sent_to.get(target, target)
        if self.quorum.fallback(coordination.fallbacks, coordination.used, now) is not None:
            if target != self.name:
                self.quorum.give_up(coordination.sent_to, target, now)
            return [self._send(coordination, target, now, initial=False)]
        if coordination.replied or not self._quorum_lost(coordination):
            return []
        op_id = coordination.op_id
        del self.coordinations[op_id]
        self.lingering.discard(op_id)
        self._end(coordination.key)
        coordination.replied = True
        return [CancelTimer(PutTimeout(op_id)), _quorum_failed(coordination)]

    def _own_target(self, coordination: PutCoordination) -> str | None:
        """The target this node's own copy counts for: itself when a target, the
        target its own hint names when it stood in for one (sloppy quorum), or None."""
        if self.name in coordination.targets:
            return self.name
        return coordination.hints_sent.get(self.name)

    def _quorum_lost(self, coordination: PutCoordination) -> bool:
        """Whether ``coordination`` can no longer reach W (or PW): in some group
        (the targets, or each of a membership change's), fewer targets than W are
        left once those whose write failed and was not handed to a fallback are
        taken out (or were handed to one that refused too: session 52)."""
        # a target whose part a fallback held and refused, no fallback left, counts
        # too (session 52's trace validation with a failing disk: before, it was
        # taken as pending at that fallback, the put waited for its timeout where the
        # spec fails it, and a retry of another refusing target acknowledged it)
        failed = {target for target in coordination.failures
                  if target not in coordination.acks
                  and (coordination.sent_to.get(target) in (target, self.name)
                       or coordination.failed_at.get(target) == coordination.sent_to.get(
                           target))}
        quorum = max(coordination.w, coordination.pw)
        return any(len([t for t in group if t not in failed]) < quorum
                   for group in coordination.groups or (coordination.targets,))

    def _send(self, coordination: PutCoordination, target: str, now: float, *,
              initial: bool) -> Effect:
        """Send the write for ``target`` to the target itself when it is reachable
        (first round), else to the next fallback with a hint naming the target."""
        fallback = None
        if not (initial and self.quorum.reachable(target, now)):
            fallback = self.quorum.fallback(coordination.fallbacks, coordination.used, now)
        if fallback is None:  # reachable, or no fallback left (strict quorum): the target
            coordination.sent_to[target] = target
            coordination.used.add(target)
            return Send(target, ReplicaPut(coordination.op_id, coordination.key,
                                           coordination.record,
                                           retired=coordination.retired))
        coordination.sent_to[target] = fallback
        coordination.used.add(fallback)
        coordination.hints_sent[fallback] = target
        return Send(fallback, ReplicaPut(coordination.op_id, coordination.key,
                                         coordination.record, hint=target,
                                         retired=coordination.retired))

    def _check(self, coordination: PutCoordination, now: float) -> list[Effect]:
        out: list[Effect] = []
        answers = not coordination.replied and put_quorum_reached(coordination)
        if answers:
            coordination.replied = True
            out.append(answer(coordination.reply_to, PutResult(coordination.result_context),
                              None))
            if coordination.tombstone:
                out.extend(self.reaper.reap_acknowledged(
                    now, coordination.key, coordination.tombstone, coordination.targets))
        if (len(coordination.acks) >= len(coordination.targets)
                and self.coordinations.pop(coordination.op_id, None) is not None):
            self.lingering.discard(coordination.op_id)
            out.append(CancelTimer(PutTimeout(coordination.op_id)))
            self._end(coordination.key)
            if coordination.replied:  # its answer may wait for its own commit still
                self._keep_ended(coordination)
            if not coordination.replied:  # every target acknowledged, short of PW
                out.append(self._failed(coordination, "with every target acknowledged"))
            if coordination.tombstone and all(
                    coordination.sent_to.get(target) == target
                    for target in coordination.targets):
                # Every target itself stored the tombstone: the safe rule may reap it.
                out.extend(self.reaper.schedule(
                    now, coordination.key, self.replica.parse(coordination.tombstone),
                    coordination.targets))
        elif answers and coordination.op_id in self.coordinations:
            # answered, waits for the other targets' acks: it lingers
            out.extend(self.lingering.add(now, coordination.op_id, len(coordination.record),
                                          self.end_early))
        return out

    def _end(self, key: bytes) -> None:
        """A coordination of ``key`` ended: :attr:`ended` once no other one of the
        key goes on here (a copy handed during one could go while it re-mints)."""
        if not any(c.key == key for c in self.coordinations.values()):
            self.ended(key)

    def _context(self, key: bytes, record: Record) -> bytes:
        """The context a get of ``record`` answers (its whole clock)."""
        return encode_context_pairs(context_pairs(record, self.config.vclock_max_pairs),
                                    key=key, mode=self.mode, secret=self.config.context_secret)

    def _written_context(self, key: bytes, pairs: tuple[tuple[str, int], ...]) -> bytes:
        # what the client saw and wrote (versions.written_context_pairs), not the
        # record's whole clock: that covers siblings the client never read
        return encode_context_pairs(pairs, key=key, mode=self.mode,
                                    secret=self.config.context_secret)
