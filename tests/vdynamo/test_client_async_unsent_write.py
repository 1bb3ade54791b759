"""A write whose connection was never made is "not written", not "outcome unknown", in
the async client as in the sync one (session 54's review of the library's failover
defaults).

The async client bounds each request as a whole with ``asyncio.timeout``; with a call's
deadline nearer than ``timeout_s`` (what is left after other nodes, ``connect(nodes,
timeout_s=5)`` after one hung node's probe, or a ``deadline_s`` below ``timeout_s``) that
bound and httpx's connect timeout are the same, and the first fired: a write to a node
that answered just now (so not probed) but whose SYNs are now dropped (a firewall:
:func:`tests.vdynamo.loopback.blackholed`) raised OutcomeUnknownError ("the write may
have been made"), though not a byte of it was sent; the sync client raised NoNodeError
(not written). Fails on 7d82948a (the async case) and on the mutant of
docs/runtime.md's review section (``_Sending.began`` always True).
"""

from __future__ import annotations

import asyncio

import pytest

from impl.http_client import AsyncClient, Client, NoNodeError
from tests.vdynamo.loopback import blackholed


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_write_not_connected_by_the_deadline_was_not_written(kind: str) -> None:
    with blackholed() as hole:
        def fresh(client: Client | AsyncClient) -> None:
            client.router._learned_at = client.router._now()  # a ring learned: no /status
            client.router.answered(f"http://{hole}")  # answered within FRESH_S: no probe

        if kind == "sync":
            with Client([hole], timeout_s=2.0, deadline_s=0.5) as client, \
                    pytest.raises(NoNodeError, match="ConnectTimeout"):
                fresh(client)
                client.put("k", b"v")
        else:
            async def scenario() -> None:
                async with AsyncClient([hole], timeout_s=2.0, deadline_s=0.5) as db:
                    fresh(db)
                    await db.put("k", b"v")  # before: OutcomeUnknownError

            with pytest.raises(NoNodeError, match="ConnectTimeout: no connection within"):
                asyncio.run(asyncio.wait_for(scenario(), 30))
