"""The replica's side of a get or a put (paper sections 4.5-4.6).

Theory of operation
-------------------
A ``replica-put`` reaching a top-N node is reconciled into its durable store; one
reaching a fallback (it names an ``intended`` node) is kept in the fallback's
hint store instead, for hinted handoff (:mod:`spec.handoff`). A ``replica-get``
is answered with the node's copy of the key; with ``features.hinted_reads``
(session 49) merged with the hints the node keeps of the key, so that a fallback
whose acknowledgement counted towards a put's W serves that put to a get's R
(:func:`served`; Riak's fallback vnodes serve what they took, and the
implementation does by default); without, the hints stay apart, as paper 4.6's
"separate local database" (the spec's default). A write the receiver's disk
refuses (``faults.write_failures``, session 51) stores nothing and is answered
``replica-put-failed`` (:func:`refuse_replica_put`). Either answer (``replica-put-ack``,
``replica-get-reply``) is sent only while the coordinator still awaits it: an
answer nobody waits for could only ever be delivered without effect (a request
never restarts), so it is not sent at all (a reduction, see docs/spec.md). Both
handlers are entries of the delivery table of :mod:`spec.delivery`.
"""

from __future__ import annotations

import operator

from spec import clocks
from spec.clocks import Payload
from spec.rebuild import uncounted, unrebuilt
from spec.state import Kind, Message, NodeState, new_hint, new_message, new_node
from spec.step import Edit, find_coordination

__all__ = ["awaited", "on_replica_get", "on_replica_put", "refuse_replica_put", "served"]


def on_replica_put(edit: Edit, m: Message, dst: NodeState) -> None:
    """A ``replica-put`` reaches ``dst``: store it (or keep it as a hint), then ack
    (not a put of its own while ``dst`` rebuilds: :func:`spec.rebuild.uncounted`)."""
    assert m.payload is not None
    if m.intended:
        hint = new_hint(m.intended, m.key, m.payload)
        if hint not in dst.hints:
            hints = tuple(sorted((*dst.hints, hint), key=_hint_order))
            edit.set_node(m.dst, new_node(dst.up, dst.store, hints, dst.coord))
    else:
        edit.store(m.dst, m.key, m.payload)
    if edit.rebuilding and (not m.intended or m.intended == m.dst) and uncounted(
            edit.rebuilding, m.dst):
        return  # stored, not acknowledged (session 55)
    if awaited(edit, m):
        edit.send(new_message(Kind.REPLICA_PUT_ACK, m.dst, m.src, m.request, m.key))


def refuse_replica_put(edit: Edit, m: Message) -> None:
    """``m``, a ``replica-put``, reached its receiver, whose disk refused the write
    (``faults.write_failures``, :class:`~spec.actions.FailedWrite`): nothing is stored
    (nor kept as a hint), and the coordinator, if it still awaits the receiver, is
    answered ``replica-put-failed`` (riak_kv's vnode answers ``{error, ...}``; the
    implementation's ``ReplicaPutFailed``, wire 45). ``features.failed_write_acks``
    (the broken twin): it is answered ``replica-put-ack``, as if stored."""
    if awaited(edit, m):
        kind = Kind.REPLICA_PUT_ACK if edit.plan.config.failed_write_acks else (
            Kind.REPLICA_PUT_FAILED)
        edit.send(new_message(kind, m.dst, m.src, m.request, m.key))


def on_replica_get(edit: Edit, m: Message, dst: NodeState) -> None:
    """A ``replica-get`` reaches ``dst``: it replies with what it serves of the key
    (:func:`served`); nothing while it rebuilds the key (:func:`spec.rebuild.unrebuilt`)."""
    if edit.rebuilding and unrebuilt(edit.rebuilding, m.dst, m.key):
        return
    if awaited(edit, m):
        payload = served(edit, m.dst, dst, m.key)
        edit.send(new_message(Kind.REPLICA_GET_REPLY, m.dst, m.src, m.request, m.key, payload))


def served(edit: Edit, name: str, node: NodeState, key: str) -> Payload:
    """What node ``name`` (its state ``node``) answers a read of ``key`` with: its copy
    of the key, merged, with ``features.hinted_reads``, with the payload of every hint
    it keeps of the key (for any intended node) by the merge a store makes
    (:meth:`spec.step.Edit.store`: :func:`spec.clocks.merge`, then a prune with
    ``prune_retired``); the copy itself when it keeps none (as the implementation's
    ``impl.replica.Replica.served``)."""
    payload = node.store[edit.plan.key_index[key]]
    config = edit.plan.config
    if not config.hinted_reads:
        return payload
    hinted = [hint.payload for hint in node.hints if hint.key == key]
    if not hinted:
        return payload
    for other in hinted:
        payload = clocks.merge(config.clock, payload, other, edit.puts)
    return edit.pruned(name, payload) if config.prune_retired >= 0 else payload


def awaited(edit: Edit, m: Message) -> bool:
    """Whether the coordinator that sent ``m`` still awaits ``m.dst``'s answer."""
    coordinator = edit.node(m.src)
    if not coordinator.up:
        return False
    coord = find_coordination(coordinator, m.request)
    return coord is not None and (any(t == m.dst for t, _ in coord.awaiting)
                                  or m.dst in coord.refused)


_hint_order = operator.attrgetter("order")
