"""A reap round asked with a tombstone already reaped must not delete a later put
(session 24's probe; docs/runtime.md, "Session 24's data probe").

``delete_mode = "safe"``, ``lww``: a delete through n1, whose clock is 30 s ahead,
stamps its tombstone 30 s in the future; a get through n2 that sees all three
replicas hold it schedules a second reap of the same tombstone. n1's round reaps
the key everywhere; a client then reads the key (not found) and puts ``v2``
through n3 (its clock right: a stamp below the tombstone's, since the reap forgot
the stamp the hybrid rule would have exceeded). n2's round then asked every member
with the old tombstone, and each replica "settled" ``v2`` as dominated (in lww: a
lower stamp) by merging the tombstone in: the acknowledged ``v2`` was gone, ``[]``
at R = 3 (Jepsen's and Cassandra's lww-with-skew kind, case 03, through a delete,
case 12). The vector-clock modes never lost it (the new put is concurrent with
the old tombstone, so it is not dominated).
"""

from __future__ import annotations

import pytest

import impl
from impl.effects import Send

NODES = ("n1", "n2", "n3")


def _put_after_a_reap_while_a_second_round_is_due(clock: str, pause: float) -> list[bytes]:
    cluster = impl.SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock=clock,
                                    delete_mode="safe", tombstone_grace_s=1.0)
    cluster.set_skew("n1", 30.0)
    first = cluster.client("n1")
    first.put(b"k", b"v1")
    cluster.run_for(1.0)
    first.delete(b"k")
    cluster.run_for(0.5)
    assert cluster.client("n2").get(b"k", r=3).values == []  # n2 schedules a reap too
    cluster.run_until(lambda: all(cluster.node(name).record(b"k") is None for name in NODES),
                      max_time=30.0)
    cluster.run_for(pause)
    second = cluster.client("n3")
    read = second.get(b"k", r=3)
    assert read.values == []
    second.put(b"k", b"v2", read.context)  # acknowledged
    cluster.run_for(20.0)
    return cluster.client("n3").get(b"k", r=3).values


@pytest.mark.parametrize("pause", [0.0, 0.2])
def test_an_lww_put_after_a_reap_survives_a_stale_reap_round(pause: float) -> None:
    assert _put_after_a_reap_while_a_second_round_is_due("lww", pause) == [b"v2"]


@pytest.mark.parametrize("clock", ["dvv", "server-vclock", "client-vclock"])
def test_the_vector_clock_modes_keep_the_put_too(clock: str) -> None:
    assert _put_after_a_reap_while_a_second_round_is_due(clock, 0.0) == [b"v2"]


def _put_after_a_reap_while_a_tombstone_hint_is_pending(clock: str, seed: int
                                                        ) -> tuple[bool, list[bytes]]:
    """The same kind through a hint: the third replica is down at the delete (a
    fallback keeps a hint of the tombstone for it), comes back and gets the
    tombstone by read repair; two gets at R = 3 and the reap follows within the
    grace period, before the fallback's next hint scan (``hint_scan_interval``
    5 s). A hint of tombstones only did not hold a reap back; delivered after the
    reap it deleted ``v2`` written since (lww). Returns (whether the fallback held
    no hint of the key once the replicas had reaped it, the final values)."""
    cluster = impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=seed, clock=clock,
                                    delete_mode="safe", tombstone_grace_s=0.1,
                                    hint_scan_interval=5.0)
    first, second, third, fallback = cluster.node("n1").preference_list(b"k")[:4]
    cluster.client(first).put(b"k", b"v1", w=3)
    cluster.run_for(2.0)
    cluster.set_skew(first, 30.0)
    cluster.crash(third)
    cluster.client(first).delete(b"k", w=2, coordinator=first)
    cluster.restart(third)
    for _ in range(2):
        cluster.run_for(0.05)
        cluster.client(first).get(b"k", r=3, coordinator=first)
    cluster.run_until(lambda: all(cluster.node(name).record(b"k") is None
                                  for name in (first, second, third)), max_time=4.0)
    reaped = not [hint for hint in cluster.storages[fallback].hints() if hint.key == b"k"]
    read = cluster.client(second).get(b"k", r=3, coordinator=second)
    cluster.client(second).put(b"k", b"v2", read.context, coordinator=second)
    cluster.run_for(30.0)
    return reaped, cluster.client(second).get(b"k", r=3).values


@pytest.mark.parametrize("seed", [1, 2])
def test_an_lww_put_after_a_reap_survives_a_late_hint_of_the_tombstone(seed: int) -> None:
    # (False, []) before: reaped with the hint pending, then v2 deleted by it
    assert _put_after_a_reap_while_a_tombstone_hint_is_pending("lww", seed) == (True, [b"v2"])


@pytest.mark.parametrize("seed", [1, 2])
def test_a_late_hint_of_the_tombstone_is_harmless_in_dvv(seed: int) -> None:
    # dvv may reap with a hint of tombstones pending: the new put is concurrent
    # with the late tombstone, which hides nothing
    assert _put_after_a_reap_while_a_tombstone_hint_is_pending("dvv", seed)[1] == [b"v2"]


def _put_after_a_reap_then_a_late_copy_of_the_delete(clock: str, seed: int) -> list[bytes]:
    """The same kind through the network: the delete's write to n3 (acknowledged,
    so the reap follows) is duplicated, and the copy arrives after the reap and
    after a put of ``v2`` written since (a peer link that delivers a queued
    message late). ``v2`` is acknowledged after a read that found nothing."""
    cluster = impl.SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed, clock=clock,
                                    delete_mode="safe", tombstone_grace_s=1.0)
    cluster.client("n1").put(b"k", b"v1", w=3)
    cluster.run_for(1.0)
    cluster.set_skew("n1", 30.0)
    delete = cluster.client("n1").submit_delete(
        b"k", cluster.client("n1").get(b"k", r=3).context, w=3, coordinator="n1")
    late: list[object] = []
    for _ in range(1000):
        late = [sent.message for sent in cluster.sim.in_flight()
                if sent.dest == "n3" and type(sent.message).__name__ == "ReplicaPut"
                and sent.message.key == b"k"]
        if late or not cluster.sim.step():
            break
    assert late, "the delete's write to n3 was never in flight"
    cluster.wait([delete])
    cluster.run_until(lambda: all(cluster.node(name).record(b"k") is None for name in NODES),
                      max_time=30.0)
    read = cluster.client("n2").get(b"k", r=3, coordinator="n2")
    cluster.client("n2").put(b"k", b"v2", read.context, coordinator="n2")
    cluster.sim.perform("n1", [Send("n3", late[0])])
    cluster.run_for(30.0)
    return cluster.client("n2").get(b"k", r=3).values


@pytest.mark.parametrize("seed", [1, 2])
def test_an_lww_put_after_a_reap_survives_a_late_copy_of_the_delete(seed: int) -> None:
    # [] before the stamp floor (a strict xfail until then): the reap forgot the
    # tombstone's stamp and v2 was stamped below it (Replica.lww_now, session 24)
    assert _put_after_a_reap_then_a_late_copy_of_the_delete("lww", seed) == [b"v2"]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_late_copy_of_the_delete_is_harmless_in_dvv(seed: int) -> None:
    assert _put_after_a_reap_then_a_late_copy_of_the_delete("dvv", seed) == [b"v2"]
