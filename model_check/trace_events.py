"""Trace validation's events: what each simulator event of a production-like run
is, as candidate spec steps (:mod:`model_check.trace_validation` searches them).

Theory of operation
-------------------
:class:`TraceEvents` reads one event of the simulator's log (the entries one
``sim.step()`` appended: a message delivered or lost, a timer fired, a client
request, a crash, restart, partition or heal) and returns its label, its
candidate step sequences (each a list of spec actions and named trace-spec steps,
:mod:`model_check.trace_spec`; the validator keeps the sequences that reach a
state matching the implementation's abstraction) and the *evidence* of losses and
copies the simulator recorded (which hidden drops and duplicates need). The
mapping, event by event, is the table in docs/refinement.md ("What maps to
what"); membership events (a join, gossip, a range transfer, the handover and the
settlement) are mapped by :mod:`model_check.trace_membership`, reusing the
lockstep's own mapping (:meth:`model_check.refinement.Lockstep._gossip_delivered`,
:meth:`~model_check.refinement_state.LockstepState.abstract_message`).

It also makes the harness's own events: the Jepsen-style workload (each client
reads a key, then writes its next value, with the read's context if it read that
key, at a random up node the spec lets it send to, with random think times; with
several keys each request's key is drawn from its own seeded generator,
``keys_rng``, so that a one-key run draws nothing more and keeps its seed's run) and the run's
membership change (the joining node starts, or an up node leaves).

The validator's per-run bookkeeping the mapping reads (the replies each get saw,
the gets still live, the messages in flight before the event, the request just
submitted) is declared here and set by
:class:`model_check.trace_validation.TraceValidator`.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from impl.messages import (
    GetRequest,
    HintAck,
    HintDelivery,
    KeyRecords,
    PutRequest,
    ReadRepair,
    ReplicaGet,
    ReplicaGetReply,
    ReplicaPut,
    ReplicaPutFailed,
)
from impl.node import Node
from impl.positions import position_of
from impl.restore_guard import is_rollback, same_start
from impl.simulator import InFlight
from impl.timers import GetTimeout, HintScan, PutTimeout
from impl.versions import ACTOR_META
from model_check import trace_forwarding, trace_spec
from model_check.refinement import Divergence, Lockstep, RefusingEngine
from model_check.refinement_state import HarnessRequest, value_of
from model_check.trace_swarm import SeedReport
from spec import model as spec_model
from spec.actions import (
    Action,
    ClientGet,
    ClientPut,
    Crash,
    Deliver,
    DiskLoss,
    Drop,
    FailedPut,
    FailedWrite,
    Heal,
    Partition,
    Recover,
    Timeout,
)
from spec.clocks import Payload
from spec.state import Kind, Message, State
from spec.step import Plan

__all__ = ["EXCHANGE", "REFUSED_DELIVERIES", "Evidence", "Step", "TraceEvents"]

#: the restore guard's counts whose change in an event changes its mapping (a peer
#: message refused, a rebuilding replica's silence, a message of a sender's start
#: superseded by a later one dropped; :meth:`TraceEvents.guard_acted`)
GUARD_STATS = ("rolled-back-peer-dropped", "rebuild-silent-get", "superseded-start-dropped",
               "shadow-round-duplicate-hint", "shadow-round-shed", "rebuild-unacked-put",
               "rebuild-unacked-hint")

#: the spec kinds of the impl message types (for the simulator's loss records)
_KINDS: dict[str, Kind] = {
    "ReplicaPut": Kind.REPLICA_PUT, "ReplicaPutAck": Kind.REPLICA_PUT_ACK,
    "ReplicaGet": Kind.REPLICA_GET, "ReplicaGetReply": Kind.REPLICA_GET_REPLY,
    "ReadRepair": Kind.READ_REPAIR, "HintDelivery": Kind.HINT_DELIVERY,
    "HintAck": Kind.HINT_ACK,
    "ReplicaPutFailed": Kind.REPLICA_PUT_FAILED,  # session 52: a refused write's answer
}
#: the spec kinds of an exchange (a replica get, its reply, a replica put's ack): a
#: message the spec purges once its coordinator no longer awaits its node
EXCHANGE = (Kind.REPLICA_GET, Kind.REPLICA_GET_REPLY, Kind.REPLICA_PUT_ACK,
            Kind.REPLICA_PUT_FAILED)  # (a refusal too: session 52)

#: the deliveries whose writes the swarm's failing disk refuses at their receiver
#: (:meth:`model_check.trace_validation.TraceValidator.refuses`), by impl message type:
#: a replica's or fallback's ``ReplicaPut`` (session 52: the spec's ``FailedWrite``);
#: since session 53 a hint's delivery and a read repair (each the spec's ``Drop``: its
#: receiver stores nothing and answers nothing), an anti-entropy half (the stutter
#: ``anti-entropy-refused``) and the ``ForwardGrant`` at which a forwarded put's
#: coordinator starts it and writes its own copy (the spec's ``FailedWrite`` of the
#: ``forward``)
REFUSED_DELIVERIES = frozenset(("ReplicaPut", "HintDelivery", "ReadRepair", "KeyRecords",
                                "ForwardGrant"))
#: the share of a run's puts the workload sends to a node outside the key's top N when
#: the spec lets clients send to any node (``trace_config(write_failures=True)``,
#: session 53: so that forwards happen, and their coordinators' own writes are refused)
FORWARD_RATE = 0.25
#: One step of a candidate sequence: a spec action, or a trace-spec step (name, edit).
Step = Action | tuple[str, Callable[[State], State | None]]
#: The losses (positive) and copies (negative) the simulator recorded, by
#: (spec kind, source, destination).
Evidence = Counter[tuple[Kind, str, str]]


class TraceEvents(Lockstep):
    """The event -> candidate spec steps mapping of trace validation (see the module
    docstring); :class:`model_check.trace_validation.TraceValidator` runs and matches."""

    maps_forwards = True  # (session 53: :mod:`model_check.trace_forwarding`)
    #: the forwarded puts (forwarder, op id) whose coordination started (session 53)
    forward_started: set[tuple[str, int]]
    #: the coordinations of forwarded puts registered in this event (node, op id)
    new_ops: list[tuple[str, int]]
    #: forwarded puts' coordinations not seen acknowledged yet -> their request
    forward_ops: dict[tuple[str, int], HarnessRequest]
    #: (forwarder, its op id) of a forwarded put whose coordination started -> its request
    forward_replies: dict[tuple[str, int], HarnessRequest]
    #: (forwarder, its op id) -> the request of each put forwarded
    forward_tokens: dict[tuple[str, int], HarnessRequest]
    #: (client, put id) of the forwarded puts their coordinator acknowledged
    forward_acked: set[tuple[str, int]]
    #: (client, put id) of the chained puts (``workload.chain_puts``) answered with an
    #: error that no coordinator had acknowledged yet (session 61: a later
    #: acknowledgement is the gap ``chained-answer-unheard``)
    heard_error_first: set[tuple[str, int]]
    #: the spec ``forward``s before the event (:func:`model_check.trace_forwarding.forwards`)
    forwards_before: list[Message]
    #: the workload's draws of the puts sent to a node outside the key's top N
    forward_rng: random.Random
    #: (node, key) -> the copy an up node outside the key's top N handed to the top N
    #: as hints, after the last event (its gossiper's ``strays``; session 54:
    #: :func:`model_check.trace_forwarding.outsider_steps`)
    strays_before: dict[tuple[str, str], bytes]

    report: SeedReport
    #: (coordinator, op id) -> node -> the payload each replica answered the get
    replies_seen: dict[tuple[str, int], dict[str, Payload]]
    #: (coordinator, op id) -> the coordinator's copy of the key as its get answered
    #: (session 56: ``GetCoordinator._read_own_again`` merges it into its own reply)
    own_again: dict[tuple[str, int], Payload]
    #: (coordinator, op id) -> whether the get answered its client
    gets_live: dict[tuple[str, int], bool]
    #: the client request submitted in this event: its label and spec actions
    submitted: tuple[str, list[Action]] | None
    #: the messages in flight before the event, by id
    cache: dict[int, InFlight]
    #: the event's log entries
    entries: Sequence[tuple[Any, ...]]
    #: the spec's plan of the configuration (:func:`spec.step.plan_of`)
    plan: Plan
    #: a put's spec request -> the version it sends to its replicas
    put_payloads: dict[int, Payload]
    #: the workload's generator (think times, entry nodes, the node that leaves)
    rng: random.Random
    #: the workload's key choices (each request's key; drawn only with several keys)
    keys_rng: random.Random
    #: (coordinator, op id) -> the key of each get the workload started
    get_keys: dict[tuple[str, int], str]
    #: node -> the inputs its startup shadow round holds (``("receive", message)``,
    #: ...: :meth:`model_check.trace_validation.TraceValidator._map`)
    held: dict[str, list[tuple[str, Any]]]
    #: client -> its next request: "get", "put" or "done"
    turns: dict[str, str]
    #: whether clients still start requests (the workload's duration)
    workload_open: bool
    #: node -> its node object and its :data:`GUARD_STATS` counts before the event
    #: (:meth:`guard_counts`; set by the validator before every event)
    guard_before: dict[str, tuple[object, tuple[int, ...]]]
    #: node -> the node object of its latest start seen up (a down node's too:
    #: :meth:`_superseded_justified`; set with :attr:`guard_before`)
    latest_start: dict[str, object]
    #: node -> the store generations seen of it, in order (:meth:`note_starts`)
    generations: dict[str, list[str]]
    #: the nodes whose failing disk refused a write in this event (session 52; set by
    #: the validator: :meth:`model_check.trace_validation.TraceValidator.refuses`)
    refused: set[str]
    #: (coordinator, op id, node) of every refusal delivered (session 52)
    refusals_seen: set[tuple[str, int, str]]
    #: the nodes seen rebuilding since their last disk loss (session 55:
    #: :meth:`rebuild_step`)
    rebuild_seen: set[str]
    #: each node's rebuild pairs (range, peer) still to do at the last event (session
    #: 55's review: :meth:`rebuild_steps`)
    rebuild_pending: dict[str, set[tuple[tuple[int, int], str]]]
    #: each node's pairs its rebuild dropped at an event that was no anti-entropy
    #: message from that peer to it: not done for the spec (session 55's review)
    rebuild_unexplained: dict[str, set[tuple[tuple[int, int], str]]]
    #: each node's (node object's id, its ``rebuilding`` stat) at the last event: a
    #: change with the rebuild active is a rebuild begun in this event (session 57:
    #: :meth:`rebuild_steps`' ``rebuild-again``)
    rebuild_begun: dict[str, tuple[int, int]]
    #: the nodes some frontier state had rebuilding (an entry of theirs in
    #: ``State.rebuilding``) since their last disk loss (session 57: ``rebuild-again``
    #: begins again only a rebuild the spec's own rule began)
    rebuild_marked: set[str]
    #: the failing disk's draws (session 52; set by the validator)
    refusal_rng: random.Random
    #: the nodes whose store was seen rolled back: a generation seen after one it is
    #: a rollback of (a disk lost, a store restored; :meth:`_rollback_justified`)
    rolled_back_ever: set[str]

    def abstract_message(self, m: InFlight) -> Message | None:
        """The lockstep's; a forwarding message maps to nothing (session 53: the spec's
        ``forward`` is the forwarder's, :func:`model_check.trace_forwarding.forwards`)."""
        if isinstance(m.message, trace_forwarding.FORWARD_TYPES):
            return None  # the spec's forward is the forwarder's: trace_forwarding.forwards
        return super().abstract_message(m)

    def guard_counts(self) -> dict[str, tuple[object, tuple[int, ...]]]:
        """Every up node's object and its restore guard's :data:`GUARD_STATS` counts."""
        return {name: (node, tuple(getattr(node, "stats", {}).get(s, 0) for s in GUARD_STATS))
                for name, node in self.sim.nodes.items()}

    def guard_acted(self, name: str, stat: str) -> bool:
        """Whether node ``name``'s restore guard counted ``stat`` (of
        :data:`GUARD_STATS`) in this event (the same node object before and after)."""
        node = self.sim.nodes.get(name)
        before = self.guard_before.get(name)
        if node is None or before is None or before[0] is not node:
            return False
        count: int = getattr(node, "stats", {}).get(stat, 0)
        return count > before[1][GUARD_STATS.index(stat)]

    def note_starts(self) -> None:
        """Before an event: each up node's object (:attr:`latest_start`) and its
        store's generation (:attr:`generations`, :attr:`rolled_back_ever`)."""
        for name, (node, _) in self.guard_before.items():
            self.latest_start[name] = node
            guard = getattr(node, "guard", None)
            seen = self.generations.setdefault(name, [])
            if guard is None or (seen and seen[-1] == guard.generation):
                continue
            if any(is_rollback(guard.generation, g) for g in seen):
                self.rolled_back_ever.add(name)
            seen.append(guard.generation)

    def _rollback_justified(self, m: InFlight) -> None:
        """The restore guard of ``m.dest`` dropped ``m`` as a message of a rolled-back
        store (``rolled-back-peer-dropped``): raises Divergence unless the sender's
        store was seen rolled back in the run (:attr:`rolled_back_ever`; a guard
        that drops fresh messages so would pass as the spec's ``Drop``: session
        37's review)."""
        if m.src not in self.rolled_back_ever:
            raise Divergence(
                f"event {self.report.events + 1} (t={self.sim.now:.4f}): deliver "
                f"{type(m.message).__name__} {m.src}->{m.dest}",
                f"node {m.dest} dropped it as a message of a rolled-back store of "
                f"{m.src}, and no generation of {m.src}'s store was seen rolled back "
                f"(seen: {', '.join(self.generations.get(m.src, [])) or 'none'}): a "
                "fresh message dropped")

    def _superseded_justified(self, m: InFlight) -> None:
        """The restore guard of ``m.dest`` dropped ``m`` as a message of a start of its
        sender a later start superseded (``superseded-start-dropped``): raises
        Divergence if the sender is still in the start that sent it (up, or down
        since: its latest start seen up); a guard that drops fresh messages would
        pass as network loss, the spec's ``Drop`` (session 37's review)."""
        sender = self.sim.nodes.get(m.src) or self.latest_start.get(m.src)
        guard = getattr(sender, "guard", None)
        sent = getattr(m.message, "generation", "")
        if guard is not None and sent and same_start(sent, guard.generation):
            raise Divergence(
                f"event {self.report.events + 1} (t={self.sim.now:.4f}): deliver "
                f"{type(m.message).__name__} {m.src}->{m.dest}",
                f"node {m.dest} dropped it as a message of a superseded start of {m.src} "
                f"(generation {sent}), and {m.src} is still in that start "
                f"({guard.generation}): a fresh message dropped")

    def _known_gap(self, entries: Sequence[tuple[Any, ...]]) -> str:
        """The documented spec gap an unexplained event is, if any: a get's timer
        round that asks again a target the spec's coordinator gave up on (no
        fallback left: the spec gives up, the impl retries it until the deadline).
        (Session 55: ``rebuild-uncounted-read``, ``rebuild-uncounted-own-write`` and
        ``refused-then-acked`` are gaps no more: the spec states the rebuild,
        :mod:`spec.rebuild`, and keeps a refusing target eligible,
        ``spec.state.Coordination.refused``.)"""
        forwarding = trace_forwarding.known_gap(self)
        if forwarding:
            return forwarding
        first = entries[0] if entries else None
        # (session 57: session 56's ``rebuild-own-read-counted`` is a gap no more: the
        # implementation leaves a rebuilding coordinator's own read uncounted until its
        # acknowledgements count again, the spec's mark, ``Node._uncounted_read``)
        if first is None or first[1] != "tick" or not isinstance(first[3], GetTimeout):
            return ""
        name, op_id = first[2], first[3].op_id
        request = self.ops.get((name, op_id))
        top = self.config.top_n(self.get_keys.get((name, op_id), self.config.keys[0]))
        new = [m for m in self.sim.in_flight() if m.id not in self.cache]

        def given_up(m: InFlight) -> bool:  # a target no spec state still awaits
            return isinstance(m.message, ReplicaGet) and m.src == name and (
                m.message.op_id == op_id and m.dest in top and all(
                    all(t != m.dest for c in s.node(name).coord if c.request == request
                        for t, _ in c.awaiting) for s in self.frontier))

        if request is not None and new and any(given_up(m) for m in new) and all(
                isinstance(m.message, ReplicaGet) and m.message.op_id == op_id
                for m in new):
            return ("spec gap get-retry: the impl's get asks again a target the spec's "
                    "coordinator gave up on (docs/refinement.md, trace validation)")
        return ""

    def _map(self, entries: Sequence[tuple[Any, ...]]
             ) -> tuple[str, list[list[Step]], Evidence]:
        """The event's label, its candidate step sequences, and the losses and
        copies the simulator recorded (the evidence hidden drops/duplicates need:
        positive counts are losses, negative are copies)."""
        evidence: Evidence = Counter()
        sends: dict[int, list[int]] = {}
        for entry in entries:
            if entry[1] == "lose" and entry[4] in _KINDS:
                evidence[(self._kind(entry[4]), entry[2], entry[3])] += 1
            elif entry[1] == "send":
                message = self.sim_message(entry[2])
                if message is not None:
                    sends.setdefault(id(message.message), []).append(entry[2])
        for ids in sends.values():
            if len(ids) > 1:  # copies made when sent
                m = self.sim_message(ids[0])
                if m is not None and type(m.message).__name__ in _KINDS:
                    evidence[(self._kind(type(m.message).__name__), m.src, m.dest)] -= (
                        len(ids) - 1)
        if self.submitted is not None:
            label, actions = self.submitted
            self.submitted = None
            return label, [list(actions)], evidence
        first = entries[0] if entries else (0.0, "nothing")
        kind = first[1]
        if kind in ("deliver", "blocked", "to_down_node"):
            return self._message_event(kind, first[2], evidence)
        if kind == "tick":
            return self._tick(first[2], first[3], evidence)
        if kind == "crash":
            self._purge(first[2])
            if any(e[1] == "disk_loss" and e[2] == first[2] for e in entries):
                self.rebuild_marked.discard(first[2])  # (session 57)
                self.rebuild_seen.discard(first[2])  # (session 55) its rebuild begins again
                self.rebuild_pending.pop(first[2], None)
                self.rebuild_unexplained.pop(first[2], None)
                # the nemesis' disk loss (session 34): the lockstep's mapping of
                # SimulatedCluster.lose_disk (model_check.refinement.Lockstep.disk_loss)
                return f"disk loss {first[2]}", [[DiskLoss(first[2])]], evidence
            # (session 61) with the mark set and no exchange left, either outcome of
            # the spec's crash (spec.rebuild.restarts): the rebuild over, or begun again
            return f"crash {first[2]}", [[Crash(first[2])], [Crash(first[2], True)]], evidence
        if kind == "start":
            if first[3] == 0 and first[2] in self.config.joining:  # a new node starts
                return f"start {first[2]}", [[]], evidence
            if self._new_actor_at_restart(first[2]):  # (session 58)
                return f"restart {first[2]} (a new actor)", [[
                    Recover(first[2]), ("new-lifetime", trace_spec.new_lifetime(
                        first[2], len(self.lifetimes[first[2]])))]], evidence
            return f"restart {first[2]}", [[Recover(first[2])]], evidence
        if kind == "partition":
            groups = first[2]
            side = next(g for g in groups if self.config.nodes[0] in g)
            ordered = tuple(n for n in self.config.all_nodes if n in side)
            return f"partition {groups}", [[Partition(ordered)]], evidence
        if kind == "heal":
            return "heal", [[Heal()], []], evidence
        return f"{kind}", [[]], evidence

    def rebuild_steps(self) -> list[Step]:
        """The trace-spec steps ``rebuild-progress`` of this event
        (:func:`model_check.trace_spec.rebuild_progress`, session 55), none where no
        spec state of the frontier has a node rebuilding: for every up node seen
        rebuilding since its last disk loss (:attr:`rebuild_seen`), the peers each spec
        key's range still awaits an exchange with, and whether its acknowledgements
        count again. A node the spec has rebuilding that the implementation was not
        seen rebuilding yet and that counts its acknowledgements (a replaced disk not
        told it is one yet, or never) is either not told yet or never will be: two
        steps, one that leaves its spec rebuild as it is and one that ends it (the
        frontier keeps both while both match).

        Session 55's review: a pair the node's rebuild drops is done for the spec only
        if this event delivered to the node an anti-entropy message of that peer
        (``MerkleExchange``, ``KeyRecords``: the only steps that complete an exchange
        at a node, :attr:`impl.antientropy.AntiEntropy.synced`); one dropped otherwise
        stays to do (:attr:`rebuild_unexplained`), so a rebuild that ends without its
        exchanges diverges (it was taken from the node's own ``Rebuild.pending``).
        A node is seen rebuilding once it is told it is a replaced disk (a
        ``restore-fresh-renewed`` or ``restore-set-aside`` since its disk loss: each
        begins its rebuild, :meth:`impl.node.Node._begin_rebuild`) or rebuilds; from
        then on a spec state whose rebuild of it was ended by the second step (for a
        node not told, perhaps never) is no match, and every pair of
        ``Node._rebuild_pairs`` not pending then was dropped in that event. Before,
        the second step's states lived on after the node was told, and an
        implementation that never rebuilds validated every disk seed of 0-199."""
        spec_nodes = {e[0] for state in self.frontier for e in state.rebuilding}
        again = self._rebuilds_begun()
        senders: dict[str, set[str]] = {}
        for entry in self.entries:
            if entry[1] == "deliver" and entry[5] in ("MerkleExchange", "KeyRecords"):
                senders.setdefault(entry[4], set()).add(entry[3])
        for name, node in self.sim.nodes.items():
            if not isinstance(node, Node) or name not in self.rebuild_seen:
                continue
            now = set(node.rebuild.pending) if node.rebuild.active else set()
            before = self.rebuild_pending.get(name)
            unexplained = self.rebuild_unexplained.setdefault(name, set())
            unexplained -= now  # (begun again at a restart: tracked again)
            if before is not None:
                unexplained |= {pair for pair in before - now
                                if pair[1] not in senders.get(name, set())}
            self.rebuild_pending[name] = now
        unmarked = frozenset(name for name in again if any(
            not any(e[0] == name for e in state.rebuilding) for state in self.frontier))
        if not spec_nodes and not unmarked:
            return []
        spec_nodes |= unmarked
        pending: dict[str, dict[str, frozenset[str]]] = {}
        counted: set[str] = set()
        unseen: set[str] = set()
        began: set[str] = set()
        for name, node in self.sim.nodes.items():
            if not isinstance(node, Node) or self.sim.is_down(name) or name not in spec_nodes:
                continue
            rebuild = node.rebuild
            # told it is a replaced disk (each begins its rebuild: Node._begin_rebuild)
            told = node.stats.get("restore-fresh-renewed", 0) or node.stats.get(
                "restore-set-aside", 0)
            if (rebuild.active or told) and name not in self.rebuild_seen:
                self.rebuild_seen.add(name)
                began.add(name)
                # every pair is to do at the start: one not pending now was dropped in
                # this event, explained only by an exchange's message (session 55's
                # review: a told node that does not rebuild diverges)
                now = set(rebuild.pending) if rebuild.active else set()
                self.rebuild_unexplained[name] = {
                    pair for pair in node._rebuild_pairs() - now
                    if pair[1] not in senders.get(name, set())}
                self.rebuild_pending[name] = now
            # (the node's own rule, read as the tests of impl/ read it)
            uncounted = node._acks_uncounted(self.sim.now)
            if name not in self.rebuild_seen:
                if not uncounted:
                    unseen.add(name)
                continue
            trees = node.anti_entropy.trees
            left = self.rebuild_pending[name] | self.rebuild_unexplained.get(name, set())
            pending[name] = {key: frozenset(
                p for r, p in left if r == trees.range_of(position_of(key.encode())))
                for key in self.config.keys}
            if not uncounted:
                counted.add(name)
        steps: list[Step] = [("rebuild-progress", trace_spec.rebuild_progress(
            pending, frozenset(counted), frozenset(began)))]
        if unseen:
            ended = {**pending, **{name: {} for name in unseen}}
            steps.append(("rebuild-progress", trace_spec.rebuild_progress(
                ended, frozenset(counted | unseen), frozenset(began))))
        if unmarked:  # (session 57) a rebuild the spec's state has no entry of
            steps.append(("rebuild-again", trace_spec.rebuild_progress(
                pending, frozenset(counted), frozenset(began), unmarked)))
        return steps

    def _rebuilds_begun(self) -> frozenset[str]:
        """The up nodes whose implementation began a rebuild in this event that the
        trace-spec step ``rebuild-again`` may begin in the spec (session 57): a node
        object whose ``rebuilding`` stat (counted by
        :meth:`impl.node.Node._begin_rebuild` when it activates one) changed since the
        last event, its rebuild active now, and only where the spec's own rule had
        acted: a node told (the same object) that some frontier state had rebuilding
        since its disk loss (:attr:`rebuild_marked`: told late, the "never told"
        branch's state left). So a spec that begins no rebuild at a disk loss is not
        validated by this step (test_trace_validation_disk's mutant of
        ``spec.faults.begin``). A restarted node (a new node object) is never in it
        (session 61): its rebuild begun again is the spec's own ``Crash(node,
        again=True)`` (:func:`spec.rebuild.restarts`), before session 61 this
        step's (seed 187)."""
        out: set[str] = set()
        for name, node in self.sim.nodes.items():
            if not isinstance(node, Node) or self.sim.is_down(name):
                continue
            now = (id(node), node.stats.get("rebuilding", 0))
            before = self.rebuild_begun.get(name)
            if before != now and now[1] and node.rebuild.active:
                restarted = before is None or before[0] != now[0]
                if not restarted and name in self.rebuild_marked:
                    out.add(name)
            self.rebuild_begun[name] = now
        return frozenset(out)

    def note_rebuild_marks(self) -> None:
        """After an event: the nodes the frontier has rebuilding (:attr:`rebuild_marked`)."""
        self.rebuild_marked.update(e[0] for state in self.frontier for e in state.rebuilding)

    def _kind(self, name: str) -> Kind:
        """The spec kind of the impl message type ``name`` (membership: a hint
        delivery is a range transfer)."""
        if name == "HintDelivery" and self.config.membership:
            return Kind.RANGE_TRANSFER
        return _KINDS[name]

    def sim_message(self, message_id: int) -> InFlight | None:
        for m in self.sim.in_flight():
            if m.id == message_id:
                return m
        return self.cache.get(message_id)

    def _message_event(self, kind: str, message_id: int,
                       evidence: Evidence
                       ) -> tuple[str, list[list[Step]], Evidence]:
        return self._delivered(kind, self.cache[message_id], evidence)

    def _delivered(self, kind: str, m: InFlight, evidence: Evidence
                   ) -> tuple[str, list[list[Step]], Evidence]:
        """Message ``m`` delivered (``deliver``; or replayed after a shadow round,
        :meth:`model_check.trace_validation.TraceValidator._map`), lost at a cut link
        (``blocked``) or at a down node (``to_down_node``)."""
        name = type(m.message).__name__
        label = f"{kind} {name} {m.src}->{m.dest}"
        refusal = ("rolled back" if self.guard_acted(m.dest, "rolled-back-peer-dropped")
                   else "an earlier start's" if self.guard_acted(m.dest,
                                                                 "superseded-start-dropped")
                   else "")
        if kind == "deliver" and refusal == "an earlier start's":
            self._superseded_justified(m)
        elif kind == "deliver" and refusal:
            self._rollback_justified(m)
        if kind == "deliver" and refusal:
            # the restore guard refused a message of a store it heard a later start
            # of (a replaced disk before it is told: session 34), or a message of the
            # sender's start that a later start superseded (a message a restarted
            # node's shadow round held while its sender restarted: session 37): the
            # spec's Drop (the trace-spec step ``guard-dropped``)
            refused = self.abstract_message(m)
            if refused is None or isinstance(m.message, KeyRecords):
                return f"{label} (refused: {refusal})", [[]], evidence
            return f"{label} (refused: {refusal})", [
                [("guard-dropped", trace_spec.dropped(refused))],
                *([[]] if refused.kind in EXCHANGE else [])], evidence
        if kind == "deliver" and (
                (isinstance(m.message, HintDelivery)
                 and self.guard_acted(m.dest, "shadow-round-duplicate-hint"))
                or self.guard_acted(m.dest, "shadow-round-shed")):
            # a shadow round dropped it, not held (session 41): a resend equal to a
            # hint it holds, or a peer's anti-entropy step shed past its backlog:
            # the spec's Drop of this copy (``shadow-dropped``)
            lost = self.abstract_message(m)
            if lost is None or isinstance(m.message, KeyRecords):
                return f"{label} (dropped by the shadow round)", [[]], evidence
            return f"{label} (dropped by the shadow round)", [
                [("shadow-dropped", trace_spec.dropped(lost))],
                *([[]] if lost.kind in EXCHANGE else [])], evidence
        if (kind == "deliver" and isinstance(m.message, ReplicaGet)
                and self.guard_acted(m.dest, "rebuild-silent-get")):
            # a rebuilding replica's silence (impl/rebuild.py, session 34): since session
            # 55 the spec's own (spec.rebuild: a key whose exchanges are left); the
            # trace-spec step ``rebuild-silent`` only for a key whose range the node has
            # rebuilt, silent for its empty copy while it rebuilds others (a rule the
            # spec leaves out: its copy counts once the key's exchanges are done)
            silent = self.abstract_message(m)
            node = self.sim.nodes.get(m.dest)
            rebuilt_range = (not self.config.rebuild) or (
                isinstance(node, Node) and not node.rebuild.unrebuilt(
                    node.anti_entropy.trees.range_of(position_of(m.message.key))))
            if silent is not None:
                ways: list[list[Step]] = [[Deliver(silent)], []]
                if rebuilt_range:
                    ways.insert(1, [("rebuild-silent", trace_spec.silent_get(silent))])
                return f"{label} (silent: rebuilding)", ways, evidence
        if kind == "deliver" and (
                (isinstance(m.message, ReplicaPut)
                 and self.guard_acted(m.dest, "rebuild-unacked-put"))
                or (isinstance(m.message, HintDelivery)
                    and self.guard_acted(m.dest, "rebuild-unacked-hint"))):
            # a rebuilding node stores it and does not acknowledge it (session 54:
            # impl.node.Node._unacked_if_rebuilding): since session 55 the spec's own
            # rule (spec.rebuild), a plain Deliver; the trace-spec step
            # ``rebuild-unacked`` (Deliver, then Drop the ack) only for a spec without it
            unacked = self.abstract_message(m)
            if unacked is not None:
                reply = (Kind.REPLICA_PUT_ACK if isinstance(m.message, ReplicaPut)
                         else Kind.HINT_ACK)
                return f"{label} (unacknowledged: rebuilding)", [[Deliver(unacked)]] if (
                    self.config.rebuild) else [
                    [("rebuild-unacked", trace_spec.silent_get(unacked, reply))]], evidence
        if isinstance(m.message, ReplicaGetReply) and kind == "deliver":
            seen = self.replies_seen.get((m.dest, m.message.op_id))
            if seen is not None:  # the op may have ended in this very event
                seen[m.src] = self.abstract_record(m.message.record)
        if isinstance(m.message, trace_forwarding.FORWARD_TYPES):
            return label, (trace_forwarding.forward_step(self, m, self.forwards_before)
                           if kind == "deliver" else [[]]), evidence
        if isinstance(m.message, KeyRecords) and kind == "deliver":
            if m.dest in self.refused:  # (session 53) no merge, no answer: a stutter
                self.report.refusals["anti-entropy"] += 1
                return f"{label} (write refused)", self._refused(
                    m.dest, [("anti-entropy-refused", trace_spec.unchanged)]), evidence
            return label, [self._anti_entropy_half(m)], evidence
        abstract = self.abstract_message(m)
        if (kind == "deliver" and isinstance(m.message, HintDelivery | ReadRepair)
                and abstract is not None and m.dest in self.refused):
            # (session 53) the receiver's disk refused the merge: it stores nothing and
            # answers nothing (a hint's ack held back is dropped: impl.staging), the
            # spec's Drop of the message (spec.faults: "a refused read repair or hint
            # delivery is not a step of its own"); the hint stays with its holder
            self.report.refusals["hint" if isinstance(m.message, HintDelivery)
                                 else "read-repair"] += 1
            return f"{label} (write refused)", self._refused(m.dest, [Drop(abstract)]), evidence
        if (kind == "deliver" and isinstance(m.message, ReplicaPut) and abstract is not None
                and m.dest in self.refused):
            # the swarm's failing disk refused its write (session 52): the spec's
            # FailedWrite; the receiver answers ReplicaPutFailed if awaited
            self.report.writes_refused += 1
            return f"{label} (write refused)", self._refused(m.dest, [FailedWrite(abstract)]), \
                evidence
        if abstract is None:
            return label, [[]], evidence
        action: Action = Drop(abstract) if kind == "blocked" else Deliver(abstract)
        if kind == "deliver" and isinstance(m.message, ReplicaPutFailed):
            self.refusals_seen.add((m.dest, m.message.op_id, m.src))
            return label, self._refusal_options(m, action), evidence
        # an answer the spec no longer waits for was purged by the spec: a stutter
        return label, [[action], []] if abstract.kind in EXCHANGE else [[action]], evidence

    def _refusal_options(self, m: InFlight, action: Action) -> list[list[Step]]:
        """A refusal (``ReplicaPutFailed``) delivered to its coordinator (session 52):
        the spec's delivery (its part to the next fallback, as the implementation's
        ``_part_failed``), or a stutter where the spec no longer awaits the node; the
        implementation keeps a put until all N targets stored it, so its part may go
        to a fallback after the spec's coordination ended (the acknowledged put): each
        ReplicaPut it sent then is a ``resend`` (or a ``retry``), as a timer round's."""
        choices = self._sent_on(m.dest)
        return [[action], *choices] if choices != [[]] else [[action], []]

    def _sent_on(self, name: str) -> list[list[Step]]:
        """Each way to explain the ``ReplicaPut``s coordinator ``name`` sent in this
        event as parts sent on (each a ``resend`` or a ``retry``, the first three);
        ``[[]]`` when it sent none."""
        sent = [x for x in self.sim.in_flight() if x.id not in self.cache
                and x.src == name and isinstance(x.message, ReplicaPut)]
        choices: list[list[Step]] = [[]]
        for x in sent[:3]:
            choices = [[*c, step] for c in choices
                       for step in (("resend", trace_spec.resend(self, x)),
                                    ("retry", trace_spec.retry(self, x)))]
        return choices

    def _refused(self, name: str, base: list[Step]) -> list[list[Step]]:
        """A delivery whose write ``name``'s disk refused, as ``base`` (session 53):
        and, when ``name`` sent ``ReplicaPut``s in the event, ``base`` followed by
        their ``resend``s or ``retry``s: the node's failed commit counts as a failed
        own write of every put it coordinates whose own copy is not durable
        (:meth:`impl.put_coordinator.PutCoordinator.local_write_failed`), so a put
        whose own write a disk had refused before is failed again and its own part,
        left at the node for want of a fallback then, goes to a fallback now (the
        spec gave it up at the first refusal: the impl tries again, a ``retry``)."""
        return [base, *([*base, *c] for c in self._sent_on(name) if c)]

    def _tick(self, name: str, timer: object, evidence: Evidence
              ) -> tuple[str, list[list[Step]], Evidence]:
        label = f"tick {name} {timer!r}"
        new = [m for m in self.sim.in_flight() if m.id not in self.cache and m.src == name]
        if isinstance(timer, HintScan) and self.config.membership:
            return label, [[]], evidence  # its transfers: trace_membership.membership_steps
        if isinstance(timer, HintScan):
            # each hint sent: the spec's handoff, or (the trace-spec step
            # ``handoff-again``) a hint whose acknowledgement is in flight, sent again
            # (offered only while an ack from that node to this one is in flight)
            acks = {x.src for x in self.sim.in_flight()
                    if isinstance(x.message, HintAck) and x.dest == name}
            sends: list[list[Step]] = [[]]
            for m in new:
                if isinstance(m.message, HintDelivery):
                    payload = self.abstract_record(m.message.record)
                    key = m.message.key.decode()
                    ways: list[Step] = [
                        ("handoff", trace_spec.handoff(self, name, m.dest, key, payload))]
                    if m.dest in acks:
                        ways.append(("handoff-again", trace_spec.handoff_again(
                            self, name, m.dest, key, payload)))
                    sends = [[*o, way] for o in sends for way in ways]
            return label, sends, evidence
        if isinstance(timer, PutTimeout | GetTimeout) and timer.target is None:
            request = self.ops.get((name, timer.op_id))
            if request is None:
                return label, [[]], evidence
            resent = [m for m in new if isinstance(m.message, ReplicaPut | ReplicaGet)]
            options: list[list[Step]] = []
            coord = self._spec_coord(name, request)
            awaited = [t for t, _ in coord.awaiting] if coord is not None else []
            ended = self._coordination(name, timer.op_id) is None
            if ended:  # the deadline: the spec's timeouts of every node still awaited
                # a target whose shadow round holds the op's replica get or put is
                # timed out inside a hidden cut; a held get is dead from now on (its
                # answer finds no coordination: trace_spec.deadline, session 36)
                held = [a for x in self._held_messages()
                        if isinstance(x.message, ReplicaGet | ReplicaPut) and x.src == name
                        and x.message.op_id == timer.op_id
                        and (a := self.abstract_message(x)) is not None]
                self._purge(name, timer.op_id)
                step = "held-deadline" if held else "deadline"  # counted when held
                options.append([(step, trace_spec.deadline(self, name, request, held))])
                return label, options, evidence
            lost = sum(evidence[(k, name, d)] for (k, s, d) in list(evidence)
                       if s == name and k in (Kind.REPLICA_PUT, Kind.REPLICA_GET))
            choices: list[list[Step]] = [[]]
            for m in resent[:3]:  # each resent message: a resend or a retry
                choices = [[*c, step] for c in choices
                           for step in (("resend", trace_spec.resend(self, m)),
                                        ("retry", trace_spec.retry(self, m)))]
            for size in range(0, len(awaited) + 1):
                for chosen in itertools.combinations(awaited, size):
                    timeouts: list[Step] = [Timeout(name, request, t) for t in chosen]
                    options.extend([*timeouts, *c] for c in choices)
            if not options or not (resent or lost):
                options.append([])
            return label, options, evidence
        return label, [[]], evidence

    def _new_actor_at_restart(self, name: str) -> bool:
        """Whether node ``name``, restarted in this event, mints under an actor none of
        its earlier lifetimes had (with ``actor_epochs`` only: the trace-spec step
        ``new-lifetime``, :func:`model_check.trace_spec.new_lifetime`; session 58)."""
        if not self.config.actor_epochs:
            return False
        kept = self.cluster.storages[name].get_meta(ACTOR_META)
        return kept is not None and kept.decode("utf-8") not in self.lifetimes[name]

    def _held_messages(self) -> list[InFlight]:
        """The peer messages the restarted nodes' shadow rounds hold, in order."""
        return [m for inputs in self.held.values() for kind, m in inputs
                if kind == "receive"]

    def _undelivered(self) -> list[InFlight]:
        """The simulator's messages in flight and those the shadow rounds hold (still
        in flight in the abstraction: a purge marks them dead too, session 36)."""
        return [*self.sim.in_flight(), *self._held_messages()]

    def _spec_coord(self, name: str, request: int) -> Any:
        state = self.frontier[0]
        return next((c for c in state.node(name).coord if c.request == request), None)

    def _ended_gets(self) -> list[Step]:
        """A trace-spec ``late-read-repair`` for every impl get that ended in this
        event after answering its client."""
        out: list[Step] = []
        for (name, op_id), replied in list(self.gets_live.items()):
            if self.sim.is_down(name):
                del self.gets_live[(name, op_id)]
                self.get_keys.pop((name, op_id), None)
                self.own_again.pop((name, op_id), None)
                continue
            op = self._coordination(name, op_id)
            if op is not None:
                if not op.replied:
                    self._note_own_again(name, op_id)
                self.gets_live[(name, op_id)] = op.replied
                continue
            del self.gets_live[(name, op_id)]
            answered = replied or self._answered(name, op_id)
            replies = self.replies_seen.pop((name, op_id), {})
            again = self.own_again.pop((name, op_id), None)
            key = self.get_keys.pop((name, op_id), self.config.keys[0])
            if answered:
                out.append(("late-read-repair", trace_spec.late_read_repair(
                    self, name, key, replies, again)))
        return out

    def _note_own_again(self, name: str, op_id: int) -> None:
        """The coordinator ``name``'s copy of the get's key now, while the get
        ``op_id`` has not answered: after the event before the one it answers in, the
        copy its own reply merged as it answered (``GetCoordinator._read_own_again``,
        session 56; not the copy after the answering event, which a read repair in
        place may have changed)."""
        key = self.get_keys.get((name, op_id))
        if key is not None and name in self.replies_seen.get((name, op_id), {}):
            self.own_again[(name, op_id)] = self.abstract_record(
                self.cluster.storages[name].read(key.encode()))

    def _answered(self, name: str, op_id: int) -> bool:
        request = self.ops.get((name, op_id))
        return any(r.spec_id == request and r.done and r.handle.error is None
                   for r in self.requests.values())

    def _anti_entropy_half(self, m: InFlight) -> list[Step]:
        """The delivery of an anti-entropy ``KeyRecords`` (see the module docstring)."""
        message = m.message
        assert isinstance(message, KeyRecords)
        steps: list[Step] = []
        ours = [key for key in message.keys if key.decode() in self.config.keys]
        if len(ours) > 1:  # two keys of one range (session 31)
            self.report.by_key["anti-entropy several keys"] += 1
        for key, record in zip(message.keys, message.records, strict=True):
            name = key.decode()
            if name not in self.config.keys:
                continue
            payload = self.abstract_record(record or None)
            if len(self.config.keys) > 1:
                self.report.by_key[f"anti-entropy {name}"] += 1
            steps.append(("anti-entropy-half",
                          trace_spec.ae_merge(self, m.src, m.dest, name, payload, message.reply)))
        return steps

    # ------------------------------------------------------------------ workload

    def entry_node(self, nodes: list[str], node: str) -> str:
        """The node a client's request goes to, ``node`` (drawn of ``nodes``) unless a
        mix steers it (:meth:`model_check.trace_validation.TraceValidator.entry_node`,
        session 56)."""
        return node

    def _schedule_turn(self, client: str, delay: float) -> None:
        self.sim.schedule(self.sim.now + delay, lambda: self._turn(client))

    def _turn(self, client: str) -> None:
        """The client's next request (get, then put with the get's context; with
        ``workload.chain_puts`` its puts follow in a row, each with the context the last
        was answered, session 61)."""
        state = self.clients[client]
        is_get = self.turns.get(client, "get") == "get"
        if (is_get and not self.can_get(client)) or (not is_get and not self.can_put(client)):
            self.turns[client] = "done"
            return
        if not self.workload_open:
            return
        keys = self.config.keys
        key = keys[0] if len(keys) == 1 else self.keys_rng.choice(keys)
        nodes = self.entry_nodes(key)
        if not nodes:
            self._schedule_turn(client, 0.5)
            return
        node = self.entry_node(nodes, self.rng.choice(nodes))
        if not is_get and self.config.coordinator == "any":
            # (session 53) some puts go to a node outside the key's top N, which
            # forwards them (drawn apart: the one-key runs' other draws are unchanged)
            outside = [n for n in self.config.nodes
                       if n not in self.config.top_n(key) and self.up(n)]
            if outside and self.forward_rng.random() < FORWARD_RATE:
                node = self.forward_rng.choice(outside)
        ci = self.config.client_names.index(client)
        if is_get:
            spec_id = spec_model.get_id_of(self.config, ci, state.gets_issued)
            state.gets_issued += 1
            request: GetRequest | PutRequest = GetRequest(self.sim.new_request_id(),
                                                          key.encode(), None, client)
            action: Action = ClientGet(client, node, key)
        else:
            spec_id, counter, context = self.next_write(client, key)
            request = PutRequest(self.sim.new_request_id(), key.encode(), value_of(spec_id),
                                 context, None, client, counter)
            action = ClientPut(client, node, key)
        # (session 61) a chaining client (workload.chain_puts) puts again after a put,
        # with the context that put was answered: get, then its puts in a row
        self.turns[client] = "put" if is_get or self.config.chain_puts else "get"
        if len(keys) > 1:
            self.report.by_key[f"{'get' if is_get else 'put'} {key}"] += 1
        known = set(self._node(node).snapshot().coordinations)
        state.busy = True
        rate = self.report.swarm.write_failure
        if is_get or not rate or self.refusal_rng.random() >= rate:
            handle = self.sim.submit(node, request)
        else:  # the failing disk refuses the coordinator's own write (session 52)
            handle, refused = self._submit_refused(node, request)
            if refused:
                action = FailedPut(client, node, key)
                self.report.puts_refused += 1
        self.requests[request.request_id] = HarnessRequest(client, spec_id, key, not is_get,
                                                           handle)
        snapshot = self._node(node).snapshot() if not self.sim.is_down(node) else None
        for op_id, op in (snapshot.coordinations.items() if snapshot else ()):
            if op_id not in known:
                self.ops[(node, op_id)] = spec_id
                if op.kind == "get":
                    self.gets_live[(node, op_id)] = op.replied
                    self.get_keys[(node, op_id)] = key
                    store = self.abstract_record(self.cluster.storages[node].read(key.encode()))
                    self.replies_seen[(node, op_id)] = {node: store}
        self.submitted = (f"{'get' if is_get else 'put'} {client} #{spec_id} @{node}",
                          [action])

    def _submit_refused(self, node: str, request: GetRequest | PutRequest) -> tuple[Any, bool]:
        """Submit ``request`` to ``node`` with its engine refusing every write of the
        input (:class:`~model_check.refinement.RefusingEngine`): the spec's
        ``FailedPut`` if a write was refused (a put the restore guard's shadow round
        holds writes nothing now: a plain ``ClientPut``, written when replayed)."""
        watched = self.cluster.storages[node]
        inner = watched.inner
        refused: list[bool] = []

        def refusing() -> bool:
            refused.append(True)
            return True

        watched.inner = RefusingEngine(inner, refusing)
        try:
            handle = self.sim.submit(node, request)
        finally:
            if isinstance(watched.inner, RefusingEngine) and watched.inner.inner is inner:
                watched.inner = inner
        return handle, bool(refused)

    def _change(self) -> None:
        """The membership change of the run: the joining node starts (it joins at its
        first gossip round), or an up node of the ring leaves."""
        if self.config.joining:
            name = self.config.joining[0]
            if self.sim.cut_links:  # the spec's partition has two sides: join after it
                self.sim.schedule(self.sim.now + 0.5, self._change)
                return
            self.cluster.join(name)
            self.submitted = (f"start {name} (to join)", [])
            return
        up = [n for n in self.config.nodes if self.up(n)]
        if not up:
            self.sim.schedule(self.sim.now + 0.5, self._change)
            return
        name = self.rng.choice(up)
        self.cluster.leave(name)
        self.submitted = (f"leave {name}", [])

    def _client_replies(self) -> list[str]:
        """Collect the replies of this event and schedule each answered client's next
        turn. Returns, with ``workload.chain_puts``, the clients a put of which was
        answered with an error in this event (session 61: where the spec acknowledged
        it, the client did not hear the acknowledgement, the spec's
        :class:`~spec.actions.Unheard`)."""
        waiting = {rid for rid, r in self.requests.items() if not r.done}
        self._collect_replies()
        errored: list[str] = []
        for rid in sorted(waiting):
            record = self.requests[rid]
            if record.done:
                self._schedule_turn(record.client, self.rng.uniform(0.05, 0.6))
                if (self.config.chain_puts and record.is_put
                        and record.handle.error is not None):
                    errored.append(record.client)
                    if (record.client, record.spec_id) not in self.forward_acked:
                        self.heard_error_first.add((record.client, record.spec_id))
        return errored
