"""Trace validation: the implementation's own timing checked against the spec.

(The event -> candidate-steps mapping and the workload are in
:mod:`model_check.trace_events`, membership in :mod:`model_check.trace_membership`, the
trace-spec steps in :mod:`model_check.trace_spec`, the runs' configuration, fault
mixes and reports in :mod:`model_check.trace_swarm`; this module runs the
implementation and searches for a matching spec state.)

Theory of operation
-------------------
The lockstep (:mod:`model_check.refinement`) chooses every step of the
implementation itself and imposes the spec's shortcuts (an oracle failure
detector, timers fired only when the spec allows them). Trace validation does
the opposite, as TLA+ trace validation does for CCF and etcd's raft: the
implementation runs *as in production*, a :class:`impl.SimulatedCluster` with
its real timers (request and replica timeouts, retries, hint scans, gossip,
anti-entropy rounds), its own failure detector, and the simulator's random
faults (loss, duplication, reordering, delay, clock skew, the nemesis' crashes
and partitions), with the fault kinds and rates drawn per seed (swarm testing,
:class:`Swarm`). The validator only watches: after every event of the
simulator (a message delivered or lost, a timer fired, a client request, a
crash, restart, partition or heal) it maps the event to spec steps and checks,
with the lockstep's own abstraction function
(:meth:`model_check.refinement_state.LockstepState.abstract`), that the
implementation's abstract state is the projection of a spec state reached by
those steps from a state of the *frontier* (every spec state consistent with
what was seen). At the end the faults stop, every node comes back, the run goes
on until quiet, and the implementation must be converged exactly when the spec
says, and with anti-entropy on wherever the spec can still converge without
faults or new requests (:func:`convergence_failure`: the lockstep's rule,
session 34).

What maps to what (:meth:`TraceValidator.step`):

- a client request (the Jepsen-style workload: each client reads the key, then
  writes its next value with the read's context, with random think times; with
  two keys, ``trace_config(keys=TWO_KEYS)``, each request's key is drawn per seed)
  = ``ClientGet`` / ``ClientPut``;
- a message delivered = ``Deliver`` of its abstraction, a stutter if it maps to
  nothing (gossip, Merkle steps) or is an answer the spec no longer waits for;
  lost at a cut link = ``Drop``; lost at a down node = ``Deliver`` (the spec
  loses it there); lost or duplicated when sent = a hidden ``Drop`` /
  ``Duplicate`` of the message sent, allowed only with the simulator's record of
  that loss or copy (so a message the implementation failed to send is never
  explained away as lost);
- crash, restart, partition, heal = ``Crash``, ``Recover``, ``Partition``,
  ``Heal`` (a crash is either outcome, ``Crash(n)`` or ``Crash(n, again=True)``,
  session 61: ``spec.rebuild.restarts``; one-way partitions have no spec
  counterpart and are not drawn); the
  nemesis' disk loss (``validate_seed(disk_losses=True)``, session 34) =
  ``DiskLoss``; the restore guard's refusal of a replaced disk's message (or of a
  message of its sender's start a later start superseded, session 37) and a
  rebuilding replica's silence = the trace-spec steps ``guard-dropped`` and
  ``rebuild-silent`` (:func:`model_check.trace_spec.dropped`, ``silent_get``); a
  replaced disk's rebuild = the trace-spec step ``rebuild-progress`` (the spec's
  exchanges done and ``Rebuilt``), and a rebuild the implementation begins where the
  spec state has none of the node (told late, or restarted with a range holding no
  key left) = ``rebuild-again`` (:func:`model_check.trace_spec.rebuild_progress`,
  session 57);
- a coordinator's timer round = a ``Timeout`` of each target it hands to a
  fallback; its deadline = the spec's timeouts of every node still awaited (and
  the loss of whatever they send), which fail the request;
- a hint scan = one ``Handoff`` per hint it sends (a ``Duplicate`` if a copy of
  that handoff is still in flight);
- with a failing disk (``validate_seed(write_failures=True)``, sessions 52-53): a
  refused replica write = ``FailedWrite``, a coordinator's refused own write =
  ``FailedPut`` (``FailedWrite`` of the forward for a forwarded put), a refused hint
  delivery or read repair = ``Drop``, a refused anti-entropy half a stutter; the
  workload forwards some puts (:mod:`model_check.trace_forwarding`);
- gossip rounds, anti-entropy rounds and Merkle steps = stutters;
- with a membership change (``trace_config(membership=...)``): the join or leave,
  gossip that teaches a view, range transfers, the handover and the settlement =
  the spec's ``Join``, ``Leave``, ``Gossip``, ``Transfer``, ``Handover``,
  ``Settle``, and the views are compared too (:mod:`model_check.trace_membership`).

Hidden steps (counted per seed): the hidden drops and duplicates above, the
client timeouts, the timeouts at a deadline, and the faults that make the
spec's accurate view of the cluster the acting node's failure detector's
(:meth:`TraceValidator._around_beliefs`): ``Partition`` .. ``Heal`` around the
event (a stale suspicion is indistinguishable from a short partition),
``Recover`` .. ``Crash`` of a down node it sent to (a crash not noticed yet),
``Heal`` .. ``Partition`` (a cut not noticed yet), a changed partition, and
their combinations.

Where the implementation's timing does what the spec has no step for, the
validator applies a named *trace-spec step* built from the spec's own rules
(:class:`spec.step.Edit`, :func:`spec.read_repair.repair`), counted per seed and
documented as a spec gap in docs/refinement.md:

- ``late-read-repair``: the impl repairs after every asked replica answered (or
  the deadline), from all their answers (paper section 5); the spec repairs at
  the R-th answer from those R. The trace spec therefore runs the spec with
  ``read_repair`` off and applies :func:`spec.read_repair.repair` to every
  answer the impl's operation got, when it ends;
- ``resend``: a coordinator's replica put or get sent again to a node the spec
  still awaits, or a put's write sent on after the spec's coordination ended
  (the impl keeps a put until all N targets stored it): the same message again,
  only if it carries the put's own version to a replica of the key or a
  fallback hinted for one;
- ``retry``: the impl asks a target again (itself, or a fallback hinted for
  it) after the spec's coordinator gave up on it or on its fallback (the impl
  retries until the deadline and counts the late answer): the spec's
  coordination awaits that node again, and the message is sent;
- ``anti-entropy-half``: the impl's Merkle exchange merges one replica at a time
  (``KeyRecords``); the spec's ``AntiEntropy`` is atomic and two-sided. Each
  half is the spec's store reconcile of the records sent, and the answering side
  must send its merged records back whenever the opener misses some (else a
  divergence: the exchange was one-way);
- ``anti-entropy-refused`` (session 53): a half whose receiver's disk refused the
  merge stores nothing and answers nothing: a stutter (the spec's exchange is
  optional);
- (``forward-again``, session 53: a forwarder forwarding a put to another node of
  the key's top N than the first, is the spec's ``ForwardAgain`` since session 54,
  and the forwarder coordinating it, session 53's spec gap ``forward-elsewhere``,
  the spec's ``ForwardFallback``: :mod:`model_check.trace_forwarding`;)
- ``handoff-again`` (session 31): a hint scan hands a hint off again while its
  acknowledgement is in flight (the impl keeps a hint until the ack arrives; the
  spec's ``Handoff`` waits for it): the delivery is sent again;
- ``held-deadline`` (session 36): a request's deadline while a target's shadow
  round holds its replica get or put (the spec's ``Timeout`` waits while the
  exchange is in flight, the impl's deadline does not): that target times out
  inside a hidden cut (:func:`model_check.trace_spec.deadline`); the held get is
  dead from then on, the held put writes when the round replays it.
- ``new-lifetime`` (session 58, with ``actor_epochs``): a restart at which the
  implementation's node took a new actor (a replaced disk restarted before it was
  told) begins the spec's next lifetime of the node
  (:func:`model_check.trace_spec.new_lifetime`).

A step no spec step, hidden step or trace-spec step explains is a
:class:`~model_check.refinement.Divergence`; the seed's report names the event,
the seed, the swarm and the command that reruns it.
"""

