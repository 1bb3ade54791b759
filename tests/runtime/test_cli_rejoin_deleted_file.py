"""``vdynamo join`` of an initial node whose data file was deleted after it left, on
real processes (session 13's open finding, fixed in session 14).

``vdynamo cluster up --nodes 4``, ten keys written, ``vdynamo leave n4``, n4's
data file deleted, ``vdynamo join n4`` (``serve --rejoin``). Before the fix the
new store held no view: the node started from the cluster file's initial one
(itself ``up``: ``join`` printed "joined", exit 0), then learned from the seeds
that it left and stopped 4 s later (``cluster status``: n4 ``down``). Now it joins
anew (``impl.gossip.Gossiper.rejoin_if_left``): ``up`` and serving the keys at
``r=1``. Loopback only; ``cluster_up`` stops every process it started.

The cluster runs its gossip, anti-entropy and hint-scan rounds every :data:`GOSSIP_S` s
(``cluster up --set``), not every 1 s, 2 s and 1 s (the hint scans since session 38:
the leave 4.4 -> 2.1 s, the join 2.6 -> 1.6 s), so the leave, the rejoined store's
rebuild (anti-entropy with every other replica of its ranges: ``impl.rebuild``)
and the stop that would follow are 5 to 10 times sooner (session 19: 47 s of
mostly idle wall before); the 4 s after which a node that left stops is four
gossip intervals.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.runtime.procs import cli, cluster_up, http, request, wait_until

GOSSIP_S = 0.2


def test_join_of_an_initial_node_whose_data_file_was_deleted_after_it_left(
        tmp_path: Path) -> None:
    with cluster_up(tmp_path / "c", "--nodes", "4",
                    "--set", f"gossip_interval={GOSSIP_S}",
                    "--set", f"anti_entropy_interval={GOSSIP_S}",
                    "--set", f"hint_scan_interval={GOSSIP_S}") as directory:
        for i in range(10):
            assert cli("put", f"k{i}", f"v{i}", "--dir", str(directory)).returncode == 0
        left = cli("leave", "n4", "--dir", str(directory))
        assert left.returncode == 0, left.stdout + left.stderr
        files = list((directory / "n4").glob("data.sqlite*"))
        assert directory / "n4" / "data.sqlite" in files
        for path in files:
            path.unlink()
        joined = cli("join", "n4", "--dir", str(directory))
        assert joined.returncode == 0, joined.stdout + joined.stderr
        time.sleep(8 * GOSSIP_S)  # past the 4 intervals after which a node that left stops

        def serving() -> bool:
            try:
                status, _, body = request("GET", http(directory, "n4") + "/status",
                                          timeout=2.0)
            except OSError:
                return False
            return status == 200 and b'"member_status": "up"' in body

        wait_until(serving, 30.0, "n4 up")
        values = [request("GET", http(directory, "n4") + f"/kv/k{i}?r=1")[2]
                  for i in range(10)]
        assert values == [f"v{i}".encode() for i in range(10)]
