"""A request with ``Connection: close`` answered while its client still sends (the
bytes of a request pipelined behind it, or any other) gets the lingering close a
refused request gets (``impl.http_api._linger``): the node sends its answer, closes
its sending side and drains what comes for up to a second, so the client reads the
answer and then the end of the stream. Before (session 19's service probe left
it; session 20's closed it) the node closed at once with those bytes unread, so
its kernel sent a reset: the client saw ``ConnectionResetError`` after the answer
on loopback, and across a network may lose the answer itself (RFC 9112 9.6: a
server that closes while the client may still send should half-close and read
on, "lingering close")."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import pytest

from tests.runtime.live import cluster, parse_response, read_to_end, run


def _close_then_more(address: tuple[str, int], first: bytes) -> tuple[bytes, str]:
    """Send ``first`` and then 4 MiB more (a thread, until the node's close stops
    it); read everything back: (bytes, how the stream ended: 'eof' or the error)."""
    with socket.create_connection(address, timeout=5) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)

        def send() -> None:
            try:
                sock.sendall(first)
                for _ in range(64):
                    sock.sendall(b"PUT /kv/b HTTP/1.1\r\nHost: x\r\nContent-Length: 65536"
                                 b"\r\n\r\n" + b"v" * 65536)
            except OSError:
                pass

        sender = threading.Thread(target=send)
        sender.start()
        out, end = read_to_end(sock)
        sender.join(10)
        return out, end


@pytest.mark.parametrize("first", [
    b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    b"PUT /kv/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nv1",
    b"GET /health HTTP/1.0\r\n\r\n",
])
def test_a_close_with_bytes_still_coming_ends_in_a_lingering_close(
        tmp_path: Path, first: bytes) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            address = servers[0].http_address
            assert address is not None
            out, end = await asyncio.to_thread(_close_then_more,
                                               (address.host, address.port), first)
            status, headers, _ = parse_response(out)
            assert (status, headers.get("connection"), end) == (200, "close", "eof"), out[:300]
            assert out.count(b"HTTP/1.1 ") == 1  # nothing behind the close was served
    run(scenario())
