"""``vdynamo join``'s failure says why the node is not ready (session 31's operator
probe): 4 nodes, n4 killed, ``vdynamo join n5`` said only "n5 not ready within 30 s".
Now it names the members the join waits for (the joiner's ``GET /status``
``handover_waiting``), those down, and the ways out. No processes: the node's
answers are scripted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vdynamo import cluster_cli

STATUS: dict[str, Any] = {
    "member_status": "joining", "shadow_round": None, "rebuild": None, "stopping": False,
    "handover_waiting": {
        "n1": {"step": "handoff", "down": False, "heard_s_ago": 0.1},
        "n4": {"step": "handoff", "down": True, "heard_s_ago": 31.0}}}


def test_a_join_held_by_a_member_down_names_it_and_the_ways_out(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cluster_cli, "_alive", lambda pid: True)
    monkeypatch.setattr(cluster_cli, "_answer", lambda port, path, timeout=1.0: STATUS)
    said = cluster_cli._join_waits(tmp_path, "n5", {"pid": 1, "http": 1})
    assert said.startswith(": member_status joining; its join waits for n1 (to hand its "
                           "ranges over), n4 (down, to hand its ranges over)")
    assert "completes once n4 is back" in said
    assert f"`vdynamo remove NODE --dir {tmp_path}`" in said


def test_a_join_waiting_for_no_member_down_says_only_what_it_waits_for(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    status = {**STATUS, "handover_waiting": {"n1": {"step": "claim", "down": False}}}
    monkeypatch.setattr(cluster_cli, "_alive", lambda pid: True)
    monkeypatch.setattr(cluster_cli, "_answer", lambda port, path, timeout=1.0: status)
    assert cluster_cli._join_waits(tmp_path, "n5", {"pid": 1, "http": 1}) == (
        ": member_status joining; its join waits for n1 (to give it partitions)")


def test_a_joiner_that_exited_adds_nothing(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setattr(cluster_cli, "_alive", lambda pid: False)
    assert cluster_cli._join_waits(tmp_path, "n5", {"pid": 1, "http": 1}) == ""
