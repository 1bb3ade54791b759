"""Session 24's review of admission by bytes (docs/runtime.md, "Service overload
(session 24)", review): a request that waited its turn is still held to
``max_pending_requests`` when its turn comes, and a node that stops answers the
requests waiting their turn (503, shutting down) instead of dropping them; a put
with a Content-Length that asks to continue is admitted by its length, only a
chunked one as ``max_value_bytes``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.runtime.live import call, cluster, parse_response, raw, run, url
from tests.runtime.test_pending_bytes import _first_answer, _hold

LIMITS = {"max_value_bytes": 100_000, "max_pending_bytes": 150_000, "request_timeout": 1.0}


def test_a_request_admitted_after_its_wait_is_held_to_max_pending_requests(
        tmp_path: Path) -> None:
    """Before: counted only before its wait; two gets queued behind a large put were
    both admitted after it, 3 requests in flight of a limit of 2. Since session 27
    a get that fits passes the puts waiting, so two small puts queue here."""
    async def scenario() -> None:
        async with cluster(tmp_path, max_pending_requests=2, **LIMITS) as servers:
            node = servers[0]
            # the large put waits for the first's 504 (1 s): a wait of Retry-After
            # (1 s) left it 0.2 s of margin, and it was refused 503 in a clean clone
            node.admission.wait = 3.0
            # 10-byte puts are small writes here (150,000 // 2 bytes), which pass a
            # large one waiting since session 54: not here, the counts are the test
            node.admission.small_held = None
            first = await _hold(servers, 100_000)  # 1 in flight, n2 and n3 down
            large = asyncio.create_task(call("PUT", url(node, "/kv/large"), b"l" * 100_000))
            await asyncio.sleep(0.2)
            smalls = [asyncio.create_task(call("PUT", url(node, f"/kv/s{i}"), b"s" * 10))
                      for i in (1, 2)]  # they fit, but the large waits before them
            for _ in range(100):  # a loaded machine may take longer
                if len(node.admission.queue) == 3:
                    break
                await asyncio.sleep(0.02)
            assert len(node.admission.queue) == 3
            await first
            assert (await large)[0] == 504
            errors = sorted([(await small)[2]["error"] for small in smalls])
            assert errors == ["OverloadedError", "QuorumError"], errors  # before: 2 x Quorum

    run(scenario())


def test_a_node_that_stops_answers_the_requests_waiting_their_turn(tmp_path: Path) -> None:
    """Before: the waiting put's connection was closed without an answer."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            node = servers[0]
            first = await _hold(servers, 100_000)
            waiting = asyncio.create_task(raw(node.http_address, (
                b"PUT /kv/w HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
                + b"w" * 100_000)))
            while not node.admission.queue:
                await asyncio.sleep(0.01)
            await node.stop()
            answer = await waiting
            assert answer, "closed without an answer"
            status, _, body = parse_response(answer)
            assert status == 503 and "shutting down" in body["message"], body
            await first

    run(scenario())


def test_an_expect_put_of_known_length_is_admitted_by_its_length(tmp_path: Path) -> None:
    """60 KB in flight of 150 KB: a 50 KB put gets its 100, a chunked one (counted
    as max_value_bytes, 100 KB) its 503. Mutant: every Expect counted as
    max_value_bytes survived the tests before (the 503 here)."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            node = servers[0]
            first = await _hold(servers, 60_000)
            head = b"PUT /kv/e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
            answer = await asyncio.to_thread(_first_answer, node,
                                             head + b"Content-Length: 50000\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 100 Continue"), answer[:80]
            answer = await asyncio.to_thread(_first_answer, node,
                                             head + b"Transfer-Encoding: chunked\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 503 "), answer[:80]
            await first

    run(scenario())
