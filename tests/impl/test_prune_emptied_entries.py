"""A write's pruning never takes from the replicas what the write superseded (session
39's data probe; docs/runtime.md, "User probe of data safety (session 39)").

In dvv every write of a record drops the value-less entries of retired lifetimes past
``RETIRED_BYTES_KEPT`` (512 bytes: :func:`impl.versions.prune_retired`, session 33).
Until session 39 the put's coordinator replicated the record *after* that pruning, so
an entry the put itself had just emptied -- the entry of a value it superseded, which
every other replica still held -- went out of the record before any replica saw it
empty: each replica merged a record that no longer covered the value, and kept it. A
delete acknowledged by all N replicas left the deleted values on every replica but its
coordinator (a get at R = 3 answered them at once, and they stayed), and a
read-modify-write resolving siblings left them beside its value, again at each try:
the key could never be resolved. It takes only a retired lifetime whose value-less
entries pass the budget: one restart of a node through which clients with long ids
(``X-Vdynamo-Client``, up to 255 characters) wrote blind siblings (their
``"<actor> <client>"`` pair entries, :func:`spec.dvv.dot_actor`), or 23 restarts
each leaving a sibling with short names. The spec did the same (its ``ReplicaPut``
carried the pruned record: dvv-prune-retired-delete's 9-step ``no_resurrection``
counterexample, taken for pruning's cost); now both replicate the put whole and each
replica prunes what it merged (:mod:`spec.coordination`, ``impl.put_coordinator``).
What stays pruning's cost is a stale copy, one that missed the write that emptied the
entry (tests/refinement/test_concurrent_deletes_pruning.py).
"""

from __future__ import annotations

from impl.cluster import SimulatedCluster
from impl.versions import TOMBSTONE

#: a client id of 250 characters (an id may have 255): two such pair entries of one
#: lifetime take about 540 bytes, past the 512-byte budget
LONG = 250


def _siblings_then_restart(seed: int) -> SimulatedCluster:
    """3 nodes (N = 3, R = W = 2, dvv): ``v0`` and two blind siblings of clients with
    long ids written through n1 at w = 3 (the siblings under n1's pairs with those
    clients), quiet, then n1 restarted (the lifetime that holds them retired)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed, clock="dvv")
    cluster.client("n1", client_id="x").put(b"k", b"v0", w=3)
    for name in "BC":
        cluster.client("n1", client_id=name * LONG).put(b"k", b"blind-" + name.encode(), w=3)
    cluster.run_until_quiet()
    cluster.crash("n1")
    cluster.restart("n1")
    cluster.run_until_quiet()
    return cluster


def _live(cluster: SimulatedCluster) -> dict[str, list[bytes]]:
    """Each replica's live values of ``k`` (tombstones left out; none once reaped)."""
    out: dict[str, list[bytes]] = {}
    for name, record in cluster.replicas(b"k").items():
        out[name] = [] if record is None else sorted(
            v for e in record.dvvset.entries for v in e.values if v != TOMBSTONE)
    return out


def test_a_delete_acknowledged_by_every_replica_removes_the_siblings_everywhere() -> None:
    """The three siblings read at R = 3 and deleted through n2 at W = 3: before the
    fix a get at R = 3 answered all three again at once, and once quiet every
    replica but n2 still held them (the tombstone's record, pruned by n2, no longer
    covered n1's retired pair entries). About 0.3 s of CPU."""
    with _siblings_then_restart(seed=1) as cluster:
        client = cluster.client("n2", client_id="d")
        read = client.get(b"k", r=3)
        assert sorted(read.values) == [b"blind-B", b"blind-C", b"v0"]
        client.delete(b"k", read.context, w=3)
        assert client.get(b"k", r=3).values == []
        cluster.run_until_quiet()
        assert _live(cluster) == {"n1": [], "n2": [], "n3": []}
        assert cluster.client("n3", client_id="e").get(b"k", r=3).values == []


def test_a_read_modify_write_resolves_the_siblings_for_good() -> None:
    """Resolving the siblings by a read-modify-write at W = 3 through n2, then again
    through n3: before the fix each resolution left the three siblings beside its
    value (``[blind-B, blind-C, merged0, v0]``, then ``[..., merged1, v0]``): the
    key could never be resolved. About 0.3 s of CPU."""
    with _siblings_then_restart(seed=2) as cluster:
        for turn, via in enumerate(["n2", "n3"]):
            client = cluster.client(via, client_id="resolver")
            read = client.get(b"k", r=3)
            client.put(b"k", b"merged%d" % turn, read.context, w=3)
            cluster.run_until_quiet()
            assert cluster.client("n1", client_id="q").get(b"k", r=3).values == [
                b"merged%d" % turn]
            assert set(map(tuple, _live(cluster).values())) == {(b"merged%d" % turn,)}


def test_a_delete_of_siblings_of_twenty_three_lifetimes_stays_deleted() -> None:
    """The budget's own threshold with short names: 23 blind siblings, each written
    through n1 in a lifetime of its own (n1 restarted after each), deleted at W = 3
    through n2. Before the fix the oldest lifetime's entry went at the delete and
    ``v0`` was answered again at once (30 lifetimes: 8 values back). About 1.5 s of
    CPU."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock="dvv",
                          max_siblings=30) as cluster:
        for index in range(23):
            cluster.client("n1", client_id="x").put(b"k", b"v%d" % index, w=3)
            cluster.crash("n1")
            cluster.restart("n1")
            cluster.run_for(3.0)
        cluster.run_until_quiet()
        client = cluster.client("n2", client_id="d")
        read = client.get(b"k", r=3)
        assert len(read.values) == 23
        client.delete(b"k", read.context, w=3)
        assert client.get(b"k", r=3).values == []
        cluster.run_until_quiet()
        assert _live(cluster) == {"n1": [], "n2": [], "n3": []}


def test_a_replica_down_across_the_delete_does_not_bring_the_siblings_back() -> None:
    """The stale-copy side of the same budget (session 39): the siblings of clients
    with long ids written through n1, n1 restarted once, n3 down while they are
    deleted through n2 (w = 2) and 30 s more (the delete's retries to n3 over: with
    3 nodes there is no fallback to keep a hint). Before, the byte budget dropped the
    entries of n1's lifetime just retired (its pair entries alone pass 512 bytes)
    from every copy, and n3's copy, back, brought all three values back beside the
    tombstone. The newest retired lifetime of each node is kept whatever its bytes
    (:data:`impl.versions.RETIRED_NEWEST_KEPT`): ``[]``. (Left: a copy that missed
    the writes of two such lifetimes: docs/runtime.md, session 39.) Its mutant,
    ``RETIRED_NEWEST_KEPT = 0``, answers the three values. About 0.5 s of CPU."""
    with _siblings_then_restart(seed=3) as cluster:
        cluster.crash("n3")
        client = cluster.client("n2", client_id="d")
        read = client.get(b"k")
        assert sorted(read.values) == [b"blind-B", b"blind-C", b"v0"]
        client.delete(b"k", read.context)
        cluster.run_for(30.0)
        cluster.restart("n3")
        cluster.run_until_quiet()
        assert cluster.client("n1", client_id="q").get(b"k", r=3).values == []
        assert _live(cluster) == {"n1": [], "n2": [], "n3": []}
