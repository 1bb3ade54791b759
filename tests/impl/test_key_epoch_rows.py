"""Reaped keys leave no row in the node's meta table (session 14's probe A; the
deletes kind of case 12: reaping is what gives a deleted key's space back).

A reap that removes a node's copy of a key holding a counter of the key's actor
begins a new *key epoch* (:func:`impl.versions.renew_key_actor`, kv679), so that the
node never mints that key's dots again under the actor it reaped. Until session 15
that was a meta entry ``key-epoch:<key in hex>`` per reaped key, never removed: a
workload of short-lived keys (sessions, queue items: put, read, delete) reaped
every record and still grew the meta table by one row per key the node
coordinated (30 keys: 30 rows). Now (Riak's rule, ``riak_kv_vnode``'s
``new_key_epoch``/``highest_actor``) the epochs are one node-wide counter in one
meta entry (``key-epochs``): a key absent locally is minted under the counter's
epoch, a key held under the highest epoch its copy carries; a stale copy of a
forgotten epoch arriving before the next put pins the key to the counter until
its copy goes (:func:`impl.versions.note_key_merge`), so Riak's stale-copy caveat
does not apply (tests/impl/test_key_epoch_stale_copy.py).

Right value: once every record of a key is reaped, the node keeps nothing per key
(here 0 ``key-epoch:`` rows, and the one ``key-epochs`` entry holds no key).
"""

from __future__ import annotations

import functools
import sqlite3

from impl.cluster import SimulatedCluster
from impl.versions import KEY_EPOCH_META, KEY_EPOCHS_META

KEYS = [b"session-%04d" % i for i in range(30)]
#: simulated seconds run after the deletes went quiet, before the cluster is quiet
#: again: every tombstone is reaped before the first quiet (a reap is due 3 s after
#: its delete and gives up after 8 rounds); session 16 measured the same records,
#: rows and ``key-epochs`` entries after 30, 100 and 600 s (30 and 90 keys; 600 s
#: cost 8.2 and 8.4 CPU-s, 100 s 2.1 and 2.6)
TAIL = 30.0


@functools.cache
def _reap_all(keys: tuple[bytes, ...]) -> tuple[int, int, list[bytes], int]:
    """(records left on the three nodes, key-epoch meta rows left, each node's
    ``key-epochs`` entry, all meta rows) once ``keys`` were put, read and deleted
    with the read's context, and the cluster went quiet long enough to reap every
    tombstone (``delete_mode = "safe"``, the default). Run once per ``keys`` per
    process: both tests read the 30 keys' run."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=5, storage="sqlite")
    try:
        client = cluster.client()
        for key in keys:
            client.put(key, b"x" * 50)
            client.delete(key, context=client.get(key).context)
        cluster.run_until_quiet()
        cluster.run_for(TAIL)
        cluster.run_until_quiet()
        records = sum(len(cluster.storages[name]) for name in cluster.node_names)
        assert cluster.storage_dir is not None
        rows = every = 0
        tables = []
        for name in cluster.node_names:
            # the SQLite engine's documented schema: meta(name, value)
            with sqlite3.connect(cluster.storage_dir / f"{name}.sqlite3") as db:
                (count,), = db.execute("SELECT count(*) FROM meta WHERE name LIKE ?",
                                       (KEY_EPOCH_META + "%",))
                (total,), = db.execute("SELECT count(*) FROM meta")
                found = db.execute("SELECT value FROM meta WHERE name = ?",
                                   (KEY_EPOCHS_META,)).fetchone()
            rows += int(count)
            every += int(total)
            tables.append(b"" if found is None else bytes(found[0]))
        return records, rows, tables, every
    finally:
        cluster.close()


def _rows_after_reaping() -> tuple[int, int, list[bytes]]:
    records, rows, tables, _ = _reap_all(tuple(KEYS))
    return records, rows, tables


def _meta_rows(keys: tuple[bytes, ...]) -> int:
    records, _, _, every = _reap_all(keys)
    assert records == 0
    return every


def test_reaped_keys_leave_no_per_key_state() -> None:
    records, rows, tables = _rows_after_reaping()
    assert records == 0  # the premise: every tombstone was reaped
    assert rows == 0
    # one node-wide entry per node, "<lifetime actor> <counter>": no key in it
    assert all(len(table.split(b"\n")) == 1 for table in tables), tables
    assert sum(int(table.split()[1]) for table in tables) > 0  # reaps began epochs


def test_the_meta_table_does_not_grow_with_the_keys_reaped() -> None:
    """3 times the keys, the same meta rows: the table's size is bounded."""
    small = _meta_rows(tuple(KEYS))
    large = _meta_rows(tuple(b"queue-item-%05d" % i for i in range(90)))
    assert small == large
