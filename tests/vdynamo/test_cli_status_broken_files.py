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

Session 53: the file that does not load is an error, exit status
:data:`STATUS_FILE_BROKEN` (78, sysexits' EX_CONFIG) whatever the nodes do, naming the
file and the line (TOML's line and column, or the line that sets the key a setting's
error names); a ``cluster.json`` that is not a state file is 78 too; every node down
is named on stderr with why, exit 1. Each test below fails on e0ef9711 (exit 0 or 1
where 78 is asserted, no line, no ``down:`` for a node not running); mutants checked
(``/tmp/s53c``, one at a time): ``return STATUS_FILE_BROKEN`` in ``_status`` made
``return 1`` (78 tests fail), the ``down`` list's append removed (the down tests
fail), ``_field_line`` returning None (the line test fails).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path

import pytest

from tests.runtime.test_cli_cluster_ready import _stand_in
from vdynamo import cluster_cli
from vdynamo.cluster_cli import (
    STATUS_FILE_BROKEN,
    ClusterStateError,
    main_cluster,
    read_state,
)


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
    assert main_cluster(["status", "--dir", str(tmp_path)]) == STATUS_FILE_BROKEN
    assert (f"vdynamo cluster status: the cluster file does not load: "
            f"{tmp_path / 'cluster.toml'}: ") in capsys.readouterr().err


def test_status_warns_of_a_cluster_file_that_does_not_load_and_a_start_that_exited(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _cluster(tmp_path)
    assert main_cluster(["status", "--dir", str(tmp_path)]) == 1  # n1 down
    assert capsys.readouterr().err == (  # (session 53: named)
        "vdynamo cluster status: down:\n  n1: not running (`vdynamo cluster start n1 "
        f"--dir {tmp_path}` starts it)\n")
    (tmp_path / "n1").mkdir()
    (tmp_path / "n1" / "node.log").write_text(
        '{"level": "info", "message": "n1: stopped"}\nvdynamo serve: cannot open SQLite '
        f"database '{tmp_path}/n1/data.sqlite': file is not a database")
    with (tmp_path / "cluster.toml").open("a") as out:
        out.write("this is = = broken\n")
    assert main_cluster(["status", "--dir", str(tmp_path)]) == STATUS_FILE_BROKEN
    err = capsys.readouterr().err
    assert ("vdynamo cluster status: down:\n  n1: its last start exited: vdynamo serve: "
            "cannot open SQLite database") in err, err
    assert "file is not a database" in err
    assert (f"vdynamo cluster status: the cluster file does not load: "
            f"{tmp_path / 'cluster.toml'}: not valid TOML: Expected '=' after a key in a "
            "key/value pair (at line 11, column 6)") in err, err


def _ready_node() -> contextlib.AbstractContextManager[int]:
    """A stand-in node's HTTP port whose ``GET /health`` answers ready."""
    return _stand_in({"/health": {"ready": True, "live": True, "member_status": "up"}})


@pytest.mark.parametrize(("line", "said"), [
    ("this is = = broken", "not valid TOML: Expected '=' after a key in a key/value pair "
                           "(at line 7, column 6)"),
    ("gossip_intervall = 0.5", "line 7: [cluster] gossip_intervall: not a cluster "
                               "setting (did you mean gossip_interval?)"),
    ("r = 7", "not valid TOML: Cannot overwrite a value (at line 7, column 6)")])
def test_a_file_that_does_not_load_is_an_error_though_every_node_answers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], line: str, said: str) -> None:
    """Session 53: exit 78 with every node ready (0 before: a warning), the file and
    its line named, and what is wrong."""
    with _ready_node() as port:
        _cluster(tmp_path, http=port, pid=os.getpid())
        monkeypatch.setattr(cluster_cli, "_ours", lambda directory, pid: True)
        assert main_cluster(["status", "--dir", str(tmp_path)]) == 0
        assert capsys.readouterr().err == ""
        text = (tmp_path / "cluster.toml").read_text().splitlines()
        text.insert(6, line)  # (line 7, in [cluster])
        (tmp_path / "cluster.toml").write_text("\n".join(text) + "\n")
        assert main_cluster(["status", "--dir", str(tmp_path)]) == STATUS_FILE_BROKEN
    err = capsys.readouterr().err
    assert err == (f"vdynamo cluster status: the cluster file does not load: "
                   f"{tmp_path / 'cluster.toml'}{'' if said.startswith('line') else ':'} "
                   f"{said}; the running nodes "
                   "keep the file they loaded, and a node started now exits: fix the file "
                   "first\n"), err


def test_a_state_file_that_is_not_one_is_the_files_status(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A ``cluster.json`` cut short: 78 (1 before session 53, as "no cluster")."""
    _cluster(tmp_path)
    (tmp_path / "cluster.json").write_text('{"nodes": ')
    assert main_cluster(["status", "--dir", str(tmp_path)]) == STATUS_FILE_BROKEN
    assert f"{tmp_path / 'cluster.json'}: not a cluster state file" in capsys.readouterr().err


def test_each_node_down_is_named_with_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A node not running and one whose process is stopped (SIGSTOP: `stopped` in the
    table) beside a ready one: exit 1, both named on stderr (before session 53 only
    the table's `down` and `stopped` said so)."""
    with _ready_node() as port:
        _cluster(tmp_path, http=port, pid=os.getpid())
        held = read_state(tmp_path)
        held["nodes"]["n2"] = {"pid": None, "http": _closed_port(), "peer": _closed_port()}
        held["nodes"]["n3"] = {"pid": 4242, "http": _closed_port(), "peer": _closed_port()}
        (tmp_path / "cluster.json").write_text(json.dumps(held))
        text = (tmp_path / "cluster.toml").read_text().replace(
            'nodes = ["n1"]\nn = 1', 'nodes = ["n1", "n2", "n3"]\nn = 1')
        for name in ("n2", "n3"):
            text += (f'[nodes.{name}]\npeer = "127.0.0.1:{held["nodes"][name]["peer"]}"\n'
                     f'http = "127.0.0.1:{held["nodes"][name]["http"]}"\n'
                     f'data = "{name}/data.sqlite"\n')
        (tmp_path / "cluster.toml").write_text(text)
        monkeypatch.setattr(cluster_cli, "_ours", lambda directory, pid: pid is not None)
        monkeypatch.setattr(cluster_cli, "_silent",
                            lambda pid: "stopped" if pid == 4242 else "")
        assert main_cluster(["status", "--dir", str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    assert "n3         4242 stopped" in out, out
    assert err == ("vdynamo cluster status: down:\n"
                   f"  n2: not running (`vdynamo cluster start n2 --dir {tmp_path}` starts "
                   "it)\n"
                   "  n3: its process (pid 4242) is stopped (SIGSTOP?): `kill -CONT 4242` "
                   "resumes it\n"), err
