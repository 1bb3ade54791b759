"""A rolling replacement in the simulator with a node down (session 47's review of the
data probe's fix 2, :meth:`impl.cluster.SimulatedCluster.leaving`: a node that left
counts as leaving until every up node heard its settlement).

Four nodes; n5 joins while n1 leaves, with a fault; then three rounds of a join and
a leave, a client read-modify-writing one key: at the end every member is ``up`` in
every member's view, none is still settled (``settling``), and the key reads the last
write at R = 3.

- A member down for part of the leave (n4, 3 s) and back: the leave completes
  (``leaving`` counts up nodes only: it does not wait on a down one).
- The leaver crashed mid-leave, and force-removed by the operator once it can be
  (Riak's ``cluster force-remove``): the later rounds complete.

A member down for the whole leave, or the leaver crashed and left so, stalls the
leave: before session 47 ``run_until_quiet`` took the leaver out as it stood and the
cluster wedged; now the leaver keeps serving until the member is back or
force-removed (tests/impl/test_stalled_leave.py).

Mutants checked (session 47's review): ``leaving`` as before the fix (``not
has_left`` only) -> fails (n5 still settling n3); the leaver's own announcement
only (``or node.gossiper.settling``) -> fails the same; the wait over every member
(``self.node`` of each of ``sim.members``) instead of the up nodes -> fails
(SimulationError: node n1 is down). Seeds 1-2, about 0.7 s each."""

from __future__ import annotations

import pytest

import impl
from impl.cluster import Client
from impl.membership import MemberStatus


def _rmw(client: Client, value: bytes) -> None:
    read = client.get(b"k")
    assert len(read.values) <= 1, read.values
    client.put(b"k", value, context=read.context)


def assert_settled(cluster: impl.SimulatedCluster, members: list[str]) -> None:
    """Every one of ``members`` is ``up`` in each member's view, and none still
    settles a change (``settling``)."""
    for name in members:
        node = cluster.node(name)
        assert not node.gossiper.settling, (name, node.gossiper.settling)
        held = [node.view.get(other) for other in members]
        assert all(member is not None and member.status is MemberStatus.UP
                   for member in held), (name, node.view)


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("fault", ["member-down-then-back", "leaver-crashed-then-removed"])
def test_a_rolling_replacement_goes_on_after_a_fault_in_a_leave(seed: int, fault: str) -> None:
    cluster = impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=seed)
    client = cluster.client(client_id="writer")
    _rmw(client, b"v0")
    if fault == "member-down-then-back":
        cluster.crash("n4")
        cluster.join("n5")
        cluster.leave("n1")
        cluster.run_for(3.0)
        cluster.restart("n4")
        cluster.run_until_quiet()
    else:
        cluster.join("n5")
        cluster.leave("n1")
        cluster.run_for(0.3)
        cluster.crash("n1")
        cluster.run_until_quiet()
        cluster.run_for(15.0)  # until the members suspect it (force-remove refuses before)
        cluster.force_remove("n2", "n1")
        cluster.run_until_quiet()
    members = ["n2", "n3", "n4", "n5"]
    last = b"v1"
    _rmw(client, last)
    for round_, new in enumerate(("n6", "n7", "n8")):
        cluster.join(new)
        cluster.leave(members.pop(0))
        members.append(new)
        last = b"r%d" % round_
        _rmw(client, last)
        cluster.run_until_quiet()
    cluster.run_for(30.0)  # (joins are not waited for by quiet)
    cluster.run_until_quiet()
    assert cluster.node_names == members == ["n5", "n6", "n7", "n8"]
    assert_settled(cluster, members)
    assert cluster.client().get(b"k", r=3).values == [last]
