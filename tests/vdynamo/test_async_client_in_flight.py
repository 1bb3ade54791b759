"""An :class:`~impl.http_client.AsyncClient` sends at most ``IN_FLIGHT`` requests at
once, and a request's ``timeout_s`` starts at its turn (session 32's operator
probe; docs/runtime.md, "Operator probe (session 32)").

Before, every request gathered on one client went to httpx at once, its
``timeout_s`` running from then: 600 puts gathered on one client of three real
nodes (``timeout_s`` 2) all raised OutcomeUnknownError in 14.9 s and none was
stored (they waited in httpx's pool of 100 connections, whose bookkeeping grows
with its waiters, and timed out unsent), every node was suspected, and 600 gets
gathered then raised NoNodeError. Here a fake transport answers each request after
0.2 s and counts those in flight; 300 puts gathered with ``timeout_s`` 1 take six
turns of 50 (1.2 s), each inside its own timeout (timed from the ask, the last
turn's would end at 1.2 s, past it). Until session 41 200 puts of 0.3 s with
``timeout_s`` 0.5: 0.2 s of margin, thin on CI's loaded 2-core machine, where the
blocking client's twin test failed (docs/runtime.md, "Timing margins under a
slower machine (session 41)")."""

from __future__ import annotations

import asyncio

import httpx

from impl.http_client import IN_FLIGHT, AsyncClient

HOLD_S = 0.2
#: each request's own: 5 x :data:`HOLD_S`, and under 6 x, the last turn's end
TIMEOUT_S = 1.0
PUTS = 6 * IN_FLIGHT
#: the cancelling test's, a turn of them in flight when half are cancelled
CANCELLED_PUTS = 4 * IN_FLIGHT


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
        client = AsyncClient(["127.0.0.1:1"], timeout_s=TIMEOUT_S)
        client._http = httpx.AsyncClient(transport=httpx.MockTransport(node))
        async with client:
            return await asyncio.gather(
                *(client.put(f"k{i}", b"v") for i in range(PUTS)), return_exceptions=True)

    results = asyncio.run(run())
    assert [r for r in results if r != "C"] == []
    assert (node.answered, node.most) == (PUTS, IN_FLIGHT)


def test_cancelled_requests_give_their_turns_back() -> None:
    """Session 32's review: requests cancelled while they wait their turn or while
    in flight (every other task of 200 once the second turn is in flight: 50
    answered, 50 in flight, 100 waiting) leave every turn free: 200 puts gathered
    next are all answered, 50 at most at once."""
    node = _SlowNode()

    async def run() -> tuple[list[object], tuple[int, int], list[object], int]:
        client = AsyncClient(["127.0.0.1:1"], timeout_s=TIMEOUT_S)
        client._http = httpx.AsyncClient(transport=httpx.MockTransport(node))
        async with client:
            tasks = [asyncio.ensure_future(client.put(f"k{i}", b"v"))
                     for i in range(CANCELLED_PUTS)]
            for _ in range(500):  # until the second turn is in flight (not a fixed
                # 0.4 s: a loaded machine starts the first turn late)
                if node.answered >= IN_FLIGHT and node.held == IN_FLIGHT:
                    break
                await asyncio.sleep(0.01)
            held = node.held  # in flight: a cancel cuts some there too
            cancelled = sum(task.cancel() for task in tasks[::2])
            first = await asyncio.gather(*tasks, return_exceptions=True)
            node.most = 0
            then = await asyncio.gather(
                *(client.put(f"j{i}", b"v") for i in range(CANCELLED_PUTS)), return_exceptions=True)
            return first, (held, cancelled), then, client._turns._value

    first, (held, cancelled), then, free = asyncio.run(run())
    # 25 cancelled in flight, the rest waiting their turn (50 if the poll caught the
    # second turn, 25 if a loaded machine woke it in the third)
    assert held == IN_FLIGHT and cancelled > IN_FLIGHT // 2, (held, cancelled)
    assert sum(isinstance(r, asyncio.CancelledError) for r in first) == cancelled
    assert [r for r in then if r != "C"] == [] and (free, node.most) == (IN_FLIGHT, IN_FLIGHT)
