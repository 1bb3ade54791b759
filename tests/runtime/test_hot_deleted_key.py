"""A deleted key read back to back through every node is reaped, on real nodes
(session 39; the simulated test is tests/impl/test_reap_polled_key.py's
``test_a_deleted_key_read_through_every_node_at_once_is_reaped``).

Soak only: real time (about 10 s a case), whose read rate depends on the machine's
load. Session 38's probe on ``vdynamo serve`` processes: 2 or 4 clients reading back
to back kept the tombstones for the 15 s and 40 s they read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import httpx
import pytest

import impl
from impl import read_repair
from impl.versions import Record, merge
from tests.conftest import PROFILE

SOAK = PROFILE == "soak"


def _repair_into_empty_copies(replies: Mapping[str, Record]) -> tuple[Record, list[str]]:
    """The mutant ``written-back`` (read repair before session 39)."""
    merged = read_repair.reconciled(replies)
    return merged, [node for node, record in sorted(replies.items())
                    if merge(record, merged) != record]


async def _read_while_deleted(seconds: float) -> tuple[float | None, list[float], int]:
    """4 real nodes (N = 3, grace 1 s): v1, a delete with a read's context, then four
    readers back to back, one through each node, for ``seconds``: when every copy was
    first gone, each time one came back after, and the reads made."""
    async with impl.LocalCluster(nodes=4, n=3, r=2, w=2, tombstone_grace_s=1.0) as cluster, \
            httpx.AsyncClient(timeout=10.0) as http:
        urls = cluster.urls
        await http.put(f"{urls[0]}/kv/k", content=b"v1")
        read = await http.get(f"{urls[0]}/kv/k?r=3")
        await http.delete(f"{urls[0]}/kv/k",
                          headers={"x-vdynamo-context": read.headers["x-vdynamo-context"]})
        stop, reads = False, [0]

        async def reader(url: str) -> None:
            while not stop:
                assert (await http.get(f"{url}/kv/k")).status_code == 404
                reads[0] += 1

        tasks = [asyncio.create_task(reader(url)) for url in urls]
        start = time.monotonic()
        reaped_at: float | None = None
        back: list[float] = []
        while (now := time.monotonic() - start) < seconds:
            held = any(server.node.replica.storage.read(b"k") is not None
                       for server in cluster.servers)
            if reaped_at is None and not held:
                reaped_at = now
            elif reaped_at is not None and held:
                back.append(now)
            await asyncio.sleep(0.02)
        stop = True
        await asyncio.gather(*tasks)
        return reaped_at, back, reads[0]


@pytest.mark.soak
@pytest.mark.skipif(not SOAK, reason="soak profile only (HYPOTHESIS_PROFILE=soak)")
@pytest.mark.parametrize("mutant", [None, "written-back"])
def test_a_deleted_key_read_back_to_back_on_real_nodes_is_reaped(
        mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Right value: every copy gone within 5 s, and none back while the reads go on
    (8 s). The mutant ``written-back`` (read repair into empty copies): a get that
    read one replica before the reap and another after it writes the tombstone
    back."""
    if mutant:
        monkeypatch.setattr(read_repair, "read_repair_targets", _repair_into_empty_copies)
    reaped_at, back, reads = asyncio.run(_read_while_deleted(8.0))
    assert reads > 100, reads
    assert reaped_at is not None and reaped_at < 5.0, reaped_at
    assert bool(back) is bool(mutant), back
