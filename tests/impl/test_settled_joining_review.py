"""Only a ``joining`` with no partitions settles a node's earlier change (session 50's
review of the data probe's fix; docs/runtime.md, "Review of the data probe's fixes
(session 50, review)").

``impl.gossip.Gossiper._has_settled`` (strategy 3) takes a node's ``joining`` with no
partitions as the settlement of its earlier change: a node that left announces its
join only once its leave settled. A ``joining`` *with* partitions is not one: a member
that joined (not in the configuration) whose disk was replaced announces itself
``joining`` again and keeps its tokens (the status register only, session 17's
review); its ranges leave the serving ring and come back, a change of its own that
has not settled, and each member keeps it settling (joint quorums) until it does.

Since session 51's data probe a joined member whose disk was replaced takes its
``up`` entry back and rebuilds instead (strategy 3), and since session 52 one wiped
mid-leave removes itself (``Gossiper._remove_lost_leaver``): the ``joining`` with its
tokens comes now only from that rule's fallback, a leaver whose removal would leave
fewer than N members (its leave waits unclaimed, nothing moved, and it joins anew):
3 nodes and n4 joined, n1 left, n4 asked to leave (it waits: 2 members would stay)
and wiped 1 s later (seed 1).

Mutant, run and seen failing (session 50's review; again in session 51): the rule without ``and not
member.tokens`` (any ``joining`` settles): no member ever holds n4 settling while it
is ``joining`` again. About 0.5 CPU-s.
"""

from __future__ import annotations

import impl
from impl.membership import MemberStatus


def test_a_wiped_joined_member_joining_again_is_settling_everywhere() -> None:
    with impl.SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1) as cluster:
        cluster.join("n4")
        cluster.run_until_quiet()
        cluster.leave("n1")
        cluster.run_until_quiet()
        cluster.leave("n4")
        cluster.run_for(1.0)
        cluster.wipe("n4")
        members = ("n2", "n3")
        joining_seen: set[str] = set()
        not_settling: set[str] = set()
        for _ in range(100):
            cluster.run_for(0.05)
            for name in members:
                gossiper = cluster.node(name).gossiper
                entry = gossiper.view.get("n4")
                if entry is not None and entry.status is MemberStatus.JOINING:
                    assert entry.tokens  # the scenario: joining again with its tokens
                    joining_seen.add(name)
                    if "n4" not in gossiper.settling:
                        not_settling.add(name)
        assert joining_seen == set(members)
        assert not_settling == set()
        cluster.run_until_quiet()
        assert all(not cluster.node(name).gossiper.settling for name in members)
