"""A node given another secret is named by both sides' logs, and neither side's line
blames the wrong node (session 19's peer-port probe; case 20's kind: a
misconfigured operator).

Scenario: three nodes, then n3's cluster file gets another ``[cluster] secret``
(a copied file of another cluster, a typo) and n3 dials its peers again. Before:
n3 logged, for each good peer, ``'n1' failed the challenge (it does not know the
cluster secret)`` (the good node blamed), and the peers n3 dialed logged
nothing and counted nothing (n3 closed after reading their proof): a node joining
with a wrong secret left its seeds' logs empty. Now n3's line says the two
nodes' secrets differ, and n3 answers a proof of zeros, so the acceptor refuses
it with a line naming n3, its address and the differing secret, counted in
``refused_peers``. Nothing stored changes either way."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tests.runtime.live import cluster, run


def test_a_peer_with_another_secret_is_logged_at_both_ends_naming_the_secret(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> int:
        async with cluster(tmp_path) as servers:
            n1, n3 = servers[0], servers[2]
            refused = n1.refused_peers
            n3.config = n3.config.replace(secret=b"another secret of 24 bytes")
            for writer in list(n3._outbound.values()):
                writer.close()  # n3 dials again, with the other secret
            for _ in range(200):
                if n1.refused_peers > refused:
                    break
                await asyncio.sleep(0.02)
            return n1.refused_peers - refused

    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        refused = run(scenario(), 30)
    lines = [r.getMessage() for r in caplog.records if "refused peer" in r.getMessage()]
    at_n1 = [line for line in lines if line.startswith("n1: ") and "'n3'" in line]
    at_n3 = [line for line in lines if line.startswith("n3: ") and "dialing n1" in line]
    assert refused >= 1, lines  # before: 0, and no line at n1
    assert at_n1 and "secret differs" in at_n1[0], lines
    assert at_n3 and "secret differ" in at_n3[0], lines
    assert not any("does not know" in line for line in at_n3), at_n3  # before: n1 blamed
