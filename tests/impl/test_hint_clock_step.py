"""A hint in flight when its holder's clock steps back is sent again (session 22's
data probe).

The hint scan resends a delivery unanswered for ``request_timeout``
(``impl.handoff.HintedHandoff.on_scan``: ``now - sent_at >= retry``). In the
simulator a node's clock can step back mid-run (``SimulatedCluster.set_skew``, an
NTP step); a delivery sent just before the step then looked sent in the future,
and was not resent for the step's length: 5 nodes, the key's third replica cut
off while ``v1`` is written at W = 3 (a fallback keeps the hint), its acks to the
holder lost for 3 s, the holder's clock stepped back 3,600 s, healed: the hint was
still held 120 s later (the probe's random runs: ``run_until_quiet`` gave up after
600 s with the hint deliverable). The runtime's clock is monotonic
(``impl.runtime.NodeServer.now``), so only the simulator's faults reach this; a
delivery sent "later" than now is now due at once.
"""

from __future__ import annotations

import pytest

from impl import SimulatedCluster
from tests.impl.test_hint_ack_after_disk_loss import hinted_for_cut_off_replica

#: simulated seconds after the heal by which the hint must have been delivered: 120
#: until session 42; the fault held it for the step's length (3,600 s), and the
#: fixed hint scan resends it within ``request_timeout`` of the heal
HELD_S = 30.0


@pytest.mark.parametrize("step", [-3600.0, -5.0])
def test_a_hint_in_flight_when_its_holders_clock_steps_back_is_sent_again(
        step: float) -> None:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1)
    key = b"k"
    third, holders = hinted_for_cut_off_replica(cluster, key)
    assert holders  # a fallback stood in for the cut-off replica
    cluster.heal()
    cluster.partition_one_way([third], holders)  # the deliveries arrive, their acks do not
    cluster.run_for(3.0)
    for name in holders:
        cluster.set_skew(name, step)
    cluster.heal()
    cluster.run_for(HELD_S)
    assert [name for name in holders if third in cluster.node(name).hints.pending_for()] == []
