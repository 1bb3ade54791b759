"""The last member of a cluster asked to leave says why it cannot, and stays up
(session 16's probe; real ``vdynamo serve`` processes on loopback).

Before: ``vdynamo leave n1`` on a one-node cluster sent SIGUSR1, the node
announced ``leaving`` with no member to hand its ranges to, and the command
waited its 120 s and failed ("still handing its ranges over"). The node stayed
``leaving`` for good (the request is persisted, so a restart resumed it):
``/health/ready`` answered ``ready: false`` for ever, a node a load balancer
takes out of service, although it still held every key. Now ``vdynamo leave``
refuses at once, and the node itself ignores a SIGUSR1 that would leave no
member (a warning in its log), staying ``up`` and ready.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from tests.runtime.procs import cluster_up, http, request, state, vdynamo, wait_until


def _health(directory: Path) -> dict[str, object]:
    status, _, body = request("GET", http(directory, "n1") + "/health")
    assert status == 200
    result: dict[str, object] = json.loads(body)
    return result


def test_the_last_member_refuses_to_leave_and_stays_ready(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, "--nodes", "1", "--n", "1", "--r", "1", "--w", "1"):
        wait_until(lambda: _health(directory).get("ready") is True, 20.0, "n1 ready")
        started = time.monotonic()
        done = vdynamo("leave", "n1", "--dir", str(directory), timeout=30.0)
        assert time.monotonic() - started < 20.0
        assert done.returncode == 1, done
        assert "n1 is the only member" in done.stderr, done
        # its hint runs as shown (session 49: `vdynamo cluster down`, no --dir)
        assert done.stderr.endswith(f"`vdynamo cluster down --dir {directory}`\n"), done
        # the signal itself, as `kill -USR1` would send it: ignored, with a warning
        os.kill(state(directory)["nodes"]["n1"]["pid"], signal.SIGUSR1)
        log = directory / "n1" / "node.log"
        wait_until(lambda: "not leaving the ring" in log.read_text(), 10.0, "the warning")
        time.sleep(1.0)  # a few gossip rounds: a leave would have been announced
        health = _health(directory)
        assert health["member_status"] == "up" and health["ready"] is True, health
        status, _, _ = request("PUT", http(directory, "n1") + "/kv/k", b"v")
        assert status == 200
