"""Second review of session 23's fixes (docs/runtime.md, "Second review of session
23's fixes"): the immediate reap at a node that is no replica of the key
(:meth:`impl.reaping.Reaper.reap_local`) and the failure detector's clock step
(:meth:`impl.failure_detector.FailureDetector._stepped`)."""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.effects import DeleteRecord
from impl.failure_detector import FailureDetector
from impl.gossip import STRAYS_META
from impl.timers import ReapTombstone
from impl.versions import TOMBSTONE, apply_put, context_clock, encode_record, values
from spec.vclock import VClock
from tests.impl.test_stray_copy_review import _plant_stray_sibling, handed_with_n5_cut_off


@pytest.mark.parametrize("clock", ["dvv", "server-vclock"])
def test_a_non_replica_keeps_a_sibling_the_immediate_delete_did_not_cover(clock: str) -> None:
    """n2, on no top N of k0 (n4, n6, n5; seed 1), holds a copy of k0 with a sibling
    ``stray`` written concurrently with the read the delete's context came from
    (a put it coordinated while cut off, say). The delete at W = 3 under
    ``delete_mode = "immediate"`` reaps at every member; n2 must keep its copy (the
    tombstone does not dominate it), and its stray look then hands ``stray`` to the
    owners: k0 reads ``[b"stray"]`` at R = 3. Dropping a copy whether or not the
    tombstone dominates it (the mutant R1 of the review) would lose it; keeping it
    without the tombstone merged in (the tree before the review's fix) handed the
    deleted ``v-k0`` back with it: ``[b"stray", b"v-k0"]``."""
    with SimulatedCluster(nodes=6, n=3, r=2, w=3, seed=1, clock=clock,
                          delete_mode="immediate") as cluster:
        node = _plant_stray_sibling(cluster)
        context = cluster.client("n1").get(b"k0", r=3).context  # the owners': v-k0
        cluster.client("n1").delete(b"k0", context, w=3)
        cluster.run_for(2.0)
        kept = node.record(b"k0")
        assert kept is not None and b"stray" in values(kept)
        node.gossiper.stray_scan_due = True
        cluster.run_until_quiet(max_time=300.0)
        assert cluster.client("n1").get(b"k0", r=3).values == [b"stray"]


def test_an_immediate_reap_coordinated_outside_the_top_n_drops_the_coordinators_copy(
        ) -> None:
    """n2, on no top N of k0 (n4, n6, n5; seed 1), fires the immediate reap of a
    delete it coordinated (as after a forward whose top N did not answer): its own
    copy, which the tombstone dominates, goes at once, since the Reap it sends
    goes to the other members only. A mutant leaving it out (R6 of the review)
    kept ``v-k0`` at n2 for its next stray look to hand back."""
    with SimulatedCluster(nodes=6, n=3, r=2, w=3, seed=1, delete_mode="immediate") as cluster:
        cluster.run_for(3.0)
        cluster.client("n1").put(b"k0", b"v-k0", w=3)
        held = cluster.node("n4").record(b"k0")
        assert held is not None
        node = cluster.node("n2")
        node.storage.engine.write(b"k0", encode_record(held))  # as if persisted
        tombstone = encode_record(apply_put(held, context_clock(held), TOMBSTONE,
                                            coordinator="n4", client_id="c1",
                                            now=cluster.now))
        effects = node.fire(cluster.now, ReapTombstone(b"k0", tombstone, ("n4", "n6", "n5")))
        assert DeleteRecord(b"k0") in effects


@pytest.mark.parametrize("phi", [None, 8.0])
def test_a_suspicion_is_moved_back_with_a_clock_stepped_back(phi: float | None) -> None:
    """n3 times out at 10 s (avoided for ``retry_after``, 1 s); the clock then steps
    back 3,600 s (a message from n2 the first input after it): n3 is tried again
    a second later on the new clock, as it would be without the step. A mutant
    moving back the arrivals alone (F1 of the review) avoided n3 for the step's
    length, an hour, with either detector."""
    detector = FailureDetector(retry_after=1.0, phi_threshold=phi)
    for second in range(10):
        detector.heard_from("n3", float(second))
    detector.timed_out("n3", 10.0)
    detector.heard_from("n2", -3590.0)
    assert not detector.is_available("n3", -3589.5)
    assert detector.is_suspected("n3", -3589.5) and not detector.is_suspected("n3", -3588.9)


def test_the_stray_look_flag_follows_the_handed_copies() -> None:
    """n2 hands a stray copy of k0, n5 cut off (``STRAYS_META`` ``1``); its copy then
    changes (another sibling merged) and the last acknowledgement of the record it
    handed comes: it hands the new copy, and the flag stays ``1`` (a mutant leaving
    it cleared, S4 of the review, left a node restarted then with a copy it would
    keep for good). Once the owners acknowledge that copy, n2 lets it go and the
    flag is cleared (a mutant keeping it, S3, made the next restart look again,
    which the spec never does: test_conformance's delete-fallback-copy)."""
    with SimulatedCluster(nodes=6, n=3, r=2, w=3, seed=1, clock="dvv") as cluster:
        node = handed_with_n5_cut_off(cluster)
        assert node.storage.get_meta(STRAYS_META) == b"1"
        handed = node.gossiper.strays[b"k0"][0]
        held = node.record(b"k0")
        assert held is not None
        node.replica.merge_into_local(b"k0", apply_put(
            held, VClock(), b"later", coordinator="n2", client_id="c7", now=cluster.now))
        assert not node.gossiper._stray_acknowledged("n5", b"k0", handed)
        assert (node.gossiper.strays[b"k0"][0] != handed,
                node.storage.get_meta(STRAYS_META)) == (True, b"1")
        cluster.heal()
        cluster.run_until_quiet(max_time=300.0)
        assert (node.record(b"k0"), node.storage.get_meta(STRAYS_META) or b"") == (None, b"")


def test_a_second_input_after_a_clock_step_moves_nothing_again() -> None:
    """After the step is taken (the first input on the new clock), a later input
    on that clock is no step: n3's last arrival stays moved back once. A mutant
    keeping the latest time before the step (F5 of the review) moved it back at
    every input after it, an hour each, and phi then suspected every peer."""
    detector = FailureDetector()
    for second in range(10):
        detector.heard_from("n3", float(second))
    detector.heard_from("n2", -3591.5)
    detector.heard_from("n2", -3591.4)
    record = detector.record("n3")
    assert record is not None and record.last_heard == 9.0 - 3600.5
    assert detector.is_available("n3", -3591.3)
