"""Every initial member's disk replaced while the members that joined since are down
(session 60's review, docs/runtime.md "A brand-new cluster's first start reviewed
(session 60)").

A replaced disk starts from the configured view (the initial members), which lacks
the members that joined since. Its store stays unconfirmed until every live member
of that view named its start (:mod:`impl.restore_guard`, session 52); with every
initial member replaced, each was named by the other two, which remember nothing,
and none had heard of the joined members, the only ones that remember them. The
stores then answered not found for the keys the joined members hold. Now a fresh
store also waits for the driver's members its view never heard of
(:attr:`impl.node.Node.file_members`: the cluster file's nodes, ``vdynamo serve``;
the simulator's members).

Mutant, run and seen failing: ``Node._to_name`` without the driver's members (the
view's live members alone, the rule before): n1 confirmed, ``(False, ())``; past
that assert, 35 of the 35 keys n4 or n5 hold read not found at R = 2 through n1
(0 with the fix: all 35 unavailable).
"""

from __future__ import annotations

import contextlib

from impl.cluster import SimulatedCluster
from impl.errors import DynamoError
from tests.impl.test_wiped_leaver_reads import KEYS, joined_and_written


def test_initial_members_replaced_while_joined_members_are_down_stay_unavailable() -> None:
    """3 initial members, n4 and n5 joined; 40 keys at W = 3. n4, n5, n3, n2 down;
    n1's, n2's, n3's disks replaced in turn (3 s apart): each waits for n4 and n5
    (``unnamed_by``), and no get at R = 2 through n1 of a key n4 or n5 holds
    answers without its value (unavailable). n4, n5 back: the three are told
    (``restore-fresh-renewed``), rebuild, and every such get answers the value."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1) as cluster:
        joined_and_written(cluster, ("n4", "n5"))
        held = [key for key in KEYS
                if any(cluster.node(name).record(key) is not None for name in ("n4", "n5"))]
        for name in ("n4", "n5", "n3", "n2"):
            cluster.crash(name)
        for name in ("n1", "n2", "n3"):
            cluster.wipe(name)
            cluster.run_for(3.0)
        n1 = cluster.node("n1")
        assert (n1.unconfirmed, n1.unnamed_by) == (True, ("n4", "n5")), n1.unnamed_by

        def answered() -> tuple[int, int]:
            through, right, wrong = cluster.client("n1"), 0, 0
            for key in held:
                with contextlib.suppress(DynamoError):
                    values = through.get(key, r=2).values
                    right += values == [b"v-" + key]
                    wrong += values != [b"v-" + key]
            return right, wrong

        assert len(held) >= 20 and answered() == (0, 0), (len(held), answered())
        cluster.restart("n4")
        cluster.restart("n5")
        cluster.run_until_quiet()
        assert [cluster.node(name).stats["restore-fresh-renewed"]
                for name in ("n1", "n2", "n3")] == [1, 1, 1]
        assert answered() == (len(held), 0)
