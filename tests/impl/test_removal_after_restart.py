"""A force-remove must finish under load after a survivor restarted with hint ids
below the ones it keeps (session 35's review of the restored-hint-ids fix).

A survivor tells the claimant it handed a force-removed member's ranges over once
the hints it kept *when it first looked* are out: first those for the removed
member, then those for the new owners of its ranges (the re-addressed copies among
them); "hints made later are not waited for", or a steady write load, whose shares
for the removed member keep going to fallbacks, keeps the removal unfinished for
good (``impl.gossip.Gossiper._removals_handed``; session 18's probe). Until this
review the survivor marked "kept when it first looked" by the highest hint id then
kept, since "hint ids only grow". Session 35 made every start draw the start's
first hint id (the memory engine: ``MemoryStorage.start_hints_at``; a SQLite open:
its epoch), so a restart's ids may lie below the ids the store keeps from the start
before: every hint made after the mark then sat below it and was waited for.

The scenario (5 nodes, N = 3, R = W = 2, seed 1): n5 crashed for good, 40 keys
written (n3 keeps hints for n5); n3 restarted, n4 crashed, 40 keys written (n3
keeps hints for n4 and n5 under its second start's ids); n3 restarted again (its
third start's draw is below its second's: ``BELOW``); n5 force-removed; a
sequential client does read-modify-write every 20 ms, n4 restarted at the 100th.
Before the fix the removal was still unfinished after 1,500 steps (30 s of load)
with the memory engine, with n3's marks stuck at its second start's ids; on the
tree before session 35 it settled at step 306 (SQLite, seed 1: stuck at 1,500
as well).
"""

from __future__ import annotations

import collections
import random
from pathlib import Path

import pytest

from impl.cluster import SimulatedCluster, StorageKind
from impl.config import ClusterConfig
from impl.gossip import Gossiper
from impl.hints import HintStore
from impl.membership import MemberStatus
from impl.storage.memory import MemoryStorage
from impl.storage.sqlite import SqliteStorage
from tests.impl.test_mutation_gaps_gossip import R1, R2, R3, moving_to
from tests.impl.test_node_driver import make_config

KEYS = [b"k%d" % i for i in range(40)]
SURVIVOR = "n3"


def _gossiper(storage: MemoryStorage, config: ClusterConfig) -> Gossiper:
    stats: collections.Counter[str] = collections.Counter()
    return Gossiper("n1", config, storage, HintStore(storage, stats), random.Random(1),
                    stats, collections.deque(maxlen=100))


def _restarted_below_a_kept_hint() -> tuple[Gossiper, MemoryStorage]:
    """n1's gossiper (6 nodes, n5 being force-removed: its ranges go to n1, n2, n6)
    on a store that keeps a hint for n3 (down) from a start whose ids were drawn
    above the ones of the start now (2**40 against 2**33)."""
    storage = MemoryStorage()
    storage.start_hints_at(1 << 40)
    storage.add_hint("n3", b"j", R1)  # from the start before
    storage.start_hints_at(1 << 33)  # this start's draw: below the kept hint
    g = _gossiper(storage, make_config(6))
    g._apply(g.view.announce("n5", status=MemberStatus.REMOVING))
    assert "n6" in g._removal_new_owners("n5")
    return g, storage


def test_a_hint_for_the_removed_node_made_after_the_first_look_is_not_waited_for() -> None:
    """A hint for n5 kept at the first look holds the removal back until it is out;
    one made after it, numbered below the store's highest kept id, does not."""
    g, storage = _restarted_below_a_kept_hint()
    first = storage.add_hint("n5", b"k", R1)
    assert not g._removal_hints_out("n5", g.hints.pending_for())
    g.hints.remove(first)  # re-addressed or delivered
    later = storage.add_hint("n5", b"k", R2)  # a write's share for n5 since
    assert later < 1 << 40
    assert g._removal_hints_out("n5", g.hints.pending_for())


