"""Refinement: the implementation checked against the spec, step by step.

(About 1,600 lines, over the project's 600: one method per lockstep step, each
mapping an implementation step to spec actions, read next to the others; the
delete and reap steps added about 75, issue 10's faults and the joins about 110,
leaves, transfers and handovers about 100, session 10's quiescence steps, a
request's deadline and the naive handover's hand-on, about 70; the one-way ask's
steps, sessions 36-38, about 400.)

Theory of operation
-------------------
This is the one module that knows both sides. It drives a small simulated
implementation cluster (:class:`impl.SimulatedCluster`, step by step through
the simulator's step API) in lockstep with the spec (:mod:`spec.model`), and
after every step checks that the *abstraction* of the implementation's state
is a state the spec allows from the previous abstract state.

Configuration mapping (:func:`cluster_for`). A spec :class:`spec.config.Config`
becomes a cluster of the same node names on the spec's evenly spaced ring
(``partitioning="evenly-spaced"``, so every key's preference list is the
spec's: checked at start), the same N, R, W, clock mode, sloppy quorum, hinted
handoff, read repair and anti-entropy switches. Spec key ``"k"`` is impl key
``b"k"``; client ``c1`` is impl ``client_id`` ``"c1"``; put id ``p`` writes the
value ``b"v%06d" % p`` (fixed width, so the lww tie-break on values orders as
the spec's tie-break on put ids). Timing is the harness's: every timeout is
fired by a rule, never by the clock.

Abstraction function: see :mod:`model_check.refinement_state`, which holds the
lockstep's state, the abstraction of the implementation's state, and which steps
the spec allows next; this module holds the steps and the check after each.

Coordinator state, fault budgets and the ghost records are not compared: the
harness keeps a *frontier* of every spec state consistent with what it has seen
(usually one), so hidden spec state is followed, not guessed.

Granularity and stuttering (each rule of the lockstep maps to these spec steps):

- a client put/get = ``ClientPut``/``ClientGet`` (the coordinator writes
  locally and sends in the same step on both sides);
- delivering, dropping or duplicating an impl message = ``Deliver``/``Drop``/
  ``Duplicate`` of its abstraction, or a stuttering step for a message that
  maps to nothing;
- a coordinator's timer for one target (the body of the impl's timer round
  for that target: suspect the replica, hand the target to the next fallback)
  = one spec ``Timeout``; the whole round of an operation = one ``Timeout`` per
  target it hands on. Either is fired only when the spec allows those timeouts and
  no message of the exchange is still in flight (the spec's accurate failure
  detector), and only if each target goes to a fallback or its replica is
  unreachable (the impl *retries* a reachable replica where the spec gives up);
  where that leaves a request the spec's timeouts would fail, its
  deadline (:meth:`Lockstep.deadline`, in quiescence only: the retries were slow)
  = a ``Timeout`` of each target it awaits, the request failing on both sides;
  the spec's ``Timeout`` of such a retried target (session 44) = the
  implementation's timer rounds to its deadline, each retry lost, where it fails
  the request (:meth:`Lockstep.retries_lost`), and a stutter, its later retries
  lost, where the request goes on (:meth:`Lockstep.retry_given_up`); the spec's
  ``Timeout`` of an unreachable node with an answer of the exchange on the way =
  that answer lost, then the timer (:meth:`Lockstep.timeout_ack_lost`, session 44),
  and with the coordinator's replica put to it on the way = the timer, the put
  kept on both sides and the node's later ack dead (:meth:`Lockstep.timeout_put_kept`,
  session 45: the spec's coordinator awaits it no more);
- a hint scan = one ``Handoff`` per hint it sends; a scan due for one hint
  (:meth:`Lockstep.handoff`, the retry timer of that hint alone) = that hint's
  ``Handoff``, and it must send exactly that hint;
- crash, recover (restart on the surviving storage), partition, heal = the
  same spec actions (a buffered node's ``Flush`` timer fires just before a plain
  crash); ``SimulatedCluster.lose_disk`` = ``DiskLoss``, ``wipe`` = ``DiskLoss``
  then ``Recover``; a crash of a buffered engine that flushed nothing =
  ``BufferedCrash``; a deep copy of a node's storage engine taken while it is up
  (:meth:`Lockstep.backup`) = ``Backup``, and a crash with the engine replaced by
  a deep copy of that copy (:meth:`Lockstep.restore`) = ``Restore`` (the restart
  is ``Recover``: the implementation keeps the restored actor with
  ``actor_per_start = false``, the spec's ``restore_actor = "kept"``, and takes a
  new one at every start with ``actor_per_start``, the spec's feature of that name);
- gossip rounds (and anti-entropy timers with anti-entropy off) are stuttering;
  with ``[membership]``, a node's join (:meth:`Lockstep.join`: it asks a seed for
  the view and announces its token) = ``Join``, and one gossip push of ``src``'s
  view merged at ``dst`` (:meth:`Lockstep.gossip_to`, or a gossip message
  delivered) = ``Gossip(src, dst)``; a leave (:meth:`Lockstep.leave`) = ``Leave``;
  the old owner's hint scan for its transfer hint (:meth:`Lockstep.transfer`) =
  ``Transfer`` (the hint's delivery = ``Deliver`` of the ``range-transfer``; an
  empty range's delivery, :meth:`Lockstep.deliver_empty`, is the spec's alone);
  the held transfer acknowledgements and a scan at every node, the old owners
  letting their copies go (naive handover; pending ownership: the joining node's
  ``up``, the leaving node's ``left``) (:meth:`Lockstep.handover`) = ``Handover``;
  pending ownership's settlement (:meth:`Lockstep.settle`: ``Gossiper.settle``,
  its ``Settled`` messages delivered, the old owners letting their copies go) =
  ``Settle``; after the naive handover, an old owner's hand-on of a late write
  its new owner already holds (:meth:`Lockstep.hand_on`, in quiescence only) = a
  stutter, or the trace spec's ``late-release`` of that copy (a spec gap);
- a client delete = ``ClientDelete`` (a put of a tombstone, numbered after the
  client's puts);
- a reap (:meth:`Lockstep.reap`: a node's ``ReapTombstone`` timer fires and every
  message of its reap -- ``safe``: the ``ReapQuery`` round to every member and the
  answers, internal steps; then the ``Reap`` messages it decides -- is delivered
  at once) = one spec ``Reap(key, (n,))``
  per node ``n`` that reaped, or a stutter when none did; ``safe`` fires it only
  once nothing about the key is in flight (the grace period), and a reap the
  implementation performs that the spec's per-node guard refuses is a divergence;
- a whole anti-entropy exchange between replicas ``a`` and ``b`` of a key, run to
  completion both ways with every Merkle / key-records message of it delivered at
  once (:meth:`Lockstep.anti_entropy_pair`) = the spec's atomic two-sided
  ``AntiEntropy``, or a stutter when no replica changed;
- with ``prune_knowledge = "learnt"``, a one-way ask (session 36: a replica's merge
  of a ReplicaPut or a HintDelivery kept an entry its sender pruned, and it sends
  its copy to a node that knows, ``impl.antientropy.AntiEntropy.ask_pruned``) and
  the answer it draws, delivered in the step that sent the ask
  (:meth:`Lockstep.ask_round`; ``asks_at_once`` False, the conformance's and the
  replay's mode: when the ask is delivered) = the spec's ``AntiEntropy`` of the two
  nodes and the key, the nodes learning from the ask and the answer themselves
  (the harness stops telling them for the round); an ask the spec's state owes
  (:func:`model_check.refinement_ask.ask_owed`) and not sent is a divergence.
  Session 37, with ``asks_at_once`` False: an ask lost or copied = a stutter; one
  delivered late, or a copy after the first, = the round above where
  :func:`model_check.refinement_ask.round_allowed` says it is a spec step (else it
  is not delivered: :meth:`Lockstep.stale_asks`, dropped by quiescence); time
  passing by ``request_timeout`` where no request is under way
  (:meth:`Lockstep.pass_request_timeout`) = a stutter, after which a hold of an
  owed ask no longer excuses it. Session 38, half exchanges: an ask delivered alone
  (:meth:`Lockstep.deliver_ask`, a stale one too) = the spec's ``LearnRetirement``
  of what the asked node learnt, its copy unchanged; its answer left in flight, lost
  or copied = a stutter, delivered (:meth:`Lockstep.answer_round`) = the
  ``LearnRetirement`` of what the asker learnt where its copy stays, else the
  spec's ``AntiEntropy`` where that exchange of the copies of now does what the
  answer does (:func:`model_check.refinement_ask.answer_actions`; else the answer
  is stale: not delivered, dropped by quiescence).

Environment choices the harness makes (they are the network's and the clock's,
never the node's): the failure detector is an oracle (before every step each
node suspects exactly the nodes that are down or cut off from it, as the spec's
coordinator knows); once an operation has answered its client (or the spec has
failed it), its request deadline is fired at once (the impl's late read repair
then uses the same responses as the spec's); a message the implementation sends
to a node that is down or cut off, and that the spec does not send, is lost at
once; a hint is resent once no copy of its handoff is in flight; before an lww
put the coordinator's clock reads the spec's wall clock for it, (puts performed
+ skew) ticks of ``LWW_TICK_S``.

:mod:`model_check.refinement_replay` drives the implementation through a
model-checker trace with the same machinery and reports whether it reaches the
same violation (this module does not import it).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

from impl.effects import GetResult, PutResult
from impl.errors import StorageError
from impl.membership import Membership, MemberStatus, seen_to_bytes
from impl.messages import (
    GetRequest,
    HandoffDone,
    HintAck,
    HintDelivery,
    KeyRecords,
    MerkleExchange,
    PutRequest,
    ReapQuery,
    ReapQueryReply,
    ReplicaGet,
    ReplicaGetReply,
    ReplicaPut,
    ReplicaPutAck,
    ReplicaPutFailed,
    SeenDigest,
    Settled,
    delete_request,
)
from impl.messages import Gossip as GossipMessage
from impl.messages import Reap as ReapMessage
from impl.node import REBUILDING_META
from impl.positions import position_of
from impl.simulator import InFlight, Pending
from impl.snapshot import CoordinationSnapshot
from impl.timers import (
    AntiEntropyRound,
    Flush,
    GetTimeout,
    GossipRound,
    HintScan,
    PutTimeout,
    ReapTombstone,
    ShadowRound,
)
from impl.versions import LWW_TICK_S, ClockMode
from model_check.errors import ExplorationError
from model_check.refinement_ask import (
    answer_actions,
    ask_owed,
    half_actions,
    knows,
    named,
    round_allowed,
)
from model_check.refinement_state import (
    INFINITY,
    Abstract,
    AnswerSent,
    AskSent,
    HarnessRequest,
    LockstepState,
    apply_actions,
    cluster_for,
    difference,
    is_empty_transfer,
    project,
    put_id_of_value,
    rebuilds,
    spec_steps,
    value_of,
    with_idle_clients,
)
from model_check.trace_membership import late_release
from spec import clocks
from spec import model as spec_model
from spec.actions import (
    Action,
    AntiEntropy,
    BufferedCrash,
    ClientDelete,
    ClientGet,
    ClientPut,
    Crash,
    Deliver,
    DiskLoss,
    Drop,
    Duplicate,
    FailedPut,
    FailedWrite,
    ForceRemove,
    Gossip,
    Handoff,
    Handover,
    Heal,
    Join,
    LearnRetirement,
    Leave,
    Partition,
    Reap,
    Rebuilt,
    Recover,
    Restore,
    Settle,
    Timeout,
    Transfer,
    Unheard,
)
from spec.actions import Backup as BackupAction
from spec.clocks import Payload
from spec.errors import DynamoError, InvalidValueError
from spec.learning import exchanged
from spec.rebuild import pending
from spec.state import Kind, Message, State
from spec.vclock import VClock

__all__ = [
    "Abstract",
    "Divergence",
    "Lockstep",
    "cluster_for",
    "project",
    "put_id_of_value",
    "value_of",
]

FRONTIER_LIMIT = 64
SHADOW_FIRINGS = 64
"""``ShadowRound`` firings :meth:`Lockstep.recover` takes at most to end a restarted
node's shadow round (one per input it deferred, and the one that ends it)."""
#: the timer rounds :meth:`Lockstep.retries_lost` fires at most before a request's
#: deadline (the lockstep's cluster: ``request_timeout`` 10 x ``replica_timeout``,
#: about 10 rounds); more is a retry schedule without end, a divergence
RETRY_ROUNDS = 1_000
#: the messages of a reap: its query round (``safe``) and the Reaps it decides
REAP_MESSAGES = (ReapMessage, ReapQuery, ReapQueryReply)


class Divergence(DynamoError, AssertionError):
    """The implementation did something the spec does not allow (the message says
    which step, and shows the abstract states on both sides). A
    :class:`~spec.errors.DynamoError` (the package's one hierarchy), and still an
    ``AssertionError``, so a test that runs the lockstep fails on it."""

    def __init__(self, step: str, report: str) -> None:
        super().__init__(f"{step}\n{report}")
        self.step = step
        self.report = report


