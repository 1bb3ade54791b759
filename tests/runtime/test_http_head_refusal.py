"""A PUT whose head the node refuses whatever its body gets that refusal before its
body is read: no ``100 Continue`` for it, and no wait for its turn (session 26's
user probe).

Before, every such put (a context that is not base64, ``Content-Encoding: gzip``,
``If-Match``, ``w=9``, a key over ``max_key_bytes``, an unknown query parameter)
got ``100 Continue`` (7 of 7 on three ``vdynamo serve`` processes), so its client
sent its whole value for a 400, 414, 415 or 501; and one without ``Expect``
waited its turn for the node's bytes first, so under load it got a 503 and its
retry the 400 (session 24's note, "Bodies read after admission"). A put whose head
is served still gets its 100; its value is stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from impl import http_api
from impl.runtime import NodeServer
from tests.runtime.live import cluster, parse_response, run

_HEAD = (b"PUT /kv/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
         b"Expect: 100-continue\r\n%s\r\n")


async def _connect(node: NodeServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    address = node.http_address
    assert address is not None
    return await asyncio.open_connection(address.host, address.port)


@pytest.mark.parametrize(("target", "header", "status", "says"), [
    (b"k", b"X-Vdynamo-Context: !!!!\r\n", 400, "not valid base64"),
    (b"k", b"Content-Encoding: gzip\r\n", 415, "Content-Encoding"),
    (b"k", b"If-Unmodified-Since: Tue, 01 Dec 2026 00:00:00 GMT\r\n", 501,
     "If-Unmodified-Since"),  # If-Match until session 49, which evaluates it
    (b"k", b"If-Match: abc\r\n", 400, "If-Match"),  # a malformed one (session 49)
    (b"k?w=9", b"", 400, "w: must be an integer in 1..3"),
    (b"k" * 2000, b"", 414, "2000 bytes"),
])
def test_a_refused_head_is_answered_before_its_body(
        tmp_path: Path, target: bytes, header: bytes, status: int, says: str) -> None:
    async def scenario() -> tuple[bytes, int]:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            reader, writer = await _connect(node)
            writer.write(_HEAD % (target, header))
            answer = await asyncio.wait_for(reader.read(), 5.0)  # then the node closes
            writer.close()
            return answer, node.http.malformed
    answer, malformed = run(scenario())
    assert not answer.startswith(b"HTTP/1.1 100"), answer[:60]  # before: 100 Continue
    got, _, body = parse_response(answer)
    assert got == status and says in body["message"], body
    assert malformed == 0  # a refusal of the route, not a malformed request


def test_a_served_head_still_gets_100_continue_and_is_stored(tmp_path: Path) -> None:
    async def scenario() -> tuple[bytes, bytes]:
        async with cluster(tmp_path) as servers:
            reader, writer = await _connect(servers[0])
            writer.write(_HEAD % (b"k", b""))
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            writer.write(b"v" * 100000)
            final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            writer.close()
            return interim, final
    interim, final = run(scenario())
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    assert final.startswith(b"HTTP/1.1 200")


def test_a_refused_head_without_expect_is_answered_after_its_slow_body(tmp_path: Path) -> None:
    """Without ``Expect`` the client sends its body whatever the node answers: it is
    read and dropped (never admitted), then refused, and the connection stays.
    Session 26's review: answered before its body and the connection closed, a body
    that took longer than the lingering close got a reset in place of its 400
    (http.client sending 1 MB over 3 s: BrokenPipeError at 1.1 s)."""
    async def scenario() -> tuple[bytes, int]:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            reader, writer = await _connect(node)
            writer.write(b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                         b"X-Vdynamo-Context: !!!!\r\n\r\n" + b"v" * 1000)
            await asyncio.sleep(http_api._LINGER_S + 0.3)  # past the lingering close
            writer.write(b"v" * 99000 + b"GET /kv/k HTTP/1.1\r\nHost: x\r\n"
                         b"Connection: close\r\n\r\n")
            answer = await asyncio.wait_for(reader.read(), 5.0)
            writer.close()
            return answer, node.http.malformed
    answer, malformed = run(scenario())
    refused, _, rest = answer.partition(b"HTTP/1.1 404")  # the GET's: no value
    got, headers, body = parse_response(refused)
    assert got == 400 and "not valid base64" in body["message"], body
    assert headers.get("connection") != "close" and rest, answer[-200:]  # before: closed
    assert malformed == 0
