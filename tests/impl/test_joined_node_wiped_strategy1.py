"""A node that joined under strategy 1 or 2 and whose disk is replaced must not join
again (session 28's data probe; docs/runtime.md, "Data probe (session 28)").

A node not in the configuration's ``nodes`` joins with a fresh store; its disk
replaced, it starts fresh again and so set out to join, but the view its peers gave
it holds it already (``up``, with its tokens): under strategies 1 and 2
``membership.join`` refuses a member ("node 'n6' is already a member (up)"), and
the refusal came out of every gossip it handled, for good: an internal error a
gossip (18-34 by the time the cluster was quiet, seeds 1-2), each gossip's answer
lost. Found by the cart probe with ``partitioning = "strategy1"`` (seed 9: n6
joined with n5's disk replaced, n6 crashed, then wiped).
Now the node takes the view's entry as its own and rebuilds as any member whose
disk was replaced. (Strategy 3 announces it joining again and the claimant gives it
its ranges: ``test_wiped_node_reads.py::test_a_joined_node_whose_disk_is_replaced_rebuilds``.)
"""

from __future__ import annotations

import pytest

import impl

KEYS = 20


@pytest.mark.parametrize("partitioning", ["strategy1", "strategy2"])
def test_a_joined_node_whose_disk_is_replaced_does_not_join_again(partitioning: str) -> None:
    cluster = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, partitioning=partitioning)
    cluster.join("n6")
    cluster.run_until_quiet()
    for i in range(KEYS):
        cluster.client().put(b"k%d" % i, b"v%d" % i, w=3)
    cluster.run_until_quiet()
    cluster.wipe("n6")
    cluster.run_until_quiet()
    errors = {name: cluster.node(name).stats["internal-error"] for name in cluster.node_names}
    assert errors == dict.fromkeys(cluster.node_names, 0)
    n6 = cluster.node("n6")
    assert not n6.gossiper.join_pending and not n6.rebuilding
    entry = cluster.node("n1").snapshot().view.get("n6")
    assert entry is not None and entry.status.name == "UP" and entry.tokens
    assert {cluster.node(name).snapshot().view for name in cluster.node_names} == {
        n6.snapshot().view}
    reader = cluster.client("n6")
    assert [reader.get(b"k%d" % i, r=3, coordinator="n6").values for i in range(KEYS)] == [
        [b"v%d" % i] for i in range(KEYS)]
