"""Vector clock laws and syntactic reconciliation (spec/vclock.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spec.vclock import Order, VClock, Version, reconcile

NODES = ["A", "B", "C", "D"]
clocks = st.dictionaries(st.sampled_from(NODES), st.integers(0, 4)).map(VClock.of)


def test_canonical_zero_entries_dropped_and_equal_hash() -> None:
    a = VClock.of({"A": 2, "B": 0})
    b = VClock.of({"A": 2})
    assert a == b and hash(a) == hash(b)
    assert dict(a.entries) == {"A": 2}
    assert VClock() == VClock.of({})


def test_entries_is_read_only() -> None:
    with pytest.raises(TypeError):
        VClock.of({"A": 1}).entries["A"] = 3  # type: ignore[index]


@pytest.mark.parametrize("bad", [{"A": -1}, {"": 1}, {"A": 1.5}, {"A": True}])
def test_bad_counters_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        VClock.of(bad)  # type: ignore[arg-type]


def test_paper_example() -> None:
    # [2,1] and [2,2] are causally ordered; [2,1] and [3,1]... diverge in the paper's
    # sense of branches only when neither descends: D([Sx,2],[Sy,1]) vs D([Sx,2],[Sz,1]).
    d3 = VClock.of({"Sx": 2, "Sy": 1})
    d4 = VClock.of({"Sx": 2, "Sz": 1})
    assert d3.compare(d4) is Order.CONCURRENT
    d5 = d3.merge(d4).increment("Sx")
    assert d5 == VClock.of({"Sx": 3, "Sy": 1, "Sz": 1})
    assert d5.compare(d3) is Order.AFTER and d3.compare(d5) is Order.BEFORE


@given(clocks)
def test_descends_is_reflexive(a: VClock) -> None:
    assert a.descends(a) and a.compare(a) is Order.EQUAL and not a.dominates(a)


@given(clocks, clocks)
def test_descends_is_antisymmetric(a: VClock, b: VClock) -> None:
    if a.descends(b) and b.descends(a):
        assert a == b


@given(clocks, clocks, clocks)
def test_descends_is_transitive(a: VClock, b: VClock, c: VClock) -> None:
    if a.descends(b) and b.descends(c):
        assert a.descends(c)


@given(clocks, clocks)
def test_compare_is_exhaustive_and_mirrored(a: VClock, b: VClock) -> None:
    mirror = {
        Order.BEFORE: Order.AFTER,
        Order.AFTER: Order.BEFORE,
        Order.EQUAL: Order.EQUAL,
        Order.CONCURRENT: Order.CONCURRENT,
    }
    assert b.compare(a) is mirror[a.compare(b)]


@given(clocks, clocks, clocks)
def test_merge_is_least_upper_bound(a: VClock, b: VClock, c: VClock) -> None:
    m = a.merge(b)
    assert m.descends(a) and m.descends(b)
    assert m == b.merge(a)
    assert a.merge(a) == a
    assert a.merge(b.merge(c)) == a.merge(b).merge(c)
    if c.descends(a) and c.descends(b):
        assert c.descends(m)


@given(clocks, st.sampled_from(NODES))
def test_increment_strictly_dominates(a: VClock, node: str) -> None:
    b = a.increment(node)
    assert b.dominates(a) and b.compare(a) is Order.AFTER
    assert b.counter(node) == a.counter(node) + 1


def test_prune_drops_oldest_pairs() -> None:
    clock = VClock()
    for t, node in enumerate("ABCDEFGHIJKL"):
        clock = clock.increment(node, now=float(t))
    assert len(clock) == 12
    pruned = clock.prune()
    assert len(pruned) == 10
    assert set(pruned.entries) == set("CDEFGHIJKL")
    assert pruned.time_of("L") == 11.0
    assert clock.prune(threshold=12) is clock
    with pytest.raises(ValueError):
        clock.prune(threshold=0)


def test_json_round_trip() -> None:
    clock = VClock.of({"A": 3, "B": 1})
    assert VClock.from_json(clock.to_json()) == clock
    with pytest.raises(ValueError):
        VClock.from_json([1, 2])


versions = st.builds(Version, st.integers(0, 3), clocks)


@given(st.lists(versions, max_size=6))
def test_reconcile_is_an_antichain_that_dominates_every_input(vs: list[Version[int]]) -> None:
    kept = reconcile(vs)
    for x in kept:
        for y in kept:
            assert not x.clock.dominates(y.clock)
    for v in vs:
        assert any(k.clock.descends(v.clock) for k in kept)
    assert reconcile(kept) == kept
    assert reconcile(reversed(vs)) == kept


def test_reconcile_keeps_concurrent_and_equal_clock_versions() -> None:
    a = Version("a", VClock.of({"A": 1}))
    b = Version("b", VClock.of({"B": 1}))
    c = Version("c", VClock.of({"A": 1}))
    newer = Version("n", VClock.of({"A": 2}))
    assert reconcile([a, b]) == (a, b)
    # equal clocks, different values: neither may silently win
    assert set(reconcile([a, c])) == {a, c}
    assert reconcile([a, a]) == (a,)
    assert reconcile([a, newer, b]) == (newer, b)


def _broken_reconcile(vs: list[Version[int]]) -> tuple[Version[int], ...]:
    """A mutant that keeps the newest by clock size only: loses siblings."""
    return (max(vs, key=lambda v: sum(v.clock.entries.values())),) if vs else ()


def test_antichain_check_catches_a_mutant() -> None:
    a = Version(1, VClock.of({"A": 1}))
    b = Version(2, VClock.of({"B": 2}))
    kept = _broken_reconcile([a, b])
    assert not all(any(k.clock.descends(v.clock) for k in kept) for v in [a, b])
