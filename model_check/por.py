"""Partial-order reduction for the spec: stubborn (persistent) sets over activities.

Theory of operation
-------------------
``vdynamo check --por`` (``check(..., por=True)``) explores, from a state it can
reduce, only a *stubborn set* T of its enabled steps instead of all of them
(Valmari's stubborn sets; Godefroid's persistent sets; Peled's ample sets). The
explorer asks :meth:`SpecReduction.ample` for each state it expands; the answer is
the ordinals of T's steps, its *key step* first, or None (take them all). T must
satisfy, for every path ``s -b1..bn->`` of steps outside T (Valmari's D1, D2):

* D1 (commutation): if ``s -b1..bn a->`` for a step ``a`` of T, then
  ``s -a b1..bn->`` ends in the same state. A step outside T may *disable* one in
  T (then the first path does not exist), so mutual disabling is no dependence:
  two drops spending the last unit of one budget, two steps consuming one message.
* D2 (the key step stays): the key step is enabled after ``b1..bn``.
* V (visibility): the key step keeps every checked predicate's answer: an
  always-property violated before it stays violated, a sometimes-witness stays
  one, and a state from which no fault-free path converges stays one (the key
  step is fault-free). Only the key step needs this: a path to a bad state that
  takes a step of T can take it first (D1); one that takes none ends, after the
  key step first, in the key step's image of the bad state, bad too (V).
* C (cycle proviso, the explorer's): the key step's successor was not seen yet
  (breadth-first: it is one level deeper); otherwise the state is fully expanded.
  So a step cannot be postponed forever (Bošnački and Holzmann's BFS proviso).

With them, a violation, a witness and a non-converging state are reachable in
the reduced graph if and only if they are in the full one; and every reduced
state that can converge by fault-free steps can in the reduced graph (a
fault-free path to a state with no message in flight must deliver or drop the
key step's message: it takes a step of T first, so by induction on its length).
What is *not* kept: counterexample and witness lengths (a reduced run may take
a postponed step later: a valid run, maybe longer than the shortest) and the
numbers of states and transitions.

**Activities and cones (dependence, D1/D2).** Every enabled step belongs to one
*activity* (:func:`_owner`); every activity has a *cone*: each resource (a part
of the state) that it, or any step it can cause without another activity's step,
may read or write (:func:`_activities`):

=================  ============================================  ================
activity           its steps                                     cone (W: writes)
=================  ============================================  ================
request ``r``      deliveries, drops, duplicates of ``r``'s      W coord(r), W msgs(r),
(in progress: a    messages; timeouts of ``r``; its client's     W client(c); not yet
coordination, a    timeout                                       started, or forwarded
forward, or its                                                  (a get may restart):
client waiting)                                                  every copy
                                                                 of the key it may
                                                                 touch (W), W putcount
                                                                 (lww), epochs; started:
                                                                 W the copies its replica
                                                                 puts write, the copies
                                                                 its gets read (and with
                                                                 hinted_reads the hints
                                                                 of their receivers),
                                                                 W every
                                                                 copy read repair may
                                                                 write, W the fallbacks'
                                                                 hints and handoffs
                                                                 (sloppy); up(n) of
                                                                 every node it involves,
                                                                 side
orphan message     a message of no request in progress (its      W its receiver's copy
                   coordination ended) or a read repair          (or its hint and the
                                                                 handoff), up(dst), side
hint (f, i, k)     handoff, hint-delivery, hint-ack              W hints(f), W copy (i, k),
                                                                 W handoff(f, i, k),
                                                                 up(f), up(i), side
client ``c``       its requests (it has budget left)             W client(c), W every copy
                                                                 of every key, W hints of
                                                                 fallbacks, up(all), side
anti-entropy k     its exchanges (latent: enabled by any         W the top N's copies of k,
                   difference of the copies)                     up, side
node ``n``         crash, buffered crash, disk loss, recover     W up(n); a disk loss
                   (budget left, or ``n`` down)                  left: W copies, hints,
                                                                 epochs of ``n``
network            partition, heal                               W side
=================  ============================================  ================

Activities whose cones share a resource one of them writes are merged
(:func:`_groups`, union-find); T is the enabled steps of one group. A step
outside T, and every step it causes, lies in another group's cone, which shares
no written resource with T's: they commute (D1), and no message of T is removed
or cut off by them (D2: a message's drop and delivery are one activity's; a
purge is its request's; a partition writes ``side``, which every delivery reads).
Budgets are not resources: they only disable. The ghost sets ``hints_acked`` and
``hints_deleted`` only grow by union (commutative) and the put table's entry of
a put is written once, at its start, before anything holds the value.

**Key steps (V).** A key step is a delivery that changes no hint, put, budget,
partition or epoch, only appends to its clients' acknowledged puts and completed
gets (and sets the outstanding request and last get), adds only payload-free
messages and replies (a copy of the replier's store, merged with its hints of the
key with ``hinted_reads``), and changes at most its
receiver's copy of the key, with no new value, no fewer versions, and a copy
that was not an antichain staying one (:func:`_store_step_keeps`). Every
property of :data:`KNOWN` keeps its answer under such a step: the ghost ones are
monotone in appended gets and acks, the store ones are checked on the one copy
the step writes (which no step outside T can change, so the check made here is
the check wherever the step is postponed to), ``acked_writes_durable`` only sees
values leave, ``convergence`` and ``converged_after_a_write`` are false while
the key step's message is in flight, and step witnesses read their own step's
resources. A property not in :data:`KNOWN`, an action or message kind not in
:data:`KNOWN_ACTIONS`/:data:`KNOWN_KINDS`, membership change or deletes turn
the reduction off for the run, saying why.

What it buys (docs/model-checking.md, "Partial-order reduction: --por", has the
factors per entry): little on this spec, and the cause is dependence, not the
construction. Anti-entropy of a key is an atomic exchange of two copies, enabled
whenever copies differ: it reads and writes every replica's copy, so every step
that reads or writes a copy of the key (every replica put, replica get, read
repair, hint delivery, client request) is in one stubborn set with it; what is
left outside are acknowledgements and replies of requests whose client has no
request left. A crash or disk loss budget writes ``up(n)``, which every step
involving ``n`` reads; a client with a request left may touch every copy. So on
one-key configurations with anti-entropy T is nearly every enabled step; the
entries without anti-entropy reduce by 1.05-1.16x.

Sources: A. Valmari, "Stubborn sets for reduced state space generation" (1991)
and "The state explosion problem" (LNCS 1491, 1998); P. Godefroid,
*Partial-Order Methods for the Verification of Concurrent Systems* (LNCS 1032,
1996), ch. 4 and 6; D. Peled, "All from one, one for all" (CAV 1993, ample sets
C0-C3); D. Bošnački and G. Holzmann, "Improving SPIN's partial-order reduction
for breadth-first search" (SPIN 2005).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from model_check.errors import CheckError
from model_check.rebuild_witnesses import rebuilds
from spec import actions as spec_actions
from spec.actions import (
    Action,
    AntiEntropy,
    BufferedCrash,
    ClientDelete,
    ClientGet,
    ClientPut,
    ClientTimeout,
    Crash,
    Deliver,
    DiskLoss,
    Drop,
    Duplicate,
    Handoff,
    Heal,
    Partition,
    Recover,
    Timeout,
    Unheard,
)
from spec.clocks import dominates, values
from spec.config import Config
from spec.state import ClientState, Coordination, Kind, Message, NodeState, State
from spec.step import Plan, plan_of

__all__ = [
    "FORWARD_ACTIONS",
    "KNOWN",
    "KNOWN_ACTIONS",
    "KNOWN_KINDS",
    "MUTANTS",
    "SpecReduction",
    "reducible",
    "spec_reduction",
    "unknown_actions",
]

Reads = Literal["ghost, monotone", "stores", "values held", "no message in flight",
                "a step's own footprint"]

#: What each property of :mod:`model_check.properties` reads, for the visibility
#: argument (condition V of the module docstring): a key step changes none of the
#: stores, hints, put table, budgets or partition, only appends to the clients'
#: acknowledged puts and completed gets, and removes messages or adds payload-free
#: ones and replies that copy a store; every predicate below keeps its answer (for
#: an always-property: stays violated; a sometimes-property: stays found) under such
#: a step. A property not named here turns the reduction off.
KNOWN: dict[str, Reads] = {
    # always: a violation stays one (monotone in the gets and acks; stores untouched)
    "acked_writes_durable": "values held",
    "read_your_writes": "ghost, monotone",
    "siblings_are_antichain": "stores",
    "hint_kept_until_acked": "ghost, monotone",
    "context_collapses_siblings": "ghost, monotone",
    "monotonic_reads": "ghost, monotone",
    "no_false_concurrency": "ghost, monotone",
    "sibling_bound": "stores",
    "no_resurrection": "ghost, monotone",
    # eventually
    "convergence": "no message in flight",
    # sometimes, state witnesses: found stays found
    "put_acknowledged": "ghost, monotone",
    "read_after_acknowledged_write": "ghost, monotone",
    "siblings_stored": "stores",
    "siblings_collapsed": "ghost, monotone",
    "read_after_read": "ghost, monotone",
    "get_returns_siblings": "ghost, monotone",
    "write_after_read": "ghost, monotone",
    "new_actor_writes": "ghost, monotone",
    "write_after_own_write": "ghost, monotone",  # session 60: the put table alone
    "fresh_pair_minted": "ghost, monotone",  # session 60: the put table alone
    "clock_truncated": "ghost, monotone",
    "fallback_holds_hint": "stores",
    "hint_handed_off": "ghost, monotone",
    "converged_after_a_write": "no message in flight",
    "delete_acknowledged": "ghost, monotone",
    "read_after_delete": "ghost, monotone",
    "put_survives_delete": "ghost, monotone",
    # sometimes, step witnesses: read only what their own step reads and writes
    "coordinator_times_out": "a step's own footprint",
    "read_repair_repairs": "a step's own footprint",
    "anti_entropy_repairs": "a step's own footprint",
    "disk_lost_holding_data": "a step's own footprint",
    "restored_behind": "a step's own footprint",  # never found without a restore budget
    "tombstone_reaped": "a step's own footprint",
    "outside_copy_dropped": "a step's own footprint",
    "reaped_during_get": "a step's own footprint",  # a reap reads the coordinations
    "retired_entry_pruned": "a step's own footprint",  # never found without prune_retired
    # membership change (with a [membership] budget the reduction is off; without one
    # these are never found: no key step changes the membership part)
    "range_transferred": "a step's own footprint",
    "change_completed": "ghost, monotone",
    "joined_node_coordinates": "a step's own footprint",
    "anti_entropy_with_new_owner": "a step's own footprint",  # never found without membership
    "removed_holding_data": "a step's own footprint",  # a ForceRemove: membership only
    "late_write_forwarded": "a step's own footprint",  # a range transfer: membership only
    # a failing disk (session 51: with a write_failures budget the reduction is off;
    # without one never found)
    "acked_after_refused_write": "a step's own footprint",
    # the forwarder's (session 54's review: with workload.coordinator = "any" the
    # reduction is off, FORWARD_ACTIONS; without it never found)
    "forward_retried": "a step's own footprint",
    "forwarder_coordinates": "a step's own footprint",
    "outsider_hands_off": "a step's own footprint",
    "outsider_lets_go": "a step's own footprint",
    # session 56 (model_check.rebuild_witnesses): the rebuild's never found without
    # features.rebuild (with it the reduction is off, REBUILD_ACTIONS); the refusing
    # target's with a write_failures budget only (the reduction off)
    "rebuilding_put_unacked": "a step's own footprint",
    "rebuilding_own_write_uncounted": "a step's own footprint",
    "rebuilding_read_fails": "a step's own footprint",
    "refused_target_acks_again": "a step's own footprint",
}

#: The spec's action kinds whose footprints this module states (the owners in
#: :func:`_owner`). Any other Action subclass in :mod:`spec.actions` turns POR off.
KNOWN_ACTIONS: frozenset[str] = frozenset({
    "ClientPut", "ClientGet", "ClientDelete", "Reap", "Deliver", "Drop", "Duplicate",
    "Timeout", "ClientTimeout", "Handoff", "AntiEntropy", "Crash", "DiskLoss",
    "BufferedCrash", "Recover", "Partition", "Heal",
    "Unheard",  # session 61: the client's own activity (its last get alone)
})

#: The rebuild's end (``features.rebuild``, session 55: :mod:`spec.rebuild`): never
#: enabled without the feature, a disk-loss budget, anti-entropy and a fixed ring
#: (:func:`model_check.rebuild_witnesses.rebuilds`; session 60: the feature is on by
#: default, so without a disk to lose the reduction stays on); with them, the
#: reduction is off (not stated).
REBUILD_ACTIONS: frozenset[str] = frozenset({"Rebuilt"})

#: The actions and the message kind of membership change (:mod:`spec.membership`):
#: never enabled in a configuration without a ``[membership]`` budget (the state
#: has no membership part then), so they do not matter there; with one, the
#: reduction is off (their footprints are not stated).
MEMBERSHIP_ACTIONS: frozenset[str] = frozenset({
    "Join", "Leave", "ForceRemove", "Gossip", "Transfer", "Handover", "Settle",
})
MEMBERSHIP_KINDS: frozenset[str] = frozenset({"range-transfer"})

#: The actions of backup and restore (``faults.restores``): never enabled in a
#: configuration without a restore budget (its states have no backups), so they
#: do not matter there; with one, the reduction is off (a restore's footprint,
#: a node's whole disk rolled back and its actor, is not stated).
RESTORE_ACTIONS: frozenset[str] = frozenset({"Backup", "Restore"})

#: The action of learning a retirement (``prune_knowledge = "learnt"``, session 34:
#: :mod:`spec.learning`): never enabled in another configuration, so it does not
#: matter there; with it pruning is on, and the reduction is off anyway.
RETIREMENT_ACTIONS: frozenset[str] = frozenset({"LearnRetirement"})

#: The actions and the message kind of a failing disk (``faults.write_failures``,
#: session 51): never enabled in a configuration without that budget (no write is
#: refused, so no ``replica-put-failed`` is sent); with one, the reduction is off (a
#: refused write's footprint, and its budget, are not stated).
WRITE_FAILURE_ACTIONS: frozenset[str] = frozenset({"FailedWrite", "FailedPut"})
WRITE_FAILURE_KINDS: frozenset[str] = frozenset({"replica-put-failed"})

#: The forwarder's retries (session 54, :func:`spec.requests.forward_retries`) and its
#: copy's hand-off (:func:`spec.handoff.outsider_copies`): never
#: enabled unless ``workload.coordinator = "any"``; with it, the reduction is off (a
#: retry's footprint, the forwarder's reachability of the whole top N, is not stated).
FORWARD_ACTIONS: frozenset[str] = frozenset({"ForwardAgain", "ForwardFallback",
                                             "OutsiderHandoff", "OutsiderLetGo"})

#: The message kinds whose handlers this module knows (:mod:`spec.delivery`).
KNOWN_KINDS: frozenset[str] = frozenset({
    "forward", "replica-put", "replica-put-ack", "replica-get", "replica-get-reply",
    "read-repair", "hint-delivery", "hint-ack",
})

#: Seeded broken variants of the dependence relation, for the soundness fence
#: (tests/model_check/test_por.py): each drops one dependence the module states.
MUTANTS: dict[str, str] = {
    "crash-independent": "a crash, recovery or disk loss of node X is independent of "
                         "every step touching X (Node(X) writes nothing)",
    "stores-independent": "steps writing the same replica's copy of a key commute "
                          "(a store is read-only to every activity)",
}

_REQUEST_KINDS = frozenset({Kind.FORWARD, Kind.REPLICA_PUT, Kind.REPLICA_PUT_ACK,
                            Kind.REPLICA_GET, Kind.REPLICA_GET_REPLY})
#: Messages a key step may add: no payload, or (a reply) a copy of a store.
_KEY_ADDS = frozenset({Kind.REPLICA_PUT_ACK, Kind.REPLICA_GET, Kind.REPLICA_GET_REPLY})

# An activity's cone: resource -> True when it may write it (False: only reads).
Cone = dict[tuple[object, ...], bool]
ActivityId = tuple[object, ...]


def reducible(messages: Sequence[Message]) -> bool:
    """Whether a state whose in-flight messages are ``messages`` (the state's
    ``messages`` tuple, its only input) may be reduced at all: a key step is a
    delivery, so only a state with a message in flight has one. The one rule of
    :meth:`SpecReduction.applies` and of the packed states'
    :class:`~model_check.kernel.PackedReduction` (which reads the same tuple through
    the messages id, without decoding the state; session 57). A mutant of it is seen
    by tests/model_check/test_por.py::test_the_reducible_rule_is_shared."""
    return bool(messages)


@dataclass(frozen=True, slots=True)
class SpecReduction:
    """Stubborn sets over the spec's activities (see the module docstring), for one
    configuration. ``ample(state, steps)`` gives the ordinals in ``steps`` (the
    state's successors, in order) of a persistent set, its key step first, or None
    to explore them all. ``mutant`` (one of :data:`MUTANTS`, tests only) breaks the
    dependence relation on purpose."""

    config: Config
    mutant: str = ""

    def applies(self, state: State) -> bool:
        """:func:`reducible` of the state's messages in flight (asked before the
        successors are built)."""
        return reducible(state.messages)

    def ample(self, state: State, steps: Sequence[tuple[Action, State]]) -> list[int] | None:
        """The ordinals of the smallest stubborn set found (key step first), or None."""
        live = _live(state)
        owners: list[ActivityId] = []
        for action, _ in steps:
            owner = _owner(state, action, live)
            if owner is None:
                return None  # an action whose footprint is not stated: explore all
            owners.append(owner)
        cones = _activities(state, plan_of(self.config), self.mutant, live)
        for owner in owners:
            if owner not in cones:
                return None  # defensive: an enabled step no activity accounts for
        groups = _groups(cones)
        members: dict[ActivityId, list[int]] = {}
        for ordinal, owner in enumerate(owners):
            members.setdefault(groups[owner], []).append(ordinal)
        best: list[int] | None = None
        for ordinals in members.values():
            if len(ordinals) >= len(steps) or (best is not None and len(ordinals) >= len(best)):
                continue
            key = next((o for o in ordinals if _is_key(state, *steps[o])), None)
            if key is not None:
                best = [key, *(o for o in ordinals if o != key)]
        return best


def _owner(state: State, action: Action, live: dict[int, str | None]) -> ActivityId | None:
    """The activity an enabled action belongs to (None: an unknown kind)."""
    cls = action.__class__
    if cls is Deliver or cls is Drop or cls is Duplicate:
        assert isinstance(action, Deliver | Drop | Duplicate)
        return _message_owner(action.message, live)
    if cls is ClientPut or cls is ClientGet or cls is ClientDelete or cls is Unheard:
        # (session 61) Unheard: an idle client with a write left (the client's cone,
        # :func:`_has_budget`) changes its own last get, which its next request reads
        assert isinstance(action, ClientPut | ClientGet | ClientDelete | Unheard)
        return ("client", action.client)
    if cls is Timeout:
        assert isinstance(action, Timeout)
        return ("req", action.request)
    if cls is ClientTimeout:
        assert isinstance(action, ClientTimeout)
        return ("req", state.client(action.client).outstanding)
    if cls is Handoff:
        assert isinstance(action, Handoff)
        return ("hint", action.node, action.intended, action.key)
    if cls is AntiEntropy:
        assert isinstance(action, AntiEntropy)
        return ("ae", action.key)
    if cls is Crash or cls is Recover or cls is DiskLoss or cls is BufferedCrash:
        assert isinstance(action, Crash | Recover | DiskLoss | BufferedCrash)
        return ("node", action.node)
    if cls is Partition or cls is Heal:
        return ("net",)
    return None


def _message_owner(m: Message, live: dict[int, str | None]) -> ActivityId:
    if m.kind in _REQUEST_KINDS:
        return ("req", m.request) if m.request in live else ("orphan", m)
    if m.kind is Kind.READ_REPAIR:
        return ("orphan", m)
    if m.kind is Kind.HINT_DELIVERY:
        return ("hint", m.src, m.intended, m.key)
    if m.kind is Kind.HINT_ACK:
        return ("hint", m.dst, m.intended, m.key)
    return ("unknown", m)


def _live(state: State) -> dict[int, str | None]:
    """The requests still in progress, with their key (None: unknown): coordinated
    by an (up) node, forwarded, or outstanding at their client."""
    live: dict[int, str | None] = {}
    for node in state.nodes:
        for c in node.coord:
            live[c.request] = c.key
    for m in state.messages:
        if m.kind is Kind.FORWARD:
            live[m.request] = m.key
    for client in state.clients:
        if client.outstanding and client.outstanding not in live:
            live[client.outstanding] = None
    return live


def _activities(state: State, plan: Plan, mutant: str,
                live: dict[int, str | None]) -> dict[ActivityId, Cone]:
    """Every activity of ``state`` with its cone: the resources it, and every step it
    may cause without another activity's step, may read or write."""
    config = plan.config
    sloppy = config.sloppy_quorum
    n = config.n
    lww = config.clock == "lww"
    # a replica-get's answer reads its receiver's hints too (spec.replica.served)
    hinted_reads = config.hinted_reads
    cones: dict[ActivityId, Cone] = {}

    def nodes_of(key: str) -> tuple[str, ...]:
        return plan.pref[key] if sloppy else plan.top[key]

    def request_cone(cone: Cone, key: str, starts: bool) -> None:
        """What a request of ``key`` may touch: the copies of the key it reads or
        writes (coordinator, replicas, fallbacks), the fallbacks' hints, whether
        those nodes are up, the partition; starting: the put count (lww wall
        clock) and the actors (epochs) of the top N."""
        for node in nodes_of(key):
            cone[("store", node, key)] = mutant != "stores-independent"
            cone.setdefault(("up", node), False)
        if sloppy:
            for fallback in plan.pref[key][n:]:
                cone[("hints", fallback)] = True
        cone.setdefault(("side",), False)
        if starts:
            if lww:
                cone[("putcount",)] = True
            for node in plan.top[key]:
                cone.setdefault(("epochs", node), False)

    def hinted(cone: Cone, fallback: str, intended: str, key: str) -> None:
        """A hint ``fallback`` will hold for ``intended``, and its handoff."""
        cone.update(_hint_cone(fallback, intended, key, mutant))

    def started_cone(cone: Cone, coordinator: str, coord: Coordination) -> None:
        """What a request being coordinated may still touch: the copies its replica
        puts in flight write (or the hints, at a fallback), the copies its replica gets
        read, and on completion the copies read repair writes (the coordinator's and
        every node it may hear from); the fallbacks a timeout may pick (sloppy), whether
        they are up, the partition."""
        key = coord.key
        request = coord.request
        store = mutant != "stores-independent"
        cone[("up", coordinator)] = False
        cone[("side",)] = False
        for target, _ in coord.awaiting:
            cone.setdefault(("up", target), False)
        for m in state.messages:
            if m.request == request:
                cone.setdefault(("up", m.dst), False)
                cone.setdefault(("up", m.src), False)
            if m.request == request and m.kind is Kind.REPLICA_PUT:
                if m.intended:
                    hinted(cone, m.dst, m.intended, key)
                else:
                    cone[("store", m.dst, key)] = store
            elif m.request == request and m.kind is Kind.REPLICA_GET:
                cone.setdefault(("store", m.dst, key), False)
                if hinted_reads:  # the answer merges the receiver's hints (session 49)
                    cone.setdefault(("hints", m.dst), False)
        fallbacks = plan.pref[key][n:] if sloppy else ()
        for fallback in fallbacks:
            cone.setdefault(("up", fallback), False)
            if coord.is_put:
                for intended in plan.top[key]:
                    hinted(cone, fallback, intended, key)
            else:
                cone.setdefault(("store", fallback, key), False)
                if hinted_reads:
                    cone.setdefault(("hints", fallback), False)
        if not coord.is_put and config.read_repair:
            repaired = {coordinator, *(t for t, _ in coord.awaiting),
                        *(t for t, _ in coord.replies), *fallbacks}
            for node in repaired:
                cone[("store", node, key)] = store
                cone.setdefault(("up", node), False)
        elif not coord.is_put:
            # its answer reads the coordinator's copy again (session 56:
            # spec.coordination._read_own_again); with hinted_reads its hints of the
            # key too, but a coordinator of a reducible configuration is in the key's
            # top N and holds none (hints go to pref[key][n:]; coordinator = "any"
            # turns the reduction off)
            cone.setdefault(("store", coordinator, key), False)

    # requests in progress
    client_of_request: dict[int, str] = {}
    for name, client in zip(plan.clients, state.clients, strict=True):
        if client.outstanding:
            client_of_request[client.outstanding] = name
    for node in state.nodes:
        for c in node.coord:
            client_of_request[c.request] = c.client
    for m in state.messages:
        if m.kind is Kind.FORWARD:
            client_of_request.setdefault(m.request, _client_of(plan, m.request))
    forwarded = {m.request: True for m in state.messages if m.kind is Kind.FORWARD}
    coordinating = {c.request: (name, c) for name, nd in zip(plan.nodes, state.nodes,
                                                            strict=True) for c in nd.coord}
    for request, key in live.items():
        cone: Cone = {("coord", request): True, ("msgs", request): True}
        owner = client_of_request.get(request) or _client_of(plan, request)
        cone[("client", owner)] = True
        started = coordinating.get(request)
        if started is not None:
            started_cone(cone, *started)
        if key is not None and (started is None or forwarded.get(request)):
            # a forward in flight may start the request (again, for a get whose
            # coordinator crashed and recovered while its client waits)
            request_cone(cone, key, True)
        cones[("req", request)] = cone
    # messages of no live request: their delivery writes at most their receiver's copy
    for m in state.messages:
        owner_id = _message_owner(m, live)
        if owner_id[0] == "orphan":
            cone = {("side",): False, ("up", m.dst): False}
            if m.kind is Kind.REPLICA_PUT and m.intended:
                hinted(cone, m.dst, m.intended, m.key)
            elif m.kind is Kind.REPLICA_PUT or m.kind is Kind.READ_REPAIR:
                cone[("store", m.dst, m.key)] = mutant != "stores-independent"
            cones[owner_id] = cone
        elif owner_id[0] == "hint":
            _, holder, meant, hint_key = owner_id
            assert isinstance(holder, str) and isinstance(meant, str)
            assert isinstance(hint_key, str)
            cones[owner_id] = _hint_cone(holder, meant, hint_key, mutant)
    # hints held, and their handoffs
    for fallback, node in zip(plan.nodes, state.nodes, strict=True):
        for hint in node.hints:
            cones[("hint", fallback, hint.intended, hint.key)] = _hint_cone(
                fallback, hint.intended, hint.key, mutant)
    # clients that may still send a request (idle or not)
    for name, client in zip(plan.clients, state.clients, strict=True):
        if _has_budget(config, client):
            cone = {("client", name): True}
            for each in plan.keys:
                request_cone(cone, each, True)
            for other in plan.nodes:
                cone.setdefault(("up", other), False)
            cones[("client", name)] = cone
    # anti-entropy of each key (latent: it is enabled by any difference of its copies)
    if config.anti_entropy:
        for each in plan.keys:
            cone = {("side",): False}
            for replica in plan.top[each]:
                cone[("store", replica, each)] = mutant != "stores-independent"
                cone[("up", replica)] = False
            cones[("ae", each)] = cone
    # node faults and recoveries
    _, _, crashes, partitions, losses = state.used[:5]
    can_crash = crashes < config.crashes
    # a disk loss, a buffered crash, or (actor_per_start) any crash begins a new lifetime
    can_lose = losses < config.disk_losses or (
        (config.storage == "buffered" or config.actor_per_start) and can_crash)
    for name, node in zip(plan.nodes, state.nodes, strict=True):
        if not node.up or can_crash or can_lose:
            cone = {}
            if mutant != "crash-independent":
                cone[("up", name)] = True
                if can_lose:
                    cone[("hints", name)] = True
                    cone[("epochs", name)] = True
                    for key in plan.keys:
                        cone[("store", name, key)] = True
            cones[("node", name)] = cone
    if state.side or partitions < config.partitions:
        cones[("net",)] = {("side",): True}
    return cones


