"""The consistent-hashing ring and preference lists (spec/ring.py).

Each ring invariant is a ``check_*`` function that raises ``AssertionError``; it is
run by Hypothesis over random rings and shown to catch a broken ring (a mutant).
"""

from __future__ import annotations

import hashlib
import itertools
import random
import statistics
from collections import Counter
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spec.partitioning import compare, sampled_loads
from spec.ring import (
    RING_SIZE,
    Partitioning,
    Ring,
    Strategy,
    draw_tokens,
    key_position,
    partition_bounds,
    strategy1,
    strategy2,
    strategy3,
    token_counts,
)
from tests.conftest import examples

NAMES = [f"n{i}" for i in range(8)]
positions = st.integers(0, RING_SIZE - 1)


@st.composite
def rings(draw: st.DrawFn, min_nodes: int = 1, max_nodes: int = 6) -> Ring:
    """Random rings: 1-6 nodes, 1-5 tokens each, tokens anywhere (distinct)."""
    count = draw(st.integers(min_nodes, max_nodes))
    nodes = NAMES[:count]
    per_node = [draw(st.integers(1, 5)) for _ in nodes]
    tokens = draw(
        st.lists(positions | st.integers(0, 40), min_size=sum(per_node),
                 max_size=sum(per_node), unique=True)
    )
    mapping: dict[str, list[int]] = {}
    for node, k in zip(nodes, per_node, strict=True):
        mapping[node], tokens = tokens[:k], tokens[k:]
    return Ring.from_tokens(mapping)


def probes(ring: Ring, extra: list[int]) -> list[int]:
    """Positions worth probing: every token, its neighbours, 0, the top, and extras."""
    found = {0, RING_SIZE - 1, *extra}
    for t in ring.tokens:
        found.update({t, max(t - 1, 0), min(t + 1, RING_SIZE - 1)})
    return sorted(found)


# ---------------------------------------------------------------- mutants


class NoSkipRing(Ring):
    """Mutant: lists a node again when it holds several tokens in a row."""

    def _walk(self, start: int, limit: int) -> tuple[str, ...]:
        owners = self._owners
        return tuple(owners[(start + i) % len(owners)] for i in range(min(limit, len(owners))))


class StopsAtNRing(Ring):
    """Mutant: a preference list that stops after 2 nodes (no sloppy-quorum fallbacks)."""

    def _walk(self, start: int, limit: int) -> tuple[str, ...]:
        return Ring._walk(self, start, min(limit, 2))


class CounterClockwiseRing(Ring):
    """Mutant: walks the ring the wrong way."""

    def _walk(self, start: int, limit: int) -> tuple[str, ...]:
        owners = self._owners[::-1]
        mirrored = len(owners) - 1 - start
        return _walk_list(owners, mirrored, limit)


class AtOrAfterRing(Ring):
    """Mutant: a key exactly at a token belongs to that token (paper: strictly larger)."""

    def token_index(self, key_or_position: bytes | str | int) -> int:
        index = Ring.token_index(self, key_or_position)
        position = self._position(key_or_position)
        before = (index - 1) % len(self._positions)
        return before if self._positions[before] == position else index


def _walk_list(owners: tuple[str, ...], start: int, limit: int) -> tuple[str, ...]:
    found: list[str] = []
    for i in range(len(owners)):
        node = owners[(start + i) % len(owners)]
        if node not in found:
            found.append(node)
        if len(found) == limit:
            break
    return tuple(found)


def mutate(ring: Ring, cls: type[Ring]) -> Ring:
    return cls(ring.entries)


# ---------------------------------------------------------------- key positions


@pytest.mark.parametrize("key", [b"", b"a", b"hello", "cart:42", "ключ", b"\x00\xff" * 40])
def test_key_position_is_big_endian_md5(key: bytes | str) -> None:
    data = key.encode("utf-8") if isinstance(key, str) else key
    assert key_position(key) == int(hashlib.md5(data).hexdigest(), 16)
    assert 0 <= key_position(key) < RING_SIZE


def test_key_position_known_values() -> None:
    # MD5("") = d41d8cd98f00b204e9800998ecf8427e, read big-endian.
    assert key_position(b"") == 0xD41D8CD98F00B204E9800998ECF8427E
    assert key_position("abc") == 0x900150983CD24FB0D6963F7D28E17F72
    assert key_position("abc") == key_position(b"abc")


