"""``vdynamo cluster``'s ``_start`` waits for its child's command line to show in
``/proc`` (s51-probesvc: two ``cluster up`` at once), but not where there is no
``/proc`` (a BSD, macOS), where :func:`vdynamo.cluster_cli._runs` is never true and
each start waited the whole ``_EXEC_WAIT_S`` (5 s a node: a ``cluster up`` of
three, 15 s more; session 51's review). Mutant: the ``/proc`` check removed from
the wait: the start sleeps until its deadline, this fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from vdynamo import cluster_cli


class _Running:
    pid = 4242

    def poll(self) -> None:  # still running
        return None


def test_a_start_without_proc_does_not_wait_for_a_command_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "n1").mkdir()
    slept: list[float] = []
    monkeypatch.setattr(cluster_cli, "_PROC_SELF", tmp_path / "no-proc" / "self")
    monkeypatch.setattr(cluster_cli, "_EXEC_WAIT_S", 0.2)
    monkeypatch.setattr(cluster_cli.subprocess, "Popen", lambda *a, **k: _Running())
    monkeypatch.setattr(cluster_cli.time, "sleep", slept.append)
    assert cluster_cli._start(tmp_path, "n1") == 4242
    assert slept == []
    assert cluster_cli.node_running(tmp_path, 4242)  # (no /proc: taken as running)
