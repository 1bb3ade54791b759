"""The rank a replaced disk retires its lifetimes at (session 48; the review of the
shared id's fresh pairs, docs/dvv.md, seed 141 of
``tests/impl/test_shared_id_fresh_pairs_review.py``).

A lifetime actor is retired at the next start with a rank, the store's start count
it was minted at (``impl.versions.lifetime_actor``), and pruning takes a node's
lifetimes oldest first by rank, ties by name (``prune_retired``). A replaced disk
counts its starts from 1 again, so its first lifetime, retired at rank 1, tied with
the lifetime the old disk had retired at rank 1 and, its name the smaller, counted
as the older: pruning dropped the entries of the lifetime just retired, and a copy
that missed the put superseding their values brought them back. Now a lifetime is
retired above every lifetime of its node the store retired or heard of (its
``RETIRED_META`` and, from gossip, ``RETIRED_KNOWN_META``), and later starts count
on from there. Mutant checked: the rule before (``_highest_own_rank`` unused) fails
the first test here and seed 141 (the second is its control)."""

from __future__ import annotations

from impl.storage.memory import MemoryStorage
from impl.versions import RETIRED_KNOWN_META, encode_retired, lifetime_actor, read_retired


def test_a_replaced_disk_retires_its_first_lifetime_above_the_old_disks() -> None:
    """The ranks heard raise a replaced disk's (session 48), also where its host's clock
    is behind the old one's (session 49: the start time alone would rank it below)."""
    old = MemoryStorage()
    first = lifetime_actor(old, "n2", seed=1, now=100.0)
    second = lifetime_actor(old, "n2", seed=1, now=101.0)
    assert read_retired(old) == {first: 100_000}  # (its start, in milliseconds)
    wiped = MemoryStorage()  # the disk replaced: nothing of the old one
    replaced = lifetime_actor(wiped, "n2", seed=1, now=2.0)  # (a clock behind)
    # gossip taught it the old disk's retirements (impl.retired.RetiredActors keeps them)
    wiped.set_meta(RETIRED_KNOWN_META, encode_retired(
        {first: 100_000, second: 101_000, "n9~0123456789ab": 7_000_000}))
    lifetime_actor(wiped, "n2", seed=1, now=3.0)
    ranks = read_retired(wiped)
    assert ranks == {replaced: 101_001}  # above n2's heard (n9's is another node's)
    lifetime_actor(wiped, "n2", seed=1, now=4.0)
    assert sorted(read_retired(wiped).values()) == [101_001, 101_002]  # and on from there


def test_a_store_that_heard_nothing_ranks_its_lifetimes_by_start_time_and_count() -> None:
    """A lifetime's rank is its start time in milliseconds (session 49), or one above
    the lifetime before where the clock did not go up (starts in one millisecond, a
    clock set back): one store's ranks only go up."""
    storage = MemoryStorage()
    actors = [lifetime_actor(storage, "n1", seed=1, now=float(t)) for t in range(4)]
    assert read_retired(storage) == {actors[0]: 1, actors[1]: 1000, actors[2]: 2000}
    actors += [lifetime_actor(storage, "n1", seed=1, now=now) for now in (3.0, 1.0, 9.5)]
    assert [read_retired(storage)[actor] for actor in actors[3:6]] == [3000, 3001, 3002]
    lifetime_actor(storage, "n1", seed=1, now=10.0)
    assert read_retired(storage)[actors[6]] == 9500
