"""A node joins after every initial member has left (session 47's data probe, case 07's
kind: a rolling replacement, each old node leaving once a new one joined).

A joining node asks the seeds (``ClusterConfig.seeds``, by default the initial members)
for the view it takes its tokens from. Once every seed had left, ``SimulatedCluster.join``
started the node on a configuration that named only nodes no longer running: it never
joined, kept the initial ring (the key's replica: n1, gone) and answered every get
through it with a QuorumError ("no answer from n1"), for good. The smallest cluster
shows it: one node (N = 1), n2 joins, n1 leaves, n3 joins. Four nodes replaced one by
one (n5-n8 for n1-n4) wedged the same way at the fifth round: the new node never
joined, the next leave waited for ever for a member. Now ``join`` names the current
members as the seeds when none of the seeds is one, as ``vdynamo join`` does for a
local cluster (tests/runtime/test_cli_join_after_seeds_left.py).
"""

from __future__ import annotations

import impl
from impl.membership import MemberStatus


def test_a_node_joins_after_every_initial_member_left() -> None:
    cluster = impl.SimulatedCluster(nodes=1, n=1, r=1, w=1, seed=1)
    cluster.client().put(b"k", b"v1")
    cluster.join("n2")
    cluster.run_until_quiet()
    cluster.leave("n1")
    cluster.run_until_quiet()
    cluster.join("n3")
    cluster.run_until_quiet()
    assert cluster.node_names == ["n2", "n3"]
    for at in ("n2", "n3"):
        member = cluster.node(at).view.get("n3")
        assert member is not None and member.status is MemberStatus.UP
    assert cluster.client("n3").get(b"k").values == [b"v1"]  # before: QuorumError


def test_a_node_joins_while_every_seed_is_down() -> None:
    """Session 47's review: the seeds (``["n2"]`` once n1 left) a member but down.
    The joining node asked only n2, and n3 (up) never heard of it until n2 was back;
    ``vdynamo join`` failed so after 30 s ("member_status not-joined"). Now the members
    up are the seeds when no seed is up: n4 is heard at once, joins once n2 is back
    (n2 holds the partitions it takes), and the key reads through it. Mutant checked:
    the members counted up or down (the probe's rule) -> n4 absent from n3's view."""
    cluster = impl.SimulatedCluster(nodes=1, n=1, r=1, w=1, seed=1)
    cluster.client().put(b"k", b"v1")
    for step in (lambda: cluster.join("n2"), lambda: cluster.leave("n1"),
                 lambda: cluster.join("n3")):
        step()
        cluster.run_until_quiet()
    assert cluster.config.seed_nodes == ("n2",)
    cluster.crash("n2")
    cluster.join("n4")
    cluster.run_for(20.0)
    heard = cluster.node("n3").view.get("n4")
    assert heard is not None and heard.status is MemberStatus.JOINING  # before: None
    cluster.restart("n2")
    cluster.run_until_quiet()
    for at in ("n2", "n3", "n4"):
        member = cluster.node(at).view.get("n4")
        assert member is not None and member.status is MemberStatus.UP
    assert cluster.client("n4").get(b"k").values == [b"v1"]
