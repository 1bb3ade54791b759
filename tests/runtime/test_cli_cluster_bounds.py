"""``vdynamo cluster up --nodes`` is bounded (session 15's probe B): ``--nodes 99999``
picked free ports until none was left and then looped for good (still running, with
nothing printed, when a 20 s timeout killed it), and a count within the ports would
have started that many processes. Now a count over :data:`MAX_LOCAL_NODES` is
refused at once, exit 2, naming the bound; nothing is written or started."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.procs import cli, vdynamo
from vdynamo.cluster_cli import MAX_LOCAL_NODES


def test_cluster_up_refuses_more_nodes_than_a_local_cluster_holds(tmp_path: Path) -> None:
    done = vdynamo("cluster", "up", "--nodes", "99999", "--dir", str(tmp_path / "c"),
                   timeout=20)  # before: subprocess.TimeoutExpired (an endless loop)
    assert done.returncode == 2
    assert f"at most {MAX_LOCAL_NODES} nodes" in done.stderr
    assert not (tmp_path / "c" / "cluster.toml").exists()
    assert not (tmp_path / "c" / "n1").exists()


def test_one_node_over_the_bound_is_refused_before_anything_is_written(
        tmp_path: Path) -> None:
    done = cli("cluster", "up", "--nodes", str(MAX_LOCAL_NODES + 1),
               "--dir", str(tmp_path / "c"))
    assert done.returncode == 2, done.stderr
    assert f"--nodes {MAX_LOCAL_NODES + 1}: a local cluster has at most" in done.stderr
    assert not (tmp_path / "c" / "cluster.toml").exists()


def test_the_bound_itself_is_a_count_cluster_up_takes(tmp_path: Path) -> None:
    """``--nodes 64`` passes the bound (session 15's review: the tests above would not
    tell ``>`` from ``>=``); with ``--n 65`` it then stops at the quorum check, still
    before anything is started or written, so no 64 processes are needed to show it."""
    done = cli("cluster", "up", "--nodes", str(MAX_LOCAL_NODES), "--n",
               str(MAX_LOCAL_NODES + 1), "--dir", str(tmp_path / "c"))
    assert done.returncode == 2, done.stderr
    assert "at most" not in done.stderr
    assert f"need 1 <= r, w <= n <= nodes; got n={MAX_LOCAL_NODES + 1}" in done.stderr
    assert not (tmp_path / "c" / "cluster.toml").exists()


def test_a_bad_set_is_refused_naming_it_before_anything_is_written(tmp_path: Path) -> None:
    """``cluster up --set KEY=VALUE`` (session 19: a test's faster rounds): not
    ``KEY=VALUE``, a value TOML does not parse, a key ``up`` writes itself, an unknown
    setting, a value the cluster's check refuses: exit 2 naming it, no file written,
    no node started."""
    cases = {"gossip_interval": "expected KEY=VALUE",
             "gossip_interval=abc": "not a TOML key = value",
             "secret=\"x\"": "--set secret: written by `cluster up` itself",
             "gossip_intervals=0.25": "[cluster] gossip_intervals: not a cluster setting "
                                      "(did you mean gossip_interval?)",
             "gossip_interval=-1": "gossip_interval: must be a finite number of seconds > 0"}
    for i, (setting, expected) in enumerate(cases.items()):
        directory = tmp_path / f"c{i}"
        done = cli("cluster", "up", "--set", setting, "--dir", str(directory))
        assert done.returncode == 2, (setting, done.stderr)
        assert expected in done.stderr and "nothing was written" in done.stderr, done.stderr
        assert not (directory / "cluster.toml").exists(), setting
        assert not (directory / "cluster.json").exists(), setting
        assert not (directory / "n1").exists(), setting