from __future__ import annotations

import dataclasses
import functools
import random
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from impl.cluster import SimulatedCluster
from impl.faults import Faults
from impl.messages import (
    ReplicaGet,
)
from impl.simulator import InFlight
from impl.timers import ShadowRound
from model_check import trace_forwarding, trace_spec
from model_check.refinement import Divergence, RefusingEngine
from model_check.refinement_state import (
    Abstract,
    HarnessRequest,
    project,
    spec_converges_from,
)
from model_check.refinement_state import (
    _membership_options as membership_options,  # the lockstep's cluster options
)
from model_check.refinement_state import _message_sort as message_sort
from model_check.trace_events import (
    EXCHANGE,
    REFUSED_DELIVERIES,
    Evidence,
    Step,
    TraceEvents,
)
from model_check.trace_membership import (
    MEMBERSHIP_ACTIONS,
    MembershipView,
    change_unfinished,
    diagnose,
    impl_membership,
    membership_steps,
    released,
    views_match,
)
from model_check.trace_spec import apply_actions, with_idle_clients
from model_check.trace_swarm import REBUILD_STATS, SeedReport, Swarm, trace_config
from spec import model as spec_model
from spec.actions import (
    Action,
    ClientGet,
    ClientPut,
    Crash,
    Deliver,
    FailedPut,
    ForwardAgain,
    ForwardFallback,
    Heal,
    OutsiderHandoff,
    OutsiderLetGo,
    Partition,
    Recover,
    Unheard,
)
from spec.clocks import Payload
from spec.config import Config
from spec.errors import ConfigError
from spec.state import Kind, Message, State
from spec.step import Edit, find_coordination, plan_of

__all__ = [
    "SeedReport",
    "SpecGap",
    "Swarm",
    "TraceValidator",
    "convergence_failure",
    "trace_config",
    "validate_seed",
]

FRONTIER_LIMIT = 12
#: when the run's membership change starts (virtual seconds, drawn per seed)
CHANGE_AT_S = (1.0, 6.0)


class SpecGap(Divergence):
    """An event no spec step explains, of a kind documented as a spec gap (the
    implementation does more than the spec: docs/refinement.md); the seed's
    validation stops there with the verdict ``spec-gap``, never ``ok``."""


# A candidate: the spec state reached, hidden steps taken, trace-spec steps taken.
_Candidate = tuple[State, int, tuple[str, ...]]
#: An input a node's shadow round holds: ``("receive", the message as it was in
#: flight)``, ``("client_request", (label, spec actions))``, ``("fire", timer)`` or
#: ``("leave", ())``.
Held = tuple[str, Any]


#: the spec's forwarder retries (session 54), counted apart (SeedReport.forwards)
FORWARD_RETRIES = (ForwardAgain, ForwardFallback, OutsiderHandoff, OutsiderLetGo)


