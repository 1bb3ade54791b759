"""Session 52's review of the fresh-unconfirmed marker (docs/runtime.md "Review of
the replaced-disk restart fix (session 52, review)"; case 01's kind): a replaced
disk killed between its first start's two writes; a peer naming an earlier count
of a start; a backup of a fresh start put back with ``actor_per_start = false``
(a re-used dot); two replaced disks that confirmed each other.

The fix of session 52 wrote the store's start count (``incarnation``) and then
the marker (:data:`impl.restore_guard.FRESH_UNCONFIRMED_META`), each its own
durable write on an ``fsync="always"`` engine. A process killed between the two
left a store counting 1 start and unmarked: its next start counted 2, was not
fresh, and its peers, which heard the old disk at 1, took it for a restart (the
fault the marker was for): 60 of 60 gets at R = 1 through it not found (seed 2).
The marker is now written before the count: a crash between them leaves a
marked store with no start counted, whose next start is a first one.

Mutant (checked failing: the review's section): the two writes in their old
order (the marker after the incarnation).
"""

from __future__ import annotations

from typing import Any

import pytest

from impl.node import Node
from impl.restore_guard import FRESH_UNCONFIRMED_META, parse_generation
from impl.storage.memory import MemoryStorage
from tests.impl.test_wiped_restarted_at_once import _written, _wrong_through


class _Killed(Exception):
    """The process killed in the middle of a start."""


