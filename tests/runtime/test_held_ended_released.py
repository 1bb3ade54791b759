"""The ended puts a coordinator keeps in case their own commit fails
(``PutCoordinator.held_ended``, session 50's review of the full disk) are let go
once no answer waits for a write (``Node.answers_released``, called by the
simulator after each input's writes and by ``impl.runtime.NodeServer`` whenever
nothing is held behind a commit). Before (found at session 50's final read) a
healthy node kept its last ``max_pending_bytes`` of ended puts for good: 3,000
puts of 100 bytes through n1 of a simulated cluster, 3,000 coordinations held.
Mutant checked: the drivers never calling ``answers_released`` (the tree before):
both tests fail (300 held; the live node's 29)."""

from __future__ import annotations

from pathlib import Path

from impl.cluster import SimulatedCluster
from impl.messages import PutRequest
from tests.runtime.live import cluster, run


def test_a_simulated_coordinator_keeps_no_ended_put_once_its_writes_are_performed() -> None:
    sim = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)
    client = sim.client("n1")
    for i in range(300):
        client.put(b"k%d" % i, b"v" * 100)
    sim.run_until_quiet()
    # (a put ending in an input that writes nothing, its answer out long before,
    # waits for the node's next write to be let go: a few at most)
    assert len(sim.node("n1").puts.held_ended) <= 3


def test_a_served_coordinator_keeps_no_ended_put_once_nothing_waits_for_a_commit(
        tmp_path: Path) -> None:
    async def scenario() -> int:
        async with cluster(tmp_path) as servers:
            server = servers[0]
            for i in range(30):
                reply = await server.request(
                    PutRequest(server.next_request_id(), b"k%d" % i, b"v"))
                assert reply.error is None
            return len(server.node.puts.held_ended)
    assert run(scenario()) <= 3
