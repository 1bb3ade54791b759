"""Trace validation of membership change: a join or a leave during a
production-like run (:mod:`model_check.trace_validation`), its gossip, range
transfers, handover and settlement validated against the spec's
(:mod:`spec.membership`).

Theory of operation
-------------------
The run's configuration has a ``[membership]`` budget
(:func:`model_check.trace_swarm.trace_config` with ``membership="join"`` or
``"leave"``); the validator starts the change at a time drawn per seed
(``SimulatedCluster.join``: the node starts and, at its first gossip round, asks
a seed for the view and takes its tokens; ``SimulatedCluster.leave``). From then
on the implementation runs alone: its gossip rounds, hint scans (which send the
range transfers), ``HandoffDone`` and ``Settled`` messages, under the swarm's
faults.

**Abstraction** (:func:`impl_membership`). The spec's membership state is a log
of the change's entries (``("join", X)`` or ``("leave", X)``, ``("handed", X)``,
``("settled", X)``) and, per node, how many of them it knows. The
implementation's is each node's persisted view (the storage's ``membership``
meta entry, so a crashed node keeps it, as in the spec): a node knows
``("join", X)`` when its view has X with tokens, ``("leave", X)`` when it has X
leaving or left, ``("handed", X)`` when it has X up (a join) or left (a leave),
``("settled", X)`` when it has X's ``settled`` flag. With the naive handover
(``join_handover = "immediate"``) the spec's ``handed`` is the end of the change
(every transfer arrived), which no view entry of the implementation records:
only the first entry is compared. Every node's knowledge must be a prefix of the
longest (the spec's log is linear), and the log and the per-node counts must be
the spec state's, as the stores and messages must (checked by the validator with
the rest of the abstraction).

**Steps** (:func:`membership_steps`, after the event's own candidate steps):

- a node's first knowledge of a new entry it announced itself = ``Join`` /
  ``Leave`` (first, before the event's other steps: the leave's hint scan sends
  in the same event), ``Handover`` / ``Settle`` (last); before a ``Handover``,
  the spec's empty range transfers (a ``Transfer`` of a range whose sender holds
  nothing, then its ``Deliver``; the implementation sends nothing, so they are
  hidden steps, as in the lockstep: :func:`~model_check.refinement_state.is_empty_transfer`);
- a gossip message delivered that taught its receiver entries = the spec's
  ``Gossip(src, dst)`` (the lockstep's mapping,
  :meth:`model_check.refinement.Lockstep._gossip_delivered`: the receiver learns
  all the sender knows), or, when the sender has learnt more since it sent the
  message or is down now (it crashed with the message in flight), the trace-spec
  step ``late-gossip`` (the receiver learns the prefix the message carried; the
  spec's gossip is atomic, between two nodes up: a spec gap);
- a range transfer sent (a ``HintDelivery``, the lockstep's abstraction
  ``range-transfer``) = ``Transfer(src, dst, key)``, whose guard is the spec's
  (pending ownership: every member knows the change; the sender's copy includes
  every write to it), or a ``Duplicate`` of the copy still in flight (the hint's
  retry), or the trace-spec step ``transfer-resend`` (the copy was delivered, its
  acknowledgement lost, and the same record is sent again), or (naive handover)
  ``early-transfer`` (the spec's ``Transfer`` while a write of the key to the
  sender is in flight, as if that write came after it: the implementation hands
  the write on when it arrives, :func:`early_transfer`), or ``hand-on`` (below);
- gossip, ``HandoffDone``, ``Settled`` and a transfer's acknowledgement
  delivered, and every gossip round, are stutters unless they change a view.

**Late writes after the naive handover.** A node that has not heard of the change
still writes (read-repairs, puts) to the old owner of a key after the handover;
the spec keeps that copy at the old owner for ever (its handover empties the old
copies once). The implementation hands it on to the key's new owners (the writer
wrote to none of them) and lets it go on their acknowledgement or at a later hint
scan. Two trace-spec steps state it: ``hand-on`` (the old owner sends its copy
again to a new owner, as a range transfer, :func:`hand_on`) and ``late-release``
(it lets its copy go once every new owner holds each of its versions or a newer
one, :func:`late_release`); a copy let go that a new owner misses is a
divergence ("the trace spec's late-release is not a step").

**Lazy release.** The spec's last entry of a change (``settled``; naive:
``handed``) empties at once the copies the transfers were sent from; the
implementation's old owner lets its copy go at its next hint scan after it heard
the settlement (naive: when the transfer is acknowledged). Once the matched spec
state's log is complete, an old owner's copy of a moved key that the spec
emptied is compared as empty while the implementation still holds it
(:func:`released`); a read that reaches it is still compared message by message.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from impl.membership import Membership, MemberStatus
from impl.messages import Gossip as GossipMessage
from impl.messages import HintDelivery
from impl.simulator import InFlight
from model_check.refinement_state import Abstract, is_empty_transfer
from model_check.trace_spec import apply_actions, change_tops
from spec import clocks
from spec import model as spec_model
from spec.actions import Action, Deliver, Duplicate, Gossip, Handover, Join, Leave, Settle, Transfer
from spec.clocks import Payload
from spec.clocks import values as clock_values
from spec.config import Config
from spec.membership import _WRITES  # the spec's transfer guard waits for these
from spec.state import Change, Kind, MembershipState, Message, State, new_message, new_node
from spec.step import Edit, Plan, plan_of

if TYPE_CHECKING:
    from model_check.trace_events import Step, TraceEvents

__all__ = [
    "MEMBERSHIP_ACTIONS",
    "RELEASE_IN_REQUEST",
    "MembershipView",
    "change_unfinished",
    "diagnose",
    "early_transfer",
    "hand_on",
    "impl_membership",
    "late_release",
    "membership_steps",
    "release_refused",
    "released",
    "views_match",
]

#: the implementation's membership abstraction: the log, and per node (in the
#: order of ``Config.all_nodes``) how many of its entries the node knows
MembershipView = tuple[tuple[Change, ...], tuple[int, ...]]

#: the spec's membership actions (counted per seed by kind)
MEMBERSHIP_ACTIONS = (Join, Leave, Gossip, Transfer, Handover, Settle)
_ANNOUNCE = {"join": Join, "leave": Leave, "handed": Handover, "settled": Settle}
_GONE = (MemberStatus.LEAVING, MemberStatus.LEFT)


def _entries(config: Config, view: Membership) -> tuple[Change, ...]:
    """The spec log entries a node whose view is ``view`` knows (module docstring)."""
    out: list[Change] = []
    for node in config.joining:
        member = view.get(node)
        if member is not None and member.tokens:
            out.append(("join", node))
            if member.status is not MemberStatus.JOINING:
                out.append(("handed", node))
            if member.settled:
                out.append(("settled", node))
    for node in config.nodes:
        member = view.get(node)
        if member is not None and member.status in _GONE:
            out.append(("leave", node))
            if member.status is MemberStatus.LEFT:
                out.append(("handed", node))
            if member.settled:
                out.append(("settled", node))
    if config.join_handover != "pending":
        del out[1:]  # naive: the spec's handed is the end of the change (docstring)
    return tuple(out)


def _known_entries(config: Config, raw: bytes) -> tuple[Change, ...]:
    """The log entries a node knows whose stored view is ``raw`` (its ``membership``
    meta row)."""
    return _entries(config, Membership.from_bytes(raw))


#: :func:`_known_entries` parsed once per (configuration, bytes) (pure speed, session
#: 19: each event of a membership trace reads every node's view, mostly unchanged
#: bytes; ``Membership.from_json`` was 13% of a naive-leave sweep under cProfile). A
#: :class:`~impl.membership.Membership` is immutable and :func:`_entries` reads
#: nothing else. Under mutmut (``MUTANT_UNDER_TEST``, ``make mutation``) each call
#: parses: a mutant of the parser must not be answered from a clean run's results.
_known: Callable[[Config, bytes], tuple[Change, ...]] = (
    _known_entries if "MUTANT_UNDER_TEST" in os.environ
    else functools.lru_cache(maxsize=4_096)(_known_entries))


def impl_membership(v: TraceEvents) -> MembershipView | None:
    """The implementation's membership abstraction (module docstring); None when the
    nodes' knowledge is not a prefix of one log (no spec state matches it)."""
    config = v.config
    known: list[tuple[Change, ...]] = []
    for name in config.all_nodes:
        storage = v.cluster.storages.get(name)
        raw = storage.get_meta("membership") if storage is not None else None
        known.append(_known(config, raw) if raw else ())
    log = max(known, key=len)
    if any(log[: len(k)] != k for k in known):
        return None
    return log, tuple(len(k) for k in known)


