"""A reap does not pass the large frames sent before it (session 54's review of
small frames first: docs/runtime.md, "Review of small frames first (session 54,
review)").

Since session 54 a peer writer sends the small frames queued before the large ones
(``NodeServer._frames_to_write``). The reap of a tombstone (``delete_mode = "safe"``,
:mod:`impl.reaping`) relied on the order of one connection: a replica that acked the
tombstone had received every frame its coordinator queued for it before, and a
member that answered a reap query "clean" had sent the asker every frame it queued
before. With small frames first, on a link that reads slowly (a busy or distant
replica), a large ``ReplicaPut`` of a value the delete covers, queued before the
tombstone, arrives after the ``Reap`` (key ``k1``: n1 coordinates the put and the
delete, n3 reaps, then stores the deleted value again), or a member's answers pass
its own large ``ReplicaPut`` to the asker (key ``k2``: n3 coordinates the put, n1
the delete; n1 reaps, then stores the value). A third case is older than session
54 (key ``k3``: n1 coordinates the put, n2 the delete; the tombstone reaches n3 from
n2, and n1 answers n2's reap query "clean" while its large put for n3 still waits
in its queue: n3 reaps, then stores the value). Each copy is then read back (a GET
at ``r=3`` answers the deleted value: 200, not 404) and spread by read repair and
anti-entropy: a resurrection.

The links n1 -> n3 and n3 -> n1 read about 6 MB/s at most here (each read of the
receiving node's stream waits 10 ms and takes at most 64 KB), each behind 30 MB of
large frames queued first (``ReplicaGetReply`` frames of an op no one waits for:
dropped by the receiver), so that the reaps are decided and sent while the large
puts still wait in their sender's queue; gets through n1 at ``r=3`` meanwhile set
reaps at n1 (the delete of ``k3`` sets its own at n2). Then the links read at full
speed, and once every frame is in no node may hold a live version of any key, and
every tombstone is reaped within 15 s.

Found: at eba640c8 (main, session 54 merged) the GET answers 200 for each key; at
f54652f6 (before session 54) 200 for ``k3`` alone. Mutants checked to fail (see
the docs section for the figures): ``_keys_of`` returning no key (no small frame
waits in line: ``k1`` and ``k2`` read back); the reaper's ``busy`` not extended by
``NodeServer._sending_about`` (``k3``); ``_taken`` not counting a frame out of
``_keys_in_line`` (the bookkeeping assertion). Session 58 raised the grace from 0.1 s
to 1 s (:data:`GRACE_S`) and checked the first two mutants again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from impl.messages import ReplicaGetReply
from impl.runtime import NodeServer
from tests.runtime.live import call, cluster, run, url

FILLER = b"f" * 1_000_000
#: the reap's grace: longer than the slowed link takes to read what the sockets hold
#: (about 1.4 MB, 0.2 s at its 6 MB/s: a frame taken out of line counts this long
#: more, ``NodeServer._sending_about``). 0.1 s until session 58: under load a round
#: reaped ``k3`` while n1's put was still in the buffers (docs/runtime.md, "The
#: resurrection seen once (session 58)")
GRACE_S = 1.0
KEYS = ("k1", "k2", "k3")


class _SlowLink:
    """``server``'s reads of the connection from ``src``: each waits 10 ms and
    takes at most 64 KB until :attr:`fast`."""

    def __init__(self, server: NodeServer, src: str) -> None:
        reader = server._inbound[src]._reader  # type: ignore[attr-defined]
        self.read = reader.read
        self.fast = False
        reader.read = self._read

    async def _read(self, size: int = -1) -> bytes:
        if not self.fast:
            await asyncio.sleep(0.01)
            size = min(size, 64_000)
        return await self.read(size)


async def _delete(server: NodeServer, key: str) -> None:
    """GET ``key`` through ``server`` (200), then DELETE it with the context (200)."""
    status, headers, body = await call("GET", url(server, f"/kv/{key}"))
    assert status == 200, (key, status, body)
    status, _, _ = await call("DELETE", url(server, f"/kv/{key}"),
                              headers={"x-vdynamo-context": headers["x-vdynamo-context"]})
    assert status == 200, (key, status)


def test_a_reap_does_not_pass_a_large_put_queued_before_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, tombstone_grace_s=GRACE_S) as servers:
            n1, n2, n3 = servers
            links = [_SlowLink(n3, "n1"), _SlowLink(n1, "n3")]
            for index in range(30):
                n1._send("n3", ReplicaGetReply(10**9 + index, b"filler", FILLER))
                n3._send("n1", ReplicaGetReply(10**9 + index, b"filler", FILLER))
            for coordinator, key in ((n1, "k1"), (n3, "k2"), (n1, "k3")):  # W = 2
                status, _, _ = await call("PUT", url(coordinator, f"/kv/{key}"),
                                          b"v" * 200_000)
                assert status == 200, (key, status)
            await _delete(n1, "k1")
            await _delete(n1, "k2")
            await _delete(n2, "k3")
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while n1._queued_bytes.get("n3") or n3._queued_bytes.get("n1"):
                assert loop.time() < deadline, "the slow links never drained"
                for key in ("k1", "k2"):  # a get that reads the tombstone on all
                    await call("GET", url(n1, f"/kv/{key}?r=3"))  # N sets a reap
                await asyncio.sleep(0.2)
            for link in links:
                link.fast = True
            await asyncio.sleep(0.5)  # what the sockets' buffers held
            read_back = {key: (await call("GET", url(n1, f"/kv/{key}?r=3")))[0]
                         for key in KEYS}
            assert read_back == dict.fromkeys(KEYS, 404), read_back
            for server, peer in ((n1, "n3"), (n3, "n1")):  # nothing left in line
                left = server._keys_in_line.get(peer), server._in_line.get(peer)
                assert not left[0] and not left[1], left
            deadline = loop.time() + 15
            while held := [key for key in KEYS if any(
                    server.node.record(key.encode()) is not None for server in servers)]:
                assert loop.time() < deadline, f"{held}: never reaped"
                for key in held:  # a reap whose rounds ran out is set again by a get
                    await call("GET", url(n1, f"/kv/{key}?r=3"))
                await asyncio.sleep(0.2)

    run(scenario())
