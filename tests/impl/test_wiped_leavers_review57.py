"""Session 57's review of the wiped-leaver fixes (docs/runtime.md, "Review of session
57's service and data changes"): two leavers whose disks are replaced together.

Strategy 3: n4 and n5 asked to leave, both wiped 1 s later; each new store removes
itself (:meth:`impl.gossip.Gossiper._remove_lost_leaver`), but
:meth:`impl.cluster.SimulatedCluster._removal_waiting` counted the other removed
leaver (up in the simulator, deaf to every input: it never learns the first one's
removal) as a node still to hear it, so ``stalled`` named each for the other for
ever (seeds 1-4 at 1 and 2 s, 8 of 8; on the code before session 57 too), and
``run_until_quiet`` never took them out. ``vdynamo serve`` stops a node that
removed itself, so only the simulator's account was wrong.

Mutant, run and seen failing: the removed nodes' skip in ``_removal_waiting``
dropped (the fix reverted): ``stalled == {"n4": ["n5"], "n5": ["n4"]}``.
"""

from __future__ import annotations

from impl.cluster import SimulatedCluster
from impl.membership import MemberStatus
from tests.impl.test_wiped_leaver_reads import KEYS, _wrong_reads, joined_and_written
from tests.impl.test_wiped_mid_change_reads import wiped_leaver_then_n2


def test_two_leavers_wiped_together_under_strategy_3_are_both_taken_out() -> None:
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, partitioning="strategy3"
                          ) as cluster:
        client = joined_and_written(cluster, ("n4", "n5"))
        cluster.leave("n4")
        cluster.leave("n5")
        cluster.run_for(1.0)
        cluster.wipe("n4")
        cluster.wipe("n5")
        assert _wrong_reads(cluster, client) == 0
        cluster.run_until_quiet(max_time=120.0)
        view = cluster.node("n1").view
        assert cluster.stalled == {}
        statuses = [view.get(name) for name in ("n4", "n5")]
        assert [None if m is None else m.status for m in statuses] == [
            MemberStatus.REMOVED] * 2
        assert all(client.get(key, r=3).values == [b"v-" + key] for key in KEYS)


def test_a_non_leaver_wiped_during_a_wiped_leavers_removal_under_strategy_3() -> None:
    """Session 57's review pinned this as a strict xfail; fixed in session 58
    (docs/runtime.md, "Two wiped leavers (session 57)" traces the cycle, "Wiped
    during a removal (session 58)" the fix). n4 asked to leave, wiped 1 s later (it
    removes itself), and n2 wiped 0.5 s after it. Seed 2: n4 stayed ``removing``
    in every view, never quiet in 120 s, a cycle of four waits: (1) n2's new store
    serves a guessed ring (:attr:`impl.gossip.Gossiper.serving_guessed`), the
    future one, while n1, n3 and n5 serve the ring before until the removal is
    handed over; (2) ``k24`` (n4, n3, n1 -> n2, n3, n5) is hinted to n2 by n1 and
    n3, and a survivor reports the handover only once such a hint is acknowledged
    (:meth:`impl.gossip.Gossiper._removal_hints_out`); (3) n2, rebuilding,
    withheld that ``HintAck``: on its guessed ring ``k24`` is its own on both
    rings, as a put's fallback hint is (:meth:`impl.node.Node._unrebuilt_mine`);
    (4) n2's rebuild waited for exchanges of ranges of its guessed ring, which the
    peers do not replicate on theirs (``anti-entropy-unknown-range``). Now a
    hint's delivery carries whether the sender's rings move its key to the
    receiver (``HintDelivery.moves``, :meth:`impl.gossip.Gossiper.moves_to`), and
    a node whose serving ring is a guess acknowledges such a hint: n4 is
    ``removed`` everywhere 5.7 s after n2's wipe, n2 rebuilt 1 s later.

    Mutants, each run and seen failing (not quiet in 120 s, SimulationError:
    "1 nodes still leaving, 2 rebuilding"): the sender's ``moves`` left False
    (:meth:`impl.handoff.HintedHandoff._scan_page`); the receiver not reading it
    (``_unrebuilt_mine``'s guessed clause dropped)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2, partitioning="strategy3"
                          ) as cluster:
        client = wiped_leaver_then_n2(cluster, KEYS)
        cluster.run_until_quiet(max_time=120.0)
        assert cluster.stalled == {}
        assert all(client.get(key, r=3).values == [b"v-" + key] for key in KEYS)


def _two_leavers_wiped(partitioning: str, seed: int, gap: float
                       ) -> tuple[int, bool, list[MemberStatus | None]]:
    """n4 and n5 asked to leave together, both wiped ``gap`` s later: the wrong gets
    at R = 1 (:func:`tests.impl.test_wiped_leaver_reads._wrong_reads`), whether the
    cluster then went quiet with nothing stalled and every key at R = 3, and n4's
    and n5's statuses in n1's view."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed, partitioning=partitioning
                          ) as cluster:
        client = joined_and_written(cluster, ("n4", "n5"))
        cluster.leave("n4")
        cluster.leave("n5")
        cluster.run_for(gap)
        cluster.wipe("n4")
        cluster.wipe("n5")
        wrong = _wrong_reads(cluster, client)
        cluster.run_until_quiet(max_time=120.0)
        whole = cluster.stalled == {} and all(
            client.get(key, r=3).values == [b"v-" + key] for key in KEYS)
        view = cluster.node("n1").view
        return wrong, whole, [None if (m := view.get(name)) is None else m.status
                              for name in ("n4", "n5")]


def test_two_leavers_wiped_together_under_strategy_2_read_every_write() -> None:
    """Session 57's review pinned this as a strict xfail; fixed by s57-leavers2
    (docs/runtime.md, "Two wiped leavers (session 57)"). Strategy 2, seed 3, n4 and
    n5 wiped 2 s into their leaves: n4's lost disk still held the transfer's hint
    of ``k11`` for n1. The new stores' first views gave no ring change (the future
    ring, n1-n3, was the configuration's ring they started with), so
    :meth:`impl.gossip.Gossiper._apply` set no transfer, the hint scan found
    nothing pending and each announced ``left`` at once, while rebuilding; the
    hint was made by no one and a get at R = 1 through n1 answered not found (1 of
    about 230). Now such a store's ``left`` waits for its transfer
    (:meth:`impl.gossip.Gossiper._transfer_missed`), made once it is rebuilt.
    Mutant, run and seen failing: ``_transfer_missed`` answering False (the fix
    reverted): 1 wrong read."""
    assert _two_leavers_wiped("strategy2", 3, 2.0) == (0, True, [MemberStatus.LEFT] * 2)
