"""An answer its client does not read costs the node what the kernel did not take of
it, not the whole answer and what it was made of (session 27's user probe).

Session 26's probe found that clients which GET a key of three 1,000,000 B siblings
and read nothing grew the node (200 connections: RSS 50 -> 228 MB) and left it as
an allocator's high-water mark. The cause: under uvloop a transport keeps a
reference to the whole bytes object it was given while any of it is unsent (asyncio
copies the unsent tail), and the coroutine waiting for the client to read held the
answer and the payload it was made of (a GET's values, or their base64 in a dict)
too. ``ss`` showed the kernel holding 2.8 MB of each 3 MB answer, so the process
held 3.2 MB per connection beside it (30 unread connections: RSS 61 -> 157 MB,
kept; 200: 45 -> 236 MB). Now an answer over ``_ANSWER_PIECE`` is written in pieces
and, once the kernel takes no more, only the rest not written yet is kept
(``HttpApi._send``): 30 connections 64 -> 77 MB, 200 connections 47 -> 84 MB
(``/work/notes/probe27/rss_gets.py``, ``unread_answers.py``; outside the
repository). The bound checked here is the loop's own: Python memory that the
connections hold beyond their transports' unsent bytes, which is at most a piece
each now and was the whole answer (3 MB) each before."""

from __future__ import annotations

import asyncio
import fcntl
import gc
import os
import re
import socket
import struct
import termios
import tracemalloc
from pathlib import Path

import pytest
import uvloop

from impl.http_api import _ANSWER_PIECE
from tests.runtime.live import cluster, run

_SIBLINGS = 3
_VALUE = 1_000_000  # within the default max_value_bytes (1 MiB)
_CLIENTS = 4
#: frames kept per allocation: deep enough to reach HttpApi's from the loop's run
_FRAMES = 10


def _unread_get(port: int, accept: str) -> socket.socket:
    """A connection that sends one GET of ``big`` and reads nothing (a 4 KiB receive
    buffer: the kernel cannot take the whole answer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /kv/big HTTP/1.1\r\nHost: x\r\nAccept: %s\r\n\r\n" % accept.encode())
    return sock


def _queued(fd: int, request: int) -> int:
    """Bytes of the socket ``fd``'s kernel queue ``request`` (TIOCOUTQ: sent and not
    yet acknowledged; FIONREAD: received and not yet read)."""
    return int(struct.unpack("i", fcntl.ioctl(fd, request, b"\0" * 4))[0])


def _answer_bytes(sock: socket.socket) -> int:
    """The length of the answer ``sock`` receives, from its head (peeked, not read)."""
    head = sock.recv(4096, socket.MSG_PEEK).partition(b"\r\n\r\n")[0]
    found = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
    assert found is not None, head
    return len(head) + 4 + int(found.group(1))


async def _held(tmp_path: Path, accept: str) -> tuple[int, int]:
    """(Python bytes the node's HTTP layer holds for ``_CLIENTS`` unread answers of a
    record of three 1,000,000 B siblings, bytes of those answers the kernel does not
    hold: what the node must keep of them in user space)."""
    async with cluster(tmp_path, request_timeout=5.0) as servers:
        node = servers[0]
        assert node.http_address is not None
        for _ in range(_SIBLINGS):
            status = await asyncio.to_thread(_put, node.http_address.port,
                                             os.urandom(_VALUE))
            assert status == 200
        tracemalloc.start(_FRAMES)
        socks: list[socket.socket] = []
        try:
            for _ in range(_CLIENTS):  # one at a time: each answered before the next
                socks.append(_unread_get(node.http_address.port, accept))
                for _ in range(200):
                    stuck = [w for w in node.http.slots._busy
                             if w.transport.get_write_buffer_size()]  # type: ignore[attr-defined]
                    if len(stuck) == len(socks):
                        break
                    await asyncio.sleep(0.05)
                assert len(stuck) == len(socks), "an answer was not left unread"
            gc.collect()
            # what the HTTP layer allocated and still holds (the peer traffic of the
            # three nodes in this loop is not the answers')
            held = sum(stat.size for stat in tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(True, "*/impl/http_api.py", all_frames=True)]
            ).statistics("filename"))
            in_kernel = sum(_queued(w.get_extra_info("socket").fileno(), termios.TIOCOUTQ)
                            for w in stuck)
            in_kernel += sum(_queued(sock.fileno(), termios.FIONREAD) for sock in socks)
            answers = sum(_answer_bytes(sock) for sock in socks)
        finally:
            tracemalloc.stop()
            for sock in socks:
                sock.close()
        return held, answers - in_kernel


def _put(port: int, value: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"PUT /kv/big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                     b"Connection: close\r\n\r\n%s" % (len(value), value))
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return int(out.split()[1])


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
@pytest.mark.parametrize("accept", ["multipart/mixed", "application/json"])
def test_an_unread_answer_holds_only_its_unsent_rest(tmp_path: Path, loop: str,
                                                      accept: str) -> None:
    policy = uvloop.EventLoopPolicy() if loop == "uvloop" else asyncio.DefaultEventLoopPolicy()
    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(policy)
    try:
        held, unsent = run(_held(tmp_path, accept))
    finally:
        asyncio.set_event_loop_policy(previous)
    # beyond the answers' bytes the kernel does not hold: a piece each at most, and
    # some slack for the connections' own objects (before: the whole 3-4 MB answer
    # each, and under both loops the payload it was made of)
    bound = unsent + _CLIENTS * _ANSWER_PIECE + 512 * 1024
    assert held <= bound, (f"{held} bytes held for {_CLIENTS} unread answers, "
                           f"{unsent} of them not in the kernel (bound {bound})")
