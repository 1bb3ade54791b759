"""A put whose refused part a fallback refused too fails at once (session 52).

Found by trace validation with a failing disk (docs/refinement.md, "The failing
disk's refinement (session 52)", seed 2): ``PutCoordinator._quorum_lost`` counted a
failed target only while its part was at the target or at the coordinator, so a
target whose part went to a fallback that refused it too was taken as pending there:
with no fallback left the put waited for its timer round (which retried, and a retry
that then succeeded acknowledged a put the spec fails). Now ``failed_at`` names the
node that refused the part, and the put fails as soon as W is out of reach.

Mutant (checked here): ``_quorum_lost`` without the ``failed_at`` clause: the put
fails only at its deadline, after ``replica_timeout`` (this test fails).
"""

from __future__ import annotations

import pytest

from impl.errors import QuorumError
from tests.impl.test_coordinator_disk_full import KEY, _cluster, _FullDisk


def test_a_part_refused_by_its_fallback_too_fails_the_put_at_once() -> None:
    cluster, coordinator, _ = _cluster(w=3, nodes=4, full_at=2)
    preference = cluster.node(coordinator).preference_list(KEY)
    full, fallback = preference[2], preference[3]
    watched = cluster.storages[fallback]
    refusing = _FullDisk(watched.inner)
    watched.inner = refusing  # type: ignore[assignment]  # a Storage by duck typing
    refusing.full = True
    with cluster:
        start = cluster.now
        with pytest.raises(QuorumError) as failure:
            cluster.client(coordinator).put(KEY, b"milk", coordinator=coordinator)
        assert failure.value.replicas_failed, failure.value
        assert cluster.now - start < cluster.config.replica_timeout
        assert f"{fallback} for {full}: database or disk is full" in str(failure.value)
        assert not cluster.storages[fallback].hints()
