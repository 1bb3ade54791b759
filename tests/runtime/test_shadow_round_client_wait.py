"""A client request held by a node's startup shadow round waits for the round
(session 16's review; :meth:`impl.runtime.NodeServer.client_wait`, docs/runtime.md,
"A restored store after a reap"): the runtime's own expiry (four request
timeouts) starts ``shadow_round_s`` later while the round is on. Before, with
``shadow_round_s = 5`` and ``request_timeout = 1`` a request held by a round that
timed out was answered 504 at 4 s and then replayed, and written, at 5 s."""

from __future__ import annotations

import dataclasses

from impl.cluster import SimulatedCluster
from impl.effects import SetTimer
from impl.messages import PutRequest
from impl.runtime import NodeServer
from tests.runtime.live import run


def test_a_request_held_by_the_round_waits_for_it() -> None:
    """n3's store heard n1 and n2; under a NodeServer with ``shadow_round_s = 1.5``
    and ``request_timeout = 0.3`` (four: 1.2 s) it starts its round, no peer
    reachable: a put through it is held, replayed when the round times out at
    1.5 s and answered (W = 1), not expired at 1.2 s. Its wait is 2.7 s during the
    round, 1.2 s before it. Mutant: ``client_wait`` without the round's
    ``shadow_round_s`` (the put answered RequestTimeoutError)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=4)
    cluster.client().put(b"k", b"v1")
    cluster.run_until_quiet()
    cluster.crash("n3")
    storage = cluster.storages["n3"].inner
    config = dataclasses.replace(cluster.config, shadow_round_s=1.5, request_timeout=0.3,
                                 replica_timeout=0.2, max_value_bytes=1024,
                                 max_record_bytes=65536)

    async def scenario() -> None:
        server = NodeServer("n3", config, storage, {})
        assert server.client_wait() == 4 * 0.3
        # the round's timer only: its gossip goes nowhere (no peer runs)
        server._perform([e for e in server.node.start(server.now())
                         if isinstance(e, SetTimer)])
        assert server.node.shadow is not None
        assert server.client_wait() == 4 * 0.3 + 1.5
        started = server.now()
        reply = await server.request(PutRequest(server.next_request_id(), b"p", b"x", w=1))
        assert reply.error is None, reply.error
        assert server.now() - started >= 1.4
        assert server.node.stats["shadow-round-timeout"] == 1

    run(scenario())
