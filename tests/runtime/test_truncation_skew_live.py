"""A write through a node whose wall clock is behind survives clock truncation, on
three in-process nodes with real sockets and SQLite files (session 15's probe A;
the simulator's scenarios are in tests/impl/test_truncation_skew.py).

n1's clock is made two days behind by its ``clock_offset`` (``NodeServer.now``: the
loop's monotonic clock plus the offset to the wall clock taken at the start, so a
host booted before NTP set its clock keeps the error). Under client-vclock the key
takes 12 read-modify-writes through n2 (12 pairs, over ``vclock_threshold``); alice
reads, bob reads, alice writes LATE through n1, bob writes OTHER through n2, every
put with ``w=3``. Until session 15 LATE's pair was stamped two days old, the age
rule (``vclock_old_s``) truncated it, and a ``GET r=3`` answered ``[OTHER]``.
"""

from __future__ import annotations

from pathlib import Path

from impl.effects import GetResult, PutResult
from impl.messages import GetRequest, PutRequest
from impl.runtime import NodeServer
from tests.runtime.live import cluster, run

KEY = b"k"


async def _get(server: NodeServer, client: str, r: int = 2) -> GetResult:
    reply = await server.request(GetRequest(server.next_request_id(), KEY, r, client))
    assert reply.error is None and isinstance(reply.result, GetResult), reply
    return reply.result


async def _put(server: NodeServer, client: str, value: bytes, context: bytes) -> None:
    reply = await server.request(PutRequest(server.next_request_id(), KEY, value, context, 3,
                                            client))
    assert reply.error is None and isinstance(reply.result, PutResult), reply


def test_a_write_through_a_node_whose_clock_is_behind_survives_truncation(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, clock="client-vclock") as servers:
            n1, n2 = servers[0], servers[1]
            n1.clock_offset -= 2 * 86400.0
            for i in range(12):
                await _put(n2, f"cl{i}", b"v%d" % i, (await _get(n2, f"cl{i}")).context)
            alice, bob = await _get(n1, "alice"), await _get(n2, "bob")
            assert alice.values == bob.values == [b"v11"]
            await _put(n1, "alice", b"LATE", alice.context)
            await _put(n2, "bob", b"OTHER", bob.context)
            assert sorted((await _get(n2, "carol", r=3)).values) == [b"LATE", b"OTHER"]
    run(scenario())
