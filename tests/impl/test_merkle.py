"""Merkle trees per key range and the anti-entropy diff protocol.

Each property is a plain check function, run by Hypothesis on the real code and
on deliberately broken variants (mutants) that it must catch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from impl.antientropy import RangeTrees
from impl.errors import BadMessageError
from impl.merkle import (
    DIGEST_SIZE,
    EMPTY,
    Buckets,
    DiffResult,
    InSync,
    Level,
    MerkleTree,
    OutOfSync,
    TreeShape,
    answer,
    check,
    diff,
    hashes_in,
    record_digest,
    respond,
    root_children,
    start,
)
from impl.storage.base import Storage
from impl.storage.memory import MemoryStorage
from spec.ring import RING_SIZE, Ring, key_position
from tests.conftest import examples

FULL = TreeShape(0, RING_SIZE)
Diff = Callable[[MerkleTree, MerkleTree], DiffResult]

KEYS = st.binary(max_size=3)
RECORDS = st.binary(max_size=3)
SHAPES = st.builds(
    lambda fanout, depth, cut: TreeShape(0, RING_SIZE, fanout, depth) if cut is None
    else TreeShape(cut[0], cut[1], fanout, depth),
    st.integers(2, 6),
    st.integers(1, 4),
    st.one_of(st.none(), st.tuples(st.integers(0, RING_SIZE // 2),
                                   st.integers(RING_SIZE // 2 + 1, RING_SIZE))),
)


def tree_of(shape: TreeShape, items: dict[bytes, bytes]) -> MerkleTree:
    return MerkleTree.build(shape, ((k, v) for k, v in items.items()
                                    if shape.contains(key_position(k))))


def in_range(shape: TreeShape, items: dict[bytes, bytes]) -> dict[bytes, bytes]:
    return {k: v for k, v in items.items() if shape.contains(key_position(k))}


# ---------------------------------------------------------------- checks


def check_diff_exact(shape: TreeShape, a: dict[bytes, bytes], b: dict[bytes, bytes],
                     run: Diff = diff) -> None:
    """The diff finds exactly the differing keys; after syncing them it finds nothing."""
    a, b = in_range(shape, a), in_range(shape, b)
    ta, tb = tree_of(shape, a), tree_of(shape, b)
    expected = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
    result = run(ta, tb)
    assert result.keys == expected
    assert run(tb, ta).keys == expected  # either side may start
    # sync: both take the union, a's record winning, for just the keys found
    for key in result.keys:
        merged = a.get(key, b.get(key))
        assert merged is not None
        ta.update(key, merged)
        tb.update(key, merged)
    after = run(ta, tb)
    assert after.keys == frozenset()
    assert after.hashes <= 1 and after.messages == 2  # my root, then InSync
    assert ta.root() == tb.root()


def check_incremental_equals_rebuild(shape: TreeShape,
                                     ops: list[tuple[bytes, bytes | None]],
                                     tree_class: type[MerkleTree] = MerkleTree) -> None:
    tree = tree_class(shape)
    model: dict[bytes, bytes] = {}
    for i, (key, record) in enumerate(ops):
        if not shape.contains(key_position(key)):
            continue
        if record is None:
            tree.remove(key)
            model.pop(key, None)
        else:
            tree.update(key, record)
            model[key] = record
        if i % 3 == 0:
            tree.root()  # interleave reads: the lazy rehash must still be exact
    rebuilt = MerkleTree.build(shape, model.items())
    assert tree.snapshot() == rebuilt.snapshot()
    assert tree.root() == rebuilt.root()
    assert len(tree) == len(model)
    assert sorted(tree.keys()) == sorted(model)


def check_traffic(run: Diff) -> DiffResult:
    """1 differing key among 10,000: O(fanout * depth) hashes, not O(keys)."""
    shape = TreeShape(0, RING_SIZE, 16, 4)
    items = {b"key-%d" % i: b"value-%d" % i for i in range(10_000)}
    a = tree_of(shape, items)
    b = tree_of(shape, items)
    b.update(b"key-4242", b"changed")
    result = run(a, b)
    assert result.keys == {b"key-4242"}
    # root + one differing node per level, each expanding to <= fanout hashes, + its bucket
    bound = 1 + shape.fanout * shape.depth + 2 * 8
    assert result.hashes <= bound, f"{result.hashes} hashes exchanged, bound {bound}"
    return result


# ---------------------------------------------------------------- properties


@given(shape=SHAPES,
       base=st.dictionaries(KEYS, RECORDS, max_size=40),
       only_a=st.dictionaries(KEYS, RECORDS, max_size=8),
       only_b=st.dictionaries(KEYS, RECORDS, max_size=8),
       dropped=st.sets(KEYS, max_size=8))
def test_diff_finds_exactly_the_differing_keys(
    shape: TreeShape, base: dict[bytes, bytes], only_a: dict[bytes, bytes],
    only_b: dict[bytes, bytes], dropped: set[bytes],
) -> None:
    a = {**base, **only_a}
    b = {k: v for k, v in {**base, **only_b}.items() if k not in dropped}
    check_diff_exact(shape, a, b)


@given(shape=SHAPES,
       ops=st.lists(st.tuples(KEYS, st.one_of(st.none(), RECORDS)), max_size=60))
def test_incremental_update_equals_rebuild(
    shape: TreeShape, ops: list[tuple[bytes, bytes | None]]
) -> None:
    check_incremental_equals_rebuild(shape, ops)


@given(shape=SHAPES, position=st.integers(0, RING_SIZE - 1))
def test_buckets_tile_the_range(shape: TreeShape, position: int) -> None:
    if not shape.contains(position):
        position = shape.lo + position % (shape.hi - shape.lo)
    bucket = shape.bucket_of(position)
    assert 0 <= bucket < shape.buckets
    lo, hi = shape.bucket_range(bucket)
    assert lo <= position < hi
    assert shape.bucket_range(0)[0] == shape.lo
    assert shape.bucket_range(shape.buckets - 1)[1] == shape.hi
    if bucket + 1 < shape.buckets:
        assert shape.bucket_range(bucket + 1)[0] == hi


def test_traffic_is_logarithmic() -> None:
    result = check_traffic(diff)
    assert result.messages == 4 + 3  # root, levels 1..4, the buckets, the verdict
    # 10,000 digests would be a full exchange: we sent well under 1% of that
    assert result.hashes < 100


def test_one_write_rehashes_one_path() -> None:
    shape = TreeShape(0, RING_SIZE, 16, 4)
    tree = tree_of(shape, {b"key-%d" % i: b"v" for i in range(5_000)})
    tree.root()
    before = tree.rehashed
    tree.update(b"key-17", b"new")
    assert tree.rehashed == before  # updating is O(1): nothing rehashed yet
    tree.root()
    assert tree.rehashed - before == shape.depth + 1  # the bucket and its path to the root
    # many writes to one bucket still rehash that path once
    before = tree.rehashed
    for i in range(10):
        tree.update(b"key-17", b"again-%d" % i)
    tree.root()
    assert tree.rehashed - before == shape.depth + 1


def test_tree_from_storage_scan_and_bucket_scan() -> None:
    store = MemoryStorage()
    for i in range(300):
        store.write(b"k%d" % i, b"r%d" % i)
    shape = TreeShape(RING_SIZE // 4, RING_SIZE // 2, 4, 3)
    tree = MerkleTree.build(shape, store.scan(shape.lo, shape.hi))
    assert len(tree) == len(list(store.scan(shape.lo, shape.hi))) > 0
    for index in range(shape.buckets):
        lo, hi = shape.bucket_range(index)
        assert [k for k, _ in tree.bucket_entries(index)] == sorted(
            k for k, _ in store.scan(lo, hi))


def test_empty_trees_and_one_sided_ranges() -> None:
    empty, full = MerkleTree(FULL), tree_of(FULL, {b"a": b"1", b"b": b"2"})
    assert empty.root() == EMPTY
    assert diff(empty, MerkleTree(FULL)) == DiffResult(frozenset(), 0, 2)
    assert diff(empty, full).keys == {b"a", b"b"}
    assert diff(full, empty).keys == {b"a", b"b"}
    assert respond(empty, InSync(FULL)) is None
    assert respond(empty, OutOfSync(FULL, (b"a",))) is None


def test_digest_and_membership_helpers() -> None:
    tree = tree_of(FULL, {b"a": b"1"})
    assert tree.digest_of(b"a") == record_digest(b"a", b"1")
    assert len(record_digest(b"a", b"1")) == DIGEST_SIZE
    assert record_digest(b"a", b"bc") != record_digest(b"ab", b"c")  # the key is framed
    assert b"a" in tree and b"b" not in tree and "a" not in tree
    tree.remove(b"never")
    tree.remove(b"a")
    assert len(tree) == 0 and tree.root() == EMPTY


# ---------------------------------------------------------------- bad input


def test_bad_shapes_and_keys() -> None:
    for args in ((5, 5), (-1, 10), (0, RING_SIZE + 1), (0, 10, 1, 2), (0, 10, 16, 0),
                 (0, 10, 16, 7), (0, 10, True, 2)):
        with pytest.raises(ValueError):
            TreeShape(*args)
    half = TreeShape(0, RING_SIZE // 2)
    outside = next(k for k in (b"k%d" % i for i in range(100))
                   if key_position(k) >= RING_SIZE // 2)
    inside = next(k for k in (b"k%d" % i for i in range(100)) if half.contains(key_position(k)))
    tree = MerkleTree(half)
    with pytest.raises(ValueError, match="outside the tree's range"):
        tree.update(outside, b"r")
    with pytest.raises(ValueError, match="key must be bytes"):
        tree.update("text", b"r")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="record must be bytes"):
        tree.update(inside, "r")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="digest must be"):
        tree.set_digest(inside, b"short")
    assert len(tree) == 0
    with pytest.raises(ValueError, match="shape must be"):
        MerkleTree((0, 10))  # type: ignore[arg-type]


def test_bad_messages_are_refused_and_change_nothing() -> None:
    shape = TreeShape(0, RING_SIZE, 4, 2)
    tree = tree_of(shape, {b"k%d" % i: b"v" for i in range(50)})
    snapshot = tree.snapshot()
    other = TreeShape(0, RING_SIZE, 4, 3)
    key = b"k1"
    bucket = shape.bucket_of(key_position(key))
    wrong_bucket = (bucket + 1) % shape.buckets
    good_hash = bytes(DIGEST_SIZE)
    bad: list[object] = [
        "not a message",
        Level(other, 0, (), ()),
        Level(shape, 3, (0,), ()),
        Level(shape, -1, (), ()),
        Level(shape, 0, (0,), ()),
        Level(shape, 1, (1,), ()),  # only one node at level 0
        Level(shape, 1, (0, 0), ()),
        Level(shape, 1, (0,), ((9, good_hash),)),  # 9 is not a child of node 0
        Level(shape, 1, (0,), ((1, b"short"),)),
        Level(shape, 1, (0,), ((1, good_hash), (1, good_hash))),
        Level(shape, 1, (0,), (([1], good_hash),)),  # type: ignore[arg-type]
        Level(shape, 1, (0,), [(1, good_hash)]),  # type: ignore[arg-type]
        Buckets(shape, (shape.buckets,), ()),
        Buckets(shape, (bucket, bucket), ()),
        Buckets(shape, (wrong_bucket,), ((key, good_hash),)),
        Buckets(shape, (bucket,), ((key, good_hash), (key, good_hash))),
        Buckets(shape, (bucket,), ((key, b"x"),)),
        Buckets(shape, (bucket,), (("k1", good_hash),)),  # type: ignore[arg-type]
    ]
    for message in bad:
        with pytest.raises(BadMessageError):
            respond(tree, message)  # type: ignore[arg-type]
    assert tree.snapshot() == snapshot


def test_protocol_conversation_shape() -> None:
    shape = TreeShape(0, RING_SIZE, 4, 2)
    a = tree_of(shape, {b"x": b"1", b"y": b"2"})
    b = tree_of(shape, {b"x": b"1", b"y": b"3"})
    m0 = start(a)
    assert isinstance(m0, Level) and m0.level == 0 and hashes_in(m0) == 1
    m1 = respond(b, m0)
    assert isinstance(m1, Level) and m1.level == 1 and m1.parents == (0,)
    m2 = respond(a, m1)
    assert isinstance(m2, Level) and m2.level == 2
    m3 = respond(b, m2)
    assert isinstance(m3, Buckets) and [k for k, _ in m3.entries] == [b"y"]
    m4 = respond(a, m3)
    assert m4 == OutOfSync(shape, (b"y",))
    assert respond(b, m4) is None


def test_root_children_answer_a_root_found_in_sync() -> None:
    """A replica that finds the opener's root in sync answers its hashes of the
    root's children (session 35): a valid level-1 step that the opener finds in sync
    too (the exchange completes at the opener), and descends from if its tree
    changed since its root went; two empty trees answer an empty level-1 step."""
    shape = TreeShape(0, RING_SIZE, 4, 2)
    a = tree_of(shape, {b"x": b"1", b"y": b"2"})
    b = tree_of(shape, {b"x": b"1", b"y": b"2"})
    root = start(a)
    assert respond(b, root) == InSync(shape)
    children = root_children(b)
    assert (children.level, children.parents, hashes_in(children)) == (1, (0,), 2)
    assert respond(a, children) == InSync(shape)
    a.update(b"y", b"3")  # the opener wrote since its root went
    assert isinstance(respond(a, children), Level)
    empty = root_children(tree_of(shape, {}))
    assert empty == Level(shape, 1, (0,), ())
    assert respond(tree_of(shape, {}), empty) == InSync(shape)


# ---------------------------------------------------------------- mutants


def full_exchange(a: MerkleTree, b: MerkleTree) -> DiffResult:
    """Mutant: no tree descent, every key's digest is exchanged."""
    da = {k: a.digest_of(k) for k in a}
    db = {k: b.digest_of(k) for k in b}
    keys = frozenset(k for k in da.keys() | db.keys() if da.get(k) != db.get(k))
    return DiffResult(keys, len(da) + len(db), 2)


