"""A replaced disk whose process restarts before it heard a peer (session 51's
review, docs/runtime.md "Review of the data probe's fixes (session 51, review)";
case 01's kind; fixed in session 52: "A replaced disk restarted at once").

3 nodes, 60 keys at W = 3, n1's disk replaced and its process crashed at the same
instant (before its first gossip's answer: in the simulator a gap of 0.001 s
still shows it, 0.01 s does not; with real processes the window is the first
round trip), restarted 0.5 s later; 1 s after, gets at R = 1 through n1. Before
the fix: seed 2, 60 of 60 not found (seed 1 too; seed 3, 0). The first start of
the new store counted incarnation 1 and was fresh (:attr:`impl.node.Node._fresh`);
the second counted 2 and was not, and 2 is a later start count than the one its
peers heard of the old disk (1), so they took it for a restart of that store
(:mod:`impl.restore_guard`): it never rebuilt and its empty copies counted
towards R. Now a store that holds nothing stays fresh across its starts until a
peer names one of them (:data:`impl.restore_guard.FRESH_UNCONFIRMED_META`), each
such start counting its generation 1: a peer that heard the old disk takes it for
a rollback and tells it, and it rebuilds.

Mutants, each run and seen failing (docs/runtime.md, the section of session 52):
the fix undone (``impl/`` of ``8b99a572``): every test here but the two that held
(one peer told it; the then open xfail, fixed in session 53 by the own token:
``tests/impl/test_own_token.py``); a fresh later start counting its incarnation
(``count=None``), the marker never written, or cleared at every start: the reads
(23 to 60 of 60 not found); ``or`` for the first ``and`` of ``_fresh`` (a store
holding keys fresh too): the other side's and the one-peer test (the then open
xfail passed); the marker not cleared when a peer names the start: the same and the
hand-driven test; the marker cleared at any gossip, or at any ``yours``: the
hand-driven test; the marker written without ``announce``: the other side's.
"""

from __future__ import annotations

import contextlib

import pytest

from impl.cluster import SimulatedCluster
from impl.errors import DynamoError

KEYS = [b"k%d" % i for i in range(60)]


def _written(seed: int) -> SimulatedCluster:
    """3 nodes, N = 3, the 60 keys at W = 3, run 3 s past quiet (every start heard
    and named)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed)
    client = cluster.client()
    for key in KEYS:
        client.put(key, b"v-" + key, w=3)
    cluster.run_until_quiet()
    cluster.run_for(3.0)
    return cluster


def _wrong_through(cluster: SimulatedCluster, name: str) -> int:
    """Gets at R = 1 through ``name`` that answer without the key's value (an
    unavailable one is not counted: never wrong)."""
    client = cluster.client(name)
    wrong = 0
    for key in KEYS:
        with contextlib.suppress(DynamoError):
            wrong += client.get(key, r=1).values != [b"v-" + key]
    return wrong


@pytest.mark.parametrize(("seed", "starts", "down"),
                         [(1, 2, 0.5), (2, 2, 0.5), (2, 3, 0.2), (2, 4, 0.2)])
def test_a_replaced_disk_restarted_at_once_still_rebuilds(
        seed: int, starts: int, down: float) -> None:
    """The review's case (2 starts, down 0.5 s between them), and a crash loop: the
    replaced disk started ``starts`` times, each crashed at once but the last,
    ``down`` s down between them; each start is fresh and counts 1, so the last is
    told. Before the fix: 60 of 60 not found in each."""
    with _written(seed) as cluster:
        cluster.wipe("n1")
        for _ in range(starts - 1):
            cluster.crash("n1")
            cluster.run_for(down)
            cluster.restart("n1")
        cluster.run_for(1.0)
        assert _wrong_through(cluster, "n1") == 0
        n1 = cluster.node("n1")
        assert n1.stats["restore-fresh-renewed"] == 1 and n1.rebuilding


def _after_a_timed_out_round(*, write: bool) -> SimulatedCluster:
    """Seed 2's 60 keys; n2 and n3 down when n1's disk is replaced, its start round
    timed out (``write``: then a put of another key through it at W = 1), n1 stopped,
    n2 and n3 started, 3 s later n1, run 0.3 s (anti-entropy filled its store by
    0.5 s)."""
    cluster = _written(2)
    cluster.crash("n2")
    cluster.crash("n3")
    cluster.wipe("n1")
    cluster.run_for(3.0)
    assert cluster.node("n1").stats["shadow-round-timeout"] == 1
    if write:
        cluster.client("n1").put(b"new", b"x", w=1)
    cluster.crash("n1")
    cluster.restart("n2")
    cluster.restart("n3")
    cluster.run_for(3.0)
    cluster.restart("n1")
    cluster.run_for(0.3)
    return cluster


def test_a_replaced_disk_restarted_after_its_round_timed_out_rebuilds() -> None:
    """n2 and n3 down when n1's disk is replaced: its start round times out (no peer
    answers, ``shadow-round-timeout``), it takes nothing, and it is stopped; n2 and
    n3 come back, then n1. Its second start is fresh still (nothing held, no peer
    named a start of it) and is told. Before the fix: 60 of 60 not found (seed 2)."""
    with _after_a_timed_out_round(write=False) as cluster:
        assert _wrong_through(cluster, "n1") == 0
        assert cluster.node("n1").stats["restore-fresh-renewed"] == 1


def test_a_replaced_disk_restarted_after_one_peer_told_it_rebuilds_again() -> None:
    """n1's replaced disk hears n2 only (cut off from n3), which tells it of the old
    disk's start: it rebuilds (no longer fresh); crashed then, restarted with n3
    reachable, it rebuilds again (:data:`impl.node.REBUILDING_META`): a start count
    above what n2 and n3 heard, and nobody tells it anything. 0 wrong before the
    fix too (session 17's restart while rebuilding): the neighbour that held.

    Session 57: it keeps its lifetime actor and is told nothing again (its renewal,
    ``store-renewed-at``, is durable: no longer fresh at the restart). Between session
    52's review and session 57 its store, still marked (n3 had not named its renewed
    start) and empty, was fresh again: counted 1, told again by n2 and renewed a second
    time (the mutant: ``renewed`` dropped from ``Node._fresh``; this test then fails
    at ``restore-fresh-renewed``, 1). Its restart counts one above its renewal."""
    with _written(2) as cluster:
        cluster.partition(["n1", "n2"], ["n3"])
        cluster.wipe("n1")
        cluster.run_for(0.5)
        assert cluster.node("n1").stats["restore-fresh-renewed"] == 1
        guard = cluster.node("n1").guard
        assert guard is not None
        renewal = int(guard.generation.partition(".")[0])
        cluster.crash("n1")
        cluster.heal()
        cluster.run_for(0.5)
        cluster.restart("n1")
        cluster.run_for(1.0)
        assert _wrong_through(cluster, "n1") == 0
        n1 = cluster.node("n1")
        # (its rebuild begun again from REBUILDING_META, its count above its renewal's)
        assert n1.rebuilding and n1.stats["restore-fresh-renewed"] == 0
        assert n1.guard is not None
        assert int(n1.guard.generation.partition(".")[0]) == renewal + 1


def test_a_store_a_peer_heard_restarted_empty_is_a_restart() -> None:
    """The other side: a brand-new cluster's node (its first start announces nothing,
    ``Node(announce=False)``: no peer can have heard an earlier store of its name, so
    no marker) restarted empty before a peer named its start is an ordinary restart;
    a replaced disk, told and rebuilt, restarted empty once its peers named its
    renewed generation, is an ordinary restart too (its count above theirs): neither
    is told of anything, neither rebuilds."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2) as cluster:
        heard = cluster.node("n2").guard
        assert heard is not None
        cluster.run_until(lambda: "n1" in heard.heard, max_time=5.0)
        assert not cluster.node("n1")._unconfirmed_fresh  # (n1 not told it was heard)
        cluster.crash("n1")
        cluster.restart("n1")
        cluster.run_for(1.0)
        n1 = cluster.node("n1")
        assert not n1._fresh and n1.stats["restore-fresh-renewed"] == 0
        assert not n1.rebuilding
        cluster.wipe("n2")
        cluster.run_for(30.0)
        n2 = cluster.node("n2")
        assert n2.stats["restore-fresh-renewed"] == 1 and not n2.rebuilding
        assert not n2._unconfirmed_fresh  # a peer named the renewed generation
        cluster.crash("n2")
        cluster.restart("n2")
        cluster.run_for(1.0)
        n2 = cluster.node("n2")
        assert not n2._fresh and n2.stats["restore-fresh-renewed"] == 0
        assert not n2.rebuilding and n2.stats["restore-set-aside"] == 0


