"""A member down for good while another node joins is force-removed, and the join
completes (session 31's operator probe; docs/runtime.md, "Operator probe (session
31)").

With pending ownership a join waits for every member, up or down, to acknowledge it
before the old owners hand its ranges over, and its settlement for every member to
have seen the handover. A member that died for good before or during the join held
it for good: the joiner stayed ``joining`` (or ``up`` with the change unsettled, the
others on joint quorums), and ``force-remove`` of the dead member was refused ("a
membership change is in progress"), the change being the join it held. On real
processes: 4 nodes, n4 killed, ``vdynamo join n5`` "n5 not ready within 30 s",
``vdynamo remove n4`` refused. Now the removal is accepted during a join
(:meth:`impl.gossip.Gossiper.removal_view`), the join stops waiting for the removed
node, and both complete.

Each scenario: 5 nodes, N = 3, R = W = 2, 30 keys written, n6 joins and n5 crashes
for good (before the join began, or after it went up), n5 removed 13 s later; reads
at R = 1 of every third key through every up node every 0.25 s for 20 s, then every
key at R = 3 once quiet.
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.membership import MemberStatus
from tests.impl.test_join_during_removal import not_read_back
from tests.impl.test_leave_and_remove_at_once import stale_reads_at_r1

KEYS = [b"k%d" % i for i in range(30)]


def _status(cluster: SimulatedCluster, of: str) -> str | None:
    member = cluster.node("n1").view.get(of)
    return None if member is None else member.status.value


def _join_with_a_member_dead(partitioning: str, clock: str, crash_after_join: float
                             ) -> tuple[str, list[tuple[float, str, bytes]], list[bytes]]:
    """(n5 and n6's statuses at n1 once quiet, the stale reads during the removal,
    the keys not read back at R = 3 once quiet: their values, or the error)."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, clock=clock,
                          partitioning=partitioning) as cluster:
        cluster.run_for(3.0)
        writer = cluster.client("n1")
        for key in KEYS:
            writer.put(key, b"v-" + key)
        cluster.join("n6")
        cluster.run_for(crash_after_join)
        cluster.crash("n5")
        cluster.run_for(13.0)  # nothing heard from n5 for longer than 12 s
        cluster.force_remove("n1", "n5")  # before: InvalidValueError, change in progress
        stale = stale_reads_at_r1(cluster, KEYS[::3], 20.0)
        cluster.run_until_quiet(max_time=300.0)
        wrong = not_read_back(cluster, KEYS)
        return f"n5 {_status(cluster, 'n5')}, n6 {_status(cluster, 'n6')}", stale, wrong


@pytest.mark.parametrize(("partitioning", "clock"), [("strategy3", "dvv"),
                                                     ("strategy1", "lww")])
def test_a_member_dead_while_a_node_joins_is_removed_and_the_join_completes(
        partitioning: str, clock: str) -> None:
    """n5 crashes 1 s after n6 began to join (n6 ``joining``, its join waiting for
    n5's acknowledgement). Before the fix: the removal refused, "a membership change
    is in progress; try again once it settled", n6 ``joining`` for good."""
    assert _join_with_a_member_dead(partitioning, clock, 1.0) == (
        "n5 removed, n6 up", [], [])


def test_a_member_dead_before_a_join_settled_is_removed_and_the_join_settles() -> None:
    """n5 crashes 8 s after n6 began to join (n6 ``up``, the change not settled: its
    settlement waits for n5 to have seen the handover; strategy 1). Before the fix:
    the removal refused, and 9 of the 30 keys failed at R = 3 once quiet ("get
    reached 4 of R=3 replicas before the timeout": joint quorums for good)."""
    assert _join_with_a_member_dead("strategy1", "dvv", 8.0) == ("n5 removed, n6 up", [], [])


def test_the_removal_is_accepted_while_the_join_holds_tokens() -> None:
    """The guard alone: n6 joining with its tokens (known at n2), n5 down for good:
    n5's removal at n2 is accepted and n5 goes ``removing`` there."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1) as cluster:
        cluster.run_for(3.0)
        cluster.crash("n5")
        cluster.run_for(13.0)
        cluster.join("n6")
        cluster.run_until(lambda: (m := cluster.node("n2").view.get("n6")) is not None
                          and bool(m.tokens), max_time=30.0)
        cluster.force_remove("n2", "n5")
        held = cluster.node("n2").view.get("n5")
        assert held is not None and held.status is MemberStatus.REMOVING


def test_a_joining_node_names_the_members_its_join_waits_for() -> None:
    """``handover_waiting`` of a joiner (``GET /status``, read by ``vdynamo join``):
    n5 down for good, n6 joining names every serving member that has not handed its
    ranges over, n5 among them, down in n6's view; empty once n5 is removed and n6
    is up. Before: ``{}`` (only a leaving node's was told)."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, partitioning="strategy1") as cluster:
        cluster.run_for(3.0)
        cluster.crash("n5")
        cluster.run_for(13.0)
        cluster.join("n6")
        cluster.run_for(10.0)
        joiner = cluster.node("n6")
        waiting = joiner.handover_waiting(cluster.sim.node_now("n6"))
        assert waiting.get("n5", {}).get("step") == "handoff"
        assert waiting["n5"]["down"] is True
        cluster.force_remove("n1", "n5")
        cluster.run_until(lambda: joiner.gossiper.status is MemberStatus.UP, max_time=60.0)
        assert joiner.handover_waiting(cluster.sim.node_now("n6")) == {}