def test_key_position_refuses_other_types() -> None:
    with pytest.raises(ValueError, match="key must be bytes or str"):
        key_position(42)  # type: ignore[arg-type]


# ---------------------------------------------------------------- invariants


def check_top_n_distinct(ring: Ring, position: int, n: int) -> None:
    top = ring.preference_list(position, n)
    assert len(top) == min(n, len(ring.nodes)), (top, n)
    assert len(set(top)) == len(top), f"top {n} repeats a physical node: {top}"


def check_permutation(ring: Ring, position: int) -> None:
    full = ring.preference_list(position)
    assert sorted(full) == sorted(ring.nodes), f"not a permutation of the nodes: {full}"
    for n in range(1, len(ring.nodes) + 1):
        assert ring.preference_list(position, n) == full[:n], "top n is not a prefix"


def check_clockwise(ring: Ring, position: int) -> None:
    """The first entry holds the first token strictly above the position (wrapping)."""
    above = [t for t in ring.tokens if t > position]
    first_token = above[0] if above else ring.tokens[0]
    owner = dict(ring.entries)[first_token]
    assert ring.preference_list(position, 1) == (owner,), (position, first_token, owner)
    # Each listed node is met, in order, walking clockwise: its first token at or
    # after the start comes after that of the node listed before it.
    start = ring.tokens.index(first_token)
    order = [dict(ring.entries)[ring.tokens[(start + i) % len(ring)]] for i in range(len(ring))]
    firsts = [order.index(node) for node in ring.preference_list(position)]
    assert firsts == sorted(firsts), "preference list is not in clockwise order"


@given(rings(), positions, st.integers(1, 8))
def test_top_n_are_distinct_physical_nodes(ring: Ring, position: int, n: int) -> None:
    for p in probes(ring, [position]):
        check_top_n_distinct(ring, p, n)


@given(rings(), positions)
def test_preference_list_is_a_permutation_of_all_nodes(ring: Ring, position: int) -> None:
    for p in probes(ring, [position]):
        check_permutation(ring, p)


@given(rings(), positions)
def test_preference_list_walks_clockwise(ring: Ring, position: int) -> None:
    for p in probes(ring, [position]):
        check_clockwise(ring, p)


# A ring where each node holds two adjacent tokens, so skipping matters.
DOUBLE = Ring.from_tokens({"A": [10, 20], "B": [30, 40], "C": [50, 60]})


@pytest.mark.parametrize(
    ("mutant", "check"),
    [
        (NoSkipRing, lambda r: check_top_n_distinct(r, 0, 2)),
        (NoSkipRing, lambda r: check_permutation(r, 0)),
        (StopsAtNRing, lambda r: check_permutation(r, 0)),
        (CounterClockwiseRing, lambda r: check_clockwise(r, 25)),
        (AtOrAfterRing, lambda r: check_clockwise(r, 20)),
    ],
)
def test_invariant_checks_catch_mutants(
    mutant: type[Ring], check: Callable[[Ring], None]
) -> None:
    check(DOUBLE)  # the real ring passes
    with pytest.raises(AssertionError):
        check(mutate(DOUBLE, mutant))


def test_preference_list_worked_example() -> None:
    # Tokens: A@10 A@20 B@30 B@40 C@50 C@60. A key at 25 belongs to B (first token > 25).
    assert DOUBLE.preference_list(25) == ("B", "C", "A")
    assert DOUBLE.preference_list(20) == ("B", "C", "A")  # strictly larger: 20 -> B@30
    assert DOUBLE.preference_list(19, 2) == ("A", "B")
    assert DOUBLE.preference_list(60) == ("A", "B", "C")  # wraps
    assert DOUBLE.preference_list(RING_SIZE - 1, 1) == ("A",)
    assert DOUBLE.preference_list(5, 10) == ("A", "B", "C")  # capped at the node count


def test_preference_list_of_a_key_uses_its_md5_position() -> None:
    ring = Ring.evenly_spaced(["A", "B", "C", "D"])
    keys: list[bytes | str] = ["a", "b", "cart", b"\x01"]
    for key in keys:
        assert ring.preference_list(key) == ring.preference_list(key_position(key))


