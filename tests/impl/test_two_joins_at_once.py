"""Two nodes joining at once, in the simulator (session 17's data probe; case 07's
kind, riak_core's two ``cluster join`` s before one ``cluster commit``).

4 nodes, N = 3, W = 3 (every acknowledged write on all three replicas), 600 keys
written; n5 and n6 join together; the cluster goes quiet. With anti-entropy and read
repair off, the join's range transfer is all that moves data, so once quiet every
key's top-N replicas hold it. With ``partitioning = "strategy1"`` (or
``"strategy2"``) and seed 2 they did not: n1 and n4 heard n5's join first and moved
its keys (ring0 -> ring0 + n5), then n6's (ring0 + n5 -> ring0 + n5 + n6), while n5's
change had not yet served anywhere. A key n4 gave n5 that n6 then took from n5
reached neither: n4 was no longer in its top N on the intermediate ring, and n5,
moving from ring0, held none of it. 108 copies of n6 were missing once quiet, and
reads at R = 1 through the joiners answered 53 of 1,200 acknowledged keys as not
found (261 copies of 1,500 keys; seeds 1, 3 and 4 and strategy 3 with seeds 1 to 4:
none; with anti-entropy on, none once the joiners are up). Now a transfer whose
previous ring never served on the node moves from the ring that did
(``Gossiper._apply``). docs/runtime.md, "Faults found by session 17's data probe".
"""

from __future__ import annotations

import pytest

import impl

KEYS = [b"key-%d" % i for i in range(600)]


def _missing_copies(partitioning: str, seed: int) -> tuple[int, int]:
    """(replica copies missing once quiet, R = 1 reads through the joiners that
    found no value)."""
    cluster = impl.SimulatedCluster(nodes=4, n=3, r=2, w=3, seed=seed, clock="dvv",
                                    partitioning=partitioning, anti_entropy=False,
                                    read_repair=False)
    client = cluster.client()
    cluster.wait([client.submit_put(key, b"v") for key in KEYS])
    cluster.run_until_quiet()
    cluster.join("n5")
    cluster.join("n6")
    cluster.run_until_quiet(max_time=3000)
    missing = sum(1 for key in KEYS for record in cluster.replicas(key).values()
                  if record is None)
    unread = sum(1 for key in KEYS[:200] for joiner in ("n5", "n6")
                 if cluster.client(joiner).get(key, r=1).values != [b"v"])
    return missing, unread


def test_strategy3_two_joins_at_once_hand_every_key_over() -> None:
    assert _missing_copies("strategy3", 2) == (0, 0)


@pytest.mark.parametrize("partitioning", ["strategy1", "strategy2"])
def test_two_joins_at_once_hand_every_key_over(partitioning: str) -> None:
    assert _missing_copies(partitioning, 2) == (0, 0)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_join_after_a_settled_leave_moves_from_the_ring_that_served(seed: int) -> None:
    """The fix's guard: a transfer moves from the previous transfer's ring only while
    that ring never served. After a leave that settled, a node that took keys from
    the leaving node and is then displaced by a join must hand those keys on (moving
    from the ring before the leave, it held none of them)."""
    cluster = impl.SimulatedCluster(nodes=5, n=3, r=2, w=3, seed=seed, clock="dvv",
                                    partitioning="strategy1", anti_entropy=False,
                                    read_repair=False)
    client = cluster.client()
    cluster.wait([client.submit_put(key, b"v") for key in KEYS])
    cluster.run_until_quiet()
    cluster.leave("n2")
    cluster.run_until_quiet(max_time=3000)
    cluster.join("n6")
    cluster.run_until_quiet(max_time=3000)
    missing = sum(1 for key in KEYS for record in cluster.replicas(key).values()
                  if record is None)
    assert missing == 0


@pytest.mark.parametrize("partitioning", ["strategy1", "strategy2"])
def test_a_join_and_a_leave_at_once_hand_every_key_over(partitioning: str) -> None:
    """The same with a join and a leave announced together (seed 1): before the fix
    334 (strategy 1) and 339 (strategy 2) of 1,200 replica copies of 400 keys were
    missing once quiet."""
    keys = KEYS[:400]
    cluster = impl.SimulatedCluster(nodes=4, n=3, r=2, w=3, seed=1, clock="dvv",
                                    partitioning=partitioning, anti_entropy=False,
                                    read_repair=False)
    client = cluster.client()
    cluster.wait([client.submit_put(key, b"v") for key in keys])
    cluster.run_until_quiet()
    cluster.join("n5")
    cluster.leave("n2")
    cluster.run_until_quiet(max_time=3000)
    assert sum(1 for key in keys for record in cluster.replicas(key).values()
               if record is None) == 0
