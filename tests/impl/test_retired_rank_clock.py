"""A lifetime's rank is its start time (session 49; docs/dvv.md, "A replaced disk's
first lifetime ranks by its clock (session 49)").

A node retires each lifetime actor at a rank, and pruning takes a node's retired
lifetimes oldest rank first (``impl.versions.prune_retired``). Ranks counted the
store's starts (session 33) and, since session 48, what the store heard of its node's
ranks; a replaced disk restarted before a peer told it anything (cut off) retired its
first lifetime at rank 1, below the old disk's, and the byte budget dropped the
newest lifetime's emptied entries first: a stale copy brought back eight superseded
values (seed 24 of ``bench/retired_rank_histories.py``, :func:`rank_history` here).
Now a lifetime ranks by its start time in milliseconds where that is higher
(``impl.versions.lifetime_rank``): a node's lifetimes rank in the order they started,
across its disks, as long as its hosts' clocks do.

Mutants checked (each fails the named tests): ``lifetime_rank`` without the clock
(the floors alone: the rule before) fails
``test_seed_24_a_replaced_disk_cut_off_brings_back_no_superseded_value`` (8 values
back), ``test_a_restored_backups_new_lifetime_ranks_above_the_live_disks_later_ones``
and ``tests/impl/test_retired_rank_review.py``'s replaced-disk test; the clock
without the floors (``max(millis, *floors)`` as ``millis or floors[0]``) fails
``test_the_ranks_of_one_store_only_go_up``; the clock term taken whatever ``now``
(``int(clock)``: no range check) fails ``test_a_clock_out_of_range_counts_as_none``
(inf, -inf, NaN, 2**62), its upper bound alone dropped the 2**62 case; the
retirement not reading ``RANK_META`` (``_stored_rank`` 0) fails the backup test and
seed 24.
"""

from __future__ import annotations

import copy
import math
import random
import tempfile
from typing import Any

import pytest

from impl.cluster import SimulatedCluster
from impl.storage.memory import MemoryStorage
from impl.versions import (
    ACTOR_META,
    LIFETIMES_META,
    MINTED_META,
    RANK_META,
    SHARED_CLIENT_ID,
    lifetime_actor,
    lifetime_rank,
    read_retired,
)
from tests.impl.test_dvv_pair_dots_review import _random_history

#: (acknowledged writes absent that no put or delete covered, superseded values
#: present, the faults: (step, kind, node))
Outcome = tuple[list[bytes], list[bytes], list[tuple[int, str, str]]]


def rank_history(seed: int, steps: int, clients: tuple[str, ...], *, restores: bool = True,
                 wipe_skew: float = 0.0, clock_base: float = 0.0,
                 **cluster_options: Any) -> Outcome:
    """Session 48's review history (``bench/retired_rank_histories.py`` runs it over
    seeds): ``tests.impl.test_dvv_pair_dots_review._random_history`` of ``clients``
    on 3 nodes, a tenth of the steps drawing a fault: a partition of one node from
    the others or a heal (0.55), else, of a node up, a wipe, a backup of its store
    taken at a crash-restart or a restore of it at a later one (memory engine and
    ``restores`` only), or a crash-restart. ``clock_base`` (seconds): every node's
    clock runs that far ahead from the first fault drawn on (a wall clock's epoch:
    the simulator's time starts at 0); ``wipe_skew`` (seconds): a wiped node's clock
    runs that far ahead of the others (negative: behind) from its replaced disk's
    first start on, as a replacement host's clock would (session 49's review)."""
    backups: dict[str, Any] = {}
    events: list[tuple[int, str, str]] = []
    based: list[int] = []
    memory = restores and cluster_options.get("storage", "memory") == "memory"

    def fault(cluster: SimulatedCluster, rng: random.Random, step: int) -> None:
        nodes = cluster.node_names
        if clock_base and not events and not based:
            based.append(step)
            for name in nodes:
                cluster.set_skew(name, clock_base)
        kind, node = rng.random(), rng.choice(nodes)
        if kind < 0.55:  # a partition of one node from the others, or a heal
            (cluster.heal if kind >= 0.3 else
             lambda: cluster.partition([node], [n for n in nodes if n != node]))()
            return
        if cluster.is_down(node):
            return
        label = ("wipe" if kind < 0.65 else "backup" if memory and kind < 0.75 else
                 "restore" if memory and kind < 0.85 and node in backups else "restart")
        events.append((step, label, node))
        if label == "wipe":
            if wipe_skew:
                cluster.lose_disk(node)
                cluster.set_skew(node, clock_base + wipe_skew)
                cluster.restart(node)
            else:
                cluster.wipe(node)
            return
        cluster.crash(node)
        if label == "backup":
            backups[node] = copy.deepcopy(cluster.storages[node].inner)
        elif label == "restore":
            cluster.storages[node].inner = copy.deepcopy(backups[node])
        cluster.restart(node)

    with tempfile.TemporaryDirectory(prefix="vdynamo-ranks-") as directory:
        if cluster_options.get("storage") == "sqlite":
            cluster_options["storage_dir"] = directory
        lost, back = _random_history(seed, steps, clients, fault_rate=0.1, fault=fault,
                                     **cluster_options)
    return lost, back, events


