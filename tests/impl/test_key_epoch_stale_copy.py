"""A stale copy of a key arriving after the node reaped it does not make the node
re-mint a dot it minted before the reap (kv679; the stale-copy caveat of Riak's
per-key epoch rule, docs/runtime.md, "Data-loss faults found by probing (session
14)").

Since session 15 the node keeps no row per reaped key (tests/impl/test_key_epoch_rows.py):
a key absent locally is minted under the node-wide epoch counter, a key held under
the highest epoch its copy carries (Riak's ``new_key_epoch``/``highest_actor``).
Riak's rule alone would mint ``k`` under the stale copy's epoch again. Scenario: 5
nodes, N=3, ``delete_mode = "keep"``; a node coordinates ``PUT k v1`` and the
delete (the tombstone carries its counters 1 and 2), then reaps its copy alone (the
other replicas' reaps lost); a replica's write of v1 from before the delete
arrives late (the stale copy: its counter 1); then a client's blind ``PUT k v2``
through the node (W=2, acknowledged). Right value: all three replicas hold v2.
With the stale copy continuing the node's old epoch (the mutant: no pin), v2 is
minted as counter 2, the tombstone's dot, which the other replicas hold already:
they drop v2 as seen and keep the tombstone under the same dot, for good (the
coordinator alone holds v2; a get that misses it answers 404).
"""

from __future__ import annotations

import pytest

from impl import SimulatedCluster
from impl.cluster import Client
from impl.messages import KeyRecords, Reap, ReplicaPut
from impl.node import Node
from impl.staging import persist
from impl.versions import TOMBSTONE, context_clock, read_key_epochs, values

KEY = b"k"


