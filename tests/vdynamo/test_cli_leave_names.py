"""`vdynamo leave NODE` of a node that cannot leave says which case it is and what to
do (session 48's new user's walk: "NODE is not running in D" for a typo'd name, a
second `leave` of a node that left and a node killed alike). No process is started:
the directory's files say it all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.runtime.procs import cli


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    (tmp_path / "cluster.toml").write_text("[cluster]\n")
    (tmp_path / "cluster.json").write_text(json.dumps({"nodes": {
        "n1": {"pid": None, "peer": 1, "http": 2},
        "n2": {"pid": None, "peer": 3, "http": 4, "left": True},
        "n3": {"pid": None, "peer": 5, "http": 6, "left": True, "removed": True}}}))
    return tmp_path


@pytest.mark.parametrize(("node", "said"), [
    ("n9", "no node n9 in the cluster in {d} (its nodes: n1, n2, n3)"),
    ("n2", "n2 left the cluster in {d} already (`vdynamo join n2 --dir {d}` joins it "
           "again)"),
    ("n3", "n3 was removed from the cluster in {d} already"),
    ("n1", "n1 is not running in {d}: a stopped node cannot hand its ranges over; start "
           "it (`vdynamo cluster up --dir {d}`), then leave, or, if it is down for good, "
           "remove it (`vdynamo remove n1 --dir {d}`)"),
])
def test_leave_says_why_not(directory: Path, node: str, said: str) -> None:
    result = cli("leave", node, "--dir", str(directory))
    assert (result.returncode, result.stderr) == (
        1, f"vdynamo leave: {said.format(d=directory)}\n")


def test_join_without_a_cluster_names_the_directory_to_start(tmp_path: Path) -> None:
    result = cli("join", "n4", "--dir", str(tmp_path / "none"))
    assert result.stderr == (f"vdynamo join: no cluster in {tmp_path / 'none'} (run "
                             f"`vdynamo cluster up --dir {tmp_path / 'none'}` first)\n")
