"""The cap on connections refused at the cap that linger at once
(``_REFUSED_LINGERING``, session 20's service probe; session 21's review: the cap
removed, or one lingering connection at most, survived session 20's test, whose
refused clients came one after another, each lingering alone)."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest

from impl import http_api
from tests.runtime.live import run
from tests.runtime.test_http_refused_linger import node_at_its_cap


def _refused_at_once(address: tuple[str, int], count: int) -> list[socket.socket]:
    """``count`` clients that connect and send a GET with a 64 KiB PUT behind it,
    kept open (the caller closes them)."""
    socks = []
    for _ in range(count):
        sock = socket.create_connection(address, timeout=5)
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nPUT /kv/x HTTP/1.1\r\n"
                     b"Host: x\r\nContent-Length: 65536\r\n\r\n" + b"v" * 65536)
        socks.append(sock)
    return socks


def test_at_most_the_cap_of_refused_connections_linger_at_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """100 refused clients at once, each lingering 3 s (longer than it takes to
    connect them all): 64 linger at once (``_REFUSED_LINGERING``), no more (the
    cap off: 100), and more than one (a cap of one: 1)."""
    monkeypatch.setattr(http_api, "_REFUSED_LINGER_S", 3.0)

    async def scenario() -> None:
        async with node_at_its_cap(tmp_path) as node:
            address = node.http_address
            assert address is not None
            most = 0
            socks: list[socket.socket] = []
            try:
                connecting = asyncio.create_task(asyncio.to_thread(
                    _refused_at_once, (address.host, address.port), 100))
                while not connecting.done():
                    most = max(most, node.http._refused_lingering)
                    await asyncio.sleep(0.005)
                socks = connecting.result()
                for _ in range(100):
                    most = max(most, node.http._refused_lingering)
                    await asyncio.sleep(0.005)
            finally:
                for sock in socks:
                    sock.close()
            assert most == http_api._REFUSED_LINGERING == 64, most
    run(scenario())


def test_a_node_stopping_in_a_refusal_window_writes_its_summary(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """30 connections refused at the cap, then n1 stopped well within the 10 s
    window: the line summing up the 20 not logged is written by the stop
    (``NodeServer.stop`` calls ``summarize_refusals``). Without that call (which
    survived session 20's tests, whose stop was a stub's) nothing summed them up:
    the window's timer dies with the process."""
    async def scenario() -> None:
        async with node_at_its_cap(tmp_path) as node:
            address = node.http_address
            assert address is not None
            with caplog.at_level(logging.WARNING, logger="vdynamo.http"):
                socks = await asyncio.to_thread(
                    _refused_at_once, (address.host, address.port), 30)
                for _ in range(500):  # each one refused (served) before the stop
                    if node.http.slots.refused >= 30:
                        break
                    await asyncio.sleep(0.01)
                for sock in socks:
                    sock.close()
                await node.stop()
            summaries = [r.message for r in caplog.records
                         if "more refused HTTP connections were not logged" in r.message]
            assert len(summaries) == 1 and summaries[0].startswith(
                f"{node.name}: 20 more"), summaries
    run(scenario())
