"""The frames queued for a peer that reads nothing are bounded in bytes (session 13's
probe B).

Scenario (a peer that stops reading: a node SIGSTOPped while its connections are up;
Cassandra's and Riak's bounded outbound queues): 3 node processes, n3 stopped with
``kill -STOP``, 1 MB puts with ``w=2`` at n1 for 40 s: n1 grew to 5 GB (10,000 frames
of hint deliveries and ReplicaPuts of 1 MB records queued for n3, the queue's bound
being a count), and so would run out of memory with larger values or longer stops.
Now a peer's queue also holds at most ``PEER_QUEUE_BYTES`` (64 MiB) of frames; more
is dropped (counted in ``dropped_frames``, logged once per episode): messages
between nodes are best effort, and hints, read repair and anti-entropy send again.

Here the peer is a socket that accepts and never answers, so the writer waits in its
hello (``peer_hello_timeout_s``) while the frames queue; the bound is made 8 MiB.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from impl import runtime
from impl.messages import Gossip
from impl.runtime import Address
from tests.runtime.live import cluster, run


def test_frames_queued_for_a_peer_that_reads_nothing_are_bounded_in_bytes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "PEER_QUEUE_BYTES", 8 << 20)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts (the kernel does), never reads, never answers

    async def scenario() -> tuple[int, int, int]:
        async with cluster(tmp_path, peer_hello_timeout_s=30.0) as servers:
            server = servers[0]
            server.peers["n9"] = Address("127.0.0.1", silent.getsockname()[1])
            before = server.dropped_frames
            for _ in range(64):  # 64 MB offered to a peer that takes nothing
                server._send("n9", Gossip(b"x" * 1_000_000, reply=False))
                await asyncio.sleep(0)
            queue = server._queues["n9"]
            frames: list[bytes] = list(queue._queue)  # type: ignore[attr-defined]
            queued = sum(len(frame) for frame in frames)
            waiting = queue.qsize()
            return queued, waiting, server.dropped_frames - before

    try:
        queued, waiting, dropped = run(scenario(), limit=60.0)
    finally:
        silent.close()
    assert queued <= 8 << 20  # before: 63 MB (every frame but the one being dialed)
    assert waiting <= 8
    assert dropped >= 55


def test_a_peer_that_reads_gets_every_frame_past_the_byte_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A frame's bytes stop counting once the writer took it: frames sent to a peer
    that reads, 10 x the bound in all, are none dropped and the count is back to 0.
    Kills the mutant that never decrements it (``_taken``): every frame to a peer
    dropped for good once the bound's worth had ever been sent (session 13's review)."""
    monkeypatch.setattr(runtime, "PEER_QUEUE_BYTES", 64 << 10)

    async def scenario() -> tuple[int, int, int]:
        async with cluster(tmp_path) as servers:
            server = servers[0]
            view = server.node.gossiper.view.to_bytes()
            before, sent = server.dropped_frames, 0
            while sent < 10 * (64 << 10):
                server._send("n2", Gossip(view, reply=False))
                sent += len(view)
                await asyncio.sleep(0.002)
            for _ in range(200):
                if not server._queued_bytes.get("n2"):
                    break
                await asyncio.sleep(0.01)
            return server.dropped_frames - before, server._queued_bytes.get("n2", 0), sent

    dropped, left, sent = run(scenario(), limit=60.0)
    assert sent >= 10 * (64 << 10)
    assert dropped == 0 and left == 0
