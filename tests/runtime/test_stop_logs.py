"""A graceful stop logs no error: the peer connections' handlers end quietly.

Before, every node that stopped (SIGTERM, `vdynamo leave`) logged one asyncio
ERROR traceback per open peer connection ("Exception in callback
StreamReaderProtocol.connection_made ... CancelledError"): on Python 3.11,
asyncio.start_server's done-callback calls ``task.exception()`` on a cancelled
handler, which raises. An operator reading the log sees errors on a clean stop."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest

from tests.runtime.live import call, cluster, dial, url


def test_a_stop_with_open_peer_connections_logs_no_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    kept: list[asyncio.StreamWriter] = []

    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            status, _, _ = await call("PUT", url(servers[0], "/kv/k?w=3"), b"v")
            assert status == 200  # every node has peer connections open
            # one half-done hello too: a handler still in the hello when the node stops
            address = servers[0].peer_address
            assert address is not None
            _, half = await asyncio.open_connection(address.host, address.port)
            half.write(b"VDYN")
            _, insider, _ = await dial(servers[1], "n3")
            # and an idle keep-alive HTTP connection (one request answered)
            http = servers[2].http_address
            assert http is not None
            reader, idle = await asyncio.open_connection(http.host, http.port)
            idle.write(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await reader.readline()).startswith(b"HTTP/1.1 200")
            kept.extend([half, insider, idle])
        # both stay open (as a peer process that is still running keeps them) until
        # asyncio.run ends the loop and cancels what is left

    with caplog.at_level(logging.ERROR):
        asyncio.run(asyncio.wait_for(scenario(), 60))
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


def test_a_stop_with_an_answer_its_client_does_not_read_logs_no_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Session 39's user probe: a connection whose client pipelined GETs of a large
    value and read nothing was left in the answer's drain by the stop's close (a
    transport's close waits until its buffer is sent), so the handler was cancelled
    when the loop ended: one asyncio ERROR traceback (``Exception in callback
    StreamReaderProtocol.connection_made ... CancelledError`` in ``_drain``) per such
    connection at every SIGTERM (6 in a stop of ``vdynamo serve`` with 10 of them)."""
    kept: list[socket.socket] = []

    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            status, _, _ = await call("PUT", url(servers[0], "/kv/big"), b"b" * 500_000)
            assert status == 200
            http = servers[0].http_address
            assert http is not None
            for _ in range(3):
                client = socket.socket()
                client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                client.connect((http.host, http.port))
                client.sendall(b"GET /kv/big HTTP/1.1\r\nHost: x\r\n\r\n" * 20)
                kept.append(client)
            await asyncio.sleep(1.0)  # the answers fill the kernel's buffers and the node's

    with caplog.at_level(logging.ERROR):
        asyncio.run(asyncio.wait_for(scenario(), 60))
    for client in kept:
        client.close()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
