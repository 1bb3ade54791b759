"""Merkle-tree anti-entropy for the node core (Dynamo paper, section 4.7).

Theory of operation
-------------------
A node keeps one :class:`impl.merkle.MerkleTree` per key range it replicates
(the ranges for which it is among the top N, :meth:`Partitioning.ranges_of`),
held by a :class:`RangeTrees`. The trees are built once from the storage engine
(at start and when the ring changes, for new ranges only) and then updated
incrementally on every local write (:meth:`RangeTrees.update`), never rebuilt.
Updates are amortized (lazy): a write only records the key's new record bytes
and its ring position (:func:`impl.positions.position_of`, just computed by the
engine's index, so the tree costs no MD5); the pending writes (the last per
key) reach the trees when a tree is next read (:meth:`RangeTrees.get`, an
anti-entropy round or step) or when ``max_pending`` keys wait, so a key
rewritten between rounds is hashed once.

Every ``anti_entropy_interval`` the node starts, for each range it holds, an
exchange with one other replica of the range chosen by its seeded generator:
it sends its root (:func:`impl.merkle.start`, as a :class:`MerkleExchange`).
Each side answers the other with :func:`impl.merkle.respond`: the replicas
descend level by level into the differing subtrees only; at the leaves they
compare the ``(key, digest)`` entries of the differing buckets, and the side
that finds the out-of-sync keys sends its records of exactly those keys in a
:class:`KeyRecords`; the other merges them and answers with its merged records
where they differ, so both replicas end with the merge. In dvv a merge prunes
the value-less entries of retired lifetimes the merging node knows
(:mod:`impl.retired`), and each KeyRecords names the retirements of its records'
entries: where the first sender's merge of the answer prunes entries the answer
holds (the answerer holds an entry the sender pruned before, whose retirement
the answerer never heard and the batch's records could no longer name), the
sender follows the answer up once, its merged records with the retirements of
the answer's entries, not answered (session 34). The receiver of a one-way
record (a ReplicaPut, a HintDelivery) whose merge keeps entries that a pruning
upstream dropped opens such an exchange of that one key itself, its batch first
(:meth:`AntiEntropy.ask_pruned`; session 35). A step that finds
nothing differing ends the exchange without a message. An exchange is
*complete* at a node (:attr:`AntiEntropy.synced`, what a replaced disk's rebuild
waits for, :mod:`impl.rebuild`) when it finds the trees in sync, or merges the
answer to its whole batch of out-of-sync records (a peer's batch, which the
per-message bounds may have cut short unseen, does not count), in an exchange
*live* at the node (session 36): one it opened since its last
:meth:`AntiEntropy.forget_sessions` (the start of a rebuild; a restart forgets
every session). A step of any other exchange may be a message sent before the
node's disk was replaced (or its store set aside) and delivered after: a peer's
answer to a root of the store before compares, and was chosen by, the trees of
then, and a peer's root compares the peer's tree as it was when it went, perhaps
before a write the two acknowledged. A peer's exchange never completes here,
even one whose root the node found differing after the rebuild began: that root
may be a duplicate of one delivered before the wipe too, and the peer's later
steps answer the store of before, naming only the subtrees that differed from
it (session 36's review,
``tests/impl/test_stale_exchange_review.py``; a rebuilding node opens each range
with every replica still to do, so its own exchanges suffice: the wiped-n1
rebuild took the same 2.77-3.93 s, seeds 1-6, with the peers' counted or not).
In its own exchanges the peer compares the buckets and sends the batch, so a
rebuilding node completes a pair by finding the trees in sync: a copy that never
converges with the peer's (two values under one dot, as a node minting under its
bare name after a wipe makes) keeps the node rebuilding, where a peer's answer
to its batch used to end the rebuild with the copies still apart (session 38,
``tests/impl/test_data_loss_probe.py``).

One step that finds nothing differing is answered all the same, the opener's
root: every exchange must be able to complete at its opener. A rebuilding node whose
peers suspect it (it is silent to their reads) is opened by none of them
(:meth:`AntiEntropy.on_round` picks reachable replicas only). A replica that
finds an opener's root in sync therefore answers its hashes of the root's
children (:func:`impl.merkle.root_children`), which the opener finds in sync
too; an exchange whose trees differ ends at the replica (it compares the buckets
and sends the batch), and the opener's next exchange of the range, in sync, ends
at the opener (session 35: before, a wiped node read through at R = N every
second stayed rebuilding for good, docs/runtime.md "A rebuild under reads").

:class:`AntiEntropy` is that mechanism of the node: it owns the trees (re-cut
when the ring changes), runs the rounds (the :class:`~impl.timers.AntiEntropyRound`
timer) and answers the exchange messages. The conversions between
:mod:`impl.merkle`'s protocol values and the wire message :class:`MerkleExchange`
live here, so the merkle module stays a pure data structure.
"""

