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
