"""What a node knows of retired lifetime actors, and the dvv pruning it allows.

Theory of operation
-------------------
With an actor per start (``ClusterConfig.actor_per_start``, kv679's fix: docs/impl.md,
"Disk loss and key amnesia") every lifetime of a node that coordinates a put of a
key leaves an entry in the key's DVVSet, which holds no value once a later put
superseded its value. Nothing removed such entries before session 33: a key written
through restarted nodes grew an entry per restart until its record was refused
over ``max_record_bytes``, holding one value.

An entry may go only if no node can mint its dots again: its actor is *retired*.
Only the owner knows that: a start that takes a new actor retires the one before
for good (:func:`impl.versions.lifetime_actor` keeps it in the store's
``RETIRED_META`` entry). Each node gossips what it knows of retired actors (its own
and those it heard of: :attr:`impl.messages.Gossip.retired`); the receiver keeps
the union (a retirement is never undone, so a stale or reordered gossip only
tells less) in its ``RETIRED_KNOWN_META`` entry, the newest :data:`KNOWN_PER_NODE`
of each node (forgetting one only prunes less). The retirements also travel with
the data (session 33, later): every message that sends a record to be merged
(ReplicaPut, ReadRepair, HintDelivery, KeyRecords) carries those its sender knows
among the entries of the record and of what it pruned it from (:meth:`carried`),
and the receiver takes them before it merges, so it prunes the same entries without
waiting for gossip (which tells only the newest :data:`GOSSIPED_PER_NODE` of each
node). A record that no longer holds an entry cannot name its retirement to a
receiver whose copy still holds it; where an answer shows the sender such a copy,
it is told (session 34): anti-entropy's first sender follows up the answer its
merge pruned (:meth:`impl.antientropy.AntiEntropy.on_key_records`), and a get's
coordinator repairs a replica whose reply holds entries its pruning of the merge
drops (:meth:`impl.read_repair.ReadRepairer.repair`). A one-way message (a put, a
hint, a handoff) shows its sender nothing; its receiver does the showing (session
35): a merge that keeps value-less entries the message's record lacks while that
record holds every value of the merge (:meth:`RetiredActors.kept_pruned`: the trace
of a pruning upstream) sends the merged copy to a replica that pruned it (the
coordinator of a put; for a hint, a replica of the key) as a batch of one key, and
the answer names the retirements (:meth:`impl.antientropy.AntiEntropy.ask_pruned`).
A node never treats as retired an
actor nobody declared, nor its own current actor.

Every write of a dvv record at this node is pruned by what it knows
(:meth:`RetiredActors.prune`, :func:`impl.versions.prune_retired`): the coordinator's
put, a replica's merge of a put, of a read repair, of a hint or a handoff, and
anti-entropy's merge. A get's reconciled record is not pruned (session 33's
review: the docstring said it was): a context naming an entry a lagging replica
still holds only covers more, and the put it feeds is pruned by its coordinator.
The union a merge takes brings an entry back from a copy not pruned yet; the next
write of it by a node that knows drops it again, and once every node heard the
retirement the replicas agree.
"""

from __future__ import annotations

from impl.errors import BadMessageError
from impl.records import ClockMode, Record
from impl.restore_guard import OWN_TOKEN_META
from impl.storage.base import Storage
from impl.versions import (
    _RANK_TRUSTED_BELOW,
    RETIRED_KEPT,
    RETIRED_KNOWN_META,
    RETIRED_META,
    RETIRED_WIRE_LIMIT,
    _entry_lifetime,
    decode_retired,
    encode_retired,
    is_lifetime_actor,
    prune_retired,
    read_retired,
    retired_among,
)

__all__ = ["GOSSIPED_PER_NODE", "KNOWN_PER_NODE", "RETIRED_KNOWN_META", "RetiredActors"]

#: The retired actors of each node (an actor's prefix) this node keeps, the newest
KNOWN_PER_NODE = RETIRED_KEPT
#: The retired actors of each node a gossip names, the newest (32 until session 33's
#: later change: the older ones reach a node with the records that hold their
#: entries, :meth:`RetiredActors.carried`)
GOSSIPED_PER_NODE = 4


def _newest(retired: dict[str, int], per_node: int) -> dict[str, int]:
    """``retired`` less all but the ``per_node`` highest-ranked actors of each node."""
    by_node: dict[str, list[tuple[int, str]]] = {}
    for actor, rank in retired.items():
        by_node.setdefault(actor.rpartition("~")[0], []).append((rank, actor))
    return {actor: rank for ranked in by_node.values()
            for rank, actor in sorted(ranked)[-per_node:]}


