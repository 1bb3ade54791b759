"""A get's 503 says why the coordinator's own read did not count and when its own
reads count again (session 57; docs/runtime.md, "The rebuild's grace in /status
(session 57)").

Red team 6 read ``not counted: n3 (the coordinator's own read, not rebuilt)`` at
R = 1 through n3 alone while n3's ``/status`` showed ``rebuild`` null: a rebuilt
node's own reads and acks stay uncounted for ``request_timeout + max_retry_after``
(9 s) after its last read it left unanswered while rebuilding
(:meth:`impl.node.Node._acks_uncounted`), and nothing said so. Now the phrase after
"own read" is :meth:`impl.node.Node.own_read_uncounted_why`'s.

The unconfirmed store's own reason (an empty copy in a store not every live peer has
named) is checked in ``tests/impl/test_marked_store_own_copy.py`` since session 60: its
scenario was that file's, to the wipe (the two tests are folded into one there).
"""

from __future__ import annotations

import re

import pytest

from impl.cluster import SimulatedCluster
from impl.errors import QuorumError

_GRACE = re.compile(r"not counted: n1 \(the coordinator's own read, just rebuilt: its "
                    r"own reads count again in (\d+\.\d) s, see rebuild_grace in /status\)\)$")


@pytest.mark.parametrize("seed", [0, 1])
def test_a_get_in_the_grace_says_when_the_own_reads_count_again(seed: int) -> None:
    """5 nodes, N = 3; n1's disk replaced, reads of its keys through their next
    owner while it rebuilds (n1 silent to some: ``rebuild-silent-get``); once
    rebuilt, n1 cut off and a get at R = 1 through it: 503 naming the seconds left
    of the grace (6.5 s at seed 0, 5.5 s at seed 1), which
    :meth:`impl.node.Node.rebuild_grace` also gives; past them the same get
    through n1 alone reads the value. Mutants (each run, seen failing, reverted):
    ``Node.rebuild_grace`` always None (the grace not shown: ``assert None is not
    None`` at both seeds); ``own_read_uncounted_why`` without its grace clause
    (the phrase "uncounted at the get's start: its own reads count now", no match);
    ``_named``'s phrase the fixed "not rebuilt" (``... own read, not rebuilt))``,
    no match)."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed) as cluster:
        keys = [b"k%d" % i for i in range(20)]
        for key in keys:
            cluster.client().put(key, b"v", w=3)
        cluster.run_until_quiet()
        cluster.wipe("n1")
        cluster.run_for(0.5)
        n1 = cluster.node("n1")
        mine = [key for key in keys if n1.preference_list(key)[0] == "n1"]
        for key in mine:
            other = n1.preference_list(key)[1]
            cluster.client(other).get(key, r=3, coordinator=other)
        assert n1.stats["rebuild-silent-get"] > 0
        cluster.run_until(lambda: not n1.rebuild.active, max_time=60)
        assert n1.rebuild_grace(cluster.now) is not None
        cluster.partition(["n1"], ["n2", "n3", "n4", "n5"])
        with pytest.raises(QuorumError) as caught:
            cluster.client("n1", attempts=1).get(mine[0], r=1, coordinator="n1")
        said = _GRACE.search(str(caught.value))
        assert said is not None, str(caught.value)
        left = n1.rebuild_grace(cluster.now)
        assert left is not None and abs(float(said.group(1)) - left) <= 0.1
        cluster.run_for(left + 0.01)
        assert n1.rebuild_grace(cluster.now) is None
        assert cluster.client("n1", attempts=1).get(mine[0], r=1,
                                                    coordinator="n1").values == [b"v"]

