"""Two ``vdynamo cluster up`` of one new directory at once make one cluster, and the
one that starts nothing says why (session 51's service probe: two terminals, or a
parallel ``make``, running ``cluster up --dir D`` together).

Before: the second ``up`` found the cluster file the first had just written but no
node entries yet in ``cluster.json`` (the first recorded them when it started its
nodes), took the cluster for one of no nodes, and exited 0 having said and started
nothing (4 of 4 runs of two ``up`` processes started together, on session 51's
machine); had both checked before either wrote, both would have written the file,
the second's secret and ports over the one the first's nodes were reading. Now the
file and its entries are made under the directory's lock, and the freshness is
checked under it.

Scenario: the second ``up`` is run at the moment the first has made the cluster and
not yet started a node (``_launch`` wrapped): it starts the nodes and prints their
URLs; the first finds them started meanwhile (exit 1, naming them); one process per
node runs, recorded in ``cluster.json``. Two nodes, ``--wait-ready 0``; every process
stopped (:func:`cluster_up`'s clean-up: ``cluster down``).

Mutant (checked by hand): the lock and the early entries removed (the tree before):
the second ``up`` prints nothing and this fails."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.procs import alive, cli, state
from vdynamo import cluster_cli


def test_two_ups_of_a_new_directory_make_one_cluster(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "c"
    args = ("cluster", "up", "--dir", str(directory), "--nodes", "2", "--n", "1",
            "--r", "1", "--w", "1", "--wait-ready", "0")
    launch = cluster_cli._launch
    second: list[Any] = []

    def first_launch(*launched: Any) -> int:
        if not second:  # the first `up`, its cluster made: the second runs now
            second.append(None)
            second[0] = cli(*args[:-4], "--wait-ready", "0")  # (no counts: a restart)
        return launch(*launched)

    monkeypatch.setattr(cluster_cli, "_launch", first_launch)
    try:
        first = cli(*args)
        later = second[0]
        assert later.returncode == 0, later
        assert later.stdout.splitlines()[0].startswith("n1 http://127.0.0.1:"), later
        assert later.stderr == "", later.stderr
        assert first.returncode == 1, first
        assert "started meanwhile by another command" in first.stderr, first.stderr
        nodes = state(directory)["nodes"]
        assert sorted(nodes) == ["n1", "n2"]
        assert all(alive(entry["pid"]) for entry in nodes.values()), nodes
    finally:
        monkeypatch.undo()
        cli("cluster", "down", "--dir", str(directory))


def test_a_node_just_started_is_known_as_running(tmp_path: Path) -> None:
    """``_start`` returns once the child's command line shows: read at once, a child's
    ``/proc/PID/cmdline`` was often empty (132 of 200 on session 51's machine), so
    a second ``cluster up`` took a node the first had just started for stopped and
    started another (found with two ``up`` processes at once: 1 run of 8 left a node
    running after ``cluster down``). Mutant: no wait (the tree before): fails."""
    directory = tmp_path / "d"
    (directory / "n1").mkdir(parents=True)
    lines = ["[cluster]", 'nodes = ["n1"]', "n = 1", "r = 1", "w = 1",
             'secret = "a test secret of 24 bytes"', "",
             _section("n1", cluster_cli._free_ports(2, set()))]
    (directory / "cluster.toml").write_text("\n".join(lines))
    for _ in range(20):
        pid = cluster_cli._start(directory, "n1")
        try:
            assert cluster_cli._runs(directory, pid, "n1")
        finally:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _section(name: str, ports: list[int]) -> str:
    return (f'[nodes.{name}]\npeer = "127.0.0.1:{ports[0]}"\n'
            f'http = "127.0.0.1:{ports[1]}"\n')


def test_an_up_that_finds_the_cluster_made_under_the_lock_keeps_its_counts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The race itself: ``up`` without counts sees no cluster file, and another ``up``
    (``--nodes 2 --n 1``) makes the cluster before it takes the directory's lock:
    under the lock it finds the file and restarts that cluster, its counts those it
    was given (none), not the defaults it took for a new one (3 nodes, N = 3:
    refused as a change of the cluster's counts, exit 2). Session 51's review:
    that restoring (``_up``'s ``given``) was checked by no test. Mutant: not
    restored: this fails."""
    directory = tmp_path / "c"
    locked = cluster_cli._locked
    other: list[Any] = []

    def racing(path: Path) -> Any:
        if not other:  # this `up`, past its check of a new directory: the other runs
            other.append(None)
            other[0] = cli("cluster", "up", "--dir", str(directory), "--nodes", "2",
                           "--n", "1", "--r", "1", "--w", "1", "--wait-ready", "0")
        return locked(path)

    monkeypatch.setattr(cluster_cli, "_locked", racing)
    try:
        later = cli("cluster", "up", "--dir", str(directory), "--wait-ready", "0")
        assert other[0].returncode == 0, other[0]
        assert "every node of" in later.stderr and "was running" in later.stderr, later
        assert sorted(state(directory)["nodes"]) == ["n1", "n2"]
    finally:
        monkeypatch.undo()
        cli("cluster", "down", "--dir", str(directory))
