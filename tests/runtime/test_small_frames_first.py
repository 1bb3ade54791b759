"""A small frame to a peer is not sent behind the large frames queued before it
(session 54; docs/runtime.md, "Small puts beside saturating large ones, across
processes"): the peer writer sends every small frame queued, then one large one
(``NodeServer._frames_to_write``), and the kernel buffers of a peer connection are
bounded (``PEER_SOCKET_BYTES``) so that the backlog waits in the node's queue,
where small frames pass, rather than in the sockets, where none does.

Mutants checked to fail: ``_frames_to_write`` sending every frame queued in order
(the writer before session 54: the small ReplicaPut arrives 9th of 9, the first
test fails); ``_bound_socket_buffer`` not called (the socket's buffers as Linux
autotunes them: the second test fails).
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from impl import wire
from impl.messages import ReplicaPut
from impl.runtime import LARGE_FRAME_BYTES, PEER_SOCKET_BYTES, NodeServer
from tests.runtime.live import cluster, run


def _arrivals(server: NodeServer) -> list[bytes]:
    """The keys of the ReplicaPuts ``server`` receives from now on, in order (each
    handed on to the node as before)."""
    keys: list[bytes] = []
    deliver = server._deliver

    def recorded(src: str, frame: bytes) -> None:
        message = wire.decode(frame, max_bytes=server.frame_limit)
        if isinstance(message, ReplicaPut) and message.key.startswith(b"order-"):
            keys.append(message.key)
        deliver(src, frame)
    server._deliver = recorded  # type: ignore[method-assign]
    return keys


def test_a_small_frame_is_sent_before_the_large_frames_queued_before_it(
        tmp_path: Path) -> None:
    """n1 queues for n2, in one turn of its loop, eight ReplicaPuts of 100 KB
    records (over ``LARGE_FRAME_BYTES``) and then one of 5 bytes: n2 receives the
    small one first (before: 9th, behind 800 KB), and the large ones in the order
    they were queued."""
    record = b"r" * (100_000)
    assert len(record) > LARGE_FRAME_BYTES

    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            n1, n2, _ = servers
            keys = _arrivals(n2)
            for index in range(8):
                n1._send("n2", ReplicaPut(1_000 + index, b"order-large-%d" % index, record))
            n1._send("n2", ReplicaPut(2_000, b"order-small", b"s" * 5))
            for _ in range(500):
                if len(keys) == 9:
                    break
                await asyncio.sleep(0.01)
            assert keys[0] == b"order-small", keys
            assert keys[1:] == [b"order-large-%d" % index for index in range(8)], keys

    run(scenario())


def test_a_peer_connections_kernel_buffers_are_bounded(tmp_path: Path) -> None:
    """n1's connection to n2: its send buffer at n1 and its receive buffer at n2 at
    most twice ``PEER_SOCKET_BYTES`` (Linux doubles what is set; autotuned, they
    grow to 4 MiB and 32 MiB here)."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            n1, n2, _ = servers
            sent = n1._outbound["n2"].get_extra_info("socket")
            received = n2._inbound["n1"].get_extra_info("socket")
            assert sent.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) <= 2 * PEER_SOCKET_BYTES
            assert (received.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
                    <= 2 * PEER_SOCKET_BYTES)

    run(scenario())
