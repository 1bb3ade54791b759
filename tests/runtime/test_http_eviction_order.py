"""At the HTTP connection cap the connection evicted is the one idle the longest
(:meth:`impl.connections.ConnectionSlots.active` at each read), so a flood of
silent connections evicts its own, not a request whose bytes keep coming. Before
session 19's service probe the oldest by admission was evicted: a client 1.3 s
into a 400 KB PUT sent at 100 KB/s was the oldest when a flood of silent
connections (about 750 connects/s) reached the cap of 512, and was closed (a
broken pipe, nothing stored): case 21's kind, idle connections locking a client
out."""

from __future__ import annotations

import asyncio
import base64
import socket
import threading
import time
from pathlib import Path

from impl.connections import ConnectionSlots
from tests.runtime.live import call, cluster, run, running, url


class _Conn:
    def __init__(self, name: str) -> None:
        self.name, self.closed = name, False

    def close(self) -> None:
        self.closed = True


def test_the_connection_idle_the_longest_is_evicted_first() -> None:
    slots = ConnectionSlots(3)
    upload, idle, fresh = _Conn("upload"), _Conn("idle"), _Conn("fresh")
    for conn in (upload, idle, fresh):
        assert slots.admit(conn)
    slots.active(upload)  # bytes came on the oldest: now the newest
    assert slots.admit(_Conn("new0")) and idle.closed and not upload.closed
    slots.busy(fresh)
    slots.active(fresh)  # busy: not waiting, nothing to reorder
    assert slots.admit(_Conn("new1")) and upload.closed  # the idlest waiting one
    assert not fresh.closed
    slots.active(_Conn("stranger"))  # not admitted: nothing
    assert slots.evicted == 2 and len(slots) == 3


def _upload(address: tuple[str, int], size: int, rate: float) -> bytes:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"PUT /kv/up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n" % size)
        sent = 0
        try:
            while sent < size:
                piece = min(1024, size - sent)
                sock.sendall(b"u" * piece)
                sent += piece
                time.sleep(piece / rate)
            answer = b""
            while data := sock.recv(65536):
                answer += data
        except OSError as error:
            return f"{error!r} after {sent} bytes".encode()
    return answer


def _flood(address: tuple[str, int], opened: list[int], stop: threading.Event) -> None:
    held: list[socket.socket] = []
    try:
        while not stop.is_set():
            try:
                held.append(socket.create_connection(address, timeout=2))
                opened[0] += 1
            except OSError:
                pass
            if len(held) > 200:
                for sock in held[:100]:
                    sock.close()
                del held[:100]
            time.sleep(0.005)
    finally:
        for sock in held:
            sock.close()


def test_a_slow_upload_outlives_a_flood_of_idle_connections(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, max_http_connections=16) as servers:
            node = servers[0]
            address = node.http_address
            assert address is not None
            target, opened = (address.host, address.port), [0]
            with running(_flood, target, opened):
                await asyncio.sleep(0.3)
                answer = await asyncio.to_thread(_upload, target, 120_000, 60_000.0)
            assert opened[0] > 3 * 16 and node.http.slots.evicted > 16, opened
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
            status, _, got = await call("GET", url(node, "/kv/up?r=3"))
            assert status == 200
            assert [base64.b64decode(v) for v in got["values"]] == [b"u" * 120_000]
    run(scenario())
