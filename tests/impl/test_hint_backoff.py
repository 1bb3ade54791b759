"""Hint deliveries unanswered back off (session 56; session 55's hole 3,
docs/runtime.md): a rebuilding node withholds the ack of each hint of a range it
has not rebuilt, and each such hint was sent again every ``request_timeout`` for
the whole rebuild (200 hints of 1 KB, a 68-108 s rebuild: 12,281-16,100
deliveries, 12.8-16.8 MB). Now a delivery unanswered waits twice as long before
the next, up to the failure detector's ``max_retry_after`` (8 s here); each scan
sends one backed-off hint per node at the usual interval (a probe), and the node's
first ack ends the back-off of all its hints
(:meth:`impl.handoff.HintedHandoff._unanswered`, ``_wait``, ``_scan_page``).

The first test (node driver, time injected, no randomness): n4 keeps 20 hints for
n1; n1's acks are lost for 60 s (as a rebuilding node withholds them), then arrive.
The second: a rebuild's withheld hints, seeded (:func:`_rebuild_deliveries`).

Mutants (run, each seen failing both tests): the back-off off (``_unanswered``
keeping nothing): 1,160 deliveries in the 60 s (the rebuild: 537, 610); no cap
(``cap`` infinite): the largest wait 32 s; no reset (``_wait`` ignoring the node's
acks): drained 5.55 s after the acks return (the rebuild: 5.0, 7.5 s after its
end); no probe (the scan never sending a backed-off hint early): 5.55 s (6.0, 6.5).
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.effects import Effect
from impl.messages import HintAck, HintDelivery
from impl.versions import ClockMode, Record, apply_put, encode_record
from spec.vclock import VClock
from tests.impl.test_node_driver import Driver, make_config

HINTS = 20


def _withheld_then_acked() -> tuple[int, float, float]:
    """(deliveries to n1 in the 60 s its acks are lost, the largest wait n4 holds
    then in seconds, the seconds from the acks' return until n4 holds no hint)."""
    driver = Driver.start(make_config(5))
    fallback = driver.nodes["n4"]
    for i in range(HINTS):
        key = b"h%d" % i
        fallback.hints.add("n1", key, encode_record(apply_put(
            Record.empty(ClockMode.DVV), VClock(), b"v", coordinator="n2", client_id="c",
            now=0.0)))
    driver.drop_filter = lambda src, dest, message: isinstance(message, HintAck)
    driver.advance(60.0)
    deliveries = sum(isinstance(message, HintDelivery) and dest == "n1"
                     for _, dest, message in driver.delivered)
    largest = max((wait for wait, _, _ in fallback.handoff.backoff.values()), default=0.0)
    driver.drop_filter = None
    returned = driver.now
    while fallback.hints.pending_for() and driver.now - returned < 30:
        driver.advance(0.05)
    return deliveries, largest, round(driver.now - returned, 2)


def test_withheld_hints_back_off_and_go_once_the_node_acks() -> None:
    """Before: 1,160 deliveries (20 hints, about one a second each) and drained
    within a scan (0.55 s). Now 248 (a probe each scan, 60, and the 20 hints' backed-off resends: 2,
    4, then every 8 s), the waits capped at 8 s, drained 1.55 s after the acks'
    return."""
    deliveries, largest, drained = _withheld_then_acked()
    assert deliveries <= 300, deliveries
    assert largest == 8.0
    assert drained <= 2.0, drained


def _rebuild_deliveries(seed: int) -> tuple[int, float, int, int]:
    """5 nodes, anti-entropy every 10 s; 200 keys put at W = 3; n1's disk replaced;
    50 keys n1 and n2 own put at W = 2 through n2 with n2 -> n1 cut (each leaves a
    hint for n1 at a fallback, withheld while n1 rebuilds); run in 0.25 s steps
    until n1 rebuilt and no hint is deliverable, then until quiet. (HintDeliveries
    n1 received, seconds from the rebuild's end until no hint was deliverable,
    hints left, of the 50 keys those n1 holds no record of.)"""
    received: list[float] = []
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed,
                          anti_entropy_interval=10.0) as cluster:
        for i in range(200):
            cluster.client().put(b"old%d" % i, b"o" * 100, w=3)
        cluster.run_until_quiet()
        cluster.wipe("n1")
        cluster.run_for(0.5)
        n1 = cluster.node("n1")
        receive = n1.receive

        def counted(now: float, src: str, message: object) -> list[Effect]:
            if isinstance(message, HintDelivery):
                received.append(now)
            return receive(now, src, message)

        n1.receive = counted  # type: ignore[method-assign]
        keys = [key for key in (b"k%d" % i for i in range(2000))
                if {"n1", "n2"} <= set(n1.preference_list(key)[:3])][:50]
        cluster.partition_one_way(["n2"], ["n1"])
        for key in keys:
            cluster.client("n2").put(key, b"v" * 100, w=2, coordinator="n2")
        cluster.heal()
        rebuilt = None
        while cluster.now < 300:
            cluster.run_for(0.25)
            if rebuilt is None and not n1.rebuilding:
                rebuilt = cluster.now
            if rebuilt is not None and not cluster.deliverable_hints():
                break
        assert rebuilt is not None
        drained = cluster.now - rebuilt
        cluster.run_until_quiet()
        return (len(received), drained, len(cluster.deliverable_hints()),
                sum(n1.record(key) is None for key in keys))


@pytest.mark.parametrize("seed", [0, 1])
def test_a_rebuild_s_withheld_hints_back_off_and_all_arrive(seed: int) -> None:
    """Before: 537 and 610 deliveries to n1 (the 50 hints about once a second for
    the 10.9 and 17.8 s rebuilds); now 291 and 317, every hint delivered within 2 s
    of the rebuild's end, and n1 holds every key."""
    deliveries, drained, left, missing = _rebuild_deliveries(seed)
    assert (left, missing) == (0, 0)
    assert drained <= 2.5, drained
    assert deliveries <= 350, deliveries
