"""Review of the own token (session 53, review; docs/runtime.md, "Review of the own
token"; case 01's kind: an acknowledged write lost).

Two replaced disks at once while the third replica is down: n1 and n2 (each restarted
once before, so n3 heard count 2 of each old disk) lose their disks while n3 is down;
each new store is marked fresh and unconfirmed (n3 never names its start) and takes
writes through n1; each is restarted once (fresh, holding its own writes: count 1) and
the other, which heard only its first start (it never heard the old disk), tells it
that start. On the own token's tree (``dfa50ddb``) that tell renewed the store as a
peer of the old disk would (count 2, ``store-renewed-at`` set, not fresh any more);
n3 came back and told each the old disk's count 2, a rollback of the renewal, and
each set aside what it held: every acknowledged write lost (5 of 5, seeds 3 and 4,
every clock mode, W = 1 and W = 2). Now a store holding its own writes told a start
of its own lifetime (:func:`impl.restore_guard.took_own`) counts above it and stays
what it was (:meth:`impl.node.Node._own_restart`), so the old disk's teller later
finds it fresh and it keeps its writes.

Mutants (each run on a copy of the tree): ``_own_restart`` never called (the
renewal as before): both tests here fail (5 of 5 lost), and three of
``test_own_token.py``; its generation not remembered (``remember_own`` dropped in
``_own_restart``): survives here (one restart each), killed by
``test_own_token.py``'s hand-driven test (the next restart, told it, set aside).
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.errors import StorageError
from impl.messages import PutRequest
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from tests.impl.test_own_token import _timed_out, _told


def _two_replaced_disks(seed: int, clock: str, w: int) -> tuple[SimulatedCluster, list[bytes]]:
    """3 nodes; n1 and n2 restarted once; n3 down; n1's and n2's disks replaced; five
    puts at ``w`` through n1; n1, then n2 crashed and restarted; n3 back; quiet.
    (the cluster, the keys whose puts were acknowledged)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed, clock=clock)
    for name in ("n1", "n2"):
        cluster.crash(name)
        cluster.restart(name)
        cluster.run_until_quiet()
    cluster.crash("n3")
    cluster.lose_disk("n1")
    cluster.lose_disk("n2")
    cluster.restart("n1")
    cluster.restart("n2")
    cluster.run_for(15)  # the shadow rounds time out (n3 silent)
    client = cluster.client("n1")
    keys = [b"k%d" % i for i in range(5)]
    for key in keys:
        client.put(key, b"v-" + key, w=w)
    cluster.run_for(2)
    for name in ("n1", "n2"):
        cluster.crash(name)
        cluster.restart(name)
        cluster.run_for(3)
    cluster.restart("n3")
    cluster.run_until_quiet()
    return cluster, keys


@pytest.mark.parametrize(("seed", "clock", "w"), [(3, "dvv", 2), (4, "lww", 1)])
def test_two_replaced_disks_restarted_keep_their_writes_when_the_old_disks_peer_returns(
        seed: int, clock: str, w: int) -> None:
    """Every acknowledged put is read back at R = 3 once quiet; each replaced store
    was told its own start once (``restore-own-restart``), then the old disk's
    (renewed, nothing set aside). On ``dfa50ddb``: 5 of 5 lost, each store set aside."""
    cluster, keys = _two_replaced_disks(seed, clock, w)
    with cluster:
        reader = cluster.client("n3")
        assert [reader.get(key, r=3).values for key in keys] == [
            [b"v-" + key] for key in keys]
        for name in ("n1", "n2"):
            stats = cluster.node(name).stats
            assert stats["restore-set-aside"] == 0, name
            assert stats["restore-own-restart"] == 1, name
            assert stats["restore-fresh-renewed"] == 1, name


def test_an_advance_whose_writes_failed_is_remembered_with_its_count() -> None:
    """Hand-driven n1 on a replaced disk (its round timed out, a put at W = 1, still
    marked, confirmed): it advances its generation (as before a reap) and the
    driver's write of that input fails (a full disk); under group commit a peer may
    have heard the advanced count already (:meth:`impl.node.Node._restage_generation`
    stages the count again for that reason). Restarted, told that count, it keeps the
    write (its own restart). Before: only the count was staged again, not its
    remembrance (``own-generations``), so the restart took the count for a copy's
    start and set the write aside. Mutant: ``_restage_generation`` without
    ``remember_own`` (the same)."""
    storage = MemoryStorage("always")
    node = _timed_out(storage, seed=1, now=1.0)
    persist(storage, node.client_request(5.0, PutRequest(1, b"k", b"v", w=1)))
    assert node._unconfirmed_fresh and node.guard is not None
    node.guard.unconfirmed.clear()  # (its silent peers gossiped since: confirmed)
    advanced = node._advance_generation(6.0)
    node.storage.take()  # the driver's write of them failed: none performed
    node.persist_failed(6.0, StorageError("disk full"))
    persist(storage, node.storage.take())  # type: ignore[arg-type]
    assert storage.get_meta("incarnation") == b"2"
    restarted = _timed_out(storage, seed=2, now=10.0)
    assert restarted._fresh
    _told(storage, restarted, 20.0, advanced)
    assert restarted.stats["restore-set-aside"] == 0
    assert restarted.stats["restore-own-restart"] == 1 and storage.read(b"k") is not None


def test_a_store_renewed_by_the_old_disks_teller_is_above_its_own_earlier_starts() -> None:
    """Hand-driven n1 on a replaced disk: a put at W = 1; restarted, told that start
    (its own restart, count 2); restarted again and told the old disk's start at
    count 1 (a peer that heard only that): it keeps the write and renews; then told
    its own count 2 (a peer that heard the first restart): no later start, nothing
    set aside. Before: the renewal counted 2 (one above the count told), the own 2
    a rollback of it, the write set aside (found by a random history: 4 nodes, seed
    16, two of 11 acknowledged W = 1 puts lost in every clock mode). Mutant:
    ``above_own`` counting above the told count only (the same)."""
    storage = MemoryStorage("always")
    first = _timed_out(storage, seed=1, now=1.0)
    persist(storage, first.client_request(5.0, PutRequest(1, b"k", b"v", w=1)))
    assert first.guard is not None
    second = _timed_out(storage, seed=2, now=10.0)
    _told(storage, second, 20.0, first.guard.generation)
    assert second.guard is not None and second.stats["restore-own-restart"] == 1
    own_restart = second.guard.generation
    third = _timed_out(storage, seed=3, now=30.0)
    _told(storage, third, 40.0, "1.00000000000000aa")
    assert third.stats["restore-fresh-renewed"] == 1 and storage.read(b"k") is not None
    _told(storage, third, 45.0, own_restart)
    assert third.stats["restore-set-aside"] == 0 and storage.read(b"k") is not None
