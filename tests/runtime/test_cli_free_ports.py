"""``vdynamo cluster up`` and ``vdynamo join`` give every port of the cluster file
an address of its own. Before session 14's review each port was picked by binding
port 0 and closing the socket at once, so the kernel could hand one port out
twice: ``cluster up --nodes 4`` failed on real processes with "[nodes.n4] http:
127.0.0.1:47919 is also [nodes.n4] peer" (the cluster file's duplicate-address
check), and ``join`` could pick the port of a member that left (its section kept),
refused the same way. The kernel is scripted here: deterministic, no sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from impl.errors import ConfigError
from impl.runtime_config import load_runtime_config
from vdynamo import cluster_cli


class _Socket:
    """A stand-in socket whose bind to port 0 gets the next scripted port."""

    script: ClassVar[Iterator[int]] = iter(())
    open_ports: ClassVar[set[int]] = set()

    def __init__(self) -> None:
        self.port = 0

    def bind(self, address: tuple[str, int]) -> None:
        assert address == ("127.0.0.1", 0)
        self.port = next(_Socket.script)
        assert self.port not in _Socket.open_ports  # a held port is never handed out
        _Socket.open_ports.add(self.port)

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def close(self) -> None:
        _Socket.open_ports.discard(self.port)


def _kernel(monkeypatch: pytest.MonkeyPatch, ports: list[int]) -> None:
    _Socket.script = iter(ports)
    _Socket.open_ports = set()
    monkeypatch.setattr(socket, "socket", _Socket)
    # the kernel's own pick (the fallback of session 24's pick below its range)
    monkeypatch.setattr(cluster_cli, "_ephemeral_floor", lambda: 0)
    monkeypatch.delenv(cluster_cli.PORT_RANGE_VARIABLE, raising=False)  # (an xdist slice)


def test_ports_are_distinct_and_skip_the_files_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    # 7003: a left member's port, free again; the kernel offers it first
    _kernel(monkeypatch, [7003, 40001, 40002])
    assert cluster_cli._free_ports(2, {7001, 7003}) == [40001, 40002]
    assert not _Socket.open_ports  # every socket closed


def test_every_node_of_cluster_up_gets_ports_of_its_own(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """The kernel hands out each released port again at the next bind (as it did
    for n4): the file still gets eight distinct ports."""
    released: list[int] = []

    def ports() -> Iterator[int]:
        fresh = iter(range(41000, 42000))
        while True:
            free = [p for p in released if p not in _Socket.open_ports]
            yield free[0] if free else next(fresh)

    class _Reusing(_Socket):
        def close(self) -> None:
            super().close()
            released.append(self.port)

    _Socket.script = ports()
    _Socket.open_ports = set()
    monkeypatch.setattr(socket, "socket", _Reusing)
    monkeypatch.setattr(cluster_cli, "_ephemeral_floor", lambda: 0)
    monkeypatch.delenv(cluster_cli.PORT_RANGE_VARIABLE, raising=False)
    state: dict[str, Any] = {"nodes": {}}
    cluster_cli._write_config(tmp_path, ["n1", "n2", "n3", "n4"], 3, 2, 2, state, [])
    given = [entry[key] for entry in state["nodes"].values() for key in ("peer", "http")]
    assert len(set(given)) == 8, given
    assert set(load_runtime_config(tmp_path / "cluster.toml").nodes) == {"n1", "n2", "n3",
                                                                          "n4"}


def test_ports_are_picked_below_the_kernels_ephemeral_range() -> None:
    """Session 24's clean clone: a node restarted on a port of the ephemeral range
    found it taken as an outgoing connection's source port ("address already in
    use"); the ports are now picked from 10000 up to the range's start."""
    floor = cluster_cli._ephemeral_floor()
    if floor <= 11_000:
        pytest.skip(f"no room below the ephemeral range here (it starts at {floor})")
    ports = cluster_cli._free_ports(40, set())
    assert len(set(ports)) == 40
    assert all(10_000 <= port < floor for port in ports), ports


def test_the_port_range_variable_narrows_the_pick(monkeypatch: pytest.MonkeyPatch) -> None:
    """``VDYNAMO_PORT_RANGE`` (session 58): every port picked lies in its slice."""
    monkeypatch.setenv(cluster_cli.PORT_RANGE_VARIABLE, "20000-21500")
    ports = cluster_cli._free_ports(40, set())
    assert len(set(ports)) == 40
    assert all(20_000 <= port < 21_500 for port in ports), ports


@pytest.mark.parametrize("text", ["20000", "a-b", "21500-20000", "0-100", "1-70000"])
def test_a_bad_port_range_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                             capsys: pytest.CaptureFixture[str],
                                             text: str) -> None:
    monkeypatch.setenv(cluster_cli.PORT_RANGE_VARIABLE, text)
    with pytest.raises(ConfigError, match=f"VDYNAMO_PORT_RANGE={text!r}"):
        cluster_cli._port_range()
    directory = tmp_path / "c"
    assert cluster_cli.main_cluster(["up", "--dir", str(directory), "--nodes", "3"]) == 2
    assert f"VDYNAMO_PORT_RANGE={text!r}" in capsys.readouterr().err
    assert not directory.exists()  # nothing written


def test_each_xdist_worker_picks_from_a_slice_of_its_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 57's CI run: a node of one xdist worker, down for a restart, found its
    port taken by another worker's cluster. tests/conftest.py gives each worker a
    disjoint slice of the range."""
    import tests.conftest as conftest

    monkeypatch.setattr(cluster_cli, "_ephemeral_floor", lambda: 32_768)
    slices = []
    for index in range(3):
        monkeypatch.delenv(cluster_cli.PORT_RANGE_VARIABLE, raising=False)
        monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{index}")
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "3")
        conftest._port_slice_per_worker()
        slices.append(range(*cluster_cli._port_range()))
    assert [(s.start, s.stop) for s in slices] == [(10_000, 17_589), (17_589, 25_178),
                                                   (25_178, 32_767)]