def receiver_side_only(a: MerkleTree, b: MerkleTree) -> DiffResult:
    """Mutant: the bucket comparison only looks at keys the receiver holds."""
    result = diff(a, b)
    return DiffResult(frozenset(k for k in result.keys if k in a and k in b),
                      result.hashes, result.messages)


class LazyDeleteTree(MerkleTree):
    """Mutant: a delete forgets the digest but does not mark the bucket dirty."""

    def remove(self, key: bytes) -> None:
        entries = self._buckets.get(self.shape.bucket_of(key_position(key)))
        if entries is not None and entries.pop(key, None) is not None:
            self._size -= 1


def test_traffic_check_catches_full_exchange() -> None:
    with pytest.raises(AssertionError, match="hashes exchanged"):
        check_traffic(full_exchange)


_MUTANT_SETTINGS = settings(max_examples=examples(300), database=None,
                            phases=[Phase.explicit, Phase.generate])


def test_diff_check_catches_one_sided_mutant() -> None:
    @_MUTANT_SETTINGS
    @given(a=st.dictionaries(KEYS, RECORDS, max_size=10),
           b=st.dictionaries(KEYS, RECORDS, max_size=10))
    def run(a: dict[bytes, bytes], b: dict[bytes, bytes]) -> None:
        check_diff_exact(FULL, a, b, receiver_side_only)

    with pytest.raises(AssertionError):
        run()


