"""A chunk-size line whose chunk extensions never end is refused 400 (RFC 9112
7.1.1: a server ought to limit the chunk extensions it receives and answer a 4xx;
Node.js CVE-2024-22019, Go's CVE-2023-39326), nothing stored (session 18's service
probe; case 21's kind).

Before: ``PUT /kv/k`` chunked, then ``1;`` followed by extension bytes without end:
the node read 758 MB in 8 s on that one connection and never answered (memory
flat, llhttp streams extensions, but the parser busy and the connection held for
as long as the client sent: its bytes met the body rate, which counts bytes
read). Now the node answers 400 naming the chunk extensions once a chunk-size
line passes 64 KiB; a chunk extension of a few KB is still served (ignored)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import time
from pathlib import Path

from impl.runtime_config import Address
from tests.runtime.live import call, cluster, parse_response, raw, run, url


def test_an_endless_chunk_extension_is_400_and_a_short_one_is_served(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            address = servers[0].http_address
            head = b"PUT /kv/ext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            answer = await raw(address, head + b"1;" + b"a" * (2 << 20), timeout=10)
            assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]  # before: b""
            _, _, body = parse_response(answer)
            assert "chunk extensions" in body["message"] and "RFC 9112 7.1.1" in body["message"]
            status, _, got = await call("GET", url(servers[1], "/kv/ext?r=3"))
            assert status == 404 and got["values"] == [], got
            # extensions within the bound, on every chunk, are ignored and served
            chunks = b"".join(b"1;note=" + b"x" * 4000 + b"\r\n" + bytes([c]) + b"\r\n"
                              for c in b"hello")
            answer = await raw(address, head[:-2] + b"Connection: close\r\n\r\n" + chunks
                               + b"0\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
            status, _, got = await call("GET", url(servers[1], "/kv/ext?r=3"))
            assert status == 200 and got["values"] == ["aGVsbG8="], got
    run(scenario())


def _put_after_head(address: Address | None, head: bytes, body: bytes) -> bytes:
    """Send ``head``, then (0.3 s later, so that the node reads the body apart from
    it) ``body``; everything the node answers until it closes."""
    assert address is not None
    with socket.create_connection((address.host, address.port), timeout=10) as sock:
        sock.sendall(head)
        time.sleep(0.3)
        with contextlib.suppress(OSError):  # the node may answer and close mid-send
            sock.sendall(body)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
        return b"".join(chunks)


def test_the_bound_holds_for_a_line_begun_in_a_read_and_is_per_line(tmp_path: Path) -> None:
    """Session 18's review. A chunk-size line of 100 KiB sent apart from the head
    was served (200): the bound counted only the reads (up to 64 KiB each) in
    which the parser did not move on, so the bytes of the read in which a chunk
    began went uncounted (up to 128 KiB passed); now the bytes read are parsed in
    8 KiB slices, and the line is 400, nothing stored. And a mutant never resetting
    the count at a chunk survived the test above (its chunks were 20 KB in all): 100
    chunks with 1,000-byte extensions (100 KB of them) are served."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            address = servers[0].http_address
            head = (b"PUT /kv/line HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    b"Connection: close\r\n\r\n")
            answer = await asyncio.to_thread(_put_after_head, address, head, (
                b"1;" + b"a" * (100 << 10) + b"\r\nv\r\n0\r\n\r\n"))
            assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
            assert b"chunk extensions" in answer, answer[:300]
            status, _, got = await call("GET", url(servers[1], "/kv/line?r=3"))
            assert status == 404 and got["values"] == [], got
            chunks = b"".join(b"1;n=" + b"x" * 1000 + b"\r\nv\r\n" for _ in range(100))
            answer = await asyncio.to_thread(_put_after_head, address, head,
                                             chunks + b"0\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
            status, _, got = await call("GET", url(servers[1], "/kv/line?r=3"))
            assert status == 200 and got["values"] == [base64.b64encode(b"v" * 100).decode()]
    run(scenario())
