"""Hinted handoff (paper section 4.6).

Theory of operation
-------------------
A fallback keeps the replica puts it received for an *intended* node in its
durable hint store (:func:`spec.replica.on_replica_put`). Once the intended node
is reachable, the fallback sends it the hint as a ``hint-delivery``
(:func:`hinted_handoffs`, the :class:`~spec.actions.Handoff` action); the
intended node reconciles it into its store and acknowledges with a ``hint-ack``
(:func:`on_hint_delivery`); the fallback deletes the hint when the
acknowledgement arrives (:func:`on_hint_ack`), not before, so a lost message
only delays the handoff. Ghost records ``hints_acked`` and ``hints_deleted``
(``(fallback, intended, key, payload)``) let the properties check that a hint
is deleted only after its intended node stored it.

A hint is (re)sent only when no copy of its delivery or acknowledgement is in
flight (a reduction, see docs/spec.md).

*An outsider's copy* (session 54, :func:`outsider_copies`; only with
``workload.coordinator = "any"``): a forwarder that coordinated a put itself
(:class:`~spec.actions.ForwardFallback`) stored it although it is outside the key's
top N. Once it coordinates no put of the key it keeps its copy as a hint for each
node of the top N (:class:`~spec.actions.OutsiderHandoff`), handed off as any hint,
and deletes the copy once every node of the top N acknowledged a hint of it
(:class:`~spec.actions.OutsiderLetGo`; the implementation's rule: an owner that
acknowledged and then lost its disk does not hold the copy back). Only a node that
coordinated a put of the key does so (a copy a read repair wrote at a fallback stays,
as in the implementation). Paper 4.6 ("the replica ... will have a hint in its
metadata that suggests which node was the intended recipient"); the implementation's
``impl.gossip.Gossiper.hand_outsider_copy`` and ``let_go``.
"""

from __future__ import annotations

from collections.abc import Iterator

from spec import clocks
from spec.actions import Action, Handoff, OutsiderHandoff, OutsiderLetGo
from spec.rebuild import unrebuilt
from spec.state import Hint, Kind, Message, NodeState, State, new_hint, new_message, new_node
from spec.step import Edit, Plan

__all__ = ["handoff_in_flight", "hinted_handoffs", "on_hint_ack", "on_hint_delivery",
           "outsider_copies"]


