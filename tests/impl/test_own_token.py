"""A replaced disk's own writes across its restarts (session 53; docs/runtime.md, "A
replaced disk's own writes across its restarts"; case 01's kind: kv679).

A replaced disk (a store marked fresh and unconfirmed,
:data:`impl.restore_guard.FRESH_UNCONFIRMED_META`) that took a W = 1 write before
any peer confirmed it, then restarted, held something at its restart: on session
52's tree it was not fresh, counted its start as any restart and either was never
told (its empty copies counted towards R) or, told, set aside the writes it had
acknowledged (the keys taken were tracked in memory only). Now the store draws
its *own token* at its first start (:data:`impl.restore_guard.OWN_TOKEN_META`,
durable before anything is acknowledged), every generation of it begins with the
token, and it remembers the generations it took while marked
(:data:`impl.restore_guard.OWN_GENERATIONS_META`). A marked store with its token is
fresh at its restart whatever it holds (all of it written since its empty first
start); told the old disk's start, or one of its own it took, it keeps what it
holds and rebuilds; told a start of its own token it never took (a copy put back
after the live store went on), it is set aside whole.

Mutants (one at a time, each on a copy of the tree; docs/runtime.md's section lists
what each failed), every one killed: the fix undone (``_own_held`` always False);
``unknown_own`` always False (a copy keeps its values: the reaped k back); the
generations without the own token's prefix; ``<=`` for ``<`` in ``unknown_own``;
the start's generation not remembered; an advance's not remembered; the start's
own generation not flushed (with actor epochs); the own token not drawn at the
start; a store told once still fresh holding something (``STORE_RENEWED_META``
ignored).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from impl.cluster import SimulatedCluster
from impl.messages import Gossip, PutRequest, parse_generation
from impl.node import Node
from impl.restore_guard import OWN_TOKEN_META
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.timers import ShadowRound
from tests.impl.test_node_driver import make_config

OLD_DISK = "1.00000000000000aa"  # a start of the old disk of n1, as its peers heard it


def cut_off_and_wiped() -> SimulatedCluster:
    """3 nodes (seed 1), n3 restarted six times (its peers heard count 7), then cut off
    from both peers and its disk replaced; its start round timed out."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)
    for _ in range(6):
        cluster.crash("n3")
        cluster.restart("n3")
        cluster.run_until_quiet()
    cluster.partition(["n3"], ["n1", "n2"])
    cluster.wipe("n3")
    cluster.run_for(15)  # its shadow round times out
    return cluster


def _cut_off_writes(starts: int) -> tuple[SimulatedCluster, list[bytes]]:
    """3 nodes (seed 1), n3 restarted six times (its peers heard count 7), then cut off
    from both peers and its disk replaced; its start round times out; ``starts``
    times: two puts at W = 1 through it, then (all but the last time) a crash and a
    restart, still cut off. Then healed and quiet. (the cluster, the keys put)."""
    cluster = cut_off_and_wiped()
    keys: list[bytes] = []
    for start in range(starts):
        client = cluster.client(coordinator="n3")
        for i in range(2):
            key = b"w%d.%d" % (start, i)
            client.put(key, b"x-" + key, w=1)
            keys.append(key)
        cluster.run_for(1)
        if start < starts - 1:
            cluster.crash("n3")
            cluster.restart("n3")
            cluster.run_for(10)
    cluster.heal()
    cluster.run_until_quiet()
    return cluster, keys


@pytest.mark.parametrize("starts", [2, 3, 4])
def test_a_replaced_disk_restarted_while_cut_off_keeps_the_writes_of_every_start(
        starts: int) -> None:
    """The relayed review's case, restarted once, twice and three times while cut off,
    two W = 1 puts acknowledged at each start: every one is read back at R = 3 after
    the heal, and n3 was told once and kept them (renewed, not set aside). Session
    52's tree: every put lost (its later starts not fresh, counting 2 to 4, below
    the 7 heard: told, set aside)."""
    cluster, keys = _cut_off_writes(starts)
    with cluster:
        reader = cluster.client(coordinator="n1")
        assert [reader.get(key, r=3).values for key in keys] == [
            [b"x-" + key] for key in keys]
        n3 = cluster.node("n3")
        assert n3.stats["restore-fresh-renewed"] == 1
        assert n3.stats["restore-set-aside"] == 0