def _silent_nodes(op: CoordinationSnapshot) -> frozenset[str]:
    """The nodes ``op`` sent a share to whose answer it has not counted: a put's
    targets not in ``acks`` (their node: ``sent_to``), a get's nodes not in
    ``replies``; the only nodes its timer round may ask again."""
    return frozenset(sent for t, sent in op.sent_to.items()
                     if (t not in op.acks if op.kind == "put" else sent not in op.replies))


class Lockstep(LockstepState):
    """The implementation and the spec, driven step by step (see the module docstring).

    Every step method performs the step on the implementation, maps it to spec
    actions, and raises :class:`Divergence` when no spec state in the frontier
    reaches the implementation's abstraction that way.
    """

    def put(self, client: str, node: str, key: str, *, refused: bool = False) -> None:
        """``client`` puts its next value of ``key`` through ``node`` (in the key's top N);
        ``refused``: ``node``'s storage refuses every write of the step, its own write
        of the put (the spec's :class:`~spec.actions.FailedPut`, session 51)."""
        put_id, counter, context = self.next_write(client, key)
        request = PutRequest(self.sim.new_request_id(), key.encode(), value_of(put_id),
                             context, None, client, counter)
        if self.mode is ClockMode.LWW:
            self._set_wall_clock(node)
        action: Action = FailedPut(client, node, key) if refused else ClientPut(client, node, key)
        with refusing(self.cluster.storages[node]) if refused else nullcontext():
            self._submit(node, request, HarnessRequest(client, put_id, key, True, _dummy()),
                         [action], f"{'refused ' if refused else ''}put {client} v{put_id} "
                         f"{key} @{node}")

    def failed_write(self, message_id: int) -> None:
        """A ``ReplicaPut`` delivered with its receiver's storage refusing every write of
        the step (the spec's :class:`~spec.actions.FailedWrite`, session 51): the
        implementation's driver turns the ack the write held back into a
        ``ReplicaPutFailed`` (:func:`impl.staging.failed_effects`), which maps to the
        spec's ``replica-put-failed``; one the spec's coordinator no longer awaits is
        dead, as an unawaited ack is."""
        m = self._find(message_id)
        if not isinstance(m.message, ReplicaPut):
            raise ValueError(f"a refused write is of a ReplicaPut, not a "
                             f"{type(m.message).__name__}")
        abstract = self.abstract_message(m)
        before = {x.id for x in self.sim.in_flight()}
        self._oracle()
        with refusing(self.cluster.storages[m.dest]):
            self.sim.deliver(message_id)
        if abstract is None or not self._awaited(abstract):
            self.dead.update(x.id for x in self.sim.in_flight() if x.id not in before)
        actions: list[Action] = [FailedWrite(abstract)] if abstract is not None else []
        self._settle(f"refused write ReplicaPut {m.src}->{m.dest}", actions, before)

    def _set_wall_clock(self, node: str) -> None:
        """lww: ``node``'s clock reads the spec's wall clock for its next put, the puts
        performed so far plus its ``[cluster] skew``, in ticks of ``LWW_TICK_S`` (an
        exact binary fraction: the implementation's hybrid rule then computes the
        spec's stamp exactly, compared in ``_clocks_agree``). The spec's hybrid
        stamp counts a missing context as stamp 0, so it is never below 1 tick: the
        clock reads at least 1 tick under the hybrid rule."""
        performed = sum(1 for record in self.frontier[0].puts if record is not None)
        wall = performed + self.config.wall_offset(node)
        if self.config.lww_timestamps == "hybrid":
            wall = max(wall, 1)
        reading = wall * LWW_TICK_S
        self.sim.set_skew(node, reading - self.sim.now)

    def delete(self, client: str, node: str, key: str, *, refused: bool = False) -> None:
        """``client`` deletes ``key`` through ``node`` (in the key's top N), with the
        context of its last get of ``key``: its next write, a tombstone (spec
        ``ClientDelete``; its put id is the client's next, after its puts).
        InvalidValueError, the implementation untouched, where the spec does not
        enable that ``ClientDelete`` (a client with puts left, its delete spent, busy,
        or a node it may not send to): session 47; before, the implementation took
        the delete and the abstraction of its tombstone, noted by no spec step,
        raised first ("a tombstone no delete of the lockstep wrote"), which read as
        a fault of the abstraction (docs/refinement.md, "Tombstones under a
        re-issued dot, and walks that reach the exchange (session 47)").
        ``refused``: ``node``'s storage refuses every write of the step, its own write
        of the tombstone (the spec's :class:`~spec.actions.FailedPut` of a delete,
        session 52)."""
        action: Action = (FailedPut(client, node, key) if refused
                          else ClientDelete(client, node, key))
        afters = [after for s in self.frontier for after in apply_actions(s, [action])]
        if not afters or not self.can_delete(client):
            issued = self.clients[client].puts_issued
            raise InvalidValueError(
                f"the spec does not enable {action} now ({client} issued {issued} of its "
                f"{self.config.puts_per_client} puts and "
                f"{self.config.deletes_per_client} deletes)")
        put_id, counter, context = self.next_write(client, key)
        self.note_tombstones(afters, put_id)
        if self.mode is ClockMode.LWW:  # as for a put
            self._set_wall_clock(node)
        request = delete_request(self.sim.new_request_id(), key.encode(), context, None,
                                 client, counter)
        with refusing(self.cluster.storages[node]) if refused else nullcontext():
            self._submit(node, request, HarnessRequest(client, put_id, key, True, _dummy()),
                         [action], f"{'refused ' if refused else ''}delete {client} "
                         f"v{put_id} {key} @{node}")

    def reap(self, name: str, timer: ReapTombstone) -> None:
        """Node ``name``'s reap timer fires (its grace period passed, or at once with
        ``immediate``: see :meth:`reap_candidates`): it reaps its own copy and every
        ``Reap`` message it sends is delivered at once. Maps to one spec ``Reap`` of
        each node whose copy it removed (a node whose copy changed meanwhile refuses,
        and is not reaped on either side), or to a stutter when none."""
        key = timer.key
        before = {x.id for x in self.sim.in_flight()}
        held = {n for n in self.present if self.cluster.storages[n].read(key) is not None}
        self._oracle()
        self.sim.fire_timer(name, timer)
        # safe: the reap's query round (ReapQuery out, ReapQueryReply back) and the
        # Reaps it decides are delivered within the step, internal steps of the
        # implementation (stutters); ones a cut or a crash stops are left to _settle
        done: set[int] = set()
        while new := [m for m in self.sim.in_flight() if m.id not in before
                      and m.id not in done and isinstance(m.message, REAP_MESSAGES)
                      and self.reachable(m.src, m.dest)]:
            for m in new:
                done.add(m.id)
                self.sim.deliver(m.id)
        reaped = {n for n in held if self.cluster.storages[n].read(key) is None}
        # one spec Reap per node that reaped (their guards do not depend on each other),
        # the copies outside the key's replicas first: a member settles such a copy when
        # the query reaches it, before the reap is decided (Reaper._settle_dominated; the
        # spec's outside-copy drop, spec/deletes.py), and while it holds a version the
        # delete covers the spec's guard 3 refuses the replicas' reaps
        outside = {n for n in reaped if not self._node(n)._replicates(key)}
        actions: list[Action] = [Reap(key.decode(), (n,)) for n in self.present
                                 if n in reaped and n in outside]
        actions += [Reap(key.decode(), (n,)) for n in self.present
                    if n in reaped and n not in outside]
        self._settle(f"reap {key.decode()} @{name} ({', '.join(sorted(reaped)) or 'none'})",
                     actions, before)

    def get(self, client: str, node: str, key: str) -> None:
        """``client`` gets ``key`` through ``node``."""
        ci = self.config.client_names.index(client)
        state = self.clients[client]
        get_id = spec_model.get_id_of(self.config, ci, state.gets_issued)
        state.gets_issued += 1
        request = GetRequest(self.sim.new_request_id(), key.encode(), None, client)
        self._submit(node, request, HarnessRequest(client, get_id, key, False, _dummy()),
                     [ClientGet(client, node, key)], f"get {client} #{get_id} {key} @{node}")

    def unheard(self, client: str) -> None:
        """``client``, idle after its put's acknowledgement, does not hear it (the
        spec's :class:`~spec.actions.Unheard`, session 61): it keeps the last get it
        held before (the library's ``OutcomeUnknownError``, the forwarder's timeout:
        no input of a node). Raises NotExpressible when it has no such answer."""
        from model_check.refinement_replay import NotExpressible

        state = self.clients[client]
        if not state.unheard or state.busy:
            raise NotExpressible("unheard", f"{client} holds no answer it may not hear")
        state.last_get, state.unheard = state.unheard[0], ()
        self._settle(f"unheard {client}", [Unheard(client)],
                     {m.id for m in self.sim.in_flight()})

    def _submit(self, node: str, request: GetRequest | PutRequest, record: HarnessRequest,
                actions: list[Action], label: str) -> None:
        self._oracle()
        before = {m.id for m in self.sim.in_flight()}
        known_puts, known_gets = self._op_ids(node)
        self.clients[record.client].busy = True
        self.clients[record.client].unheard = ()  # (session 61) its answer heard for good
        record.handle = self.sim.submit(node, request)
        self.requests[request.request_id] = record
        puts, gets = self._op_ids(node)
        for op_id in (puts - known_puts) | (gets - known_gets):
            self.ops[(node, op_id)] = record.spec_id
        for m in self.sim.in_flight():
            if m.id not in before and m.src == node and hasattr(m.message, "op_id"):
                self.ops.setdefault((node, m.message.op_id), record.spec_id)
        self._settle(label, actions, before)

    def _op_ids(self, name: str) -> tuple[set[int], set[int]]:
        coordinations = self._node(name).coordinations().values()
        return ({c.op_id for c in coordinations if c.kind == "put"},
                {c.op_id for c in coordinations if c.kind == "get"})

    def deliver(self, message_id: int) -> None:
        m = self._find(message_id)
        if isinstance(m.message, KeyRecords) and m.message.reply:
            self.ask_round(m)  # a one-way ask left in flight (asks_at_once False)
            return
        if self._answer_of(m) is not None:
            self.answer_round(m)  # the answer to an ask delivered alone (session 38)
            return
        abstract = self.abstract_message(m)
        before = {x.id for x in self.sim.in_flight()}
        self._oracle()
        held = self._node(m.dest).stats["one-way-pruned-asks-held"] if self.up(m.dest) else 0
        self.sim.deliver(message_id)
        asks = [x for x in self.sim.in_flight() if x.id not in before and x.src == m.dest
                and isinstance(x.message, KeyRecords) and x.message.reply]
        for ask in asks:
            assert isinstance(ask.message, KeyRecords)
            self.asked[(m.dest, ask.message.keys[0].decode())] = self._node(m.dest)
            self.asked_at[(m.dest, ask.message.keys[0].decode())] = self.sim.node_now(m.dest)
        if isinstance(m.message, ReplicaPut | ReplicaGet) and (
                abstract is None or not self._awaited(abstract)):
            # an answer nobody waits for: the spec does not even send it
            self.dead.update(x.id for x in self.sim.in_flight()
                             if x.id not in before and x not in asks)
        actions: list[Action] = ([Deliver(abstract)] if abstract is not None
                                 else self._gossip_delivered(m))
        prior = self.frontier[0]
        self._settle(f"deliver {type(m.message).__name__} {m.src}->{m.dest}", actions, before)
        self._note_asks(asks, abstract.payload if abstract is not None else None, prior)
        if abstract is not None and self.up(m.dest):
            self._asked_if_owed(m, abstract, asks, held)
        if self.asks_at_once:
            for ask in asks:
                if any(x.id == ask.id for x in self.sim.in_flight()):
                    self.ask_round(ask)

    def _asked_if_owed(self, m: InFlight, abstract: Message, asks: list[InFlight],
                       held: int) -> None:
        """After the delivery of ``m`` (mapped to ``Deliver(abstract)``): a replica put
        to a replica of its key whose merge owes an ask in every spec state of the
        frontier (:func:`model_check.refinement_ask.ask_owed`) must have sent one
        (``asks``: the KeyRecords ``reply`` True its receiver sent in the step), or
        held it back (``one-way-pruned-asks-held`` above ``held``: the same key asked
        within ``request_timeout``, its answer on the way), and only where this
        lockstep saw that node, since its last start, send an ask of the key
        (:attr:`asked`; the lockstep's ``request_timeout`` is 1e6 s, which no run
        reaches; session 36's review: the node's own counter was taken as the
        proof, so a node that counted a hold and never asked passed); else a
        :class:`Divergence` (session 36: a replica that kept an entry its sender
        pruned and asked nothing passed as a stutter). Conversely, with learnt
        knowledge (the nodes told with ``asks``), an ask sent where no spec state of
        the frontier owes one is a :class:`Divergence` too (session 36's review: the
        round maps to the spec's exchange, which may happen at any moment, so a
        replica that asked after every put passed). Hint deliveries are not
        checked (their ask goes to a replica of the key the node does not suspect;
        no spec configuration with learnt knowledge has hints)."""
        if abstract.kind is not Kind.REPLICA_PUT or abstract.intended not in ("", m.dest):
            return
        node = self._node(m.dest)
        owed = [ask_owed(self.config, state, m.dest, abstract.key, abstract.payload)
                for state in self.frontier]
        if asks and self.config.prune_knowledge == "learnt" and not any(owed):
            self.failed = True
            raise Divergence(
                f"step {self.steps}: {self.history[-1]}",
                f"{m.dest} merged {m.src}'s put of {abstract.key} and asked "
                f"{', '.join(ask.dest for ask in asks)}, where no spec state owes an ask: "
                f"{m.dest}: {project(self.frontier[0]).nodes[self._index(m.dest)][1]}"
                f"\nsteps so far: " + "; ".join(self.history))
        if asks or (node.stats["one-way-pruned-asks-held"] > held
                    and self.asked.get((m.dest, abstract.key)) is node
                    and self.sim.node_now(m.dest) - self.asked_at[(m.dest, abstract.key)]
                    < node.config.request_timeout):
            return
        if all(owed):
            self.failed = True
            raise Divergence(
                f"step {self.steps}: {self.history[-1]}",
                f"{m.dest} merged {m.src}'s put of {abstract.key} and kept a value-less "
                f"entry of a retirement it does not know, which the record lacks while it "
                f"holds every value (a pruning upstream), and asked nothing"
                + (" (it counted a hold, but sent no ask of the key since its start, or "
                   "none within its request_timeout)"
                   if node.stats["one-way-pruned-asks-held"] > held else "") + ": "
                f"{m.dest}: {project(self.frontier[0]).nodes[self._index(m.dest)][1]}"
                f"\nsteps so far: " + "; ".join(self.history))

    def _index(self, name: str) -> int:
        return self.config.all_nodes.index(name)

    def ask_round(self, m: InFlight) -> None:
        """A one-way ask ``m`` (session 36: a KeyRecords ``reply`` True of one key,
        ``impl.antientropy.AntiEntropy.ask_pruned``) is delivered, and the answer it
        draws delivered back, in one step; the two nodes learn from them themselves
        (the harness stops telling them for the round:
        ``impl.retired.RetiredActors.listen``). Maps to the spec's
        ``AntiEntropy`` of the two nodes and the key where the spec enables it (the
        copies differ: :mod:`model_check.refinement_ask`), else to a stutter; then
        what each node learnt must be what the spec's exchange taught it
        (:meth:`_learnt` of the successor), else a :class:`Divergence`."""
        asker, asked = m.src, m.dest
        assert isinstance(m.message, KeyRecords)
        key = m.message.keys[0].decode()
        sent = self.asks_sent.get(id(m.message))
        if not self.asks_at_once and sent is not None and not self._round_allowed(sent):
            raise InvalidValueError(
                f"the one-way ask {asker}->{asked} on {key} is stale: its round would be "
                "no spec step (model_check.refinement_ask.round_allowed)")
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        exchange = next((action for state in self.frontier
                         for action, _ in spec_steps(state)
                         if isinstance(action, AntiEntropy) and action.key == key
                         and {action.a, action.b} == {asker, asked}), None)
        listening = [name for name in (asker, asked) if self.up(name)]
        for name in listening:
            self._node(name).retired.listen()
        self.sim.deliver(m.id)
        for x in self.sim.in_flight():
            if (x.id not in before and x.src == asked and x.dest == asker
                    and isinstance(x.message, KeyRecords) and not x.message.reply
                    and self.reachable(asked, asker)):
                self.sim.deliver(x.id)
        learnt = {name: dict(self._node(name).retired.known) for name in listening
                  if self.up(name)}
        label = f"one-way ask {asker}->{asked} on {key}"
        self._settle(label, [exchange] if exchange is not None else [], before)
        self._check_learnt(label, learnt, "the ask")
        self._oracle()  # told again

    def _note_asks(self, asks: list[InFlight], one_way: Payload | None = None,
                   prior: State | None = None) -> None:
        """Keep each one-way ask just sent as the spec saw it (:class:`AskSent`: the
        asker's knowledge in the frontier's first state; session 37), with the
        retirements it names (session 38). Its record is the asker's copy in
        ``prior`` (the frontier's first state before the delivery) merged with
        ``one_way``, the record delivered, unpruned: the union the implementation
        sends (session 40; before, the asker's pruned copy, which lacked the entries
        the merge had just emptied and pruned); without them, the asker's copy."""
        state = self.frontier[0]
        for ask in asks:
            assert isinstance(ask.message, KeyRecords)
            key = ask.message.keys[0].decode()
            index = self.config.keys.index(key)
            copy = record = state.node(ask.src).store[index]
            if one_way is not None and prior is not None:
                record = clocks.merge(self.config.clock, prior.node(ask.src).store[index],
                                      one_way, state.puts)
            knew = knows(self.config, state, ask.src)
            self.asks_sent[id(ask.message)] = AskSent(
                ask.message, ask.src, ask.dest, key, record, knew,
                named(knew, (record, copy, *(() if one_way is None else (one_way,)))),
                copy)

    def _round_allowed(self, sent: AskSent) -> bool:
        """Whether the round of ``sent`` is a spec step in every frontier state
        (:func:`model_check.refinement_ask.round_allowed`)."""
        return all(round_allowed(self.config, state, sent.asker, sent.asked, sent.key,
                                 sent.record, sent.knew, copy=sent.copy)
                   for state in self.frontier)

    def asks_in_flight(self) -> list[InFlight]:
        """The one-way asks in flight (every copy; session 37)."""
        return [m for m in self.sim.in_flight()
                if (sent := self.asks_sent.get(id(m.message))) is not None
                and sent.message is m.message]

    def stale_asks(self) -> list[InFlight]:
        """The one-way asks in flight whose round is no spec step now (session 37:
        with ``asks_at_once`` False; :meth:`deliverable` leaves them out, quiescence
        drops them)."""
        if self.asks_at_once:
            return []
        return [m for m in self.asks_in_flight()
                if not self._round_allowed(self.asks_sent[id(m.message)])]

    def deliverable(self) -> list[InFlight]:
        """:meth:`LockstepState.deliverable` less the stale one-way asks
        (:meth:`stale_asks`) and the stale answers (:meth:`stale_answers`)."""
        stale = {m.id for m in (*self.stale_asks(), *self.stale_answers())}
        return [m for m in super().deliverable() if m.id not in stale]

    # -- half exchanges (session 38)

    def _half_actions(self, sent: AskSent) -> list[Action] | None:
        """The spec steps of ``sent`` delivered alone, the same in every frontier
        state (:func:`model_check.refinement_ask.half_actions`), else None."""
        found = [half_actions(self.config, state, sent.asker, sent.asked, sent.key,
                              sent.record, sent.carried) for state in self.frontier]
        return found[0] if found[0] is not None and all(f == found[0] for f in found) \
            else None

    def asks_alone(self) -> list[InFlight]:
        """The one-way asks in flight that may be delivered alone, their answer left
        in flight (:meth:`deliver_ask`; stale ones too: session 38)."""
        if self.asks_at_once:
            return []
        return [m for m in self.asks_in_flight() if not m.blocked
                and self.reachable(m.src, m.dest)
                and self._half_actions(self.asks_sent[id(m.message)]) is not None]

    def deliver_ask(self, message_id: int) -> None:
        """Half an exchange (session 38): the one-way ask ``message_id`` is delivered
        alone; the asked node learns from it itself (``listen``), and its answer
        stays in flight as any message (lost, copied, delivered late:
        :meth:`answer_round`). Maps to the spec's ``LearnRetirement`` of each
        retirement the asked node learnt from the asker, its copy unchanged
        (:func:`model_check.refinement_ask.half_actions`); what it learnt must be
        what those steps teach, and the asker (told, not listening) what they leave
        it knowing, else a :class:`Divergence`. InvalidValueError if
        ``message_id`` is not an ask that may be delivered alone
        (:meth:`asks_alone`)."""
        m = self._find(message_id)
        sent = self.asks_sent.get(id(m.message))
        actions = None if sent is None or sent.message is not m.message \
            else self._half_actions(sent)
        if sent is None or actions is None or not self.reachable(m.src, m.dest):
            raise InvalidValueError(f"message {message_id} is no one-way ask its receiver "
                                    "may take alone (model_check.refinement_ask.half_actions)")
        asker, asked = m.src, m.dest
        state = self.frontier[0]
        k = self.config.keys.index(sent.key)
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        self._node(asked).retired.listen()
        self.sim.deliver(m.id)
        for x in self.sim.in_flight():
            if (x.id not in before and x.src == asked and x.dest == asker
                    and isinstance(x.message, KeyRecords) and not x.message.reply):
                self.answers_sent[id(x.message)] = AnswerSent(
                    x.message, asker, asked, sent.key,
                    clocks.merge(self.config.clock, state.node(asked).store[k], sent.record,
                                 state.puts),
                    frozenset())  # (what it names: below, once the step is mapped)
        learnt = {asked: dict(self._node(asked).retired.known)}
        if self.up(asker):  # (told, not listening: it must learn nothing; review)
            learnt[asker] = dict(self._node(asker).retired.known)
        label = f"one-way ask {asker}->{asked} on {sent.key} (alone)"
        self._settle(label, actions, before)
        self._check_learnt(label, learnt, "the ask")
        after = self.frontier[0]
        for x in self.sim.in_flight():
            answer = self.answers_sent.get(id(x.message))
            if x.id not in before and answer is not None and answer.message is x.message:
                self.answers_sent[id(x.message)] = dataclasses.replace(
                    answer, carried=named(knows(self.config, after, asked),
                                          (state.node(asked).store[k], sent.record)))
        self._oracle()  # told again

    def _check_learnt(self, label: str, learnt: dict[str, dict[str, int]],
                      source: str) -> None:
        """What each node of ``learnt`` learnt (impl actor -> rank) must be what the
        frontier's state (the successor of the step just mapped) gives it, else a
        :class:`Divergence`."""
        retired = self.retired_actors()
        everyone = {actor: rank for of in retired.values() for actor, rank in of.items()}
        for name, known in learnt.items():
            taught = [self._learnt(name, everyone, state) for state in self.frontier]
            if known not in taught:
                self.failed = True
                raise Divergence(
                    f"step {self.steps}: {label}",
                    f"{name} learnt {sorted(known.items())} from {source}; the spec's "
                    f"steps leave it knowing {sorted(taught[0].items())}"
                    f"\nsteps so far: " + "; ".join(self.history))

    def _answer_of(self, m: InFlight) -> AnswerSent | None:
        answer = self.answers_sent.get(id(m.message))
        return answer if answer is not None and answer.message is m.message else None

    def answers_in_flight(self) -> list[InFlight]:
        """The answers in flight to asks delivered alone (every copy; session 38)."""
        return [m for m in self.sim.in_flight() if self._answer_of(m) is not None]

    def _answer_actions(self, answer: AnswerSent) -> list[Action] | None:
        """The spec steps of ``answer`` delivered now, the same in every frontier state
        (:func:`model_check.refinement_ask.answer_actions`), else None."""
        found = [answer_actions(self.config, state, answer.asker, answer.asked, answer.key,
                                answer.record, answer.carried) for state in self.frontier]
        return found[0] if found[0] is not None and all(f == found[0] for f in found) \
            else None

    def stale_answers(self) -> list[InFlight]:
        """The answers in flight whose delivery is no spec step now (session 38:
        :meth:`deliverable` leaves them out, quiescence drops them)."""
        return [m for m in self.answers_in_flight()
                if self._answer_actions(self.answers_sent[id(m.message)]) is None]

    def answer_round(self, m: InFlight) -> None:
        """The answer ``m`` to an ask delivered alone (session 38) is delivered: the
        asker learns from it itself (``listen``), merges its record and prunes. Maps
        to :func:`model_check.refinement_ask.answer_actions` (the spec's
        ``LearnRetirement`` steps, a stutter where the asker's copy stays, or its
        ``AntiEntropy`` of the two); what the asker learnt must be what those steps
        teach, and the asked node (which receives nothing) must know what they leave
        it knowing (session 38's review), else a :class:`Divergence`.
        InvalidValueError for a stale answer (:meth:`stale_answers`)."""
        answer = self._answer_of(m)
        assert answer is not None
        actions = self._answer_actions(answer)
        if actions is None:
            raise InvalidValueError(
                f"the answer {answer.asked}->{answer.asker} on {answer.key} is stale: its "
                "delivery would be no spec step (model_check.refinement_ask.answer_actions)")
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        listening = self.up(answer.asker)
        if listening:
            self._node(answer.asker).retired.listen()
        self.sim.deliver(m.id)
        learnt = {answer.asker: dict(self._node(answer.asker).retired.known)} \
            if listening and self.up(answer.asker) else {}
        if self.up(answer.asked):
            # the asked node receives nothing: it must learn nothing in the spec's steps
            # either (session 38's review: else the oracle told it what an exchange
            # taught, and a stale answer whose exchange teaches it passed unseen)
            learnt[answer.asked] = dict(self._node(answer.asked).retired.known)
        label = f"answer {answer.asked}->{answer.asker} on {answer.key}"
        self._settle(label, actions, before)
        self._check_learnt(label, learnt, "the answer")
        self._oracle()  # told again

    def pass_request_timeout(self, fraction: float = 1.0) -> None:
        """Virtual time moves on by the nodes' ``request_timeout`` (session 37), or
        by ``fraction`` of it (0 < ``fraction`` <= 1; session 37's review: a hold
        part of the window after an ask does not open a window of its own): a
        one-way ask held back within it of an earlier one (its answer lost, or on
        the way) may be sent again. A stutter; only when no node coordinates a
        request (each would pass its deadline: InvalidValueError otherwise)."""
        if not 0.0 < fraction <= 1.0:
            raise InvalidValueError(f"fraction {fraction!r}: not in (0, 1]")
        if not self.time_may_pass():
            raise InvalidValueError("a request is under way: its deadline would pass")
        before = {x.id for x in self.sim.in_flight()}
        timeout = fraction * max(self._node(n).config.request_timeout for n in self.present
                                 if self.up(n))
        self.sim.advance(timeout)
        self._settle(f"{timeout:g} s pass", [], before)

    def time_may_pass(self) -> bool:
        """No up node coordinates a request (:meth:`pass_request_timeout`)."""
        return any(self.up(n) for n in self.present) and not any(
            self._coordinations(n) for n in self.present if self.up(n))

    def ask_window_open(self) -> bool:
        """Some up node asked a key, in its present start, less than its
        ``request_timeout`` ago: time passing would let it ask that key again."""
        return any(self.up(name) and self.asked.get((name, key)) is self._node(name)
                   and self.sim.node_now(name) - at < self._node(name).config.request_timeout
                   for (name, key), at in self.asked_at.items())

    def _gossip_delivered(self, m: InFlight) -> list[Action]:
        """A gossip message of ``m.src``'s view delivered at ``m.dest``: the spec's
        ``Gossip(src, dst)`` where the spec enables it (``src`` knows more of the
        membership log than ``dst``), else a stutter (nothing new, or not a view)."""
        if not isinstance(m.message, GossipMessage) or self.frontier[0].membership is None:
            return []
        wanted = Gossip(m.src, m.dest)
        if all(any(label == wanted for label, _ in spec_steps(s))
               for s in self.frontier):
            return [wanted]
        return []

    def drop(self, message_id: int) -> None:
        m = self._find(message_id)
        abstract = self.abstract_message(m)
        before = {x.id for x in self.sim.in_flight()}
        self.sim.drop(message_id)
        actions: list[Action] = [Drop(abstract)] if abstract is not None else []
        self._settle(f"drop {type(m.message).__name__} {m.src}->{m.dest}", actions, before)

    def duplicate(self, message_id: int) -> None:
        m = self._find(message_id)
        abstract = self.abstract_message(m)
        copy = self.sim.duplicate(message_id)
        if message_id in self.dead:
            self.dead.add(copy)
        before = {x.id for x in self.sim.in_flight()}
        actions: list[Action] = [Duplicate(abstract)] if abstract is not None else []
        self._settle(f"duplicate {type(m.message).__name__} {m.src}->{m.dest}", actions,
                     before)

    def _find(self, message_id: int) -> InFlight:
        for m in self.sim.in_flight():
            if m.id == message_id:
                return m
        raise KeyError(f"no message {message_id} in flight")

    def crash(self, node: str, again: bool = False) -> None:
        """``node`` crashes (its disk kept): the spec's ``Crash``; ``again``, the spec's
        ``Crash(node, again=True)`` (session 61, :func:`spec.rebuild.restarts`: its
        rebuild's exchanges of every key done, a range holding no key left, so its
        restart begins the rebuild again: :meth:`_keyless_left`). Then its durable
        rebuild state is compared (:meth:`_rebuild_compared`)."""
        if again:
            self._keyless_left(node)
        else:
            self._keys_rebuilt(node)
        before = {x.id for x in self.sim.in_flight()}
        self._purge(node)
        if self.config.storage == "buffered" and self.up(node):
            self._fire(node, Flush())  # a plain crash loses nothing: the flush came first
            self.flushed.add(node)
        self.sim.crash(node)
        label = f"crash {node}" + (" again" if again else "")
        self._settle(label, [Crash(node, again)], before)
        self._rebuild_compared(node, label, self.cluster.storages[node].get_meta(
            REBUILDING_META) == b"1")

    def _keyless_left(self, node: str) -> None:
        """Before the spec's ``Crash(node, again=True)``: the implementation's state
        in which its rebuild has a range holding no key left (the lockstep marks such
        ranges done with the keys' last exchange, :meth:`_keys_rebuilt`, a timing of
        its own choosing): the rebuild begun again (durably, ``REBUILDING_META``) and
        every pair of a range holding a key done. InvalidValueError (the replay's
        ``unmapped``) unless ``node`` is up and replicates a range holding no key
        (else its rebuild is over with the keys' exchanges: no restart begins it again)."""
        replaced = self._node(node)
        keyed = {self._range_of(node, key) for key in self.config.keys}
        if not self.up(node) or all(pair[0] in keyed for pair in replaced._rebuild_pairs()):
            raise InvalidValueError(f"{node} (up: {self.up(node)}) replicates no range "
                                    "holding no key: its rebuild cannot be left")
        replaced._begin_rebuild(self.sim.now, again=True, quiet=True)
        for pair in sorted(replaced.rebuild.pending):
            if pair[0] in keyed:
                replaced._rebuild_synced(*pair)
        self.sim.perform(node, replaced._finish([]))  # the staged meta, persisted

    def _rebuild_compared(self, node: str, label: str, held: bool) -> None:
        """After ``node``'s crash or recovery (session 61's review): keep the frontier
        states whose rebuild mark of ``node`` is ``held``, the implementation's (after
        a crash, whether its store holds its rebuild durably, ``REBUILDING_META``, so
        that its restart begins it again; after a recovery, whether it rebuilds); none
        is a divergence. The compared projection
        (:func:`model_check.refinement_state.project`) holds no ``State.rebuilding``
        (trace validation's grace is timed), so without this the spec's two crash
        outcomes were one state to the lockstep."""
        if not rebuilds(self.config):
            return
        kept = [s for s in self.frontier if ((node, "", "") in s.rebuilding) == held]
        if not kept:
            self.failed = True
            raise Divergence(f"step {self.steps}: {label}",
                             f"{node}'s rebuild {'is kept' if held else 'is over'} on the "
                             f"implementation, the spec {'drops' if held else 'keeps'} "
                             "its mark"
                             "\nsteps so far: " + "; ".join(self.history))
        self.frontier = kept

    def recover(self, node: str) -> None:
        """``node`` restarts: the spec's ``Recover``. With the restore guard (the spec's
        rebuild, session 56) its startup shadow round is settled within the step
        (:meth:`_shadow_round`)."""
        before = {x.id for x in self.sim.in_flight()}
        self.sim.restart(node)
        if self._node(node).shadow is not None:
            self._shadow_round(node, before)
        self._settle(f"recover {node}", [Recover(node)], before)
        self._rebuild_compared(node, f"recover {node}", self._node(node).rebuilding)
        self._keys_rebuilt(node)  # (session 56: a node that replicates no key: none to do)

    def _shadow_round(self, node: str, before: set[int]) -> None:
        """The shadow round of restarted ``node`` (``impl.node.Node.start``: it gossips
        with every live peer before it serves; a peer that heard an earlier start of its
        store tells it, and a fresh store so told is a replaced disk, rebuilding:
        ``Node._set_aside``): every gossip between ``node`` and an up peer it can reach
        is delivered until none is left (the told store's own gossip of its new start
        too), then its ``ShadowRound`` timer fires until the round is over (a peer down
        or cut off never answers: the round times out, as it would). Each gossip's id
        joins ``before`` (none is the spec's: a stutter)."""
        while gossip := [m for m in self.sim.in_flight() if m.id not in before
                         and isinstance(m.message, GossipMessage) and node in (m.src, m.dest)
                         and self.up(m.dest) and self.reachable(m.src, m.dest)]:
            before.add(gossip[0].id)
            self.sim.deliver(gossip[0].id)
        for _ in range(SHADOW_FIRINGS):
            if self._node(node).shadow is None:
                break
            self._fire(node, ShadowRound())
        before.update(m.id for m in self.sim.in_flight() if isinstance(m.message, GossipMessage))
        replaced = self._node(node)
        if replaced.rebuilding:
            # the grace after the rebuild (Node._acks_uncounted: its acks and own reads
            # uncounted until no peer may suspect it for a silence) lasts until the
            # spec's Rebuilt, which ends it (:meth:`rebuilt`): the spec's mark
            replaced._silent_until = INFINITY

    def rebuilt(self, node: str) -> None:
        """The spec's ``Rebuilt(node)`` (:mod:`spec.rebuild`, session 56): ``node``'s
        acknowledgements, own writes and own reads count again. The implementation's
        rebuild ends once anti-entropy completed an exchange with every other replica of
        every range the node replicates (``impl.rebuild.Rebuild.pending``), and its
        acknowledgements count a grace after its last silent read
        (``Node._acks_uncounted``): the spec has neither the ranges that hold no key
        (the harness marks their exchanges done: :meth:`_keyless_rebuilt`) nor time
        (the harness ends the grace, ``Node._silent_until``). A range that holds a key
        and is not rebuilt yet, where the spec's exchanges of the key are all done, is a
        divergence."""
        before = {x.id for x in self.sim.in_flight()}
        label = f"rebuilt {node}"
        if self.up(node):
            self._keyless_rebuilt(node)
            replaced = self._node(node)
            if replaced.rebuilding:
                raise self._failed_step(label, f"{node} still rebuilds "
                                        f"{sorted(replaced.rebuild.pending)}")
            replaced._silent_until = -INFINITY  # the grace: time the spec does not model
        self._settle(label, [Rebuilt(node)], before)

    def _keys_rebuilt(self, node: str) -> None:
        """Where up ``node`` rebuilds and the spec's rebuild of it has no exchange left
        on any frontier state, its keyless ranges' pairs are marked done
        (:meth:`_keyless_rebuilt`), so its rebuild ends with the spec's exchanges: the
        grace (:meth:`_shadow_round`) keeps its acknowledgements and own reads uncounted
        until the spec's ``Rebuilt``. The implementation is silent to a read of a key it
        holds no record of while any range is left (``Node._silent_if_rebuilding``),
        where the spec answers once the key's exchanges are done (session 55's gap,
        met by the conformance with the keyless ranges left: 4 of 300 edges of
        disk-loss-read-rebuild; still met with two keys, one rebuilt, the other not)."""
        if self.up(node) and self._node(node).rebuilding and not any(
                e[0] == node and e[1] for state in self.frontier for e in state.rebuilding):
            self._keyless_rebuilt(node)

    def _keyless_rebuilt(self, node: str) -> None:
        """The pairs (range, peer) of ``node``'s rebuild whose range holds none of the
        configuration's keys marked done (``Node._rebuild_synced``): the spec's rebuild
        is per key, so it has no exchange of such a range to map."""
        replaced = self._node(node)
        keyed = {self._range_of(node, key) for key in self.config.keys}
        for pair in sorted(replaced.rebuild.pending):
            if pair[0] not in keyed:
                replaced._rebuild_synced(*pair)
        # the end of the rebuild, a staged write (impl.staging), persisted as an input's
        # would be (before, a crash right after lost it: the rebuild began again)
        self.sim.perform(node, replaced._finish([]))

    def _range_of(self, node: str, key: str) -> tuple[int, int] | None:
        """The key range holding ``key`` in ``node``'s Merkle trees."""
        return self._node(node).anti_entropy.trees.range_of(position_of(key.encode()))

    # -- issue 10's faults: the disk lost, buffered writes lost

    def disk_loss(self, node: str) -> None:
        """``node`` crashes and its disk is replaced (``SimulatedCluster.lose_disk``):
        the spec's ``DiskLoss``; it stays down until :meth:`recover` (``Recover``),
        when it takes a new actor (actor epochs: the spec's ``node~k``). With
        ``features.rebuild`` its restart is told it is a replaced disk, and rebuilds
        (:meth:`recover`; session 56, before which this raised ConfigError)."""
        before = {x.id for x in self.sim.in_flight()}
        self._purge(node)
        self.cluster.lose_disk(node)
        self.flushed.discard(node)
        self._settle(f"disk loss {node}", [DiskLoss(node)], before)

    def wipe(self, node: str) -> None:
        """``SimulatedCluster.wipe(node)`` (crash, empty disk, restart) in one step:
        the spec's ``DiskLoss`` then ``Recover``."""
        before = {x.id for x in self.sim.in_flight()}
        self._purge(node)
        self.cluster.wipe(node)
        if self._node(node).shadow is not None:  # (session 56: the restore guard's)
            self._shadow_round(node, before)
        self.flushed.discard(node)
        self._settle(f"wipe {node}", [DiskLoss(node), Recover(node)], before)

    def buffered_crash(self, node: str) -> None:
        """A crash of ``node``'s buffered engine that flushed nothing: every write of
        the node is lost (the spec's ``BufferedCrash``, the worst case of a flush
        interval longer than the run). InvalidValueError unless
        :meth:`buffered_crash_enabled`."""
        if not self.buffered_crash_enabled(node):
            raise InvalidValueError(f"no buffered crash of {node} to map: storage is "
                                    f"{self.config.storage}, or its engine was flushed")
        before = {x.id for x in self.sim.in_flight()}
        self._purge(node)
        self.sim.crash(node)
        self._settle(f"buffered crash {node}", [BufferedCrash(node)], before)

    # -- restore from a backup (faults.restores)

    def backup(self, node: str) -> None:
        """Copy up node ``node``'s storage engine (a deep copy: versions, hints, meta,
        the actor and counters of now): the spec's ``Backup``. InvalidValueError
        unless :meth:`backup_enabled`."""
        if not self.backup_enabled(node):
            raise InvalidValueError(f"no backup of {node} to map: it is down, has a "
                                    "backup, or the budget is spent")
        before = {x.id for x in self.sim.in_flight()}
        self.disk_backups[node] = copy.deepcopy(self.cluster.storages[node].inner)
        self._settle(f"backup {node}", [BackupAction(node)], before)

    def restore(self, node: str) -> None:
        """``node`` crashes and its engine is replaced by a deep copy of its backup
        (the memory engine's way of putting a data directory back): the spec's
        ``Restore``; it stays down until :meth:`recover`. InvalidValueError unless
        :meth:`restore_enabled`."""
        if not self.restore_enabled(node):
            raise InvalidValueError(f"no restore of {node} to map: it is down, has no "
                                    "backup, or the budget is spent")
        before = {x.id for x in self.sim.in_flight()}
        self._purge(node)
        self.sim.crash(node)
        watched = self.cluster.storages[node]
        watched.inner = copy.deepcopy(self.disk_backups[node])
        watched.changes += 1  # the replica changed: quiet starts again
        self.flushed.discard(node)
        self._settle(f"restore {node}", [Restore(node)], before)

    def partition(self, side: Sequence[str]) -> None:
        """Split the network: ``side`` (it must hold the first node) | the rest."""
        side = tuple(n for n in self.config.all_nodes if n in set(side))
        rest = [n for n in self.config.all_nodes if n not in side]
        before = {x.id for x in self.sim.in_flight()}
        self.cut_side = frozenset(side)
        self._cut_present()
        self._settle(f"partition {side}|{rest}", [Partition(side)], before)

    def _cut_present(self) -> None:
        """Cut the present nodes of :attr:`cut_side` from the other present nodes (a
        node of ``[membership] joining`` that has not joined yet is cut once it has)."""
        present = self.present
        self.sim.partition([n for n in present if n in self.cut_side],
                           [n for n in present if n not in self.cut_side])

    def heal(self) -> None:
        before = {x.id for x in self.sim.in_flight()}
        self.sim.heal()
        self.cut_side = frozenset()
        self._settle("heal", [Heal()], before)

    # -- timeouts

    def timeout_target(self, name: str, op_id: int, target: str) -> None:
        """The coordinator's timer for one target of operation ``op_id``: the named
        timer ``PutTimeout(op_id, target)`` / ``GetTimeout(op_id, target)`` (suspect
        the node the target's request went to, hand the target to the next fallback)."""
        sent = self._timeout_sent_to(name, op_id, target)
        op = self._coordination(name, op_id)
        if sent is None or op is None:
            raise InvalidValueError(f"the spec does not allow a timeout of {name}'s op {op_id} "
                             f"on target {target}")
        request = self.ops[(name, op_id)]
        before = {x.id for x in self.sim.in_flight()}
        self._oracle()
        self._fire(name, PutTimeout(op_id, target) if op.kind == "put"
                   else GetTimeout(op_id, target))
        self._settle(f"timeout {name} #{request} target {target} on {sent}",
                     [Timeout(name, request, sent)], before)

    def timeout_ack_lost(self, name: str, op_id: int, target: str) -> None:
        """The spec's ``Timeout`` of ``target``, whose node is unreachable (down; since
        session 45 also across a cut) with a message of the exchange the spec purges
        still in flight (session 44, the ack in flight): the spec's
        timeout purges that answer (``spec.step.Edit.purge``); here the network loses
        it, exactly the messages
        :meth:`~model_check.refinement_state.LockstepState.ack_lost_timeout` names
        (that exchange's, nothing else), then the coordinator's timer for ``target``
        fires as in :meth:`timeout_target`. Raises InvalidValueError when the spec's
        timeout is not of that kind, Divergence when the step does not map."""
        found = self.ack_lost_timeout(name, op_id, target)
        if found is None:
            raise InvalidValueError(f"no answer of {name}'s op {op_id} on target {target} "
                                    "is in flight from a down node for a timeout to lose "
                                    "(nor across a cut)")
        sent, lost = found
        self._give_up(name, op_id, target, sent, lost, "its answer in flight lost")

    def timeout_put_kept(self, name: str, op_id: int, target: str) -> None:
        """The spec's ``Timeout`` of ``target``, whose node is unreachable (down, or
        across a cut) with the coordinator's ``ReplicaPut`` to it still in flight
        (session 45, the put in flight): the spec's coordinator stops awaiting the
        node and keeps the put (it writes when it arrives, ``spec.step.Edit.purge``);
        here the coordinator's timer for ``target`` fires as in
        :meth:`timeout_target` (its resend to the unreachable node lost, a fallback
        sent the write with a hint where one is left) and the put stays in flight
        on both sides. Any answer of the node already on the way is lost, as in
        :meth:`timeout_ack_lost`. The implementation's coordinator, unlike the
        spec's, still counts the node silent: the node's ack of the kept put, sent
        when it arrives, is dead (:meth:`deliver`: the spec's coordinator awaits no
        answer and the spec sends none), never delivered by a spec step; it is lost
        in the network as :meth:`retry_given_up`'s retries are. Raises
        InvalidValueError when
        :meth:`~model_check.refinement_state.LockstepState.put_kept_timeout` does not
        name the step, Divergence when it does not map."""
        found = self.put_kept_timeout(name, op_id, target)
        if found is None:
            raise InvalidValueError(f"no replica put of {name}'s op {op_id} on target "
                                    f"{target} is in flight to an unreachable node")
        sent, _, lost = found
        self._give_up(name, op_id, target, sent, lost, "its put in flight kept")

    def _give_up(self, name: str, op_id: int, target: str, sent: str,
                 lost: tuple[int, ...], how: str) -> None:
        """The steps :meth:`timeout_ack_lost` and :meth:`timeout_put_kept` share: the
        messages ``lost`` (the unreachable node's answers on the way) lost in the
        network, then the coordinator's timer for ``target`` fired and the spec's
        ``Timeout`` of ``sent`` settled (``how`` names the kind in the step's label)."""
        before = {x.id for x in self.sim.in_flight()}
        for message_id in lost:
            self.sim.drop(message_id)  # the network loses the unreachable node's answer
        self.dead.difference_update(lost)
        op = self._coordination(name, op_id)
        assert op is not None  # the caller's LockstepState query found it
        request = self.ops[(name, op_id)]
        self._oracle()
        self._fire(name, PutTimeout(op_id, target) if op.kind == "put"
                   else GetTimeout(op_id, target))
        self._settle(f"timeout {name} #{request} target {target} on {sent}, {how}",
                     [Timeout(name, request, sent)], before)

    def timeout(self, name: str, op_id: int) -> None:
        """Fire the timer round of operation ``op_id`` at coordinator ``name``."""
        given_up = self._round_given_up(name, op_id)
        op = self._coordination(name, op_id)
        if given_up is None or op is None:
            raise InvalidValueError(
                f"the spec does not allow a timeout round of {name}'s op {op_id}")
        request = self.ops[(name, op_id)]
        before = {x.id for x in self.sim.in_flight()}
        self._oracle()
        self._fire(name, PutTimeout(op_id) if op.kind == "put" else GetTimeout(op_id))
        actions: list[Action] = [Timeout(name, request, n) for n in given_up]
        self._settle(f"timeout {name} #{request} on {given_up}", actions, before)

    def deadline(self, name: str, op_id: int) -> None:
        """The request deadline of ``name``'s operation ``op_id`` (its timer round at
        the deadline: the request fails, ``QuorumError`` to the client) = the spec's
        ``Timeout`` of each target it awaits, in order, which fails the request
        (:meth:`~model_check.refinement_state.LockstepState.deadline_candidates`:
        only where the operation's timer round is not mapped because the
        implementation would ask a reachable target again, and the spec's timeouts
        end the request; quiescence's last resort, session 10). Raises
        InvalidValueError when the spec does not allow it, Divergence when the
        operation is still live after its deadline."""
        chosen = next((targets for n, o, targets in self.deadline_candidates()
                       if (n, o) == (name, op_id)), None)
        op = self._coordination(name, op_id)
        if chosen is None or op is None:
            raise InvalidValueError(f"the spec does not fail {name}'s op {op_id} now")
        request = self.ops[(name, op_id)]
        before = {x.id for x in self.sim.in_flight()}
        self._oracle()
        self._fire(name, PutTimeout(op_id) if op.kind == "put" else GetTimeout(op_id),
                   at=op.deadline)
        label = f"deadline {name} #{request} on {list(chosen)}"
        if self._coordination(name, op_id) is not None:  # the spec's request fails
            raise self._failed_step(label, f"{name}'s op {op_id} outlived its deadline "
                                    "(the spec's timeouts fail its request)")
        self._settle(label, [Timeout(name, request, target) for target in chosen], before)

    def retries_lost(self, name: str, request: int, target: str) -> None:
        """The spec's ``Timeout(name, request, target)`` that fails the request, where
        the implementation asks the reachable ``target`` again (no fallback left), on
        the implementation's own timing (session 44): its operation's timer rounds
        fire at the times they are set for, up to the request's deadline, each round's
        retries lost in the network; then the round at the deadline fails the request
        (``QuorumError``), the spec's give-up. The spec's one request message to a
        node stands for the implementation's request and every retry of it, so a
        retry sent and lost is a stutter (a retry to a node whose request is still in
        flight is a copy of it, lost), as Riak's put FSM, which sends once and answers
        ``{error, timeout}`` at its request timeout
        (``riak_kv_put_fsm:waiting_remote_vnode/2``), looks after its one request was
        lost. Only where
        :meth:`~model_check.refinement_state.LockstepState.retried_timeout` says the
        timeout fails the request. Raises InvalidValueError when it does not,
        Divergence when a round sends anything but a retry of the request to a node
        it went to, answers or ends the operation before its deadline, or the
        deadline leaves it live."""
        found = self.retried_timeout(name, request, target)
        op_id = None if found is None or not found[1] else found[0]
        op = None if op_id is None else self._coordination(name, op_id)
        if op_id is None or op is None:
            raise InvalidValueError(f"the spec's timeout of {target} does not fail {name}'s "
                                    f"request #{request} where the implementation retries it")
        label = f"timeout {name} #{request} on {target}, retried to the deadline"
        coord = next(c for c in self.frontier[0].node(name).coord if c.request == request)
        before = {x.id for x in self.sim.in_flight()}
        timer = PutTimeout(op_id) if op.kind == "put" else GetTimeout(op_id)
        skew = self.sim.skew.get(name, 0.0)
        for _ in range(RETRY_ROUNDS):
            at = self.sim.named_timers(name).get(timer)
            if at is None or at + skew >= op.deadline:
                break
            self._oracle()
            # a round asks again only the targets still silent (not an acked target,
            # nor a node that replied: session 44's review, mutant retry-acked)
            asked = _silent_nodes(self._coordination(name, op_id) or op)
            sent_before = {x.id for x in self.sim.in_flight()}
            self._fire(name, timer, at=at + skew)
            for m in self.sim.in_flight():
                if m.id in sent_before:
                    continue
                retry = self.abstract_message(m) if isinstance(
                    m.message, ReplicaPut | ReplicaGet) else None
                if (retry is None or m.src != name or m.dest not in asked
                        or retry.request != request or retry.key != coord.key
                        or retry.intended
                        or retry.kind is not (Kind.REPLICA_PUT if coord.is_put
                                              else Kind.REPLICA_GET)
                        or (coord.is_put and retry.payload != coord.payload)):
                    raise self._failed_step(label, f"a timer round of {name}'s op {op_id} "
                                            f"sent {type(m.message).__name__} to {m.dest}, "
                                            f"not a retry of request #{request} (to "
                                            f"{', '.join(sorted(asked))})")
                self.sim.drop(m.id)  # the network loses the retry
            live = self._coordination(name, op_id)
            if live is None or live.replied:
                raise self._failed_step(label, f"{name}'s op {op_id} "
                                        f"{'ended' if live is None else 'answered'} at a "
                                        "timer round whose retries were lost")
        else:
            raise self._failed_step(label, f"{name}'s op {op_id}: more than {RETRY_ROUNDS} "
                                    "timer rounds before its deadline")
        self._oracle()
        self._fire(name, timer, at=op.deadline)
        if self._coordination(name, op_id) is not None:
            raise self._failed_step(label, f"{name}'s op {op_id} outlived its deadline (the "
                                    "spec's timeout fails its request)")
        self._settle(label, [Timeout(name, request, target)], before)

    def retry_given_up(self, name: str, request: int, target: str) -> None:
        """The spec's ``Timeout(name, request, target)`` that leaves the request going
        on, where the implementation would ask the reachable ``target`` again (no
        fallback left): a stutter of the implementation (session 44). The spec's
        coordinator stops awaiting ``target``; the implementation's still counts it
        silent and retries it at its next timer round. The abstraction equates the two:
        the spec's request message to ``target`` stands for the request and every retry
        of it, here all lost (the harness fires no round of the operation that would
        deliver one: a round is mapped only where the spec awaits each silent target,
        and the round at the deadline, or :meth:`retries_lost`, loses them); an ack or
        reply of ``target`` can then never come, on either side. What the spec
        changes is its coordinator's hidden state only (nothing of the exchange is in
        flight to purge); the other targets' answers settle the request on both sides
        alike, and once the spec has answered or failed it the implementation's
        deadline is fired (:meth:`_finish_ops`). InvalidValueError unless
        :meth:`~model_check.refinement_state.LockstepState.retried_timeout` says the
        timeout leaves the request going on."""
        found = self.retried_timeout(name, request, target)
        if found is None or found[1]:
            raise InvalidValueError(f"the spec's timeout of {target} does not leave {name}'s "
                                    f"request #{request} going on where the implementation "
                                    "retries it")
        before = {x.id for x in self.sim.in_flight()}
        self._settle(f"timeout {name} #{request} on {target}, its retries lost",
                     [Timeout(name, request, target)], before)

    # -- background work

    def hint_scan(self, name: str) -> None:
        """Node ``name`` scans its hint store (hinted handoff)."""
        self._oracle()
        # the retry timer of a hint expires exactly when no copy of its handoff is in flight
        due = frozenset(h.hint_id for h in self._scan_targets(name))
        before = {x.id for x in self.sim.in_flight()}
        self._fire(name, HintScan(due))
        actions: list[Action] = []
        sent: set[int] = set()
        for m in self.sim.in_flight():
            if m.id not in before and isinstance(m.message, HintDelivery):
                payload = self.abstract_record(m.message.record)
                actions.append(Handoff(name, m.dest, m.message.key.decode(), payload))
                sent.add(m.message.hint_id)
        if due - sent:  # the spec's Handoff of each is enabled: not sending is doing less
            raise self._failed_step(
                f"hint scan {name}",
                f"{name} did not send the hints {sorted(due - sent)} whose handoff the spec "
                "enables (intended node up and reachable, no copy in flight)")
        self._settle(f"hint scan {name}", actions, before)

    def handoff(self, action: Handoff) -> None:
        """The spec's ``Handoff`` of exactly one hint: a hint scan at ``action.node``
        due for the one kept hint whose (intended node, key, payload) is the action's
        (the retry timer of that hint expired, the others' not: ``HintScan(hints)``,
        each hint's own retry time). It must send exactly that hint's delivery and
        nothing else (a scan that sends another hint, or none, is a divergence).
        InvalidValueError when no such hint is due (kept, intended node reachable, no
        copy of its handoff in flight)."""
        self._oracle()
        label = f"handoff {action.key} {action.node}->{action.intended}"
        wanted = [h.hint_id for h in self._scan_targets(action.node)
                  if h.intended == action.intended and h.key == action.key.encode()
                  and self.abstract_record(h.record) == action.payload]
        if not wanted:
            raise InvalidValueError(f"{action.node} keeps no due hint of {action.key} for "
                                    f"{action.intended} with the spec's payload")
        before = {x.id for x in self.sim.in_flight()}
        self._fire(action.node, HintScan(frozenset(wanted[:1])))
        sent = [m for m in self.sim.in_flight()
                if m.id not in before and isinstance(m.message, HintDelivery)]
        if [(m.dest, m.message.hint_id) for m in sent] != [(action.intended, wanted[0])]:
            raise self._failed_step(label, f"a scan due for hint {wanted[0]} alone sent "
                                    f"{[(m.dest, m.message.hint_id) for m in sent]} (the "
                                    "spec's Handoff sends that one hint)")
        self._settle(label, [action], before)

    def gossip(self, name: str) -> None:
        """A gossip round at ``name`` (a stuttering step)."""
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        self._fire(name, GossipRound())
        self._settle(f"gossip {name}", [], before)

    def join(self, name: str) -> None:
        """``name`` joins (spec ``Join``): the simulator adds it, its first gossip round
        asks a seed for the view and the answer is delivered, so it takes its slot's
        token and announces it; that announcement stays in flight (only the joining
        node knows the join, as in the spec)."""
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        self.cluster.join(name)
        if self.sim.cut_links:  # a partition made before the join: cut it too
            self._cut_present()
        self._fire(name, GossipRound())
        for _ in range(2):  # the view request to a seed, then the seed's answer
            asked = next(m for m in self.sim.in_flight()
                         if isinstance(m.message, GossipMessage) and m.id not in before
                         and name in (m.src, m.dest))
            before.add(asked.id)
            self.sim.deliver(asked.id)
        before |= {x.id for x in self.sim.in_flight()}  # the announcement: not delivered
        self._settle(f"join {name}", [Join(name)], before)

    def gossip_to(self, src: str, dst: str) -> None:
        """``src``'s gossip reaches ``dst`` (spec ``Gossip(src, dst)``): ``dst`` merges
        ``src``'s current view, delivered as one gossip push of ``src``'s."""
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        push = GossipMessage(self._node(src).view.to_bytes(), reply=False)
        self.sim.perform(dst, self._node(dst).receive(self.sim.node_now(dst), src, push))
        self._settle(f"gossip {src}->{dst}", [Gossip(src, dst)], before)

    def leave(self, name: str) -> None:
        """``name`` leaves (spec ``Leave``): it announces that it is leaving (and keeps
        a hint of each key it holds for the key's new owner); the harness times its
        hint scans, so each range is handed over by its own :meth:`transfer` step, the
        spec's ``Transfer`` (``Node.leave(scan=False)``)."""
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        self.sim.perform(name, self._node(name).leave(self.sim.node_now(name), scan=False))
        self._settle(f"leave {name}", [Leave(name)], before)

    def force_remove(self, node: str, by: str) -> None:
        """``by`` force-removes ``node``, down for good (spec ``ForceRemove(node, by)``,
        session 23): the operator's request on ``by`` (``Node.force_remove``: its failure
        detector, the harness's oracle, suspects the down node), which announces
        ``node`` ``removing`` and gossips it to one peer (left in flight, a stutter
        when delivered after the spec's ``Gossip``). From here the abstraction maps
        ``node`` to the spec's removed node: down, its store empty (its disk is gone)."""
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        self.sim.perform(by, self._node(by).force_remove(self.sim.node_now(by), node))
        self._settle(f"force-remove {node} by {by}", [ForceRemove(node, by)], before)

    def transfer(self, src: str, dst: str, key: str) -> None:
        """``src``, the old owner of ``key``, sends it to ``dst``, a node new in its top
        N (spec ``Transfer(src, dst, key)``): a hint scan at ``src`` due for exactly
        the transfer's hint (the old owner's hint of the key for ``dst``, riak_core's
        ownership handoff). Without a hint ``src`` held nothing of the key: nothing to
        send on the implementation, and the spec's empty transfer arrives at once
        (``Transfer`` then ``Deliver``). The same step sends a *late re-transfer*
        (session 35: the spec's ``Transfer`` of a transfer that arrived,
        :func:`spec.membership.late_transfers`): the hint the old owner keeps for the
        new owner holds the late write (``impl.gossip.Gossiper.on_write`` -> ``_hand``
        replaced the transfer's hint with the whole record), and the scan due for it
        sends it again; the step's check compares its delivery with the spec's."""
        self._learn_seen((src,))
        hint = self.transfer_hint(src, dst, key)
        ms = self.frontier[0].membership
        if ms is not None and (key, src, dst) in ms.handed:
            # the spec's late re-transfer (session 35): src forwards a late write, which
            # the implementation keeps in the transfer's hint (Gossiper.on_write): a
            # kept hint whose acknowledgement is not in flight (:meth:`late_transfers`)
            hint = next((h for name, h, _ in self.late_transfers() if name == src
                         and h.intended == dst and h.key == key.encode()), None)
            if hint is None:
                raise self._failed_step(
                    f"transfer {key} {src}->{dst} again", f"{src} keeps no late hint of "
                    f"{key} for {dst} (every hint of it acknowledged or none): it did not "
                    "forward the late write its spec counterpart sends again (the late "
                    "re-transfer, spec.membership.late_transfers)")
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        self._fire(src, HintScan(frozenset() if hint is None else frozenset({hint.hint_id})))
        self._settle(f"transfer {key} {src}->{dst}", [Transfer(src, dst, key)], before)

    def deliver_empty(self, message: Message) -> None:
        """The spec's range transfer ``message`` of a range its sender held nothing
        of arrives (``Deliver``): nothing moves on the implementation, which sent
        nothing (:func:`~model_check.refinement_state.is_empty_transfer`)."""
        if not is_empty_transfer(message) or message not in self.frontier[0].messages:
            raise InvalidValueError(f"no empty range transfer {message} in flight")
        self._settle(f"deliver empty transfer {message.src}->{message.dst}",
                     [Deliver(message)], {x.id for x in self.sim.in_flight()})

    def empty_transfers(self) -> list[Message]:
        """The spec's empty range transfers in flight (see :meth:`deliver_empty`)."""
        return sorted({m for m in self.frontier[0].messages if is_empty_transfer(m)},
                      key=lambda m: m.order)

    def handover(self, node: str) -> None:
        """The change ``node`` announced is handed over (spec ``Handover(node)``, enabled
        once every transfer arrived): the transfers' acknowledgements, held until now,
        reach the old owners, and a hint scan at every node lets the old owners'
        copies go, a late write included (``join_handover = "immediate"``; the spec's
        handover empties them). A late re-transfer an old owner still keeps
        (:meth:`late_transfers`) whose record its receiver's copy already covers (a
        joint write group brought the write there) is sent and delivered first, a
        stutter the step's check confirms (an environment choice: the hint's retry
        timer fires before the handover); one that would add a version makes the
        spec's handover not the implementation's, which forwards the write first
        (the spec's late re-transfer, a ``Transfer`` of a transfer that arrived, must
        come first: :meth:`transfer`, session 35): InvalidValueError (unmapped). First,
        a kept transfer hint of a transfer that arrived must cover its old owner's copy
        (:meth:`stale_transfers`, session 10): one that lacks a late write the old owner
        holds is a divergence, whether its acknowledgement is in flight or not; checked
        before the late re-transfers are judged, else a stale hint that is one (its
        acknowledgement lost, its old owner down) passes as unmapped
        (tests/refinement/test_handover_order.py, mutant
        ``stale-check-after-late-transfers``)."""
        stale = self.stale_transfers()
        if stale:  # checked first: a stale hint must not pass as a stutter or unmapped
            raise self._failed_step(f"handover {node}", "; ".join(stale))
        late = self.late_transfers()
        refused = [why for _, _, why in late if why]
        if refused:
            raise InvalidValueError(f"no handover by {node} on the implementation: "
                                    + "; ".join(refused))
        if node not in self.handover_candidates():
            raise InvalidValueError(f"the spec does not enable a handover by {node}")
        self._learn_seen(self.present)  # each old owner's transfer, HandoffDone
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        for src, hint, _ in late:  # the late re-transfers, each a stutter (see above)
            sent = {x.id for x in self.sim.in_flight()}
            self._fire(src, HintScan(frozenset({hint.hint_id})))
            for m in self.sim.in_flight():
                if m.id not in sent and isinstance(m.message, HintDelivery):
                    self.sim.deliver(m.id)
        for m in self.sim.in_flight():
            if isinstance(m.message, HintAck) and self.reachable(m.src, m.dest):
                self.sim.deliver(m.id)
        for name in self.present:  # each old owner's next hint scan lets its copies go
            if self.up(name):
                self._fire(name, HintScan(frozenset()))
        self._deliver_new(before, HandoffDone)  # pending: the joining node announces up
        claimant = self.announcer_of(node)
        if claimant == node:
            gossiper = self._node(node).gossiper
            if gossiper.status is MemberStatus.LEAVING:  # a leaving node announces it left
                self.sim.perform(node, gossiper.finish_leaving(self.sim.node_now(node)))
        else:  # a force-remove: every survivor's HandoffDone reached the claimant
            held = self._node(claimant).gossiper.view.get(node)
            if held is None or held.status is not MemberStatus.REMOVED:
                raise self._failed_step(
                    f"handover {node}", f"the claimant {claimant} does not announce {node} "
                    f"removed ({held}) where the spec's Handover is enabled (every "
                    "survivor's transfer arrived)")
        self._settle(f"handover {node}", [Handover(node)], before)
        kept = sorted(name for name in self.present if self.cluster.storages[name].hints())
        if kept:  # every transfer of the change arrived: no node may still hold one
            self.failed = True
            raise Divergence(f"step {self.steps}: handover {node}",
                             f"{', '.join(kept)} still keep range-transfer hints after the "
                             "handover (the spec's transfers of the change all arrived)"
                             "\nsteps so far: " + "; ".join(self.history))

    def hand_on(self, src: str, hint_id: int) -> None:
        """``src``'s hand-on hint ``hint_id`` (kept once the change is complete,
        :meth:`~model_check.refinement_state.LockstepState.hand_on_hints`) goes to its
        new owner: a hint scan at ``src`` due for that hint alone (its retry timer),
        its delivery and acknowledgement delivered. A stutter: mapped only where the
        hint's record adds nothing to the new owner's store (session 10,
        leave-immediate seed 67), the old owner then letting its copy go or not (the
        trace spec's ``late-release``,
        :func:`~model_check.trace_membership.late_release`: only once the new owners
        hold all of it, a spec gap); else InvalidValueError (the spec has no
        forwarding step). Divergence when ``src`` still keeps the hint after it."""
        found = next(((hint, why) for name, hint, why in self.hand_on_hints()
                      if name == src and hint.hint_id == hint_id), None)
        if found is None:
            raise InvalidValueError(f"{src} keeps no hand-on hint {hint_id}")
        hint, why = found
        if why:
            raise InvalidValueError(f"no hand-on on the implementation's side alone: {why}")
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        self._fire(src, HintScan(frozenset({hint_id})))
        for kind in (HintDelivery, HintAck):
            self._deliver_new(before, kind)
        key = hint.key.decode()
        label = f"hand-on {key} {src}->{hint.intended}"
        if any(kept.hint_id == hint_id for kept in self.cluster.storages[src].hints()):
            raise self._failed_step(label, f"{src} still keeps the hand-on of {key} for "
                                    f"{hint.intended} after its delivery (it never ends)")
        self._settle(label, [], before, gap=late_release(key, src))

    def deliver_late_ack(self, message_id: int) -> None:
        """A range transfer's acknowledgement sent after the change's handover
        (:meth:`~model_check.refinement_state.LockstepState.late_acks`) is delivered:
        a stutter (no spec message; the abstraction hides hints under membership), so
        a receiver whose state it changes where the spec's does not is a
        :class:`Divergence` (session 60)."""
        m = self._find(message_id)
        if not any(x.id == message_id for x in self.late_acks()):
            raise InvalidValueError(f"message {message_id} is no late transfer ack")
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        self.sim.deliver(message_id)
        self._settle(f"deliver late HintAck {m.src}->{m.dest}", [], before)

    def settle(self, node: str) -> None:
        """The change ``node`` announced settled (spec ``Settle(node)``, pending
        ownership, enabled once every member knows the handover): given every
        member's seen digest, ``node``'s own guard holds and it announces it
        (``Gossiper.settle_if_seen``; a guard that does not hold is a divergence;
        ``Gossiper.settle``: its view's ``Member.settled``, spread by gossip as the
        spec's settled entry), its ``Settled`` messages reach the old owners at once,
        and a hint scan at every node lets their handed-over copies go (the spec's
        settlement empties them)."""
        if node not in self.settle_candidates():
            raise InvalidValueError(f"the spec does not enable a settlement by {node}")
        claimant = self.announcer_of(node)  # a force-remove's: the claimant
        self._learn_seen((claimant,))  # the implementation's own guard, on knowledge
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        gossiper = self._node(claimant).gossiper
        announced = gossiper.settle_if_seen()
        held = gossiper.view.get(node)  # a removed member's settlement sends nothing
        if not (announced if claimant == node else held is not None and held.settled):
            raise self._failed_step(
                f"settle {node}",
                f"{claimant} does not settle {node}'s change: it does not know that every "
                "member saw its handover (its seen digest, after every member's), where "
                "the spec's Settle is enabled")
        self.sim.perform(claimant, announced)
        self._deliver_new(before, Settled)
        for name in self.present:
            if self.up(name):
                self._fire(name, HintScan(frozenset()))
        self._settle(f"settle {node}", [Settle(node)], before)

    def _learn_seen(self, names: Sequence[str]) -> None:
        """Pending ownership: each of ``names`` that is up learns what every other
        present member has seen of the membership, one seen digest from each (a down
        member's: its persisted view). A stutter, part of the step that needs it: the
        spec's guards of ``Transfer`` and ``Settle`` are global (every member knows the
        change), the implementation learns them by gossip of seen digests
        (``impl.gossip``); without this an old owner whose guard the spec already
        meets would not have started its transfer."""
        for name in names:
            if not self.up(name):
                continue
            for other in self.present:
                if other == name:
                    continue
                if self.up(other):
                    seen = self._node(other).gossiper.seen
                else:
                    raw = self.cluster.storages[other].get_meta("membership")
                    if raw is None:
                        continue
                    seen = {other: Membership.from_bytes(raw).vector()}
                digest = SeenDigest(seen_to_bytes(seen), reply=False)
                self.sim.perform(name, self._node(name).receive(self.sim.node_now(name), other,
                                                                digest))

    def _deliver_new(self, before: set[int], kind: type) -> None:
        """Deliver the messages of type ``kind`` sent since ``before`` (membership
        control messages a step of a change consists of)."""
        for m in self.sim.in_flight():
            if m.id not in before and isinstance(m.message, kind) and self.reachable(
                    m.src, m.dest):
                self.sim.deliver(m.id)

    def membership_step(self) -> bool:
        """Take one step of the membership change the spec enables (a gossip, a
        transfer, a handover); False when none is (used by :meth:`quiesce`)."""
        gossip = self.gossip_candidates()
        if gossip:
            self.gossip_to(*gossip[0])
            return True
        empty = self.empty_transfers()
        if empty:
            self.deliver_empty(empty[0])
            return True
        transfers = self.transfer_candidates()
        if transfers:
            self.transfer(transfers[0].src, transfers[0].dst, transfers[0].key)
            return True
        handovers = self.handover_candidates()
        if handovers:
            self.handover(handovers[0])
            return True
        settles = self.settle_candidates()
        if settles:
            self.settle(settles[0])
            return True
        return False

    def anti_entropy(self, name: str) -> None:
        """An anti-entropy round at ``name`` (a stuttering step while it moves no record)."""
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        self._fire(name, AntiEntropyRound())
        self._settle(f"anti-entropy {name}", [], before)

    def anti_entropy_pair(self, a: str, b: str, key: str) -> None:
        """A whole anti-entropy exchange between ``a`` and ``b`` for ``key``'s range:
        ``a`` syncs with ``b`` (every Merkle and key-records message of the exchange
        is delivered at once; no other message moves, none is lost), then ``b`` with
        ``a``. It maps to the spec's atomic two-sided ``AntiEntropy(a, b, key)``
        exactly when the spec enables it (the two replicas' payloads differ), else to
        a stutter; so an exchange that moves nothing where the spec's would is a
        divergence. One direction alone must leave both replicas with the union
        (the paper's exchange is symmetric, 4.7): the second must change nothing.
        With membership change a node opens an exchange only with a node of its own
        serving top N (``impl.antientropy.AntiEntropy.on_round``): the directions
        whose opener has the other there, the first of them bound to leave the union
        (session 24: a node that knows the handover has the new owner there, the new
        owner that does not know it has not)."""
        if (a, b) not in self.anti_entropy_pairs(key) and (
                b, a) not in self.anti_entropy_pairs(key):
            raise InvalidValueError(f"anti-entropy {a} <-> {b} on {key} is not enabled")
        k = self.config.keys.index(key)
        before = {x.id for x in self.sim.in_flight()}
        spec_before = self.frontier[0].node(a).store[k], self.frontier[0].node(b).store[k]
        label = f"anti-entropy {a} <-> {b} on {key}"
        top = self.exchange_candidates(key)
        first, second = (a, b) if top.index(a) < top.index(b) else (b, a)
        # (session 56) enabled between equal copies too while the spec's rebuild has
        # the exchange to do (spec.rebuild.pending: it completes the pair)
        enabled = spec_before[0] != spec_before[1] or any(
            pending(state.rebuilding, a, b, key) for state in self.frontier)
        # what the spec's exchange leaves the two replicas: the union in both, or with
        # [features] prune_retired the union each pruned by what its node knows (with
        # prune_knowledge "own" the two may differ: session 34)
        union = {(s.node(a).store[k], s.node(b).store[k]) for state in self.frontier
                 for action, s in spec_steps(state)
                 if action == AntiEntropy(first, second, key)}
        if self.config.prune_knowledge == "learnt":  # the spec teaches, then merges
            self.teaching = exchanged(self.frontier[0].known, a, b, spec_before,
                                      self.config.all_nodes, self.frontier[0].epochs)
        rebuild = any(pending(state.rebuilding, a, b, key) for state in self.frontier)
        try:
            for x, y in self.openers(a, b, key):
                self._exchange(x, y, key)
                after = self._stores(a, b, k)
                if enabled and (after not in union if union else after[0] != after[1]):
                    self.failed = True
                    self.steps += 1
                    self.history.append(label)
                    raise Divergence(
                        f"step {self.steps}: {label}",
                        f"the exchange {x} -> {y} left the replicas of {key} other than "
                        f"the spec's anti-entropy leaves them (both with the union, each "
                        f"pruned by what its node knows): {a}: {after[0]}, {b}: "
                        f"{after[1]}; the spec: "
                        f"{' or '.join(f'{p}, {q}' for p, q in union)}"
                        f"\nsteps so far: " + "; ".join(self.history))
            # (session 56) the spec's exchange completes a rebuild's pair; the
            # implementation's only in an exchange the replaced disk opened that found
            # the trees in sync or merged the peer's whole answer: where the two ways
            # left its pair to do, it opens once more (the copies equal now: a stutter)
            for x, y in ((a, b), (b, a)) if rebuild else ():
                if self.up(x) and (self._range_of(x, key), y) in self._node(x).rebuild.pending:
                    self._exchange(x, y, key)
        finally:
            self.teaching = None
        actions: list[Action] = [AntiEntropy(first, second, key)] if enabled else []
        self._settle(label, actions, before)
        for x in (a, b) if rebuild else ():
            self._keys_rebuilt(x)  # (session 56)

    def learn_retirement(self, action: LearnRetirement) -> None:
        """The spec's ``LearnRetirement`` (``prune_knowledge = "learnt"``): node
        ``action.node`` is told it knows the retirement from the next step on (the
        harness's oracle, :meth:`_tell_retirements`; the implementation's gossip is not
        driven). No replica changes: the step checks that nothing else did."""
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        self._settle(f"{action.node} learns {action.owner}~{action.lifetime} retired "
                     f"from {action.src}", [action], before)
        self._oracle()

    def anti_entropy_refused(self, a: str, b: str, key: str) -> None:
        """An exchange of replicas ``a`` and ``b`` of ``key`` that the spec does not
        enable (:meth:`anti_entropy_pairs`, ``spec.membership.exchanges``): ``a``
        opens a Merkle exchange with ``b``, then ``b`` with ``a``, every message
        delivered; the implementation must move nothing of ``key``, a stutter, else
        a :class:`Divergence` (session 24's review: the pairs the lockstep opens are
        the spec's, so without this an implementation that exchanges where the spec
        does not, e.g. with a new owner before the handover, went unseen). Raises
        InvalidValueError if the spec enables the pair."""
        if (a, b) in self.anti_entropy_pairs(key) or (b, a) in self.anti_entropy_pairs(key):
            raise InvalidValueError(f"anti-entropy {a} <-> {b} on {key} is enabled")
        self._oracle()
        before = {x.id for x in self.sim.in_flight()}
        self._exchange(a, b, key)
        self._exchange(b, a, key)
        self._settle(f"anti-entropy {a} <-> {b} on {key} (not enabled)", [], before)

    def _exchange(self, x: str, y: str, key: str) -> None:
        """``x`` opens a Merkle exchange with ``y`` on the range holding ``key`` (the
        spec's anti-entropy is of one key: an exchange of every range the two share
        also moved another key's records, a divergence on the two-key entry of
        session 31); every message of it is delivered, in order, until none is left."""
        self._oracle()
        seen = {m.id for m in self.sim.in_flight()}
        self._fire(x, AntiEntropyRound(peer=y, key=key.encode()))
        while True:
            pending = [m for m in self.sim.in_flight() if m.id not in seen
                       and isinstance(m.message, MerkleExchange | KeyRecords)
                       and {m.src, m.dest} == {x, y}]
            if not pending:
                return
            self._oracle()
            self.sim.deliver(pending[0].id)

    # -- progress

    def quiesce(self, limit: int = 400) -> int:
        """Stop the faults (heal, recover every crashed node) and drive both sides to
        quiescence, every step checked: deliver every message, fire the timer rounds
        the spec allows, the hint scans, the reaps whose grace period passed, and an
        anti-entropy exchange for every pair of replicas whose versions differ
        (anti-entropy on) where the spec's exchange moves something
        (:meth:`~model_check.refinement_state.LockstepState.exchange_moves`: not
        where the copies differ in a re-issued dot alone), then the transfer
        acknowledgements sent after the change completed (:meth:`deliver_late_ack`,
        session 60), the naive handover's hand-ons (:meth:`hand_on`) and, last, the
        deadline of a request the spec fails by timeouts the implementation's retries
        do not map (:meth:`deadline`), until none is left.
        Returns the steps taken; raises :class:`Divergence` as any step does, and
        RuntimeError if ``limit`` steps do not reach quiescence."""
        taken = 0
        if self.sim.cut_links:
            self.heal()
            taken += 1
        for name in self.present:
            if not self.up(name):
                self.recover(name)
                taken += 1
        while taken < limit:
            taken += 1
            deliverable = self.deliverable()
            if deliverable:
                self.deliver(deliverable[0].id)
                continue
            rounds = self.timeout_candidates()
            if rounds:
                self.timeout(*rounds[0])
                continue
            scans = [n for n in self.present if self.hint_scan_enabled(n)]
            if scans:
                self.hint_scan(scans[0])
                continue
            reaps = self.reap_candidates()
            if reaps:
                self.reap(*reaps[0])
                continue
            if self.config.membership and self.membership_step():
                continue
            pairs = [(a, b, key) for key in self.config.keys if self.config.anti_entropy
                     for a, b in self.anti_entropy_pairs(key)
                     if self.exchange_moves(a, b, key)]
            if pairs:
                self.anti_entropy_pair(*pairs[0])
                continue
            stale = [*self.stale_gossip(), *self.stale_asks(), *self.stale_answers()]
            if stale:
                self.drop(stale[0].id)
                continue
            late = self.late_acks()
            if late:
                self.deliver_late_ack(late[0].id)
                continue
            hand_on = [(src, hint.hint_id) for src, hint, why in self.hand_on_hints()
                       if not why]
            if hand_on:
                self.hand_on(*hand_on[0])
                continue
            deadlines = self.deadline_candidates()
            if deadlines:
                self.deadline(*deadlines[0][:2])
                continue
            return taken
        raise ExplorationError(f"no quiescence after {limit} steps: " + "; ".join(self.history))

    def converged(self) -> bool:
        """The implementation's own convergence (the spec's ``convergence`` property,
        :func:`spec.model.converged`, evaluated on the implementation): every replica
        of each key (its top N) stores the same versions, no node keeps a hint, and
        no message is in flight."""
        if self.in_flight():
            return False
        for name in self.present:
            if self._node(name).snapshot().hints:
                return False
        return self.replicas_agree()

    def _finish_ops(self, successors: Sequence[State]) -> None:
        """Fire the deadline of every live impl op that answered its client, or whose
        request the spec no longer coordinates."""
        for name in self.present:
            if not self.up(name):
                continue
            for listed in self._coordinations(name):
                op = self._coordination(name, listed.op_id)  # earlier ones may end others
                if op is None:
                    continue
                request = self.ops.get((name, op.op_id))
                gone = request is not None and all(
                    all(c.request != request for c in s.node(name).coord)
                    for s in successors)
                if op.replied or gone:
                    self._purge(name, op.op_id)
                    if self._acks_may_come(name, op):
                        continue  # a delete's reap waits for every target's ack
                    timer = PutTimeout(op.op_id) if op.kind == "put" else GetTimeout(op.op_id)
                    self._fire(name, timer, at=op.deadline)
        self._purge_ended()

    def _purge_ended(self) -> None:
        """Answers in flight to an up coordinator for an operation it no longer
        coordinates (it ended in this step: every target answered, as a put of N = W
        whose last ack came) are dead, as the spec purges a finished coordination's
        answers (``spec.step.Edit.purge``). Until session 37 only the operations still
        listed were purged (:meth:`_finish_ops`), so the other copy of a duplicated
        ack of such a put stayed mapped (dvv-prune-retired with ``duplicates = 1``,
        walk 1961: ``.messages: spec [] vs impl [replica-put-ack n2->n1]``); until
        session 52 a refusal (``ReplicaPutFailed``) too (write-failure-strict, 60
        edges)."""
        live: dict[str, set[int]] = {}
        for m in self._undelivered():
            msg = m.message
            if m.id in self.dead or not isinstance(
                    msg, ReplicaGetReply | ReplicaPutAck | ReplicaPutFailed):
                continue  # (a refusal too since session 52: a FailedPut's put failed by
                # a timeout with a refusal in flight, .messages: spec [] vs impl
                # [replica-put-failed n3->n1 #1 k])
            if m.dest not in self.present or not self.up(m.dest):
                continue
            if m.dest not in live:
                live[m.dest] = set(self._node(m.dest).coordinations())
            if msg.op_id not in live[m.dest]:
                self.dead.add(m.id)

    def _collect_replies(self) -> None:
        for request_id, record in sorted(self.requests.items()):
            if record.done or not record.handle.done:
                continue
            record.done = True
            client = self.clients[record.client]
            client.busy = False
            if record.handle.error is not None:
                continue
            result = record.handle.value
            if record.is_put:
                assert isinstance(result, PutResult)
                client.acked.append(record.spec_id)
                if self.config.forgetful_clients:
                    # the spec's forgetful client restarts once its put is acknowledged
                    # (spec.coordination._acknowledge): it forgets its counter and its
                    # last get, no input of a node (session 24)
                    client.counter, client.last_get = 0, None
                elif self.config.chain_puts:
                    # the spec's chaining client (workload.chain_puts, session 60:
                    # spec.coordination.answered) writes next with the context its
                    # put was answered with: the implementation's PutResult.context;
                    # with a write left it may not hear it (session 61: unheard)
                    if client.puts_issued < self.config.writes_per_client:
                        client.unheard = (client.last_get,)
                    client.last_get = (record.key, result.context)
            else:
                assert isinstance(result, GetResult)
                returned = tuple(sorted(put_id_of_value(v) for v in result.values))
                client.gets.append((record.spec_id, record.key, returned))
                client.last_get = (record.key, result.context)
            del request_id

    def _settle(self, label: str, actions: list[Action], before: set[int],
                gap: Callable[[State], State | None] | None = None) -> None:
        """Map the step just taken on the impl to ``actions`` on every frontier state
        and check the abstraction (see the module docstring). ``gap``: a trace-spec
        step (:mod:`model_check.trace_membership`, a spec gap) that may follow the
        actions, each of its successors (None: not a step) a candidate too."""
        self.steps += 1
        self.history.append(label)
        self._no_internal_errors(label)
        successors: list[State] = []
        for state in self.frontier:
            successors.extend(apply_actions(state, actions))
        if gap is not None:
            successors.extend(after for after in map(gap, list(successors))
                              if after is not None and after not in successors)
        self._finish_ops(successors)
        self._collect_replies()
        new = [m for m in self.sim.in_flight()
               if m.id not in before and not self.reachable(m.src, m.dest)]
        droppable = {m.id: self.abstract_message(m) for m in new}
        impl = self.abstract(exclude=droppable)
        matched: list[State] = []
        lost: set[int] | None = None
        for state in successors:
            state = with_idle_clients(state)
            extra = self._match(state, impl, droppable)
            if extra is None:
                continue
            if lost is None:
                lost = extra
            if extra == lost and state not in matched:
                matched.append(state)
        if not matched:
            self.failed = True
            raise Divergence(f"step {self.steps}: {label}", self._report(successors, impl))
        for message_id in sorted(lost or ()):
            self.sim.drop(message_id)
        self.frontier = matched[:FRONTIER_LIMIT]

    def _failed_step(self, label: str, why: str) -> Divergence:
        """The divergence of a step ``label`` that failed before it was mapped (counted
        as a step, with the history): ``why`` and the steps so far."""
        self.failed = True
        self.steps += 1
        self.history.append(label)
        return Divergence(f"step {self.steps}: {label}",
                          f"{why}\nsteps so far: " + "; ".join(self.history))

    def _no_internal_errors(self, label: str) -> None:
        """An error of a node's own while handling a peer's message (counted in
        ``stats["internal-error"]``, see ``impl.node.Node.receive``) is a divergence:
        every peer of the simulator is ours."""
        for name in self.present:
            if not self.up(name):
                continue
            node = self._node(name)
            if node.stats["internal-error"]:
                self.failed = True
                errors = [line for line in node.log if "INTERNAL ERROR" in line]
                raise Divergence(f"step {self.steps}: {label}",
                                 f"{name}: internal error: {errors[-1:]}\nsteps so far: "
                                 + "; ".join(self.history))

    def _match(self, state: State, impl: Abstract,
               droppable: dict[int, Message | None]) -> set[int] | None:
        """None if ``state`` does not match; else the droppable impl messages to lose."""
        spec = project(state)
        if (spec.nodes != impl.nodes or spec.clients != impl.clients
                or spec.side != impl.side or spec.unpersisted != impl.unpersisted):
            return None
        extra = Counter(spec.messages)
        extra.subtract(Counter(impl.messages))
        if any(count < 0 for count in extra.values()):
            return None
        lose: set[int] = set()
        for message_id, message in sorted(droppable.items()):
            if message is not None and extra[message] > 0:
                extra[message] -= 1
            else:
                lose.add(message_id)
        if any(count > 0 for count in extra.values()):
            return None
        if not self._clocks_agree(state):
            return None
        return lose

    def _clock_differences(self, state: State, impl: Abstract) -> str:
        """What the readable states do not show: the stores whose dots differ (dvv),
        and the puts whose clock (lww: stamp in ticks, coordinator) the
        implementation holds differently from ``state``'s put table."""
        out = [f"nodes.{name}.store: spec {spec_node[1]!r} vs impl {impl_node[1]!r}"
               for name, spec_node, impl_node in zip(self.config.all_nodes, project(state).nodes,
                                                     impl.nodes, strict=True)
               if spec_node[1] != impl_node[1]]
        for pid, fact in sorted(self.clocks.items()):
            record = state.puts[pid - 1]
            spec = (None if record is None else (float(record.stamp[0]), record.stamp[1])
                    if self.mode is ClockMode.LWW else record.clock)
            if spec != fact:
                out.append(f"v{pid} clock: spec {_clock_text(spec)} vs impl {_clock_text(fact)}")
        return "; ".join(out)

    def _report(self, successors: Sequence[State], impl: Abstract) -> str:
        config = self.config
        lines = ["the implementation's abstract state:",
                 json.dumps(impl.readable(config), indent=1, sort_keys=True)]
        before = project(self.frontier[0]).readable(config)
        lines += ["the spec's previous abstract state:", json.dumps(before, indent=1,
                                                                     sort_keys=True)]
        for state in successors[:2]:
            spec = project(with_idle_clients(state))
            lines += ["a spec successor reached by the mapped actions:",
                      json.dumps(spec.readable(config), indent=1, sort_keys=True),
                      "differences: " + (difference(spec.readable(config),
                                                     impl.readable(config))
                                          or self._clock_differences(state, impl))]
        if not successors:
            lines.append("the mapped spec actions are not enabled in the spec")
        lines.append("steps so far: " + "; ".join(self.history))
        return "\n".join(lines)