class TraceValidator(TraceEvents):
    """One production-like run of the implementation, validated event by event
    against the spec (see the module docstring). :meth:`run` returns the
    :class:`SeedReport`; a failing event raises :class:`Divergence` inside it."""

    def __init__(self, config: Config, *, seed: int, swarm: Swarm,
                 duration_s: float = 12.0, quiet_s: float = 25.0) -> None:
        if config.read_repair:
            raise ConfigError("the trace spec does read repair itself: use trace_config()")
        super().__init__(config, seed=seed)
        trace_spec.forget()
        self.swarm = swarm
        self.duration_s = duration_s
        self.quiet_s = quiet_s
        self.cluster.close()  # the lockstep's harness-timed cluster: replaced by this one
        self.cluster = SimulatedCluster(
            list(config.nodes), config.n, config.r, config.w, seed=seed, clock=config.clock,
            sloppy_quorum=config.sloppy_quorum, hinted_handoff=config.hinted_handoff,
            read_repair=True, read_repair_fallbacks=config.read_repair_fallbacks,
            hinted_reads=config.hinted_reads,  # session 49: spec.replica.served
            anti_entropy=config.anti_entropy, pr=config.pr, pw=config.pw,
            partitioning="evenly-spaced", faults=swarm.faults(), log=True,
            early_replica_puts=True,  # the runtime's group commit (session 52)
            # the restore guard on, as in production: its startup shadow round's held
            # inputs are not delivered yet (:meth:`_map`, :meth:`abstract`)
            # (session 58) with actor epochs the spec's actor_per_start (false: a
            # restart keeps its lifetime, the spec's Recover); without, the
            # implementation's default, which draws op ids per start (the runs as before)
            actor_epochs=config.actor_epochs,
            actor_per_start=config.actor_per_start or not config.actor_epochs,
            restore_guard=True, **membership_options(config))
        self.sim = self.cluster.sim
        self._name_actors_afresh()
        for key in config.keys:
            pref = tuple(self.cluster.node(config.nodes[0]).preference_list(key.encode()))
            if pref != config.preference_list(key):
                raise ConfigError(f"preference list of {key!r}: impl {pref} vs spec "
                                  f"{config.preference_list(key)}")
        self.plan = plan_of(config)
        self.rng = random.Random(f"workload-{seed}")
        self.keys_rng = random.Random(f"keys-{seed}")
        self.report = SeedReport(seed, swarm, keys=config.keys)
        if config.membership:
            self.report.setting = (f"membership={'join' if config.joining else 'leave'!r}, "
                                   f"handover={config.join_handover!r}"
                                   + (f", keys={config.keys!r}" if len(config.keys) > 1
                                      else ""))
        self.replies_seen: dict[tuple[str, int], dict[str, Payload]] = {}
        self.own_again: dict[tuple[str, int], Payload] = {}
        self.gets_live: dict[tuple[str, int], bool] = {}  # (node, op) -> replied
        self.get_keys: dict[tuple[str, int], str] = {}  # (node, op) -> its key
        self.submitted: tuple[str, list[Action]] | None = None
        self.turns: dict[str, str] = {}  # client -> "get" / "put" / "done"
        self.cache: dict[int, InFlight] = {}
        self.strict: Counter[Message] = Counter()
        self.put_payloads: dict[int, Payload] = {}
        self.entries: Sequence[tuple[Any, ...]] = ()  # the event's log entries
        self.workload_open = True
        #: the implementation's membership abstraction after the last event, and
        #: after the current one (:mod:`model_check.trace_membership`)
        self.views: MembershipView | None = impl_membership(self) if config.membership else None
        self.views_now = self.views
        #: node -> the inputs its shadow round holds, in order (its
        #: ``shadow.deferred``, as the validator saw them arrive; :meth:`_map`)
        self.held: dict[str, list[Held]] = {}
        self.guard_before = {}
        self.latest_start = {}
        self.generations = {}
        self.rolled_back_ever = set()
        #: the failing disk's draws (session 52; drawn only with Swarm.write_failure,
        #: so every other run is as before) and the nodes that refused in this event
        self.refusal_rng = random.Random(f"refusals-{seed}")
        #: the deliveries whose writes an armed disk refuses (session 53: every kind)
        self.refused_kinds: frozenset[str] = REFUSED_DELIVERIES
        #: forwarded puts (session 53; :mod:`model_check.trace_forwarding`)
        self.forward_started = set()
        self.new_ops = []
        self.forward_ops = {}
        self.forward_replies = {}
        self.forward_acked = set()
        self.heard_error_first = set()
        self.forward_tokens = {}
        self.forwards_before = []
        self.forward_rng = random.Random(f"forwards-{seed}")
        self.strays_before = {}
        self.refused: set[str] = set()
        self.refusals_seen: set[tuple[str, int, str]] = set()
        self.rebuild_seen: set[str] = set()
        self.rebuild_pending: dict[str, set[tuple[tuple[int, int], str]]] = {}
        self.rebuild_unexplained: dict[str, set[tuple[tuple[int, int], str]]] = {}
        self.rebuild_begun: dict[str, tuple[int, int]] = {}
        self.rebuild_marked: set[str] = set()
        #: every node object of the run, by id (:data:`REBUILD_STATS`, session 56)
        self.nodes_seen: dict[int, object] = {}
        #: the rebuild mix's draws (session 56: its victim and its requests' entry
        #: nodes; drawn only with :attr:`Swarm.rebuild_at`, so every other run is as
        #: before)
        self.rebuild_rng = random.Random(f"rebuild-{seed}")

    def _name_actors_afresh(self) -> None:
        """Name the actors of this run's cluster, its nodes' first lifetimes the
        spec's ``n1``..``n4``. The lockstep's constructor named those of its own
        cluster, which this one replaced; with ``actor_epochs`` each actor of this
        one was then a second lifetime (``n2~1`` for the spec's ``n2``) and every
        seed's first put diverged (session 34's trial: 32 of 60 seeds, "the actor
        abstraction not mapped"; found in session 58)."""
        self.lifetimes = {name: [] for name in self.config.all_nodes}
        self.actor_names = {}
        self._note_actors()

    def _lose_a_disk(self) -> None:
        """The rebuild mix's disk loss (session 56, :attr:`Swarm.rebuild_at`): an up
        node of the first key's top N loses its disk (the nemesis' way,
        :meth:`impl.simulator.Simulator.lose_disk`: the spec's ``DiskLoss``) and
        restarts :attr:`Swarm.rebuild_down` seconds later, empty: it rebuilds."""
        up = [n for n in self.config.top_n(self.config.keys[0]) if self.up(n)]
        if not up:
            return
        victim = self.rebuild_rng.choice(up)
        self.sim.lose_disk(victim)

        def restart() -> None:
            if self.sim.is_down(victim):
                self.sim.restart(victim)
        self.sim.schedule(self.sim.now + self.swarm.rebuild_down, restart)

    def entry_node(self, nodes: list[str], node: str) -> str:
        """The node a client's request goes to (:meth:`TraceEvents._turn` drew ``node``
        of ``nodes``): with the rebuild mix (session 56), a rebuilding one of ``nodes``
        (``Node._acks_uncounted``: rebuilding, or in its grace) with probability
        :attr:`Swarm.to_rebuilding`."""
        if not self.swarm.to_rebuilding:
            return node
        rebuilding = [n for n in nodes
                      if self._node(n)._acks_uncounted(self.sim.now)]
        if rebuilding and self.rebuild_rng.random() < self.swarm.to_rebuilding:
            return self.rebuild_rng.choice(rebuilding)
        return node

    # ------------------------------------------------------------------ running

    def run(self) -> SeedReport:
        """Run the workload under the swarm's faults, validating every event; then
        stop the faults, bring every node back, run until quiet (still validating)
        and compare convergence. Never raises Divergence: the report says."""
        started = time.perf_counter()
        report = self.report
        try:
            self._check_initial()
            for client in self.config.client_names:
                self._schedule_turn(client, self.rng.uniform(0.0, 0.5))
            if self.config.membership:
                self.sim.schedule(self.rng.uniform(*CHANGE_AT_S), self._change)
            if self.swarm.rebuild_at is not None:  # (session 56: the rebuild mix)
                self.sim.schedule(self.swarm.rebuild_at, self._lose_a_disk)
            self._run_until(self.duration_s)
            self.workload_open = False
            self.sim.stop_nemesis()  # and no more loss, duplication or reordering
            self.sim.faults = Faults(delay=self.sim.faults.delay)
            self._repair_faults()
            self._run_until(self.sim.now + self.quiet_s)
            report.impl_converged = self._impl_converged()
            report.spec_converged = spec_model.converged(self.frontier[0])
            failure = convergence_failure(self.config, self.frontier, report.impl_converged)
            if failure:
                report.verdict = "no-convergence"
                report.reason = (f"after the faults stopped and {self.quiet_s:g}s of quiet, "
                                 f"{failure}: {self._stores_text()}")
            unfinished = (change_unfinished(self.frontier, self.abstract())
                          if self.config.membership else "")
            if unfinished and report.verdict == "ok":
                report.verdict = "no-convergence"
                report.reason = (f"after the faults stopped and {self.quiet_s:g}s of quiet, "
                                 f"{unfinished} (with the faults stopped every fair run of "
                                 f"the spec completes the change)")
        except SpecGap as gap:
            report.verdict = "spec-gap"
            report.reason = str(gap)
        except Divergence as divergence:
            report.verdict = "divergence"
            report.reason = str(divergence)
        report.disks_lost = self.sim.stats["disk_losses"]
        for node in self.nodes_seen.values():
            stats = getattr(node, "stats", {})
            report.rebuild_rules.update({s: stats[s] for s in REBUILD_STATS if stats.get(s)})
        report.wall_s = time.perf_counter() - started
        report.virtual_s = self.sim.now
        return report

    def _run_until(self, until: float) -> None:
        while True:
            self.cache = {m.id: m for m in self.sim.in_flight()}
            self.guard_before = self.guard_counts()
            for node, _ in self.guard_before.values():  # (their stats: REBUILD_STATS)
                self.nodes_seen.setdefault(id(node), node)
            self.note_starts()
            mark = len(self.sim.log)
            armed = self._arm_failing_disks()
            try:
                stepped = self.sim.step()
            finally:
                _disarm(armed)
            if not stepped:
                return
            entries = self.sim.log[mark:]
            self.step(entries)
            if self.sim.now > until:
                return

    def _arm_failing_disks(self) -> list[tuple[Any, RefusingEngine]]:
        """The swarm's failing disk (:attr:`Swarm.write_failure`, session 52): with
        that probability per event, every node's engine is wrapped for the event by
        a :class:`~model_check.refinement.RefusingEngine`, which refuses (as SQLite's
        SQLITE_FULL) the writes of a delivered message of :attr:`refused_kinds` at its
        receiver (:meth:`refuses`): a ``ReplicaPut`` (the spec's ``FailedWrite``), and
        since session 53 a hint's delivery and a read repair (the spec's ``Drop``), an
        anti-entropy half (the stutter ``anti-entropy-refused``) and a forwarded put's
        ``ForwardGrant`` (``FailedWrite`` of the forward). Returns the wrappers to take
        off (:func:`_disarm`)."""
        self.refused = set()
        if not self.swarm.write_failure or self.refusal_rng.random() >= self.swarm.write_failure:
            return []
        armed = []
        for name, watched in self.cluster.storages.items():
            disk = RefusingEngine(watched.inner, functools.partial(self.refuses, name))
            watched.inner = disk
            armed.append((watched, disk))
        return armed

    def refuses(self, name: str) -> bool:
        """Whether node ``name``'s armed disk refuses a write now: the input being
        performed is the delivery to it of a message of :attr:`refused_kinds`
        (:data:`~model_check.trace_events.REFUSED_DELIVERIES`: a ``ReplicaPut``, and
        since session 53 a hint's delivery, a read repair, an anti-entropy half and a
        forwarded put's grant; the simulator logs the delivery before the node
        handles it, and its sends after its writes)."""
        last = self.sim.log[-1] if self.sim.log else None
        if (last is not None and last[1] == "deliver" and last[4] == name
                and last[5] in self.refused_kinds):  # (t, "deliver", id, src, dest, type)
            self.refused.add(name)
            return True
        if self._replays_a_write(last, name):
            if name not in self.refused:
                self.report.refusals["replayed"] += 1
            self.refused.add(name)
            return True
        return False

    def _replays_a_write(self, last: tuple[Any, ...] | None, name: str) -> bool:
        """Whether the event is node ``name``'s ``ShadowRound`` tick that replays a held
        input the failing disk refuses (session 54): a delivery of
        :attr:`refused_kinds`, or a client's put (the spec's ``FailedPut``). Until
        session 54 a replayed input was never refused (session 53's "What is left":
        the tick is no delivery)."""
        if (last is None or last[1] != "tick" or last[2] != name
                or not isinstance(last[3], ShadowRound) or not self.held.get(name)):
            return False
        kind, what = self.held[name][0]
        if kind == "receive":
            return type(what.message).__name__ in self.refused_kinds
        return kind == "client_request" and isinstance(what[1][0], ClientPut)

    def _repair_faults(self) -> None:
        """Heal and restart everything (each a validated event)."""
        self.cache = {m.id: m for m in self.sim.in_flight()}
        mark = len(self.sim.log)
        if self.sim.cut_links:
            self.sim.heal()
            self.step(self.sim.log[mark:])
        for name in self.present:
            if self.sim.is_down(name):
                self.cache = {m.id: m for m in self.sim.in_flight()}
                mark = len(self.sim.log)
                self.sim.restart(name)
                self.step(self.sim.log[mark:])

    def _check_initial(self) -> None:
        impl = self.abstract()
        if not any(self._matches(s, impl) for s in self.frontier):
            raise Divergence("the initial state", "the implementation does not start in "
                             "the spec's initial state")

    def _impl_converged(self) -> bool:
        """The spec's ``convergence`` on the implementation: every replica of each key
        stores the same versions, no hint kept, no spec-kind message in flight."""
        impl = self.abstract()
        if any(hints for _, _, hints in impl.nodes) or impl.messages:
            return False
        return self.replicas_agree()

    def _stores_text(self) -> str:
        impl = self.abstract().readable(self.config)
        nodes = impl["nodes"]
        assert isinstance(nodes, dict)
        return "; ".join(f"{name}: {node['store']} hints {node['hints']}"
                         for name, node in nodes.items())

    # ------------------------------------------------------------------ one event

    def step(self, entries: Sequence[tuple[Any, ...]]) -> None:
        """Validate one simulator event (its log ``entries``)."""
        report = self.report
        report.events += 1
        self.entries = entries
        ops_before = set(self.ops)
        forwarding = self.config.coordinator == "any"  # (session 53)
        if forwarding:
            self.new_ops = trace_forwarding.note_coordinations(self)
            trace_forwarding.note_acks(self)
        label, options, evidence = self._map(entries)
        rebuild = self.rebuild_steps()  # (session 55: spec.rebuild)
        if rebuild:
            options = [[step, *option] for step in rebuild for option in options]
        forwarded = (trace_forwarding.extra_steps(self, self.forwards_before) if forwarding
                     else [])
        if forwarded:
            options = [[*option, *forwarded] for option in options]
        self.steps = report.events
        self._no_internal_errors(f"(event, t={self.sim.now:.4f}) {label}")
        errored = self._client_replies()
        if errored:  # (session 61) an acknowledged put its chaining client did not hear
            unheard = [Unheard(client) for client in errored]
            options = [*([*option, *unheard] for option in options), *options]
        ended = self._ended_gets()
        if ended:
            options = [[*option, *ended] for option in options]
        if self.config.membership:
            self.views_now = impl_membership(self)
            first, then = membership_steps(self, self.views, self.views_now)
            options = [[*first, *option, *rest] for option in options for rest in then]
        impl = self.abstract()
        # a replica get sent in this event must be one the spec's coordinator awaits
        # (the filter of dead answers does not hide it)
        self.strict = Counter(
            a for a in (self.abstract_message(m) for m in self.sim.in_flight()
                        if m.id not in self.cache and isinstance(m.message, ReplicaGet))
            if a is not None)
        found: list[_Candidate] = []
        for state in self.frontier:
            for option in options:
                for after, hidden, names in self._apply(state, option):
                    for final, extra in self._settle_messages(after, impl, evidence):
                        if self._matches(final, impl):
                            found.append((final, hidden + extra, names))
                            self._note_put_payloads(after)
        if not found or self._ended_early(found, set(self.ops) - ops_before):
            for state in self.frontier:
                found.extend(self._around_beliefs(state, options, impl, evidence))
        if not found:
            self.failed = True
            gap = self._known_gap(entries)
            if gap:
                raise SpecGap(f"event {report.events} (t={self.sim.now:.4f}): {label}",
                              gap + "\n" + self._divergence_report(options, impl))
            raise Divergence(f"event {report.events} (t={self.sim.now:.4f}): {label}",
                             self._divergence_report(options, impl))
        self.views = self.views_now
        if forwarding:
            self.forwards_before = trace_forwarding.forwards(self)
        live = self._live_puts()
        found.sort(key=lambda c: (_ended(c[0], live), c[1], len(c[2])))
        best = found[0]
        moved = best[0] not in self.frontier  # a spec step, or a stutter
        frontier: list[State] = []
        for state, _, _ in found:  # every consistent state: a later event decides
            state = self._unspent(state)
            if state not in frontier:
                frontier.append(state)
        self.frontier = frontier[:FRONTIER_LIMIT]
        self.note_rebuild_marks()  # (session 57)
        for request, payload in self._new_put_payloads(options):
            self.put_payloads.setdefault(request, payload)
        report.hidden += best[1]
        report.trace_steps.update(n for n in best[2] if n[0] not in "+=")
        report.membership.update(n[1:] for n in best[2] if n.startswith("+"))
        report.forwards.update(n[1:] for n in best[2] if n.startswith("="))
        if moved:
            report.spec_steps += 1
        else:
            report.stutters += 1
        self.history.append(label)
        if len(self.history) > 40:
            del self.history[:-40]

    def _ended_early(self, found: Sequence[_Candidate], new: set[tuple[str, int]]) -> bool:
        """Whether a put coordination the implementation began in this event (``new``:
        its (node, op id)s) is still live (not answered) while every matched spec
        state ended it (seed 77 of the chained forward mix, session 61): the spec's
        coordinator sends only to the nodes it can reach and fails the put at once
        when fewer than W are (its own write refused, the one other replica cut off),
        where the implementation's, whose failure detector has not noticed the cut,
        sends to the cut node too, keeps the put and retries it until the partition
        heals and the put is acknowledged. The abstraction compares no coordination
        and no client's outstanding request, so both maps matched; the spec's step
        inside a hidden ``Heal`` .. ``Partition`` (a cut not noticed yet,
        :meth:`_around_beliefs`), which keeps the coordination awaiting the node, is
        then tried as well."""
        live = self._live_puts(new)
        return bool(live) and all(_ended(state, live) for state, _, _ in found)

    def _live_puts(self, ops: Iterable[tuple[str, int]] | None = None) -> frozenset[int]:
        """The spec requests of the implementation's put coordinations (of ``ops``, or
        all it knows) that are live: the node up and the put not answered yet."""
        live = set()
        for name, op_id in (self.ops if ops is None else ops):
            node: Any = self.sim.nodes.get(name)
            puts: Any = getattr(node, "puts", None)
            if puts is None or self.sim.is_down(name):
                continue
            coordination = puts.coordinations.get(op_id)
            if coordination is not None and not coordination.replied:
                live.add(self.ops[(name, op_id)])
        return frozenset(live)

    def _unspent(self, state: State) -> State:
        """``state`` with no fault budget spent: the budgets are unbounded, so the
        counts only tell apart states that behave alike (and would crowd the
        frontier out)."""
        if not any(state.used):
            return state
        edit = Edit(state, self.plan)
        edit.used = tuple(0 for _ in state.used)  # (six counts with write failures)
        return edit.build()

    def _note_put_payloads(self, state: State) -> None:
        """Remember the version each put sends to its replicas, from the spec state a
        matched event reached before the hidden drops (its replica puts in flight)."""
        for m in state.messages:
            if m.kind is Kind.REPLICA_PUT and m.payload is not None:
                self.put_payloads.setdefault(m.request, m.payload)

    def _new_put_payloads(self, options: list[list[Step]]) -> Iterator[tuple[int, Payload]]:
        """The version each put started in this event sends to its replicas (the
        spec's coordination record), for :func:`model_check.trace_spec.resend`'s check."""
        if not any(isinstance(a, ClientPut | FailedPut) for o in options for a in o):
            return
        for node in self.frontier[0].nodes:
            for coord in node.coord:
                if coord.is_put and coord.payload is not None:
                    yield coord.request, coord.payload
        # a put the spec failed at once (no target reachable): the version its
        # coordinator sent to the nodes it believed reachable, which the network lost
        for m in self.sim.in_flight():
            abstract = self.abstract_message(m) if m.id not in self.cache else None
            if abstract is not None and abstract.kind is Kind.REPLICA_PUT and (
                    abstract.payload is not None):
                yield abstract.request, abstract.payload
        # ... or lost when sent (a cut link): the version its coordinator stored
        state = self.frontier[0]
        for action in (a for o in options for a in o if isinstance(a, ClientPut)):
            record = next((r for r in reversed(state.puts) if r is not None
                           and r.client == action.client and r.coordinator == action.node),
                          None)
            if record is not None:
                k = self.config.keys.index(action.key)
                yield record.put_id, state.node(action.node).store[k]

    # ------------------------------------------------------------------ shadow round

    def _deferred(self, name: str) -> int:
        """How many inputs node ``name``'s startup shadow round holds now
        (:meth:`impl.node.Node.start`; 0 when down or serving)."""
        node = self.sim.nodes.get(name)
        shadow = getattr(node, "shadow", None)
        return len(shadow.deferred) if shadow is not None else 0

    def _map(self, entries: Sequence[tuple[Any, ...]]
             ) -> tuple[str, list[list[Step]], Evidence]:
        """:meth:`TraceEvents._map`, with the restore guard's shadow round: an input
        the round holds (it grew the node's ``shadow.deferred``) is not delivered
        yet, a stutter (a peer message stays in flight in the abstraction,
        :meth:`abstract`; a client request has not arrived; a timer has not fired),
        and its replay (a ``ShadowRound`` timer that shrank it) is the delivery,
        the request's arrival or the timer's firing. A node that crashes holding
        messages loses them there (the spec's ``Deliver`` at a down node), and the
        client requests it held die with it (:meth:`_lost_requests`, session 37)."""
        first = entries[0] if entries else None
        submitted = self.submitted
        name = (submitted[1][0].node if submitted is not None and submitted[1]
                and isinstance(submitted[1][0], ClientGet | ClientPut | FailedPut)
                else first[4] if first is not None and first[1] == "deliver"
                else first[2] if first is not None and first[1] in ("tick", "crash")
                else None)
        if first is not None and first[1] == "crash" and name in self.held:
            inputs = self.held.pop(name)
            lost = [a for kind, m in inputs if kind == "receive"
                    and (a := self.abstract_message(m)) is not None]
            requests = [what for kind, what in inputs if kind == "client_request"]
            arrived = self._lost_requests(requests)
            label, options, evidence = super()._map(entries)
            if requests:
                label += " (holding " + ", ".join(text for text, _ in requests) + ")"
            kept = [a for a in lost if a.kind not in EXCHANGE]
            return label, [[*arrived, *o, *(Deliver(a) for a in lost)] for o in options] + (
                [[*arrived, *o, *(Deliver(a) for a in kept)] for o in options]
                if len(kept) < len(lost) else []), evidence
        if not isinstance(name, str) or (first is not None and first[1] == "crash"):
            return super()._map(entries)
        held = self.held.setdefault(name, [])
        change = self._deferred(name) - len(held)
        if change == 1:  # the round holds this event's input: not delivered yet
            if submitted is not None:
                held.append(("client_request", submitted))
            elif first is not None and first[1] == "deliver":
                held.append(("receive", self.cache[first[2]]))
            elif first is not None:
                held.append(("fire", first[3]))
            label, _, evidence = super()._map(entries)
            self.report.held += 1
            return f"held by the shadow round: {label}", [[]], evidence
        if change == -1 and first is not None and first[1] == "tick" and isinstance(
                first[3], ShadowRound) and submitted is None:
            kind, what = held.pop(0)
            label, _, evidence = super()._map(entries)
            self.report.replayed += 1
            if kind == "receive":
                label, options, _ = self._delivered("deliver", what, evidence)
            elif kind == "fire":
                label, options, _ = self._tick(name, what, evidence)
            elif kind == "client_request":
                label, actions = what
                if name in self.refused and isinstance(actions[0], ClientPut):
                    # (session 54) the failing disk refused its own write as the round
                    # replayed it: the spec's FailedPut
                    put = actions[0]
                    actions = [FailedPut(put.client, put.node, put.key), *actions[1:]]
                    label += " (write refused)"
                    self.report.puts_refused += 1
                options = [list(actions)]
                record = self._held_record(name, actions)
                self._note_ops(name, actions)
                if record is not None:
                    self._taken(label, entries, record)
            else:
                options = [[]]
            return f"replayed after the shadow round: {label}", options, evidence
        if change:
            raise Divergence(f"event {self.report.events + 1} (t={self.sim.now:.4f})",
                             f"node {name}'s shadow round holds {self._deferred(name)} "
                             f"inputs, the validator saw {len(held)} held: an input "
                             "held or replayed out of order, or dropped")
        if submitted is not None:
            self._taken(submitted[0], entries)
        return super()._map(entries)

    def _taken(self, label: str, entries: Sequence[tuple[Any, ...]],
               record: HarnessRequest | None = None) -> None:
        """A client request its node took at once (its shadow round did not hold
        it; ``record`` None: the latest request), or one its round held and
        replayed in this event (``record``, session 37's review: a round that
        dropped a held get at its replay passed), is answered in the event, or its
        coordination sends (a replica get or put, delivered or lost when sent): the
        implementation's coordinator always asks another node (trace validation's
        R = W = 2). Raises Divergence for a request taken in silence, which the spec
        would explain as a request begun under a hidden cut that reaches no node
        and fails at once (a shadow round that dropped the client gets it should
        hold passed so: session 37)."""
        if record is None:
            record = next(reversed(self.requests.values()), None)
        if record is None or record.handle.done or any(
                e[1] in ("send", "lose") for e in entries):
            return
        raise Divergence(f"event {self.report.events} (t={self.sim.now:.4f}): {label}",
                         f"node {record.handle.coordinator} took the request and neither "
                         "answered it nor sent anything (a request dropped?)")

    def _lost_requests(self, requests: Sequence[tuple[str, list[Action]]]) -> list[Step]:
        """The steps before a crash for the client requests (label, spec actions) the
        node's shadow round held, which die with it unrun (their clients time out;
        session 37). A get arrived: the spec's ``ClientGet``, its coordination lost
        at the ``Crash`` (trace validation's R = 2: the spec's get does not answer
        from its own read at once). A put cannot have arrived in the spec (its
        ``ClientPut`` writes at the coordinator as it arrives), and it left no trace
        in the implementation: the spec's client never sent it, the trace-spec step
        ``held-put-lost`` (a stutter); the harness takes the write back from its
        client (:meth:`~model_check.refinement_state.LockstepState.next_write`), so
        that its next write is the spec's next put, the same value again."""
        steps: list[Step] = []
        for _, actions in requests:
            put = next((a for a in actions if isinstance(a, ClientPut)), None)
            if put is None:
                steps.extend(actions)
                continue
            client = self.clients[put.client]
            client.puts_issued -= 1
            client.counter -= 1
            steps.append(("held-put-lost", trace_spec.unchanged))
        return steps

    def _held_record(self, name: str, actions: Sequence[Step]) -> HarnessRequest | None:
        """The request of a held client request (its spec ``actions``) replayed at
        ``name``: its client's, not done, sent to ``name``."""
        return next((r for r in self.requests.values() if not r.done
                     and r.handle.coordinator == name
                     and any(getattr(a, "client", None) == r.client for a in actions)),
                    None)

    def _note_ops(self, name: str, actions: Sequence[Step]) -> None:
        """A held client request replayed at ``name``: the operation it started is
        the request's (what :meth:`TraceEvents._turn` does when it arrives at once)."""
        snapshot = self._node(name).snapshot()
        request = self._held_record(name, actions)
        if request is None:
            return
        for op_id, op in snapshot.coordinations.items():
            if (name, op_id) in self.ops:
                continue
            self.ops[(name, op_id)] = request.spec_id
            if op.kind == "get":
                self.gets_live[(name, op_id)] = op.replied
                self.get_keys[(name, op_id)] = request.key
                store = self.abstract_record(self.cluster.storages[name].read(
                    request.key.encode()))
                self.replies_seen[(name, op_id)] = {name: store}

    def abstract(self, exclude: Iterable[int] = ()) -> Abstract:
        """The lockstep's abstraction, with the messages a shadow round holds still
        in flight (:meth:`_map`)."""
        impl = super().abstract(exclude)
        held = [a for inputs in self.held.values() for kind, m in inputs
                if kind == "receive" and (a := self.abstract_message(m)) is not None]
        if held:
            impl = dataclasses.replace(impl, messages=tuple(sorted(
                (*impl.messages, *held), key=message_sort)))
        if self.config.coordinator != "any":
            return impl
        # forwarded puts (session 53): the forwards the forwarders hold, and the puts
        # their coordinators acknowledged (:mod:`model_check.trace_forwarding`)
        held_forwards = trace_forwarding.forwards(self)
        if held_forwards:
            impl = dataclasses.replace(impl, messages=tuple(sorted(
                (*impl.messages, *held_forwards), key=message_sort)))
        if not self.forward_acked:
            return impl
        names = self.config.client_names
        clients = tuple(
            (tuple(sorted({*acked, *(p for c, p in self.forward_acked if c == name)})), gets)
            for name, (acked, gets) in zip(names, impl.clients, strict=True))
        return dataclasses.replace(impl, clients=clients)

    # ------------------------------------------------------------------ matching

    def _apply(self, state: State, steps: Sequence[Step]) -> Iterator[_Candidate]:
        """Every state ``steps`` reach from ``state``, with the hidden steps counted."""
        states: list[_Candidate] = [(state, 0, ())]
        for step in steps:
            nxt: list[_Candidate] = []
            for s, hidden, names in states:
                if isinstance(step, tuple):
                    after = step[1](s)
                    if after is not None:
                        extra = 0
                        if step[0] in ("deadline", "held-deadline"):
                            extra = 1
                        quiet = step[0] in ("handoff", "deadline") or (
                            step[0] == "rebuild-progress" and after is s)  # (no change)
                        nxt.append((after, hidden + extra,
                                    names if quiet else (*names, step[0])))
                else:
                    tag = ((f"+{step.kind}",) if isinstance(step, MEMBERSHIP_ACTIONS)
                           else (f"={step.kind}",) if isinstance(step, FORWARD_RETRIES)
                           else ())
                    nxt.extend((a, hidden, (*names, *tag)) for a in apply_actions(s, [step]))
            states = nxt
        yield from states

    def _settle_messages(self, state: State, impl: Abstract,
                         evidence: Counter[tuple[Kind, str, str]]) -> Iterator[tuple[State, int]]:
        """``state`` after the hidden drops and duplicates the evidence allows, so that
        its live messages are the impl's, or nothing if no such choice exists."""
        state = with_idle_clients(state)
        spec = Counter(m for m in state.messages if self._live(state, m))
        have = Counter(m for m in impl.messages if self._live(state, m))
        extra = spec - have
        missing = have - spec
        budget = Counter(evidence)
        drops: list[Message] = []
        for m, count in extra.items():
            kind = (m.kind, m.src, m.dst)
            if budget[kind] < count and not self._unreachable(m):
                return
            budget[kind] -= count
            drops.extend([m] * count)
        copies: list[Message] = []
        for m, count in missing.items():
            kind = (m.kind, m.src, m.dst)
            if m not in state.messages or -budget[kind] < count:
                return
            budget[kind] += count
            copies.extend([m] * count)
        if not drops and not copies:
            yield state, 0
            return
        edit = Edit(state, self.plan)
        messages = list(state.messages)
        for m in drops:
            messages.remove(m)
        messages.extend(copies)
        edit.messages = messages
        edit.messages_dirty = True
        d, dup, c, p, loss, *rest = state.used  # (rest: write failures, session 52)
        edit.used = (d + len(drops), dup + len(copies), c, p, loss, *rest)
        yield with_idle_clients(edit.build()), len(drops) + len(copies)

    def _unreachable(self, m: Message) -> bool:
        """A message of the spec's whose destination the impl cannot reach now (the
        impl did not send it, or sent it and the network loses it: the spec's Drop)."""
        return not self.reachable(m.src, m.dst)

    @staticmethod
    def _live(state: State, m: Message) -> bool:
        """Whether ``m`` can still change anything in ``state``: an exchange message
        (a replica get, or an answer to one or to a replica put) only while its
        coordinator's record awaits that node; every other message always."""
        if m.kind not in EXCHANGE:
            return True
        coordinator, other = (m.src, m.dst) if m.kind is Kind.REPLICA_GET else (m.dst, m.src)
        node = state.node(coordinator)
        if not node.up:
            return False
        coord = next((c for c in node.coord if c.request == m.request), None)
        return coord is not None and (any(t == other for t, _ in coord.awaiting) or (
            m.kind is Kind.REPLICA_PUT_ACK and other in coord.refused))  # (session 55)

    def _matches(self, state: State, impl: Abstract) -> bool:
        if state.membership is not None:
            if not views_match(state, self.views_now):
                return False
            impl = released(state, impl)
        spec = project(state)
        if (spec.nodes != impl.nodes or spec.clients != impl.clients or spec.side != impl.side
                or spec.unpersisted != impl.unpersisted):  # (session 52)
            return False
        ours = Counter(m for m in spec.messages if self._live(state, m))
        theirs = Counter(m for m in impl.messages
                         if self._live(state, m) or m in self.strict)
        return ours == theirs and self._clocks_agree(state)

    def _around_beliefs(self, state: State, options: list[list[Step]], impl: Abstract,
                        evidence: Counter[tuple[Kind, str, str]]) -> list[_Candidate]:
        """The event's spec steps as the acting node's failure detector saw the
        cluster: a node it still believes down or cut off is reachable again, or one
        it believes up crashed or was cut off a moment ago. The spec's detector is
        accurate, so the steps run inside hidden faults that make the spec's view the
        node's: ``Partition`` .. ``Heal`` (a stale suspicion), ``Heal`` ..
        ``Partition`` (a cut not noticed yet), ``Recover`` .. ``Crash`` of the nodes
        it sent to that are down (a crash not noticed yet)."""
        wrappers: list[tuple[list[Step], list[Step]]] = []
        down = sorted({d for d in self._new_destinations() if self.sim.is_down(d)})
        revive: tuple[list[Step], list[Step]] = (
            [Recover(d) for d in down], [Crash(d) for d in down])
        if state.side:
            current = Partition(tuple(n for n in self.config.all_nodes if n in state.side))
            wrappers.append(([Heal()], [current]))
            if down:
                wrappers.append(([Heal(), *revive[0]], [*revive[1], current]))
            for side in self.plan.sides:  # a cut the node has not noticed changing
                other = Partition(tuple(n for n in self.config.all_nodes if n in side))
                if side != state.side:
                    wrappers.append(([Heal(), other], [Heal(), current]))
                    if down:
                        wrappers.append(([Heal(), *revive[0], other],
                                         [Heal(), *revive[1], current]))
        else:
            for side in self.plan.sides:
                split = Partition(tuple(n for n in self.config.all_nodes if n in side))
                wrappers.append(([split], [Heal()]))
                if down:
                    wrappers.append(([*revive[0], split], [Heal(), *revive[1]]))
        if down:
            wrappers.insert(0, revive)
        out: list[_Candidate] = []
        for pre, post in wrappers:
            for option in options:
                if all(isinstance(s, tuple) and s[0] != "handoff" for s in option):
                    continue
                for s, hidden, names in self._apply(state, [*pre, *option, *post]):
                    for final, extra in self._settle_messages(s, impl, evidence):
                        if self._matches(final, impl):
                            out.append((final, hidden + extra + len(pre) + len(post), names))
                            self._note_put_payloads(s)
        return out

    def _new_destinations(self) -> list[str]:
        """The nodes the event sent to (messages in flight, or lost when sent)."""
        return ([m.dest for m in self.sim.in_flight() if m.id not in self.cache]
                + [e[3] for e in self.entries if e[1] == "lose"])

    def _divergence_report(self, options: list[list[Step]], impl: Abstract) -> str:
        import json

        from model_check.refinement_state import difference

        config = self.config
        lines = [f"seed {self.report.seed} [{self.swarm.text()}]; rerun: "
                 f"{self.report.rerun()}",
                 "candidate steps: " + "; ".join(
                     "[" + ", ".join(s[0] if isinstance(s, tuple) else str(s) for s in o)
                     + "]" for o in options),
                 *([why] if (why := diagnose(self.frontier[0], options)) else []),
                 "the implementation's abstract state:",
                 json.dumps(impl.readable(config), indent=1, sort_keys=True)]
        spec = project(self.frontier[0]).readable(config)
        lines += ["the spec's previous state (frontier 1 of "
                  f"{len(self.frontier)}):", json.dumps(spec, indent=1, sort_keys=True),
                  "differences from it: " + difference(spec, impl.readable(config))]
        for option in options:
            for after, _, _ in self._apply(self.frontier[0], option):
                reached = project(with_idle_clients(after)).readable(config)
                lines.append("differences from the spec state the candidate reaches: "
                             + difference(reached, impl.readable(config)))
                break
            else:
                lines.append("a candidate is not enabled in the spec")
        lines.append("events before: " + "; ".join(self.history[-15:]))
        return "\n".join(lines)


