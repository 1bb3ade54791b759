"""Review of ``vdynamo cluster stop NODE`` / ``cluster start NODE`` (session 50,
review): the process a node's recorded PID names, and two commands at once.

No node is started: a node's "process" is a stand-in (``python -c`` sleeping, its
command line ``... serve DIR/cluster.toml --node NAME`` as a node's is, which is
what :func:`vdynamo.cluster_cli._ours` reads), and a node's HTTP port a stand-in
answering ``/health`` ready. Every stand-in process is killed by the test.

- A stale PID reused by another node's process: ``cluster stop n2`` whose recorded
  PID was n3's process sent n3 SIGTERM (``_ours`` checks the directory's file, not
  the node), and ``cluster start n2`` said n2 was running (pid of n3).
- Two ``cluster start n2`` at once (seen on real processes, the review's walk: 1 of
  5 tries left n2 running unrecorded, ``cluster down`` then left it running): the
  other command is run between this one's check and its start, as the race
  interleaves them.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.runtime import procs
from tests.runtime.procs import alive, cli, state, wait_until
from tests.runtime.test_cli_cluster_ready import _stand_in, _stand_in_warning
from vdynamo import cluster_cli


@contextlib.contextmanager
def _processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The stand-in processes a test starts (appended to the list), each killed and
    reaped at the end."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            process.kill()
            process.wait(timeout=10)


def _serve_stand_in(directory: Path, node: str,
                    started: list[subprocess.Popen[bytes]]) -> int:
    """A process whose command line is a ``vdynamo serve`` of ``node`` on
    ``directory``'s file (it sleeps); its PID."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "serve",
         str((directory / "cluster.toml").resolve()), "--node", node])
    started.append(process)
    wait_until(lambda: cluster_cli._ours(directory, process.pid), 10, "the stand-in runs")
    return process.pid


def _cluster(directory: Path, nodes: dict[str, dict[str, Any]]) -> None:
    directory.mkdir()
    (directory / "cluster.toml").write_text("# stand-in\n")
    (directory / "cluster.json").write_text(json.dumps({"nodes": nodes}))


