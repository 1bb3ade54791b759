"""A peer connection this node gives up on because the peer reads nothing (a
SIGSTOPped process) is *reset*, its unsent frames dropped by the kernel too
(session 54's second new-user probe; the first one's "left open", docs/runtime.md).

The outbound writer's close (``NodeServer._write_frames``) waits at most
``_CLOSE_WAIT_S`` for the peer to take what is buffered, then aborts. The abort
closed the descriptor, but a close without ``SO_LINGER`` 0 leaves the kernel sending
what it holds and then a FIN: the socket stayed an orphan in FIN-WAIT-1 holding its
send buffer, and when the peer resumed reading it got frames the node had given up
on, then a clean end. Now the writer resets a connection still open after the wait
(``impl.connections.reset``, as ``HttpApi._drain`` does since session 54's first
probe): the kernel sends a reset and frees the buffer."""

from __future__ import annotations

import asyncio
import socket

import pytest

from impl.config import ClusterConfig
from impl.peer_auth import HELLO_HEAD_BYTES, NONCE_BYTES, TAG_BYTES, Acceptor, parse_hello_head
from impl.runtime import Address, NodeServer
from impl.storage.memory import MemoryStorage
from tests.runtime.live import SECRET, run_on
from tests.runtime.test_http_unread_answer_reset import _read_after_the_abort


def _accept_hello(listener: socket.socket, acceptor: Acceptor) -> socket.socket:
    """Accept one dial and answer its hello as ``acceptor``; the connection, after
    which nothing is read (the stopped peer)."""
    listener.settimeout(10)
    conn, _ = listener.accept()
    conn.settimeout(10)
    with conn.makefile("rb") as hello:  # buffered: read(n) returns n bytes
        length, info_length = parse_hello_head(hello.read(HELLO_HEAD_BYTES))
        name, info = hello.read(length), hello.read(info_length)
        _, challenge = acceptor.on_hello(name, info, hello.read(NONCE_BYTES))
        conn.sendall(challenge)
        acceptor.on_proof(hello.read(TAG_BYTES))
    return conn


async def _given_up() -> tuple[int, str]:
    """n1 dials a stand-in n2 (4 KiB receive buffer) that passes the hello and then
    reads nothing; n1 queues 4 MiB of frames for it and stops; the stand-in then
    reads: (bytes it read, how the stream ended)."""
    config = ClusterConfig(nodes=("n1", "n2"), n=2, r=1, w=1, secret=SECRET)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before listen: inherited
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    host, port = listener.getsockname()[:2]
    n1 = NodeServer("n1", config, MemoryStorage(), {"n2": Address(host, port)})
    stand_in = NodeServer("n2", config, MemoryStorage(), {})
    acceptor = Acceptor(config.secret, "n2", stand_in._hello_info())
    accepted = asyncio.create_task(asyncio.to_thread(_accept_hello, listener, acceptor))
    conn: socket.socket | None = None
    try:
        queue = n1._queue_for("n2")
        for _ in range(4):
            frame = b"x" * (1 << 20)  # over LARGE_FRAME_BYTES: one a send
            queue.put_nowait(frame)
            n1._queued_bytes["n2"] += len(frame)
        conn = await accepted
        deadline = asyncio.get_running_loop().time() + 5
        while "n2" not in n1._outbound or not queue.empty():  # the writer is in its drain
            assert asyncio.get_running_loop().time() < deadline, "n1 never sent its frames"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        await n1.stop()  # the writer's close waits _CLOSE_WAIT_S, then gives up
        await asyncio.sleep(0.2)  # the reset (or the orphan's bytes) reach the stand-in
        return await asyncio.to_thread(_read_after_the_abort, conn)
    finally:
        accepted.cancel()
        if conn is not None:
            conn.close()
        listener.close()
        stand_in.storage.close()


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_peer_that_reads_nothing_is_reset_not_left_an_orphan(loop: str) -> None:
    got, end = run_on(loop, _given_up(), 30)
    # before: the kernel kept sending the abandoned frames after the abort, then a
    # FIN (got 378,880 bytes, then "eof"); mutant: the plain abort() in
    # _write_frames' close
    assert end == "reset", (got, end)
