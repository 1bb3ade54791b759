"""A replaced disk's acks counted again the moment its rebuild ended (session 54's
review of the rebuilding-ack rule; docs/runtime.md, "Review of the rebuilding-ack
rule (session 54, review)").

While n1 rebuilds it leaves its peers' reads of ranges it has not rebuilt
unanswered (:meth:`impl.node.Node._silent_if_rebuilding`), and a peer whose read
timed out suspects it (:mod:`impl.failure_detector`: avoided for ``retry_after``,
doubling up to ``max_retry_after``, until heard from) and sends its share of a read
to a fallback. Session 54 stopped counting n1's acks towards W while it rebuilds for
that reason, but counted them again as soon as the rebuild ended: a put at W = 1
through n1 just after, read at once at R = 3 through the key's next owner (which
still suspected n1, and asked a fallback), was not found. Now its acks stay
uncounted until no peer can still suspect it for its silence
(:meth:`impl.node.Node._acks_uncounted`: its last silence plus ``request_timeout``
plus ``max_retry_after``).
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from tests.impl.test_rebuilding_w1_ack_review import _pair_faults


def _stale_after_the_rebuild(seed: int, clock: str, *, delete: bool = False
                             ) -> tuple[int, int]:
    """5 nodes, N = 3, 60 keys written at W = 3; n1's disk replaced with its peers
    up (rebuilding); for each of up to 30 keys n1 owns first, a put at W = 1 through
    n1 (``delete``: a delete at W = 1 through n1 with the context of a read at R = 2
    through the key's next owner), at once a get at R = 3 through the key's next
    owner (those of keys of ranges n1 has not rebuilt go unanswered by it). (The keys
    written once the rebuild had ended that read without the value just acknowledged
    (``delete``: with a value), those keys.)"""
    stale = after = 0
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, clock=clock) as cluster:
        keys = [b"k%d" % i for i in range(60)]
        for key in keys:
            cluster.client().put(key, b"old", w=3)
        cluster.run_until_quiet()
        cluster.wipe("n1")
        cluster.run_for(0.5)
        n1 = cluster.node("n1")
        mine = [key for key in keys if n1.preference_list(key)[0] == "n1"][:30]
        for i, key in enumerate(mine):
            rebuilt = not n1.rebuild.active
            other = n1.preference_list(key)[1]
            if delete:
                context = cluster.client(other).get(key, r=2, coordinator=other).context
                cluster.client("n1").delete(key, context, w=1, coordinator="n1")
            else:
                cluster.client("n1").put(key, b"v%d" % i, w=1, coordinator="n1")
            read = cluster.client(other).get(key, r=3, coordinator=other)
            if rebuilt:
                after += 1
                stale += bool(read.values) if delete else b"v%d" % i not in read.values
    return stale, after


@pytest.mark.parametrize(("seed", "clock"), [(0, "dvv"), (10, "dvv")])
def test_a_w1_put_just_after_the_rebuild_is_read_at_r3(seed: int, clock: str) -> None:
    """On ``750c1547`` (main, session 54) 1 key stale at each (of 6 and of 3 written
    after the rebuild; seeds 0-11, dvv: 3 of 13 at seeds 0, 5 and 10; now 0 of 10).
    Mutant (run, each seen failing): its acks counted again once the rebuild ended
    (``Node._acks_uncounted`` is ``rebuild.active``)."""
    stale, after = _stale_after_the_rebuild(seed, clock)
    assert after > 0
    assert stale == 0


def test_a_w1_delete_just_after_the_rebuild_is_not_read_back() -> None:
    """The same with deletes (lww, seed 14): on ``750c1547`` the deleted value read
    back at R = 3 (1 of 5 deletes after the rebuild; seeds 0-19: 3 of 63 in each of
    the four clock modes, seeds 10, 14 and 19; now 0 of 61). Mutant (run, seen
    failing): ``Node._acks_uncounted`` is ``rebuild.active``."""
    stale, after = _stale_after_the_rebuild(14, "lww", delete=True)
    assert after > 0
    assert stale == 0


def test_a_just_rebuilt_node_does_not_count_its_own_copy() -> None:
    """07g's ``wiped-pair-restarts-online`` (dvv, seed 0, the writer routing by
    preference): at step 9 n3-n5 return and tell n1 it is a replaced disk; n1
    rebuilds at once, silent to n5's reads meanwhile; at step 10 a put of ``k2`` at
    W = 3 through n5, which still suspects n1 (and n2, rebuilding), is acknowledged
    by n5 and fallbacks hinted for n1 and n2; a get at R = 1 through n1, rebuilt a
    moment before, counted its own empty copy: ``[]``. On ``750c1547`` the same
    fault (07g ``10 dvv preference``: FAIL on it alone). Now n1's own read does not
    count until no peer can still suspect it (``Node._uncounted_read``); the get is
    answered by n5. Mutant (run, seen failing): that clause dropped."""
    assert _pair_faults(0, "dvv", restarts=3, routing="preference") == []
