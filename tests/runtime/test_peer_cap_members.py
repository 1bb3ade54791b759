"""A peer-connection cap below the cluster's size is refused at start (session 47).

Each node keeps one connection from each of its peers, busy for good once
authenticated, so its peer port must hold ``members - 1`` of them; a cap below
that (``max_peer_connections = 1`` in a file of three nodes) was served: every
node refused one peer's connection for good ("every one authenticated", once a
second), every ``w=3`` put answered 504 and every ``r=3`` get 503, and the
nodes' warnings named the peers' addresses in the cluster file, not the cap
(session 47's user probe of case 22's kind: a configuration whose limits
contradict each other must be refused at start with a clear error). The floor is
the members (one slot more, for a peer's new connection that arrives before its
old one is seen closed), the same floor :func:`impl.connections.fit_caps` keeps
when it lowers the caps under the open-files limit. Source: docs/runtime.md, "A
user's probe of the service kinds (session 47)"."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from impl import errors
from impl.config import ClusterConfig
from impl.connections import fit_caps
from tests.runtime.procs import ROOT, cli, cluster_up, state
from vdynamo.cluster_cli import _free_ports

NODES = ("n1", "n2", "n3")


def _file(tmp_path: Path, cap: int, joined: tuple[str, ...] = ()) -> Path:
    """A file of :data:`NODES` (and ``joined``: sections of nodes that joined)."""
    sections = (*NODES, *joined)
    ports = _free_ports(2 * len(sections), ())
    lines = ["[cluster]", f"nodes = {json.dumps(list(NODES))}", "n = 3", "r = 2", "w = 2",
             f'secret = "{secrets.token_hex(24)}"', f"max_peer_connections = {cap}"]
    for index, name in enumerate(sections):
        lines += ["", f"[nodes.{name}]", f'peer = "127.0.0.1:{ports[2 * index]}"',
                  f'http = "127.0.0.1:{ports[2 * index + 1]}"']
    path = tmp_path / "cluster.toml"
    path.write_text("\n".join([*lines, ""]))
    path.chmod(0o600)
    return path


def _serve(path: Path) -> subprocess.CompletedProcess[str]:
    """``vdynamo serve PATH --node n1``: its exit within 8 s, else killed and failed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "vdynamo", "serve", str(path), "--node", "n1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=8)
    except subprocess.TimeoutExpired:  # served: the fault (stopped by its PID)
        process.kill()
        process.communicate(timeout=10)
        pytest.fail(f"vdynamo serve served {path.read_text()}")
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.mark.parametrize(("cap", "joined"), [(1, ()), (2, ()), (3, ("n4",))])
def test_vdynamo_serve_refuses_a_peer_cap_below_the_members(
        tmp_path: Path, cap: int, joined: tuple[str, ...]) -> None:
    served = _serve(_file(tmp_path, cap, joined))
    assert served.returncode == 2, served
    members = len(NODES) + len(joined)
    said = served.stderr
    assert "max_peer_connections" in said and f"got {cap}" in said, said
    assert f"{members} nodes" in said and f"at least {members}" in said, said


def test_vdynamo_join_past_the_peer_cap_writes_nothing(tmp_path: Path) -> None:
    with cluster_up(tmp_path, "--nodes", "1", "--n", "1", "--r", "1", "--w", "1",
                    "--set", "max_peer_connections=1", "--wait-ready", "0") as directory:
        before = (directory / "cluster.toml").read_bytes()
        joined = cli("join", "n2", "--dir", str(directory))
        assert joined.returncode == 1, joined
        assert "max_peer_connections" in joined.stderr, joined.stderr
        assert "nothing was written" in joined.stderr, joined.stderr
        assert (directory / "cluster.toml").read_bytes() == before
        assert "n2" not in state(directory)["nodes"]


def test_the_config_takes_the_members_and_refuses_one_fewer() -> None:
    ClusterConfig(nodes=NODES, max_peer_connections=3)
    ClusterConfig(nodes=("n1",), n=1, r=1, w=1, max_peer_connections=1)
    with pytest.raises(errors.ConfigError, match=r"max_peer_connections: .* got 2"):
        ClusterConfig(nodes=NODES, max_peer_connections=2)
    # nodes named to join later (evenly-spaced's ring_slots) count as members too
    with pytest.raises(errors.ConfigError, match=r"5 nodes"):
        ClusterConfig(nodes=NODES, partitioning="evenly-spaced",
                      ring_slots=(*NODES, "n4", "n5"), max_peer_connections=4)


def test_caps_lowered_under_the_open_files_limit_stay_valid() -> None:
    # fit_caps never lowers the peer cap under the members: what it gives is accepted
    for members in (1, 3, 5, 40):
        _, peer = fit_caps(64, 1, members, 512, 128)
        names = tuple(f"n{i}" for i in range(members))
        ClusterConfig(nodes=names, n=1, r=1, w=1).replace(max_peer_connections=peer)
