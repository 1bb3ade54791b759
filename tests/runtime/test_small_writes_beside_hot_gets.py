"""Small writes are admitted while gets of a record over ``max_pending_bytes`` run
(session 52; case 22's kind, session 51's probe 22c).

A get counts the record it gathered in :attr:`impl.node.Node.pending_bytes`, and one
record the cluster accepts (``max_record_bytes``, 4 MiB by default) is larger than
the derived ``max_pending_bytes`` (1,398,101 B). While such a get was in flight every
put waited its turn in :class:`impl.admission.ByteAdmission` and was refused 503 at
the end of its wait: 16 clients polling a 4 MiB key made 3 of 10 small ``w=3`` puts
fail, 40 clients 9 of 10. Now a write of at most ``max_pending_bytes //
max_pending_requests`` bytes passes the gets' records (``_small_passes``) while the
writes' own bytes fit the limit; a larger put keeps its turn (FIFO).

Mutants checked to fail: the lane removed (``_small_passes`` False: the small put
503 after the wait); the lane for writes of any size (``size > self.small`` dropped:
the 60 KB put admitted); the gets' bytes not set aside (``writes`` = ``held()``:
503); gets admitted by the lane (``write`` ignored: the unit test's get admitted).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from impl.admission import ByteAdmission, _Waiter
from impl.messages import ReplicaGetReply
from impl.runtime import NodeServer
from tests.runtime.live import call, cluster, run, url

#: a hot key of three 60 KB siblings (180 KB), over max_pending_bytes (100 KB)
LIMITS = {"max_value_bytes": 60_000, "max_pending_bytes": 100_000,
          "max_pending_requests": 64}


def test_small_puts_pass_a_get_of_a_record_over_the_limit(tmp_path: Path) -> None:
    """n2 and n3 withhold their answers to n1's reads, so a get of the hot key at
    ``r=3`` through n1 stays in flight holding its 180 KB record (over the 100 KB
    limit) until its timeout: a put of 5 bytes through n1 at ``w=3`` answers 200 at
    once (before: it waited its turn and was refused 503 at the end of its wait, set
    to 0.3 s here), and a 60 KB put (over ``small``, 1,562 B) still waits its turn
    and is refused 503 (the FIFO for large puts stands)."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            n1 = servers[0]
            assert n1.admission.small == 100_000 // 64
            hot = await hot_get(servers)
            status, _, body = await call("PUT", url(n1, "/kv/small?w=3"), b"small")
            assert status == 200, body  # before: 503 "this put's 5 would pass ..."
            assert n1._get_bytes() > LIMITS["max_pending_bytes"]  # the get still ran
            status, _, shown = await call("GET", url(n1, "/status"))
            assert shown["admission"]["small_passed"] == 1, shown["admission"]
            status, _, body = await call("PUT", url(n1, "/kv/large"), b"x" * 60_000)
            assert status == 503, body  # waits its turn behind the get's bytes
            await hot
            status, _, body = await call("GET", url(n1, "/kv/small?r=1"))
            assert status == 200 and body["values"] == ["c21hbGw="], body

    run(scenario())


async def hot_get(servers: list[NodeServer]) -> asyncio.Future[Any]:
    """The get of a hot key of three 60 KB siblings written through the first of
    ``servers`` at ``r=3``, once it holds its 180 KB record there: the others
    withhold their read answers to it, so the get stays in flight until its
    timeout; the first's admission waits 0.3 s at most (shorter than that)."""
    n1, *others = servers
    for i in range(3):
        status, _, body = await call("PUT", url(n1, "/kv/hot"), bytes([i]) * 60_000,
                                     {"X-Vdynamo-Client": f"c{i}"})
        assert status == 200, body
    for server in others:  # their read answers to n1 are lost
        send = server._send

        def withheld(dest: str, message: object, send=send) -> None:  # type: ignore[no-untyped-def]
            if not (dest == n1.name and isinstance(message, ReplicaGetReply)):
                send(dest, message)
        server._send = withheld  # type: ignore[method-assign]
    n1.admission.wait = 0.3  # shorter than the get's time in flight
    return await hot_get_again(n1)


