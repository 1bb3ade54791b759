"""Review of session 50's tie-break of a changed secret (docs/runtime.md, "Review of
the operator changes (session 50, review)"): a roll taken back on one node.

A node whose secret changed (:attr:`impl.runtime.NodeServer.secret_changed`) records
the new secret, and stops being the side taken out at a tie, once a majority of the
members accepted it; the peers that accepted it were kept from the start
(``_accepted_by``) even when one of them refused it since. In-process, four nodes on
loopback (``tests.runtime.live.cluster``), every server stopped at the end; about 2 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from impl.runtime import NodeServer
from tests.runtime.live import SECRET, cluster, run
from tests.runtime.test_peer_secret_review import OTHER, _drop_connections, _until


def _given(server: NodeServer, secret: bytes) -> None:
    """``server`` given ``secret`` as at a restart on its store."""
    server.config = server.config.replace(secret=secret)
    server._read_secret_record()


def test_a_peer_that_took_the_old_secret_back_no_longer_counts_for_the_new(
        tmp_path: Path) -> None:
    """Of four, n3 and n4 given another secret (both out at the tie, n4 accepted n3's);
    then n4 given the cluster's secret back (the operator stops the roll there), then
    n2 given the other one: two of four hold each secret, n2 and n3 changed, so they
    are out and n1, n4 serve. Before the review n3 counted n4's acceptance of the
    first step with n2's, "3 of 4", recorded the other secret in its store and
    served beside n1 and n4 (two sides serving, what the tie-break is for). Mutant:
    ``_secret_refused`` not dropping the peer from ``_accepted_by``: fails (n3
    ready, not changed)."""
    async def scenario() -> tuple[dict[str, bool], dict[str, bool]]:
        async with cluster(tmp_path, nodes=("n1", "n2", "n3", "n4"), n=3) as servers:
            _, n2, n3, n4 = servers

            async def settled(check: Callable[[], bool]) -> None:
                _drop_connections(servers)
                assert await _until(check, 20)  # (8 s missed under a load of 14: session 50)

            _given(n3, OTHER)
            _given(n4, OTHER)
            await settled(lambda: "n4" in n3._accepted_by
                          and {"n1", "n2"} <= set(n3.secret_differs))
            _given(n4, SECRET)
            await settled(lambda: "n4" in n3.secret_differs and "n3" in n4.secret_differs)
            _given(n2, OTHER)
            await settled(lambda: "n2" in n3._accepted_by and "n2" not in n3.secret_differs
                          and {"n1", "n4"} <= set(n2.secret_differs))
            await asyncio.sleep(0.5)
            return ({s.name: bool(s.health()["ready"]) for s in servers},
                    {s.name: s.secret_changed for s in servers})

    ready, changed = run(scenario(), 90)
    assert changed == {"n1": False, "n2": True, "n3": True, "n4": False}, changed
    assert ready == {"n1": True, "n2": False, "n3": False, "n4": True}, ready
