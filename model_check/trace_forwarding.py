"""Trace validation's forwarded puts (session 53): the implementation's forwarding
handshake as the spec's one ``forward`` message (:mod:`model_check.trace_validation`).

Theory of operation
-------------------
The spec (:mod:`spec.requests`) sends a client's request to a node outside the key's
top N on to the first of them as one ``forward`` message, whose delivery starts the
coordination there (a refused own write: :class:`~spec.actions.FailedWrite` of the
forward); the client hears the coordinator's decision at once. The implementation
(:mod:`impl.forwarding`) forwards a put to the first top-N node its failure detector
believes reachable in three messages (``Forward``; the coordinator's ``ForwardClaim``;
the forwarder's ``ForwardGrant``), coordinates it at the grant, and answers the
forwarder (``ForwardReply``), which answers the client. The mapping:

- the spec's ``forward`` (from the forwarder to the node it forwards to now) is in
  flight while the forwarder (up) holds the put (its :class:`impl.forwarding.Forwarding`),
  its client waits and its coordination has not started, or while a granting
  ``ForwardGrant`` of it is in flight (:func:`forwards`): the forwarder sends it again,
  to the same node or the next, until it is granted, so a message of the handshake
  lost is no loss of the forward. The delivery or the loss of any forwarding message
  is a stutter, but the delivery of the ``ForwardGrant`` that starts the coordination:
  the spec's ``Deliver`` of the forward, or its ``FailedWrite`` when the coordinator's
  disk refused its own write (:func:`forward_step`). The forwarder's crash, or its
  timeout that answers the client (a granted put whose coordinator is silent), is the
  spec's ``Drop`` of the forward (:func:`extra_steps`);
- a forward to another top-N node than the first (at once, its failure detector
  suspecting the first; or the forwarder's timeout, or a ``ForwardDecline``, sending it
  to the next) is the spec's :class:`~spec.actions.ForwardAgain`, and a forwarder that
  coordinates the put itself when no top-N node answered is the spec's
  :class:`~spec.actions.ForwardFallback` (session 54, :func:`spec.requests.
  forward_retries`; session 53 named them the trace-spec step ``forward-again`` and the
  spec gap ``forward-elsewhere``; :func:`extra_steps`);
- the coordinator's acknowledgement is the put's as soon as it is given
  (:func:`note_acks`: the spec's client hears the decision at once; the
  implementation's client hears it through the forwarder, and hears a timeout
  instead when the ``ForwardReply`` is lost: with ``workload.chain_puts`` the spec's
  :class:`~spec.actions.Unheard` then, session 61, the chaining client keeping its
  older context);
- a named spec gap (:func:`known_gap`): ``forward-answer-lost`` (the acknowledgement
  of a put whose coordination ended in the event it was sent, lost when sent: not
  seen), and with ``workload.chain_puts`` ``chained-answer-unheard`` (session 61: a
  forwarded put answered to its client with an error before its coordinator
  acknowledged it; an acknowledgement answered with an error after it is the spec's
  :class:`~spec.actions.Unheard`, the client keeping its older context).

Only runs whose spec configuration sends requests to any node (``workload.coordinator
= "any"``: ``trace_config(write_failures=True)``) see forwards; in every other run the
workload sends to the key's top N and nothing here acts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from impl.messages import (
    Forward,
    ForwardClaim,
    ForwardDecline,
    ForwardGrant,
    ForwardReply,
)
from impl.simulator import InFlight
from spec.actions import (
    Deliver,
    Drop,
    FailedWrite,
    ForwardAgain,
    ForwardFallback,
    OutsiderHandoff,
    OutsiderLetGo,
)
from spec.state import Kind, Message

if TYPE_CHECKING:
    from model_check.trace_events import Step, TraceEvents

__all__ = ["FORWARD_TYPES", "extra_steps", "forward_step", "forwards", "known_gap",
           "note_acks", "note_coordinations", "outsider_steps"]

#: the implementation's forwarding messages
FORWARD_TYPES = (Forward, ForwardClaim, ForwardGrant, ForwardDecline, ForwardReply)


def forwards(v: TraceEvents) -> list[Message]:
    """The spec ``forward`` of each put whose coordination has not started and that an
    up forwarder holds (its client waiting), or whose grant is in flight (the forwarder
    may have crashed since: the grant still starts the coordination), sorted."""
    out: dict[tuple[str, int], Message] = {}
    for name, node in v.sim.nodes.items():
        forwarder: Any = getattr(node, "forwarder", None)
        if forwarder is None or v.sim.is_down(name):
            continue
        for op_id, forwarding in forwarder.forwardings.items():
            record = v.requests.get(forwarding.request_id)
            if (record is None or not record.is_put or record.done
                    or (name, op_id) in v.forward_started):
                continue
            v.forward_tokens[(name, op_id)] = record
            out[(name, op_id)] = Message(Kind.FORWARD, name, forwarding.target,
                                         record.spec_id, record.key)
    for m in v.sim.in_flight():
        message = m.message
        token = (m.src, getattr(message, "op_id", 0))
        if (isinstance(message, ForwardGrant) and message.granted and token not in out
                and token not in v.forward_started
                and (record := v.forward_tokens.get(token)) is not None):
            out[token] = Message(Kind.FORWARD, m.src, m.dest, record.spec_id, record.key)
    return sorted(out.values(), key=lambda m: (m.request, m.src, m.dst))


def note_coordinations(v: TraceEvents) -> list[tuple[str, int]]:
    """Register every put coordination of an up node that the validator does not know
    yet and that answers a client request it knows (a forwarded put, started at its
    grant; or one its forwarder coordinates itself) as that request's, and its
    handshake as started. Returns the (node, op id) registered."""
    new: list[tuple[str, int]] = []
    for name, node in v.sim.nodes.items():
        puts: Any = getattr(node, "puts", None)
        if puts is None:
            continue
        for op_id, coordination in puts.coordinations.items():
            if (name, op_id) in v.ops:
                continue
            reply_to = coordination.reply_to
            record = v.requests.get(reply_to.request_id)
            if record is None or reply_to.internal:
                continue
            v.ops[(name, op_id)] = record.spec_id
            if reply_to.peer:
                v.forward_started.add((reply_to.peer, reply_to.op_id))
                v.forward_ops[(name, op_id)] = record
                v.forward_replies[(reply_to.peer, reply_to.op_id)] = record
            new.append((name, op_id))
    return new


def note_acks(v: TraceEvents) -> None:
    """Note the forwarded puts their coordinator acknowledged (in this event or before):
    one it still coordinates that answered (a failed put's coordination ends as it
    answers), or whose ``ForwardReply`` without error left in this event."""
    for (name, op_id), record in list(v.forward_ops.items()):
        node: Any = v.sim.nodes.get(name)
        coordination = node.puts.coordinations.get(op_id) if node is not None else None
        if coordination is not None and coordination.replied:
            v.forward_acked.add((record.client, record.spec_id))
    for m in v.sim.in_flight():
        message = m.message
        if (m.id not in v.cache and isinstance(message, ForwardReply)
                and message.kind == "put" and not message.error):
            replied = v.forward_replies.get((m.dest, message.op_id))
            if replied is not None:
                v.forward_acked.add((replied.client, replied.spec_id))


def forward_step(v: TraceEvents, m: InFlight, before: Sequence[Message]) -> list[list[Step]]:
    """The candidate steps of a forwarding message delivered: the ``ForwardGrant`` that
    starts the coordination of a forward of ``before`` (the forwards before the event)
    is its ``Deliver`` (``FailedWrite`` when the coordinator's disk refused its own
    write, session 53); every other a stutter (the forwarder's changes are
    :func:`extra_steps`)."""
    message = m.message
    if isinstance(message, ForwardGrant) and message.granted:
        requests = {v.ops[op] for op in v.new_ops if op[0] == m.dest}
        started = next((f for f in before if f.src == m.src and f.request in requests), None)
        if started is not None:
            if m.dest in v.refused:
                v.report.refusals["forward"] += 1
                return [[FailedWrite(started)]]
            return [[Deliver(started)]]
    return [[]]


def extra_steps(v: TraceEvents, before: Sequence[Message]) -> list[Step]:
    """The steps that follow any event's for the forwards it changed: for each forward
    of ``before`` whose forwarder now forwards it to another node (its timeout, a
    ``ForwardDecline``), the spec's :class:`~spec.actions.ForwardAgain` (session 54;
    a trace-spec step ``forward-again`` in session 53), and so for a new forward to
    another node than the first (its failure detector suspects the first: the spec's
    forward to the first, then sent on); for each one its forwarder now coordinates
    itself (no top-N node answered), the spec's
    :class:`~spec.actions.ForwardFallback` (session 54; the spec gap
    ``forward-elsewhere`` in session 53); for each one no forwarder holds any more
    and whose coordination did not start (a crashed forwarder, a client answered with
    a timeout), its ``Drop``. The spec's two retries are enabled only where the
    forwarder cannot reach the target (its accurate failure detection); where the
    implementation's detector suspected a node the spec can reach, or a reachable
    node declined, the validator runs them inside its hidden faults
    (:meth:`model_check.trace_validation.TraceValidator._around_beliefs`)."""
    after = {(f.src, f.request): f for f in forwards(v)}
    started = set(v.ops.values())
    steps: list[Step] = []
    for f in before:
        now = after.get((f.src, f.request))
        if now is not None and now.dst != f.dst:
            steps.append(ForwardAgain(f, now.dst))
        elif now is None and _coordinates(v, f.src, f.request):
            steps.append(ForwardFallback(f))
        elif now is None and f.request not in started:
            steps.append(Drop(f))
    known = {(f.src, f.request) for f in before}
    for (src, request), f in after.items():
        first = v.config.top_n(f.key)[0]
        if (src, request) not in known and f.dst != first:
            # a new forward to another node than the first of the top N (its failure
            # detector suspects the first): the spec's forward, sent on
            steps.append(ForwardAgain(dataclasses.replace(f, dst=first), f.dst))
    return [*steps, *outsider_steps(v)]


def outsider_steps(v: TraceEvents) -> list[Step]:
    """The steps of the copies of nodes outside a key's top N (a forwarder that
    coordinated a put, :class:`~spec.actions.ForwardFallback`) in this event: a copy
    handed to the top N as hints (``impl.gossip.Gossiper.hand_outsider_copy``, at the
    put's end; its ``strays`` entry new or changed) is the spec's
    :class:`~spec.actions.OutsiderHandoff`; a handed copy deleted (its entry gone,
    the key no longer stored: ``let_go`` at the last owner's acknowledgement) is
    :class:`~spec.actions.OutsiderLetGo` (session 54)."""
    now: dict[tuple[str, str], bytes] = {}
    for name, node in v.sim.nodes.items():
        if v.sim.is_down(name):
            now.update({t: raw for t, raw in v.strays_before.items() if t[0] == name})
            continue
        gossiper: Any = getattr(node, "gossiper", None)
        strays = gossiper.strays if gossiper is not None else {}
        now.update({(name, key.decode()): held[0] for key, held in strays.items()})
    steps: list[Step] = []
    for token, raw in now.items():
        if v.strays_before.get(token) != raw:
            steps.append(OutsiderHandoff(*token))
    for name, key in v.strays_before:
        if (name, key) not in now and not v.cluster.storages[name].read(key.encode()):
            steps.append(OutsiderLetGo(name, key))
    v.strays_before = now
    return steps


def _coordinates(v: TraceEvents, name: str, request: int) -> bool:
    """Whether node ``name`` began coordinating the spec's ``request`` in this event
    (a forwarder that coordinates the put it forwarded)."""
    return any(op[0] == name and v.ops[op] == request for op in v.new_ops)


def known_gap(v: TraceEvents) -> str:
    """The named forwarding gap an unexplained event is, if any ("" if none). (Session
    53's ``forward-elsewhere``, a forwarder that coordinates the put itself, is the
    spec's :class:`~spec.actions.ForwardFallback` since session 54.)"""
    if any(e[1] == "lose" and e[4] == "ForwardReply" for e in v.entries):
        return ("spec gap forward-answer-lost (session 53): a forwarded put's coordinator "
                "acknowledged it and ended its coordination in one event, and its "
                "ForwardReply was lost when sent: the acknowledgement is not seen "
                "(docs/refinement.md, \"Trace validation refuses every write (session 53)\")")
    unheard = sorted(f"{client}'s v{put}" for client, put in v.heard_error_first
                     if (client, put) in v.forward_acked)
    if unheard:
        return ("spec gap chained-answer-unheard (session 61): a forwarded put answered "
                f"to its chaining client with an error ({', '.join(unheard)}: the "
                "forwarder's timeout first) was acknowledged by its coordinator after "
                "that, while the spec's client still waited on it (the spec's client "
                "misses an acknowledgement only once it is given: spec.actions.Unheard; "
                "docs/spec.md, \"The unheard acknowledgement (session 61)\")")
    return ""
