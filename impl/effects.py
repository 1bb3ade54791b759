"""Effects: what the sans-IO node core asks its driver to do.

Theory of operation
-------------------
The core (impl.node.Node) never blocks, sleeps, reads a clock or draws an
unseeded random number. Its driver (the deterministic simulator, or the asyncio
runtime) hands it inputs with the current time::

    effects = node.start(now)                     # once: the first timers
    effects = node.client_request(now, request)   # a client's get or put
    effects = node.receive(now, src, message)     # a message from a peer
    effects = node.fire(now, timer)               # a timer it set came due

and performs the effects it returns, in order: the *writes* first
(:class:`WriteRecord`, :class:`AddHint`, :class:`RemoveHint`, :class:`WriteMeta`,
:class:`SyncStorage`: what the node's storage engine must hold), then
:class:`Send` a message to a peer, :class:`Reply` to a client request,
:class:`SetTimer` to fire a named timer (:mod:`impl.timers`) at a time (setting a
timer that is set moves it), :class:`CancelTimer` to withdraw one.

Persist, then send (etcd raft's ``Ready``): a node returns every write of an
input before any message or reply of that input, and the driver must perform
the writes -- durably, as the engine's fsync policy says -- before it performs
the Sends and Replies, because they may acknowledge those writes (a
ReplicaPutAck, a put's Reply, a HintAck). A driver may group the writes of one
or many inputs into one transaction and one fsync, as long as it sends nothing
that follows them before they are durable, and performs them before it hands
the node its next input (the node reads its own writes back from the engine).
:func:`impl.staging.persist` is the one implementation of that step.
"""

from __future__ import annotations

from dataclasses import dataclass

from impl.errors import DynamoError
from impl.quick_init import quick_init
from impl.timers import Timer

__all__ = [
    "AddHint",
    "CancelTimer",
    "DeleteRecord",
    "Effect",
    "GetResult",
    "PutResult",
    "RemoveHint",
    "Reply",
    "Send",
    "SetTimer",
    "SyncStorage",
    "Write",
    "WriteMeta",
    "WriteRecord",
]


@quick_init
@dataclass(frozen=True, slots=True)
class GetResult:
    """A get's answer: the causally unrelated values (siblings) and one opaque context."""

    values: list[bytes]
    context: bytes


@quick_init
@dataclass(frozen=True, slots=True)
class PutResult:
    """A put's acknowledgement; ``context`` covers the version just written."""

    context: bytes


@quick_init
@dataclass(frozen=True, slots=True)
class Send:
    """Send ``message`` to peer ``dest`` (best effort: it may be lost, delayed, duplicated)."""

    dest: str
    message: object


@quick_init
@dataclass(frozen=True, slots=True)
class Reply:
    """Answer client request ``request_id``: a result, or an error."""

    request_id: int
    result: GetResult | PutResult | None = None
    error: DynamoError | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class SetTimer:
    """Fire ``timer`` at the node's time ``at`` (seconds); replaces its earlier setting."""

    timer: Timer
    at: float


@quick_init
@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Withdraw ``timer`` (a no-op if it is not set)."""

    timer: Timer


@quick_init
@dataclass(frozen=True, slots=True)
class WriteRecord:
    """Store ``record`` as the versions of ``key`` (replacing what was stored)."""

    key: bytes
    record: bytes


@quick_init
@dataclass(frozen=True, slots=True)
class DeleteRecord:
    """Remove the versions of ``key`` (a reaped tombstone: docs/impl.md, "Deletes")."""

    key: bytes


@quick_init
@dataclass(frozen=True, slots=True)
class AddHint:
    """Keep ``record`` of ``key`` in the hint store, for node ``intended`` (the
    engine chooses the hint's id)."""

    intended: str
    key: bytes
    record: bytes


@quick_init
@dataclass(frozen=True, slots=True)
class RemoveHint:
    """Delete hint ``hint_id`` (its intended node acknowledged it, or it moved)."""

    hint_id: int


@quick_init
@dataclass(frozen=True, slots=True)
class WriteMeta:
    """Store the node's own state ``name`` (membership, ...) as ``value``."""

    name: str
    value: bytes


@quick_init
@dataclass(frozen=True, slots=True)
class SyncStorage:
    """Make every earlier write durable (a buffered engine's flush)."""


Write = WriteRecord | DeleteRecord | AddHint | RemoveHint | WriteMeta | SyncStorage
"""The writes a node asks for; they come before the other effects of an input."""

Effect = Write | Send | Reply | SetTimer | CancelTimer
