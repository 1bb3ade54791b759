"""Values over HTTP in Riak's convention: the content-type envelope and sibling bodies.

Theory of operation
-------------------
The node core stores opaque bytes per sibling; it has no content type. The HTTP
layer keeps a value's content type *inside* the stored bytes, in a small
envelope, so that the core is unchanged::

    b"\\x00vdy1" || len(content_type) (1 byte) || content_type (ASCII) || body

Every value written by ``PUT /kv/{key}`` is stored so (a missing Content-Type
header: ``application/octet-stream``, stored as the empty string); a stored
value without the envelope (one written through :class:`impl.cluster.Client`
in the simulator, or before the envelope existed) reads back as
``application/octet-stream`` with every byte its body. ``max_value_bytes``
limits the body (:func:`body_bytes`), not the envelope: before, a body of
exactly ``max_value_bytes`` was refused with 413 "value is 1048582 bytes", a
size the client never sent (found by probing, session 12). The envelope (at
most 261 bytes) fits in ``config.SIBLING_OVERHEAD_BYTES`` of the frame budget.

A get's answer (Riak KV's HTTP API, "Fetch Object"): one value is ``200`` with
the raw body and its content type; several siblings are ``300 Multiple
Choices``, a ``multipart/mixed`` body with one part per sibling, each with its
own ``Content-Type`` (RFC 2046 section 5.1); with ``Accept: application/json``
every answer is JSON instead, the values base64 (:func:`json_values`).
"""

from __future__ import annotations

import base64
import secrets

from impl.errors import BadRequestError

__all__ = ["DEFAULT_CONTENT_TYPE", "ENVELOPE_BYTES", "MAGIC", "body_bytes", "multipart",
           "open_value", "seal_value", "wants_json"]

MAGIC = b"\x00vdy1"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
#: the longest content type a value may carry (bytes)
MAX_CONTENT_TYPE = 255


def seal_value(body: bytes, content_type: bytes | None) -> bytes:
    """The bytes stored for ``body`` of ``content_type`` (a request's header, raw);
    BadRequestError if the content type is not printable ASCII of at most 255 bytes."""
    kind = (content_type or b"").strip()
    if kind == DEFAULT_CONTENT_TYPE.encode():
        kind = b""
    if len(kind) > MAX_CONTENT_TYPE or any(not 0x20 <= c < 0x7F for c in kind):
        raise BadRequestError(f"Content-Type: must be printable ASCII of at most "
                              f"{MAX_CONTENT_TYPE} bytes, got {kind[:40]!r}")
    return MAGIC + bytes([len(kind)]) + kind + body


#: the most bytes the envelope adds to a body (magic, length, content type)
ENVELOPE_BYTES = len(MAGIC) + 1 + MAX_CONTENT_TYPE


def body_bytes(stored: bytes) -> int:
    """The length of the body :func:`open_value` reads from ``stored`` (without
    copying it): what ``max_value_bytes`` limits (:func:`impl.forwarding.check_request`,
    :meth:`impl.replica.Replica.decode`), so that an HTTP body of exactly
    the limit is stored as the library's value of that length is."""
    if stored.startswith(MAGIC) and len(stored) > len(MAGIC):
        start = len(MAGIC) + 1 + stored[len(MAGIC)]
        if len(stored) >= start:
            return len(stored) - start
    return len(stored)


def open_value(stored: bytes) -> tuple[str, bytes]:
    """(content type, body) of a stored value (see the module docstring)."""
    if stored.startswith(MAGIC) and len(stored) > len(MAGIC):
        length = stored[len(MAGIC)]
        start = len(MAGIC) + 1
        if len(stored) >= start + length:
            kind = stored[start:start + length].decode("ascii", "replace")
            return kind or DEFAULT_CONTENT_TYPE, stored[start + length:]
    return DEFAULT_CONTENT_TYPE, stored


def multipart(values: list[bytes]) -> tuple[str, bytes]:
    """(Content-Type header, body) of a 300 answer: one part per sibling."""
    boundary = secrets.token_hex(16)
    out = bytearray()
    for stored in values:
        kind, body = open_value(stored)
        out += (f"--{boundary}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        out += body + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return f"multipart/mixed; boundary={boundary}", bytes(out)


def json_values(values: list[bytes]) -> dict[str, list[str]]:
    """The JSON form of siblings: ``values`` (base64 bodies), ``content_types``."""
    opened = [open_value(v) for v in values]
    return {"values": [base64.b64encode(body).decode() for _, body in opened],
            "content_types": [kind for kind, _ in opened]}


def wants_json(accept: bytes | None) -> bool:
    """Whether an Accept header asks for JSON answers (``application/json`` named)."""
    return accept is not None and b"application/json" in accept.lower()
