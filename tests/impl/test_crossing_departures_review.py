"""Session 24's review of "crossing departures keep N members" (docs/runtime.md,
"Crossing departures keep N members (session 24)", its review paragraph): the
cases the fix's own tests (tests/impl/test_force_remove.py) leave out.

4 nodes, N = 3, R = W = 2, seed 1, 20 keys written at W = 3, n4 down for good.
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.membership import ON_RING, MemberStatus
from tests.impl.test_force_remove import KEYS, _four_with_n4_dead, _status


def _ring(cluster: SimulatedCluster, at: str = "n1") -> dict[str, str]:
    """``at``'s view of the members' ring: name -> status."""
    return {m.node: m.status.value for m in cluster.node(at).view if m.status in ON_RING}


def _claimed(cluster: SimulatedCluster, node: str) -> bool:
    """The claimant (n1) handed out ``node``'s partitions (strategy 3: leaving, no
    tokens), or, strategies 1-2, ``node``'s leave is announced."""
    member = cluster.node("n1").view.get(node)
    return (member is not None and member.status is MemberStatus.LEAVING
            and (not member.tokens or cluster.config.partitioning != "strategy3"))


@pytest.mark.parametrize("partitioning", ["strategy3", "strategy1"])
def test_a_removal_crossing_a_leave_already_claimed_waits_and_joins_still_go(
        partitioning: str) -> None:
    """n3 cut off from n1 and n2; n2 leaves, and once n1 (the claimant) handed out
    its partitions (strategy 3) or saw the leave (strategy 1), n3, which heard
    nothing of it, force-removes n4 (dead). Strategy 3: the leave was claimed
    first, so it completes, and n4's removal waits on the ring (n1, n3, n4: two live
    copies) until n5 joined; strategy 1: as the other crossings, n2 waits. Each
    ends with n1, n3, n5 and every key at R = 3. Mutant (review): the leaving
    node's own ``left`` checked under strategy 3 too (``Gossiper.finish_leaving``
    without ``not self.claims``): n2, claimed and holding no tokens, waits for
    n4's removal, which the claimant holds behind n2's change, and n5's join is
    never claimed (for ever: ``run_until`` fails)."""
    with _four_with_n4_dead(partitioning) as cluster:
        cluster.partition(["n3"], ["n1", "n2"])
        cluster.leave("n2")
        cluster.run_until(lambda: _claimed(cluster, "n2"), max_time=30.0)
        cluster.force_remove("n3", "n4")  # n3 sees n2 up: accepted
        cluster.heal()
        cluster.run_for(60.0)
        assert len(_ring(cluster)) == 3, _ring(cluster)
        assert _ring(cluster) == ({"n1": "up", "n3": "up", "n4": "removing"}
                                  if partitioning == "strategy3" else
                                  {"n1": "up", "n2": "leaving", "n3": "up"})
        # the decider (the claimant; strategy 1: the leaving node) says why in /status
        decider, waiting = ("n1", "n4") if partitioning == "strategy3" else ("n2", "n2")
        waits = cluster.node(decider).gossiper.departures_waiting()
        assert list(waits) == [waiting] and "fewer than N = 3" in waits[waiting], waits
        cluster.join("n5")
        cluster.run_until(lambda: _ring(cluster) == {"n1": "up", "n3": "up", "n5": "up"}
                          and _status(cluster, "n4")[0] is MemberStatus.REMOVED
                          and _status(cluster, "n2")[0] is MemberStatus.LEFT, max_time=180.0)
        assert cluster.node(decider).gossiper.departures_waiting() == {}
        cluster.run_until_quiet(max_time=120.0)
        assert _ring(cluster) == {"n1": "up", "n3": "up", "n5": "up"}
        reader = cluster.client("n1")
        assert [key for key in KEYS[:20] if reader.get(key, r=3).values != [b"v-" + key]] == []


