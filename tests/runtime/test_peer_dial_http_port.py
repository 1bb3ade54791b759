"""A node whose cluster file gives a peer's HTTP address as its ``peer`` address
(the two ports of a node on another machine swapped; one file's addresses are
checked against each other, another machine's are not) says so when it dials:
the refusal line names the address and that it answered HTTP.

Before session 21's service probe the line was ``dialing n2: connection did not
open with a vdynamo hello``, which names neither the port mix-up nor what
answered (the HTTP port answers a hello 400 at once)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tests.runtime.live import call, cluster, run, url


def test_dialing_an_http_port_is_logged_as_such(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> list[str]:
        async with cluster(tmp_path) as servers:
            n1, _, n3 = servers
            assert n3.http_address is not None
            n1.peers["n2"] = n3.http_address  # n2's peer address: n3's HTTP port
            outbound = n1._outbound.get("n2")
            if outbound is not None:
                outbound.close()
            for _ in range(50):
                await call("PUT", url(n1, "/kv/k?w=1"), b"v")
                lines = [r.getMessage() for r in caplog.records if "dialing n2" in r.getMessage()]
                if lines:
                    return lines
                await asyncio.sleep(0.1)
            return []

    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        lines = run(scenario(), 60)
    assert lines, "n1 never logged a refused dial of n2"
    assert "answered HTTP" in lines[0] and "peer address" in lines[0], lines[0]