def test_rebuild_check_catches_lazy_delete_mutant() -> None:
    @_MUTANT_SETTINGS
    @given(ops=st.lists(st.tuples(KEYS, st.one_of(st.none(), RECORDS)), max_size=30))
    def run(ops: list[tuple[bytes, bytes | None]]) -> None:
        check_incremental_equals_rebuild(TreeShape(0, RING_SIZE, 2, 2), ops, LazyDeleteTree)

    with pytest.raises(AssertionError):
        run()


@given(shape=SHAPES, data=st.data())
def test_paths_name_nodes(shape: TreeShape, data: st.DataObject) -> None:
    level = data.draw(st.integers(0, shape.depth))
    index = data.draw(st.integers(0, shape.nodes_at(level) - 1))
    path = shape.path_of(level, index)
    assert len(path) == level and all(0 <= d < shape.fanout for d in path)
    assert shape.locate(path) == (level, index)
    if level < shape.depth:  # a child's path extends its parent's
        assert shape.path_of(level + 1, index * shape.fanout + 1) == (*path, 1)


def test_bad_paths() -> None:
    shape = TreeShape(0, RING_SIZE, 4, 2)
    for path in ((4,), (0, 0, 0), (-1,), [0], (True,)):
        with pytest.raises(ValueError):
            shape.locate(path)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        shape.path_of(1, 4)
    with pytest.raises(ValueError):
        shape.path_of(3, 0)


