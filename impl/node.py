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

``Node`` only dispatches: each mechanism of the paper is a small object in its
own module that owns its state and returns effects --

=====================  ===========================================  ================
mechanism              object                                       module
=====================  ===========================================  ================
request routing        :class:`~impl.forwarding.Forwarder`          impl.forwarding
sloppy quorum          :class:`~impl.sloppy_quorum.SloppyQuorum`    impl.sloppy_quorum
put coordinator        :class:`~impl.put_coordinator.PutCoordinator` impl.put_coordinator
get coordinator        :class:`~impl.get_coordinator.GetCoordinator` impl.get_coordinator
read repair            :class:`~impl.read_repair.ReadRepairer`      impl.read_repair
replica (versions)     :class:`~impl.replica.Replica`               impl.replica
hint store             :class:`~impl.hints.HintStore`               impl.hints
hinted handoff         :class:`~impl.handoff.HintedHandoff`         impl.handoff
Merkle anti-entropy    :class:`~impl.antientropy.AntiEntropy`       impl.antientropy
membership and gossip  :class:`~impl.gossip.Gossiper`               impl.gossip
failure detection      :class:`~impl.failure_detector.FailureDetector` impl.failure_detector
=====================  ===========================================  ================

:meth:`Node.snapshot` is the one way to observe a node from outside.

