"""A flood of connections at a peer port does not lock out a real peer whose link
is slow (session 19's peer-port probe; case 21's kind for the peer port).

Scenario (an attacker on the network, no secret; the peer on a slow link): n1's
peer port admits ``max_peer_connections`` (here 6) connections at once and, at
the cap, evicts one that has not authenticated to admit the newcomer. A real
peer's hello takes a round trip at the acceptor (challenge out, proof back), so
before this session the connection evicted was the oldest by admission: a flood
of connections that send nothing, opened faster than the cap per round trip
(here 6 per 0.4 s), evicted every hello n2 sent n1 over its slow link, for as
long as the flood lasted. n2 could not reach n1: every ``w=3`` put through n2
timed out (0 of the puts tried), whatever n1's own health. Now a connection
that sent a whole hello naming a node of the cluster is evicted only after every
connection that has not (:meth:`impl.connections.ConnectionSlots.introduced`):
silence and half hellos can no longer push a real peer out. And the connection
evicted comes from the host with the most waiting connections
(:meth:`impl.connections.ConnectionSlots._victim`): a flood of whole hellos
(naming n3; no secret needed) from another host (127.0.0.2) evicts its own
connections, not n2's hello (0 of 8 puts before, 8 of 8 now).

The slow link is a proxy in the test's loop that delays each direction by 0.2 s
(and opens its connection to n1 only when the first bytes are due there, as a
real connection's data follows its handshake)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
from pathlib import Path

import pytest

from impl.config import DEFAULT_CLUSTER_NAME
from impl.connections import ConnectionSlots
from impl.peer_auth import HELLO, NONCE_BYTES, PROTOCOL_VERSION, HelloInfo
from impl.runtime import Address
from tests.runtime.live import call, cluster, run, url
from tests.runtime.test_http_eviction_order import _Conn

DELAY_S = 0.2
CAP = 6


def test_an_introduced_connection_is_evicted_after_every_other_waiting_one() -> None:
    slots = ConnectionSlots(3)
    peer, silent1, silent2 = _Conn("peer"), _Conn("silent1"), _Conn("silent2")
    for conn in (peer, silent1, silent2):
        assert slots.admit(conn)
    slots.introduced(peer)  # the oldest, but it said a whole hello
    assert slots.admit(_Conn("silent3")) and silent1.closed and not peer.closed
    assert slots.admit(_Conn("silent4")) and silent2.closed and not peer.closed
    # only introduced connections waiting: the oldest of them goes
    late = _Conn("late")
    slots.introduced(late)  # not admitted: nothing
    for conn in list(slots._waiting):
        slots.introduced(conn)
    assert slots.admit(_Conn("silent5")) and peer.closed
    slots.busy(late)
    assert len(slots) == 3


def test_the_host_with_the_most_waiting_connections_loses_one_first() -> None:
    slots = ConnectionSlots(4)
    peer = _Conn("peer")
    assert slots.admit(peer, "10.0.0.2")
    slots.introduced(peer)
    flood = [_Conn(f"flood{i}") for i in range(3)]
    for conn in flood:
        assert slots.admit(conn, "10.0.0.9")
        slots.introduced(conn)  # whole hellos, as the peer's
    silent = _Conn("flood3")
    assert slots.admit(silent, "10.0.0.9")  # at the cap: 10.0.0.9 holds 3
    assert flood[0].closed and not peer.closed  # before: the peer, the oldest
    slots.busy(flood[1])  # busy connections do not count for their host
    # 10.0.0.9 holds 2 waiting: its silent one goes before its introduced one
    assert slots.admit(_Conn("quiet"), "10.0.0.3") and silent.closed
    assert not flood[2].closed and not peer.closed
    slots.release(flood[1])
    assert len(slots) == 4 - 1


async def _pump(reader: asyncio.StreamReader,
                writer: asyncio.Future[asyncio.StreamWriter]) -> None:
    """Copy ``reader`` to ``writer`` (once it is there), each chunk DELAY_S after it
    was read."""
    loop = asyncio.get_running_loop()
    pending: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        out = await writer
        try:
            while True:
                due, data = await pending.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not data:
                    break
                out.write(data)
                await out.drain()
        finally:
            out.close()

    task = asyncio.ensure_future(deliver())
    try:
        while data := await reader.read(65536):
            pending.put_nowait((loop.time() + DELAY_S, data))
    except (OSError, ConnectionError):
        pass
    pending.put_nowait((loop.time() + DELAY_S, b""))
    await task


async def _slow_link(target: Address, handlers: set[asyncio.Task[None]]) -> asyncio.Server:
    """A proxy to ``target`` that delays each direction by DELAY_S; it connects to
    ``target`` DELAY_S after its client did (with the client's first bytes right
    behind, as over a real link); its handlers go in ``handlers``."""
    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        upstream: asyncio.Future[asyncio.StreamWriter] = loop.create_future()
        downstream: asyncio.Future[asyncio.StreamWriter] = loop.create_future()
        downstream.set_result(writer)
        out = asyncio.ensure_future(_pump(reader, upstream))
        try:
            await asyncio.sleep(DELAY_S)
            up_reader, up_writer = await asyncio.open_connection(target.host, target.port)
            upstream.set_result(up_writer)
            await asyncio.gather(out, _pump(up_reader, downstream))
        except (OSError, ConnectionError):
            pass
        finally:
            out.cancel()
            writer.close()
            if upstream.done():
                upstream.result().close()

    def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(relay(reader, writer))
        handlers.add(task)
        task.add_done_callback(handlers.discard)

    return await asyncio.start_server(on_connect, "127.0.0.1", 0)


async def _close(proxy: asyncio.Server, handlers: set[asyncio.Task[None]]) -> None:
    proxy.close()
    for task in list(handlers):
        task.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)


def _whole_hello() -> bytes:
    """A hello naming n3, whole (its nonce included): no secret is needed for it."""
    info = HelloInfo(DEFAULT_CLUSTER_NAME).encoded()
    return (HELLO + bytes([PROTOCOL_VERSION]) + struct.pack(">HH", 2, len(info)) + b"n3"
            + info + os.urandom(NONCE_BYTES))


async def _flood(target: Address, stop: asyncio.Event, opened: list[int], source: str,
                 hello: bool) -> None:
    """Connections from ``source`` that send nothing (or a whole hello, if
    ``hello``), about 100 per second, each kept until the node closes it (at most
    300 held by this side)."""
    loop = asyncio.get_running_loop()
    held: list[socket.socket] = []
    try:
        while not stop.is_set():
            sock = socket.socket()
            sock.bind((source, 0))
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                await loop.sock_connect(sock, (target.host, target.port))
                if hello:
                    await loop.sock_sendall(sock, _whole_hello())
                opened[0] += 1
            held.append(sock)
            if len(held) > 300:
                held.pop(0).close()
            await asyncio.sleep(0.01)
    finally:
        for sock in held:
            sock.close()


@pytest.mark.parametrize(("source", "hello"), [("127.0.0.1", False), ("127.0.0.2", True)],
                         ids=["silent-same-host", "whole-hellos-other-host"])
def test_a_flood_does_not_lock_out_a_peer_on_a_slow_link(tmp_path: Path, source: str,
                                                          hello: bool) -> None:
    async def scenario() -> tuple[int, int, int, int]:
        async with cluster(tmp_path, max_peer_connections=CAP) as servers:
            n1, n2 = servers[0], servers[1]
            assert n1.peer_address is not None
            handlers: set[asyncio.Task[None]] = set()
            proxy = await _slow_link(n1.peer_address, handlers)
            stop = asyncio.Event()
            opened = [0]
            flood = asyncio.ensure_future(_flood(n1.peer_address, stop, opened, source,
                                                 hello))
            try:
                await asyncio.sleep(0.5)  # the flood holds the cap
                before = n1._inbound.get("n2")
                port = proxy.sockets[0].getsockname()[1]
                n2.peers["n1"] = Address("127.0.0.1", port)  # n2 now reaches n1 slowly
                outbound = n2._outbound.get("n1")
                assert outbound is not None
                outbound.close()  # n2 dials again, through the slow link
                taken = 0
                for i in range(8):
                    status, _, _ = await call("PUT", url(n2, f"/kv/flood{i}?w=3"), b"v")
                    taken += status == 200
                    await asyncio.sleep(0.3)
                current = n1._inbound.get("n2")
                reached = current is not None and current is not before
            finally:
                stop.set()
                await flood
                await _close(proxy, handlers)
            return taken, int(reached), opened[0], n1._peer_slots.evicted

    taken, reached, opened, evicted = run(scenario(), 60)
    figures = (f"{taken} of 8 puts taken, reached {reached}, {opened} connections, "
               f"{evicted} evicted")
    print(figures)
    assert evicted >= 40, figures  # the flood kept the port at its cap
    assert reached == 1, figures  # before: n2 never finished a hello at n1
    assert taken >= 6, figures  # before: 0 of 8
