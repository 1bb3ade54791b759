"""Review of the shadow round's ask back (session 37; docs/runtime.md, "Two nodes
restarted together (session 37)", "Review (session 37)").

:meth:`impl.node.Node._shadow_heard` asks a peer back at once when its gossip does
not answer the round (its ``yours`` names no start of this one) *and the round
waits for it*. Two mutants survived the tests of the ask back: asking back every
sender of such a gossip, a peer that answered already too (a gossip of before the
restart, delivered after the answer: one message more each, for nothing), and the
``shadow-stale-gossip`` count dropped or limited to the round. And no test bounded
the messages of many nodes restarted together (can two waiting nodes ask each other
back in a loop?): five restarted one after another, each one's asks to those not
up yet lost, take 20 gossips to end every round, by messages alone. A lost ask back
(or any lost ask or answer) had no retry: the round waited for a gossip between the
two nodes, at random, or its timeout; a gossip round during the round now asks
again the peers it still waits for that gossiped since it began
(:meth:`impl.node.Node._shadow_ask_again`).
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.effects import Send
from impl.messages import Gossip
from impl.timers import GossipRound, ShadowRound
from tests.impl.test_shadow_round_together import _deliver_oldest
from tests.impl.test_stale_gossip_shadow_round import _hold_gossip


def _asks_back(effects: list[object], dest: str) -> list[Send]:
    return [e for e in effects if isinstance(e, Send) and e.dest == dest
            and isinstance(e.message, Gossip) and e.message.reply]


def test_a_stale_gossip_of_a_peer_that_answered_is_counted_and_not_asked_back() -> None:
    """3 nodes: a gossip of n2 to n1 held; n1 restarted; n2 answers its round, n3 not
    yet (its ask held). The held gossip (its ``yours`` names n1's earlier start) is
    counted ``shadow-stale-gossip`` and asks nothing back (n2 answered). After the
    round times out (n3 silent: tracked, unconfirmed) it is counted again.
    Mutants: ask back any sender (not only a peer waited for); the count dropped;
    the count limited to the round (``guard.unconfirmed`` ignored)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)
    cluster.client().put(b"k", b"v1")
    cluster.run_until_quiet()
    [held] = _hold_gossip(cluster, "n1", {"n2"})
    cluster.crash("n1")
    while _deliver_oldest(cluster):
        pass
    cluster.restart("n1")
    n1 = cluster.node("n1")
    assert n1.shadow is not None and n1.shadow.asked == ("n2", "n3")
    while True:  # n2's part only: n1's ask to n3 stays in flight
        ours = [m for m in cluster.sim.in_flight() if "n3" not in (m.src, m.dest)]
        if not ours:
            break
        cluster.sim.deliver(ours[0].id)
    assert n1.shadow.waiting == {"n3"}
    assert n1.stats["shadow-stale-gossip"] == 0
    effects = n1.receive(cluster.now, "n2", held)
    assert _asks_back(effects, "n2") == []
    assert n1.stats["shadow-asked-again"] == 0
    assert n1.stats["shadow-stale-gossip"] == 1
    cluster.sim.perform("n1", effects)
    cluster.sim.fire_timer("n1", ShadowRound())  # the timeout: n3 silent
    while n1.shadow is not None:
        cluster.sim.fire_timer("n1", ShadowRound())  # (the deferred inputs replayed)
    assert n1.stats["shadow-round-timeout"] == 1
    assert n1.guard is not None and n1.guard.unconfirmed == {"n3"}
    cluster.sim.perform("n1", n1.receive(cluster.now, "n2", held))
    assert n1.stats["shadow-stale-gossip"] == 2