def _stale_copy_after_a_reap(mutant: bool) -> tuple[list[bytes], str, str]:
    """(the replicas holding v2 once the cluster is quiet, the actor v2 was minted
    under, the node's lifetime actor)."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=3, delete_mode="keep")
    alice = cluster.client("n1", client_id="alice")
    alice.put(KEY, b"v1")
    cluster.run_until_quiet()
    replicas = sorted(cluster.replicas(KEY))
    stale = cluster.node(replicas[0]).storage.read(KEY)  # v1, before the delete
    assert stale is not None
    alice.delete(KEY, context=alice.get(KEY).context)
    cluster.run_until_quiet()
    tombstone = cluster.node(replicas[0]).storage.read(KEY)
    record = cluster.node(replicas[0]).record(KEY)
    assert tombstone is not None and record is not None and values(record) == [TOMBSTONE]
    minted = [name for name in replicas
              if context_clock(record).counter(cluster.node(name).key_actor(KEY))]
    assert len(minted) == 1
    node = cluster.node(minted[0])
    other = next(name for name in replicas if name != node.name)
    if mutant:  # Riak's rule alone: the stale copy's epoch is continued
        node.replica.merge_listener = None
    node.config = node.reaper.config = node.config.replace(delete_mode="safe")
    persist(node.storage.engine, node.receive(cluster.now, other, Reap(KEY, tombstone)))
    assert node.record(KEY) is None
    # the late write of v1 (a slow message, a hint from before the delete)
    persist(node.storage.engine, node.receive(cluster.now, other, ReplicaPut(10**6, KEY, stale)))
    assert node.record(KEY) is not None
    actor = node.key_actor(KEY)
    # A client naming no id: a named one's blind put, past the stale copy's v1 it did
    # not read, is minted under the pair (actor, client) since session 29
    # (spec.dvv.dot_actor), a fresh entry, where the mutant's re-mint does not show
    bob = cluster.client(node.name, client_id="")
    bob.put(KEY, b"v2")  # acknowledged (W = 2)
    cluster.run_until_quiet()
    held = {name: sorted(values(r)) for name, r in cluster.replicas(KEY).items() if r}
    return [name.encode() for name, vs in sorted(held.items()) if b"v2" in vs], actor, \
        node.actor


@pytest.mark.parametrize("mutant", [False, True])
def test_a_stale_copy_after_a_reap_does_not_make_the_node_re_mint(mutant: bool) -> None:
    holding, actor, lifetime = _stale_copy_after_a_reap(mutant)
    if mutant:
        assert actor == lifetime  # the stale copy's epoch, whose counter 2 is taken
        assert len(holding) == 1  # the coordinator alone: the others hold the tombstone
    else:                         # under the same dot, for good
        assert actor == f"{lifetime}.1"  # pinned to the counter's epoch
        assert len(holding) == 3


def _reaped_after_a_copy() -> tuple[SimulatedCluster, Client, Node, bytes]:
    """3 nodes: ``PUT k v1`` through n1, n1's stored copy of it kept (the stale copy
    the tests bring back), then k deleted with a get's context (W = 3) and the
    cluster quiet: (the cluster, n1's client, n1, the stale copy)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2)
    client = cluster.client("n1")
    client.put(KEY, b"v1")
    cluster.run_until_quiet()
    node = cluster.node("n1")
    stale = node.storage.read(KEY)
    assert stale is not None
    client.delete(KEY, context=client.get(KEY, r=3).context, w=3)
    cluster.run_until_quiet()
    return cluster, client, node, stale


def test_the_pin_goes_with_the_next_reap_of_the_key() -> None:
    """The pinned key's entry lives only while the node holds a copy of the key."""
    cluster, client, node, stale = _reaped_after_a_copy()
    assert all(r is None for r in cluster.replicas(KEY).values())  # reaped everywhere
    counter, pinned = read_key_epochs(node.storage, node.actor)
    assert counter >= 1 and pinned == {}
    persist(node.storage.engine, node.receive(cluster.now, "n2", ReplicaPut(10**6, KEY, stale)))
    assert read_key_epochs(node.storage, node.actor)[1] == {KEY: counter}
    client.delete(KEY, context=client.get(KEY, r=3).context, w=3)
    cluster.run_until_quiet()
    assert all(r is None for r in cluster.replicas(KEY).values())
    assert read_key_epochs(node.storage, node.actor)[1] == {}


def test_the_pin_goes_when_a_copy_without_its_epoch_is_reaped() -> None:
    """Session 15's review: n1's key pinned by a stale copy, then deleted through n2
    (so n1's copy never holds the pinned epoch's counter) and reaped: the pin goes
    too (the reaper's unpin; a mutant without it, or one that does not write the
    table, left the line for good)."""
    cluster, _client, node, stale = _reaped_after_a_copy()
    assert all(r is None for r in cluster.replicas(KEY).values())
    counter, _ = read_key_epochs(node.storage, node.actor)
    persist(node.storage.engine, node.receive(cluster.now, "n2", ReplicaPut(10**6, KEY, stale)))
    assert read_key_epochs(node.storage, node.actor)[1] == {KEY: counter}
    other = cluster.client("n2")
    other.delete(KEY, context=other.get(KEY, r=3).context, w=3)
    cluster.run_until_quiet()
    assert all(r is None for r in cluster.replicas(KEY).values())
    assert read_key_epochs(node.storage, node.actor) == (counter, {})


def test_a_stale_copy_by_anti_entropy_pins_the_key_too() -> None:
    """Session 15's review: the stale copy of a reaped key arrives in an anti-entropy
    ``KeyRecords`` (``Replica.write_local``), not a replica write: the key is pinned
    as well (a mutant without the hook in ``write_local`` survived every other
    test)."""
    cluster, _client, node, stale = _reaped_after_a_copy()
    assert all(r is None for r in cluster.replicas(KEY).values())
    counter, _ = read_key_epochs(node.storage, node.actor)
    persist(node.storage.engine, node.receive(cluster.now, "n2",
                                              KeyRecords((KEY,), (stale,))))
    assert node.record(KEY) is not None
    assert read_key_epochs(node.storage, node.actor)[1] == {KEY: counter}
    assert node.key_actor(KEY) == f"{node.actor}.{counter}"


def test_a_stale_copy_after_the_key_came_back_leaves_the_new_epoch() -> None:
    """Session 15's review, the kv679 kind: n1 minted k's v1 and tombstone (its
    epoch 0, counters 1 and 2), the tombstone was reaped (the counter is 1), v2
    was put through n1 (epoch 1), then a stale copy of v1 arrives: n1's copy holds
    both epochs, and k is minted under the highest, 1 (the node's last), never
    epoch 0 again, whose counter 2 is the tombstone's dot (a mutant taking the
    lowest survived every other test)."""
    cluster, client, node, stale = _reaped_after_a_copy()
    assert all(r is None for r in cluster.replicas(KEY).values())
    counter, _ = read_key_epochs(node.storage, node.actor)
    assert counter == 1
    client.put(KEY, b"v2")
    cluster.run_until_quiet()
    assert node.key_actor(KEY) == f"{node.actor}.1"
    persist(node.storage.engine, node.receive(cluster.now, "n2", ReplicaPut(10**6, KEY, stale)))
    record = node.record(KEY)
    assert record is not None and context_clock(record).counter(node.actor) == 1
    assert read_key_epochs(node.storage, node.actor)[1] == {}  # no pin: it held epoch 1
    assert node.key_actor(KEY) == f"{node.actor}.1"
    client.put(KEY, b"v3", context=client.get(KEY, r=3).context)
    cluster.run_until_quiet()
    assert list(cluster.client("n2").get(KEY, r=3).values) == [b"v3"]
