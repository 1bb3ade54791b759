"""Session 31's review of the speed levers (docs/simulator.md, "Review of session
31's levers"): each cache and shortcut of s31-sim against what it replaced, on
the inputs that could make a cached value stale or a shortcut wrong."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

import impl.positions
from impl.cluster import SimulatedCluster
from impl.config import ClusterConfig, merge_sides, merged_record_bytes
from impl.effects import Send
from impl.errors import InvalidValueError
from impl.failure_detector import FailureDetector
from impl.messages import Gossip, HintDelivery, KeyRecords, MerkleExchange
from impl.positions import PreferenceLists
from impl.records import ClockMode, Record, Sibling, Truncation, decode_record, encode_record
from impl.restore_guard import RestoreGuard
from impl.storage.memory import MemoryStorage
from impl.versions import _own_actors, context_clock, own_epoch
from spec.dvv import DVVSet, Entry
from spec.ring import Partitioning, strategy1, strategy2, strategy3
from spec.vclock import VClock, entry_actor

# ----------------------------------------------------------------- L2: truncation


def test_a_configs_truncation_is_its_own_setting_whatever_was_asked_before() -> None:
    """The cached policy is keyed by equal settings; -0.0 == 0.0, yet a record
    carries the policy's bytes (impl/records.py ``_POLICY``): a config of
    ``vclock_young_s=-0.0`` asked after one of 0.0 got the 0.0 policy, its records
    other bytes than without the cache (the review's finding)."""
    for first, second in ((0.0, -0.0), (-0.0, 0.0)):
        assert ClusterConfig(nodes=("n1",), n=1, r=1, w=1, vclock_young_s=first).truncation
        config = ClusterConfig(nodes=("n1",), n=1, r=1, w=1, vclock_young_s=second)
        fresh = Truncation(config.vclock_threshold, config.vclock_max_pairs,
                           config.vclock_young_s, config.vclock_old_s)
        assert math.copysign(1.0, config.truncation.young_s) == math.copysign(1.0, second)
        record = Record(ClockMode.SERVER_VCLOCK, (Sibling(b"v", VClock.of({"n1": 1})),))
        assert (encode_record(dataclasses.replace(record, truncation=config.truncation))
                == encode_record(dataclasses.replace(record, truncation=fresh)))


def test_each_setting_has_its_own_truncation() -> None:
    """Every field of the policy is part of the cache's key."""
    base = ClusterConfig(nodes=("n1",), n=1, r=1, w=1)
    for change in ({"vclock_threshold": 11}, {"vclock_max_pairs": 51},
                   {"vclock_young_s": 21.0}, {"vclock_old_s": 86401.0}):
        config = dataclasses.replace(base, **change)
        assert config.truncation == Truncation(
            config.vclock_threshold, config.vclock_max_pairs, config.vclock_young_s,
            config.vclock_old_s) != base.truncation


# ------------------------------------------------------------ L1: own key epochs


def _old_own_actors(record: Record, lifetime: str) -> dict[str, int]:
    """``_own_actors`` before session 31 (8bd6efda): every pair of the clock parsed."""
    own: dict[str, int] = {}
    for entry, counter in context_clock(record).pairs:
        actor = entry_actor(entry) or entry
        epoch = None
        if counter:
            if actor == lifetime:
                epoch = 0
            elif actor.startswith(lifetime + ".") and actor[len(lifetime) + 1:].isdigit():
                epoch = int(actor[len(lifetime) + 1:])
        if epoch is not None:
            own[actor] = epoch
    return own


#: Entries whose actor is, or is not, one of ``n1``'s: prefixes of one another.
ENTRIES = ("n1", "n10", "n1.x", "n1.2", "n1.02", "n1.", "n1.2.3", "n1 c", "n1/3 c",
           "n1.4/7 c", "n1.5 c d", "n10 c", "n10.1", "n1x", "n", "m1", "n1.2/x c", " c",
           "n1/ c", "n1.12")


@pytest.mark.parametrize("lifetime", ["n1", "n10", "n1.2", "n", ""])
def test_own_actors_are_the_old_ones_for_actors_prefixes_of_each_other(lifetime: str) -> None:
    """In dvv (pairs without a clock) and server-vclock, with zero counters too."""
    for zero in (None, "n1", "n1.2", "n10"):
        counters = {entry: 0 if entry == zero else i + 1 for i, entry in enumerate(ENTRIES)}
        dvv = Record(ClockMode.DVV, dvvset=DVVSet(tuple(
            Entry(entry, counter, (b"v",) if counter else ())
            for entry, counter in sorted(counters.items())), ()))
        vclock = Record(ClockMode.SERVER_VCLOCK, (Sibling(b"v", VClock.of(counters)),))
        for record in (dvv, vclock):
            assert _own_actors(record, lifetime) == _old_own_actors(record, lifetime)
    assert _own_actors(vclock, "n1") == {"n1": 0, "n1.2": 2, "n1.02": 2, "n1.4": 4,
                                         "n1.5": 5, "n1.12": 12}


@pytest.mark.parametrize("entry", ["n1.\u00b2", "n1.\u0663", "n1.\uff11", "n1.1\u00b2"])
def test_an_epoch_spelled_in_other_digits_is_another_actor(entry: str) -> None:
    """A key epoch is ASCII digits: an entry of other Unicode digits (a peer's
    record, decoded) is another actor's, where ``int`` raised ValueError (``²``) or
    read epoch 3 from ``n1.٣`` before (the review's second finding)."""
    record = decode_record(encode_record(Record(ClockMode.SERVER_VCLOCK, (
        Sibling(b"v", VClock.of({entry: 4, "n1.2": 1})),))))
    assert _own_actors(record, "n1") == {"n1.2": 2}
    assert own_epoch(record, "n1") == 2


# ------------------------------------------------------- L4: preference lists


def _rings() -> list[Partitioning]:
    """Rings of every strategy, each with a join, a leave, and a leave plus a join
    that keeps the count with another membership (strategy 3's claims move)."""
    nodes = ["n1", "n2", "n3", "n4", "n5"]
    rng = random.Random(3)
    rings = []
    for ring in (strategy1(nodes, 4, rng), strategy2(nodes, 4, 16, rng),
                 strategy3(nodes, 16, rng)):
        joined = ring.with_node("n6", rng)
        left = joined.without_node("n2", rng)
        rings += [ring, joined, left, left.with_node("n7", rng),
                  ring.without_node("n5", rng).with_node("n9", rng)]
    return rings


def test_preference_lists_follow_every_ring_change() -> None:
    """One :class:`PreferenceLists` asked of ring after ring (and back) answers what
    each ring's ``preference_list`` does, at random keys and at every partition's
    bounds (the first and last position of each)."""
    lists = PreferenceLists()
    rings = _rings()
    keys = [b"k%d" % i for i in range(300)]
    for ring in rings + rings[::-1]:
        for key in keys:
            assert lists.of(ring, key) == ring.preference_list(key)
    saved = impl.positions.position_of
    try:
        for ring in rings:
            for lo, hi in ring.ranges():
                for position in (lo, hi - 1):
                    impl.positions.position_of = lambda key, p=position: p  # type: ignore[misc]
                    assert lists.of(ring, b"") == ring.preference_list(position)
    finally:
        impl.positions.position_of = saved


# ------------------------------------------------------ L3: replica merge bounds


def test_merge_bounds_follow_the_config_and_the_member_count() -> None:
    """The cached bounds are those of the replica's configuration and count now:
    after a count goes up and back, and after the configuration is replaced."""
    cluster = SimulatedCluster(nodes=3, seed=1)
    try:
        replica = cluster.node("n1").replica
        count = [0]
        replica._members = lambda: count[0]
        for members, change in ((0, {}), (9, {}), (3, {}), (9, {}), (9, {"max_siblings": 7}),
                                (9, {"max_value_bytes": 999}),
                                (2, {"nodes": ("a", "b", "c", "d")})):
            count[0] = members
            if change:
                replica.config = dataclasses.replace(replica.config, **change)
            assert replica._merge_bounds() == (merge_sides(replica.config, members),
                                               merged_record_bytes(replica.config, members))
    finally:
        cluster.close()


# -------------------------------------------------- L4: failure detector's clock


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, True, "1"])
def test_a_clock_that_is_not_a_finite_number_is_refused_on_the_fast_path(bad: object) -> None:
    """The shortcut takes a finite float not before the latest only: the rest is
    refused as before (inf and True compare not before any finite latest)."""
    detector = FailureDetector()
    detector.heard_from("n2", 5.0)
    with pytest.raises(InvalidValueError):
        detector.heard_from("n2", bad)  # type: ignore[arg-type]
    assert detector._latest == 5.0
    fresh = FailureDetector()  # no latest yet: anything is not before it
    with pytest.raises(InvalidValueError):
        fresh.heard_from("n2", bad)  # type: ignore[arg-type]
    assert fresh._latest == -math.inf


