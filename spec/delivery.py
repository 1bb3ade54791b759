"""Delivery of in-flight messages: a table from message kind to its handler.

The network of the paper's sections 4.5-4.6 (messages may be lost, duplicated,
reordered, cut off by a partition); the handlers implement the receivers' parts.

Theory of operation
-------------------
The network is a multiset of in-flight messages (``State.messages``): any of
them may be delivered next, so reordering is free; loss and duplication are
faults (:mod:`spec.faults`). :func:`deliveries` yields one
:class:`~spec.actions.Deliver` step per distinct in-flight message whose two ends
are on the same side of the partition (a message across the partition waits
for the heal). Delivery removes one copy; at a down node the message is lost
(and at a node that never heard of its sender: :func:`spec.membership.knows`);
otherwise the handler of its kind (:data:`HANDLERS`) performs the receiver's
part, each in the module of its mechanism:

=====================  ===================================================
kind                   handler (receiver's role)
=====================  ===================================================
``forward``            :func:`spec.requests.on_forward` (coordinator)
``replica-put``        :func:`spec.replica.on_replica_put` (replica/fallback)
``replica-put-ack``    :func:`spec.coordination.on_replica_put_ack`
``replica-put-failed`` :func:`spec.coordination.on_replica_put_failed`
``replica-get``        :func:`spec.replica.on_replica_get` (replica/fallback)
``replica-get-reply``  :func:`spec.coordination.on_replica_get_reply`
``read-repair``        :func:`spec.read_repair.on_read_repair` (replica)
``hint-delivery``      :func:`spec.handoff.on_hint_delivery` (intended)
``hint-ack``           :func:`spec.handoff.on_hint_ack` (fallback)
``range-transfer``     :func:`spec.membership.on_range_transfer` (new owner)
=====================  ===================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import MappingProxyType

from spec.actions import Action, new_deliver
from spec.coordination import on_replica_get_reply, on_replica_put_ack, on_replica_put_failed
from spec.handoff import on_hint_ack, on_hint_delivery
from spec.membership import knows, on_range_transfer
from spec.read_repair import on_read_repair
from spec.replica import on_replica_get, on_replica_put
from spec.requests import on_forward
from spec.state import Kind, Message, NodeState, State
from spec.step import Edit, Plan

__all__ = ["HANDLERS", "Handler", "deliver", "deliverable", "deliveries"]

#: ``handler(edit, message, receiver)``: the receiver's part of a delivery (the
#: receiver ``message.dst`` is up; ``edit`` already lost the delivered copy).
Handler = Callable[[Edit, Message, NodeState], None]

#: Message kind -> its handler (every kind has one).
HANDLERS: MappingProxyType[Kind, Handler] = MappingProxyType({
    Kind.FORWARD: on_forward,
    Kind.REPLICA_PUT: on_replica_put,
    Kind.REPLICA_PUT_ACK: on_replica_put_ack,
    Kind.REPLICA_PUT_FAILED: on_replica_put_failed,
    Kind.REPLICA_GET: on_replica_get,
    Kind.REPLICA_GET_REPLY: on_replica_get_reply,
    Kind.READ_REPAIR: on_read_repair,
    Kind.HINT_DELIVERY: on_hint_delivery,
    Kind.HINT_ACK: on_hint_ack,
    Kind.RANGE_TRANSFER: on_range_transfer,
})
assert set(HANDLERS) == set(Kind), "every message kind needs a handler"


def deliveries(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """One delivery per distinct in-flight message not cut off by the partition."""
    for position, m in deliverable(state):
        edit = Edit(state, plan)
        deliver(edit, m, position)
        yield new_deliver(m), edit.build()


def deliverable(state: State) -> Iterator[tuple[int, Message]]:
    """``(position, message)`` of the first copy of every distinct in-flight message
    whose two ends are on the same side of the partition."""
    side = state.side
    previous: Message | None = None
    for position, m in enumerate(state.messages):
        if previous is not None and m._hash == previous._hash and m == previous:
            continue
        previous = m
        if (m.src in side) != (m.dst in side):
            continue
        yield position, m


def deliver(edit: Edit, m: Message, position: int) -> None:
    """Deliver ``m``, the source state's ``position``-th message, into ``edit``."""
    edit.remove_at(position)
    dst = edit.node(m.dst)
    if dst.up and (edit.membership is None  # else lost at a down node
                   or knows(edit.plan, edit.membership, m.dst, m.src)):  # or an unknown peer
        _HANDLERS[m.kind](edit, m, dst)


_HANDLERS = dict(HANDLERS)  # a plain dict: the fastest lookup on the hot path
