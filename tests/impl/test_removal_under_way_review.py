"""Session 21's review of session 20's :meth:`impl.gossip.Gossiper.removal_under_way`
(docs/runtime.md, "Review of session 20's fixes (session 21)"): its second
clause, a ``removed`` member whose change this node has not heard settle, was
left unexercised (the mutant checking ``removing`` alone survived session 20's
tests, whose leave came 0.3 s into the removal, while n6 was ``removing``)."""

from __future__ import annotations

from impl.cluster import SimulatedCluster
from impl.membership import MemberStatus
from tests.impl.test_join_during_removal import _removal_then


def test_a_leave_waits_while_a_removed_members_change_settles() -> None:
    """Strategy 1, seed 1: 5 s after n1 began removing n6, n2's view holds n6
    ``removed`` with its change not settled (no member ``removing``). A leave
    requested then is held (n2 stays ``up``) until the change settled, then goes
    through. With ``removing`` alone checked, n2 announced ``leaving`` at once.
    (In 12 runs of this kind, strategies 1 and 2, seeds 1-4, gaps 5-8 s, the leave
    announced at once left no key failing at R = 3 once quiet: the clause is
    held as documented, no data loss was seen without it.)"""
    with SimulatedCluster(nodes=6, n=3, r=2, w=3, seed=1, partitioning="strategy1") as cluster:
        _removal_then(cluster, 5.0)
        gossiper = cluster.node("n2").gossiper
        assert not any(m.status is MemberStatus.REMOVING for m in gossiper.view)
        assert gossiper.removal_under_way()
        cluster.leave("n2")
        cluster.run_for(0.5)
        assert gossiper.status is MemberStatus.UP
        cluster.run_until_quiet(max_time=300.0)
        assert "n2" not in cluster.node_names


def test_under_strategy3_a_joiner_announces_itself_during_a_removal() -> None:
    """Strategy 3's claimant gives tokens one change at a time, so the joiner's
    hold is for strategies 1 and 2 only (``self.claims or``): n7 joining 0.3 s
    into n6's removal is known to a member within 4 s (n4 at 2.0 s, seed 1), the
    claimant's to queue. Held under strategy 3 too (the mutant without
    ``self.claims``), no member knew n7 in those 4 s; the other tests held."""
    with SimulatedCluster(nodes=6, n=3, r=2, w=3, seed=1) as cluster:
        _removal_then(cluster, 0.3)
        cluster.join("n7")
        cluster.run_for(4.0)
        assert cluster.node("n1").gossiper.removal_under_way()
        assert any(cluster.node(name).gossiper.view.get("n7") is not None
                   for name in ("n1", "n2", "n3", "n4", "n5"))
