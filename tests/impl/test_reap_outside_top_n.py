"""Copies outside a key's top N no longer keep its tombstone for ever (issue 11,
session 6; the reviewer's findings ``nonreplica_coordinator_copy.py`` and
``delete_nemesis_soak.py`` in /work/wt/rev-findings).

A put coordinated by a node that is not one of the key's replicas writes its own
record (:mod:`impl.put_coordinator`, to keep its counters increasing), and a read
repair writes a fallback's main store (tests/impl/test_read_repair_fallback_leak.py):
nothing ever removed those copies, so every reap's query found their node "not
clean" and the key's tombstone stayed on every replica (a storage leak; nothing
came back). Now a member asked by a reap that holds a copy the asker's tombstone
dominates settles it first (:meth:`impl.reaping.Reaper._settle_dominated`): a
node that is no replica of the key lets it go (beginning the key's epoch when the
copy carried its counter, kv679), a replica merges the tombstone. A copy the
tombstone does not dominate still refuses the reap
(tests/impl/test_safe_reap_knowledge.py, ``drops-undominated``).
"""

from __future__ import annotations

import random

import pytest

from impl import DynamoError, SimulatedCluster, gossip, reaping
from impl.effects import Send
from impl.faults import Faults
from impl.messages import ReapQuery, ReapQueryReply
from impl.versions import TOMBSTONE, Record, values
from spec.dvv import DVVSet
from tests.conftest import PROFILE


def _keeps_dominated(self: reaping.Reaper, key: bytes, tombstone: Record,
                     view: bytes) -> None:
    """The mutant ``keeps-dominated`` (the code before the fix)."""


@pytest.fixture(autouse=True)
def _outsider_copy_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests need the outsider's copy still held when the delete comes: since
    session 26 it is handed to the owners and let go once its put ends
    (:meth:`impl.gossip.Gossiper.hand_outsider_copy`, tests/impl/test_outsider_copy.py);
    kept here as when an owner has not acknowledged it yet."""
    monkeypatch.setattr(gossip.Gossiper, "hand_outsider_copy", lambda self, key: None)


def _holders(cluster: SimulatedCluster, key: bytes) -> list[str]:
    return [name for name in cluster.node_names if cluster.node(name).record(key) is not None]


@pytest.mark.parametrize("mutant", [None, "keeps-dominated"])
def test_a_non_replica_coordinators_copy_goes_and_the_tombstone_is_reaped(
        mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reviewer's ``nonreplica_coordinator_copy.py``: ``outsider`` coordinates a
    put of v1 while cut off from the key's top N (it writes its own record, and a
    fallback's hints carry v1 to the top N once the cut heals). A delete with the
    context of v1 is acknowledged by all N; after the grace period every copy is
    gone (the outsider let its own go when asked) and nothing comes back. The
    outsider's copy carried its counter: it began the key's epoch, so its next put
    of the key is not dropped as already seen (kv679). The mutant keeps the copy:
    the tombstone stays on all N for ever."""
    if mutant:
        monkeypatch.setattr(reaping.Reaper, "_settle_dominated", _keeps_dominated)
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=7, tombstone_grace_s=0.5)
    key = b"k"
    top = list(cluster.node("n1").preference_list(key)[:3])
    outsider = next(name for name in cluster.node_names if name not in top)
    cluster.partition({outsider}, set(top))
    cluster.client(coordinator=outsider).put(key, b"v1")
    cluster.heal()
    cluster.run_until_quiet()
    held = cluster.node(outsider).record(key)
    assert held is not None and values(held) == [b"v1"]
    actor = cluster.node(outsider).key_actor(key)
    client = cluster.client()
    read = client.get(key, r=3)
    assert read.values == [b"v1"]
    client.delete(key, context=read.context)
    cluster.run_until_quiet()
    cluster.run_for(30.0)
    cluster.run_until_quiet()
    if mutant:
        assert set(_holders(cluster, key)) == {*top, outsider}
        return
    assert _holders(cluster, key) == []
    assert client.get(key, r=3).values == []
    assert cluster.node(outsider).key_actor(key) != actor  # a new key epoch (kv679)
    cluster.client(coordinator=outsider).put(key, b"v2")
    cluster.run_until_quiet()
    assert client.get(key, r=3).values == [b"v2"]



