"""A second process claiming a member's name is refused by the other members (session
28's user probe; case 20's kind: what may speak for a node).

Scenario: three nodes; a fourth process starts as ``n2`` with its own store and ports
(a copied cluster file whose n2 has other addresses, a second ``vdynamo serve --node
n2``), knowing the secret. Before: its hellos were taken at n1 and n3, nothing was
logged or counted, each node keeps one connection from each peer (so the twin's
replaced the real n2's in turn), and a put through it was stored at n1 and n3 while
its client got 504 (their answers went to the real n2). Now each hello carries its
process's start token (``HelloInfo.start``), and a node whose own open connection to
n2's address told another start refuses the twin, naming both starts (Riak refuses a
second node of one name, etcd a member ID mismatch). The real n2 is served
throughout, and a restarted n2 is let in again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from impl.runtime import Address, NodeServer
from impl.storage.sqlite import SqliteStorage
from tests.runtime.live import call, cluster, run, url


def test_a_second_process_named_n2_is_refused_and_the_real_one_served(
        tmp_path: Path) -> None:
    async def scenario() -> tuple[int, bool, int, bool, int]:
        async with cluster(tmp_path) as servers:
            n1, n2, n3 = servers
            refused = n1.refused_peers + n3.refused_peers
            status, _, _ = await call("PUT", url(n1, "/kv/k"), b"v")
            assert status == 200
            peers = {s.name: s.peer_address for s in servers if s.peer_address}
            twin = NodeServer("n2", n1.config, SqliteStorage(tmp_path / "twin.sqlite"),
                              dict(peers), seed=7)
            await twin.start(Address("127.0.0.1", 0), Address("127.0.0.1", 0))
            try:
                for _ in range(150):  # the twin dials n1 and n3 as it gossips
                    if n1.refused_peers + n3.refused_peers - refused >= 2:
                        break
                    await asyncio.sleep(0.02)
                twin_refused = n1.refused_peers + n3.refused_peers - refused
                for i in range(2):  # its clients get 504 (no replica answers it)
                    await call("PUT", url(twin, f"/kv/t{i}"), b"from the twin")
                status, _, _ = await call("PUT", url(n2, "/kv/k2"), b"v")
                real_ok = status == 200
            finally:
                await twin.stop()
            taken = sum(1 for i in range(2) for server in (n1, n3)
                        if server.storage.read(f"t{i}".encode()) is not None)
            return twin_refused, n1._inbound.get("n2") is not None, status, real_ok, taken

    twin_refused, inbound, status, real_ok, taken = run(scenario(), 40)
    assert twin_refused >= 2  # before: 0 (taken as n2)
    assert taken == 0  # before: 4 (each of its puts stored at n1 and n3, answered 504)
    assert inbound and real_ok and status == 200


def test_a_restarted_member_is_let_in_again(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, int]:
        async with cluster(tmp_path) as servers:
            n1, n2, n3 = servers
            refused = n1.refused_peers + n3.refused_peers
            address, peers = n2.peer_address, {s.name: s.peer_address for s in servers}
            assert address is not None and n2.http_address is not None
            await n2.stop()
            again = NodeServer("n2", n1.config, SqliteStorage(tmp_path / "n2.sqlite"),
                               dict(peers), seed=1)
            await again.start(address, Address("127.0.0.1", 0))
            try:
                status = 0
                for _ in range(100):  # the restart's own hellos pass once n1's and n3's
                    # connections to the old process closed (at its stop)
                    status, _, _ = await call("PUT", url(again, "/kv/k") + "?w=3", b"v")
                    if status == 200:
                        break
                    await asyncio.sleep(0.05)
            finally:
                await again.stop()
            return status, n1.refused_peers + n3.refused_peers - refused

    status, refused = run(scenario(), 40)
    assert status == 200 and refused == 0
