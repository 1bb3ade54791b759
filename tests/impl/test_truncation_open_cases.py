"""Session 31: the truncation cases session 30 left open, at the unit level.

Three rules of ``impl/versions.py`` (docs/runtime.md, "Truncation: the three open
cases (session 31)"):

- a version's own pair is its *dot*: a sibling whose own pair another sibling's clock
  covers (client-vclock: at its counter or above; server-vclock: at exactly its
  counter) is superseded by it, whatever other pairs truncation took from that clock
  (``versions._without_covered``, in ``truncate``);
- the context a get answers, past ``max_pairs``, drops the other pairs before any
  sibling's own pair (``versions.context_pairs``);
- a tombstone's pairs are all kept by ``truncate``, as own pairs (its delete's context:
  the own pairs of what it deleted).

The simulated histories they fix are ``tests/impl/test_truncation_dataprobe.py``'s
seeds 38 and 46.
"""

from __future__ import annotations

import pytest

from impl.records import ClockMode, Record, Sibling, Truncation
from impl.versions import (
    TOMBSTONE,
    apply_put,
    context_clock,
    context_pairs,
    merge,
    own_pair,
    truncate,
    values,
)
from spec.vclock import VClock

#: three pairs kept, six at most, a pair a minute older than the newest dropped
AGED = Truncation(threshold=3, max_pairs=6, young_s=0.0, old_s=60.0)
#: eight pairs at most, no pair old enough to drop
ROOMY = Truncation(threshold=3, max_pairs=8, young_s=0.0, old_s=1e9)


def _sibling(value: bytes, pairs: dict[str, int], times: dict[str, float]) -> Sibling:
    return Sibling(value, VClock.of(pairs, times), max(times.values()), "n")


def test_a_context_past_max_pairs_keeps_every_siblings_own_pair() -> None:
    """Five siblings v0..v4 (each ``{s: 1, o<i>: 1}``, its own pair ``o<i>`` stamped
    at 2..6 s) and w (``{s: 2, t: 1, u: 1, w: 1}``, stamped at 100..103 s): nine pairs,
    six own. The context of six pairs is the six own pairs. Before, the youngest six
    (``s, t, u, w, o4, o3``): no read-modify-write could supersede v0, v1, v2."""
    siblings = tuple(_sibling(b"v%d" % i, {"s": 1, f"o{i}": 1}, {"s": 1.0, f"o{i}": 2.0 + i})
                     for i in range(5))
    w = _sibling(b"w", {"s": 2, "t": 1, "u": 1, "w": 1},
                 {"s": 100.0, "t": 101.0, "u": 102.0, "w": 103.0})
    record = Record(ClockMode.CLIENT_VCLOCK, (*siblings, w))
    own = {own_pair(s.clock) for s in record.siblings}
    assert own == {"o0", "o1", "o2", "o3", "o4", "w"}
    assert set(dict(context_pairs(record, 6))) == own
    assert dict(context_pairs(record, 9)) == dict(context_clock(record).pairs)
    assert set(dict(context_pairs(record, 7))) == own | {"u"}


@pytest.mark.parametrize("mode", [ClockMode.CLIENT_VCLOCK, ClockMode.SERVER_VCLOCK])
def test_a_put_covering_each_siblings_own_pair_supersedes_them_all(mode: ClockMode) -> None:
    """Three siblings ``{p<i>: 1, o<i>: 1}`` (own pair ``o<i>``) and a put whose
    context holds their own pairs only (a context of fewer pairs than the record's
    join: one cut to ``max_pairs``, own pairs first): its clock covers each one's
    dot, so it supersedes them, at the coordinator and at a replica still holding
    them (before: ``[R, v0, v1, v2]``, none dominated whole, nothing to truncate)."""
    siblings = tuple(
        _sibling(b"v%d" % i, {f"p{i}": 1, f"o{i}": 1}, {f"p{i}": 1.0 + i, f"o{i}": 50.0 + i})
        for i in range(3))
    record = truncate(Record(mode, siblings, truncation=ROOMY))
    assert sorted(values(record)) == [b"v0", b"v1", b"v2"]
    context = VClock.of({f"o{i}": 1 for i in range(3)})
    after = apply_put(record, context, b"R", coordinator="c", client_id="r", now=100.0,
                      truncation=ROOMY)
    assert values(after) == [b"R"]
    new = tuple(s for s in after.siblings if s.value == b"R")
    assert values(merge(record, Record(mode, new, truncation=ROOMY))) == [b"R"]
    # without a policy (no truncation) clocks are whole: the rule is not needed
    untruncated = Record(mode, siblings)
    assert len(apply_put(untruncated, context, b"R", coordinator="c", client_id="r",
                         now=100.0).siblings) == 4


