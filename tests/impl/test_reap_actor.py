"""A reap forgets the node's counters for the key (impl/reaping.py, "Actors"):
a node whose reaped copy carried a counter of its actor mints under a new one,
so a put it coordinates after reaping is not mistaken, by a replica that still
holds the tombstone, for a version it has already seen (Riak's kv679)."""

from __future__ import annotations

import pytest

from impl import SimulatedCluster
from impl.messages import Reap
from impl.staging import persist
from impl.versions import TOMBSTONE, context_clock, values


@pytest.mark.parametrize("mutant", [None, "reap-keeps-actor"])
def test_a_put_after_a_partial_reap_is_not_lost(mutant: str | None) -> None:
    """The delete's coordinator reaps its copy alone (the other replicas' reaps
    were lost); a client's blind put through it is acknowledged and must survive
    the replicas that still hold the tombstone (their merge, read repair)."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=3, delete_mode="keep")
    alice = cluster.client("n1", client_id="alice")
    alice.put(b"k", b"v1")
    alice.delete(b"k", context=alice.get(b"k").context)
    cluster.run_until_quiet()
    replicas = sorted(cluster.replicas(b"k"))
    tombstone = cluster.node(replicas[0]).storage.read(b"k")
    assert tombstone is not None
    record = cluster.node(replicas[0]).record(b"k")
    assert record is not None and values(record) == [TOMBSTONE]
    minted = [name for name in replicas
              if context_clock(record).counter(cluster.node(name).actor)]
    assert len(minted) == 1  # the delete's coordinator: its counters are in the tombstone
    node = cluster.node(minted[0])
    old_actor = node.actor
    node.config = node.reaper.config = node.config.replace(delete_mode="safe")
    if mutant:  # the seeded mutant reap-keeps-actor: the reap leaves the actor as it was
        node.reaper.renew_actor = lambda: None
    persist(node.storage.engine, node.receive(cluster.now, replicas[0], Reap(b"k", tombstone)))
    assert node.record(b"k") is None
    assert (node.actor == old_actor) == bool(mutant)
    bob = cluster.client(minted[0], client_id="bob")
    bob.put(b"k", b"v2")  # acknowledged (W = 2)
    cluster.run_until_quiet()
    read = cluster.client().get(b"k", r=3)
    cluster.run_until_quiet()
    if mutant:  # the re-minted dot is "already seen" by the tombstone: v2 is lost
        assert read.values == []
    else:
        assert read.values == [b"v2"]
        stored = {name: sorted(values(r)) for name, r in cluster.replicas(b"k").items() if r}
        assert all(b"v2" in held for held in stored.values()), stored
