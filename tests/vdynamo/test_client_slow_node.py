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

import pytest

from impl.http_client import AsyncClient, Client, NoNodeError, OutcomeUnknownError
from tests.vdynamo.loopback import serving

TIMEOUT = 0.5  # 1.0 before session 19; a byte every 0.1 s never lets a read time out
TRICKLE_S = 20 * TIMEOUT  # how long the server trickles one answer


def _trickle(conn: socket.socket, stop: threading.Event) -> None:
    """Answer with a 200 head, then one body byte every 0.1 s."""
    conn.recv(65536)
    size = int(TRICKLE_S / 0.1)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % size)
    for _ in range(size):
        if stop.is_set():
            return
        conn.sendall(b" ")
        time.sleep(0.1)


def _trickling_node() -> contextlib.AbstractContextManager[str]:
    """A server whose every answer is a 200 head, then one body byte every 0.1 s."""
    return serving(_trickle)


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
