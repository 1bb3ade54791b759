"""The opaque context a get returns and a put brings back.

Theory of operation
-------------------
A context carries the clock information of what a get returned: the join of
the record's clocks (a version vector), in the cluster's clock mode, for one
key. The client cannot read it and must not change it: it is serialized and
authenticated with an HMAC-SHA256 under the cluster's context key (the secret,
bound to the cluster's name: :func:`context_key`), bound to the key
and to the clock mode, so a tampered, truncated, foreign (another cluster's
secret) or misdirected (another key's) context is refused with
:class:`BadContextError` before anything is stored.

Format (version 2)::

    b"\\x02" mode(1) n(u16) { id_len(u16) id(UTF-8) counter(u64) }*n  tag(16)

where ``tag`` is the first 16 bytes of
``HMAC-SHA256(secret, b"vdynamo-context\\x00" + u32(len(key)) + key + body)`` and
``body`` is everything before the tag. Entries are sorted by id, counters > 0
(the canonical :class:`spec.vclock.VClock`). The empty context ``b""`` is valid
and means "no context": a blind write that supersedes nothing. In ``lww`` mode
the clock is the one pair carrying the timestamp the get saw
(:data:`impl.versions.LWW_ACTOR`), authenticated like any other. An id is at most
:data:`MAX_ID_BYTES` bytes (255 characters of UTF-8), so a context of ``p`` pairs
is at most :func:`context_bytes_bound` ``(p)`` bytes: the configuration checks
that ``max_context_bytes`` admits every context the cluster issues.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Sequence

from impl.errors import BadContextError, InvalidValueError
from impl.records import _CODE_MODES, _MODE_CODES, ClockMode
from spec.vclock import VClock

__all__ = ["MAX_ID_BYTES", "TAG_BYTES", "context_bytes_bound", "context_key", "decode_context",
           "encode_context", "encode_context_pairs"]

FORMAT_VERSION = 2
#: the longest id (a node's actor or a client id: 255 characters of UTF-8)
MAX_ID_BYTES = 4 * 255
TAG_BYTES = 16
_DOMAIN = b"vdynamo-context\x00"
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


def context_bytes_bound(pairs: int) -> int:
    """The largest encoded context holding ``pairs`` pairs (ids of
    :data:`MAX_ID_BYTES` bytes), in bytes."""
    return 4 + pairs * (2 + MAX_ID_BYTES + 8) + TAG_BYTES


#: the label of :func:`context_key`'s derivation
_KEY_LABEL = b"vdynamo-context-key\x00"


def context_key(secret: bytes, cluster: str, default: str) -> bytes:
    """The key of a cluster's contexts (the ``secret`` argument of
    :func:`encode_context` and :func:`decode_context`): the cluster secret itself
    for the cluster named ``default`` (:data:`impl.config.DEFAULT_CLUSTER_NAME`, so
    the contexts such clusters issued before stay valid), else
    ``HMAC-SHA256(secret, label + name)``. Two clusters given one secret and
    distinct ``[cluster] name`` s refuse each other's peers (impl.peer_auth) and,
    since session 15's probe B, each other's contexts: keyed with the secret alone,
    cluster green's context was taken by cluster blue, and in client-vclock (the
    clock's ids are the clients') a put with it superseded blue's value that the
    client never read (``tests/runtime/test_context_cluster.py``)."""
    if cluster == default:
        return secret
    return hmac.digest(secret, _KEY_LABEL + cluster.encode("utf-8"), "sha256")


#: the last secret's ``(secret, HMAC)``: an HMAC-SHA256 keyed with it that has taken
#: :data:`_DOMAIN`, copied per tag (:func:`_tag`)
_keyed: list[tuple[bytes, hmac.HMAC]] = []


def _tag(secret: bytes, key: bytes, body: bytes) -> bytes:
    """``HMAC-SHA256(secret, _DOMAIN + u32(len(key)) + key + body)[:TAG_BYTES]``.

    The HMAC keyed with the last secret asked (one cluster has one) and fed
    :data:`_DOMAIN` is kept and copied per tag (:meth:`hmac.HMAC.copy`: the keyed
    inner and outer states): :func:`hmac.digest` keys a new HMAC at every call
    (session 55: one tag per get; 1.9 us against 1.3 us a tag, timeit).
    ``tests/impl/test_speed_levers_session55.py`` checks it against
    :func:`hmac.digest`. Raises ``TypeError`` for a secret :mod:`hmac` does not take."""
    keyed = _keyed[0] if _keyed else None
    if keyed is None or keyed[0] != secret:
        keyed = (bytes(secret), hmac.new(secret, _DOMAIN, "sha256"))
        _keyed[:] = [keyed]
    tag = keyed[1].copy()
    tag.update(_U32.pack(len(key)) + key + body)
    return tag.digest()[:TAG_BYTES]


def encode_context(clock: VClock, *, key: bytes, mode: ClockMode, secret: bytes) -> bytes:
    """The opaque, authenticated context for ``clock`` (what a get of ``key`` saw)."""
    return encode_context_pairs(clock.pairs, key=key, mode=mode, secret=secret)


def encode_context_pairs(pairs: Sequence[tuple[str, int]], *, key: bytes, mode: ClockMode,
                         secret: bytes) -> bytes:
    """:func:`encode_context` of the clock whose canonical ``(node, counter)`` pairs
    (sorted by node, no zero counter) are ``pairs``, without building the clock."""
    out = [bytes([FORMAT_VERSION, _MODE_CODES[mode]]), _U16.pack(len(pairs))]
    for node, counter in pairs:
        name = node.encode("utf-8")
        if len(name) > MAX_ID_BYTES:
            raise InvalidValueError(f"node id {node!r} is too long for a context")
        out.append(_U16.pack(len(name)))
        out.append(name)
        out.append(_U64.pack(counter))
    body = b"".join(out)
    return body + _tag(secret, key, body)


def decode_context(
    blob: bytes, *, key: bytes, mode: ClockMode, secret: bytes, max_bytes: int = 1 << 16
) -> VClock:
    """The clock in ``blob``; ``b""`` is the empty clock.

    Raises :class:`BadContextError` naming the problem: not bytes, oversized,
    truncated, failing authentication (tampered, another cluster's, another
    key's, one issued under another secret), another clock mode, an unknown format
    version, or a non-canonical body.
    """
    if not isinstance(blob, bytes):
        raise BadContextError(f"context must be bytes, got {type(blob).__name__}")
    if not blob:
        return VClock()
    if len(blob) > max_bytes:
        raise BadContextError(f"context is {len(blob)} bytes, over the limit of {max_bytes}")
    if len(blob) < 4 + TAG_BYTES:
        raise BadContextError(f"context is truncated ({len(blob)} bytes)")
    body, tag = blob[:-TAG_BYTES], blob[-TAG_BYTES:]
    if not hmac.compare_digest(tag, _tag(secret, key, body)):
        # before session 30's user probe the message did not name a secret changed
        # since the context was issued (a rotation: every client's context refused),
        # nor what to do
        raise BadContextError(
            "context failed authentication: tampered, truncated, from another cluster, "
            "issued for another key, or issued before the cluster's secret changed: "
            "read the key again for a fresh context"
        )
    # Authenticated: the body was written by encode_context; still parse strictly.
    if body[0] != FORMAT_VERSION:
        raise BadContextError(f"context has unknown format version {body[0]}")
    found = _CODE_MODES.get(body[1])
    if found is not mode:
        name = found.value if found else f"code {body[1]}"
        raise BadContextError(f"context is for clock mode {name}, the cluster uses {mode.value}")
    count = _U16.unpack_from(body, 2)[0]
    offset = 4
    counters: dict[str, int] = {}
    try:
        for _ in range(count):
            (size,) = _U16.unpack_from(body, offset)
            if offset + 2 + size > len(body):
                raise InvalidValueError("an id runs past the end")
            name = body[offset + 2:offset + 2 + size].decode("utf-8")
            offset += 2 + size
            (counter,) = _U64.unpack_from(body, offset)
            offset += 8
            counters[name] = counter
        if offset != len(body):
            raise InvalidValueError("trailing bytes")
        clock = VClock.of(counters)
    except (IndexError, struct.error, UnicodeDecodeError, ValueError) as error:
        raise BadContextError(f"context body is malformed: {error}") from None
    if len(clock.pairs) != count:
        raise BadContextError("context body is not canonical")
    return clock
