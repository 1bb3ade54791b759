"""``vdynamo join``'s failure says why the node is not ready (session 31's operator
probe): 4 nodes, n4 killed, ``vdynamo join n5`` said only "n5 not ready within 30 s".
Now it names the members the join waits for (the joiner's ``GET /status``
``handover_waiting``), those down, and the ways out. No processes: the node's
answers are scripted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from vdynamo import cluster_cli

NO_STATE: dict[str, Any] = {"nodes": {}}

STATUS: dict[str, Any] = {
    "member_status": "joining", "shadow_round": None, "rebuild": None, "stopping": False,
    "handover_waiting": {
        "n1": {"step": "handoff", "down": False, "heard_s_ago": 0.1},
        "n4": {"step": "handoff", "down": True, "heard_s_ago": 31.0}}}


def test_a_join_held_by_a_member_down_names_it_and_the_ways_out(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cluster_cli, "_alive", lambda pid: True)
    monkeypatch.setattr(cluster_cli, "_answer", lambda port, path, timeout=1.0: STATUS)
    said = cluster_cli._join_waits(tmp_path, NO_STATE, "n5", {"pid": 1, "http": 1})
    assert said.startswith(": member_status joining; its join waits for n1 (to hand its "
                           "ranges over), n4 (down, to hand its ranges over)")
    assert "completes once n4 is back" in said
    assert f"`vdynamo remove NODE --dir {tmp_path}`" in said


def test_a_join_waiting_for_no_member_down_says_only_what_it_waits_for(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    status = {**STATUS, "handover_waiting": {"n1": {"step": "claim", "down": False}}}
    monkeypatch.setattr(cluster_cli, "_alive", lambda pid: True)
    monkeypatch.setattr(cluster_cli, "_answer", lambda port, path, timeout=1.0: status)
    assert cluster_cli._join_waits(tmp_path, NO_STATE, "n5", {"pid": 1, "http": 1}) == (
        ": member_status joining; its join waits for n1 (to give it partitions)")


def test_a_joiner_that_exited_adds_nothing(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setattr(cluster_cli, "_alive", lambda pid: False)
    assert cluster_cli._join_waits(tmp_path, NO_STATE, "n5", {"pid": 1, "http": 1}) == ""



def _ended_child(code: str) -> int:
    """The pid of a child of this process that ran ``code`` and ended, not reaped yet
    (as ``vdynamo join``'s node when it looks: the CLI's waitpid reaps it)."""
    process = subprocess.Popen([sys.executable, "-c", code])
    os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
    process.returncode = 0  # (so Popen leaves the reaping to the code under test)
    return process.pid


KILLED = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"


@pytest.mark.parametrize(("seen", "ways"), [
    ("joining", "; the members see it joining): `vdynamo join n5 --dir {d}` starts it "
                "again and it resumes its join; if it is gone for good, remove it "
                "(`vdynamo remove n5 --dir {d}`)"),
    (None, "): `vdynamo join n5 --dir {d}` starts it again")])
def test_a_joiner_killed_says_so_and_the_ways_on(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, seen: str | None,
        ways: str) -> None:
    """Session 49's operator walk: n8 SIGKILLed mid-join, ``vdynamo join`` said only
    "n8 exited:" and its log's last line ("n8: started"). Killed, the ways on; the
    removal only for a node the members see joining (one none heard of is no member)."""
    monkeypatch.setattr(cluster_cli, "_members_say", lambda state, name: seen)
    pid = _ended_child(KILLED)
    said = cluster_cli._join_waits(tmp_path, NO_STATE, "n5", {"pid": pid, "http": 1})
    assert said == " (killed by SIGKILL" + ways.format(d=tmp_path)


def test_a_joiner_stopped_gracefully_says_the_ways_on(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    """A joiner stopped by SIGHUP exited 0 in sessions 50-52 (impl.serve.STOP_SIGNALS;
    SIGTERM and SIGINT still do, SIGHUP re-reads the file since session 53):
    it said " (exit status 0)" alone, not that a join again resumes it, as it did
    while SIGHUP killed it (session 50's review). Mutant (checked failing): exit 0
    told as any other status (the tree before)."""
    monkeypatch.setattr(cluster_cli, "_members_say", lambda state, name: "joining")
    pid = _ended_child("raise SystemExit(0)")
    said = cluster_cli._join_waits(tmp_path, NO_STATE, "n5", {"pid": pid, "http": 1})
    assert said == (f" (exit status 0, stopped; the members see it joining): `vdynamo join "
                    f"n5 --dir {tmp_path}` starts it again and it resumes its join; if it "
                    f"is gone for good, remove it (`vdynamo remove n5 --dir {tmp_path}`)")


def test_a_joiner_that_exited_says_its_status(tmp_path: Path) -> None:
    pid = _ended_child("raise SystemExit(2)")
    assert cluster_cli._join_waits(tmp_path, NO_STATE, "n5", {"pid": pid, "http": 1}) == (
        " (exit status 2)")
