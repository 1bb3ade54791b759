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

import dataclasses
import inspect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from spec import actions as spec_actions
from spec.actions import Action, Deliver
from spec.config import Config
from spec.state import Kind, Message, State
from spec.step import find_coordination, plan_of

__all__ = ["KNOWN", "KNOWN_ACTIONS", "KNOWN_KINDS", "SpecReduction", "spec_reduction"]

Reads = Literal["no messages", "payload values to hold", "holds only with no message",
                "step, not a delivery"]

#: How each property of :mod:`model_check.properties` reads the in-flight messages
#: (see condition 2 of the module docstring). A property not named here turns the
#: reduction off.
KNOWN: dict[str, Reads] = {
    # always
    "acked_writes_durable": "payload values to hold",
    "read_your_writes": "no messages",
    "siblings_are_antichain": "no messages",
    "hint_kept_until_acked": "no messages",
    "context_collapses_siblings": "no messages",
    "monotonic_reads": "no messages",
    "no_false_concurrency": "no messages",
    "sibling_bound": "no messages",
    "no_resurrection": "no messages",
    # eventually
    "convergence": "holds only with no message",
    # sometimes, state witnesses
    "put_acknowledged": "no messages",
    "read_after_acknowledged_write": "no messages",
    "siblings_stored": "no messages",
    "siblings_collapsed": "no messages",
    "read_after_read": "no messages",
    "get_returns_siblings": "no messages",
    "write_after_read": "no messages",
    "new_actor_writes": "no messages",
    "clock_truncated": "no messages",
    "fallback_holds_hint": "no messages",
    "hint_handed_off": "no messages",
    "converged_after_a_write": "holds only with no message",
    "delete_acknowledged": "no messages",
    "read_after_delete": "no messages",
    "put_survives_delete": "no messages",
    # sometimes, step witnesses (a Timeout, a read-repair delivery, an anti-entropy
    # exchange, a disk loss, a reap: never a no-op delivery; they read the stores)
    "coordinator_times_out": "step, not a delivery",
    "read_repair_repairs": "step, not a delivery",
    "anti_entropy_repairs": "step, not a delivery",
    "disk_lost_holding_data": "step, not a delivery",
    "tombstone_reaped": "step, not a delivery",
}

#: The spec's action kinds whose independence from a no-op delivery is stated in the
#: module docstring. Any other Action subclass in :mod:`spec.actions` turns POR off.
KNOWN_ACTIONS: frozenset[str] = frozenset({
    "ClientPut", "ClientGet", "ClientDelete", "Reap", "Deliver", "Drop", "Duplicate",
    "Timeout", "ClientTimeout", "Handoff", "AntiEntropy", "Crash", "DiskLoss",
    "BufferedCrash", "Recover", "Partition", "Heal",
})

#: The actions and the message kind of membership change (:mod:`spec.membership`):
#: never enabled in a configuration without a ``[membership]`` budget (the state
#: has no membership part then), so they do not matter there; with one, the
#: reduction is off (their independence from a replica-get is not stated).
MEMBERSHIP_ACTIONS: frozenset[str] = frozenset({
    "Join", "Leave", "Gossip", "Transfer", "Handover", "Settle",
})
MEMBERSHIP_KINDS: frozenset[str] = frozenset({"range-transfer"})

#: The message kinds whose handlers this module knows (:mod:`spec.delivery`).
KNOWN_KINDS: frozenset[str] = frozenset({
    "forward", "replica-put", "replica-put-ack", "replica-get", "replica-get-reply",
    "read-repair", "hint-delivery", "hint-ack",
})

_PARTS = tuple(f.name for f in dataclasses.fields(State)
               if f.name not in ("messages", "config") and not f.name.startswith("_"))


@dataclass(frozen=True, slots=True)
class SpecReduction:
    """The spec's persistent sets of one replica-get delivery (see the module
    docstring), for one configuration. ``ample(state, steps)`` is the ordinal in
    ``steps`` (the state's successors, in order) of the one step to explore, or None."""

    config: Config

    def applies(self, state: State) -> bool:
        """No fault is left, no delete is configured, and a replica-get in flight meets
        the independence conditions (G2-G6): asked before the successors are built."""
        config = self.config
        if config.deletes_per_client or not _faults_spent(state, config):
            return False
        return any(m.kind is Kind.REPLICA_GET and _persistent_get(state, m)
                   for m in state.messages)

    def ample(self, state: State, steps: Sequence[tuple[Action, State]]) -> int | None:
        """The ordinal of a replica-get delivery persistent at ``state``, or None."""
        for ordinal, (action, successor) in enumerate(steps):
            if action.__class__ is not Deliver:
                continue
            assert isinstance(action, Deliver)
            m = action.message
            if m.kind is Kind.REPLICA_GET and _persistent_get(state, m) \
                    and _only_messages_differ(state, successor):
                return ordinal
        return None


