"""Second review of session 23's fixes (docs/runtime.md, "Second review of session
23's fixes"): the immediate reap at a node that is no replica of the key
(:meth:`impl.reaping.Reaper.reap_local`) and the failure detector's clock step
(:meth:`impl.failure_detector.FailureDetector._stepped`)."""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.failure_detector import FailureDetector
from impl.versions import values
from tests.impl.test_stray_copy_review import _plant_stray_sibling


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
