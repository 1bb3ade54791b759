"""A tombstone that reaches a replica late is reaped (session 21's data probe).

``delete_mode = "safe"`` reaps a tombstone once a coordinator saw all N of the
key's targets hold it: the delete's own coordinator, when all N acknowledged it,
or a later get. A key deleted while one of its replicas was down or cut off was
acknowledged by the others only; the missed replica got the tombstone later (a
hint's delivery, a read repair, anti-entropy), and then nothing asked: the
tombstone stayed on every replica for good unless a client read the key again.
Riak has the same hole (riak_kv#1336: "the tombstone is not reaped ... in use cases
where keys are not reused, as there will be no future read of the key to reattempt
reaping"; riak_kv#1850, deletes during a handoff). Before: 3 nodes, 20 keys deleted
while n3 was down, n3 back, the cluster quiet and 120 s more: **60 of 60** tombstone
copies left (dvv and lww; the same with n3 cut off instead of down); 5 nodes: 36
(the 8 keys whose top N does not hold n3 were reaped). Now a replica whose copy a
hint, a read repair or anti-entropy left holding tombstones only reads the key from
all N targets (:meth:`impl.node.Node._reap_checks`), and that get's end schedules
the reap when every target answered itself with the tombstone: 0 left, no value
back. The reap's own query round still asks every member, so a live sibling (a put
concurrent with the delete) is never reaped.
"""

from __future__ import annotations

import pytest

from impl import SimulatedCluster
from impl.versions import TOMBSTONE, values

KEYS = tuple(b"k%d" % i for i in range(20))


def _copies(cluster: SimulatedCluster) -> int:
    """The records of :data:`KEYS` stored on the up members."""
    return sum(cluster.storages[name].read(key) is not None
               for name in cluster.sim.members if not cluster.is_down(name) for key in KEYS)


def _deleted_while_n3_missed_it(clock: str, nodes: int, how: str, seed: int = 1
                                ) -> SimulatedCluster:
    """Every key of :data:`KEYS` written at W = 3, then deleted with a get's context
    at W = 2 while n3 is down (``how = "down"``) or cut off (``"cut"``); n3 back,
    the cluster quiet, and 120 s more (every reap timer due by then)."""
    cluster = SimulatedCluster(nodes=nodes, n=3, r=2, w=2, seed=seed, clock=clock,
                               tombstone_grace_s=1.0)
    client = cluster.client()
    for key in KEYS:
        client.put(key, b"v-" + key, w=3)
    cluster.run_until_quiet()
    contexts = {key: client.get(key, r=3).context for key in KEYS}
    if how == "down":
        cluster.crash("n3")
    else:
        cluster.partition({"n3"}, set(cluster.node_names) - {"n3"})
    cluster.run_for(4.0)
    for key in KEYS:
        cluster.client().delete(key, context=contexts[key], w=2)
    cluster.run_for(5.0)
    if how == "down":
        cluster.restart("n3")
    else:
        cluster.heal()
    cluster.run_until_quiet()
    cluster.run_for(120.0)
    cluster.run_until_quiet()
    return cluster


@pytest.mark.parametrize(("clock", "nodes", "how"), [
    ("dvv", 3, "down"),  # before: 60 of 60 copies left
    ("dvv", 3, "cut"),  # 60
    ("dvv", 5, "down"),  # 36 (the hints delivered to n3 on its return)
    ("dvv", 5, "cut"),  # 36; 9 when the check's get asks fallbacks for targets it suspects
    ("lww", 3, "down"),  # 60
])
def test_a_key_deleted_while_a_replica_was_down_is_reaped_once_it_is_back(
        clock: str, nodes: int, how: str) -> None:
    cluster = _deleted_while_n3_missed_it(clock, nodes, how)
    assert _copies(cluster) == 0
    assert sum(cluster.node(name).stats["reap-checks"] for name in cluster.sim.members) > 0
    reader = cluster.client()
    assert [key for key in KEYS if reader.get(key, r=3).values] == []
    cluster.run_until_quiet()
    assert _copies(cluster) == 0  # and no value came back


