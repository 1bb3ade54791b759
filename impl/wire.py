"""The wire codec: every message of :mod:`impl.messages` to bytes and back.

Theory of operation
-------------------
A frame is a fixed header and a payload::

    b"VDYN"  version(u8 = 1)  type(u8)  length(u32)  payload(length bytes)

All integers are big-endian. The payload is the message's fields in declaration
order, each in the encoding its kind gives (see ``_SCHEMAS``): ``u64`` ids and
counts, ``opt`` (a presence byte, then a u64), ``blob`` (u32 length + bytes),
``str`` (u16 length + UTF-8), ``bool`` (one byte, 0 or 1), ``pos`` (a ring
position, 17 bytes), ``tail``, ``tailblob``, ``tailopt`` and ``tailbool`` (a u64, a
blob, an ``opt`` and a ``bool`` only a message's last fields may be, each left out
when empty, None for ``tailopt``, False for ``tailbool``, and no later one is
written, so that a frame without them, of a node of an earlier version, is read as
empty and one whose such fields are empty is read by such a node: ``Gossip.floor``,
``Gossip.beats``, ``Gossip.retired``, ``Gossip.generations`` (session 50), the
``retired`` of the messages that carry records, ``HintDelivery.moves`` (session
58), the client requests' ``pr`` and
``pw`` of session 39: a node of an earlier version refuses a request that sets
one, rather than serving it without), lists of those
(``blobs``, ``ints`` of u64), or a nested client request.

:func:`decode` is strict: a frame that is truncated, too long, of an unknown
version or type, with trailing bytes, with a field of the wrong shape, or whose
message fails its constructor's checks raises :class:`BadMessageError` naming
the problem. :func:`encode` refuses anything that is not a message.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from impl.errors import BadMessageError, BadRequestError
from impl.messages import (
    Forward,
    ForwardClaim,
    ForwardDecline,
    ForwardGrant,
    ForwardReply,
    GetRequest,
    Gossip,
    HandoffDone,
    HintAck,
    HintDelivery,
    KeyRecords,
    MerkleExchange,
    PutRequest,
    ReadRepair,
    Reap,
    ReapQuery,
    ReapQueryReply,
    ReplicaGet,
    ReplicaGetReply,
    ReplicaPut,
    ReplicaPutAck,
    ReplicaPutFailed,
    SeenDigest,
    Settled,
)

__all__ = ["DEFAULT_MAX_FRAME", "MAGIC", "VERSION", "decode", "encode"]

MAGIC = b"VDYN"
VERSION = 1
#: Frames above this size are refused (a bound on what a peer can make us buffer).
DEFAULT_MAX_FRAME = 64 << 20
_HEADER = struct.Struct(">4sBBI")
_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")

# type code -> (class, [(field, kind)]); codes are part of the wire format: never reuse.
_SCHEMAS: dict[int, tuple[type, tuple[tuple[str, str], ...]]] = {
    1: (GetRequest, (("request_id", "u64"), ("key", "blob"), ("r", "opt"),
                     ("client_id", "str"), ("pr", "tailopt"))),
    2: (PutRequest, (("request_id", "u64"), ("key", "blob"), ("value", "blob"),
                     ("context", "blob"), ("w", "opt"), ("client_id", "str"),
                     ("client_counter", "u64"), ("delete", "bool"), ("pw", "tailopt"))),
    10: (Forward, (("op_id", "u64"), ("request", "request"))),
    11: (ForwardReply, (("op_id", "u64"), ("kind", "str"), ("values", "blobs"),
                        ("context", "blob"), ("error", "str"), ("message", "text"))),
    12: (ReplicaPut, (("op_id", "u64"), ("key", "blob"), ("record", "blob"), ("hint", "str"),
                      ("retired", "tailblob"))),
    13: (ReplicaPutAck, (("op_id", "u64"), ("key", "blob"), ("hint", "str"),
                         ("record", "blob"))),
    14: (ReplicaGet, (("op_id", "u64"), ("key", "blob"))),
    15: (ReplicaGetReply, (("op_id", "u64"), ("key", "blob"), ("record", "blob"))),
    16: (ReadRepair, (("key", "blob"), ("record", "blob"), ("retired", "tailblob"))),
    17: (HintDelivery, (("hint_id", "u64"), ("key", "blob"), ("record", "blob"),
                       ("generation", "str"), ("retired", "tailblob"),
                       ("moves", "tailbool"))),
    18: (HintAck, (("hint_id", "u64"),)),
    19: (Gossip, (("view", "blob"), ("reply", "bool"), ("generation", "str"),
                  ("yours", "str"), ("floor", "tail"), ("beats", "tailblob"),
                  ("retired", "tailblob"), ("generations", "tailblob"))),
    20: (MerkleExchange, (("session", "u64"), ("lo", "pos"), ("hi", "pos"), ("fanout", "u64"),
                          ("depth", "u64"), ("step", "str"), ("level", "u64"),
                          ("parents", "ints"), ("indexes", "ints"), ("hashes", "blobs"),
                          ("keys", "blobs"), ("digests", "blobs"), ("generation", "str"))),
    24: (KeyRecords, (("keys", "blobs"), ("records", "blobs"), ("session", "u64"),
                      ("reply", "bool"), ("generation", "str"), ("retired", "tailblob"))),
    25: (Reap, (("key", "blob"), ("record", "blob"))),
    26: (HandoffDone, (("joining", "str"),)),
    27: (Settled, (("node", "str"),)),
    28: (SeenDigest, (("digest", "blob"), ("reply", "bool"))),
    40: (ReapQuery, (("query_id", "u64"), ("key", "blob"), ("record", "blob"),
                     ("view", "blob"), ("generation", "str"))),
    41: (ReapQueryReply, (("query_id", "u64"), ("key", "blob"), ("clean", "bool"),
                          ("generation", "str"))),
    42: (ForwardClaim, (("op_id", "u64"), ("claim_id", "u64"))),
    43: (ForwardGrant, (("op_id", "u64"), ("claim_id", "u64"), ("granted", "bool"))),
    44: (ForwardDecline, (("op_id", "u64"),)),
    45: (ReplicaPutFailed, (("op_id", "u64"), ("key", "blob"), ("hint", "str"),
                            ("error", "text"))),
}
_CODES: dict[type, int] = {cls: code for code, (cls, _) in _SCHEMAS.items()}


# ---------------------------------------------------------------------------- encode


def _put_blob(out: list[bytes], value: bytes) -> None:
    out.append(_U32.pack(len(value)))
    out.append(value)


def _put_str(out: list[bytes], value: str) -> None:
    data = value.encode("utf-8")
    if len(data) > 0xFFFF:
        raise BadMessageError("a string field is over 65535 bytes")
    out.append(_U16.pack(len(data)))
    out.append(data)


def _put_field(out: list[bytes], kind: str, value: Any) -> None:
    if kind == "u64":
        out.append(_U64.pack(value))
    elif kind == "tail":
        if value:  # 0 is left out: a node of an earlier version decodes the frame
            out.append(_U64.pack(value))
    elif kind == "opt":
        out.append(b"\x00" if value is None else b"\x01" + _U64.pack(value))
    elif kind == "blob":
        _put_blob(out, value)
    elif kind == "str":
        _put_str(out, value)
    elif kind == "text":
        _put_blob(out, value.encode("utf-8"))
    elif kind == "bool":
        out.append(b"\x01" if value else b"\x00")
    elif kind == "pos":
        out.append(value.to_bytes(17, "big"))
    elif kind == "blobs":
        out.append(_U32.pack(len(value)))
        for item in value:
            _put_blob(out, item)
    elif kind == "ints":
        out.append(_U32.pack(len(value)))
        out.extend(_U64.pack(item) for item in value)
    elif kind == "request":
        code = _CODES[type(value)]
        out.append(_U8.pack(code))
        _put_fields(out, code, value)
    else:  # pragma: no cover - the schema table is fixed
        raise AssertionError(kind)


#: the kinds a message's last fields may be, each left out when empty (0, b"",
#: None) and no later one is written: a frame of a node of an earlier version,
#: without them, reads as empty, and such a node reads a frame whose such fields are
#: all empty
_TAILS = frozenset({"tail", "tailblob", "tailopt", "tailbool"})
#: the message codes whose schema ends in such fields
_TAIL_CODES = frozenset(code for code, (_, schema) in _SCHEMAS.items()
                        if any(kind in _TAILS for _, kind in schema))


def _tail_written(kind: str, value: Any) -> bool:
    """Whether a tail field of ``kind`` holding ``value`` must be written: a
    ``tailopt`` unless None (its 0 is a value), the others unless empty."""
    return value is not None if kind == "tailopt" else bool(value)


def _put_fields(out: list[bytes], code: int, message: object) -> None:
    schema = _SCHEMAS[code][1]
    if code not in _TAIL_CODES:
        for name, kind in schema:
            _put_field(out, kind, getattr(message, name))
        return
    last = max((i for i, (name, kind) in enumerate(schema)
                if kind in _TAILS and _tail_written(kind, getattr(message, name))),
               default=-1)
    for i, (name, kind) in enumerate(schema):
        value = getattr(message, name)
        if kind == "tail":
            if i <= last:  # (a later field written: this one too, 0 or not)
                out.append(_U64.pack(value))
        elif kind == "tailblob":
            if i <= last:
                _put_blob(out, value)
        elif kind == "tailopt":
            if i <= last:
                _put_field(out, "opt", value)
        elif kind == "tailbool":
            if i <= last:
                _put_field(out, "bool", value)
        else:
            _put_field(out, kind, value)


def encode(message: object) -> bytes:
    """The frame of ``message`` (any client request or peer message)."""
    code = _CODES.get(type(message))
    if code is None:
        raise BadMessageError(f"cannot encode {type(message).__name__}: not a message")
    out: list[bytes] = [b""]  # the header's place: one join copies a large record once
    try:
        _put_fields(out, code, message)
    except (struct.error, OverflowError, UnicodeEncodeError) as error:
        raise BadMessageError(f"cannot encode {type(message).__name__}: {error}") from None
    out[0] = _HEADER.pack(MAGIC, VERSION, code, sum(map(len, out)))
    return b"".join(out)


# ---------------------------------------------------------------------------- decode


class _Reader:
    __slots__ = ("data", "offset", "what")

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.offset = 0
        self.what = what

    def take(self, size: int) -> bytes:
        end = self.offset + size
        if end > len(self.data):
            raise BadMessageError(f"{self.what}: frame is truncated")
        chunk = self.data[self.offset:end]
        self.offset = end
        return chunk

    def unpack(self, shape: struct.Struct) -> int:
        value: int = shape.unpack(self.take(shape.size))[0]
        return value

    def count(self, unit: int, field: str) -> int:
        count = self.unpack(_U32)
        if count * unit > len(self.data) - self.offset:
            raise BadMessageError(f"{self.what}.{field}: claims {count} items, more than the frame")
        return count

    def text(self, size: int, field: str) -> str:
        try:
            return self.take(size).decode("utf-8")
        except UnicodeDecodeError:
            raise BadMessageError(f"{self.what}.{field}: not UTF-8") from None


_Decoder = Callable[[_Reader, str], Any]


def _get_field(reader: _Reader, kind: str, field: str) -> Any:
    if kind == "u64":
        return reader.unpack(_U64)
    if kind == "opt":
        flag = reader.unpack(_U8)
        if flag > 1:
            raise BadMessageError(f"{reader.what}.{field}: bad presence byte {flag}")
        return reader.unpack(_U64) if flag else None
    if kind == "blob":
        return reader.take(reader.unpack(_U32))
    if kind == "str":
        return reader.text(reader.unpack(_U16), field)
    if kind == "text":
        return reader.text(reader.unpack(_U32), field)
    if kind == "bool":
        flag = reader.unpack(_U8)
        if flag > 1:
            raise BadMessageError(f"{reader.what}.{field}: a bool must be 0 or 1, got {flag}")
        return bool(flag)
    if kind == "tail":
        return 0 if reader.offset == len(reader.data) else reader.unpack(_U64)
    if kind == "tailblob":
        return b"" if reader.offset == len(reader.data) else reader.take(reader.unpack(_U32))
    if kind == "tailopt":
        return None if reader.offset == len(reader.data) else _get_field(reader, "opt", field)
    if kind == "tailbool":
        return False if reader.offset == len(reader.data) else _get_field(reader, "bool", field)
    if kind == "pos":
        return int.from_bytes(reader.take(17), "big")
    if kind == "blobs":
        return tuple(reader.take(reader.unpack(_U32)) for _ in range(reader.count(4, field)))
    if kind == "ints":
        return tuple(reader.unpack(_U64) for _ in range(reader.count(8, field)))
    if kind == "request":
        code = reader.unpack(_U8)
        if code not in (1, 2):
            raise BadMessageError(f"{reader.what}.{field}: not a client request (type {code})")
        return _get_message(reader, code)
    raise AssertionError(kind)  # pragma: no cover - the schema table is fixed


def _get_message(reader: _Reader, code: int) -> object:
    cls, schema = _SCHEMAS[code]
    saved, reader.what = reader.what, cls.__name__
    # the common kinds inline (decoding is on every peer message's path: a call
    # per field, and one per read, were half of it); the rest by _get_field
    data, end = reader.data, len(reader.data)
    values: dict[str, Any] = {}
    for name, kind in schema:
        offset = reader.offset
        if kind == "u64" and offset + 8 <= end:
            values[name] = _U64.unpack_from(data, offset)[0]
            reader.offset = offset + 8
        elif kind == "blob" and offset + 4 <= end:
            stop = offset + 4 + _U32.unpack_from(data, offset)[0]
            if stop > end:
                raise BadMessageError(f"{reader.what}: frame is truncated")
            values[name] = data[offset + 4:stop]
            reader.offset = stop
        else:
            values[name] = _get_field(reader, kind, name)
    reader.what = saved
    try:
        return cls(**values)
    except BadRequestError as error:  # a client request's own checks
        raise BadMessageError(str(error)) from None


def decode(frame: bytes, *, max_bytes: int = DEFAULT_MAX_FRAME) -> object:
    """The message in ``frame``; :class:`BadMessageError` naming the problem if the
    frame is not exactly one well-formed message of at most ``max_bytes``."""
    if not isinstance(frame, bytes | bytearray | memoryview):
        raise BadMessageError(f"frame must be bytes, got {type(frame).__name__}")
    frame = bytes(frame)
    if len(frame) > max_bytes:
        raise BadMessageError(f"frame is {len(frame)} bytes, over the limit of {max_bytes}")
    if len(frame) < _HEADER.size:
        raise BadMessageError(f"frame is truncated: {len(frame)} bytes, no complete header")
    magic, version, code, length = _HEADER.unpack_from(frame)
    if magic != MAGIC:
        raise BadMessageError("frame does not start with the vdynamo magic bytes")
    if version != VERSION:
        raise BadMessageError(f"frame has unsupported version {version} (this node speaks "
                              f"{VERSION})")
    if code not in _SCHEMAS:
        raise BadMessageError(f"frame has unknown message type {code}")
    name = _SCHEMAS[code][0].__name__
    if length != len(frame) - _HEADER.size:
        raise BadMessageError(f"{name}: frame length says {length} bytes, payload has "
                              f"{len(frame) - _HEADER.size}")
    reader = _Reader(frame, name)
    reader.offset = _HEADER.size  # the payload, read in place
    try:
        message = _get_message(reader, code)
    except BadMessageError:
        raise
    except (ValueError, TypeError, OverflowError) as error:
        raise BadMessageError(f"{name}: {error}") from None
    if reader.offset != len(reader.data):
        raise BadMessageError(f"{name}: {len(reader.data) - reader.offset} trailing bytes")
    return message


def frame_length(header: bytes | bytearray, offset: int = 0) -> int:
    """The total length of the frame whose first 10 bytes are ``header`` from
    ``offset`` on (for stream readers); :class:`BadMessageError` if the header is
    bad."""
    if len(header) - offset < _HEADER.size:
        raise BadMessageError("frame header is truncated")
    magic, version, _code, length = _HEADER.unpack_from(header, offset)
    if magic != MAGIC or version != VERSION:
        raise BadMessageError("frame header has bad magic bytes or version")
    total: int = _HEADER.size + length
    return total
