"""Merkle-tree anti-entropy for the node core (Dynamo paper, section 4.7).

Theory of operation
-------------------
A node keeps one :class:`impl.merkle.MerkleTree` per key range it replicates
(the ranges for which it is among the top N, :meth:`Partitioning.ranges_of`),
held by a :class:`RangeTrees`. The trees are built once from the storage engine
(at start and when the ring changes, for new ranges only) and then updated
incrementally on every local write (:meth:`RangeTrees.update`), never rebuilt.
Updates are amortized: a write only records the key's new record bytes; the
pending writes (the last per key) reach the trees when a tree is next read
(:meth:`RangeTrees.get`, an anti-entropy round or step) or when
``max_pending`` keys wait, so a key rewritten between rounds is hashed once.

Every ``anti_entropy_interval`` the node starts, for each range it holds, an
exchange with one other replica of the range chosen by its seeded generator:
it sends its root (:func:`impl.merkle.start`, as a :class:`MerkleExchange`).
Each side answers the other with :func:`impl.merkle.respond`: the replicas
descend level by level into the differing subtrees only; at the leaves they
compare the ``(key, digest)`` entries of the differing buckets, and the side
that finds the out-of-sync keys sends its records of exactly those keys in a
:class:`KeyRecords`; the other merges them and answers with its merged records
where they differ, so both replicas end with the merge. A step that finds
nothing differing ends the exchange without a message.

The conversions between :mod:`impl.merkle`'s protocol values and the wire
message :class:`MerkleExchange` live here, so the merkle module stays a pure
data structure.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from impl.errors import BadMessageError
from impl.merkle import (
    Buckets,
    InSync,
    Level,
    MerkleMessage,
    MerkleTree,
    OutOfSync,
    TreeShape,
)
from impl.messages import MerkleExchange
from impl.storage.base import Storage
from spec.ring import key_position

__all__ = ["RangeTrees", "from_exchange", "shape_of", "to_exchange"]

Range = tuple[int, int]


class RangeTrees:
    """The Merkle trees of the key ranges a node replicates, kept up to date."""

    def __init__(self, fanout: int, depth: int, max_pending: int = 4096) -> None:
        self.fanout = fanout
        self.depth = depth
        self.max_pending = max_pending
        self._pending: dict[bytes, bytes] = {}
        self._trees: dict[Range, MerkleTree] = {}
        self._los: list[int] = []
        self._ranges: list[Range] = []

    def shape(self, lo: int, hi: int) -> TreeShape:
        return TreeShape(lo, hi, self.fanout, self.depth)

    def reset(self, ranges: Iterable[Range], storage: Storage) -> None:
        """Hold trees for exactly ``ranges``: keep the trees of ranges held before,
        build the new ones from ``storage``, drop the rest."""
        self._apply()
        wanted = sorted(set(ranges))
        trees: dict[Range, MerkleTree] = {}
        for lo, hi in wanted:
            tree = self._trees.get((lo, hi))
            if tree is None:
                tree = MerkleTree.build(self.shape(lo, hi), storage.scan(lo, hi))
            trees[(lo, hi)] = tree
        self._trees = trees
        self._ranges = wanted
        self._los = [lo for lo, _ in wanted]

    @property
    def ranges(self) -> list[Range]:
        return list(self._ranges)

    def get(self, lo: int, hi: int) -> MerkleTree | None:
        """The tree of range ``[lo, hi)`` (None: not held), with every write applied."""
        if self._pending:
            self._apply()
        return self._trees.get((lo, hi))

    def update(self, key: bytes, record: bytes) -> None:
        """A local write of ``key``: the tree of the range holding it (if any) will
        hold ``record`` when it is next read."""
        if not isinstance(record, bytes):
            raise ValueError(f"record must be bytes, got {type(record).__name__}")
        pending = self._pending
        pending[key] = record
        if len(pending) >= self.max_pending:
            self._apply()

    def _apply(self) -> None:
        """Bring the trees up to date with the pending writes."""
        pending, self._pending = self._pending, {}
        los, ranges, trees = self._los, self._ranges, self._trees
        for key, record in pending.items():
            position = key_position(key)
            index = bisect.bisect_right(los, position) - 1
            if index >= 0:
                lo, hi = ranges[index]
                if position < hi:
                    trees[(lo, hi)].update(key, record)

    def __len__(self) -> int:
        return len(self._trees)


def shape_of(message: MerkleExchange) -> TreeShape:
    """The tree shape a message is about (BadMessageError if it is not a valid one)."""
    try:
        return TreeShape(message.lo, message.hi, message.fanout, message.depth)
    except ValueError as error:
        raise BadMessageError(f"MerkleExchange: bad tree shape: {error}") from None


def to_exchange(session: int, message: MerkleMessage) -> MerkleExchange:
    """The wire message of a Level or Buckets protocol step."""
    shape = message.shape
    if isinstance(message, Level):
        return MerkleExchange(session, shape.lo, shape.hi, shape.fanout, shape.depth, "level",
                              message.level, message.parents,
                              tuple(i for i, _ in message.hashes),
                              tuple(h for _, h in message.hashes))
    if isinstance(message, Buckets):
        return MerkleExchange(session, shape.lo, shape.hi, shape.fanout, shape.depth,
                              "buckets", indexes=message.indexes,
                              keys=tuple(k for k, _ in message.entries),
                              digests=tuple(d for _, d in message.entries))
    raise ValueError(f"{type(message).__name__} is not sent as a MerkleExchange")


def from_exchange(message: MerkleExchange) -> Level | Buckets:
    """The protocol step a wire message carries."""
    shape = shape_of(message)
    if message.step == "level":
        return Level(shape, message.level, message.parents,
                     tuple(zip(message.indexes, message.hashes, strict=True)))
    return Buckets(shape, message.indexes, tuple(zip(message.keys, message.digests,
                                                     strict=True)))


def is_final(message: MerkleMessage | None) -> bool:
    return message is None or isinstance(message, InSync | OutOfSync)
