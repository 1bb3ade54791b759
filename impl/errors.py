"""The one error hierarchy of the implementation.

Every error a client or a peer can cause is a :class:`DynamoError`. Errors are
split as h11 splits them: :class:`LocalError` for a request this process refused
(bad input from its caller), :class:`RemoteError` for a peer or a quorum that did
not answer as needed. Each message names what was wrong.
"""

from __future__ import annotations

from spec.errors import ConfigError, DynamoError, LocalError, RemoteError

__all__ = [
    "BadContextError",
    "BadMessageError",
    "BadRequestError",
    "ConfigError",
    "DynamoError",
    "LocalError",
    "NodeDownError",
    "OverloadedError",
    "QuorumError",
    "RemoteError",
    "RequestTimeoutError",
    "StorageError",
    "TooLargeError",
    "UnknownNodeError",
]


# The package's base classes (one hierarchy for every layer: spec.errors).


class BadRequestError(LocalError, ValueError):
    """A client request is malformed (wrong types, empty key, bad R/W override...)."""


class TooLargeError(BadRequestError):
    """A key or value is over the configured limit."""


class BadContextError(BadRequestError):
    """A put's context is not one this cluster issued (tampered, truncated, foreign)."""


class BadMessageError(LocalError, ValueError):
    """A message from the network is malformed; it is dropped and nothing changes."""


class UnknownNodeError(BadMessageError):
    """A message names a node the membership does not know."""


class StorageError(DynamoError):
    """The storage engine failed; the write was not acknowledged."""


class QuorumError(RemoteError):
    """Fewer than R (get) or W (put) replicas answered before the request gave up."""

    def __init__(self, message: str, *, needed: int = 0, got: int = 0) -> None:
        super().__init__(message)
        self.needed = needed
        self.got = got


class RequestTimeoutError(RemoteError):
    """A request got no reply at all (its coordinator never answered)."""


class NodeDownError(RemoteError):
    """The node a request was sent to is down or unreachable."""


class OverloadedError(RemoteError):
    """The node is saturated and refused the request before writing anything (HTTP
    503 with Retry-After: a retry is safe)."""