def views_match(state: State, impl: MembershipView | None) -> bool:
    """Whether spec ``state``'s membership is the implementation's (naive handover:
    the first entry only, module docstring)."""
    ms = state.membership
    if ms is None or impl is None:
        return ms is None and impl is None
    log, views = impl
    if state.config.join_handover == "pending":
        return ms.log == log and ms.views == views
    return ms.log[:1] == log and tuple(min(x, 1) for x in ms.views) == views


def _learn(state: State, node: str, count: int) -> State | None:
    """``node`` learns the first ``count`` entries of the log (``late-gossip``)."""
    ms = state.membership
    if ms is None:
        return None
    plan_index = state.config.all_nodes.index(node)
    if count <= ms.views[plan_index]:
        return None
    views = (*ms.views[:plan_index], count, *ms.views[plan_index + 1:])
    edit = Edit(state, _plan(state))
    edit.membership = MembershipState(ms.log, views, ms.handed, ms.carried)
    return edit.build()


def _plan(state: State) -> Plan:
    return plan_of(state.config)


def late_gossip(src: str, dst: str, count: int) -> Callable[[State], State | None]:
    """Trace-spec step ``late-gossip``: ``dst`` learns the first ``count`` entries,
    at most what ``src`` knows now (its gossip message left before it learnt more,
    or before it crashed: the spec's ``Gossip`` needs both nodes up)."""

    def step(state: State) -> State | None:
        ms = state.membership
        if ms is None:
            return None
        index = state.config.all_nodes
        if not ms.views[index.index(dst)] < count <= ms.views[index.index(src)]:
            return None
        return _learn(state, dst, count)

    return step