Bad input. A client request is checked where it enters
(:func:`impl.forwarding.check_request`); a bad one is answered with an error
Reply and changes nothing. A bad peer message (wrong type, unknown sender, a
record that does not decode, over-large) is dropped, counted in
:attr:`Node.stats` and logged in :attr:`Node.log`, and changes nothing.
"""

from __future__ import annotations

import collections
import itertools
import random
from collections.abc import Callable
from typing import Any

from impl.antientropy import AntiEntropy
from impl.config import ClusterConfig, check_node_name
from impl.effects import Effect, Reply, SetTimer
from impl.errors import ConfigError, DynamoError, StorageError
from impl.failure_detector import FailureDetector
from impl.forwarding import Forwarder, ReplyTo, check_request
from impl.get_coordinator import GetCoordinator
from impl.gossip import Gossiper
from impl.handoff import HintedHandoff
from impl.hints import HintStore
from impl.membership import Membership, MemberStatus
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
from impl.put_coordinator import PutCoordinator
from impl.read_repair import ReadRepairer
from impl.replica import Replica
from impl.sloppy_quorum import SloppyQuorum
from impl.snapshot import NodeSnapshot, take_snapshot
from impl.staging import StagedStorage
from impl.storage.base import Storage
from impl.timers import (
    AntiEntropyRound,
    Flush,
    ForwardTimeout,
    GetTimeout,
    GossipRound,
    HintScan,
    PutTimeout,
    Timer,
)
from impl.versions import ClockMode, Record
from spec.ring import Partitioning

__all__ = ["Node"]

_LOG_LINES = 1000


class Node:
    """One Dynamo node (see the module docstring for how to drive it).

    ``name`` is the node's name; when it is not in ``config.nodes`` the node is
    *joining*: it gossips with the seed nodes, takes tokens by the configured
    partitioning strategy and spreads them by gossip, and the current owners hand
    it the key ranges it now owns. ``storage`` is the node's storage engine (a
    restart is a new Node on the same storage). ``seed`` seeds the node's own
    random generator; ``now`` is the current time in seconds. Raises ConfigError
    for a bad name, configuration, storage or seed.
    """

    def __init__(self, name: str, config: ClusterConfig, storage: Storage, *, seed: int,
                 now: float = 0.0) -> None:
        check_node_name(name)
        if not isinstance(config, ClusterConfig):
            raise ConfigError(f"config: must be a ClusterConfig, got {type(config).__name__}")
        if not isinstance(storage, Storage):
            raise ConfigError(f"storage: must implement impl.storage.base.Storage, got "
                              f"{type(storage).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed: must be an int, got {seed!r}")
        self.name, self.config = name, config
        #: the engine seen through the staged writes of the current input
        self.storage = StagedStorage(storage)
        self.rng = random.Random(seed)
        self.mode = ClockMode(config.clock)
        self.stats: collections.Counter[str] = collections.Counter()
        self.log: collections.deque[str] = collections.deque(maxlen=_LOG_LINES)
        self._now = float(now)
        incarnation = int(storage.get_meta("incarnation") or b"0") + 1
        storage.set_meta("incarnation", str(incarnation).encode())  # the one direct write
        storage = self.storage
        ids = itertools.count((incarnation & 0x7FFFFF) << 40)
        self.detector = FailureDetector(
            retry_after=config.suspicion_timeout,
            max_retry_after=max(config.suspicion_timeout, 8 * config.gossip_interval),
            phi_threshold=(config.phi_threshold if config.failure_detector == "phi-accrual"
                           else None))
        self.hints = HintStore(storage, self.stats)
        self.membership = Gossiper(name, config, storage, self.hints, self.rng, self.stats,
                                   self.log)
        self.quorum = SloppyQuorum(name, config, self.detector,
                                   lambda: self.membership.partitioning)
        self.replica = Replica(name, config, storage, self.hints, self.membership.known)
        self.anti_entropy = AntiEntropy(name, config, self.replica, self.quorum,
                                        lambda: self.membership.partitioning,
                                        self.membership.my_ranges, self.rng, ids, self.stats)
        self.replica.write_listeners.append(self.membership.on_write)
        self.membership.ring_listeners.append(self.anti_entropy.on_ring_change)
        self.handoff = HintedHandoff(name, config, self.hints, self.replica, self.quorum,
                                     self.membership)
        self.read_repair = ReadRepairer(name, self.replica, self.stats)
        self.puts = PutCoordinator(name, config, self.replica, self.hints, self.quorum, ids)
        self.gets = GetCoordinator(name, config, self.replica, self.quorum, self.read_repair,
                                   ids)
        self.forwarder = Forwarder(name, config, self.mode, self.quorum, ids, self._coordinate)
        self._messages: dict[type, Callable[[float, str, Any], list[Effect]]] = {
            Forward: self.forwarder.on_forward,
            ForwardReply: lambda now, src, m: self.forwarder.on_forward_reply(src, m),
            ReplicaPut: lambda now, src, m: self.replica.on_replica_put(src, m),
            ReplicaPutAck: lambda now, src, m: self.puts.on_ack(src, m),
            ReplicaGet: lambda now, src, m: self.replica.on_replica_get(src, m),
            ReplicaGetReply: lambda now, src, m: self.gets.on_reply(src, m),
            ReadRepair: lambda now, src, m: self.read_repair.on_read_repair(m),
            HintDelivery: lambda now, src, m: self.handoff.on_delivery(src, m),
            HintAck: lambda now, src, m: self.handoff.on_ack(src, m),
            Gossip: lambda now, src, m: self.membership.on_gossip(src, m),
            MerkleExchange: lambda now, src, m: self.anti_entropy.on_merkle_exchange(src, m),
            KeyRecords: lambda now, src, m: self.anti_entropy.on_key_records(src, m),
        }

    # ================================================================== inputs

    def start(self, now: float) -> list[Effect]:
        """The node's first timers (call once, after construction)."""
        self._now = now
        config, draw = self.config, self.rng.uniform
        out: list[Effect] = [
            SetTimer(GossipRound(), now + draw(0, config.gossip_interval)),
            SetTimer(HintScan(), now + draw(0, config.hint_scan_interval)),
            SetTimer(AntiEntropyRound(), now + draw(0, config.anti_entropy_interval))]
        if self.storage.fsync == "buffered":
            out.append(SetTimer(Flush(), now + config.flush_interval))
        return out

    def persist_failed(self, now: float, error: StorageError) -> list[Effect]:
        """The driver could not perform this node's writes (nothing after them left):
        every put it coordinates and has not acknowledged fails with ``error``."""
        self._now = now
        self.stats["storage-error"] += 1
        self.log.append(f"{now:.3f} storage error, nothing acknowledged: {error}")
        return self.puts.abandon(error)

    def client_request(self, now: float, request: GetRequest | PutRequest) -> list[Effect]:
        """A client's get or put arrives at this node; effects (a Reply sooner or
        later, Sends to peers, timers) come back."""
        self._now = now
        try:
            check_request(self.config, self.mode, request)
        except DynamoError as error:
            self.stats["bad-request"] += 1
            request_id = getattr(request, "request_id", 0)
            if isinstance(request_id, bool) or not isinstance(request_id, int):
                request_id = 0
            return [Reply(request_id, error=error)]
        try:
            return self._finish(self.forwarder.route(now, request, ReplyTo(request.request_id)))
        except StorageError as error:  # not acknowledged: the client hears why
            self.storage.take()
            self.stats["storage-error"] += 1
            return [Reply(request.request_id, error=error)]

    def receive(self, now: float, src: str, message: object) -> list[Effect]:
        """A message from peer ``src``. A malformed one is dropped and counted."""
        self._now = now
        handler = self._messages.get(type(message))
        if handler is None:
            return self._drop(src, f"unknown message type {type(message).__name__}")
        if not isinstance(src, str) or src == self.name or not (
                self.membership.known(src) or isinstance(message, Gossip)):
            return self._drop(src, f"{type(message).__name__} from unknown node {src!r}")
        try:
            # Re-run the constructor's checks: a message built around them is refused too.
            message.__post_init__()  # type: ignore[attr-defined]
        except DynamoError as error:
            return self._drop(src, str(error))
        self.detector.heard_from(src, now)  # any message clears a suspicion
        try:
            return self._finish(handler(now, src, message))
        except StorageError as error:  # the engine failed: nothing acknowledged
            self.stats["storage-error"] += 1
            self.log.append(f"{now:.3f} storage error handling {type(message).__name__}: "
                            f"{error}")
        except (DynamoError, ValueError) as error:  # bad data deep inside (a clock, a view)
            self._drop(src, f"{type(message).__name__}: {error}")
        self.storage.take()  # a half-handled message writes nothing
        return []

    def fire(self, now: float, timer: Timer) -> list[Effect]:
        """Timer ``timer`` (one this node set, or one a driver names) fires at ``now``.
        Raises ValueError for a value that is not a timer."""
        self._now = now
        return self._finish(self._fire(now, timer))

    def _fire(self, now: float, timer: Timer) -> list[Effect]:
        config = self.config
        if isinstance(timer, PutTimeout):
            return self.puts.on_timeout(now, timer)
        if isinstance(timer, GetTimeout):
            return self.gets.on_timeout(now, timer)
        if isinstance(timer, ForwardTimeout):
            return self.forwarder.on_timeout(now, timer)
        if isinstance(timer, HintScan):
            return [SetTimer(HintScan(), now + config.hint_scan_interval),
                    *self.handoff.on_scan(now, timer)]
        if isinstance(timer, GossipRound):
            return [SetTimer(GossipRound(), now + config.gossip_interval),
                    *self.membership.on_round(now)]
        if isinstance(timer, AntiEntropyRound):
            return [SetTimer(AntiEntropyRound(), now + config.anti_entropy_interval),
                    *self.anti_entropy.on_round(now, timer)]
        if isinstance(timer, Flush):
            self.replica.flush()
            return [SetTimer(Flush(), now + config.flush_interval)]
        raise ValueError(f"timer: not a timer of impl.timers, got {timer!r}")

    def leave(self, now: float) -> list[Effect]:
        """Start leaving the cluster (hand this node's key ranges over)."""
        self._now = now
        if self.status not in (MemberStatus.JOINING, MemberStatus.UP):
            return []
        return self._finish([*self.membership.leave(), *self._fire(now, HintScan())])

    def set_suspected(self, suspected: dict[str, float]) -> None:
        """Replace the failure detector's suspicions: ``{node: until}`` (seconds;
        ``math.inf`` for ever): an oracle failure detector for drivers and tests."""
        self.detector.set_suspected({node: until for node, until in suspected.items()
                                     if node != self.name})

    # ================================================================== observing

    def snapshot(self) -> NodeSnapshot:
        """A frozen copy of what this node holds (see :mod:`impl.snapshot`)."""
        return take_snapshot(self, self._now)

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
        return self.membership.view

    @property
    def partitioning(self) -> Partitioning:
        """The ring this node routes by."""
        return self.membership.partitioning

    @property
    def status(self) -> MemberStatus | None:
        """This node's status in its own membership view (None: not joined yet)."""
        return self.membership.status

    @property
    def has_left(self) -> bool:
        """Whether this node left the ring (after handing all its data over)."""
        return self.status is MemberStatus.LEFT

    @property
    def pending(self) -> int:
        """Requests in flight at this node (coordinated or forwarded)."""
        return (len(self.puts.coordinations) + len(self.gets.coordinations)
                + len(self.forwarder.forwardings))

    # ================================================================== internals

    def _coordinate(self, now: float, request: GetRequest | PutRequest,
                    reply_to: ReplyTo) -> list[Effect]:
        if isinstance(request, PutRequest):
            return self.puts.start(now, request, reply_to)
        return self.gets.start(now, request, reply_to)

    def _finish(self, effects: list[Effect]) -> list[Effect]:
        """Persist, then send: the staged writes first."""
        writes = self.storage.take()
        return [*writes, *effects] if writes else effects

    def _drop(self, src: object, why: str) -> list[Effect]:
        self.stats["dropped"] += 1
        self.log.append(f"{self._now:.3f} dropped message from {src!r}: {why}")
        return []
