"""Hellos naming a node the cluster file does not write no unbounded log (session
22's service probe; case 20's kind: a peer without the secret changes the node's
state, here its log).

A hello naming a node the node does not know makes it look the name up in its
cluster file (``NodeServer._learn``: a node added at run time), before any proof.
With the file gone (deleted or moved after the start) or unreadable, each lookup
wrote ``cannot re-read ...`` at WARNING: 500 hellos of a peer without the secret
(0.7 s) wrote 500 lines to a ``vdynamo serve`` process's log, outside the refused
peer log's bound of 10 lines per 10 s. Now the failure is logged once until it
changes; the refusals themselves stay within their own bound."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from impl.peer_auth import Dialer, HelloInfo
from tests.runtime.live import closed_by_node, cluster, run


def test_hellos_of_unknown_nodes_with_the_file_gone_log_it_once(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[int, list[str]]:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            n1.config_path = tmp_path / "gone" / "cluster.toml"  # never there
            address = n1.peer_address
            assert address is not None
            refused = n1.refused_peers
            for _ in range(40):
                reader, writer = await asyncio.open_connection(address.host, address.port)
                writer.write(Dialer(b"x" * 32, "zz", "n1", HelloInfo(n1.config.name)).hello())
                assert await closed_by_node(reader)
                writer.close()
            lines = [r.getMessage() for r in caplog.records if "cannot re-read" in r.getMessage()]
            return n1.refused_peers - refused, lines

    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        refused, lines = run(scenario(), 30)
    assert refused == 40  # each refused: "hello from unknown node 'zz'"
    assert len(lines) == 1, len(lines)  # before: 40
    assert "No such file or directory" in lines[0]