class RetiredActors:
    """The retired lifetime actors a node knows (actor -> rank,
    :func:`impl.versions.encode_retired`), read from ``storage`` at start (its own
    ``RETIRED_META``, what it heard ``RETIRED_KNOWN_META``), and the pruning of the
    dvv records it writes. ``actor`` is the node's current lifetime actor (never
    pruned); ``enabled`` false (lww, vector-clock modes, no actor epochs) knows
    nothing and prunes nothing. ``keep`` (``ClusterConfig.retired_keep``): -1
    prunes past the byte budget (production), ``k >= 0`` keeps the newest ``k``
    retired lifetimes of each node (the spec's count: the refinement harness)."""

    def __init__(self, storage: Storage, actor: str, *, enabled: bool,
                 keep: int = -1) -> None:
        self.storage = storage
        self.actor = actor
        self.enabled = enabled
        self.keep = None if keep < 0 else keep
        #: whether gossip and the records' carried retirements teach this node
        #: (false once the refinement harness told it what it knows: :meth:`tell`)
        self.learns = True
        #: whether a one-way merge that shows a pruning upstream asks a node that knows
        #: (:meth:`kept_pruned`): as :attr:`learns`, unless the refinement harness
        #: tells this node its knowledge and still lets it ask (:meth:`tell`'s
        #: ``asks``; session 36: the harness then lets it learn the answer,
        #: :meth:`listen`)
        self.asks = True
        #: actor -> rank: every retired actor this node knows of
        self.known: dict[str, int] = {}
        self._gossiped: bytes | None = None
        #: :meth:`prunes_copy`'s last knowledge with a field: (:attr:`known` then,
        #: the field, the two merged); every key of a batch carries the same field
        self._told: tuple[dict[str, int], bytes, dict[str, int]] | None = None
        if enabled:
            try:
                heard = decode_retired(storage.get_meta(RETIRED_KNOWN_META) or b"",
                                       1 << 20)
            except BadMessageError:
                heard = {}
            self._add({**heard, **read_retired(storage)})
            self.known.pop(actor, None)

    @classmethod
    def for_mode(cls, storage: Storage, actor: str, mode: ClockMode,
                 epochs: bool, keep: int = -1) -> RetiredActors:
        """The knowledge of a node in clock ``mode`` (pruning is dvv's, with actor
        epochs), pruning by ``keep`` (see the class)."""
        return cls(storage, actor, enabled=mode is ClockMode.DVV and epochs, keep=keep)

    def tell(self, retired: dict[str, int], *, asks: bool = False) -> None:
        """The refinement harness's oracle (as :meth:`impl.node.Node.set_suspected`
        is the failure detector's): this node knows exactly ``retired`` (actor ->
        rank; its own live actor left out) from now on, and learns nothing from
        gossip or carried retirements (the spec's ``[features] prune_knowledge``
        is a fixed assignment: session 34, docs/refinement.md). ``asks``: a
        one-way merge may still ask (:meth:`kept_pruned`; the harness then lets
        the answer teach this node: :meth:`listen`; session 36). Nothing is
        stored."""
        if not self.enabled:
            return
        self.learns = False
        self.asks = asks
        self.known = {actor: rank for actor, rank in retired.items() if actor != self.actor}
        self._gossiped = None

    def listen(self) -> None:
        """The refinement harness stops telling (session 36): from the knowledge it
        told last, this node learns from gossip and carried retirements again, and
        asks (:attr:`learns`, :attr:`asks`), until the harness tells it again
        (:meth:`tell`). The harness lets the two nodes of a one-way ask learn from
        it so, where the implementation's own ask supplies the knowledge."""
        self.learns = self.asks = True

    def _add(self, retired: dict[str, int]) -> bool:
        known = self.known
        if all(known.get(actor, -1) >= rank or actor == self.actor
               for actor, rank in retired.items()):
            return False  # (the common case of a carried field: nothing new)
        merged = dict(known)
        for actor, rank in retired.items():
            if actor != self.actor:
                merged[actor] = max(rank, merged.get(actor, 0))
        merged = _newest(merged, KNOWN_PER_NODE)
        if merged == self.known:
            return False
        self.known = merged
        self._gossiped = None
        return True

    def renew(self, actor: str) -> None:
        """The node took ``actor`` as its lifetime actor in the middle of a start (a
        restored store set aside: :meth:`impl.node.Node._set_aside`, through
        :func:`impl.versions.lifetime_actor`, which retired the one before in the
        store's ``RETIRED_META``): ``actor`` is the live one from now on (never
        pruned, never taken as retired), and the actor it replaced is known and
        gossiped at once (session 33's review: before, the guard named the replaced
        actor and the peers heard the retirement only at the next restart)."""
        self.actor = actor
        self._told = None  # (known is changed in place: the cache's key)
        if self.enabled:
            self.known.pop(actor, None)
            self._add(read_retired(self.storage))
            self._gossiped = None

    def take(self, data: bytes) -> bool:
        """Merge a peer's gossiped retired actors (:attr:`impl.messages.Gossip.retired`)
        and stage the ``RETIRED_KNOWN_META`` entry if that taught anything. Returns
        whether ``data`` names this node's own live actor, which is never taken:
        a later start of this node's store retired it, so this store is an older
        copy (a restored backup kept its actor: ``actor_per_start`` false; session
        33's review). Raises BadMessageError for data
        :func:`impl.versions.decode_retired` refuses (nothing is taken then)."""
        if not self.enabled or not data:
            return False
        told = decode_retired(data)
        if self.learns:
            told = {**told, **self._rank_above(told)}
            if self._add(told):
                self.storage.set_meta(RETIRED_KNOWN_META, encode_retired(self.known))
        return self.actor in told

    def _rank_above(self, told: dict[str, int]) -> dict[str, int]:
        """The lifetimes this store retired, re-ranked above the lifetimes of this
        node that ``told`` (a peer's retirements, actor -> rank) names and the store
        never retired (an earlier disk's), if the store is a replaced disk's (it drew
        its own token, :data:`impl.restore_guard.OWN_TOKEN_META`, at its empty first
        start) and one of them ranks at or below one of those: actor -> new rank,
        the store's order kept, written to its ``RETIRED_META`` (ranks only rise; the
        peers take the higher rank, :meth:`_add`); {} otherwise.

        Session 54 (docs/dvv.md, "Seed 24 a day behind (session 54)"): a replaced
        disk on a host a day behind, cut off across its first restart, heard no rank
        of the old disk and retired its first lifetime at its clock, below the old
        disk's lifetimes; pruning (:func:`impl.versions.prune_retired`, the lowest
        rank first) dropped that lifetime's entries at n1 and n2 while the cut-off n3
        held eight values written under it, and they came back at the final merge.
        Every lifetime a replaced disk's store retired is newer than every lifetime
        of the disk it replaced (that disk is gone before it starts), so it ranks
        above them once it hears them. A copy of such a store put back after the
        live store went on is set aside whole (:func:`impl.restore_guard.unknown_own`).
        A peer's rank past :data:`impl.versions._RANK_TRUSTED_BELOW` raises nothing."""
        node = self.actor.rpartition("~")[0]
        mine = {actor: rank for actor, rank in told.items()
                if actor.rpartition("~")[0] == node and actor != self.actor}
        if not mine or not self.enabled or self.storage.get_meta(OWN_TOKEN_META) is None:
            return {}  # (most gossip names no lifetime of this node: no store read)
        store = read_retired(self.storage)
        earlier = [rank for actor, rank in mine.items() if actor not in store]
        if not store or not earlier or min(store.values()) > max(earlier) or (
                max(earlier) + len(store) >= _RANK_TRUSTED_BELOW):
            return {}  # (a rank that high is forged or corrupt: not counted, as there)
        raised, floor = {}, max(earlier)
        for actor, rank in sorted(store.items(), key=lambda item: (item[1], item[0])):
            floor = max(rank, floor + 1)
            raised[actor] = floor
        self.storage.set_meta(RETIRED_META, encode_retired(raised))
        return raised

    def to_gossip(self) -> bytes:
        """What this node's gossip tells of retired actors: the newest
        :data:`GOSSIPED_PER_NODE` of each node it knows, at most
        :data:`impl.versions.RETIRED_WIRE_LIMIT` in all (the highest ranks; more
        would make the receiver drop the whole gossip as malformed); b"": none."""
        if self._gossiped is None:
            told = _newest(self.known, GOSSIPED_PER_NODE)
            if len(told) > RETIRED_WIRE_LIMIT:
                told = dict(sorted(told.items(), key=lambda item: (item[1], item[0]),
                                   reverse=True)[:RETIRED_WIRE_LIMIT])
            self._gossiped = encode_retired(told)
        return self._gossiped

    def carried(self, *records: Record) -> bytes:
        """What a message sending ``records`` (the records it holds, and those it
        pruned them from) tells of retired actors: the ones this node knows that
        minted an entry of them (:func:`impl.versions.retired_among`), at most
        :data:`impl.versions.RETIRED_WIRE_LIMIT` (the highest ranks), encoded; b"":
        none (most records: no entry of a retired lifetime). Knowledge travels with
        the data (session 33, later): a receiver that merges a record pruned here
        learns the retirements of what was pruned and prunes the same entries,
        gossip or not."""
        if not self.known:
            return b""
        told = retired_among(records, self.known)
        if not told:
            return b""
        if len(told) > RETIRED_WIRE_LIMIT:
            told = dict(sorted(told.items(), key=lambda item: (item[1], item[0]),
                               reverse=True)[:RETIRED_WIRE_LIMIT])
        return encode_retired(told)

    def prunes_copy(self, record: Record, told: bytes) -> bool:
        """Whether a node knowing what this node knows and ``told`` (the retirements a
        peer's message carried, :meth:`carried`'s encoding, already checked by the
        node) prunes an entry of ``record``: whether a peer whose copy is
        ``record`` prunes anything of it when it writes it again, as far as its
        message and this node's knowledge tell (pruning more where more is known,
        this may say yes where the peer knows less; the peer then learns it from
        what it is sent). Anti-entropy sends a peer's own copy back only then
        (:meth:`impl.antientropy.AntiEntropy.on_key_records`; session 34's review).
        ``told`` is decoded once for the keys of one message (the last field and
        the knowledge it was merged with are kept while :attr:`known` stays the
        same dict; session 35: before, once per key)."""
        if not self.enabled:
            return False
        known = self.known
        if told:
            cached = self._told
            if cached is not None and cached[0] is known and cached[1] == told:
                known = cached[2]  # (a batch's field, decoded once: session 35)
            else:
                known = dict(known)
                for actor, rank in decode_retired(told).items():
                    if actor != self.actor:
                        known[actor] = max(rank, known.get(actor, 0))
                self._told = (self.known, told, known)
        if not known:
            return False
        return prune_retired(record, known, live=(self.actor,), keep=self.keep) != record

    def kept_pruned(self, merged: Record, theirs: Record) -> bool:
        """Whether ``merged``, this node's copy once it merged a peer's one-way
        record ``theirs`` (a ReplicaPut's, a HintDelivery's), holds a value-less
        entry of a lifetime actor (not this node's live one) that ``theirs`` lacks,
        while ``theirs`` holds every value ``merged`` holds (each entry with values
        the same, the anonymous values among its own). That is the trace of a
        pruning upstream of ``theirs`` whose retirement this node has not taken
        (it prunes what it knows when it merges): without pruning, a record that
        covers a value holds every entry of that value's causal past. The sender
        could not name it (its records no longer hold the entry), so the copy keeps
        it until a node that knows sees it (session 35:
        :meth:`impl.antientropy.AntiEntropy.ask_pruned` shows it one). An entry
        of a lifetime this node knows retired is no such trace: its own pruning
        kept it (the byte budget drops whole lifetimes, the oldest first, so the
        sender's pruning of a larger record may drop it where the merge, holding
        fewer, fits), and a peer asked would learn nothing and keep it too (session
        35's review: the ask's peer wrote it back, and where a read repair then
        pruned the asker's copy, the copies were left differing). False when
        this node does not ask (disabled, or told by the refinement harness
        without ``asks``: :meth:`tell`), and outside dvv."""
        if not self.asks or not self.enabled or merged == theirs:
            return False
        if merged.mode is not ClockMode.DVV or theirs.mode is not ClockMode.DVV:
            return False
        held = theirs.dvvset
        if not set(merged.dvvset.anonymous) <= set(held.anonymous):
            return False
        their_entries = {entry.id: entry for entry in held.entries}
        extra = False
        for entry in merged.dvvset.entries:
            other = their_entries.get(entry.id)
            if entry.values:
                if other is None or other.counter != entry.counter or (
                        other.values != entry.values):
                    return False  # a value the sender's record lacks: no evidence
            elif other is None and not extra:
                lifetime = _entry_lifetime(entry.id)
                extra = (is_lifetime_actor(lifetime) and lifetime != self.actor
                         and lifetime not in self.known)
        return extra

    def prune(self, record: Record) -> Record:
        """``record`` less the value-less entries of retired lifetimes
        (:func:`impl.versions.prune_retired`) this node knows of, this node's own
        actor never among them."""
        if not self.known:
            return record
        return prune_retired(record, self.known, live=(self.actor,), keep=self.keep)