def test_a_hint_for_a_new_owner_made_after_the_second_look_is_not_waited_for() -> None:
    """A hint for n6 (a new owner) kept at the second look holds the removal back
    until it is out; one made after it, numbered below the kept hint for n3, does
    not (``test_a_hint_made_after_the_second_mark_is_not_waited_for_even_at_0``'s
    rule with a store that keeps a hint numbered above the start's)."""
    g, storage = _restarted_below_a_kept_hint()
    key = moving_to("n6", g, moves=True)  # (session 55: a key it gains)
    noted = storage.add_hint("n6", key, R1)
    assert not g._removal_hints_out("n5", g.hints.pending_for())
    later = storage.add_hint("n6", key, R3)  # a write's share for n6 since
    assert later < 1 << 40
    g.hints.remove(noted)
    assert g._removal_hints_out("n5", g.hints.pending_for())


def test_a_hint_for_a_new_owner_of_a_key_it_owned_before_is_not_waited_for() -> None:
    """Session 55: the second look notes only the hints that move a key to a new
    owner (:meth:`impl.gossip.Gossiper._hint_ids_moving`). A put's fallback's hint
    for n6 of a key n6 owns on both rings moves nothing, and a rebuilding n6
    withholds its ack until it rebuilt the range, which may wait for the removal
    (the sweep's history 402 never settled). Mutant (run, seen failing): the second
    look noting every hint for a new owner (``_hint_ids_for``): not out."""
    g, storage = _restarted_below_a_kept_hint()
    storage.add_hint("n6", moving_to("n6", g, moves=False), R1)
    assert g._removal_hints_out("n5", g.hints.pending_for())  # the first look: n5's
    assert g._removal_hints_out("n5", g.hints.pending_for())


def test_the_looks_read_every_page_of_heads() -> None:
    """The ids noted for a node and a noted id kept are found past the first page of
    heads (4,096): 4,096 hints for n3 come first."""
    g, storage = _restarted_below_a_kept_hint()
    for _ in range(4096):
        storage.add_hint("n3", b"k", R2)
    last = storage.add_hint("n5", b"k", R1)
    assert g._hint_ids_for({"n5"}) == {last}
    assert g._any_kept(frozenset({last}))


def _status(cluster: SimulatedCluster) -> tuple[MemberStatus, bool]:
    member = cluster.node("n1").view.get("n5")
    assert member is not None
    return member.status, member.settled


def _below(cluster: SimulatedCluster) -> bool:
    """Whether the survivor's store keeps a hint above the id its next hint takes."""
    store = cluster.storages[SURVIVOR].inner
    kept = max(hint.hint_id for hint in store.hints())
    if isinstance(store, MemoryStorage):
        return store._next_hint_id < kept
    assert isinstance(store, SqliteStorage)
    return (store._epoch << 32 | store._sequence + 1) < kept


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_a_removal_finishes_under_load_after_a_restart_numbered_below_its_kept_hints(
        storage: StorageKind, tmp_path: Path) -> None:
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, storage=storage,
                          storage_dir=tmp_path / "data") as cluster:
        cluster.run_for(3.0)
        writer = cluster.client("n1")
        for key in KEYS[:20]:
            writer.put(key, b"a-" + key)
        cluster.crash("n5")
        cluster.run_for(13.0)
        for key in KEYS[20:]:
            writer.put(key, b"b-" + key)
        cluster.crash(SURVIVOR)
        cluster.restart(SURVIVOR)
        cluster.run_for(5.0)
        cluster.crash("n4")
        cluster.run_for(13.0)
        for key in KEYS:
            writer.put(key, b"c-" + key)
        cluster.crash(SURVIVOR)
        cluster.restart(SURVIVOR)
        cluster.run_for(5.0)
        assert _below(cluster), "the scenario's point: n3's new ids lie below its kept ones"
        cluster.force_remove("n1", "n5")
        client = cluster.client("n2")
        step = 0
        while _status(cluster) != (MemberStatus.REMOVED, True):
            assert step < 1000, (f"the removal did not finish under the load: n3's marks "
                                 f"{cluster.node(SURVIVOR).gossiper.removal_marks}")
            if step == 100:
                cluster.restart("n4")
            key = KEYS[step % len(KEYS)]
            got = client.get(key)
            client.put(key, b"x%d" % step, got.context)
            step += 1
            cluster.run_for(0.02)
