"""A keep-alive connection closed for idleness while its client has read nothing
of the answers the kernel still holds is *reset*, not left an orphan (session
55's third new-user probe, probes/21f-small-pipelined-gets-flood-never-read.py).

A client that pipelines small GETs and reads nothing: the node answers every
request it receives, the answers fit in the socket's send buffer (the transport's
own buffer empties, so :meth:`impl.http_api.HttpApi._drain`, which resets since
session 54, never waits), and the node then waits for a next request that does
not come. At ``http_idle_timeout_s`` it closed the connection with a FIN: the
socket stayed in FIN-WAIT-1 holding the unread answers (``ss``: 1,307,437 bytes
of Send-Q per connection, 30 s after the last request), and a client that began
reading got them all and a clean end. Now, when the client took fewer of the
bytes the kernel held halfway through the wait than ``http_min_body_rate`` over
its second half (442 bytes in 15 s in the probe), the close is a reset
(:func:`impl.connections.reset`); a client that reads, however slowly, still gets
a graceful close after its data."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from impl.config import ClusterConfig
from impl.runtime import NodeServer
from impl.storage.memory import MemoryStorage
from tests.runtime.live import run_on

REQUEST = b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"


def _read_all(sock: socket.socket, pace: float = 0.0) -> tuple[int, str]:
    """(bytes read, how the stream ended), reading 4 KiB every ``pace`` s."""
    sock.settimeout(5)
    got = 0
    while True:
        try:
            data = sock.recv(4096 if pace else 1 << 20)
        except ConnectionResetError:
            return got, "reset"
        except OSError as error:
            return got, type(error).__name__
        if not data:
            return got, "eof"
        got += len(data)
        if pace:
            time.sleep(pace)


async def _pipelined(requests: int, pace: float, idle: float) -> tuple[int, str, int]:
    """``requests`` pipelined GETs from a client with a 4 KiB receive buffer that
    reads nothing (``pace`` 0) until the node's idle close, or reads 4 KiB every
    ``pace`` s from the start: (bytes read, the end, the node's HTTP timeouts)."""
    config = ClusterConfig(nodes=("n1", "n2", "n3"), http_idle_timeout_s=idle,
                           http_min_body_rate=100_000)  # 15 KB in the wait's 2nd half
    api = NodeServer("n1", config, MemoryStorage(), {}).http
    server = await asyncio.start_server(api.serve_connection, "127.0.0.1", 0)
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        client.connect(server.sockets[0].getsockname()[:2])
        client.sendall(REQUEST * requests)
        if pace:
            got, end = await asyncio.to_thread(_read_all, client, pace)
        else:
            for _ in range(int(idle * 100) + 200):  # the idle close, then a moment
                await asyncio.sleep(0.01)
                if api.timeouts:
                    break
            await asyncio.sleep(0.2)
            got, end = await asyncio.to_thread(_read_all, client)
    finally:
        client.close()
        server.close()
        await server.wait_closed()
    return got, end, api.timeouts


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_an_idle_close_resets_a_client_that_read_nothing(loop: str) -> None:
    got, end, timeouts = run_on(loop, _pipelined(1000, 0.0, 0.3))
    assert timeouts == 1
    # before: the answers the kernel held reached the client after the close
    # (got about 200 KB and then "eof"); mutant: no reset in _read_request
    assert end == "reset", (got, end)


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_an_idle_close_lets_a_slow_reader_have_its_answers(loop: str) -> None:
    # 4 KiB every 15 ms (about 270 KB/s, 40 KB in the wait's second half), for about
    # 0.6 s: still reading at the idle close. Mutant: reset whenever the kernel
    # holds unsent bytes (what the client took not checked)
    got, end, timeouts = run_on(loop, _pipelined(800, 0.015, 0.3))
    assert (end, timeouts) == ("eof", 1), (got, end)
    assert got > 800 * 150



async def _evicted() -> tuple[int, str, int]:
    """A client with a 4 KiB receive buffer pipelines 1,000 GETs and reads nothing; a
    second client connects to the node at its cap (``max_http_connections`` 1), which
    evicts the first: (bytes the first then reads, the end, evictions)."""
    config = ClusterConfig(nodes=("n1", "n2", "n3"), http_idle_timeout_s=10.0,
                           max_http_connections=1)
    api = NodeServer("n1", config, MemoryStorage(), {}).http
    server = await asyncio.start_server(api.serve_connection, "127.0.0.1", 0)
    address = server.sockets[0].getsockname()[:2]
    client, other = socket.socket(), socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        client.connect(address)
        client.sendall(REQUEST * 1000)
        await asyncio.sleep(0.5)  # every answer written: the connection waits, idle
        other.connect(address)
        await asyncio.sleep(0.3)
        got, end = await asyncio.to_thread(_read_all, client)
    finally:
        client.close()
        other.close()
        server.close()
        await server.wait_closed()
    return got, end, api.slots.evicted


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_client_evicted_at_the_cap_that_read_nothing_is_reset(loop: str) -> None:
    # before: closed with a FIN, an orphan holding the answers (8 of 8 at ~168 KB in
    # a scratch run of probe 21f's flood at max_http_connections 8), which the client
    # then read, and "eof"; mutant: ConnectionSlots.admit's victim closed only
    got, end, evicted = run_on(loop, _evicted())
    assert (end, evicted) == ("reset", 1), (got, end, evicted)
