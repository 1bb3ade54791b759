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
