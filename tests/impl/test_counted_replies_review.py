"""Session 21's review of session 20's :func:`impl.get_coordinator.counted_replies`
(docs/runtime.md, "Review of session 20's fixes (session 21)").

Two mutants of the rule survived session 20's tests: the rule's "a target
replied" read from every reply, a rebuilding coordinator's uncounted own read
among them (so a fallback's empty reply made R beside it), and its "some reply
holds a version" likewise (so the rebuilding coordinator's own copy, of a range
it has not rebuilt, let the fallbacks' empty replies make R). Both answer a get
through a replaced disk that the key's other replicas cannot reach: the first
not found for a key every replica acknowledged, the second the value the
replaced disk holds, not the later one its peers acknowledged at W = 2 (a stale
read at R + W > N). Each scenario: 6 nodes, N = 3, n4's disk replaced (it is
rebuilding: :mod:`impl.rebuild`) and n4 cut off from n6 and n5, the key's other
replicas, with the three fallbacks on its side (empty of the key)."""

from __future__ import annotations

import re

import pytest

from impl.cluster import SimulatedCluster
from impl.errors import DynamoError, QuorumError
from tests.impl.test_wiped_node_reads import _running

KEY = b"k0"


def _cut_off_after_its_disk_was_replaced(cluster: SimulatedCluster) -> tuple[str, ...]:
    """Replace the disk of the key's first replica and cut it off (with the nodes
    outside the key's top N) from the other two; the key's top N."""
    top = tuple(cluster.node("n1").preference_list(KEY)[:3])
    rest = [n for n in cluster.node_names if n not in top]
    cluster.partition([top[0], *rest], top[1:])
    cluster.wipe(top[0])
    cluster.run_for(10.0)
    assert cluster.node(top[0]).rebuilding
    return top


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_rebuilding_coordinators_own_read_is_no_replicas_word(seed: int) -> None:
    """A get at R = 1 through the replaced disk n4 (a target, its own read
    uncounted) reaches only the fallbacks' empty stores: unavailable (503), not
    not found. With the rule's "a target replied" read from every reply rather than
    the counted ones, ``[]`` for a key all three replicas acknowledged (seeds
    1-3). The error counts the two fallbacks as outsiders, not n4: it said 3."""
    with _running(SimulatedCluster(nodes=6, n=3, r=2, w=3, seed=seed)) as cluster:
        cluster.client("n1").put(KEY, b"v", w=3)
        top = _cut_off_after_its_disk_was_replaced(cluster)
        with pytest.raises(QuorumError, match=r"reached 0 of R=1 .*; \d empty answer") as caught:
            cluster.client(top[0], attempts=1).get(KEY, r=1)
        said = str(caught.value)
        assert "3 empty answer" not in said
        # each node named since session 35 (impl.get_coordinator._named)
        assert f"(no answer from {top[1]}, {top[2]}; " in said
        # since session 57 with its pending exchanges and the grace after them
        assert re.search(rf"; not counted: {top[0]} \(the coordinator's own read, not "
                         r"rebuilt, \d+ exchanges pending: its own reads count again at "
                         r"most 9\.0 s after they end\), ", said), said


@pytest.mark.parametrize("seed", [2, 4])
def test_a_rebuilding_coordinators_own_copy_does_not_make_the_fallbacks_count(
        seed: int) -> None:
    """v2 written at W = 3 while n4 rebuilds, then n4 cut off and v3 written at
    W = 2 through n6 (n6 and n5 acknowledge it): a get at R = 2 through n4 has its
    own v2 (uncounted: a range not rebuilt) and the fallbacks' empty replies.
    Unavailable is right; with the rule's "some reply holds a version" looking at
    n4's uncounted copy too, ``[b'v2']``, a stale read at R + W > N (seeds 2 and 4;
    seed 3 until session 36, whose rebuild, opening each range with every replica
    still to do, ends before v2 there: seeds 1, 2, 4, 8 and 11 of 1-12 still
    rebuild through v3, and the mutant fails 2, 4, 8 and 11).
    Since session 54 (a rebuilding node's acks do not count) v2's W = 3 is made by
    a fallback hinted for n4 at every seed; that fallback is cut off too, and n4's
    own copy is then v1 (v2 went to the fallback; seeds 2, 4, 8, 11), uncounted: the
    mutant (``counted_replies``'s "some reply holds a version" over every reply)
    answers ``[b'v1']`` at seeds 2 and 4 (checked by hand, session 54).
    (Seed 1 is left out: there the put of v2 found n4 suspected and a
    fallback kept v2 for it, whose version rightly counts; the fallbacks' v2 is
    then the sloppy quorum's stale read, the paper's section 4.6, as before
    session 20.)"""
    with _running(SimulatedCluster(nodes=6, n=3, r=2, w=3, seed=seed)) as cluster:
        top = tuple(cluster.node("n1").preference_list(KEY)[:3])
        rest = [n for n in cluster.node_names if n not in top]
        writer = cluster.client(top[1])
        writer.put(KEY, b"v1", w=3)
        cluster.wipe(top[0])
        cluster.run_for(1.5)
        writer.put(KEY, b"v2", writer.get(KEY, r=3).context, w=3)
        # since session 54 n4's ack of v2 does not count (it rebuilds): a fallback
        # keeps v2 hinted for it, whose reply rightly counts (seed 1's case below);
        # cut that fallback off too, so that n4's own v2 is again the only copy
        # within its reach
        holders = [n for n in rest if cluster.node(n).replica.hinted(KEY) is not None]
        assert holders, "v2 made W = 3 without a fallback hinted for n4"
        cluster.partition([top[0], *(n for n in rest if n not in holders)], top[1:],
                          holders)
        cluster.run_for(10.0)
        writer.put(KEY, b"v3", writer.get(KEY, r=2).context, w=2)
        assert cluster.node(top[0]).rebuilding
        try:
            values = cluster.client(top[0], attempts=1).get(KEY, r=2).values
        except DynamoError:
            return
        pytest.fail(f"a get at R = 2 through the cut-off replaced disk answered {values}")
