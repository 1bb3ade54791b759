"""Deterministic simulator: many node cores in one process, on virtual time.

(About 800 lines, over the project's 600, on purpose: it is one event loop over
one heap and one in-flight table -- the node lifecycle, the network model, the
client requests and the step-by-step API all read and write them, and the fast
path of a send must stay one function. The fault model is in :mod:`impl.faults`,
the nemesis in :mod:`impl.nemesis`.)

Theory of operation
-------------------
The simulator is a driver for sans-IO node cores (see :mod:`impl.effects`): it
hands each core its inputs with the current *virtual* time and performs the
effects the core returns. Nothing in it reads a clock or draws an unseeded random
number: one ``random.Random(seed)`` makes every choice, so one seed gives one
run, event for event.

An *event queue* (a heap ordered by virtual time, then by a sequence number)
holds three kinds of future events: the delivery of an in-flight message, a
node's named timer (one entry per timer value a node set: setting it again moves
it, ``CancelTimer`` withdraws it), and scheduled actions (a client's deadline, the nemesis'
crashes and partitions). :meth:`Simulator.step` pops the earliest event and
performs it; :meth:`Simulator.run_until` steps until a condition holds. Client
deadlines, which come in the order they are set when every request has the same
timeout, wait in a first-in first-out queue beside the heap (the same order of
time and sequence number; the heap stays small: session 32), and so do the
coordinators' put and get timeouts (:data:`_LANE_TIMERS`: set one request timeout
ahead, most are cancelled when the request ends and lapse unperformed; in the heap
they were 2,272 of its 2,290 entries on ``bench/sim.py``: session 55).

The *network model* sits between a :class:`~impl.effects.Send` and the delivery.
When a message is sent it may be lost (``Faults.loss``), duplicated
(``Faults.duplication``) or held back (``Faults.reorder``) so that later
messages overtake it; every copy gets a delay drawn from ``Faults.delay``.
Each fault has a probability and an optional bound on its count. A *link* from
one node to another can be cut: :meth:`Simulator.partition` cuts both
directions between two groups, :meth:`Simulator.partition_one_way` only one.
A message on a cut link, or to a node that is down, is lost at delivery.

*Crash and restart*: :meth:`Simulator.crash` throws the node object away (its
volatile state, its timers, the requests it was coordinating) and calls the
``on_crash`` hook, which makes the node's storage lose what it had not made
durable. :meth:`Simulator.restart` builds a new node on the surviving storage
with ``make_node``. *Clock skew*: node ``x`` sees ``now + skew[x]``; its timers
are converted back to the simulator's time.

Two ways to drive it:

- *Random scheduling* (:meth:`run_until`, :meth:`run_for`, :meth:`step`): the
  event queue decides, faults are drawn from the seeded generator.
- *Step by step* (for lockstep refinement tests): :meth:`in_flight` lists the
  messages in flight with stable ids; :meth:`deliver`, :meth:`drop`,
  :meth:`duplicate` act on a chosen one; :meth:`fire_timers` fires a chosen
  node's earliest timer, :meth:`fire_timer` one named timer; :meth:`crash`,
  :meth:`restart`, :meth:`partition`, :meth:`heal` act at once; :meth:`perform`
  performs effects a driver got by calling a node itself;
  :meth:`pending` lists the unfinished client requests. None of these draws a
  random number.

Optionally (``wire=True``) every message is encoded with :mod:`impl.wire` when
sent and decoded at delivery, so the codec runs on every message.
"""

from __future__ import annotations

import heapq
import importlib
import math
import random
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from impl.effects import (
    AddHint,
    CancelTimer,
    DeleteRecord,
    Effect,
    RemoveHint,
    Reply,
    Send,
    SetTimer,
    SyncStorage,
    WriteMeta,
    WriteRecord,
)
from impl.errors import (
    BadMessageError,
    ConfigError,
    DynamoError,
    LocalError,
    NodeDownError,
    RequestTimeoutError,
    StorageError,
)
from impl.faults import _UNIFORM  # (impl.faults' Distribution.UNIFORM, a module constant)
from impl.faults import Delay as Delay
from impl.faults import Distribution as Distribution
from impl.faults import Faults as Faults
from impl.faults import derive_seed as derive_seed
from impl.nemesis import Nemesis
from impl.staging import persist, reply_ids
from impl.storage.base import Storage
from impl.timers import GetTimeout, PutTimeout

_WRITES = (WriteRecord, DeleteRecord, AddHint, RemoveHint, WriteMeta, SyncStorage)

#: The timers queued in the timeouts' first-in first-out lane when set no earlier
#: than its last entry (:meth:`Simulator._set_timer`): a coordinator's request
#: timeouts, each set one timeout ahead of its request (session 55).
_LANE_TIMERS = frozenset({PutTimeout, GetTimeout})

