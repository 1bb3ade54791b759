"""A trailer field over the line bound is named a trailer field, not a chunk-size line
(session 35's service probe).

A chunked PUT whose last chunk (``0``) is followed by one trailer field of 64 KiB and
more got 400 ``body: a chunk-size line (its chunk extensions) over 65536 bytes``:
the client sent no chunk extension, and looking for one it would not find the
trailer it sent. Now the refusal names the trailer section; a chunk-size line over
the bound is named as before, and trailer fields within it are discarded as before
(``test_http_trailers.py``)."""

from __future__ import annotations

import pytest

from impl.http_api import MAX_CHUNK_LINE_BYTES
from tests.runtime.test_http_chunk_size_refusal import _HEAD, _fed

_LONG = b"a" * (MAX_CHUNK_LINE_BYTES + 9000)


@pytest.mark.parametrize("pieces", [
    (_HEAD + b"3\r\nabc\r\n0\r\nX-T: " + _LONG,),  # one read
    (_HEAD, b"3\r\nabc\r\n", b"0\r\n", b"X-T: " + _LONG),  # apart, as a client sends
    (_HEAD + b"0\r\nX-A: b\r\nX-T: " + _LONG,),  # an empty body, a short field first
])
def test_a_long_trailer_field_is_named_as_one(pieces: tuple[bytes, ...]) -> None:
    (status, message), = _fed(*pieces)
    assert status == 400, message
    assert message == ("malformed HTTP request: body: a trailer field (after the last "
                       f"chunk) over {MAX_CHUNK_LINE_BYTES} bytes (RFC 9112 7.1.2; "
                       "trailer fields are discarded here)"), message


@pytest.mark.parametrize("pieces", [
    (_HEAD + b"1;" + _LONG,),
    (_HEAD + b"3\r\nabc\r\n", b"1;" + _LONG),  # after a whole chunk
    # a request whose trailer ended, then a chunked one pipelined with a long line
    (_HEAD + b"0\r\nX-T: a\r\n\r\n" + _HEAD + b"1;" + _LONG,),
])
def test_a_long_chunk_size_line_is_still_named_as_one(pieces: tuple[bytes, ...]) -> None:
    *served, (status, message) = _fed(*pieces)
    assert all(status == 0 for status, _ in served)
    assert status == 400 and "a chunk-size line (its chunk extensions)" in message, message


def test_short_trailers_are_still_discarded() -> None:
    assert _fed(_HEAD + b"3\r\nabc\r\n0\r\nX-T: " + b"a" * 1000 + b"\r\n\r\n") == [(0, "")]
