"""A fallback serves the write it acknowledged to a get that asks it (session 49's
data probe; docs/runtime.md, "A user's probe of the data kinds (session 49)").

Five nodes, N = 3, R = W = 2, the key's targets ``p1, p2, p3``. ``p2`` crashes (and
``p3`` learns it: a get through it times out on ``p2``). A sequential client reads
the key through ``p1`` and writes ``v2`` with that context; ``p1``'s copy to ``p3``
is late (the links from ``p1`` and the second fallback to ``p3`` cut one way), so
the put is acknowledged by ``p1`` and the first fallback, which keeps ``p2``'s
share as a hint. The client's next read goes through ``p3``: its own copy is
stale, ``p1``'s answer does not arrive, and the first fallback, asked in ``p2``'s
place, makes R. R and W meet at that fallback, so
R + W > N promises ``v2``; until session 49 the fallback answered from its own
store only (its hints are "a separate local database", paper 4.6, and the spec's
rule) and the read returned ``v1``; the client's read-modify-write then made a
sibling of its own acknowledged ``v2`` (``[v2, v3]`` at r = 3 once quiet: case 07's
"a sequential client never sees siblings", riak_kv #1046's kind). Riak's fallback
vnodes serve the data they took; so does a vdynamo node now
(``ClusterConfig.hinted_reads``, :meth:`impl.replica.Replica.served`).

The same without the directed cut: a client routing each request to a random node
(a load balancer, raw HTTP), read-modify-writing one key while ``n2`` is down,
read siblings at seeds 17 and 37 of 40 (dvv) until the fix.

Mutants (run and seen failing): ``Replica.served`` ignoring the hints (``hinted =
[]``) fails every case; ``HintStore.records_of`` answering ``[]`` fails them too;
``SqliteStorage.hints_of`` querying another key fails the SQLite case;
``GroupCommit.hints_of`` without its queued removals fails the last test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import impl
from impl.cluster import Client
from impl.effects import AddHint, RemoveHint
from impl.storage.group_commit import GroupCommit
from impl.storage.sqlite import SqliteStorage

KEY = b"k"


def p2_down(cluster: impl.SimulatedCluster) -> tuple[
        tuple[str, str, str], tuple[str, str], Client, impl.GetResult]:
    """(the key's targets, its fallbacks, a client ``seq``, its read through ``p1``)
    once ``v1`` is on the three targets, ``p2`` crashed, and ``p3`` suspects it."""
    (p1, p2, p3), (first_fallback, second_fallback) = cluster.node("n1").quorum.split(KEY)
    client = cluster.client(client_id="seq")
    client.put(KEY, b"v1", w=3, coordinator=p1)
    cluster.run_for(1.0)
    cluster.crash(p2)
    client.get(KEY, coordinator=p3)  # times out on p2: p3 suspects it
    cluster.run_for(1.0)
    return (p1, p2, p3), (first_fallback, second_fallback), client, client.get(
        KEY, coordinator=p1)


def _late_copy_read(clock: str, **options: object) -> tuple[list[bytes], list[bytes]]:
    """(what the sequential client's read through ``p3`` returned, the key at r = 3
    once its next read-modify-write was done and the cluster quiet) of the
    scenario in the module docstring."""
    with impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, clock=clock,
                               **options) as cluster:
        (p1, p2, p3), (first_fallback, second_fallback), client, read = p2_down(cluster)
        # p1's copy to p3 is late, and so are p1's and the second fallback's answers
        # to p3's read: the first fallback answers it (in p2's place) with p3 itself
        cluster.partition_one_way({p1, second_fallback}, {p3})
        client.put(KEY, b"v2", read.context, coordinator=p1)
        assert [hint.intended for hint in cluster.storages[first_fallback].inner.hints()
                if hint.key == KEY] == [p2]  # the scenario: the fallback holds v2 for p2
        read = client.get(KEY, coordinator=p3)
        cluster.heal()
        client.put(KEY, b"v3", read.context, coordinator=p3)
        cluster.restart(p2)
        cluster.run_until_quiet()
        return read.values, sorted(cluster.client().get(KEY, r=3).values)


@pytest.mark.parametrize("clock", ["dvv", "client-vclock", "server-vclock", "lww"])
def test_a_get_reads_the_write_a_fallback_it_asked_acknowledged(clock: str) -> None:
    assert _late_copy_read(clock) == ([b"v2"], [b"v3"])


def test_the_same_on_sqlite_stores() -> None:
    """The SQLite engine's ``hints_of`` (its ``hints_by_key`` index)."""
    assert _late_copy_read("dvv", storage="sqlite") == ([b"v2"], [b"v3"])


def test_without_hinted_reads_the_spec_s_rule_reads_stale() -> None:
    """``hinted_reads = False`` (the refinement harness's choice: the spec's fallback
    answers from its own store): the scenario is reached and the read is stale, so
    the test above can fail."""
    assert _late_copy_read("dvv", hinted_reads=False) == ([b"v1"], [b"v2", b"v3"])


def test_a_sequential_client_routed_at_random_reads_no_sibling() -> None:
    """Seed 37 (dvv): one client, each request through a random node, 40
    read-modify-writes of key ``r`` while ``n2`` is down from step 10 to 30 (before
    the fix: siblings ``[r20, r21]`` read at step 22)."""
    with impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=37) as cluster:
        client = cluster.client(client_id="seq", routing="random")
        widest = 0
        for step in range(40):
            if step == 10:
                cluster.crash("n2")
            if step == 30:
                cluster.restart("n2")
            read = client.get(b"r")
            widest = max(widest, len(read.values))
            client.put(b"r", b"r%d" % step, read.context)
        cluster.run_until_quiet()
        assert widest == 1
        assert cluster.client().get(b"r", r=3).values == [b"r39"]


def test_a_key_s_hints_through_the_runtime_s_group_commit(tmp_path: Path) -> None:
    """``GroupCommit.hints_of`` (what a served node reads through): the engine's hints
    of the key, in id order, less one whose removal is queued; none of another key."""
    from tests.impl.test_storage_group_commit import Reports

    reports = Reports()
    committer = GroupCommit(SqliteStorage(tmp_path / "a.sqlite"), reports)
    committer.start()
    try:
        reports.wait(committer, committer.submit([
            AddHint("n2", b"k", b"r1"), AddHint("n3", b"other", b"r2"),
            AddHint("n3", b"k", b"r3")]))
        first, second = committer.hints_of(b"k")
        assert (first.intended, first.record, second.intended, second.record) == (
            "n2", b"r1", "n3", b"r3")
        committer.submit([RemoveHint(first.hint_id)])
        assert committer.hints_of(b"k") == [second]  # the removal still queued
        assert [hint.record for hint in committer.hints_of(b"other")] == [b"r2"]
        assert committer.hints_of(b"none") == []
    finally:
        committer.close()
