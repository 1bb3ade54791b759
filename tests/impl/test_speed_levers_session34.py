"""Session 34's speed levers (issue 13) against what they replaced: the node and the
simulator do exactly what they did before, with less work on the way."""

from __future__ import annotations

import dataclasses
import random
from hashlib import blake2b

import pytest

from impl.cluster import SimulatedCluster
from impl.effects import Send
from impl.merkle import DIGEST_SIZE, EMPTY, MerkleTree, TreeShape, record_digest
from impl.messages import Gossip, HintDelivery, KeyRecords, MerkleExchange, ReplicaPut
from impl.positions import position_of
from spec.ring import RING_SIZE


@pytest.mark.parametrize("message", [
    MerkleExchange(7, 0, 10, 2, 1, "level", indexes=(1,), hashes=(b"h",)),
    KeyRecords((b"k",), (b"r",)),
    HintDelivery(1, b"k", b"r"),
], ids=["merkle-exchange", "key-records", "hint-delivery"])
def test_finish_stamps_a_generation_message_sent_without_a_gossip(message: object) -> None:
    """``Node._finish`` looks once over the effects for a send it changes (session 34):
    a batch whose only such send is an anti-entropy message or a hint delivery, with
    no gossip, still has it stamped with the store's generation, and the plain sends
    around it are the same objects."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)
    node = cluster.node("n1")
    guard = node.guard
    assert guard is not None
    before, after = Send("n2", ReplicaPut(3, b"k", b"r")), Send("n3", ReplicaPut(4, b"k", b"r"))
    out = node._finish([before, Send("n2", message), after])
    sends = [effect for effect in out if isinstance(effect, Send)]
    assert sends[0] is before and sends[2] is after
    assert sends[1].message == dataclasses.replace(message, generation=guard.generation)


def test_finish_leaves_a_batch_without_stamped_sends_as_it_was() -> None:
    """No send of a stamped type: every effect comes out as the same object, in order."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)
    node = cluster.node("n1")
    effects = [Send("n2", ReplicaPut(3, b"k", b"r")), Send("n3", ReplicaPut(4, b"k", b"r"))]
    out = node._finish(list(effects))
    assert len(out) == 2 and all(a is b for a, b in zip(out, effects, strict=True))


def test_finish_gives_a_lone_gossip_its_beats_and_generation() -> None:
    """A gossip alone in its batch gets the guard's generation and this node's beats."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)
    node = cluster.node("n1")
    guard = node.guard
    assert guard is not None
    out = node._finish([Send("n2", Gossip(b"v"))])
    gossip = out[-1].message  # type: ignore[union-attr]
    assert isinstance(gossip, Gossip)
    assert gossip.generation == guard.generation and gossip.beats


def _reference_levels(shape: TreeShape, records: dict[bytes, bytes]) -> list[dict[int, bytes]]:
    """Every non-empty node hash of a tree over ``records``, per level, computed from
    scratch by the scheme impl/merkle.py's docstring states: a bucket hashes its
    sorted ``(key, digest)`` entries, an inner node its ``fanout`` children joined
    (an empty child as 16 zero bytes), an empty node is not there."""
    f, depth = shape.fanout, shape.depth
    buckets: dict[int, dict[bytes, bytes]] = {}
    for key, record in records.items():
        buckets.setdefault(shape.bucket_of(position_of(key)), {})[key] = record_digest(
            key, record)
    levels: list[dict[int, bytes]] = [{} for _ in range(depth + 1)]
    for bucket, entries in buckets.items():
        levels[depth][bucket] = blake2b(
            b"".join(len(key).to_bytes(4, "big") + key + digest
                     for key, digest in sorted(entries.items())),
            digest_size=DIGEST_SIZE, person=b"vdynamo-bucket").digest()
    for level in range(depth - 1, -1, -1):
        for index in range(f**level):
            kids = [levels[level + 1].get(c) for c in range(index * f, index * f + f)]
            if any(kid is not None for kid in kids):
                levels[level][index] = blake2b(
                    b"".join(kid or bytes(DIGEST_SIZE) for kid in kids),
                    digest_size=DIGEST_SIZE, person=b"vdynamo-node").digest()
    return levels


@pytest.mark.parametrize(("fanout", "depth", "seed"), [
    (2, 1, 1), (2, 2, 2), (3, 2, 3), (4, 3, 4), (16, 3, 5), (2, 4, 6)])
def test_tree_hashes_are_the_schemes_through_writes_and_removals(
        fanout: int, depth: int, seed: int) -> None:
    """The tree's hashes are those of the scheme computed from scratch, at every
    level and node, after every batch of writes and removals, removals that empty
    whole subtrees and the tree among them; so are :meth:`children`,
    :meth:`snapshot` and :meth:`root`. (Session 34 tried keeping the nodes below
    the root in rows of their parents, measured and dropped: this test held both
    trees to the same hashes, and killed four of that tree's five mutants, the
    fifth once a node past the last one was asked for too.)"""
    rng = random.Random(seed)
    shape = TreeShape(0, RING_SIZE, fanout, depth)
    tree = MerkleTree(shape)
    records: dict[bytes, bytes] = {}
    keys = [b"k%d" % i for i in range(3 * fanout**depth)]
    for round_ in range(40):
        for _ in range(rng.randint(1, 8)):
            key = rng.choice(keys)
            if rng.random() < (0.7 if round_ % 10 < 6 else 0.1):  # fill, then drain
                records[key] = b"r%d" % rng.randrange(3)
                tree.update(key, records[key])
            else:
                records.pop(key, None)
                tree.remove(key)
        if round_ % 10 == 9:  # the tree drained empty
            for key in list(records):
                del records[key]
                tree.remove(key)
        expected = _reference_levels(shape, records)
        assert tree.snapshot() == tuple(expected)
        assert tree.root() == expected[0].get(0, EMPTY)
        for level in range(depth + 1):
            for index in range(fanout**level):
                assert tree.node_hash(level, index) == expected[level].get(index, EMPTY)
            assert tree.node_hash(level, fanout**level) == EMPTY  # no such node
        for level in range(depth):
            for index in range(fanout**level):
                assert tree.children(level, index) == tuple(
                    expected[level + 1].get(c, EMPTY)
                    for c in range(index * fanout, index * fanout + fanout))
