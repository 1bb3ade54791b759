"""Session 31's review of "a removal during a join" (docs/runtime.md, "Review of the
removal during a join (session 31)"): what a joining node's ``handover_waiting``
names, the cases the change's own tests (tests/impl/test_removal_during_join.py)
leave out. Each kills mutants of ``Gossiper._join_waiting`` that passed them.

5 nodes, N = 3, R = W = 2, seed 1, pending ownership.
"""

from __future__ import annotations

from impl.cluster import SimulatedCluster
from impl.membership import MemberStatus


def _waiting(cluster: SimulatedCluster, joiner: str) -> dict[str, object]:
    """``joiner``'s ``handover_waiting``: name -> step."""
    node = cluster.node(joiner)
    return {name: held["step"]
            for name, held in node.handover_waiting(cluster.sim.node_now(joiner)).items()}


def test_a_joiner_names_only_the_serving_members_that_have_not_handed_over() -> None:
    """n5 dead for good, n6 joining, n4's messages to n6 cut (n4 cannot tell n6 it
    handed over, nor deliver its hints for n6). Before the removal n6 names all four
    serving members (nothing is handed over while n5 has not acknowledged the join);
    once n5 is removed and the others handed over, n4 alone: not n5 (``removing``,
    no serving member any more), not n1-n3 (handed over). Review mutants killed:
    ``- self.handed_from`` dropped (n1-n3 named), ``SERVING`` -> ``SERVING_RING``
    (n5 named while ``removing``)."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, partitioning="strategy1") as cluster:
        cluster.run_for(3.0)
        cluster.crash("n5")
        cluster.run_for(13.0)
        cluster.join("n6")
        cluster.partition_one_way(["n4"], ["n6"])
        cluster.run_for(10.0)
        assert _waiting(cluster, "n6") == dict.fromkeys(["n1", "n2", "n3", "n4", "n5"],
                                                        "handoff")
        cluster.force_remove("n1", "n5")
        cluster.run_until(lambda: (m := cluster.node("n6").view.get("n5")) is not None
                          and m.status is MemberStatus.REMOVING, max_time=10.0)
        assert "n5" not in _waiting(cluster, "n6")  # removing: no serving member
        cluster.run_for(20.0)
        held = cluster.node("n6").view.get("n5")
        assert held is not None and held.status in (MemberStatus.REMOVING,
                                                    MemberStatus.REMOVED)
        assert cluster.node("n6").gossiper.status is MemberStatus.JOINING
        assert _waiting(cluster, "n6") == {"n4": "handoff"}
        cluster.heal()
        cluster.run_until(lambda: cluster.node("n6").gossiper.status is MemberStatus.UP,
                          max_time=60.0)
        assert _waiting(cluster, "n6") == {}


def test_a_second_joiner_under_strategy3_names_the_claimant() -> None:
    """Strategy 3, n5 dead for good, n6's join claimed and held (n5 has not
    acknowledged it): the claimant claims nothing more, so n7, joining after it with
    no partitions, names the claimant n1 (``claim``); once n5 is removed both joins
    complete and n7 names nothing. Review mutants killed: the claim branch of
    ``_join_waiting`` answering ``{}``, or never taken (``not self._has_tokens()``
    -> ``False``)."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, partitioning="strategy3") as cluster:
        cluster.run_for(3.0)
        cluster.crash("n5")
        cluster.run_for(13.0)
        cluster.join("n6")
        cluster.run_until(lambda: bool((m := cluster.node("n1").view.get("n6")) is not None
                                       and m.tokens), max_time=30.0)
        cluster.join("n7")
        cluster.run_for(10.0)
        assert _waiting(cluster, "n7") == {"n1": "claim"}
        assert set(_waiting(cluster, "n6")) == {"n1", "n2", "n3", "n4", "n5"}
        cluster.force_remove("n1", "n5")
        cluster.run_until(lambda: all(
            (m := cluster.node("n1").view.get(j)) is not None
            and m.status is MemberStatus.UP and m.settled for j in ("n6", "n7")),
            max_time=120.0)
        assert _waiting(cluster, "n7") == {} == _waiting(cluster, "n6")


def test_a_joiner_without_pending_ownership_names_nothing() -> None:
    """``join_handover = "immediate"``: a joining node waits for no handover (it
    announces itself up a gossip round after it took tokens), so while ``joining``
    with its tokens it names nothing. Review mutant killed: ``and self.pending``
    dropped from ``handover_waiting`` (every serving member named ``handoff``)."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, partitioning="strategy1",
                          join_handover="immediate") as cluster:
        cluster.run_for(3.0)
        cluster.join("n6")
        cluster.run_until(lambda: cluster.node("n6").gossiper.status is MemberStatus.JOINING
                          and cluster.node("n6").gossiper._has_tokens(), max_time=30.0)
        assert _waiting(cluster, "n6") == {}
