"""The wire codec: every message round-trips; every bad frame is refused by name."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from impl import wire
from impl.errors import BadMessageError
from impl.messages import (
    CLIENT_MESSAGES,
    PEER_MESSAGES,
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

SAMPLES: list[object] = [
    GetRequest(1, b"k"),
    GetRequest(2**63 - 1, b"\x00" * 300, r=2, client_id="alice"),
    PutRequest(3, b"k", b"", b"", None, ""),
    PutRequest(4, b"cart", b"milk" * 1000, b"ctx", w=3, client_id="bob"),
    Forward(5, GetRequest(6, b"k", 1)),
    Forward(7, PutRequest(8, b"k", b"v", b"c", 2, "x")),
    ForwardReply(9, "get", (b"a", b"b"), b"ctx"),
    ForwardReply(10, "put", error="QuorumError", message="put reached 1 of W=2 ✓"),
    ReplicaPut(11, b"k", b"R\x01", "n3"),
    ReplicaPutAck(12, b"k", ""),
    ReplicaPutFailed(12, b"k", "n3", "database or disk is full ✓"),  # (session 50)
    ReplicaGet(13, b"k"),
    ReplicaGetReply(14, b"k", b""),
    ReadRepair(b"k", b"rec"),
    HintDelivery(15, b"k", b"rec"),
    HintDelivery(15, b"k", b"rec", moves=True),  # (session 58: the retired blob empty)
    HintDelivery(15, b"k", b"rec", generation="3.ab", retired=b"1 n1", moves=True),
    HintAck(16),
    Gossip(b'{"format":"x"}', reply=False),
    Gossip(b'{"format":"x"}', generation="3.ab", yours="2.cd",  # (session 50: relayed)
           generations=b'{"format":"vdynamo.generations.v1","generations":{"n3":"4.ef"}}'),
    MerkleExchange(17, 0, 2**128, 16, 3, "level", 1, (0,), (3, 5), (b"h" * 16, b"g" * 16)),
    MerkleExchange(18, 5, 9, 2, 1, "buckets", indexes=(1,), keys=(b"k",), digests=(b"d",)),
    KeyRecords((b"a", b"b"), (b"r1", b"")),
    KeyRecords((b"a",), (b"r1",), 19, reply=True),
    PutRequest(20, b"k", b"", b"ctx", delete=True),
    Forward(21, PutRequest(22, b"k", b"", b"c", 2, "x", delete=True)),
    Reap(b"k", b"R\x01"),
    HandoffDone("n6"),
    Settled("n6"),
    SeenDigest(b'{"format":"x"}', reply=False),
    ReapQuery(23, b"k", b"R\x01", b"v" * 16),
    ReapQueryReply(24, b"k", clean=True),
    ReapQuery(25, b"k", b"R\x01", b"v" * 16, generation="3.ab12"),  # (session 21)
    ReapQueryReply(26, b"k", clean=True, generation="4.cd34"),
    ForwardClaim(27, 2**63 - 1),  # (session 26)
    ForwardGrant(28, 5, granted=True),
    ForwardGrant(29, 6, granted=False),
    ForwardDecline(30),
]


def test_a_gossip_relaying_generations_is_read_by_a_node_of_before_as_one_without() -> None:
    """Session 50's ``Gossip.generations`` is the last tail field: a frame of a node of
    before (without it) reads as relaying none, and its other fields keep their
    places (a mutant putting it before ``retired`` fails here)."""
    relayed = Gossip(b"v", generation="3.ab", retired=b"1 n1", generations=b"x")
    frame = wire.encode(relayed)
    before = wire.encode(Gossip(b"v", generation="3.ab", retired=b"1 n1"))
    assert frame[10:].startswith(before[10:])  # (past the header: its length differs)
    assert wire.decode(before) == Gossip(b"v", generation="3.ab", retired=b"1 n1")
    assert wire.decode(frame).generations == b"x"


def test_a_hint_delivery_s_moves_is_a_tail_a_node_of_before_reads_as_without() -> None:
    """Session 58's ``HintDelivery.moves`` (a ``tailbool``, the last field): a frame
    of a node of before (without it) reads as False, one whose ``moves`` is False is
    the frame of before (it ends with ``retired``), and a byte other than 0 or 1 is
    refused by name. Mutants, each run and seen failing: ``tailbool`` written when
    False (the frame ends with a 0 byte); an absent ``tailbool`` read as True (the
    old frame moves)."""
    old = wire.encode(HintDelivery(15, b"k", b"rec", retired=b"1 n1"))
    assert old.endswith(struct.pack(">I", 4) + b"1 n1")  # (the field of before, last)
    assert wire.decode(old) == HintDelivery(15, b"k", b"rec", retired=b"1 n1", moves=False)
    frame = wire.encode(HintDelivery(15, b"k", b"rec", moves=True))
    assert frame[-1:] == b"\x01"
    bad = frame[:-1] + b"\x02"
    with pytest.raises(BadMessageError, match=r"HintDelivery\.moves: a bool must be 0 or 1"):
        wire.decode(bad)


def test_every_message_type_has_a_sample() -> None:
    assert {type(m) for m in SAMPLES} == set(CLIENT_MESSAGES) | set(PEER_MESSAGES)


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip(message: object) -> None:
    frame = wire.encode(message)
    assert wire.decode(frame) == message
    assert wire.frame_length(frame[:10]) == len(frame)


@given(st.integers(0, 2**63 - 1), st.binary(min_size=1, max_size=64), st.binary(max_size=256),
       st.binary(max_size=64), st.none() | st.integers(1, 9), st.text(max_size=20).filter(
           lambda s: s.isprintable()))
def test_put_request_round_trips(rid: int, key: bytes, value: bytes, context: bytes,
                                 w: int | None, client: str) -> None:
    message = PutRequest(rid, key, value, context, w, client)
    assert wire.decode(wire.encode(message)) == message


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_every_truncation_is_refused(message: object) -> None:
    frame = wire.encode(message)
    for cut in range(len(frame)):
        with pytest.raises(BadMessageError):
            wire.decode(frame[:cut])


def _frame(code: int, payload: bytes, version: int = 1, magic: bytes = b"VDYN") -> bytes:
    return struct.pack(">4sBBI", magic, version, code, len(payload)) + payload


GOOD = wire.encode(GetRequest(1, b"k", 2, "c"))
BAD_FRAMES = {
    "not bytes": ("frame must be bytes", "GetRequest"),
    "empty": ("truncated", b""),
    "bad magic": ("magic", b"XXXX" + GOOD[4:]),
    "bad version": ("version", GOOD[:4] + b"\x07" + GOOD[5:]),
    "unknown type": ("unknown message type", GOOD[:5] + b"\xee" + GOOD[6:]),
    "length too long": ("frame length", GOOD[:6] + struct.pack(">I", 999) + GOOD[10:]),
    "trailing bytes": ("frame length", GOOD + b"\x00"),
    "trailing inside": ("trailing bytes", _frame(18, struct.pack(">Q", 1) + b"\x00")),
    "opt flag": ("presence byte", _frame(1, struct.pack(">QI", 1, 1) + b"k" + b"\x02")),
    "empty key": ("key", _frame(1, struct.pack(">QI", 1, 0) + b"\x00" + struct.pack(">H", 0))),
    "not utf-8": ("UTF-8", _frame(1, struct.pack(">QI", 1, 1) + b"k\x00" + struct.pack(">H", 1)
                                  + b"\xff")),
    "r zero": ("r", _frame(1, struct.pack(">QI", 1, 1) + b"k\x01" + struct.pack(">QH", 0, 0))),
    "bool": ("bool", _frame(19, struct.pack(">I", 1) + b"v" + b"\x05")),
    "empty view": ("view", _frame(19, struct.pack(">I", 0) + b"\x01" + struct.pack(">HH", 0, 0))),
    "bad generation": ("generation", _frame(19, struct.pack(">I", 1) + b"v\x01"
                                            + struct.pack(">H", 2) + b"x." + struct.pack(">H", 0))),
    "id too big": ("op_id", _frame(14, struct.pack(">QI", 2**64 - 1, 1) + b"k")),
    "huge count": ("claims", _frame(24, struct.pack(">I", 2**31))),
    "merkle step": ("step", _frame(20, struct.pack(">Q", 1) + (0).to_bytes(17, "big")
                                   + (5).to_bytes(17, "big") + struct.pack(">QQ", 2, 1)
                                   + struct.pack(">H", 3) + b"odd" + struct.pack(">Q", 0)
                                   + struct.pack(">IIIII", 0, 0, 0, 0, 0)
                                   + struct.pack(">H", 0))),
    "nested not request": ("not a client request", _frame(10, struct.pack(">QB", 1, 18)
                                                          + struct.pack(">Q", 1))),
    "blob past the end": ("ReplicaGet: frame is truncated",
                          _frame(14, struct.pack(">QI", 1, 99) + b"k")),
    "empty record": ("record", _frame(16, struct.pack(">I", 1) + b"k" + struct.pack(">I", 0))),
    "range reversed": ("lo < hi", _frame(20, struct.pack(">Q", 1) + (5).to_bytes(17, "big")
                                         + (5).to_bytes(17, "big") + struct.pack(">QQ", 2, 1)
                                         + struct.pack(">H", 5) + b"level" + struct.pack(">Q", 0)
                                         + struct.pack(">IIIII", 0, 0, 0, 0, 0)
                                         + struct.pack(">H", 0))),
}


@pytest.mark.parametrize("case", sorted(BAD_FRAMES))
def test_bad_frames_are_refused_by_name(case: str) -> None:
    words, frame = BAD_FRAMES[case]
    with pytest.raises(BadMessageError, match=words):
        wire.decode(frame)  # type: ignore[arg-type]


def test_oversized_frame_is_refused() -> None:
    frame = wire.encode(PutRequest(1, b"k", b"v" * 1000))
    with pytest.raises(BadMessageError, match="over the limit"):
        wire.decode(frame, max_bytes=100)


def test_encode_refuses_non_messages() -> None:
    with pytest.raises(BadMessageError, match="not a message"):
        wire.encode(object())


@given(st.binary(max_size=80))
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    with contextlib.suppress(BadMessageError):
        wire.decode(b"VDYN\x01" + data)


@given(st.data())
def test_single_byte_corruption_is_refused_or_decodes_to_a_valid_message(data: st.DataObject
                                                                          ) -> None:
    message = data.draw(st.sampled_from(SAMPLES))
    frame = bytearray(wire.encode(message))
    index = data.draw(st.integers(0, len(frame) - 1))
    frame[index] ^= data.draw(st.integers(1, 255))
    try:
        decoded = wire.decode(bytes(frame))
    except BadMessageError:
        return
    assert type(decoded) in set(CLIENT_MESSAGES) | set(PEER_MESSAGES)
