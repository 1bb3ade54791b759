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
    (["get", "k"], "no cluster in {dir} (start one with `vdynamo cluster up --dir {dir}`"),
    (["put", "k", "v", "--node", "127.0.0.1:9"], "no node could serve it"),
    (["delete", "k", "--node", "127.0.0.1:9"], "no node could serve it"),
    (["join", "n9"], "no cluster in"),
    (["leave", "n1"], "no cluster in"),
])
def test_no_cluster_is_one_line_and_nonzero(tmp_path: Path, args: list[str],
                                            expected: str) -> None:
    result = cli(*args, "--dir", str(tmp_path / "none"))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    # the directory named (session 22: "no node given (--node, or a cluster in --dir)")
    assert expected.format(dir=tmp_path / "none") in result.stderr, result.stderr


def test_a_cluster_whose_nodes_all_left_is_said_so(tmp_path: Path) -> None:
    (tmp_path / "cluster.json").write_text(json.dumps({"nodes": {
        "n1": {"pid": None, "http": 1, "peer": 2, "left": True}}}))
    result = cli("get", "k", "--dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr == f"vdynamo get: every node of the cluster in {tmp_path} left\n"


def test_a_stopped_cluster_is_said_so(tmp_path: Path) -> None:
    """After `vdynamo cluster down` (no PID recorded, none left): one line naming
    the directory and how to start it; before session 23's review, "no node could
    serve it" and each node's ConnectError."""
    (tmp_path / "cluster.json").write_text(json.dumps({"nodes": {
        "n1": {"pid": None, "http": 9, "peer": 2}, "n2": {"pid": None, "http": 9, "peer": 4}}}))
    result = cli("get", "k", "--dir", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr == (f"vdynamo get: no node of the cluster in {tmp_path} is running "
                             f"(`vdynamo cluster up --dir {tmp_path}` starts it again)\n")


def test_down_counts_only_the_nodes_it_stopped(tmp_path: Path) -> None:
    """A node that left (no PID) and a PID now held by another process (this test's:
    never signalled) are not "stopped"; before, down counted every recorded node."""
    (tmp_path / "cluster.json").write_text(json.dumps({"nodes": {
        "n1": {"pid": None, "http": 1, "peer": 2},
        "n2": {"pid": os.getpid(), "http": 3, "peer": 4}}}))
    result = cli("cluster", "down", "--dir", str(tmp_path))
    assert result.returncode == 0
    assert result.stdout.strip() == f"stopped 0 nodes of {tmp_path}"
