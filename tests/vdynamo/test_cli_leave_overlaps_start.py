"""``vdynamo leave`` overlapping ``cluster start`` keeps every process the CLI started
known to ``cluster stop`` and ``down`` (session 53).

Session 52's note, reproduced on a real cluster (4 nodes, ``vdynamo leave n4`` while
``cluster start n4 --wait-ready 0`` ran in a loop, ``/tmp/s53c/race3b.sh``): the 7th
start came between n4's exit and the leave's mark, started n4 again (pid 1768), and
the leave then wrote n4's entry whole as it had read it at its start: ``{"pid": null,
"left": true}``, the new process unrecorded (``cluster status``: ``n4 - left``; here it
stopped itself a second later, "every node here left the ring", but a node restarted
to resume an unfinished handover runs on). Now the leave writes only its marks, its pid
cleared only while the entry holds the process it watched exit
(``cluster_cli._mark_leave``), and a start refuses a node marked left since it read
``cluster.json`` (``_launch``).

No node process: the leaving node is a stand-in process that exits on SIGUSR1 (as a
node ends its leave); "another command's start" is ``_launch``'s own record
(``_merge_fields`` of pid, http, peer) made while the leave waits for the members'
word. Fails on e0ef9711 (the pid lost: None); mutants: ``_mark_leave`` clearing the pid
whatever it holds (fails), the ``left`` check in ``_launch`` removed (fails).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.runtime.procs import cli
from vdynamo import cluster_cli
from vdynamo.cluster_cli import main_leave, read_state

#: the pid ``cluster start`` recorded meanwhile (this process: only the value counts)
_STARTED = os.getpid()


@pytest.fixture
def leaver() -> Iterator[subprocess.Popen[bytes]]:
    """A process that exits at SIGUSR1, as a node does once it has left."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import signal, sys, time\n"
         "signal.signal(signal.SIGUSR1, lambda *_: sys.exit(0))\n"
         "print('ready', flush=True)\ntime.sleep(60)"], stdout=subprocess.PIPE)
    assert process.stdout is not None and process.stdout.readline() == b"ready\n"
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def _cluster(directory: Path, pid: int) -> None:
    nodes: dict[str, dict[str, Any]] = {
        f"n{i}": {"pid": None, "http": 20000 + i, "peer": 21000 + i} for i in (1, 2, 3)}
    nodes["n4"] = {"pid": pid, "http": 20004, "peer": 21004}
    (directory / "cluster.json").write_text(json.dumps({"nodes": nodes}))
    (directory / "cluster.toml").write_text("[cluster]\nn = 3\n")  # (a stand-in)


@pytest.mark.parametrize(("members_say", "code", "marks"), [
    ("left", 0, {"left": True}),
    (None, 1, {"leaving": True})],  # no member answers: it exited before it had left
    ids=["left", "exited before it had left"])
def test_a_start_between_the_exit_and_the_mark_keeps_its_pid(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, leaver: subprocess.Popen[bytes],
        members_say: str | None, code: int, marks: dict[str, bool]) -> None:
    _cluster(tmp_path, leaver.pid)
    monkeypatch.setattr(cluster_cli, "_ours",
                        lambda directory, pid: pid == leaver.pid and cluster_cli._alive(pid))
    monkeypatch.setattr(cluster_cli, "_tell_unmarked", lambda directory, name: None)
    started: list[int] = []

    def say(state: dict[str, Any], name: str) -> str | None:
        if not started:  # `cluster start n4` now: the leave has seen the exit
            started.append(_STARTED)
            cluster_cli._write_fields(tmp_path, {"nodes": {"n4": {
                "pid": _STARTED, "http": 20004, "peer": 21004}}}, ["n4"],
                ("pid", "http", "peer"))
        return members_say

    monkeypatch.setattr(cluster_cli, "_members_say", say)
    assert main_leave(["n4", "--dir", str(tmp_path)]) == code
    entry = read_state(tmp_path)["nodes"]["n4"]
    assert started and entry["pid"] == _STARTED, entry  # before: None, the process lost
    assert all(entry.get(key) == value for key, value in marks.items()), entry


def test_the_leaves_own_node_has_its_pid_cleared(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        leaver: subprocess.Popen[bytes]) -> None:
    """No start meanwhile: the pid of the process that left is cleared, as before."""
    _cluster(tmp_path, leaver.pid)
    monkeypatch.setattr(cluster_cli, "_ours",
                        lambda directory, pid: pid == leaver.pid and cluster_cli._alive(pid))
    monkeypatch.setattr(cluster_cli, "_tell_unmarked", lambda directory, name: None)
    monkeypatch.setattr(cluster_cli, "_members_say", lambda state, name: "left")
    assert main_leave(["n4", "--dir", str(tmp_path)]) == 0
    assert read_state(tmp_path)["nodes"]["n4"] == {
        "pid": None, "http": 20004, "peer": 21004, "left": True}


def test_a_start_refuses_a_node_that_left_since_it_read_the_state(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cluster start n4`` read n4 not left; a leave marks it before the start's lock:
    nothing started (before: started, to stop again at once, its pid then lost)."""
    _cluster(tmp_path, 0)
    calls: list[str] = []
    monkeypatch.setattr(cluster_cli, "_start", lambda directory, name, *, rejoin=False,
                        adopt=False, entry=None: calls.append(name) or 1)
    ports_of_the_file = cluster_cli._ports_of_the_file

    def leave_meanwhile(directory: Path, state: dict[str, Any]) -> None:
        ports_of_the_file(directory, state)
        cluster_cli._mark_leave(directory, "n4", None, {"left": True})

    monkeypatch.setattr(cluster_cli, "_ports_of_the_file", leave_meanwhile)
    done = cli("cluster", "start", "n4", "--dir", str(tmp_path))
    assert done.returncode == 1, done
    assert done.stderr == (f"vdynamo cluster start: n4: left the cluster meanwhile "
                           f"(`vdynamo leave`); nothing was started (`vdynamo join NODE "
                           f"--dir {tmp_path}` joins a node again)\n"), done.stderr
    assert calls == []
