"""A hello naming the node it reaches is refused and logged naming the mistake
(session 26's user probe: a peer with the secret but a wrong node name).

A node never dials itself (its own messages stay in its core), so a hello naming
it is another process that runs under its name: a second ``vdynamo serve --node
n1``, or a cluster file whose addresses point at the wrong node. Before, the hello
was served: the connection stayed open and every frame on it was dropped by the
core one by one as "from unknown node 'n1'", nothing naming the cause."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tests.runtime.live import cluster, dial, run


def test_a_hello_naming_the_node_itself_is_refused(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[bool, int]:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            refused = n1.refused_peers
            try:
                _, writer, _ = await dial(n1, "n1")
            except asyncio.IncompleteReadError:  # closed before its challenge
                return True, n1.refused_peers - refused
            writer.close()
            return False, n1.refused_peers - refused

    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        closed, refused = run(scenario(), 30)
    lines = [r.getMessage() for r in caplog.records if "refused peer" in r.getMessage()]
    assert closed and refused == 1, lines  # before: served, 0 refused
    assert any("hello naming this node itself ('n1')" in line for line in lines), lines
