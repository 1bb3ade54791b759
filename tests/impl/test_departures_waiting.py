"""``Gossiper.departures_waiting`` (``GET /status``'s ``departures_waiting``, read by
``vdynamo leave``) says the reason of the current view, not the one kept at the
departure's last check (session 25; docs/runtime.md, "A leave right after a join
(session 25)").

3 nodes, N = 3, R = W = 2, seed 1: n2 leaves, and its departure waits (2 members
would stay); n4 joins."""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.membership import MemberStatus


@pytest.mark.parametrize(("partitioning", "decider"), [("strategy3", "n1"),
                                                       ("strategy1", "n2")])
def test_a_join_seen_ends_the_waiting_reason_at_once(partitioning: str,
                                                     decider: str) -> None:
    """The decider (strategy 3: the claimant n1; strategy 1: n2 itself) says n2's
    departure waits; from the moment n4 is in its view (joining) it says nothing
    waits, and n2 then leaves. Before: the decider kept the reason of its last
    check until it checked again, at its next try: strategy 3, once n4's join had
    settled (8.0 s of simulated time after n4 was seen here, seed 1; 3.9 s after
    ``vdynamo join`` returned on real processes at gossip 1 s, where ``vdynamo
    leave`` asked at once exited 1 saying the leave waits); strategy 1, at n2's
    next hint scan (2.0 s)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1,
                          partitioning=partitioning) as cluster:
        cluster.run_for(3.0)
        cluster.leave("n2")
        cluster.run_for(10.0)
        gossiper = cluster.node(decider).gossiper
        waits = gossiper.departures_waiting()
        assert list(waits) == ["n2"] and "fewer than N = 3" in waits["n2"], waits
        cluster.join("n4")
        cluster.run_until(lambda: gossiper.view.get("n4") is not None, max_time=30.0)
        assert gossiper.departures_waiting() == {}
        seen: list[dict[str, str]] = []

        def left() -> bool:
            seen.append(gossiper.departures_waiting())
            held = cluster.node("n1").view.get("n2")
            return held is not None and held.status is MemberStatus.LEFT

        cluster.run_until(left, max_time=120.0)
        assert [waits for waits in seen if waits] == []


def test_a_crossing_wait_is_listed_by_its_deciders_only() -> None:
    """Session 25's review (two survivors of the hand mutants): strategy 1, 4 nodes,
    N = 3, n2 and n3 asked to leave at once: each decides its own ``left`` counting
    every other departure it knows of (``Gossiper._going_first``), so both wait, and
    each says so, naming the other ("with n3 going too"). n1 decides neither and
    lists nothing. Mutants killed: the reason computed again with no departure
    counted first (both waits went unlisted: ``vdynamo leave`` would have waited
    its 120 s); every departing node listed, deferred here or not (n2 listed n3 too,
    and n1 listed n3: checks neither makes)."""
    with SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=1,
                          partitioning="strategy1") as cluster:
        cluster.run_for(3.0)
        cluster.leave("n2")
        cluster.leave("n3")
        cluster.run_for(20.0)
        said = {node: cluster.node(node).gossiper.departures_waiting()
                for node in ("n1", "n2", "n3", "n4")}
        assert list(said["n2"]) == ["n2"] and "with n3 going too" in said["n2"]["n2"], said
        assert list(said["n3"]) == ["n3"] and "with n2 going too" in said["n3"]["n3"], said
        assert said["n1"] == said["n4"] == {}, said
