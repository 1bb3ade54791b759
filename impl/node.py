"""The production Dynamo node: a sans-IO core that dispatches to its mechanisms.

Theory of operation
-------------------
A :class:`Node` is driven by its caller (the simulator, the asyncio runtime, or a
test), which hands it inputs with the current time (seconds) and performs the
effects it returns (:mod:`impl.effects`)::

    node.start(now)                    # once: its first timers
    node.client_request(now, request)  # a client's GetRequest / PutRequest
    node.receive(now, src, message)    # a peer message (impl.messages)
    node.fire(now, timer)              # a timer it set (impl.timers) came due
    node.leave(now)                    # hand this node's key ranges over and leave

It never blocks, sleeps, reads a clock or draws a random number other than from
its own ``random.Random(seed)``, and it never writes to its storage engine: its
writes are effects, returned before the messages and replies of the same input
(persist, then send: :mod:`impl.staging`). Its durable state is the engine's
(the versions, the hints, and meta entries for membership); everything else (the
coordinations in flight, the failure detector's suspicions) is volatile: a
restart after a crash is a new Node on the same storage.

``Node`` only dispatches. Each mechanism of the paper is a small object in its
own module that owns its state, handles its messages and timers and returns
effects: ``forwarder``, ``quorum`` (the sloppy quorum), ``puts`` and ``gets``
(the coordinators), ``read_repair``, ``replica``, ``hints``, ``handoff``,
``anti_entropy``, ``gossiper`` (membership) and ``detector`` (the failure
detector, the only owner of suspicion); docs/impl.md maps them to the paper.
:meth:`Node.snapshot` is the one way to observe a node from outside.

Bad input. A client request is checked where it enters
(:func:`impl.forwarding.check_request`); a bad one is answered with an error
Reply and changes nothing. A bad peer message (wrong type, unknown sender, a
record that does not decode, over-large) is dropped, counted in
:attr:`Node.stats` and logged in :attr:`Node.log`, and changes nothing; an error
of ours while handling a valid one is told apart (:mod:`impl.internal_errors`).
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import itertools
import math
import random
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, cast

from impl import membership
from impl.antientropy import AntiEntropy
from impl.config import ClusterConfig, check_node_arguments
from impl.effects import Effect, Reply, Send, SetTimer
from impl.errors import (
    BadMessageError,
    DynamoError,
    InvalidValueError,
    NodeDownError,
    OverloadedError,
    PeerDataError,
    StorageError,
)
from impl.failure_detector import FailureDetector
from impl.forwarding import Forwarder, ReplyTo, check_request, refuse
from impl.get_coordinator import GetCoordinator
from impl.gossip import Gossiper, left_unsettled, retire_if_left
from impl.handoff import HintedHandoff
from impl.hints import HintStore
from impl.internal_errors import peer_data_error, report_internal_error
from impl.lingering import Lingering
from impl.membership import ROUTED, Membership, MemberStatus
from impl.messages import (
    Forward,
    GetRequest,
    Gossip,
    HintAck,
    HintDelivery,
    KeyRecords,
    MerkleExchange,
    PutRequest,
    ReadRepair,
    ReapQuery,
    ReapQueryReply,
    ReplicaGet,
    ReplicaGetReply,
    ReplicaPut,
    ReplicaPutAck,
    parse_generation,
    with_generations,
)
from impl.positions import position_of
from impl.put_coordinator import PutCoordinator
from impl.read_repair import ReadRepairer
from impl.reaping import REAP_ATTEMPTS, Reaper
from impl.rebuild import Pair, Rebuild
from impl.replica import Replica, kept_record_bounds
from impl.restore_guard import (
    FRESH_UNCONFIRMED_META,
    OWN_TOKEN_META,
    SHADOW_DEFERRED_LIMIT,
    SHADOW_SHED_BACKLOG,
    RestoreGuard,
    ShadowState,
    above_own,
    advance,
    draw_own_token,
    generations_from_bytes,
    is_rollback,
    remember_own,
    same_start,
    start_generation,
    took_own,
    unknown_own,
)
from impl.retired import RetiredActors
from impl.sloppy_quorum import SloppyQuorum
from impl.snapshot import CoordinationSnapshot, NodeSnapshot, take_coordinations, take_snapshot
from impl.staging import StagedStorage
from impl.storage.base import Storage
from impl.timers import (
    AntiEntropyRound,
    Flush,
    GossipRound,
    HintScan,
    ReapCheck,
    ShadowRound,
    Timer,
)
from impl.versions import (
    STORAGE_ID_META,
    ClockMode,
    Record,
    check_store_clock,
    is_tombstone_only,
    key_actor,
    lifetime_actor,
    live_values,
    note_key_merge,
    renew_key_actor,
)
from spec.ring import Partitioning

__all__ = ["PERIODIC", "REMOVED_MESSAGE", "SELF_REMOVED_MESSAGE", "Node"]

#: What a node force-removed from the cluster answers (its client requests, an
#: operator's request of it; ``{node}``: its name).
REMOVED_MESSAGE = ("node {node} was force-removed from the cluster (`vdynamo remove`) "
                   "while it was down: its data and view are stale and it serves nothing; "
                   "its ranges belong to other members now. To add the machine again, "
                   "start it under a new name with an empty data file")
#: What a node answers that removed itself (``{node}``: its name): asked to leave, it
#: restarted on a store that lost what it was to hand over (session 52:
#: :meth:`impl.gossip.Gossiper._remove_lost_leaver`); nobody ran ``vdynamo remove``.
SELF_REMOVED_MESSAGE = ("node {node} removed itself from the cluster: asked to leave, it "
                        "restarted on a new store (a replaced disk?) that lost what it was "
                        "to hand over, so the other replicas hand its ranges to their new "
                        "owners; it serves nothing. To add the machine again, start it "
                        "under a new name with an empty data file")

#: The periodic timers: type -> (its next round, the ClusterConfig field of its
#: period). Each handler sets its next round itself; :meth:`Node.fire` sets it when
#: the handler raised.
PERIODIC: dict[type, tuple[Timer, str]] = {
    GossipRound: (GossipRound(), "gossip_interval"),
    HintScan: (HintScan(), "hint_scan_interval"),
    AntiEntropyRound: (AntiEntropyRound(), "anti_entropy_interval"),
    Flush: (Flush(), "flush_interval"),
}

#: The peer messages whose merges may bring a replica a tombstone it missed (a hint's
#: delivery, a read repair, anti-entropy's records, a get's own copy repaired in
#: place): a copy they turn into tombstones only gets a reap check
#: (:meth:`Node._reap_checks`).
_REAP_CHECKED: frozenset[type] = frozenset((HintDelivery, ReadRepair, KeyRecords,
                                            ReplicaGetReply))
#: The messages that carry a store generation (:meth:`Node._stamp`), and those whose
#: generation the restore guard checks (:meth:`Node.receive`); tuples built once
#: (a union written in the call was built again for every message, session 31).
_GENERATION_STAMPED = (MerkleExchange, KeyRecords, HintDelivery)
_GENERATION_CHECKED = (MerkleExchange, KeyRecords, HintDelivery, ReapQuery, ReapQueryReply)
#: the messages that carry records and the retired actors of their entries (dvv:
#: taken before the records are merged; session 33)
_CARRY_RETIRED = (ReplicaPut, ReadRepair, HintDelivery, KeyRecords)
#: the messages :meth:`Node._stamp` changes (:meth:`Node._finish` calls it for these only)
_STAMPED = (Gossip, *_GENERATION_STAMPED)
#: The meta entry of :func:`_op_id_base`.
OP_ID_BASE_META = "op-id-base"
#: The meta entry of the heartbeat generation of the node's latest start (decimal
#: seconds, :func:`heartbeat_generation`)
HEARTBEAT_GENERATION_META = "heartbeat-generation"
#: A peer's heartbeat generation more than this many seconds ahead of this node's
#: clock is ignored (Cassandra's ``Gossiper.MAX_GENERATION_DIFFERENCE``, a year): a
#: bogus one would stick, and the member's real beats would count no more
MAX_GENERATION_DIFFERENCE = 86400 * 365
#: A member counts its own heartbeat version up by this much at each batch of gossip
#: (:meth:`Node._beats_to_send`); a node that hears it directly counts the version it
#: holds of it up by one, below the next multiple (:meth:`Node._heard_directly`), so
#: its own next beat counts above every such step
HEARTBEAT_STRIDE = 1 << 20
#: The meta entry that says the store is being rebuilt (:mod:`impl.rebuild`): b"1"
#: from the rebuild's start until it ends, so that a restart in between (the store
#: no longer fresh, nobody left to tell it) rebuilds again (session 17's review)
REBUILDING_META = "rebuilding"
#: the store's meta entry of the node's clock (decimal seconds) when it learned it
#: was a replaced disk or an older store set aside (:meth:`Node._set_aside`): what
#: the store kept of its past is gone from then on, the admin tokens' replay
#: cache among it (``impl.http_api``, RFC 4120 3.2.3; session 20's service probe)
STORE_RENEWED_META = "store-renewed-at"


def _op_id_base(storage: Storage, name: str, seed: int, now: float, *,
                per_start: bool = False, actor: str = "") -> int:
    """Where this start's operation ids start (added to the start count, the
    ``incarnation``, in the top 23 bits of every op id).

    Without ``per_start``: drawn once per disk (a digest of the name, ``seed``,
    ``now`` and the engine's ``storage-id``) and kept in its meta table: a node
    whose disk was replaced counts its incarnations from 1 again, and without a new
    base it would reuse the op ids of its earlier lifetime, so a late answer (a
    ``ReplicaPutAck`` still in flight) to an operation of that lifetime would count
    for a new one with the same id (found by the refinement lockstep with disk loss).

    With ``per_start`` (``ClusterConfig.actor_per_start``, the default): drawn at
    every start from this start's ``actor`` (new at each start, its digest covers
    ``now``) and not kept: a store restored from an older backup repeats the start
    count and the kept base of the backup's time, so the restored node would reuse
    the op ids of the starts since the backup, and a late ack of such a start would
    count for a new put (``tests/impl/test_data_loss.py``). Two starts then share a
    prefix with probability 2**-23 (riak_kv draws its request ids at random too,
    ``riak_kv_put_fsm``'s ``mk_reqid``), where the kept base made the prefixes of one
    disk's starts distinct for 2**23 starts but repeated them after a restore."""
    if per_start:
        digest = hashlib.sha256(repr((name, seed, float(now), actor)).encode("utf-8")
                                + (storage.get_meta(STORAGE_ID_META) or b"")).digest()
        return int.from_bytes(digest[:3], "big") & 0x7FFFFF
    kept = storage.get_meta(OP_ID_BASE_META)
    if kept is None:
        digest = hashlib.sha256(repr((name, seed, float(now))).encode("utf-8")
                                + (storage.get_meta(STORAGE_ID_META) or b"")).digest()
        kept = str(int.from_bytes(digest[:3], "big") & 0x3FFFFF).encode()
        storage.set_meta(OP_ID_BASE_META, kept)
    return int(kept)


def heartbeat_generation(storage: Storage, now: float) -> int:
    """The heartbeat generation of this start (:data:`impl.membership.Heartbeat`):
    ``now`` in whole seconds, or one above the store's previous start's if that is
    not below (a clock set back, two starts in a second), kept in the store's
    :data:`HEARTBEAT_GENERATION_META` entry (a direct write). Cassandra's
    ``SystemKeyspace.incrementAndGetGeneration``: a later start's beats count above
    every beat of an earlier one, though its version counts from 1 again."""
    kept = storage.get_meta(HEARTBEAT_GENERATION_META)
    earlier = int(kept) if kept is not None and kept.isdigit() else 0
    generation = max(int(max(0.0, now)), earlier + 1)
    storage.set_meta(HEARTBEAT_GENERATION_META, str(generation).encode())
    return generation


class Node:
    """One Dynamo node (see the module docstring for how to drive it).

    ``name`` is the node's name; when it is not in ``config.nodes`` the node is
    *joining*: it gossips with the seed nodes, takes tokens by the configured
    partitioning strategy and spreads them by gossip, and the current owners hand
    it the key ranges it now owns. ``storage`` is the node's storage engine (a
    restart is a new Node on the same storage). ``seed`` seeds the node's own
    random generator; ``now`` is the current time in seconds. ``rejoin``: a node
    whose store says it left the ring (settled) clears it and joins again
    (:func:`impl.gossip.retire_if_left`; otherwise it stays left). ``announce``:
    a fresh store gossips with every live peer at its start and waits for their
    answers (:meth:`_announce_fresh`), so that a replaced disk learns it is one
    before it serves; True in every node that can be a replaced disk (``vdynamo
    serve``'s :class:`impl.runtime.NodeServer`; :class:`impl.cluster.SimulatedCluster`'s
    restarts, wiped disks and joined nodes), False (the default, for a node driven
    by hand in a unit test) where the caller knows no peer can have heard an earlier
    start of this store (a brand-new cluster's first starts). Raises
    ConfigError for a bad name, configuration, storage or seed.
    """

    #: Whether :meth:`receive` runs a message's constructor checks (``__post_init__``)
    #: again before handling it, so that a message built around them (``object.__new__``
    #: and ``object.__setattr__``, as a hostile driver could) is dropped, naming the
    #: field. True by default (a node driven by hand, a server's node:
    #: :class:`impl.runtime.NodeServer`, whose frames :func:`impl.wire.decode` builds
    #: through the constructors first). :class:`impl.simulator.Simulator` sets it False
    #: on the nodes it starts: every message it delivers is a frozen message a node of
    #: the same process built through its constructor, or one :func:`impl.wire.decode`
    #: built from a frame, so the checks ran when it was made and its fields cannot
    #: have changed since (session 42: the second run was 1.5% of a put/get load's
    #: Python calls and about 4% of a simulated join file's CPU).
    recheck_messages: bool = True

    def __init__(self, name: str, config: ClusterConfig, storage: Storage, *, seed: int,
                 now: float = 0.0, rejoin: bool = False, announce: bool = False,
                 announced: Callable[[str], None] | None = None) -> None:
        check_node_arguments(name, config, storage, seed)
        self.name, self.config = name, config
        #: the engine seen through the staged writes of the current input
        self.storage = StagedStorage(storage)
        self.rng = random.Random(seed)
        self.mode = ClockMode(config.clock)
        self.stats: collections.Counter[str] = collections.Counter()
        #: the request ids whose failed Replies the last :meth:`persist_failed` left
        #: to a later answer (a put waiting again for its other replicas' acks): a
        #: driver drops those Replies (:func:`impl.staging.failed_effects`)
        self.taken_back: frozenset[int] = frozenset()
        self.log: collections.deque[str] = collections.deque(maxlen=1000)
        #: told each line of :meth:`_log_life` (a store's life an operator looks for:
        #: the shadow round, a replaced disk told, set aside, rebuilding, rebuilt);
        #: the runtime's is its process log (``vdynamo serve``; session 49's operator
        #: walk: these lines were in ``/status`` only), None: :attr:`log` alone
        self.announced = announced
        self._now = float(now)
        # asked to join again (``vdynamo join`` of a node that left, ``serve --rejoin``):
        # if it left the ring for good, its store is cleared and it joins as a new
        # node (:func:`impl.gossip.retire_if_left`); a mere restart of a node that left
        # stays left (the spec's Recover). A new store (its data file deleted after
        # it left: no view) learns from the seeds whether it left: if so, it joins
        # again (``rejoin_if_left``; before session 14 it stayed left for good); a
        # store that left unsettled (stopped before it announced the settlement)
        # announces it, then joins again the same way (session 50)
        # before anything is written: a store of another clock mode is refused whole
        check_store_clock(storage, self.mode)
        fresh = rejoin and (not storage.get_meta("membership")
                            or left_unsettled(storage, name))
        rejoin = rejoin and retire_if_left(storage, name)
        incarnation = int(storage.get_meta("incarnation") or b"0") + 1
        #: a store that held nothing at this start (no earlier start, no version, no
        #: hint: a replaced disk, a new node) holds no version older than the
        #: cluster's; told of a later generation, it takes one above and keeps what
        #: it took since (writes acknowledged through it: session 15's review)
        #: (a later start too while it holds nothing and no peer named a start of it:
        #: session 52, :data:`impl.restore_guard.FRESH_UNCONFIRMED_META`)
        marked = storage.get_meta(FRESH_UNCONFIRMED_META) == b"1"
        own = storage.get_meta(OWN_TOKEN_META)
        empty = len(storage) == 0 and not storage.hints()
        #: a marked store holding something, all of it written since its empty first
        #: start (its own token: :data:`impl.restore_guard.OWN_TOKEN_META`; session 53)
        #: and never told of a later start (told, it took a count above the one heard
        #: and rebuilds: a restart counts above it): fresh too, so a W = 1 write
        #: acknowledged before any peer heard of it survives a restart (told the old
        #: disk's start it keeps what it holds; a copy of it put back, told a start of
        #: its own it never took, is set aside: :meth:`_set_aside`)
        renewed = storage.get_meta(STORE_RENEWED_META) is not None
        self._own_held = marked and own is not None and not empty and not renewed
        #: (an empty marked store told once is no fresh store either: it took a count
        #: above the one it was told, durably with ``renewed``, so its restart counts
        #: above that and keeps its lifetime actor and its rebuild's end, as the spec's
        #: crash keeps the lifetime, spec/rebuild.py; session 57: counted 1 again, it
        #: was told again, took a new actor and rebuilt a second time)
        self._fresh = ((incarnation == 1 or marked) and empty and not renewed) or self._own_held
        #: whether the store says so durably (cleared once a peer named a start of it;
        #: not written where no peer can have heard an earlier store of the name: a
        #: brand-new cluster's first starts, ``announce`` False)
        self._unconfirmed_fresh = self._fresh and config.restore_guard and (
            announce or marked)
        #: the live peers whose gossip named this start while it is unconfirmed, by
        #: the start's token (:meth:`_guard_gossip`)
        self._named_by: dict[str, set[str]] = {}
        #: peer -> when this unconfirmed store last asked it to name its start after
        #: its shadow round (:meth:`_ask_to_name`; session 60)
        self._name_asked: dict[str, float] = {}
        #: the members the driver knows of beside the view (``vdynamo serve``: the
        #: cluster file's nodes that have not left; the simulator: its members): an
        #: unconfirmed fresh store also waits for each one its view never heard of
        #: to name its start (:meth:`_to_name`; session 60's review)
        self.file_members: frozenset[str] = frozenset()
        if self._unconfirmed_fresh != marked:  # (flushed before it is heard; written
            # before the count: a process killed between the two left a new store
            # counting a start, unmarked, not fresh at the next: session 52's review)
            storage.set_meta(FRESH_UNCONFIRMED_META, b"1" if self._unconfirmed_fresh else b"")
        if self._unconfirmed_fresh and own is None:  # the lifetime's, before anything taken
            storage.set_meta(OWN_TOKEN_META, draw_own_token(storage, name, seed, now))
        storage.set_meta("incarnation", str(incarnation).encode())  # direct writes: this,
        #: the id this node mints dots under: new at each start (kv679: a restored
        #: backup; flushed before it is used, :func:`impl.versions.lifetime_actor`)
        #: (a fresh later start takes a new one whatever ``actor_per_start``: it may be
        #: a backup of an earlier start put back, whose live store minted under the
        #: stored id since, and told, its fresh path keeps it: session 52's review)
        self.actor = lifetime_actor(storage, name, seed=seed, now=now,
                                    epochs=config.actor_epochs,
                                    per_start=config.actor_per_start or (
                                        self._fresh and marked))
        base = _op_id_base(storage, name, seed, now,  # and this start's op ids
                           per_start=config.actor_per_start, actor=self.actor)
        #: this start's heartbeat (generation, version): the version counts up to the
        #: next multiple of :data:`HEARTBEAT_STRIDE` at each batch of gossip this node
        #: sends (:meth:`_beats_to_send`; session 27)
        self.heartbeat: membership.Heartbeat = (heartbeat_generation(storage, now), 0)
        self._seed = seed
        kept_bounds = kept_record_bounds(storage, config, 0)  # direct, as the incarnation
        #: whether a fresh store announces its start (:meth:`_announce_fresh`)
        self._announce = announce
        generation = start_generation(storage, name, seed, now, incarnation,
                                      count=1 if self._fresh else None)
        if self._unconfirmed_fresh:  # (durable with the count, below)
            remember_own(storage, generation)
        if config.restore_guard and (not config.actor_epochs or self._unconfirmed_fresh):
            storage.flush()  # the count is durable before a peer hears this generation
        storage = self.storage
        #: the restore guard (None: ``restore_guard = false``): :mod:`impl.restore_guard`
        self.guard = RestoreGuard(storage, generation) if config.restore_guard else None
        #: this start's first generation (:meth:`_of_this_start`)
        self._started_as = generation
        #: the view :attr:`_live` was computed for, and its live members (:meth:`_live_members`)
        self._live_view: membership.Membership | None = None
        self._live: tuple[str, ...] = ()
        #: the generation the current input advanced from (:meth:`_advance_generation`)
        self._unadvanced: str | None = None
        #: the startup shadow round in progress (None: none; :meth:`start`)
        self.shadow: ShadowState | None = None
        ids = itertools.count(((base + incarnation) & 0x7FFFFF) << 40)
        self.detector = FailureDetector.for_node(config)
        #: peer -> when this node last had a message from it (:meth:`force_remove`)
        self.last_heard: dict[str, float] = {}
        #: member -> the highest heartbeat of it this node knows, from its own gossip
        #: or relayed (:attr:`impl.messages.Gossip.beats`; Cassandra's
        #: ``EndpointState.getHeartBeatState``; session 27)
        self.heartbeats: dict[str, membership.Heartbeat] = {}
        #: member -> when (this node's clock) it sent that heartbeat, at the earliest
        #: (:meth:`_take_beats`: dated by the ages gossiped with it; Cassandra's
        #: ``EndpointState.updateTimestamp`` dates it at its arrival; :meth:`down`)
        self.heartbeat_updated: dict[str, float] = {}
        self.hints = HintStore(storage, self.stats)
        self.gossiper = Gossiper(name, config, storage, self.hints, self.rng, self.stats,
                                 self.log, rejoin=rejoin, rejoin_if_left=fresh)
        self.quorum = SloppyQuorum(name, config, self.detector,
                                   lambda: self.gossiper.partitioning,
                                   lambda: self.gossiper.previous,
                                   lambda: self.gossiper.future,
                                   self.gossiper.removal_handed_over,
                                   self.gossiper.guessed_members)
        self.replica = Replica(name, config, storage, self.hints, self.gossiper.known,
                               lambda: len(self.gossiper.known_nodes), self.stats,
                               kept_bounds)
        # lww stamp floors (Replica.lww_now): the stamps' clock, the host's wall clock
        # (PutCoordinator.wall_lead), not the timers' (session 50's review)
        self.replica.clock = lambda: self._now + self.puts.wall_lead
        #: the retired lifetime actors this node knows of, gossiped, and the pruning
        #: of their value-less entries from every dvv record it writes (session 33)
        self.retired = RetiredActors.for_mode(storage, self.actor, self.mode,
                                              config.actor_epochs, config.retired_keep)
        self.replica.prune = self.retired.prune
        if self.retired.enabled:  # (dvv with actor epochs: the carried retirements)
            self.replica.carried = self.retired.carried
            self.replica.prunes_copy = self.retired.prunes_copy
        self.anti_entropy = AntiEntropy(name, config, self.replica, self.quorum,
                                        lambda: self.gossiper.partitioning,
                                        self.gossiper.my_ranges, self.rng, ids, self.stats)
        if self.retired.enabled:  # (a one-way merge shows a node that knows: session 35)
            self.replica.kept_pruned = self.retired.kept_pruned
            self.replica.one_way = self.anti_entropy.ask_pruned
        self.replica.write_listeners.append(self.gossiper.on_write)
        if self.guard is not None:
            self.replica.write_listeners.append(self._guard_write)
            guard = self.guard  # (anti-entropy's steps made stamped: :meth:`_stamp`)
            self.anti_entropy.generation = lambda: guard.generation
        self.gossiper.ring_listeners.append(self.anti_entropy.on_ring_change)
        self.handoff = HintedHandoff(name, config, self.hints, self.replica, self.quorum,
                                     self.gossiper)
        self.read_repair = ReadRepairer(name, self.replica, self.stats)
        self.reaper = Reaper(name, config, self.replica, self.key_actor, self._renew_actor,
                             members=self._members, hints=self.hints, busy=self._busy,
                             reading=self._reading,
                             deliver_hints=lambda now, ids: self.handoff.on_scan(
                                 now, HintScan(ids)), replicates=self._replicates,
                             changing=self.gossiper.changing)
        self.handoff.let_go = self.reaper.let_go  # a let-go copy's counters: kv679
        self.reaper.unpin = self._unpin
        self.reaper.advance = self._advance_generation  # a live copy is told apart
        #: keys whose local copy a merge of the input being handled turned into
        #: tombstones only (:meth:`_note_merge`; volatile): reap checks
        self._tombstoned: set[bytes] = set()
        self.replica.merge_listener = self._note_merge  # kv679; reap checks
        self.gossiper.after_change = self.reaper.after_change  # reaps after a change
        #: the answered gets and puts waiting for late replies, at most
        #: ``max_pending_requests`` of them and ``max_pending_bytes`` bytes
        #: (:mod:`impl.lingering`; session 33)
        self.lingering = Lingering(config.max_pending_requests, config.max_pending_bytes,
                                   self.stats)
        self.puts = PutCoordinator(name, config, self.replica, self.hints, self.quorum, ids,
                                   self.key_actor, self.reaper, self.stats, self.lingering)
        self.puts.ended = self.gossiper.hand_outsider_copy  # an outsider's copy goes
        self.puts.storing = self.gossiper.mark_outsider_copy  # ... after a restart too
        self.gossiper.coordinating = lambda key: any(
            c.key == key for c in self.puts.coordinations.values())
        self.gets = GetCoordinator(name, config, self.replica, self.quorum, self.read_repair,
                                   ids, self.reaper, self.lingering)
        self.forwarder = Forwarder(name, config, self.mode, self.quorum, ids, self._coordinate)
        self._messages: dict[type, Callable[[float, str, Any], list[Effect]]] = {}
        self._timers: dict[type, Callable[[float, Any], list[Effect]]] = {}
        for mechanism in (self.forwarder, self.puts, self.gets, self.replica, self.read_repair,
                          self.handoff, self.gossiper, self.anti_entropy, self.reaper):
            self._messages.update(mechanism.handlers())
            self._timers.update(mechanism.timers())
        self._messages[HintDelivery] = self._refuse_if_left(self._messages[HintDelivery])
        self.handoff.ids = ids
        self._messages[ReplicaPutAck] = self._handover_acks(self._messages[ReplicaPutAck])
        self._timers[ReapCheck] = self._reap_check
        self._timers[Flush] = self._flush
        #: a replaced disk's rebuild (:mod:`impl.rebuild`)
        self.rebuild = Rebuild(self._rebuild_pairs)
        #: the pairs whose exchange of the rebuild completed since the last time every
        #: write this node staged was durable (:meth:`writes_durable`): their merges
        #: may be among writes that fail, so such a failure rebuilds them again
        #: (:meth:`persist_failed`; red team 11, session 60)
        self._rebuild_undurable: set[Pair] = set()
        #: whether a failed write began the rebuild again since the writes were last
        #: all durable (its line is logged once per such spell, not at each failure)
        self._rebuild_redone = False
        #: on a buffered engine (whose writes are durable only once flushed): the
        #: pairs whose exchange completed before the ``Flush`` timer's last flush,
        #: not yet known performed, and whether that flush is pending
        #: (:meth:`_flush`; review of red team 11, session 60)
        self._rebuild_flushing: set[Pair] = set()
        self._flush_staged = False
        self.anti_entropy.synced.append(self._rebuild_synced)
        self.anti_entropy.pending = lambda: self.rebuild.pending
        self.gossiper.ring_listeners.append(self._rebuild_ring_change)
        self.gossiper.rebuilding = lambda: self.rebuild.active
        self.gets.uncounted_read = self._uncounted_read
        self.gets.internal_failed = self._reap_check_failed
        self.gets.ended = lambda now, c: self.reaper.get_ended(
            now, c.key, c.op_id, live=any(map(live_values, c.replies.values())))
        self._messages[ReplicaGet] = self._silent_if_rebuilding(self._messages[ReplicaGet])
        self._messages[Forward] = self._silent_if_rebuilding(self._messages[Forward])
        self._messages[ReplicaPut] = self._unacked_if_rebuilding(self._messages[ReplicaPut])
        self._messages[HintDelivery] = self._unacked_if_rebuilding(
            self._messages[HintDelivery])
        #: until when a peer may still suspect this node for a read it left unanswered
        #: while rebuilding (:meth:`_silent_if_rebuilding`): its last silence, plus a
        #: request's timeout, plus the failure detector's longest avoidance
        #: (``max_retry_after``); until then its acks stay uncounted
        #: (:meth:`_acks_uncounted`; session 54's review)
        self._silent_until = -math.inf
        self.puts.uncounted_own = lambda key, now: self._acks_uncounted(now)
        self.puts.uncounted_when = self.own_write_uncounted_when
        self.gets.uncounted_why = self.own_read_uncounted_why
        if self.guard is not None and storage.get_meta(REBUILDING_META):
            self._begin_rebuild(now, again=True)  # restarted before it was rebuilt

    def _members(self) -> tuple[tuple[str, ...], bytes]:
        """The members a reap asks (every one that has not left) and the view's digest."""
        view = self.gossiper.view
        return view.live_nodes, view.digest()

    def _busy(self, key: bytes) -> bool:
        """Whether this node coordinates or forwards a put (a delete) of ``key`` now
        (a reap query is answered "not clean"; its gets are :meth:`_reading`)."""
        forwarded = [f.request for f in self.forwarder.forwardings.values()]
        return (any(c.key == key for c in self.puts.coordinations.values())
                or any(r.key == key and not isinstance(r, GetRequest) for r in forwarded))

    def _reading(self, key: bytes) -> frozenset[int]:
        """The op ids of the gets of ``key`` this node coordinates now (a reap waits
        for those in progress when its round begins or its query arrives:
        :meth:`impl.reaping.Reaper.on_query`; session 39)."""
        return frozenset(op_id for op_id, c in self.gets.coordinations.items()
                         if c.key == key)

    def _replicates(self, key: bytes) -> bool:
        """Whether this node is one of ``key``'s replicas by its view: in the key's
        top N on the ring it routes by, on the other ring of a change in progress
        (pending ownership), or on the ring its ranges moved from while it has not
        handed the key to every new owner yet (a naive handover in progress). An old
        owner whose handover is done is no replica any more, as in the spec
        (``spec.membership.replicates``): a late write it holds after that is a copy
        outside the top N, let go at a reap (before, ``moved_from``, which stays
        set after the change, kept it a replica for ever: it merged the tombstone
        instead, a copy nothing reaped, and the spec's outside-copy drop did not
        replay: delete-join-pending's ``outside_copy_dropped`` witness)."""
        if self.name in self.quorum.split(key, writing=True)[0]:
            return True
        gossiper, n = self.gossiper, self.config.n
        moved_from = gossiper.moved_from
        if moved_from is None:
            return False
        before = moved_from.preference_list(key, n)
        if self.name not in before:
            return False
        owners = [t for t in gossiper.future.preference_list(key, n) if t not in before]
        return not gossiper.transferred.issuperset(owners)

    def _refuse_if_left(self, handler: Callable[[float, str, Any], list[Effect]]
                        ) -> Callable[[float, str, Any], list[Effect]]:
        """A node that left the ring refuses a delivered hint (no ``HintAck``): the
        fallback keeps it and, once it hears that the node left, re-addresses it to
        the key's current top N (:mod:`impl.handoff`). Acknowledging it would delete
        the only copy bound for the key's new owner (found by review, issue 11)."""
        def on_delivery(now: float, src: str, message: Any) -> list[Effect]:
            if self.has_left:
                self.stats["hint-refused-left"] += 1
                return []
            return handler(now, src, message)
        return on_delivery

    def key_actor(self, key: bytes, local: Record | None = None) -> str:
        """The actor this node mints ``key``'s dots under: its lifetime's
        (:attr:`actor`) in the key's current key epoch (:func:`impl.versions.key_actor`);
        ``local``: this node's record of ``key`` if the caller holds it (else read)."""
        if not self.config.actor_epochs:
            return self.actor
        if local is None:
            local = self.replica.local_record(key)
        return key_actor(self.storage, self.actor, key, local)

    def _renew_actor(self, key: bytes) -> None:
        """Mint ``key`` under a new actor once it is absent: a reap forgot the copy
        holding this one's counters (a new key epoch, kv679)."""
        renew_key_actor(self.storage, self.actor, key)

    def _unpin(self, key: bytes) -> None:
        """A reap or let-go removed a copy of ``key`` holding no counter of its actor:
        the key's pinned epoch, if any, goes (:func:`impl.versions.renew_key_actor`)."""
        renew_key_actor(self.storage, self.actor, key, held=False)

    def _note_merge(self, key: bytes, before: Record, after: Record) -> None:
        """A merge replaces the local copy of ``key``: a stale copy of a forgotten key
        epoch pins the key's actor (:func:`impl.versions.note_key_merge`; with
        ``actor_epochs``, not in lww), and a copy the merge left holding tombstones
        only, changed (a live copy deleted, or a tombstone met a concurrent one), is
        noted for a reap check (:meth:`_reap_checks`)."""
        if self.config.actor_epochs and self.mode is not ClockMode.LWW:
            note_key_merge(self.storage, self.actor, key, before, after)
        if is_tombstone_only(after) and after != before:
            self._tombstoned.add(key)

    def _reap_checks(self, now: float, message: object) -> list[Effect]:
        """A tombstone that reached this replica late -- by a hint's delivery, a read
        repair or anti-entropy, after its delete was acknowledged without this node
        (down, cut off, a value it held that a get repaired) -- is reaped once every
        target holds it: a :class:`~impl.timers.ReapCheck` of the key, due at once
        (:meth:`_reap_check`). Before, only the delete and a client's later get of the
        key could schedule the reap: the tombstones of a key deleted while one of its
        replicas was down stayed on every replica for good unless a client read the
        key again (riak_kv#1336, #1850; session 21's data probe: 60 of 60 copies of
        20 keys on 3 nodes). Only with ``delete_mode = "safe"`` and ``reap_checks``
        (the refinement harness turns them off: the spec's reap is decided by a
        delete or a client's get), and only for the inputs that carry a missed copy
        (:data:`_REAP_CHECKED`: a delete's own replica writes are its coordinator's
        to decide, :meth:`impl.put_coordinator.PutCoordinator.on_timeout`)."""
        keys, self._tombstoned = self._tombstoned, set()
        if (self.config.delete_mode != "safe" or not self.config.reap_checks
                or type(message) not in _REAP_CHECKED):
            return []
        return [SetTimer(ReapCheck(key), now) for key in sorted(keys)]

    def _reap_check(self, now: float, timer: ReapCheck) -> list[Effect]:
        """Read ``timer.key`` from all N of its targets, the targets themselves (no
        fallback), with an answer that goes nowhere: the get's end schedules the
        reap if each target answered with the same tombstone record
        (:meth:`impl.get_coordinator.GetCoordinator._finish`, the safe rule; the
        reap's own query round then asks every member). Nothing at a node that is
        not one of the key's replicas, or that has the key's reap due already."""
        key = timer.key
        if not self._replicates(key) or key in self.reaper.due:
            return []
        self.stats["reap-checks"] += 1
        # the attempt rides on the get: nothing is kept per key
        return self.gets.start(now, GetRequest(0, key, r=self.config.n),
                               ReplyTo(0, internal=True, attempt=timer.attempt))

    def _reap_check_failed(self, now: float, key: bytes, failed: int) -> list[Effect]:
        """A reap check of ``key`` (its attempt ``failed``, 0 the first) did not hear
        every target by its deadline (one down, cut off, or a replaced disk still
        rebuilding, which does not answer): check again later,
        ``max(tombstone_grace_s, request_timeout)`` doubled at each attempt,
        :data:`impl.reaping.REAP_ATTEMPTS` checks at most (127 times that in all: 7 waits);
        then the tombstone stays until a get or a later copy asks again, as before
        the checks. The attempt is carried by the check's get
        (``ReplyTo.attempt``), not kept per key: session 21's review found a
        ``key -> attempt`` map whose entries a check that succeeded never removed
        (40 entries left on 3 nodes after 20 keys were reaped: one per key ever
        checked, for the process's life)."""
        attempt = failed + 1
        if attempt >= REAP_ATTEMPTS:
            return []
        self.stats["reap-check-retries"] += 1
        wait = max(self.config.tombstone_grace_s, self.config.request_timeout)
        return [SetTimer(ReapCheck(key, attempt), now + wait * 2 ** (attempt - 1))]

    # ================================================================== inputs

    def start(self, now: float) -> list[Effect]:
        """The node's first timers (call once, after construction); with the restore
        guard, a restarted store's shadow round.

        *The shadow round* (Cassandra's startup shadow round; docs/runtime.md, "A
        restored store after a reap"): a store that heard of peers before (the
        guard's ``peer-generations``) may be a backup restored after a start its peers
        saw, and a fresh store (:attr:`_fresh`, announcing: :meth:`_announce_fresh`)
        may be a replaced disk; only a peer can tell either
        (:mod:`impl.restore_guard`, :mod:`impl.rebuild`). So it first gossips with every other live
        member of its view (a peer answers the first gossip of a start it has not
        heard of, :meth:`receive`) and sets :class:`~impl.timers.ShadowRound`
        ``shadow_round_s`` ahead. Until every peer asked has gossiped back (a peer
        that heard a later start says so: the store is set aside) or the timer
        fires (counted as ``shadow-round-timeout`` and logged: only then, when no
        peer answers, may a restored store still serve its old versions), every
        input but a gossip is deferred in order (:meth:`_defer`): client
        requests, peer messages, timers other than the gossip round, a leave.
        Then they are replayed in order, one per firing of ``ShadowRound`` (the
        driver performs each one's writes before the next reads the store), and
        inputs arriving meanwhile queue behind them. Returns the effects (timers;
        the round's Sends and its timer)."""
        self._now, draw = now, self.rng.uniform
        effects: list[Effect] = [
            effect for mechanism in (self.gossiper, self.handoff, self.anti_entropy,
                                     self.replica)
            for effect in mechanism.first_timers(now, draw)]
        guard = self.guard
        peers = [node for node in self.gossiper.view.live_nodes if node != self.name]
        announce = self._announce_fresh(peers)
        if guard is None or not peers or not (guard.heard or announce):
            return effects  # a brand-new cluster's store, or no peer to ask
        if announce:  # a fresh store: the round is its announce (a replaced disk?)
            effects += announce
        self.shadow = ShadowState(peers, now)
        self.stats["shadow-round"] += 1
        self._log_life(f"{now:.3f} shadow round: asking {', '.join(peers)} what they "
                       f"heard of this store (generation {guard.generation}) before "
                       f"serving, at most {self.config.shadow_round_s:g} s")
        if not announce:
            view = self.gossiper.view.to_bytes()
            # (with the retired actors this node knows, the one this start retired
            # among them: its peers prune their entries from then on; session 33)
            retired = self.retired.to_gossip()
            effects += [self._stamp(Send(peer, Gossip(view, reply=True, retired=retired)),
                                    guard)
                        for peer in peers]
        effects.append(SetTimer(ShadowRound(), now + self.config.shadow_round_s))
        return effects

    def persist_failed(self, now: float, error: StorageError,
                       failed_replies: frozenset[tuple[str, int]] = frozenset()
                       ) -> list[Effect]:
        """The driver could not perform this node's writes (nothing after them left;
        ``failed_replies``: the answers it turned into ``error`` or dropped,
        :func:`impl.staging.reply_ids`;
        :attr:`taken_back` names those of them this call left to a later answer):
        the puts it coordinates count its own copy as one failed replica and the
        other replicas' acks decide (:meth:`impl.put_coordinator.PutCoordinator.
        local_write_failed`; until session 50 every put not answered failed with
        ``error``, a 500 "outcome unknown", though W others stored it)."""
        self._now = now
        self.stats["storage-error"] += 1
        self.log.append(f"{now:.3f} storage error, nothing acknowledged: {error}")
        self._restage_generation()
        self.anti_entropy.rebuild()  # its trees saw the writes the engine lost
        self.hints.reload()  # and so did the hint store's index
        self._flush_staged = False
        if redo := self._rebuild_undurable | self._rebuild_flushing:
            # the records an exchange of the rebuild merged may be among the writes
            # lost, and the exchange counted its range rebuilt: to do again. Red
            # team 11 (session 60), probes/01p: a replaced disk that filled while it
            # rebuilt answered 404 at r=1 for acknowledged keys of a range its failed
            # merges had "rebuilt". Those whose merges were durable before stay done
            # (review: all done again, a disk failing more often than a whole
            # rebuild takes kept the node rebuilding for ever)
            kept = self.rebuild.done - redo
            self._rebuild_undurable, self._rebuild_flushing = set(), set()
            if not self._rebuild_redone:
                self._log_life(f"{now:.3f} its writes failed while it rebuilt: the "
                               "exchanges of the rebuild since its writes were last "
                               "durable to do again (until its writes succeed, each "
                               "failure after an exchange)")
            self._rebuild_redone = True
            self._begin_rebuild(now, again=True, quiet=True)
            if self.rebuild.keep(kept):
                self._rebuilt()
        effects = self.puts.local_write_failed(now, error, failed_replies)
        self.taken_back = frozenset(self.puts.taken_back)
        return effects

    def writes_durable(self) -> None:
        """The driver performed every write this node staged so far, durably (the
        puts it coordinates keep their own acks through a later failed write:
        :meth:`impl.put_coordinator.PutCoordinator.writes_durable`). Ignored on a
        buffered engine (``fsync="buffered"``): a write performed is one change of
        its open batch, which a later failed write may roll back whole (SQLite's
        SQLITE_FULL; session 51's second review: reported durable, the put whose
        own copy the rollback took kept its own ack, 200 at W = 2 with one copy),
        and so are the rebuild's exchanges (:meth:`persist_failed`), but for those
        before a flush of the ``Flush`` timer, now performed (:meth:`_flush`)."""
        if self.storage.fsync == "always":
            self.puts.writes_durable()
            self._rebuild_undurable, self._rebuild_flushing = set(), set()
            self._rebuild_redone = False
        elif self._flush_staged:  # (a buffered engine) what the flush followed is durable
            self._flush_staged = self._rebuild_redone = False
            self._rebuild_flushing = set()

    def _flush(self, now: float, timer: Flush) -> list[Effect]:
        """The ``Flush`` timer (:meth:`impl.replica.Replica.on_flush`): the rebuild's
        exchanges so far become durable once its flush is performed
        (:meth:`writes_durable`). Before, on a buffered engine, nothing made them
        durable: a write failing at any later time (the rebuild ended and flushed
        long before) began the whole rebuild again (review of red team 11, session
        60; ``tests/impl/test_rebuild_after_failed_writes.py``)."""
        self._rebuild_flushing |= self._rebuild_undurable
        self._rebuild_undurable = set()
        self._flush_staged = True
        return self.replica.on_flush(now, timer)

    def answers_released(self) -> None:
        """The driver holds none of this node's answers behind a write any more
        (each was performed, or failed through :meth:`persist_failed`): the ended
        puts kept for such a failure are let go
        (:meth:`impl.put_coordinator.PutCoordinator.answers_released`)."""
        self.puts.answers_released()

    def client_request(self, now: float, request: GetRequest | PutRequest) -> list[Effect]:
        """A client's get or put arrives at this node; effects (a Reply sooner or
        later, Sends to peers, timers) come back."""
        self._now = now
        try:
            check_request(self.config, self.mode, request)
        except DynamoError as error:
            self.stats["bad-request"] += 1
            return [refuse(request, error)]
        if self.gossiper.removed:
            self.stats["removed-refused"] += 1
            return [refuse(request, NodeDownError(self.removed_message()))]
        if self.shadow is not None:
            return self._defer(now, "client_request", (request,))
        try:
            return self._finish(self.forwarder.route(now, request, ReplyTo(request.request_id)))
        except StorageError as error:  # not acknowledged: the client hears why
            self._discard_writes()
            self.stats["storage-error"] += 1
            return [Reply(request.request_id, error=error)]

    def receive(self, now: float, src: str, message: object) -> list[Effect]:
        """A message from peer ``src``. A malformed one (unknown type, unknown sender,
        a field its constructor refuses) is dropped and counted as ``dropped``, and
        so is bad data nested in a valid one (PeerDataError, the cases of
        :data:`impl.internal_errors.PEER_DATA`); any other exception its handler
        raises is an internal error of ours (``internal-error``, logged at ERROR on
        ``vdynamo.internal``); nothing of a half-handled message is written."""
        self._now = now
        if self._tombstoned:  # (what an earlier input's merges noted is not this one's)
            self._tombstoned.clear()
        gossip = isinstance(message, Gossip)
        if self.shadow is not None and not gossip:
            return self._defer(now, "receive", (src, message))
        handler = self._messages.get(type(message))
        if handler is None:
            return self._drop(src, f"unknown message type {type(message).__name__}")
        gossiper = self.gossiper
        if not isinstance(src, str) or src == self.name or not (
                gossiper.known(src) or gossip):
            return self._drop(src, f"{type(message).__name__} from unknown node {src!r}")
        if gossiper.removed:
            if gossiper.removed_itself and isinstance(message, Gossip) and message.reply:
                # its removal's push may have been lost (session 52's review): a peer
                # that still holds it leaving learns the removal from the answer
                return self._finish([Send(src, Gossip(gossiper.view.to_bytes(),
                                                      reply=False))])
            return []  # force-removed: it serves nothing (its store is stale)
        if gossiper.is_removed(src):
            return self._from_removed(src, message)
        if self.recheck_messages:
            try:
                # Re-run the constructor's checks: a message built around them is refused too.
                message.__post_init__()  # type: ignore[attr-defined]
            except DynamoError as error:
                return self._drop(src, str(error))
        self.detector.heard_from(src, now)  # any message clears a suspicion
        self.last_heard[src] = now  # (force-remove refuses a node heard from lately)
        if not gossip:  # (a gossip carries its own beat, age 0)
            self._heard_directly(src, now)
        guard = self.guard
        if guard is not None and not gossip:
            if src in guard.rolled_back:  # its store is older than one we heard of
                self.stats["rolled-back-peer-dropped"] += 1
                return []
            if isinstance(message, _GENERATION_CHECKED) and message.generation:
                if guard.superseded(src, message.generation):
                    # a message of an earlier start, delivered after its restart's
                    # generation: stale, not a rollback (session 35's review)
                    self.stats["superseded-start-dropped"] += 1
                    return []
                if guard.on_generation(src, message.generation):
                    # anti-entropy or a hint from a store older than one we heard of:
                    # refused, and told (the next gossip carries what we heard of it)
                    self.stats["rolled-back-peer-dropped"] += 1
                    return self._finish([Send(src, Gossip(self.gossiper.view.to_bytes(),
                                                          reply=True))])
        try:
            # (``gossip`` is ``isinstance(message, Gossip)``, asked once: session 34)
            if gossip:
                # the relayed generations decoded and the beats taken first: malformed,
                # they drop the frame before anything of it is taken
                relayed = self._relayed_generations(cast(Gossip, message).generations)
                self._take_beats(now, src, cast(Gossip, message).beats)
                self._take_retired(now, cast(Gossip, message).retired)
            elif isinstance(message, _CARRY_RETIRED) and message.retired:
                # the retirements of the records' entries, before they are merged:
                # this node prunes what the sender pruned (session 33)
                self._take_retired(now, message.retired)
            if guard is not None and gossip:
                message = cast(Gossip, message)
                # (a generation advanced within a start heard of is no new start; one
                # only relayed by a third node is: src has not been answered)
                new = bool(message.generation) and not same_start(
                    message.generation, guard.heard_directly(src))
                effects = [*self._guard_gossip(now, src, message),
                           *handler(now, src, message)]
                self._take_relayed(src, relayed)  # (the view merged: its members known)
                if new and message.reply and not any(
                        isinstance(e, Send) and e.dest == src and isinstance(e.message, Gossip)
                        for e in effects):
                    # a start of src not heard of before: answered even when the views
                    # agree (its shadow round waits for it; :meth:`start`)
                    effects.append(Send(src, Gossip(self.gossiper.view.to_bytes(),
                                                    reply=False)))
                self.replica.raise_floor(message.floor)  # (handled: see below)
                answers = self._of_this_start(message)
                if answers:
                    guard.confirmed_by(src)
                elif guard.unconfirmed or self.shadow is not None:
                    # a gossip of before this start (sent before src heard of it):
                    # src may have heard a later start of this store since (session 36)
                    self.stats["shadow-stale-gossip"] += 1
                heard = self._shadow_heard(now, src, answers)
                if self._unconfirmed_fresh and not answers:
                    effects = self._ask_to_name(now, src, effects)
                if any(type(e) is Send and e.dest == src and isinstance(e.message, Gossip)
                       and e.message.reply for e in heard):
                    # this round asks src again: that ask is src's answer (session 37)
                    effects = [e for e in effects if not (
                        type(e) is Send and e.dest == src and isinstance(e.message, Gossip))]
                return self._finish([*effects, *heard])
            effects = handler(now, src, message)
            if gossip:
                # the highest floor of a reap any node heard of (session 19's review),
                # once the frame is handled: raised before, a malformed view or beats
                # raised it in memory while the drop discarded its write, so the node
                # gossiped a floor it never persisted (session 27's review)
                self.replica.raise_floor(cast(Gossip, message).floor)
            if self._tombstoned:
                effects = [*effects, *self._reap_checks(now, message)]
            return self._finish(effects)
        except StorageError as error:  # the engine failed: nothing acknowledged
            self.stats["storage-error"] += 1
            self.log.append(f"{now:.3f} storage error handling {type(message).__name__}: "
                            f"{error}")
        except PeerDataError as error:  # bad data nested in it, by design the peer's
            self._drop(src, f"{type(message).__name__}: {error} (peer data: {error.what})")
        except Exception as error:  # anything else raised handling a valid message: ours
            report_internal_error(self.name, self._now, self.stats, self.log, src,
                                  message, error)
        self._discard_writes()  # a half-handled message writes nothing
        return []

    def fire(self, now: float, timer: Timer) -> list[Effect]:
        """Timer ``timer`` (one this node set, or one a driver names) fires at ``now``.
        Raises InvalidValueError (a LocalError and a ValueError) for a value that is
        not a timer; a StorageError of its handler propagates (the engine failed).

        Any other exception its handler raises is an internal error of ours
        (:func:`impl.internal_errors.report_internal_error`, from ``"timer"``):
        nothing of the half-handled timer is written and, the handler having set
        no next round, a periodic timer (:data:`PERIODIC`) is set again one period
        later, so one bad round never stops gossip, the hint scan, anti-entropy or
        the flush for good (found by review, session 10: an exception out of a
        hint scan left the node with no hinted handoff). A one-shot timer (a
        timeout) is not retried."""
        self._now = now
        if self.gossiper.removed:
            return []  # force-removed: no round of any kind (its peers refuse it anyway)
        if isinstance(timer, ShadowRound):
            return self._shadow_step(now)
        handler = self._timers.get(type(timer))
        if handler is None:
            raise InvalidValueError(f"timer: not a timer of impl.timers, got {timer!r}")
        if self.shadow is not None and not isinstance(timer, GossipRound):
            return self._defer(now, "fire", (timer,))
        try:
            effects = handler(now, timer)
            if self.shadow is not None:  # (a gossip round: the only timer not deferred)
                effects = [*effects, *self._shadow_ask_again(now, effects)]
            return self._finish(effects)
        except StorageError:
            raise
        except Exception as error:  # a bug of ours: reported, the round kept going
            report_internal_error(self.name, now, self.stats, self.log, "timer", timer,
                                  error)
        self._discard_writes()
        periodic = PERIODIC.get(type(timer))
        if periodic is None:
            return []
        following, period = periodic
        return [SetTimer(following, now + float(getattr(self.config, period)))]

    def _from_removed(self, src: str, message: object) -> list[Effect]:
        """A message from a node force-removed (it came back): refused, so that its stale
        store and view change nothing here (riak_core ignores a removed node's ring; it
        stops, "node removal completed, exiting"). Its gossip is answered with this
        node's view, unmerged: it learns that it was removed and stops serving
        (:meth:`impl.gossip.Gossiper.on_gossip`)."""
        self.stats["removed-peer-refused"] += 1
        if isinstance(message, Gossip) and message.reply:
            return self._finish([Send(src, Gossip(self.gossiper.view.to_bytes(),
                                                  reply=False))])
        self.log.append(f"{self._now:.3f} refused {type(message).__name__} from {src}: "
                        "it was force-removed from the cluster")
        return []

    def force_remove(self, now: float, node: str) -> list[Effect]:
        """An operator force-removes ``node``, a member down for good, on this node
        (riak_core's ``riak-admin cluster force-remove``, Cassandra's ``nodetool
        removenode``; :meth:`impl.gossip.Gossiper.force_remove` says what follows).
        Raises :class:`~impl.errors.InvalidValueError` naming why it is refused,
        nothing changed: ``node`` unknown, not a member, already removed, this node,
        up (this node's failure detector does not suspect it and heard from it within
        max(4 suspicion timeouts, 10 gossip intervals), 12 s by default: a node that is
        up leaves, ``vdynamo leave``; riak_core has no override and neither has this),
        its removal would leave fewer than N members, another change in progress,
        or this node is starting (its shadow round)."""
        self._now = now
        if self.gossiper.removed:
            raise InvalidValueError(self.removed_message())
        if self.shadow is not None:
            raise InvalidValueError("force-remove: this node is starting (its shadow "
                                    "round); try again in a few seconds")
        # a refusal for good first: told to wait out the window, a new user was then
        # refused for another reason (fewer than N members left; session 23's review)
        self.gossiper.removal_view(node)
        held = self.gossiper.view.get(node)
        heard = self.last_heard.get(node)
        window = self._down_window()
        if node != self.name and held is not None and held.status in ROUTED and not self.down(
                node, now):
            rose = self.heartbeat_updated.get(node)
            waits = [window - (now - rose)] if rose is not None else []
            if (heard is not None and now - heard < window
                    and self.detector.is_available(node, now)):
                why = (f"this node heard from it {now - heard:.1f} s ago, under {window:g} s, "
                       "and does not suspect it")
                waits.append(window - (now - heard))
            else:  # (session 26: before, a live member unheard here directly was taken)
                assert rose is not None  # (down() holds such a node down without news)
                why = ("this node suspects it or has not heard from it lately, but another "
                       f"member heard from it: its latest heartbeat is {now - rose:.1f} s "
                       f"old (gossiped), under {window:g} s")
            raise InvalidValueError(
                f"force-remove: {node!r:.80} is up ({why}): force-remove is for a node "
                "down for good; a node that is up leaves (`vdynamo leave`); one that has "
                f"just stopped for good can be removed in {max(waits):.1f} s at most")
            # (untold before session 22: a new user retried at once and was refused again)
        effects = self.gossiper.force_remove(node)
        return self._finish([*effects, SetTimer(HintScan(), now)])

    def adopt_record_bounds(self, now: float, record_bytes: int, siblings: int) -> list[Effect]:
        """An authenticated peer's kept record bounds (bytes, a sibling count: its
        hello's ``kept_record_bytes`` and ``kept_record_siblings``, already capped by
        the runtime) raise this node's where larger
        (:meth:`impl.replica.Replica.raise_kept_bounds`); the effects persist them
        in the store's ``record_bounds`` entry, so that they outlive a restart."""
        self._now = now
        self.replica.raise_kept_bounds(record_bytes, siblings)
        return self._finish([])

    def leave(self, now: float, *, scan: bool = True) -> list[Effect]:
        """Start leaving the cluster (hand this node's key ranges over: a hint scan due
        at once, or with ``scan`` False at the next ``HintScan``). The scan is a timer
        of its own, not part of this input: the rebalance's hints are staged writes
        until this input's effects are performed, and a scan in the same input would
        not see them (the naive handover let the leaving node's copy go before any
        transfer: trace validation, the naive leave). A leave whose announcement would
        reach :data:`impl.membership.PEER_VERSION_LIMIT` raises nothing: it is
        refused, counted as ``version-headroom`` and logged, and stays requested
        (:meth:`impl.gossip.Gossiper.announced`; the node keeps serving). A leave that
        would leave fewer than N members (a removal or another leave crossing it, or
        one of N members leaving) waits at its last step, serving, until a node joined
        (:func:`impl.membership.departure_shortfall`; session 24)."""
        self._now = now
        if self.shadow is not None:
            return self._defer(now, "leave", (scan,))
        if self.status in (MemberStatus.LEAVING, MemberStatus.LEFT):
            return []
        return self._finish([*self.gossiper.leave(),
                             *((SetTimer(HintScan(), now),) if scan else ())])

    def _down_window(self) -> float:
        """Seconds without news after which a member counts as down (:meth:`down`):
        max(4 suspicion timeouts, 10 gossip intervals), 12 s by default."""
        return max(4 * self.config.suspicion_timeout, 10 * self.config.gossip_interval)

    def down(self, node: str, now: float) -> bool:
        """Whether this node holds ``node`` down at ``now``: its failure detector
        suspects it, or it has not heard from it within :meth:`_down_window` (or
        never, since it started); and the latest heartbeat of it this node knows was
        sent before the window (:meth:`_take_beats`: the gossiped heartbeats).
        Exactly the members :meth:`force_remove` accepts (a member not down it
        refuses as up). Session 26: before, only this node's own hearing counted,
        and at 16 nodes a live member this node had not heard from directly for 12 s
        (up to 25 s seen) was down (and removable) here, though others had heard
        from it lately. Session 27: session 26's relayed ages grew fresher in
        transit, and a dead member became down only after the window plus the slack
        of every cycle of relays (6 nodes, 2 s delays: 46.5 s; 5 s delays: 126.6 s;
        now 16.25 s and 21.4 s)."""
        rose = self.heartbeat_updated.get(node)
        if rose is not None and now - rose < self._down_window():
            return False
        heard = self.last_heard.get(node)
        return (not self.detector.is_available(node, now) or heard is None
                or now - heard >= self._down_window())

    def _take_retired(self, now: float, data: bytes) -> None:
        """Merge a peer's gossiped retired lifetime actors
        (:attr:`impl.messages.Gossip.retired`, :meth:`impl.retired.RetiredActors.take`;
        session 33). Raises :class:`~impl.errors.PeerDataError` (``"retired"``; the
        message is dropped) for data that does not parse. Data naming this node's own
        live actor is counted (``retired-own-actor-heard``) and logged once."""
        try:
            own = self.retired.take(data)
        except BadMessageError as error:
            raise peer_data_error("retired", error) from error
        if own:  # (a restored store that kept its actor; the restore guard sets it aside)
            self.stats["retired-own-actor-heard"] += 1
            if self.stats["retired-own-actor-heard"] == 1:
                self.log.append(f"{now:.3f} peers name this node's live actor "
                                f"{self.actor} retired by a later start of its store: "
                                "this store is an older copy (a restored backup with "
                                "actor_per_start false); its dots may be minted again "
                                "until the restore guard sets it aside")

    def _take_beats(self, now: float, src: str, data: bytes) -> None:
        """Merge a peer's gossiped heartbeats (:attr:`impl.messages.Gossip.beats`:
        member -> ``(generation, version, age)``, the highest heartbeat the peer knew
        and milliseconds since the member sent it, as far as the peer knew). A beat
        above the one this node knows of a member (a later generation, or the same
        one and a later version; Cassandra's ``Gossiper.notifyFailureDetector``) is
        kept, sent at ``now`` minus its age (:attr:`heartbeat_updated`; never earlier
        than the beat it replaces was); the same beat again is dated older if its age
        says so, never newer. So a relay, a cycle of relays or a frame held in a
        queue cannot make the news fresher than the member's own count: only the
        transits along the one path that dated it go uncounted (session 26 took
        ages alone, and a cycle refreshed them for ever). Beats of nodes not in the
        view, of this node, and of a generation over :data:`MAX_GENERATION_DIFFERENCE`
        seconds ahead of ``now`` are ignored. Malformed ones raise
        :class:`~impl.errors.PeerDataError` (``"beats"``; the message is dropped)."""
        try:
            beats = membership.beats_from_bytes(data)
        except BadMessageError as error:
            raise peer_data_error("beats", error) from error
        known = self.gossiper.known_nodes
        for node, (generation, version, age) in beats.items():
            if (node == self.name or node not in known
                    or generation > now + MAX_GENERATION_DIFFERENCE):
                continue
            beat, sent = (generation, version), now - age / 1000
            held = self.heartbeats.get(node)
            dated = self.heartbeat_updated.get(node, -math.inf)
            if held is None or beat > held:
                self.heartbeats[node] = beat
                self.heartbeat_updated[node] = max(sent, dated)
            elif beat == held and sent < dated:
                self.heartbeat_updated[node] = sent

    def _heard_directly(self, src: str, now: float) -> None:
        """A message other than a gossip came from ``src`` at ``now``: ``src`` was alive
        then (one transit uncounted, as for its own gossip's beat), so the heartbeat
        of it this node holds counts one up, dated ``now``, and is relayed so
        (:meth:`_beats_to_send`). Session 26 relayed such hearing as an age; session
        27's versions rode only the member's own gossip, which takes one peer a round,
        and a member whose link to a node was cut reached it through relays whose
        news was up to a few gossip rounds old (the line of n1 - n2 - n3 - n4 held
        live members down, 376 samples of 5,136 against 217 before). A step stays
        below the member's next own beat (:data:`HEARTBEAT_STRIDE`); two nodes' steps
        of the same number are the same beat, which a receiver dates only older
        (:meth:`_take_beats`): no news of a dead member is made fresher than its last
        message's arrival. Nothing without a heartbeat of ``src`` held yet, nor twice
        at the same time, nor past the stride (rather the older date)."""
        held = self.heartbeats.get(src)
        if held is None or self.heartbeat_updated[src] >= now:
            return
        generation, version = held
        if (version + 1) % HEARTBEAT_STRIDE:
            self.heartbeats[src] = (generation, version + 1)
            self.heartbeat_updated[src] = now

    def _beats_to_send(self, now: float) -> bytes:
        """This node's heartbeats for its next gossip (:attr:`impl.messages.Gossip.beats`):
        its own, its version counted up (Cassandra's ``HeartBeatState.updateHeartBeat``,
        once a gossip round there, once a batch of gossips here; to the next multiple
        of :data:`HEARTBEAT_STRIDE`, above the steps its hearers counted,
        :meth:`_heard_directly`) and age 0, and per other member of its view the
        highest heartbeat of it this node knows, with the milliseconds since that was
        sent (:attr:`heartbeat_updated`)."""
        generation, version = self.heartbeat
        version = (version // HEARTBEAT_STRIDE + 1) * HEARTBEAT_STRIDE
        self.heartbeat = (generation, version)
        beats: dict[str, membership.Beat] = {self.name: (generation, version, 0)}
        for node in self.gossiper.view.live_nodes:
            held = self.heartbeats.get(node)
            if held is not None and node != self.name:
                age = max(0, round((now - self.heartbeat_updated[node]) * 1000))
                beats[node] = (*held, age)
        return membership.beats_to_bytes(beats)

    def handover_waiting(self, now: float) -> dict[str, dict[str, object]]:
        """This leaving node's handover waits for these members now
        (:meth:`impl.gossip.Gossiper.handover_waiting`): name -> ``{"step": ...,
        "down": bool (:meth:`down`: force-remove would take it), "heard_s_ago":
        seconds since this node last heard from it, or None: never since it
        started}``. Empty unless this node is leaving or joining."""
        return {node: {"step": step, "down": self.down(node, now),
                       "heard_s_ago": (None if (heard := self.last_heard.get(node)) is None
                                       else round(max(0.0, now - heard), 1))}
                for node, step in self.gossiper.handover_waiting().items()}

    def set_suspected(self, suspected: dict[str, float]) -> None:
        """Replace the failure detector's suspicions: ``{node: until}`` (seconds;
        ``math.inf`` for ever): an oracle failure detector for drivers and tests."""
        self.detector.set_suspected({node: until for node, until in suspected.items()
                                     if node != self.name})

    # ================================================================== observing

    def snapshot(self) -> NodeSnapshot:
        """A frozen copy of what this node holds (see :mod:`impl.snapshot`)."""
        return take_snapshot(self, self._now)

    def coordinations(self) -> Mapping[int, CoordinationSnapshot]:
        """The puts and gets this node coordinates, by op id, frozen: the
        ``coordinations`` of :meth:`snapshot` alone (the rest not copied)."""
        return MappingProxyType(take_coordinations(self))

    def unpersisted(self) -> Mapping[bytes, bytes]:
        """Key -> the encoded record this node keeps in memory of the puts it
        coordinated whose own write its disk refused, merged into its copy before the
        key's next mint (:attr:`impl.put_coordinator.PutCoordinator.unpersisted`;
        session 50), frozen: what the refinement's abstraction compares with the
        spec's ``State.unpersisted`` (session 52)."""
        return MappingProxyType(dict(self.puts.unpersisted))

    def preference_list(self, key: bytes) -> tuple[str, ...]:
        """The key's preference list as this node sees the ring (top N first)."""
        return self.quorum.preference_list(key)

    def record(self, key: bytes) -> Record | None:
        """The versions record this node stores for ``key`` (None: none)."""
        return self.replica.record(key)

    def suspects(self, node: str) -> bool:
        """Whether the failure detector suspects ``node`` (at the last input's time)."""
        return node != self.name and not self.detector.is_available(node, self._now)

    @property
    def view(self) -> Membership:
        """This node's membership view."""
        return self.gossiper.view

    @property
    def partitioning(self) -> Partitioning:
        """The ring this node routes by."""
        return self.gossiper.partitioning

    @property
    def status(self) -> MemberStatus | None:
        """This node's status in its own membership view (None: not joined yet)."""
        return self.gossiper.status

    @property
    def has_left(self) -> bool:
        """Whether this node left the ring (after handing all its data over)."""
        return self.status is MemberStatus.LEFT

    @property
    def removed(self) -> bool:
        """Whether this node was force-removed from the cluster (:meth:`force_remove` on
        another member): it serves nothing, and ``vdynamo serve`` stops."""
        return self.gossiper.removed

    @property
    def removed_itself(self) -> bool:
        """Whether this node, :attr:`removed`, removed itself: asked to leave, it
        restarted on a store that lost what it was to hand over
        (:attr:`impl.gossip.Gossiper.removed_itself`)."""
        return self.gossiper.removed_itself

    def removed_message(self) -> str:
        """What this node, :attr:`removed`, answers: :data:`SELF_REMOVED_MESSAGE` if it
        removed itself (:attr:`impl.gossip.Gossiper.removed_itself`), else
        :data:`REMOVED_MESSAGE`."""
        text = SELF_REMOVED_MESSAGE if self.gossiper.removed_itself else REMOVED_MESSAGE
        return text.format(node=self.name)

    @property
    def rejoining(self) -> bool:
        """Whether this node left the ring in an earlier start and now waits for a
        seed's view to join again (:func:`impl.gossip.retire_if_left`)."""
        return self.has_left and self.gossiper.join_pending

    @property
    def settling(self) -> bool:
        """Whether a ring change this node's own status made (its join or its leave)
        has not settled yet (pending ownership: the node announces the settlement once
        every member has seen its handover, :meth:`impl.gossip.Gossiper.settle_if_seen`).
        A node that left stays up until then: the others use joint quorums until they
        hear the settlement, and only this node can announce it."""
        return self.name in self.gossiper.settling

    @property
    def pending(self) -> int:
        """Requests in flight at this node whose clients still wait: the puts and gets
        it coordinates that have not answered yet (a client's, a peer's forward, a
        reap check) and the requests it forwarded and waits on; what the runtime's
        admission compares with ``max_pending_requests``
        (:meth:`impl.runtime.NodeServer.overloaded`). A coordination that answered
        and waits only for late replies (read repair's, a put's other acks) is
        in :attr:`lingering`, not pending (session 33's user probe: counted, with one
        node of three down, every answered get held a place for its whole
        ``request_timeout`` waiting for the down node, and one client reading back
        to back at ``r=1`` had 6,801 of 21,932 gets refused 503 "saturated")."""
        unanswered = sum(not c.replied for c in self.puts.coordinations.values())
        unanswered += sum(not c.replied for c in self.gets.coordinations.values())
        return unanswered + len(self.forwarder.forwardings)

    @property
    def pending_bytes(self) -> int:
        """Bytes of the requests in flight at this node whose clients wait: the
        encoded record of each put it coordinates (sent to every replica) until it
        answers its client, the value of each put it forwarded and waits on, and,
        since session 24, the value bytes of the largest record each get it
        coordinates has gathered (its own read at once, then the replies) until it
        answers (``GetCoordination.record_bytes``: a get of a 3 MiB record of
        siblings is read from every replica and answered whole; uncounted, 16
        clients reading such keys at ``r=2`` were all admitted and 112 of 128 got
        503 after the quorum timeout, the process at 1.1 GB). A
        coordination that answered and waits only for a late replica counts no
        more (it does no work: counted, one replica not reading made a client's
        sequential 500 KB puts fail 503 from the third on). The runtime's byte
        admission (``max_pending_bytes``, :meth:`impl.runtime.NodeServer.overloaded`;
        Cassandra's ``native_transport_max_request_data_in_flight``) compares it
        with its limit. Since session 26 also the value of each forwarded put it
        claimed and waits to be granted (:class:`impl.forwarding.Claim`), for
        ``replica_timeout`` at most (a later grant is refused).
        """
        held = sum(len(coordination.record)
                   for coordination in self.puts.coordinations.values()
                   if not coordination.replied)
        held += sum(coordination.record_bytes
                    for coordination in self.gets.coordinations.values()
                    if not coordination.replied)
        held += sum(len(claim.request.value) for claim in self.forwarder.claims.values()
                    if self._now - claim.sent <= self.config.replica_timeout)
        return held + sum(len(forwarding.request.value)
                          for forwarding in self.forwarder.forwardings.values()
                          if isinstance(forwarding.request, PutRequest))

    # ================================================================== internals

    def _coordinate(self, now: float, request: GetRequest | PutRequest,
                    reply_to: ReplyTo) -> list[Effect]:
        if isinstance(request, PutRequest):
            return self.puts.start(now, request, reply_to)
        return self.gets.start(now, request, reply_to)

    def _finish(self, effects: list[Effect]) -> list[Effect]:
        """Persist, then send: the staged writes first. With the restore guard every
        gossip carries this store's generation and the receiver's last one."""
        # (an effect's type is exact: the dataclasses of impl.effects are not subclassed)
        # One pass: most inputs send nothing :meth:`_stamped` changes. It changes a
        # gossip, and with a guard a message of _GENERATION_STAMPED whose generation
        # is not the guard's; anti-entropy's steps are made stamped (session 42), so
        # they no longer call it (session 44: 179,459 calls, 6% of a simulated join).
        guard = self.guard
        generation = None if guard is None else guard.generation
        for effect in effects:
            if type(effect) is Send:
                message = effect.message
                if isinstance(message, Gossip) or (
                        generation is not None and isinstance(message, _GENERATION_STAMPED)
                        and message.generation != generation):
                    effects = self._stamped(effects)
                    break
        writes = self.storage.take()
        self._unadvanced = None  # staged: a failure of these writes is persist_failed's
        return [*writes, *effects] if writes else effects

    def _stamped(self, effects: list[Effect]) -> list[Effect]:
        """``effects`` with the restore guard's stamps and every gossip's beats,
        retirements and floor (:meth:`_finish`, for effects that send a message of
        :data:`_STAMPED`; a gossip is one)."""
        guard = self.guard
        if guard is not None:
            stamp = self._stamp
            effects = [stamp(e, guard) if type(e) is Send and isinstance(e.message, _STAMPED)
                       else e for e in effects]
        if any(type(e) is Send and isinstance(e.message, Gossip) for e in effects):
            floor = self.replica.client_floor
            # every gossip carries this node's heartbeats, its own counted up once per
            # batch (sessions 26-27), and, client-vclock after a reap, the floor
            beats = self._beats_to_send(self._now)
            retired = self.retired.to_gossip()  # dvv: what it knows of retired actors
            effects = [Send(e.dest, dataclasses.replace(e.message, floor=floor, beats=beats,
                                                        retired=retired))
                       if isinstance(e, Send) and isinstance(e.message, Gossip) else e
                       for e in effects]
        return effects

    def _stamp(self, send: Send, guard: RestoreGuard) -> Send:
        """``send`` with this store's generation, if it is a gossip (and the receiver's
        last generation, and the generations this node heard of its view's live
        members, relayed: session 50 and its review), an anti-entropy message or a
        hint delivery."""
        message = send.message
        if isinstance(message, Gossip):
            return Send(send.dest, with_generations(
                message, generation=guard.generation, yours=guard.yours(send.dest),
                generations=guard.relayed(self._live_members())))
        if isinstance(message, _GENERATION_STAMPED):
            if message.generation == guard.generation:
                return send  # made stamped (anti-entropy's steps: session 42)
            return Send(send.dest, with_generations(message, generation=guard.generation))
        return send

    def _guard_gossip(self, now: float, src: str, message: Gossip) -> list[Effect]:
        """The restore guard's part of a gossip (:mod:`impl.restore_guard`): a store
        older than one ``src`` heard of is set aside, and says so to ``src``; a
        rolled-back ``src`` is told what was heard of it."""
        assert self.guard is not None
        if message.yours and is_rollback(self.guard.generation, message.yours):
            self._set_aside(now, message.yours)
            if message.generation:  # (heard: the answers name src's start, which its
                # shadow round waits for, :meth:`_of_this_start`; session 36)
                self.guard.on_generation(src, message.generation)
            return self._tell_renewed(src)
        if self._unconfirmed_fresh and same_start(message.yours, self.guard.generation):
            # src heard this start: a later one counts above what it heard (session
            # 52); cleared once every live peer did, not the first: a peer that never
            # heard the old disk (another replaced disk) names it as readily, and a
            # restart counted above the old disk would never be told (session 52's
            # review: two replaced disks, 60 of 60 not found)
            named = self._named_by.setdefault(self.guard.generation.partition(".")[2], set())
            named.add(src)
            if named >= self._to_name():
                self._unconfirmed_fresh = False
                self.storage.set_meta(FRESH_UNCONFIRMED_META, b"")
        if message.generation and self.guard.on_generation(src, message.generation):
            return [Send(src, Gossip(self.gossiper.view.to_bytes(), reply=False))]
        return []

    def _live_members(self) -> tuple[str, ...]:
        """The view's live members (:attr:`impl.membership.Membership.live_nodes`),
        computed once per view (a view is immutable: a change is a new one), whose
        generations a gossip relays (:meth:`_stamp`; session 50's review: 11 us a
        call on a five-node view, at every gossip sent)."""
        view = self.gossiper.view
        if view is not self._live_view:
            self._live_view, self._live = view, view.live_nodes
        return self._live

    def _relayed_generations(self, data: bytes) -> dict[str, str]:
        """A gossip's relayed generations (:attr:`impl.messages.Gossip.generations`,
        :func:`impl.restore_guard.generations_from_bytes`); none without the guard
        (not read). Raises :class:`~impl.errors.PeerDataError` (``"generations"``;
        the message is dropped) for data that does not parse."""
        if self.guard is None or not data:
            return {}
        try:
            return generations_from_bytes(data)
        except BadMessageError as error:
            raise peer_data_error("generations", error) from error

    def _take_relayed(self, src: str, relayed: dict[str, str]) -> None:
        """Take the generations ``src`` relays of the other members
        (:meth:`impl.restore_guard.RestoreGuard.on_relayed`: a later one than heard;
        session 50), counted as ``generation-relayed``. Its own is its gossip's
        ``generation`` and this node's its ``yours``: not read again here, nor one of
        a node not in the view."""
        guard = self.guard
        assert guard is not None
        known = self.gossiper.known
        refused = guard.refused_relays
        for node, generation in relayed.items():
            if node != src and node != self.name and known(node) and (
                    guard.on_relayed(node, generation)):
                self.stats["generation-relayed"] += 1
        if guard.refused_relays != refused:  # a count at the ceiling (session 50's review)
            self.stats["generation-relay-refused"] += guard.refused_relays - refused

    def _advance_generation(self, now: float) -> str:
        """The store's next generation (:func:`impl.restore_guard.advance`: its count
        one up, this start's token kept, so that a message of the earlier one that a
        later one overtook is no rollback), durable before a peer hears it (the
        staged ``incarnation`` entry, then a sync); "" without the guard (``now``
        unused: the hook's shape). Called before this node takes part in a reap
        (asks a query round, answers one clean: :class:`impl.reaping.Reaper`): a
        copy of the running store (a live backup) taken before it held the
        tombstone repeats a lower count than the reap's members heard, so its
        restore (one count above the copy's, another token) is a rollback
        (:func:`impl.restore_guard.is_rollback`) and is set aside, where before it
        started a count no peer heard (session 15's review; docs/runtime.md, "A live
        copy restored after a reap"). Writes discarded within the input put the
        earlier one back (:meth:`_unadvance`); writes that failed at the driver
        stage its count again (:meth:`_restage_generation`). Not while the start is unconfirmed
        (:attr:`impl.restore_guard.RestoreGuard.confirmed`: a peer its shadow round
        asked has not gossiped since the round timed out): a
        restored store that advanced before a peer told it could count past the
        live store's generation and never be set aside; the current one is
        returned (``generation-advance-unconfirmed``)."""
        guard = self.guard
        if guard is None:
            return ""
        if not guard.confirmed:  # a restored store nobody told yet would hide its rollback
            self.stats["generation-advance-unconfirmed"] += 1
            return guard.generation
        if self._unadvanced is None:
            self._unadvanced = guard.generation
        guard.generation = advance(guard.generation)  # the count up, the token kept
        self.storage.set_meta("incarnation", guard.generation.partition(".")[0].encode())
        if self._unconfirmed_fresh:  # (a peer may tell it to a restart: its own)
            remember_own(self.storage, guard.generation)
        self.storage.flush()  # durable before a peer hears it: a restart counts above
        self.stats["generation-advanced"] += 1
        return guard.generation

    def _restage_generation(self) -> None:
        """Writes failed (:meth:`persist_failed`), perhaps an advance's
        (:meth:`_advance_generation`): the generation is kept and its count staged
        again with a sync, so it reaches the disk with the next input's writes,
        before that input's sends. Not put back: under group commit (``vdynamo
        serve``'s ``fsync = "always"``, :mod:`impl.storage.group_commit`) a failed
        commit is reported after later inputs ran, whose sends, stamped with the
        advanced generation, may be out already. Session 21's review: the
        generation of the *last* input's advance was put back (none: the disk kept a
        count below the one a peer heard, and a restart of the live store repeated
        it with another token and was set aside; one: a later, durable advance was
        undone, and the next one repeated it)."""
        guard = self.guard
        if guard is not None and self.stats["generation-advanced"]:
            self.storage.set_meta("incarnation", guard.generation.partition(".")[0].encode())
            if self._unconfirmed_fresh:  # and remembered as its own (session 53's review:
                # a restart told it took it for a copy's and set its own writes aside)
                remember_own(self.storage, guard.generation)
            self.storage.flush()

    def _unadvance(self, before: str | None) -> None:
        """An input's writes were not performed: the generation it advanced to
        (:meth:`_advance_generation`) is not durable, so ``before`` (the one it
        advanced from; None: it advanced none) is put back and gossiped."""
        if self.guard is not None and before is not None:
            self.guard.generation = before

    def _guard_write(self, key: bytes, encoded: bytes) -> None:
        """The restore guard's write listener (:meth:`RestoreGuard.on_write`)."""
        assert self.guard is not None
        if self.guard.unconfirmed and key not in self.guard.touched and not (
                self.guard.on_write(key, encoded, self.storage.engine.read(key) is not None)):
            self.stats["restore-untracked-write"] += 1

    def _set_aside(self, now: float, told: str) -> None:
        """A peer heard of a later start of this store (``told``): remove every version
        and hint, take a generation above ``told`` and a new lifetime actor. Either
        way (a fresh store takes the generation only) the store is then *rebuilding*
        (:mod:`impl.rebuild`): a restored store set aside holds as little of what it
        acknowledged as a replaced disk (session 17: 7 to 12 of 20 reads stale
        through the replica that missed the writes, seeds 1-5, without it)."""
        assert self.guard is not None
        heard = parse_generation(told)
        assert heard is not None
        if self._own_held and took_own(self.storage, told):
            self._own_restart(now, above_own(self.storage, heard[0]), told)
            return
        self.storage.set_meta(STORE_RENEWED_META, b"%d" % int(now))
        # (a start of its own token it never took: the live store's, this a copy of it)
        put_back = self._own_held and unknown_own(self.storage, told)
        self._own_held = False
        if self._fresh and not put_back:  # nothing in it predates this lifetime: kept
            incarnation = above_own(self.storage, heard[0])  # (above its own too)
            self.storage.set_meta("incarnation", str(incarnation).encode())
            self.guard.generation = start_generation(self.storage, self.name, self._seed,
                                                     now, incarnation)
            self._fresh = False
            self.stats["restore-fresh-renewed"] += 1
            self._log_life(f"{now:.3f} a new store told of a later start ({told}): "
                           f"generation {self.guard.generation}, nothing set aside")
            self._begin_rebuild(now)
            return
        self._fresh = False
        taken = self.guard.taken
        keys = [key for key, _ in self.storage.scan() if key not in taken]
        for key in keys:
            self.replica.reap(key)
        hints = self.hints.all()
        for hint in hints:
            self.hints.remove(hint.hint_id)
        incarnation = heard[0] + 1
        self.storage.set_meta("incarnation", str(incarnation).encode())
        generation = start_generation(self.storage, self.name, self._seed, now, incarnation)
        if self.config.actor_epochs:  # its counters went with the versions (kv679)
            self.actor = lifetime_actor(self.storage, self.name, seed=self._seed, now=now,
                                        epochs=True, per_start=True)
            self.retired.renew(self.actor)  # (the live actor; the one it retired)
        self.guard.generation = generation
        self.stats["restore-set-aside"] += 1
        self._log_life(f"{now:.3f} store older than a start peers saw ({told}): "
                       f"{len(keys)} keys and {len(hints)} hints set aside, "
                       f"generation {generation}"
                       + (f"; {len(taken)} keys first written since the shadow round "
                          "timed out kept" if taken else ""))
        self._begin_rebuild(now)  # as empty as a replaced disk (impl.rebuild)

    def _own_restart(self, now: float, incarnation: int, told: str) -> None:
        """A store holding its own writes (:attr:`_own_held`) told a start of its own
        lifetime it took (:func:`impl.restore_guard.took_own`): the teller heard
        nothing of an older store of the name (another replaced disk), so this is a
        restart of the lifetime, counted 1 (:attr:`_fresh`) as a peer that heard the
        old disk would tell it. It takes ``incarnation`` (above ``told``), remembered
        as its own and durable before a peer hears it, and stays what it was: holding
        its own, not rebuilding (nothing told it is a replaced disk), still kept when a
        peer that heard the old disk tells it later (session 53's review: renewed
        here as told the old disk, a later teller of the old disk's count above the
        renewal set aside what it held: two replaced disks, n3 down, 20 of 20 W = 2
        writes lost once both restarted and n3 came back)."""
        assert self.guard is not None
        self.storage.set_meta("incarnation", str(incarnation).encode())
        self.guard.generation = start_generation(self.storage, self.name, self._seed, now,
                                                 incarnation)
        remember_own(self.storage, self.guard.generation)
        self.storage.flush()  # durable before a peer hears it: its own, told back later
        self.stats["restore-own-restart"] += 1
        self._log_life(f"{now:.3f} a store holding its own writes told a start of its "
                       f"own ({told}): generation {self.guard.generation}, kept")

    # ------------------------------------------------------------ a replaced disk

    @property
    def rebuilding(self) -> bool:
        """Whether this node's store is a replaced disk (or a restored store set
        aside) not rebuilt yet (:mod:`impl.rebuild`): its copies of ranges not
        rebuilt do not count towards R."""
        return self.rebuild.active

    @property
    def unconfirmed(self) -> bool:
        """Whether this node started on a fresh store that not every live peer has
        named yet (``_unconfirmed_fresh``: :mod:`impl.restore_guard`): until then it
        answers no ``ReplicaGet`` of a key it holds no copy of (``unconfirmed-silent-get``
        in ``/status``' stats), so a read at R = N through the cluster waits on it and
        under load times out with 503 (session 59's CI-style rounds: the first GET at
        r=3 after a process cluster reported every node ready); ``fresh_unconfirmed``
        in ``/status``."""
        return self._unconfirmed_fresh

    @property
    def unnamed_by(self) -> tuple[str, ...]:
        """The live peers (sorted names) that have not named this start while the
        store is unconfirmed (:attr:`unconfirmed`; empty once confirmed, or without
        the guard): whom its silence waits for (``fresh_unconfirmed_waiting`` in
        ``/status``; session 60: a peer that cannot reach this node is named here,
        and is why a read at R = N through it waits)."""
        guard = self.guard
        if not self._unconfirmed_fresh or guard is None:
            return ()
        named = self._named_by.get(guard.generation.partition(".")[2], set())
        return tuple(sorted(self._to_name() - named))

    def _to_name(self) -> set[str]:
        """The peers that must each name this start before an unconfirmed fresh store
        is confirmed (:meth:`_guard_gossip`): the view's live members, and the
        driver's members the view never heard of (:attr:`file_members`). A replaced
        disk starts from the configured view, which lacks the members that joined
        since; session 60's review: 3 initial members and 2 joined, the joined two
        down, the 3 disks replaced in turn: each was named by the other two, none
        heard of the joined ones, and gets at R = 2 answered 84 of 84 keys they hold
        not found (3 seeds; the rule as it is: unavailable until they are back, then
        told and rebuilt). A member the view knows is judged by the view (one that
        left is not waited for)."""
        unknown = self.file_members - self.gossiper.known_nodes
        return {*self._live_members(), *unknown} - {self.name}

    def _ask_to_name(self, now: float, src: str, effects: list[Effect]) -> list[Effect]:
        """A gossip from ``src`` that does not name this start reached a fresh store
        still unconfirmed (:attr:`unconfirmed`) past its shadow round: ``effects``
        (the gossip's own) with a gossip to ``src`` that asks for an answer (``reply``;
        stamped with this start, which ``src`` then answers as the first gossip of a
        start it had not heard of, naming it: :meth:`receive`), at most once per half
        a gossip interval per peer, counted ``unconfirmed-asked``. An answer already
        among ``effects`` is made the ask; else one is added. The shadow round asks
        back the same way (:meth:`_shadow_heard`) while it lasts; after it (timed out
        on a peer not up yet) the store waited for each peer's own next gossip to it,
        at random: session 59's process clusters started one node after another
        showed every ``/health`` ready with two stores still unconfirmed, and a GET
        at r=3 of an absent key waited on 2-3 ``unconfirmed-silent-get`` (0.7-0.9 s,
        3 of 3 runs; 503 under load). The rule of what confirms is unchanged (every
        live peer named this start: :meth:`_guard_gossip`); only the asking is
        prompt (docs/runtime.md, "A brand-new cluster's first start (session 60)").
        Only an ``up`` member asks, neither rebuilding nor renewed (a store told it is
        a replaced disk: :meth:`_set_aside`): the silence it ends is that of
        :meth:`_unrebuilt_copy` for a store no peer has told anything, and every
        other gossip is left as it was (a leaver's, a joiner's, a replaced disk's:
        session 60's first cut asked there too, and moved the seeded history that
        ``tests/impl/test_data_loss_probe.py`` pins)."""
        shadow = self.shadow
        if (shadow is not None and not shadow.over) or self.status is not MemberStatus.UP or (
                self.rebuild.active or src not in self._live_members()) or (
                now - self._name_asked.get(src, -math.inf) < self.config.gossip_interval / 2
                ) or self.storage.get_meta(STORE_RENEWED_META) is not None:
            return effects
        self._name_asked[src] = now
        self.stats["unconfirmed-asked"] += 1
        for index, effect in enumerate(effects):
            if type(effect) is Send and effect.dest == src and isinstance(effect.message, Gossip):
                if not effect.message.reply:
                    effects = [*effects]
                    effects[index] = Send(src, dataclasses.replace(effect.message, reply=True))
                return effects
        return [*effects, Send(src, Gossip(self.gossiper.view.to_bytes(), reply=True))]

    def _announce_fresh(self, peers: list[str]) -> list[Effect]:
        """A fresh store (:attr:`_fresh`) gossips with every live peer at its start,
        as its shadow round (:meth:`start`: its inputs wait for the answers, at most
        ``shadow_round_s``): a peer that knew an earlier start of it answers with that
        generation (:meth:`_set_aside`), so a replaced disk learns it is one before it
        serves anything (until session 17 the announce deferred nothing, and gets
        sent to the replaced disk in its first round trip counted its empty copies:
        18 of 20 read not found, ``tests/impl/test_wiped_node_reads.py``). A joining
        node (no status in its own view yet) asks nothing: its peers know no start
        of it, and it hears the view at its own pace (the claimant's tests leave it
        before it did).

        Off (``announce=False``) where the caller knows the cluster is brand new:
        no peer heard an earlier start of any store, so the gossip could only be
        answered with nothing new; a node sent it to every peer all the same, and
        in the simulator those sends moved every seeded schedule of a new cluster
        (session 16's revert, f052d6d). A store can tell it is fresh, not that its
        peers are, so a real node (``vdynamo serve``) announces: a brand-new
        cluster's nodes gossip once more at their start, and a replaced disk, a
        wiped node restarted in the simulator, is told within a round trip."""
        guard = self.guard
        if guard is None or not self._fresh or not self._announce or self.status is None:
            return []
        view = self.gossiper.view.to_bytes()
        retired = self.retired.to_gossip()
        return [self._stamp(Send(peer, Gossip(view, reply=True, retired=retired)), guard)
                for peer in peers]

    def _tell_renewed(self, src: str) -> list[Effect]:
        """This store took a new generation (:meth:`_set_aside`): gossip it to ``src``
        and every other live peer, each of which may hold this node's last start as
        rolled back (its announce, :meth:`_announce_fresh`, was heard there too) and
        takes nothing but gossip from it until told (a get through the node at R = N
        failed for the gossip rounds that took)."""
        view = self.gossiper.view.to_bytes()
        peers = [src, *(node for node in self.gossiper.view.live_nodes
                        if node not in (src, self.name))]
        return [Send(peer, Gossip(view, reply=False)) for peer in peers]

    def _rebuild_pairs(self) -> set[Pair]:
        """The (range, other replica) pairs of every range this node replicates; none
        without anti-entropy (``anti_entropy = false``: nothing would ever complete
        them, so a replaced disk is not rebuilding, :mod:`impl.rebuild`)."""
        if not self.config.anti_entropy:
            return set()
        partitioning, n = self.gossiper.partitioning, self.config.n
        return {((lo, hi), peer) for lo, hi in self.gossiper.my_ranges()
                for peer in partitioning.range_owners(lo, n) if peer != self.name}

    def _begin_rebuild(self, now: float, *, again: bool = False, quiet: bool = False) -> None:
        """The store is a replaced disk of a known member: rebuilding from now on,
        durably (:data:`REBUILDING_META`; ``again``: a restart of a store whose
        rebuild had not ended, every exchange to do again; ``quiet``: no line in
        :attr:`log`, the caller's says why)."""
        self.gossiper.must_hear_all()  # a claim it made may be held by its peers only
        self.gossiper.distrust_serving()  # a ring change may have passed it by (session 51)
        # only exchanges begun from now count (session 36): a step of one begun
        # before may compare a tree of before the disk was replaced or set aside
        self.anti_entropy.forget_sessions()
        # with anti-entropy, a store with no range yet (a joiner's) waits for its ranges
        if not self.rebuild.begin(hold=self.config.anti_entropy):
            if again:
                self.storage.set_meta(REBUILDING_META, b"")
            return
        self.storage.set_meta(REBUILDING_META, b"1")
        self.stats["rebuilding"] += 1
        if quiet:
            return
        self._log_life(f"{now:.3f} rebuilding a replaced disk"
                       + (" (restarted before it was rebuilt)" if again else "")
                       + ": its empty copies do not "
                       f"count towards R until anti-entropy completed "
                       f"{len(self.rebuild.pending)} exchanges (range, replica)")

    def _log_life(self, line: str) -> None:
        """Append ``line`` to :attr:`log` and tell :attr:`announced` of it, if set."""
        self.log.append(line)
        if self.announced is not None:
            self.announced(line)

    def _rebuilt(self) -> None:
        self.storage.set_meta(REBUILDING_META, b"")
        self.stats["rebuilt"] += 1
        self._log_life(f"{self._now:.3f} rebuilt: anti-entropy completed an exchange "
                       f"with every replica of every range since the disk was replaced")

    def _rebuild_synced(self, pair_range: tuple[int, int], peer: str) -> None:
        if self.rebuild.active:
            self._rebuild_undurable.add((pair_range, peer))
        if self.rebuild.synced((pair_range, peer)):
            self._rebuilt()

    def _rebuild_ring_change(self) -> None:
        if self.rebuild.on_ring_change():
            self._rebuilt()

    def _unrebuilt_range(self, key: bytes) -> bool:
        """Whether this node is rebuilding and has not rebuilt ``key``'s range yet
        (:meth:`impl.rebuild.Rebuild.unrebuilt`): its copy of ``key``, whatever it
        holds, does not count towards R (nor, while it rebuilds any range, towards
        W: :meth:`_unacked_if_rebuilding`)."""
        return self.rebuild.active and self.rebuild.unrebuilt(
            self.anti_entropy.trees.range_of(position_of(key)))

    def _handover_acks(self, handler: Callable[[float, str, Any], list[Effect]]
                       ) -> Callable[[float, str, Any], list[Effect]]:
        """A ``ReplicaPutAck`` of a leaving node's hint hand-over goes to the hinted
        handoff (:meth:`impl.handoff.HintedHandoff.handover_of`), any other to
        ``handler`` (the put coordinator's)."""
        def on_ack(now: float, src: str, message: Any) -> list[Effect]:
            hint_id = self.handoff.handover_of(src, message)
            if hint_id is None:
                return handler(now, src, message)
            return self.handoff.on_handover_ack(hint_id)
        return on_ack

    def _unrebuilt_mine(self, key: bytes, moves: bool = False) -> bool:
        """Whether this node is rebuilding and ``key`` is in a range it replicates and
        has not rebuilt yet (a key of a range it does not replicate yet, a join's or
        a leave's handoff, is not: that handoff must end for the ring to change).

        During a ring change (:meth:`impl.gossip.Gossiper.changing`: a join, a leave
        or a removal) only a key this node replicates on both the serving ring and
        the future one counts: a hint a put's fallback kept for it, which the change
        does not move. A key whose range moves to or from this node is
        acknowledged: that handoff must end for the ranges to move. Session 54's
        review: acknowledged whenever a change was in progress, such a hint left the
        reads' reach as it did outside one (two nodes rebuilding, a join under way, a
        W = 2 put made by the fallbacks for both, read not found at R = 2 through the
        third owner: ``tests/impl/test_rebuilding_ring_change_review.py``). Session
        55: the same loss while a member was leaving or being removed, where every
        hint was acknowledged (``tests/impl/test_rebuilding_leave_removal.py``);
        withheld there, a removal waited for every hint kept for a new owner of the
        removed node's ranges and the rebuild for the removal (its pairs with the
        removed node: the sweep's history 402 never settled); a removal now waits
        only for the hints that move a key to its new owner
        (:meth:`impl.gossip.Gossiper._hint_ids_moving`).

        A node whose serving ring is a guess (a replaced disk that took its peers'
        view mid-change: :attr:`impl.gossip.Gossiper.serving_guessed`) cannot tell
        the two apart: under strategy 3 its guess is the future ring, so every key it
        replicates is its own on "both rings". It takes the sender's word instead
        (``moves``: ``HintDelivery.moves``, the sender's rings move the key here,
        :meth:`impl.gossip.Gossiper.moves_to`). Session 58: withheld, a removal
        waited for the hint, and this node's rebuild, whose exchanges were of ranges
        of its guessed ring, for the removal: never quiet
        (``tests/impl/test_wiped_leavers_review57.py``,
        ``tests/impl/test_wiped_during_removal.py``)."""
        key_range = self.anti_entropy.trees.range_of(position_of(key))
        if key_range is None or not self.rebuild.unrebuilt(key_range):
            return False
        gossiper, n = self.gossiper, self.config.n
        if not gossiper.changing():
            return True
        if gossiper.serving_guessed and moves:
            return False  # its sender's rings move the key here (a handoff)
        return (self.name in gossiper.partitioning.preference_list(key, n)
                and self.name in gossiper.future.preference_list(key, n))

    def _unrebuilt_copy(self, key: bytes, record: Record) -> bool:
        """Whether this node's copy of ``key`` (``record``) must not count as a
        replica's answer: while rebuilding, an empty one, or one of a key whose
        range it has not rebuilt yet (:meth:`_unrebuilt_range`); while the store is
        marked unconfirmed (:data:`impl.restore_guard.FRESH_UNCONFIRMED_META`: an
        empty store that announced, not yet named by every live peer), an empty one
        holding no hint of the key either.

        The marked store's rule (session 54): such a store may be a replaced disk
        whose peers that heard the old disk are down, not told yet; its empty copy
        of a key the old disk acknowledged counted towards R beside another such
        store's made an R = 2 read of a W = 2 write not found (two replaced disks,
        their peers just back: ``tests/impl/test_rebuilding_w1_ack_review.py``).
        A copy it holds is a write it took since its empty start (an ack it gave,
        counted towards W), counted: its acks and its answers agree. The price: a
        marked store answers no not-found until every live peer named its start
        (a brand-new ``vdynamo serve`` cluster's nodes until their first gossip
        round trips; longer while a member has been down since their start)."""
        if self._unconfirmed_fresh and not self.rebuild.active:
            return (record.is_empty and self.storage.get_meta(STORE_RENEWED_META) is None
                    and self.replica.hinted(key) is None)
        if not self.rebuild.active:
            return False
        return record.is_empty or self._unrebuilt_range(key)

    def _uncounted_read(self, key: bytes, own: Record, now: float) -> bool:
        """Whether this coordinator's own read of ``key`` must not count towards R:
        its copy is one :meth:`_unrebuilt_copy` leaves silent, or the rebuild has
        ended but a peer may still suspect this node for its silence
        (:meth:`_acks_uncounted`): such a peer coordinating a put sent this node's
        share to a fallback, so its copy may lack an acknowledged write (session
        54's review: 07g's ``wiped-pair-restarts-online``, dvv, seed 0, step 10: a
        put at W = 3 through n5, which suspected n1 for its silence while it
        rebuilt, acknowledged by n5 and two fallbacks; n1, rebuilt a moment before,
        answered a get at R = 1 with its own empty copy:
        ``tests/impl/test_rebuilt_node_acks_review.py``). Its answers to its peers'
        reads still count (a peer that asks it does not suspect it; silent, it
        would be suspected again).

        Nor while the node rebuilds any range, its copy of ``key`` rebuilt or not
        (:meth:`_acks_uncounted`, the rule of its acknowledgements and own writes): the
        spec's mark leaves own reads uncounted until ``Rebuilt`` (``spec.rebuild``'s
        ``uncounted``). Session 57: a rebuilt key's non-empty copy counted while other
        ranges were left, the trace-validation gap ``rebuild-own-read-counted`` (5 of
        seeds 0-99 of the rebuild mix, 2 of 100-199), closed on the safe side."""
        if self._unrebuilt_copy(key, own):
            self.stats["rebuild-uncounted-read" if self.rebuild.active
                       else "unconfirmed-uncounted-read"] += 1
            return True
        if self._acks_uncounted(now):
            self.stats["rebuild-uncounted-read"] += 1
            return True
        return False

    def _silent_if_rebuilding(self, handler: Callable[[float, str, Any], list[Effect]]
                              ) -> Callable[[float, str, Any], list[Effect]]:
        """While rebuilding, a ``ReplicaGet`` of a key this node holds no record of,
        or has not rebuilt the range of, gets no answer: the coordinator's replica
        timeout asks a fallback, and R counts only replicas holding their data
        (Riak's ``notfound_ok = false``).

        With pending ownership a node that is no serving member in its own view (no
        status yet, or joining) knows no serving ring: it takes no ``Forward`` (the
        forwarder's timeout tries the next of the key's nodes). A node that joined
        and whose disk was replaced starts as a new node (it is not in the
        configuration's ``nodes``), asks a seed for the view and is told it is a
        replaced disk only once it is a member again, while its peers, which still
        hold it up, forward to it; until session 51's data probe it coordinated
        their forwarded gets by the configuration's initial ring, asking a node
        with no copy of the key (gets at R = 1 through the other nodes, 0.3 s after
        the wipe: 4 of 96 read an acknowledged key as not found, seed 1)."""
        def on_get(now: float, src: str, message: Any) -> list[Effect]:
            if not isinstance(message, ReplicaGet | Forward):
                return handler(now, src, message)
            if (isinstance(message, Forward) and self.gossiper.pending
                    and self.status in (None, MemberStatus.JOINING)):
                self.stats["not-member-forward-dropped"] += 1
                return []
            if (self.rebuild.active or self._unconfirmed_fresh) and isinstance(
                    message, ReplicaGet) and (
                    self._unrebuilt_copy(message.key, self.replica.local_record(message.key))):
                if self.rebuild.active:
                    self.stats["rebuild-silent-get"] += 1
                    self._silent_until = max(self._silent_until, now + (
                        self.config.request_timeout + self.detector.max_retry_after))
                else:
                    self.stats["unconfirmed-silent-get"] += 1
                return []
            return handler(now, src, message)
        return on_get

    def _acks_uncounted(self, now: float) -> bool:
        """Whether this node's acknowledgements must not count towards W at ``now``
        (:meth:`_unacked_if_rebuilding`): while it rebuilds, and after, until no peer
        can still suspect it for its silence to their reads (:attr:`_silent_until`).
        Session 54's review: counted again the moment the rebuild ended, its own W = 1
        write was not read at R = 3 through the key's next owner, which still
        suspected it and asked a fallback instead (5 of 56 puts made in the first
        moments after the rebuild, seeds 0-19, dvv; a W = 1 delete's value read back,
        3 of 63: ``tests/impl/test_rebuilt_node_acks_review.py``). The price: W = 1
        puts through it go to a fallback (hinted) for ``request_timeout +
        max_retry_after`` seconds after its last silent read (9 s by default)."""
        return self.rebuild.active or now < self._silent_until

    def rebuild_grace(self, now: float) -> float | None:
        """The seconds (> 0) until this node's own reads and acknowledgements count
        again after its rebuild ended, or None: while it rebuilds (``rebuild`` in
        ``/status`` says so) and once they count. They stay uncounted for
        ``request_timeout + max_retry_after`` seconds (9 s by default) after its
        last read it left unanswered while rebuilding (:meth:`_acks_uncounted`: a
        peer may still suspect it and read through a fallback). ``rebuild_grace``
        in ``/status`` (session 57: red team 6 read a 503 ``not counted: n3 (the
        coordinator's own read, not rebuilt)`` at R = 1 while ``/status`` showed
        ``rebuild`` null, and nothing an operator sees said why)."""
        if self.rebuild.active or now >= self._silent_until:
            return None
        return self._silent_until - now

    def own_write_uncounted_when(self, now: float) -> str:
        """When this coordinator's own write counts towards W again, in a phrase for a
        put's 503 (:attr:`impl.put_coordinator.PutCoordinator.uncounted_when`), or ""
        once it counts: while it rebuilds, at most ``request_timeout +
        max_retry_after`` seconds after the rebuild's exchanges end; in the grace
        after it, the seconds of :meth:`rebuild_grace` (session 57: the get's 503
        said so, the put's did not)."""
        if self.rebuild.active:
            return (f"{len(self.rebuild.pending)} exchanges pending: its own writes count "
                    "again at most "
                    f"{self.config.request_timeout + self.detector.max_retry_after:.1f} s "
                    "after they end")
        left = self.rebuild_grace(now)
        if left is None:
            return ""
        return (f"just rebuilt: its own writes count again in {left:.1f} s, "
                "see rebuild_grace in /status")

    def own_read_uncounted_why(self, key: bytes, now: float) -> str:
        """Why this coordinator's own read of ``key`` does not count towards R at
        ``now`` (:meth:`_uncounted_read`), and when it counts again, in a phrase for
        a get's 503 (:attr:`impl.get_coordinator.GetCoordinator.uncounted_why`):
        rebuilding (the exchanges pending; counted at most ``request_timeout +
        max_retry_after`` seconds after the rebuild ends), just rebuilt (the
        seconds of :meth:`rebuild_grace`), an empty copy in a store not every live
        peer has named yet (:data:`impl.restore_guard.FRESH_UNCONFIRMED_META`), or,
        each of those over by ``now`` (the 503 comes at the get's deadline, its
        own read was judged at its start), counted now."""
        if self.rebuild.active:
            return (f"not rebuilt, {len(self.rebuild.pending)} exchanges pending: its own "
                    "reads count again at most "
                    f"{self.config.request_timeout + self.detector.max_retry_after:.1f} s "
                    "after they end")
        why: list[str] = []
        if self._unrebuilt_copy(key, self.replica.local_record(key)):  # (unconfirmed)
            why.append("an empty copy in a store not every live peer has named yet: "
                       "counted once they have")
        left = self.rebuild_grace(now)
        if left is not None:
            why.insert(0, f"just rebuilt: its own reads count again in {left:.1f} s")
            why.append("see rebuild_grace in /status")
        return ", ".join(why) or "uncounted at the get's start: its own reads count now"

    def _unacked_if_rebuilding(self, handler: Callable[[float, str, Any], list[Effect]]
                               ) -> Callable[[float, str, Any], list[Effect]]:
        """While rebuilding, a ``ReplicaPut`` (not a hint it keeps for another node)
        is stored and not acknowledged, and its own write as a coordinator does not
        count either (:attr:`impl.put_coordinator.PutCoordinator.uncounted_own`):
        until the whole store is rebuilt its copies count towards W no more than a
        read counts its copies of ranges not rebuilt towards R
        (:meth:`_silent_if_rebuilding`). The coordinator's replica timeout hands the
        part to a fallback, hinted; its own part goes to one at once, or the put
        fails when W is out of reach without it (``replicas_failed``, 503:
        :meth:`impl.put_coordinator.PutCoordinator._part_failed`). (Silence, as to
        reads: a ``ReplicaPutFailed`` would tell the coordinator at once, but it
        says the replica kept nothing, which the spec's refinement maps; kept, the
        copy is one anti-entropy need not send again.)

        Why the whole store and not the key's range: its silence to reads of the
        ranges it has not rebuilt makes its peers' failure detectors suspect it,
        and a peer that suspects it reads a key of a range it has rebuilt through a
        fallback instead; counted towards W for such a key, its W = 1 write was
        not read at R = 3 (1 of 12 at seed 4, the ``_stale_reads`` probe of
        ``tests/impl/test_rebuilding_w1_ack_review.py``; 7 of 240 at seeds 0-19, dvv).

        A ``HintDelivery`` of a key of a range it replicates and has not rebuilt is
        stored and not acknowledged (no ``HintAck``; during a ring change only for a
        key it owns on both rings, whose handoffs must end for its ranges to move:
        :meth:`_unrebuilt_mine`): the
        fallback keeps the hint (deleted only on the intended node's ``HintAck``:
        :mod:`impl.handoff`), answers reads with it (``hinted_reads``) and delivers
        it again until the range is rebuilt. Handed back at once, a hint a fallback
        acknowledged for this node left the reads' reach: two nodes rebuilding,
        W = 2 acknowledged by the fallbacks standing in for both, a read at R = 2
        through the third owner not found (1 of 12 keys at seed 0:
        ``tests/impl/test_rebuilding_acks_agree.py``).

        The quorum argument: a write counts W acknowledgements of nodes other than
        the rebuilding one (a fallback's for it among them, hinted, which the
        fallback's reads answer with); a read counts R answers, at most one of
        them the rebuilding node's (of a range it has rebuilt), so at least R - 1
        of the others': (R - 1) + W > N - 1, the two meet among the N - 1 others.
        Before session 54 its own write and its acks counted towards W while its
        copies were silent to reads: a put at W = 1 through it, read at once at
        R = 3 through another owner, not found (3 of 12 keys, seed 7: the review's
        test). Counted as ``rebuild-unacked-put`` and ``rebuild-unacked-hint``."""
        def on_put(now: float, src: str, message: Any) -> list[Effect]:
            effects = handler(now, src, message)
            if not self._acks_uncounted(now):
                return effects
            if isinstance(message, ReplicaPut):
                if message.hint not in ("", self.name):  # a hint kept for another node
                    return effects
            elif not self._unrebuilt_mine(message.key, message.moves):  # (a HintDelivery)
                return effects
            self.stats["rebuild-unacked-hint" if isinstance(message, HintDelivery)
                       else "rebuild-unacked-put"] += 1
            return [effect for effect in effects if not (isinstance(effect, Send) and isinstance(
                effect.message, ReplicaPutAck | HintAck))]
        return on_put

    # ------------------------------------------------------------ the shadow round

    def _defer(self, now: float, method: str, args: tuple[object, ...]) -> list[Effect]:
        """Keep an input for after the shadow round (:meth:`start`): a timer always,
        an operator's leave always (once: a second one while one waits is the same
        request; session 50's mutmut run found it dropped past the cap, the
        operator's request lost while ``vdynamo leave`` waited for it), a client
        request or peer message up to :data:`SHADOW_DEFERRED_LIMIT`
        (beyond, dropped: a client request is answered with OverloadedError); a
        peer's anti-entropy step only while the round waits for its peers and fewer
        than :data:`SHADOW_SHED_BACKLOG` inputs wait (else shed as a lost message:
        session 41; shed while the round replays too, since its review: beside
        three CPU burners, a replay of one input per loop turn held 256 steps for
        good, refilled as fast as it replayed them); a HintDelivery
        equal to one of the same sender and hint id still waiting is dropped,
        counted ``shadow-round-duplicate-hint``: a fallback resends an unacked hint
        every ``request_timeout`` (:mod:`impl.handoff`), and a round of 2 s with
        512 hints for the node at three fallbacks deferred 464 resends (session 41's
        review; the replay acks the one kept)."""
        shadow = self.shadow
        assert shadow is not None
        if method == "leave" and any(kept == "leave" for kept, _ in shadow.deferred):
            return []
        if method != "fire" and method != "leave":
            message = args[-1]
            if isinstance(message, HintDelivery) and (  # a resend of a hint waiting?
                    shadow.hints.get((args[0], message.hint_id)) == message):
                self.stats["shadow-round-duplicate-hint"] += 1
                return []
            if (method == "receive" and isinstance(message, MerkleExchange | KeyRecords)
                    and (shadow.over or len(shadow.deferred) >= SHADOW_SHED_BACKLOG)):
                self.stats["shadow-round-shed"] += 1
                shadow.shed += 1
                if shadow.shed == 1:
                    self.log.append(f"{now:.3f} shadow round: {len(shadow.deferred)} inputs "
                                    "waiting, shedding peers' anti-entropy steps "
                                    "(shadow-round-shed)")
                return []
            if shadow.kept >= SHADOW_DEFERRED_LIMIT:
                self.stats["shadow-round-dropped"] += 1
                shadow.dropped += 1
                if shadow.dropped == 1:
                    self.log.append(f"{now:.3f} shadow round: {SHADOW_DEFERRED_LIMIT} inputs "
                                    "deferred already, dropping more (shadow-round-dropped)")
                request = args[0]
                if method == "client_request" and isinstance(request, GetRequest | PutRequest):
                    return [Reply(request.request_id, error=OverloadedError(
                        f"node {self.name} is in its startup shadow round and holds "
                        f"{SHADOW_DEFERRED_LIMIT} requests already"))]
                return []
            shadow.kept += 1
            if isinstance(message, HintDelivery):
                shadow.hints[(args[0], message.hint_id)] = message
        shadow.deferred.append((method, args))
        self.stats["shadow-round-deferred"] += 1
        return []

    def _of_this_start(self, message: Gossip) -> bool:
        """Whether gossip ``message`` was sent after its sender heard of this start of
        the store: its ``yours`` names this start, or a later start than this one's
        first generation (a rollback: the store is set aside; the generation a
        set-aside takes is such a one). A gossip sent before the restart and delivered during
        its shadow round names an earlier start, or none: it says nothing of this
        one, and answered the round before session 36 (a restored store whose
        peers' gossips of its backup's start were in flight served unconfirmed as
        if answered, its guard confirmed: it could advance its generation past the
        count its peers heard and never be set aside,
        ``tests/impl/test_stale_gossip_shadow_round.py``)."""
        guard = self.guard
        yours = message.yours
        if guard is None or not yours:
            return False
        # (a generation taken since, advanced or by a set-aside, is one of these too)
        return same_start(yours, self._started_as) or is_rollback(self._started_as, yours)

    def _shadow_heard(self, now: float, src: str, answers: bool = True) -> list[Effect]:
        """A gossip from ``src`` was handled: the round ends once every peer asked
        gossiped since it heard of this start (``answers``: :meth:`_of_this_start`;
        its :class:`~impl.timers.ShadowRound` moved to now).

        A gossip from a peer the round waits for that does not answer it (its
        ``yours`` names no start of this one) is asked back at once: a gossip with
        ``reply`` (stamped with this start, which the peer then hears of, and
        answers as the first gossip of a start it had not heard of, naming it;
        :meth:`receive`). The peer is alive and has not heard of this start: the
        round's first ask was lost (the peer was down, restarting too), or crossed
        the peer's gossip. Until session 37 the round waited for the peer's own next
        gossip to it: two nodes restarted together, the one whose ask was lost (its
        peer not up yet) waited for it up to ``shadow_round_s``; and so did a
        brand-new cluster's nodes, each announcing (:meth:`_announce_fresh`) to the
        peers not yet started (docs/runtime.md, "Two nodes restarted together
        (session 37)")."""
        shadow = self.shadow
        if shadow is None or shadow.over:
            return []
        asks = self._shadow_asks_more()
        if not answers:
            if src in shadow.waiting:
                self.stats["shadow-asked-again"] += 1
                shadow.asked_at[src] = now
                asks.append(Send(src, Gossip(self.gossiper.view.to_bytes(), reply=True)))
            return asks
        if src not in shadow.waiting:
            return asks
        shadow.waiting.discard(src)
        if shadow.waiting:
            return asks
        shadow.over = True
        self.stats["shadow-round-answered"] += 1
        self.log.append(f"{now:.3f} shadow round: every peer asked answered in "
                        f"{now - shadow.started:.3f} s; replaying {len(shadow.deferred)} "
                        "deferred inputs")
        return [SetTimer(ShadowRound(), now)]

    def _shadow_asks_more(self) -> list[Effect]:
        """The round asks every live member the answers name too (session 28's data
        probe): a replaced disk starts from its configured view, which lacks the
        members that joined since, and a claim it made before (strategy 3) may have
        reached one of those alone; not asked, the claimant claimed again at the
        same versions with another plan, and the two claims merged into a view that
        gives a token to two nodes, which every node refuses (the cluster split for
        good, ``tests/impl/test_claimant_wiped_mid_claim.py``)."""
        shadow, guard = self.shadow, self.guard
        assert shadow is not None and guard is not None
        more = [node for node in self.gossiper.view.live_nodes
                if node != self.name and node not in shadow.asked]
        if not more:
            return []
        shadow.ask(more, self._now)
        view = self.gossiper.view.to_bytes()
        return [self._stamp(Send(peer, Gossip(view, reply=True)), guard) for peer in more]

    def _shadow_ask_again(self, now: float, effects: list[Effect]) -> list[Effect]:
        """A gossip round during the shadow round (``effects``: its own): ask again
        every peer the round still waits for that gossiped since the round began
        (it is up: its ask back, :meth:`_shadow_heard`, or the answer to it was
        lost) and was last asked at least half a gossip interval ago, counted
        ``shadow-asked-again``; the round's own gossip to a peer counts as its ask.
        Cassandra's shadow round resends its SYN to the seeds until one answers
        (CASSANDRA-8072). Until the review of session 37 such a round waited for a
        gossip of either node to the other, at random, or its timeout. A peer not
        heard from is not asked again (it may be down: its first gossip is asked
        back): asked too, fewer rounds timed out under random loss, but every
        seeded schedule with a peer down in a round moved (docs/runtime.md, "Two
        nodes restarted together (session 37)", "Review (session 37)")."""
        shadow = self.shadow
        if shadow is None or shadow.over:
            return []
        for effect in effects:
            if type(effect) is Send and isinstance(effect.message, Gossip) and (
                    effect.dest in shadow.waiting):
                shadow.asked_at[effect.dest] = now
        again = [peer for peer in sorted(shadow.waiting)
                 if self.last_heard.get(peer, -math.inf) >= shadow.started
                 and now - shadow.asked_at.get(peer, shadow.started)
                 >= self.config.gossip_interval / 2]
        if not again:
            return []
        self.stats["shadow-asked-again"] += len(again)
        view = self.gossiper.view.to_bytes()
        for peer in again:
            shadow.asked_at[peer] = now
        return [Send(peer, Gossip(view, reply=True)) for peer in again]

    def _shadow_step(self, now: float) -> list[Effect]:
        """:class:`~impl.timers.ShadowRound` fired: the round is over (at its timeout
        if some peer asked has not answered); replay the first deferred input, and
        come back at once for the next (the driver performs this one's writes first)."""
        shadow = self.shadow
        if shadow is None:
            return []
        if not shadow.over:
            shadow.over = True
            self.stats["shadow-round-timeout"] += 1
            silent = sorted(shadow.waiting)
            if self.guard is not None:
                self.guard.track(silent)
            self._log_life(
                f"{now:.3f} shadow round timed out after {now - shadow.started:.3f} s, "
                f"no gossip from {', '.join(silent)}"
                + ("; no peer answered: serving this store unconfirmed (a restored "
                   "store is set aside only once a peer tells it)"
                   if len(silent) == len(shadow.asked) else "")
                + f"; replaying {len(shadow.deferred)} deferred inputs")
        if not shadow.deferred:
            self.shadow = None
            return []
        method, args = shadow.deferred.popleft()
        if method != "fire" and method != "leave":  # (a leave is held outside the cap)
            shadow.kept -= 1
            message = args[-1]
            if isinstance(message, HintDelivery) and (
                    shadow.hints.get((args[0], message.hint_id)) is message):
                del shadow.hints[(args[0], message.hint_id)]  # a resend now waits again
        if not shadow.deferred:
            self.shadow = None  # the last one: it runs as any input
            return self._replay(now, method, args)
        return [*self._replay_guarded(now, method, args), SetTimer(ShadowRound(), now)]

    def _replay_guarded(self, now: float, method: str, args: tuple[object, ...]
                        ) -> list[Effect]:
        """Replay one deferred input while others still wait: the round stays on
        meanwhile, so the input runs with it lifted. A StorageError out of it (a
        deferred timer's handler: the engine failed) is counted and logged, not
        raised: the inputs behind it still replay (raised, it left the round on
        with no timer, every later input deferred for good)."""
        shadow, self.shadow = self.shadow, None
        try:
            return self._replay(now, method, args)
        except StorageError as error:
            self._discard_writes()
            self.stats["storage-error"] += 1
            self.log.append(f"{now:.3f} storage error replaying a deferred {method}: {error}")
            return []
        finally:
            self.shadow = shadow

    def _replay(self, now: float, method: str, args: tuple[object, ...]) -> list[Effect]:
        """One deferred input through its normal path, at ``now``."""
        if method == "leave":
            return self.leave(now, scan=bool(args[0]))
        replayed: Callable[..., list[Effect]] = getattr(self, method)
        result: list[Effect] = replayed(now, *args)
        return result

    def _discard_writes(self) -> None:
        """Drop the staged writes of the current input; the Merkle trees, told of
        them already, and the hint store's index are rebuilt from the engine."""
        self._unadvance(self._unadvanced)
        self._unadvanced = None
        if self.storage.take():
            self.anti_entropy.rebuild()
            self.hints.reload()

    def _drop(self, src: object, why: str) -> list[Effect]:
        self.stats["dropped"] += 1
        self.log.append(f"{self._now:.3f} dropped message from {src!r}: {why}")
        return []
