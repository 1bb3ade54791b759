"""The library surface: a whole Dynamo cluster simulated in one process.

Theory of operation
-------------------
:class:`SimulatedCluster` builds one :class:`impl.node.Node` per node name, each
on its own storage engine (in-memory, or SQLite files in a temporary
directory), and drives them all with an :class:`impl.simulator.Simulator` on
virtual time, seeded by ``seed``. A :class:`Client` hands get and put requests
to a coordinator node (by default the first up node of the key's preference
list, failing over to the next one when that node cannot serve the request; or a
random up node; or one named by the caller) and runs the simulation until the
reply arrives::

    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=7)
    client = cluster.client()
    got = client.get(b"cart")               # GetResult: .values (siblings), .context
    client.put(b"cart", b"milk,eggs", context=got.context)

A request that cannot reach its quorum raises :class:`impl.errors.QuorumError`
(a coordinator that is down: :class:`~impl.errors.NodeDownError`; no reply at
all: :class:`~impl.errors.RequestTimeoutError`); all are
:class:`~impl.errors.DynamoError`. ``submit_get`` / ``submit_put`` start a
request and return a :class:`~impl.simulator.Pending` handle without running
the simulation, so that many requests run concurrently; ``cluster.wait(handles)``
runs until they are all done.

Crashes keep what the storage engine made durable (the engines' ``crash()``:
``MemoryStorage`` rolls back what was not flushed; ``SqliteStorage`` drops its
connection without committing and opens the file again). A restart builds a new
node on that storage.

:meth:`SimulatedCluster.run_until_quiet` runs until nothing is pending: no client
request outstanding, no hint left that could be delivered (its fallback and its
intended node are up; heal partitions first), and no replica changed (write, delete,
hint stored or removed) for a whole *quiet window* of virtual time, several
rounds of gossip, hint scans and anti-entropy long.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, cast

from impl import messages
from impl.config import ClusterConfig
from impl.effects import GetResult, PutResult
from impl.errors import (
    ConfigError,
    DynamoError,
    NodeDownError,
    OverloadedError,
    QuorumError,
    RemoteError,
    RequestTimeoutError,
)
from impl.gossip import left_unsettled
from impl.membership import ROUTED, MemberStatus, seen_all
from impl.node import Node
from impl.simulator import Faults, NodeLike, Pending, SimulationError, Simulator, derive_seed
from impl.storage.base import FsyncPolicy, Hint, Storage
from impl.storage.memory import MemoryStorage
from impl.storage.sqlite import SqliteStorage
from impl.storage.watched import WatchedStorage as WatchedStorage
from impl.versions import Record

__all__ = ["Client", "SimulatedCluster", "WatchedStorage"]

#: quiet windows without a replica change that :meth:`SimulatedCluster.run_until_quiet`
#: waits for a leave or a rebuild under way, then calls the cluster quiet, the leaver
#: left serving and named in ``stalled`` (a leave queued behind a join settled 28 s
#: after the cluster was first quiet, case 07 with seed 2; one that waits for a member
#: down for good never does; before session 47 the leaver was then taken out)
LEAVE_PATIENCE = 6

StorageKind = Literal["memory", "sqlite"]
Routing = Literal["random", "preference"]

#: what a partition-aware client fails over after (see :class:`Client`): a get and a
#: delete after any failure of the cluster's; a put only when nothing was written
RETRY_GET: tuple[type[DynamoError], ...] = (NodeDownError, OverloadedError, QuorumError,
                                            RequestTimeoutError)
RETRY_DELETE = RETRY_GET
RETRY_PUT: tuple[type[DynamoError], ...] = (NodeDownError, OverloadedError)
#: (and, for every kind, a QuorumError whose ``written`` is False: refused before
#: writing, short of reachable primaries; :meth:`Client._failover`)


class Client:
    """A client of a :class:`SimulatedCluster`.

    ``coordinator``: the node every request goes to (None: each request picks
    one by ``routing``). ``"preference"``, the default: the paper's partition-aware
    client (section 4.5; section 6.4's client-driven coordination): the client holds
    the ring and sends each request to the first up node of the key's preference
    list, with no forwarding hop, and **fails over** (:meth:`failover_order`): when
    an attempt fails in a way that another coordinator may not, it tries the next
    node of the list, then any other up node, each at most once, up to ``attempts``
    coordinators (3: riak-java-client's ``RiakCluster.Builder.DEFAULT_EXECUTION_ATTEMPTS``)
    within the request's deadline (``cluster.client_timeout``; the client sees its
    coordinator crash at once, as a reset connection: :meth:`Simulator.submit
    <impl.simulator.Simulator.submit>`). A node that failed an attempt
    is tried last for the next ``suspicion_timeout`` seconds (Voldemort's routed
    store marks it unavailable; riak-java-client moves on to the next node).
    ``"random"``: an up node drawn with the client's seeded generator, like a load
    balancer (a node outside the key's top N forwards the request); no failover.

    What is retried (:data:`RETRY_GET`, :data:`RETRY_DELETE`, :data:`RETRY_PUT`): a
    get after any failure of the cluster's (it writes nothing but read repairs); a
    delete too (idempotent: a second tombstone covers the same context); a put only
    when nothing was written (its coordinator was down or refused it before
    writing), as :mod:`impl.http_client` does. A put whose coordinator failed
    after writing it locally (``QuorumError``, ``RequestTimeoutError``: the outcome
    is unknown) is *not* sent to another coordinator unless ``retry_unknown_puts``:
    the second coordinator would add its own version with the same context, a
    sibling of the first one once the partition heals (a false sibling for a
    sequential client, riak_kv #1046's kind). Riak's client does retry it
    (riak-java-client re-executes any failed operation, stores included, on
    another node), and Voldemort's routed put takes the next node of the list as
    its master after any exception from the first; the Dynamo paper leaves it to
    the client. Without ``retry_unknown_puts`` the caller reads the key and writes
    with the fresh context, which supersedes whatever the failed attempt stored.
    A retried put keeps its context and its client-vclock counter (so in the
    client-vclock mode both attempts are the same version).

    ``client_id`` names the client in requests (the client-vclock mode uses it).
    """

    def __init__(self, cluster: SimulatedCluster, *, coordinator: str | None = None,
                 client_id: str = "", seed: int = 0,
                 routing: Routing = "preference", attempts: int = 3,
                 retry_unknown_puts: bool = False) -> None:
        if routing not in ("random", "preference"):
            raise ConfigError(f"routing: must be 'random' or 'preference', got {routing!r}")
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ConfigError(f"attempts: must be an integer >= 1, got {attempts!r}")
        self.cluster = cluster
        self.coordinator = coordinator
        self.client_id = client_id
        #: puts this client issued: its client-vclock counter so far
        self.puts_issued = 0
        self.routing: Routing = routing
        self.attempts = attempts
        self.retry_unknown_puts = retry_unknown_puts
        self.rng = random.Random(seed)
        #: node -> virtual time until which this client tries it last (it failed)
        self.suspects: dict[str, float] = {}

    def pick_coordinator(self, coordinator: str | None = None, key: bytes | None = None) -> str:
        """The node a request goes to: ``coordinator``, the client's, else by the
        client's routing: ``random`` (an up node, like a load balancer) or
        ``preference`` (the first up node of the key's preference list that this
        client does not suspect, the paper's partition-aware client: no forwarding
        hop). NodeDownError when every node is down."""
        chosen = coordinator if coordinator is not None else self.coordinator
        if chosen is not None:
            return chosen
        sim = self.cluster.sim
        if self.routing == "preference" and key is not None:
            if self.suspects:
                return self.failover_order(key)[0]
            live = sim.nodes
            for name in self.cluster.ring_view().preference_list(key):
                if name in live:
                    return str(name)
        up = [name for name in sim.members if name in sim.nodes]
        if not up:
            raise NodeDownError("every node of the cluster is down")
        return self.rng.choice(up)

    def failover_order(self, key: bytes) -> list[str]:
        """The up nodes in the order a partition-aware request for ``key`` tries them:
        the key's preference list (top N first), then every other up node; the nodes
        this client suspects (they failed an attempt in the last ``suspicion_timeout``
        seconds) last. NodeDownError when every node is down."""
        sim = self.cluster.sim
        live = sim.nodes
        order = [name for name in self.cluster.ring_view().preference_list(key) if name in live]
        order += [name for name in sim.members if name in live and name not in order]
        if not order:
            raise NodeDownError("every node of the cluster is down")
        if self.suspects:
            now = sim.now
            for name, until in list(self.suspects.items()):
                if until <= now:
                    del self.suspects[name]
            order.sort(key=lambda name: name in self.suspects)  # stable: list order kept
        return order

    def _fails_over(self, coordinator: str | None) -> bool:
        return coordinator is None and self.coordinator is None and self.routing == "preference"

    def _submit(self, request: messages.ClientRequest, coordinator: str | None,
                retry: tuple[type[DynamoError], ...], attempts: int | None = None) -> Pending:
        sim = self.cluster.sim
        chosen = self.pick_coordinator(coordinator, request.key)
        most = self.attempts if attempts is None else attempts
        if not self._fails_over(coordinator) or most <= 1:
            return sim.submit(chosen, request, timeout=self.cluster.client_timeout)

        def failover(handle: Pending, error: DynamoError) -> bool:
            return self._failover(handle, error, retry, most)

        return sim.submit(chosen, request, timeout=self.cluster.client_timeout,
                          failover=failover)

    def _failover(self, handle: Pending, error: DynamoError,
                  retry: tuple[type[DynamoError], ...], attempts: int) -> bool:
        """The failover hook of a partition-aware request: suspect the coordinator
        that failed; send the request (a new request id, the same fields) to the next
        node not tried yet, if ``error`` is one ``retry`` names, attempts are left and
        so is time (``attempts`` coordinators at most), or if it is a QuorumError
        refused before anything was written (``written`` False: fewer primaries
        believed reachable than PW or PR, a view the next node may not share; session
        39's review). True when it was sent again."""
        sim = self.cluster.sim
        if not isinstance(error, RemoteError):
            return False  # the caller's input: every node would refuse it
        self.suspects[handle.coordinator] = sim.now + float(
            self.cluster.config.suspicion_timeout)
        refused = isinstance(error, QuorumError) and not error.written
        if (not (isinstance(error, retry) or refused) or len(handle.tried) >= attempts
                or sim.now >= handle.deadline):
            return False
        request = cast(messages.ClientRequest, handle.request)
        try:
            order = self.failover_order(request.key)
        except NodeDownError:
            return False
        following = next((name for name in order if name not in handle.tried), None)
        if following is None:
            return False
        sim.resubmit(handle, following,
                     dataclasses.replace(request, request_id=sim.new_request_id()))
        return True

    def submit_get(self, key: bytes, *, r: int | None = None,
                   coordinator: str | None = None, pr: int | None = None) -> Pending:
        """Start a get of ``key``; the handle's result is a GetResult. ``r``, ``pr``:
        the request's R and PR (None: the cluster's)."""
        request = messages.GetRequest(self.cluster.sim.new_request_id(), key, r,
                                      self.client_id, pr)
        return self._submit(request, coordinator, RETRY_GET)

    def submit_put(self, key: bytes, value: bytes, context: bytes = b"", *,
                   w: int | None = None, coordinator: str | None = None,
                   pw: int | None = None) -> Pending:
        """Start a put of ``value`` under ``key``; the handle's result is a PutResult.
        ``w``, ``pw``: the request's W and PW (None: the cluster's)."""
        # The client's own counter for client-vclock: the puts it issued before this
        # one (a put that never reached a coordinator only leaves a gap).
        request = messages.PutRequest(self.cluster.sim.new_request_id(), key, value,
                                      context, w, self.client_id, self.puts_issued, pw=pw)
        self.puts_issued += 1
        return self._submit(request, coordinator,
                            RETRY_GET if self.retry_unknown_puts else RETRY_PUT)

    def submit_delete(self, key: bytes, context: bytes = b"", *, w: int | None = None,
                      coordinator: str | None = None, attempts: int | None = None,
                      pw: int | None = None) -> Pending:
        """Start a delete of ``key``: a tombstone superseding what ``context`` (an
        earlier get's) covers; the handle's result is a PutResult (its context
        covers the tombstone). ``attempts``: coordinators a partition-aware client
        tries at most (default: the client's); ``w``, ``pw``: as :meth:`submit_put`."""
        request = messages.delete_request(self.cluster.sim.new_request_id(), key, context, w,
                                          self.client_id, self.puts_issued, pw=pw)
        self.puts_issued += 1
        return self._submit(request, coordinator, RETRY_DELETE, attempts)

    def delete(self, key: bytes, context: bytes = b"", *, w: int | None = None,
               r: int | None = None, coordinator: str | None = None,
               attempts: int = 3, pw: int | None = None,
               pr: int | None = None) -> PutResult:
        """Delete ``key``: what ``context`` covers is gone (a get then answers no
        values, with a context a later put supersedes the tombstone with); a write
        concurrent with the delete stays. Runs the simulation until W replicas
        acknowledged; raises the request's DynamoError.

        Without a ``context`` the delete reads the key first (a get with ``r``) and
        deletes what that read returned, as the HTTP API and ``riak_kv_delete``
        (delete/8, no vclock given) do: a tombstone with an empty context would be
        concurrent with every stored version and delete nothing. When that read
        finds no value nothing is written and the result carries the read's
        context. :meth:`submit_delete` is the raw request (an empty context there
        is a blind tombstone, the spec's delete action).

        A delete is idempotent (a retry through another coordinator adds a second
        tombstone covering the same context: still "not found", nothing else
        superseded), so when its coordinator fails to reach W (``QuorumError``,
        ``RequestTimeoutError``, ``NodeDownError``) and no ``coordinator`` was
        named, it is retried through another node, up to ``attempts`` in all
        (basho/riak-java-client: ``RiakCluster.Builder.DEFAULT_EXECUTION_ATTEMPTS``
        is 3). A partition-aware client (the default) does so through its failover
        (:class:`Client`); a randomly routing one retries through a random other up
        node. A put whose outcome is unknown is not retried: a retry would make a
        false sibling. ``pw``, ``pr``: the primary quorums of the tombstone and of
        the read (:meth:`submit_put`, :meth:`submit_get`)."""
        if not context:
            read = self.get(key, r=r, coordinator=coordinator, pr=pr)
            if not read.values:
                return PutResult(read.context)
            context = read.context
        if self._fails_over(coordinator):
            handle = self.submit_delete(key, context, w=w, attempts=max(1, attempts), pw=pw)
            self.cluster.wait([handle])
            done = handle.result()
            assert isinstance(done, PutResult)
            return done
        tried: set[str] = set()
        error: DynamoError | None = None
        for _ in range(max(1, attempts)):
            chosen = coordinator
            if chosen is None:
                sim = self.cluster.sim
                others = [name for name in sim.members
                          if name in sim.nodes and name not in tried]
                chosen = self.pick_coordinator(None, key) if not tried or not others else (
                    self.rng.choice(others))
            tried.add(chosen)
            handle = self.submit_delete(key, context, w=w, coordinator=chosen, pw=pw)
            self.cluster.wait([handle])
            if handle.error is None:
                result = handle.result()
                assert isinstance(result, PutResult)
                return result
            error = handle.error
            if coordinator is not None or not isinstance(
                    error, QuorumError | RequestTimeoutError | NodeDownError):
                break
        assert error is not None
        raise error

    def get(self, key: bytes, *, r: int | None = None,
            coordinator: str | None = None, pr: int | None = None) -> GetResult:
        """The siblings of ``key`` and their context (runs the simulation until the
        reply); raises the request's DynamoError. ``r``, ``pr``: as
        :meth:`submit_get`."""
        handle = self.submit_get(key, r=r, coordinator=coordinator, pr=pr)
        self.cluster.wait([handle])
        result = handle.result()
        assert isinstance(result, GetResult)
        return result

    def put(self, key: bytes, value: bytes, context: bytes = b"", *,
            w: int | None = None, coordinator: str | None = None,
            pw: int | None = None) -> PutResult:
        """Store ``value`` under ``key``, superseding what ``context`` covers (runs the
        simulation until the acknowledgement); raises the request's DynamoError.
        ``w``, ``pw``: as :meth:`submit_put`."""
        handle = self.submit_put(key, value, context, w=w, coordinator=coordinator, pw=pw)
        self.cluster.wait([handle])
        result = handle.result()
        assert isinstance(result, PutResult)
        return result


def _hint_range(seed: int) -> int:
    """A first hint id drawn from ``seed`` in ``[2**32, 2**62)``: above the ids a
    node's first store counts from 1, apart from other draws by probability (two
    ranges of ``h`` hints meet with probability about ``h / 2**62``)."""
    return (1 << 32) + seed % ((1 << 62) - (1 << 32))


class SimulatedCluster:
    """A Dynamo cluster of ``nodes`` node cores on a deterministic simulator.

    ``nodes``: a count (names ``n1``, ``n2``, ...) or the names. ``n``, ``r``,
    ``w``, ``clock`` and every other :class:`impl.config.ClusterConfig` field
    (``sloppy_quorum``, ``hinted_handoff``, ``read_repair``, ``anti_entropy``,
    timings, ...) are passed through as keywords. ``storage``: ``"memory"`` or
    ``"sqlite"`` (files under ``storage_dir``, a fresh temporary directory by
    default, removed by :meth:`close`); ``fsync``: the engines' durability
    policy. ``faults``: the network faults and the nemesis
    (:class:`impl.simulator.Faults`); the nemesis starts at once when it is set.
    ``wire``: pass every message through impl.wire. ``log``: record every event
    in ``cluster.sim.log``. ``client_timeout``: virtual seconds a client waits
    for a reply (default: 5 x the request timeout). ``early_replica_puts``: a
    failed write keeps its input's ReplicaPuts, as the runtime's group commit
    sends them (:class:`impl.simulator.Simulator`; session 52; on by default since
    session 52's review, as the runtime's default engine; False: the runtime
    without a committer).
    """

    def __init__(
        self,
        nodes: int | Sequence[str] = 5,
        n: int = 3,
        r: int = 2,
        w: int = 2,
        *,
        seed: int = 7,
        clock: str = "dvv",
        storage: StorageKind = "memory",
        fsync: FsyncPolicy = "always",
        storage_dir: str | Path | None = None,
        faults: Faults | None = None,
        wire: bool = False,
        log: bool = False,
        client_timeout: float | None = None,
        early_replica_puts: bool = True,
        **options: Any,
    ) -> None:
        if isinstance(nodes, int):
            if nodes < 1:
                raise ConfigError(f"nodes: must be >= 1, got {nodes}")
            names = tuple(f"n{i}" for i in range(1, nodes + 1))
        else:
            names = tuple(nodes)
        if storage not in ("memory", "sqlite"):
            raise ConfigError(f"storage: must be 'memory' or 'sqlite', got {storage!r}")
        self.config: ClusterConfig = ClusterConfig(nodes=names, n=n, r=r, w=w, clock=clock,
                                                   **options)
        self.seed = seed
        self.storage_kind: StorageKind = storage
        self.fsync: FsyncPolicy = fsync
        self._own_dir = storage == "sqlite" and storage_dir is None
        self.storage_dir: Path | None = None
        if storage == "sqlite":
            self.storage_dir = Path(storage_dir if storage_dir is not None
                                    else tempfile.mkdtemp(prefix="vdynamo-sim-"))
            self.storage_dir.mkdir(parents=True, exist_ok=True)
        self.client_timeout = (client_timeout if client_timeout is not None
                               else 5.0 * float(self.config.request_timeout))
        self.storages: dict[str, WatchedStorage] = {}
        #: node -> how many engines were opened for it (:meth:`_open_storage`)
        self._opened: dict[str, int] = {}
        #: node -> the memory engine :meth:`_open_storage` made for it, until the node
        #: starts on it (that start keeps the engine's first hint id; :meth:`_make_node`)
        self._unstarted: dict[str, Storage] = {}
        self.left: set[str] = set()
        #: nodes that left and were joined again, until their Node is made
        self._rejoining: set[str] = set()
        #: after :meth:`run_until_quiet`: each leave it found stalled (its node up and
        #: still leaving) -> the members its handover waits for, a leaver down
        #: mid-leave -> [itself] (:meth:`_stalled_leaves`); {} when none
        self.stalled: dict[str, list[str]] = {}
        self._clients = 0
        #: the initial nodes not made yet: a brand-new cluster, whose first starts
        #: announce nothing (:meth:`_make_node`)
        self._brand_new: set[str] = set(names)
        self.sim = Simulator(self._make_node, seed=seed, faults=faults, on_crash=self._on_crash,
                             on_disk_loss=self._replace_disk,
                             storage=self.storages.__getitem__, wire=wire, log=log,
                             client_timeout=self.client_timeout,
                             early_replica_puts=early_replica_puts)
        for name in names:
            self.storages[name] = WatchedStorage(self._open_storage(name))
            self.sim.add_node(name)
        if faults is not None and (faults.crash_interval is not None
                                   or faults.partition_interval is not None):
            self.sim.start_nemesis()

    # ------------------------------------------------------------- plumbing

    def _open_storage(self, name: str) -> Storage:
        """Node ``name``'s engine: a new one (its first, or one replacing a lost disk),
        or its SQLite file opened again. A store after the node's first numbers its
        hints apart from every earlier one's (session 34: a late ``HintAck`` of a
        lost disk's hint removed the new disk's hint of the same id): the memory
        engine from a first id drawn in ``[2**32, 2**62)`` (the first store counts
        from 1, below 2**32 for its first 4 billion hints), a new SQLite file from the
        epoch its own ``storage-id`` gives (:func:`impl.storage.sqlite.first_epoch`),
        seeded from the cluster's seed and the store's count (the first store's as
        before). Every later open of a SQLite file draws its epoch from a source
        seeded the same way (session 35: a restored file repeated the epochs its
        count gave since the backup); the memory engine's later starts,
        :meth:`_make_node`."""
        opened = self._opened[name] = self._opened.get(name, 0) + 1
        parts: tuple[object, ...] = () if opened == 1 else (opened,)
        if self.storage_kind == "memory":
            first = 1 if opened == 1 else _hint_range(derive_seed(self.seed, "hints", name, *parts))
            store = self._unstarted[name] = MemoryStorage(fsync=self.fsync, first_hint_id=first)
            return store
        assert self.storage_dir is not None
        return SqliteStorage(str(self.storage_dir / f"{name}.sqlite3"), fsync=self.fsync,
                             storage_id=derive_seed(self.seed, "storage", name,
                                                    *parts).to_bytes(8, "big"),
                             hint_epochs=random.Random(
                                 derive_seed(self.seed, "hint-epochs", name, *parts)))

    def _make_node(self, name: str, seed: int, now: float) -> NodeLike:
        """The node ``name`` on its storage. An initial node's first start does not
        announce its fresh store (``Node(announce=False)``): the cluster is brand
        new, no peer heard of an earlier start. Every later start (a restart, a
        wiped disk, a node that joined) is a real node's.

        A start on a memory engine other than the new one :meth:`_open_storage` made
        (a restart, or a store put back from a backup) numbers its hints from a first
        id drawn from the start's ``seed`` in ``[2**32, 2**62)``
        (:meth:`MemoryStorage.start_hints_at`): a restored store's counter repeats the
        ids of the starts since its backup (session 35), and the start's seed, drawn
        from the simulator's own start count, is never rolled back."""
        store = self.storages[name].inner
        if self._unstarted.pop(name, None) is not store and isinstance(store, MemoryStorage):
            store.start_hints_at(_hint_range(derive_seed(seed, "hints")))
        rejoin = name in self._rejoining  # join() of a node that left: it joins again
        self._rejoining.discard(name)
        announce = name not in self._brand_new
        self._brand_new.discard(name)
        node = Node(name, self.config, self.storages[name], seed=seed, now=now,
                    rejoin=rejoin, announce=announce)
        # the cluster file's nodes (as ``vdynamo serve`` gives them): every member
        # added and not taken out (session 60's review: a replaced disk's view lacks
        # the members that joined since)
        node.file_members = frozenset(n for n in self.storages if n not in self.left)
        return node

    def _on_crash(self, name: str) -> None:
        watched = self.storages[name]
        crash: Callable[[], object] | None = getattr(watched.inner, "crash", None)
        if crash is not None:  # both engines model the crash in place
            crash()
        else:
            watched.inner.close()
            watched.inner = self._open_storage(name)

    # ------------------------------------------------------------ the surface

    @property
    def node_names(self) -> list[str]:
        """The members' names (initial nodes and joined ones, without those that left)."""
        return list(self.sim.members)

    @property
    def now(self) -> float:
        """The simulator's virtual time in seconds."""
        return self.sim.now

    def node(self, name: str) -> Node:
        """The live :class:`impl.node.Node` of ``name`` (SimulationError when down)."""
        node = self.sim.nodes.get(name)  # (the simulator's node(), inline: tests ask
        if node is None:  # this after every event; session 44)
            node = self.sim.node(name)  # (raises, saying why)
        return node  # type: ignore[return-value]  # (a Node: this cluster makes them)

    def ring_view(self) -> Node:
        """The first up member: the ring a partition-aware client routes by (the
        client holds the ring, as in the paper's section 6.4; here it reads an up
        node's). NodeDownError when every node is down."""
        live = self.sim.nodes
        for name in self.sim.members:
            node = live.get(name)
            if node is not None:
                return cast(Node, node)
        raise NodeDownError("every node of the cluster is down")

    def client(self, coordinator: str | None = None, *, client_id: str | None = None,
               routing: Routing = "preference", attempts: int = 3,
               retry_unknown_puts: bool = False) -> Client:
        """A new client (seeded from the cluster's seed and the client's number).
        ``coordinator`` pins it to a node; ``routing`` is how it picks one otherwise:
        the first up node of the key's ``"preference"`` list (the default: the
        paper's partition-aware client, section 6.4: no forwarding hop; a failed
        attempt fails over to the next node of the list, up to ``attempts``
        coordinators; ``retry_unknown_puts``: a put whose outcome is unknown too, at
        the risk of a sibling: see :class:`Client`), or a ``"random"`` up node (a
        node outside the key's top N forwards the request). ConfigError for an
        unknown routing or ``attempts`` < 1."""
        self._clients += 1
        if coordinator is not None and coordinator not in self.sim.members:
            raise SimulationError(f"unknown node {coordinator!r} "
                                  f"(nodes: {', '.join(self.sim.members)})")
        return Client(self, coordinator=coordinator,
                      client_id=client_id if client_id is not None else f"c{self._clients}",
                      seed=derive_seed(self.seed, "client", self._clients), routing=routing,
                      attempts=attempts, retry_unknown_puts=retry_unknown_puts)

    def crash(self, name: str) -> None:
        """Crash node ``name`` (it keeps only what its storage made durable)."""
        self.sim.crash(name)

    def restart(self, name: str) -> None:
        """Restart crashed node ``name``: a new node on its surviving storage."""
        self.sim.restart(name)

    def wipe(self, name: str) -> None:
        """Replace node ``name``'s disk: crash it (if up), give it an empty storage
        engine (no versions, no hints, no meta: membership, incarnation and actor
        id are gone too; a SQLite file is deleted), and restart it. The fault of
        Riak's kv679 ("key amnesia"); the restarted node takes a new actor id.
        :meth:`lose_disk` then :meth:`restart`; SimulationError for an unknown node."""
        self.lose_disk(name)
        self.sim.restart(name)

    def lose_disk(self, name: str) -> None:
        """The first half of :meth:`wipe`: crash node ``name`` (if up) and replace its
        disk with an empty one; it stays down until :meth:`restart` (the spec's
        ``DiskLoss``, whose ``Recover`` is the restart). SimulationError for an
        unknown node."""
        if name not in self.storages or name not in self.sim.members:
            raise SimulationError(f"unknown node {name!r} (nodes: {', '.join(self.sim.members)})")
        self.sim.lose_disk(name)

    def _replace_disk(self, name: str) -> None:
        """Down node ``name``'s disk replaced by an empty one (the simulator's
        ``on_disk_loss`` hook: :meth:`lose_disk`, and the nemesis' disk losses)."""
        watched = self.storages[name]
        with contextlib.suppress(Exception):  # a crashed engine may be closed already
            watched.inner.close()
        if self.storage_dir is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                (self.storage_dir / f"{name}.sqlite3{suffix}").unlink(missing_ok=True)
        watched.inner = self._open_storage(name)
        watched.changes += 1  # the replica changed: quiet starts again

    def is_down(self, name: str) -> bool:
        """True when ``name`` is crashed (and not restarted)."""
        return self.sim.is_down(name)

    def partition(self, *groups: Iterable[str]) -> None:
        """Cut every link between nodes of different groups (both directions);
        nodes named in no group keep their links."""
        self.sim.partition(*groups)

    def partition_one_way(self, sources: Iterable[str], destinations: Iterable[str]) -> None:
        """Cut the links from ``sources`` to ``destinations`` only."""
        self.sim.partition_one_way(sources, destinations)

    def heal(self) -> None:
        """Restore every link."""
        self.sim.heal()

    def stop_nemesis(self) -> None:
        """No more random crashes or partitions (pending restarts and heals still
        happen); call it before :meth:`run_until_quiet` when a nemesis runs."""
        self.sim.stop_nemesis()

    def set_skew(self, name: str, seconds: float) -> None:
        """Node ``name``'s clock runs ``seconds`` ahead (negative: behind).
        SimulationError for an unknown node or a ``seconds`` that is not a finite
        number."""
        self.sim.set_skew(name, seconds)

    def join(self, name: str) -> None:
        """A new node ``name`` joins: it takes tokens by the partitioning strategy and
        gossips with the seed nodes; the owners hand it the ranges it now owns. When
        no seed (``ClusterConfig.seeds``, by default the initial members) is a member
        that is up, every one having left (or being down), the members up become the
        seeds of the nodes started from now on, as an operator keeps a seed list
        current (paper 4.8.2; ``vdynamo join`` rewrites a local cluster's file so):
        before session 47's data probe the node asked only nodes gone and never
        joined; before its review, with every seed down, it joined only once one was
        back (tests/impl/test_join_after_seeds_left.py). A node that left and is down,
        its leave not settled (:meth:`run_until_quiet` has not taken it out), is started
        again on its store and joins again (tests/impl/test_rejoin_left_unsettled.py);
        one down mid-leave is started again, and resumes its leave; one with its disk
        replaced once it left is asked to rejoin too; a node force-removed raises
        SimulationError (session 50's review)."""
        if name in self.storages and name not in self.left:
            raise SimulationError(f"node {name!r} already exists")
        if name in self.left and name in self.sim.members and self.sim.is_down(name):
            # it left and went down before its leave settled (not taken out): started
            # again on its store, asked to join again (``vdynamo join``: serve
            # --rejoin), it announces the settlement, then joins (session 50); down
            # mid-leave (not left yet), it resumes its leave. Its disk replaced (no
            # view) once it left: asked to rejoin too, as ``serve --rejoin`` on a new
            # store (before session 50's review: only restarted, left for good)
            if self._seen_as(name, MemberStatus.REMOVING, MemberStatus.REMOVED):
                # (force-removed: the runtime stops such a node; before session 50's
                # review this restarted it, a node with hints it never delivers)
                raise SimulationError(f"node {name!r} was force-removed: it cannot "
                                      "join again under its name")
            store = self.storages[name]
            if left_unsettled(store, name) or (not store.get_meta("membership")
                                                and self._seen_as(name, MemberStatus.LEFT)):
                self._rejoining.add(name)
                self.left.discard(name)
            self.sim.restart(name)
            return
        members = [node for node in self.sim.members  # up: a seed down answers no joiner
                   if node not in self.left and node in self.sim.nodes]  # (47's review)
        if members and not set(self.config.seed_nodes) & set(members):
            self.config = dataclasses.replace(self.config, seeds=tuple(members))
        if name in self.left:  # it left: with its old store (sqlite), it joins again
            self._rejoining.add(name)
        self.left.discard(name)
        self.storages[name] = WatchedStorage(self._open_storage(name))
        self.sim.add_node(name)

    def _seen_as(self, name: str, *statuses: MemberStatus) -> bool:
        """Whether a member up sees node ``name`` in one of ``statuses``."""
        for node in self.sim.nodes:
            entry = self.node(node).gossiper.view.get(name) if node != name else None
            if entry is not None and entry.status in statuses:
                return True
        return False

    def leave(self, name: str) -> None:
        """Node ``name`` leaves: it hands its ranges over; once it has left and the
        cluster is quiet it is taken out (:meth:`run_until_quiet` does that; a leave
        that cannot settle keeps it serving, named in :attr:`stalled`)."""
        node = self.sim.node(name)
        self.sim.perform(name, node.leave(self.sim.node_now(name)))
        self.left.add(name)

    def force_remove(self, by: str, name: str) -> None:
        """An operator on node ``by`` force-removes node ``name``, down for good
        (:meth:`impl.node.Node.force_remove`: riak_core's ``riak-admin cluster
        force-remove``). The refusals of that method propagate
        (:class:`~impl.errors.InvalidValueError`, nothing changed); SimulationError if
        ``by`` is unknown or down."""
        node = self.node(by)
        self.sim.perform(by, node.force_remove(self.sim.node_now(by), name))

    def wait(self, handles: Sequence[Pending], *, max_time: float = 3600.0) -> None:
        """Run the simulation until every handle is done."""
        self.sim.wait(handles, max_time=max_time)

    def run_until(self, condition: Callable[[], bool], *, max_time: float = 3600.0) -> None:
        """Run the simulation until ``condition()`` holds (SimulationError after
        ``max_time`` virtual seconds)."""
        self.sim.run_until(condition, max_time=max_time)

    def run_for(self, seconds: float) -> None:
        """Run the simulation for ``seconds`` of virtual time."""
        self.sim.run_for(seconds)

    # -------------------------------------------------------------- replicas

    def replicas(self, key: bytes) -> dict[str, Record | None]:
        """What each of ``key``'s top N replicas stores (an :class:`impl.versions.Record`,
        or None), as the first up node sees the ring; nodes that are down are left out."""
        up = [name for name in self.sim.members if not self.sim.is_down(name)]
        if not up:
            raise NodeDownError("every node of the cluster is down")
        top = self.node(up[0]).preference_list(key)[: self.config.n]
        return {name: self.node(name).record(key) for name in top if name in self.sim.nodes}

    def converged(self, key: bytes) -> bool:
        """True when all of ``key``'s top N replicas are up and store the same record."""
        stored = self.replicas(key)
        return len(stored) == self.config.n and len(set(map(repr, stored.values()))) == 1

    # ------------------------------------------------------------------ quiet

    @property
    def quiet_window(self) -> float:
        """Virtual seconds without a replica change that count as quiet."""
        config = self.config
        return 5.0 * max(float(config.gossip_interval), float(config.hint_scan_interval),
                         float(config.anti_entropy_interval), float(config.request_timeout))

    def changes(self) -> int:
        """Replica changes (versions and hints) so far, over every node."""
        return sum(storage.changes for storage in self.storages.values())

    def deliverable_hints(self) -> list[tuple[str, Hint]]:
        """``(fallback, hint)`` for every hint an up fallback keeps for an intended node
        that is up: they are still to be handed off (a partition between the two holds
        them back until it heals)."""
        found: list[tuple[str, Hint]] = []
        if not self.config.hinted_handoff:
            return found  # hints are kept, never handed off: nothing is pending
        for fallback in self.sim.members:
            if self.sim.is_down(fallback):
                continue
            for hint in self.storages[fallback].hints():
                if hint.intended in self.sim.nodes:
                    found.append((fallback, hint))
        return found

    def leaving(self) -> list[str]:
        """The nodes asked to leave (:meth:`leave`) that are up and have not left yet:
        their leave is under way, or queued behind another change (strategy 3's
        claimant plans one at a time). A leave changes no replica while it waits, so
        quiet alone does not say it is done (session 23: case 07's leaver was taken
        out still ``leaving``, its ranges never handed over). A node that left is still
        leaving until every up node has heard its change's settlement: only it can
        announce it, and ``vdynamo serve`` keeps it up until then and four gossip
        rounds more (:func:`impl.serve.leave_state`). Taken out before, it left the
        members ``settling`` it for good, so the claimant claimed no later join or
        leave (session 47's data probe: a rolling replacement of four nodes, each
        round a join and a leave with a client at work, wedged at its fourth round,
        the joining node ``joining`` and the key unreadable from then on)."""
        up = [self.node(name) for name in self.sim.nodes]
        return [name for name in sorted(self.left)
                if name in self.sim.nodes and (not self._out(name) or any(
                    name in node.gossiper.settling for node in up))]

    def _out(self, name: str) -> bool:
        """Whether node ``name`` (up, asked to leave) has left, or was removed and every
        other up node holds it ``removed`` (or no more): a leaver whose store was new
        removes itself (:meth:`impl.gossip.Gossiper._remove_lost_leaver`; ``vdynamo
        serve`` then stops). Session 52's review: its own view alone counted, and a
        removal whose push was lost (the others holding it ``leaving`` for good) was
        taken out, ``stalled == {}``."""
        node = self.node(name)
        return node.has_left or (node.removed and not self._removal_waiting(name))

    def _removal_waiting(self, name: str) -> set[str]:
        """The up nodes but ``name`` whose view holds node ``name`` and not ``removed``,
        but a node removed itself: it drops every input, so it never learns another's
        removal, and ``vdynamo serve`` stops it (session 57's review: two leavers
        wiped together under strategy 3 each waited for the other, ``stalled`` naming
        both for ever)."""
        waiting = set()
        for up in self.sim.nodes:
            if up != name and self.node(up).removed:
                continue
            member = self.node(up).view.get(name) if up != name else None
            if member is not None and member.status is not MemberStatus.REMOVED:
                waiting.add(up)
        return waiting

    def rebuilding(self) -> list[str]:
        """The members that are up and rebuilding a replaced (or restored) store
        (:mod:`impl.rebuild`): they answer no replica read of a range not rebuilt, so
        a get at R = N fails meanwhile. An exchange of anti-entropy that finds the
        trees in sync changes no replica, so quiet alone does not say a rebuild is
        done (session 23: after ``wipe`` and quiet, gets at R = 3 failed)."""
        return [name for name in self.sim.members
                if name in self.sim.nodes and self.node(name).rebuild.active]

    def run_until_quiet(self, *, max_time: float = 600.0, window: float | None = None) -> None:
        """Deliver, hand off, repair and run anti-entropy until nothing is pending.

        Quiet: no client request outstanding, no deliverable hint, no node asked to
        leave still up and leaving (:meth:`leaving`), no up node rebuilding a
        replaced store (:meth:`rebuilding`), and no replica changed for
        ``window`` virtual seconds (default :attr:`quiet_window`). A leave that has
        stalled (no replica changed for :data:`LEAVE_PATIENCE` windows while it was
        leaving: it cannot settle while another member is down, as riak_core's
        claimant waits for ``ring_ready``) no longer holds quiet back, so this never
        waits for ever. Once quiet, a node asked to leave is taken out only when it is
        gone: up and has left (:meth:`leaving` no longer counts it: its own status
        ``left``, its settlement heard, when ``vdynamo serve`` stops), or down and held
        ``left`` or ``removed`` by every up node. Otherwise it stays: a stalled leaver
        up and serving, named in :attr:`stalled` with the members its handover waits
        for (as ``vdynamo leave`` exits 1 naming the down node), its leave completing
        once they are back or force-removed; a leaver crashed mid-leave stays a down
        member, for a :meth:`restart` (its leave resumes) or a :meth:`force_remove`.
        Before session 47 both were taken out as they stood, ``leaving`` in every view
        for good: the claimant then planned nothing more, every later join stayed
        ``joining`` and in the end every get timed out (its review's scenario,
        tests/impl/test_stalled_leave.py). A rebuild is waited for as long as a leave.
        SimulationError (naming the seed) if quiet is not reached within ``max_time``
        virtual seconds.
        """
        window = self.quiet_window if window is None else window
        step = window / 5.0
        recent = 0
        give_up = self.sim.now + max_time
        seen = self.changes()
        quiet_since = self.sim.now
        while True:
            self.sim.run_for(step)
            changes = self.changes()
            if changes != seen or self.sim.pending_requests:
                recent = changes - seen
                seen = changes
                quiet_since = self.sim.now
            elif (self.sim.now - quiet_since >= window and not self.deliverable_hints()
                  and (not (self.leaving() or self.rebuilding())
                       or self.sim.now - quiet_since >= LEAVE_PATIENCE * window)):
                break
            if self.sim.now > give_up:
                raise SimulationError(
                    f"cluster not quiet after {max_time:g}s (seed {self.seed}): "
                    f"{self.sim.pending_requests} requests pending, "
                    f"{len(self.deliverable_hints())} deliverable hints, "
                    f"{len(self.leaving())} nodes still leaving, "
                    f"{len(self.rebuilding())} rebuilding, "
                    f"{recent} replica changes in the last {step:g}s")
        self.stalled = self._stalled_leaves()
        for name in sorted(self.left):
            if name in self.sim.members and self._gone(name):
                self.sim.remove_node(name)

    def _stalled_leaves(self) -> dict[str, list[str]]:
        """Each node still :meth:`leaving` -> the members its leave waits for, sorted:
        while it hands over, :meth:`impl.node.Node.handover_waiting`; once it has left,
        those of its settlement (:meth:`_settlement_waiting`). A leaver down before it
        is gone (:meth:`_gone`: crashed mid-leave) -> ``[itself]``: its leave waits for
        its :meth:`restart` or a :meth:`force_remove` (session 48; before, it was named
        nowhere, ``stalled == {}``, and it stayed a down member for no reason given)."""
        now = self.sim.now
        stalled = {name: sorted(self._removal_waiting(name) if self.node(name).removed
                                else self._settlement_waiting(name) if self._out(name)
                                else self.node(name).handover_waiting(now))
                   for name in self.leaving()}
        for name in sorted(self.left):
            if (name in self.sim.members and name not in self.sim.nodes
                    and not self._gone(name)):
                stalled[name] = [name]
        return dict(sorted(stalled.items()))

    def _settlement_waiting(self, name: str) -> set[str]:
        """The members the settlement of node ``name``'s leave (it has left) waits
        for: while it has not announced the settlement, the members it does not
        know to have seen its change (:meth:`impl.gossip.Gossiper.settle_if_seen`);
        then the up nodes that have not heard it yet. Session 47's review: a member cut
        off by a partition as the leaver left was named by none (``stalled ==
        {"n1": []}``; tests/impl/test_stalled_leave_review.py)."""
        gossiper = self.node(name).gossiper
        required = gossiper.settle_after
        if name in gossiper.settling and required is not None:
            return {member for member in gossiper.view.nodes_with(ROUTED)
                    if member != name and not seen_all(gossiper.seen, (member,), required)}
        return {up for up in self.sim.nodes
                if up != name and name in self.node(up).gossiper.settling}

    def _gone(self, name: str) -> bool:
        """Whether node ``name``, asked to leave, can be taken out for good: it is up
        and has left (:meth:`leaving` no longer counts it), or it is down and every up
        node holds it ``left`` or ``removed`` (force-removed), or holds it no more."""
        if name in self.sim.nodes:
            return name not in self.leaving()
        gone = (MemberStatus.LEFT, MemberStatus.REMOVED)
        for up in self.sim.nodes:
            member = self.node(up).view.get(name)
            if member is not None and member.status not in gone:
                return False
        return True

    # --------------------------------------------------------------- cleanup

    def close(self) -> None:
        """Close every storage engine and remove the temporary SQLite directory."""
        for storage in self.storages.values():
            with contextlib.suppress(Exception):  # already closed by a crash
                storage.close()
        if self._own_dir and self.storage_dir is not None:
            shutil.rmtree(self.storage_dir, ignore_errors=True)

    def __enter__(self) -> SimulatedCluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