def empty_transfers(state: State) -> State:
    """``state`` after the spec's pending range transfers whose sender holds nothing
    of the key, each sent and delivered (hidden: the implementation sends nothing)."""
    for label, _ in _successors(state):
        if isinstance(label, Transfer):
            after = apply_actions(state, [label])
            sent = [m for s in after for m in s.messages
                    if m.kind is Kind.RANGE_TRANSFER and is_empty_transfer(m)
                    and (m.src, m.dst, m.key) == (label.src, label.dst, label.key)]
            if after and sent:
                delivered = apply_actions(after[0], [Deliver(sent[0])])
                if delivered:
                    return empty_transfers(delivered[0])
    return state


def _successors(state: State) -> list[tuple[Action, State]]:
    return list(spec_model.successors(state))


def transfer_resend(src: str, dst: str, key: str, payload: Payload
                    ) -> Callable[[State], State | None]:
    """Trace-spec step ``transfer-resend``: the transfer of ``key`` from ``src`` to
    ``dst`` arrived (``handed``), its acknowledgement was lost, and the old owner
    sends the same record again (the implementation's hint retry)."""

    def step(state: State) -> State | None:
        ms = state.membership
        if ms is None or (key, src, dst) not in ms.handed:
            return None
        held = state.node(src).store[state.config.keys.index(key)]
        if not clocks.payload_equal(held, payload):
            return None  # a transfer carries what its sender holds
        edit = Edit(state, _plan(state))
        edit.send(new_message(Kind.RANGE_TRANSFER, src, dst, 0, key, payload))
        return edit.build()

    return step


def early_transfer(src: str, dst: str, key: str) -> Callable[[State], State | None]:
    """Trace-spec step ``early-transfer`` (naive handover): the spec's ``Transfer(src,
    dst, key)`` while a write of the key to ``src`` is in flight, as if that write had
    been sent after the transfer (the spec's guard waits for it; the implementation
    sends what its store holds and, when the write arrives before the transfer's
    acknowledgement, hands the new record on too, ``Gossiper.on_write``: a
    ``transfer-resend`` of what the sender then holds)."""

    def step(state: State) -> State | None:
        if state.config.join_handover == "pending":
            return None  # (pending ownership keeps the spec's guard)
        writes = [m for m in state.messages if m.key == key and m.dst == src
                  and m.kind in _WRITES]
        if not writes:
            return None  # the spec's own Transfer
        edit = Edit(state, _plan(state))
        edit.messages = [m for m in state.messages if m not in writes]
        edit.messages_dirty = True
        after = apply_actions(edit.build(), [Transfer(src, dst, key)])
        if not after:
            return None
        edit = Edit(after[0], _plan(state))
        edit.messages = [*after[0].messages, *writes]
        edit.messages_dirty = True
        return edit.build()

    return step


