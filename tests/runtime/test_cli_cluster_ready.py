"""``vdynamo cluster up`` returns once the nodes it started are ready, not only live
(session 24: it returned when each HTTP port answered; a node's startup shadow
round then still held every request up to ``shadow_round_s``, and a put sent at
once got 504 when a peer had died).

Real processes on loopback: a three-node cluster; n3 is frozen (SIGSTOP, so its
ports accept but it never answers) and n1, n2 restarted by ``cluster up``: their
shadow rounds wait for n3 until ``shadow_round_s`` (5 s here) passes. ``cluster
status --wait-ready`` waits the same way. Every process is stopped by the test (n3
continued first)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.runtime import procs
from tests.runtime.procs import alive, cli, cluster_up, state, wait_until
from vdynamo import cluster_cli
from vdynamo.cluster_cli import UP_NOT_READY

# 5 s: the exit-3 step needs n1 and n2 still in their rounds 0.5 s after they
# answer; 3 s left 2.5 s of margin for the processes' start under CI's load. The
# first restart's ``up`` waits the whole round: it runs with the default's 2 s, and
# the cluster file is edited to 5 s before the exit-3 step (session 38: 3 s less)
_SHADOW_S = 5
_FIRST_SHADOW_S = 2


def _ready(directory: Path, node: str) -> bool:
    with urllib.request.urlopen(f"{procs.http(directory, node)}/health",
                                timeout=5) as answer:
        return bool(json.loads(answer.read())["ready"])


def _stop(directory: Path, *nodes: str) -> None:
    """SIGTERM ``nodes`` and wait until they are gone (n3 stays frozen meanwhile)."""
    pids = [state(directory)["nodes"][node]["pid"] for node in nodes]
    for pid in pids:
        os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not any(alive(pid) for pid in pids), 15, f"{nodes} stopped")


def test_up_returns_once_the_nodes_it_started_are_ready(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, "--nodes", "3", *procs.FAST_UP,
                    "--set", f"shadow_round_s={_FIRST_SHADOW_S}"):
        assert all(_ready(directory, node) for node in ("n1", "n2", "n3"))
        frozen = state(directory)["nodes"]["n3"]["pid"]
        os.kill(frozen, signal.SIGSTOP)
        try:
            _stop(directory, "n1", "n2")
            up = cli("cluster", "up", "--dir", str(directory))
            assert up.returncode == 0, up.stderr
            # before session 24: False, n1 and n2 in their shadow rounds, waiting
            # for n3, for 3 s after `up` returned
            assert _ready(directory, "n1") and _ready(directory, "n2")

            # the bound passes first: exit 3, each node named with why, left running
            _stop(directory, "n1", "n2")
            config = directory / "cluster.toml"
            text = config.read_text()
            assert text.count(f"shadow_round_s = {_FIRST_SHADOW_S}\n") == 1, text
            config.write_text(text.replace(f"shadow_round_s = {_FIRST_SHADOW_S}\n",
                                           f"shadow_round_s = {_SHADOW_S}\n"))
            up = cli("cluster", "up", "--dir", str(directory), "--wait-ready", "0.5")
            assert up.returncode == UP_NOT_READY, (up.stdout, up.stderr)
            assert up.stdout.count("http://127.0.0.1:") == 3, up.stdout
            # (session 48's README walk: `up` first names the nodes it starts when
            # others of the cluster were running)
            lines = [line for line in up.stderr.splitlines()
                     if not line.startswith("vdynamo cluster up: starting ")]
            assert lines[0].startswith("vdynamo cluster up: 2 of 2 nodes started not "
                                       "ready after 0.5 s (left running"), up.stderr
            assert sorted(line.split(":")[0].strip() for line in lines[1:]) == [
                "n1", "n2"], up.stderr
            assert all("member_status up; in its startup shadow round, waiting for n3"
                       in line for line in lines[1:]), up.stderr
            assert all(alive(state(directory)["nodes"][node]["pid"])
                       for node in ("n1", "n2"))
            status = cli("cluster", "status", "--dir", str(directory), "--wait-ready", "0.2")
            assert status.returncode == 1, status.stdout
            assert "  n3: does not answer GET /status" in status.stderr, status.stderr
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(frozen, signal.SIGCONT)
        status = cli("cluster", "status", "--dir", str(directory), "--wait-ready", "20")
        assert status.returncode == 0 and status.stdout.count(" ready ") == 3, (
            status.stdout, status.stderr)


def test_wait_ready_takes_seconds_from_0_to_3600() -> None:
    for bad in ("-1", "nan", "abc", "3601"):
        result = cli("cluster", "up", "--wait-ready", bad, "--dir", "/nonexistent/x")
        assert result.returncode == 2 and "expected seconds from 0 to 3600" in result.stderr


def test_the_wait_ends_once_a_node_exited_naming_its_last_log_line(tmp_path: Path) -> None:
    """A node that exited will not become ready: ``up`` says so at once, not after
    ``--wait-ready`` (30 s by default)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    (tmp_path / "n1").mkdir()
    (tmp_path / "n1" / "node.log").write_text("starting\nconfig refused: boom\n\n")
    nodes = {"n1": {"pid": process.pid, "http": procs.free_port(), "peer": 1}}
    start = time.monotonic()
    assert cluster_cli._wait_ready(tmp_path, {"nodes": nodes}, ["n1"], 30.0) == [
        "n1: exited: config refused: boom"]
    assert time.monotonic() - start < 10


