"""The asyncio runtime: a node core on real sockets.

Theory of operation
-------------------
The runtime is only a loop around the sans-IO core (:class:`impl.node.Node`):
read, decode, hand to the core, perform the effects. It owns everything the
core may not touch: sockets, the clock (``loop.time()``, monotonic seconds) and
the disk (a :class:`~impl.storage.sqlite.SqliteStorage` file by default).

Between nodes: TCP. A connection opens with a hello frame naming the sender
(``b"VDYNHELO"``, a u16 length, the node name); after it, every frame is one
:mod:`impl.wire` message. A hello from a node the configuration does not name,
or a frame that does not decode, closes the connection (a stream that carried a
bad frame cannot be trusted to be in sync) and is logged; the node itself goes
on, and nothing stored changes. Outgoing messages go through one bounded queue
per peer; a peer that is down or slow loses messages, as the protocol allows.

For clients: HTTP/1.1 (parsed by h11), JSON answers::

    GET  /kv/<key>[?r=R]          -> 200 {"values": [base64...], "context": base64}
    PUT  /kv/<key>[?w=W]          -> 200 {"context": base64}
         body: the value; header X-Vdynamo-Context: the base64 context of a get;
         client-vclock: X-Vdynamo-Client names the client, X-Vdynamo-Client-Counter
         its puts so far (the client keeps its own counter)
    GET  /status                  -> 200 {"node": ..., "stats": {...}}

Keys are the percent-decoded path bytes. Errors are mapped once, here: a bad
request 400, a value over the limit 413, a quorum not reached 503, no answer in
time 504; the body is ``{"error": type, "message": text}``.

Run a node with ``vdynamo serve CLUSTER.toml --node n1``, or every node of a
configuration in one process (a local cluster to try) with ``--all``. The
configuration file::

    [cluster]            # any impl.config.ClusterConfig field
    nodes = ["n1", "n2", "n3"]
    n = 3
    r = 2
    w = 2
    secret = "change me, at least 16 bytes"

    [nodes.n1]
    peer = "127.0.0.1:7001"   # TCP between nodes
    http = "127.0.0.1:8001"   # HTTP for clients
    data = "data/n1.sqlite"   # optional; default: <name>.sqlite beside the file
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import struct
import sys
import tomllib
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import h11

from impl import errors, wire
from impl.config import ClusterConfig
from impl.effects import CancelTimer, Effect, GetResult, PutResult, Reply, Send, SetTimer
from impl.messages import GetRequest, PutRequest
from impl.node import Node
from impl.staging import persist
from impl.storage.base import Storage
from impl.storage.sqlite import SqliteStorage
from impl.timers import Timer

__all__ = [
    "Address",
    "NodeServer",
    "RuntimeConfig",
    "load_runtime_config",
    "main",
    "serve",
]

log = logging.getLogger("vdynamo.runtime")

HELLO = b"VDYNHELO"
_U16 = struct.Struct(">H")
_HEADER_BYTES = 10
#: Messages queued for one peer before further ones are dropped (best effort).
PEER_QUEUE = 10_000


@dataclass(frozen=True, slots=True)
class Address:
    host: str
    port: int

    @classmethod
    def parse(cls, text: object, what: str) -> Address:
        if not isinstance(text, str) or ":" not in text:
            raise errors.ConfigError(f"{what}: must be 'host:port', got {text!r}")
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise errors.ConfigError(f"{what}: must be 'host:port', got {text!r}")
        return cls(host, int(port))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class NodeAddresses:
    peer: Address
    http: Address
    data: Path | None = None


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    cluster: ClusterConfig
    nodes: Mapping[str, NodeAddresses] = field(default_factory=dict)


_NODE_KEYS = {"peer", "http", "data"}


def load_runtime_config(path: str | Path) -> RuntimeConfig:
    """Read a cluster file (see the module docstring); ConfigError naming the key."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise errors.ConfigError(f"{path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise errors.ConfigError(f"{path}: not valid TOML: {error}") from None
    unknown = sorted(set(raw) - {"cluster", "nodes"})
    if unknown:
        raise errors.ConfigError(f"[{unknown[0]}]: unknown section (expected [cluster], [nodes.*])")
    section = raw.get("cluster")
    if not isinstance(section, dict):
        raise errors.ConfigError("[cluster]: section missing")
    names = {f.name for f in fields(ClusterConfig)}
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key not in names:
            raise errors.ConfigError(f"[cluster] {key}: not a cluster setting")
        if key in ("nodes", "seeds") and isinstance(value, list):
            value = tuple(value)
        if key == "secret" and isinstance(value, str):
            value = value.encode()
        values[key] = value
    try:
        cluster = ClusterConfig(**values)
    except TypeError as error:
        raise errors.ConfigError(f"[cluster]: {error}") from None
    table = raw.get("nodes", {})
    if not isinstance(table, dict):
        raise errors.ConfigError("[nodes]: must be a table of [nodes.NAME] sections")
    nodes: dict[str, NodeAddresses] = {}
    for name, entry in table.items():
        if not isinstance(entry, dict):
            raise errors.ConfigError(f"[nodes.{name}]: must be a table")
        extra = sorted(set(entry) - _NODE_KEYS)
        if extra:
            raise errors.ConfigError(f"[nodes.{name}] {extra[0]}: unknown key")
        for key in ("peer", "http"):
            if key not in entry:
                raise errors.ConfigError(f"[nodes.{name}] {key}: missing")
        data = entry.get("data")
        if data is not None and not isinstance(data, str):
            raise errors.ConfigError(f"[nodes.{name}] data: must be a path string")
        nodes[name] = NodeAddresses(
            Address.parse(entry["peer"], f"[nodes.{name}] peer"),
            Address.parse(entry["http"], f"[nodes.{name}] http"),
            (path.parent / data) if data else path.parent / f"{name}.sqlite",
        )
    missing = [n for n in cluster.nodes if n not in nodes]
    if missing:
        raise errors.ConfigError(f"[nodes.{missing[0]}]: no addresses for a cluster node")
    return RuntimeConfig(cluster, nodes)


_STATUS = {
    errors.TooLargeError: 413,
    errors.BadRequestError: 400,
    errors.QuorumError: 503,
    errors.NodeDownError: 503,
    errors.RequestTimeoutError: 504,
}


def http_status(error: errors.DynamoError) -> int:
    """The HTTP status of an error (the one place errors meet HTTP)."""
    for kind, status in _STATUS.items():
        if isinstance(error, kind):
            return status
    return 500


class NodeServer:
    """One node on real sockets: the peer listener, the HTTP listener, the timers.

    ``peers`` maps every node name to its peer address (this node's included);
    addresses may be filled in after construction, before traffic flows (tests
    bind to port 0 and learn the ports first).
    """

    def __init__(
        self, name: str, config: ClusterConfig, storage: Storage,
        peers: dict[str, Address], *, seed: int = 0,
    ) -> None:
        self.name = name
        self.config = config
        self.storage = storage
        self.peers = peers
        self.loop = asyncio.get_running_loop()
        self.node = Node(name, config, storage, seed=seed, now=self.loop.time())
        self._request_ids = iter(range(1, 1 << 62))
        self._waiting: dict[int, asyncio.Future[Reply]] = {}
        self._queues: dict[str, asyncio.Queue[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: dict[Timer, asyncio.TimerHandle] = {}  # one handle per named timer
        self._servers: list[asyncio.Server] = []
        self.peer_address: Address | None = None
        self.http_address: Address | None = None
        self.dropped_frames = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self, peer: Address, http: Address) -> None:
        peer_server = await asyncio.start_server(self._on_peer, peer.host, peer.port)
        http_server = await asyncio.start_server(self._on_http, http.host, http.port)
        self._servers = [peer_server, http_server]
        self.peer_address = Address(peer.host, peer_server.sockets[0].getsockname()[1])
        self.http_address = Address(http.host, http_server.sockets[0].getsockname()[1])
        self._perform(self.node.start(self.loop.time()))

    async def stop(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self.storage.close()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ effects

    def _perform(self, effects: list[Effect]) -> None:
        # Persist, then send: the writes come first and are performed in order, each
        # durable as the engine's fsync policy says, before any Send or Reply that may
        # acknowledge them. The seam for group commit (one transaction and one fsync
        # for the writes of many inputs, then their sends) is here and in
        # impl.staging.persist.
        effects = persist(self.storage, effects,
                          lambda error: self.node.persist_failed(self.loop.time(), error))
        for effect in effects:
            if isinstance(effect, Send):
                self._send(effect.dest, effect.message)
            elif isinstance(effect, Reply):
                future = self._waiting.pop(effect.request_id, None)
                if future is not None and not future.done():
                    future.set_result(effect)
            elif isinstance(effect, SetTimer):
                self._set_timer(effect.timer, effect.at)
            elif isinstance(effect, CancelTimer):
                handle = self._timers.pop(effect.timer, None)
                if handle is not None:
                    handle.cancel()

    def _set_timer(self, timer: Timer, at: float) -> None:
        """(Re)arm one named timer: the loop fires it at ``at`` (the loop's clock)."""
        held = self._timers.pop(timer, None)
        if held is not None:
            held.cancel()
        self._timers[timer] = self.loop.call_at(at, self._on_timer, timer)

    def _on_timer(self, timer: Timer) -> None:
        self._timers.pop(timer, None)
        self._perform(self.node.fire(self.loop.time(), timer))

    # ------------------------------------------------------------------ peers out

    def _send(self, dest: str, message: object) -> None:
        queue = self._queues.get(dest)
        if queue is None:
            queue = asyncio.Queue(PEER_QUEUE)
            self._queues[dest] = queue
            self._spawn(self._peer_writer(dest, queue))
        try:
            queue.put_nowait(wire.encode(message))
        except asyncio.QueueFull:
            self.dropped_frames += 1

    async def _peer_writer(self, dest: str, queue: asyncio.Queue[bytes]) -> None:
        backoff = 0.05
        while True:
            frame = await queue.get()
            address = self.peers.get(dest)
            if address is None:
                self.dropped_frames += 1
                continue
            try:
                _, writer = await asyncio.open_connection(address.host, address.port)
            except OSError:
                self.dropped_frames += 1 + queue.qsize()
                while not queue.empty():  # the peer is down: what waits is lost
                    queue.get_nowait()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                continue
            backoff = 0.05
            name = self.name.encode()
            writer.write(HELLO + _U16.pack(len(name)) + name + frame)
            try:
                while True:
                    await writer.drain()
                    frame = await queue.get()
                    writer.write(frame)
            except (OSError, ConnectionError):
                self.dropped_frames += 1
            finally:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()

    # ------------------------------------------------------------------ peers in

    async def _on_peer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        src = "?"
        try:
            head = await reader.readexactly(len(HELLO) + _U16.size)
            if not head.startswith(HELLO):
                raise errors.BadMessageError("connection did not open with a vdynamo hello")
            (length,) = _U16.unpack_from(head, len(HELLO))
            src = (await reader.readexactly(length)).decode("utf-8", "replace")
            if src not in self.config.nodes and src not in self.peers:
                raise errors.UnknownNodeError(f"hello from unknown node {src!r}")
            while True:
                header = await reader.readexactly(_HEADER_BYTES)
                total = wire.frame_length(header)
                if total > wire.DEFAULT_MAX_FRAME:
                    raise errors.BadMessageError(f"frame of {total} bytes is over the limit")
                frame = header + await reader.readexactly(total - _HEADER_BYTES)
                message = wire.decode(frame)
                self._perform(self.node.receive(self.loop.time(), src, message))
        except asyncio.IncompleteReadError:
            pass  # the peer closed the connection
        except errors.BadMessageError as error:
            self.dropped_frames += 1
            log.warning("%s: closing connection from %s: %s", self.name, src, error)
        except (OSError, ConnectionError):
            pass
        finally:
            writer.close()

    # ------------------------------------------------------------------ clients

    async def request(self, request: GetRequest | PutRequest) -> Reply:
        """Hand a client request to the core and wait for its reply."""
        future: asyncio.Future[Reply] = self.loop.create_future()
        self._waiting[request.request_id] = future
        self._perform(self.node.client_request(self.loop.time(), request))
        try:
            return await asyncio.wait_for(future, self.config.request_timeout * 4)
        except TimeoutError:
            return Reply(request.request_id, error=errors.RequestTimeoutError(
                f"no answer from the cluster within {self.config.request_timeout * 4:.1f} s"))
        finally:
            self._waiting.pop(request.request_id, None)

    def next_request_id(self) -> int:
        return next(self._request_ids)

    async def _on_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        try:
            while True:
                request, body, problem = await self._read_request(connection, reader)
                if request is None:
                    break
                if problem is not None:
                    status, payload = problem
                else:
                    status, payload = await self._route(request, body)
                data = json.dumps(payload).encode()
                headers = [("content-type", "application/json"),
                           ("content-length", str(len(data)))]
                if problem is not None:
                    headers.append(("connection", "close"))
                writer.write(connection.send(h11.Response(status_code=status, headers=headers)))
                writer.write(connection.send(h11.Data(data=data)))
                writer.write(connection.send(h11.EndOfMessage()))
                await writer.drain()
                if connection.our_state is not h11.DONE or problem is not None:
                    break
                connection.start_next_cycle()
        except (h11.RemoteProtocolError, ConnectionError, OSError) as error:
            log.info("%s: HTTP connection closed: %s", self.name, error)
        finally:
            writer.close()

    async def _read_request(
        self, connection: h11.Connection, reader: asyncio.StreamReader,
    ) -> tuple[h11.Request | None, bytes, tuple[int, dict[str, str]] | None]:
        request: h11.Request | None = None
        chunks: list[bytes] = []
        size = 0
        limit = self.config.max_value_bytes
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                connection.receive_data(data)
                if not data and request is None:
                    return None, b"", None
                continue
            if isinstance(event, h11.Request):
                request = event
                length = dict(event.headers).get(b"content-length")
                if length is not None and length.isdigit() and int(length) > limit:
                    return request, b"", (413, _error_body(errors.TooLargeError(
                        f"value is {int(length)} bytes, over the limit of "
                        f"{self.config.max_value_bytes}")))
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > limit:
                    return request, b"", (413, _error_body(errors.TooLargeError(
                        f"value is over the limit of {self.config.max_value_bytes} bytes")))
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return request, b"".join(chunks), None
            elif isinstance(event, h11.ConnectionClosed):
                return None, b"", None

    async def _route(self, request: h11.Request, body: bytes) -> tuple[int, dict[str, Any]]:
        target = urllib.parse.urlsplit(request.target.decode("ascii", "replace"))
        query = urllib.parse.parse_qs(target.query)
        method = request.method.decode("ascii", "replace")
        if target.path == "/status" and method == "GET":
            return 200, {"node": self.name, "pending": self.node.pending,
                         "stats": dict(self.node.stats), "dropped_frames": self.dropped_frames}
        if not target.path.startswith("/kv/"):
            return 404, {"error": "NotFound", "message": f"no resource {target.path!r}"}
        key = urllib.parse.unquote_to_bytes(target.path[len("/kv/"):])
        try:
            quorum = _quorum(query, "r" if method == "GET" else "w")
            headers = dict(request.headers)
            client = headers.get(b"x-vdynamo-client", b"http").decode("ascii", "replace")
            if method == "GET":
                message: GetRequest | PutRequest = GetRequest(
                    self.next_request_id(), key, r=quorum, client_id=client)
            elif method == "PUT":
                context = _b64(headers.get(b"x-vdynamo-context", b""), "X-Vdynamo-Context")
                counter = _number(headers.get(b"x-vdynamo-client-counter", b"0"),
                                  "X-Vdynamo-Client-Counter")
                message = PutRequest(self.next_request_id(), key, body, context=context,
                                     w=quorum, client_id=client, client_counter=counter)
            else:
                return 405, {"error": "MethodNotAllowed", "message": f"{method} on {target.path}"}
        except errors.DynamoError as error:
            return http_status(error), _error_body(error)
        reply = await self.request(message)
        if reply.error is not None:
            return http_status(reply.error), _error_body(reply.error)
        if isinstance(reply.result, GetResult):
            return 200, {"values": [base64.b64encode(v).decode() for v in reply.result.values],
                         "context": base64.b64encode(reply.result.context).decode()}
        assert isinstance(reply.result, PutResult)
        return 200, {"context": base64.b64encode(reply.result.context).decode()}


def _error_body(error: errors.DynamoError) -> dict[str, str]:
    return {"error": type(error).__name__, "message": str(error)}


def _quorum(query: dict[str, list[str]], name: str) -> int | None:
    if name not in query:
        return None
    text = query[name][-1]
    if not text.isdigit():
        raise errors.BadRequestError(f"{name}: must be a positive integer, got {text!r}")
    return int(text)


def _number(raw: bytes, what: str) -> int:
    if not raw.isdigit():
        raise errors.BadRequestError(f"{what}: must be a non-negative integer, got {raw!r}")
    return int(raw)


def _b64(raw: bytes, what: str) -> bytes:
    if not raw:
        return b""
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        raise errors.BadContextError(f"{what}: not valid base64") from None


async def serve(
    config: RuntimeConfig, names: Sequence[str], *, stop: asyncio.Event | None = None,
) -> list[NodeServer]:
    """Start the named nodes of ``config`` in this loop; with ``stop``, run until it is
    set and then stop them."""
    peers = {name: addresses.peer for name, addresses in config.nodes.items()}
    servers = []
    for index, name in enumerate(names):
        addresses = config.nodes[name]
        assert addresses.data is not None
        addresses.data.parent.mkdir(parents=True, exist_ok=True)
        server = NodeServer(name, config.cluster, SqliteStorage(addresses.data), peers,
                            seed=index)
        await server.start(addresses.peer, addresses.http)
        assert server.peer_address is not None
        peers[name] = server.peer_address  # port 0 in the file: the port bound
        servers.append(server)
    if stop is not None:
        await stop.wait()
        for server in servers:
            await server.stop()
    return servers


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="vdynamo serve", description=(
        "Run Dynamo nodes on real sockets: TCP between nodes, HTTP for clients."))
    parser.add_argument("config", help="the cluster file (TOML; see docs/runtime.md)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--node", action="append", default=[], help="a node to run (repeatable)")
    group.add_argument("--all", action="store_true", help="run every node in this process")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        config = load_runtime_config(args.config)
    except errors.ConfigError as error:
        print(f"vdynamo serve: {error}", file=sys.stderr)
        return 2
    names = list(config.cluster.nodes) if args.all else args.node
    unknown = [n for n in names if n not in config.nodes]
    if unknown:
        print(f"vdynamo serve: unknown node {unknown[0]!r} (the file names "
              f"{', '.join(sorted(config.nodes))})", file=sys.stderr)
        return 2

    async def run() -> None:
        servers = await serve(config, names)
        for server in servers:
            print(f"{server.name}: peers on {server.peer_address}, "
                  f"HTTP on http://{server.http_address}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            for server in servers:
                await server.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0