#: the engine methods that write (:class:`RefusingEngine` refuses them)
_ENGINE_WRITES = frozenset({"write", "add_hint", "set_meta", "delete", "delete_hint"})


def _refuse(*_: object) -> Any:
    raise StorageError("database or disk is full")


class RefusingEngine:
    """A storage engine whose writes (records, hints, meta entries, deletes) raise the
    engine's ``StorageError("database or disk is full")``, as SQLite's SQLITE_FULL
    does, whenever ``when()`` holds (default: always); every read, and every write
    while ``when()`` does not hold, goes to the engine it wraps (a failing disk,
    session 51; ``when``: trace validation's, session 52)."""

    def __init__(self, inner: Any, when: Callable[[], bool] = lambda: True) -> None:
        self.inner = inner
        self.when = when

    def __getattr__(self, name: str) -> Any:
        if name in _ENGINE_WRITES and self.when():
            return _refuse
        return getattr(self.inner, name)

    def __len__(self) -> int:
        """The records the engine holds (a read): a dunder, which ``__getattr__`` does
        not serve. A node's start reads it (:class:`impl.node.Node`, since
        s53-owntoken); without it a node restarted on a refusing disk raised
        ``TypeError`` (session 53's review of the forward decline: trace validation's
        seeds 18, 20, 21, ... of ``validate_seed(seed, write_failures=True)``)."""
        return len(self.inner)


@contextmanager
def refusing(watched: Any) -> Iterator[None]:
    """While in the block, node storage ``watched`` (a ``WatchedStorage``) refuses every
    write: its engine wrapped by :class:`RefusingEngine`, restored after."""
    inner = watched.inner
    watched.inner = RefusingEngine(inner)
    try:
        yield
    finally:
        watched.inner = inner


def _clock_text(fact: object) -> str:
    return str(dict(fact.pairs)) if isinstance(fact, VClock) else str(fact)


def _dummy() -> Pending:
    return Pending(0, "", None, 0.0, 0.0)
