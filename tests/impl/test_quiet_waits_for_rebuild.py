"""A replaced disk is rebuilt before the simulated cluster is quiet (session 23's
data probe; docs/runtime.md, "Session 23's data probe").

A node whose disk was replaced answers no replica read of a range it has not
rebuilt (:mod:`impl.rebuild`), and it is rebuilt once anti-entropy completed an
exchange with every other replica of each of its ranges. An exchange that finds
the trees in sync changes no replica, so
:meth:`impl.cluster.SimulatedCluster.run_until_quiet` ("no replica changed for a
window") called the cluster quiet while the node was still rebuilding: case 01's
steps (3 nodes, 30 keys at W = 3, ``cluster.wipe("n1")``, quiet) then answered a
get at R = 3 through n2 with ``QuorumError: get reached 2 of R=3 replicas`` for 1
key with seed 2 and 3 keys with seed 5 (n1 still rebuilding in 5 of 12 runs, 3 and
5 nodes, seeds 1-6; it finished 1.6 and 2.7 s later). Now a node that is up and
rebuilding keeps the cluster from being quiet, for at most ``LEAVE_PATIENCE``
quiet windows without a replica change (the leave's patience).
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.errors import DynamoError

KEYS = [b"k%d" % i for i in range(30)]


@pytest.mark.parametrize("seed", [2, 5])
def test_a_replaced_disk_is_rebuilt_once_quiet(seed: int) -> None:
    """Before the fix: ``k2`` (seed 2), ``k6``, ``k26``, ``k29`` (seed 5) failed at
    R = 3 with QuorumError, n1 still rebuilding."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed) as cluster:
        writer = cluster.client()
        for key in KEYS:
            writer.put(key, b"v-" + key, w=3)
        cluster.wipe("n1")
        cluster.run_until_quiet(max_time=300.0)
        failed = [(key, got) for key in KEYS if (got := _read_back(cluster, key)) != "ok"]
        assert (failed, cluster.rebuilding()) == ([], [])


def _read_back(cluster: SimulatedCluster, key: bytes) -> str:
    """``ok`` when a get of ``key`` at R = 3 through n2 answers its value alone; else
    what it answered, or the error's name."""
    try:
        values = cluster.client("n2").get(key, r=3).values
    except DynamoError as error:
        return type(error).__name__
    return "ok" if values == [b"v-" + key] else repr(values)

