"""A gossip sent before a restart, delivered during the restarted store's shadow
round, answers that round (session 36's survey of messages from before a restart
that count after it; docs/runtime.md "Stale exchanges across a wipe (session 36)").
Fixed: only a gossip whose ``yours`` names this start, or a later one, answers
(:meth:`impl.node.Node._of_this_start`).

The shadow round (:meth:`impl.node.Node.start`) waits until every peer asked has
gossiped since the start, and a peer that heard a later start of the store says so
(``yours``): the store is set aside. Any gossip from the peer ends its wait, one sent
before the restart too, whose ``yours`` names a start of the store before the one
restored: no rollback is seen, the round counts as answered, the guard is
*confirmed* (:attr:`impl.restore_guard.RestoreGuard.confirmed`) and the store may
advance its generation (a reap does), past the count its peers heard: its rollback
is then never seen. Scenario (3 nodes, N = 3): gossips of n2 and n3 to n1 held
in flight at n1's first start S1; n1 backed up while down, restarted (S2, heard by
both), stopped, its backup put back and restarted (S3: S1's count + 1, a new
token), its peers' answers cut off; the held gossips arrive; n1 takes part in a
reap (its generation advanced). Healed, the peers take S3's advanced count for a
later start of n1: n1 is never set aside, and serves the store of S1 (``k`` = v1,
which S2 overwrote with v2) for good.
"""

from __future__ import annotations

import copy

import pytest

from impl.cluster import SimulatedCluster
from impl.messages import Gossip
from impl.node import Node
from impl.restore_guard import advance
from impl.storage.memory import MemoryStorage
from tests.impl.test_node_driver import make_config
from tests.impl.test_wiped_node_reads import _running


def _hold_gossip(cluster: SimulatedCluster, dest: str, sources: set[str]) -> list[Gossip]:
    """One gossip from each of ``sources`` to ``dest``, taken out of flight."""
    held: dict[str, Gossip] = {}

    def all_held() -> bool:
        for sent in cluster.sim.in_flight():
            if (sent.dest == dest and sent.src in sources - set(held)
                    and isinstance(sent.message, Gossip)):
                cluster.sim.drop(sent.id)
                held[sent.src] = sent.message
        return set(held) == sources

    cluster.run_until(all_held, max_time=30)
    return [held[src] for src in sorted(held)]


@pytest.mark.parametrize("when", ["during", "after"])
def test_a_gossip_of_before_a_restart_does_not_answer_the_shadow_round(when: str) -> None:
    """The module's scenario: after the held gossips arrive n1's round is still
    waiting (not ``shadow-round-answered``: it times out, its guard unconfirmed, and
    the advance is refused, ``generation-advance-unconfirmed``); healed, n1 is set
    aside and then rebuilt, and a get at R = 3 reads v2. Before the fix: answered,
    the generation advanced to a count above S2's (``3.<S3's token>``, which both
    peers took as later), and n1 was never set aside (``restore-set-aside`` 0).
    ``after``: the held gossips arrive once the round timed out (its peers tracked
    as unconfirmed): they confirm neither (else the same advance)."""
    with _running(SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1,
                                   clock="server-vclock")) as cluster:
        writer = cluster.client("n1")
        writer.put(b"k", b"v1")
        cluster.run_for(1.0)
        held = _hold_gossip(cluster, "n1", {"n2", "n3"})
        cluster.crash("n1")
        backup = copy.deepcopy(cluster.storages["n1"].inner)
        cluster.restart("n1")
        s2 = cluster.node("n1").guard
        assert s2 is not None
        cluster.run_until(lambda: all(cluster.node(p).guard.yours("n1") == s2.generation
                                      for p in ("n2", "n3")), max_time=30)
        writer.put(b"k", b"v2", writer.get(b"k").context)
        cluster.run_for(1.0)
        cluster.crash("n1")
        cluster.storages["n1"].inner = backup
        cluster.partition_one_way(["n2", "n3"], ["n1"])
        cluster.restart("n1")
        n1 = cluster.node("n1")
        assert n1.shadow is not None and n1.guard is not None
        if when == "after":
            cluster.run_for(3.0)  # (the round's timeout)
            assert n1.guard.unconfirmed == {"n2", "n3"}
        now = cluster.sim.node_now("n1")
        for src, gossip in zip(("n2", "n3"), held, strict=True):
            cluster.sim.perform("n1", n1.receive(now, src, gossip))
        answered = n1.stats["shadow-round-answered"]
        cluster.run_for(3.0)  # (the round's timeout, if it still waits)
        assert not n1.guard.confirmed
        n1._advance_generation(cluster.sim.node_now("n1"))  # as a reap does
        cluster.heal()
        cluster.run_for(10.0)
        assert (answered, n1.stats["restore-set-aside"]) == (0, 1)
        assert cluster.client("n2").get(b"k", r=3, coordinator="n2").values == [b"v2"]


def test_a_gossip_answers_this_start_when_its_yours_names_it_or_a_later_one() -> None:
    """:meth:`impl.node.Node._of_this_start` on a gossip's ``yours``: this start's
    first generation or its advance (the same token), a later start (a rollback), and
    after a set-aside both the first generation and the one taken answer; an earlier
    start, another start at a lower count, or none do not."""
    storage = MemoryStorage("always")
    storage.set_meta("incarnation", b"5")
    node = Node("n1", make_config(3, n=3, r=2, w=2), storage, seed=1)
    assert node.guard is not None
    first = node.guard.generation
    count = int(first.split(".")[0])

    def answers(yours: str) -> bool:
        return node._of_this_start(Gossip(node.view.to_bytes(), reply=False, yours=yours))

    assert answers(first) and answers(advance(first))
    assert answers(f"{count}.{'e' * 16}") and answers(f"{count + 3}.{'e' * 16}")
    assert not answers("") and not answers(f"{count - 2}.{'a' * 16}")
    node.guard.generation = f"{count + 4}.{'b' * 16}"  # (a set-aside's)
    assert answers(first) and answers(node.guard.generation)
    assert answers(advance(node.guard.generation))
