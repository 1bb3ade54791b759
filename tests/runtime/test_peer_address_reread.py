"""A running node adopts a peer's addresses changed in the cluster file whatever
reads came between (session 30's review of the user probe's fix,
``NodeServer._reread``).

The fix compared each read of the file with the one before it, and a read that
failed (a file half written by an editor or ``cat >``, a typo) left the "one
before" empty: the next good read, with n2's new port, was compared with nothing
and adopted nothing, so n2 was dialed at its old port for good, as before the fix.
Likewise a joined node's section dropped from the file and given back with other
ports. Now a change is told from the addresses the file last gave each node."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from impl.runtime import NodeServer, load_runtime_config
from impl.runtime_config import NodeAddresses
from impl.storage.memory import MemoryStorage

SECRET = "ab" * 20


def _write(path: Path, ports: dict[str, tuple[int, int]]) -> str:
    """The cluster file of n1-n3 (and any other node of ``ports``: joined) at ``path``."""
    lines = ["[cluster]", 'nodes = ["n1", "n2", "n3"]', f'secret = "{SECRET}"', ""]
    for name, (peer, http) in ports.items():
        lines += [f"[nodes.{name}]", f'peer = "127.0.0.1:{peer}"',
                  f'http = "127.0.0.1:{http}"', ""]
    text = "\n".join(lines)
    path.write_text(text)
    path.chmod(0o600)
    return text


PORTS = {"n1": (7101, 7102), "n2": (7103, 7104), "n3": (7105, 7106)}


def _server(path: Path) -> NodeServer:
    loaded = load_runtime_config(path)
    server = NodeServer("n1", loaded.cluster, MemoryStorage(),
                        {name: loaded.nodes[name].peer for name in ("n1", "n2", "n3")})
    server.http_addresses = {name: loaded.nodes[name].http for name in ("n1", "n2", "n3")}
    server.watch_file(path, dict(loaded.nodes))
    return server


def _at(server: NodeServer, name: str) -> tuple[int, int]:
    return server.peers[name].port, server.http_addresses[name].port


def test_a_change_written_past_a_half_written_file_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "cluster.toml"
    text = _write(path, PORTS)

    async def scenario() -> list[tuple[int, int]]:
        server = _server(path)
        assert server._reread()
        seen = [_at(server, "n2")]
        path.write_text(text[:text.index("7105") + 2])  # cut in n3's peer string
        assert not server._reread()
        seen.append(_at(server, "n2"))
        _write(path, {**PORTS, "n2": (7203, 7204)})  # the whole file, n2 moved
        assert server._reread()
        seen.append(_at(server, "n2"))
        return seen

    assert asyncio.run(scenario()) == [(7103, 7104), (7103, 7104), (7203, 7204)]


def test_a_typo_fixed_with_the_new_port_is_adopted(tmp_path: Path) -> None:
    """The edit first gave n2 the port of n3 (refused at load: one port, two
    nodes), then the intended one."""
    path = tmp_path / "cluster.toml"
    _write(path, PORTS)

    async def scenario() -> list[tuple[int, int]]:
        server = _server(path)
        _write(path, {**PORTS, "n2": (7105, 7104)})
        assert not server._reread()
        seen = [_at(server, "n2")]
        _write(path, {**PORTS, "n2": (7203, 7104)})
        assert server._reread()
        return [*seen, _at(server, "n2")]

    assert asyncio.run(scenario()) == [(7103, 7104), (7203, 7104)]


def test_a_joined_node_dropped_from_the_file_and_given_back_moved_is_adopted(
        tmp_path: Path) -> None:
    path = tmp_path / "cluster.toml"
    _write(path, {**PORTS, "n4": (7107, 7108)})

    async def scenario() -> tuple[int, int]:
        server = _server(path)
        assert server._learn("n4")
        _write(path, PORTS)
        assert server._reread() and not server._learn("n4")
        _write(path, {**PORTS, "n4": (7207, 7208)})
        assert server._learn("n4")
        return _at(server, "n4")

    assert asyncio.run(scenario()) == (7207, 7208)


def test_a_join_added_to_the_file_says_nothing_of_the_nodes_unchanged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "cluster.toml"
    _write(path, PORTS)

    async def scenario() -> dict[str, NodeAddresses]:
        server = _server(path)
        _write(path, {**PORTS, "n4": (7107, 7108)})
        assert server._learn("n4")
        return dict(server.peers)

    with caplog.at_level(logging.INFO, logger="vdynamo.runtime"):
        peers = asyncio.run(scenario())
    assert {name: address.port for name, address in peers.items()} == {
        "n1": 7101, "n2": 7103, "n3": 7105, "n4": 7107}
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "now has" in m], messages
    assert [m for m in messages if "learned the addresses of n4" in m]


def test_a_port_zero_or_this_nodes_own_address_in_the_file_is_not_taken(
        tmp_path: Path) -> None:
    """A port 0 is bound by the process that serves the node (``serve --all``): no
    address to dial. This node's own addresses are those it bound: advertising the
    file's new HTTP port in ``/status`` before it is restarted there would send
    clients to a port nothing serves."""
    path = tmp_path / "cluster.toml"
    _write(path, PORTS)

    async def scenario() -> list[tuple[int, int]]:
        server = _server(path)
        _write(path, {"n1": (7201, 7202), "n2": (0, 0), "n3": (7205, 0)})
        assert server._reread()
        return [_at(server, name) for name in ("n1", "n2", "n3")]

    assert asyncio.run(scenario()) == [(7101, 7102), (7103, 7104), (7105, 7106)]


def test_the_files_nodes_not_left_are_the_members_a_fresh_store_waits_for(
        tmp_path: Path) -> None:
    """Session 60's review (docs/runtime.md "A brand-new cluster's first start
    reviewed (session 60)"): the cluster file's nodes that have not left are given to
    the node (:attr:`impl.node.Node.file_members`) at its start and at each re-read,
    so a replaced disk's unconfirmed store waits for a joined member its configured
    view never heard of (n4 here; n5's section says it left). Mutants, each run and
    seen failing: ``watch_file`` not giving them (``frozenset()`` != the four);
    ``_take_read`` not giving them (n6 missing after the re-read)."""
    path = tmp_path / "cluster.toml"
    _write(path, {**PORTS, "n4": (7107, 7108), "n5": (7109, 7110)})
    with path.open("a") as file:
        file.write("left = true\n")  # (n5's section is the last)

    async def scenario() -> tuple[frozenset[str], tuple[str, ...], frozenset[str]]:
        server = _server(path)
        first = (server.node.file_members, server.node.unnamed_by)
        _write(path, {**PORTS, "n4": (7107, 7108), "n6": (7111, 7112)})
        assert server._reread()
        return (*first, server.node.file_members)

    members, waiting, reread = asyncio.run(scenario())
    assert members == {"n1", "n2", "n3", "n4"}
    assert waiting == ("n2", "n3", "n4")  # (a fresh store: every live member, and n4)
    assert reread == {"n1", "n2", "n3", "n4", "n6"}