def _ended(state: State, live: frozenset[int]) -> int:
    """How many of the ``live`` requests (the implementation's live put coordinations,
    :meth:`TraceValidator._live_puts`) no up node of ``state`` coordinates: the
    validator prefers the states that still coordinate them (session 61, seed 77 of
    the chained forward mix: the frontier's limit had dropped the states that kept
    the put the implementation acknowledged later)."""
    return sum(1 for request in live
               if not any(n.up and find_coordination(n, request) is not None
                          for n in state.nodes))


def convergence_failure(config: Config, frontier: Sequence[State],
                        impl_converged: bool) -> str:
    """Why a run that ended quiet, with the faults stopped, fails the progress rule
    ("" if it passes): the lockstep's rule (``tests/refinement/machine.py``,
    ``check_progress``). The implementation must be converged exactly when the
    spec's state (``frontier[0]``) is, and with anti-entropy on it must be
    converged wherever the spec can still converge from a state of the
    ``frontier`` (every state consistent with what the run showed; any one
    suffices, the strict answer) without faults or new requests
    (:func:`model_check.refinement_state.spec_converges_from`). Before session 34
    trace validation required convergence whenever anti-entropy was on; a naive
    actor's re-issued dot (kv679) is a state from which the spec cannot converge
    either (docs/refinement.md, "Trace validation's progress rule and the
    retired-pruning lockstep (session 34)")."""
    spec_converged = spec_model.converged(frontier[0])
    text = (f"the impl is {'' if impl_converged else 'not '}converged; the spec's state "
            f"is {'' if spec_converged else 'not '}converged")
    if impl_converged != spec_converged:
        return text
    if config.anti_entropy and not impl_converged and any(
            spec_converges_from(state) for state in frontier):
        return (f"{text}, and the spec converges from it without faults or new requests "
                f"(anti-entropy on)")
    return ""


