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
``up`` entry back and rebuilds instead (strategy 3): the ``joining`` with its tokens
comes now from a joined member asked to leave and wiped at once (the leave was on the
lost disk: it joins anew; seed 0; other seeds leave some members not holding it
settling, the open fault of ``tests/impl/test_wiped_leaver_reads.py``'s strict xfail).

Mutant, run and seen failing (session 50's review; again in session 51): the rule without ``and not
member.tokens`` (any ``joining`` settles): no member ever holds n5 settling while it
is ``joining`` again. About 0.5 CPU-s.
"""

from __future__ import annotations

import impl
from impl.membership import MemberStatus


def test_a_wiped_joined_member_joining_again_is_settling_everywhere() -> None:
    with impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=0) as cluster:
        cluster.join("n5")
        cluster.run_until_quiet()
        cluster.leave("n5")
        cluster.wipe("n5")
        members = ("n1", "n2", "n3", "n4")
        joining_seen: set[str] = set()
        not_settling: set[str] = set()
        for _ in range(100):
            cluster.run_for(0.05)
            for name in members:
                gossiper = cluster.node(name).gossiper
                entry = gossiper.view.get("n5")
                if entry is not None and entry.status is MemberStatus.JOINING:
                    assert entry.tokens  # the scenario: joining again with its tokens
                    joining_seen.add(name)
                    if "n5" not in gossiper.settling:
                        not_settling.add(name)
        assert joining_seen == set(members)
        assert not_settling == set()
        cluster.run_until_quiet()
        assert all(not cluster.node(name).gossiper.settling for name in members)
