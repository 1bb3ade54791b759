"""A put whose refused part a fallback refused too fails at once (session 52).

Found by trace validation with a failing disk (docs/refinement.md, "The failing
disk's refinement (session 52)", seed 2): ``PutCoordinator._quorum_lost`` counted a
failed target only while its part was at the target or at the coordinator, so a
target whose part went to a fallback that refused it too was taken as pending there:
with no fallback left the put waited for its timer round (which retried, and a retry
that then succeeded acknowledged a put the spec fails). Now ``failed_at`` names the
node that refused the part, and the put fails as soon as W is out of reach.

Mutant (checked by hand): ``_quorum_lost`` without the ``failed_at`` clause: the put
fails only at the timer round after ``replica_timeout``, naming the retried replica
alone (this test fails).
"""

from __future__ import annotations

from impl.errors import QuorumError
from model_check.refinement import refusing
from tests.impl.test_coordinator_disk_full import KEY, _cluster


def test_a_part_refused_by_its_fallback_too_fails_the_put_at_once() -> None:
    cluster, coordinator, _ = _cluster(w=3, nodes=4, full_at=2)
    full, fallback = cluster.node(coordinator).preference_list(KEY)[2:4]
    with cluster, refusing(cluster.storages[fallback]):
        put = cluster.client(coordinator).submit_put(KEY, b"milk", coordinator=coordinator)
        cluster.wait([put])
        took = cluster.now
    error = put.error
    assert isinstance(error, QuorumError) and error.replicas_failed, error
    assert f"{fallback} for {full}: database or disk is full" in str(error)
    assert took < cluster.config.replica_timeout  # (the put began at 0)
