"""The one error hierarchy of the implementation.

Every error a client or a peer can cause is a :class:`DynamoError`. Errors are
split as h11 splits them: :class:`LocalError` for a request this process refused
(bad input from its caller), :class:`RemoteError` for a peer or a quorum that did
not answer as needed. Each message names what was wrong.

Between nodes an error travels as a code of :class:`ErrorCode` (a forwarded
request's failure, in ``ForwardReply.error``), mapped once at the boundary:
:func:`code_of` when it leaves, :func:`error_of` when it arrives. A code this
version does not know arrives as a plain :class:`RemoteError`.
"""

from __future__ import annotations

import enum

from spec.errors import ConfigError, DynamoError, InvalidValueError, LocalError, RemoteError

__all__ = [
    "BadContextError",
    "BadMessageError",
    "BadRequestError",
    "ConfigError",
    "DynamoError",
    "ErrorCode",
    "InvalidValueError",
    "LocalError",
    "NodeDownError",
    "OverloadedError",
    "PeerDataError",
    "QuorumError",
    "RemoteError",
    "RequestTimeoutError",
    "StorageError",
    "TooLargeError",
    "UnknownNodeError",
    "VersionHeadroomError",
    "code_of",
    "error_of",
]


# The package's base classes (one hierarchy for every layer: spec.errors).


class BadRequestError(LocalError, ValueError):
    """A client request is malformed (wrong types, empty key, bad R/W override...)."""


class TooLargeError(BadRequestError):
    """A key or value is over the configured limit."""


class BadContextError(BadRequestError):
    """A put's context is not one this cluster issued (tampered, truncated, foreign)."""


class BadMessageError(RemoteError, ValueError):
    """A message from the network is malformed (a peer's fault, not the caller's);
    it is dropped and nothing changes."""


class UnknownNodeError(BadMessageError):
    """A message names a node the membership does not know."""


class PeerDataError(BadMessageError):
    """Bad data deep inside a peer message that passed its constructor's checks,
    found by the handler that decodes or checks that data: the peer's fault by
    design, so the node drops the message (``stats["dropped"]``). Raised only at
    the named places of :mod:`impl.internal_errors` (``PEER_DATA``); any other
    error raised while a node handles a valid peer message is an internal error
    of ours (issue: refinement that bites, section 1). ``what`` names the case."""

    def __init__(self, message: str, *, what: str = "") -> None:
        super().__init__(message)
        self.what = what


class VersionHeadroomError(InvalidValueError):
    """A membership announcement would take an entry's version to
    :data:`impl.membership.PEER_VERSION_LIMIT` (2**62), a view every peer refuses
    (:func:`impl.membership.check_peer_versions`): raised by
    :meth:`impl.membership.Membership.announce` instead, and the change is not made.
    Honest versions grow by one or two per change and never get near the bound;
    only a view a peer holding the cluster secret forged gets there (found by
    review, session 10, issue 12). The node's automatic announcements catch it,
    count it (``stats["version-headroom"]``) and log it, and keep the node serving
    at its current view (:meth:`impl.gossip.Gossiper.announced`)."""


class StorageError(DynamoError):
    """The storage engine failed; the write was not acknowledged."""


class QuorumError(RemoteError):
    """Fewer than R (get) or W (put) replicas answered before the request gave up,
    or fewer than PR (PW) of them were primaries (Riak's ``pr_val_unsatisfied``,
    ``pw_val_unsatisfied``). ``needed``, ``got``: the quorum and what was reached;
    ``written``: whether a put may be stored somewhere (False: refused before
    anything was written, a put whose PW targets were not believed reachable;
    carried across a forward as :attr:`ErrorCode.QUORUM_NOT_WRITTEN`);
    ``replicas_failed``: answered at once because replicas failed (the coordinator's
    own write, a full disk: Riak's ``too_many_fails``), not at a timeout (HTTP 503,
    not 504; carried across a forward as :attr:`ErrorCode.QUORUM_REPLICAS_FAILED`
    since session 51)."""

    def __init__(self, message: str, *, needed: int = 0, got: int = 0,
                 written: bool = True, replicas_failed: bool = False) -> None:
        super().__init__(message)
        self.needed = needed
        self.got = got
        self.written = written
        self.replicas_failed = replicas_failed