def _timed_out(storage: MemoryStorage, seed: int, now: float) -> Node:
    """A start of n1 (3 nodes, announcing) on ``storage`` whose shadow round timed out
    (no peer answered)."""
    node = Node("n1", make_config(3), storage, seed=seed, now=now, announce=True)
    persist(storage, node.start(now))
    persist(storage, node.fire(now + node.config.shadow_round_s, ShadowRound()))
    while node.shadow is not None:
        persist(storage, node.fire(now + node.config.shadow_round_s, ShadowRound()))
    return node


def _told(storage: MemoryStorage, node: Node, now: float, told: str) -> None:
    """n2 and n3 gossip to ``node``, each having heard ``told`` of it last."""
    for i, peer in enumerate(("n2", "n3")):
        persist(storage, node.receive(now + i / 10, peer, Gossip(
            node.gossiper.view.to_bytes(), reply=False, generation=f"1.{i + 2}000000000000000",
            yours=told)))


def test_a_store_told_its_own_start_keeps_its_writes_and_a_copy_told_a_later_one_does_not(
        ) -> None:
    """Hand-driven n1 on a replaced disk: its start round times out and it takes a put
    at W = 1 (its store copied then: the backup). Restarted, told its first start
    (peers that heard that start, and no older store of the name): it keeps the
    write and counts above it, still holding its own (session 53's review: not
    renewed, not rebuilding). Restarted again: fresh again, told that count, kept
    again; then told the old disk's start (count 7, a peer back that heard only
    that): kept, renewed, rebuilding. The copy put back, told the renewal (a start
    of its own token it never took): set aside, the write gone from it. Mutants:
    ``unknown_own`` always False (the copy keeps it); the start's generation not
    remembered (the live store is set aside); the fix undone (the restart not fresh:
    count 2, not told); (the review's) ``_own_restart`` not called, the teller of
    its own start renewing it as before (the old disk's teller sets the write
    aside); the own restart's generation not remembered (its next restart, told it,
    is set aside)."""
    storage = MemoryStorage("always")
    first = _timed_out(storage, seed=1, now=1.0)
    persist(storage, first.client_request(5.0, PutRequest(1, b"k", b"v", w=1)))
    assert storage.read(b"k") is not None
    backup = copy.deepcopy(storage)
    assert first.guard is not None
    start = first.guard.generation

    second = _timed_out(storage, seed=2, now=10.0)
    assert second._fresh and second.guard is not None
    assert parse_generation(second.guard.generation)[0] == 1  # type: ignore[index]
    _told(storage, second, 20.0, start)
    assert second.stats["restore-own-restart"] == 1 and storage.read(b"k") is not None
    assert second.stats["restore-fresh-renewed"] == 0 and not second.rebuilding
    restarted = second.guard.generation
    assert parse_generation(restarted)[0] == 2  # type: ignore[index]

    third = _timed_out(storage, seed=3, now=30.0)
    assert third._fresh and third.guard is not None
    _told(storage, third, 40.0, restarted)
    assert third.stats["restore-own-restart"] == 1 and storage.read(b"k") is not None
    _told(storage, third, 45.0, "7.00000000000000aa")
    assert third.stats["restore-fresh-renewed"] == 1 and third.stats["restore-set-aside"] == 0
    assert storage.read(b"k") is not None and third.rebuilding
    renewed = third.guard.generation
    assert not third._fresh and parse_generation(renewed)[0] == 8  # type: ignore[index]

    put_back = _timed_out(backup, seed=4, now=50.0)
    assert put_back._fresh
    _told(backup, put_back, 60.0, renewed)
    assert put_back.stats["restore-set-aside"] == 1 and backup.read(b"k") is None
    own = storage.get_meta(OWN_TOKEN_META)  # (every generation of it begins with it)
    assert own is not None and own == backup.get_meta(OWN_TOKEN_META)
    assert all(parse_generation(generation)[1].startswith(own.decode())  # type: ignore[index]
               for generation in (start, renewed))