def test_five_nodes_restarted_together_end_their_rounds_in_a_bounded_number_of_gossips(
        ) -> None:
    """5 nodes crashed, restarted one after another, each one's asks to the nodes not
    up yet lost (10 of 20); then every message delivered oldest first, time still:
    every round answered (no timer fires) after 30 deliveries, the 10 asks that
    arrived, an ask back for each lost one and 10 answers: 20 gossips sent after the
    restarts, 10 asks back (one per pair of nodes), nothing left in flight."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1)
    cluster.client().put(b"k", b"v1")
    cluster.run_until_quiet()
    names = cluster.node_names
    for name in names:
        cluster.crash(name)
    while _deliver_oldest(cluster):
        pass
    for name in names:
        cluster.restart(name)
        for sent in cluster.sim.in_flight():
            if cluster.is_down(sent.dest):
                cluster.sim.deliver(sent.id)  # lost: not up yet
    started, sent_before = cluster.now, cluster.sim.stats["sent"]
    deliveries = 0
    while _deliver_oldest(cluster):
        deliveries += 1
        assert deliveries <= 30
    assert cluster.now == started
    nodes = [cluster.node(name) for name in names]
    assert all(node.shadow is not None and node.shadow.over for node in nodes)
    assert [node.stats["shadow-round-answered"] for node in nodes] == [1] * 5
    assert sum(node.stats["shadow-asked-again"] for node in nodes) == 10
    assert cluster.sim.stats["sent"] - sent_before == 20


@pytest.mark.parametrize("seed", [1, 3, 6])
def test_a_lost_ask_back_is_asked_again_at_the_next_gossip_round(seed: int) -> None:
    """The two-node case of ``test_shadow_round_together.py`` with n1's ask back lost
    (it was n1's answer to n2 too): neither round can end by messages. Half a gossip
    interval later n1's gossip round asks n2 again (its own gossip, when it goes to
    n2, is the ask): both rounds end, neither times out; a quarter interval later the
    next round asks nothing more. Mutants, each caught by one seed at least: no ask
    again (3, 6: the rounds waited for a gossip between the two at random, or their
    timeout; of 5 nodes restarted together at 5 % loss, 24 of 100 rounds timed out,
    16 now), its count dropped (3, 6), the round's own gossip not taken for the ask
    (1: two gossips to n2), the time of an ask again not kept (6)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed)
    cluster.client().put(b"k", b"v1")
    cluster.run_until_quiet()
    for name in ("n1", "n2"):
        cluster.crash(name)
    while _deliver_oldest(cluster):
        pass
    cluster.restart("n1")
    while any(sent.dest == "n2" for sent in cluster.sim.in_flight()):
        _deliver_oldest(cluster)  # n1's ask to n2 lost: n2 is down
    cluster.restart("n2")
    n1, n2 = cluster.node("n1"), cluster.node("n2")
    while not n1.stats["shadow-asked-again"]:
        assert _deliver_oldest(cluster)
    [ask_back] = [sent for sent in cluster.sim.in_flight()
                  if (sent.src, sent.dest) == ("n1", "n2")]
    cluster.sim.drop(ask_back.id)
    while _deliver_oldest(cluster):
        pass
    assert n1.shadow is not None and n1.shadow.waiting == {"n2"}
    assert n2.shadow is not None and n2.shadow.waiting == {"n1"}
    asked = n1.stats["shadow-asked-again"]
    cluster.sim.advance(n1.config.gossip_interval / 2)
    cluster.sim.fire_timer("n1", GossipRound())
    gossips = [sent.dest for sent in cluster.sim.in_flight()
               if sent.src == "n1" and isinstance(sent.message, Gossip)]
    # the round's own gossip to n2 (it counts as the ask), or to n3 and an ask again
    assert sorted(gossips) in (["n2"], ["n2", "n3"]), gossips
    again = n1.stats["shadow-asked-again"] - asked
    assert again == len(gossips) - 1
    cluster.sim.advance(n1.config.gossip_interval / 4)
    cluster.sim.fire_timer("n1", GossipRound())  # n2 asked a quarter interval ago
    assert n1.stats["shadow-asked-again"] - asked == again
    while _deliver_oldest(cluster):
        pass
    for node in (n1, n2):
        assert node.stats["shadow-round-answered"] == 1, node.name
        assert node.stats["shadow-round-timeout"] == 0, node.name


@pytest.mark.parametrize("seed", [3, 4])
def test_a_peer_not_heard_from_since_the_round_began_is_not_asked_again(seed: int) -> None:
    """n1 restarted with n2 down: its ask to n2 lost, n3 answers. Half a gossip
    interval later n1's gossip round asks n2 nothing more (n2 may be down; its first
    gossip will be asked back): one gossip at most, the round's own. Mutant: every
    peer waited for asked again (caught on 3, 4 and 6 of seeds 1-8, whose round's
    gossip goes to n3; it moved every seeded schedule with a peer down in a round:
    ``tests/refinement/test_trace_validation_shadow.py``'s seeds, the data-loss
    probe's naive history, the two-disks double fault)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed)
    cluster.client().put(b"k", b"v1")
    cluster.run_until_quiet()
    cluster.crash("n1")
    cluster.crash("n2")
    while _deliver_oldest(cluster):
        pass
    cluster.restart("n1")
    n1 = cluster.node("n1")
    while _deliver_oldest(cluster):
        pass
    assert n1.shadow is not None and n1.shadow.waiting == {"n2"}
    cluster.sim.advance(n1.config.gossip_interval / 2)
    cluster.sim.fire_timer("n1", GossipRound())
    gossips = [sent.dest for sent in cluster.sim.in_flight()
               if sent.src == "n1" and isinstance(sent.message, Gossip)]
    assert len(gossips) == 1, gossips
    assert n1.stats["shadow-asked-again"] == 0