def _handed_to(state: State, key: str, src: str) -> tuple[str, ...] | None:
    """Naive handover, the spec's change complete (``handed``): the new owners of
    ``key`` that ``src``, an old owner of it, handed it to; else None."""
    ms = state.membership
    config = state.config
    if ms is None or not ms.log or config.join_handover == "pending" or (
            ms.log[-1][0] != "handed"):
        return None
    old, new = change_tops(config, ms.log, key)
    if src not in old or src in new:
        return None
    return tuple(n for n in new if n not in old)


def hand_on(src: str, dst: str, key: str, payload: Payload
            ) -> Callable[[State], State | None]:
    """Trace-spec step ``hand-on`` (naive handover): after the change, ``src``, an
    old owner of ``key``, sends its copy again to ``dst``, a new owner, as a range
    transfer (a write reached it after the handover from a node that had not heard
    of the change, which wrote to no new owner: the implementation hands it on
    before it lets it go, ``impl.gossip.Gossiper.on_write``)."""

    def step(state: State) -> State | None:
        owners = _handed_to(state, key, src)
        held = state.node(src).store[state.config.keys.index(key)]
        if owners is None or dst not in owners or not clocks.payload_equal(held, payload):
            return None  # a transfer carries what its sender holds
        edit = Edit(state, _plan(state))
        edit.send(new_message(Kind.RANGE_TRANSFER, src, dst, 0, key, payload))
        return edit.build()

    return step


def release_refused(state: State, key: str, src: str) -> str:
    """Why ``late-release`` of ``src``'s copy of ``key`` is not a step from
    ``state`` ("" when it is; "-" when there is nothing to let go)."""
    owners = _handed_to(state, key, src)
    held = state.node(src).store[state.config.keys.index(key)]
    if owners is None or not clock_values(held):
        return "-"
    mode = state.config.clock
    for dst in owners:
        kept = state.node(dst).store[state.config.keys.index(key)]
        if not clocks.payload_equal(clocks.merge(mode, kept, held, state.puts), kept):
            return (f"{src}'s copy of {key!r} {sorted(clock_values(held))} has a version "
                    f"its new owner {dst} does not hold ({sorted(clock_values(kept))}): "
                    "letting it go would lose it from the new owners (it must be handed "
                    "on first)")
    return ""


def late_release(key: str, src: str) -> Callable[[State], State | None]:
    """Trace-spec step ``late-release`` (naive handover): after the change, ``src``,
    an old owner of ``key``, lets go of the copy a later write left there, once every
    new owner it handed the key to holds all of it (each version, or a newer one);
    the spec keeps that copy (its handover empties the old copies once), the
    implementation lets it go at its next hint scan or on the acknowledgement of its
    hand-on (``impl.gossip.Gossiper.scanned``, ``let_go``)."""

    def step(state: State) -> State | None:
        if release_refused(state, key, src):
            return None
        node = state.node(src)
        k = state.config.keys.index(key)
        edit = Edit(state, _plan(state))
        edit.set_node(src, new_node(node.up, (*node.store[:k],
                                              clocks.empty(state.config.clock),
                                              *node.store[k + 1:]), node.hints, node.coord))
        return edit.build()

    return step


def membership_steps(v: TraceEvents, before: MembershipView | None,
                     after: MembershipView | None) -> tuple[list[Step], list[list[Step]]]:
    """The event's membership steps: those that come before the event's own steps
    (a ``Join``, a ``Leave``), and the alternative sequences that come after them
    (transfers, gossip, a ``Handover``, a ``Settle``)."""
    first: list[Step] = []
    last: list[Step] = []
    if before is None or after is None:
        return first, [[]]
    old_log, old_views = before
    log, views = after
    names = v.config.all_nodes
    for event, node in log[len(old_log):]:
        action = _ANNOUNCE[event](node)
        if event in ("join", "leave"):
            first.append(action)
        else:
            if event == "handed":
                last.append(("empty-transfers", empty_transfers))
            last.append(action)
    options: list[list[Step]] = [[]]
    for m in _new_transfers(v):
        payload = v.abstract_record(m.message.record)
        key = m.message.key.decode()
        message = new_message(Kind.RANGE_TRANSFER, m.src, m.dest, 0, key, payload)
        options = [[*o, step] for o in options for step in (
            Transfer(m.src, m.dest, key), Duplicate(message),
            ("transfer-resend", transfer_resend(m.src, m.dest, key, payload)),
            ("early-transfer", early_transfer(m.src, m.dest, key)),
            ("hand-on", hand_on(m.src, m.dest, key, payload)))]
    delivered = _gossip_delivered(v)
    if delivered is not None:
        for i, name in enumerate(names):
            announcer = any(node == name for _, node in log[len(old_log):])
            if views[i] > old_views[i] and name == delivered.dest and not announcer:
                learnt = [Gossip(delivered.src, name)]
                late = [("late-gossip", late_gossip(delivered.src, name, views[i]))]
                options = [[*o, *g] for o in options for g in (learnt, late)]
    endings: list[list[Step]] = [last]
    if (v.config.join_handover != "pending" and log and not last
            and _may_release(v)):  # naive: the handover ends the change (docstring)
        endings.append([("empty-transfers", empty_transfers), Handover(log[0][1])])
        endings.extend([("late-release", late_release(key, src))]
                       for key, src in _sources(v.config, log))
    return first, [[*o, *e] for o in options for e in endings]


