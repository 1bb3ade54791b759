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

