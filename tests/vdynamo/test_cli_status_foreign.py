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
import subprocess
import time
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


@pytest.mark.parametrize("moved", [False, True])
def test_a_moved_directory_is_told_from_a_copy_and_down_keeps_its_pid(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moved: bool) -> None:
    """The review of red team 10 (session 59). A directory moved (``mv D D2``) while
    its nodes ran: their command lines name ``D/cluster.toml``, gone, so they read
    ``foreign`` as a copy's do, but the line called D2 "a copy", and ``cluster down
    --dir D2`` cleared their pids: moved back, ``cluster down --dir D`` stopped 0
    nodes and they ran on, recorded nowhere. Now the line tells a copy (the file the
    process serves is there) from a move (it is gone: move it back), and ``down``
    keeps the pid of a process serving another directory's file, naming it. The
    recorded process here is ``sh`` whose arguments are ``serve FILE`` (a few ms;
    killed at the end); health stubbed. Mutants (session 59): ``_elsewhere`` always
    saying "a copy": the moved case fails; ``_down`` clearing every pid (``foreign
    = {}``): both cases fail (the pid cleared, no "not stopped" line)."""
    served = tmp_path / "D" / "cluster.toml"
    if not moved:
        served.parent.mkdir()
        served.write_text("[cluster]\n")
    here = tmp_path / "D2"
    here.mkdir()
    (here / "cluster.toml").write_text("[cluster]\n")
    process = subprocess.Popen(["sh", "-c", "sleep 60; :", "serve", str(served)])
    try:
        for _ in range(500):  # (its command line shows a few ms after the fork)
            if b"serve" in Path(f"/proc/{process.pid}/cmdline").read_bytes():
                break
            time.sleep(0.01)
        (here / "cluster.json").write_text(json.dumps({"nodes": {
            "n1": {"pid": process.pid, "peer": 11, "http": 1}}}))
        monkeypatch.setattr(cluster_cli, "_health", lambda port, timeout=1.0: {
            "ready": True, "member_status": "up"})
        monkeypatch.setattr(cluster_cli, "_file_problem", lambda directory: None)
        done = cli("cluster", "status", "--dir", str(here))
        assert done.returncode == 1 and " foreign " in done.stdout, done
        assert f"serves another directory's cluster file: {served}" in done.stderr
        assert ("which is gone" in done.stderr, "a copy" in done.stderr) == (
            moved, not moved), done.stderr
        done = cli("cluster", "down", "--dir", str(here))
        assert done.returncode == 0 and "stopped 0 nodes" in done.stdout, done
        assert f"n1: not stopped: its recorded process {process.pid}" in done.stderr
        assert json.loads((here / "cluster.json").read_text())["nodes"]["n1"][
            "pid"] == process.pid
        assert process.poll() is None
    finally:
        process.kill()
        process.wait(10)


def test_a_process_serving_this_directorys_file_is_not_elsewhere(tmp_path: Path) -> None:
    """``_serves_elsewhere`` of a process serving this directory's own file (as
    ``cluster up`` starts it: the resolved path) is False, and of a pid that is gone.
    Mutant (the review of red team 10, session 59): ``_serves_elsewhere`` without its
    ``not _ours(...)``: True here (this directory's own nodes would read foreign);
    the tests above pass with it."""
    (tmp_path / "cluster.toml").write_text("[cluster]\n")
    own = str((tmp_path / "cluster.toml").resolve())
    process = subprocess.Popen(["sh", "-c", "sleep 60; :", "serve", own])
    try:
        for _ in range(500):
            if b"serve" in Path(f"/proc/{process.pid}/cmdline").read_bytes():
                break
            time.sleep(0.01)
        assert cluster_cli._ours(tmp_path, process.pid)
        assert not cluster_cli._serves_elsewhere(tmp_path, process.pid)
    finally:
        process.kill()
        process.wait(10)
    assert not cluster_cli._serves_elsewhere(tmp_path, process.pid)
