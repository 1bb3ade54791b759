"""Contexts: opaque, authenticated, bound to the key and the clock mode."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from impl.context import decode_context, encode_context
from impl.errors import BadContextError
from impl.versions import ClockMode
from spec.vclock import VClock

SECRET = b"0123456789abcdef-secret"
CLOCK = VClock.of({"n1": 3, "n2": 1})


def encode(clock: VClock = CLOCK, key: bytes = b"k", mode: ClockMode = ClockMode.DVV,
           secret: bytes = SECRET) -> bytes:
    return encode_context(clock, key=key, mode=mode, secret=secret)


def decode(blob: bytes, key: bytes = b"k", mode: ClockMode = ClockMode.DVV,
           secret: bytes = SECRET, max_bytes: int = 1 << 16) -> VClock:
    return decode_context(blob, key=key, mode=mode, secret=secret, max_bytes=max_bytes)


@given(st.dictionaries(st.text(min_size=1, max_size=8).filter(str.isprintable),
                       st.integers(0, 2**64 - 1), max_size=6), st.binary(min_size=1, max_size=20))
def test_round_trip(counters: dict[str, int], key: bytes) -> None:
    clock = VClock.of(counters)
    assert decode(encode(clock, key), key) == clock


def test_empty_context_is_the_empty_clock() -> None:
    assert decode(b"") == VClock()


@given(st.data())
def test_any_single_bit_flip_is_refused(data: st.DataObject) -> None:
    blob = bytearray(encode())
    index = data.draw(st.integers(0, len(blob) - 1))
    blob[index] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(BadContextError):
        decode(bytes(blob))


@pytest.mark.parametrize(("blob", "kwargs", "words"), [
    (encode()[:-1], {}, "authentication"),
    (encode()[:5], {}, "truncated"),
    (encode(secret=b"another-cluster-secret"), {}, "authentication"),
    (encode(key=b"other"), {}, "authentication"),
    (encode(mode=ClockMode.LWW), {}, "clock mode"),
    (encode() + b"x", {}, "authentication"),
    (encode(), {"max_bytes": 10}, "over the limit"),
    ("text", {}, "must be bytes"),
])
def test_bad_contexts_are_refused(blob: bytes, kwargs: dict[str, int], words: str) -> None:
    with pytest.raises(BadContextError, match=words):
        decode(blob, **kwargs)  # type: ignore[arg-type]
