"""A peer address cannot hold the HTTP port by keeping its connections answered.

Session 61's red team kept a connection answered a moment ago from eviction at the
cap (:data:`impl.http_api.KEPT_ALIVE_S`, probes/08r). Its review found the lockout
that opened: one address holding every slot with one cheap GET a second on each
(each connection kept alive again at each answer, never evictable) had every other
client refused a 503 for as long as it went on (here: cap 4, a GET every 0.2 s on
each of 4 connections from 127.0.0.1; a client from 127.0.0.2 got 5 of 5 refused).
Before session 61 it got in, evicting the oldest idle connection (as nginx drops its
idle keep-alive connections first, ``ngx_drain_connections``). Now a newcomer from
a host holding fewer waiting connections may evict a kept one of the host holding
the most (:meth:`impl.connections.ConnectionSlots._claims`); a newcomer from the
same host still gets the 503 (its own pool is not cut: test_http_kept_alive_eviction).

Mutants (checked failing, session 61's review): ``_claims`` always False: all three tests
fail (the unit tests' newcomers refused; the live client's 5 GETs all 503); its
``>`` as ``>=``: the third test fails (a host of one kept connection evicts another's);
the HTTP port admitting without the peer's host: the live test fails (5 of 5 503).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

from impl.connections import ConnectionSlots
from tests.runtime.live import cluster, run
from tests.runtime.test_http_kept_alive_eviction import _Conn


def test_a_host_holding_the_slots_kept_alive_gives_way_to_another_host() -> None:
    now = [0.0]
    slots = ConnectionSlots(3, keep_s=1.0, clock=lambda: now[0])
    held = [_Conn(f"a{i}") for i in range(3)]
    for conn in held:
        assert slots.admit(conn, "10.0.0.1")
        slots.busy(conn)
        slots.kept(conn)
    now[0] = 0.5
    assert not slots.admit(_Conn("same host"), "10.0.0.1")  # its own pool: a 503
    other = _Conn("b0")
    assert slots.admit(other, "10.0.0.2") and held[0].closed  # the oldest of the host
    slots.busy(other)
    slots.kept(other)
    second = _Conn("b1")
    assert slots.admit(second, "10.0.0.2") and held[1].closed  # 2 waiting against 1
    slots.busy(second)
    slots.kept(second)
    # now 10.0.0.1 holds one kept connection, 10.0.0.2 two: 10.0.0.1's stays
    assert not slots.admit(_Conn("b2"), "10.0.0.2") and not held[2].closed
    assert slots.admit(_Conn("a3"), "10.0.0.1") and other.closed  # 1 against 2: in
    assert slots.refused == 2 and slots.evicted == 3


def _hold(host: str, port: int, stop: threading.Event, count: int) -> None:
    """``count`` connections from 127.0.0.1, each answered a GET every 0.2 s; one
    closed under it is opened again (an attacker reconnects)."""
    socks = [socket.create_connection((host, port), timeout=5) for _ in range(count)]
    try:
        while not stop.is_set():
            for i, sock in enumerate(socks):
                try:
                    sock.sendall(b"GET /kv/k HTTP/1.1\r\nHost: x\r\n\r\n")
                    answer = b""
                    while b"\r\n\r\n" not in answer:
                        piece = sock.recv(65536)
                        if not piece:
                            raise ConnectionError("closed")
                        answer += piece
                except OSError:
                    sock.close()
                    socks[i] = socket.create_connection((host, port), timeout=5)
            stop.wait(0.2)
    finally:
        for sock in socks:
            sock.close()


def test_a_client_from_another_address_gets_in(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, max_http_connections=4) as servers:
            address = servers[0].http_address
            assert address is not None
            host, port = address.host, address.port
            stop = threading.Event()
            holder = threading.Thread(target=_hold, args=(host, port, stop, 4))
            holder.start()

            def visit() -> list[bytes]:
                time.sleep(0.5)
                heads = []
                for _ in range(5):
                    with socket.create_connection((host, port), timeout=5,
                                                  source_address=("127.0.0.2", 0)) as sock:
                        sock.sendall(b"GET /kv/k HTTP/1.1\r\nHost: x\r\nConnection: close"
                                     b"\r\n\r\n")
                        heads.append(sock.recv(65536)[:12])
                    time.sleep(0.1)
                return heads

            try:
                heads = await asyncio.to_thread(visit)
            finally:
                stop.set()
                await asyncio.to_thread(holder.join, 10)
            assert heads == [b"HTTP/1.1 404"] * 5, heads
    run(scenario())


def test_hosts_holding_as_many_kept_connections_do_not_evict_each_other() -> None:
    now = [0.0]
    slots = ConnectionSlots(2, keep_s=1.0, clock=lambda: now[0])
    a, b = _Conn("a"), _Conn("b")
    for conn, host in ((a, "10.0.0.1"), (b, "10.0.0.2")):
        assert slots.admit(conn, host)
        slots.busy(conn)
        slots.kept(conn)
    now[0] = 0.5
    assert not slots.admit(_Conn("b1"), "10.0.0.2") and not a.closed and not b.closed
    assert slots.admit(_Conn("c"), "10.0.0.3") and a.closed  # 0 against 1: the oldest
