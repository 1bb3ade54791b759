"""A deleted value comes back from a replica that missed more writes than a
client-vclock clock keeps pairs for (session 48's data probe; open, pinned as a strict
xfail; docs/runtime.md "A user's probe of the data kinds (session 48)").

Three nodes, N = 3, R = W = 2, ``clock = "client-vclock"``, the default truncation
(``vclock_max_pairs`` 50). ``d = d0`` is written to all three; n3 crashes; 200
distinct clients each read ``d`` and write it with the context they read (case 05's
workload: each adds its pair); one more client reads ``d`` (``[d200]``) and deletes it
with that context; n3 restarts and the cluster goes quiet. Right value (case 12's: a
deleted value never comes back; Dynamo paper 4.4: the delete's context covers what the
client read, and ``d0`` is an ancestor of it): a get at R = 3 answers nothing.

Got: ``[d0, d150]``. The tombstone's clock holds the 50 youngest pairs (``c152`` to
``c202``): n3's own copy ``d0`` (pair ``c1``) and the hint n1 kept for n3 of the
150th put (its clock truncated to its own pair ``c151``) are no longer dominated, and
come back as siblings of the tombstone, a get showing them (the "false sibling" cost of
docs/impl.md, "Clock growth", *Costs*, whose claim that "a stale copy of a deleted value
goes when it meets the tombstone" holds only within the pairs the delete's context
kept). A floor of the dropped counters cannot tell such an ancestor from a concurrent
write acknowledged by replicas that missed the truncation (a partition), so a fix
needs more than the record holds today (a mark of what truncation dropped carried in
records and contexts, the section's "third way"). dvv (the default) does not truncate
and reads ``[]``; with 120 clients (70 pairs past the window) client-vclock reads
``[]`` too. About 0.4 s.
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster

CLIENTS = 200


def _deleted_after_a_replica_missed(clock: str) -> list[bytes]:
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock=clock) as cluster:
        cluster.client().put(b"d", b"d0", w=3)
        cluster.run_until_quiet()
        cluster.crash("n3")
        for i in range(1, CLIENTS + 1):
            client = cluster.client()
            client.put(b"d", b"d%d" % i, context=client.get(b"d").context)
        client = cluster.client()
        read = client.get(b"d")
        assert read.values == [b"d%d" % CLIENTS]
        client.delete(b"d", context=read.context)
        cluster.restart("n3")
        cluster.run_until_quiet()
        return sorted(cluster.client().get(b"d", r=3).values)


def test_dvv_keeps_the_deleted_value_deleted() -> None:
    assert _deleted_after_a_replica_missed("dvv") == []


@pytest.mark.xfail(strict=True, reason="open: truncation's false siblings bring a deleted "
                   "value back from a replica that missed more than vclock_max_pairs writers "
                   "([d0, d150]); see the module docstring")
def test_client_vclock_keeps_the_deleted_value_deleted() -> None:
    assert _deleted_after_a_replica_missed("client-vclock") == []