def test_seed_24_a_replaced_disk_cut_off_brings_back_no_superseded_value() -> None:
    """Seed 24 (0.3 CPU-s): n1 wiped at step 103 while cut off from both peers and
    restarted at 127 still cut off; its replaced disk's first lifetime now ranks by
    its start time, above the old disk's, and pruning drops the old disk's first.
    Before: eight superseded values back (``http-107`` ... ``http-126``)."""
    lost, back, events = rank_history(24, 200, (SHARED_CLIENT_ID,) * 12)
    assert (103, "wipe", "n1") in events and (127, "restart", "n1") in events  # premise
    assert lost == [] and back == []


def test_a_lifetime_ranks_by_its_start_in_milliseconds_or_its_floors() -> None:
    assert lifetime_rank(1.5, 1) == 1500
    assert lifetime_rank(1_765_000_000.25, 7) == 1_765_000_000_250  # a wall clock
    assert lifetime_rank(0.0, 3, 9, 2) == 9
    assert lifetime_rank(2.0, 2001) == 2001


@pytest.mark.parametrize("now", [-5.0, math.inf, -math.inf, math.nan, float(1 << 62)])
def test_a_clock_out_of_range_counts_as_none(now: float) -> None:
    """A negative, infinite or NaN clock, or one past 2**62 milliseconds (ranks from
    there are not counted as heard, ``_RANK_TRUSTED_BELOW``), adds nothing."""
    assert lifetime_rank(now, 4) == 4


def test_the_ranks_of_one_store_only_go_up() -> None:
    """Starts in one millisecond, and a clock set back, count one above the lifetime
    before; the clock counts again once it passes it."""
    storage = MemoryStorage()
    actors = [lifetime_actor(storage, "n1", seed=1, now=now)
              for now in (5.0, 5.0, 5.0, 1.0, 7.0, 7.0)]
    ranks = read_retired(storage)
    assert [ranks[actor] for actor in actors[:-1]] == [5000, 5001, 5002, 5003, 7000]
    assert storage.get_meta(RANK_META) == b"7001"


def test_a_store_of_before_session_49_retires_its_lifetime_at_its_count() -> None:
    """A store written before ``RANK_META`` was kept (session 48: its start count, raised
    by the ranks heard) retires its live lifetime at that count, and its next one
    ranks by the clock."""
    storage = MemoryStorage()
    old = "n1~0123456789ab"
    for meta, value in ((ACTOR_META, old), (MINTED_META, old), (LIFETIMES_META, "5")):
        storage.set_meta(meta, value.encode())
    new = lifetime_actor(storage, "n1", seed=1, now=3.0)
    lifetime_actor(storage, "n1", seed=1, now=4.0)
    assert read_retired(storage) == {old: 5, new: 3000}


def test_a_restored_backups_new_lifetime_ranks_above_the_live_disks_later_ones() -> None:
    """A backup of a store put back after two more starts (its start count repeats
    the backup's): the lifetime it retires keeps the rank the live store gave it,
    and its new lifetime ranks above the live store's later ones (by count it tied
    with the first of them, by name)."""
    storage = MemoryStorage()
    first = lifetime_actor(storage, "n1", seed=1, now=10.0)
    second = lifetime_actor(storage, "n1", seed=1, now=20.0)
    backup = copy.deepcopy(storage)
    third = lifetime_actor(storage, "n1", seed=1, now=30.0)
    lifetime_actor(storage, "n1", seed=1, now=40.0)
    live = read_retired(storage)
    assert live == {first: 10_000, second: 20_000, third: 30_000}
    restored = lifetime_actor(backup, "n1", seed=1, now=50.0)
    lifetime_actor(backup, "n1", seed=1, now=60.0)
    ranks = read_retired(backup)
    assert ranks[second] == live[second]
    assert ranks[restored] == 50_000 > max(live.values())
