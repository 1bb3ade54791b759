"""The small writes' lane does not admit a write that reads its key first (session
52's review of the service probe's lane; case 22's kind).

The lane (:meth:`impl.admission.ByteAdmission._small_passes`) sets the gets'
gathered records aside: a put or delete of at most ``small`` bytes is admitted
while gets of a record over ``max_pending_bytes`` run. But a delete with no context
reads the key first (as Riak's ``riak_kv_delete:delete/8``), and so does a write
with ``If-Match`` or ``If-None-Match``: that read is a get, its record counted with
the gets' and set aside by the lane. Admitted as small writes (0 or 5 bytes), such
requests of a hot key each gathered its whole record past the bytes' limit:
before the fix, 6 context-less deletes and 3 conditional puts of a 180 KB key
beside one get of it held 1,801,170 B of gathered records at n1 (limit 100,000;
with the defaults, up to ``max_pending_requests`` = 1,024 reads of a 4 MiB record).
Now they are admitted as the gets they start with: they wait their turn while the
bytes in flight are over the limit.

Mutants checked to fail: ``impl.http_api._written_at_once`` true of every put
(1,621,053 B held: all but the put admitted before its body); the check of the
condition headers dropped from ``HttpApi._admit_body`` (``write = True``: the put
admitted before its body read the record, 360,234 B held).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from impl.runtime import NodeServer
from tests.runtime.live import call, cluster, run, url
from tests.runtime.test_small_writes_beside_hot_gets import LIMITS, hot_get


def test_writes_that_read_first_wait_as_gets_beside_a_hot_get(tmp_path: Path) -> None:
    """n2 and n3 withhold their read answers to n1, so a get of the hot key at
    ``r=3`` through n1 holds its 180 KB record (over the 100 KB limit) until its
    timeout. Six DELETEs of the hot key with no context and three 5-byte PUTs with
    ``If-None-Match: *`` / ``If-Match`` (one admitted before its body is read) then
    wait their turn (at most 0.3 s here) and are refused 503: the gathered records
    at n1 stay at the one get's; a plain 5-byte put still passes (the lane stands)."""
    async def scenario() -> None:
        # one thread per request in flight (the default pool has 6 on two cores)
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(16))
        async with cluster(tmp_path, **LIMITS) as servers:
            n1 = servers[0]
            hot = await hot_get(servers)
            one = n1._get_bytes()
            writes = [asyncio.ensure_future(call("DELETE", url(n1, "/kv/hot")))
                      for _ in range(6)]
            writes += [asyncio.ensure_future(call("PUT", url(n1, "/kv/hot"), b"small",
                                                  {header: value}))
                       for header, value in (("If-None-Match", "*"),
                                             ("If-Match", '"x"'))]
            writes.append(asyncio.ensure_future(head_first(n1, "If-None-Match: *")))
            held = one
            until = time.monotonic() + 0.25
            while time.monotonic() < until:
                held = max(held, n1._get_bytes())
                await asyncio.sleep(0.005)
            assert held == one, f"{held} B of gathered records (the one get's: {one})"
            status, _, body = await call("PUT", url(n1, "/kv/small?w=3"), b"small")
            assert status == 200, body  # the lane still lets a plain small put pass
            answers = await asyncio.gather(*writes)
            assert [status for status, _, _ in answers] == [503] * 9, answers
            await hot

    run(scenario())


async def head_first(server: NodeServer, condition: str) -> tuple[int, None, bytes]:
    """A 5-byte conditional PUT of the hot key whose head is sent 0.1 s before its
    body, so that it is admitted before its body is read
    (:meth:`impl.http_api.HttpApi._admit_body`): its status, and its answer."""
    address = server.http_address
    assert address is not None
    reader, writer = await asyncio.open_connection(address.host, address.port)
    try:
        writer.write(f"PUT /kv/hot HTTP/1.1\r\nHost: x\r\n{condition}\r\n"
                     "Content-Length: 5\r\n\r\n".encode())
        await writer.drain()
        await asyncio.sleep(0.1)
        with contextlib.suppress(ConnectionError):  # refused before its body: closed
            writer.write(b"small")
            await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    return int(answer.split(b" ", 2)[1]), None, answer