def test_a_stale_pid_reused_by_another_nodes_process_is_not_that_node(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant: ``_runs`` as ``_ours`` (the node not checked): the stop of n2 kills
    n3's stand-in and exits 0, the start says n2 is running: fails."""
    directory = tmp_path / "c"
    _cluster(directory, {"n2": {"pid": None, "http": procs.free_port(), "peer": 1},
                         "n3": {"pid": None, "http": procs.free_port(), "peer": 2}})
    with _processes() as started:
        n3 = _serve_stand_in(directory, "n3", started)
        held = state(directory)
        held["nodes"]["n2"]["pid"] = held["nodes"]["n3"]["pid"] = n3  # n2's, reused
        (directory / "cluster.json").write_text(json.dumps(held))
        stop = cli("cluster", "stop", "n2", "--dir", str(directory))
        assert stop.returncode == 1 and "n2 is not running" in stop.stderr, stop
        assert alive(n3), "cluster stop n2 signalled n3's process"
        launched: list[str] = []
        monkeypatch.setattr(cluster_cli, "_ports_taken", lambda state, names: [])
        monkeypatch.setattr(cluster_cli, "_start", lambda directory, name, *, rejoin=False,
                            adopt=False, entry=None: launched.append(name) or 0)
        start = cli("cluster", "start", "n2", "--dir", str(directory), "--wait-ready", "0")
        assert "already running" not in start.stderr, start
        assert launched == ["n2"], start
        stop = cli("cluster", "stop", "n3", "--dir", str(directory))
        assert stop.returncode == 0 and "n3 stopped" in stop.stdout, stop
        assert not alive(n3)


def test_two_starts_of_one_node_at_once_start_it_once_and_record_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second ``cluster start n2`` runs whole between the first one's checks and
    its start. Before the review the first started a second process and recorded it
    over the other's PID (on real processes the second exits, its data file locked,
    and its PID was cleared: n2 ran unrecorded). Now the start is checked again under
    the directory's lock: exit 1 naming the other command's process. Mutant: the
    check under the lock removed: fails (two processes, the first unrecorded)."""
    directory = tmp_path / "c"
    with _stand_in({"/health": {"ready": True, "live": True}}) as http, \
            _processes() as started:
        _cluster(directory, {"n1": {"pid": None, "http": procs.free_port(), "peer": 1},
                             "n2": {"pid": None, "http": http, "peer": 2}})
        monkeypatch.setattr(cluster_cli, "_start", lambda directory, name, *, rejoin=False,
                            adopt=False, entry=None: _serve_stand_in(directory, name, started))
        other: list[Any] = []

        ports_of_the_file = cluster_cli._ports_of_the_file

        def checked(held_dir: Path, held: dict[str, Any]) -> None:
            ports_of_the_file(held_dir, held)
            if not other:  # the other command, at once, between the first's checks
                # and its lock (session 51: the ports are checked under the lock now,
                # after that check, and were the hook before)
                other.append(None)
                other[0] = cli("cluster", "start", "n2", "--dir", str(directory))

        monkeypatch.setattr(cluster_cli, "_ports_of_the_file", checked)
        monkeypatch.setattr(cluster_cli, "_ports_taken", lambda held, names: [])
        first = cli("cluster", "start", "n2", "--dir", str(directory))
        assert other[0].returncode == 0, other[0]
        assert len(started) == 1, "n2 was started twice"
        assert first.returncode == 1, first
        assert first.stderr == (f"vdynamo cluster start: n2: started meanwhile by another "
                                f"command (pid {started[0].pid}); nothing was started\n")
        assert state(directory)["nodes"]["n2"]["pid"] == started[0].pid


def test_status_waiting_names_an_unready_node_once(tmp_path: Path) -> None:
    """``cluster status --wait-ready`` names a node that answers not ready once: the
    no-wait ``unready`` line (session 50) is added only for a node the wait did not
    name. Mutant: that check removed (``n1`` named twice): fails."""
    answers: dict[str, dict[str, Any]] = {
        "/health": {"ready": False, "live": True, "why_not_ready": "rebuilding"},
        "/status": {"member_status": "joining"}}
    directory = tmp_path / "c"
    with _stand_in(answers) as http, _processes() as started:
        _cluster(directory, {"n1": {"pid": None, "http": http, "peer": 1}})
        held = state(directory)
        held["nodes"]["n1"]["pid"] = _serve_stand_in(directory, "n1", started)
        (directory / "cluster.json").write_text(json.dumps(held))
        status = cli("cluster", "status", "--dir", str(directory), "--wait-ready", "0.2")
    # (n1 not ready: 1; the stand-in file that does not load wins since session 53)
    assert status.returncode == cluster_cli.STATUS_FILE_BROKEN, status
    assert status.stderr == ("vdynamo cluster status: not ready after 0.2 s:\n"
                             "  n1: member_status joining\n" + _stand_in_warning(directory)
                             ), status.stderr


def test_the_adopt_store_hint_for_another_owner_warns_of_another_clusters_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A start refused for a data file of "another node or cluster (another [cluster]
    secret)": the hint under ``vdynamo cluster`` (session 50) names ``--adopt-store``,
    and now warns that a file copied from another cluster must not be adopted (the
    review's walk: n1 given cluster c's file in cluster d, ``up --adopt-store`` as
    hinted: n1 served c's keys, n2 waited to rebuild from c's n4, d's n3 stopped as
    "left" by c's membership). Mutant: the warning not appended: fails."""
    directory = tmp_path / "d"
    _cluster(directory, {"n1": {"pid": None, "http": procs.free_port(), "peer": 1}})
    refused = ("n1 exited: vdynamo serve: n1/data.sqlite: this data file belongs to another "
               "node or cluster (another [cluster] secret): ... start once with "
               "--adopt-store")
    monkeypatch.setattr(cluster_cli, "_ports_taken", lambda state, names: [])
    monkeypatch.setattr(cluster_cli, "_start", lambda directory, name, *, rejoin=False,
                        adopt=False, entry=None: 0)
    monkeypatch.setattr(cluster_cli, "_wait_started", lambda *args, **kwargs: refused)
    up = cli("cluster", "up", "--dir", str(directory))
    assert up.returncode == 1, up
    assert (f"`vdynamo cluster up --dir {directory} --adopt-store` passes it on; only for a "
            "node name or secret changed on purpose: a data file copied from another cluster "
            "brings that cluster's keys and members with it") in up.stderr, up.stderr
