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

import pytest

from impl.http_api import CHUNK_FRAMING_SLACK, _Parse

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
