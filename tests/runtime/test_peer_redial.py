"""A node's peer connections at its peers' starts (session 21; docs/runtime.md,
"Peer connections at a start"): a connection this node dialed whose peer went away
is closed at once, not written into (``impl.runtime._close_when_peer_closes``), and
a writer backing off from a peer that was down dials as soon as that peer's own
connection arrives (``impl.runtime.NodeServer._back_off``).

Before, (1) a node stopped and started again at once with a new store (a replaced
disk) never heard its peers' answers to its start's announce: each went into the
connection to the stopped process, and its shadow round timed out (3 of 6 real
restarts, tests/runtime/test_shadow_round_quick_restart.py); (2) a node started while
a peer was down slept out its backoff (up to 1 s) when the peer came up, and a put
through it right then got 504."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from impl.config import ClusterConfig
from impl.messages import Gossip
from impl.metrics import ObservedStorage
from impl.runtime import Address, NodeServer
from impl.storage.sqlite import SqliteStorage
from tests.runtime.live import SECRET, call, cluster, run, settled, url


async def _start(name: str, config: ClusterConfig, data: Path, peers: dict[str, Address],
                 peer: Address, http: Address, **options: Any) -> NodeServer:
    """One node of ``config`` started in this loop (as :func:`impl.serve.serve` does)."""
    server = NodeServer(name, config, ObservedStorage(SqliteStorage(data)), peers, **options)
    await server.start(peer, http)
    return server


async def _round_end(server: NodeServer, limit: float = 5.0) -> float:
    """Seconds until ``server``'s start round ended (at most ``limit``)."""
    started = asyncio.get_running_loop().time()
    await settled([server], limit)
    return asyncio.get_running_loop().time() - started


def test_a_node_started_again_at_once_hears_its_peers_answers(tmp_path: Path) -> None:
    """n1 of a settled cluster stopped, and started at once on the same ports with a
    new store: n2's and n3's answers to its announce arrive, and its round ends
    answered within 0.5 s. Before: both went into the connections to the stopped
    n1 and were lost; the round waited out ``shadow_round_s`` (2 s; timeout 1)."""
    async def scenario() -> dict[str, int]:
        async with cluster(tmp_path) as servers:
            old = servers[0]
            peers = {server.name: server.peer_address for server in servers}
            assert old.peer_address is not None and old.http_address is not None
            await old.stop()
            new = await _start("n1", old.config, tmp_path / "n1-new.sqlite",
                               dict(peers), old.peer_address, old.http_address, seed=7)
            try:
                assert new.node.shadow is not None  # a fresh store announces
                assert await _round_end(new) < 0.5
                return dict(new.node.stats)
            finally:
                await new.stop()
    stats = run(scenario())
    assert stats.get("shadow-round-answered") == 1 and "shadow-round-timeout" not in stats


def test_a_peer_that_comes_up_during_a_backoff_is_dialed_at_once(tmp_path: Path) -> None:
    """Two nodes, N = R = W = 2. n1 runs alone: six frames to n2 fail to dial, so its
    writer to n2 backs off 1 s; n2 starts within that second and a put through n1
    follows its announce (request_timeout 0.5 s). n2's announce shows n1 that n2 is
    up, so n1 dials at once: n2's round ends answered within 0.3 s and the put is
    200. Before: n1 slept the second out; n2's round waited for it, holding n1's
    ReplicaPut, and the put was 504 ("put reached 1 of W=2 replicas")."""
    config = ClusterConfig(nodes=("n1", "n2"), n=2, r=2, w=2, replica_timeout=0.2,
                           request_timeout=0.5, secret=SECRET)
    local = Address("127.0.0.1", 0)

    async def scenario() -> tuple[float, int, dict[str, Any]]:
        peers = {"n1": local, "n2": local}  # n2's port 0: every dial to it refused
        n1 = await _start("n1", config, tmp_path / "n1.sqlite", peers, local, local,
                          announce=False)
        assert n1.peer_address is not None
        peers["n1"] = n1.peer_address
        n2: NodeServer | None = None
        try:
            for failures in range(1, 7):  # backoffs 0.05, 0.1, 0.2, 0.4, 0.8, then 1 s
                n1._send("n2", Gossip(n1.node.gossiper.view.to_bytes(), reply=False))
                while n1.dropped_frames < failures:
                    await asyncio.sleep(0.005)
            n2 = await _start("n2", config, tmp_path / "n2.sqlite", peers, local, local,
                              seed=1)
            assert n2.peer_address is not None and n2.node.shadow is not None
            peers["n2"] = n2.peer_address
            round_end = asyncio.create_task(_round_end(n2))
            status, _, body = await call("PUT", url(n1, "/kv/cart"), b"milk")
            return await round_end, status, body
        finally:
            for server in (n2, n1):
                if server is not None:
                    await server.stop()
    waited, status, body = run(scenario())
    assert status == 200, body
    assert waited < 0.3


def test_a_peer_seen_up_once_does_not_make_every_failed_dial_retry_at_once(
        tmp_path: Path) -> None:
    """n2's connection to n1 arrives once (its hello passes), but n1's dials to n2
    fail (n1's address for n2 answers and closes: a port of something else, or an
    asymmetric firewall). n1 dials once at the news, then backs off as before: a
    hundred frames to n2 over about a second cost a handful of dials, not a dial
    each. Session 21's review: the mutant that leaves the up event set (not cleared
    before each dial) survived every test; on it each frame dialed at once (a dial
    storm towards a peer that keeps failing, 100 dials)."""
    config = ClusterConfig(nodes=("n1", "n2"), n=2, r=1, w=1, secret=SECRET)
    local = Address("127.0.0.1", 0)

    async def scenario() -> int:
        dials = 0

        async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal dials
            dials += 1
            writer.close()

        fake = await asyncio.start_server(count, "127.0.0.1", 0)
        fake_port = int(fake.sockets[0].getsockname()[1])
        n1 = await _start("n1", config, tmp_path / "n1.sqlite",
                          {"n1": local, "n2": Address("127.0.0.1", fake_port)}, local, local,
                          announce=False)
        assert n1.peer_address is not None
        n2: NodeServer | None = None
        try:
            n1._send("n2", Gossip(n1.node.gossiper.view.to_bytes(), reply=False))
            while n1.dropped_frames < 1:
                await asyncio.sleep(0.005)
            n2 = await _start("n2", config, tmp_path / "n2.sqlite",
                              {"n1": n1.peer_address, "n2": local}, local, local, seed=1)
            while "n2" not in n1._inbound:
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.2)  # n1's dial at the news, failed
            before = dials
            for _ in range(100):
                n1._send("n2", Gossip(n1.node.gossiper.view.to_bytes(), reply=False))
                await asyncio.sleep(0.01)
            return dials - before
        finally:
            for server in (n2, n1):
                if server is not None:
                    await server.stop()
            fake.close()
    dialed = run(scenario())
    assert dialed <= 12, dialed
