"""The partition-aware client's failover (impl.cluster.Client, routing="preference").

The scenario that made the partition-aware client fail (../shared/cases/12-delete.py,
session 4): the first node of a key's preference list is cut off from the others;
a request sent there cannot reach its quorum. The client then tries the next node
of the list. Without the failover (``attempts=1``) the same get fails.
"""

from __future__ import annotations

import pytest

import impl
from impl import SimulatedCluster
from impl.errors import BadRequestError, QuorumError, RequestTimeoutError

KEY = b"k"


def cut_off_first(seed: int = 3) -> tuple[SimulatedCluster, list[str]]:
    """A 5-node cluster (N=3 R=2 W=2) where KEY = v1 is stored everywhere, then the
    first node of KEY's preference list is cut off from the other four."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed)
    cluster.client().put(KEY, b"v1")
    cluster.run_until_quiet()
    order = list(cluster.ring_view().preference_list(KEY))
    cluster.partition({order[0]}, set(cluster.node_names) - {order[0]})
    return cluster, order


def test_a_get_fails_over_to_the_next_node_when_the_first_is_cut_off() -> None:
    cluster, order = cut_off_first()
    client = cluster.client()
    handle = client.submit_get(KEY)
    cluster.wait([handle])
    assert handle.result().values == [b"v1"]
    assert handle.tried == [order[0], order[1]]  # the list's order, each node once
    assert cluster.sim.stats["failovers"] == 1
    # Without the failover the same get fails (the partition-aware client of session 4).
    with pytest.raises(QuorumError):
        cluster.client(attempts=1).get(KEY)
    cluster.close()


def test_a_node_that_failed_is_tried_last_until_its_suspicion_ends() -> None:
    cluster, order = cut_off_first()
    client = cluster.client()
    client.get(KEY)  # fails over from order[0]
    assert order[0] in client.suspects
    handle = client.submit_get(KEY)
    assert handle.coordinator == order[1]  # straight to the next node
    cluster.wait([handle])
    assert handle.tried == [order[1]]
    assert client.failover_order(KEY)[-1] == order[0]
    cluster.heal()
    cluster.run_for(float(cluster.config.suspicion_timeout))
    assert client.submit_get(KEY).coordinator == order[0]  # trusted again
    assert not client.suspects
    cluster.close()


def test_a_put_whose_outcome_is_unknown_is_not_sent_to_another_coordinator() -> None:
    cluster, order = cut_off_first()
    client = cluster.client()
    context = cluster.client(order[1]).get(KEY).context
    handle = client.submit_put(KEY, b"v2", context)
    cluster.wait([handle])
    assert isinstance(handle.error, QuorumError)  # the cut-off coordinator stored v2
    assert handle.tried == [order[0]]
    cluster.heal()
    cluster.run_until_quiet()
    assert cluster.client().get(KEY, r=3).values == [b"v2"]  # one version, no sibling
    cluster.close()


def test_retry_unknown_puts_makes_the_put_available_at_the_cost_of_a_sibling() -> None:
    """Riak's client behaviour, opt-in: the put goes on to the next coordinator with
    the same context; the cut-off first coordinator's copy becomes its sibling."""
    cluster, order = cut_off_first()
    client = cluster.client(retry_unknown_puts=True)
    context = cluster.client(order[1]).get(KEY).context
    handle = client.submit_put(KEY, b"v2", context)
    cluster.wait([handle])
    assert handle.error is None and handle.tried == [order[0], order[1]]
    cluster.heal()
    cluster.run_until_quiet()
    assert cluster.client().get(KEY, r=3).values == [b"v2", b"v2"]
    cluster.close()


def test_a_delete_fails_over_and_the_case_12_scenario_holds() -> None:
    cluster, order = cut_off_first()
    client = cluster.client()
    read = client.get(KEY)
    handle = client.submit_delete(KEY, read.context)
    assert handle.coordinator == order[1]  # order[0] failed the get: suspected
    cluster.wait([handle])
    assert handle.error is None
    fresh = cluster.client()
    deleting = fresh.submit_delete(KEY, read.context)  # no suspicion: order[0] first
    cluster.wait([deleting])
    assert deleting.error is None and deleting.tried == [order[0], order[1]]
    cluster.heal()
    cluster.run_until_quiet()
    assert cluster.client().get(KEY, r=3).values == []
    cluster.close()


def test_a_coordinator_crash_fails_the_attempt_at_once() -> None:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=5)
    client = cluster.client()
    client.put(KEY, b"v1")
    cluster.run_until_quiet()
    order = list(cluster.ring_view().preference_list(KEY))
    getting = client.submit_get(KEY)
    putting = client.submit_put(KEY, b"v2")
    assert getting.coordinator == putting.coordinator == order[0]
    started = cluster.now
    cluster.crash(order[0])
    # The get went on to the next node at the crash; the put's outcome is unknown.
    assert getting.tried == [order[0], order[1]] and not getting.done
    assert putting.done and isinstance(putting.error, RequestTimeoutError)
    assert cluster.now == started
    cluster.wait([getting])
    # (v2's outcome is unknown: the crashed coordinator's writes of it may have
    # reached a replica first, as they do since session 35's schedule moved)
    values = getting.result().values
    assert b"v1" in values and set(values) <= {b"v1", b"v2"}
    cluster.close()


def test_attempts_and_the_deadline_bound_the_failover() -> None:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=3, client_timeout=3.5)
    order = list(cluster.ring_view().preference_list(KEY))
    cluster.partition(*({name} for name in order))  # every node alone: never R=2
    handle = cluster.client().submit_get(KEY)
    cluster.wait([handle])
    assert isinstance(handle.error, QuorumError)
    assert handle.tried == order[:3]  # attempts=3 coordinators, in the list's order
    patient = cluster.client(attempts=10)
    handle = patient.submit_get(KEY)
    cluster.wait([handle])
    # one quorum failure a request_timeout (1 s): the fourth attempt meets the deadline
    assert isinstance(handle.error, RequestTimeoutError) and handle.tried == order[:4]
    assert cluster.now == pytest.approx(handle.deadline)
    cluster.close()


def test_a_bad_request_and_a_named_coordinator_are_not_failed_over() -> None:
    cluster, order = cut_off_first()
    client = cluster.client()
    handle = client.submit_get(KEY, r=3 + 1)  # R over N: every node refuses it
    cluster.wait([handle])
    assert isinstance(handle.error, BadRequestError) and handle.tried == [order[0]]
    assert not client.suspects
    with pytest.raises(QuorumError):
        client.get(KEY, coordinator=order[0])
    with pytest.raises(QuorumError):
        cluster.client(order[0]).get(KEY)
    with pytest.raises(impl.ConfigError, match="attempts"):
        cluster.client(attempts=0)
    cluster.close()
