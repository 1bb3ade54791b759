"""Helpers for tests of live nodes on loopback: a three-node cluster in the test's
event loop (ports chosen by the kernel, SQLite in tmp_path), HTTP and raw-socket
clients, and an insider's authenticated peer connection. Every cluster is stopped
when its block ends; every test runs under a time limit (:func:`run`)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import uvloop

from impl import wire
from impl.config import ClusterConfig
from impl.http_api import HttpApi
from impl.metrics import ObservedStorage
from impl.peer_auth import (
    HELLO_HEAD_BYTES,
    NONCE_BYTES,
    TAG_BYTES,
    Dialer,
    FrameSealer,
    HelloInfo,
    parse_hello_head,
)
from impl.runtime import Address, NodeAddresses, NodeServer, RuntimeConfig
from impl.serve import serve
from impl.storage.memory import MemoryStorage
from impl.storage.sqlite import SqliteStorage

NAMES = ("n1", "n2", "n3")
SECRET = b"a test secret of 24 bytes"


def runtime_config(tmp_path: Path, **changes: Any) -> RuntimeConfig:
    """The configuration of :data:`NAMES` (or the ``nodes`` of ``changes``) on
    loopback, ports 0, each store in ``tmp_path``."""
    values: dict[str, Any] = {"nodes": NAMES, "n": 3, "r": 2, "w": 2,
                              "replica_timeout": 0.2, "request_timeout": 1.0,
                              "secret": SECRET}
    values.update(changes)
    cluster = ClusterConfig(**values)
    nodes = {name: NodeAddresses(Address("127.0.0.1", 0), Address("127.0.0.1", 0),
                                 tmp_path / f"{name}.sqlite") for name in cluster.nodes}
    return RuntimeConfig(cluster, nodes)


@contextlib.asynccontextmanager
async def cluster(tmp_path: Path, **changes: Any) -> AsyncIterator[list[NodeServer]]:
    """Three nodes started in this loop (or the ``nodes`` of ``changes``), each past
    its start's shadow round (a fresh store asks its peers whether it is a replaced
    disk first:
    ``impl.node.Node._announce_fresh``); stopped (those still running) at the end.

    The rounds' ends are the readiness: a round ends when both peers gossiped to the
    node, so once all three ended every one of the six peer connections delivered a
    frame. An exception out of the block gets a note with the longest stall of this
    loop and the longest garbage collection while the cluster ran (:class:`Stalls`):
    the three nodes share the loop, so a stall over ``request_timeout`` fails a put
    in flight (504) whatever they do (docs/runtime.md, "Peer connections at a
    start")."""
    config = runtime_config(tmp_path, **changes)
    servers = await serve(config, tuple(config.nodes))
    stalls = Stalls()
    try:
        async with stalls.watching():
            await settled(servers)
            yield servers
    except BaseException as error:
        error.add_note(stalls.note(servers[0].config.request_timeout))
        raise
    finally:
        for server in servers:
            if server._servers and server._servers[0].is_serving():
                await server.stop()


class Stalls:
    """The longest stall of the running loop (how late a 20 ms sleep woke, in
    seconds) and the longest garbage collection of the process (seconds, its
    generation) while :meth:`watching` runs."""

    def __init__(self) -> None:
        self.loop_s = 0.0
        self.collection = (0.0, -1)
        self._collecting: float | None = None

    def _collector(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._collecting = time.perf_counter()
        elif self._collecting is not None:
            took = time.perf_counter() - self._collecting
            if took > self.collection[0]:
                self.collection = (took, info["generation"])

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.02)
            self.loop_s = max(self.loop_s, loop.time() - before - 0.02)

    @contextlib.asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(self._watch())
        gc.callbacks.append(self._collector)
        try:
            yield
        finally:
            gc.callbacks.remove(self._collector)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def note(self, request_timeout: float) -> str:
        took, generation = self.collection
        collected = (f"the longest garbage collection took {took:.3f} s (generation "
                     f"{generation})" if generation >= 0 else "no garbage collection ran")
        return (f"while the cluster ran, its loop stalled {self.loop_s:.3f} s at most "
                f"(request_timeout {request_timeout:g} s); {collected}")


async def settled(servers: list[NodeServer], limit: float = 10.0) -> None:
    """Wait until no server's node is in its start's shadow round (at most
    ``limit`` s; then AssertionError)."""
    deadline = asyncio.get_running_loop().time() + limit
    while any(server.node.shadow is not None for server in servers):
        assert asyncio.get_running_loop().time() < deadline, "a shadow round never ended"
        await asyncio.sleep(0.01)


async def nothing_in_flight(server: NodeServer, limit: float) -> tuple[int, int]:
    """Wait until ``server``'s node holds no coordination in flight (``pending`` and
    ``pending_bytes`` both 0), at most ``limit`` s; its (``pending``,
    ``pending_bytes``) then. Where a test slept "past every deadline" and then read
    them (session 37): the same figures, as soon as they are 0; one held for good is
    still read as held, after ``limit``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while (server.node.pending or server.node.pending_bytes) and loop.time() < deadline:
        await asyncio.sleep(0.02)
    return server.node.pending, server.node.pending_bytes


async def refused_hellos(tmp_path: Path, hello: bytes, count: int = 40) -> int:
    """Send ``hello`` (a peer hello the node refuses) ``count`` times to n1 of a new
    cluster, each on its own connection read until the node closes it (at most 5 s
    each); n1's ``refused_peers`` once it counted them all (at most 2 s more)."""
    async with cluster(tmp_path) as servers:
        return await send_refused_hellos(servers[0], hello, count)


async def send_refused_hellos(server: NodeServer, hello: bytes, count: int) -> int:
    """:func:`refused_hellos` to a running ``server``: its ``refused_peers`` once it
    counted ``count`` more (at most 2 s after the last is closed)."""
    assert server.peer_address is not None
    start = server.refused_peers
    for _ in range(count):
        reader, writer = await asyncio.open_connection(server.peer_address.host,
                                                       server.peer_address.port)
        writer.write(hello)
        await writer.drain()
        await asyncio.wait_for(reader.read(), 5)  # refused: the node closes
        writer.close()
    for _ in range(100):
        if server.refused_peers >= start + count:
            break
        await asyncio.sleep(0.02)
    return server.refused_peers


async def until(condition: Callable[[], Any], what: str, limit: float = 5.0) -> None:
    """Poll ``condition`` every 10 ms until it is true; AssertionError naming ``what``
    after ``limit`` seconds."""
    for _ in range(int(limit / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not seen within {limit:g} s: {what}")


def run(coro: Any, limit: float = 60.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, limit))


def run_on(loop: str, coro: Any, limit: float = 60.0) -> Any:
    """:func:`run` under ``loop``'s event loop, "uvloop" (what `vdynamo serve` runs:
    its transports' socket is a PseudoSocket) or "asyncio" (the tests' own
    clusters); the policy before restored."""
    policy = uvloop.EventLoopPolicy() if loop == "uvloop" else asyncio.DefaultEventLoopPolicy()
    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(policy)
    try:
        return run(coro, limit)
    finally:
        asyncio.set_event_loop_policy(previous)


def url(server: NodeServer, path: str) -> str:
    return f"http://{server.http_address}{path}"


#: a get answers JSON (values base64) rather than Riak's raw 200 / multipart 300
_JSON = {"Accept": "application/json"}


def _http(method: str, target: str, body: bytes | None,
          headers: dict[str, str] | None) -> tuple[int, dict[str, str], dict[str, Any]]:
    request = urllib.request.Request(target, data=body, method=method,
                                     headers={**_JSON, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return (response.status, {k.lower(): v for k, v in response.headers.items()},
                    json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return (error.code, {k.lower(): v for k, v in error.headers.items()},
                json.loads(error.read()))


async def call(method: str, target: str, body: bytes | None = None,
               headers: dict[str, str] | None = None,
               ) -> tuple[int, dict[str, str], dict[str, Any]]:
    """(status, headers, JSON body) of one HTTP request, in a thread."""
    return await asyncio.to_thread(_http, method, target, body, headers)


def _raw(address: Address, data: bytes, timeout: float) -> bytes:
    with socket.create_connection((address.host, address.port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # the node may answer and close mid-send
            sock.sendall(data)
        out = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def read_to_end(sock: socket.socket) -> tuple[bytes, str]:
    """Everything ``sock`` receives until the stream ends, and how it ended: "eof"
    (the node closed cleanly) or the error's name (``ConnectionResetError``)."""
    out = b""
    try:
        while chunk := sock.recv(65536):
            out += chunk
    except OSError as error:
        return out, type(error).__name__
    return out, "eof"


async def raw(address: Address | None, data: bytes, timeout: float = 5.0) -> bytes:
    """Everything the node sends back to ``data`` until it closes the connection."""
    assert address is not None
    return await asyncio.to_thread(_raw, address, data, timeout)


def parse_response(data: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    """(status, headers, JSON body) of one raw HTTP/1.1 response."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip()
               for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, json.loads(body)


async def dial(server: NodeServer, name: str = "n2", secret: bytes = SECRET,
               info: HelloInfo | None = None,
               ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, FrameSealer]:
    """A peer connection to ``server`` that passed the hello as ``name`` with
    ``secret`` (an insider: the tests forge frames on it), saying ``info`` of
    itself (default: the server's cluster, no limits)."""
    reader, writer, sealer, _ = await dial_hello(server, name, secret, info)
    return reader, writer, sealer


async def dial_hello(server: NodeServer, name: str = "n2", secret: bytes = SECRET,
                     info: HelloInfo | None = None,
                     ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, FrameSealer,
                                HelloInfo]:
    """:func:`dial`, and what ``server``'s hello said of it (``Dialer.peer_info``)."""
    address = server.peer_address
    assert address is not None
    reader, writer = await asyncio.open_connection(address.host, address.port)
    dialer = Dialer(secret, name, server.name, info or HelloInfo(server.config.name))
    writer.write(dialer.hello())
    length, info_length = parse_hello_head(await reader.readexactly(HELLO_HEAD_BYTES))
    peer = await reader.readexactly(length)
    peer_info = await reader.readexactly(info_length)
    nonce = await reader.readexactly(NONCE_BYTES)
    try:
        proof, sealer, _ = dialer.on_challenge(peer, peer_info, nonce,
                                               await reader.readexactly(TAG_BYTES))
    except Exception:
        writer.close()
        raise
    writer.write(proof)
    await writer.drain()
    assert dialer.peer_info is not None
    return reader, writer, sealer, dialer.peer_info


async def closed_by_node(reader: asyncio.StreamReader, timeout: float = 5.0) -> bool:
    """Whether the node closes the connection within ``timeout`` seconds."""
    try:
        while await asyncio.wait_for(reader.read(65536), timeout):
            pass
    except TimeoutError:
        return False
    except (ConnectionError, OSError):
        pass
    return True


def frame(message: object) -> bytes:
    return wire.encode(message)


@contextlib.asynccontextmanager
async def drained_client(idle_s: float) -> AsyncIterator[
        tuple[HttpApi, socket.socket, asyncio.StreamWriter]]:
    """A lone node's :class:`HttpApi` (``http_idle_timeout_s`` ``idle_s``, no cluster),
    a loopback client with a 4 KiB receive buffer, and the writer of its connection
    at a server of this loop, to send answers through ``api._send``; the client and
    the server closed at the end."""
    config = ClusterConfig(nodes=("n1", "n2", "n3"), http_idle_timeout_s=idle_s)
    api = NodeServer("n1", config, MemoryStorage(), {}).http
    accepted: asyncio.Future[asyncio.StreamWriter] = asyncio.get_running_loop().create_future()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.set_result(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        client.connect(server.sockets[0].getsockname()[:2])
        yield api, client, await accepted
    finally:
        client.close()
        server.close()
        await server.wait_closed()


def pipelined_gets(address: Address | None, count: int) -> socket.socket:
    """A connection with a small receive buffer that sends ``count`` GETs of /kv/big
    at once and reads nothing: it keeps its connection busy."""
    assert address is not None
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect((address.host, address.port))
    sock.sendall(b"GET /kv/big HTTP/1.1\r\nHost: x\r\n\r\n" * count)
    return sock


def send_until_closed(address: tuple[str, int], head: bytes, piece: bytes, every: float,
                      limit: float) -> tuple[bytes, int, float | None]:
    """Send ``head``, then ``piece`` every ``every`` seconds for at most ``limit``
    seconds, reading what the node sends meanwhile: (the bytes it sent, the pieces'
    bytes sent, seconds until it closed the connection, or None if still open)."""
    answer, sent = b"", 0
    with socket.create_connection(address, timeout=5) as sock:
        sock.sendall(head)
        started = time.monotonic()
        while time.monotonic() - started < limit:
            try:
                sock.sendall(piece)
                sent += len(piece)
            except OSError:
                return answer, sent, time.monotonic() - started
            sock.setblocking(False)
            try:
                data = sock.recv(65536)
                if data == b"":
                    return answer, sent, time.monotonic() - started
                answer += data
            except BlockingIOError:
                pass
            except OSError:
                return answer, sent, time.monotonic() - started
            sock.setblocking(True)
            time.sleep(every)
    return answer, sent, None


@contextlib.contextmanager
def running(target: Callable[..., None], *args: Any, count: int = 1) -> Iterator[None]:
    """``count`` threads running ``target(*args, stop)`` while the block runs; then
    ``stop`` (a ``threading.Event``) is set and every thread joined."""
    stop = threading.Event()
    threads = [threading.Thread(target=target, args=(*args, stop)) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()


#: a quiet cluster: no gossip or anti-entropy round of a node it started within a
#: test, no startup shadow round (a peer that connects to a node has a reason)
QUIET = {"restore_guard": False, "gossip_interval": 120.0, "anti_entropy_interval": 120.0}


def refusing(server: NodeServer, dest: str, dials: list[int]) -> None:
    """Make ``server``'s next ``dials[0]`` dials of ``dest`` fail (ConnectionRefusedError
    at its hello, ``dials[0]`` counted down): a port refusing for a moment."""
    real = server._dial_hello

    async def flaky(peer: str, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> Any:
        if peer == dest and dials[0] > 0:
            dials[0] -= 1
            raise ConnectionRefusedError(111, "Connection refused (the test's moment)")
        return await real(peer, reader, writer)

    server._dial_hello = flaky  # type: ignore[method-assign]


async def bindable(address: Address, wait_s: float = 10.0) -> None:
    """Wait (at most ``wait_s`` seconds) until a listening socket can bind
    ``address`` again: a node restarted on its old ports in a test races every
    other test's outgoing connections, which may take a port freed by the stop as
    their ephemeral source port (session 33's clean clone: test_reach_majority's
    restarted n1 refused its old peer port, "address already in use", once in a
    suite). Returns at once when the port is free."""
    deadline = time.monotonic() + wait_s
    while True:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((address.host, address.port))
            return
        except OSError:
            if time.monotonic() >= deadline:
                return  # the start names the port in use
        finally:
            probe.close()
        await asyncio.sleep(0.05)


async def restarted_refused(servers: list[NodeServer], data: Path,
                            refuses: dict[str, list[int]],
                            own: dict[str, list[int]] | None = None) -> NodeServer:
    """The first of ``servers`` (n1) stopped and started again on its store ``data``, its gossip
    rounds every 0.2 s (seeded: every peer dialed within a few seconds; its gossip,
    the views equal, is not answered, so in a :data:`QUIET` cluster its peers have
    nothing to send it but their connect-backs), after each peer named in
    ``refuses`` was made to fail its next dials of n1 (:func:`refusing`), and n1's
    next dials of each peer named in ``own``. The caller stops it.

    Under the restore guard n1 is stopped only once every peer named its first
    start (``Node._unconfirmed_fresh`` false, at most 30 s): a store of a brand-new
    cluster stays marked until then, and restarted marked and empty it counts as a
    fresh store (a replaced disk?), is told the earlier start and rebuilds, not
    ready (session 58: test_reach_majority's force-removed peer under a load of 18-21,
    "rebuilding a replaced disk" in 10 of 12 runs, where the restart was meant as a
    plain one)."""
    old, *others = servers
    peers = {server.name: server.peer_address for server in servers}
    assert old.peer_address is not None and old.http_address is not None
    await until(lambda: not old.node._unconfirmed_fresh,
                f"every peer named {old.name}'s start (its store unmarked)", limit=30)
    await old.stop()
    for _ in range(100):  # their connections to the old n1 closed
        if all(old.name not in server._outbound for server in others):
            break
        await asyncio.sleep(0.02)
    for server in others:
        if server.name in refuses:
            refusing(server, old.name, refuses[server.name])
    new = NodeServer(old.name, dataclasses.replace(old.config, gossip_interval=0.2),
                     ObservedStorage(SqliteStorage(data)),
                     {name: address for name, address in peers.items()
                      if address is not None}, seed=7)
    for peer, dials in (own or {}).items():
        refusing(new, peer, dials)
    await bindable(old.peer_address)
    await bindable(old.http_address)
    await new.start(old.peer_address, old.http_address)
    return new
