"""Session 36's speed levers of the anti-entropy path and the record reader change
nothing a node decides (docs/simulator.md, "Simulator speed (session 36)"): the
bulk check of a Merkle level step refuses exactly what its entry loop refuses, with
the same text; a step takes the held tree's shape only when it names that shape;
the protocol's steps read the tree after its last writes; a record cut anywhere is
refused as a BadMessageError, never a ``struct.error``.
"""

from __future__ import annotations

import random

import pytest

from impl.antientropy import from_exchange, shape_of, to_exchange
from impl.cluster import SimulatedCluster
from impl.errors import BadMessageError
from impl.merkle import (
    DIGEST_SIZE,
    EMPTY,
    Buckets,
    InSync,
    Level,
    MerkleTree,
    TreeShape,
    _check_level,
    _compared_nodes,
    respond,
    root_children,
    start,
)
from impl.messages import MAX_ID, MerkleExchange, _bytes_ok, _counts_ok
from impl.positions import position_of
from impl.records import decode_record
from spec.ring import RING_SIZE


def _loop_check(shape: TreeShape, message: Level) -> None:
    """:func:`impl.merkle._check_level` before session 36 (its level and parents
    checks, then the entry loop alone)."""
    level = message.level
    if level == 0:
        if message.parents != ():
            raise BadMessageError("a level-0 Merkle message must list no parents")
    else:
        limit = shape.nodes_at(level - 1)
        parents = message.parents
        if not all(0 <= p < limit for p in parents) or len(set(parents)) != len(parents):
            raise BadMessageError(
                f"Merkle parents at level {level - 1} must be distinct ints in [0, {limit})")
    allowed = set(_compared_nodes(shape, message))
    seen: set[int] = set()
    for entry in message.hashes:
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], int)
                and entry[0] in allowed
                and isinstance(entry[1], bytes) and len(entry[1]) == DIGEST_SIZE
                and entry[0] not in seen):
            raise BadMessageError(
                f"bad Merkle hash entry {entry!r:.80} at level {message.level}: expected a "
                f"compared node index and a {DIGEST_SIZE}-byte hash, each node once")
        seen.add(entry[0])


class _Int(int):
    pass


class _Pair(tuple):  # type: ignore[type-arg]
    pass


class _Bytes(bytes):
    pass


def _outcome(check: object, shape: TreeShape, message: Level) -> str:
    try:
        check(shape, message)  # type: ignore[operator]
    except BadMessageError as error:
        return str(error)
    return "ok"


@pytest.mark.parametrize("shape", [TreeShape(0, RING_SIZE), TreeShape(5, 2**90, 4, 2)])
def test_a_level_steps_bulk_check_refuses_what_its_entry_loop_refuses(
        shape: TreeShape) -> None:
    """3,000 level steps, half of compared nodes with good hashes (some with one
    entry spoiled), half of any entries: a bool or an int subclass for an index, a
    node not compared, a node twice, a hash of 15 or 17 bytes, a bytes subclass, a
    list or a tuple subclass for a pair, a pair of 1 or 3: the same verdict and the
    same text as the loop (which the bulk check hands any but plain pairs to)."""
    rng = random.Random(36)
    f = shape.fanout
    indexes = [0, 1, 2, 5, f - 1, f, f + 1, 2 * f, -1, True, False, _Int(3), "1", 1.0]
    digests = [bytes(16), b"\x01" * 16, bytes(15), bytes(17), _Bytes(bytes(16)), "x" * 16]

    def junk() -> object:
        i, h = rng.choice(indexes), rng.choice(digests)
        return rng.choice([(i, h), (i, h), (i, h), (i,), (i, h, h), [i, h], _Pair((i, h))])

    outcomes = {"ok": 0, "refused": 0}
    for _ in range(3_000):
        level = rng.choice([0, 1, 1, 2])
        parents = () if level == 0 else tuple(  # (a parent out of range: now and then)
            rng.sample(range(shape.nodes_at(level - 1) + rng.choice([0, 0, 0, 1])),
                       rng.randrange(1, 3) if level > 1 else 1))
        compared = [0] if level == 0 else [c for p in parents for c in range(p * f, p * f + f)]
        if rng.random() < 0.5:
            chosen = rng.sample(compared, rng.randrange(len(compared) + 1))
            hashes: list[object] = [(c, rng.choice(digests[:2])) for c in chosen]
            if hashes and rng.random() < 0.4:
                hashes[rng.randrange(len(hashes))] = junk()
            if hashes and rng.random() < 0.1:
                hashes.append(hashes[0])  # a node listed twice
        else:
            hashes = [junk() for _ in range(rng.randrange(6))]
        message = Level(shape, level, parents, tuple(hashes))  # type: ignore[arg-type]
        expected = _outcome(_loop_check, shape, message)
        assert _outcome(_check_level, shape, message) == expected, message
        outcomes["ok" if expected == "ok" else "refused"] += 1
    assert min(outcomes.values()) > 500, outcomes  # both kinds drawn often


