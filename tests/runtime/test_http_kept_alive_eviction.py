"""At the HTTP connection cap, a connection kept alive after an answer is not
evicted for :data:`impl.http_api.KEPT_ALIVE_S` seconds (at most
``http_idle_timeout_s``): its client's pool may be sending its next request on it.
Session 61's red team (probes/08r): one httpx.AsyncClient of 200 read-modify-write
tasks on a node whose ``max_http_connections`` is 32 saw 496 of about 1,100
requests closed unanswered (RemoteProtocolError "Server disconnected without
sending a response", or a reset once its bytes were in): each newcomer evicted
the kept-alive connection idle the longest, a few milliseconds between two of
its client's requests. Now a newcomer evicts a connection that never finished a
request (a flood's half-sent or silent one: still at once, session 19), or one
kept alive longer than that; else it gets the 503 with Retry-After of a refusal.
After: 105 to 208 closed unanswered in three runs (a fresh connection, evicted
before its first request was read, is still a victim: docs/runtime.md, red team
16), 250 to 313 items acknowledged (104 and 228 before).

Mutants (checked failing, session 61): ``ConnectionSlots.kept`` as a plain
``waiting`` (no time kept): all three tests fail (the kept connection evicted);
the HTTP port's ``keep_s`` as 0: the live test fails (the pool's next request
``http.client.RemoteDisconnected``); the window's ``<`` as ``>``: all three fail.
"""

from __future__ import annotations

import asyncio
import http.client
import socket
from pathlib import Path

from impl.connections import ConnectionSlots
from tests.runtime.live import cluster, run


class _Conn:
    def __init__(self, name: str) -> None:
        self.name, self.closed = name, False

    def close(self) -> None:
        self.closed = True


def test_a_connection_kept_alive_a_moment_ago_is_not_evicted() -> None:
    now = [0.0]
    slots = ConnectionSlots(2, keep_s=1.0, clock=lambda: now[0])
    kept, fresh = _Conn("kept"), _Conn("fresh")
    assert slots.admit(kept) and slots.admit(fresh)
    slots.busy(kept)
    slots.kept(kept)  # answered at 0.0, kept alive: older than fresh by admission
    now[0] = 0.5
    new0 = _Conn("new0")
    assert slots.admit(new0) and fresh.closed and not kept.closed
    now[0] = 0.9
    assert slots.admit(_Conn("new1")) and new0.closed and not kept.closed
    assert slots.evicted == 2 and slots.refused == 0


def test_a_kept_connection_is_evicted_once_its_window_passed() -> None:
    now = [0.0]
    slots = ConnectionSlots(2, keep_s=1.0, clock=lambda: now[0])
    a, b = _Conn("a"), _Conn("b")
    for conn in (a, b):
        assert slots.admit(conn)
        slots.busy(conn)
        slots.kept(conn)
    now[0] = 0.99
    assert not slots.admit(_Conn("refused")) and slots.refused == 1  # both kept: 503
    assert not a.closed and not b.closed
    now[0] = 1.0
    assert slots.admit(_Conn("late")) and a.closed and not b.closed  # the older one
    assert slots.evicted == 1


def test_a_pool_of_kept_alive_connections_at_the_cap_is_not_cut(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, max_http_connections=2) as servers:
            address = servers[0].http_address
            assert address is not None
            host, port = address.host, address.port

            def pool_then_newcomer() -> tuple[list[int], bytes]:
                pool = [http.client.HTTPConnection(host, port, timeout=5) for _ in range(2)]
                statuses = []
                for conn in pool:
                    conn.request("GET", "/kv/k")
                    answer = conn.getresponse()
                    answer.read()
                    statuses.append(answer.status)
                with socket.create_connection((host, port), timeout=5) as sock:
                    sock.sendall(b"GET /kv/k HTTP/1.1\r\nHost: x\r\n\r\n")
                    refusal = sock.recv(65536)
                for conn in pool:  # the pool's next requests, on the kept connections
                    conn.request("GET", "/kv/k")
                    answer = conn.getresponse()
                    answer.read()
                    statuses.append(answer.status)
                    conn.close()
                return statuses, refusal

            statuses, refusal = await asyncio.to_thread(pool_then_newcomer)
            assert statuses == [404] * 4
            assert refusal.startswith(b"HTTP/1.1 503") and b"retry-after: 1" in refusal
            assert servers[0].http.slots.evicted == 0
    run(scenario())
