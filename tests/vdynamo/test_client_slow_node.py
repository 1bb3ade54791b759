"""The client library bounds each request to one node as a whole, not each read:
a node (or a proxy) that sends its answer a byte at a time is given up after
about ``timeout_s`` (a get: NoNodeError naming a ReadTimeout; a put:
OutcomeUnknownError). Before session 14's probe B httpx's timeouts bounded each
read only, and a ``get`` with ``timeout_s = 2`` waited 20 s for an answer
trickled over 20 s (forever for one that never ends). Loopback only: a local
socket server that trickles, stopped at the end."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from impl.http_client import AsyncClient, Client, NoNodeError, OutcomeUnknownError

TIMEOUT = 0.5  # 1.0 before session 19; a byte every 0.1 s never lets a read time out
TRICKLE_S = 20 * TIMEOUT  # how long the server trickles one answer


@contextlib.contextmanager
def _trickling_node() -> Iterator[str]:
    """A server whose every answer is a 200 head, then one body byte every 0.1 s."""
    stop = threading.Event()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.settimeout(0.2)

    def handle(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                size = int(TRICKLE_S / 0.1)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % size)
                for _ in range(size):
                    if stop.is_set():
                        return
                    conn.sendall(b" ")
                    time.sleep(0.1)
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        sock.close()


def test_a_trickling_node_is_given_up_after_the_timeout() -> None:
    with _trickling_node() as node, Client([node], timeout_s=TIMEOUT) as db:
        started = time.monotonic()
        with pytest.raises(NoNodeError, match="ReadTimeout"):
            db.get("k")
        # the ring's /status, then the get: each bounded by about TIMEOUT
        assert time.monotonic() - started < 4 * TIMEOUT + 1
        started = time.monotonic()
        with pytest.raises((OutcomeUnknownError, NoNodeError)):
            db.put("k", b"v")
        assert time.monotonic() - started < 4 * TIMEOUT + 1


def test_the_async_client_gives_a_trickling_node_up_after_the_timeout() -> None:
    async def scenario() -> float:
        with _trickling_node() as node:
            async with AsyncClient([node], timeout_s=TIMEOUT) as db:
                started = time.monotonic()
                with pytest.raises(NoNodeError, match="ReadTimeout"):
                    await db.get("k")
                return time.monotonic() - started
    took = asyncio.run(asyncio.wait_for(scenario(), 4 * TRICKLE_S))
    assert took < 4 * TIMEOUT + 1
