"""Review of the ranks retired lifetimes are kept at (session 48, review of
``impl.versions.lifetime_actor``'s "above every lifetime of its node the store
retired or heard of"; docs/dvv.md, "Review of the retired ranks (session 48,
review)").

Fault found: the rank a start retires the lifetime before at was the highest rank of
the node's lifetimes that the store heard of (``RETIRED_KNOWN_META``, from any peer's
gossip) plus one, unbounded. ``decode_retired`` accepts ranks below 2**63, so one
peer gossiping a lifetime of the node at 2**63 - 1 (a forged or corrupt line: the
actor need not exist) made the node's next start retire at 2**63; its
``RETIRED_META`` no longer decoded, ``read_retired`` took it for none, and every later
start wrote a malformed entry again: the node forgot and never gossiped its own
retirements, so no record dropped its lifetimes' value-less entries again (session
33's unbounded growth). Fix: heard or own ranks of 2**62 or more are not counted
(no store counts its starts that far) and a rank is clamped below 2**63.

Mutants checked (each fails a test here): the rule of the lead's commit (no bound
nor clamp: the first test, "{}"); the clamp without the bound (the first test: both
lifetimes at 2**63 - 1, unordered); the bound without the clamp (the third test:
a store whose start count is already past 2**63 forgets its retirements).
"""

from __future__ import annotations

from impl.retired import RetiredActors
from impl.storage.memory import MemoryStorage
from impl.versions import (
    LIFETIMES_META,
    RETIRED_KNOWN_META,
    decode_retired,
    encode_retired,
    lifetime_actor,
    read_retired,
)

TOP = (1 << 63) - 1  # the highest rank decode_retired accepts


def test_a_forged_top_rank_heard_leaves_the_nodes_retirements_readable_and_ordered() -> None:
    storage = MemoryStorage()
    first = lifetime_actor(storage, "n1", seed=1, now=0.0)
    known = RetiredActors(storage, first, enabled=True)
    known.take(encode_retired({"n1~000000000000": TOP}))  # one bad peer's gossip
    assert storage.get_meta(RETIRED_KNOWN_META) == b"%d n1~000000000000" % TOP
    second = lifetime_actor(storage, "n1", seed=1, now=1.0)
    third = lifetime_actor(storage, "n1", seed=1, now=2.0)
    retired = read_retired(storage)
    assert set(retired) == {first, second}
    assert retired[first] < retired[second] < TOP  # still in start order
    gossiped = decode_retired(RetiredActors(storage, third, enabled=True).to_gossip())
    assert {first, second} <= set(gossiped)


def test_a_rank_heard_below_the_bound_still_counts() -> None:
    storage = MemoryStorage()
    first = lifetime_actor(storage, "n1", seed=1, now=0.0)
    storage.set_meta(RETIRED_KNOWN_META, encode_retired({"n1~000000000000": 40}))
    lifetime_actor(storage, "n1", seed=1, now=1.0)
    assert read_retired(storage) == {first: 41}


def test_a_start_count_past_the_top_rank_keeps_the_retirements_readable() -> None:
    storage = MemoryStorage()
    first = lifetime_actor(storage, "n1", seed=1, now=0.0)
    storage.set_meta(LIFETIMES_META, b"%d" % (TOP + 5))  # (corrupt, or a store of the lead's rule)
    second = lifetime_actor(storage, "n1", seed=1, now=1.0)
    lifetime_actor(storage, "n1", seed=1, now=2.0)
    assert read_retired(storage) == {first: TOP, second: TOP}  # saturated: a tie, by name


def test_a_replaced_disk_restarted_before_it_heard_ranks_its_lifetime_above_the_old_disks() -> None:
    """The hole the lead's fix leaves ("a replaced disk that has heard nothing yet when
    it restarts ranks as before"), reached on the simulator: seed 24 of the review's
    throwaway history (12 unnamed writers, 200 steps, wipes, crash-restarts and
    restores, docs/dvv.md): n1 is wiped at step 103 while cut off from both peers,
    restarted at 127 still cut off, so its replaced disk's first lifetime is retired
    at rank 1, below the old disk's retired at 2 and 3; nothing raises it once n1
    hears them, the byte budget then drops that lifetime's emptied entries first
    and a stale copy brings back eight superseded values (clean with the budget
    lifted; the rule before the lead's fix the same). Here the ranks alone: the old
    disk retired L1, L2; the replaced disk's A retired at a restart before any gossip;
    then the gossip. Right value: A, the newest retired lifetime, ranks above L2 in
    what the node knows (the budget drops the lowest-ranked lifetimes first).

    A strict xfail until session 49, which ranks a lifetime by its start time in
    milliseconds where that is higher than the count (``impl.versions.lifetime_rank``;
    docs/dvv.md, "A replaced disk's first lifetime ranks by its clock (session 49)"):
    A ranks 3000, L2 1000, L1 1. Mutant checked: ``lifetime_rank`` without the clock
    (the floors alone) fails it (``assert 1 > 2``)."""
    old = MemoryStorage()
    first = lifetime_actor(old, "n1", seed=1, now=0.0)
    second = lifetime_actor(old, "n1", seed=1, now=1.0)
    lifetime_actor(old, "n1", seed=1, now=2.0)  # the old disk's live lifetime, then lost
    storage = MemoryStorage()  # replaced, cut off: it hears nothing before its restart
    replaced = lifetime_actor(storage, "n1", seed=1, now=3.0)
    live = lifetime_actor(storage, "n1", seed=1, now=4.0)
    knows = RetiredActors(storage, live, enabled=True)
    knows.take(encode_retired(read_retired(old)))  # healed: a peer's gossip
    assert knows.known[replaced] > knows.known[second] > knows.known[first]


def test_the_ranks_of_a_node_whose_name_extends_this_ones_do_not_count() -> None:
    """n1 and n10 (and a digest-named long node) share a prefix of their names: n1's
    rank counts only ``n1~`` lifetimes. (Counting n10's only raised n1's ranks, no
    ordering harm, but toward the 2**62 bound; mutant ``actor.startswith(prefix)``:
    rank 8 here.)"""
    storage = MemoryStorage()
    first = lifetime_actor(storage, "n1", seed=1, now=0.0)
    storage.set_meta(RETIRED_KNOWN_META, encode_retired({"n10~0123456789ab": 7,
                                                         "n1x~0123456789ab": 5}))
    lifetime_actor(storage, "n1", seed=1, now=1.0)
    assert read_retired(storage) == {first: 1}
