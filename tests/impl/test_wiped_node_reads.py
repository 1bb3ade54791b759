"""A node whose disk was replaced answers reads before it holds its range again
(session 16's data probe; the stale read of case 07's kind, after a disk loss).

3 nodes, N = 3, R = 2, W = 2: n3 is down while 20 keys are written through n1
(each acknowledged by n1 and n2); n1's disk is replaced (Riak's kv679, Cassandra's
replaced node) and n3 restarts. A get at R = 2 through n3 counts its own empty
copy and n1's empty one as a quorum: the acknowledged value reads as not found,
though n2 holds it. The quorum intersection R + W > N assumes a replica's answer
holds what it acknowledged; a wiped store does not. Read repair and anti-entropy
bring every value back later (nothing is lost for good). The same on real
`vdynamo serve` processes (n1's `n1.sqlite*` deleted while it was stopped): 2 of
20 reads through n3 answered 404 at once, in dvv and in lww.

Open: the fix belongs to the node (a store that peers knew at an earlier
generation, `restore-fresh-renewed` of :mod:`impl.restore_guard`, should not
count towards R until it is rebuilt, as a joining node does not before its
handover), which session 16's other helper was changing; pinned here.
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster

KEYS = [b"k%d" % i for i in range(20)]


def _stale_reads(clock: str, seed: int) -> tuple[list[bytes], list[bytes]]:
    """(keys a get through n3 reads without their acknowledged value right after
    n1's disk was replaced, keys missing at r=3 once the cluster is quiet)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed, clock=clock) as cluster:
        cluster.crash("n3")
        writer = cluster.client("n1")
        for key in KEYS:
            writer.put(key, b"v-" + key)  # acknowledged by n1 and n2
        cluster.wipe("n1")
        cluster.restart("n3")
        reader = cluster.client("n3")
        stale = [key for key in KEYS if reader.get(key).values != [b"v-" + key]]
        cluster.run_until_quiet()
        final = cluster.client("n2")
        missing = [key for key in KEYS if final.get(key, r=3).values != [b"v-" + key]]
    return stale, missing


@pytest.mark.parametrize("clock", ["dvv", "lww"])
def test_nothing_is_lost_for_good_after_the_wipe(clock: str) -> None:
    assert _stale_reads(clock, seed=1)[1] == []


@pytest.mark.xfail(strict=True, reason="open: a wiped store's empty answers count towards R "
                   "before it is rebuilt (docs/runtime.md, session 16's data probe)")
@pytest.mark.parametrize("clock", ["dvv", "client-vclock", "server-vclock", "lww"])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_get_after_a_disk_replacement_reads_every_acknowledged_write(
        clock: str, seed: int) -> None:
    stale, _ = _stale_reads(clock, seed)
    assert stale == []  # before: 10 (seed 1) and 11 (seed 2) of 20 read as not found


def _deleted_read_back(clock: str, seed: int) -> tuple[list[bytes], list[bytes]]:
    """The same for deletes: 20 keys written everywhere, n3 down while each is
    deleted (acknowledged by n1 and n2), n1 wiped, n3 restarted: (keys a get
    through n3 answers a value for, keys with a value at r=3 once quiet)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed, clock=clock) as cluster:
        writer = cluster.client("n1")
        for key in KEYS:
            writer.put(key, b"v-" + key)
        cluster.run_until_quiet()
        cluster.crash("n3")
        for key in KEYS:
            writer.delete(key, context=writer.get(key).context)
        cluster.wipe("n1")
        cluster.restart("n3")
        reader = cluster.client("n3")
        back = [key for key in KEYS if reader.get(key).values]
        cluster.run_until_quiet()
        final = cluster.client("n2")
        kept = [key for key in KEYS if final.get(key, r=3).values]
    return back, kept


@pytest.mark.parametrize("clock", ["dvv", "lww"])
def test_no_deleted_value_comes_back_for_good_after_the_wipe(clock: str) -> None:
    assert _deleted_read_back(clock, seed=1)[1] == []


@pytest.mark.xfail(strict=True, reason="open: a wiped store's empty answers count towards R "
                   "before it is rebuilt (docs/runtime.md, session 16's data probe)")
@pytest.mark.parametrize("clock", ["dvv", "lww"])
@pytest.mark.parametrize("seed", [1, 2])
def test_a_get_after_a_disk_replacement_reads_no_acknowledged_delete_back(
        clock: str, seed: int) -> None:
    back, _ = _deleted_read_back(clock, seed)
    assert back == []  # before: 4 (seed 1) and 6 (seed 2) of 20 deleted values read
