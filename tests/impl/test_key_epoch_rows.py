"""Reaped keys leave a row each in the node's meta table, forever (session 14's probe
A; the deletes kind of case 12: reaping is what gives a deleted key's space back).

A reap that removes a node's copy of a key holding a counter of the node's actor
begins a *key epoch* of that key (:func:`impl.versions.renew_key_actor`, kv679): a
meta entry ``key-epoch:<key in hex>`` = ``"<epoch> <lifetime actor>"``, so that the
node never mints that key's dots again under the actor it reaped. Nothing ever
removes the entry: a workload of short-lived keys (sessions, queue items: put,
read, delete) reaps every record and still grows the meta table by one row per key
the node coordinated, about 50 bytes plus twice the key's length each, for the
whole storage lifetime. The entries of an earlier lifetime are dead weight too
(:func:`impl.versions._key_epoch` ignores them; with ``actor_per_start`` every
start is a new lifetime) but are not removed at a start either.

Right value: once every record of a key is reaped, the node keeps nothing per key
(Riak's per-key epochs live in the object itself, ``riak_kv_vnode``'s
``new_key_epoch``/``highest_actor``: a reaped key leaves no vnode state). Seen: 30
keys put and deleted through a 3-node cluster, every record reaped, 30 key-epoch
entries in the three meta tables. Open (pinned, strict xfail): a fix must keep the
guarantee the rows give (a stale copy of the key arriving after the reap does not
make the node re-mint a dot it minted before) without per-key state: Riak's rule
(a new epoch whenever the key is absent locally, the epoch drawn from one node-wide
counter; the local copy's highest epoch otherwise) gives that up for a stale copy
arriving before the next put (docs/runtime.md, "Data-loss faults found by probing
(session 14)").
"""

from __future__ import annotations

import sqlite3

import pytest

from impl.cluster import SimulatedCluster
from impl.versions import KEY_EPOCH_META

KEYS = [b"session-%04d" % i for i in range(30)]


def _rows_after_reaping() -> tuple[int, int]:
    """(records left on the three nodes, key-epoch meta rows left) once 30 keys were
    put, read and deleted with the read's context, and the cluster went quiet long
    enough to reap every tombstone (``delete_mode = "safe"``, the default)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=5, storage="sqlite")
    try:
        client = cluster.client()
        for key in KEYS:
            client.put(key, b"x" * 50)
            client.delete(key, context=client.get(key).context)
        cluster.run_until_quiet()
        cluster.run_for(600.0)
        cluster.run_until_quiet()
        records = sum(len(cluster.storages[name]) for name in cluster.node_names)
        assert cluster.storage_dir is not None
        rows = 0
        for name in cluster.node_names:
            # the SQLite engine's documented schema: meta(name, value)
            with sqlite3.connect(cluster.storage_dir / f"{name}.sqlite3") as db:
                (count,), = db.execute("SELECT count(*) FROM meta WHERE name LIKE ?",
                                       (KEY_EPOCH_META + "%",))
            rows += int(count)
        return records, rows
    finally:
        cluster.close()


@pytest.mark.xfail(strict=True, reason="open: a reap leaves a key-epoch meta row per key "
                                       "for the storage's lifetime (kv679's per-key epochs "
                                       "kept outside the record)")
def test_reaped_keys_leave_no_per_key_state() -> None:
    records, rows = _rows_after_reaping()
    assert records == 0  # the premise: every tombstone was reaped
    assert rows == 0