# ---------------------------------------------------------------- evenly spaced


def test_evenly_spaced_is_in_ring_order() -> None:
    nodes = ["C", "A", "B"]
    ring = Ring.evenly_spaced(nodes)
    assert ring.tokens == (0, RING_SIZE // 3, 2 * RING_SIZE // 3)
    assert [n for _, n in ring.entries] == nodes
    assert ring.preference_list(0) == ("A", "B", "C")  # [0, R/3) is just below A's token
    assert ring.preference_list(RING_SIZE // 3) == ("B", "C", "A")
    assert ring.preference_list(RING_SIZE - 1) == ("C", "A", "B")
    for i in range(len(nodes)):
        rotation = tuple(nodes[(i + j) % 3] for j in range(3))
        assert ring.preference_list((i * RING_SIZE // 3 - 1) % RING_SIZE) == rotation


def test_evenly_spaced_single_node() -> None:
    ring = Ring.evenly_spaced(["solo"])
    assert ring.preference_list("any", 3) == ("solo",)
    assert ring.ranges_of("solo", 1) == [(0, RING_SIZE)]


# ---------------------------------------------------------------- membership changes


@st.composite
def ring_and_newcomer(draw: st.DrawFn) -> tuple[Ring, Ring]:
    ring = draw(rings(max_nodes=5))
    taken = set(ring.tokens)
    new = draw(st.lists(positions.filter(lambda t: t not in taken), min_size=1, max_size=4,
                        unique=True))
    return ring, ring.with_node("new", new)


def check_join_moves_only_taken_keys(before: Ring, after: Ring, node: str, n: int,
                                     points: list[int]) -> None:
    for p in points:
        old, new = before.preference_list(p, n), after.preference_list(p, n)
        if old != new:
            assert node in new, f"position {p}: top {n} changed {old} -> {new} without {node}"
        # Whatever the newcomer did not displace keeps its relative order.
        assert [x for x in new if x != node] == [x for x in old if x in new], (old, new)
    for p in points:
        if node not in after.preference_list(p, 1):
            assert after.preference_list(p, 1) == before.preference_list(p, 1), p


@given(ring_and_newcomer(), st.integers(1, 4), st.lists(positions, max_size=20))
def test_adding_a_node_moves_only_keys_it_takes_over(
    pair: tuple[Ring, Ring], n: int, extra: list[int]
) -> None:
    before, after = pair
    check_join_moves_only_taken_keys(before, after, "new", n, probes(after, extra))
    assert after.without_node("new") == before


class ShuffleOnJoinRing(Ring):
    """Mutant: the ring reverses its walk once it has more than three nodes."""

    def _walk(self, start: int, limit: int) -> tuple[str, ...]:
        if len(self._nodes) > 3:
            owners = self._owners[::-1]
            return _walk_list(owners, len(owners) - 1 - start, limit)
        return Ring._walk(self, start, limit)


def test_join_check_catches_a_mutant() -> None:
    before = Ring.from_tokens({"A": [100], "B": [200], "C": [300]})
    after = before.with_node("new", [150])
    check_join_moves_only_taken_keys(before, after, "new", 2, probes(after, []))
    broken = mutate(after, ShuffleOnJoinRing)
    with pytest.raises(AssertionError):
        check_join_moves_only_taken_keys(before, broken, "new", 2, probes(after, []))


def test_with_and_without_node() -> None:
    ring = Ring.evenly_spaced(["A", "B"])
    bigger = ring.with_node("C", [5, 7])
    assert bigger.nodes == ("A", "B", "C") and bigger.tokens_of("C") == (5, 7)
    assert bigger.without_node("C") == ring
    assert hash(bigger.without_node("C")) == hash(ring)
    with pytest.raises(ValueError, match="already in the ring"):
        ring.with_node("A", [9])
    with pytest.raises(ValueError, match="'Z'"):
        ring.without_node("Z")
    with pytest.raises(ValueError, match="token 0 is held twice"):
        ring.with_node("C", [0])
    with pytest.raises(ValueError, match="empty ring"):
        Ring.evenly_spaced(["A"]).without_node("A")


# ---------------------------------------------------------------- ranges


def check_ranges_agree(ring: Ring, n: int, points: list[int]) -> None:
    for node in ring.nodes:
        ranges = ring.ranges_of(node, n)
        for p in points:
            inside = any(lo <= p < hi for lo, hi in ranges)
            assert inside == (node in ring.preference_list(p, n)), (node, p, ranges)


@given(rings(), st.integers(1, 4), st.lists(positions, max_size=10))
@settings(max_examples=examples(30))
def test_ranges_of_agrees_with_preference_list(ring: Ring, n: int, extra: list[int]) -> None:
    check_ranges_agree(ring, n, probes(ring, extra))
    tiles = ring.ranges()
    assert tiles[0][0] == 0 and tiles[-1][1] == RING_SIZE
    assert all(a[1] == b[0] and a[0] < a[1] for a, b in itertools.pairwise(tiles))
    for lo, hi in tiles:
        assert ring.range_of(lo) == (lo, hi) == ring.range_of(hi - 1)
        assert ring.range_owners(lo, n) == ring.range_owners(hi - 1, n)


class OffByOneRangesRing(Ring):
    """Mutant: reports each range as ending one position early."""

    def ranges(self) -> list[tuple[int, int]]:
        return [(lo, hi - 1) for lo, hi in Ring.ranges(self)]


def test_ranges_check_catches_a_mutant() -> None:
    check_ranges_agree(DOUBLE, 2, probes(DOUBLE, []))
    with pytest.raises(AssertionError):
        check_ranges_agree(mutate(DOUBLE, OffByOneRangesRing), 2, probes(DOUBLE, []))


def test_ranges_of_worked_example() -> None:
    ring = Ring.from_tokens({"A": [100], "B": [200], "C": [300]})
    assert ring.ranges() == [(0, 100), (100, 200), (200, 300), (300, RING_SIZE)]
    # A's token covers [300, top) and [0, 100); with n=2 A also replicates [200, 300).
    assert ring.ranges_of("A", 1) == [(0, 100), (300, RING_SIZE)]
    assert ring.ranges_of("A", 2) == [(0, 100), (200, 300), (300, RING_SIZE)]
    assert ring.range_owners(150, 2) == ("B", "C")
    assert ring.range_of(150) == (100, 200)


# ---------------------------------------------------------------- capacity


def test_token_counts_follow_capacity() -> None:
    counts = token_counts(["A", "B", "C"], 8, {"A": 2, "C": 0.5})
    assert counts == {"A": 16, "B": 8, "C": 4}
    assert token_counts(["A"], 1, {"A": 0.1}) == {"A": 1}  # never zero tokens


CountsFn = Callable[[list[str], int, dict[str, float]], dict[str, int]]


def check_counts_follow_capacity(counts_of: CountsFn, caps: dict[str, float], t: int) -> None:
    counts = counts_of(sorted(caps), t, caps)
    for a in caps:
        for b in caps:
            if caps[a] <= caps[b]:
                assert counts[a] <= counts[b], (counts, caps)
        assert abs(counts[a] - t * caps[a]) <= 0.5 or counts[a] == 1, (counts, caps)


capacity_maps = st.dictionaries(st.sampled_from(NAMES), st.floats(0.25, 8), min_size=1)


@given(capacity_maps, st.integers(1, 64))
def test_token_counts_follow_capacity_for_any_capacities(caps: dict[str, float], t: int) -> None:
    check_counts_follow_capacity(token_counts, caps, t)


def test_capacity_check_catches_a_mutant() -> None:
    def ignores_capacity(nodes: list[str], t: int, caps: dict[str, float]) -> dict[str, int]:
        return dict.fromkeys(nodes, t)

    caps = {"A": 1.0, "B": 3.0}
    check_counts_follow_capacity(token_counts, caps, 4)
    with pytest.raises(AssertionError):
        check_counts_follow_capacity(ignores_capacity, caps, 4)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Ring.from_tokens({}), "empty ring"),
        (lambda: Ring.evenly_spaced([]), "empty ring"),
        (lambda: Ring.evenly_spaced(["A", "A"]), "distinct"),
        (lambda: Ring.from_tokens({"A": []}), "node 'A' has no tokens"),
        (lambda: Ring.from_tokens({"A": [RING_SIZE]}), "outside the ring"),
        (lambda: Ring.from_tokens({"A": [-1]}), "outside the ring"),
        (lambda: Ring.from_tokens({"A": [True]}), "must be an int"),
        (lambda: Ring.from_tokens({"": [1]}), "non-empty str"),
        (lambda: Ring.from_tokens({"A": [1], "B": [1]}), "held twice"),
        (lambda: Ring((1, 2)), "must be a \\(token, node\\) pair"),  # type: ignore[arg-type]
        (lambda: Ring(((1, "A", "x"),)), "pair"),  # type: ignore[arg-type]
        (lambda: Ring(((1, 2),)), "non-empty str"),  # type: ignore[arg-type]
        (lambda: Ring(None), "iterable of \\(token, node\\) pairs"),  # type: ignore[arg-type]
        (lambda: Ring.from_tokens({"A": 5}), "iterable of ints"),  # type: ignore[dict-item]
        (lambda: DOUBLE.preference_list("k", 0), "length must be an int >= 1"),
        (lambda: DOUBLE.preference_list(RING_SIZE), "outside the ring"),
        (lambda: DOUBLE.preference_list(1.5), "key must be bytes or str"),  # type: ignore[arg-type]
        (lambda: DOUBLE.ranges_of("A", 0), "n must be an int >= 1"),
        (lambda: DOUBLE.ranges_of("Z", 1), "unknown node 'Z'"),
        (lambda: DOUBLE.range_owners(-5, 1), "outside the ring"),
        (lambda: DOUBLE.tokens_of("Z"), "unknown node 'Z'"),
        (lambda: token_counts(["A"], 4, {"A": 0}), "capacity of node 'A'"),
        (lambda: token_counts(["A"], 4, {"A": float("nan")}), "capacity of node 'A'"),
        (lambda: token_counts(["A"], 4, {"B": 1}), "unknown node"),
        (lambda: token_counts(["A"], 0), "tokens_per_node"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    build: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_ring_is_an_immutable_hashable_value() -> None:
    a = Ring.from_tokens({"A": [3, 1], "B": [2]})
    b = Ring.from_tokens({"B": [2], "A": [1, 3]})
    assert a == b and hash(a) == hash(b)
    assert a.entries == ((1, "A"), (2, "B"), (3, "A"))
    with pytest.raises(AttributeError):
        a.entries = ()  # type: ignore[misc]


# ================================================================ partitioning strategies

SEVEN = [f"s{i}" for i in range(7)]


def owners_by_partition(p: Partitioning) -> list[str]:
    """The first owner of each of a strategy-3 partitioning's Q partitions."""
    return [owners[0] for _, owners in p.placements(1)]


def check_strategy3_shares(p: Partitioning) -> None:
    """Strategy 3: Q equal partitions, each node holding Q/S of them (floor or ceil)."""
    assert p.partitions is not None
    placed = p.placements(1)
    assert [r for r, _ in placed] == partition_bounds(p.partitions), "partitions not equal-sized"
    counts = Counter(owners_by_partition(p))
    q, s = p.partitions, len(p.nodes)
    assert set(counts) == set(p.nodes), counts
    assert all(q // s <= c <= -(-q // s) for c in counts.values()), f"not Q/S each: {counts}"
    for node in p.nodes:
        assert len(p.ring.tokens_of(node)) == counts[node]


def check_only_newcomer_gains(before: Partitioning, after: Partitioning, node: str) -> None:
    for j, (old, new) in enumerate(zip(owners_by_partition(before), owners_by_partition(after),
                                       strict=True)):
        assert old == new or new == node, f"partition {j} moved {old} -> {new}, not to {node}"


def check_only_leaver_loses(before: Partitioning, after: Partitioning, node: str) -> None:
    for j, (old, new) in enumerate(zip(owners_by_partition(before), owners_by_partition(after),
                                       strict=True)):
        assert old in (new, node), f"partition {j} moved {old} -> {new}; {node} left"


def dealt_at_random(nodes: list[str], q: int, rng: random.Random) -> Partitioning:
    """Mutant of strategy 3: each partition goes to a random node (no Q/S quota)."""
    owner = [rng.choice(nodes) for _ in range(q)]
    ends = [hi % RING_SIZE for _, hi in partition_bounds(q)]
    ring = Ring(tuple(zip(ends, owner, strict=True)))
    return Partitioning(Strategy.EQUAL_PARTITIONS, ring, q // len(nodes), q)


@given(st.integers(1, 7), st.integers(1, 12), st.integers(0, 2**32))
@settings(max_examples=examples(40))
def test_strategy3_keeps_q_over_s_partitions_per_node(s: int, per: int, seed: int) -> None:
    q = s * per + seed % s  # not always a multiple of S
    p = strategy3(SEVEN[:s], q, random.Random(seed))
    check_strategy3_shares(p)
    assert p.metadata_size == q


@given(st.integers(1, 6), st.integers(1, 10), st.integers(0, 2**32))
@settings(max_examples=examples(40))
def test_strategy3_join_steals_and_leave_redistributes(s: int, per: int, seed: int) -> None:
    rng = random.Random(seed)
    q = (s + 1) * per + seed % (s + 1)
    p = strategy3(SEVEN[:s], q, rng)
    joined = p.with_node("new", rng)
    check_strategy3_shares(joined)
    check_only_newcomer_gains(p, joined, "new")
    if s > 1:
        left = p.without_node(SEVEN[0], rng)
        check_strategy3_shares(left)
        check_only_leaver_loses(p, left, SEVEN[0])


def test_strategy3_checks_catch_mutants() -> None:
    rng = random.Random(5)
    p = strategy3(SEVEN[:4], 40, rng)
    check_strategy3_shares(p)
    with pytest.raises(AssertionError, match="not Q/S each"):
        check_strategy3_shares(dealt_at_random(SEVEN[:4], 40, random.Random(1)))
    # A "join" that re-deals everything moves partitions between old nodes.
    redealt = strategy3([*SEVEN[:4], "new"], 40, random.Random(6))
    check_strategy3_shares(redealt)
    with pytest.raises(AssertionError, match="not to new"):
        check_only_newcomer_gains(p, redealt, "new")
    with pytest.raises(AssertionError, match="left"):
        check_only_leaver_loses(p, strategy3(SEVEN[1:4], 40, random.Random(6)), SEVEN[0])


def test_strategy3_capacities_set_the_shares() -> None:
    p = strategy3(["A", "B", "C"], 40, random.Random(3), {"A": 2, "B": 1, "C": 1})
    assert Counter(owners_by_partition(p)) == {"A": 20, "B": 10, "C": 10}
    joined = p.with_node("D", random.Random(4), capacity=4)
    assert Counter(owners_by_partition(joined)) == {"A": 10, "B": 5, "C": 5, "D": 20}
    assert joined.capacity_of("D") == 4 and joined.capacity_of("B") == 1
    check_only_newcomer_gains(p, joined, "D")


def test_strategy1_token_counts_follow_capacity_and_ranges_are_partitions() -> None:
    p = strategy1(["A", "B", "C"], 16, random.Random(1), {"A": 2, "C": 0.5})
    assert [len(p.ring.tokens_of(n)) for n in "ABC"] == [32, 16, 8]
    assert [r for r, _ in p.placements(1)] == p.ring.ranges()
    assert p.metadata_size == 56 and p.partitions is None
    joined = p.with_node("D", random.Random(2), capacity=3)
    assert len(joined.ring.tokens_of("D")) == 48
    assert joined.without_node("D", random.Random(3)).ring == p.ring
    # More tokens, more keys: with a large T the capacity-2 node holds the most.
    big = strategy1(["A", "B", "C", "D"], 128, random.Random(7), {"A": 2})
    load = big.loads(1)
    assert max(load, key=load.__getitem__) == "A"
    assert load["A"] > 1.6 * statistics.fmean(load[n] for n in "BCD")


@given(st.integers(1, 64), st.lists(positions, min_size=1, max_size=10), st.integers(0, 2**32))
@settings(max_examples=examples(30))
def test_strategy2_places_whole_partitions_by_their_end(
    q: int, points: list[int], seed: int
) -> None:
    p = strategy2(SEVEN[:5], 3, q, random.Random(seed))
    placed = p.placements(3)
    assert [r for r, _ in placed] == partition_bounds(q)
    for (lo, hi), owners in placed:
        assert owners == p.ring.preference_list(hi - 1, 3)
        assert p.preference_list(lo, 3) == owners == p.preference_list(hi - 1, 3)
    for point in points:
        index = point * q // RING_SIZE
        assert p.preference_list(point)[:3] == placed[index][1]


def check_partition_ranges(p: Partitioning, n: int, points: list[int]) -> None:
    """A partitioning's ranges tile the ring and agree with its preference lists."""
    tiles = p.ranges()
    assert tiles[0][0] == 0 and tiles[-1][1] == RING_SIZE
    assert all(a[1] == b[0] for a, b in itertools.pairwise(tiles))
    mine = {node: p.ranges_of(node, n) for node in p.nodes}
    for point in points:
        lo, hi = p.range_of(point)
        assert lo <= point < hi and (lo, hi) in tiles
        owners = p.preference_list(point, n)
        assert p.range_owners(lo, n) == owners == p.range_owners(hi - 1, n), point
        for node in p.nodes:
            assert ((lo, hi) in mine[node]) == (node in owners), (node, point)


@given(st.sampled_from([1, 2, 3]), st.integers(1, 5), st.integers(1, 3),
       st.lists(positions, max_size=12), st.integers(0, 2**32))
@settings(max_examples=examples(30))
def test_partitioning_ranges_agree_with_preference_lists(
    which: int, s: int, n: int, points: list[int], seed: int
) -> None:
    rng, nodes = random.Random(seed), SEVEN[:s]
    p = (strategy1(nodes, 3, rng) if which == 1 else strategy2(nodes, 3, 20, rng)
         if which == 2 else strategy3(nodes, 4 * s + 1, rng))
    check_partition_ranges(p, n, points + [lo for lo, _ in p.ranges()])


class TokenRangesPartitioning(Partitioning):
    """Mutant: strategy 2 reporting the ring's token ranges as its partitions."""

    def ranges_of(self, node: str, n: int) -> list[tuple[int, int]]:
        return self.ring.ranges_of(node, n)


def test_partition_ranges_check_catches_a_mutant() -> None:
    p = strategy2(SEVEN[:4], 2, 16, random.Random(3))
    points = [lo for lo, _ in p.ranges()] + list(p.ring.tokens)
    check_partition_ranges(p, 2, points)
    broken = TokenRangesPartitioning(p.strategy, p.ring, p.tokens_per_node, p.partitions)
    with pytest.raises(AssertionError):
        check_partition_ranges(broken, 2, points)


@pytest.mark.parametrize("which", [1, 2, 3])
def test_each_strategy_is_deterministic_for_a_seed(which: int) -> None:
    def build(seed: int) -> Partitioning:
        rng = random.Random(seed)
        if which == 1:
            return strategy1(SEVEN, 4, rng)
        if which == 2:
            return strategy2(SEVEN, 4, 64, rng)
        return strategy3(SEVEN, 28, rng)

    assert build(11) == build(11)
    assert build(11).with_node("x", random.Random(1)) == build(11).with_node("x", random.Random(1))
    assert build(11) != build(12)


def test_partition_bounds_are_equal_sized_and_tile_the_ring() -> None:
    bounds = partition_bounds(3)
    assert bounds[0][0] == 0 and bounds[-1][1] == RING_SIZE
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    sizes = {hi - lo for lo, hi in bounds}
    assert max(sizes) - min(sizes) <= 1


# ---------------------------------------------------------------- load balance


def test_load_and_efficiency_worked_example() -> None:
    quarter = RING_SIZE // 4
    # A covers [0, q) (token at q) and B covers [q, R) (token at 0 wraps) -> 1/4 vs 3/4.
    ring = Ring.from_tokens({"A": [quarter], "B": [0]})
    p = Partitioning(Strategy.RANDOM_TOKENS, ring, 1)
    assert p.loads(1) == {"A": quarter, "B": RING_SIZE - quarter}
    assert p.efficiency(1) == pytest.approx(0.5 / 0.75)
    assert p.efficiency(2) == 1.0  # with N=2 both hold everything
    assert Partitioning(Strategy.RANDOM_TOKENS, Ring.evenly_spaced(SEVEN), 1).efficiency(3) == 1.0


def check_loads(p: Partitioning, n: int) -> None:
    """Every position is held n times over, and efficiency lies in (0, 1]."""
    assert sum(p.loads(n).values()) == min(n, len(p.nodes)) * RING_SIZE, p.loads(n)
    assert 0 < p.efficiency(n) <= 1


@given(rings(), st.integers(1, 4))
@settings(max_examples=examples(30))
def test_loads_sum_to_n_times_the_ring(ring: Ring, n: int) -> None:
    check_loads(Partitioning(Strategy.RANDOM_TOKENS, ring, 1), n)


class FirstOwnerOnlyPartitioning(Partitioning):
    """Mutant: counts only the first replica of each partition towards load."""

    def placements(self, n: int) -> list[tuple[tuple[int, int], tuple[str, ...]]]:
        return [(r, owners[:1]) for r, owners in Partitioning.placements(self, n)]


def test_loads_check_catches_a_mutant() -> None:
    p = strategy1(SEVEN, 3, random.Random(2))
    check_loads(p, 3)
    broken = FirstOwnerOnlyPartitioning(p.strategy, p.ring, p.tokens_per_node)
    with pytest.raises(AssertionError):
        check_loads(broken, 3)


def test_exact_loads_agree_with_a_key_sample() -> None:
    p = strategy1(SEVEN, 4, random.Random(9))
    keys = [f"key-{i}" for i in range(20_000)]
    sampled = sampled_loads(p, keys, 3)
    exact = p.loads(3)
    for node in SEVEN:
        assert sampled[node] / len(keys) == pytest.approx(exact[node] / RING_SIZE, abs=0.02)


def test_strategy3_balances_best_at_equal_metadata() -> None:
    rows = compare(nodes=30, n=3, tokens=[8, 32], seed=1, trials=2)
    for row in rows:
        one, two, three = row.measures
        assert one.metadata == two.metadata == three.metadata == 30 * row.tokens_per_node
        assert three.efficiency > max(one.efficiency, two.efficiency)
        assert one.lowest <= one.efficiency <= one.highest


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: strategy1([], 2, random.Random(0)), "empty ring"),
        (lambda: strategy1(["A", "A"], 2, random.Random(0)), "distinct"),
        (lambda: strategy1(["A"], 0, random.Random(0)), "tokens_per_node"),
        (lambda: strategy1(["A"], 2, 7), "rng must be a random.Random"),  # type: ignore[arg-type]
        (lambda: strategy1(["A"], 2, random.Random(0), {"A": -1}), "capacity of node 'A'"),
        (lambda: strategy1(["A"], 2, random.Random(0), {"Z": 1}), "unknown node"),
        (lambda: strategy2(["A"], 2, 0, random.Random(0)), "partitions"),
        (lambda: strategy3(["A", "B", "C"], 2, random.Random(0)), "partitions Q=2 must be >="),
        (lambda: strategy3(["A"], 4, random.Random(0)).with_node("A", random.Random(0)),
         "already in the ring"),
        (lambda: strategy3(["A"], 1, random.Random(0)).with_node("B", random.Random(0)),
         "exceed Q=1"),
        (lambda: strategy3(["A", "B"], 4, random.Random(0)).without_node("Z", random.Random(0)),
         "unknown node 'Z'"),
        (lambda: strategy1(["A"], 2, random.Random(0)).with_node("B", random.Random(0), 0),
         "capacity of node 'B'"),
        (lambda: Partitioning(Strategy.RANDOM_TOKENS, DOUBLE, 1, partitions=4), "must be None"),
        (lambda: Partitioning(Strategy.EQUAL_PARTITIONS, DOUBLE, 1), "partitions must be"),
        (lambda: Partitioning(Strategy.EQUAL_PARTITIONS, DOUBLE, 1, 6), "one token at the end"),
        (lambda: Partitioning(Strategy.RANDOM_TOKENS, DOUBLE, 1).loads(0), "n must be"),
        (lambda: compare(nodes=2, n=3), "exceeds the number of nodes"),
    ],
)
def test_strategies_refuse_bad_input(build: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_draw_tokens_avoids_taken_positions_and_is_seeded() -> None:
    ring = Ring.evenly_spaced(["A", "B"])
    tokens = draw_tokens(random.Random(4), 5, ring.tokens)
    assert len(set(tokens)) == 5 and not set(tokens) & set(ring.tokens)
    assert tokens == draw_tokens(random.Random(4), 5, ring.tokens)
    assert ring.with_node("C", tokens).tokens_of("C") == tuple(sorted(tokens))
    with pytest.raises(ValueError, match="count must be"):
        draw_tokens(random.Random(4), 0)