def validate_seed(seed: int, *, config: Config | None = None, swarm: Swarm | None = None,
                  duration_s: float = 12.0, quiet_s: float = 25.0,
                  disk_losses: bool = False, write_failures: bool = False,
                  rebuilds: bool = False, actor_epochs: bool = False) -> SeedReport:
    """Validate one seed's run (the swarm drawn from the seed unless given; with
    ``disk_losses`` the swarm draws the nemesis' disk losses too, session 34; with
    ``write_failures`` a failing disk that refuses replica writes, against
    ``trace_config(write_failures=True)`` unless ``config`` is given, session 52; with
    ``rebuilds`` the rebuild mix, session 56: a scripted disk loss early in the run and
    requests sent to the rebuilding node, :attr:`Swarm.rebuild_at`; with
    ``actor_epochs`` against ``trace_config(actor_epochs=True)`` unless ``config`` is
    given: every storage lifetime mints under an actor of its own, session 58)."""
    if config is None:
        config = trace_config(write_failures=write_failures, actor_epochs=actor_epochs)
    validator = TraceValidator(config, seed=seed,
                               swarm=swarm or Swarm.draw(seed, disk_losses=disk_losses,
                                                         write_failures=write_failures,
                                                         rebuilds=rebuilds),
                               duration_s=duration_s, quiet_s=quiet_s)
    validator.report.disk_losses = disk_losses
    return validator.run()


def _disarm(armed: list[tuple[Any, RefusingEngine]]) -> None:
    """Take the event's :class:`~model_check.refinement.RefusingEngine` wrappers off (a
    node whose engine the event replaced, a lost disk, keeps the new one)."""
    for watched, disk in armed:
        if watched.inner is disk:
            watched.inner = disk.inner

