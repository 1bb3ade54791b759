"""The replica role: the node's own versions of the keys it stores (paper 4.1-4.4).

Theory of operation
-------------------
A :class:`Replica` owns the node's versions table (in the storage engine) and
everything that decodes, reconciles and writes it:

- ``ReplicaPut`` (paper 4.5): a replica merges the coordinator's new version into
  its record (syntactic reconciliation, :func:`impl.versions.merge`) and
  acknowledges it; a *fallback* (the message names an *intended* node) keeps it
  in the hint store instead (:class:`impl.handoff.HintStore`) and acknowledges it
  echoing the intended node;
- ``ReplicaGet``: a replica answers with its own record, merged with the
  records it keeps as hints of the key (``hinted_reads``, the default since
  session 49: a fallback's acknowledgement counted towards W, so its answer must
  hold the write for R + W > N to meet it, as Riak's fallback vnodes serve what
  they took, the spec's ``features.hinted_reads``; without, its own record only, the
  spec's default);
- :meth:`Replica.store` is the one place versions are written: the engine, then
  every write listener (the Merkle trees of anti-entropy; while the node leaves,
  the handoff of the late write to the key's new replicas).

Records from peers are decoded with a small cache and checked against the size
limits (:meth:`Replica.decode`); a bad one raises a
:class:`~impl.errors.BadMessageError` and changes nothing. The put limits
(``max_siblings``, ``max_record_bytes``) bound what one coordinator's puts make;
a peer's record is a merge, so it may hold what :func:`impl.config.merge_sides`
nodes made (Riak checks its limits on a client's put, never on read repair).
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from impl.config import KEY_BYTES_CEILING, ClusterConfig, merge_sides, merged_record_bytes
from impl.effects import Effect, Send, SetTimer
from impl.errors import BadMessageError, TooLargeError, UnknownNodeError
from impl.hints import HintStore
from impl.internal_errors import peer_data_error
from impl.lww_floors import LwwFloors
from impl.messages import ReplicaGet, ReplicaGetReply, ReplicaPut, ReplicaPutAck
from impl.storage.base import Storage
from impl.timers import Flush
from impl.versions import (
    CLIENT_FLOOR_META,
    TOMBSTONE,
    ClockMode,
    Record,
    Sibling,
    decode_record,
    encode_record,
    is_tombstone_only,
    lww_after,
    merge,
    reaped_counter,
    sibling_count,
)
from spec.vclock import VClock

__all__ = ["Replica"]

#: hints of one key from which a node keeps their merge in memory (:meth:`Replica.hinted`)
HINTED_CACHE_FROM = 16
#: keys whose hints' merge a node keeps at most (the keys read last)
HINTED_CACHE_KEYS = 256
#: the bytes of the kept merges at most (each counted as its largest hint record)
HINTED_CACHE_BYTES = 32 << 20
_DECODE_CACHE = 512  # records kept decoded (only small ones: at most 512 x 4 KiB)
_DECODE_CACHE_RECORD = 4096


def _nothing_carried(*records: Record) -> bytes:
    """No retired actors told (lww, vector clocks, no actor epochs)."""
    return b""


def _prunes_nothing(record: Record, told: bytes) -> bool:
    """No pruning (lww, vector clocks, no actor epochs)."""
    return False


def _unchanged(record: Record) -> Record:
    return record


def _kept_nothing(merged: Record, theirs: Record) -> bool:
    """No pruning upstream to see (lww, vector clocks, no actor epochs)."""
    return False


def _asks_nothing(now: float, src: str, key: bytes, theirs: Record, merged: Record,
                  holder: bool, union: Record) -> list[Effect]:
    """No one asked (lww, vector clocks, no actor epochs)."""
    return []


class Replica:
    """The versions node ``name`` stores, in ``storage``; ``hints`` keeps what it
    stores as a fallback; ``known(node)`` says whether a node name is a member;
    ``members()`` how many nodes this node knows of (those that joined too: the
    merges a peer's record may hold, :func:`impl.config.merge_sides`)."""

    def __init__(self, name: str, config: ClusterConfig, storage: Storage,
                 hints: HintStore, known: Callable[[str], bool],
                 members: Callable[[], int] = lambda: 0,
                 stats: Counter[str] | None = None,
                 kept_bounds: tuple[int, int] = (0, 0)) -> None:
        self.name = name
        self._members = members
        #: the node's counters: ``merged-over-limit``, a merge stored a record over
        #: ``max_record_bytes`` or ``max_siblings`` (:meth:`merge_into_local`,
        #: :meth:`write_local`)
        self.stats: Counter[str] = Counter() if stats is None else stats
        self.config = config
        self.storage = storage
        self.hints = hints
        self.mode = ClockMode(config.clock)
        self._known = known
        self._decoded: dict[bytes, Record] = {}
        self.empty_encoding = encode_record(Record.empty(self.mode))
        #: called with (key, encoded record) after every write of a version, and with
        #: (key, b"") after the key's versions were removed (:meth:`reap`)
        self.write_listeners: list[Callable[[bytes, bytes], None]] = []
        #: called with (key, local record before, record after) before a merge
        #: (:meth:`merge_into_local`, :meth:`write_local`) changes the local record
        #: (the node's key epoch guard, :func:`impl.versions.note_key_merge`)
        self.merge_listener: Callable[[bytes, Record, Record], None] | None = None
        #: what every record this node writes passes through first: dvv, the
        #: value-less entries of retired lifetime actors go
        #: (:meth:`impl.retired.RetiredActors.prune`, set by the node; session 33)
        self.prune: Callable[[Record], Record] = _unchanged
        #: what a message sending records tells of the retired actors that minted
        #: their entries (:meth:`impl.retired.RetiredActors.carried`, set by the
        #: node; b"": nothing; session 33)
        self.carried: Callable[..., bytes] = _nothing_carried
        #: whether a peer's copy ``record``, whose message carried the retirements
        #: ``told``, loses an entry when the peer prunes it by what it knows
        #: (:meth:`impl.retired.RetiredActors.prunes_copy`, set by the node; False:
        #: nothing is pruned; session 34's review)
        self.prunes_copy: Callable[[Record, bytes], bool] = _prunes_nothing
        #: whether this node's copy ``merged``, once it merged a peer's one-way record
        #: ``theirs``, keeps entries a pruning upstream dropped
        #: (:meth:`impl.retired.RetiredActors.kept_pruned`, set by the node; session 35)
        self.kept_pruned: Callable[[Record, Record], bool] = _kept_nothing
        #: what a one-way merge (a ReplicaPut's, :meth:`on_replica_put`; a
        #: HintDelivery's, :meth:`impl.handoff.HintedHandoff.on_delivery`) sends on:
        #: ``(now, src, key, theirs, merged, holder, union)`` -> effects; ``holder``:
        #: the sender stores the key's copy (a coordinator); ``union``: this node's
        #: copy before merged with ``theirs``, unpruned (session 40) (:meth:`impl.
        #: antientropy.AntiEntropy.ask_pruned`, set by the node; nothing: session 35)
        self.one_way: Callable[[float, str, bytes, Record, Record, bool, Record],
                               list[Effect]] = _asks_nothing
        #: client-vclock: the highest counter of a record this node removed (a reap,
        #: a let-go), which every put it coordinates counts above (the
        #: ``CLIENT_FLOOR_META`` entry, durable with the removal: :meth:`reap`)
        self.client_floor = 0
        if self.mode is ClockMode.CLIENT_VCLOCK:
            self.client_floor = int(storage.get_meta(CLIENT_FLOOR_META) or b"0")
        #: lww: key -> the stamp of a tombstone this node reaped while the stamp was
        #: ahead of its clock, which every put of the key it coordinates is stamped
        #: above (meta entries durable with the removal: :mod:`impl.lww_floors`,
        #: :meth:`reap`, :meth:`lww_now`)
        self.floors = LwwFloors(storage, load=self.mode is ClockMode.LWW)
        #: the node's clock (seconds; set by the node): a floor its clock passed is
        #: dropped (:meth:`lww_now`)
        self.clock: Callable[[], float] = lambda: float("-inf")
        #: (bytes, siblings): the record bounds of the configurations this store ran
        #: with before (:meth:`decode`; :func:`kept_record_bounds`)
        self.kept_bounds = kept_bounds
        #: key -> the merge of its hints' records, for keys holding many
        #: (:meth:`hinted`), least recently read first
        self._hinted: OrderedDict[bytes, Record] = OrderedDict()
        #: key -> the bytes counted for its kept merge (its largest hint record)
        self._hinted_bytes: dict[bytes, int] = {}
        hints.changed = self._hint_changed
        #: the merge sides :attr:`kept_bounds` counts (:meth:`_keep_members`)
        self._kept_sides = merge_sides(config)
        #: (the configuration, the member count, their merge sides and merged record
        #: bytes): :meth:`_merge_bounds`'s last answer
        self._bounds: tuple[ClusterConfig, int, int, int] | None = None

    # ------------------------------------------------------------------ messages

    def handlers(self) -> dict[type, Callable[[float, str, Any], list[Effect]]]:
        """The peer messages this mechanism handles: type -> handler(now, src, message)."""
        return {ReplicaPut: lambda now, src, message: self.on_replica_put(src, message, now),
                ReplicaGet: lambda now, src, message: self.on_replica_get(src, message)}

    def on_replica_put(self, src: str, message: ReplicaPut, now: float = 0.0) -> list[Effect]:
        """Store a coordinator's write (or, as a fallback, keep it as a hint); ack it.
        In dvv, a merge that keeps entries a pruning upstream dropped sends the
        merged copy to the coordinator too (:attr:`one_way`; session 35).
        In client-vclock, an ack of a write whose version the merge dropped (a
        stored clock dominates it) carries this node's record
        (:class:`~impl.messages.ReplicaPutAck` ``record``); so does one whose
        record's floor is below this node's client counter floor
        (:attr:`client_floor`, raised by :meth:`reap`), the record then carrying
        that floor. A bad record or a hint naming an unknown node raises
        PeerDataError."""
        record = self.decode(message.key, message.record)
        if message.hint and message.hint != self.name:
            if not self._known(message.hint):
                raise peer_data_error("hint", UnknownNodeError(
                    f"hint names unknown node {message.hint!r}"))
            self.hints.add(message.hint, message.key, encode_record(record))
            return [Send(src, ReplicaPutAck(message.op_id, message.key, message.hint))]
        union, mine = self.merge_one_way(message.key, record, message.record)
        if self.mode is ClockMode.LWW:
            return [Send(src, self._lww_ack(message, record))]
        if self.mode is not ClockMode.CLIENT_VCLOCK:
            return [Send(src, ReplicaPutAck(message.op_id, message.key)),
                    *self.one_way(now, src, message.key, record, mine, True, union)]
        if self.client_floor > max(mine.floor, record.floor) and mine.truncation is not None:
            # This node reaped copies holding counters above the put's floor: its
            # coordinator may never have held them (a node that joined since the
            # reap) and minted the client's counter at or below them, which a
            # context read before the delete covers (session 19's probe). The record
            # with this node's floor makes it mint again above (as a truncation
            # floor does: PutCoordinator._remint).
            mine = replace(mine, floor=self.client_floor)
        if mine.floor > record.floor or not all(
                sibling in mine.siblings for sibling in record.siblings):
            # Kept none (or not all) of the put's version: a stored clock dominates
            # the one minted. Say so with this node's record, so that the
            # coordinator of a client that forgot its counter re-mints above it
            # (session 14; the client-side twin of Riak's kv679). So too when
            # this node's truncation floor is above the put's: its coordinator
            # missed the truncation and may have minted a counter at or below the
            # floor, which a context read before the truncation covers (session
            # 16's review).
            return [Send(src, ReplicaPutAck(message.op_id, message.key,
                                            record=encode_record(mine)))]
        return [Send(src, ReplicaPutAck(message.op_id, message.key))]

    def _lww_ack(self, message: ReplicaPut, record: Record) -> ReplicaPutAck:
        """lww: the ack of a put whose ``record`` is stamped at or below this
        node's floor of the key (:attr:`lww_floors`) carries the floor, as a
        tombstone record stamped with it (writer: this node), so that the
        coordinator mints the put again above it
        (:meth:`impl.put_coordinator.PutCoordinator.on_ack`). A coordinator that
        did not reap the key (a node joined since, a replaced disk, a fallback
        coordinator) stamps by its clock alone, below the reaped tombstone, and a
        late copy of that tombstone then deleted the acknowledged put (session
        25's review). Any other ack carries nothing."""
        floor = self.floors.get(message.key)
        if floor is None or max((s.stamp for s in record.siblings), default=floor) > floor:
            return ReplicaPutAck(message.op_id, message.key)
        mark = Record(ClockMode.LWW, (Sibling(TOMBSTONE, VClock(), floor, self.name),))
        return ReplicaPutAck(message.op_id, message.key, record=encode_record(mark))

    def on_replica_get(self, src: str, message: ReplicaGet) -> list[Effect]:
        """Answer a coordinator's read with this node's own record (b"": none); a key
        over the limit raises PeerDataError."""
        if len(message.key) > KEY_BYTES_CEILING:  # no node stores such a key
            raise peer_data_error("key", TooLargeError(
                f"key is {len(message.key)} bytes, over the {KEY_BYTES_CEILING} no "
                "configuration's max_key_bytes exceeds"))
        # a key over this node's max_key_bytes is answered too: it may be stored
        # from before the limit was lowered (none stored: b""); refusing it made a
        # get of such a key fail at every R > 1 (session 18's service probe)
        encoded = self.served(message.key)
        if encoded == self.empty_encoding:
            encoded = b""
        return [Send(src, ReplicaGetReply(message.op_id, message.key, encoded))]

    def served(self, key: bytes) -> bytes:
        """What this node answers a read of ``key`` with (encoded; b"": nothing): its
        own record, merged with the records it keeps as hints of the key when
        ``hinted_reads`` (session 49's probe: a put acknowledged by its coordinator
        and a fallback holding a hint, whose copy to the third replica was late, was
        missed by the next get through that replica although the fallback answered
        it -- R and W met there -- and a sequential client's read-modify-write made
        a sibling of its own acknowledged write; docs/runtime.md, "A user's probe of
        the data kinds (session 49)"). A hint that does not parse is left out (its
        delivery refuses it too)."""
        encoded = self.storage.read(key) or b""
        hinted = self.hinted(key)
        if hinted is None:
            return encoded
        own = self.parse(encoded) if encoded else Record.empty(self.mode)
        return encode_record(self.prune(merge(own, hinted)))

    def served_record(self, key: bytes, own: Record) -> Record:
        """:meth:`served`, decoded, of this node's record ``own`` of ``key`` (read by
        the caller): what a get's coordinator counts as its own read
        (:meth:`impl.get_coordinator.GetCoordinator.start`). Until session 49's review
        the coordinator read its own record only, so a fallback coordinating a get
        (no top-N node answered its forward) left out the write it had acknowledged
        as a hint, and answered a stale value the other node of R held, R and W
        meeting at it (tests/impl/test_hinted_read_review.py)."""
        hinted = self.hinted(key)
        return own if hinted is None else self.prune(merge(own, hinted))

    def hinted(self, key: bytes) -> Record | None:
        """The merge of the records this node keeps as hints of ``key`` (None: none
        kept, or ``hinted_reads`` off); a hint that does not parse is left out (its
        delivery refuses it too). A key holding :data:`HINTED_CACHE_FROM` hints or
        more keeps its merge in memory (:attr:`_hinted`, the
        :data:`HINTED_CACHE_KEYS` keys read last, :data:`HINTED_CACHE_BYTES` at
        most, each counted as its largest hint record), merged with each hint added and
        dropped when one goes (:meth:`_hint_changed`): before session 49's review
        every read merged every hint of the key, about 12 us each (a fallback
        holding 10,000 hints of a key a sequential client wrote while its node was
        down spent 120 ms of CPU on each read of it; 1,000 hints of a 64 KiB value
        held 63 MiB during each: docs/runtime.md, "Review of the hinted reads
        (session 49, review)")."""
        if not self.config.hinted_reads or not self.hints.holds(key):
            return None
        held = self._hinted.get(key)
        if held is not None:
            self._hinted.move_to_end(key)
            return held
        merged = Record.empty(self.mode)
        records = self.hints.records_of(key)
        for raw in records:
            try:
                merged = merge(merged, self.parse(raw))
            except BadMessageError:
                continue
        # kept only when the engine showed every hint the index counts: the
        # runtime's group commit shows a hint once it is written, and a merge kept
        # without one added but not yet written would lack it for good (its add
        # told nothing kept; its acknowledgement follows the write)
        if HINTED_CACHE_FROM <= len(records) == self.hints.count(key):
            self._keep_hinted(key, merged, max(map(len, records)))
        return merged

    def _keep_hinted(self, key: bytes, merged: Record, size: int) -> None:
        """Keep ``merged`` as ``key``'s hints' merge, counted ``size`` bytes; the
        merges read least recently go while more than :data:`HINTED_CACHE_KEYS`
        or :data:`HINTED_CACHE_BYTES` are kept (one larger alone goes too)."""
        self._hinted[key] = merged  # (a kept one: merged in place, its place kept)
        self._hinted_bytes[key] = size
        total = sum(self._hinted_bytes.values())
        while self._hinted and (len(self._hinted) > HINTED_CACHE_KEYS
                                or total > HINTED_CACHE_BYTES):
            oldest, _ = self._hinted.popitem(last=False)
            total -= self._hinted_bytes.pop(oldest)

    def _drop_hinted(self, key: bytes) -> None:
        self._hinted.pop(key, None)
        self._hinted_bytes.pop(key, None)

    def _hint_changed(self, key: bytes | None, record: bytes | None) -> None:
        """The hint store added ``record`` as a hint of ``key`` (merged into the key's
        kept merge, if any), removed a hint of ``key`` (``record`` None: the merge
        goes), or reloaded its index (``key`` None: every merge goes)."""
        if key is None:
            self._hinted.clear()
            self._hinted_bytes.clear()
            return
        held = self._hinted.get(key)
        if held is None:
            return
        if record is None:
            self._drop_hinted(key)
            return
        try:
            merged = merge(held, self.parse(record))
        except BadMessageError:
            return
        self._keep_hinted(key, merged, max(self._hinted_bytes[key], len(record)))

    # ------------------------------------------------------------------ reading

    def first_timers(self, now: float, draw: Callable[[float, float], float]) -> list[Effect]:
        """A buffered engine's first flush (none for an engine that syncs each write)."""
        if getattr(self.storage, "fsync", "always") != "buffered":  # a Storage may not say
            return []
        return [SetTimer(Flush(), now + self.config.flush_interval)]

    def timers(self) -> dict[type, Callable[[float, Any], list[Effect]]]:
        """The timers this mechanism handles: type -> handler(now, timer)."""
        return {Flush: self.on_flush}

    def check_key(self, key: bytes) -> None:
        """TooLargeError for a peer's record of a key over ``KEY_BYTES_CEILING``
        (the largest ``max_key_bytes`` a configuration may give: no node stores
        such a key). A key over this node's ``max_key_bytes`` is taken, as a value
        over ``max_value_bytes`` is: the limit is the client's (414 at the HTTP
        port), and the key was stored when the limit was larger. Until session 18's
        service probe it was refused, so lowering ``max_key_bytes`` stranded the
        longer keys (a GET at R>1 answered 503), and a replica that missed such a
        key refused it at every anti-entropy round and read repair, for good."""
        if len(key) > KEY_BYTES_CEILING:
            raise TooLargeError(f"key is {len(key)} bytes, over the {KEY_BYTES_CEILING} "
                                "no configuration's max_key_bytes exceeds")

    def parse(self, raw: bytes) -> Record:
        """decode_record with a small cache: replicas see the same record bytes often.
        Only small records are looked up: a lookup hashes the bytes, and a large
        record's bytes are a fresh object at every read (hashing a 25 MiB record
        cost about 12 ms per put: session 12's large-record profile)."""
        if len(raw) > _DECODE_CACHE_RECORD:
            return decode_record(raw, self.mode)
        record = self._decoded.get(raw)
        if record is None:
            record = decode_record(raw, self.mode)
            if len(self._decoded) >= _DECODE_CACHE:
                self._decoded.clear()
            self._decoded[raw] = record
        return record

    def _merge_bounds(self) -> tuple[int, int]:
        """(:func:`impl.config.merge_sides`, :func:`impl.config.merged_record_bytes`) of
        this node's configuration and member count, computed again only when either
        changes (session 31: both, asked for every peer's record, built sets of the
        configuration's node names each time)."""
        members = self._members()
        held = self._bounds
        if held is not None and held[0] is self.config and held[1] == members:
            return held[2], held[3]
        sides = merge_sides(self.config, members)
        merged = merged_record_bytes(self.config, members)
        self._bounds = (self.config, members, sides, merged)
        return sides, merged

    def decode(self, key: bytes, raw: bytes) -> Record:
        """A record from a peer, checked against the limits: the peer's fault by
        design (:data:`impl.internal_errors.PEER_DATA` "record"), so every error is
        raised as PeerDataError (a BadMessageError) with the decoder's message. Only
        the key check and the decoding are inside the peer-data boundary; the limit
        checks raise PeerDataError themselves, so that an error of our own code
        counting the decoded record's siblings or values is an internal error.

        A peer's record is a merge: it may hold k x ``max_siblings`` siblings and
        :func:`impl.config.merged_record_bytes` bytes, k the nodes whose puts it
        may merge (:func:`impl.config.merge_sides`: every node the configuration
        names, or this node knows of, at least 2). Before session 13 the bound was
        2 x ``max_siblings``: a key filled on three sides of a partition merged
        into a record every peer refused, and reads at R=2 failed for good
        (session 12's review).

        A value over ``max_value_bytes`` is taken: that limit is the client's (413
        at the HTTP port), and a peer's record holding such a value was stored
        when the limit was larger. Until session 17's service probe it was
        refused, so an operator who lowered ``max_value_bytes`` on every node
        (131072 to 65536, one 100,000-byte value stored before) stranded its key
        for good: a GET at R=2 or 3 answered 503 (the replicas' records
        refused, only the coordinator's own counted), a DELETE 503, a PUT even
        of a small value 504, and anti-entropy re-sent the record every round
        (36 dropped messages in 6 s); the coordinator's own copy was never
        checked (:meth:`local_record`). The record's size stays bounded (above,
        and by ``max_frame_bytes`` before it is read).

        Likewise a record over the bytes or siblings the limits allow is taken
        when it is no larger, and holds no more siblings, than the record this
        node stores for the key (kept from before ``max_record_bytes`` or
        ``max_siblings`` was lowered: its replicas hold the same record, and
        refusing it stranded the key as above; session 17's service probe).

        The bounds are never below those of a configuration this store ran with
        before (:attr:`kept_bounds`): a replica that missed a key's writes (down
        while they were taken) and was restarted with the others under a lowered
        ``max_siblings`` stores nothing to compare with, and refused the key's
        record for good: 10 siblings, ``max_siblings`` 25 lowered to 2, three
        ``vdynamo serve`` processes: every GET through that node 503 ("reached 1 of
        R=2"), 44 messages dropped there in 3 s, while the other two served it
        (session 21's second service probe)."""
        sides, merged = self._merge_bounds()
        if sides > self._kept_sides:
            self._keep_members(sides)
        kept_bytes, kept_siblings = self.kept_bounds
        # (``max``/``min`` of two written out on this path, here and in the coordinators:
        # the builtin took about 1 us a call on the CI machine, ten times a comparison;
        # ``b if b > a else a`` is ``max(a, b)``, ``b if b < a else a`` ``min(a, b)``,
        # ties and NaN included: session 42)
        largest = kept_bytes if kept_bytes > merged else merged
        if len(raw) > largest and len(raw) > len(self.storage.read(key) or b""):
            raise peer_data_error("record", TooLargeError(
                f"record is {len(raw)} bytes, over the {largest} that merges of "
                f"{sides} nodes' puts within max_record_bytes can make"))
        try:
            self.check_key(key)
            record = self.parse(raw)
        except (BadMessageError, TooLargeError) as error:
            raise peer_data_error("record", error) from error
        # Each sibling takes at least 4 bytes of the record: a small record cannot
        # hold too many (skip counting).
        most = sides * self.config.max_siblings
        if kept_siblings > most:
            most = kept_siblings
        if len(raw) // 4 <= most:
            return record
        siblings = sibling_count(record)
        if siblings > most and siblings > sibling_count(self.local_record(key)):
            raise peer_data_error("record", BadMessageError(
                f"record holds {siblings} siblings, more than the {most} that merges of "
                f"{sides} nodes' puts within max_siblings can make"))
        return record

    def _keep_members(self, sides: int) -> None:
        """Raise the kept bounds (memory and the store's ``RECORD_BOUNDS_META``) to
        the merges of ``sides`` nodes' puts within this configuration's limits, once
        the members outnumber the sides counted so far: the bounds kept at the start
        count the configured nodes only (:class:`impl.node.Node`), so a store of a
        cluster grown by joins, restarted under lowered limits, refused the records
        the joined nodes' merges made (5 members, ``max_siblings`` 25 lowered to 2:
        100 siblings refused over the 75 of 3 sides; session 22's review)."""
        self.raise_kept_bounds(merged_record_bytes(self.config, sides),
                               sides * self.config.max_siblings)
        self._kept_sides = sides

    def raise_kept_bounds(self, record_bytes: int, siblings: int) -> bool:
        """Raise :attr:`kept_bounds` to ``record_bytes`` (bytes) and ``siblings``
        (a count), each if larger, and stage the store's ``RECORD_BOUNDS_META``
        entry with them (written with the input's writes: persist, then send).
        Whether either rose. A peer's bounds adopted from its hello
        (:meth:`impl.node.Node.adopt_record_bounds`) were kept in memory only until
        session 23's review: a store whose records came from peers under their
        bounds (a replaced disk, a node joined after the limits were lowered) lost
        them at a restart, and once the nodes of the earlier limits had left, no
        hello carried them any more."""
        raised = (max(self.kept_bounds[0], record_bytes), max(self.kept_bounds[1], siblings))
        if raised == self.kept_bounds:
            return False
        self.kept_bounds = raised
        self.storage.set_meta(RECORD_BOUNDS_META, b"%d %d" % raised)
        return True

    def local_record(self, key: bytes) -> Record:
        """This node's record of ``key`` (the empty record: none)."""
        raw = self.storage.read(key)
        if raw is None:
            return Record.empty(self.mode)
        return self.parse(raw)

    def record(self, key: bytes) -> Record | None:
        """The stored record of ``key`` decoded afresh (None: none stored)."""
        raw = self.storage.read(key)
        return None if raw is None else decode_record(raw, self.mode)

    # ------------------------------------------------------------------ writing

    def carried_raw(self, *raws: bytes) -> bytes:
        """:attr:`carried` of the encoded records ``raws`` (a hint's, anti-entropy's
        stored ones): b"" when this node knows no retired actor (nothing decoded);
        one that does not parse tells nothing (its receiver refuses it anyway)."""
        if self.carried is _nothing_carried:
            return b""
        records = []
        for raw in raws:
            if raw:
                try:
                    records.append(self.parse(raw))
                except BadMessageError:
                    continue
        return self.carried(*records)

    def merge_into_local(self, key: bytes, record: Record, raw: bytes | None = None) -> Record:
        """Merge ``record`` (whose canonical bytes are ``raw``, if known) into the key's
        local record; write only if that changes it. Returns the local record after."""
        return self.merge_one_way(key, record, raw)[1]

    def merge_one_way(self, key: bytes, record: Record,
                      raw: bytes | None = None) -> tuple[Record, Record]:
        """:meth:`merge_into_local`, returning also the union it pruned: (the local
        record before merged with ``record``, unpruned; the local record after). A
        one-way merge's ask sends the union (:attr:`one_way`; session 40: the pruned
        copy it sent lacked the entries this merge had just emptied and pruned, and
        an asked replica that missed their write sent the superseded values back)."""
        mine = self.local_record(key)
        union = merge(mine, record)
        merged = self.prune(union)
        if merged is mine or merged == mine:
            return union, mine
        encoded = raw if merged is record and raw is not None else encode_record(merged)
        self._warn_over_limits(merged, encoded)
        if self.merge_listener is not None:
            self.merge_listener(key, mine, merged)
        self.store(key, encoded)
        return union, merged

    def _warn_over_limits(self, merged: Record, encoded: bytes) -> None:
        """Count ``merged-over-limit`` (``/status`` stats, ``vdynamo_node_events``)
        when a merge stores a record over a put limit: accepted (it is a merge of
        puts each within the limits), but a key its clients should reconcile.
        Riak's ``warn_object_size`` / ``warn_siblings`` warnings
        (``riak_kv_vnode:encode_and_put``)."""
        config = self.config
        if len(encoded) > config.max_record_bytes or (
                len(encoded) // 4 > config.max_siblings
                and sibling_count(merged) > config.max_siblings):
            self.stats["merged-over-limit"] += 1

    def write_local(self, key: bytes, record: Record) -> None:
        """Replace the key's local record by ``record`` (if it differs): anti-entropy's
        merge of a peer's record into this node's (pruned first: :attr:`prune`)."""
        record = self.prune(record)
        encoded = encode_record(record)
        if self.storage.read(key) != encoded:
            self._warn_over_limits(record, encoded)
            if self.merge_listener is not None:
                self.merge_listener(key, self.local_record(key), record)
            self.store(key, encoded)

    def reap(self, key: bytes) -> None:
        """Remove the key's versions (a reaped tombstone): the engine, then every write
        listener, told with the empty bytes (the key is gone). In client-vclock the
        record's highest counter first raises the node's client counter floor
        (:func:`impl.versions.reaped_counter`), written in the same storage batch
        as the removal: the counters the record held are forgotten with it, and a
        client that forgot its own must not be minted below them (session 19)."""
        if self.mode is ClockMode.CLIENT_VCLOCK:
            raw = self.storage.read(key)
            self.raise_floor(0 if raw is None else reaped_counter(self.parse(raw)))
        elif self.mode is ClockMode.LWW:
            raw = self.storage.read(key)
            if raw is not None:
                self._keep_lww_floor(key, self.parse(raw))
        self.storage.delete(key)
        for listener in self.write_listeners:
            listener(key, b"")

    def _keep_lww_floor(self, key: bytes, record: Record) -> None:
        """lww: the removed copy ``record`` of ``key`` was tombstones only, stamped
        ahead of this node's clock: keep its stamp as the key's floor (persisted in
        the removal's storage batch: :mod:`impl.lww_floors`). Before, the reap forgot
        the stamp the hybrid rule puts a later put above, and a put coordinated here
        after a read that found nothing was stamped by the clock alone, below the
        tombstone: a copy of the tombstone arriving late (a duplicated replica write,
        a stale round, a hint) then deleted the acknowledged put (session 24's data
        probe, docs/runtime.md; tests/impl/test_lww_stale_reap_round.py). A live
        copy (a let-go) is no floor: its new owners hold it.

        A stamp equal to the clock is kept too (as :meth:`lww_now` keeps a floor
        equal to ``now``): left out, a put coordinated here at that instant was
        stamped the tombstone's own stamp and the tie went by writer name (session
        25's review). Every floor the clock passed goes here too, not only at a put
        coordinated here: a node that coordinated none kept every floor for ever
        and rewrote them all at each reap (session 25's review).

        Since session 26 a floor is kept until the clock passes it by
        ``lww_floor_margin_s`` (default 60 s), not only while it is ahead: a node
        whose clock was past its own tombstone kept none, so its ack of a put
        stamped below the tombstone by a coordinator that reaped nothing (a
        replaced disk) carried no floor, the put was answered on that ack without
        being minted again, and the late copy deleted it (session 25's strict
        xfails, docs/runtime.md, "The replaced-disk floor gap (session 26)")."""
        now = self.clock()
        margin = self.config.lww_floor_margin_s
        self.floors.drop_passed(now - margin)
        if record.siblings and is_tombstone_only(record):
            stamp = max(sibling.stamp for sibling in record.siblings)
            if stamp + margin >= now:
                self.floors.raise_to(key, stamp)

    def lww_now(self, key: bytes, now: float) -> float:
        """lww: the time a put of ``key`` coordinated here at ``now`` (this node's
        clock, seconds) is stamped from: ``now``, or one tick above the key's floor
        (a tombstone this node reaped while stamped ahead of its clock: :meth:`reap`)
        if that is later. Floors ``now`` passed by ``lww_floor_margin_s`` are
        dropped (the clock alone stamps above them; kept that long for the acks of
        :meth:`_lww_ack`, session 26): what a floor costs is one line of a meta
        entry (:mod:`impl.lww_floors`) per key reaped less than the margin behind
        this node's clock, for as long as it is ahead of the clock minus the margin
        (a 30 s skew and the default 60 s margin keep one 90 s at the most).
        Cassandra's answer to the same problem is a tombstone kept
        ``gc_grace_seconds`` (Cassandra's documentation, "Compaction: tombstones");
        Riak's ``delete_mode`` keeps it a set time; here the tombstone goes and only
        its stamp stays, as long as the stamp is ahead."""
        floor = self.floors.get(key)
        self.floors.drop_passed(now - self.config.lww_floor_margin_s)
        return now if floor is None or floor < now else max(now, lww_after(floor))

    @property
    def lww_floors(self) -> dict[bytes, float]:
        """lww: every floor, key -> stamp (seconds; a new dict: :attr:`floors`)."""
        return self.floors.as_dict()

    def adopt_lww_floor(self, key: bytes, stamp: float) -> None:
        """lww: keep ``stamp`` (seconds) as ``key``'s floor, a replica's
        (:meth:`_lww_ack`), if it is at or ahead of this node's clock and above the
        key's floor here; persisted as a reap's (:meth:`_keep_lww_floor`)."""
        if stamp >= self.clock():
            self.floors.raise_to(key, stamp)

    def raise_floor(self, counter: int) -> None:
        """client-vclock: raise :attr:`client_floor` to ``counter`` (a count of
        0..2**64-1) if it is higher, persisted in the ``CLIENT_FLOOR_META`` entry
        in the storage batch of the input that raised it (a reap's, :meth:`reap`,
        or a gossip's that carried a peer's higher floor: session 19's review).
        Nothing in the other modes, nor for a counter not above the floor."""
        if self.mode is ClockMode.CLIENT_VCLOCK and counter > self.client_floor:
            self.storage.set_meta(CLIENT_FLOOR_META, str(counter).encode("ascii"))
            self.client_floor = counter

    def store(self, key: bytes, encoded: bytes) -> None:
        """The one place versions are written: the engine, then the write listeners."""
        self.storage.write(key, encoded)
        for listener in self.write_listeners:
            listener(key, encoded)

    def on_flush(self, now: float, timer: Flush) -> list[Effect]:
        """Make a buffered engine's writes durable (the ``Flush`` timer, every
        ``flush_interval`` seconds: a crash loses at most that)."""
        self.storage.flush()
        return [SetTimer(Flush(), now + self.config.flush_interval)]


#: the meta entry holding the largest record bounds (``"bytes siblings"``, ASCII
#: integers) any configuration this store ran with allowed a peer's record
RECORD_BOUNDS_META = "record_bounds"


def kept_record_bounds(storage: Storage, config: ClusterConfig,
                        members: int) -> tuple[int, int]:
    """(bytes, siblings): the larger, each, of the record bounds ``config`` sets
    (:func:`impl.config.merged_record_bytes`; :func:`impl.config.merge_sides` x
    ``max_siblings``) and those kept in ``storage``'s ``RECORD_BOUNDS_META`` entry
    by earlier starts; written back when ``config``'s are larger. A record taken
    under larger limits stays within what this store accepts from a peer after an
    operator lowers them: the put limits bound what clients add, not the repair of
    what the cluster already acknowledged
    (:meth:`Replica.decode`; session 21's second service probe). An unreadable
    entry counts as none (it is rewritten). Written directly (not staged), as the
    node's incarnation is at its start (:class:`impl.node.Node`)."""
    now = (merged_record_bytes(config, members), merge_sides(config, members) * config.max_siblings)
    kept = (0, 0)
    raw = storage.get_meta(RECORD_BOUNDS_META)
    if raw:
        parts = raw.split()
        if len(parts) == 2 and all(part.isdigit() for part in parts):
            kept = (int(parts[0]), int(parts[1]))
    bounds = (max(now[0], kept[0]), max(now[1], kept[1]))
    if bounds != kept:
        storage.set_meta(RECORD_BOUNDS_META, b"%d %d" % bounds)
    return bounds