def test_a_clock_that_goes_back_shifts_the_records_as_before() -> None:
    """A step back still moves arrivals and suspicions (the slow path), an int
    clock is kept as a float, and the fast path then resumes from the new latest."""
    detector = FailureDetector(phi_threshold=8.0)
    detector.heard_from("n2", 10.0)
    detector.timed_out("n3", 10.0)
    until = detector.suspicions(10.0)["n3"]
    detector.heard_from("n2", 4.0)
    assert detector._peers["n2"].last_heard == 4.0
    assert detector.suspicions(4.0)["n3"] == until - 6.0
    detector.heard_from("n2", 7)
    assert detector._latest == 7.0 and type(detector._latest) is float
    detector.heard_from("n2", 8.0)
    assert detector._latest == 8.0


# ------------------------------------------------- L2: generation-stamped types


def test_every_anti_entropy_and_hint_message_is_stamped_with_the_generation() -> None:
    """``_GENERATION_STAMPED`` (a tuple built once since session 31) holds the three
    types that carry the store's generation; a gossip carries the receiver's too.
    (A mutant leaving HintDelivery out of the tuple passed the guard's tests.)"""
    guard = RestoreGuard(MemoryStorage("always"), "1.0123456789abcdef")
    # (a method of the node since session 50's review: a gossip relays the
    # generations of its view's live members, ``Node._live_members``)
    node = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1).node("n1")
    for message in (MerkleExchange(7, 0, 10, 2, 1, "level", indexes=(1,), hashes=(b"h",)),
                    KeyRecords((b"k",), (b"r",)), HintDelivery(1, b"k", b"r")):
        stamped = node._stamp(Send("n2", message), guard)
        assert stamped == Send("n2", dataclasses.replace(message, generation=guard.generation))
    gossip = node._stamp(Send("n2", Gossip(b"v")), guard).message
    assert isinstance(gossip, Gossip) and gossip.generation == guard.generation