def hinted_handoffs(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """Every fallback's handoff of a hint to its reachable intended node."""
    if not plan.config.hinted_handoff:
        return
    nodes = state.nodes
    index = plan.index
    side = state.side
    for fallback, node in zip(plan.nodes, nodes, strict=True):
        if not node.up:
            continue
        for hint in node.hints:
            intended = nodes[index[hint.intended]]
            if not intended.up or (hint.intended in side) != (fallback in side):
                continue
            if handoff_in_flight(state, fallback, hint):
                continue
            edit = Edit(state, plan)
            edit.send(new_message(Kind.HINT_DELIVERY, fallback, hint.intended, 0, hint.key,
                                  hint.payload, hint.intended))
            yield Handoff(fallback, hint.intended, hint.key, hint.payload), edit.build()


def handoff_in_flight(state: State, fallback: str, hint: Hint) -> bool:
    """A delivery of ``hint`` by ``fallback``, or its acknowledgement, is in flight."""
    for m in state.messages:
        if (
            (m.kind is Kind.HINT_DELIVERY and m.src == fallback)
            or (m.kind is Kind.HINT_ACK and m.dst == fallback)
        ) and m.intended == hint.intended and m.key == hint.key and (
            m.payload is not None and clocks.payload_equal(m.payload, hint.payload)
        ):
            return True
    return False


def on_hint_delivery(edit: Edit, m: Message, dst: NodeState) -> None:
    """A ``hint-delivery`` reaches its intended node ``dst``: store it, acknowledge
    (not while ``dst`` rebuilds ``m.key``: :func:`spec.rebuild.unrebuilt`; the fallback
    keeps the hint)."""
    assert m.payload is not None
    edit.store(m.dst, m.key, m.payload)
    if edit.rebuilding and unrebuilt(edit.rebuilding, m.dst, m.key):
        return
    edit.hints_acked = edit.hints_acked | {(m.src, m.dst, m.key, m.payload)}
    edit.send(new_message(Kind.HINT_ACK, m.dst, m.src, 0, m.key, m.payload, m.dst))


def on_hint_ack(edit: Edit, m: Message, dst: NodeState) -> None:
    """A ``hint-ack`` reaches the fallback ``dst``: it deletes the hint."""
    assert m.payload is not None
    hint = new_hint(m.src, m.key, m.payload)
    if hint in dst.hints:
        hints = tuple(h for h in dst.hints if h != hint)
        edit.set_node(m.dst, new_node(dst.up, dst.store, hints, dst.coord))
        edit.hints_deleted = edit.hints_deleted | {(m.dst, m.src, m.key, m.payload)}


def outsider_copies(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """Every outsider's hand-off of its copy of a key, and its letting the copy go
    (see the module docstring): for each up node outside a key's top N that stores a
    copy of the key and coordinates no put of it, an
    :class:`~spec.actions.OutsiderHandoff` (if it coordinated a put of the key,
    :func:`_coordinated`) unless it keeps that copy as a hint for every node of the
    top N already, and an :class:`~spec.actions.OutsiderLetGo` once every node of the
    top N acknowledged a hint of that copy (:func:`_acknowledged`). Nothing unless
    ``workload.coordinator = "any"`` with ``hinted_handoff`` (no node outside the top
    N stores a copy otherwise)."""
    config = plan.config
    if config.coordinator != "any" or not config.hinted_handoff:
        return
    empty = clocks.empty(config.clock)
    for name, node in zip(plan.nodes, state.nodes, strict=True):
        if not node.up:
            continue
        for k, key in enumerate(plan.keys):
            top = plan.top[key]
            copy = node.store[k]
            if (name in top or clocks.payload_equal(copy, empty)
                    or any(c.is_put and c.key == key for c in node.coord)
                    or not _coordinated(state, name, key)):
                continue
            if not all(new_hint(t, key, copy) in node.hints for t in top):
                edit = Edit(state, plan)
                _hand(edit, name, node, key, copy)
                yield OutsiderHandoff(name, key), edit.build()
            if all(_acknowledged(state, name, t, key, copy) for t in top):
                edit = Edit(state, plan)
                store = (*node.store[:k], empty, *node.store[k + 1:])
                edit.set_node(name, new_node(node.up, store, node.hints, node.coord))
                yield OutsiderLetGo(name, key), edit.build()


def _hand(edit: Edit, name: str, node: NodeState, key: str, copy: clocks.Payload) -> None:
    """``node`` (``name``) keeps ``copy`` of ``key`` as a hint for each node of the
    top N, in place of each hint of the key for that node ``copy`` covers
    (``impl.gossip.Gossiper._hand``)."""
    clock = edit.plan.config.clock
    kept = [h for h in node.hints
            if not (h.key == key and h.intended in edit.plan.top[key]
                    and _covers(clock, copy, h.payload, edit.source))]
    hints = {*kept, *(new_hint(t, key, copy) for t in edit.plan.top[key])}
    ordered = tuple(sorted(hints, key=lambda h: h.order))
    edit.set_node(name, new_node(node.up, node.store, ordered, node.coord))


def _coordinated(state: State, name: str, key: str) -> bool:
    """Whether ``name`` coordinated a put of ``key`` (outside its top N: a
    :class:`~spec.actions.ForwardFallback`). The implementation hands a copy only
    then (``impl.gossip.Gossiper.mark_outsider_copy`` at
    ``PutCoordinator._coordinate``, ``hand_outsider_copy`` at the put's end); a copy a
    read repair wrote at a fallback (``features.read_repair_fallbacks``) is never
    handed there, and stays (impl/read_repair.py's docstring, session 27). Session
    54's review: before, the spec handed that copy too (4 nodes, N = 3, one crash:
    ``OutsiderHandoff`` in 9 steps with no forward coordinated). (Over-approximated:
    a copy written there again after a let-go is handed again; the implementation
    forgot the key.)"""
    return any(record is not None and record.key == key and record.coordinator == name
               for record in state.puts)


def _acknowledged(state: State, name: str, owner: str, key: str,
                  copy: clocks.Payload) -> bool:
    """Whether ``owner`` acknowledged a hint of ``key`` holding ``copy`` that ``name``
    kept for it (the ghost record ``State.hints_deleted``: its fallback deleted it at
    the acknowledgement). The implementation's rule (``impl.gossip.Gossiper.let_go``,
    ``_stray_acknowledged``: the copy goes once every owner acknowledged the record
    it still holds), not whether the owners' copies cover it today: an owner that
    acknowledged and then lost its disk holds the copy no more, and the outsider,
    which cannot know, lets it go all the same (session 54's review; before, the spec
    waited for the owners' copies to cover it, a run the implementation's let-go
    diverged from)."""
    return any(record[0] == name and record[1] == owner and record[2] == key
               and clocks.payload_equal(record[3], copy) for record in state.hints_deleted)


def _covers(clock: str, big: clocks.Payload, small: clocks.Payload, state: State) -> bool:
    """Whether ``big`` covers ``small``: merging ``small`` into it changes nothing."""
    return clocks.payload_equal(clocks.merge(clock, big, small, state.puts), big)
