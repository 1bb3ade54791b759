"""Where session 52's two data fixes meet (docs/runtime.md, "Review of the
reviewers' fixes (session 52, review)"): the replaced-disk restart (a fresh store's
marker, :data:`impl.restore_guard.FRESH_UNCONFIRMED_META`) and the wiped leaver
(:meth:`impl.gossip.Gossiper._remove_lost_leaver`). 3 nodes, n4 and n5 joined
(strategy 3), 40 keys at W = 3, a leaver asked to leave and run 2 s
(:func:`tests.impl.test_wiped_mid_change_reads.write_then_leave`); then its disk
replaced and its process restarted at once, before any peer answered its first
start: on its new disk again (wiped twice), or on the same new disk (the second
start must stay fresh: the marker). Gets at R = 1 through every up node for 40 s
(:func:`tests.impl.test_wiped_leaver_reads._wrong_reads`), then every key at R = 3
once quiet.

Session 52's review, seeds 1-3, the second wipe or restart 0.1, 0.5, 1, 3 or 10 s
after the first, n4 (joined: removes itself) or n2 (initial: removed or left): 0
wrong reads of 60 configurations, every leave ended, nothing stalled.

Mutants, each run and seen failing (the review's section): a fresh later start
counting its incarnation (``count=None`` in :class:`impl.node.Node`; the restart
test); :meth:`impl.gossip.Gossiper._remove_lost_leaver` refusing (``return []``
first: the wiped-twice test, n4 not removed; 0 wrong reads even so); the
actor of a fresh later start kept (``or (self._fresh and marked)`` dropped from
``per_start``: the restart test with ``actor_per_start`` off). The first mutant
is caught by the generation's count only, not by the reads (0 wrong under it
too, n2 seed 2 and n4 seed 1).
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.membership import MemberStatus
from tests.impl.test_wiped_leaver_reads import KEYS, _wrong_reads
from tests.impl.test_wiped_mid_change_reads import write_then_leave


def _ends_well(cluster: SimulatedCluster, client_reads: int) -> None:
    """No wrong read meanwhile; once quiet, nothing stalled, each key read at R = 3."""
    assert client_reads == 0
    cluster.run_until_quiet(max_time=120.0)
    assert cluster.stalled == {}
    client = cluster.client()
    assert all(client.get(key, r=3).values == [b"v-" + key] for key in KEYS)


def _lost_leaver_took_a_write(cluster: SimulatedCluster) -> list[str]:
    """n4's disk replaced 2 s into its leave while it is cut off from every peer, its
    shadow round timed out unanswered (8 s), then a put of ``zz`` at W = 1 through
    it (its own copy and a hint for each owner). Returns the other nodes."""
    write_then_leave(cluster, KEYS, "n4")
    others = [name for name in cluster.node_names if name != "n4"]
    cluster.lose_disk("n4")
    cluster.partition(["n4"], others)
    cluster.restart("n4")
    cluster.run_for(8.0)
    cluster.client("n4").put(b"zz", b"new", w=1)
    return others


@pytest.mark.parametrize("seed", [1, 3])
def test_a_leaver_wiped_twice_at_once_removes_itself(seed: int) -> None:
    """n4 (joined) wiped 2 s into its leave, wiped again at the same instant: each
    new store mints under its own actor, and the last removes itself."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed) as cluster:
        client = write_then_leave(cluster, KEYS, "n4")
        old = cluster.node("n4").actor
        cluster.wipe("n4")
        first = cluster.node("n4").actor
        cluster.wipe("n4")
        assert len({old, first, cluster.node("n4").actor}) == 3
        wrong = _wrong_reads(cluster, client)
        assert "n4" not in cluster.node_names or cluster.node("n4").removed_itself
        _ends_well(cluster, wrong)


@pytest.mark.parametrize(("leaver", "seed", "per_start"),
                         [("n4", 1, False), ("n2", 2, True)])