from __future__ import annotations

import bisect
import collections
import itertools
import random
from collections.abc import Callable, Iterable
from typing import Any

from impl.config import ClusterConfig
from impl.effects import Effect, Send, SetTimer
from impl.errors import BadMessageError, InvalidValueError
from impl.internal_errors import peer_data_error
from impl.merkle import (
    WHOLE_LEVEL_PARENTS,
    Buckets,
    InSync,
    Level,
    MerkleMessage,
    MerkleTree,
    OutOfSync,
    TreeShape,
    check,
    root_children,
    whole_level_in_sync,
)
from impl.merkle import answer as compare
from impl.messages import KeyRecords, MerkleExchange
from impl.positions import position_of
from impl.records import Record
from impl.replica import Replica
from impl.sloppy_quorum import SloppyQuorum
from impl.storage.base import Storage
from impl.timers import AntiEntropyRound
from impl.versions import encode_record, merge
from spec.ring import Partitioning

__all__ = ["AntiEntropy", "RangeTrees", "from_exchange", "shape_of", "to_exchange"]

MERKLE_FANOUT = 16
MERKLE_DEPTH = 3
KEY_RECORDS_KEYS = 256  # out-of-sync keys moved per anti-entropy exchange, at most
KEY_RECORDS_BYTES = 8 << 20  # ... and their bytes (one key at least)
#: batches of ours whose answer completes an exchange (:attr:`AntiEntropy.synced`), kept at most
SYNC_SESSIONS_LIMIT = 4096

Range = tuple[int, int]


