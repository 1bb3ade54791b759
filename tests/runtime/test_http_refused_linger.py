"""A connection refused at the cap (every HTTP connection busy: 503 with
``Retry-After``) is closed with a short lingering close (``_REFUSED_LINGER_S``,
while fewer than ``_REFUSED_LINGERING`` linger), so a client that sent its request
(and more) before reading reads the 503 and then the end of the stream. Before
session 20's service probe it was closed at once with the request unread: the
kernel reset the connection after the 503 (20 of 20 clients read
``ConnectionResetError`` after it here), and a client still sending its body
could lose the answer to the reset."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from impl import http_api
from impl.runtime import NodeServer
from tests.runtime.live import call, cluster, pipelined_gets, read_to_end, run, url


def _refused_clients(address: tuple[str, int],
                     count: int) -> collections.Counter[tuple[bytes, str]]:
    """``count`` clients that each send a GET and a 64 KiB PUT behind it at once,
    then read: (the answer's first 12 bytes, how the stream ended) of each."""
    ends: collections.Counter[tuple[bytes, str]] = collections.Counter()
    for _ in range(count):
        with socket.create_connection(address, timeout=5) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nPUT /kv/x HTTP/1.1\r\n"
                         b"Host: x\r\nContent-Length: 65536\r\n\r\n" + b"v" * 65536)
            out, end = read_to_end(sock)
            ends[(out[:12], end)] += 1
    return ends


@contextlib.asynccontextmanager
async def node_at_its_cap(tmp_path: Path) -> AsyncIterator[NodeServer]:
    """n1 of a new cluster (``max_http_connections = 2``) with both its connections
    held busy by 20 pipelined GETs of a 600 kB value each, closed at the end."""
    async with cluster(tmp_path, max_http_connections=2, http_idle_timeout_s=20.0) as servers:
        node = servers[0]
        address = node.http_address
        assert address is not None
        status, _, _ = await call("PUT", url(node, "/kv/big?w=3"), bytes(600_000))
        assert status == 200
        busy = [pipelined_gets(address, 20) for _ in range(2)]
        try:
            await asyncio.sleep(0.5)
            yield node
        finally:
            for sock in busy:
                sock.close()


def test_a_refused_connection_reads_its_503_and_then_the_end(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with node_at_its_cap(tmp_path) as node:
            address = node.http_address
            assert address is not None
            ends = await asyncio.to_thread(_refused_clients, (address.host, address.port), 10)
            assert ends == {(b"HTTP/1.1 503", "eof"): 10}, ends
            for _ in range(100):  # each lingers at most _REFUSED_LINGER_S
                if not node.http._refused_lingering:
                    break
                await asyncio.sleep(0.01)
            assert node.http._refused_lingering == 0
        assert 0 < http_api._REFUSED_LINGER_S <= http_api._LINGER_S
    run(scenario())
