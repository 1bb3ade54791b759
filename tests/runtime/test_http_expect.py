"""``Expect: 100-continue`` on a live node (loopback): a client that asks before sending
its body (curl does for a large body, and waits 1 s for the answer) gets
``100 Continue`` at once; a body over the limit is refused with 413 before it is
sent; an expectation other than 100-continue gets 417 (RFC 9110 10.1.1)."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

from impl.runtime import NodeServer
from tests.runtime.live import cluster, run

#: how long the test waits for the interim answer: well under curl's 1 s
PROMPT_S = 0.5


async def _connect(node: NodeServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    address = node.http_address
    assert address is not None
    return await asyncio.open_connection(address.host, address.port)


async def _final(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of the answer read up to the close (connection: close)."""
    data = await asyncio.wait_for(reader.read(), 5.0)
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_a_body_announced_with_expect_gets_100_continue_before_it_is_sent(
        tmp_path: Path) -> None:
    value = b"x" * 2000
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            reader, writer = await _connect(node)
            writer.write(b"PUT /kv/expect HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                         b"Expect: 100-continue\r\n\r\n" % len(value))
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PROMPT_S)
            assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
            writer.write(value)
            reader2, writer2 = await _connect(node)
            writer2.write(b"GET /kv/expect HTTP/1.1\r\nHost: x\r\nAccept: application/json"
                          b"\r\nConnection: close\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            assert head.startswith(b"HTTP/1.1 200 ")  # the put, on the same connection
            status, body = await _final(reader2)
            assert status == 200
            assert [base64.b64decode(v) for v in json.loads(body)["values"]] == [value]
            for w in (writer, writer2):
                w.close()
            # A client that sends its body at once (no wait) gets no 100 Continue.
            reader, writer = await _connect(node)
            writer.write(b"PUT /kv/eager HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                         b"Expect: 100-continue\r\nConnection: close\r\n\r\nabc")
            status, _ = await _final(reader)
            assert status == 200
            writer.close()
    run(scenario())


def test_a_body_over_the_limit_is_refused_before_it_is_sent(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, max_value_bytes=1024) as servers:
            node = servers[0]
            reader, writer = await _connect(node)
            writer.write(b"PUT /kv/big HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                         b"Expect: 100-continue\r\n\r\n")
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PROMPT_S)
            assert head.startswith(b"HTTP/1.1 413 ")  # the final answer, no 100 first
            writer.close()
    run(scenario())


def test_an_unknown_expectation_gets_417(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            reader, writer = await _connect(servers[0])
            writer.write(b"PUT /kv/odd HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                         b"Expect: something-else\r\n\r\nabc")
            status, body = await _final(reader)
            assert status == 417 and json.loads(body)["error"] == "BadRequestError"
            writer.close()
    run(scenario())
