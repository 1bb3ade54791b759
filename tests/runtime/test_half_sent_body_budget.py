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


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _past_its_hold(node: NodeServer, key: str, length: int, sent: int
                         ) -> Connection:
    """A half-sent put (``sent`` bytes of ``length``) whose reservation's hold (0.2 s)
    ended: it counts the bytes received."""
    node.admission.hold = 0.2
    before = node.admission.reserved
    reader, writer = await _half_sent(node, key, length, b"a" * sent)
    # first its head admitted, held whole: before session 26 a sent=0 put returned
    # at once when its head was not yet read (reserved was already 0), and its
    # reservation then landed on the next step (1 of 6 runs under load 6)
    await _until(lambda: node.admission.reserved >= before + length, "its head admitted")
    await _until(lambda: node.admission.reserved == before + sent, "counted as received")
    return reader, writer


async def _two_past_their_hold(node: NodeServer, first: tuple[str, int],
                               second: tuple[str, int]) -> list[Connection]:
    """Two half-sent puts (key, length) with nothing of their bodies sent, both past
    their holds (counting 0 bytes)."""
    return [await _past_its_hold(node, key, length, 0) for key, length in (first, second)]


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
            # what the two bodies received, once both holds ended: the put fits as
            # soon as the first's ends, and under load (a clean-clone CI run of
            # session 32: 50,010) the second's may end after the put is in
            await _until(lambda: node.admission.reserved == 20,
                         "both reservations count what their bodies received")
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


def test_bodies_past_their_hold_together_stay_within_the_budget(tmp_path: Path) -> None:
    """Session 25's review: each counted only what it received, and nothing bounded
    their sum (30 lapsed bodies sent at once held 30.5 MB for a limit of 1.4 MB).
    Now the body whose bytes would pass ``max_pending_bytes`` is refused 503 and
    its bytes let go."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            (first_reader, first), (reader, writer) = await _two_past_their_hold(
                servers[0], ("first", 100_000), ("second", 100_000))
            node = servers[0]
            first.write(b"a" * 90_000)
            await _until(lambda: node.admission.reserved == 90_000, "the first counted")
            writer.write(b"b" * 90_000)  # 180,000 over 150,000
            status, _, body = parse_response(await asyncio.wait_for(reader.read(65536), 5))
            assert status == 503 and "its bytes received would pass" in body["message"], body
            assert node.admission.reserved == 90_000  # the first's alone, within
            first.write(b"a" * 10_000)  # the first, whole, is stored
            status, _, body = parse_response(await asyncio.wait_for(
                first_reader.read(65536), 5))
            assert status == 200, body
            for each in (first, writer):
                each.close()
            await _until(lambda: node.admission.reserved == node.node.pending_bytes == 0,
                         "nothing left reserved or in flight")

    run(scenario())


def test_a_body_stalled_past_its_hold_gives_way_to_a_put_waiting(tmp_path: Path) -> None:
    """Session 25's review: the hold was bypassed by waiting it out, then sending all
    but the last bytes and stalling (the repro's two connections, 99,900 of 100,000
    and 49,900 of 50,000 bytes: a 1,000-byte put 503 for as long as they trickle).
    Now the largest body past its hold is refused 503 for the put waiting."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            (big_reader, big), (_, small) = await _two_past_their_hold(
                servers[0], ("big", 100_000), ("small", 50_000))
            node = servers[0]
            big.write(b"a" * 99_900)
            small.write(b"b" * 49_900)
            await _until(lambda: node.admission.reserved == 149_800, "both counted")
            status, _, body = await call("PUT", url(node, "/kv/victim"), b"v" * 1000)
            assert status == 200, body  # before: 503, 149,800 bytes reserved
            status, _, body = parse_response(await asyncio.wait_for(
                big_reader.read(65536), 5))
            assert status == 503 and "a request waiting its turn needs" in (
                body["message"]), body
            assert node.admission.reserved == 49_900 and node.admission.gave_way == 1
            assert node.node.record(b"big") is None
            for each in (big, small):
                each.close()
            await _until(lambda: node.admission.reserved == 0, "the reservations let go")
            assert not node.http.lapsed  # none kept once its connection ended

    run(scenario())


def test_a_body_stalled_past_its_hold_gives_way_to_an_expect_put(tmp_path: Path) -> None:
    """A put that asked ``Expect: 100-continue`` is decided at once (it cannot wait):
    a body past its hold gives way to it too, and it gets its 100 (before this
    review: 503 at once)."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            _, big = await _past_its_hold(servers[0], "big", 100_000, 0)
            node = servers[0]
            big.write(b"a" * 99_900)  # then nothing: stalled, counted
            await _until(lambda: node.admission.reserved == 99_900, "counted")
            reader, writer = await _open(node)
            writer.write(b"PUT /kv/expect HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n"
                         b"Expect: 100-continue\r\n\r\n")
            answers = [await asyncio.wait_for(reader.read(65536), 5)]
            writer.write(b"e" * 60_000)  # after its 100, which came at once
            answers.append(await asyncio.wait_for(reader.read(65536), 5))
            assert answers[0].startswith(b"HTTP/1.1 100"), answers
            assert parse_response(answers[1])[0] == 200, answers
            for each in (big, writer):
                each.close()
            await _until(lambda: node.admission.reserved == 0, "the reservations let go")

    run(scenario())
