"""impl.context: the behaviours mutmut found no test for (docs/refinement.md,
"Mutation score"): the size bound, the refusals word for word and at their limits."""

from __future__ import annotations

import hmac
import re
import struct

import pytest

from impl.context import (
    MAX_ID_BYTES,
    TAG_BYTES,
    context_bytes_bound,
    decode_context,
    encode_context,
    encode_context_pairs,
)
from impl.errors import BadContextError, InvalidValueError
from impl.records import ClockMode
from spec.vclock import VClock

KEY = b"cart"
SECRET = b"s" * 32


def _decode(blob: object, max_bytes: int = 1 << 16) -> object:
    return decode_context(blob, key=KEY, mode=ClockMode.DVV,  # type: ignore[arg-type]
                          secret=SECRET, max_bytes=max_bytes)


def test_the_bound_of_a_context_of_p_pairs() -> None:
    assert MAX_ID_BYTES == 1020 and TAG_BYTES == 16
    assert context_bytes_bound(0) == 20
    assert context_bytes_bound(3) == 4 + 3 * (2 + 1020 + 8) + 16


def test_the_refusals_before_authentication_word_for_word() -> None:
    with pytest.raises(BadContextError, match=r"^context must be bytes, got str$"):
        _decode("x")
    with pytest.raises(BadContextError, match=r"^context is 30 bytes, over the limit of 29$"):
        _decode(b"\x02" * 30, max_bytes=29)
    with pytest.raises(BadContextError, match=r"^context is truncated \(19 bytes\)$"):
        _decode(b"\x02" * 19)
    # at the limits: 20 bytes of 20 allowed are long enough to be authenticated
    with pytest.raises(BadContextError, match=r"^context failed authentication"):
        _decode(b"\x02" * 20, max_bytes=20)


def _signed(body: bytes, key: bytes = KEY) -> bytes:
    """``body`` with the tag the cluster's secret gives it, computed here from the
    documented format (not by the module under test)."""
    message = b"vdynamo-context\x00" + struct.pack(">I", len(key)) + key + body
    return body + hmac.digest(SECRET, message, "sha256")[:16]


def _entry(name: bytes, counter: int) -> bytes:
    return struct.pack(">H", len(name)) + name + struct.pack(">Q", counter)


def test_the_encoding_is_the_documented_format_byte_for_byte() -> None:
    clock = VClock.of({"a": 1, "bb": 2**64 - 1})
    body = b"\x02\x01" + struct.pack(">H", 2) + _entry(b"a", 1) + _entry(b"bb", 2**64 - 1)
    blob = encode_context(clock, key=KEY, mode=ClockMode.DVV, secret=SECRET)
    assert blob == _signed(body)
    assert encode_context_pairs([("a", 1), ("bb", 2**64 - 1)], key=KEY, mode=ClockMode.DVV,
                                secret=SECRET) == blob
    assert encode_context(VClock(), key=KEY, mode=ClockMode.LWW, secret=SECRET) == \
        _signed(b"\x02\x02\x00\x00")
    # the key's length is in the tag: another key of the same bytes with a prefix differs
    assert encode_context(clock, key=b"cart", mode=ClockMode.DVV, secret=SECRET) != \
        encode_context(clock, key=b"car", mode=ClockMode.DVV, secret=SECRET)
    assert _decode(blob) == clock


def test_an_id_of_exactly_the_longest_size_is_kept_one_byte_more_refused() -> None:
    longest = "\u00e9" * (MAX_ID_BYTES // 2)  # 1020 bytes of UTF-8
    blob = encode_context_pairs([(longest, 7)], key=KEY, mode=ClockMode.DVV, secret=SECRET)
    assert len(blob) == context_bytes_bound(1)
    assert _decode(blob) == VClock.of({longest: 7})
    too_long = longest + "x"
    with pytest.raises(InvalidValueError,
                       match=rf"^node id {too_long!r} is too long for a context$"):
        encode_context_pairs([(too_long, 1)], key=KEY, mode=ClockMode.DVV, secret=SECRET)


def test_the_default_size_limit_is_64_kib() -> None:
    with pytest.raises(BadContextError, match=r"^context failed authentication"):
        decode_context(b"\x02" * (1 << 16), key=KEY, mode=ClockMode.DVV, secret=SECRET)
    with pytest.raises(BadContextError, match=r"^context is 65537 bytes, over the limit of 65536$"):
        decode_context(b"\x02" * ((1 << 16) + 1), key=KEY, mode=ClockMode.DVV, secret=SECRET)


@pytest.mark.parametrize(("body", "message"), [
    (b"\x03\x01\x00\x00", "context has unknown format version 3"),
    (b"\x02\x02\x00\x00", "context is for clock mode lww, the cluster uses dvv"),
    (b"\x02\x63\x00\x00", "context is for clock mode code 99, the cluster uses dvv"),
    (b"\x02\x01\x00\x01" + struct.pack(">H", 5) + b"abcd",
     "context body is malformed: an id runs past the end"),
    (b"\x02\x01\x00\x01" + struct.pack(">H", 4) + b"abcd",
     "context body is malformed: unpack_from requires a buffer of at least 18 bytes..."),
    (b"\x02\x01\x00\x01" + _entry(b"ab", 1) + b"z", "context body is malformed: trailing bytes"),
    (b"\x02\x01\x00\x00" + b"z", "context body is malformed: trailing bytes"),
    (b"\x02\x01\x00\x01" + _entry(b"\xff", 1),
     "context body is malformed: 'utf-8' codec can't decode byte 0xff in position 0: "
     "invalid start byte"),
    (b"\x02\x01\x00\x01" + _entry(b"a", 0), "context body is not canonical"),
    (b"\x02\x01\x00\x02" + _entry(b"a", 1) + _entry(b"a", 2), "context body is not canonical"),
])
def test_an_authenticated_body_is_still_parsed_strictly(body: bytes, message: str) -> None:
    # a message ending "..." is struct's own, whose wording is Python's: its start only
    pattern = ("^" + re.escape(message[:-3]) if message.endswith("...")
               else "^" + re.escape(message) + "$")
    with pytest.raises(BadContextError, match=pattern):
        _decode(_signed(body))


def test_an_authenticated_body_of_unsorted_ids_reads_as_its_canonical_clock() -> None:
    body = b"\x02\x01\x00\x02" + _entry(b"b", 2) + _entry(b"a", 1)
    assert _decode(_signed(body)) == VClock.of({"a": 1, "b": 2})
    with pytest.raises(BadContextError, match=r"^context failed authentication"):
        _decode(_signed(body, key=b"other"))


def test_a_context_issued_under_another_secret_names_a_secret_change_and_what_to_do() -> None:
    """Session 30's user probe: after a secret rotation (every node restarted with a
    new ``[cluster] secret`` and ``--adopt-store``) each client's context is refused;
    the message named tampering, another cluster or another key, not the rotation,
    nor what to do."""
    issued = encode_context(VClock.of({"n1": 2}), key=KEY, mode=ClockMode.DVV,
                            secret=b"o" * 32)
    with pytest.raises(BadContextError) as refused:
        _decode(issued)
    assert "issued before the cluster's secret changed" in str(refused.value)
    assert str(refused.value).endswith("read the key again for a fresh context")
