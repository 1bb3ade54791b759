"""A reap forgets the node's counters for the key (impl/reaping.py, "Actors"):
a node whose reaped copy carried a counter of its actor for the key begins a new
key epoch and mints that key, and only that key, under a new actor, so a put it
coordinates after reaping is not mistaken, by a replica that still holds the
tombstone, for a version it has already seen (Riak's kv679, per key)."""

from __future__ import annotations

import pytest

from impl import SimulatedCluster
from impl.messages import Reap
from impl.node import Node
from impl.staging import persist
from impl.versions import (
    TOMBSTONE,
    ClockMode,
    Record,
    apply_put,
    context_clock,
    key_actor,
    values,
)
from spec.vclock import VClock


def _reap_at_the_deletes_coordinator(cluster: SimulatedCluster, key: bytes,
                                     mutant: str | None = None) -> Node:
    """Put ``key``, delete it (delete_mode keep: nothing reaped), then make the
    delete's coordinator alone reap its copy (the other replicas' reaps lost).
    Returns that node; ``mutant`` "reap-keeps-actor": its reap begins no key epoch."""
    alice = cluster.client("n1", client_id="alice")
    alice.put(key, b"v1")
    alice.delete(key, context=alice.get(key).context)
    cluster.run_until_quiet()
    replicas = sorted(cluster.replicas(key))
    tombstone = cluster.node(replicas[0]).storage.read(key)
    assert tombstone is not None
    record = cluster.node(replicas[0]).record(key)
    assert record is not None and values(record) == [TOMBSTONE]
    minted = [name for name in replicas
              if context_clock(record).counter(cluster.node(name).key_actor(key))]
    assert len(minted) == 1  # the delete's coordinator: its counters are in the tombstone
    node = cluster.node(minted[0])
    old_actor = node.key_actor(key)
    node.config = node.reaper.config = node.config.replace(delete_mode="safe")
    if mutant == "reap-keeps-actor":  # the seeded mutant: the reap keeps the actor
        node.reaper.renew_actor = lambda key: None
    persist(node.storage.engine, node.receive(cluster.now, replicas[0], Reap(key, tombstone)))
    assert node.record(key) is None
    assert (node.key_actor(key) == old_actor) == (mutant == "reap-keeps-actor")
    return node


@pytest.mark.parametrize("mutant", [None, "reap-keeps-actor"])
def test_a_put_after_a_partial_reap_is_not_lost(mutant: str | None) -> None:
    """The delete's coordinator reaps its copy alone (the other replicas' reaps
    were lost); a client's blind put through it is acknowledged and must survive
    the replicas that still hold the tombstone (their merge, read repair)."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=3, delete_mode="keep")
    node = _reap_at_the_deletes_coordinator(cluster, b"k", mutant)
    bob = cluster.client(node.name, client_id="bob")
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


@pytest.mark.parametrize("mutant", [None, "epoch-in-memory"])
def test_a_key_epoch_is_the_keys_alone_survives_a_restart_and_goes_with_the_disk(
        mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the reap the node mints ``k`` under ``<lifetime>.1`` (and a key it
    holds under the epoch its copy carries); the key epoch is in its storage, so a restart
    keeps it (the seeded mutant ``epoch-in-memory`` keeps it in the node object
    only: after the restart the node would mint ``k`` under the reaped actor
    again, kv679); a replaced disk forgets it with everything else, and the new
    lifetime's actor is new for every key. The restart keeps the lifetime actor
    only with ``actor_per_start=False`` (the spec's Recover, which the refinement
    harness replays): by default every start is a new lifetime, which needs no
    key epoch (the next test)."""
    if mutant:
        epochs: dict[tuple[str, bytes], str] = {}

        def remember(self: Node, key: bytes) -> None:
            epochs[self.name, key] = f"{self.actor}.1"

        monkeypatch.setattr(Node, "_renew_actor", remember)
        monkeypatch.setattr(Node, "key_actor",
                            lambda self, key, local=None: epochs.get((self.name, key), self.actor))
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=3, delete_mode="keep",
                               actor_per_start=False)
    name = _reap_at_the_deletes_coordinator(cluster, b"k").name
    lifetime = cluster.node(name).actor
    assert cluster.node(name).key_actor(b"k") == f"{lifetime}.1"
    # a key the node holds keeps the epoch its copy carries (no clock entry per reap)
    held = apply_put(Record.empty(ClockMode.DVV), VClock(), b"x", coordinator=name,
                     client_id="c", now=1.0, actor=lifetime)
    assert key_actor(cluster.node(name).storage, lifetime, b"other", held) == lifetime
    if mutant:
        epochs.clear()  # what a restart does to a node object's memory
    cluster.crash(name)
    cluster.restart(name)
    assert cluster.node(name).actor == lifetime
    assert (cluster.node(name).key_actor(b"k") == f"{lifetime}.1") == (mutant is None)
    cluster.wipe(name)
    renewed = cluster.node(name).actor
    assert renewed != lifetime and cluster.node(name).key_actor(b"k") == renewed


def test_by_default_a_restart_after_a_reap_is_a_new_lifetime_for_every_key() -> None:
    """``actor_per_start`` (the default): the restarted node's lifetime actor is
    new, and the key epoch begun in the earlier lifetime counts as none: ``k`` is
    minted under the new lifetime's actor, which no replica has seen either."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=3, delete_mode="keep")
    name = _reap_at_the_deletes_coordinator(cluster, b"k").name
    lifetime = cluster.node(name).actor
    assert cluster.node(name).key_actor(b"k") == f"{lifetime}.1"
    cluster.crash(name)
    cluster.restart(name)
    renewed = cluster.node(name).actor
    assert renewed != lifetime
    assert cluster.node(name).key_actor(b"k") == cluster.node(name).key_actor(b"other") == renewed
