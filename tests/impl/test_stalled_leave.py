"""A leave stalled by a member down for its whole length keeps the leaver serving
(session 47: docs/runtime.md, "A stalled leave in the simulator (session 47)").

The reviewer's scenario (docs/runtime.md, "Review of the data probe's fixes (session
47, review)"): four nodes, N = 3, R = W = 2, a client read-modify-writing one key,
rounds of a join and a leave, one member (n4) down for a whole leave. The leave
cannot settle (its transfer waits for every member to acknowledge the change,
riak_core's ``ring_ready``). Before, :meth:`impl.cluster.SimulatedCluster.run_until_quiet`
took the leaver out "as it stands" after ``LEAVE_PATIENCE`` windows: it stayed
``leaving`` in every view, every later join stayed ``joining``, later leavers went the
same way, and every get then raised RequestTimeoutError (seeds 1-3). Now the leaver
stays up and serving, as ``vdynamo serve`` does (``vdynamo leave`` exits 1 naming the
down node), ``run_until_quiet`` returns after the same patience with
``cluster.stalled`` naming the member the handover waits for, and the leave
completes once that member is back or force-removed (Riak's ``cluster
force-remove``). Here: no acknowledged write lost (each read-modify-write reads the
one before it), every get answered while n4 is down, and the later joins complete.
"""

from __future__ import annotations

import pytest

import impl
from impl.cluster import Client
from impl.membership import MemberStatus
from tests.conftest import PROFILE
from tests.impl.test_rolling_replacement_faults import assert_settled


def _rmw(client: Client, value: bytes, before: bytes) -> None:
    read = client.get(b"k")
    assert read.values == [before], (read.values, before)
    client.put(b"k", value, context=read.context)


@pytest.mark.parametrize(("recovery", "seed"), [
    (recovery, seed) for recovery in ("restart", "force-remove") for seed in (1, 2, 3)
    if PROFILE == "soak" or (recovery, seed) in (("restart", 1), ("force-remove", 2))])
def test_a_leave_stalled_by_a_member_down_keeps_the_leaver_serving(seed: int,
                                                                    recovery: str) -> None:
    cluster = impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=seed)
    client = cluster.client(client_id="writer")
    last = b"v0"
    client.put(b"k", last)
    cluster.crash("n4")
    cluster.join("n5")
    cluster.leave("n1")
    _rmw(client, b"v1", last)
    last = b"v1"
    cluster.run_until_quiet()
    # stalled: n1 is not taken out; it serves, and quiet names what it waits for
    assert "n1" in cluster.node_names and not cluster.is_down("n1")
    assert cluster.node("n1").status is MemberStatus.LEAVING
    assert list(cluster.stalled) == ["n1"] and "n4" in cluster.stalled["n1"], cluster.stalled
    for step in range(3):  # gets answered while n4 is down
        _rmw(client, b"d%d" % step, last)
        last = b"d%d" % step
    if recovery == "restart":
        cluster.restart("n4")
        members = ["n2", "n3", "n4", "n5"]
    else:
        cluster.force_remove("n2", "n4")
        members = ["n2", "n3", "n5"]
    cluster.run_until_quiet()
    assert cluster.stalled == {}
    assert "n1" not in cluster.node_names
    for round_, new in enumerate(("n6", "n7", "n8")):
        cluster.join(new)
        cluster.leave(members.pop(0))
        members.append(new)
        _rmw(client, b"r%d" % round_, last)
        last = b"r%d" % round_
        cluster.run_until_quiet()
        assert cluster.stalled == {}
    cluster.run_for(30.0)  # (joins are not waited for by quiet)
    cluster.run_until_quiet()
    # (a force-removed node stays in the simulation, down: force_remove's rule)
    assert [name for name in cluster.node_names if not cluster.is_down(name)] == members
    assert_settled(cluster, members)
    assert cluster.client().get(b"k", r=3).values == [last]