class RangeTrees:
    """The Merkle trees of the key ranges a node replicates, kept up to date."""

    def __init__(self, fanout: int, depth: int, max_pending: int = 4096) -> None:
        self.fanout = fanout
        self.depth = depth
        self.max_pending = max_pending
        self._pending: dict[bytes, tuple[int, bytes]] = {}  # key -> (position, record)
        self._trees: dict[Range, MerkleTree] = {}
        self._los: list[int] = []
        self._ranges: list[Range] = []

    def shape(self, lo: int, hi: int) -> TreeShape:
        """The shape of the tree of range ``[lo, hi)``."""
        return TreeShape(lo, hi, self.fanout, self.depth)

    def reset(self, ranges: Iterable[Range], storage: Storage) -> None:
        """Hold trees for exactly ``ranges`` (disjoint ``[lo, hi)`` ring positions):
        keep the trees of ranges held before, build the new ones from ``storage``,
        drop the rest. Raises :class:`~impl.errors.InvalidValueError` if two
        ranges overlap (then nothing changes)."""
        wanted = sorted(set(ranges))
        for (lo, hi), (next_lo, next_hi) in itertools.pairwise(wanted):
            if next_lo < hi:
                raise InvalidValueError(
                    f"ranges [{lo}, {hi}) and [{next_lo}, {next_hi}) overlap")
        self._apply()
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
        """The ranges held, sorted."""
        return list(self._ranges)

    def get(self, lo: int, hi: int) -> MerkleTree | None:
        """The tree of range ``[lo, hi)`` (None: not held), with every write applied."""
        if self._pending:
            self._apply()
        return self._trees.get((lo, hi))

    def update(self, key: bytes, record: bytes) -> None:
        """A local write of ``key``: the tree of the range holding it (if any) will
        hold ``record`` when it is next read (``b""``: the key was removed)."""
        if not isinstance(record, bytes):
            raise InvalidValueError(f"record must be bytes, got {type(record).__name__}")
        pending = self._pending
        pending[key] = (position_of(key), record)  # the writer just hashed it: no MD5
        if len(pending) >= self.max_pending:
            self._apply()

    def _apply(self) -> None:
        """Bring the trees up to date with the pending writes."""
        pending, self._pending = self._pending, {}
        los, ranges, trees = self._los, self._ranges, self._trees
        for key, (position, record) in pending.items():
            index = bisect.bisect_right(los, position) - 1
            if index >= 0:
                lo, hi = ranges[index]
                if position < hi:
                    if record:
                        trees[(lo, hi)].update(key, record, position)
                    else:  # the key's versions were removed (a reaped tombstone)
                        trees[(lo, hi)].remove(key, position)

    def range_of(self, position: int) -> Range | None:
        """The range held that holds ring ``position`` (None: none)."""
        index = bisect.bisect_right(self._los, position) - 1
        if index >= 0 and position < self._ranges[index][1]:
            return self._ranges[index]
        return None

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
        indexes, hashes = zip(*message.hashes, strict=True) if message.hashes else ((), ())
        return MerkleExchange(session, shape.lo, shape.hi, shape.fanout, shape.depth, "level",
                              message.level, message.parents, indexes, hashes)
    if isinstance(message, Buckets):
        return MerkleExchange(session, shape.lo, shape.hi, shape.fanout, shape.depth,
                              "buckets", indexes=message.indexes,
                              keys=tuple(k for k, _ in message.entries),
                              digests=tuple(d for _, d in message.entries))
    raise InvalidValueError(f"{type(message).__name__} is not sent as a MerkleExchange")


def _made(session: int, message: Level | Buckets, generation: str) -> MerkleExchange:
    """:func:`to_exchange` of a step a node made of its own tree (:func:`impl.merkle.answer`'s,
    :func:`impl.merkle.root_children`), stamped with ``generation`` and not checked
    again (:meth:`MerkleExchange.made`: the receiver checks it; session 42)."""
    shape = message.shape
    if isinstance(message, Level):
        indexes, hashes = zip(*message.hashes, strict=True) if message.hashes else ((), ())
        return MerkleExchange.made(session, shape.lo, shape.hi, shape.fanout, shape.depth,
                                   "level", message.level, message.parents, indexes, hashes,
                                   generation=generation)
    return MerkleExchange.made(session, shape.lo, shape.hi, shape.fanout, shape.depth,
                               "buckets", indexes=message.indexes,
                               keys=tuple(k for k, _ in message.entries),
                               digests=tuple(d for _, d in message.entries),
                               generation=generation)


def from_exchange(message: MerkleExchange, held: TreeShape | None = None) -> Level | Buckets:
    """The protocol step a wire message carries (BadMessageError if its tree shape is
    not a valid one). ``held``: the shape of the receiver's tree of the message's
    range, taken as the step's shape when the message names the same ``lo``, ``hi``,
    ``fanout`` and ``depth`` (a valid message's fields are plain ints, so the shape
    they would build is equal to it: no shape is built and checked again per step;
    session 36)."""
    if held is not None and (message.lo, message.hi, message.fanout, message.depth) == (
            held.lo, held.hi, held.fanout, held.depth):
        shape = held
    else:
        shape = shape_of(message)
    if message.step == "level":
        return Level(shape, message.level, message.parents,
                     tuple(zip(message.indexes, message.hashes, strict=True)))
    return Buckets(shape, message.indexes, tuple(zip(message.keys, message.digests,
                                                     strict=True)))


