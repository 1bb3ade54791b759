"""The production Dynamo node: a sans-IO core.

Theory of operation
-------------------
A :class:`Node` is driven by its caller (the simulator, the asyncio runtime, or a
test), which hands it inputs with the current time and performs the effects it
returns (:mod:`impl.effects`)::

    node.client_request(now, request)  # a client's GetRequest / PutRequest
    node.receive(now, src, message)    # a peer message (impl.messages)
    node.tick(now)                     # time passed: timeouts, gossip, hint scans,
                                       # anti-entropy rounds
    node.leave(now)                    # hand this node's key ranges over and leave

It never blocks, sleeps, reads a clock or draws a random number other than from
its own ``random.Random(seed)``. Its durable state is the storage engine's (the
versions, the hints, and meta entries for membership); everything else (requests
in flight, the failure detector's suspicions) is volatile: a restart after a
crash is a new Node on the same storage.

Requests. Any node accepts a client request. A node not among the key's top N
(the first N nodes of the key's preference list) forwards it to the first of the
top N it believes reachable and relays the answer; the top-N node coordinates:
see :mod:`impl.coordinator` for quorums, the sloppy quorum, and read repair, and
:mod:`impl.versions` for the clock modes. Contexts are opaque and authenticated
(:mod:`impl.context`).

Failure handling. The failure detector is local: a peer that lets a request time
out is *suspected* for ``suspicion_timeout`` seconds (any message from it clears
the suspicion), and suspected peers are skipped when choosing replicas, which
sends their share of the work to fallbacks with hints (sloppy quorum). Hints are
kept in the storage engine's hint store, scanned every ``hint_scan_interval``,
delivered to the intended node when it is not suspected, and deleted only when
it acknowledged (hinted handoff, :meth:`Node._on_hint_ack`).

Bad input. A client request is checked where it enters (types, key and value
size, R/W in 1..N, the context's authentication); a bad one is answered with an
error Reply and changes nothing. A bad peer message (wrong type, unknown sender,
a record that does not decode, over-large) is dropped, counted in
:attr:`Node.stats` and logged in :attr:`Node.log`, and changes nothing.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import random
from collections.abc import Callable
from typing import Any, ClassVar

from impl import membership as gossip
from impl.antientropy import RangeTrees, from_exchange, to_exchange
from impl.config import ClusterConfig, check_node_name
from impl.context import decode_context, encode_context_pairs
from impl.coordinator import (
    ForwardOp,
    GetOp,
    PutOp,
    ReplyTo,
    ack_counts,
    next_fallback,
    put_quorum_reached,
    read_quorum_reached,
    read_repair_targets,
)
from impl.effects import Effect, GetResult, PutResult, Reply, Send, SetTimer
from impl.errors import (
    BadMessageError,
    BadRequestError,
    ConfigError,
    DynamoError,
    QuorumError,
    StorageError,
    TooLargeError,
    UnknownNodeError,
)
from impl.failure_detector import FailureDetector
from impl.forwarding import FORWARD_MEMORY, ForwardingMixin
from impl.handoff import MAX_HINTS_IN_FLIGHT, HandoffMixin
from impl.membership import Membership, MemberStatus
from impl.merkle import Buckets, Level, OutOfSync, respond, start
from impl.messages import (
    Forward,
    ForwardReply,
    GetRequest,
    Gossip,
    HintAck,
    HintDelivery,
    KeyRecords,
    MerkleExchange,
    PutRequest,
    ReadRepair,
    ReplicaGet,
    ReplicaGetReply,
    ReplicaPut,
    ReplicaPutAck,
)
from impl.rebalance import ROUTING, MembershipMixin
from impl.storage.base import Storage
from impl.versions import (
    ClockMode,
    Record,
    apply_put,
    context_pairs,
    decode_record,
    encode_record,
    lifetime_actor,
    merge,
    replicated_part,
    sibling_count,
    values,
)
from spec.ring import Partitioning

__all__ = ["Node"]

_LOG_LINES = 1000
_FORWARD_MEMORY = FORWARD_MEMORY
_DECODE_CACHE = 512  # records kept decoded (only small ones: at most 512 x 4 KiB)
_DECODE_CACHE_RECORD = 4096
_PREFERENCE_CACHE = 4096  # preference lists kept, of the keys most recently routed
_MAX_HINTS_IN_FLIGHT = MAX_HINTS_IN_FLIGHT
_KEY_RECORDS_KEYS = 256  # out-of-sync keys moved per anti-entropy exchange, at most
_KEY_RECORDS_BYTES = 8 << 20  # ... and their bytes (one key at least)
_ROUTING = ROUTING
_MERKLE_FANOUT = 16
_MERKLE_DEPTH = 3


class Node(ForwardingMixin, HandoffMixin, MembershipMixin):
    """One Dynamo node (see the module docstring for how to drive it).

    ``name`` is the node's name; when it is not in ``config.nodes`` the node is
    *joining*: it gossips with the seed nodes, takes tokens by the configured
    partitioning strategy and spreads them by gossip, and the current owners hand
    it the key ranges it now owns. ``storage`` is the node's storage engine (a
    restart is a new Node on the same storage). ``seed`` seeds the node's own
    random generator; ``now`` is the current time.
    """

    def __init__(
        self, name: str, config: ClusterConfig, storage: Storage, *, seed: int,
        now: float = 0.0,
    ) -> None:
        check_node_name(name)
        if not isinstance(config, ClusterConfig):
            raise ConfigError(f"config: must be a ClusterConfig, got {type(config).__name__}")
        if not isinstance(storage, Storage):
            raise ConfigError(f"storage: must implement impl.storage.base.Storage, got "
                              f"{type(storage).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed: must be an int, got {seed!r}")
        self.name = name
        self.config = config
        self.storage = storage
        self.rng = random.Random(seed)
        self.mode = ClockMode(config.clock)
        self.stats: collections.Counter[str] = collections.Counter()
        self.log: collections.deque[str] = collections.deque(maxlen=_LOG_LINES)
        self._now = float(now)
        incarnation = int(storage.get_meta("incarnation") or b"0") + 1
        storage.set_meta("incarnation", str(incarnation).encode())
        #: the id this node mints dots under: new for each storage lifetime (kv679)
        self.actor = lifetime_actor(storage, name, seed=seed, now=now,
                                    epochs=config.actor_epochs)
        self._op_ids = itertools.count((incarnation & 0x7FFFFF) << 40)
        self._timer_seq = itertools.count()
        self._timers: list[tuple[float, int, str, int]] = []
        self._announced: float | None = None
        self._suspected: dict[str, float] = {}
        self._puts: dict[int, PutOp] = {}
        self._gets: dict[int, GetOp] = {}
        self._forwards: dict[int, ForwardOp] = {}
        self._forwarded_seen: collections.OrderedDict[tuple[str, int], None] = (
            collections.OrderedDict())
        self._hints_in_flight: dict[int, float] = {}
        self._detector = FailureDetector(
            retry_after=config.suspicion_timeout,
            max_retry_after=max(config.suspicion_timeout, 8 * config.gossip_interval),
            phi_threshold=None)
        self._trees = RangeTrees(_MERKLE_FANOUT, _MERKLE_DEPTH)
        self.view: Membership = self._load_view()
        self._known_nodes = frozenset(self.view.nodes)
        self._leaving = self.status is MemberStatus.LEAVING
        self._decoded: dict[bytes, Record] = {}
        self._empty_encoding = encode_record(Record.empty(self.mode))
        # hint id -> (intended node, key): an index of the storage engine's hint
        # store, rebuilt from it at start
        self._hint_index: dict[int, tuple[str, bytes]] = {
            hint.hint_id: (hint.intended, hint.key) for hint in storage.hints()}
        # (intended node, key) -> the ids of its hints: finds an identical hint fast
        self._hints_by_target: dict[tuple[str, bytes], set[int]] = {}
        for hint_id, target in self._hint_index.items():
            self._hints_by_target.setdefault(target, set()).add(hint_id)
        self.partitioning: Partitioning = self._routing_partitioning(self.view)
        # key -> its preference list under _preferences_of (recent keys only)
        self._preferences: dict[bytes, tuple[str, ...]] = {}
        self._preferences_of: Partitioning | None = None
        self._trees.reset(self._my_ranges(), storage)
        member = self.view.get(name)
        #: a joining node waits for a seed's view before it takes tokens
        self._join_pending = member is None
        self._schedule(now + self.rng.uniform(0, config.gossip_interval), "gossip")
        self._schedule(now + self.rng.uniform(0, config.hint_scan_interval), "hints")
        self._schedule(now + self.rng.uniform(0, config.anti_entropy_interval), "anti-entropy")
        #: a buffered engine is flushed every flush_interval (a crash loses at most that)
        self._buffered = getattr(storage, "fsync", "always") == "buffered"
        if self._buffered:
            self._schedule(now + config.flush_interval, "flush")

    # ================================================================== public API

    def client_request(self, now: float, request: GetRequest | PutRequest) -> list[Effect]:
        """A client's get or put arrives at this node; effects (a Reply sooner or
        later, Sends to peers, SetTimers) come back."""
        self._now = now
        out: list[Effect] = []
        try:
            self._check_request(request)
        except DynamoError as error:
            self.stats["bad-request"] += 1
            request_id = getattr(request, "request_id", 0)
            if isinstance(request_id, bool) or not isinstance(request_id, int):
                request_id = 0
            out.append(Reply(request_id, error=error))
            return out
        try:
            self._route(now, request, ReplyTo(request.request_id), out)
        except StorageError as error:  # not acknowledged: the client hears why
            self.stats["storage-error"] += 1
            out.append(Reply(request.request_id, error=error))
        return self._finish(out)

    def receive(self, now: float, src: str, message: object) -> list[Effect]:
        """A message from peer ``src``. A malformed one is dropped and counted."""
        self._now = now
        out: list[Effect] = []
        handler = self._HANDLERS.get(type(message))
        if handler is None:
            self._drop(src, f"unknown message type {type(message).__name__}")
            return self._finish(out)
        if not isinstance(src, str) or src == self.name or not (
                self._known(src) or isinstance(message, Gossip)):
            self._drop(src, f"{type(message).__name__} from unknown node {src!r}")
            return self._finish(out)
        try:
            # Re-run the constructor's checks: a message built around them is refused too.
            message.__post_init__()  # type: ignore[attr-defined]
        except DynamoError as error:
            self._drop(src, str(error))
            return self._finish(out)
        if self._suspected.pop(src, None) is not None:
            self._detector.heard_from(src, now)  # clears its timeout back-off
        try:
            handler(self, now, src, message, out)
        except StorageError as error:  # the engine failed: nothing acknowledged
            self.stats["storage-error"] += 1
            self.log.append(f"{now:.3f} storage error handling {type(message).__name__}: "
                            f"{error}")
        except (DynamoError, ValueError) as error:  # bad data deep inside (a clock, a view)
            self._drop(src, f"{type(message).__name__}: {error}")
        return self._finish(out)

    def tick(self, now: float) -> list[Effect]:
        """Time passed: run every timer due at ``now``."""
        self._now = now
        out: list[Effect] = []
        self._announced = None
        while self._timers and self._timers[0][0] <= now:
            _, _, kind, ident = heapq.heappop(self._timers)
            self._TIMERS[kind](self, now, ident, out)
        return self._finish(out)

    def leave(self, now: float) -> list[Effect]:
        """Start leaving the cluster (hand this node's key ranges over)."""
        self._now = now
        out: list[Effect] = []
        member = self.view.get(self.name)
        if member is None or member.status not in (MemberStatus.JOINING, MemberStatus.UP):
            return self._finish(out)
        self._apply_view(gossip.leave(self.view, self.name))
        self._gossip_to(self._gossip_peer(), out)
        self._scan_hints(now, 0, out)
        return self._finish(out)

    # ----------------------------------------------------------- test hooks

    def operations(self) -> dict[int, PutOp | GetOp]:
        """The put and get operations this node coordinates and that are still live,
        by op id (the objects themselves: read them, do not change them)."""
        live: dict[int, PutOp | GetOp] = dict(self._puts)
        live.update(self._gets)
        return live

    def fire_timer(self, now: float, kind: str, ident: int = 0) -> list[Effect]:
        """Run exactly one timer (``kind`` one of :attr:`TIMER_KINDS`, ``ident`` the
        operation id for put/get/forward, else 0) at ``now``, whether due or not; its
        pending entry, if any, is taken off the schedule. For a driver that decides
        itself when timers fire (the refinement harness)."""
        handler = self._TIMERS.get(kind)
        if handler is None:
            raise ValueError(f"kind: unknown timer {kind!r}; one of {sorted(self._TIMERS)}")
        self._now = now
        out: list[Effect] = []
        for index, (_, _, pending_kind, pending_ident) in enumerate(self._timers):
            if pending_kind == kind and pending_ident == ident:
                self._timers[index] = self._timers[-1]
                self._timers.pop()
                heapq.heapify(self._timers)
                break
        self._announced = None
        handler(self, now, ident, out)
        return self._finish(out)

    def set_suspected(self, suspected: dict[str, float]) -> None:
        """Replace the failure detector's suspicions: ``{node: until}`` (an oracle
        failure detector for tests; ``until`` may be ``math.inf``)."""
        self._suspected = {node: float(until) for node, until in suspected.items()
                           if node != self.name}

    def reset_hint_retries(self) -> None:
        """Forget which hints are in flight, so the next hint scan sends every hint
        whose intended node is reachable at once."""
        self._hints_in_flight.clear()

    # ----------------------------------------------------------- introspection

    def preference_list(self, key: bytes) -> tuple[str, ...]:
        """The key's preference list as this node sees the ring (top N first)."""
        cached = self._preferences.get(key)
        if cached is not None and self._preferences_of is self.partitioning:
            return cached
        if self._preferences_of is not self.partitioning:
            self._preferences.clear()
            self._preferences_of = self.partitioning
        elif len(self._preferences) >= _PREFERENCE_CACHE:
            self._preferences.clear()
        preference = self._preferences[key] = self.partitioning.preference_list(key)
        return preference

    def record(self, key: bytes) -> Record | None:
        """The versions record this node stores for ``key`` (None: none)."""
        raw = self.storage.read(key)
        return None if raw is None else decode_record(raw, self.mode)

    def suspects(self, node: str) -> bool:
        """Whether the failure detector currently suspects ``node``."""
        until = self._suspected.get(node)
        return until is not None and until > self._now

    @property
    def status(self) -> MemberStatus | None:
        """This node's status in its own membership view (None: not joined yet)."""
        member = self.view.get(self.name)
        return None if member is None else member.status

    @property
    def has_left(self) -> bool:
        """Whether this node left the ring (after handing all its data over)."""
        return self.status is MemberStatus.LEFT

    @property
    def pending(self) -> int:
        """Requests in flight at this node (coordinated or forwarded)."""
        return len(self._puts) + len(self._gets) + len(self._forwards)

    # ================================================================== requests

    def _check_request(self, request: object) -> None:
        if not isinstance(request, GetRequest | PutRequest):
            raise BadRequestError(
                f"request must be a GetRequest or a PutRequest, got {type(request).__name__}")
        # Re-run the constructor's checks: a request built around them is refused too.
        request.__post_init__()
        config = self.config
        if len(request.key) > config.max_key_bytes:
            raise TooLargeError(
                f"key is {len(request.key)} bytes, over the limit of {config.max_key_bytes}")
        if isinstance(request, GetRequest):
            if request.r is not None and request.r > config.n:
                raise BadRequestError(f"GetRequest.r: must be in 1..{config.n}, got {request.r}")
            return
        if len(request.value) > config.max_value_bytes:
            raise TooLargeError(f"value is {len(request.value)} bytes, over the limit of "
                                f"{config.max_value_bytes}")
        if request.w is not None and request.w > config.n:
            raise BadRequestError(f"PutRequest.w: must be in 1..{config.n}, got {request.w}")
        if self.mode is ClockMode.CLIENT_VCLOCK and not request.client_id:
            raise BadRequestError("PutRequest.client_id: the client-vclock mode needs one")
        self._context_of(request)

    def _context_of(self, request: PutRequest) -> Any:
        return decode_context(request.context, key=request.key, mode=self.mode,
                              secret=self.config.secret,
                              max_bytes=self.config.max_context_bytes)

    def _coordinate(self, now: float, request: GetRequest | PutRequest, reply_to: ReplyTo,
                    out: list[Effect]) -> None:
        if isinstance(request, PutRequest):
            self._coordinate_put(now, request, reply_to, out)
        else:
            self._coordinate_get(now, request, reply_to, out)

    def _split(self, key: bytes) -> tuple[tuple[str, ...], tuple[str, ...]]:
        preference = self.preference_list(key)
        top = preference[: self.config.n]
        fallbacks = preference[self.config.n:] if self.config.sloppy_quorum else ()
        return top, fallbacks

    # ------------------------------------------------------------------ put

    def _coordinate_put(self, now: float, request: PutRequest, reply_to: ReplyTo,
                        out: list[Effect]) -> None:
        context = self._context_of(request)
        key = request.key
        stored = self._local_record(key)
        record = apply_put(stored, context, request.value, coordinator=self.name,
                           client_id=request.client_id, now=now,
                           client_counter=request.client_counter, actor=self.actor,
                           truncation=self.config.truncation)
        if sibling_count(record) > self.config.max_siblings:
            self._answer(reply_to, None, BadRequestError(
                f"key has more than {self.config.max_siblings} siblings: read and "
                "reconcile them first"), out)
            return
        encoded = encode_record(record)
        sent = replicated_part(stored, record)
        replica_record = encoded if sent is record else encode_record(sent)
        result_context = self._context(key, record)
        top, fallbacks = self._split(key)
        op = PutOp(next(self._op_ids), key, replica_record, result_context,
                   request.w or self.config.w, top, fallbacks, reply_to,
                   now + self.config.request_timeout)
        # Written locally even when this node is not a replica of the key (a forwarded
        # request whose top N did not answer): its own record keeps the counters it
        # mints for the key increasing, so it never reuses a dot.
        self._store(key, encoded)
        if self.name in top:
            op.used.add(self.name)
            op.holder[self.name] = self.name
            op.filled.add(self.name)
        elif self.config.sloppy_quorum:  # this node stands in for the last slot, hinted
            slot = top[-1]
            self._add_hint(slot, key, replica_record)
            op.used.add(self.name)
            op.holder[slot] = self.name
            op.hinted[self.name] = slot
            op.filled.add(slot)
        self._puts[op.op_id] = op
        for slot in top:
            if slot not in op.holder:
                self._send_put_slot(op, slot, out, initial=True)
        self._check_put(op, out)
        if op.op_id in self._puts:
            self._schedule(min(now + self.config.replica_timeout, op.deadline), "put", op.op_id)

    def _send_put_slot(self, op: PutOp, slot: str, out: list[Effect], *, initial: bool) -> None:
        """Send the write for ``slot`` to the slot's own node when it is reachable
        (first round), else to the next fallback with a hint naming the slot."""
        if initial and self._reachable(slot):
            op.holder[slot] = slot
            op.used.add(slot)
            out.append(Send(slot, ReplicaPut(op.op_id, op.key, op.record)))
            return
        fallback = next_fallback(op.fallbacks, op.used, self._reachable_set(op.fallbacks))
        if fallback is None:  # no fallback left (or strict quorum): try the slot again
            op.holder[slot] = slot
            op.used.add(slot)
            out.append(Send(slot, ReplicaPut(op.op_id, op.key, op.record)))
            return
        op.holder[slot] = fallback
        op.used.add(fallback)
        op.hinted[fallback] = slot
        out.append(Send(fallback, ReplicaPut(op.op_id, op.key, op.record, hint=slot)))

    def _on_replica_put_ack(self, now: float, src: str, message: ReplicaPutAck,
                            out: list[Effect]) -> None:
        op = self._puts.get(message.op_id)
        if op is None or op.key != message.key:
            return
        slot = ack_counts(op, src, message.hint)
        if slot is None:
            self._drop(src, f"ack for put {message.op_id} that fills no slot")
            return
        op.filled.add(slot)
        self._check_put(op, out)

    def _check_put(self, op: PutOp, out: list[Effect]) -> None:
        if not op.replied and put_quorum_reached(op):
            op.replied = True
            self._answer(op.reply_to, PutResult(op.result_context), None, out)
        if len(op.filled) >= len(op.top):
            self._puts.pop(op.op_id, None)

    def _put_timer(self, now: float, op_id: int, out: list[Effect]) -> None:
        op = self._puts.get(op_id)
        if op is None:
            return
        if now >= op.deadline:
            del self._puts[op_id]
            if not op.replied:
                self._answer(op.reply_to, None, QuorumError(
                    f"put reached {len(op.filled)} of W={op.w} replicas before the timeout",
                    needed=op.w, got=len(op.filled)), out)
            return
        for slot in op.top:
            if slot in op.filled:
                continue
            holder = op.holder.get(slot)
            if holder is not None:
                self._suspect(holder)
            self._send_put_slot(op, slot, out, initial=False)
        self._schedule(min(now + self.config.replica_timeout, op.deadline), "put", op_id)

    # ------------------------------------------------------------------ get

    def _coordinate_get(self, now: float, request: GetRequest, reply_to: ReplyTo,
                        out: list[Effect]) -> None:
        key = request.key
        top, fallbacks = self._split(key)
        op = GetOp(next(self._op_ids), key, request.r or self.config.r, top, fallbacks,
                   reply_to, now + self.config.request_timeout)
        self._gets[op.op_id] = op
        if self.name in top:
            op.asked.add(self.name)
            op.holder[self.name] = self.name
            op.replies[self.name] = self._local_record(key)
        elif self.config.sloppy_quorum:  # coordinating as a fallback: its read counts
            op.asked.add(self.name)
            op.replies[self.name] = self._local_record(key)
        for slot in top:
            if slot not in op.holder:
                self._send_get_slot(op, slot, out, initial=True)
        self._check_get(op, out)
        if op.op_id in self._gets:
            self._schedule(min(now + self.config.replica_timeout, op.deadline), "get", op.op_id)

    def _send_get_slot(self, op: GetOp, slot: str, out: list[Effect], *, initial: bool) -> None:
        node: str | None = slot
        if not (initial and self._reachable(slot)):
            node = next_fallback(op.fallbacks, op.asked, self._reachable_set(op.fallbacks))
            if node is None:  # no fallback left (or strict quorum): ask the slot again
                node = slot
        assert node is not None
        op.holder[slot] = node
        op.asked.add(node)
        out.append(Send(node, ReplicaGet(op.op_id, op.key)))

    def _on_replica_get_reply(self, now: float, src: str, message: ReplicaGetReply,
                              out: list[Effect]) -> None:
        op = self._gets.get(message.op_id)
        if op is None or op.key != message.key or src not in op.asked:
            return
        record = self._decode(message.key, message.record) if message.record else None
        op.replies[src] = record if record is not None else Record.empty(self.mode)
        self._check_get(op, out)

    def _check_get(self, op: GetOp, out: list[Effect]) -> None:
        if not op.replied and read_quorum_reached(op):
            op.replied = True
            merged, _ = read_repair_targets(op)
            self._answer(op.reply_to, GetResult(values(merged), self._context(op.key, merged)),
                         None, out)
        if op.replied and op.asked <= set(op.replies):
            self._finish_get(op, out)

    def _finish_get(self, op: GetOp, out: list[Effect]) -> None:
        self._gets.pop(op.op_id, None)
        if op.replies and self.config.read_repair:
            self._read_repair(op, out)

    def _read_repair(self, op: GetOp, out: list[Effect]) -> None:
        """Send the reconciled record to every node that answered without it."""
        merged, stale = read_repair_targets(op)
        encoded = encode_record(merged) if stale else b""
        for node in stale:
            if node == self.name:
                self._merge_into_local(op.key, merged)
            else:
                out.append(Send(node, ReadRepair(op.key, encoded)))
        self.stats["read-repairs"] += len(stale)

    def _get_timer(self, now: float, op_id: int, out: list[Effect]) -> None:
        op = self._gets.get(op_id)
        if op is None:
            return
        if now >= op.deadline:
            if not op.replied:
                self._gets.pop(op_id, None)
                self._answer(op.reply_to, None, QuorumError(
                    f"get reached {len(op.replies)} of R={op.r} replicas before the timeout",
                    needed=op.r, got=len(op.replies)), out)
            else:
                self._finish_get(op, out)
            return
        for slot in op.top:
            holder = op.holder.get(slot)
            if op.replied or (holder is not None and holder in op.replies):
                continue
            if holder is not None:
                self._suspect(holder)
            self._send_get_slot(op, slot, out, initial=False)
        self._schedule(min(now + self.config.replica_timeout, op.deadline), "get", op_id)

    # ================================================================== replicas

    def _on_replica_put(self, now: float, src: str, message: ReplicaPut,
                        out: list[Effect]) -> None:
        record = self._decode(message.key, message.record)
        if message.hint and message.hint != self.name:
            if not self._known(message.hint):
                raise UnknownNodeError(f"hint names unknown node {message.hint!r}")
            self._add_hint(message.hint, message.key, encode_record(record))
            out.append(Send(src, ReplicaPutAck(message.op_id, message.key, message.hint)))
            return
        self._merge_into_local(message.key, record, message.record)
        out.append(Send(src, ReplicaPutAck(message.op_id, message.key)))

    def _on_replica_get(self, now: float, src: str, message: ReplicaGet,
                        out: list[Effect]) -> None:
        self._check_key(message.key)
        # A replica answers with its own record only: hinted replicas live in the
        # separate hint store (paper 4.6) and are not served to reads, as in the spec.
        encoded = self.storage.read(message.key) or b""
        if encoded == self._empty_encoding:
            encoded = b""
        out.append(Send(src, ReplicaGetReply(message.op_id, message.key, encoded)))

    def _on_read_repair(self, now: float, src: str, message: ReadRepair,
                        out: list[Effect]) -> None:
        record = self._decode(message.key, message.record)
        self._merge_into_local(message.key, record, message.record)

    # ================================================================== anti-entropy

    def _anti_entropy_timer(self, now: float, ident: int, out: list[Effect]) -> None:
        """Start one Merkle exchange per key range held, each with a random replica."""
        self._schedule(now + self.config.anti_entropy_interval, "anti-entropy")
        if not self.config.anti_entropy:
            return
        for lo, hi in self._trees.ranges:
            owners = [node for node in self.partitioning.range_owners(lo, self.config.n)
                      if node != self.name and self._reachable(node)]
            tree = self._trees.get(lo, hi)
            if not owners or tree is None:
                continue
            peer = owners[self.rng.randrange(len(owners))]
            out.append(Send(peer, to_exchange(next(self._op_ids), start(tree))))

    def _on_merkle_exchange(self, now: float, src: str, message: MerkleExchange,
                            out: list[Effect]) -> None:
        tree = self._trees.get(message.lo, message.hi)
        if tree is None:
            self.stats["anti-entropy-unknown-range"] += 1
            return
        answer = respond(tree, from_exchange(message))
        if isinstance(answer, OutOfSync):
            keys = self._key_batch(answer.keys)  # the rest: the next round
            records = tuple(self.storage.read(key) or b"" for key in keys)
            out.append(Send(src, KeyRecords(keys, records, message.session, reply=True)))
            self.stats["anti-entropy-keys"] += len(keys)
        elif isinstance(answer, Level | Buckets):
            out.append(Send(src, to_exchange(message.session, answer)))

    def _key_batch(self, keys: tuple[bytes, ...]) -> tuple[bytes, ...]:
        """As many out-of-sync keys as one KeyRecords may carry (bounded in count and
        in bytes, so that a long partition does not make one giant message)."""
        budget = _KEY_RECORDS_BYTES
        batch: list[bytes] = []
        for key in keys[:_KEY_RECORDS_KEYS]:
            raw = self.storage.read(key)
            budget -= len(key) + (len(raw) if raw else 0)
            if batch and budget < 0:
                break
            batch.append(key)
        return tuple(batch)

    def _on_key_records(self, now: float, src: str, message: KeyRecords,
                        out: list[Effect]) -> None:
        """Reconcile the records of out-of-sync keys (all decoded before any is written)."""
        theirs = [(key, self._decode(key, raw) if raw else None)
                  for key, raw in zip(message.keys, message.records, strict=True)]
        back_keys: list[bytes] = []
        back_records: list[bytes] = []
        for key, record in theirs:
            mine = self._local_record(key)
            merged = mine if record is None else merge(mine, record)
            if merged != mine:
                self._write_local(key, merged)
            if message.reply and not merged.is_empty and merged != record:
                back_keys.append(key)
                back_records.append(encode_record(merged))
        if back_keys:
            out.append(Send(src, KeyRecords(tuple(back_keys), tuple(back_records),
                                            message.session, reply=False)))

    # ================================================================== durability

    def _flush_timer(self, now: float, ident: int, out: list[Effect]) -> None:
        """Make a buffered engine's writes durable (every ``flush_interval``)."""
        self._schedule(now + self.config.flush_interval, "flush")
        self.storage.flush()

    # ================================================================== helpers

    def _known(self, node: str) -> bool:
        return node in self._known_nodes or node in self.config.nodes

    def _reachable(self, node: str) -> bool:
        if node == self.name:
            return True
        until = self._suspected.get(node)
        if until is None:
            return True
        if until <= self._now:
            del self._suspected[node]
            return True
        return False

    def _reachable_set(self, nodes: tuple[str, ...]) -> set[str]:
        return {node for node in nodes if self._reachable(node)}

    def _suspect(self, node: str) -> None:
        if node != self.name:
            self._detector.timed_out(node, self._now)
            record = self._detector.record(node)
            until = record.suspected_until if record is not None else None
            self._suspected[node] = (until if until is not None
                                     else self._now + self.config.suspicion_timeout)

    def _check_key(self, key: bytes) -> None:
        if len(key) > self.config.max_key_bytes:
            raise TooLargeError(f"key is {len(key)} bytes, over the limit of "
                                f"{self.config.max_key_bytes}")

    def _parse(self, raw: bytes) -> Record:
        """decode_record with a small cache: replicas see the same record bytes often."""
        record = self._decoded.get(raw)
        if record is None:
            record = decode_record(raw, self.mode)
            if len(raw) <= _DECODE_CACHE_RECORD:
                if len(self._decoded) >= _DECODE_CACHE:
                    self._decoded.clear()
                self._decoded[raw] = record
        return record

    def _decode(self, key: bytes, raw: bytes) -> Record:
        self._check_key(key)
        record = self._parse(raw)
        # Each sibling takes at least 4 bytes of the record, each value less than the
        # record: a small record cannot break either limit (skip counting).
        if len(raw) <= self.config.max_value_bytes and len(raw) // 4 <= (
                self.config.max_siblings * 2):
            return record
        if sibling_count(record) > self.config.max_siblings * 2:
            raise BadMessageError(f"record holds {sibling_count(record)} siblings, too many")
        if any(len(value) > self.config.max_value_bytes for value in values(record)):
            raise TooLargeError("record holds a value over the size limit")
        return record

    def _local_record(self, key: bytes) -> Record:
        raw = self.storage.read(key)
        if raw is None:
            return Record.empty(self.mode)
        return self._parse(raw)

    def _merge_into_local(self, key: bytes, record: Record, raw: bytes | None = None) -> None:
        """Merge ``record`` (whose canonical bytes are ``raw``, if known) into the key's
        local record; write only if that changes it."""
        mine = self._local_record(key)
        merged = merge(mine, record)
        if merged is mine or merged == mine:
            return
        self._store(key, raw if merged is record and raw is not None else encode_record(merged))

    def _write_local(self, key: bytes, record: Record) -> None:
        encoded = encode_record(record)
        if self.storage.read(key) != encoded:
            self._store(key, encoded)

    def _store(self, key: bytes, encoded: bytes) -> None:
        """The one place versions are written: storage, Merkle tree, and (while this
        node leaves) a hint for each of the key's new replicas."""
        self.storage.write(key, encoded)
        self._trees.update(key, encoded)
        if self._leaving:  # a late write: hand it on too
            for target in self.partitioning.preference_list(key, self.config.n):
                if target != self.name:
                    self._add_hint(target, key, encoded)

    def _context(self, key: bytes, record: Record) -> bytes:
        return encode_context_pairs(context_pairs(record, self.config.vclock_max_pairs),
                                    key=key, mode=self.mode, secret=self.config.secret)

    def _drop(self, src: object, why: str) -> None:
        self.stats["dropped"] += 1
        self.log.append(f"{self._now:.3f} dropped message from {src!r}: {why}")

    def _schedule(self, at: float, kind: str, ident: int = 0) -> None:
        heapq.heappush(self._timers, (at, next(self._timer_seq), kind, ident))

    def _finish(self, out: list[Effect]) -> list[Effect]:
        if self._timers:
            at = self._timers[0][0]
            if at != self._announced:
                self._announced = at
                out.append(SetTimer(at))
        return out

    _HANDLERS: ClassVar[dict[type, Callable[[Node, float, str, Any, list[Effect]], None]]] = {
        Forward: ForwardingMixin._on_forward,
        ForwardReply: ForwardingMixin._on_forward_reply,
        ReplicaPut: _on_replica_put,
        ReplicaPutAck: _on_replica_put_ack,
        ReplicaGet: _on_replica_get,
        ReplicaGetReply: _on_replica_get_reply,
        ReadRepair: _on_read_repair,
        HintDelivery: HandoffMixin._on_hint_delivery,
        HintAck: HandoffMixin._on_hint_ack,
        Gossip: MembershipMixin._on_gossip,
        MerkleExchange: _on_merkle_exchange,
        KeyRecords: _on_key_records,
    }

    _TIMERS: ClassVar[dict[str, Callable[[Node, float, int, list[Effect]], None]]] = {
        "put": _put_timer,
        "get": _get_timer,
        "forward": ForwardingMixin._forward_timer,
        "hints": HandoffMixin._scan_hints,
        "gossip": MembershipMixin._gossip_timer,
        "anti-entropy": _anti_entropy_timer,
        "flush": _flush_timer,
    }

    #: the timer kinds :meth:`fire_timer` accepts
    TIMER_KINDS: ClassVar[tuple[str, ...]] = (
        "put", "get", "forward", "hints", "gossip", "anti-entropy", "flush")
