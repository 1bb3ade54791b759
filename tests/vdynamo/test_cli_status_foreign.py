"""``vdynamo cluster status`` of a directory whose nodes' ports are answered by
processes it did not start (session 59's red team, probe 23j).

A copy of a running cluster's directory (``cp -r D D2``) holds D's ports and pids:
``cluster status --dir D2`` asked those ports, found D's nodes ready and printed
``ready``, exit 0, while ``vdynamo get --dir D2`` said "no node of the cluster in D2
is running" and ``cluster down --dir D2`` stopped nothing. Now a node whose recorded
process serves another directory's file (:func:`vdynamo.cluster_cli._serves_elsewhere`)
reads ``foreign``, is named on stderr with why, and the exit status is 1; a node
served by hand (its recorded process gone) is as before (session 50,
tests/runtime/test_cli_cluster_ready.py). No process is started: health and the
process checks are stubbed (milliseconds).

Mutant (session 59): ``foreign = False`` in ``_status``: exit 0, n2 ``ready``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.runtime.procs import cli
from vdynamo import cluster_cli


def test_a_port_answered_by_a_process_not_started_here_is_not_ready(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "cluster.toml").write_text("[cluster]\n")
    (tmp_path / "cluster.json").write_text(json.dumps({"nodes": {
        "n1": {"pid": 1, "peer": 11, "http": 1}, "n2": {"pid": 2, "peer": 12, "http": 2}}}))
    monkeypatch.setattr(cluster_cli, "_health", lambda port, timeout=1.0: {
        "ready": True, "member_status": "up"})
    monkeypatch.setattr(cluster_cli, "_ours", lambda directory, pid: pid == 1)
    monkeypatch.setattr(cluster_cli, "_serves_elsewhere", lambda directory, pid: pid == 2)
    monkeypatch.setattr(cluster_cli, "_file_problem", lambda directory: None)
    done = cli("cluster", "status", "--dir", str(tmp_path))
    assert done.returncode == 1, done
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[1:]}
    assert rows["n1"][1:3] == ["1", "ready"] and rows["n2"][1:3] == ["-", "foreign"], done.stdout
    assert "n2: its port 2 answers, but its recorded process 2 serves another" in (
        done.stderr), done.stderr
    assert "n1:" not in done.stderr
