"""``vdynamo cluster status`` names a broken file (session 52).

Before: a ``cluster.toml`` that does not load (a line ``this is = = broken``) was
not mentioned (only ``cluster stop`` said so, session 51); a ``cluster.json`` entry
with a pid ``"abc"`` showed the node ``-``, one with an http port 99999 showed it
``starting`` for good, nothing said; a node whose last start exited (its data file
not a database) showed ``down`` with no word why. No process is started: the nodes'
ports are closed (nothing answers).

Mutants checked to fail: ``_entry_problem`` returning None (the three entries
taken); the ``_file_problem`` call removed from ``_status`` (no warning); the
exited line removed (no ``down:``).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from vdynamo.cluster_cli import ClusterStateError, main_cluster, read_state


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _cluster(directory: Path, **entry: object) -> None:
    nodes = {"n1": {"pid": None, "http": _closed_port(), "peer": _closed_port(), **entry}}
    (directory / "cluster.json").write_text(json.dumps({"nodes": nodes}))
    (directory / "cluster.toml").write_text(
        '[cluster]\nnodes = ["n1"]\nn = 1\nr = 1\nw = 1\nsecret = "' + "ab" * 24 + '"\n'
        f'[nodes.n1]\npeer = "127.0.0.1:{nodes["n1"]["peer"]}"\n'
        f'http = "127.0.0.1:{nodes["n1"]["http"]}"\ndata = "n1/data.sqlite"\n')


@pytest.mark.parametrize(("entry", "said"), [
    ({"pid": "abc"}, "node n1: pid 'abc' is neither null nor a process id"),
    ({"pid": True}, "node n1: pid True is neither null nor a process id"),
    ({"pid": -1}, "node n1: pid -1 is neither null nor a process id"),
    ({"http": 99999}, "node n1: http port 99999 is not in 1..65535"),
    ({"peer": 0}, "node n1: peer port 0 is not in 1..65535")])
def test_a_wrong_entry_names_its_node(tmp_path: Path, entry: dict[str, object],
                                      said: str) -> None:
    _cluster(tmp_path, **entry)
    with pytest.raises(ClusterStateError, match="not a cluster state file") as raised:
        read_state(tmp_path)
    assert said in str(raised.value) and str(tmp_path / "cluster.json") in str(raised.value)


def test_a_settings_problem_names_the_file(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A file that parses but does not load ("[cluster]: section missing") is named
    too: the check's message names no file."""
    _cluster(tmp_path)
    (tmp_path / "cluster.toml").write_text("# no [cluster]\n")
    assert main_cluster(["status", "--dir", str(tmp_path)]) == 1
    assert (f"vdynamo cluster status: warning: the cluster file does not load: "
            f"{tmp_path / 'cluster.toml'}: ") in capsys.readouterr().err


def test_status_warns_of_a_cluster_file_that_does_not_load_and_a_start_that_exited(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _cluster(tmp_path)
    assert main_cluster(["status", "--dir", str(tmp_path)]) == 1  # n1 down
    assert capsys.readouterr().err == ""
    (tmp_path / "n1").mkdir()
    (tmp_path / "n1" / "node.log").write_text(
        '{"level": "info", "message": "n1: stopped"}\nvdynamo serve: cannot open SQLite '
        f"database '{tmp_path}/n1/data.sqlite': file is not a database")
    with (tmp_path / "cluster.toml").open("a") as out:
        out.write("this is = = broken\n")
    assert main_cluster(["status", "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert ("vdynamo cluster status: down:\n  n1: its last start exited: vdynamo serve: "
            "cannot open SQLite database") in err, err
    assert "file is not a database" in err
    assert (f"vdynamo cluster status: warning: the cluster file does not load: "
            f"{tmp_path / 'cluster.toml'}: not valid TOML") in err, err
