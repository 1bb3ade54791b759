"""A forwarded put whose coordinator's own disk is full is answered as one put
coordinated there: 503 at once, not 504 at a timeout (session 51's service probe;
docs/runtime.md "A user's probe of the service kinds (session 51)").

Scenario: four nodes, N = 3, W = 3, a strict quorum (no fallback takes the full
node's part); the client's put reaches the node outside
the key's top N, which forwards it to the first replica, whose engine fails every
write (SQLite's ``database or disk is full``). That coordinator fails the put at
once with a :class:`~impl.errors.QuorumError` whose ``replicas_failed`` is set
(HTTP 503, Riak's ``too_many_fails``, session 50). Before session 51 the flag was
not carried by the ``ForwardReply`` (its code was ``quorum``), so the node the
client spoke to answered 504 "outcome unknown" as for a timeout. Now the code
``quorum-replicas-failed`` carries it (a node of an earlier version reads that code
as a RemoteError: outcome unknown, 504, the safe side).

Mutant (checked by hand): ``code_of`` without the new code (the tree before): both
tests fail (``replicas_failed`` False, the answer 504)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from impl import errors
from impl.cluster import SimulatedCluster
from impl.errors import ErrorCode, QuorumError, code_of, error_of
from impl.http_api import HttpApi
from tests.impl.test_coordinator_disk_full import _FullDisk

KEY = b"cart"


def test_a_forwarded_put_whose_coordinator_is_full_fails_at_once_as_replicas_failed() -> None:
    cluster = SimulatedCluster(nodes=4, n=3, r=2, w=3, seed=1, sloppy_quorum=False)
    preference = cluster.node("n1").preference_list(KEY)
    coordinator = preference[0]
    outsider = next(name for name in cluster.node_names if name not in preference[:3])
    watched = cluster.storages[coordinator]
    full = _FullDisk(watched.inner)
    watched.inner = full  # type: ignore[assignment]  # a Storage by duck typing
    full.full = True
    with cluster:
        start = cluster.now
        with pytest.raises(QuorumError) as failure:
            cluster.client(outsider).put(KEY, b"milk", coordinator=outsider)
        assert failure.value.replicas_failed, failure.value
        assert failure.value.written  # outcome unknown: the others may store it
        assert "database or disk is full" in str(failure.value)
        assert cluster.now - start < cluster.config.replica_timeout  # not at a timeout


def test_replicas_failed_survives_the_trip_between_nodes_and_is_503() -> None:
    failed = errors.QuorumError("put reached 0 of W=3; failed: n1: disk full",
                                replicas_failed=True)
    assert code_of(failed) is ErrorCode.QUORUM_REPLICAS_FAILED
    back = error_of(code_of(failed).value, str(failed))
    assert isinstance(back, QuorumError) and back.replicas_failed and back.written
    api = SimpleNamespace(config=SimpleNamespace(retry_after_s=1))  # what _failed reads
    status, body, extra = HttpApi._failed(api, back, unknown=True)  # type: ignore[arg-type]
    assert status == 503 and ("retry-after", "1") in extra, (status, body)
    assert not error_of(ErrorCode.QUORUM.value, "short of W").replicas_failed



@pytest.mark.parametrize("via", ["coordinator", "outsider"])
def test_a_full_coordinators_part_taken_by_a_fallback_keeps_its_ack(via: str) -> None:
    """Four nodes, N = W = 3, sloppy quorum: the full coordinator's own part goes to
    the fallback (session 50), whose ack counts for it. Before session 51 each later
    failed write at the coordinator (``local_write_failed``) took that ack back as if
    it were the coordinator's own copy: the put timed out, "put reached 2 of W=3
    replicas before the timeout (no acknowledgement from n2, n3 for n2)", though n3
    held the hint (504 over HTTP). Mutant: the ``sent_to`` check removed (the tree
    before): both cases fail."""
    cluster = SimulatedCluster(nodes=4, n=3, r=2, w=3, seed=1)
    preference = cluster.node("n1").preference_list(KEY)
    coordinator, fallback = preference[0], preference[3]
    watched = cluster.storages[coordinator]
    full = _FullDisk(watched.inner)
    watched.inner = full  # type: ignore[assignment]  # a Storage by duck typing
    full.full = True
    entry = coordinator if via == "coordinator" else fallback
    with cluster:
        cluster.client(entry).put(KEY, b"milk", coordinator=entry)
        assert [hint.intended for hint in cluster.storages[fallback].hints()] == [coordinator]
        others = [name for name in preference[1:3]]
        for other in others:
            assert cluster.client(other).get(KEY, r=1, coordinator=other).values == [b"milk"]
