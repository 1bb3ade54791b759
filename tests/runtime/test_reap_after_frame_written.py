"""A frame about a key taken out of line still counts for the reap for
``tombstone_grace_s`` (session 58: docs/runtime.md, "The resurrection seen once
(session 58)").

A large frame about a key waits in line for its peer, and meanwhile the node
answers a reap query of the key "not clean" (``NodeServer._sending_about``, session
54's review). Once taken it is written, but the transport's and sockets' buffers may
still hold it (about 1.4 MB per peer). A reap round asked just then was answered
clean, for the round's time does not follow the take's and no grace covered the
frame's flight: ``k3`` of tests/runtime/test_tombstone_behind_large_put.py read
back 200 once in ten loaded runs. Here the receiver reads nothing, so the frame
stays in the buffers after the take, and the node must still answer busy.

Mutants checked to fail: ``_sent_about`` not set in ``_taken`` (the key not busy
once taken: ``assert False``); its expired entries not pruned (the expired key left:
``assert b'old' not in {b'old': ...}``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from impl.messages import ReplicaGetReply
from impl.runtime import NodeServer
from tests.runtime.live import cluster, run

GRACE_S = 30.0  # longer than any stall of a loaded test: the check is not timed


class _Held:
    """``server``'s reads of the connection from ``src`` wait until :attr:`go`."""

    def __init__(self, server: NodeServer, src: str) -> None:
        reader = server._inbound[src]._reader  # type: ignore[attr-defined]
        self.read = reader.read
        self.go = asyncio.Event()
        reader.read = self._read

    async def _read(self, size: int = -1) -> bytes:
        await self.go.wait()
        return await self.read(size)


def test_a_frame_written_but_not_read_keeps_its_key_busy(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, tombstone_grace_s=GRACE_S) as servers:
            n1, _, n3 = servers
            held = _Held(n3, "n1")
            loop = asyncio.get_running_loop()
            sent = loop.time()
            n1._send("n3", ReplicaGetReply(10**9, b"kx", b"f" * 200_000))
            assert n1.node.reaper.busy(b"kx")  # in line
            deadline = loop.time() + 10
            while n1._queued_bytes.get("n3"):  # taken: 200 KB fits the buffers
                assert loop.time() < deadline, "the frame was never written"
                await asyncio.sleep(0.01)
            assert not n1._keys_in_line["n3"]  # out of line, not read by n3
            assert n1.node.reaper.busy(b"kx")
            assert sent + GRACE_S <= n1._sent_about[b"kx"] <= loop.time() + GRACE_S
            # its grace over, the key is free, and the next take prunes it
            n1._sent_about[b"kx"] = loop.time()
            assert not n1.node.reaper.busy(b"kx")
            n1._sent_about = {b"old": loop.time(), **{
                key: ends for key, ends in n1._sent_about.items() if key != b"old"}}
            held.go.set()
            n1._send("n3", ReplicaGetReply(10**9 + 1, b"ky", b"f" * 200_000))
            while n1._queued_bytes.get("n3"):
                assert loop.time() < deadline, "the frame was never written"
                await asyncio.sleep(0.01)
            assert b"old" not in n1._sent_about, n1._sent_about
            assert n1.node.reaper.busy(b"ky")

    run(scenario())
