"""Connections refused because every HTTP connection is busy are logged at most
``_REFUSALS_LOGGED`` lines per ``_REFUSAL_WINDOW_S`` seconds (then one line summing
up the rest), as refused peers are (tests/runtime/test_refusal_logs.py); each is
still answered 503 and counted (``http_refused`` in /status). Before session 14's
probe B each refusal wrote a WARNING line: a client holding the connections busy
and opening new ones as fast as it could wrote one line per connection (2,000
lines for 2,000 connects), a disk filled by anyone who can connect (session 13
left it open)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from impl import http_api
from impl.runtime import Address
from tests.runtime.live import call, cluster, pipelined_gets, run, url

REFUSED = 300


def _refused(address: Address, count: int) -> int:
    """Connect ``count`` times; how many got the 503 at once."""
    got = 0
    for _ in range(count):
        with socket.create_connection((address.host, address.port), timeout=5) as sock:
            got += sock.recv(12) == b"HTTP/1.1 503"
    return got


def test_a_flood_of_refused_connections_logs_a_bounded_number_of_lines(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    value = bytes(range(256)) * 2048  # 512 KiB
    # the flood within one log window and within the busy connections' idle
    # timeout, however slow the machine: with a 10 s window and a 20 s timeout, the
    # 300 connects beside two busy loops (session 24) outlasted the busy clients'
    # timeout, one connect was admitted, not refused, and its 503 never came (1 of 6
    # runs: "TimeoutError: timed out"); a second window would log 20 lines
    monkeypatch.setattr(http_api, "_REFUSAL_WINDOW_S", 300.0)

    async def scenario() -> None:
        async with cluster(tmp_path, max_http_connections=2, http_idle_timeout_s=300.0,
                           http_header_timeout_s=5.0) as servers:
            node = servers[0]
            address = node.http_address
            assert address is not None
            status, _, _ = await call("PUT", url(node, "/kv/big?w=3"), value)
            assert status == 200
            busy = [pipelined_gets(address, 20) for _ in range(2)]
            await asyncio.sleep(0.5)
            with caplog.at_level(logging.WARNING, logger="vdynamo.http"):
                refused = await asyncio.to_thread(_refused, address, REFUSED)
            assert refused == REFUSED
            assert node.http.slots.refused >= REFUSED
            lines = [r for r in caplog.records if "refused an HTTP connection" in r.message]
            assert 1 <= len(lines) <= 11, len(lines)
            for sock in busy:
                sock.close()
    run(scenario())


def _api() -> http_api.HttpApi:
    api = object.__new__(http_api.HttpApi)
    api.server = SimpleNamespace(name="n1")  # type: ignore[assignment]
    api.slots = SimpleNamespace(limit=2)  # type: ignore[assignment]
    api._refusal_window = (-1.0, 0, 0)
    api._refusal_summary = None
    api.stopped = False
    return api


def test_the_refusals_not_logged_are_summed_up_in_the_next_window(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_api, "_REFUSAL_WINDOW_S", 0.2)
    api = _api()

    async def scenario() -> None:
        with caplog.at_level(logging.WARNING, logger="vdynamo.http"):
            for _ in range(50):
                api._log_refusal()
            assert len(caplog.records) == 10
            time.sleep(0.25)  # the loop blocked: the window's timer has not run
            api._log_refusal()
        assert "40 more refused HTTP connections were not logged" in (
            caplog.records[10].message)
        assert len(caplog.records) == 12
        assert api._refusal_summary is None  # the summary written cancels its timer
    asyncio.run(scenario())


def test_the_refusals_not_logged_are_summed_up_when_the_window_ends(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary is written when the window ends (a timer), not only when a
    refusal comes after it, as the peer port's (session 19's peer-port probe).
    Before session 20's service probe a flood of refusals that stopped left those
    over the first ten out of the log for good (no summary in 0.5 s here)."""
    monkeypatch.setattr(http_api, "_REFUSAL_WINDOW_S", 0.2)
    api = _api()

    async def scenario() -> None:
        with caplog.at_level(logging.WARNING, logger="vdynamo.http"):
            for _ in range(25):
                api._log_refusal()
            await asyncio.sleep(0.5)
        lines = [r.message for r in caplog.records]
        assert len(lines) == 11, lines
        assert "15 more refused HTTP connections were not logged in 0.2 s" in lines[10]
        # a stopped node arms no timer: its stop() writes the summary itself
        api.stopped = True
        for _ in range(15):
            api._log_refusal()
        assert api._refusal_summary is None
    asyncio.run(scenario())
