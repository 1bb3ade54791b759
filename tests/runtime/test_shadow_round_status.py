"""``GET /status`` reports a restarted node's startup shadow round (session 16;
impl.node.Node.start, docs/runtime.md, "A restored store after a reap")."""

from __future__ import annotations

from impl.cluster import SimulatedCluster
from impl.config import ClusterConfig
from impl.membership import MemberStatus
from impl.runtime import NodeServer
from impl.storage.base import Storage
from tests.runtime.live import run


def test_status_reports_the_shadow_round_while_it_is_on() -> None:
    """n3's store, which heard n1 and n2 in a simulated run, under a NodeServer: no
    round before its start; after it, the peers it waits for and nothing held, and
    ``/health``'s ``ready`` false (a load balancer sends it nothing). Mutants: the
    field left out of ``status()`` (KeyError); ``ready`` ignoring the round."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=4)
    cluster.client().put(b"k", b"v1")
    cluster.run_until_quiet()
    cluster.crash("n3")
    storage = cluster.storages["n3"].inner

    async def scenario() -> None:
        server = NodeServer("n3", cluster.config, storage, {})
        assert server.status()["shadow_round"] is None
        server.node.start(server.now())  # its effects (the round's gossip) not sent
        assert server.status()["shadow_round"] == {
            "waiting": ["n1", "n2"], "deferred": 0, "over": False}
        assert server.health()["ready"] is False
        server.node.shadow = None  # as at the round's end
        assert server.health()["ready"] is (server.node.status is MemberStatus.UP)

    run(scenario())


def crashed_n1_store() -> tuple[ClusterConfig, Storage]:
    """The configuration and n1's store of a quiet 3-node simulated cluster, n1
    crashed (for a NodeServer of n1 to take it over)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=4)
    cluster.run_until_quiet()
    cluster.crash("n1")
    return cluster.config, cluster.storages["n1"].inner


def test_status_reports_a_rebuild_and_ready_is_false_meanwhile() -> None:
    """A NodeServer whose node rebuilds a replaced disk (:mod:`impl.rebuild`, begun
    as on ``restore-fresh-renewed``): ``/status`` ``rebuild`` gives the exchanges
    pending and done, ``/health`` ``ready`` is false; once rebuilt, ``null`` and
    ready. Mutants: ``ready`` ignoring the rebuild; the field left out (KeyError)."""
    config, storage = crashed_n1_store()

    async def scenario() -> None:
        server = NodeServer("n1", config, storage, {})
        assert server.status()["rebuild"] is None
        node = server.node
        node._begin_rebuild(server.now())
        pending = len(node.rebuild.pending)
        assert pending == 2 * len(node.gossiper.my_ranges()) > 0
        assert server.status()["rebuild"] == {"pending": pending, "done": 0,
                                              "waiting_for": ["n2", "n3"]}
        assert server.health()["ready"] is False
        for pair in sorted(p for p in node.rebuild.pending if p[1] == "n2"):
            node._rebuild_synced(*pair)  # every exchange with n2 done: n3 still waited for
        assert server.status()["rebuild"] == {"pending": pending // 2, "done": pending // 2,
                                              "waiting_for": ["n3"]}
        for pair in sorted(node.rebuild.pending):
            node._rebuild_synced(*pair)
        assert server.status()["rebuild"] is None and node.stats["rebuilt"] == 1
        assert server.health()["ready"] is (node.status is MemberStatus.UP)

    run(scenario())
