"""Session 57's speed levers on the simulator (docs/simulator.md, "The simulator per
CPU-s (session 57)"): each shortcut agrees with the slow form it replaces.

The Merkle trees' three hashes (a key's record digest, a bucket's hash, an inner
node's hash) are copies of a personalized BLAKE2b's empty state
(:data:`impl.merkle._KEY_HASH` and its two siblings) instead of a
``blake2b(data, digest_size=16, person=P)`` built per hash. The tests compute every
hash of seeded trees the slow way, written out here from the module's documented
layout, and compare. Session 55's digest guard
(``tests/impl/test_speed_levers_session55.py``) pins the same hashes end to end (the
anti-entropy messages carry them).

Mutants killed (hand edits of ``impl/merkle.py``, each run against this file):
the bucket template personalized ``b"vdynamo-node"`` (the tree test fails); the node
template updated in place instead of copied (``hashed = _NODE_HASH``: each hash carries
the earlier ones' bytes; the tree test fails); the key template the same
(``digest = _KEY_HASH``: both tests fail); the record digest without its 4-byte
length prefix (both tests fail).
"""

from __future__ import annotations

import random
from hashlib import blake2b

from impl.merkle import DIGEST_SIZE, MerkleTree, TreeShape, record_digest


def _slow_digest(key: bytes, record: bytes) -> bytes:
    return blake2b(len(key).to_bytes(4, "big") + key + record, digest_size=DIGEST_SIZE,
                   person=b"vdynamo-key").digest()


def _slow_levels(shape: TreeShape, entries: dict[bytes, bytes],
                 positions: dict[bytes, int]) -> list[dict[int, bytes]]:
    """Every non-empty node hash per level, from the module doc's layout alone."""
    buckets: dict[int, dict[bytes, bytes]] = {}
    for key, record in entries.items():
        buckets.setdefault(shape.bucket_of(positions[key]), {})[key] = _slow_digest(key, record)
    levels: list[dict[int, bytes]] = [{} for _ in range(shape.depth + 1)]
    for index, bucket in buckets.items():
        levels[shape.depth][index] = blake2b(
            b"".join(len(key).to_bytes(4, "big") + key + digest
                     for key, digest in sorted(bucket.items())),
            digest_size=DIGEST_SIZE, person=b"vdynamo-bucket").digest()
    f = shape.fanout
    for level in range(shape.depth - 1, -1, -1):
        below = levels[level + 1]
        for index in {i // f for i in below}:
            levels[level][index] = blake2b(
                b"".join(below.get(c, bytes(DIGEST_SIZE)) for c in range(index * f, index * f + f)),
                digest_size=DIGEST_SIZE, person=b"vdynamo-node").digest()
    return levels


def test_the_record_digest_is_the_personalized_blake2b() -> None:
    rng = random.Random(57)
    for length in (0, 1, 12, 255, 4096):
        for _ in range(20):
            key = rng.randbytes(rng.randrange(1, 40))
            record = rng.randbytes(length)
            assert record_digest(key, record) == _slow_digest(key, record)
    # twice the same input: no state left behind in the template
    assert record_digest(b"k", b"v") == record_digest(b"k", b"v") == _slow_digest(b"k", b"v")


def test_a_tree_hashes_what_the_slow_form_hashes() -> None:
    """Seeded trees (several keys a bucket and one key a bucket), refreshed after each
    batch of writes and removes: every node hash as the slow form computes it."""
    rng = random.Random(1)
    for fanout, depth, keys in ((4, 2, 200), (16, 3, 300)):
        shape = TreeShape(0, 1 << 128, fanout, depth)
        tree = MerkleTree(shape)
        entries: dict[bytes, bytes] = {}
        positions: dict[bytes, int] = {}
        for batch in range(4):
            for i in range(keys):
                key = b"key-%d-%d" % (batch, i)
                position = rng.randrange(1 << 128)
                positions[key] = position
                entries[key] = rng.randbytes(rng.randrange(0, 64))
                tree.update(key, entries[key], position)
            for key in rng.sample(sorted(entries), keys // 5):
                tree.remove(key, positions[key])
                del entries[key]
            assert list(tree.snapshot()) == _slow_levels(shape, entries, positions)