__all__ = [
    "Delay",
    "Distribution",
    "Faults",
    "InFlight",
    "NodeLike",
    "Pending",
    "SimulationError",
    "Simulator",
    "derive_seed",
]


class SimulationError(LocalError, RuntimeError):
    """The simulation was driven wrongly (unknown message id or node, a step on a
    node that is down) or did not reach the asked-for condition in its bounds.
    A :class:`~impl.errors.LocalError` (the package's one hierarchy), and still a
    ``RuntimeError``."""


class NodeLike(Protocol):
    """What the simulator drives: the sans-IO core's surface (impl.node.Node)."""

    @property
    def name(self) -> str: ...

    def client_request(self, now: float, request: Any) -> list[Effect]: ...

    def receive(self, now: float, src: str, message: Any) -> list[Effect]: ...

    def start(self, now: float) -> list[Effect]: ...

    def fire(self, now: float, timer: Any) -> list[Effect]: ...

    def leave(self, now: float) -> list[Effect]: ...

    def persist_failed(self, now: float, error: StorageError,
                       failed_replies: frozenset[tuple[str, int]] = ...) -> list[Effect]: ...

    @property
    def taken_back(self) -> frozenset[int]: ...

    def answers_released(self) -> None: ...

    def writes_durable(self) -> None: ...


@dataclass(frozen=True, slots=True)
class InFlight:
    """A message in flight, as :meth:`Simulator.in_flight` lists it.

    ``id`` is stable for the message's life and never reused; ``blocked`` is
    true when the link from ``src`` to ``dest`` is cut right now.
    """

    id: int
    src: str
    dest: str
    message: Any
    deliver_at: float
    blocked: bool


class Pending:
    """A client request in progress: a futures-like handle.

    ``done`` tells whether it finished; :meth:`result` returns the result or
    raises the request's :class:`~impl.errors.DynamoError`.

    ``failover`` (set by :meth:`Simulator.submit`): called with the handle and the
    error when an attempt fails; when it sent the request again
    (:meth:`Simulator.resubmit`) it returns True and the handle goes on with the new
    attempt (``request_id``, ``coordinator`` and ``request`` are then the new
    attempt's; ``tried`` lists every coordinator tried, in order; ``deadline`` is
    the whole request's, in virtual seconds).
    """

    __slots__ = ("coordinator", "deadline", "done", "error", "failover", "request",
                 "request_id", "sent_at", "submitted_at", "tried", "value")

    def __init__(self, request_id: int, coordinator: str, request: object,
                 submitted_at: float, deadline: float) -> None:
        self.request_id = request_id
        self.coordinator = coordinator
        self.request = request
        self.submitted_at = submitted_at
        self.deadline = deadline
        #: when the current attempt was sent (virtual seconds)
        self.sent_at = submitted_at
        self.done = False
        self.value: Any = None
        self.error: DynamoError | None = None
        self.failover: Failover | None = None
        self.tried = [coordinator]

    def result(self) -> Any:
        """The result; raises the request's error; SimulationError if not done."""
        if not self.done:
            raise SimulationError(f"request {self.request_id} to {self.coordinator} "
                                  "has not finished: run the simulation first")
        if self.error is not None:
            raise self.error
        return self.value

    def __repr__(self) -> str:
        state = "pending" if not self.done else ("error" if self.error else "ok")
        return f"Pending(request_id={self.request_id}, coordinator={self.coordinator!r}, {state})"


Failover = Callable[[Pending, DynamoError], bool]
"""failover(handle, error) -> True when it sent the request again (the handle goes on)."""

_MAX_TICKS_AT_ONE_TIME = 100_000
#: the events :meth:`Simulator.run_until` and :meth:`Simulator.wait` perform at most
_MAX_EVENTS = 10_000_000

# event kinds in the heap
_DELIVER = 0
_TICK = 1
_ACTION = 2

MakeNode = Callable[[str, int, float], NodeLike]
"""make_node(name, seed, now) -> a new node core (fresh, or on surviving storage)."""


#: A message in flight: ``(src, dest, message, frame, deliver_at)`` (``frame``: its
#: wire encoding, or None). A tuple, not a dataclass: four are built per client
#: operation, and building a tuple costs a third of a slotted dataclass's
#: ``__init__`` (session 55).
_Envelope = tuple[str, str, Any, "bytes | None", float]


