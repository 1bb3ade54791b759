"""A connection lingering after its refusal (a malformed request answered 400, its
client still sending: ``_linger`` drains for up to a second so that the client
reads the answer) does no work, so at the cap it is evicted for a new client
rather than refusing it. Until session 19's service probe it kept the busy slot
of its request: 600 clients sending garbage without pause (about 320 connects/s)
got 142 connections refused 503 at a node with the default cap, 3 of 54 /health
GETs among them; after, none of 44 (case 21's kind: connections that do no work
locking a client out).

The lingering lasts 60 s here (``_linger``'s default monkeypatched; 1 s in the
product): with the product's second, a loaded machine could let it end before the
test's GET came, the slot then freed with no eviction (session 58: ``evicted`` 0
under a load of 18; with a 1.3 s pause injected before the GET, 3 of 3 runs so).
Mutant: the lingering connection kept busy (``slots.waiting`` before ``_linger``
removed): the GET is refused, 503."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from impl import http_api
from tests.runtime.live import call, cluster, run, running, until, url


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


def test_a_new_client_evicts_a_lingering_connection_at_the_cap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_api._linger, "__defaults__", (60.0,))

    async def scenario() -> None:
        async with cluster(tmp_path, max_http_connections=4) as servers:
            node = servers[0]
            address = node.http_address
            assert address is not None
            with running(_garbage, (address.host, address.port), count=4):
                await until(lambda: node.http.malformed >= 4,
                            "each answered 400 and lingering", limit=30)
                status, _, _ = await call("GET", url(node, "/health"))
            assert status == 200  # was 503: every connection busy
            assert node.http.slots.refused == 0 and node.http.slots.evicted >= 1
    run(scenario())
