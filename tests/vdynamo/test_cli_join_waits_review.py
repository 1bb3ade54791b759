"""Session 31's review of ``vdynamo join``'s failure message
(``vdynamo.cluster_cli._join_waits``): what the change's own tests
(tests/vdynamo/test_cli_join_waits.py) leave out. No processes: the node's answers
are scripted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vdynamo import cluster_cli

NO_STATE: dict[str, Any] = {"nodes": {}}


def test_an_unknown_step_is_said_as_is_and_an_entry_not_an_object_is_skipped(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A step this CLI has no words for (a newer node's) is named as the node says
    it; an entry that is not an object (a node's bad answer) is left out rather than
    raising. Review mutants killed: the unknown step said as ``""``; the
    ``isinstance(held, dict)`` filter dropped (AttributeError)."""
    status: dict[str, Any] = {
        "member_status": "joining", "shadow_round": None, "rebuild": None,
        "stopping": False,
        "handover_waiting": {"n1": {"step": "acknowledge", "down": False}, "n2": "x"}}
    monkeypatch.setattr(cluster_cli, "_alive", lambda pid: True)
    monkeypatch.setattr(cluster_cli, "_answer", lambda port, path, timeout=1.0: status)
    assert cluster_cli._join_waits(tmp_path, NO_STATE, "n5", {"pid": 1, "http": 1}) == (
        ": member_status joining; its join waits for n1 (acknowledge)")