def _hint_cone(fallback: str, intended: str, key: str, mutant: str) -> Cone:
    """A hint's handoff: the fallback's hint store, the intended node's copy, whether
    both are up, the partition, and the handoff's messages."""
    return {("hints", fallback): True, ("store", intended, key): mutant != "stores-independent",
            ("up", fallback): False, ("up", intended): False, ("side",): False,
            ("handoff", fallback, intended, key): True}


def _has_budget(config: Config, client: ClientState) -> bool:
    return (client.puts_issued < config.writes_per_client
            or client.gets_issued < config.gets_per_client)


def _client_of(plan: Plan, request: int) -> str:
    config = plan.config
    if request <= plan.total_puts:
        return plan.clients[(request - 1) // config.writes_per_client]
    return plan.clients[(request - plan.total_puts - 1) // config.gets_per_client]


def _groups(cones: dict[ActivityId, Cone]) -> dict[ActivityId, ActivityId]:
    """Union-find: activities sharing a resource that one of them may write are in one
    group (they may be dependent); the root of each activity's group."""
    parent: dict[ActivityId, ActivityId] = {a: a for a in cones}

    def find(a: ActivityId) -> ActivityId:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    touching: dict[tuple[object, ...], list[ActivityId]] = {}
    written: set[tuple[object, ...]] = set()
    for activity, cone in cones.items():
        for resource, writes in cone.items():
            touching.setdefault(resource, []).append(activity)
            if writes:
                written.add(resource)
    for resource in written:
        first, *rest = touching[resource]
        root = find(first)
        for other in rest:
            other_root = find(other)
            if other_root != root:
                parent[other_root] = root
    return {a: find(a) for a in cones}


def _is_key(state: State, action: Action, successor: State) -> bool:
    """Condition V: a fault-free delivery whose step changes no store, hint, put,
    budget, partition or epoch, only appends to the clients' acknowledged puts and
    completed gets, and adds only payload-free messages and replies (a copy of the
    replier's store)."""
    if action.__class__ is not Deliver:
        return False
    if (successor.puts is not state.puts and successor.puts != state.puts) \
            or successor.side != state.side or successor.used != state.used \
            or successor.hints_acked != state.hints_acked \
            or successor.hints_deleted != state.hints_deleted \
            or successor.epochs != state.epochs or successor.key_epochs != state.key_epochs \
            or successor.membership != state.membership or successor.known != state.known:
        return False
    assert isinstance(action, Deliver)
    m = action.message
    for name, before, after in zip(state.config.all_nodes, state.nodes, successor.nodes,
                                   strict=True):
        if before is not after and not _same_durable(before, after) and (
                name != m.dst or not _store_step_keeps(state, m, before, after)):
            return False
    for before_c, after_c in zip(state.clients, successor.clients, strict=True):
        if before_c is not after_c and not _client_grows(before_c, after_c):
            return False
    if successor.messages is not state.messages:
        left = list(state.messages)
        for m in successor.messages:
            try:
                left.remove(m)
            except ValueError:
                if m.kind not in _KEY_ADDS:
                    return False
    return True


def _store_step_keeps(state: State, m: Message, before: NodeState, after: NodeState) -> bool:
    """A delivery that reconciles ``m``'s payload into its receiver's copy of ``m.key``
    keeps every store-reading predicate's answer (condition V): up and hints unchanged,
    no other key's copy changed, no value that was not in the copy or the message, no
    fewer versions (a copy with siblings keeps them: ``siblings_stored``,
    ``sibling_bound``), and a copy that was not an antichain stays one that is not
    (``siblings_are_antichain``). The copy is the same wherever the step is postponed
    to (it is the step's own resource), so checking it here is exact."""
    if before.up != after.up or before.hints != after.hints or m.payload is None:
        return False
    k = state.config.keys.index(m.key)
    if any(x != y for i, (x, y) in enumerate(zip(before.store, after.store, strict=True))
           if i != k):
        return False
    old, new = values(before.store[k]), values(after.store[k])
    if not set(new) <= set(old) | set(values(m.payload)) or len(new) < len(old):
        return False
    return _antichain(state, new) or not _antichain(state, old)


def _antichain(state: State, put_ids: tuple[int, ...]) -> bool:
    """No version of ``put_ids`` dominates another (as :mod:`model_check.properties`)."""
    records = [state.puts[v - 1] for v in put_ids]
    if any(r is None for r in records):
        return False
    return not any(dominates(a, b) for a in records for b in records  # type: ignore[arg-type]
                   if a is not b)


def _same_durable(before: NodeState, after: NodeState) -> bool:
    return before.up == after.up and before.store == after.store \
        and before.hints == after.hints


def _client_grows(before: ClientState, after: ClientState) -> bool:
    """Only the outstanding request, the last get and appended acks and gets changed."""
    return (before.puts_issued == after.puts_issued
            and before.gets_issued == after.gets_issued
            and before.counter == after.counter
            and set(before.acked) <= set(after.acked)
            and after.gets[: len(before.gets)] == before.gets)


def unknown_actions(config: Config | None = None) -> list[str]:
    """Action kinds of :mod:`spec.actions`, and message kinds, this module does not
    know; for a ``config`` without a membership budget, the membership ones (never
    enabled there) are not counted, nor, without a restore budget, backup and
    restore, nor, without a write-failure budget, the failing disk's, nor, unless
    ``workload.coordinator = "any"``, the forwarder's retries."""
    known, kinds = KNOWN_ACTIONS, KNOWN_KINDS
    if config is not None and not config.membership:
        known, kinds = known | MEMBERSHIP_ACTIONS, kinds | MEMBERSHIP_KINDS
    if config is not None and not config.restores:
        known = known | RESTORE_ACTIONS
    if config is not None and config.prune_knowledge != "learnt":
        known = known | RETIREMENT_ACTIONS
    if config is not None and not config.write_failures:
        known, kinds = known | WRITE_FAILURE_ACTIONS, kinds | WRITE_FAILURE_KINDS
    if config is not None and config.coordinator != "any":
        known = known | FORWARD_ACTIONS
    if config is not None and not rebuilds(config):  # (session 55: spec.rebuild; session
        # 60: a disk-loss budget too, the feature being on by default)
        known = known | REBUILD_ACTIONS
    found = [
        name for name, value in inspect.getmembers(spec_actions, inspect.isclass)
        if issubclass(value, Action) and value is not Action and name not in known
    ]
    found += [f"message kind {k.value}" for k in Kind if k.value not in kinds]
    return sorted(found)


def spec_reduction(config: Config, properties: Iterable[object],
                   mutant: str = "") -> tuple[SpecReduction | None, str]:
    """The reduction for ``config`` and the checked ``properties`` (Property values of
    :mod:`model_check.properties`), or None with the reason it is off: a property
    that is not the module's own (by identity) or not in :data:`KNOWN`; an action
    or message kind of the spec not in :data:`KNOWN_ACTIONS`/:data:`KNOWN_KINDS`;
    deletes (a reap's footprint, and an acknowledged delete un-violating
    read_your_writes, are not stated). ``mutant``: tests only (:data:`MUTANTS`); an
    unknown one raises :class:`~model_check.errors.CheckError`."""
    from model_check.properties import PROPERTIES

    if mutant and mutant not in MUTANTS:
        raise CheckError(f"unknown mutant {mutant!r} (known: {', '.join(MUTANTS)})")
    unknown = unknown_actions(config)
    if unknown:
        return None, ("unknown action kinds " + ", ".join(unknown)
                      + ": independence not stated in model_check/por.py")
    if config.deletes_per_client:
        return None, ("deletes: the reaps' footprints and the deleted-set's visibility "
                      "are not stated in model_check/por.py")
    if config.prune_retired >= 0:
        return None, ("prune_retired: every write of a record reads every node's storage "
                      "lifetime (spec.retired), a footprint not stated in model_check/por.py")
    for prop in properties:
        name = getattr(prop, "name", None)
        if not isinstance(name, str) or name not in KNOWN or PROPERTIES.get(name) is not prop:
            return None, (f"property {name!r} is not in model_check/por.py's table of what "
                          "each property reads")
    return SpecReduction(config, mutant), ""
