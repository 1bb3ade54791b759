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
import time
import urllib.request
from pathlib import Path

from tests.runtime import procs
from tests.runtime.procs import alive, cli, cluster_up, state, wait_until
from vdynamo import cluster_cli
from vdynamo.cluster_cli import UP_NOT_READY

# 5 s: the exit-3 step needs n1 and n2 still in their rounds 0.5 s after they
# answer; 3 s left 2.5 s of margin for the processes' start under CI's load
_SHADOW_S = 5


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
                    "--set", f"shadow_round_s={_SHADOW_S}"):
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
            up = cli("cluster", "up", "--dir", str(directory), "--wait-ready", "0.5")
            assert up.returncode == UP_NOT_READY, (up.stdout, up.stderr)
            assert up.stdout.count("http://127.0.0.1:") == 3, up.stdout
            lines = up.stderr.splitlines()
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
