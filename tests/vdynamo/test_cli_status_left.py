"""``vdynamo cluster status`` after a node left or was force-removed (session 22's
walk through README).

Before: a node that left (``vdynamo leave n6``) or was removed (``vdynamo remove
n5``) answers no ``/health`` and counted as down, so ``cluster status`` exited 1 on
a healthy cluster after every clean leave; and ``vdynamo remove`` said "`vdynamo
cluster status` ... shows when" its ranges moved while status printed ``left`` and
``-`` for it at once. Now such a node is not counted as down, its state reads
``removed`` for a removal, and its member column is what a running member says of
it (``removing``, then ``removed``). No process is started: health, the process
check and the members' view are stubbed, so the test runs in milliseconds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.procs import cli
from vdynamo import cluster_cli


def _cluster(tmp_path: Path, nodes: dict[str, dict[str, Any]]) -> Path:
    (tmp_path / "cluster.toml").write_text("[cluster]\n")
    (tmp_path / "cluster.json").write_text(json.dumps({"nodes": nodes}))
    return tmp_path


def _stub(monkeypatch: pytest.MonkeyPatch, up: set[int], says: dict[str, str]) -> None:
    """Nodes whose HTTP port is in ``up`` run and are ready; ``says``: what a member
    reports of each other node."""
    monkeypatch.setattr(cluster_cli, "_health", lambda port, timeout=1.0: {
        "ready": True, "member_status": "up"} if port in up else None)
    monkeypatch.setattr(cluster_cli, "_ours", lambda directory, pid: pid in up)
    monkeypatch.setattr(cluster_cli, "_members_say", lambda state, name: says.get(name))
    # the stand-in cluster.toml does not load: not the question here (session 53: a
    # file that does not load is `cluster status`'s exit 78, whatever the nodes)
    monkeypatch.setattr(cluster_cli, "_file_problem", lambda directory: None)


def _row(out: str, name: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.startswith(name + " "))


def test_a_node_that_left_or_was_removed_is_not_counted_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = _cluster(tmp_path, {
        "n1": {"pid": 1, "peer": 11, "http": 1},
        "n2": {"pid": 2, "peer": 12, "http": 2},
        "n5": {"pid": None, "peer": 15, "http": 5, "left": True, "removed": True},
        "n6": {"pid": None, "peer": 16, "http": 6, "left": True}})
    _stub(monkeypatch, {1, 2}, {"n5": "removing", "n6": "left"})
    done = cli("cluster", "status", "--dir", str(directory))
    assert done.returncode == 0, done  # 1 before: n5 and n6 counted as down
    assert _row(done.stdout, "n5")[2:4] == ["removed", "removing"], done.stdout
    assert _row(done.stdout, "n6")[2:4] == ["left", "left"], done.stdout
    _stub(monkeypatch, {1, 2}, {"n5": "removed", "n6": "left"})
    done = cli("cluster", "status", "--dir", str(directory))
    assert _row(done.stdout, "n5")[2:4] == ["removed", "removed"], done.stdout


def test_a_node_that_has_not_left_and_does_not_answer_is_still_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = _cluster(tmp_path, {
        "n1": {"pid": 1, "peer": 11, "http": 1},
        "n2": {"pid": 2, "peer": 12, "http": 2},
        "n6": {"pid": None, "peer": 16, "http": 6, "left": True}})
    _stub(monkeypatch, {1}, {"n6": "left"})
    done = cli("cluster", "status", "--dir", str(directory))
    assert done.returncode == 1, done
    assert _row(done.stdout, "n2")[1:4] == ["-", "down", "-"], done.stdout
