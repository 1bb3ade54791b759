"""Partial-order reduction for the spec: persistent (stubborn) sets of one step.

Theory of operation
-------------------
``vdynamo check --por`` (``check(..., por=True)``) explores, from some states,
only one of their enabled steps instead of all of them: a *persistent set* of
size one (Godefroid's persistent sets, Valmari's stubborn sets, Peled's ample
sets). The explorer asks :meth:`SpecReduction.ample` for each state it expands
(that :meth:`SpecReduction.applies` to); the answer is the ordinal of the one step
to take, or None (take them all). Three conditions keep every verdict of the
checked properties:

1. **Visibility.** Taking ``a`` first must not hide what a property sees. For a
   reachability question "is a state satisfying q reachable?" (a violated
   always-property: q = not holds; a sometimes-property; the eventually target)
   the reduction keeps the answer when ``a`` preserves q: q(t) implies q(a(t))
   for every state t where ``a`` is enabled. The one kind of step ever chosen is
   the **delivery of a replica-get** (G1): at the state it changes nothing but
   the in-flight messages (checked on its successor, every other part of the
   state compared), and the reply it adds carries a copy of the replica's own
   store, so the set of values held anywhere is unchanged. :data:`KNOWN` says,
   per property, how it reads the in-flight messages: not at all, through the
   values their payloads carry, or only to say that none is in flight
   (``convergence``, ``converged_after_a_write``: false on both sides of the
   step); all are unchanged by the step. Step witnesses in the table never match
   a replica-get delivery and read only what it does not change. A property not
   in the table (one of your own, or one added after this module) turns the
   reduction off for the run, saying so.

2. **Persistence (independence).** ``a`` (coordinator ``c``, replica ``n``,
   request ``r`` of key ``k``) must be independent of every step any path from
   the state can take before ``a``: such a step neither disables ``a`` nor
   changes its effect, and they commute. It reads ``n``'s copy of ``k``, whether
   ``c`` still awaits ``n`` for ``r``, and whether ``n`` is up. Derived from the
   actions, conservatively, the conditions are:

   * G2: no fault is left in the budgets (a drop or duplicate of the message, a
     crash of ``c`` or ``n``, a partition between them, a disk loss anywhere
     that enables anti-entropy, would not commute), and no delete is
     configured (reaps);
   * G3: ``n``, ``c`` and every other node ``c`` awaits are up and reachable;
   * G4: nothing else can write ``n``'s copy of ``k`` before ``a``: every
     in-flight message of the key is of ``r``, no other coordination or hint of
     the key exists, and no other client can still send a request;
   * G5: the get cannot end before ``a``: without ``n``'s answer it cannot reach
     R replies, and every other target it awaits has a message of its exchange
     in flight (so no timeout on it is enabled, and none can fail the get);
   * G6: no anti-entropy exchange of the key is enabled (all of its top-N copies
     are equal), and none can become enabled, since nothing above changes them;
   * an action kind this module does not know, or a message kind it does not
     know, is dependent on everything: :func:`spec_reduction` refuses to reduce
     at all while the spec defines one (the run says so), until its independence
     is stated here. The membership actions (Join, Leave, Gossip, Transfer,
     Handover, Settle; the ``range-transfer`` message) are such kinds in a
     configuration with a ``[membership]`` budget; without one they are never
     enabled and :func:`unknown_actions` leaves them out.

3. **Cycle proviso (ignoring).** A step must not be postponed forever around a
   cycle of reduced states, or convergence could be judged on a graph that
   ignores it. The explorer uses the breadth-first proviso: the reduced step is
   taken only when its successor was not yet seen; otherwise the state is fully
   expanded. Then every reduced edge goes one level deeper, so every cycle has a
   fully expanded state.

With those, a violation, a witness and a state from which the target is out of
reach (``convergence``: a fault-free step cannot make a stuck state unstuck,
and the chosen step is fault-free) are reachable in the reduced graph if and
only if they are in the full one. What is *not* kept: the lengths of the
counterexamples and witnesses (a reduced run may take a postponed delivery
first: a valid run, maybe longer than the shortest) and the numbers of states
and transitions (that is the point). ``tests/model_check/test_por.py`` checks
the suite's verdicts with the reduction on and off and replays every trace
found with it on the spec.

What it buys on this spec: almost nothing (docs/model-checking.md, "Partial-order
reduction", has the factors: 1.000-1.001x on the suite). The spec already leaves
out the interleavings that cannot matter (an answer nobody awaits is never sent;
a coordinator that ends a request purges its exchange), the steps that remain
write what the properties read (stores, clients, the put table, hints) or race
(with R=2 of N=3 the first reply decides the get), and the fault budgets keep
most states from being quiet enough to prove a step independent.

Sources: P. Godefroid, *Partial-Order Methods for the Verification of
Concurrent Systems* (LNCS 1032, 1996), ch. 4 (persistent sets) and 6 (the
ignoring problem); D. Peled, "All from one, one for all" (CAV 1993, ample sets,
conditions C0-C3); D. Bošnački and G. Holzmann, "Improving SPIN's partial-order
reduction for breadth-first search" (SPIN 2005: the BFS proviso).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

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
)
from spec.clocks import dominates, values
from spec.config import Config
from spec.state import ClientState, Coordination, Kind, Message, NodeState, State
from spec.step import Plan, plan_of

__all__ = [
    "KNOWN",
    "KNOWN_ACTIONS",
    "KNOWN_KINDS",
    "MUTANTS",
    "SpecReduction",
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
    "tombstone_reaped": "a step's own footprint",
}

#: The spec's action kinds whose footprints this module states (the owners in
#: :func:`_owner`). Any other Action subclass in :mod:`spec.actions` turns POR off.
KNOWN_ACTIONS: frozenset[str] = frozenset({
    "ClientPut", "ClientGet", "ClientDelete", "Reap", "Deliver", "Drop", "Duplicate",
    "Timeout", "ClientTimeout", "Handoff", "AntiEntropy", "Crash", "DiskLoss",
    "BufferedCrash", "Recover", "Partition", "Heal",
})

#: The actions and the message kind of membership change (:mod:`spec.membership`):
#: never enabled in a configuration without a ``[membership]`` budget (the state
#: has no membership part then), so they do not matter there; with one, the
#: reduction is off (their footprints are not stated).
MEMBERSHIP_ACTIONS: frozenset[str] = frozenset({
    "Join", "Leave", "Gossip", "Transfer", "Handover", "Settle",
})
MEMBERSHIP_KINDS: frozenset[str] = frozenset({"range-transfer"})

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
    "client-forgets": "a client's later requests are independent of its current one "
                      "(a request's activity does not write its client)",
}

_REQUEST_KINDS = frozenset({Kind.FORWARD, Kind.REPLICA_PUT, Kind.REPLICA_PUT_ACK,
                            Kind.REPLICA_GET, Kind.REPLICA_GET_REPLY})
#: Messages a key step may add: no payload, or (a reply) a copy of a store.
_KEY_ADDS = frozenset({Kind.REPLICA_PUT_ACK, Kind.REPLICA_GET, Kind.REPLICA_GET_REPLY})

# An activity's cone: resource -> True when it may write it (False: only reads).
Cone = dict[tuple[object, ...], bool]
ActivityId = tuple[object, ...]


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
        """A key step is a delivery: only a state with a message in flight may be
        reduced (asked before the successors are built)."""
        return bool(state.messages)

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
    if cls is ClientPut or cls is ClientGet or cls is ClientDelete:
        assert isinstance(action, ClientPut | ClientGet | ClientDelete)
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
                    cone[("hints", m.dst)] = True
                else:
                    cone[("store", m.dst, key)] = store
            elif m.request == request and m.kind is Kind.REPLICA_GET:
                cone.setdefault(("store", m.dst, key), False)
        fallbacks = plan.pref[key][n:] if sloppy else ()
        for fallback in fallbacks:
            cone.setdefault(("up", fallback), False)
            if coord.is_put:
                cone[("hints", fallback)] = True
            else:
                cone.setdefault(("store", fallback, key), False)
        if not coord.is_put and config.read_repair:
            repaired = {coordinator, *(t for t, _ in coord.awaiting),
                        *(t for t, _ in coord.replies), *fallbacks}
            for node in repaired:
                cone[("store", node, key)] = store
                cone.setdefault(("up", node), False)
        elif not coord.is_put:
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
    coordinating = {c.request: (name, c) for name, nd in zip(plan.nodes, state.nodes,
                                                            strict=True) for c in nd.coord}
    for request, key in live.items():
        cone: Cone = {("coord", request): True, ("msgs", request): True}
        owner = client_of_request.get(request) or _client_of(plan, request)
        if mutant != "client-forgets":
            cone[("client", owner)] = True
        started = coordinating.get(request)
        if started is None:
            if key is not None:  # a forward in flight: it may start the request
                request_cone(cone, key, True)
        else:
            started_cone(cone, *started)
        cones[("req", request)] = cone
    # messages of no live request: their delivery writes at most their receiver's copy
    for m in state.messages:
        owner_id = _message_owner(m, live)
        if owner_id[0] == "orphan":
            cone = {("side",): False, ("up", m.dst): False}
            if m.kind is Kind.REPLICA_PUT and m.intended:
                cone[("hints", m.dst)] = True
            elif m.kind is Kind.REPLICA_PUT or m.kind is Kind.READ_REPAIR:
                cone[("store", m.dst, m.key)] = mutant != "stores-independent"
            cones[owner_id] = cone
        elif owner_id[0] == "hint":
            _, holder, meant, hinted = owner_id
            assert isinstance(holder, str) and isinstance(meant, str)
            assert isinstance(hinted, str)
            cones[owner_id] = _hint_cone(holder, meant, hinted, mutant)
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
    _, _, crashes, partitions, losses = state.used
    can_crash = crashes < config.crashes
    can_lose = losses < config.disk_losses or (config.storage == "buffered" and can_crash)
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
            or successor.membership != state.membership:
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
    enabled there) are not counted."""
    known, kinds = KNOWN_ACTIONS, KNOWN_KINDS
    if config is not None and not config.membership:
        known, kinds = known | MEMBERSHIP_ACTIONS, kinds | MEMBERSHIP_KINDS
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
    read_your_writes, are not stated). ``mutant``: tests only (:data:`MUTANTS`)."""
    from model_check.properties import PROPERTIES

    unknown = unknown_actions(config)
    if unknown:
        return None, ("unknown action kinds " + ", ".join(unknown)
                      + ": independence not stated in model_check/por.py")
    if config.deletes_per_client:
        return None, ("deletes: the reaps' footprints and the deleted-set's visibility "
                      "are not stated in model_check/por.py")
    for prop in properties:
        name = getattr(prop, "name", None)
        if not isinstance(name, str) or name not in KNOWN or PROPERTIES.get(name) is not prop:
            return None, (f"property {name!r} is not in model_check/por.py's table of what "
                          "each property reads")
    if mutant and mutant not in MUTANTS:
        raise ValueError(f"unknown mutant {mutant!r} (known: {', '.join(MUTANTS)})")
    return SpecReduction(config, mutant), ""
