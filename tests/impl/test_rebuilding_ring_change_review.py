"""A hint acknowledged by a rebuilding node during a ring change (session 54's review
of the rebuilding-ack rule; docs/runtime.md, "Review of the rebuilding-ack rule
(session 54, review)").

Session 54 withheld a rebuilding node's ``HintAck`` of a key of a range it has not
rebuilt (the fallback keeps the hint and answers reads with it), except while a ring
change is in progress (:meth:`impl.gossip.Gossiper.changing`), so that a join's or a
leave's handoff ends. That exception reopened the fault the rule closed: n1 and n2
rebuilding, a join of n6 under way, a put at W = 2 through n1 with n1 -> the third
owner cut is made by the fallbacks standing in for n1 and n2 (hinted); each
fallback hands its hint to its silent rebuilding node, which acknowledged it (a
change was in progress), so the fallback deleted it; the read at R = 2 through the
third owner (its own empty copy and a fallback's) finds nothing. Now only a key
whose range moves to or from the node (on one of the serving and future rings, not
both) is acknowledged during a change (:meth:`impl.node.Node._unrebuilt_mine`).
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from tests.impl.test_rebuilding_acks_agree import _two_rebuilding_w2_reads


def _a_join_under_way(cluster: SimulatedCluster) -> None:
    """n6 joins and crashes a second later (the join stays under way)."""
    cluster.join("n6")
    cluster.run_for(1.0)
    cluster.crash("n6")


@pytest.mark.parametrize(("seed", "clock"), [(0, "dvv"), (5, "client-vclock"),
                                             (1, "lww")])
def test_a_hint_for_a_rebuilding_node_stays_at_its_fallback_during_a_join(
        seed: int, clock: str) -> None:
    """``_two_rebuilding_w2_reads`` (n1 and n2 rebuilding, W = 2 through n1 with n1
    -> the third owner cut, R = 2 through the third) with a join under way. On
    ``750c1547`` (main, session 54) 1 key stale in each (of 9, 8 and 2 read; the same
    counts in dvv, client-vclock, server-vclock and lww; seeds 0-5: 0, 1 and 5
    stale). Mutant (run, each seen failing): the exception for a ring change
    restored (``Node._unrebuilt_mine`` false whenever ``changing()``)."""
    stale, _ = _two_rebuilding_w2_reads(seed, clock, before=_a_join_under_way)
    assert stale == 0
