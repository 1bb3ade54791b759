"""A hinted delete's pruning never takes from the intended replica what it superseded
(session 39's review of the unpruned replica put; docs/runtime.md, "Review of the
unpruned replica put (session 39)").

The sibling of tests/impl/test_prune_emptied_entries.py on the hinted-handoff path
(Dynamo paper 4.6): a fallback keeps the ``ReplicaPut`` it takes for a down replica
as a hint, as received, and hands it off later (:mod:`impl.handoff`). The put
replicated whole (session 39) holds the entries the delete emptied; a hint kept (or
a put sent) pruned would not, and the intended replica, back up, would merge a
tombstone that no longer covers the values it holds and keep them: the scenario's
mutant (the fallback keeps ``prune(record)``) left the three values on the intended
replica and, by anti-entropy, on every replica again.
"""

from __future__ import annotations

from impl.cluster import SimulatedCluster
from impl.versions import TOMBSTONE

#: a client id of 250 characters: two such pair entries of one lifetime pass the
#: 512-byte budget of retired entries (tests/impl/test_prune_emptied_entries.py)
LONG = 250


def test_a_hinted_delete_removes_the_siblings_from_the_replica_that_was_down() -> None:
    """4 nodes (N = 3, sloppy quorum, dvv): ``v0`` and two blind siblings of long
    client ids through the key's first replica, which then restarts (their lifetime
    retired); the second reads them at R = 3, the third goes down, the delete at
    W = 3 through the second takes a fallback (a hint for the third). Back up, the
    third gets the hint: once quiet no replica holds a live value and a get at R = 3
    through it answers none. About 0.5 s of CPU."""
    with SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=1, clock="dvv",
                          sloppy_quorum=True) as cluster:
        first, second, third = cluster.ring_view().preference_list(b"k")[:3]
        cluster.client(first, client_id="x").put(b"k", b"v0", w=3)
        for name in "BC":
            cluster.client(first, client_id=name * LONG).put(
                b"k", b"blind-" + name.encode(), w=3)
        cluster.run_until_quiet()
        cluster.crash(first)
        cluster.restart(first)
        cluster.run_until_quiet()
        client = cluster.client(second, client_id="d")
        read = client.get(b"k", r=3)
        assert sorted(read.values) == [b"blind-B", b"blind-C", b"v0"]
        cluster.crash(third)
        client.delete(b"k", read.context, w=3)
        hinted = [name for name in cluster.node_names if not cluster.is_down(name)
                  and any(h.intended == third for h in cluster.node(name).hints.all())]
        assert len(hinted) == 1 and hinted[0] not in (first, second, third)
        cluster.restart(third)
        cluster.run_until_quiet()
        live = {name: [] if record is None else sorted(
                    v for e in record.dvvset.entries for v in e.values if v != TOMBSTONE)
                for name, record in cluster.replicas(b"k").items()}
        assert live == {first: [], second: [], third: []}
        assert cluster.client(third, client_id="e").get(b"k", r=3).values == []
