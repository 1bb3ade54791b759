"""A leaver is taken out of a simulated cluster only once its leave is done
(session 23's data probe; docs/runtime.md, "Session 23's data probe").

:meth:`impl.cluster.SimulatedCluster.run_until_quiet` takes the nodes that were
asked to leave out of the simulation once the cluster is quiet, as the runtime's
``vdynamo serve`` stops a node once it left (``Node.has_left``). Quiet was only "no
replica change for a window", and a leave queued behind a join (strategy 3's
claimant plans one change at a time, riak_core's claimant) changes no replica while
it waits: case 07's scenario with seed 2 took n2 out at 13.7 s still ``leaving``
(every peer's view ``leaving``, nothing handed over), so the run went on with a
member dead for good in the middle of its leave. Under a strict quorum a get at
R = 3 then failed for every key n2 replicated (``QuorumError: get reached 2 of
R=3``), and the leaver's copies were never handed over. Now a node asked to leave
that is up and has not left keeps the cluster from being quiet: it is taken out
once its leave is done, as a real node exits. A leave that cannot settle (another
member down for good: the claimant waits for every member, riak_core's
``ring_ready``) is waited for ``LEAVE_PATIENCE`` quiet windows without a replica
change (waiting for it alone raised SimulationError after ``max_time``: 12 of 12
runs, a leave with n3 down for good, strategies 1 and 3, seeds 1-3); it was then
taken out as it stood until session 47, which keeps it serving instead, named in
``cluster.stalled`` (docs/runtime.md, "A stalled leave in the simulator (session
47)"; tests/impl/test_stalled_leave.py).
"""

from __future__ import annotations

import pytest

from impl.cluster import LEAVE_PATIENCE, SimulatedCluster
from impl.errors import DynamoError
from impl.membership import MemberStatus
from tests.conftest import PROFILE
from tests.impl.test_join_during_removal import _removal_then


def _take_outs(cluster: SimulatedCluster) -> list[tuple[str, object]]:
    """A list that each node the simulator takes out for good is appended to, with
    its own status at that moment (None: down)."""
    taken: list[tuple[str, object]] = []
    remove = cluster.sim.remove_node

    def spy(name: str) -> None:
        taken.append((name, cluster.node(name).status if name in cluster.sim.nodes
                      else None))
        remove(name)

    cluster.sim.remove_node = spy  # type: ignore[method-assign]
    return taken


def _join_then_leave(clock: str, seed: int, sloppy_quorum: bool
                     ) -> tuple[list[tuple[str, object]], list[bytes] | str]:
    """5 nodes; n6 joins, then 20 read-modify-writes of one key (about 0.2 s), then
    n2 is asked to leave (queued behind the join); quiet. ((node, its own status
    when taken out), the key's values at R = 3 through n1, or the error's name)."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, clock=clock,
                          sloppy_quorum=sloppy_quorum) as cluster:
        client = cluster.client()
        cluster.join("n6")
        for step in range(20):
            read = client.get(b"reg")
            client.put(b"reg", b"r%d" % step, context=read.context)
        cluster.leave("n2")
        taken = _take_outs(cluster)
        cluster.run_until_quiet(max_time=300.0)
        try:
            return taken, cluster.client("n1").get(b"reg", r=3).values
        except DynamoError as error:
            return taken, type(error).__name__


@pytest.mark.parametrize(("clock", "sloppy_quorum"), [
    (clock, sloppy) for clock in ("dvv", "lww") for sloppy in (True, False)
    if PROFILE == "soak" or (clock == "dvv") == sloppy])
def test_a_leaver_is_taken_out_only_once_it_left(clock: str, sloppy_quorum: bool) -> None:
    """Before the fix (seed 2): n2 taken out ``leaving`` at 10.2 s, and under a
    strict quorum the get at R = 3 failed (QuorumError). CI runs dvv with a sloppy
    quorum and lww with a strict one, the soak profile all four (session 43: quiet
    not waiting for a leaver fails all four alike)."""
    assert _join_then_leave(clock, 2, sloppy_quorum) == ([("n2", MemberStatus.LEFT)],
                                                         [b"r19"])


def test_a_leaver_down_for_good_stays_until_force_removed() -> None:
    """A leaver that crashed mid-leave and never restarts cannot finish its leave:
    quiet does not wait for it. Session 47 changed the rest of the rule: before, it
    was taken out as it stands, ``leaving`` in every view for good, and the
    claimant then planned nothing more (n6's join stayed ``joining``). Now it stays
    a member, down, as a crashed ``vdynamo serve`` does: a restart resumes its leave,
    and once the operator force-removes it (Riak's ``cluster force-remove``) it is
    taken out and n6's join completes."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=2) as cluster:
        cluster.join("n6")
        cluster.run_for(0.2)
        cluster.leave("n2")
        cluster.crash("n2")
        assert cluster.leaving() == []
        cluster.run_until_quiet(max_time=300.0)
        assert "n2" in cluster.node_names and cluster.is_down("n2")
        cluster.run_for(15.0)  # until the members suspect it (force-remove refuses before)
        cluster.force_remove("n1", "n2")
        cluster.run_until_quiet(max_time=300.0)
        cluster.run_for(30.0)  # (joins are not waited for by quiet)
        assert "n2" not in cluster.node_names
        assert {name: cluster.node("n1").view.get(name).status  # type: ignore[union-attr]
                for name in cluster.node_names} == dict.fromkeys(
                    ["n1", "n3", "n4", "n5", "n6"], MemberStatus.UP)


def test_a_leave_held_behind_a_removal_counts_as_leaving() -> None:
    """Under strategy 1 a leave requested while a force-remove is under way stays
    requested (session 20: ``Gossiper.removal_under_way``), n2 still ``up`` in its
    own view: it is leaving all the same, and is taken out only once it has left."""
    with SimulatedCluster(nodes=6, n=3, r=2, w=3, seed=1,
                          partitioning="strategy1") as cluster:
        _removal_then(cluster, 0.3)
        assert cluster.node("n2").gossiper.removal_under_way()
        cluster.leave("n2")
        assert (cluster.node("n2").status, cluster.leaving()) == (MemberStatus.UP, ["n2"])
        taken = _take_outs(cluster)
        cluster.run_until_quiet(max_time=300.0)
    assert taken == [("n2", MemberStatus.LEFT)]


def test_a_leave_stalled_by_a_member_down_for_good_ends_quiet_leaver_serving() -> None:
    """A leave cannot settle while another member is down for good (n3 crashed and
    never restarted): quiet is reached after ``LEAVE_PATIENCE`` windows without a
    replica change (waiting for the leave alone raised SimulationError after
    ``max_time``). Before session 47 the leaver was then taken out as it stands
    (``leaving``); now it is not taken out: it keeps serving, and ``cluster.stalled``
    names the down member its handover waits for (tests/impl/test_stalled_leave.py)."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1) as cluster:
        client = cluster.client()
        for key in (b"k0", b"k1", b"k2"):
            client.put(key, b"v-" + key)
        cluster.crash("n3")
        cluster.run_for(5.0)
        cluster.leave("n2")
        taken = _take_outs(cluster)
        start = cluster.now
        cluster.run_until_quiet(max_time=300.0)
        assert taken == []
        assert cluster.node("n2").status is MemberStatus.LEAVING
        assert "n3" in cluster.stalled["n2"], cluster.stalled
        assert cluster.now - start >= LEAVE_PATIENCE * cluster.quiet_window
        assert [cluster.client("n2").get(key).values for key in (b"k0", b"k1", b"k2")] == [
            [b"v-k0"], [b"v-k1"], [b"v-k2"]]