def test_server_vclock_a_pair_counted_above_a_siblings_own_is_no_cover() -> None:
    """Server-vclock: V through a counts a's pair above S's (``a: 2``, a held S) with
    a context that never saw S, and T descends V through t (``{a: 2, t: 1}``): S's
    own pair ``a: 1`` is not V's nor T's to cover (only the very pair tells in
    server-vclock), so the dot rule does not widen the paper's same-coordinator
    loss; S, holding x, stays. In client-vclock an entry's higher counter does cover
    (a put of that entry read every stored counter of it)."""
    s = _sibling(b"S", {"x": 1, "a": 1}, {"x": 1.0, "a": 2.0})
    v = _sibling(b"V", {"a": 2}, {"a": 3.0})
    t = _sibling(b"T", {"a": 2, "t": 1}, {"a": 3.0, "t": 4.0})
    for other in (v, t):
        record = truncate(Record(ClockMode.SERVER_VCLOCK, (s, other), truncation=ROOMY))
        assert sorted(values(record)) == sorted([b"S", other.value])
    client = truncate(Record(ClockMode.CLIENT_VCLOCK, (s, t), truncation=ROOMY))
    assert values(client) == [b"T"]


def test_a_tombstones_pairs_never_age_out_and_a_stale_deleted_copy_goes() -> None:
    """A delete covers b1, b2, b3 (own pairs ``o1..o3``, a day older than the
    delete's own pair, beside older shared pairs ``s``, ``t``): under a policy
    keeping three pairs once the others are a minute older than the newest, the
    tombstone keeps every pair, at its put and at every later truncation (a merge);
    before, the first later truncation left three (its own pair, ``o3``, ``o2``), and
    a stale copy of b1 arriving then came back alone, the delete undone. Now it goes."""
    b1 = _sibling(b"b1", {"s": 1, "o1": 1}, {"s": 1.0, "o1": 2.0})
    b2 = _sibling(b"b2", {"s": 1, "t": 1, "o2": 1}, {"s": 1.0, "t": 1.5, "o2": 3.0})
    b3 = _sibling(b"b3", {"s": 1, "o3": 1}, {"s": 1.0, "o3": 4.0})
    stored = Record(ClockMode.CLIENT_VCLOCK, (b1, b2, b3), truncation=AGED)
    deleted = apply_put(stored, context_clock(stored), TOMBSTONE, coordinator="n",
                        client_id="c", now=86400.0, truncation=AGED)
    assert values(deleted) == [TOMBSTONE]
    (tombstone,) = deleted.siblings
    assert {"s", "t", "o1", "o2", "o3"} < set(tombstone.clock.entries)
    alone = Record(ClockMode.CLIENT_VCLOCK, (tombstone,), truncation=AGED)
    assert truncate(alone) == alone
    stale = Record(ClockMode.CLIENT_VCLOCK, (b1,), truncation=AGED)
    assert values(merge(alone, stale)) == [TOMBSTONE]
    assert values(merge(stale, alone)) == [TOMBSTONE]


@pytest.mark.parametrize("mode", [ClockMode.CLIENT_VCLOCK, ClockMode.SERVER_VCLOCK])
def test_two_copies_of_one_version_cut_apart_are_not_each_others_cover(mode: ClockMode) -> None:
    """Two copies of one version (its dot ``o: 1``) whose clocks different
    truncations cut apart (``{x, o}`` and ``{y, o}``): each holds the other's dot,
    and neither may make the other go (the value would be lost from the record)."""
    one = _sibling(b"v", {"x": 1, "o": 1}, {"x": 1.0, "o": 5.0})
    two = _sibling(b"v", {"y": 1, "o": 1}, {"y": 2.0, "o": 5.0})
    record = truncate(Record(mode, (one, two), truncation=ROOMY))
    assert values(record) == [b"v", b"v"]


def test_a_clock_whose_youngest_time_ties_has_no_dot() -> None:
    """A server-vclock record written before session 30 may stamp its put's pair
    level with the context's (``{n: 1, a: 1}``, both at 5 s): its own pair is not
    known (``own_pair`` says n, by id), so no sibling covers it; a concurrent T
    holding ``n: 1`` (their common ancestor's pair) leaves it alone (with the tie
    read as its dot, S was lost)."""
    s = _sibling(b"S", {"n": 1, "a": 1}, {"n": 5.0, "a": 5.0})
    t = _sibling(b"T", {"n": 1, "b": 1}, {"n": 5.0, "b": 6.0})
    assert own_pair(s.clock) == "n"
    record = truncate(Record(ClockMode.SERVER_VCLOCK, (s, t), truncation=ROOMY))
    assert sorted(values(record)) == [b"S", b"T"]
