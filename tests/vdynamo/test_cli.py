"""The command line's small paths: --version, and one-line errors with a non-zero
status when there is no cluster to talk to."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.runtime.procs import cli, vdynamo


def test_version() -> None:
    result = vdynamo("--version")
    assert result.returncode == 0 and result.stdout.strip() == "vdynamo 0.1.0"


@pytest.mark.parametrize(("args", "expected"), [
    (["cluster", "status"], "no cluster in"),
    (["get", "k"], "no node given"),
    (["put", "k", "v", "--node", "127.0.0.1:9"], "no node could serve it"),
    (["delete", "k", "--node", "127.0.0.1:9"], "no node could serve it"),
    (["join", "n9"], "no cluster in"),
    (["leave", "n1"], "no cluster in"),
])
def test_no_cluster_is_one_line_and_nonzero(tmp_path: Path, args: list[str],
                                            expected: str) -> None:
    result = cli(*args, "--dir", str(tmp_path / "none"))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr


def test_down_counts_only_the_nodes_it_stopped(tmp_path: Path) -> None:
    """A node that left (no PID) and a PID now held by another process (this test's:
    never signalled) are not "stopped"; before, down counted every recorded node."""
    (tmp_path / "cluster.json").write_text(json.dumps({"nodes": {
        "n1": {"pid": None, "http": 1, "peer": 2},
        "n2": {"pid": os.getpid(), "http": 3, "peer": 4}}}))
    result = cli("cluster", "down", "--dir", str(tmp_path))
    assert result.returncode == 0
    assert result.stdout.strip() == f"stopped 0 nodes of {tmp_path}"
