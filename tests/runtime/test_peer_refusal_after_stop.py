"""A node that stopped leaves no refusal-summary timer behind and logs nothing
after ``stop()`` returns (session 19's review of the peer-port probe).

Scenario (a flood of bad hellos that goes on while the node stops): n1's peer
port holds 60 admitted connections; 12 bad hellos fill the refusal log's quota
(10 lines per window); then n1 stops while the flood writes a bad hello on each
held connection. ``stop()`` wrote the summary of the window's refusals early
(before it cancels its tasks and closes the connections), but the handlers go
on reading until their connections close: each refusal after that summary was
counted as not logged and armed the summary timer again, so the node, stopped,
held a timer on the loop and logged a "more peer refusals were not logged" line
a window after ``stop()`` returned (the window is 0.5 s here, 10 s in a node).
Now the summary is written after the connections have closed, and no timer is
armed once the node is stopping."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from impl import runtime
from tests.runtime.live import closed_by_node, cluster, run

BAD_HELLO = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + bytes(64)


def test_no_refusal_is_logged_after_stop(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "_REFUSAL_WINDOW_S", 0.5)

    async def scenario() -> tuple[bool, int]:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            address = n1.peer_address
            assert address is not None
            await asyncio.sleep(0.6)  # a window of its own
            held = [await asyncio.open_connection(address.host, address.port)
                    for _ in range(60)]
            for _ in range(12):
                reader, writer = await asyncio.open_connection(address.host, address.port)
                writer.write(BAD_HELLO)
                assert await closed_by_node(reader)
                writer.close()
            stopping = asyncio.ensure_future(n1.stop())
            for _, writer in held:
                writer.write(BAD_HELLO)
                await asyncio.sleep(0)
            await stopping
            stopped_at = len(caplog.records)
            armed = n1._refusal_summary is not None
            await asyncio.sleep(1.2)  # past the window
            for _, writer in held:
                writer.close()
            late = [r.getMessage() for r in caplog.records[stopped_at:]
                    if r.getMessage().startswith("n1: ")]
            assert late == [], late
            return armed, n1.refused_peers

    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        armed, refused = run(scenario(), 30)
    assert not armed
    assert refused >= 12