def test_a_store_told_its_own_advanced_start_keeps_its_writes() -> None:
    """Hand-driven n1 on a new disk whose peers heard no earlier store of its name: its
    round times out, it takes a put at W = 1, its guard is confirmed while it is still
    marked (a live member not asked has not named its start yet) and it advances its
    generation (as before a reap: :meth:`impl.node.Node._advance_generation`);
    restarted, told the advanced generation (a peer heard it), it keeps the write.
    Mutant: the advance not remembered (:func:`impl.restore_guard.remember_own` in
    ``_advance_generation`` removed): a count of its own token above the one it
    remembers, taken for a copy's, the write set aside."""
    storage = MemoryStorage("always")
    node = _timed_out(storage, seed=1, now=1.0)
    persist(storage, node.client_request(5.0, PutRequest(1, b"k", b"v", w=1)))
    assert node._unconfirmed_fresh and node.guard is not None
    # (its silent peers gossiped since, naming this start, as a member of the view
    # not asked has not: confirmed, still marked; by hand, the peers' gossip would
    # name a start no earlier store of the name preceded)
    node.guard.unconfirmed.clear()
    advanced = node._advance_generation(2.5)
    persist(storage, node.storage.take())  # type: ignore[arg-type]
    assert parse_generation(advanced)[0] == 2  # type: ignore[index]
    restarted = _timed_out(storage, seed=2, now=10.0)
    assert restarted._fresh
    _told(storage, restarted, 20.0, advanced)
    assert restarted.stats["restore-own-restart"] == 1 and storage.read(b"k") is not None


