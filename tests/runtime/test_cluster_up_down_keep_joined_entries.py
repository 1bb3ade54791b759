"""``vdynamo cluster up`` and ``cluster down`` while another command of the same
local cluster writes ``cluster.json`` (session 48; session 47's review fixed the
same for ``vdynamo join``, ``leave`` and ``remove``: two commands that each read the
file at their start and wrote it whole at their end kept only the last one's view).

``cluster down`` stops every node (SIGTERM, then waits for each to exit: seconds)
and wrote the state it read before; a ``vdynamo join`` meanwhile added its node's
entry, which the write dropped: the joined node kept running, unknown to the
directory, and the next ``cluster down`` left it up. ``cluster up`` starts its
nodes and wrote its state whole the same way. Now both write only their own nodes'
entries over what the file holds then, under the directory's lock
(:func:`vdynamo.cluster_cli._write_entries`).

In-process, no node started: ``_start``/``_stop`` are replaced by stand-ins that
write a joined node's entry into the file, as a join in another terminal would in
that window. Mutant checked: ``_write_state(directory, state)`` back in ``_down``
or in ``_up`` -> n9's entry is gone and the test of that command fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vdynamo import cluster_cli

JOINED = {"pid": None, "http": 40009, "peer": 40019}


def _join_meanwhile(directory: Path) -> None:
    """What ``vdynamo join n9`` in another terminal writes (under the lock)."""
    with cluster_cli._locked(directory):
        state = cluster_cli.read_state(directory)
        state["nodes"]["n9"] = dict(JOINED)
        cluster_cli._write_state(directory, state)


def test_cluster_down_keeps_a_node_joined_while_it_stopped_the_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nodes = {f"n{i}": {"pid": None, "http": 40000 + i, "peer": 40010 + i} for i in (1, 2)}
    (tmp_path / "cluster.json").write_text(json.dumps({"nodes": nodes}))

    def stop(directory: Path, state: dict[str, Any], names: list[str]) -> int:
        _join_meanwhile(directory)
        return len(names)

    monkeypatch.setattr(cluster_cli, "_stop", stop)
    assert cluster_cli.main_cluster(["down", "--dir", str(tmp_path)]) == 0
    written = cluster_cli.read_state(tmp_path)["nodes"]
    assert sorted(written) == ["n1", "n2", "n9"] and written["n9"] == JOINED


def test_cluster_up_keeps_a_node_joined_while_it_started_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh ``cluster up`` whose nodes fail to start (so that it stops them and
    writes again): both of its writes keep the entry a join wrote meanwhile (after
    ``up`` read the file, before it started its nodes: since session 50's review the
    starts and their write hold the directory's lock, a join waits for them)."""
    directory = tmp_path / "c"
    started: list[str] = []

    def start(directory: Path, name: str, *, adopt: bool = False, entry: Any = None) -> int:
        started.append(name)
        return 0  # no process: pid 0 is never ours

    launch = cluster_cli._launch

    def join_then_launch(*args: Any) -> int:
        # (between up's read and its locked start: since session 51's service probe
        # the ports are checked under the lock too, so the join lands before it)
        _join_meanwhile(directory)
        return launch(*args)

    monkeypatch.setattr(cluster_cli, "_start", start)
    monkeypatch.setattr(cluster_cli, "_ports_taken", lambda *a: [])
    monkeypatch.setattr(cluster_cli, "_launch", join_then_launch)
    monkeypatch.setattr(cluster_cli, "_wait_started", lambda *a, **k: "n1 did not start")
    monkeypatch.setattr(cluster_cli, "_stop", lambda *a: 0)
    counts = ["--nodes", "2", "--n", "1", "--r", "1", "--w", "1"]
    assert cluster_cli.main_cluster(["up", "--dir", str(directory), *counts]) == 1
    written = cluster_cli.read_state(directory)["nodes"]
    assert started == ["n1", "n2"]
    assert sorted(written) == ["n1", "n2", "n9"] and written["n9"] == JOINED