def _faults_spent(state: State, config: Config) -> bool:
    """No drop, duplicate, crash (buffered or not), partition or disk loss is left."""
    drops, duplicates, crashes, partitions, losses = state.used
    return (drops >= config.drops and duplicates >= config.duplicates
            and crashes >= config.crashes and partitions >= config.partitions
            and losses >= config.disk_losses)


def _persistent_get(state: State, m: Message) -> bool:
    """Whether delivering the replica-get ``m`` (coordinator ``m.src``, replica ``m.dst``,
    request ``r``, key ``k``) is independent of every step any path can take before it,
    once no fault is left (conditions G3-G6 of the module docstring)."""
    r, key = m.request, m.key
    replica = state.node(m.dst)
    coordinator = state.node(m.src)
    if not replica.up or not coordinator.up:
        return False
    coord = find_coordination(coordinator, r)
    if coord is None or coord.is_put:
        return False
    others = [t for t, _ in coord.awaiting if t != m.dst]
    if len(others) == len(coord.awaiting):
        return False  # the replica is not awaited
    # G5: without this replica's answer the get can neither complete nor fail first.
    if len(coord.replies) + len(others) >= state.config.r:
        return False
    side = state.side
    in_flight: set[str] = set()
    for x in state.messages:
        if x.key == key and x.request != r:
            return False  # G4: another request (or a handoff) of the key is under way
        if x.request == r:
            in_flight.add(x.dst if x.src == m.src else x.src)
    for t in others:
        node = state.node(t)
        if not node.up or (t in side) != (m.src in side) or t not in in_flight:
            return False  # its timeout could end the get first
    # G4: no other coordination of the key, no hint of it, no client that can still ask.
    for node in state.nodes:
        for c in node.coord:
            if c.key == key and c.request != r:
                return False
        if any(h.key == key for h in node.hints):
            return False
    config = state.config
    owner = coord.client
    for name, client in zip(config.client_names, state.clients, strict=True):
        if name != owner and (client.puts_issued < config.writes_per_client
                              or client.gets_issued < config.gets_per_client):
            return False
    # G6: no anti-entropy exchange of the key is enabled (and none can be: its copies
    # change only by the deliveries and handoffs excluded above).
    if config.anti_entropy:
        plan_top = plan_of(config).top[key]
        k = config.keys.index(key)
        stores = {state.node(n).store[k] for n in plan_top}
        if len(stores) > 1:
            return False
    return True


def _only_messages_differ(state: State, successor: State) -> bool:
    """G1: the step changed nothing but the in-flight messages (and the reply it added
    carries only values the replica stores: checked by its kind, a copy of its store)."""
    return all(getattr(state, name) == getattr(successor, name) for name in _PARTS)


def unknown_actions(config: Config | None = None) -> list[str]:
    """Action kinds of :mod:`spec.actions`, and message kinds, this module does not
    know; for a ``config`` without a membership budget, the membership ones (never
    enabled there) are not counted."""
    actions, kinds = KNOWN_ACTIONS, KNOWN_KINDS
    if config is not None and not config.membership:
        actions, kinds = actions | MEMBERSHIP_ACTIONS, kinds | MEMBERSHIP_KINDS
    found = [
        name for name, value in inspect.getmembers(spec_actions, inspect.isclass)
        if issubclass(value, Action) and value is not Action and name not in actions
    ]
    found += [f"message kind {k.value}" for k in Kind if k.value not in kinds]
    return sorted(found)


def spec_reduction(config: Config,
                   properties: Iterable[object]) -> tuple[SpecReduction | None, str]:
    """The reduction for ``config`` and the checked ``properties`` (Property values of
    :mod:`model_check.properties`), or None with the reason it is off: a property
    that is not the module's own (by identity) or not in :data:`KNOWN`, or an action
    or message kind of the spec not in :data:`KNOWN_ACTIONS`/:data:`KNOWN_KINDS`."""
    from model_check.properties import PROPERTIES

    unknown = unknown_actions(config)
    if unknown:
        return None, ("unknown action kinds " + ", ".join(unknown)
                      + ": independence not stated in model_check/por.py")
    for prop in properties:
        name = getattr(prop, "name", None)
        if not isinstance(name, str) or name not in KNOWN or PROPERTIES.get(name) is not prop:
            return None, (f"property {name!r} is not in model_check/por.py's table of what "
                          "each property reads")
    return SpecReduction(config), ""