class AntiEntropy:
    """Merkle anti-entropy of node ``name`` (see the module docstring).

    ``ring`` returns the routing partitioning, ``ranges`` the ranges this node
    replicates on it; ``ids`` draws exchange session ids; ``rng`` picks peers.
    """

    def __init__(self, name: str, config: ClusterConfig, replica: Replica,
                 quorum: SloppyQuorum, ring: Callable[[], Partitioning],
                 ranges: Callable[[], list[tuple[int, int]]], rng: random.Random,
                 ids: itertools.count[int], stats: collections.Counter[str]) -> None:
        self.name = name
        self.config = config
        self.replica = replica
        self.quorum = quorum
        self._ring = ring
        self._ranges = ranges
        self.rng = rng
        self.ids = ids
        self.stats = stats
        #: the store generation this node's messages carry (:mod:`impl.restore_guard`:
        #: the node's guard's, set by :class:`impl.node.Node`; "" without a guard):
        #: steps made stamped, :meth:`impl.node.Node._stamp` sends them as they are
        #: rather than copy each (session 42: a copy per step, 11% of a simulated join)
        self.generation: Callable[[], str] = str
        self.trees = RangeTrees(MERKLE_FANOUT, MERKLE_DEPTH)
        self.trees.reset(ranges(), replica.storage)
        replica.write_listeners.append(self.on_write)
        #: told ``(range, peer)`` when an exchange with ``peer`` live here completes
        #: here: this node merged every record of the range's out-of-sync keys, or
        #: found the trees in sync (:mod:`impl.rebuild`)
        self.synced: list[Callable[[Range, str], None]] = []
        #: the pairs (range, peer) this node's rebuild has still to complete
        #: (:attr:`impl.rebuild.Rebuild.pending`; none: not rebuilding): a round
        #: opens an exchange with each reachable one, beside the replica it picks
        #: (session 36)
        self.pending: Callable[[], set[tuple[Range, str]]] = set
        #: (peer, session) -> range: the exchanges live at this node (module
        #: docstring): opened by it since :meth:`forget_sessions` (oldest dropped
        #: past the limit; session 36)
        self._live: collections.OrderedDict[tuple[str, int], Range] = (
            collections.OrderedDict())
        #: (peer, session) -> range: our whole batch of out-of-sync records went to
        #: the peer; its answer completes the exchange (oldest dropped past the limit)
        self._full_batches: collections.OrderedDict[tuple[str, int], Range] = (
            collections.OrderedDict())
        #: (peer, session): a batch of ours (whole or cut short) went to the peer;
        #: its answer may be followed up once (:meth:`on_key_records`; oldest dropped
        #: past the limit)
        self._sent_batches: collections.OrderedDict[tuple[str, int], None] = (
            collections.OrderedDict())
        #: the routing partitioning of the last round and the top N of each range
        #: asked of it, but this node (a Partitioning is immutable: the same object,
        #: the same owners; session 19: ``range_owners`` per range per round was a
        #: tenth of a simulated nemesis run's CPU)
        self._owners_ring: Partitioning | None = None
        self._owners: dict[int, tuple[str, ...]] = {}
        #: key -> when :meth:`ask_pruned` last asked of it: not again within
        #: ``request_timeout`` (the answer is on its way; oldest dropped past the
        #: limit; session 35's review: a hint delivered again while its target
        #: started, or a duplicated put, was asked of twice, each ask answered)
        self._asked: collections.OrderedDict[bytes, float] = collections.OrderedDict()

    def _synced(self, peer: str, session: int, pair_range: Range) -> None:
        """An exchange completed here: its listeners are told if it is live (the same
        range: a step naming another is not of the session)."""
        if self._live.get((peer, session)) != pair_range:
            return
        for listener in self.synced:
            listener(pair_range, peer)

    def _begin(self, peer: str, session: int, pair_range: Range) -> None:
        """Exchange ``session`` with ``peer`` is live here from now."""
        live = self._live
        live[(peer, session)] = pair_range
        while len(live) > SYNC_SESSIONS_LIMIT:
            live.popitem(last=False)

    def _open(self, peer: str, tree: MerkleTree, generation: str | None = None) -> Send:
        """The root of ``tree`` to ``peer``: an exchange this node opens (live), stamped
        with ``generation`` (None: :attr:`generation`'s; a round asks it once: session
        44)."""
        if generation is None:
            generation = self.generation()
        session = next(self.ids)
        shape = tree.shape
        self._begin(peer, session, (shape.lo, shape.hi))
        # (start(tree) as to_exchange sends it, made of the tree's own values and
        # stamped: session 42)
        indexes, hashes = tree.level_items(0)
        return Send(peer, MerkleExchange.made(
            session, shape.lo, shape.hi, shape.fanout, shape.depth, "level", 0, (), indexes,
            hashes, generation=generation))

    def forget_sessions(self) -> None:
        """No exchange live before completes one any more (:attr:`synced`): the store
        was found replaced or set aside (:mod:`impl.rebuild`), and their steps
        compared, or were chosen by, the store as it was (session 36)."""
        self._live.clear()

    def on_write(self, key: bytes, encoded: bytes) -> None:
        """A version was written: the tree of its range will hold it."""
        self.trees.update(key, encoded)

    def on_ring_change(self) -> None:
        """Hold trees for exactly the ranges replicated on the new ring."""
        self.trees.reset(self._ranges(), self.replica.storage)

    def rebuild(self) -> None:
        """Rebuild every tree from the engine: writes the trees were told of did not
        reach it (a failed persist, a half-handled message), and a tree that claims a
        record the engine lacks would keep anti-entropy from ever repairing it."""
        self.trees = RangeTrees(self.trees.fanout, self.trees.depth, self.trees.max_pending)
        self.trees.reset(self._ranges(), self.replica.storage)

    def handlers(self) -> dict[type, Callable[[float, str, Any], list[Effect]]]:
        """The peer messages this mechanism handles: type -> handler(now, src, message)."""
        return {MerkleExchange: lambda now, src, message: self.on_merkle_exchange(src, message),
                KeyRecords: lambda now, src, message: self.on_key_records(src, message)}

    def first_timers(self, now: float, draw: Callable[[float, float], float]) -> list[Effect]:
        """The first anti-entropy round, at a random point of the first interval."""
        return [SetTimer(AntiEntropyRound(), now + draw(0, self.config.anti_entropy_interval))]

    def timers(self) -> dict[type, Callable[[float, Any], list[Effect]]]:
        """The timers this mechanism handles: type -> handler(now, timer)."""
        return {AntiEntropyRound: self.on_round}

    def on_round(self, now: float, timer: AntiEntropyRound) -> list[Effect]:
        """Start one Merkle exchange per key range held, each with a random replica
        (``timer.peer`` set: with that replica, on every range it replicates too;
        ``timer.key`` set as well: on the range holding that key only); set the next
        round. While this node rebuilds (:attr:`pending`), also one with every other
        reachable replica of the range whose pair is still to do (session 36: a
        peer's root found in sync no longer completes a pair here, and the rebuild
        took about twice as long)."""
        out: list[Effect] = [SetTimer(AntiEntropyRound(),
                                      now + self.config.anti_entropy_interval)]
        if not self.config.anti_entropy:
            return out
        partitioning = self._ring()
        if partitioning is not self._owners_ring:
            self._owners_ring, self._owners = partitioning, {}
        known = self._owners
        only = (None if timer.key is None
                else self.trees.range_of(position_of(timer.key)))
        pending = self.pending()
        generation = self.generation()  # (a round changes no store generation)
        # peer -> reachable now: asked once per round, not once per range (the
        # failure detector's answer is a function of its state and ``now``, and a
        # round changes neither; session 42: phi accrual sums every interval per ask)
        up: dict[str, bool] = {}
        for lo, hi in self.trees.ranges:
            if timer.key is not None and (lo, hi) != only:
                continue
            owners = known.get(lo)  # (the top N but this node)
            if owners is None:
                owners = known[lo] = tuple(
                    node for node in partitioning.range_owners(lo, self.config.n)
                    if node != self.name)
            tree = self.trees.get(lo, hi)
            if timer.peer is not None:
                if tree is not None and timer.peer in owners:
                    out.append(self._open(timer.peer, tree, generation))
                continue
            for node in owners:
                if node not in up:
                    up[node] = self.quorum.reachable(node, now)
            live = [node for node in owners if up[node]]
            if not live or tree is None:
                continue
            peer = live[self.rng.randrange(len(live))]
            out.append(self._open(peer, tree, generation))
            if pending:  # rebuilding: every replica of the range not done yet too
                out += [self._open(other, tree, generation) for other in live
                        if other != peer and ((lo, hi), other) in pending]
        return out

    def on_merkle_exchange(self, src: str, message: MerkleExchange) -> list[Effect]:
        """Answer one step of an exchange: descend, or send the out-of-sync records;
        the opener's root found in sync is answered with the root's children
        (:func:`impl.merkle.root_children`: the exchange completes at the opener
        too), any other step found in sync with nothing.

        A step about a range this node does not hold (the ring changed under the
        exchange: an honest race) is ignored, counted as
        ``anti-entropy-unknown-range``. A step malformed for the tree shape it
        names, or naming a shape other than this node's tree of the range, raises
        PeerDataError (:data:`impl.internal_errors.PEER_DATA` "merkle"): the
        decoding and :func:`impl.merkle.check` alone, on the message's fields; the
        comparison with the tree (:func:`impl.merkle.answer`) is ours, outside."""
        tree = self.trees.get(message.lo, message.hi)
        if tree is None:
            self.stats["anti-entropy-unknown-range"] += 1
            return []
        shape = tree.shape
        if (message.step == "level" and message.fanout == shape.fanout
                and message.depth == shape.depth and whole_level_in_sync(
                    tree, message.level, message.parents, message.indexes, message.hashes)):
            # the root or its children, in sync: what check and compare would find,
            # without a Level built and checked (session 42)
            if message.level == 0:  # the opener's root: maybe of before (docstring)
                indexes, hashes = tree.level_items(1)  # (root_children's)
                return [Send(src, MerkleExchange.made(
                    message.session, shape.lo, shape.hi, shape.fanout, shape.depth,
                    "level", 1, WHOLE_LEVEL_PARENTS[1], indexes, hashes,
                    generation=self.generation()))]
            self._synced(src, message.session, (message.lo, message.hi))
            return []
        try:  # a step malformed in itself: the peer's fault (PeerDataError)
            step = from_exchange(message, tree.shape)
            check(tree.shape, step)
        except BadMessageError as error:
            raise peer_data_error("merkle", error) from error
        answer = compare(tree, step)  # ours: whatever it raises is an internal error
        # a peer's opening: never live here (module docstring; session 36's review)
        root = message.step == "level" and message.level == 0
        if isinstance(answer, OutOfSync):
            keys = self._key_batch(answer.keys)  # the rest: the next round
            storage = self.replica.storage
            records = tuple(storage.read(key) or b"" for key in keys)
            self.stats["anti-entropy-keys"] += len(keys)
            sent = self._sent_batches
            sent[(src, message.session)] = None
            while len(sent) > SYNC_SESSIONS_LIMIT:
                sent.popitem(last=False)
            if len(keys) == len(answer.keys):
                batches = self._full_batches
                batches[(src, message.session)] = (message.lo, message.hi)
                while len(batches) > SYNC_SESSIONS_LIMIT:
                    batches.popitem(last=False)
            return [Send(src, KeyRecords(keys, records, message.session, reply=True,
                                         generation=self.generation(),
                                         retired=self.replica.carried_raw(*records)))]
        if isinstance(answer, Level | Buckets):
            return [Send(src, _made(message.session, answer, self.generation()))]
        if isinstance(answer, InSync):
            if root:  # the opener's root: maybe of before (module docstring)
                return [Send(src, _made(message.session, root_children(tree),
                                        self.generation()))]
            self._synced(src, message.session, (message.lo, message.hi))
        return []

    def _key_batch(self, keys: tuple[bytes, ...]) -> tuple[bytes, ...]:
        """As many out-of-sync keys as one KeyRecords may carry (bounded in count and
        in bytes, so that a long partition does not make one giant message)."""
        budget = KEY_RECORDS_BYTES
        batch: list[bytes] = []
        for key in keys[:KEY_RECORDS_KEYS]:
            raw = self.replica.storage.read(key)
            budget -= len(key) + (len(raw) if raw else 0)
            if batch and budget < 0:
                break
            batch.append(key)
        return tuple(batch)

    def on_key_records(self, src: str, message: KeyRecords) -> list[Effect]:
        """Reconcile the records of out-of-sync keys (all decoded before any is
        written), and send back the merged records where they differ: always to a
        batch (``reply`` True); to the answer to a batch of ours (``reply`` False,
        the session's) only where the merge holds less than the answer (dvv: it
        pruned entries the answer holds), once, unanswered (session 34)."""
        replica = self.replica
        theirs = [(key, replica.decode(key, raw) if raw else None)
                  for key, raw in zip(message.keys, message.records, strict=True)]
        # an answer to a batch of ours: followed up where our merge pruned part of it
        answering = not message.reply and (src, message.session) in self._sent_batches
        if answering:
            del self._sent_batches[(src, message.session)]
        back_keys: list[bytes] = []
        back_records: list[bytes] = []
        seen: list[Record] = []  # what the records sent back were pruned from
        for key, record in theirs:
            mine = replica.local_record(key)
            # the union is sent back, not the pruned record this node stores (session
            # 34): the entries pruning drops may still cover the peer's stale values,
            # which the pruned record would bring back as false siblings; the peer
            # prunes the union by what it knows when it writes it
            union = mine if record is None else merge(mine, record)
            merged = replica.prune(union)
            if merged != mine:
                replica.write_local(key, merged)
            if message.reply:
                # (also where the peer's record is the union already, if the peer's
                # pruning of it drops entries, by what its batch's retirements and
                # this node tell: it writes the union pruned, as the spec's two-sided
                # exchange stores it at both replicas; else a replica ahead kept the
                # entries of retired lifetimes until its next write. Not otherwise:
                # the peer's write would change nothing, and every key a peer ahead
                # sends would come back, doubling the records' bytes of an exchange;
                # session 34's review)
                back = not union.is_empty and (
                    union != record or replica.prunes_copy(union, message.retired))
            else:
                back = (answering and record is not None
                        and merge(merged, record) != merged)
            if back:
                back_keys.append(key)
                back_records.append(encode_record(union))
                seen.extend((mine,) if record is None else (mine, record))
        self._completed(src, message)
        if not back_keys:
            return []
        retired = replica.carried(*seen)
        if not message.reply:
            if not retired:  # (nothing to teach: the peer's copy holds ours)
                return []
            self.stats["anti-entropy-followups"] += 1
        # dvv: the retirements of what the merges pruned and kept, so that the peer
        # prunes alike: a peer down through many restarts of another learns here the
        # retirements older than gossip tells (session 33), and the opener of an
        # exchange whose copy holds an entry this node pruned before, which the
        # records of our batch could not name, learns them from the follow-up of
        # its answer (session 34)
        return [Send(src, KeyRecords(tuple(back_keys), tuple(back_records),
                                     generation=self.generation(),
                                     session=message.session, reply=False, retired=retired))]

    def ask_pruned(self, now: float, src: str, key: bytes, theirs: Record, merged: Record,
                   holder: bool, union: Record | None = None) -> list[Effect]:
        """What this node sends once it merged ``theirs``, a peer's one-way record of
        ``key`` (a ReplicaPut's, a HintDelivery's: no answer shows the sender this
        node's copy), into its copy, now ``merged``: nothing, unless ``merged``
        keeps value-less entries that a pruning upstream of ``theirs`` dropped, of
        retirements this node has not taken
        (:meth:`impl.retired.RetiredActors.kept_pruned`). Then ``union`` (this
        node's copy before the merge merged with ``theirs``, unpruned; None:
        ``merge(merged, theirs)``) goes as a batch of one key (a KeyRecords,
        ``reply`` True, a fresh session not kept: its answer is not followed up)
        to ``src`` if ``holder`` (a
        coordinator: it stores the copy it pruned), else to the first of the key's
        top N (``src`` first if among them) other than this node that it does not
        suspect; the peer's pruning of the union drops those entries, so it answers
        with the retirements of their lifetimes (:meth:`on_key_records`,
        ``prunes_copy``), which this node takes and prunes by; the ask names the
        retirements this node knows of the entries of the union (of ``merged``
        and of what it pruned it from, as every record sent to be merged does: the
        peer prunes alike; session 35's review). The union, not ``merged``, as
        anti-entropy's answer sends it (session 40): this merge may just have
        emptied an entry and pruned it, and an asked replica that missed the
        write that emptied it would keep the value it covered and send it back
        (a deleted value back at this node, for good once the asked replica got
        the write: "The pruned ask's copy (session 40)", docs/runtime.md)
        (session 35: before,
        the copy kept them until the next exchange, or a get through a node that
        knows, and each get through this node read-repaired the others with them).
        Counted as ``one-way-pruned-asks``; not asked again of ``key`` within
        ``request_timeout`` of the last ask (the answer is on its way: a hint
        delivered again, a duplicated put), counted as ``one-way-pruned-asks-held``
        (session 35's review)."""
        if not self.replica.kept_pruned(merged, theirs):
            return []
        last = self._asked.get(key)
        if last is not None and now - last < self.config.request_timeout:
            self.stats["one-way-pruned-asks-held"] += 1
            return []
        peer = src
        if not holder:
            top_n = self._ring().preference_list(key, self.config.n)
            asked = [src] if src in top_n else []
            asked += [node for node in top_n if node not in (src, self.name)
                      and self.quorum.reachable(node, now)]
            if not asked:
                return []
            peer = asked[0]
        self.stats["one-way-pruned-asks"] += 1
        self._asked.pop(key, None)
        self._asked[key] = now
        while len(self._asked) > SYNC_SESSIONS_LIMIT:
            self._asked.popitem(last=False)
        sent = merge(merged, theirs) if union is None else union
        return [Send(peer, KeyRecords((key,), (encode_record(sent),), next(self.ids),
                                      generation=self.generation(),
                                      reply=True, retired=self.replica.carried(sent)))]

    def _completed(self, src: str, message: KeyRecords) -> None:
        """The records of ``message`` are merged: the exchange is complete here if it
        answers a whole batch of ours (every out-of-sync key of its range; the
        answer is not bounded). A peer's batch never completes one: a record of up
        to :func:`impl.config.merged_record_bytes` may have been left out of it by
        :data:`KEY_RECORDS_BYTES`, and nothing in the message says so."""
        if not message.reply:
            whole = self._full_batches.pop((src, message.session), None)
            if whole is not None:
                self._synced(src, message.session, whole)