def test_a_replaced_disk_that_took_a_write_unconfirmed_then_restarted_rebuilds() -> None:
    """Open in session 52, fixed in session 53 (the own token: docs/runtime.md, "A
    replaced disk's own writes across its restarts"): as the timed-out round above,
    but n1 takes a write (W = 1) while n2 and n3 are down. Its store holds a key at
    its restart; on session 52's tree it was not fresh, counted its start as any
    restart, above the old disk's 1, and was never told: 60 of 60 not found through
    it (seed 2). Now a marked store with its own token is fresh holding its own
    writes: it counts 1, is told, keeps the write and rebuilds."""
    with _after_a_timed_out_round(write=True) as cluster:
        assert _wrong_through(cluster, "n1") == 0
        n1 = cluster.node("n1")
        assert n1.stats["restore-fresh-renewed"] == 1 and n1.rebuilding
        assert cluster.client("n2").get(b"new", r=3).values == [b"x"]


def test_only_a_peer_naming_this_start_confirms_a_fresh_store() -> None:
    """A fresh node driven by hand: a gossip of n2 that names no start of it
    (``yours`` "", n2 heard none) or names another start of it at a lower count
    (stale news, no rollback) leaves its store fresh and unconfirmed; one naming
    this start confirms it (the marker cleared, durably). Mutants: the marker
    cleared at any gossip, or at any ``yours``."""
    from impl.messages import Gossip
    from impl.node import Node
    from impl.restore_guard import FRESH_UNCONFIRMED_META
    from impl.staging import persist
    from impl.storage.memory import MemoryStorage
    from tests.impl.test_node_driver import make_config

    storage = MemoryStorage("always")
    node = Node("n1", make_config(3), storage, seed=1, now=1.0, announce=True)
    assert node.guard is not None and node._fresh
    view = node.gossiper.view.to_bytes()
    start = node.guard.generation
    for at, src, yours in ((2.0, "n2", ""), (2.1, "n2", "0.00000000000000bb"),
                           (2.2, "n2", start), (2.3, "n3", start)):
        assert storage.get_meta(FRESH_UNCONFIRMED_META) == b"1"  # (n2 alone: n3 may
        persist(storage, node.receive(at, src, Gossip(  # have heard the old disk)
            view, reply=False, generation="1.00000000000000aa", yours=yours)))
    assert storage.get_meta(FRESH_UNCONFIRMED_META) == b"" and node._fresh
    assert node.stats["restore-fresh-renewed"] == 0