def test_a_leaver_wiped_then_restarted_at_once_stays_fresh(leaver: str, seed: int,
                                                           per_start: bool) -> None:
    """The leaver's disk replaced, its process restarted on the new disk at once: the
    second start holds nothing and no peer named the first, so it is fresh and
    counts 1 (told by its peers: its store lost what it was to hand over), under a
    new actor even with ``actor_per_start`` off."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed,
                          actor_per_start=per_start) as cluster:
        client = write_then_leave(cluster, KEYS, leaver)
        cluster.wipe(leaver)
        first = cluster.node(leaver).actor
        cluster.crash(leaver)
        cluster.restart(leaver)
        node = cluster.node(leaver)
        assert node._fresh and node._unconfirmed_fresh
        assert node.actor != first  # a fresh later start mints under a new actor
        assert node._started_as.startswith("1.")
        wrong = _wrong_reads(cluster, client)
        status = cluster.node("n1").view.get(leaver)
        assert status is None or status.status in (MemberStatus.LEFT, MemberStatus.REMOVED)
        _ends_well(cluster, wrong)


def test_a_lost_leaver_that_took_a_write_alone_then_removed_itself_gets_quiet() -> None:
    """n4's disk replaced 2 s into its leave while it is cut off from every peer: its
    shadow round times out unanswered, it takes a put at W = 1 (its own copy and a
    hint for each owner), crashes and restarts at once, then the partition heals and
    it removes itself (:meth:`impl.gossip.Gossiper._remove_lost_leaver`). A removed
    node runs no round (:meth:`impl.node.Node.on_timer`), so no hint scan, and its
    peers refuse what it sends; since session 52's review it stays up to answer
    gossip, and :meth:`impl.cluster.SimulatedCluster.deliverable_hints` counted its
    hints: never quiet ("1 deliverable hints" 120 s on, seeds 1-4 with the restart or
    without, 1 to 3 hints kept; on 7a1cd2f9). Now it is removed only once its hints
    are handed on (the next test), and it removes itself holding none. The value is
    on every remaining node (a get at R = 1 through each). (Mutant: the deferral in
    :meth:`impl.gossip.Gossiper.on_gossip` undone, SimulationError.)"""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1) as cluster:
        _lost_leaver_took_a_write(cluster)
        cluster.crash("n4")
        cluster.restart("n4")
        cluster.heal()
        cluster.run_until(lambda: cluster.node("n4").removed, max_time=60.0)
        assert cluster.node("n4").removed_itself and not cluster.node("n4").hints.all()
        cluster.run_until_quiet(max_time=120.0)  # before: SimulationError
        assert "n4" not in cluster.node_names
        for name in cluster.node_names:
            assert cluster.client(name).get(b"zz", r=1).values == [b"new"]


def test_a_write_taken_by_a_lost_leaver_alone_survives_its_removal() -> None:
    """An acknowledged write lost on 7a1cd2f9. As above, but once the put (W = 1) is
    taken n4 reaches n5 only, none of the key's other owners: it learned it is
    leaving from n5 and removed itself with its hints for the owners undelivered; it
    was then stopped (``vdynamo serve`` stops it ``linger_s`` later), the partition
    healed and 60 s ran: a get at R = 3 through n1 answered not found (seeds 1-3:
    ``[]``, no remaining node held the key; 1-3 hints were kept). Now a lost leaver
    holding hints is removed only once a hint scan finds none pending
    (:meth:`impl.gossip.Gossiper.finish_leaving`): not while cut off (60 s), and
    after the heal, with the value handed on. (Mutant: the deferral undone, this
    test and the one above fail.) A fresh store keeps what was
    acknowledged through it since its start (:mod:`impl.restore_guard`, session 15's
    review); :meth:`impl.gossip.Gossiper._remove_lost_leaver` removes it before that
    is handed on, and a removed node hands nothing off (:meth:`impl.node.Node.on_timer`;
    its peers refuse it: :meth:`impl.node.Node._from_removed`)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1) as cluster:
        others = _lost_leaver_took_a_write(cluster)
        cluster.heal()
        cluster.partition(["n4", "n5"], [name for name in others if name != "n5"])
        cluster.run_for(60.0)
        removed_cut_off = cluster.node("n4").removed
        cluster.heal()
        cluster.run_until(lambda: cluster.node("n4").removed, max_time=60.0)
        cluster.crash("n4")
        cluster.run_for(60.0)
        assert not removed_cut_off
        assert cluster.client("n1").get(b"zz", r=3).values == [b"new"]
