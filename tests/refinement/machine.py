"""The lockstep state machine: the implementation and the spec, step by step.

A Hypothesis ``RuleBasedStateMachine`` whose rules are client puts, deletes and gets,
deliveries, drops and duplicates of any in-flight message (Hypothesis picks
which, so reordering is explored and shrinks), crashes and recoveries,
partitions and heals, coordinator timeouts, and background work (hint scans,
gossip and anti-entropy rounds, reaps of tombstones); with issue 10's faults in
the configuration, disk losses (a wipe, or a lost disk recovered later) and
buffered crashes; with a ``[membership]`` budget, joins, leaves and the steps of
a change in progress (gossip, range transfers, the handover, the settlement).
Every rule is one step of :class:`model_check.refinement.Lockstep`, which maps it
to spec actions and raises :class:`~model_check.refinement.Divergence` when the implementation's
abstract state is not one the spec allows; an invariant checks after every step
that the abstraction of the implementation still is the spec's state.

:func:`machine_for` builds the machine class for one spec configuration;
:data:`COVERAGE` counts rule firings and steps per example (per configuration).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from functools import partial
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)

from model_check.refinement import Lockstep
from spec import dvv
from spec import model as spec_model
from spec.config import Config

#: name -> rule -> count; name -> list of steps per example
COVERAGE: dict[str, Counter[str]] = defaultdict(Counter)
STEPS: dict[str, list[int]] = defaultdict(list)


def check_progress(lockstep: Lockstep) -> int:
    """No silent doing-less: with the faults stopped, both sides driven to quiescence
    (every step checked), the implementation's convergence must be the spec's, and
    with anti-entropy on the implementation must converge wherever the spec still
    can without faults or new requests
    (:meth:`~model_check.refinement_state.LockstepState.spec_can_converge`: every
    state, except where a naive actor's re-issued dot holds two values, which no
    exchange of the spec reconciles either; docs/refinement.md, "Progress after a
    re-issued dot (session 33)"). Returns the quiescence steps taken; raises
    AssertionError, or Divergence from a step."""
    config = lockstep.config
    taken = lockstep.quiesce()
    spec_converged = spec_model.converged(lockstep.frontier[0])
    assert lockstep.converged() == spec_converged, (
        f"implementation converged: {lockstep.converged()}, spec: "
        f"{spec_converged}; steps: {lockstep.history}")
    if config.anti_entropy and not lockstep.converged():
        assert not lockstep.spec_can_converge(), (
            "the spec still converges without faults or new requests (anti-entropy "
            f"on); the implementation did not: {lockstep.abstract().readable(config)}; "
            f"steps: {lockstep.history}")
    return taken


def one_dot_two_values(ls: Lockstep, a: str, b: str, key: str) -> bool:
    """Whether replicas ``a`` and ``b`` hold one dot of ``key`` with two values (a dot a
    naive actor re-issued, Riak's kv679), by the spec state the lockstep holds (its
    frontier's first, the implementation's abstraction): a DVVSet entry ``(id,
    counter, values)`` holds the values of the dots ``(id, counter)``, ``(id, counter
    - 1)``, ... (:mod:`spec.dvv`). Exact where ``LockstepState.dot_reused`` is not (it
    asks whether ``dvv.sync`` commutes, which it may past a swap: session 46's review).
    False outside dvv."""
    state = ls.frontier[0]
    k = ls.config.keys.index(key)
    x, y = state.node(a).store[k], state.node(b).store[k]
    if not isinstance(x, dvv.DVVSet) or not isinstance(y, dvv.DVVSet):
        return False
    held = {(e.id, e.counter - j): v for e in x.entries for j, v in enumerate(e.values)}
    return any(held.get((e.id, e.counter - j), v) != v
               for e in y.entries for j, v in enumerate(e.values))


#: a lockstep machine's first steps, drawn (:func:`machine_for`'s ``prefix``)
Prefix = Callable[[Lockstep, st.DataObject], None]


def machine_for(name: str, config: Config,
                prefix: Prefix | None = None) -> type[RuleBasedStateMachine]:
    """The lockstep machine class for ``config`` (``name`` labels its coverage).
    ``prefix`` (session 47), if given, takes each example's first steps (its
    choices drawn from Hypothesis, so they shrink), the rules going on from there:
    a scenario the random rules rarely reach (``tests/refinement/
    test_reissued_dot_walks.py``); without it every example is as before. Each
    anti-entropy exchange the ``anti_entropy`` rule takes between replicas that hold
    one dot with two values (:func:`one_dot_two_values`) is counted in
    :data:`COVERAGE` as ``anti_entropy_reissued`` (not a step of its own)."""

    class LockstepMachine(RuleBasedStateMachine):
        written = Bundle("written_keys")

        def __init__(self) -> None:
            super().__init__()
            self.lockstep = Lockstep(config)
            self.fired = 0

        def _count(self, rule_name: str) -> None:
            COVERAGE[name][rule_name] += 1
            self.fired += 1

        def teardown(self) -> None:
            STEPS[name].append(self.fired)
            try:
                if not self.lockstep.failed:
                    self._progress()
            finally:
                self.lockstep.cluster.close()

        def _progress(self) -> None:
            COVERAGE[name]["quiesce"] += check_progress(self.lockstep)

        if prefix is None:
            @initialize()
            def start(self) -> None:
                COVERAGE[name]["examples"] += 1
        else:
            @initialize(data=st.data())
            def start_from_prefix(self, data: st.DataObject) -> None:
                COVERAGE[name]["examples"] += 1
                assert prefix is not None
                prefix(self.lockstep, data)

        # ---------------------------------------------------------------- clients

        def _requests_possible(self) -> bool:
            ls = self.lockstep
            return any(ls.can_put(c) or ls.can_get(c) for c in ls.idle_clients())

        @precondition(lambda self: any(self.lockstep.can_put(c)
                                       for c in self.lockstep.idle_clients()))
        @rule(target=written, data=st.data())
        def put(self, data: st.DataObject) -> Any:
            ls = self.lockstep
            client = data.draw(st.sampled_from([c for c in ls.idle_clients() if ls.can_put(c)]),
                               label="client")
            key = data.draw(st.sampled_from(config.keys), label="key")
            nodes = ls.entry_nodes(key)
            if not nodes:
                return multiple()
            node = data.draw(st.sampled_from(nodes), label="coordinator")
            self._count("put")
            ls.put(client, node, key)
            return key

        if config.deletes_per_client:  # issue 11's rules: none without deletes
            @precondition(lambda self: any(self.lockstep.can_delete(c)
                                           for c in self.lockstep.idle_clients()))
            @rule(data=st.data(), key=st.one_of(written, st.sampled_from(config.keys)))
            def delete(self, data: st.DataObject, key: str) -> None:
                ls = self.lockstep
                client = data.draw(st.sampled_from([c for c in ls.idle_clients()
                                                    if ls.can_delete(c)]), label="client")
                nodes = ls.entry_nodes(key)
                if not nodes:
                    return
                node = data.draw(st.sampled_from(nodes), label="coordinator")
                self._count("delete")
                ls.delete(client, node, key)

        @precondition(lambda self: any(self.lockstep.can_get(c)
                                       for c in self.lockstep.idle_clients()))
        @rule(data=st.data(), key=st.one_of(written, st.sampled_from(config.keys)))
        def get(self, data: st.DataObject, key: str) -> None:
            ls = self.lockstep
            client = data.draw(st.sampled_from([c for c in ls.idle_clients() if ls.can_get(c)]),
                               label="client")
            nodes = ls.entry_nodes(key)
            if not nodes:
                return
            node = data.draw(st.sampled_from(nodes), label="coordinator")
            self._count("get")
            ls.get(client, node, key)

        # ---------------------------------------------------------------- network

        @precondition(lambda self: bool(self.lockstep.deliverable()))
        @rule(data=st.data())
        def deliver(self, data: st.DataObject) -> None:
            ls = self.lockstep
            message = data.draw(st.sampled_from(ls.deliverable()), label="message")
            self._count("deliver")
            ls.deliver(message.id)

        @precondition(lambda self: bool(self.lockstep.in_flight())
                      and self.lockstep.budget_left(0))
        @rule(data=st.data())
        def drop(self, data: st.DataObject) -> None:
            ls = self.lockstep
            message = data.draw(st.sampled_from(ls.in_flight()), label="message")
            self._count("drop")
            ls.drop(message.id)

        @precondition(lambda self: bool(self.lockstep.in_flight())
                      and self.lockstep.budget_left(1))
        @rule(data=st.data())
        def duplicate(self, data: st.DataObject) -> None:
            ls = self.lockstep
            message = data.draw(st.sampled_from(ls.in_flight()), label="message")
            self._count("duplicate")
            ls.duplicate(message.id)

        # ---------------------------------------------------------------- faults

        @precondition(lambda self: self.lockstep.budget_left(2)
                      and any(self.lockstep.up(n) for n in config.nodes))
        @rule(data=st.data())
        def crash(self, data: st.DataObject) -> None:
            ls = self.lockstep
            node = data.draw(st.sampled_from([n for n in config.nodes if ls.up(n)]),
                             label="node")
            self._count("crash")
            ls.crash(node)

        @precondition(lambda self: any(not self.lockstep.up(n) for n in config.nodes))
        @rule(data=st.data())
        def recover(self, data: st.DataObject) -> None:
            ls = self.lockstep
            node = data.draw(st.sampled_from([n for n in config.nodes if not ls.up(n)]),
                             label="node")
            self._count("recover")
            ls.recover(node)

        if config.disk_losses:
            @precondition(lambda self: self.lockstep.budget_left(4)
                          and any(self.lockstep.up(n) for n in config.nodes))
            @rule(data=st.data(), restart=st.booleans())
            def disk_loss(self, data: st.DataObject, restart: bool) -> None:
                """A node's disk is replaced: ``wipe`` (crash, empty disk, restart in
                one step: DiskLoss + Recover) or ``lose_disk`` (DiskLoss; a later
                ``recover`` is its Recover)."""
                ls = self.lockstep
                node = data.draw(st.sampled_from([n for n in config.nodes if ls.up(n)]),
                                 label="node")
                self._count("wipe" if restart else "disk_loss")
                (ls.wipe if restart else ls.disk_loss)(node)

        if config.restores:
            @precondition(lambda self: any(self.lockstep.backup_enabled(n)
                                           for n in config.nodes))
            @rule(data=st.data())
            def backup(self, data: st.DataObject) -> None:
                """A copy of an up node's storage engine (the spec's Backup)."""
                ls = self.lockstep
                node = data.draw(st.sampled_from([n for n in config.nodes
                                                  if ls.backup_enabled(n)]), label="node")
                self._count("backup")
                ls.backup(node)

            @precondition(lambda self: any(self.lockstep.restore_enabled(n)
                                           for n in config.nodes))
            @rule(data=st.data())
            def restore(self, data: st.DataObject) -> None:
                """A node's engine replaced by its backup on a crash (Restore; a later
                ``recover`` is its Recover)."""
                ls = self.lockstep
                node = data.draw(st.sampled_from([n for n in config.nodes
                                                  if ls.restore_enabled(n)]), label="node")
                self._count("restore")
                ls.restore(node)

        if config.storage == "buffered":
            @precondition(lambda self: any(self.lockstep.buffered_crash_enabled(n)
                                           for n in config.nodes))
            @rule(data=st.data())
            def buffered_crash(self, data: st.DataObject) -> None:
                """A buffered node crashes before its engine flushed anything."""
                ls = self.lockstep
                node = data.draw(st.sampled_from([n for n in config.nodes
                                                  if ls.buffered_crash_enabled(n)]),
                                 label="node")
                self._count("buffered_crash")
                ls.buffered_crash(node)

        @precondition(lambda self: self.lockstep.budget_left(3)
                      and not self.lockstep.sim.cut_links and len(config.nodes) > 1)
        @rule(data=st.data())
        def partition(self, data: st.DataObject) -> None:
            rest = list(config.nodes[1:])
            others = data.draw(st.lists(st.sampled_from(rest), unique=True,
                                        max_size=len(rest) - 1), label="side")
            self._count("partition")
            self.lockstep.partition([config.nodes[0], *others])

        @precondition(lambda self: bool(self.lockstep.sim.cut_links))
        @rule()
        def heal(self) -> None:
            self._count("heal")
            self.lockstep.heal()

        # ---------------------------------------------------------------- timeouts

        @precondition(lambda self: bool(self.lockstep.timeout_candidates()))
        @rule(data=st.data())
        def timeout(self, data: st.DataObject) -> None:
            ls = self.lockstep
            node, op_id = data.draw(st.sampled_from(ls.timeout_candidates()), label="op")
            self._count("timeout")
            ls.timeout(node, op_id)

        @precondition(lambda self: bool(self.lockstep.waiting_replicas()))
        @rule(data=st.data())
        def replica_fails(self, data: st.DataObject) -> None:
            """A replica an operation waits for fails (it crashes, or its messages are
            lost), the messages of that exchange run out, and the coordinator's timer
            fires: a short sequence of lockstep steps, each checked."""
            ls = self.lockstep
            coordinator, op_id, replica = data.draw(
                st.sampled_from(ls.waiting_replicas()), label="replica")
            self._count("replica_fails")
            if ls.up(replica) and ls.budget_left(2) and data.draw(st.booleans(), label="crash"):
                ls.crash(replica)
            for message in ls.in_flight():
                if ({message.src, message.dest} == {coordinator, replica}
                        and not message.blocked
                        and getattr(message.message, "op_id", None) == op_id):
                        if ls.up(message.dest) and ls.budget_left(0):
                            ls.drop(message.id)
                        elif not ls.up(message.dest):
                            ls.deliver(message.id)  # lost at the down node
            timeouts = [c for c in ls.target_timeouts() if c[:2] == (coordinator, op_id)]
            if timeouts:
                self._count("timeout_target")
                ls.timeout_target(*data.draw(st.sampled_from(timeouts), label="target"))

        @precondition(lambda self: bool(self.lockstep.target_timeouts()))
        @rule(data=st.data())
        def timeout_target(self, data: st.DataObject) -> None:
            ls = self.lockstep
            choice = data.draw(st.sampled_from(ls.target_timeouts()), label="target")
            self._count("timeout_target")
            ls.timeout_target(*choice)

        # ---------------------------------------------------------------- background

        @precondition(lambda self: any(self.lockstep.hint_scan_enabled(n)
                                       for n in config.nodes))
        @rule(data=st.data())
        def hint_scan(self, data: st.DataObject) -> None:
            ls = self.lockstep
            node = data.draw(st.sampled_from([n for n in config.nodes
                                              if ls.hint_scan_enabled(n)]), label="node")
            self._count("hint_scan")
            ls.hint_scan(node)

        @precondition(lambda self: any(self.lockstep.up(n) for n in config.nodes))
        @rule(data=st.data(), anti_entropy=st.booleans())
        def background(self, data: st.DataObject, anti_entropy: bool) -> None:
            """A gossip round, or (anti-entropy off) an anti-entropy timer that starts
            nothing: both stutter. With anti-entropy on, the exchange is the
            ``anti_entropy`` rule's (a whole exchange, mapped to the spec's action)."""
            ls = self.lockstep
            node = data.draw(st.sampled_from([n for n in config.nodes if ls.up(n)]),
                             label="node")
            if anti_entropy and not config.anti_entropy:
                self._count("anti_entropy_timer")
                ls.anti_entropy(node)
            else:
                self._count("gossip")
                ls.gossip(node)

        @precondition(lambda self: config.anti_entropy and any(
            self.lockstep.anti_entropy_pairs(k) for k in config.keys))
        @rule(data=st.data())
        def anti_entropy(self, data: st.DataObject) -> None:
            """A whole anti-entropy exchange between two replicas of a key, both ways:
            the spec's atomic ``AntiEntropy`` (or a stutter when nothing differs)."""
            ls = self.lockstep
            key = data.draw(st.sampled_from([k for k in config.keys
                                             if ls.anti_entropy_pairs(k)]), label="key")
            a, b = data.draw(st.sampled_from(ls.anti_entropy_pairs(key)), label="pair")
            if data.draw(st.booleans(), label="b starts"):
                a, b = b, a
            self._count("anti_entropy")
            if one_dot_two_values(ls, a, b, key):
                COVERAGE[name]["anti_entropy_reissued"] += 1
            ls.anti_entropy_pair(a, b, key)

        if config.deletes_per_client:  # issue 11's rules: none without deletes
            @precondition(lambda self: bool(self.lockstep.reap_candidates()))
            @rule(data=st.data())
            def reap(self, data: st.DataObject) -> None:
                """A reap timer whose grace period passed fires (tombstones)."""
                ls = self.lockstep
                node, timer = data.draw(st.sampled_from(ls.reap_candidates()), label="reap")
                self._count("reap")
                ls.reap(node, timer)

        # ---------------------------------------------------------------- membership

        if config.membership:  # issue 11's rules: none without a [membership] budget
            @precondition(lambda self: bool(self.lockstep.join_candidates()))
            @rule(data=st.data())
            def join(self, data: st.DataObject) -> None:
                """A node of ``[membership] joining`` joins (spec ``Join``)."""
                ls = self.lockstep
                node = data.draw(st.sampled_from(ls.join_candidates()), label="joins")
                self._count("join")
                ls.join(node)

            @precondition(lambda self: bool(self.lockstep.leave_candidates()))
            @rule(data=st.data())
            def leave(self, data: st.DataObject) -> None:
                """A member leaves (spec ``Leave``)."""
                ls = self.lockstep
                node = data.draw(st.sampled_from(ls.leave_candidates()), label="leaves")
                self._count("leave")
                ls.leave(node)

            @precondition(lambda self: bool(_ring_steps(self.lockstep)))
            @rule(data=st.data())
            def ring_change(self, data: st.DataObject) -> None:
                """One step of the change in progress the spec enables: a gossip push
                (``Gossip``), a range transfer (``Transfer``), an empty range's
                transfer arriving (``Deliver``), the handover (``Handover``), the
                settlement (``Settle``, pending ownership)."""
                steps = _ring_steps(self.lockstep)
                kind = data.draw(st.sampled_from(sorted(steps)), label="ring step")
                self._count(kind)
                data.draw(st.sampled_from(steps[kind]), label=kind)()

        # ---------------------------------------------------------------- the check

        @invariant()
        def abstraction_is_a_spec_state(self) -> None:
            ls = self.lockstep
            assert ls.frontier, "no spec state matches the implementation"
            assert ls.verify(), "the implementation left the spec's states"

    LockstepMachine.__name__ = f"Lockstep_{name.replace('-', '_')}"
    LockstepMachine.__qualname__ = LockstepMachine.__name__
    return LockstepMachine


def _ring_steps(ls: Lockstep) -> dict[str, list[Callable[[], None]]]:
    """The steps of a membership change in progress the spec enables now, by kind
    (each a bound :class:`~model_check.refinement.Lockstep` step)."""
    steps: dict[str, list[Callable[[], None]]] = {
        "gossip": [partial(ls.gossip_to, src, dst) for src, dst in ls.gossip_candidates()],
        "transfer": [partial(ls.transfer, t.src, t.dst, t.key)
                     for t in ls.transfer_candidates()],
        "deliver_empty_transfer": [partial(ls.deliver_empty, m)
                                   for m in ls.empty_transfers()],
        "handover": [partial(ls.handover, n) for n in ls.handover_candidates()],
        "settle": [partial(ls.settle, n) for n in ls.settle_candidates()],
    }
    return {kind: found for kind, found in steps.items() if found}
