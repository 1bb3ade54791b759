"""A body the node does not keep (any request but a PUT of a value: a GET, a
DELETE, a POST to /admin/force-remove) is read and dropped only up to
``Parse.discard_limit`` (the larger of ``max_value_bytes`` and
``DISCARDED_BODY_BYTES``, 1 MiB); over it 413 naming the method, and the
connection closes (nginx's ``client_max_body_size`` bounds every request's body
so). Before session 19's service probe such a body was read whatever its size: a
GET with ``Content-Length: 10**15``, or a chunked one without end, sent at 6 MB/s
was read for as long as the client sent (95 MB in 15 s, no answer), the
connection held for good (case 21's kind: its bytes met the body rate bound) and
its parser busy. A body within the bound is still dropped and the request
answered, the connection kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from impl.http_api import DISCARDED_BODY_BYTES
from tests.runtime.live import call, cluster, parse_response, raw, run, send_until_closed, url

_PIECE = b"x" * 65536


def _stream(address: tuple[str, int], head: bytes, chunked: bool,
            limit: float) -> tuple[bytes, int, bool]:
    """Send ``head`` then 64 KiB pieces (chunks if ``chunked``) for at most ``limit``
    seconds: (what the node answered, body bytes sent, whether it closed)."""
    piece = b"10000\r\n" + _PIECE + b"\r\n" if chunked else _PIECE
    answer, sent, closed = send_until_closed(address, head, piece, 0.0, limit)
    return answer, sent, closed is not None


@pytest.mark.parametrize(("head", "chunked"), [
    (b"GET /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000000\r\n\r\n", False),
    (b"GET /kv/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", True),
    (b"DELETE /kv/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", True),
    (b"POST /admin/force-remove?node=n3 HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 1000000000000000\r\n\r\n", False),
])
def test_an_endless_body_that_is_not_a_value_gets_413_and_the_connection_closes(
        tmp_path: Path, head: bytes, chunked: bool) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            assert (await call("PUT", url(node, "/kv/k"), b"v"))[0] == 200
            address = node.http_address
            assert address is not None
            answer, sent, closed = await asyncio.to_thread(
                _stream, (address.host, address.port), head, chunked, 10.0)
            assert answer.startswith(b"HTTP/1.1 413"), (sent, answer[:200])
            status, headers, body = parse_response(answer)
            assert headers["connection"] == "close"
            method = head.split(b" ")[0].decode()
            assert body["error"] == "TooLargeError" and method in body["message"]
            assert body["outcome"] == "not-written"
            # closed after the one-second linger that lets the client read the
            # answer (the client here sends as fast as it can throughout)
            assert closed, f"still open after {sent} bytes"
            status, _, got = await call("GET", url(node, "/kv/k") + "?r=3")
            assert status == 200 and got["values"] == ["dg=="]  # nothing deleted
    run(scenario())


def test_a_body_within_the_bound_is_dropped_and_the_connection_kept(tmp_path: Path) -> None:
    """A GET with a 512 KiB body (and an ``Expect: 100-continue`` DELETE of one byte
    over the bound, refused before its body) behind which a GET is pipelined."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            assert (await call("PUT", url(node, "/kv/k"), b"v"))[0] == 200
            body = b"y" * (DISCARDED_BODY_BYTES // 2)
            answer = await raw(node.http_address,
                               b"GET /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                               % len(body) + body + b"GET /kv/k HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\n\r\n")
            assert answer.count(b"HTTP/1.1 200 OK") == 2, answer[:300]
            answer = await raw(node.http_address,
                               b"DELETE /kv/k HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                               b"Content-Length: %d\r\n\r\n" % (DISCARDED_BODY_BYTES + 1))
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]  # no 100 Continue
            assert (await call("GET", url(node, "/kv/k")))[0] == 200  # not deleted
    run(scenario())


def test_the_bound_is_max_value_bytes_when_that_is_larger(tmp_path: Path) -> None:
    """With ``max_value_bytes`` 2 MiB a GET's body of 1.5 MiB is dropped (200) and
    one of 2 MiB + 1 is 413; a PUT of a 1.5 MiB value is stored: the discard bound
    is only for bodies that are not kept (session 19's review: mutants of
    ``discard_limit`` that ignored ``max_value_bytes`` or bounded a value by 1 MiB
    survived the tests above, run with the default 1 MiB)."""
    async def scenario() -> None:
        async with cluster(tmp_path, max_value_bytes=2 << 20) as servers:
            node = servers[0]
            body = b"y" * (3 << 19)
            assert (await call("PUT", url(node, "/kv/k"), body))[0] == 200
            answer = await raw(node.http_address,
                               b"GET /kv/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                               b"Content-Length: %d\r\n\r\n" % len(body) + body)
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
            answer = await raw(node.http_address,
                               b"GET /kv/k HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Length: %d\r\n\r\n" % ((2 << 20) + 1))
            assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    run(scenario(), 120)
