"""A ``vdynamo join`` while a ``vdynamo leave`` of the same local cluster runs
(session 47's review of the data probe's fixes, case 07's kind: Riak's rolling
replacement, the new node joined while the old one hands its ranges over, from two
terminals).

``vdynamo join``, ``leave`` and ``remove`` each read ``cluster.json`` (the nodes'
ports, pids, which left) at their start and wrote it whole at their end. A leave
waits until its node handed its ranges over and exited (seconds, up to 120 s), so a
join meanwhile wrote its node's entry and the leave then wrote the state it had read
before: the joined node's entry was gone. It kept running, unknown to the directory:
``vdynamo cluster down`` stopped the others and left it up (two ``vdynamo join`` at
once lost one entry the same way: n4 running after ``cluster down``, in the review's
run). Now these commands hold an ``flock`` on the cluster's directory while they
read and write it, and a leave writes only its own node's entry over what the file
holds then (:func:`vdynamo.cluster_cli._write_entries`).

Mutant checked (session 47's review): ``main_leave`` writing its whole state again
(``_write_state``) -> n3's entry is gone and this test fails.

Loopback only, bounded (the leave at most 150 s, the join 30 s; about 8 s here),
every process stopped (n3 by its pid even when the directory lost it)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import vdynamo
from tests.runtime.procs import FAST_UP, ROOT, alive, cli, cluster_up, http, state
from vdynamo.cluster_cli import _answer


def _status_of(directory: Path, at: str, node: str) -> str | None:
    members = (_answer(state(directory)["nodes"][at]["http"], "/status") or {}).get(
        "membership")
    member = members.get(node) if isinstance(members, dict) else None
    return str(member["status"]) if isinstance(member, dict) else None


def _children_serving(directory: Path, node: str) -> list[int]:
    """This process's children that serve ``node`` of ``directory`` (Linux ``/proc``):
    the joined node, found even when ``cluster.json`` lost it."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            words = (stat.parent / "cmdline").read_bytes().split(b"\0")
            if ppid == os.getpid() and str(directory / "cluster.toml").encode() in words \
                    and node.encode() in words:
                found.append(int(stat.parent.name))
    return found


def test_a_join_while_a_leave_runs_keeps_the_joined_node_in_the_directory(
        tmp_path: Path) -> None:
    directory = tmp_path / "c"
    joined_pids: list[int] = []
    with cluster_up(directory, "--nodes", "2", "--n", "1", "--r", "1", "--w", "1", *FAST_UP):
        with vdynamo.connect([http(directory, "n1")]) as db:
            for i in range(20):
                db.put(f"k{i}", b"v%d" % i)
        leave = subprocess.Popen(
            [sys.executable, "-m", "vdynamo", "leave", "n1", "--dir", str(directory)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30.0  # the leave has read cluster.json once
            while _status_of(directory, "n2", "n1") != "leaving":  # n1 was signalled
                assert time.monotonic() < deadline and leave.poll() is None
                time.sleep(0.05)
            joined = cli("join", "n3", "--dir", str(directory))
            joined_pids = _children_serving(directory, "n3")
            _, err = leave.communicate(timeout=150.0)
        finally:
            if leave.poll() is None:
                leave.kill()
            leave.wait()
        try:
            assert joined.returncode == 0, joined.stderr
            assert leave.returncode == 0, err
            nodes = state(directory)["nodes"]
            assert nodes["n1"].get("left"), nodes
            assert len(joined_pids) == 1, joined_pids
            assert "n3" in nodes and nodes["n3"]["pid"] == joined_pids[0], nodes  # before: gone
            with vdynamo.connect([http(directory, "n3")]) as db:
                assert db.get("k7").values == [b"v7"]
        finally:  # (before: n3 unknown to the directory, and so to `cluster down`)
            for pid in joined_pids:
                if alive(pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
