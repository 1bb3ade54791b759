"""Session 59's review of ``Record.dropped`` (client-vclock: the pairs truncation cut
from a record's clocks, each at its highest counter; :func:`impl.versions.merge`
keeps the union, bounded by :func:`impl.versions._within_budget`): merge
properties under Hypothesis, a record of a node from before session 59 (no flag 3),
and the bound's cut-off. docs/impl.md, "Review of truncation and tombstones
(session 59)"."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

import impl.versions
from impl.records import ClockMode, Record, Sibling, Truncation, decode_record, encode_record
from impl.versions import (
    DROPPED_PER_PAIR,
    apply_put,
    context_clock,
    dropped_bytes_kept,
    merge,
)
from spec.vclock import VClock

TIGHT = Truncation(threshold=2, max_pairs=2, young_s=0.0, old_s=0.0)
MODE = ClockMode.CLIENT_VCLOCK


def _build(data: st.DataObject, record: Record, clients: str, start: float) -> Record:
    """``record`` after up to six client-vclock puts of ``clients`` (each through
    coordinator ``x`` or ``y``, with the record's context or none) under TIGHT."""
    writes = data.draw(st.lists(st.tuples(st.sampled_from(clients), st.sampled_from("xy"),
                                          st.booleans()), max_size=6))
    for i, (client, coordinator, with_context) in enumerate(writes):
        context = context_clock(record) if with_context else VClock()
        record = apply_put(record, context, b"%s%d" % (client.encode(), i),
                           coordinator=coordinator, client_id=client, now=start + i,
                           truncation=TIGHT)
    return record


def _claimed(*records: Record) -> dict[str, int]:
    """Per node, the highest counter any of ``records`` holds in a clock or its
    dropped pairs: what a merge of them may claim as dropped, at most."""
    held: dict[str, int] = {}
    for record in records:
        pairs = [*record.dropped, *(p for s in record.siblings for p in s.clock.pairs)]
        for node, counter in pairs:
            held[node] = max(held.get(node, 0), counter)
    return held


def _bounded(record: Record) -> bool:
    size = 4 + sum(10 + len(node.encode()) for node, _ in record.dropped)
    return not record.dropped or (
        len(record.dropped) <= DROPPED_PER_PAIR * TIGHT.max_pairs
        and size <= dropped_bytes_kept(record))


@given(st.data())
def test_merge_of_dropped_pairs_is_commutative_idempotent_sound_and_bounded(
        data: st.DataObject) -> None:
    """Three replicas' records grown from one base (one of them on from another's,
    so both hold pairs of one node at different counters): every
    pairwise merge and both groupings of the three-way merge are commutative,
    idempotent, round-trip through the bytes, bounded, and claim no dropped counter
    above one some input held (a dropped pair is a claim on the causal past: one
    too high removes a concurrent write). Associativity holds for the sound claim,
    not byte for byte: the bound's cut and the per-node maximum do not commute (a
    cut (n, 5) then a merge with (n, 3) keeps (n, 3); the other grouping neither),
    so only "each grouping is sound and bounded" is asserted, and that the two
    groupings meet at one record (merge of both) which anti-entropy converges on.
    Mutants (session 59's review): ``_add_dropped`` keeping the lower counter of a
    node -> an input's claim forgotten below the bound; ``merge`` keeping
    ``a.dropped`` only -> not commutative."""
    base = _build(data, Record.empty(MODE), "abc", 0.0)
    a = _build(data, base, "abde", 10.0)
    b = _build(data, a, "abfg", 20.0)  # a stale copy's history went on
    c = _build(data, base, "hi", 30.0)
    for x, y in ((a, b), (b, c), (a, c)):
        m = merge(x, y)
        assert m == merge(y, x)
        assert merge(m, m) == m
        assert merge(m, x) == merge(x, m)
        assert decode_record(encode_record(m), MODE) == m
        assert _bounded(m)
        claimed = _claimed(x, y)
        assert all(counter <= claimed.get(node, 0) for node, counter in m.dropped), m.dropped
        # and loses no input's claim but at the bound (its lowest counters go)
        held = dict(m.dropped)
        forgot = [(n, c) for n, c in (*x.dropped, *y.dropped) if held.get(n, 0) < c]
        assert not forgot or len(m.dropped) == DROPPED_PER_PAIR * TIGHT.max_pairs, forgot
    left, right = merge(merge(a, b), c), merge(a, merge(b, c))
    claimed = _claimed(a, b, c)
    for m in (left, right):
        assert _bounded(m)
        assert all(counter <= claimed.get(node, 0) for node, counter in m.dropped)
    assert merge(left, right) == merge(right, left)


@given(st.data())
def test_a_record_of_a_node_before_session_59_merges_in_and_loses_no_dropped_pair(
        data: st.DataObject) -> None:
    """A node from before session 59 holds the same record without its dropped pairs
    (flag 2: the floor only). Merged with the new node's, in either order, the
    result is the same, and it keeps every dropped pair of the new one at its
    counter or above (the merge may cut more: a put's record keeps the own pairs
    of what it stored, a merge only those of what it holds), not lost to the old
    record's none (mutant: ``merge`` taking ``a.dropped`` only -> the order
    old-first loses them)."""
    record = _build(data, Record.empty(MODE), "abcdef", 0.0)
    old = dataclasses.replace(record, dropped=())
    assert decode_record(encode_record(old), MODE) == old
    merged = merge(old, record)
    assert merged == merge(record, old)
    kept = dict(merged.dropped)
    assert all(kept.get(node, 0) >= counter for node, counter in record.dropped), (
        record.dropped, merged.dropped)


@given(st.lists(st.tuples(st.text("abcdefgh", min_size=1, max_size=3),
                          st.integers(1, 40)), min_size=1, max_size=40))
def test_the_bound_keeps_the_highest_counters_ties_by_node(
        pairs: list[tuple[str, int]]) -> None:
    """``_within_budget`` of up to 40 drawn pairs beside one small sibling (TIGHT:
    at most 8 kept): it keeps exactly the 8 highest by (counter, node), each node
    at its highest counter (mutant: the cut sorting by node first -> keeps low
    counters)."""
    held: dict[str, int] = {}
    for node, counter in pairs:
        held[node] = max(held.get(node, 0), counter)
    dropped = tuple(sorted(held.items()))
    record = Record(MODE, (Sibling(b"v", VClock.of({"z": 41}, {"z": 1.0}), 1.0, "n1"),),
                    truncation=TIGHT, floor=41, dropped=dropped)
    kept = impl.versions._within_budget(record)
    most = DROPPED_PER_PAIR * TIGHT.max_pairs
    expected = sorted(held.items(), key=lambda p: (p[1], p[0]))[-most:]
    assert kept.dropped == tuple(sorted(expected))
    assert _bounded(kept)


def test_server_vclock_a_later_counter_of_the_same_coordinator_is_no_cover() -> None:
    """Fix 1 (a sibling of the same own entry at a higher counter covers a dot) is
    client-vclock's only: in server-vclock a blind put through coordinator ``a``
    counts ``a`` above the stored sibling it never saw. S = {x: 1, a: 1} (a put
    through ``x``, then one through ``a`` that read it) and a blind V = {a: 2}
    through ``a`` beside it are concurrent (S holds ``x``), and both stay under a
    truncation policy that cuts nothing. Mutants (session 59's review): the
    same-entry cover without its ``client and`` alone is equivalent (``_covers``
    matches a server-vclock dot exactly, so a higher counter never covers), and so
    is ``_covers`` counting ``>=`` in every mode alone (the other-own-pair rule
    stands); the two together -> ``[V]`` alone, S an acknowledged write lost, which
    tests/impl/test_truncation_review.py, test_versions.py and
    test_truncation_skew.py did not see (the first alone ran them: all passed)."""
    mode = ClockMode.SERVER_VCLOCK
    wide = Truncation(threshold=10, max_pairs=50, young_s=20.0, old_s=86400.0)
    record = apply_put(Record.empty(mode), VClock(), b"s0", coordinator="x",
                       client_id="c", now=1.0, truncation=wide)
    record = apply_put(record, context_clock(record), b"S", coordinator="a",
                       client_id="c", now=2.0, truncation=wide)
    assert [dict(s.clock.pairs) for s in record.siblings] == [{"x": 1, "a": 1}]
    both = apply_put(record, VClock(), b"V", coordinator="a", client_id="d", now=3.0,
                     truncation=wide)
    assert sorted(s.value for s in both.siblings) == [b"S", b"V"]
    assert sorted(s.value for s in merge(both, record).siblings) == [b"S", b"V"]
