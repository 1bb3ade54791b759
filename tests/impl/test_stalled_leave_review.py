"""Session 47's review of the stalled-leave rule (docs/runtime.md, "Review of the
stalled-leave rule (session 47, review)"): the shapes a user of
:class:`impl.SimulatedCluster` can stall a leave in, and the mutant its author left
living.

Five nodes, N = 3, R = W = 2, six keys written and one deleted, then a leave stalled:
- ``leaver-crashed``: the leaver crashed mid-leave and never restarted; an operator
  force-removes it (Riak's ``cluster force-remove``);
- ``two-leavers``: n1 and n2 leave while n5 is down, then n5 is restarted;
- ``member-wiped``: n1 leaves while n5 is down, then n5's disk is replaced (``wipe``);
- ``join-and-leave``: n6 joins and n1 leaves while n5 is down, then n5 is restarted;
- ``partition``: n1 leaves while n5 is cut off by a partition, then it heals
  (a partition holding a hint back makes ``run_until_quiet`` raise, "heal partitions
  first", docs/simulator.md: no write is made while it lasts).
Each ``run_until_quiet`` returns (session 23's guarantee), the stalled leaver stays
(up and named in ``stalled`` with the member it waits for, or down and named with
itself, session 48), after the
recovery it is taken out, every key reads its last acknowledged write at R = 3 and
the deleted key reads nothing. About 0.4 CPU-s a case (session 47's machine).

Mutants (each a textual change to impl/cluster.py, run and seen failing): the
patience dropped (``run_until_quiet`` waits for every leave) -> two-leavers,
member-wiped, join-and-leave and partition raise SimulationError; a down leaver
always taken out -> leaver-crashed fails (n1 not in ``node_names``).

The last test kills the mutant session 47 left living, "an up leaver taken out as soon
as it has left, without waiting for its settlement": n1 has left when n3 is cut off
by a partition, so n3 never hears n1's settlement within the patience. Taken out
then, n1 could never announce it: every member kept ``settling`` n1 for good and the
next join stayed ``joining`` (seeds 1-5, run and seen). It checks too that
``stalled`` names n3 (``{"n1": []}`` before this review's fix to
``SimulatedCluster._stalled_leaves``: a leaver that has left waits for its
settlement, not its handover).
"""

from __future__ import annotations

import pytest

import impl
from impl.cluster import Client
from impl.membership import MemberStatus
from tests.conftest import PROFILE
from tests.impl.test_rolling_replacement_faults import assert_settled

KEYS = [b"k%d" % i for i in range(6)]
SHAPES = ["leaver-crashed", "two-leavers", "member-wiped", "join-and-leave", "partition"]


def _seeds(ci: list[int]) -> list[int]:
    return [1, 2, 3] if PROFILE == "soak" else ci


def _rmw_all(client: Client, acked: dict[bytes, bytes], tag: bytes) -> None:
    """Read-modify-write every key: each read returns the last acknowledged write."""
    for key in KEYS:
        read = client.get(key)
        assert read.values == [acked[key]], (key, read.values, acked[key])
        client.put(key, tag + key, context=read.context)
        acked[key] = tag + key


@pytest.mark.parametrize("seed", _seeds([1]))
@pytest.mark.parametrize("shape", SHAPES)
def test_quiet_returns_in_each_stalled_shape_and_no_write_is_lost(shape: str,
                                                                   seed: int) -> None:
    cluster = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed)
    client = cluster.client(client_id="writer")
    acked = {key: b"" for key in KEYS}
    for key in KEYS:
        client.put(key, b"v0" + key)
        acked[key] = b"v0" + key
    client.put(b"gone", b"x")
    client.delete(b"gone", context=client.get(b"gone").context)
    leavers = ["n1", "n2"] if shape == "two-leavers" else ["n1"]
    if shape == "leaver-crashed":
        cluster.leave("n1")
        cluster.run_for(0.5)
        cluster.crash("n1")
    elif shape == "partition":
        cluster.partition(["n5"], ["n1", "n2", "n3", "n4"])
        cluster.leave("n1")
    else:
        cluster.crash("n5")
        if shape == "join-and-leave":
            cluster.join("n6")
        for name in leavers:
            cluster.leave(name)
        _rmw_all(client, acked, b"a")
    cluster.run_until_quiet()  # returns: the stalled leave holds quiet back no more
    assert all(name in cluster.node_names for name in leavers)
    if shape == "leaver-crashed":
        # named: its leave waits for its restart or a force-remove (session 48:
        # before, ``stalled == {}``, the down leaver named nowhere)
        assert cluster.is_down("n1") and cluster.stalled == {"n1": ["n1"]}
    else:
        assert sorted(cluster.stalled) == leavers, cluster.stalled
        assert all("n5" in cluster.stalled[name] for name in leavers), cluster.stalled
        assert all(cluster.node(name).status is MemberStatus.LEAVING for name in leavers)
    if shape == "partition":
        cluster.heal()
    else:
        _rmw_all(client, acked, b"b")  # served meanwhile, through the leavers too
    if shape == "leaver-crashed":
        cluster.run_for(20.0)  # the members suspect it: force-remove takes it
        cluster.force_remove("n2", "n1")
    elif shape == "member-wiped":
        cluster.wipe("n5")
    elif shape != "partition":
        cluster.restart("n5")
    cluster.run_until_quiet()
    cluster.run_for(30.0)  # (joins are not waited for by quiet)
    cluster.run_until_quiet()
    assert cluster.stalled == {}
    assert not set(leavers) & set(cluster.node_names), cluster.node_names
    members = [name for name in cluster.node_names if not cluster.is_down(name)]
    assert_settled(cluster, members)
    _rmw_all(client, acked, b"c")
    reader = cluster.client(members[0])
    for key in KEYS:
        assert reader.get(key, r=3).values == [acked[key]], key
    assert reader.get(b"gone", r=3).values == []


@pytest.mark.parametrize("seed", _seeds([1]))
def test_a_leaver_whose_settlement_a_partitioned_member_missed_stays_until_healed(
        seed: int) -> None:
    cluster = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed)
    client = cluster.client(client_id="writer")
    client.put(b"k", b"v0")
    cluster.leave("n1")
    cluster.run_until(lambda: cluster.node("n1").has_left, max_time=300.0)
    cluster.partition(["n3"], ["n1", "n2", "n4", "n5"])
    cluster.run_until_quiet()
    # n1 has left, its settlement not announced (n3 has not seen its change): it stays
    assert "n1" in cluster.node_names and cluster.node("n1").has_left
    assert cluster.stalled == {"n1": ["n3"]}, cluster.stalled
    cluster.heal()
    cluster.run_until_quiet()
    assert cluster.stalled == {} and "n1" not in cluster.node_names
    cluster.join("n6")
    read = client.get(b"k")
    assert read.values == [b"v0"]
    client.put(b"k", b"v1", context=read.context)
    cluster.run_until_quiet()
    cluster.run_for(30.0)  # (joins are not waited for by quiet)
    cluster.run_until_quiet()
    members = ["n2", "n3", "n4", "n5", "n6"]
    assert cluster.node_names == members
    assert_settled(cluster, members)  # the mutant: n6 `joining`, every member settling n1
    assert cluster.client("n2").get(b"k", r=3).values == [b"v1"]