async def hot_get_again(n1: NodeServer) -> asyncio.Future[Any]:
    """A get of the hot key through ``n1`` (set up by :func:`hot_get`: its peers
    withhold their read answers), once it holds its record there."""
    hot = asyncio.ensure_future(call("GET", url(n1, "/kv/hot?r=3")))
    deadline = time.monotonic() + 5
    while n1._get_bytes() <= LIMITS["max_pending_bytes"]:
        assert time.monotonic() < deadline, "the hot get never read its record"
        await asyncio.sleep(0.01)
    return hot


def test_the_lane_bounds_the_writes_bytes_and_leaves_gets_out() -> None:
    """ByteAdmission alone: with 500 bytes of gets' records held over a limit of 100,
    a write of 10 bytes (``small`` 10) is admitted, one of 11 is not; a get (size 0)
    is not; once writes hold 95 bytes of their own, a 10-byte write is not; with a
    larger write waiting, a small one waits behind it."""
    gets, writes = [500], [0]
    admission = ByteAdmission(lambda: gets[0] + writes[0], 100, 0.05,
                              get_held=lambda: gets[0], small=10)
    assert admission.admits_now(10, write=True)
    assert not admission.admits_now(11, write=True)
    assert not admission.admits_now(0)  # a get: its record is not known
    assert admission.admits_now(0, write=True)  # a delete
    writes[0] = 95
    assert not admission.admits_now(10, write=True)
    assert admission.admits_now(5, write=True)
    writes[0] = 0

    async def queued() -> tuple[bool, bool]:
        large = asyncio.ensure_future(admission.admit(50, write=True))
        await asyncio.sleep(0)
        assert admission.large_writes_waiting == 1
        admission.wait = 5.0  # the small one waits longer than the large one
        small = await admission.admit(10, write=True)  # behind the large one: waits
        return await large, small

    assert asyncio.run(queued()) == (False, True)  # the large one's wait ended first
    assert admission.large_writes_waiting == 0 and not admission.queue



class _Counted(ByteAdmission):
    """A ByteAdmission that counts the turns its waiters check (:meth:`_turn`)."""

    turns = 0

    def _turn(self, waiter: _Waiter) -> bool:
        self.turns += 1
        return super()._turn(waiter)


def test_a_poke_reads_the_bytes_once_and_wakes_one_small_write() -> None:
    """ByteAdmission alone (session 52's review): 40 small writes of 10 bytes wait,
    the writes holding the limit (100) of their own beside 500 bytes of gets'
    records. A poke (the runtime pokes on every message it handles) reads
    ``held()`` at most 3 times (before: once per small write waiting, 41). Once the
    writes' own bytes fall to 0 (each admitted write then holds 10), a poke wakes
    the first small write that fits, which pokes the next as it leaves the queue: 10
    are admitted, the other 30 refused at the end of their wait (0.3 s), with at
    most 15 turns checked (before, every small write was woken on every poke: 40
    turns at the first). Mutants: the lane's wake reading the bytes per waiter (41
    reads: fails); no ``break`` after the first woken one (turns: fails); the wake
    removed (none admitted: fails)."""
    reads, base = [0], [100]

    def held() -> int:
        reads[0] += 1
        return 500 + base[0] + 10 * admission.waited

    admission = _Counted(held, 100, 0.3, get_held=lambda: 500, small=10)

    async def scenario() -> list[bool]:
        waiting = [asyncio.ensure_future(admission.admit(10, write=True)) for _ in range(40)]
        await asyncio.sleep(0)
        assert len(admission.queue) == 40
        reads[0] = 0
        admission.poke()
        assert reads[0] <= 3, reads[0]
        base[0], admission.turns = 0, 0
        admission.poke()
        return await asyncio.gather(*waiting)

    admitted = asyncio.run(scenario())
    assert admitted.count(True) == 10 and admission.turns <= 15, (admitted, admission.turns)
    assert not admission.queue