def test_a_claim_hands_no_partition_to_another_departing_member() -> None:
    """Strategy 3, 5 nodes, N = 3, n4 and n5 down for good: n1 removes n4, n2
    removes n5 and n3 leaves, at once (each asker's view keeps 4 members; all three
    keep 2). n4's removal is claimed first; n5's then waits (with n4 gone and n3
    counted staying: 3 members, so the claim's guard lets it go once n4 settled) and
    n3's leave waits. Found by the review: the claim of n4 handed 4 of its
    partitions to n5 (removing, down: ``Partitioning.without_node`` gives to every
    node of the claimed ring), the transfer to n5 never ended, the claimant claimed
    nothing more (``changing``) and n6's and n7's joins stayed ``joining`` for good
    (seed 1, pending ownership). riak_core's claim gives partitions only to the
    claiming members (joining or valid, ``riak_core_ring:claiming_members/1``), not
    to one leaving. Now every departure completes once n6 and n7 joined.

    Session 26: since c8123d4 (a status-only announcement writes the status register
    alone) the claim of n4, made while n5 was up in the claimant's view, again gives
    n5 4 partitions (it wins over n5's removal); n5's removal is now claimed at once
    though n3's leave, not claimed yet, waits (``Gossiper._only_change_of``'s
    ``claimant``). Mutant: an unclaimed departure counted as a change in progress
    there: n5 stays ``removing`` with 17 of 64 partitions, n3 ``leaving``, n6 and n7
    ``joining`` for good (seeds 1, 2, 5 and 11 of 1-12)."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, partitioning="strategy3") as cluster:
        cluster.run_for(3.0)
        writer = cluster.client("n1")
        for key in KEYS[:20]:
            writer.put(key, b"v-" + key, w=3)
        cluster.crash("n4")
        cluster.crash("n5")
        cluster.run_for(13.0)
        cluster.force_remove("n1", "n4")
        cluster.force_remove("n2", "n5")
        cluster.leave("n3")
        cluster.run_for(60.0)
        assert len(_ring(cluster)) >= 3, _ring(cluster)
        for name in ("n6", "n7"):
            cluster.join(name)
            cluster.run_for(60.0)
            assert len(_ring(cluster)) >= 3, _ring(cluster)
        cluster.run_until(lambda: _ring(cluster) == {"n1": "up", "n2": "up", "n6": "up",
                                                     "n7": "up"}, max_time=180.0)
        cluster.run_until_quiet(max_time=120.0)
        reader = cluster.client("n1")
        assert [key for key in KEYS[:20] if reader.get(key, r=3).values != [b"v-" + key]] == []


@pytest.mark.parametrize("partitioning", ["strategy3", "strategy1"])
def test_a_lower_named_removal_crossing_a_claimed_one_does_not_hold_it(
        partitioning: str) -> None:
    """n3 and n4 down for good, n1 and n2 cut apart; n1 (the claimant) removes n4
    (strategy 3: and claims it), then n2, which has not heard of it, removes n3:
    the names the other way round from the fix's own test. Strategy 3: n4's
    removal was claimed before n3's was known, so its handover completes and n3's
    claim waits (n1, n2, n3 on the ring); strategy 1:
    the claimant decides both handovers by name, n3's completes and n4's waits. Once
    n5 joined: n1, n2, n5, every key at R = 3. Mutant (review): the removal's
    handover checked under strategy 3 too (``_removal_done`` without ``not
    self.claims``): n4, claimed, waited for n3, whose claim waited for n4's change,
    and n5's join was never claimed."""
    with _four_with_n4_dead(partitioning, dead=("n3", "n4")) as cluster:
        cluster.partition(["n1"], ["n2"])
        cluster.force_remove("n1", "n4")
        cluster.run_until(lambda: partitioning != "strategy3" or not cluster.node(
            "n1").view.get("n4").tokens, max_time=30.0)  # type: ignore[union-attr]
        cluster.force_remove("n2", "n3")  # n2 has not heard of n4's
        cluster.heal()
        cluster.run_for(60.0)
        assert _ring(cluster) == ({"n1": "up", "n2": "up", "n3": "removing"}
                                  if partitioning == "strategy3" else
                                  {"n1": "up", "n2": "up", "n4": "removing"})
        cluster.join("n5")
        cluster.run_until(lambda: _ring(cluster) == {"n1": "up", "n2": "up", "n5": "up"}
                          and _status(cluster, "n3")[0] is MemberStatus.REMOVED
                          and _status(cluster, "n4")[0] is MemberStatus.REMOVED, max_time=180.0)
        cluster.run_until_quiet(max_time=120.0)
        reader = cluster.client("n1")
        assert [key for key in KEYS[:20] if reader.get(key, r=3).values != [b"v-" + key]] == []
