"""``vdynamo join NODE`` of a node that left starts it with ``serve --rejoin``, and of
a new node without it (session 13's probe B: a node that left could not join again;
``tests/impl/test_rejoin_after_leave.py`` checks the node's side). No process is
started: the command line is captured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vdynamo import cluster_cli


class _Started:
    pid = 4242

    def poll(self) -> int:  # ended (``_start`` waits for a running child's command
        return 0            # line since session 51, not for an ended one)


def _join(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: dict[str, Any] | None
          ) -> list[str]:
    (tmp_path / "cluster.toml").write_text("[cluster]\n")
    nodes = {} if entry is None else {"n4": entry}
    (tmp_path / "cluster.json").write_text(json.dumps({"nodes": nodes}))
    commands: list[list[str]] = []

    def popen(command: list[str], **_: object) -> _Started:
        commands.append(command)
        return _Started()

    monkeypatch.setattr("vdynamo.cluster_cli.subprocess.Popen", popen)
    monkeypatch.setattr(cluster_cli, "_wait_started", lambda *a, **k: None)
    assert cluster_cli.main_join(["n4", "--dir", str(tmp_path)]) == 0
    assert len(commands) == 1 and "serve" in commands[0]
    return commands[0]


def test_join_of_a_node_that_left_passes_rejoin(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    command = _join(tmp_path, monkeypatch,
                    {"pid": None, "peer": 1, "http": 2, "left": True})
    assert "--rejoin" in command
    assert "left" not in json.loads((tmp_path / "cluster.json").read_text())["nodes"]["n4"]


def test_join_of_a_new_node_does_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "--rejoin" not in _join(tmp_path, monkeypatch, None)