def test_a_copy_put_back_after_its_write_was_deleted_and_reaped_is_set_aside() -> None:
    """The reaped-delete case session 52 guarded: n1's disk replaced while n2 and n3
    are down, a put of k at W = 1 through it (acknowledged), its store copied; n2
    and n3 back, n1 told and rebuilt; k deleted at W = 3 and the tombstone reaped
    everywhere; the copy put back. Right: k stays deleted (a get at R = 3 finds
    nothing). Passes on session 52's tree too (the copy, not fresh, counted 2, a
    rollback of the live store's renewal); kills the mutant ``unknown_own`` always
    False (the copy kept k: ``[b"v1"]``)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1) as cluster:
        cluster.run_until_quiet()
        cluster.crash("n2")
        cluster.crash("n3")
        cluster.wipe("n1")
        cluster.run_for(3.0)
        client = cluster.client("n1")
        client.put(b"k", b"v1", w=1)
        cluster.crash("n1")
        backup = copy.deepcopy(cluster.storages["n1"].inner)
        cluster.restart("n1")
        cluster.restart("n2")
        cluster.restart("n3")
        cluster.run_until_quiet()
        client.delete(b"k", context=client.get(b"k", r=3).context, w=3)
        cluster.run_until_quiet()
        assert all(record is None for record in cluster.replicas(b"k").values())
        cluster.crash("n1")
        cluster.storages["n1"].inner = backup
        cluster.restart("n1")
        cluster.run_until_quiet()
        assert cluster.client("n2").get(b"k", r=3).values == []
        assert cluster.node("n1").stats["restore-set-aside"] == 1


class _Recording:
    """``inner`` that logs every write it takes, in order (reads pass through)."""

    def __init__(self, inner: MemoryStorage) -> None:
        self.inner = inner
        self.log: list[tuple[str, tuple[Any, ...]]] = []

    def __len__(self) -> int:
        return len(self.inner)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name not in ("write", "delete", "add_hint", "remove_hint", "set_meta", "flush"):
            return attribute

        def logged(*args: Any) -> Any:
            self.log.append((name, args))
            return attribute(*args)
        return logged


def test_no_crash_splits_a_write_from_its_ownership() -> None:
    """A replaced disk's first start, its round timed out, a put at W = 1: the store is
    killed after each of its writes in turn (every prefix replayed on a new store),
    started again and told the old disk's start (count 7, as its peers heard it).
    Wherever the value is on disk the restart is fresh holding its own
    (``_own_held``: the token and the marker are written before the start count's
    flush, before any input) and keeps it, so there is no state where the value is
    held and not owned; before the value is written, nothing is held. Session 52's
    tree: every restart holding the value not fresh, set aside, the value gone.
    Mutant: the own token not drawn at the start."""
    recording = _Recording(MemoryStorage("always"))
    node = Node("n1", make_config(3), recording, seed=1, now=1.0,  # type: ignore[arg-type]
                announce=True)
    persist(recording, node.start(1.0))  # type: ignore[arg-type]
    persist(recording, node.fire(5.0, ShadowRound()))  # type: ignore[arg-type]
    persist(recording, node.client_request(6.0, PutRequest(1, b"k", b"v", w=1)))  # type: ignore[arg-type]
    valued = [i for i, (name, args) in enumerate(recording.log)
              if name == "write" and args[0] == b"k"]
    assert valued
    for cut in range(len(recording.log) + 1):
        store = MemoryStorage("always")
        for name, args in recording.log[:cut]:
            getattr(store, name)(*args)
        held = store.read(b"k") is not None
        assert held == (cut > valued[0])
        restarted = Node("n1", make_config(3), store, seed=2, now=9.0, announce=True)
        assert restarted._fresh or not held, cut
        persist(store, restarted.start(9.0))
        _told(store, restarted, 9.5, "7.00000000000000aa")
        assert (store.read(b"k") is not None) == held, cut


def test_a_start_is_remembered_durably_before_a_peer_hears_it() -> None:
    """A buffered engine (durable at a flush): a replaced disk takes a put at W = 1,
    flushed; restarted (fresh holding its own), it announces its start, and the
    process dies before any later flush; restarted again, told that start (a peer
    that heard no earlier store of the name recorded it), it keeps the write. Mutant:
    the start's own generation not flushed (``Node.__init__``'s flush only without
    actor epochs, as before): lost with the crash, the start taken for a copy's, the
    write set aside."""
    storage = MemoryStorage("buffered")
    first = _timed_out(storage, seed=1, now=1.0)
    persist(storage, first.client_request(5.0, PutRequest(1, b"k", b"v", w=1)))
    storage.flush()
    second = Node("n1", make_config(3), storage, seed=2, now=10.0, announce=True)
    assert second._fresh and second.guard is not None
    heard = second.guard.generation  # (its announce carries it: start's Sends)
    storage.crash()
    third = _timed_out(storage, seed=3, now=20.0)
    assert third._fresh
    _told(storage, third, 30.0, heard)
    assert third.stats["restore-own-restart"] == 1 and storage.read(b"k") is not None


def test_a_damaged_own_generations_entry_reads_as_none_known() -> None:
    """A damaged ``own-generations`` entry (not JSON, not an object, a count that is
    no number) reads as no generation known as the store's own: the store still
    starts, and a peer's start of its token sets it aside (the safe side), rather
    than its start raising on its own meta (session 53, the lead's read of the
    change). Mutant: ``own_generations`` without its ``try``: raises."""
    from impl.restore_guard import OWN_GENERATIONS_META, own_generations

    for damaged in (b"{", b"[1, 2]", b'{"abcd": "x"}', b"\xff\xfe"):
        storage = MemoryStorage()
        storage.set_meta(OWN_GENERATIONS_META, damaged)
        assert own_generations(storage) == {}
