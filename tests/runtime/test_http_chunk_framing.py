"""A chunked body's framing is bounded as a whole, not only line by line (session
39's user probe; RFC 9112 7.1.1, Go's CVE-2023-39326).

Session 18 bounded each chunk-size line with its extensions (64 KiB: the parser
must move on within it). A client that sent one byte of data behind each
60,000-byte extension kept every line under that bound, so the node read its body
for good: on a ``vdynamo serve`` process 1.8 GB in 20 s for 29,970 bytes of value,
7.8 s of CPU, never refused (a GET's discarded body alike). Now a body's framing
(chunk-size lines with their extensions, CRLFs, trailer fields) may be
``CHUNK_FRAMING_SLACK`` (1 MiB) plus 16 bytes a chunk and twice its data; over it
400 naming the framing, nothing stored. Bodies of tiny chunks and extensions within
the earlier tests' sizes are served as before (``test_http_chunk_extensions.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from impl.http_api import _BODY_SLICE, CHUNK_FRAMING_SLACK, _Parse

_PUT = b"PUT /kv/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
#: one byte of data behind a 60,000-byte extension: each line within the line bound
_PADDED = b"1;" + b"a" * 60_000 + b"\r\nx\r\n"


def _fed(data: bytes, limit: int = 1 << 20) -> list[tuple[int, str]]:
    """(status, message) of each request ``data`` holds, fed in reads of 64 KiB;
    (0, "") for one parsed whole."""
    parse = _Parse(limit)
    for at in range(0, len(data), 65536):
        if parse.dead:
            break
        parse.feed(data[at:at + 65536])
    return [(0, "") if r.problem is None else (r.problem[0], r.problem[1]["message"])
            for r in parse.ready]


@pytest.mark.parametrize("method", [b"PUT", b"GET"])
def test_padded_chunks_are_refused_once_their_framing_passes_the_bound(method: bytes) -> None:
    chunks = 2 * CHUNK_FRAMING_SLACK // len(_PADDED)  # 34: 2 MiB of framing, 34 bytes
    (status, message), = _fed(_PUT.replace(b"PUT", method) + _PADDED * chunks
                              + b"0\r\n\r\n")
    assert status == 400, message  # before: (0, ""), the whole body read, 34 bytes kept
    assert message.startswith("malformed HTTP request: body: its chunked framing "), message
    assert f"over {CHUNK_FRAMING_SLACK} bytes, 16 a chunk and twice the data" in message


def test_bodies_of_small_chunks_are_read_as_before() -> None:
    value = bytes(range(256)) * 40  # 10,240 one-byte chunks
    ones = b"".join(b"1\r\n%c\r\n" % byte for byte in value)
    assert _fed(_PUT + ones + b"0\r\n\r\n", limit=len(value)) == [(0, "")]
    # extensions of a few KB on every chunk, within the bound: ignored
    noted = b"".join(b"1;note=" + b"x" * 4000 + b"\r\n%c\r\n" % byte for byte in b"hello" * 20)
    assert _fed(_PUT + noted + b"0\r\n\r\n") == [(0, "")]


def _chunked(key: bytes, value: bytes, size: int, pad: int = 0) -> bytes:
    """A chunked PUT of ``value`` to ``key`` in chunks of ``size`` bytes, its head
    padded by ``pad`` bytes (an X-Pad field)."""
    chunks = b"".join(b"%x\r\n" % len(value[at:at + size]) + value[at:at + size] + b"\r\n"
                      for at in range(0, len(value), size))
    return (b"PUT /kv/%s HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\nTransfer-Encoding: chunked"
            b"\r\n\r\n%s0\r\n\r\n" % (key, b"p" * pad, chunks))


def _sized(key: bytes, value: bytes, pad: int = 0) -> bytes:
    return (b"PUT /kv/%s HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\nContent-Length: %d\r\n\r\n%s"
            % (key, b"p" * pad, len(value), value))


@pytest.mark.parametrize(("first", "limit"), [
    (lambda pad: _sized(b"a", b"v" * (2 << 20), pad), 4 << 20),
    (lambda pad: _chunked(b"a", b"v" * (2 << 20), 65536, pad), 4 << 20),
    (lambda pad: _sized(b"a", b"v" * (1 << 20), pad), 1 << 20),  # the default limit
], ids=["sized-2MiB", "chunked-2MiB", "sized-1MiB"])
@pytest.mark.parametrize("second", [_sized, lambda key, value: _chunked(key, value, 4)],
                         ids=["sized", "chunked"])
def test_a_request_pipelined_behind_a_large_body_is_not_charged_its_bytes(
        first: Any, limit: int, second: Any) -> None:
    """Session 39's review: a slice of the bytes read in which one request's body
    ended and the next one's began counted the whole earlier body as framing
    (``received`` restarts at the next request), so a PUT of 2 MiB (max_value_bytes
    4 MiB), or of exactly 1 MiB (the default), with a short PUT pipelined behind it
    whose body crossed the slice's end got 400 "its chunked framing ... is 2096997
    bytes for 99 bytes of data", neither request chunked. Each request is padded so
    that a slice of 8 KiB (``_BODY_SLICE``, reads of 64 KiB) ends in the second
    one's body."""
    tail = second(b"b", b"w" * 20)
    body_at = tail.index(b"\r\n\r\n") + 4 + 10  # inside the second body's bytes
    pad = -(len(first(0)) + body_at) % _BODY_SLICE
    data = first(pad) + tail
    assert (len(first(pad)) + body_at) % _BODY_SLICE == 0
    assert _fed(data, limit) == [(0, ""), (0, "")]  # before: [(0, ""), (400, ...)]


def test_the_bound_grows_with_the_chunks_and_the_data() -> None:
    """The framing a body may have grows by 16 bytes a chunk and twice its data
    (session 39's review: the earlier tests' bodies kept their framing under the
    1 MiB slack, so either term could be dropped unseen). 100,000 one-byte chunks
    with a 10-byte extension each (15 bytes of framing a chunk: 1.5 MB, over the slack
    and twice the data, within 16 a chunk more), and 100 chunks of 8,000 bytes behind
    15,000-byte extensions (1.5 MB: within twice the data more, not 16 a chunk) are
    served."""
    ones = b"1;abcdefghi\r\nx\r\n" * 100_000
    assert _fed(_PUT + ones + b"0\r\n\r\n") == [(0, "")]
    wide = (b"1f40;" + b"e" * 15_000 + b"\r\n" + b"d" * 8000 + b"\r\n") * 100
    assert _fed(_PUT + wide + b"0\r\n\r\n") == [(0, "")]
