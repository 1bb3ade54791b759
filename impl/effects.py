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

and performs the effects it returns, in order: :class:`Send` a message to a
peer, :class:`Reply` to a client request, :class:`SetTimer` to fire a named
timer (:mod:`impl.timers`) at a time (setting a timer that is set moves it),
:class:`CancelTimer` to withdraw one.
"""

from __future__ import annotations

from dataclasses import dataclass

from impl.errors import DynamoError
from impl.timers import Timer

__all__ = ["CancelTimer", "Effect", "GetResult", "PutResult", "Reply", "Send", "SetTimer"]


@dataclass(frozen=True, slots=True)
class GetResult:
    """A get's answer: the causally unrelated values (siblings) and one opaque context."""

    values: list[bytes]
    context: bytes


@dataclass(frozen=True, slots=True)
class PutResult:
    """A put's acknowledgement; ``context`` covers the version just written."""

    context: bytes


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``message`` to peer ``dest`` (best effort: it may be lost, delayed, duplicated)."""

    dest: str
    message: object


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer client request ``request_id``: a result, or an error."""

    request_id: int
    result: GetResult | PutResult | None = None
    error: DynamoError | None = None


@dataclass(frozen=True, slots=True)
class SetTimer:
    """Fire ``timer`` at the node's time ``at`` (seconds); replaces its earlier setting."""

    timer: Timer
    at: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    """Withdraw ``timer`` (a no-op if it is not set)."""

    timer: Timer


Effect = Send | Reply | SetTimer | CancelTimer
