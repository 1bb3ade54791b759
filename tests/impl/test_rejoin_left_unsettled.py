"""A node that left, went down before its leave settled, and is joined again (session
50's data probe, docs/runtime.md, "A user's probe of the data kinds (session 50)").

Real processes first: ``vdynamo leave n4``, n4 SIGKILLed as soon as the others saw it
``left`` (its handover done, the settlement, which only it can announce, not yet),
then ``vdynamo join n4`` (``serve --rejoin`` on its old data file): n4 announced the
settlement and stopped ("every node here left the ring"), ``join`` exited 1, and
every later ``join`` did the same: the node could never join again. Fixed in two
parts: such a store joins again once its view says it left, settled
(:func:`impl.gossip.left_unsettled`, ``Gossiper._rejoin_once_left``, also right after
its own settlement, which no peer answers), and a member that had not heard the
settlement takes the node's ``joining`` with no partitions (strategy 3) as its
settlement, as it takes ``leaving`` (``Gossiper._has_settled``): before, the claimant
kept the node ``settling`` and claimed nothing for it, the join stuck for good.

Here in the simulator (:meth:`impl.cluster.SimulatedCluster.join` of a node that left
and is down, not taken out): 4 nodes, N = 3, R = W = 2; 12 keys at W = 3; n4 leaves and
crashes once ``left``; each key is then updated (even) or deleted (odd) with a get's
context; n4 joins again, the claimant n1 cut off until n4 announced its join (so
that it never hears the settlement), while a reader asks every member at R = 1. Asserted: n4 ``up``
in every view, no member settling, no read through any node ever older than the
update or the delete, and every key as last written at R = 3 through every member.

Mutants, each run and seen failing (session 50): ``Node``'s ``fresh`` without the
unsettled store (n4 stays ``left``: the join never ends); ``_has_settled`` without the
``joining`` rule (n1 keeps n4 settling, n4 ``joining`` for good); ``settle`` without
its ``_rejoin_once_left`` (n4 stays ``left``). About 0.5 CPU-s a mode.
"""

from __future__ import annotations

import pytest

import impl
from impl.errors import DynamoError
from impl.membership import MemberStatus
from impl.simulator import SimulationError

MODES = ("dvv", "client-vclock", "server-vclock", "lww")


def _everywhere_up(cluster: impl.SimulatedCluster, name: str) -> bool:
    views = [cluster.node(node).gossiper.view.get(name) for node in cluster.node_names
             if not cluster.is_down(node)]
    return all(entry is not None and entry.status is MemberStatus.UP and entry.settled
               for entry in views)


def _n4_left_unsettled(cluster: impl.SimulatedCluster, count: int) -> list[bytes]:
    """``count`` keys written at W = 3, then n4 left, its leave not settled."""
    client = cluster.client()
    keys = [b"k%d" % i for i in range(count)]
    for key in keys:
        client.put(key, b"v1", w=3)
    cluster.run_until_quiet()
    cluster.leave("n4")
    cluster.run_until(lambda: cluster.node("n4").has_left, max_time=60)
    assert cluster.node("n4").settling  # the scenario: left, not settled
    return keys


@pytest.mark.parametrize("mode", MODES)
def test_a_node_down_before_its_leave_settled_joins_again(mode: str) -> None:
    with impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=3, clock=mode,
                               tombstone_grace_s=0.5) as cluster:
        client = cluster.client()
        keys = _n4_left_unsettled(cluster, 12)
        cluster.crash("n4")
        deleted = set()
        for i, key in enumerate(keys):
            read = client.get(key)
            if i % 2:
                client.delete(key, context=read.context)
                deleted.add(key)
            else:
                client.put(key, b"v2", context=read.context)
        cluster.run_for(3.0)

        def expected(key: bytes) -> list[bytes]:
            return [] if key in deleted else [b"v2"]

        # the claimant (n1, the lowest-named member) cut off until n4 announced its
        # join: it never hears n4's settlement, only its ``joining``
        cluster.partition({"n1"}, set(cluster.node_names) - {"n1"})
        cluster.join("n4")
        cluster.run_until(lambda: cluster.node("n4").status is MemberStatus.JOINING,
                          max_time=60)
        cluster.heal()
        wrong = []
        for step in range(60):
            cluster.run_for(0.2)
            for node in cluster.node_names:
                key = keys[(step + len(node)) % len(keys)]
                try:
                    values = cluster.client(node).get(key, r=1).values
                except DynamoError:
                    continue  # (not serving yet)
                if values != expected(key):
                    wrong.append((step, node, key, values))
        cluster.run_until(lambda: _everywhere_up(cluster, "n4"), max_time=120)
        cluster.run_until_quiet()
        assert _everywhere_up(cluster, "n4")
        assert [node for node in cluster.node_names if cluster.node(node).gossiper.settling] == []
        assert wrong == []
        assert [(node, key) for node in cluster.node_names for key in keys
                if cluster.client(node).get(key, r=3).values != expected(key)] == []


def test_a_node_down_before_its_leave_settled_joins_again_on_a_new_disk() -> None:
    """The same node with its disk replaced while down (session 50's review: its data
    file deleted, then ``vdynamo join n4``, ``serve --rejoin`` on a new store, which
    joins once a view says it left, settled). Before, the simulator's ``join`` of such
    a node only restarted it (its empty store is not :func:`left_unsettled`), not
    asked to rejoin: n4 stayed ``left`` for good. Mutant, run and seen failing: the
    fix's ``or not store.get_meta("membership")`` removed (the code of s50-probedata):
    ``run_until`` times out, n4 ``left``. About 0.4 CPU-s."""
    with impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=3, tombstone_grace_s=0.5) as cluster:
        client = cluster.client()
        keys = _n4_left_unsettled(cluster, 8)
        cluster.lose_disk("n4")
        for key in keys:
            client.put(key, b"v2", context=client.get(key).context)
        cluster.join("n4")
        cluster.run_until(lambda: _everywhere_up(cluster, "n4"), max_time=60)
        cluster.run_until_quiet()
        assert [(node, key) for node in cluster.node_names for key in keys
                if cluster.client(node).get(key, r=3).values != [b"v2"]] == []


def test_a_force_removed_node_down_is_not_started_again_by_join() -> None:
    """The simulator's ``join`` of a node asked to leave, then force-removed while
    down, raises, as before
    s50-probedata (the runtime stops such a node: it serves nothing). On s50-probedata
    it restarted the node (it is among :attr:`left`, down), which kept hints it never
    delivers: its driver's randomized histories never went quiet (session 50's review,
    dvv seed 406 with anti-entropy). Mutant, run and seen failing: the refusal
    removed (no SimulationError). About 0.3 CPU-s."""
    with impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=3) as cluster:
        cluster.client().put(b"k", b"v1", w=3)
        cluster.leave("n5")  # (so it is among ``left``)
        cluster.run_for(0.3)
        cluster.crash("n5")  # mid-leave
        cluster.run_for(13)
        cluster.force_remove("n1", "n5")
        cluster.run_for(6)
        with pytest.raises(SimulationError, match="force-removed"):
            cluster.join("n5")
        assert cluster.is_down("n5")
