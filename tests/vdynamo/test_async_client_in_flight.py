"""An :class:`~impl.http_client.AsyncClient` sends at most ``IN_FLIGHT`` requests at
once, and a request's ``timeout_s`` starts at its turn (session 32's operator
probe; docs/runtime.md, "Operator probe (session 32)").

Before, every request gathered on one client went to httpx at once, its
``timeout_s`` running from then: 600 puts gathered on one client of three real
nodes (``timeout_s`` 2) all raised OutcomeUnknownError in 14.9 s and none was
stored (they waited in httpx's pool of 100 connections, whose bookkeeping grows
with its waiters, and timed out unsent), every node was suspected, and 600 gets
gathered then raised NoNodeError. Here a fake transport answers each request after
0.3 s and counts those in flight; 200 puts gathered with ``timeout_s`` 0.5 take
four turns of 50 (1.2 s), each inside its own timeout."""

from __future__ import annotations

import asyncio

import httpx

from impl.http_client import IN_FLIGHT, AsyncClient

HOLD_S = 0.3
PUTS = 4 * IN_FLIGHT


class _SlowNode:
    """An httpx transport answering every put after :data:`HOLD_S` (``/status``:
    404, so the client keeps the address it was given): the most requests it held at
    once, and how many it answered."""

    def __init__(self) -> None:
        self.held = 0
        self.most = 0
        self.answered = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/status":
            return httpx.Response(404, json={"error": "NotFound"})
        self.held += 1
        self.most = max(self.most, self.held)
        try:
            await asyncio.sleep(HOLD_S)
        finally:
            self.held -= 1
        self.answered += 1
        return httpx.Response(200, json={"context": "C"})


def test_gathered_puts_take_turns_each_within_its_own_timeout() -> None:
    node = _SlowNode()

    async def run() -> list[object]:
        client = AsyncClient(["127.0.0.1:1"], timeout_s=0.5)
        client._http = httpx.AsyncClient(transport=httpx.MockTransport(node))
        async with client:
            return await asyncio.gather(
                *(client.put(f"k{i}", b"v") for i in range(PUTS)), return_exceptions=True)

    results = asyncio.run(run())
    assert [r for r in results if r != "C"] == []
    assert (node.answered, node.most) == (PUTS, IN_FLIGHT)


def test_cancelled_requests_give_their_turns_back() -> None:
    """Session 32's review: requests cancelled while they wait their turn or while
    in flight (every other task of 200, 0.4 s in: 50 answered, 50 in flight, 100
    waiting) leave every turn free: 200 puts gathered next are all answered, 50 at
    most at once."""
    node = _SlowNode()

    async def run() -> tuple[list[object], list[object], int]:
        client = AsyncClient(["127.0.0.1:1"], timeout_s=0.5)
        client._http = httpx.AsyncClient(transport=httpx.MockTransport(node))
        async with client:
            tasks = [asyncio.ensure_future(client.put(f"k{i}", b"v")) for i in range(PUTS)]
            await asyncio.sleep(HOLD_S + 0.1)
            for task in tasks[::2]:
                task.cancel()
            first = await asyncio.gather(*tasks, return_exceptions=True)
            node.most = 0
            then = await asyncio.gather(
                *(client.put(f"j{i}", b"v") for i in range(PUTS)), return_exceptions=True)
            return first, then, client._turns._value

    first, then, free = asyncio.run(run())
    assert sum(isinstance(r, asyncio.CancelledError) for r in first) >= PUTS // 2 - IN_FLIGHT
    assert [r for r in then if r != "C"] == [] and (free, node.most) == (IN_FLIGHT, IN_FLIGHT)
