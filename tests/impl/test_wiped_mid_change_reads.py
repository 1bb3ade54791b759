"""A node whose disk is replaced while a leave or a join moves ranges coordinates
gets by a serving ring it guessed (session 51's data probe; the stale read of
case 07's kind, after case 01's disk loss).

3 nodes, n4 and n5 joined (so the ring is no longer the configuration's initial
one), 60 keys written at W = 3; n4 (or n2) asked to leave; 2 s into the leave,
before its handover, n1's disk is replaced. The new store holds no view: its
serving ring starts as the configuration's initial ring, and the view its peers
give it is in the middle of the change (strategy 3 announces the members' new
token sets at the leave, the leaver's empty), so
:meth:`impl.gossip.Gossiper._serving` kept no token with its true serving owner:
n1 routed ``k19`` to ``(n5, n1, n3)`` where every other node served it from
``(n4, n1, n2)``. A get at R = 1 through n1 (its own read uncounted: it rebuilds)
counted the first empty store that answered: not found, for an acknowledged
write every true owner held (seed 1: 5 of 60 keys through n1, the leave of n4;
the randomized probe's first find: an R = 1 get of a sequential writer's key,
N = 3, W = 3 strictly, through the wiped node while n7 left).

Fixed: a store that held no view and adopts one with a change under way marks its
serving ring a guess (:attr:`impl.gossip.Gossiper.serving_guessed`) until it
adopts a view with no change; a get it coordinates meanwhile asks every member
that may hold a range (:meth:`impl.gossip.Gossiper.guessed_members`) and counts
no reply until each one believed reachable answered
(:meth:`impl.get_coordinator.GetCoordinator.start`), and sends no read repair
(the owners unknown, a repair copied the key to every member that answered
without it: 92 copies on non-owners half a second after the reads, 19 without,
those of the leave in flight). Mutants (checked, session 51): ``guessed_members``
answering ``()`` -- the two leave scenarios fail (5 and 2 keys read as not found
through n1); the repair kept for a guessed get -- both fail (read repairs sent).
"""

from __future__ import annotations

import pytest

from impl.cluster import Client, SimulatedCluster

KEYS = [b"k%d" % i for i in range(60)]


def write_then_leave(cluster: SimulatedCluster, keys: list[bytes], leaver: str,
                     prefix: bytes = b"v-", gap: float = 2.0) -> Client:
    """The start these tests share (and tests/impl/test_wiped_leaver_reads.py,
    test_guessed_ring_review.py): n4 and n5 joined, each of ``keys`` written at
    W = 3 (``prefix`` + key), 3 s more once quiet, then ``leaver`` asked to leave and
    ``gap`` s run. Returns the client that wrote them."""
    for joiner in ("n4", "n5"):
        cluster.join(joiner)
        cluster.run_until_quiet()
    client = cluster.client()
    for key in keys:
        client.put(key, prefix + key, w=3)
    cluster.run_until_quiet()
    cluster.run_for(3.0)
    cluster.leave(leaver)
    cluster.run_for(gap)
    return client


def wiped_leaver_then_n2(cluster: SimulatedCluster, keys: list[bytes]) -> Client:
    """Session 57's strategy-3 scenario (test_wiped_leavers_review57.py,
    test_wiped_during_removal.py, test_hint_moves_review58.py): :func:`write_then_leave`
    with n4 leaving (1 s), n4 wiped, 0.5 s later n2 wiped. Returns the writing client."""
    client = write_then_leave(cluster, keys, "n4", gap=1.0)
    cluster.wipe("n4")
    cluster.run_for(0.5)
    cluster.wipe("n2")
    return client


def _reads_through_wiped(leaver: str, seed: int) -> tuple[list[bytes], bool, bool, int]:
    """(keys a get at R = 1 through the wiped n1 misses, whether n1's serving ring was
    a guess then, whether it still is once the cluster is quiet, the read repairs
    n1 sent during those gets)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed) as cluster:
        client = write_then_leave(cluster, KEYS, leaver)
        cluster.wipe("n1")
        cluster.run_for(1.0)
        guessed = cluster.node("n1").gossiper.serving_guessed
        repairs = cluster.node("n1").stats["read-repairs"]
        missed = [key for key in KEYS
                  if client.get(key, r=1, coordinator="n1").values != [b"v-" + key]]
        repairs = cluster.node("n1").stats["read-repairs"] - repairs
        cluster.run_until_quiet()
        after = cluster.node("n1").gossiper.serving_guessed
    return missed, guessed, after, repairs


@pytest.mark.parametrize(("leaver", "seed"), [("n4", 1), ("n2", 3)])
def test_a_get_through_a_disk_replaced_mid_leave_reads_every_write(leaver: str,
                                                                   seed: int) -> None:
    missed, guessed, after, repairs = _reads_through_wiped(leaver, seed)
    assert guessed  # the scenario is reached: n1 took the view mid-change
    assert missed == []  # before the fix: 5 (n4, seed 1) and 2 (n2, seed 3) of 60
    assert not after  # the change settled: the view's ring is exact again
    # every member was asked, the key's owners unknown among them: no read repair
    # copies the key to them (mutant: the repair kept, 92 copies on non-owners)
    assert repairs == 0


def test_a_node_that_kept_its_store_does_not_guess() -> None:
    """Only a store that held no view guesses: the nodes that served through the
    change (and a brand-new cluster's nodes, whose first view has no change)
    route by the ring they served by."""
    with SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=2) as cluster:
        cluster.run_for(2.0)
        cluster.leave("n4")
        cluster.run_for(2.0)
        assert not any(cluster.node(name).gossiper.serving_guessed
                       for name in ("n1", "n2", "n3", "n4"))