def _down_while(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                meanwhile: dict[str, Any]) -> dict[str, Any]:
    """``cluster down`` of n1 and n2 while another command sets ``meanwhile`` in n2's
    entry (under the lock, as it would in that window); n2's entry after."""
    nodes = {f"n{i}": {"pid": None, "http": 40000 + i, "peer": 40010 + i} for i in (1, 2)}
    (tmp_path / "cluster.json").write_text(json.dumps({"nodes": nodes}))

    def stop(directory: Path, state: dict[str, Any], names: list[str]) -> int:
        with cluster_cli._locked(directory):
            current = cluster_cli.read_state(directory)
            current["nodes"]["n2"].update(meanwhile)
            cluster_cli._write_state(directory, current)
        for name in names:
            state["nodes"][name]["pid"] = None
        return len(names)

    monkeypatch.setattr(cluster_cli, "_stop", stop)
    assert cluster_cli.main_cluster(["down", "--dir", str(tmp_path)]) == 0
    entry: dict[str, Any] = cluster_cli.read_state(tmp_path)["nodes"]["n2"]
    return entry


def test_cluster_down_keeps_a_leave_that_finished_while_it_stopped_the_nodes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 48's review: ``vdynamo leave n2`` in another terminal marks n2's entry
    ``left`` while ``cluster down`` stops the nodes. Right value: n2 stays ``left``
    (the next ``cluster up`` does not start it). ``_write_entries`` wrote down's
    stale copy of the entry whole: the mark was gone and ``cluster up`` started the
    node that had left."""
    assert _down_while(tmp_path, monkeypatch, {"left": True})["left"] is True


def test_cluster_down_keeps_the_pid_of_a_node_started_again_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 48's review: n2 started again (``cluster up``, ``vdynamo join
    --rejoin``) while ``cluster down`` stopped the others: its new pid stays in its
    entry (the next ``down`` stops it); before, down wrote ``pid: None`` over it and
    the process ran on unknown to the directory."""
    assert _down_while(tmp_path, monkeypatch, {"pid": 424242})["pid"] == 424242


def test_cluster_up_keeps_a_leave_that_finished_while_it_started_the_nodes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 48 (the review's open case): ``vdynamo leave n2`` in another terminal
    marks n2's entry ``left`` while ``cluster up`` (of a cluster made before) starts
    its nodes. Right value: n2 stays ``left``, and n1's new pid is recorded.
    ``_write_entries`` wrote up's copy of the entries whole: the mark was gone."""
    directory = tmp_path / "c"
    counts = ["--nodes", "2", "--n", "1", "--r", "1", "--w", "1"]
    monkeypatch.setattr(cluster_cli, "_start", lambda directory, name, adopt=False, entry=None: 0)
    monkeypatch.setattr(cluster_cli, "_wait_started", lambda *a, **k: None)
    monkeypatch.setattr(cluster_cli, "_wait_ready", lambda *a, **k: [])
    assert cluster_cli.main_cluster(["up", "--dir", str(directory), *counts]) == 0
    started: list[str] = []

    launch = cluster_cli._launch

    def leave_then_launch(*args: Any) -> int:
        # the leave finishes as up is about to start its nodes (since session 50's
        # review the starts and their write hold the lock, since session 51's service
        # probe the ports' check too: the leave's write lands before them)
        with cluster_cli._locked(directory):
            current = cluster_cli.read_state(directory)
            current["nodes"]["n2"]["left"] = True
            cluster_cli._write_state(directory, current)
        return launch(*args)

    def start(directory: Path, name: str, *, adopt: bool = False, entry: Any = None) -> int:
        started.append(name)
        return 4242 if name == "n1" else 4343

    monkeypatch.setattr(cluster_cli, "_start", start)
    monkeypatch.setattr(cluster_cli, "_ports_taken", lambda *a: [])
    monkeypatch.setattr(cluster_cli, "_launch", leave_then_launch)
    assert cluster_cli.main_cluster(["up", "--dir", str(directory)]) == 0
    written = cluster_cli.read_state(directory)["nodes"]
    # (session 53: n2, marked left before up's lock, is not started: it would stop
    # again at once, "every node here left the ring"; before, it was started)
    assert started == ["n1"]
    assert written["n2"].get("left") is True and written["n1"]["pid"] == 4242