class Simulator:
    """Node cores on virtual time with a seeded network and fault model.

    ``make_node(name, seed, now)`` builds a node (at start, on :meth:`add_node`
    and on :meth:`restart`); ``on_crash(name)`` is called when a node crashes
    (make its storage lose what was not durable); ``on_disk_loss(name)`` replaces a
    crashed node's storage engine by an empty one (:meth:`lose_disk`). ``storage(name)`` is node
    ``name``'s engine: the simulator performs a node's Write effects on it at once,
    before the node's other effects (persist, then send; :mod:`impl.staging`).
    ``log=True`` records every event in :attr:`log` (for determinism checks and
    debugging).
    """

    def __init__(
        self,
        make_node: MakeNode,
        *,
        seed: int = 0,
        faults: Faults | None = None,
        on_crash: Callable[[str], None] | None = None,
        on_disk_loss: Callable[[str], None] | None = None,
        storage: Callable[[str], Storage] | None = None,
        wire: bool = False,
        log: bool = False,
        client_timeout: float = 5.0,
        early_replica_puts: bool = True,
    ) -> None:
        self.seed = seed
        #: a failed write of an input keeps its ReplicaPuts, as if sent before the
        #: write was tried: the runtime's group commit, which a durable SQLite engine
        #: (``fsync = "always"``, the default) runs, and the spec's ``FailedPut``
        #: (session 52; the default since session 52's review). False: the runtime
        #: without a committer (persist, then send; impl.staging)
        self.early_replica_puts = early_replica_puts
        self.rng = random.Random(seed)
        self._faults = faults if faults is not None else Faults()
        self._plain_network = True
        self.now = 0.0
        self.log: list[tuple[Any, ...]] = []
        self._logging = log
        self._make_node = make_node
        self._on_crash = on_crash
        self._on_disk_loss = on_disk_loss
        self._storage = storage
        self._client_timeout = client_timeout
        self._wire: Any = None
        if wire:
            self._wire = importlib.import_module("impl.wire")  # encode / decode
        self._heap: list[tuple[float, int, int, Any]] = []
        #: client deadlines set in (time, sequence) order: the heap's entries they
        #: would be, kept out of it (:meth:`_push_deadline`, :meth:`_pop`)
        self._deadlines: deque[tuple[float, int, int, Any]] = deque()
        #: put and get timeouts (:data:`_LANE_TIMERS`) set in (time, sequence)
        #: order: the heap's entries they would be, kept out of it the same way
        self._timeouts: deque[tuple[float, int, int, Any]] = deque()
        self._seq = 0
        self._in_flight: dict[int, _Envelope] = {}
        self._next_message_id = 1
        self._next_request_id = 1
        self.nodes: dict[str, NodeLike] = {}  # up nodes only
        self.members: list[str] = []  # every node ever added, in order
        self._incarnation: dict[str, int] = {}
        self._timers: dict[str, dict[Any, float]] = {}  # node -> timer -> when
        self.skew: dict[str, float] = {}
        self._cut: set[tuple[str, str]] = set()
        self._pending: dict[int, Pending] = {}
        self._down_since: dict[str, float] = {}
        self.stats: dict[str, int] = dict.fromkeys(
            ("sent", "delivered", "lost", "duplicated", "reordered", "blocked",
             "to_down_node", "ticks", "crashes", "restarts", "partitions",
             "bad_messages", "requests", "replies", "timeouts", "failovers",
             "disk_losses"), 0)
        self.nemesis = Nemesis(self)
        self.faults = self._faults  # computes the fast-path flag
        self._last_tick_at = -1.0
        self._ticks_at_same_time = 0

    @property
    def faults(self) -> Faults:
        """The fault settings (may be replaced between steps)."""
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        if not isinstance(faults, Faults):
            raise ConfigError(f"faults must be a Faults, got {faults!r}")
        self._faults = faults
        self._plain_network = (not faults.loss and not faults.duplication
                               and not faults.reorder and self._wire is None)

    # ------------------------------------------------------------------ nodes

    def add_node(self, name: str) -> NodeLike:
        """Create node ``name`` with ``make_node`` and tick it once (its first timers)."""
        if name in self.nodes or name in self._down_since:
            raise SimulationError(f"node {name!r} already exists")
        if name not in self.members:
            self.members.append(name)
        if name not in self.skew:
            bound = self.faults.max_clock_skew
            self.skew[name] = self.rng.uniform(-bound, bound) if bound else 0.0
        return self._start(name)

    def _start(self, name: str) -> NodeLike:
        incarnation = self._incarnation.get(name, -1) + 1
        self._incarnation[name] = incarnation
        node = self._make_node(name, derive_seed(self.seed, name, incarnation),
                               self.now + self.skew[name])
        if getattr(node, "recheck_messages", False):
            # what it receives here was built through the messages' constructors, in
            # this process or by the wire codec (:attr:`impl.node.Node.recheck_messages`)
            node.recheck_messages = False  # type: ignore[attr-defined]
        self.nodes[name] = node
        self._timers[name] = {}
        self._record("start", name, incarnation)
        self._perform(name, node.start(self.now + self.skew[name]))
        return node

    def node(self, name: str) -> NodeLike:
        """The live node object of ``name`` (SimulationError if down or unknown)."""
        try:
            return self.nodes[name]
        except KeyError:
            raise SimulationError(self._why_not_up(name)) from None

    def _why_not_up(self, name: str) -> str:
        if name in self._down_since:
            return f"node {name!r} is down"
        return f"unknown node {name!r} (nodes: {', '.join(self.members)})"

    def is_down(self, name: str) -> bool:
        """True when ``name`` crashed and was not restarted (or was removed)."""
        if name not in self.members:
            raise SimulationError(self._why_not_up(name))
        return name not in self.nodes

    def crash(self, name: str) -> None:
        """Crash ``name`` now: volatile state, timers and coordinated requests are lost;
        ``on_crash`` makes its storage lose what was not durable."""
        if name not in self.nodes:
            raise SimulationError(self._why_not_up(name))
        del self.nodes[name]
        self._timers[name] = {}
        self._down_since[name] = self.now
        self.stats["crashes"] += 1
        self._record("crash", name)
        if self._on_crash is not None:
            self._on_crash(name)
        for request_id, handle in sorted(self._pending.items()):
            if handle.coordinator == name and handle.failover is not None:
                del self._pending[request_id]  # the client's connection was reset
                self._finish(handle, None, RequestTimeoutError(
                    f"node {name!r} crashed while coordinating request {request_id}: "
                    "no reply will come"))

    def lose_disk(self, name: str) -> None:
        """Crash ``name`` (if up) and replace its disk: ``on_disk_loss(name)`` gives it an
        empty storage engine, and it stays down until :meth:`restart` (the spec's
        ``DiskLoss``). Recorded as ``crash`` then ``disk_loss`` (counted in
        ``stats["disk_losses"]``). SimulationError for an unknown node, or without an
        ``on_disk_loss`` hook."""
        if self._on_disk_loss is None:
            raise SimulationError("no disk to lose: the simulator has no on_disk_loss hook")
        if name in self.nodes:
            self.crash(name)
        elif name not in self._down_since:
            raise SimulationError(self._why_not_up(name))
        self._on_disk_loss(name)
        self.stats["disk_losses"] += 1
        self._record("disk_loss", name)

    def restart(self, name: str) -> NodeLike:
        """Restart a crashed node: a new node object on its surviving storage."""
        if name not in self._down_since:
            raise SimulationError(f"node {name!r} is not down" if name in self.nodes
                                  else self._why_not_up(name))
        del self._down_since[name]
        self.stats["restarts"] += 1
        return self._start(name)

    def remove_node(self, name: str) -> None:
        """Take ``name`` out for good (after it left): it is down and never restarts."""
        if name in self.nodes:
            del self.nodes[name]
            self._timers[name] = {}
        self._down_since.pop(name, None)
        if name in self.members:
            self.members.remove(name)
        self._record("remove", name)

    def set_skew(self, name: str, seconds: float) -> None:
        """Node ``name`` sees ``now + seconds`` from now on (negative: behind).
        SimulationError for an unknown node or a ``seconds`` that is not a finite
        number (a bool, a string, NaN or an infinity would only fail later, at the
        node's next timer or put)."""
        if name not in self.members:
            raise SimulationError(self._why_not_up(name))
        if (isinstance(seconds, bool) or not isinstance(seconds, int | float)
                or not math.isfinite(seconds)):
            raise SimulationError(f"skew of {name!r}: must be a finite number of seconds, "
                                  f"got {seconds!r}")
        self.skew[name] = float(seconds)

    def node_now(self, name: str) -> float:
        """The time node ``name`` sees now (the simulator's time plus its skew)."""
        return self.now + self.skew.get(name, 0.0)

    # ------------------------------------------------------------- partitions

    def partition(self, *groups: Iterable[str]) -> None:
        """Cut every link (both directions) between nodes of different groups.
        Nodes named in no group keep all their links."""
        sets = [sorted(set(group)) for group in groups]
        for group in sets:
            for name in group:
                if name not in self.members:
                    raise SimulationError(self._why_not_up(name))
        for i, left in enumerate(sets):
            for right in sets[i + 1:]:
                for a in left:
                    for b in right:
                        if a != b:
                            self._cut.add((a, b))
                            self._cut.add((b, a))
        self.stats["partitions"] += 1
        self._record("partition", tuple(tuple(g) for g in sets))

    def partition_one_way(self, sources: Iterable[str], destinations: Iterable[str]) -> None:
        """Cut only the links from each of ``sources`` to each of ``destinations``."""
        src = sorted(set(sources))
        dst = sorted(set(destinations))
        for name in [*src, *dst]:
            if name not in self.members:
                raise SimulationError(self._why_not_up(name))
        for a in src:
            for b in dst:
                if a != b:
                    self._cut.add((a, b))
        self.stats["partitions"] += 1
        self._record("partition_one_way", tuple(src), tuple(dst))

    def heal(self) -> None:
        """Restore every link."""
        self._cut.clear()
        self._record("heal")

    def is_cut(self, src: str, dest: str) -> bool:
        """True when messages from ``src`` to ``dest`` are lost (the link is cut)."""
        return (src, dest) in self._cut

    @property
    def cut_links(self) -> frozenset[tuple[str, str]]:
        """Every cut (src, dest) link."""
        return frozenset(self._cut)

    # ---------------------------------------------------------------- clients

    def submit(self, coordinator: str, request: Any, *, timeout: float | None = None,
               failover: Failover | None = None) -> Pending:
        """Hand ``request`` (it has a ``request_id`` attribute, or one is given by
        :meth:`new_request_id`) to ``coordinator`` now; returns its handle.

        If the coordinator is down the attempt fails at once with NodeDownError; if
        no reply comes within ``timeout`` (default ``client_timeout``) it fails with
        RequestTimeoutError. A failed attempt ends the request, unless
        ``failover(handle, error)`` sent it again (:meth:`resubmit`) and returned True.
        A client with a ``failover`` hook holds a connection to its coordinator: when
        the coordinator crashes the attempt fails at once (RequestTimeoutError: no
        reply will come, and a put's outcome is unknown), as a real client sees its
        connection reset; without one the request waits for its deadline.
        """
        deadline = self.now + (self._client_timeout if timeout is None else timeout)
        handle = Pending(request.request_id, coordinator, request, self.now, deadline)
        handle.failover = failover
        self.stats["requests"] += 1
        self._attempt(handle)
        return handle

    def resubmit(self, handle: Pending, coordinator: str, request: Any) -> None:
        """Send a failed attempt's request again, as ``request`` (a new ``request_id``),
        to ``coordinator``, within what is left of the handle's deadline (a client's
        failover, called from its ``failover`` hook); the handle carries on."""
        handle.request_id = request.request_id
        handle.coordinator = coordinator
        handle.request = request
        handle.tried.append(coordinator)
        self.stats["failovers"] += 1
        self._attempt(handle)

    def _attempt(self, handle: Pending) -> None:
        request_id, coordinator, request = handle.request_id, handle.coordinator, handle.request
        if self._logging:
            self._record("request", coordinator, request_id, type(request).__name__)
        node = self.nodes.get(coordinator)
        if node is None:
            if coordinator not in self.members:
                raise SimulationError(self._why_not_up(coordinator))
            self._finish(handle, None, NodeDownError(f"node {coordinator!r} is down"))
            return
        self._pending[request_id] = handle
        handle.sent_at = self.now
        self._push_deadline(handle.deadline, request_id)
        try:
            effects = node.client_request(self.now + self.skew[coordinator], request)
        except DynamoError as error:  # refused where it entered
            self._pending.pop(request_id, None)
            self._finish(handle, None, error)
            return
        self._perform(coordinator, effects)

    def new_request_id(self) -> int:
        """A request id never used before in this simulation."""
        request_id = self._next_request_id
        self._next_request_id += 1
        return request_id

    def _finish(self, handle: Pending, value: Any, error: DynamoError | None) -> None:
        if error is not None and handle.failover is not None:
            if self._logging:
                self._record("attempt_failed", handle.coordinator, handle.request_id,
                             type(error).__name__)
            if handle.failover(handle, error):
                return  # sent again: the handle goes on
        handle.done = True
        handle.value = value
        handle.error = error
        if self._logging:
            self._record("reply", handle.coordinator, handle.request_id,
                         type(error).__name__ if error is not None else repr(value))

    def pending(self) -> list[Pending]:
        """The client requests not finished yet, oldest first."""
        return [handle for _, handle in sorted(self._pending.items())]

    @property
    def pending_requests(self) -> int:
        """Client requests submitted and not finished."""
        return len(self._pending)

    # ------------------------------------------------------------ the effects

    def _perform(self, name: str, effects: list[Effect]) -> None:
        if effects and isinstance(effects[0], _WRITES):
            if self._storage is None:
                raise SimulationError(f"node {name!r} wrote, and the simulator has no storage")
            node = self.nodes[name]
            failed: list[StorageError] = []

            def on_error(error: StorageError) -> list[Effect]:
                failed.append(error)
                return node.persist_failed(self.now + self.skew[name], error,
                                           reply_ids(effects))

            effects = persist(self._storage(name), effects, on_error, lambda: node.taken_back,
                              early_replica_puts=self.early_replica_puts)
            if not failed:  # every write performed
                node.writes_durable()
            node.answers_released()  # (performed below: none waits for a write)
        for effect in effects:
            if type(effect) is Send:
                self._send(name, effect.dest, effect.message)
            elif type(effect) is SetTimer:
                self._set_timer(name, effect.timer, effect.at)
            elif type(effect) is CancelTimer:
                self._timers[name].pop(effect.timer, None)
            elif type(effect) is Reply:
                self._reply(name, effect)
            else:
                raise SimulationError(f"node {name!r} returned an unknown effect {effect!r}")

    def _reply(self, name: str, reply: Reply) -> None:
        handle = self._pending.pop(reply.request_id, None)
        if handle is None:
            self._record("late_reply", name, reply.request_id)
            return
        self.stats["replies"] += 1
        self._finish(handle, reply.result, reply.error)

    def _set_timer(self, name: str, timer: Any, at: float) -> None:
        skew = self.skew[name]
        if skew:
            wanted = at
            at -= skew
            while at + skew < wanted:  # float rounding: the node must see its time reached
                at = math.nextafter(at, math.inf)
        if at < self.now:
            at = self.now
        timers = self._timers[name]
        if timers.get(timer) == at:
            return
        timers[timer] = at
        self._seq += 1
        entry = (at, self._seq, _TICK, (name, self._incarnation[name], timer, at))
        lane = self._timeouts
        if type(timer) in _LANE_TIMERS and (not lane or lane[-1][0] <= at):
            lane.append(entry)
        else:
            heapq.heappush(self._heap, entry)

    def _push(self, at: float, kind: int, payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, kind, payload))

    def _push_deadline(self, at: float, request_id: int) -> None:
        """A client deadline: in the queue when not before the last one there (its
        sequence number is higher), else in the heap; popped in the same order."""
        self._seq += 1
        entry = (at, self._seq, _ACTION, ("deadline", request_id))
        deadlines = self._deadlines
        if not deadlines or deadlines[-1][0] <= at:
            deadlines.append(entry)
        else:
            heapq.heappush(self._heap, entry)

    def _next_at(self) -> float | None:
        """The time of the earliest event queued (None: none)."""
        heap, deadlines, timeouts = self._heap, self._deadlines, self._timeouts
        first = heap[0] if heap else None
        if deadlines and (first is None or deadlines[0] < first):
            first = deadlines[0]
        if timeouts and (first is None or timeouts[0] < first):
            first = timeouts[0]
        return None if first is None else first[0]

    def _send(self, src: str, dest: str, message: Any) -> None:
        self.stats["sent"] += 1
        faults = self._faults
        rng = self.rng
        if self._plain_network:  # the fast path: no loss, duplication, reordering, codec
            shape = faults.delay
            at = self.now + shape.base
            if shape.spread:
                if shape.distribution is _UNIFORM:
                    at += rng.random() * shape.spread
                else:
                    at += shape.draw(rng) - shape.base
            message_id = self._next_message_id
            self._next_message_id = message_id + 1
            self._in_flight[message_id] = (src, dest, message, None, at)
            self._seq += 1
            heapq.heappush(self._heap, (at, self._seq, _DELIVER, message_id))
            if self._logging:
                self._record("send", message_id, src, dest, type(message).__name__)
            return
        if faults.loss and self._allow("lost", faults.max_losses) and rng.random() < faults.loss:
            self.stats["lost"] += 1
            self._record("lose", src, dest, type(message).__name__)
            return
        copies = 1
        if (faults.duplication and self._allow("duplicated", faults.max_duplicates)
                and rng.random() < faults.duplication):
            self.stats["duplicated"] += 1
            copies = 2
        frame = self._wire.encode(message) if self._wire is not None else None
        for _ in range(copies):
            delay = faults.delay.draw(rng)
            if (faults.reorder and self._allow("reordered", faults.max_reorders)
                    and rng.random() < faults.reorder):
                self.stats["reordered"] += 1
                delay += faults.reorder_delay
            self._enqueue((src, dest, message, frame, self.now + delay))

    def _allow(self, stat: str, bound: int | None) -> bool:
        return bound is None or self.stats[stat] < bound

    def _enqueue(self, envelope: _Envelope) -> int:
        message_id = self._next_message_id
        self._next_message_id += 1
        self._in_flight[message_id] = envelope
        src, dest, message, _, deliver_at = envelope
        self._push(deliver_at, _DELIVER, message_id)
        if self._logging:
            self._record("send", message_id, src, dest, type(message).__name__)
        return message_id

    def _deliver(self, message_id: int, envelope: _Envelope) -> bool:
        src, dest, message, frame, _ = envelope
        if self._cut and (src, dest) in self._cut:
            self.stats["blocked"] += 1
            if self._logging:
                self._record("blocked", message_id, src, dest)
            return False
        node = self.nodes.get(dest)
        if node is None:
            self.stats["to_down_node"] += 1
            if self._logging:
                self._record("to_down_node", message_id, src, dest)
            return False
        if frame is not None:
            message = self._wire.decode(frame)
        self.stats["delivered"] += 1
        if self._logging:
            self._record("deliver", message_id, src, dest, type(message).__name__)
        try:
            effects = node.receive(self.now + self.skew[dest], src, message)
        except BadMessageError as error:
            self.stats["bad_messages"] += 1
            self._record("bad_message", message_id, dest, str(error))
            return True
        if effects:  # (half of anti-entropy's steps answer nothing: session 44)
            self._perform(dest, effects)
        return True

    def _fire(self, name: str, timer: Any) -> None:
        node = self.nodes[name]
        self.stats["ticks"] += 1
        if self.now == self._last_tick_at:
            self._ticks_at_same_time += 1
            if self._ticks_at_same_time > _MAX_TICKS_AT_ONE_TIME:
                raise SimulationError(
                    f"time does not advance: {self._ticks_at_same_time} ticks at "
                    f"t={self.now!r} (node {name!r} keeps asking for a timer that is due)")
        else:
            self._last_tick_at = self.now
            self._ticks_at_same_time = 0
        if self._logging:
            self._record("tick", name, timer)
        self._perform(name, node.fire(self.now + self.skew[name], timer))

    def _record(self, *event: Any) -> None:
        if self._logging:
            self.log.append((round(self.now, 9), *event))

    # ------------------------------------------------------ random scheduling

    def step(self) -> bool:
        """Perform the earliest event in the queue; False when the queue is empty."""
        heap, deadlines, timeouts = self._heap, self._deadlines, self._timeouts
        while heap or deadlines or timeouts:
            # the earliest (time, sequence) of the heap's and the two queues' heads
            if heap:
                first, queue = heap[0], None
            else:
                first, queue = None, None
            if deadlines and (first is None or deadlines[0] < first):
                first, queue = deadlines[0], deadlines
            if timeouts and (first is None or timeouts[0] < first):
                queue = timeouts
            if queue is None:
                at, _, kind, payload = heapq.heappop(heap)
            else:
                at, _, kind, payload = queue.popleft()
            if kind == _DELIVER:
                envelope = self._in_flight.pop(payload, None)
                if envelope is None:
                    continue  # delivered or dropped by the step API
                if at > self.now:
                    self.now = at
                self._deliver(payload, envelope)
                return True
            if kind == _TICK:
                name, incarnation, timer, timer_at = payload
                if self._incarnation.get(name) != incarnation or name not in self.nodes:
                    continue
                timers = self._timers[name]
                if timers.get(timer) != timer_at:
                    continue  # moved, cancelled, or fired early by fire_timer(s)
                del timers[timer]
                if at > self.now:
                    self.now = at
                self._fire(name, timer)
                return True
            if at > self.now:
                self.now = at
            self._action(payload)
            return True
        return False

    def run_until(self, condition: Callable[[], bool], *, max_time: float = 3600.0,
                  max_events: int = _MAX_EVENTS) -> None:
        """Step until ``condition()`` holds. SimulationError if it still does not
        after ``max_time`` more virtual seconds or ``max_events`` events."""
        self._run(condition, (), max_time, max_events)

    def _run(self, condition: Callable[[], bool] | None, waiting: Sequence[Pending],
             max_time: float, max_events: int) -> None:
        """Step until ``condition()`` holds, or (``condition`` None) every handle of
        ``waiting`` is done: :meth:`wait` asks no function per event (a closure's
        call per event was 2% of ``bench/sim.py``, session 54)."""
        stop_at = self.now + max_time
        events = 0
        heap, deadlines, timeouts = self._heap, self._deadlines, self._timeouts
        count = len(waiting)
        position = 0
        step = self.step
        while True:
            if condition is not None:
                if condition():
                    return
            else:  # amortized O(1) per event: handles finish once
                while position < count and waiting[position].done:
                    position += 1
                if position == count:
                    return
            # (:meth:`_next_at`, inline: once per event)
            first = heap[0] if heap else None
            if deadlines and (first is None or deadlines[0] < first):
                first = deadlines[0]
            if timeouts and (first is None or timeouts[0] < first):
                first = timeouts[0]
            if first is None or first[0] > stop_at or events >= max_events:
                raise self._not_reached(events)
            step()
            events += 1

    def _not_reached(self, events: int) -> SimulationError:
        return SimulationError(
            f"condition not reached by t={self.now:.3f} "
            f"({events} events, {len(self._in_flight)} messages in flight, "
            f"{len(self._pending)} requests pending, seed {self.seed})")

    def run_for(self, seconds: float) -> None:
        """Perform every event due in the next ``seconds`` of virtual time."""
        self.run_to(self.now + seconds)

    def run_to(self, time: float) -> None:
        """Perform every event due up to virtual time ``time``; then now = time."""
        while (next_at := self._next_at()) is not None and next_at <= time:
            self.step()
        if time > self.now:
            self.now = time

    def wait(self, handles: Sequence[Pending], *, max_time: float = 3600.0) -> None:
        """Run until every handle is done (each has a deadline, so this ends): the
        events :meth:`run_until` performs for that condition, the same
        SimulationError past ``max_time``."""
        self._run(None, [handle for handle in handles if not handle.done], max_time,
                  _MAX_EVENTS)

    # --------------------------------------------------------------- nemesis

    def start_nemesis(self) -> None:
        """Schedule the random crashes and partitions ``faults`` asks for
        (:class:`impl.nemesis.Nemesis`)."""
        self.nemesis.start()

    def stop_nemesis(self) -> None:
        """No more random crashes or partitions start (scheduled restarts and heals
        still happen)."""
        self.nemesis.stop()

    def schedule(self, at: float, callback: Callable[[], None]) -> None:
        """Call ``callback()`` at virtual time ``at`` (an event like any other)."""
        self._push(max(at, self.now), _ACTION, ("call", callback))

    def _action(self, payload: tuple[Any, ...]) -> None:
        kind = payload[0]
        if kind == "deadline":
            handle = self._pending.pop(payload[1], None)
            if handle is not None:
                self.stats["timeouts"] += 1
                self._finish(handle, None, RequestTimeoutError(
                    f"no reply from {handle.coordinator!r} to request {handle.request_id} "
                    f"within {handle.deadline - handle.sent_at:g}s"))
        elif kind == "call":
            payload[1]()
        else:  # pragma: no cover - every kind pushed is handled above
            raise SimulationError(f"unknown scheduled action {payload!r}")

    # ----------------------------------------------------- step-by-step API

    def in_flight(self) -> list[InFlight]:
        """Every message in flight, by id (oldest first). Draws no random number."""
        cut = self._cut
        return [InFlight(message_id, src, dest, message, deliver_at, (src, dest) in cut)
                for message_id, (src, dest, message, _, deliver_at)
                in self._in_flight.items()]  # ids are inserted in order

    def _take(self, message_id: int) -> _Envelope:
        try:
            return self._in_flight.pop(message_id)
        except KeyError:
            raise SimulationError(f"no message {message_id} in flight") from None

    def deliver(self, message_id: int) -> bool:
        """Deliver in-flight message ``message_id`` now. Returns True if a node received
        it; False if it was lost because its destination is down. SimulationError if
        its link is cut (drop it instead) or it is not in flight."""
        envelope = self._in_flight.get(message_id)
        if envelope is None:
            raise SimulationError(f"no message {message_id} in flight")
        src, dest = envelope[0], envelope[1]
        if (src, dest) in self._cut:
            raise SimulationError(f"message {message_id} from {src!r} to "
                                  f"{dest!r} is on a cut link: drop it or heal first")
        del self._in_flight[message_id]
        return self._deliver(message_id, envelope)

    def drop(self, message_id: int) -> None:
        """Lose in-flight message ``message_id``."""
        envelope = self._take(message_id)
        self.stats["lost"] += 1
        self._record("drop", message_id, envelope[0], envelope[1])

    def duplicate(self, message_id: int) -> int:
        """Put a second copy of in-flight message ``message_id`` in flight; its new id."""
        envelope = self._in_flight.get(message_id)
        if envelope is None:
            raise SimulationError(f"no message {message_id} in flight")
        self.stats["duplicated"] += 1
        copy_id = self._enqueue(envelope)  # (a tuple: the copy shares it)
        self._record("duplicate", message_id, copy_id)
        return copy_id

    def perform(self, name: str, effects: list[Effect]) -> None:
        """Perform ``effects`` as if node ``name`` had just returned them (for a driver
        that calls into a node itself)."""
        if name not in self.nodes:
            raise SimulationError(self._why_not_up(name))
        self._perform(name, effects)

    @property
    def next_message_id(self) -> int:
        """The id the next message sent will get (every id below it was used)."""
        return self._next_message_id

    def timers(self, name: str) -> list[float]:
        """The times (simulator's clock) of ``name``'s timers, sorted."""
        return sorted(self.named_timers(name).values())

    def named_timers(self, name: str) -> dict[Any, float]:
        """``name``'s timers: timer value -> when it fires (simulator's clock)."""
        if name not in self.nodes:
            raise SimulationError(self._why_not_up(name))
        return dict(self._timers[name])

    def fire_timers(self, name: str) -> None:
        """Fire node ``name``'s earliest timer, advancing virtual time to it if it is
        later (SimulationError if it has none)."""
        timers = self.named_timers(name)
        if not timers:
            raise SimulationError(f"node {name!r} has no timer set")
        at, _, timer = min((at, repr(timer), timer) for timer, at in timers.items())
        if at > self.now:
            self.now = at
        self.fire_timer(name, timer)

    def fire_timer(self, name: str, timer: Any) -> None:
        """Fire ``timer`` at node ``name`` now, whether it is set or not (a set one is
        taken off the schedule), and perform the effects."""
        if name not in self.nodes:
            raise SimulationError(self._why_not_up(name))
        self._timers[name].pop(timer, None)
        self._fire(name, timer)

    def advance(self, seconds: float) -> None:
        """Move virtual time forward without performing any event."""
        if seconds < 0:
            raise SimulationError(f"time only moves forward, got {seconds}")
        self.now += seconds

    def client_deadlines(self) -> None:
        """Fail every pending request whose deadline passed (step mode: time was advanced)."""
        for request_id, handle in sorted(self._pending.items()):
            if handle.deadline <= self.now:
                self._action(("deadline", request_id))
