"""Merkle trees per key range, and the anti-entropy diff protocol (Dynamo paper, 4.7).

Theory of operation
-------------------
A node keeps one :class:`MerkleTree` per key range it replicates (the ranges of
:meth:`spec.ring.Ring.ranges_of`). A tree's *shape* (:class:`TreeShape`) is fixed
by the range alone: the range's positions ``[lo, hi)`` are cut into
``fanout ** depth`` equal *buckets* (the leaves), so two replicas of the same
range always have trees of the same shape, whichever keys each one holds.

- A key's *digest* is ``blake2b(len(key) | key | record)`` (16 bytes):
  :func:`record_digest`. Two replicas agree on a key when they hold the same
  record bytes for it.
- A leaf (bucket) hashes its sorted ``(key, digest)`` entries; an inner node
  hashes the concatenation of its ``fanout`` children (an empty child counts as
  16 zero bytes). An empty subtree's hash is ``b""`` (:data:`EMPTY`), and empty
  nodes are not stored, so a tree's memory grows with its keys, not with its
  ``fanout ** depth`` buckets.
- :meth:`MerkleTree.update` (a write) and :meth:`MerkleTree.remove` (a delete)
  change one bucket's entry and mark the bucket dirty: O(1). The hashes on the
  path from a dirty bucket to the root are recomputed on demand (when a hash is
  read), each node once however many of its buckets changed: O(depth) per
  changed bucket. A tree is never rebuilt on write.

:class:`impl.antientropy.RangeTrees` holds a node's trees, one per range, routes
each local write or delete to the tree of its range, and rebuilds only the ranges
that change when the ring changes.

The diff protocol is a conversation of values between two replicas A and B of
one range; each side answers the other's last message with :func:`respond`:

1. A sends :func:`start`: its root hash (a :class:`Level` message at level 0).
2. The receiver compares the hashes it got with its own; for the nodes that
   differ it sends its hashes of their children (a :class:`Level` one level
   down). Sides alternate, going down level by level, only into differing
   subtrees.
3. At the leaves, the receiver sends the ``(key, digest)`` entries of the
   differing buckets (:class:`Buckets`).
4. The other side compares those entries with its own and answers
   :class:`OutOfSync` with exactly the keys whose records differ (including keys
   only one side has) -- or :class:`InSync` at any step where nothing differs.
   (A node that finds an opener's root in sync answers :func:`root_children`, so
   that the opener finds them in sync too: :mod:`impl.antientropy`.)

Then the replicas exchange the records of just those keys and reconcile them.
:func:`diff` runs the whole conversation locally (tests, simulation) and counts
the hashes exchanged (:func:`hashes_in`): for one differing key among n it is
O(fanout * depth) = O(log n), against n for exchanging every key's digest.

A message from a peer is validated by :func:`check` (shape, level, indexes,
digest sizes, keys in their buckets: the message against the tree's shape,
never against the tree's contents): a bad one raises
:class:`~impl.errors.BadMessageError` and changes nothing. :func:`answer` then
compares a checked message with the tree; :func:`respond` is the two.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from hashlib import blake2b

from impl.errors import BadMessageError, InvalidValueError
from impl.positions import position_of
from spec.ring import RING_SIZE

__all__ = [
    "DEFAULT_DEPTH",
    "DEFAULT_FANOUT",
    "DIGEST_SIZE",
    "EMPTY",
    "WHOLE_LEVEL_PARENTS",
    "Buckets",
    "DiffResult",
    "InSync",
    "Level",
    "MerkleMessage",
    "MerkleTree",
    "OutOfSync",
    "TreeShape",
    "answer",
    "check",
    "diff",
    "hashes_in",
    "record_digest",
    "respond",
    "root_children",
    "start",
    "whole_level_in_sync",
]

DIGEST_SIZE = 16
#: The hash of an empty subtree (and what an absent child contributes: 16 zero bytes).
EMPTY = b""
_ZERO = bytes(DIGEST_SIZE)
DEFAULT_FANOUT = 16
DEFAULT_DEPTH = 3
_MAX_BUCKETS = 1 << 24

#: The three hashes' empty states (BLAKE2b, 16 bytes, each its personalization:
#: RFC 7693's parameter block), copied per hash: ``blake2b(data, digest_size=16,
#: person=P)`` parses its keywords and builds the parameter block at every call, and
#: a copy of the empty state hashes the same bytes about 1 us sooner (session 57:
#: 2.4 -> 1.2 us a key's digest, timeit; about 5 hashes a client operation on
#: ``bench/sim.py``). Never updated: each use copies first.
_KEY_HASH = blake2b(digest_size=DIGEST_SIZE, person=b"vdynamo-key")
_BUCKET_HASH = blake2b(digest_size=DIGEST_SIZE, person=b"vdynamo-bucket")
_NODE_HASH = blake2b(digest_size=DIGEST_SIZE, person=b"vdynamo-node")


def record_digest(key: bytes, record: bytes) -> bytes:
    """The digest of one key's record: what a leaf bucket hashes (16 bytes):
    ``blake2b(len(key) | key | record, digest_size=16, person=b"vdynamo-key")``, the
    4-byte big-endian length first."""
    digest = _KEY_HASH.copy()
    digest.update(len(key).to_bytes(4, "big"))
    digest.update(key)
    digest.update(record)  # not concatenated: no copy of a large record
    return digest.digest()


def _int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidValueError(f"{name} must be an int in [{low}, {high}], got {value!r:.80}")
    return value


@dataclass(frozen=True, slots=True, order=True)
class TreeShape:
    """The shape of a range's tree: ``[lo, hi)`` cut into ``fanout ** depth`` buckets.

    ``0 <= lo < hi <= 2**128`` (a wrapping range is two trees, as
    :meth:`spec.ring.Ring.ranges_of` splits it); ``2 <= fanout <= 256``;
    ``1 <= depth`` with at most 2**24 buckets.
    """

    lo: int
    hi: int
    fanout: int = DEFAULT_FANOUT
    depth: int = DEFAULT_DEPTH

    def __post_init__(self) -> None:
        _int("lo", self.lo, 0, RING_SIZE - 1)
        _int("hi", self.hi, self.lo + 1, RING_SIZE)
        _int("fanout", self.fanout, 2, 256)
        _int("depth", self.depth, 1, 24)
        if self.fanout**self.depth > _MAX_BUCKETS:
            raise InvalidValueError(
                f"fanout ** depth = {self.fanout}**{self.depth} exceeds {_MAX_BUCKETS} buckets")

    @property
    def buckets(self) -> int:
        """Number of leaves: ``fanout ** depth``."""
        return int(self.fanout**self.depth)

    def contains(self, position: int) -> bool:
        return self.lo <= position < self.hi

    def bucket_of(self, position: int) -> int:
        """The bucket holding ring ``position`` (which must lie in ``[lo, hi)``)."""
        return (position - self.lo) * self.buckets // (self.hi - self.lo)

    def bucket_range(self, index: int) -> tuple[int, int]:
        """The positions ``[lo, hi)`` of bucket ``index`` (to scan a storage engine for it)."""
        width, count = self.hi - self.lo, self.buckets
        return (self.lo - (-index * width // count), self.lo - (-(index + 1) * width // count))

    def nodes_at(self, level: int) -> int:
        """Number of nodes at ``level`` (1 at the root, ``buckets`` at ``depth``)."""
        return int(self.fanout**level)

    def path_of(self, level: int, index: int) -> tuple[int, ...]:
        """Node ``index`` at ``level`` as a path: the child numbers from the root
        (``()`` is the root), for wire formats that name nodes by path."""
        _int("level", level, 0, self.depth)
        _int("index", index, 0, self.nodes_at(level) - 1)
        digits: list[int] = []
        for _ in range(level):
            index, digit = divmod(index, self.fanout)
            digits.append(digit)
        return tuple(reversed(digits))

    def locate(self, path: tuple[int, ...]) -> tuple[int, int]:
        """Inverse of :meth:`path_of`: ``(level, index)``; a bad path raises ValueError."""
        if not isinstance(path, tuple) or len(path) > self.depth:
            raise InvalidValueError(f"a tree path must be a tuple of at most {self.depth} ints")
        index = 0
        for digit in path:
            index = index * self.fanout + _int("path step", digit, 0, self.fanout - 1)
        return len(path), index


class MerkleTree:
    """The Merkle tree of one key range, updated incrementally.

    Build it empty (``MerkleTree(shape)``) or from a storage scan
    (:meth:`build`); then call :meth:`update` on every write of a key of the
    range and :meth:`remove` on every delete.
    """

    def __init__(self, shape: TreeShape) -> None:
        if not isinstance(shape, TreeShape):
            raise InvalidValueError(f"shape must be a TreeShape, got {shape!r:.80}")
        self.shape = shape
        self._lo, self._width, self._count = shape.lo, shape.hi - shape.lo, shape.buckets
        self._buckets: dict[int, dict[bytes, bytes]] = {}
        self._levels: list[dict[int, bytes]] = [{} for _ in range(shape.depth + 1)]
        self._dirty: set[int] = set()
        #: level -> :meth:`level_items`, until the next change (cleared by :meth:`_refresh`)
        self._items: dict[int, tuple[tuple[int, ...], tuple[bytes, ...]]] = {}
        self._size = 0
        #: node hashes computed so far (shows that an update rehashes one path, not the tree)
        self.rehashed = 0

    @classmethod
    def build(cls, shape: TreeShape, items: Iterable[tuple[bytes, bytes]]) -> MerkleTree:
        """A tree over ``(key, record)`` pairs, e.g. ``storage.scan(shape.lo, shape.hi)``."""
        tree = cls(shape)
        for key, record in items:
            tree.update(key, record)
        return tree

    # ------------------------------------------------------------------ updates

    def update(self, key: bytes, record: bytes, position: int | None = None) -> None:
        """``key`` now holds ``record`` (a write): O(1) now, O(depth) at the next read.
        ``position``: the key's ring position, when the caller has it already."""
        position = self._position(key, position)
        if not isinstance(record, bytes):
            raise InvalidValueError(f"record must be bytes, got {type(record).__name__}")
        self._set(key, position, record_digest(key, record))

    def remove(self, key: bytes, position: int | None = None) -> None:
        """``key`` is gone (a delete); nothing happens if the tree does not hold it."""
        self._set(key, self._position(key, position), None)

    def set_digest(self, key: bytes, digest: bytes | None) -> None:
        """Set (or with None, remove) a key's digest directly."""
        position = self._position(key)
        if digest is not None and (not isinstance(digest, bytes) or len(digest) != DIGEST_SIZE):
            raise InvalidValueError(f"digest must be {DIGEST_SIZE} bytes, got {digest!r:.80}")
        self._set(key, position, digest)

    def _set(self, key: bytes, position: int, digest: bytes | None) -> None:
        bucket = (position - self._lo) * self._count // self._width  # shape.bucket_of

        entries = self._buckets.get(bucket)
        if digest is None:
            if entries is None or entries.pop(key, None) is None:
                return
            self._size -= 1
            if not entries:
                del self._buckets[bucket]
        else:
            if entries is None:
                entries = self._buckets[bucket] = {}
            elif entries.get(key) == digest:
                return
            if key not in entries:
                self._size += 1
            entries[key] = digest
        self._dirty.add(bucket)

    def _position(self, key: object, position: int | None = None) -> int:
        if not isinstance(key, bytes):
            raise InvalidValueError(f"key must be bytes, got {type(key).__name__}: {key!r:.80}")
        if position is None:
            position = position_of(key)
        if not self._lo <= position < self._lo + self._width:
            raise InvalidValueError(
                f"key {key!r:.80} (position {position}) is outside the tree's range "
                f"[{self.shape.lo}, {self.shape.hi})")
        return position

    # ------------------------------------------------------------------ reading

    def root(self) -> bytes:
        """The root hash (:data:`EMPTY` for a tree without keys)."""
        return self.node_hash(0, 0)

    def node_hash(self, level: int, index: int) -> bytes:
        """The hash of node ``index`` at ``level`` (0 = root, ``depth`` = buckets)."""
        self._refresh()
        return self._levels[level].get(index, EMPTY)

    def _hashes_at(self, level: int) -> dict[int, bytes]:
        """The non-empty node hashes at ``level``, index -> hash, refreshed once (read,
        never changed, by the protocol's steps: one refresh for a step's 16 nodes
        instead of one per :meth:`node_hash`; session 36)."""
        self._refresh()
        return self._levels[level]

    def level_items(self, level: int) -> tuple[tuple[int, ...], tuple[bytes, ...]]:
        """The non-empty node hashes at ``level`` as ``(indexes, hashes)``, by index:
        a whole level as a :class:`impl.messages.MerkleExchange` step carries it
        (the root, level 0; its children, level 1: a level below holds up to
        ``fanout ** level`` nodes, never sent whole). Kept until the tree changes
        (session 42: an exchange of trees in sync sends and compares the same two
        levels at every round)."""
        if self._dirty:  # (:meth:`_refresh`'s test, inline: twice a step; session 44)
            self._refresh()
        items = self._items.get(level)
        if items is None:
            pairs = sorted(self._levels[level].items())
            items = self._items[level] = (tuple(index for index, _ in pairs),
                                          tuple(digest for _, digest in pairs))
        return items

    def children(self, level: int, index: int) -> tuple[bytes, ...]:
        """The hashes of the ``fanout`` children of node ``index`` at ``level``."""
        self._refresh()
        below, f = self._levels[level + 1], self.shape.fanout
        return tuple(below.get(c, EMPTY) for c in range(index * f, index * f + f))

    def bucket_entries(self, index: int) -> tuple[tuple[bytes, bytes], ...]:
        """The ``(key, digest)`` entries of bucket ``index``, sorted by key."""
        return tuple(sorted(self._buckets.get(index, {}).items()))

    def digest_of(self, key: bytes) -> bytes | None:
        """The digest the tree holds for ``key``, or None."""
        entries = self._buckets.get(self.shape.bucket_of(self._position(key)))
        return None if entries is None else entries.get(key)

    def keys(self) -> Iterator[bytes]:
        """Every key the tree holds (bucket order, then key order)."""
        for index in sorted(self._buckets):
            yield from sorted(self._buckets[index])

    def __iter__(self) -> Iterator[bytes]:
        return self.keys()

    def __len__(self) -> int:
        return self._size

    def __contains__(self, key: object) -> bool:
        return isinstance(key, bytes) and self.shape.contains(position_of(key)) and (
            self.digest_of(key) is not None)

    def snapshot(self) -> tuple[dict[int, bytes], ...]:
        """Every non-empty node hash, per level (for comparing two trees in tests)."""
        self._refresh()
        return tuple(dict(level) for level in self._levels)

    # ------------------------------------------------------------------ rehashing

    def _refresh(self) -> None:
        if not self._dirty:
            return
        shape, levels = self.shape, self._levels
        leaves = levels[shape.depth]
        for bucket in self._dirty:
            entries = self._buckets.get(bucket)
            if entries:
                hashed = _BUCKET_HASH.copy()  # (a copy of the empty state: see above)
                hashed.update(b"".join([len(key).to_bytes(4, "big") + key + digest
                                        for key, digest in sorted(entries.items())]))
                leaves[bucket] = hashed.digest()
            else:
                leaves.pop(bucket, None)
            self.rehashed += 1
        changed = {b // shape.fanout for b in self._dirty}
        self._dirty = set()
        self._items.clear()
        f = shape.fanout
        for level in range(shape.depth - 1, -1, -1):
            below, here = levels[level + 1], levels[level]
            for index in changed:
                kids = list(map(below.get, range(index * f, index * f + f)))
                if kids.count(None) < f:
                    hashed = _NODE_HASH.copy()
                    hashed.update(b"".join([kid or _ZERO for kid in kids]))
                    here[index] = hashed.digest()
                else:
                    here.pop(index, None)
                self.rehashed += 1
            changed = {i // f for i in changed}


# ====================================================================== diff protocol


@dataclass(frozen=True, slots=True)
class Level:
    """My hashes of the nodes at ``level`` that are children of ``parents``.

    ``parents`` are node indexes at ``level - 1`` (empty for the root, level 0);
    ``hashes`` lists ``(index, hash)`` for the compared nodes whose hash is not
    :data:`EMPTY` (an unlisted node is empty on the sender's side).
    """

    shape: TreeShape
    level: int
    parents: tuple[int, ...]
    hashes: tuple[tuple[int, bytes], ...]


@dataclass(frozen=True, slots=True)
class Buckets:
    """My ``(key, digest)`` entries of the differing buckets ``indexes``, sorted by key."""

    shape: TreeShape
    indexes: tuple[int, ...]
    entries: tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True, slots=True)
class InSync:
    """Nothing differs: the conversation ends."""

    shape: TreeShape


@dataclass(frozen=True, slots=True)
class OutOfSync:
    """The conversation's result: exactly the keys whose records differ, sorted."""

    shape: TreeShape
    keys: tuple[bytes, ...]


MerkleMessage = Level | Buckets | InSync | OutOfSync


def start(tree: MerkleTree) -> Level:
    """The first message of an exchange: my root hash."""
    root = tree.root()
    return Level(tree.shape, 0, (), ((0, root),) if root else ())


def root_children(tree: MerkleTree) -> Level:
    """My hashes of the root's children (a :class:`Level` at level 1 under the
    root): the answer to an opener's root found in sync, so that the opener compares
    a step too, finds the trees in sync and ends the exchange itself (a replica
    that finds an opener's root in sync holds the same children hashes; if the
    opener's tree changed since its root went, the opener descends as usual). A
    node of an earlier version that receives it does the same (session 35)."""
    # (level 1 holds nodes 0 to fanout - 1 and no EMPTY hash: its items by index are
    # the non-empty children in order; session 36)
    return Level(tree.shape, 1, (0,), tuple(sorted(tree._hashes_at(1).items())))


#: the parents a step of a whole level names, by level: the root names none, its
#: children the root (:func:`whole_level_in_sync`)
WHOLE_LEVEL_PARENTS: tuple[tuple[int, ...], ...] = ((), (0,))


def whole_level_in_sync(tree: MerkleTree, level: object, parents: object, indexes: object,
                        hashes: object) -> bool:
    """Whether a peer's :class:`Level` step of a whole level, the root (``level``
    0, no ``parents``) or its children (1, under the root), lists exactly
    ``tree``'s non-empty hashes of it, in index order (:meth:`MerkleTree.level_items`;
    ``indexes[i]`` -> ``hashes[i]``, as :class:`impl.messages.MerkleExchange`
    carries them). True: the step, of ``tree``'s shape (the caller compares it),
    passes :func:`check` (its level and parents are those of a whole level, its
    indexes and hashes ``tree``'s own, each node once) and :func:`answer` says
    :class:`InSync`, so the caller may answer it without building and checking a
    Level (session 42: most steps of a cluster in sync are these two). False says
    nothing: the step goes through :func:`check` and :func:`answer`."""
    return (type(level) is int and 0 <= level <= 1
            and parents == WHOLE_LEVEL_PARENTS[level]
            and (indexes, hashes) == tree.level_items(level))


def check(shape: TreeShape, message: MerkleMessage) -> None:
    """Check a peer's message about the range of my tree of ``shape``, on the
    message alone (its fields against the shape, never my tree's hashes or keys).

    Raises :class:`~impl.errors.BadMessageError` (naming the problem) for a
    message that does not fit the shape: another shape, a bad level, parents or
    indexes out of range or repeated, a malformed hash or entry, a key outside
    the listed buckets or listed twice. Such a message is malformed in itself: the
    protocol keeps no session state (each step is answered on its own), so no
    race with the peer makes one.
    """
    if not isinstance(message, Level | Buckets | InSync | OutOfSync):
        raise BadMessageError(f"not a Merkle message: {message!r:.80}")
    if message.shape != shape:
        raise BadMessageError(
            f"Merkle message for tree shape {message.shape!r} does not match mine {shape!r}")
    if isinstance(message, Buckets):
        _check_buckets(shape, message)
    elif isinstance(message, Level):
        _check_level(shape, message)


def respond(tree: MerkleTree, message: MerkleMessage) -> MerkleMessage | None:
    """My answer to a peer's message about the same range (None after a final message).

    Raises :class:`~impl.errors.BadMessageError` (naming the problem) for a
    message that does not fit my tree (:func:`check`); the comparison itself
    (:func:`answer`) raises nothing for a checked message.
    """
    check(tree.shape, message)
    return answer(tree, message)


def answer(tree: MerkleTree, message: MerkleMessage) -> MerkleMessage | None:
    """My answer to a message that passed :func:`check` against my tree's shape
    (None after a final message): the comparison of its hashes or entries with
    mine. An exception raised here is a bug of ours, not the peer's data."""
    if isinstance(message, InSync | OutOfSync):
        return None
    if isinstance(message, Buckets):
        return _compare_buckets(tree, message)
    return _compare_level(tree, message)


def _compared_nodes(shape: TreeShape, message: Level) -> list[int]:
    """The nodes at ``message.level`` a checked message compares."""
    if message.level == 0:
        return [0]
    f = shape.fanout
    return [c for p in message.parents for c in range(p * f, p * f + f)]


def _check_level(shape: TreeShape, message: Level) -> None:
    level = message.level
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= shape.depth:
        raise BadMessageError(f"Merkle level {level!r} is outside [0, {shape.depth}]")
    if level == 0:
        if message.parents != ():
            raise BadMessageError("a level-0 Merkle message must list no parents")
    else:
        limit = shape.nodes_at(level - 1)
        parents = message.parents
        if not isinstance(parents, tuple) or not all(
            isinstance(p, int) and not isinstance(p, bool) and 0 <= p < limit for p in parents
        ) or len(set(parents)) != len(parents):
            raise BadMessageError(
                f"Merkle parents at level {level - 1} must be distinct ints in [0, {limit})")
    allowed = set(_compared_nodes(shape, message))
    if not isinstance(message.hashes, tuple):
        raise BadMessageError("Merkle hashes must be a tuple of (index, hash) pairs")
    if _plain_hashes_ok(message.hashes, allowed):
        return  # the common case, checked in bulk (the loop below names a bad entry)
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


def _plain_hashes_ok(hashes: tuple[object, ...], allowed: set[int]) -> bool:
    """Whether ``hashes`` are pairs of exactly ``tuple``, ``int`` and ``bytes`` that
    :func:`_check_level`'s loop accepts (each index compared, once; each hash
    :data:`DIGEST_SIZE` bytes), checked by whole-tuple operations (session 36). False
    says nothing: the loop decides (a subclass, a bool or a bad entry)."""
    if not hashes:
        return True
    if {*map(type, hashes)} != _TUPLE or {*map(len, hashes)} != _PAIR:  # type: ignore[arg-type]
        return False
    indexes, digests = zip(*hashes, strict=True)
    return ({*map(type, indexes)} == _INT and {*map(type, digests)} == _BYTES
            and {*map(len, digests)} == _DIGEST_LENGTH
            and len(set(indexes)) == len(indexes) and allowed.issuperset(indexes))


_TUPLE, _PAIR, _INT, _BYTES = {tuple}, {2}, {int}, {bytes}
_DIGEST_LENGTH = {DIGEST_SIZE}


def _compare_level(tree: MerkleTree, message: Level) -> MerkleMessage:
    shape = tree.shape
    theirs = dict(message.hashes)
    here = tree._hashes_at(message.level)
    if theirs == here:  # (a step of a whole level in sync: the root, its children)
        return InSync(shape)  # both hold no EMPTY: no compared node differs (session 36)
    differing = [i for i in _compared_nodes(shape, message)
                 if here.get(i, EMPTY) != theirs.get(i, EMPTY)]
    if not differing:
        return InSync(shape)
    if message.level == shape.depth:
        entries = tuple(sorted(e for b in differing for e in tree.bucket_entries(b)))
        return Buckets(shape, tuple(differing), entries)
    level = message.level + 1
    f = shape.fanout
    below = tree._hashes_at(level)
    mine = tuple((c, h) for p in differing for c in range(p * f, p * f + f)
                 if (h := below.get(c, EMPTY)))
    return Level(shape, level, tuple(differing), mine)


def _check_buckets(shape: TreeShape, message: Buckets) -> None:
    indexes = message.indexes
    if not isinstance(indexes, tuple) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < shape.buckets
        for i in indexes
    ) or len(set(indexes)) != len(indexes):
        raise BadMessageError(
            f"Merkle bucket indexes must be distinct ints in [0, {shape.buckets})")
    listed = set(indexes)
    seen: set[bytes] = set()
    if not isinstance(message.entries, tuple):
        raise BadMessageError("Merkle bucket entries must be a tuple of (key, digest) pairs")
    for entry in message.entries:
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], bytes)
                and isinstance(entry[1], bytes) and len(entry[1]) == DIGEST_SIZE):
            raise BadMessageError(f"bad Merkle bucket entry {entry!r:.80}")
        key = entry[0]
        position = position_of(key)
        if not shape.contains(position) or shape.bucket_of(position) not in listed:
            raise BadMessageError(f"Merkle entry key {key!r:.80} is not in the listed buckets")
        if key in seen:
            raise BadMessageError(f"Merkle entry key {key!r:.80} is listed twice")
        seen.add(key)


