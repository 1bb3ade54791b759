"""A put acknowledged at W = 1 by a rebuilding replaced disk, then read at R = 3
through another owner at once: not found (session 53's review of its fixes
together; docs/runtime.md, "Review of session 53's fixes together").

Found by ``probes/07g-wiped-membership-sweep.py`` (kind ``wipe-then-join``, dvv,
seed 2, step 6: ``k6`` put at W = 1 through n1, read ``[]`` at R = 3 through n3)
and, reduced, by 07d's client with one disk replaced and nothing else (seed 7). n1's
disk is replaced (peers up: told at once, rebuilding); a put through n1 at W = 1 is
acknowledged by n1's own write; its replica puts to the other two owners are still
in flight when the read starts; n1, rebuilding and not having rebuilt the key's
range, does not answer the ``ReplicaGet`` (:meth:`impl.node.Node._silent_if_rebuilding`),
the read's replica timeout asks a fallback, and R = 3 is made by the two owners
that have not heard the put yet and the fallback: R + W > N, and the write is not
read. A rebuilding node's write counts towards W while its copy does not count
towards R (Riak's ``notfound_ok = false`` is about reads only). Not fixed: a fix
would make the two sides agree (a rebuilding node's own ack not counted towards W,
or its copy of a key it took since it was told answered and counted); left for
the lead (strict xfail).
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster


def _stale_reads(seed: int) -> list[bytes]:
    """5 nodes, N = 3, 16 keys written at W = 3; n1's disk replaced with its peers
    up; for each of 12 keys n1 owns, a put at W = 1 through n1 and at once a get at
    R = 3 through the key's next owner. The keys read without the value just acknowledged."""
    stale = []
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, clock="dvv") as cluster:
        for i in range(16):  # something to rebuild
            cluster.client().put(b"old%d" % i, b"old", w=3)
        cluster.run_until_quiet()
        cluster.wipe("n1")
        cluster.run_for(0.5)  # told it is a replaced disk: rebuilding
        n1 = cluster.node("n1")
        assert n1.rebuild.active
        keys = [k for k in (b"k%d" % i for i in range(40)) if n1.preference_list(k)[0] == "n1"]
        writer = cluster.client("n1")
        for i, key in enumerate(keys[:12]):
            value = b"v%d" % i
            writer.put(key, value, w=1, coordinator="n1")
            other = n1.preference_list(key)[1]
            if value not in cluster.client(other).get(key, r=3, coordinator=other).values:
                stale.append(key)
    return stale


@pytest.mark.xfail(strict=True, reason="a rebuilding node's W = 1 ack, its copy silent "
                   "to reads: R = 3 made without it (docs/runtime.md, session 53's review)")
def test_a_w1_put_acknowledged_by_a_rebuilding_node_is_read_at_r3() -> None:
    assert _stale_reads(7) == []
