"""Session 29's review of session 28's data-probe fixes (docs/runtime.md, "Review of
the session-28 data-probe fixes (session 29)"): each test kills hand-made mutants
that ``test_claimant_wiped_mid_claim.py`` and ``test_joined_node_wiped_strategy1.py``
let live.

The scenario of the first three (as ``test_claimant_wiped_mid_claim.py``): strategy
3, 5 nodes, N = 3, n6 joined; n5 asks to leave; the claimant n1, cut off from n2-n5,
hands n5's partitions out, so the claim reaches n6 alone; then n1's disk is
replaced. Its configured view does not hold n6, and a claim made again at the same
versions with another plan splits the cluster for good.
"""

from __future__ import annotations

import impl
from tests.impl.test_claimant_wiped_mid_claim import _refused_gossip

KEYS = 10


def _n5_at(cluster: impl.SimulatedCluster, node: str) -> tuple[str, int]:
    member = cluster.node(node).snapshot().view.get("n5")
    assert member is not None
    return member.status.name, len(member.tokens)


def _claim_only_n6_heard(seed: int) -> tuple[impl.SimulatedCluster, dict[bytes, bytes]]:
    cluster = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed)
    written = {b"k%d" % i: b"v%d" % i for i in range(KEYS)}
    for key, value in written.items():
        cluster.client().put(key, value, w=3)
    cluster.join("n6")
    cluster.run_until_quiet()
    cluster.leave("n5")
    cluster.run_until(lambda: _n5_at(cluster, "n1")[0] == "LEAVING", max_time=30.0)
    cluster.partition(["n1", "n6"], ["n2", "n3", "n4", "n5"])
    cluster.run_until(lambda: _n5_at(cluster, "n6")[1] == 0, max_time=30.0)  # n6 only
    assert _n5_at(cluster, "n2")[1] > 0
    cluster.heal()
    return cluster, written


def test_the_replaced_claimants_shadow_round_ends_holding_the_claim() -> None:
    """The round asks n6, which n2's answer names, and waits for it: the new n1 serves
    (replays what it deferred) only once it holds the claim, n5's partitions moved.
    Mutants killed: the asks removed (the round asked n2-n5 only: n5 still held its
    10 tokens at n1 when the round ended, seeds 1-6), the asks sent but not waited
    for (the same)."""
    cluster, _ = _claim_only_n6_heard(seed=3)
    cluster.wipe("n1")
    assert cluster.node("n1").shadow is not None
    cluster.run_until(lambda: cluster.node("n1").shadow is None, max_time=30.0)
    assert _n5_at(cluster, "n1") == ("LEAVING", 0)
    assert any("every peer asked answered" in line for line in cluster.node("n1").log)


def test_the_claims_only_holder_down_when_the_claimant_is_replaced() -> None:
    """n6, the claim's only holder, is down when n1's disk is replaced, and puts go
    through n1 meanwhile (its failure detector then suspects n6): n1 claims nothing
    until n6 is back and has gossiped to it. Mutants killed: a member the detector
    suspects counted as heard (n1 claimed again: 116 gossips refused, two views, 7 of
    30 acknowledged writes not read back at R = 3, seed 3), the wait given up after
    10 claim rounds (the same), the wait removed."""
    cluster, written = _claim_only_n6_heard(seed=3)
    cluster.crash("n6")
    cluster.wipe("n1")
    cluster.run_until(lambda: cluster.node("n1").shadow is None, max_time=30.0)
    for i in range(20):
        key = b"t%d" % i
        cluster.client("n1").put(key, b"t", w=2, coordinator="n1")
        written[key] = b"t"
        cluster.run_for(1.0)
    assert _n5_at(cluster, "n1") == ("LEAVING", 10)  # not claimed again
    cluster.restart("n6")
    cluster.run_until_quiet()
    views = {cluster.node(name).snapshot().view for name in ("n1", "n2", "n3", "n4", "n6")}
    assert (_refused_gossip(cluster), len(views), _n5_at(cluster, "n1")) == (0, 1, ("LEFT", 0))
    reader = cluster.client()
    assert {key: reader.get(key, r=3).values for key in written} == {
        key: [value] for key, value in written.items()}


def test_a_replaced_claimant_claims_once_a_member_down_for_good_is_force_removed() -> None:
    """The documented cost, and its end: n3 down for good and n1's disk replaced, n7's
    join is not claimed (n7 ``joining`` with no tokens: a change not started, so the
    force-remove is allowed); once n3 is force-removed it is no longer waited for,
    and n7 becomes ``up``. Mutant killed: the force-removed member still waited for
    (n7 never ``up``). (Without the wait, n7's join was claimed while n3 was down and
    the force-remove refused: "a membership change is in progress", seeds 1-2.)"""
    cluster = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1)
    cluster.join("n6")
    cluster.run_until_quiet()
    cluster.crash("n3")
    cluster.wipe("n1")
    cluster.run_for(10.0)
    cluster.join("n7")
    cluster.run_for(60.0)
    n7 = cluster.node("n2").snapshot().view.get("n7")
    assert n7 is not None and (n7.status.name, n7.tokens) == ("JOINING", ())
    cluster.force_remove("n2", "n3")
    cluster.run_until(lambda: all(
        (member := cluster.node(name).snapshot().view.get("n7")) is not None
        and member.status.name == "UP" for name in ("n1", "n2", "n4", "n5", "n6", "n7")),
        max_time=300.0)


def test_a_joined_node_whose_disk_is_replaced_mid_leave_leaves() -> None:
    """Strategy 1 (2 alike): n6 (joined, not in the configuration) asks to leave and its
    disk is replaced 0.5 s in, while the view holds it ``leaving``: the new store takes
    that entry (no second join, 0 internal errors) and the leave ends, ``left``.
    Mutants killed: only an ``up`` entry taken (seed 2: n6's join refused on every
    gossip, "already a member (leaving)", and n6 ``up`` again for good), the join
    again (the same)."""
    cluster = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=2,
                                     partitioning="strategy1")
    cluster.join("n6")
    cluster.run_until_quiet()
    written = {b"k%d" % i: b"v%d" % i for i in range(KEYS)}
    for key, value in written.items():
        cluster.client().put(key, value, w=3)
    cluster.run_until_quiet()
    cluster.leave("n6")
    cluster.run_for(0.5)
    n6 = cluster.node("n1").snapshot().view.get("n6")
    assert n6 is not None and n6.status.name == "LEAVING"
    cluster.wipe("n6")
    cluster.run_for(10.0)
    errors = cluster.node("n6").stats["internal-error"]
    cluster.run_until_quiet()
    n6 = cluster.node("n1").snapshot().view.get("n6")
    assert (errors, n6 is not None and n6.status.name) == (0, "LEFT")
    reader = cluster.client()
    assert {key: reader.get(key, r=3).values for key in written} == {
        key: [value] for key, value in written.items()}
