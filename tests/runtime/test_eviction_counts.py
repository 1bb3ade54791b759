"""A connection the node evicts (at ``max_http_connections``, the oldest idle one
makes room) is counted as evicted, not as a malformed request answered 400.
Before session 14's probe B each eviction's close read as the client cutting
its request short: 3,000 half-sent heads against the default cap of 512 showed
``http_malformed`` 2,777 in ``/status`` and as many
``vdynamo_http_requests{status="400"}`` answers, none of them sent, beside
``http_evicted`` 2,489; an operator was told clients sent garbage."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from tests.runtime.live import call, cluster, run, url


def test_evicted_connections_are_not_malformed_requests(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, max_http_connections=2,
                           http_header_timeout_s=30.0) as servers:
            node = servers[0]
            address = node.http_address
            assert address is not None
            idle = []
            for _ in range(6):
                sock = socket.create_connection((address.host, address.port), timeout=5)
                sock.sendall(b"GET /kv/k HTTP/1.1\r\nHost: x\r\n")  # half a head
                idle.append(sock)
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            assert node.http.slots.evicted >= 4
            assert node.http.malformed == 0
            status, _, body = await call("GET", url(node, "/status"))
            assert status == 200 and body["connections"]["http_malformed"] == 0
            assert 'status="400"' not in node.metrics.render().decode()
            for sock in idle:
                sock.close()
    run(scenario())
