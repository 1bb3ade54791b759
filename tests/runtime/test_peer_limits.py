"""Nodes whose [cluster] limits differ say so: one warning per peer naming each
differing limit and both values, and ``peer_limits_differ`` in /status.

Session 14's probe B: during a rolling change of ``max_value_bytes`` a replica
refuses a peer's record holding a value over its own limit, and hints, read
repair and anti-entropy send it again at every round, with nothing saying why.
Each hello now carries the sender's record limits (impl.peer_auth.HelloInfo,
authenticated with the rest of the hello) and each node compares them with its
own (``NodeServer._compare_limits``)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from impl.peer_auth import HelloInfo
from impl.runtime import COMPARED_LIMITS, NodeServer
from tests.runtime.live import call, cluster, dial, run, url


def _info(server: NodeServer, **changes: int) -> HelloInfo:
    limits = {name: int(getattr(server.config, name)) for name in COMPARED_LIMITS}
    limits.update(changes)
    return HelloInfo(server.config.name, tuple(sorted(limits.items())))


def test_a_peer_with_other_limits_is_named_once_with_both_values(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            target = servers[0]
            mine = target.config.max_value_bytes
            for _ in range(3):  # reconnects say nothing new
                _, writer, _ = await dial(target, "n2",
                                          info=_info(target, max_value_bytes=2048))
                writer.close()
                await asyncio.sleep(0.05)
            assert target.status()["peer_limits_differ"] == {
                "n2": {"max_value_bytes": {"here": mine, "there": 2048}}}
            assert target.refused_peers == 0  # warned, not refused
            _, writer, _ = await dial(target, "n2", info=_info(target))  # the same again
            writer.close()
            await asyncio.sleep(0.05)
            assert target.status()["peer_limits_differ"] == {}
    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        run(scenario())
    lines = [r.getMessage() for r in caplog.records if "limits" in r.getMessage()]
    assert len(lines) == 2, lines
    assert (f"n1: peer n2 runs other [cluster] limits: max_value_bytes {1 << 20} here, "
            "2048 at n2") in lines[0]
    assert "now runs the same" in lines[1]


def test_nodes_with_the_same_limits_say_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            assert (await call("PUT", url(servers[0], "/kv/k?w=3"), b"v"))[0] == 200
            for server in servers:
                assert server.status()["peer_limits_differ"] == {}
    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        run(scenario())
    assert not [r for r in caplog.records if "limits" in r.getMessage()]