def _exchange(fanout: int = 16, depth: int = 3, lo: int = 0,
              hi: int = RING_SIZE) -> MerkleExchange:
    return MerkleExchange(7, lo, hi, fanout, depth, "level", 1, (0,), (2,), (bytes(16),))


def test_a_step_takes_the_held_shape_only_when_it_names_it() -> None:
    """``from_exchange(message, held)`` uses ``held`` for a message of the same
    lo, hi, fanout and depth (no shape built), and builds the message's own shape
    otherwise: another fanout, depth or range is compared as that shape (and
    refused by :func:`impl.merkle.check`), an impossible one still refused."""
    held = TreeShape(0, RING_SIZE)
    assert from_exchange(_exchange(), held).shape is held
    for other in (_exchange(fanout=4), _exchange(depth=2), _exchange(lo=1),
                  _exchange(hi=RING_SIZE - 1)):
        step = from_exchange(other, held)
        assert step.shape == shape_of(other) != held
    with pytest.raises(BadMessageError, match="bad tree shape"):
        from_exchange(_exchange(depth=7), held)  # 16**7 buckets: over 2**24


def test_the_protocol_steps_read_the_tree_after_its_last_writes() -> None:
    """A tree written after a step read it answers the next steps from its new
    hashes (each step refreshes the pending writes once): the root's children and
    a level step's answer are those of the nodes' hashes one by one."""
    shape = TreeShape(0, RING_SIZE, 4, 2)
    a, b = MerkleTree(shape), MerkleTree(shape)
    for i in range(12):
        a.update(b"k%d" % i, b"1")
        b.update(b"k%d" % i, b"1")
    assert respond(b, start(a)) is not None  # both trees read (refreshed)
    b.update(b"k3", b"2")
    b.update(b"new", b"3")
    children = root_children(b)
    assert children.hashes == tuple((c, h) for c in range(4) if (h := b.node_hash(1, c)))
    answer = respond(b, root_children(a))  # a's children against b's new ones
    assert isinstance(answer, Level) and answer.level == 2
    assert answer.hashes == tuple((c, h) for p in answer.parents for c in range(p * 4, p * 4 + 4)
                                  if (h := b.node_hash(2, c)) != EMPTY)
    assert set(answer.parents) == {shape.bucket_of(position_of(k)) // 4 for k in (b"k3", b"new")}
    wire = from_exchange(to_exchange(1, answer), shape)
    assert wire == answer


@pytest.mark.parametrize("clock", ["dvv", "server-vclock", "client-vclock", "lww"])
def test_a_record_cut_anywhere_is_refused_as_malformed(clock: str) -> None:
    """Every cut of a stored record (its reader's numbers read in place, session
    36) raises BadMessageError, never a ``struct.error`` out of the reader."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock=clock)
    client = cluster.client()
    cluster.wait([client.submit_put(b"k", b"v%d" % i) for i in range(3)])
    records = {record for storage in cluster.storages.values() for _, record in storage.scan()}
    assert records
    for record in records:
        decode_record(record)
        for cut in range(len(record)):
            with pytest.raises(BadMessageError):
                decode_record(record[:cut])
    cluster.close()


def _old_counts_ok(items: object) -> bool:
    return type(items) is tuple and (not items or (
        all(type(i) is int for i in items) and min(items) >= 0 and max(items) <= MAX_ID))


def _old_bytes_ok(items: object) -> bool:
    return type(items) is tuple and (not items or all(type(i) is bytes for i in items))


def test_the_fast_tuple_checks_take_what_the_generators_took() -> None:
    """``_counts_ok`` and ``_bytes_ok`` (the items' exact types as a set, session
    36) agree with the generator forms on 5,000 tuples of mixed items: bools, int
    and bytes subclasses, bytearrays, negatives, ints past MAX_ID, empty tuples and
    lists."""
    rng = random.Random(7)
    items = [0, 1, MAX_ID, MAX_ID + 1, -1, True, _Int(2), b"", b"x", _Bytes(b"y"),
             bytearray(b"z"), "s", None, 1.0]
    for _ in range(5_000):
        drawn = [rng.choice(items[:3] if rng.random() < 0.5 else items)
                 for _ in range(rng.randrange(5))]
        if rng.random() < 0.3:
            drawn = [rng.choice([b"a", b"bb"]) for _ in drawn]
        value: object = tuple(drawn) if rng.random() < 0.9 else drawn
        assert _counts_ok(value) == _old_counts_ok(value), value
        assert _bytes_ok(value) == _old_bytes_ok(value), value


def _old_compare_level(tree: MerkleTree, message: Level) -> object:
    """:func:`impl.merkle._compare_level` before session 36 (a node at a time)."""
    shape = tree.shape
    theirs = dict(message.hashes)
    differing = [i for i in _compared_nodes(shape, message)
                 if tree.node_hash(message.level, i) != theirs.get(i, EMPTY)]
    if not differing:
        return InSync(shape)
    if message.level == shape.depth:
        entries = tuple(sorted(e for b in differing for e in tree.bucket_entries(b)))
        return Buckets(shape, tuple(differing), entries)
    level = message.level + 1
    f = shape.fanout
    mine = tuple((c, h) for p in differing for c in range(p * f, p * f + f)
                 if (h := tree.node_hash(level, c)))
    return Level(shape, level, tuple(differing), mine)


def test_a_level_step_is_answered_as_node_by_node() -> None:
    """:func:`impl.merkle.answer` of level steps (the whole level compared, or some
    parents' children) between trees that differ in 0 to 3 keys, against the old
    comparison node by node: the same answer (InSync found from one dict
    comparison when the step holds the tree's whole level, session 36)."""
    rng = random.Random(11)
    shape = TreeShape(0, RING_SIZE, 4, 3)
    in_sync = 0
    for _ in range(300):
        keys = {b"k%d" % rng.randrange(200): b"v" for _ in range(rng.randrange(40))}
        a, b = MerkleTree(shape), MerkleTree(shape)
        for key, record in keys.items():
            a.update(key, record)
            b.update(key, record)
        for _ in range(rng.randrange(4)):
            b.update(b"k%d" % rng.randrange(200), b"w")
        for level in range(shape.depth + 1):
            count = shape.nodes_at(level - 1) if level else 0
            parents = tuple(sorted(rng.sample(range(count), rng.randrange(1, count + 1)))
                            ) if level else ()
            compared = _compared_nodes(shape, Level(shape, level, parents, ()))
            step = Level(shape, level, parents, tuple(
                (i, h) for i in compared if (h := b.node_hash(level, i))))
            answer = respond(a, step)
            assert answer == _old_compare_level(a, step)
            in_sync += answer == InSync(shape)
    assert 100 < in_sync < 1_100, in_sync  # both answers drawn often


def test_the_root_children_go_in_index_order_whatever_order_the_tree_hashed_them() -> None:
    """A level-1 node emptied and filled again is hashed after its siblings; the
    root's children still list the nodes by index, as node by node did (the hashes
    of level 1 are sorted, session 36)."""
    shape = TreeShape(0, RING_SIZE, 4, 2)
    tree = MerkleTree(shape)
    keys = [b"k%d" % i for i in range(40)]
    for key in keys:
        tree.update(key, b"1")
    first = root_children(tree)
    assert [i for i, _ in first.hashes] == [0, 1, 2, 3]
    quarter = [key for key in keys if shape.bucket_of(position_of(key)) < 4]  # node 0's
    for key in quarter:
        tree.remove(key)
    assert [i for i, _ in root_children(tree).hashes] == [1, 2, 3]
    for key in quarter:
        tree.update(key, b"1")
    assert root_children(tree) == first
