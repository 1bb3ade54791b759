"""A marked store's own non-empty copy counts towards R before it is told (session
55; docs/runtime.md, "The rebuilding node's holes (session 55)", hole 2; session 54's
"Left open" of "Fault 2: two replaced disks, marked, not told, counted their empty
copies"), and a get through it names why its empty copy does not count (session 57).

A store marked ``fresh-unconfirmed`` (an empty store that announced, not yet named by
every live peer) whose peers that heard the old disk are down is not told it is a
replaced disk. Session 54 stopped counting its *empty* copies; a copy it holds (a
write it took since its empty start) still counts, so its acks and its answers agree.
That copy lacks what the old disk acknowledged: n1's and n2's disks replaced while
n3-n5 are down (both marked, not told), a blind put of ``v2`` at W = 2 through n1
(acknowledged by the two marked stores), a get at R = 2 through n1 reads ``[v2]``
alone, while ``v1`` (acknowledged at W = 3 by the old disks and n3) stands beside
it (the final read, n3-n5 back: ``[v1, v2]``). lww is not affected (``v2`` is later).

Not fixed: closing it means counting no copy of a marked store and then none of its
acks (their agreement), so a store whose peers are down takes no write and answers
no read until every live peer named its start — a brand-new cluster with one member
down would be unavailable as a whole. Pinned as a strict xfail (imperative since
session 60: the test ends ``xfail`` while a key is hidden, and fails when none is);
the fix variant (``Node._unrebuilt_copy``'s marked clause for every copy, not only
empty ones) makes the read fail (QuorumError) rather than hide ``v1``, and this test
fail "XPASS(strict)" (run in session 55 under the marker: XPASS, strict).

Session 60 folded ``test_rebuild_grace_shown.py``'s
``test_a_get_through_an_unconfirmed_store_names_that_reason`` into this test: the
same cluster, seed and faults to the wipe (it put one of these five keys), one
cluster run instead of two.
"""

from __future__ import annotations

import re

import pytest

from impl.cluster import SimulatedCluster
from impl.errors import DynamoError, QuorumError

#: the 503's reason when the coordinator's own copy is an unconfirmed store's empty one
_UNCONFIRMED = re.escape(
    "not counted: n1 (the coordinator's own read, an empty copy in a store not "
    "every live peer has named yet: counted once they have))")


def test_a_marked_stores_own_write_does_not_hide_a_sibling_the_old_disk_acknowledged() -> None:
    """dvv, seed 0: n3-n5 crashed, n1 and n2 wiped: n1's store is marked (not every
    live peer named its start, :data:`impl.restore_guard.FRESH_UNCONFIRMED_META`),
    not rebuilding, so its empty copy does not count: a get at R = 1 through it is
    a 503 that says so, not "not rebuilt" (what it said, for this too, before
    session 57; mutant, run, seen failing, reverted: ``own_read_uncounted_why``
    without its unconfirmed clause, the phrase "uncounted at the get's start: its
    own reads count now"). Then hole 2, a strict xfail: each of 5 keys read
    ``[v2]`` at R = 2 (seeds 0-1, dvv: 5 of 5); the final read, n3-n5 back, is
    ``[v1, v2]`` for each (a real assertion since session 60, no longer covered by
    the xfail marker)."""
    hidden = []
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=0, clock="dvv") as cluster:
        keys = [key for key in (b"k%d" % i for i in range(100))
                if set(cluster.node("n1").preference_list(key)[:3]) == {"n1", "n2", "n3"}][:5]
        for key in keys:
            cluster.client().put(key, b"v1", w=3)
        cluster.run_until_quiet()
        for name in ("n3", "n4", "n5"):
            cluster.crash(name)
        cluster.run_for(2.0)
        cluster.wipe("n1")
        cluster.wipe("n2")
        cluster.run_for(2.0)
        n1 = cluster.node("n1")
        assert n1._unconfirmed_fresh and not n1.rebuild.active  # marked, not told
        with pytest.raises(QuorumError, match=_UNCONFIRMED):
            cluster.client("n1", attempts=1).get(keys[0], r=1, coordinator="n1")
        for key in keys:
            cluster.client("n1").put(key, b"v2", w=2, coordinator="n1")  # blind
            try:
                values = cluster.client("n1").get(key, r=2, coordinator="n1").values
            except DynamoError:
                continue  # unavailable, not wrong
            if b"v1" not in values:
                hidden.append(key)
        for name in ("n3", "n4", "n5"):
            cluster.restart(name)
        cluster.run_until_quiet(max_time=600.0)
        assert all(sorted(cluster.client().get(key, r=3).values) == [b"v1", b"v2"]
                   for key in keys)
    if hidden:
        pytest.xfail(f"hole 2 (session 55): {len(hidden)} of {len(keys)} keys read [v2] "
                     "alone: a marked store's own non-empty copy counts towards R before "
                     "it is told; closing it makes a store whose peers are down "
                     "unavailable (docs/runtime.md)")
    pytest.fail("XPASS(strict): hole 2 is closed (no key's v1 hidden): make this test "
                "assert hidden == [] and say so in docs/runtime.md")
