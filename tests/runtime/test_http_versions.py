"""A request of an HTTP version the node does not serve gets an answer at once
naming the version: 505 for another major version (RFC 9110 15.6.6: "the server
does not support ... the major version of HTTP that was used in the request"),
HTTP/0.9 (a request line without a version, RFC 9112 Appendix C.1), HTTP/2
(the prior-knowledge connection preface of RFC 9113 3.4, ``curl
--http2-prior-knowledge``) and HTTP/3; a 400 naming it for an HTTP/1 minor
version llhttp does not read. A higher HTTP/1 minor version (``HTTP/1.2``) is
read as 1.1 (RFC 9110 2.5), since session 23 (400 before).

Before session 21's service probe an HTTP/0.9 request (``GET /kv/a`` and CRLF,
what a 0.9 client or ``printf 'GET /\\r\\n' | nc`` sends, then waits) was not
answered at all: the node waited for headers that never come and closed the
connection at ``http_header_timeout_s`` without a word (case 08's kind); the
HTTP/2 preface got 400 "request line: Pause on PRI/Upgrade" (llhttp's own state,
naming nothing the client sent), HTTP/3.0 and HTTP/1.2 400 "Invalid HTTP version"
(not naming it)."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from impl.runtime import Address
from tests.runtime.live import cluster, parse_response, raw, run


def _split_send(address: Address | None, first: bytes, second: bytes) -> tuple[bytes, float]:
    """Send ``first``, then ``second`` 0.2 s later; (all the node sends back until
    it closes, seconds from the second send until then; at most 4 s)."""
    assert address is not None
    out = b""
    with socket.create_connection((address.host, address.port), timeout=4) as sock:
        sock.sendall(first)
        time.sleep(0.2)
        sock.sendall(second)
        started = time.monotonic()
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except OSError:
            pass
    return out, time.monotonic() - started


@pytest.mark.parametrize(("request_line", "status", "named"), [
    (b"GET /kv/a\r\n", 505, "HTTP/0.9"),
    (b"GET /kv/a\r\n\r\n", 505, "HTTP/0.9"),
    (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505, "HTTP/2 connection preface"),
    (b"GET /kv/a HTTP/2.0\r\nHost: x\r\n\r\n", 505, "HTTP/2.0"),
    (b"GET /kv/a HTTP/3.0\r\nHost: x\r\n\r\n", 505, "HTTP/3.0"),
    (b"GET /kv/a HTTP/9.9\r\nHost: x\r\nAccept: */*\r\n\r\n", 505, "HTTP/9.9"),
])
def test_an_unserved_version_is_answered_at_once_naming_it(
        tmp_path: Path, request_line: bytes, status: int, named: str) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, http_header_timeout_s=10.0) as servers:
            node = servers[0]
            started = time.monotonic()
            answer = await raw(node.http_address, request_line, timeout=4.0)
            assert answer, f"no answer in {time.monotonic() - started:.1f} s"
            got, _, body = parse_response(answer)
            assert (got, named in body["message"]) == (status, True), body
            assert "HTTP/1.1 and 1.0 are served" in body["message"], body

    run(scenario(), 60)


def test_an_http09_request_line_sent_in_two_reads_is_answered(tmp_path: Path) -> None:
    """The target in one read, its CRLF in the next: 505 within a second."""
    async def scenario() -> None:
        async with cluster(tmp_path, http_header_timeout_s=10.0) as servers:
            node = servers[0]
            answer, seconds = await asyncio.to_thread(
                _split_send, node.http_address, b"GET /kv/a", b"\r\n")
            assert answer.startswith(b"HTTP/1.1 505 "), (answer[:60], seconds)
            assert seconds < 2.0

    run(scenario(), 60)


def test_an_http09_request_line_pipelined_behind_a_request_is_answered(
        tmp_path: Path) -> None:
    """llhttp keeps the previous request's version (1.1) while it reads a 0.9 line
    behind it: the line is told by its text, answered after the first request's
    answer."""
    async def scenario() -> None:
        async with cluster(tmp_path, http_header_timeout_s=10.0) as servers:
            node = servers[0]
            answer = await raw(node.http_address, b"GET /kv/b HTTP/1.1\r\nHost: x\r\n\r\n"
                               b"GET /kv/a\r\n", timeout=4.0)
            first, _, second = answer.partition(b"HTTP/1.1 505 ")
            assert first.startswith(b"HTTP/1.1 404 ") and b"HTTP/0.9" in second, answer[:300]

    run(scenario(), 60)


def test_versions_served_and_targets_like_a_version_still_work(tmp_path: Path) -> None:
    """HTTP/1.1 and 1.0 are answered as before; a 1.1 request whose key ends like a
    version (``/kv/HTTP/1.1``) is a key."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            for line in (b"GET /kv/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                         b"GET /kv/a HTTP/1.0\r\n\r\n",
                         b"GET /kv/HTTP/1.1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                         b"GET /kv/a HTTP/1.1\r\nHost: x\r\nX: GET /kv/a\r\n"
                         b"Connection: close\r\n\r\n"):
                status, _, body = parse_response(await raw(node.http_address, line))
                assert status == 404, (line, body)

    run(scenario(), 60)


def test_a_higher_http1_minor_version_is_read_as_1_1(tmp_path: Path) -> None:
    """RFC 9110 2.5: a recipient reads a message of a higher minor version as the
    highest minor version it serves. ``HTTP/1.2`` (and 1.9) got 400 "HTTP/1.2 is
    not read here" until session 23 (llhttp refused it; it now reads any version
    digit, and the node refuses another major version itself)."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            answer = await raw(node.http_address,
                               b"PUT /kv/v HTTP/1.2\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"
                               b"GET /kv/v HTTP/1.9\r\nHost: x\r\nAccept: application/json\r\n"
                               b"Connection: close\r\n\r\n")
            first, _, rest = answer.partition(b"\r\n\r\n")
            assert first.startswith(b"HTTP/1.1 200 ") and b"connection: close" not in first
            assert b"HTTP/1.1 200 " in rest and b'"values": ["b2s="]' in rest, answer
            status, _, body = parse_response(await raw(
                node.http_address, b"GET /kv/v HTTP/1.2\r\n\r\n"))  # Host, as in 1.1
            assert status == 400 and "no Host" in body["message"], body

    run(scenario(), 60)
