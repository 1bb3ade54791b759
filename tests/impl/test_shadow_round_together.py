"""Two nodes restarted together: both startup shadow rounds end by their messages
alone, within a bound of deliveries, with no timer fired (session 37; docs/runtime.md,
"Two nodes restarted together (session 37)").

Since session 36 a gossip answers a restarted store's round only if its ``yours``
names this start (:meth:`impl.node.Node._of_this_start`): one sent before its sender
heard of the start may be of before a restore. With two stores restarted together
the first one's ask to the second is lost (it is not up yet), and the second one's
ask names the first one's earlier start: the first one's round waited for the
second one's next periodic gossip to it, up to ``shadow_round_s`` (real processes:
``tests/runtime/test_cli_cluster_ready.py`` failed every time, and a brand-new
cluster's ``vdynamo cluster up`` of 5 nodes took 2.95 s, was 1.15 s). Now a gossip
from a peer the round waits for that does not answer it is asked back at once
(:meth:`impl.node.Node._shadow_heard`): the peer hears of the start from the ask and
answers it naming it.

The network is driven by hand (:meth:`impl.simulator.Simulator.deliver`, the oldest
message first); time never moves and no timer fires, so a round that needs a
periodic gossip or its own timeout never ends here. Mutant: the ask back removed (the
session 36 rule alone): the first node's round still waits, in both cases.
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster

#: deliveries within which both rounds end (seeds 1-3 below need 7 restarted, 9 wiped)
BOUND = 12


def _deliver_oldest(cluster: SimulatedCluster) -> bool:
    """Deliver (or lose, its destination down) the oldest message in flight; False
    when none is."""
    flight = cluster.sim.in_flight()
    if not flight:
        return False
    cluster.sim.deliver(flight[0].id)
    return True


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("how", ["restart", "wipe"])
def test_two_nodes_restarted_together_both_end_their_rounds_by_their_messages(
        how: str, seed: int) -> None:
    """n1 and n2 down (``restart``: crashed; ``wipe``: their disks replaced, each
    then announcing its fresh store); n1 restarted, its ask to n2 lost; n2 restarted;
    the messages delivered oldest first: both rounds are answered within
    :data:`BOUND` deliveries and neither times out."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed)
    cluster.client().put(b"k", b"v1")
    cluster.run_until_quiet()
    for name in ("n1", "n2"):
        if how == "wipe":
            cluster.lose_disk(name)
        else:
            cluster.crash(name)
    while _deliver_oldest(cluster):  # (what was in flight: lost or taken by n3)
        pass
    cluster.restart("n1")
    n1 = cluster.node("n1")
    assert n1.shadow is not None and n1.shadow.asked == ("n2", "n3")
    while any(sent.dest == "n2" for sent in cluster.sim.in_flight()):
        _deliver_oldest(cluster)  # n1's ask to n2 lost: n2 is down
    cluster.restart("n2")
    n2 = cluster.node("n2")
    assert n2.shadow is not None and n2.shadow.asked == ("n1", "n3")
    started = cluster.now
    deliveries = 0
    while deliveries < BOUND and not (n1.shadow is not None and n1.shadow.over
                                      and n2.shadow is not None and n2.shadow.over):
        assert _deliver_oldest(cluster), (
            f"nothing in flight after {deliveries} deliveries: n1 waits for "
            f"{sorted(n1.shadow.waiting) if n1.shadow else []}, n2 for "
            f"{sorted(n2.shadow.waiting) if n2.shadow else []}")
        deliveries += 1
    assert cluster.now == started  # no time passed: no timer could have fired
    for node in (n1, n2):
        assert node.stats["shadow-round-answered"] == 1, node.name
        assert node.stats["shadow-round-timeout"] == 0, node.name
        assert node.guard is not None and node.guard.confirmed
    assert n1.stats["shadow-asked-again"] >= 1  # (the ask back that ended its round)