class RequestTimeoutError(RemoteError):
    """A request got no reply at all (its coordinator never answered)."""


class NodeDownError(RemoteError):
    """The node a request was sent to is down or unreachable."""


class OverloadedError(RemoteError):
    """The node is saturated and refused the request before writing anything (HTTP
    503 with Retry-After: a retry is safe)."""


class ErrorCode(enum.Enum):
    """The errors one node reports to another, by wire code."""

    BAD_REQUEST = "bad-request"
    TOO_LARGE = "too-large"
    BAD_CONTEXT = "bad-context"
    BAD_MESSAGE = "bad-message"
    UNKNOWN_NODE = "unknown-node"
    STORAGE = "storage"
    QUORUM = "quorum"
    #: a QuorumError whose ``written`` is False (session 39's review: a forwarded
    #: put refused before writing was read back as written, a 504 "outcome unknown"
    #: whose message said "nothing was written"). A node of an earlier version reads
    #: it as an unknown code, a RemoteError: outcome unknown, the safe side
    QUORUM_NOT_WRITTEN = "quorum-not-written"
    #: a QuorumError whose ``replicas_failed`` is set (session 51's service probe: a
    #: forwarded put whose coordinator's disk was full was answered 504 "outcome
    #: unknown" at its origin, where the coordinator itself answers 503). A node of
    #: an earlier version reads it as an unknown code: a RemoteError, 504
    QUORUM_REPLICAS_FAILED = "quorum-replicas-failed"
    REQUEST_TIMEOUT = "request-timeout"
    NODE_DOWN = "node-down"
    OVERLOADED = "overloaded"
    CONFIG = "config"
    LOCAL = "local"
    REMOTE = "remote"


#: code -> error class, most specific classes first (the one table of the mapping)
_CLASSES: tuple[tuple[ErrorCode, type[DynamoError]], ...] = (
    (ErrorCode.TOO_LARGE, TooLargeError),
    (ErrorCode.BAD_CONTEXT, BadContextError),
    (ErrorCode.BAD_REQUEST, BadRequestError),
    (ErrorCode.UNKNOWN_NODE, UnknownNodeError),
    (ErrorCode.BAD_MESSAGE, BadMessageError),
    (ErrorCode.STORAGE, StorageError),
    (ErrorCode.QUORUM, QuorumError),
    (ErrorCode.REQUEST_TIMEOUT, RequestTimeoutError),
    (ErrorCode.NODE_DOWN, NodeDownError),
    (ErrorCode.OVERLOADED, OverloadedError),
    (ErrorCode.CONFIG, ConfigError),
    (ErrorCode.LOCAL, LocalError),
    (ErrorCode.REMOTE, RemoteError),
)


def code_of(error: DynamoError) -> ErrorCode:
    """The wire code of ``error`` (its most specific class that has one; a
    QuorumError refused before anything was written: QUORUM_NOT_WRITTEN; one
    answered at once because replicas failed: QUORUM_REPLICAS_FAILED)."""
    if isinstance(error, QuorumError) and not error.written:
        return ErrorCode.QUORUM_NOT_WRITTEN
    if isinstance(error, QuorumError) and error.replicas_failed:
        return ErrorCode.QUORUM_REPLICAS_FAILED
    for code, cls in _CLASSES:
        if isinstance(error, cls):
            return code
    return ErrorCode.REMOTE


def error_of(code: str, message: str) -> DynamoError:
    """The error a peer reported as ``code`` (unknown code: a RemoteError)."""
    try:
        wanted = ErrorCode(code)
    except ValueError:
        return RemoteError(message)
    if wanted is ErrorCode.QUORUM_NOT_WRITTEN:
        return QuorumError(message, written=False)
    if wanted is ErrorCode.QUORUM_REPLICAS_FAILED:
        return QuorumError(message, replicas_failed=True)
    cls = dict(_CLASSES)[wanted]
    return cls(message)
