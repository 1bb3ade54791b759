"""A connection lingering after its refusal (a malformed request answered 400, its
client still sending: ``_linger`` drains for up to a second so that the client
reads the answer) does no work, so at the cap it is evicted for a new client
rather than refusing it. Until session 19's service probe it kept the busy slot
of its request: 600 clients sending garbage without pause (about 320 connects/s)
got 142 connections refused 503 at a node with the default cap, 3 of 54 /health
GETs among them; after, none of 44 (case 21's kind: connections that do no work
locking a client out)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

from tests.runtime.live import call, cluster, run, running, url


def _garbage(address: tuple[str, int], stop: threading.Event) -> None:
    """A malformed request, then junk without pause until ``stop`` or the close."""
    with socket.create_connection(address, timeout=5) as sock:
        try:
            sock.sendall(b"GET /kv/a b HTTP/1.1\r\nHost: x\r\n\r\n")
            while not stop.is_set():
                sock.sendall(b"x" * 512)
                time.sleep(0.01)
        except OSError:
            pass


def test_a_new_client_evicts_a_lingering_connection_at_the_cap(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, max_http_connections=4) as servers:
            node = servers[0]
            address = node.http_address
            assert address is not None
            with running(_garbage, (address.host, address.port), count=4):
                await asyncio.sleep(0.25)  # each answered 400 and lingering (1 s)
                assert node.http.malformed >= 4
                status, _, _ = await call("GET", url(node, "/health"))
            assert status == 200  # was 503: every connection busy
            assert node.http.slots.refused == 0 and node.http.slots.evicted >= 1
    run(scenario())