@pytest.mark.parametrize("clock", ["server-vclock", "client-vclock", "lww"])
def test_the_outsiders_copy_goes_in_every_clock_mode(clock: str) -> None:
    """The same in the other clock modes (dominance is syntactic reconciliation's:
    :func:`impl.versions.merge`)."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=7, tombstone_grace_s=0.5,
                               clock=clock)
    key = b"k"
    top = list(cluster.node("n1").preference_list(key)[:3])
    outsider = next(name for name in cluster.node_names if name not in top)
    cluster.partition({outsider}, set(top))
    cluster.client(coordinator=outsider).put(key, b"v1")
    cluster.heal()
    cluster.run_until_quiet()
    assert cluster.node(outsider).record(key) is not None
    client = cluster.client()
    client.delete(key, context=client.get(key, r=3).context)
    cluster.run_until_quiet()
    cluster.run_for(30.0)
    cluster.run_until_quiet()
    assert _holders(cluster, key) == []
    assert client.get(key, r=3).values == []

def _soak(seed: int) -> tuple[int, int]:
    """The reviewer's ``delete_nemesis_soak.py`` for one seed (safe reaping, grace
    0.5 s): four keys, one sequential client each, 60 steps of get then put or
    delete with the context under crashes, partitions, loss and reorder; then the
    nemesis stops, everything heals and restarts, the cluster goes quiet and runs on
    for the reaps. Returns (keys whose last acknowledged operation was a delete,
    of those the keys that a get with r = 3 answered, or whose tombstone some
    replica still holds)."""
    faults = Faults(crash_interval=3.0, downtime=(0.5, 4.0), partition_interval=4.0,
                    partition_duration=(0.5, 4.0), loss=0.02, reorder=0.05)
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, faults=faults,
                               delete_mode="safe", tombstone_grace_s=0.5)
    rng = random.Random(seed)
    keys = [b"k%d" % i for i in range(4)]
    clients = {key: cluster.client() for key in keys}
    last: dict[bytes, str] = {key: "none" for key in keys}
    for step in range(60):
        key = rng.choice(keys)
        client = clients[key]
        try:
            read = client.get(key)
        except DynamoError:
            continue
        deleting = rng.random() >= 0.5
        try:
            if deleting:
                client.delete(key, context=read.context)
            else:
                client.put(key, b"s%d" % step, context=read.context)
            last[key] = "delete" if deleting else "put"
        except DynamoError:
            last[key] = "unknown"
    cluster.stop_nemesis()
    cluster.heal()
    cluster.run_for(10.0)
    for name in list(cluster.storages):
        if name in cluster.sim.members and cluster.is_down(name):
            cluster.restart(name)
    cluster.run_until_quiet()
    cluster.run_for(20.0)
    cluster.run_until_quiet()
    deleted = [key for key in keys if last[key] == "delete"]
    answered = {key for key in deleted if cluster.client().get(key, r=3).values}
    cluster.run_for(30.0)
    cluster.run_until_quiet()
    unreaped = {key for key in deleted
                if any(record is not None for record in cluster.replicas(key).values())}
    return len(deleted), len(answered | unreaped)


#: the nemesis seeds CI runs; the soak profile runs seeds 1-8 (session 19: 8 runs
#: were about 10 CPU-s of CI). This file's mutant ``keeps-dominated`` (the code
#: before the fix, :func:`_keeps_dominated`) leaves a tombstone under seed 5 (1 of
#: its 4 deleted keys) and under no other of seeds 1-8; seed 2 ends with no key
#: deleted, seeds 1 and 8 with one, seeds 3, 4, 6 and 7 with two each. Session 42: CI
#: runs 5 and 6 (3 and 4 to soak: 4.2 CPU-s of CI); ``keeps-dominated`` now leaves no
#: tombstone under any of seeds 1-8 (a scratch run: 0 bad keys each, the schedules
#: moved since session 19), its killer in CI is the directed test above
#: (``test_a_non_replica_coordinators_copy_goes_and_the_tombstone_is_reaped``)
NEMESIS_SEEDS = (1, 2, 3, 4, 5, 6, 7, 8) if PROFILE == "soak" else (5, 6)


@pytest.mark.parametrize("seed", NEMESIS_SEEDS)
def test_every_acknowledged_deletes_tombstone_is_reaped_under_a_nemesis(seed: int) -> None:
    """Every key whose last acknowledged operation was a delete answers nothing and
    holds no tombstone on any replica once the cluster healed and went quiet
    (before the fix, 3 of seeds 1-8 left a tombstone on all N replicas;
    :data:`NEMESIS_SEEDS`)."""
    deleted, bad = _soak(seed)
    assert bad == 0, f"seed {seed}: {bad} of {deleted} deleted keys answered or kept a tombstone"



def _asked(mine: bytes | None, *, replica: bool) -> tuple[list[bytes] | None, bool]:
    """A 4-node cluster (N = 3): k put (v1), put again (v2, with v1's context) and
    deleted (with v2's context: the tombstone) by its first replica, the asker. A
    member -- one of k's replicas, or the fourth node, no replica of k -- whose
    store of k holds ``mine`` (``b"v1"``: v1's record, which the tombstone
    dominates; ``b"w"``: a version the member minted that the delete never saw;
    None: nothing) is asked by the asker deciding the reap. Returns the values it
    stores then and whether it answered clean."""
    cluster = SimulatedCluster(nodes=4, n=3, r=3, w=3, seed=5, anti_entropy=False,
                               tombstone_grace_s=3600.0)
    key = b"k"
    preference = cluster.node("n1").preference_list(key)
    asker, member = preference[0], preference[1 if replica else 3]
    client = cluster.client()
    client.put(key, b"v1", coordinator=asker)
    v1 = cluster.node(asker).record(key)
    client.put(key, b"v2", context=client.get(key, coordinator=asker).context,
               coordinator=asker)
    client.delete(key, context=client.get(key, coordinator=asker).context,
                  coordinator=asker)
    cluster.run_until_quiet()
    tombstone = cluster.storages[asker].read(key)
    assert tombstone is not None and v1 is not None
    w = Record(v1.mode, dvvset=DVVSet.of([(f"{member}~w", 1, [b"w"])], []))
    node = cluster.node(member)
    if mine is None:
        node.replica.reap(key)
    else:
        node.replica.write_local(key, v1 if mine == b"v1" else w)
    query = ReapQuery(1, key, tombstone, node.reaper.members()[1])
    (reply,) = node.reaper.on_query(cluster.sim.now, asker, query)
    assert isinstance(reply, Send) and isinstance(reply.message, ReapQueryReply)
    held = node.record(key)
    return (None if held is None else values(held)), reply.message.clean


@pytest.mark.parametrize(("mine", "replica", "expected"), [
    (b"v1", False, (None, True)),  # dominated, no replica: let go
    (b"v1", True, ([TOMBSTONE], True)),  # dominated, a replica: merges the tombstone
    (b"w", False, ([b"w"], False)),  # not dominated: kept, refuses the reap
    (b"w", True, ([b"w"], False)),
    (None, False, (None, True)),
    (None, True, (None, True)),
])
def test_a_member_asked_settles_only_a_dominated_copy(
        mine: bytes | None, replica: bool,
        expected: tuple[list[bytes] | None, bool]) -> None:
    """:meth:`impl.reaping.Reaper._settle_dominated` case by case (the mutants:
    ``keeps-dominated`` fails the first two rows, ``drops-undominated`` the third,
    a replica letting its copy go instead of merging the second)."""
    assert _asked(mine, replica=replica) == expected