def _may_release(v: TraceEvents) -> bool:
    """Whether the event may be the naive handover's release of an old owner's copy:
    a transfer's acknowledgement delivered, a hint scan, or the leave itself (an
    event of the harness: its first entry is a send)."""
    first = v.entries[0] if v.entries else None
    if first is None:
        return False
    if first[1] == "deliver":
        m = v.cache.get(first[2])
        return m is not None and type(m.message).__name__ == "HintAck"
    return first[1] == "send" or (first[1] == "tick"
                                  and type(first[3]).__name__ == "HintScan")


def _new_transfers(v: TraceEvents) -> list[InFlight]:
    """The range transfers (hint deliveries) the event sent."""
    return [m for m in v.sim.in_flight() if m.id not in v.cache
            and isinstance(m.message, HintDelivery)]


def _gossip_delivered(v: TraceEvents) -> InFlight | None:
    """The gossip message the event delivered, if it is one."""
    first = v.entries[0] if v.entries else None
    if first is None or first[1] != "deliver":
        return None
    m = v.cache.get(first[2])
    return m if m is not None and isinstance(m.message, GossipMessage) else None


def _sources(config: Config, log: tuple[Change, ...]) -> list[tuple[str, str]]:
    """``(key, node)``: the nodes the change of ``log`` moved each key away from."""
    out: list[tuple[str, str]] = []
    for key in config.keys:
        old, new = change_tops(config, log, key)
        out.extend((key, n) for n in old if n not in new)
    return out


def released(state: State, impl: Abstract) -> Abstract:
    """``impl`` with the old owners' copies of moved keys that the spec's completed
    change emptied taken as empty (lazy release, module docstring)."""
    ms = state.membership
    config = state.config
    if ms is None or not ms.log:
        return impl
    final = "settled" if config.join_handover == "pending" else "handed"
    if ms.log[-1][0] != final:
        return impl
    nodes = list(impl.nodes)
    for key, src in _sources(config, ms.log):
        i = config.all_nodes.index(src)
        k = config.keys.index(key)
        spec_store = state.nodes[i].store[k]
        up, store, hints = nodes[i]
        if store[k] != spec_store and not clock_values(spec_store):
            nodes[i] = (up, (*store[:k], spec_store, *store[k + 1:]), hints)
    return Abstract(tuple(nodes), impl.messages, impl.clients, impl.side, impl.unpersisted)




#: the naive handover's old copy let go while a request of the key is coordinated
#: (the spec's handover waits: a request begun on the old ring may still read it)
RELEASE_IN_REQUEST = ("the old owners' copies must not go yet (the implementation's naive "
                      "handover lets its copy go on the transfer's acknowledgement)")


def pending_transfers(state: State) -> list[tuple[str, str, str]]:
    """The range transfers ``(key, src, dst)`` of the current change not arrived yet."""
    ms = state.membership
    if ms is None or not ms.log:
        return []
    out: list[tuple[str, str, str]] = []
    for key in state.config.keys:
        old, new = change_tops(state.config, ms.log, key)
        out.extend((key, src, dst) for src in old if src not in new
                   for dst in new if dst not in old if (key, src, dst) not in ms.handed)
    return out


def _adds_at_receiver(state: State, m: Message) -> bool:
    """The range transfer ``m`` in flight adds a version to its receiver's copy."""
    if m.payload is None:
        return False
    kept = state.node(m.dst).store[state.config.keys.index(m.key)]
    merged = clocks.merge(state.config.clock, kept, m.payload, state.puts)
    return not clocks.payload_equal(merged, kept)