def _six_keys_written(clock: str) -> tuple[SimulatedCluster, dict[bytes, bytes]]:
    """3 nodes, the first six keys written at W = 3: (the cluster, each key's context
    read at R = 3)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock=clock,
                               tombstone_grace_s=1.0)
    client = cluster.client()
    for key in KEYS[:6]:
        client.put(key, b"v1", w=3)
    cluster.run_until_quiet()
    return cluster, {key: client.get(key, r=3).context for key in KEYS[:6]}


@pytest.mark.parametrize("clock", ["dvv", "client-vclock"])
def test_a_put_concurrent_with_the_delete_is_kept_and_never_reaped(clock: str) -> None:
    """n3, cut off, takes a blind put of each key at W = 1 while the others delete
    it: after the heal every replica holds the put beside the tombstone (a sibling,
    paper 4.4); the reap checks must not remove it, nor bring the deleted value
    back."""
    cluster, contexts = _six_keys_written(clock)
    cluster.partition({"n3"}, {"n1", "n2"})
    for key in KEYS[:6]:
        cluster.client("n3", client_id="bob").put(key, b"v2", w=1)
        cluster.client("n1", client_id="carol").delete(key, context=contexts[key], w=2)
    cluster.run_for(5.0)
    cluster.heal()
    cluster.run_until_quiet()
    cluster.run_for(60.0)
    cluster.run_until_quiet()
    reader = cluster.client()
    assert {key: reader.get(key, r=3).values for key in KEYS[:6]} == {
        key: [b"v2"] for key in KEYS[:6]}
    for key in KEYS[:6]:
        for name, record in cluster.replicas(key).items():
            assert record is not None and b"v2" in values(record), (key, name)


def test_a_delete_every_replica_acknowledged_needs_no_reap_check() -> None:
    """The checks are for late copies only: a delete all N acknowledged is scheduled
    by its coordinator, and nobody reads the key again for it."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, tombstone_grace_s=1.0)
    client = cluster.client()
    for key in KEYS[:6]:
        client.put(key, b"v1", w=3)
    cluster.run_until_quiet()
    for key in KEYS[:6]:
        client.delete(key, context=client.get(key, r=3).context, w=3)
    cluster.run_until_quiet()
    assert _copies(cluster) == 0
    assert [cluster.node(name).stats["reap-checks"] for name in cluster.node_names] == [0, 0, 0]


def test_a_check_while_a_target_is_down_reaps_nothing_and_keeps_the_tombstone() -> None:
    """n3 gets the tombstone late while n2 is down: its check cannot read every
    target, so nothing is reaped (n2 might hold anything); the tombstones stay and
    cover the value (a get at R = 2 answers not found)."""
    cluster, contexts = _six_keys_written("dvv")
    cluster.partition({"n3"}, {"n1", "n2"})
    for key in KEYS[:6]:
        cluster.client("n1").delete(key, context=contexts[key], w=2)
    cluster.run_for(2.0)
    cluster.crash("n2")
    cluster.heal()
    cluster.run_for(60.0)
    held = [cluster.node("n3").record(key) for key in KEYS[:6]]
    assert all(record is not None and values(record) == [TOMBSTONE] for record in held)
    assert [key for key in KEYS[:6] if cluster.client("n1").get(key).values] == []


@pytest.mark.parametrize("clock", ["dvv", "lww"])
def test_a_delete_whose_last_acknowledgement_was_lost_is_reaped(clock: str) -> None:
    """n3 stores each delete's tombstone, but its acknowledgements to the coordinator
    n1 are lost (a one-way cut; on real processes, n3 restarted just as the deletes
    were sent: its startup shadow round held the coordinator's retried writes until
    the coordination had ended). Every replica holds the tombstone, none got it
    late, and the coordinator never heard all N: before, 60 of 60 copies stayed
    (dvv and lww; the same with the late-copy checks alone). Now a delete's
    coordination that ends without every target's acknowledgement sets a
    :class:`~impl.timers.ReapCheck` (:meth:`impl.put_coordinator.PutCoordinator.on_timeout`)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock=clock,
                               tombstone_grace_s=1.0)
    client = cluster.client("n1")
    for key in KEYS:
        client.put(key, b"v", w=3)
    cluster.run_until_quiet()
    contexts = {key: client.get(key, r=3).context for key in KEYS}
    cluster.partition_one_way({"n3"}, {"n1"})
    for key in KEYS:
        client.delete(key, context=contexts[key], w=2)
    cluster.run_for(3.0)
    cluster.heal()
    cluster.run_until_quiet()
    cluster.run_for(60.0)
    cluster.run_until_quiet()
    assert _copies(cluster) == 0
    assert cluster.node("n1").stats["reap-checks"] == len(KEYS)
    assert [key for key in KEYS if cluster.client().get(key, r=3).values] == []


def test_a_check_that_cannot_read_a_rebuilding_replica_is_tried_again() -> None:
    """n3 down during the deletes, back, and 0.5 s later n2's disk is replaced: the
    checks of n3's late copies (and the deletes' own) meet n2 rebuilding, which
    answers no replica read of a range it has not rebuilt (:mod:`impl.rebuild`), so
    they end short of a target. Each is tried again, the wait doubling from
    ``max(tombstone_grace_s, request_timeout)``, 8 checks at most. Before the
    retries, 9 copies (3 keys) stayed for good (seed 1)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, tombstone_grace_s=1.0)
    client = cluster.client("n1")
    for key in KEYS:
        client.put(key, b"v", w=3)
    cluster.run_until_quiet()
    contexts = {key: client.get(key, r=3).context for key in KEYS}
    cluster.crash("n3")
    cluster.run_for(4.0)
    for key in KEYS:
        client.delete(key, context=contexts[key], w=2)
    cluster.run_for(3.0)
    cluster.restart("n3")
    cluster.run_for(0.5)
    cluster.wipe("n2")
    cluster.run_until_quiet()
    cluster.run_for(120.0)
    cluster.run_until_quiet()
    assert _copies(cluster) == 0
    assert sum(cluster.node(name).stats["reap-check-retries"] for name in cluster.node_names) > 0
    assert [key for key in KEYS if cluster.client().get(key, r=3).values] == []