# Session 24's review: stand-in nodes, in process. A node is a ThreadingHTTPServer
# answering GET /health and /status with the bodies given; its "process" is this
# one (alive, not a `vdynamo serve`), and `cluster up`'s start is replaced by one
# that records the names it was asked to start.


@contextlib.contextmanager
def _stand_in(bodies: dict[str, dict[str, object]]) -> Iterator[int]:
    """A stand-in node's HTTP port: ``GET PATH`` answers ``bodies[PATH]`` as JSON, 404
    a path not given (since session 57 ``cluster status`` reads a ready node's
    ``/status`` too)."""

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            payload = json.dumps(bodies.get(self.path, {})).encode()
            self.send_response(200 if self.path in bodies else 404)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Answer) as server:
        thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
        thread.start()
        try:
            yield server.server_address[1]
        finally:
            server.shutdown()
            thread.join(timeout=10)


_IN_ROUND = {"/health": {"ready": False, "live": True},
             "/status": {"member_status": "up", "stopping": True,
                         "shadow_round": {"over": False, "waiting": ["n3"], "deferred": 2},
                         "rebuild": {"pending": 7, "waiting_for": ["n2", "n3"]}}}


def _stand_in_warning(directory: Path) -> str:
    """What ``cluster status`` says of the stand-in ``cluster.toml`` (session 52; an
    error, no longer a warning, since session 53: exit status
    :data:`vdynamo.cluster_cli.STATUS_FILE_BROKEN`)."""
    return (f"vdynamo cluster status: the cluster file does not load: "
            f"{directory / 'cluster.toml'}: [cluster]: section missing; the running nodes "
            "keep the file they loaded, and a node started now exits: fix the file first\n")


def _stand_in_cluster(directory: Path, monkeypatch: pytest.MonkeyPatch,
                      nodes: dict[str, dict[str, Any]], *, stand_ins: bool = True,
                      ) -> list[str]:
    """``directory`` holds a cluster of ``nodes`` (name -> state entry, none running);
    returns the list ``cluster up`` appends the names it starts to. ``stand_ins``:
    the stand-ins on the nodes' ports are the nodes started (not other processes)."""
    directory.mkdir()
    (directory / "cluster.toml").write_text("# stand-in\n")
    (directory / "cluster.json").write_text(json.dumps({"nodes": nodes}))
    started: list[str] = []

    def start(_directory: Path, name: str, *, rejoin: bool = False, adopt: bool = False,
              entry: Any = None) -> int:
        started.append(name)
        return os.getpid()

    monkeypatch.setattr(cluster_cli, "_start", start)
    if stand_ins:
        monkeypatch.setattr(cluster_cli, "_ports_taken", lambda state, names: [])
    return started


