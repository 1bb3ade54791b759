"""``vdynamo cluster up`` on a directory whose cluster exists refuses ``--nodes``,
``--n``, ``--r`` or ``--w`` that differ from the cluster's, exit 2, nothing started,
as it refuses ``--set``; the same values restart as before. Before session 29's user
probe they were ignored: ``cluster up --nodes 5`` (meant to scale three nodes out)
and ``--r 3 --w 1`` exited 0 with the three nodes and the quorums of before
(``/tmp/p29/up_counts.py``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tests.runtime.procs import cli
from vdynamo.cluster_cli import _changed_counts, _write_config, _write_state, read_state


def _made(directory: Path) -> None:
    """A cluster of three nodes, n = 3, r = w = 2, as `cluster up` writes it (not started)."""
    directory.mkdir()
    state = read_state(directory)
    _write_config(directory, ["n1", "n2", "n3"], 3, 2, 2, state, [])
    _write_state(directory, state)


@pytest.mark.parametrize(("given", "says"), [
    (["--nodes", "5"], "--nodes 5 (the cluster has 3)"),
    (["--n", "2"], "--n 2 (the cluster has 3)"),
    (["--r", "3", "--w", "1"], "--r 3 (the cluster has 2), --w 1 (the cluster has 2)"),
    (["--nodes", "3", "--w", "3"], "--w 3 (the cluster has 2)"),
])
def test_other_counts_on_a_restart_are_refused_nothing_started(
        tmp_path: Path, given: list[str], says: str) -> None:
    directory = tmp_path / "c"
    _made(directory)
    before = (directory / "cluster.toml").read_text()
    done = cli("cluster", "up", *given, "--dir", str(directory))
    if done.returncode != 2:  # the nodes started (before the fix): stopped, not left
        # running past the test (session 29's review: a mutant left six processes)
        cli("cluster", "down", "--dir", str(directory))
    assert done.returncode == 2, done  # before: 0, the three nodes started
    assert says in done.stderr and "nothing was started" in done.stderr, done.stderr
    assert "vdynamo join" in done.stderr
    assert (directory / "cluster.toml").read_text() == before
    state = json.loads((directory / "cluster.json").read_text())
    assert all(entry["pid"] is None for entry in state["nodes"].values())


def test_the_same_counts_or_none_restart(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    _made(directory)
    names = ["n1", "n2", "n3"]
    for counts in ({}, {"nodes": 3}, {"nodes": 3, "n": 3, "r": 2, "w": 2}):
        args = argparse.Namespace(**{"nodes": None, "n": None, "r": None, "w": None, **counts})
        assert _changed_counts(args, directory, names) is None
    args = argparse.Namespace(nodes=4, n=None, r=None, w=None)
    assert _changed_counts(args, directory, [*names, "n4"]) is None  # after a join of n4


def test_counts_are_compared_with_the_cluster_file_s_not_the_defaults(tmp_path: Path) -> None:
    """Session 29's review of the user probe: a cluster made with ``--r 1 --w 3``
    restarts with those counts given again and refuses the defaults' (a mutant
    comparing with the defaults survived the tests above: every cluster there had
    them)."""
    directory = tmp_path / "c"
    directory.mkdir()
    state = read_state(directory)
    _write_config(directory, ["n1", "n2", "n3", "n4"], 3, 1, 3, state, [])
    names = ["n1", "n2", "n3", "n4"]
    same = argparse.Namespace(nodes=4, n=3, r=1, w=3)
    assert _changed_counts(same, directory, names) is None
    defaults = argparse.Namespace(nodes=None, n=3, r=2, w=2)
    problem = _changed_counts(defaults, directory, names)
    assert problem is not None
    assert "--r 2 (the cluster has 1), --w 2 (the cluster has 3)" in problem, problem
