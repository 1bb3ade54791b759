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
"""

from __future__ import annotations

from collections.abc import Iterator

from spec import clocks
from spec.actions import Action, Handoff
from spec.state import Hint, Kind, Message, NodeState, State, new_hint, new_message, new_node
from spec.step import Edit, Plan

__all__ = ["handoff_in_flight", "hinted_handoffs", "on_hint_ack", "on_hint_delivery"]


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
    """A ``hint-delivery`` reaches its intended node ``dst``: store it, acknowledge."""
    assert m.payload is not None
    edit.store(m.dst, m.key, m.payload)
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