def diagnose(state: State, options: Sequence[Sequence[Step]]) -> str:
    """Why the spec does not take the membership steps of an event's candidates from
    ``state`` (the spec's guards, :mod:`spec.membership`), one line each; "" when
    every one is enabled."""
    ms = state.membership
    if ms is None:
        return ""
    enabled = {label for label, _ in spec_model.successors(state)}
    config = state.config
    names = config.all_nodes
    unaware = [n for i, n in enumerate(names) if ms.views[i] < len(ms.log)
               and (n in config.nodes or any(node == n for _, node in ms.log))]
    busy = [names[i] for i, n in enumerate(state.nodes) if n.coord]
    lines: list[str] = []
    for action in dict.fromkeys(a for o in options for a in o
                                if isinstance(a, MEMBERSHIP_ACTIONS)):
        if action in enabled:
            continue
        why = "its guard is false here"
        if isinstance(action, Transfer):
            if (action.key, action.src, action.dst) in ms.handed:
                why = "that transfer already arrived"
            elif config.join_handover == "pending" and unaware:
                why = (f"{', '.join(unaware)} do(es) not know the change {ms.log[-1]} yet "
                       "(pending ownership: a range moves once every member knows the "
                       "change; the implementation transfers at its next hint scan)")
            else:
                why = "a write of the key to its sender is in flight, or it is in flight"
        elif isinstance(action, Handover) and ms.log[-1][0] in ("handed", "settled"):
            why = f"the log has its handover already (last entry {ms.log[-1]})"
        elif isinstance(action, Handover) and not pending_transfers(state) and any(
                _adds_at_receiver(state, m) for m in state.messages
                if m.kind is Kind.RANGE_TRANSFER):
            why = ("a late re-transfer is in flight that adds a version to its receiver's "
                   "copy (the handover waits until it arrived: its old owner keeps the hint "
                   "until the new owner acknowledges it, spec.membership.late_transfers)")
        elif isinstance(action, Handover) and not pending_transfers(state) and busy:
            why = (f"a request of a moved key is being coordinated (at {', '.join(busy)}): "
                   f"{RELEASE_IN_REQUEST}")
        elif isinstance(action, Handover):
            not_yet = f"; not yet: {', '.join(unaware)}" if unaware else ""
            why = ("a range transfer of the change has not arrived (the spec's handover "
                   "waits for every transfer; pending ownership: a transfer waits until "
                   f"every member knows the change{not_yet})")
        elif isinstance(action, Settle):
            if unaware:
                why = (f"{', '.join(unaware)} do(es) not know the handover yet (the spec "
                       "settles once every member knows it; the implementation settles "
                       "JOINT_ROUNDS gossip rounds after it)")
            elif busy:
                why = (f"a request of a moved key is being coordinated (at {', '.join(busy)}):"
                       " the copies it may read must not go yet")
        lines.append(f"the spec's {action} is not enabled: {why}")
    if any(isinstance(a, tuple) and a[0] == "late-release" for o in options for a in o):
        for key, src in _sources(config, ms.log):
            why = release_refused(state, key, src)
            if why not in ("", "-"):
                lines.append(f"the trace spec's late-release is not a step: {why}")
    return "\n".join(lines)


def change_unfinished(frontier: Sequence[State], impl: Abstract) -> str:
    """Progress at the end of a run (the faults stopped, the run quiet): the change
    must be complete in a spec state the run reached (its last entry, ``settled``;
    naive: ``handed``, announced) and the old owners' copies let go on the
    implementation too (no lazy release left); "" when so, else what is missing."""
    for state in frontier:
        ms = state.membership
        if ms is None or not ms.log:
            return ""  # no change started (a run whose change came after the workload)
        final = "settled" if state.config.join_handover == "pending" else "handed"
        if ms.log[-1][0] == final and released(state, impl) == impl:
            return ""
    ms = frontier[0].membership
    assert ms is not None
    if ms.log[-1][0] not in ("settled", "handed") or (
            frontier[0].config.join_handover == "pending" and ms.log[-1][0] != "settled"):
        return f"the membership change is not complete: the spec's log is {list(ms.log)}"
    return ("an old owner still holds its copy of a moved key that the completed change "
            "emptied (it never let it go)")