class _KilledAtSecondWrite:
    """``inner`` whose second write of the start count or the marker raises (the
    process killed between them; the first is durable, ``fsync="always"``)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.writes = 0

    def set_meta(self, name: str, value: bytes) -> None:
        if name in ("incarnation", FRESH_UNCONFIRMED_META):
            self.writes += 1
            if self.writes == 2:
                raise _Killed(name)
        self.inner.set_meta(name, value)

    def __len__(self) -> int:
        return len(self.inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_first_start_killed_between_its_writes_is_fresh_at_the_next() -> None:
    """Hand-driven: a new store's first start killed between the two writes; the
    next start on the store is fresh and counts its generation 1. Before: not
    fresh, count 2."""
    from tests.impl.test_node_driver import make_config

    storage = MemoryStorage("always")
    with pytest.raises(_Killed):
        Node("n1", make_config(3), _KilledAtSecondWrite(storage), seed=1, now=1.0,  # type: ignore[arg-type]
             announce=True)
    node = Node("n1", make_config(3), storage, seed=2, now=2.0, announce=True)
    assert node._fresh and node._unconfirmed_fresh
    assert node.guard is not None
    assert parse_generation(node.guard.generation) == (1, parse_generation(
        node.guard.generation)[1])  # type: ignore[index]


def test_a_replaced_disk_killed_between_its_writes_rebuilds() -> None:
    """Seed 2's 60 keys at W = 3; n1's disk replaced and its first start killed
    between the two writes, restarted 0.5 s later: told, it rebuilds, and no get
    at R = 1 through it answers not found. Before: 60 of 60."""
    with _written(2) as cluster:
        cluster.lose_disk("n1")
        with pytest.raises(_Killed):
            Node("n1", cluster.config, _KilledAtSecondWrite(cluster.storages["n1"]),  # type: ignore[arg-type]
                 seed=99, now=cluster.now, announce=True)
        cluster.run_for(0.5)
        cluster.restart("n1")
        cluster.run_for(1.0)
        assert _wrong_through(cluster, "n1") == 0
        assert cluster.node("n1").stats["restore-fresh-renewed"] == 1


def test_a_peer_naming_an_earlier_count_of_this_start_confirms_it() -> None:
    """Hand-driven: a fresh store whose generation advanced within its start
    (:func:`impl.restore_guard.advance`, as before a reap) is confirmed by a peer's
    gossip naming this start at its earlier count (the same token: the peer heard
    this start, so a later one counts above it). Mutant (checked surviving every
    other test, killed here): the marker cleared only when ``yours`` equals the
    current generation."""
    from impl.messages import Gossip
    from impl.restore_guard import advance
    from impl.staging import persist
    from tests.impl.test_node_driver import make_config

    storage = MemoryStorage("always")
    node = Node("n1", make_config(3), storage, seed=1, now=1.0, announce=True)
    assert node.guard is not None and node._unconfirmed_fresh
    start = node.guard.generation
    node.guard.generation = advance(start)
    for at, peer in ((2.0, "n2"), (2.1, "n3")):
        persist(storage, node.receive(at, peer, Gossip(
            node.gossiper.view.to_bytes(), reply=False, generation="1.00000000000000aa",
            yours=start)))
    assert storage.get_meta(FRESH_UNCONFIRMED_META) == b""
    assert not node._unconfirmed_fresh and node.stats["restore-fresh-renewed"] == 0


@pytest.mark.parametrize("seed", [1, 2])
def test_a_backup_of_a_fresh_start_put_back_mints_under_a_new_actor(seed: int) -> None:
    """Case 01's kind with ``actor_per_start = false`` (dvv): n1's disk replaced, its
    store copied at once (marked, empty); told and rebuilt, n1 takes v1 then v2 of k
    under its stored actor; the copy put back, n1 restarted (fresh, counts 1, is
    told), and 0.2 s later v3 put through it without a context. The fresh path keeps
    the actor; the stored one minted (actor, 1) again, which n2 and n3 had seen: v3,
    acknowledged, was lost everywhere (``[b'v2']``, seeds 1 and 2; the base of
    session 52's fix set the copy aside with a new actor). Now a fresh later start
    takes a new actor. Mutant: ``per_start`` as configured (this test fails)."""
    import copy

    from impl.cluster import SimulatedCluster

    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed,
                          actor_per_start=False) as cluster:
        cluster.client("n1").put(b"z", b"z")
        cluster.run_until_quiet()
        cluster.run_for(3.0)
        cluster.wipe("n1")
        backup = copy.deepcopy(cluster.storages["n1"].inner)
        first = cluster.node("n1").actor
        cluster.run_for(3.0)
        client = cluster.client("n1")
        client.put(b"k", b"v1")
        client.put(b"k", b"v2", context=client.get(b"k").context)
        cluster.run_until_quiet()
        cluster.crash("n1")
        cluster.storages["n1"].inner = backup
        cluster.restart("n1")
        assert cluster.node("n1").actor != first
        cluster.run_for(0.2)
        cluster.client("n1").put(b"k", b"v3")
        cluster.run_until_quiet()
        assert b"v3" in cluster.client("n2").get(b"k", r=3).values
        assert cluster.node("n1").stats["restore-fresh-renewed"] == 1


def test_two_replaced_disks_that_confirmed_each_other_then_one_restarted() -> None:
    """Seed 1's 60 keys at W = 3; n3 down, n1's and n2's disks replaced at once:
    each names the other's start (neither heard an earlier store of the other).
    When the first peer naming a start cleared the marker, both were cleared though
    the one peer that heard the old disks (n3) had told neither; n1 restarted
    (count 2, not fresh, above the 1 n3 heard), n3 started: nobody told n1, and its
    empty copies counted towards R: 60 of 60 not found through it at R = 1 (seed 3:
    26), on ``c9c63725`` and before it. Now the marker is cleared once every live
    peer named the start. Mutant: cleared at the first (this test fails)."""
    from impl.cluster import SimulatedCluster

    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1) as cluster:
        client = cluster.client()
        for key in [b"k%d" % i for i in range(60)]:
            client.put(key, b"v-" + key, w=3)
        cluster.run_until_quiet()
        cluster.run_for(3.0)
        cluster.crash("n3")
        cluster.wipe("n1")
        cluster.wipe("n2")
        cluster.run_for(3.0)
        cluster.crash("n1")
        cluster.run_for(0.5)
        cluster.restart("n1")
        cluster.restart("n3")
        cluster.run_for(1.0)
        assert _wrong_through(cluster, "n1") == 0