def test_why_names_the_round_the_rebuild_and_the_stop(tmp_path: Path) -> None:
    with _stand_in(_IN_ROUND) as port:
        why = cluster_cli._why_not_ready(tmp_path, "n1", {"pid": os.getpid(), "http": port})
    assert why == ("member_status up; in its startup shadow round, waiting for n3 (holding "
                   "2 inputs, at most shadow_round_s); rebuilding a replaced disk (7 ranges "
                   "pending, from n2, n3); stopping")


def test_why_names_the_health_cause_the_status_fields_do_not(tmp_path: Path) -> None:
    """A node whose peers' handshake proofs fail against its secret (session 49): its
    ``/status`` fields say nothing of it, ``/health``'s ``why_not_ready`` does, and
    ``cluster up`` names it; a cause the status fields already name is not repeated."""
    secret = ("no majority of the members exchange messages with it: n1, n2 (their "
              "proofs do not verify with its [cluster] secret)")
    answers: dict[str, dict[str, Any]] = {
        "/health": {"ready": False, "live": True, "why_not_ready": secret},
        "/status": {"member_status": "up"}}
    with _stand_in(answers) as port:
        why = cluster_cli._why_not_ready(tmp_path, "n3", {"pid": os.getpid(), "http": port})
    assert why == f"member_status up; {secret}"
    answers["/health"]["why_not_ready"] = "in its startup shadow round (shadow_round in /status)"
    with _stand_in(answers) as port:
        why = cluster_cli._why_not_ready(tmp_path, "n3", {"pid": os.getpid(), "http": port})
    assert why == "member_status up"


def test_wait_ready_0_does_not_wait_and_a_leaving_node_is_not_waited_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with _stand_in(_IN_ROUND) as n1, _stand_in(_IN_ROUND) as n2:
        _stand_in_cluster(tmp_path / "c", monkeypatch, {
            "n1": {"pid": None, "http": n1, "peer": procs.free_port()},
            "n2": {"pid": None, "http": n2, "peer": procs.free_port(), "leaving": True}})
        up = ["up", "--dir", str(tmp_path / "c"), "--wait-ready"]
        assert cluster_cli.main_cluster([*up, "0"]) == 0  # the old behaviour
        assert cluster_cli.main_cluster([*up, "0.2"]) == UP_NOT_READY
    err = capsys.readouterr().err
    assert "1 of 1 nodes started not ready after 0.2 s" in err and "  n1: " in err, err
    assert "n2:" not in err, err  # resumes its leave: stays `leaving`, never ready


