"""An AsyncClient used in a second event loop is refused before anything is sent.

A client made once and used from two ``asyncio.run`` calls in turn (a script
running two coroutines one after the other): its pooled connections belong to the
first, closed loop. Before session 29's user probe the second run's put went out on
such a connection and raised httpx's bare ``RuntimeError: Event loop is closed``
though the node stored the value (``/tmp/p29/async_two_loops.py``: three
``vdynamo serve`` processes, the put's value read back at r=3): neither the
library's OutcomeUnknownError nor a refusal. Now a LocalError naming the misuse,
nothing sent; ``aclose`` from the other loop returns."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from impl.errors import LocalError
from impl.http_client import AsyncClient, Client


class _Node(http.server.BaseHTTPRequestHandler):
    """Answers every PUT 200 with a context (keep-alive), counts them; no /status."""

    protocol_version = "HTTP/1.1"
    puts = 0

    def do_PUT(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).puts += 1
        self._answer(200, {"context": "AgEAAA=="})

    def do_GET(self) -> None:
        self._answer(404, {"error": "NotFound", "message": "no /status here"})

    def _answer(self, status: int, body: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _node() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Node)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_second_event_loop_is_refused_before_anything_is_sent() -> None:
    _Node.puts = 0
    with _node() as address:
        db = AsyncClient([address], timeout_s=5)
        asyncio.run(db.put("k", b"v1"))
        assert _Node.puts == 1
        with pytest.raises(LocalError, match=r"another event loop.*nothing was sent"):
            asyncio.run(db.put("k", b"v2"))  # before: RuntimeError, or sent
        assert _Node.puts == 1
        asyncio.run(db.aclose())  # dropped, no RuntimeError


def test_one_loop_serves_many_requests_and_closes() -> None:
    _Node.puts = 0

    async def scenario(address: str) -> None:
        async with AsyncClient([address], timeout_s=5) as db:
            await asyncio.gather(*(db.put(f"k{i}", b"v") for i in range(5)))
    with _node() as address:
        asyncio.run(scenario(address))
    assert _Node.puts == 5


def test_a_closed_client_is_refused_naming_it() -> None:
    """A request after ``close`` or ``aclose``: LocalError, nothing sent (httpx's
    bare RuntimeError "Cannot send a request, as the client has been closed" before)."""
    _Node.puts = 0

    async def closed_async(address: str) -> None:
        async with AsyncClient([address], timeout_s=5) as db:
            await db.put("k", b"v")
        with pytest.raises(LocalError, match="closed"):
            await db.put("k", b"v")
    with _node() as address:
        with Client([address], timeout_s=5) as sync:
            sync.put("k", b"v")
        with pytest.raises(LocalError, match="client is closed"):
            sync.put("k", b"v")
        asyncio.run(closed_async(address))
    assert _Node.puts == 2
