"""The replica's side of a get or a put (paper sections 4.5-4.6).

Theory of operation
-------------------
A ``replica-put`` reaching a top-N node is reconciled into its durable store; one
reaching a fallback (it names an ``intended`` node) is kept in the fallback's
hint store instead, for hinted handoff (:mod:`spec.handoff`). A ``replica-get``
is answered with the node's copy of the key. Either answer (``replica-put-ack``,
``replica-get-reply``) is sent only while the coordinator still awaits it: an
answer nobody waits for could only ever be delivered without effect (a request
never restarts), so it is not sent at all (a reduction, see docs/spec.md). Both
handlers are entries of the delivery table of :mod:`spec.delivery`.
"""

from __future__ import annotations

import operator

from spec.state import Kind, Message, NodeState, new_hint, new_message, new_node
from spec.step import Edit, find_coordination

__all__ = ["awaited", "on_replica_get", "on_replica_put"]


def on_replica_put(edit: Edit, m: Message, dst: NodeState) -> None:
    """A ``replica-put`` reaches ``dst``: store it (or keep it as a hint), then ack."""
    assert m.payload is not None
    if m.intended:
        hint = new_hint(m.intended, m.key, m.payload)
        if hint not in dst.hints:
            hints = tuple(sorted((*dst.hints, hint), key=_hint_order))
            edit.set_node(m.dst, new_node(dst.up, dst.store, hints, dst.coord))
    else:
        edit.store(m.dst, m.key, m.payload)
    if awaited(edit, m):
        edit.send(new_message(Kind.REPLICA_PUT_ACK, m.dst, m.src, m.request, m.key))


def on_replica_get(edit: Edit, m: Message, dst: NodeState) -> None:
    """A ``replica-get`` reaches ``dst``: it replies with its copy of the key."""
    if awaited(edit, m):
        payload = dst.store[edit.plan.key_index[m.key]]
        edit.send(new_message(Kind.REPLICA_GET_REPLY, m.dst, m.src, m.request, m.key, payload))


def awaited(edit: Edit, m: Message) -> bool:
    """Whether the coordinator that sent ``m`` still awaits ``m.dst``'s answer."""
    coordinator = edit.node(m.src)
    if not coordinator.up:
        return False
    coord = find_coordination(coordinator, m.request)
    return coord is not None and any(t == m.dst for t, _ in coord.awaiting)


_hint_order = operator.attrgetter("order")