def check_range_trees(make: Callable[..., RangeTrees]) -> None:
    """The node's trees (:class:`impl.antientropy.RangeTrees`) equal trees built
    afresh from storage after writes, removals and a ring change; unchanged ranges
    keep their tree; keys outside every range change nothing."""
    ring = Ring.from_tokens({"n1": [RING_SIZE // 5, RING_SIZE // 2], "n2": [RING_SIZE // 3],
                             "n3": [4 * RING_SIZE // 5]})
    store = MemoryStorage()
    for i in range(200):
        store.write(b"pre-%d" % i, b"v")
    for max_pending in (1, 7, 4096):  # applied at once, in batches, on read
        trees = make(fanout=4, depth=2, max_pending=max_pending)
        ranges = ring.ranges_of("n1", 1)
        trees.reset(ranges, store)
        assert trees.ranges == ranges and len(trees) == len(ranges)
        for lo, hi in ranges:
            tree = trees.get(lo, hi)
            assert tree is not None and tree.shape == TreeShape(lo, hi, 4, 2)

        def write(key: bytes, record: bytes | None, trees: RangeTrees = trees) -> None:
            if record is None:
                store.delete(key)
                trees.update(key, b"")
            else:
                store.write(key, record)
                trees.update(key, record)

        for i in range(300):
            write(b"k-%d" % i, b"r-%d" % i)
        for i in range(0, 300, 3):
            write(b"k-%d" % i, None)
        write(b"pre-7", b"changed")

        def check(trees: RangeTrees = trees) -> None:
            for lo, hi in trees.ranges:
                tree = trees.get(lo, hi)
                assert tree is not None
                assert tree.root() == MerkleTree.build(tree.shape, store.scan(lo, hi)).root()

        check()
        inside = ranges[0]
        assert trees.get(inside[0], inside[1] - 1) is None
        others = [r for r in ring.ranges() if r not in ranges]
        assert others, "n1 is not a replica of every range"
        assert all(trees.get(*r) is None for r in others)
        def roots(trees: RangeTrees = trees) -> list[bytes]:
            return [t.root() for r in trees.ranges if (t := trees.get(*r)) is not None]

        before = roots()
        foreign = next(k for k in (b"f-%d" % i for i in range(1000))
                       if not any(lo <= key_position(k) < hi for lo, hi in ranges))
        write(foreign, b"not mine")  # a key outside every range changes no tree
        assert roots() == before
        # the ring changes: unchanged ranges keep their tree, new ones are built
        kept = {r: trees.get(*r) for r in ranges}
        bigger = ring.with_node("n4", [RING_SIZE // 10])
        new_ranges = bigger.ranges_of("n1", 1)
        trees.reset(new_ranges, store)
        assert trees.ranges == new_ranges
        same = [r for r in new_ranges if trees.get(*r) is kept.get(r)]
        assert same and len(same) < len(new_ranges)  # some ranges kept, some built
        assert same == [r for r in new_ranges if r in kept]
        check()
        with pytest.raises(ValueError, match="overlap"):
            trees.reset([(0, 10), (5, 20)], store)
        assert trees.ranges == new_ranges  # a refused reset changes nothing
        with pytest.raises(ValueError):
            trees.update(b"k", "r")  # type: ignore[arg-type]


def test_range_trees_follow_the_node_writes_and_the_ring() -> None:
    check_range_trees(RangeTrees)


class DeafRangeTrees(RangeTrees):
    """Mutant: removals are not routed to the trees."""

    def update(self, key: bytes, record: bytes) -> None:
        if record:
            super().update(key, record)


class StaleRangeTrees(RangeTrees):
    """Mutant: a ring change keeps the old trees."""

    def reset(self, ranges: Iterable[tuple[int, int]], storage: Storage) -> None:
        if len(self):
            return
        super().reset(ranges, storage)


class RebuildingRangeTrees(RangeTrees):
    """Mutant: a ring change rebuilds every tree (correct roots, wasted scans)."""

    def reset(self, ranges: Iterable[tuple[int, int]], storage: Storage) -> None:
        super().reset([], storage)
        super().reset(ranges, storage)


@pytest.mark.parametrize("mutant", [DeafRangeTrees, StaleRangeTrees, RebuildingRangeTrees])
def test_range_trees_check_catches_mutants(mutant: type[RangeTrees]) -> None:
    with pytest.raises(AssertionError):
        check_range_trees(mutant)


# ------------------------------------- check, then answer (issue 12, F3)

_SMALL = TreeShape(0, RING_SIZE, 4, 2)
_SMALL_TREE = MerkleTree.build(_SMALL, ((b"k%d" % i, b"v") for i in range(40)))
_HASHES = st.sampled_from([b"h" * DIGEST_SIZE, bytes(DIGEST_SIZE), b"short"])
_INDEXES = st.lists(st.integers(0, 20), max_size=4).map(tuple)
_STEPS = st.one_of(
    st.builds(Level, st.sampled_from([_SMALL, FULL]), st.integers(0, 3), _INDEXES,
              st.lists(st.tuples(st.integers(0, 20), _HASHES), max_size=4).map(tuple)),
    st.builds(Buckets, st.sampled_from([_SMALL, FULL]), _INDEXES,
              st.lists(st.tuples(st.sampled_from([b"k%d" % i for i in range(8)]), _HASHES),
                       max_size=3).map(tuple)),
)


@settings(max_examples=examples(300), deadline=None)
@given(_STEPS)
def test_a_step_check_accepts_is_answered_without_an_error(step: Level | Buckets) -> None:
    """:func:`check` (the peer's data, on the message's fields and the shape alone)
    is what makes :func:`answer` (ours) total: a step it accepts is answered, so an
    error the answer raises is a bug of ours, never the peer's bad data; and
    :func:`respond` is the two."""
    try:
        check(_SMALL, step)
    except BadMessageError:
        with pytest.raises(BadMessageError):
            respond(_SMALL_TREE, step)
        return
    assert answer(_SMALL_TREE, step) == respond(_SMALL_TREE, step)