def test_up_refuses_ports_another_process_holds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A copy of a running cluster's directory (or another cluster on a port since
    reused): its nodes' ports answer, and say ready, for the other cluster's nodes.
    Before the review `up` returned 0 at once, its own nodes exiting ("address
    already in use") unseen; now it starts none and exits 1 naming the ports."""
    ready = {"/health": {"ready": True, "live": True}}
    with _stand_in(ready) as other, _stand_in(ready) as other_peer:
        started = _stand_in_cluster(tmp_path / "copy", monkeypatch, {
            "n1": {"pid": None, "http": other, "peer": other_peer}}, stand_ins=False)
        assert cluster_cli.main_cluster(["up", "--dir", str(tmp_path / "copy")]) == 1
    assert started == []
    err = capsys.readouterr().err
    assert (f"n1 http 127.0.0.1:{other}, n1 peer 127.0.0.1:{other_peer}: in use by "
            "another process") in err, err
    assert "nothing was started" in err, err


def _no_traceback(argv: list[str]) -> int:
    """``vdynamo cluster ARGV``'s exit status; a test failure if Ctrl-C escaped it
    (before the review: a ``KeyboardInterrupt`` traceback, no URL printed, nothing
    saying the nodes were left running)."""
    try:
        return cluster_cli.main_cluster(argv)
    except KeyboardInterrupt:
        pytest.fail(f"KeyboardInterrupt escaped `vdynamo cluster {argv[0]}`")


def test_ctrl_c_in_the_wait_says_the_nodes_are_left_running(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(*args: object) -> list[str]:
        raise KeyboardInterrupt

    with _stand_in(_IN_ROUND) as n1:
        _stand_in_cluster(tmp_path / "c", monkeypatch, {
            "n1": {"pid": None, "http": n1, "peer": procs.free_port()}})
        monkeypatch.setattr(cluster_cli, "_wait_ready", interrupted)
        monkeypatch.setattr(cluster_cli, "_stop", lambda *args: pytest.fail("a node stopped"))
        assert _no_traceback(["up", "--dir", str(tmp_path / "c")]) == 130
        out, err = capsys.readouterr()
        assert out == f"n1 http://127.0.0.1:{n1}\n"
        assert err == (f"vdynamo cluster up: interrupted while waiting for the nodes to be "
                       f"ready; the 1 node started is left running (`vdynamo cluster down "
                       f"--dir {tmp_path / 'c'}` stops it)\n")
        monkeypatch.setattr(cluster_cli, "_ours", lambda directory, pid: pid is not None)
        assert _no_traceback(["status", "--dir", str(tmp_path / "c"),
                              "--wait-ready", "5"]) == 130
        assert capsys.readouterr().err == (
            "vdynamo cluster status: interrupted while waiting for the nodes to be ready; "
            "nothing was changed\n")


@pytest.mark.parametrize(("status", "health", "said"), [
    ({"member_status": "up", "stopping": True}, "shutting down", "member_status up; stopping"),
    ({"member_status": "joining"}, "member_status joining (not up)", "member_status joining"),
    ({"member_status": "up", "rebuild": {"pending": 2, "waiting_for": ["n1"]}},
     "rebuilding a replaced disk (rebuild in /status)",
     "member_status up; rebuilding a replaced disk (2 ranges pending, from n1)"),
    ({"member_status": "up"}, "runs other [cluster] settings than its peers (n = 3 here)",
     "member_status up; runs other [cluster] settings than its peers (n = 3 here)"),
])
def test_why_repeats_no_health_cause_the_status_fields_name(
        tmp_path: Path, status: dict[str, Any], health: str, said: str) -> None:
    """Session 49's review of 74222905: each of
    :meth:`impl.runtime.NodeServer.not_ready`'s phrases for a cause ``/status`` names
    is left out, one it does not name is appended. Mutants: each prefix of
    ``_SAID_BY_STATUS`` dropped in turn (only the shadow round's was tested): fails."""
    answers: dict[str, dict[str, Any]] = {
        "/health": {"ready": False, "live": True, "why_not_ready": health}, "/status": status}
    with _stand_in(answers) as port:
        why = cluster_cli._why_not_ready(tmp_path, "n3", {"pid": os.getpid(), "http": port})
    assert why == said


def test_status_names_a_node_that_answers_but_is_not_ready(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``cluster status`` (no wait) shows a running node that answers not ready as
    ``unready``, and says why on stderr, as ``--wait-ready`` does; its exit status
    stays 0 (every node answers). Session 50's operator walk: n1 started with ``n = 2``
    (``--adopt-store``) beside peers with 3, refused by every peer for good, showed
    ``starting``, nothing said. Mutants: the state ``starting`` again, the why not
    said: each fails."""
    settings = ("runs other [cluster] settings than its peers ('n2' runs other [cluster] "
                "settings that every node must share: n '2' here, '3' at n2 ...)")
    answers: dict[str, dict[str, Any]] = {
        "/health": {"ready": False, "live": True, "member_status": "up",
                    "why_not_ready": settings},
        "/status": {"member_status": "up"}}
    with _stand_in(answers) as port, _stand_in(
            {"/health": {"ready": True, "live": True, "member_status": "up"}}) as ready:
        directory = tmp_path / "c"
        _stand_in_cluster(directory, monkeypatch, {
            "n1": {"pid": os.getpid(), "http": port, "peer": procs.free_port()},
            "n2": {"pid": os.getpid(), "http": ready, "peer": procs.free_port()}})
        monkeypatch.setattr(cluster_cli, "_ours", lambda directory, pid: True)
        shown = cli("cluster", "status", "--dir", str(directory))
        # n1 served by hand (no process recorded): not "exited" (session 50's walk)
        monkeypatch.setattr(cluster_cli, "_ours", lambda directory, pid: False)
        by_hand = cli("cluster", "status", "--dir", str(directory))
    rows = {line.split()[0]: line.split() for line in shown.stdout.splitlines()[1:]}
    assert rows["n1"][2] == "unready" and rows["n2"][2] == "ready", shown.stdout
    assert shown.stderr == ("vdynamo cluster status: not ready:\n"
                            f"  n1: member_status up; {settings}\n"
                            + _stand_in_warning(directory)), shown.stderr
    # every node answers; the stand-in file does not load (session 53: 0 before)
    assert shown.returncode == cluster_cli.STATUS_FILE_BROKEN, shown
    assert by_hand.stderr == (
        "vdynamo cluster status: not ready:\n"
        f"  n1: member_status up; {settings}; its process is none `vdynamo cluster` "
        f"started in {directory} (a `vdynamo serve` by hand?)\n"
        + _stand_in_warning(directory)), by_hand.stderr


def test_status_names_a_ready_node_in_its_rebuild_grace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ready node whose ``/status`` ``rebuild_grace`` is set (session 57: rebuilt,
    its own reads and acks not counted for a few seconds more) is named on stderr
    with the seconds; a ready node without it (null) is not; the exit status is
    what it would be without (the node is ready). Red team 6 read a 503 through
    such a node alone while everything said rebuilt and ready. Mutants (each run,
    seen failing, reverted): ``_rebuild_grace`` always None (the stderr without the
    lines); the ``counted_in_s`` check dropped, so null's ``None`` formatted
    (TypeError out of ``cluster status``)."""
    ready = {"ready": True, "live": True, "member_status": "up"}
    with _stand_in({"/health": ready, "/status": {"rebuild_grace": {
            "counted_in_s": 4.2, "grace_s": 9.0}}}) as graced, _stand_in(
            {"/health": ready, "/status": {"rebuild_grace": None}}) as plain:
        directory = tmp_path / "c"
        _stand_in_cluster(directory, monkeypatch, {
            "n1": {"pid": os.getpid(), "http": graced, "peer": procs.free_port()},
            "n2": {"pid": os.getpid(), "http": plain, "peer": procs.free_port()}})
        monkeypatch.setattr(cluster_cli, "_ours", lambda directory, pid: True)
        shown = cli("cluster", "status", "--dir", str(directory))
    rows = {line.split()[0]: line.split() for line in shown.stdout.splitlines()[1:]}
    assert rows["n1"][2] == "ready" and rows["n2"][2] == "ready", shown.stdout
    assert shown.stderr == (
        "vdynamo cluster status: just rebuilt, their own reads and acks not counted yet "
        "(rebuild_grace in /status):\n"
        "  n1: counted again in 4.2 s; until then a get it coordinates does not count "
        "its own copy towards R, nor a put its own write towards W\n"
        + _stand_in_warning(directory)), shown.stderr
    assert shown.returncode == cluster_cli.STATUS_FILE_BROKEN, shown  # (the stand-in file)
