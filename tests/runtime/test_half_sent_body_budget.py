"""A half-sent put body does not hold the bytes budget others need (session 25's
user probe).

Since session 24 a PUT is admitted by its Content-Length once its head is read, and
its bytes are *reserved* (counted with the bytes in flight) until its body is in
(``ByteAdmission.reserve``). A client that sends a head and then trickles its body
held that reservation for as long as the body took: with the defaults a 1 MiB
Content-Length trickled at ``http_min_body_rate`` (500 B/s) holds for about 35
minutes. Two such connections (1 MiB and 349,525 B, about 1.2 KB/s of the
client's bandwidth together) made **every** put at that node, a 1,000-byte one
too, answer 503 "node n1 is saturated: 0 bytes of requests in flight, and 0 other
request(s) wait their turn" for as long as they trickled (three ``vdynamo serve``
processes, 24 of 24 puts refused in 45 s; docs/runtime.md, "User probe (session
25)"). The kind of case 21 (half-sent requests held open) crossed with the bytes
budget.

Now a reservation is held whole for ``ByteAdmission.hold`` seconds (the node's
Retry-After: as long as anyone waits for a turn), then counts only the bytes its
body has received, growing as they arrive; and a refusal names the bytes reserved.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from impl.runtime import NodeServer
from tests.runtime.live import call, cluster, parse_response, run, url
from tests.runtime.test_body_after_admission import _head, _open, _until

#: 150 KB in flight at most, values of 100 KB at most
LIMITS = {"max_value_bytes": 100_000, "max_pending_bytes": 150_000,
          "http_idle_timeout_s": 5.0}


async def _half_sent(node: NodeServer, key: str, length: int,
                     sent: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to ``node`` that sent the head of a PUT of ``length`` bytes and
    ``sent`` of its body."""
    reader, writer = await _open(node)
    writer.write(_head(key, length) + sent)
    return reader, writer


async def _past_its_hold(node: NodeServer, key: str, length: int, sent: int
                         ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A half-sent put (``sent`` bytes of ``length``) whose reservation's hold (0.2 s)
    ended: it counts the bytes received."""
    node.admission.hold = 0.2
    reader, writer = await _half_sent(node, key, length, b"a" * sent)
    await _until(lambda: node.admission.reserved == sent, "counted as received")
    return reader, writer


def test_half_sent_bodies_do_not_hold_the_budget_a_small_put_needs(tmp_path: Path) -> None:
    """Two heads announcing the whole budget (100 KB + 50 KB), 10 bytes of body
    each, then nothing: a 1,000-byte put is stored (before: 503 at the end of its
    wait, for as long as the two kept their connections)."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            node = servers[0]
            node.admission.wait = 3.0  # longer than the hold: its turn comes within it
            writers = [(await _half_sent(node, key, length, b"s" * 10))[1]
                       for key, length in (("slow1", 100_000), ("slow2", 50_000))]
            await _until(lambda: node.admission.reserved >= 150_000 - 20,
                         "the two half-sent puts reserved the budget")
            status, _, body = await call("PUT", url(node, "/kv/small"), b"v" * 1000)
            assert status == 200, body  # before: 503, 0 bytes in flight, 0 waiting
            assert node.admission.reserved == 20  # what the two bodies received
            assert node.node.record(b"slow1") is None
            for writer in writers:
                writer.close()
            await _until(lambda: node.admission.reserved == 0, "the reservations let go")

    run(scenario())


def test_a_slow_body_past_its_hold_still_completes_and_is_stored(tmp_path: Path) -> None:
    """A body that arrives after its hold is counted as it arrives and, whole, is
    stored as any put (its reservation handed over once: none left after)."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            node = servers[0]
            reader, writer = await _past_its_hold(node, "late", 30_000, 10_000)
            writer.write(b"a" * 10_000)
            await _until(lambda: node.admission.reserved == 20_000, "grown as received")
            writer.write(b"a" * 10_000)
            status, _, body = parse_response(await asyncio.wait_for(reader.read(65536), 5))
            assert status == 200, body
            await _until(lambda: node.admission.reserved == node.node.pending_bytes == 0,
                         "nothing left reserved or in flight")
            # a put whose body comes within its hold, on the same kept-alive
            # connection: its hold ends with it, and nothing is counted after
            writer.write(_head("quick", 30_000) + b"q" * 100)
            await _until(lambda: node.admission.reserved == 30_000, "the next put reserved")
            writer.write(b"q" * 29_900)
            status, _, body = parse_response(await asyncio.wait_for(reader.read(65536), 5))
            assert status == 200, body
            await asyncio.sleep(0.4)  # past the hold of the finished put
            assert node.admission.reserved == 0
            writer.close()

    run(scenario())


def test_a_refusal_names_the_bytes_reserved_by_bodies_still_arriving(
        tmp_path: Path) -> None:
    """Before: "0 bytes of requests in flight, and 0 other request(s) wait their
    turn", naming nothing of what held the budget."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            node = servers[0]
            node.admission.wait = 0.0
            _, writer = await _half_sent(node, "slow", 100_000)
            await _until(lambda: node.admission.reserved == 100_000, "reserved")
            status, _, body = await call("PUT", url(node, "/kv/big"), b"b" * 60_000)
            assert status == 503, body
            assert "100000 bytes reserved by puts whose value is still arriving" in (
                body["message"]), body["message"]
            writer.close()

    run(scenario())


def test_a_body_completed_after_its_hold_is_admitted_again_whole(tmp_path: Path) -> None:
    """Its guarantee lapsed with its hold, so once whole the put is admitted as a put
    read whole: here the budget is held by another reservation meanwhile, the put
    does not fit (60 KB + 100 KB over 150 KB) and its wait is 0: 503, nothing
    written, and every byte let go (rather than started past the budget)."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            node = servers[0]
            reader, writer = await _past_its_hold(node, "lapsed", 60_000, 40_000)
            node.admission.hold = 10.0
            _, other = await _half_sent(node, "other", 100_000)
            await _until(lambda: node.admission.reserved == 140_000, "the other reserved")
            node.admission.wait = 0.0
            writer.write(b"a" * 20_000)
            status, _, body = parse_response(await asyncio.wait_for(reader.read(65536), 5))
            assert status == 503 and body["error"] == "OverloadedError", body
            assert node.node.record(b"lapsed") is None
            assert node.admission.reserved == 100_000  # the other's alone
            for each in (writer, other):
                each.close()
            await _until(lambda: node.admission.reserved == 0, "the reservations let go")

    run(scenario())