def _compare_buckets(tree: MerkleTree, message: Buckets) -> MerkleMessage:
    theirs = dict(message.entries)
    mine = {k: d for b in message.indexes for k, d in tree.bucket_entries(b)}
    keys = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
    return OutOfSync(tree.shape, tuple(keys)) if keys else InSync(tree.shape)


def hashes_in(message: MerkleMessage) -> int:
    """How many hashes (or key digests) a message carries: the protocol's traffic."""
    if isinstance(message, Level):
        return len(message.hashes)
    if isinstance(message, Buckets):
        return len(message.entries)
    return 0


@dataclass(frozen=True, slots=True)
class DiffResult:
    """The out-of-sync keys and what finding them cost."""

    keys: frozenset[bytes]
    hashes: int
    messages: int


def diff(a: MerkleTree, b: MerkleTree) -> DiffResult:
    """Run the diff protocol between two trees of the same range, locally.

    Returns exactly the keys whose records differ (including keys only one side
    holds), the hashes exchanged and the number of messages.
    """
    message: MerkleMessage | None = start(a)
    sides = (b, a)
    hashes = messages = 0
    keys: tuple[bytes, ...] = ()
    turn = 0
    while message is not None:
        hashes += hashes_in(message)
        messages += 1
        if isinstance(message, OutOfSync):
            keys = message.keys
        message = respond(sides[turn % 2], message)
        turn += 1
    return DiffResult(frozenset(keys), hashes, messages)
