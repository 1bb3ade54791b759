"""A node restored from a backup taken before a delete brings the deleted value back
once the tombstone was reaped (session 13's probe; the deletes kind of case 12 with
the restore of the amnesia kind: docs/runtime.md, "Back up", and Cassandra's rule
that a backup older than ``gc_grace_seconds`` resurrects deleted data).

3 nodes, N=3, R=W=2, dvv, ``delete_mode = "safe"``: k = v1 everywhere; n3 is stopped
and its disk copied (a backup), then started again; k is read and deleted with the
read's context (all three acknowledge), and the cluster goes quiet: every member was
up and clean, so the tombstone is reaped everywhere. n3 is stopped and its backup
put back (the documented restore). Right value: a get of k with R=3 finds nothing.
Seen: ``[v1]`` on every replica (anti-entropy copies n3's v1 back; nothing remembers
the reaped tombstone). Open: nothing local tells a restored store from a live one
(docs/impl.md, "Disk loss and key amnesia"), and the members keep no record of a
reap; a fix needs the cluster to notice a member's rollback (its start count below
one gossip already saw) or to keep what it reaped for as long as backups are kept.
"""

from __future__ import annotations

import copy

import pytest

from impl.cluster import SimulatedCluster

KEY = b"k"


def _restore_after_reap() -> tuple[list[bytes], bool]:
    """(values of a get with R=3 after the restore, whether the reap had happened)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)
    client = cluster.client()
    client.put(KEY, b"v1")
    cluster.run_until_quiet()
    cluster.crash("n3")
    backup = copy.deepcopy(cluster.storages["n3"].inner)
    cluster.restart("n3")
    cluster.run_until_quiet()
    client.delete(KEY, context=client.get(KEY, r=3).context, w=3)
    cluster.run_until_quiet()
    reaped = all(record is None for record in cluster.replicas(KEY).values())
    cluster.crash("n3")
    cluster.storages["n3"].inner = backup
    cluster.restart("n3")
    cluster.run_until_quiet()
    return list(cluster.client().get(KEY, r=3).values), reaped


@pytest.mark.xfail(strict=True, reason="open: a restore from a backup older than a reap "
                   "resurrects the deleted value (nothing remembers the reaped tombstone)")
def test_a_backup_restored_after_a_reap_does_not_resurrect_the_deleted_value() -> None:
    values, reaped = _restore_after_reap()
    assert reaped  # the scenario's premise, so the xfail is the resurrection alone
    assert values == []
