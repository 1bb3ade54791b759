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
import os
from pathlib import Path

import pytest

from impl.peer_auth import Dialer, HelloInfo
from impl.runtime import NodeServer, load_runtime_config
from impl.storage.memory import MemoryStorage
from tests.runtime.live import closed_by_node, cluster, run
from tests.runtime.procs import ServedNodes, free_ports


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


def test_a_gone_file_names_no_node_and_each_new_failure_or_its_return_is_read(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """After a read that named n4 and n5, the file moved away: n5 is not learned
    from that earlier read (a gone file names nothing), and the failure is logged
    once; the path made a symlink loop is another failure, logged once more; the
    file moved back is read again and n5 learned. Session 22's review: mutants
    that logged a failure once whatever its errno, or answered a lookup from the
    last read while the file was gone, survived the test above."""
    nodes = ServedNodes(tmp_path, ("n1", "n2", "n3"), [])  # writes the file only
    with nodes.config.open("a") as file:
        for name, (peer, http) in (("n4", free_ports(2)), ("n5", free_ports(2))):
            file.write(f'\n[nodes.{name}]\npeer = "127.0.0.1:{peer}"\n'
                       f'http = "127.0.0.1:{http}"\n')
    moved = tmp_path / "moved.toml"

    async def learned() -> list[bool]:
        loaded = load_runtime_config(nodes.config)
        server = NodeServer("n1", loaded.cluster, MemoryStorage(),
                            {name: loaded.nodes[name].peer for name in ("n1", "n2", "n3")})
        server.config_path = nodes.config
        found = [server._learn("n4")]
        nodes.config.rename(moved)
        found += [server._learn("n5"), server._learn("n5")]
        os.symlink(nodes.config, nodes.config)  # a loop: ELOOP, not ENOENT
        found += [server._learn("n5"), server._learn("n5")]
        nodes.config.unlink()
        moved.rename(nodes.config)
        found.append(server._learn("n5"))
        return found

    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        assert asyncio.run(learned()) == [True, False, False, False, False, True]
    lines = [r.getMessage() for r in caplog.records if "cannot re-read" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "No such file or directory" in lines[0]
    assert "Too many levels of symbolic links" in lines[1]
