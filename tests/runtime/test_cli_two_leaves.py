"""Two nodes of a real cluster asked to leave at the same moment both leave (review
finding F3, issue 11): ``vdynamo cluster up`` (5 nodes, strategy 3), 20 keys, then
n2 and n3 get the leave signal together (what ``vdynamo leave`` sends). Before the
claimant each leaving node handed its partitions out itself, from the same view,
and the two moves tied: neither leave completed. Now the claimant (n1) hands out
one's partitions, then the other's (``impl.gossip.Gossiper.claim``).

The cluster gossips, runs anti-entropy and scans its hints every :data:`GOSSIP_S` s
(``cluster up --set``; defaults 1 s, 2 s and 1 s): the two handovers and settlements
take as many rounds as before, sooner (session 19: 21 s of mostly idle wall before;
session 38, the hint scans: the leaves 5.0 -> 3.5 s).

Loopback only, bounded (60 s for both leaves), and every process is stopped."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import vdynamo
from tests.runtime.procs import cluster_up, http, request, state, wait_until

GOSSIP_S = 0.25


def _seen_by_n1(directory: Path, node: str) -> str | None:
    code, _, body = request("GET", http(directory, "n1") + "/status")
    if code != 200:
        return None
    entry = json.loads(body)["membership"].get(node)
    return None if entry is None else str(entry["status"])


def test_two_nodes_asked_to_leave_at_once_both_leave(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, "--nodes", "5", "--set", f"gossip_interval={GOSSIP_S}",
                    "--set", f"anti_entropy_interval={GOSSIP_S}",
                    "--set", f"hint_scan_interval={GOSSIP_S}"):
        with vdynamo.connect([http(directory, "n1")]) as db:
            for i in range(20):
                db.put(f"key-{i}", f"value-{i}".encode())
        nodes = state(directory)["nodes"]
        for name in ("n2", "n3"):
            os.kill(nodes[name]["pid"], signal.SIGUSR1)
        wait_until(lambda: _seen_by_n1(directory, "n2") == "left"
                   and _seen_by_n1(directory, "n3") == "left", 60,
                   "n1 sees n2 and n3 left")
        with vdynamo.connect([http(directory, "n4")]) as db:
            wait_until(lambda: all(db.get(f"key-{i}").values == [f"value-{i}".encode()]
                                   for i in range(20)), 20, "every key served after")
