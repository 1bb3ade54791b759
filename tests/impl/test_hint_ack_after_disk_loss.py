"""A stale ``HintAck`` must not delete a replaced disk's new hint (found by
session 34's s276, diagnosing disk seed 276; fixed by session 34's hintid).

A ``HintAck`` names its hint by id alone (``impl.messages.HintAck``), and the
holder deletes the hint it keeps under that id when the ack comes from the hint's
intended node (``impl.handoff.HintedHandoff.on_ack``). Ids never repeat within one
disk (the SQLite engine's epochs; the memory engine's counter), but a replaced disk
numbered its hints from the first id again. So an ack of the old disk's hint 1 that
arrived after the replacement (delayed or duplicated in the network: the spec keeps
messages in flight across a ``DiskLoss``) deleted the new disk's hint 1 for the same
node, never delivered: the write it carries had one copy fewer than its W, and with
anti-entropy off its intended replica never got it. The spec's ``hint-ack``
carries the hint's key and payload, and removes only that hint.

The fix (no wire change): a store replacing a lost one numbers its hints apart from
every earlier store of the node (``MemoryStorage(first_hint_id=...)``, drawn by
:meth:`impl.cluster.SimulatedCluster._open_storage` in ``[2**32, 2**62)``; a new
SQLite file's first epoch drawn from its ``storage-id``,
:func:`impl.storage.sqlite.first_epoch`), so the stale ack names no hint the new
disk keeps.

The scenario (5 nodes, N = 3, W = 3, anti-entropy off, seed 1): ``k``'s third
replica n2 cut off, ``v1`` written (the fallback n4 keeps hint 1 for n2), healed
with n2's acks to n4 cut, so n4's delivery arrives and its ack is held; n4's disk
is replaced; n2 cut off again, ``v2`` written over ``v1`` (n4 keeps a new hint for
n2: id 1 before the fix); n4's deliveries to n2 cut, the held ack arrives (before
the fix n4 deleted its new hint). After 120 s healed n2 holds ``v2``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from impl import SimulatedCluster
from impl.cluster import StorageKind
from impl.effects import Send
from impl.errors import InvalidValueError
from impl.messages import HintAck
from impl.storage.memory import MemoryStorage
from impl.storage.sqlite import SqliteStorage, first_epoch
from impl.versions import values


def _hints(cluster: SimulatedCluster, name: str) -> list[tuple[int, str]]:
    return [(hint.hint_id, hint.intended) for hint in cluster.storages[name].hints()]


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_a_stale_hint_ack_does_not_delete_a_replaced_disks_new_hint(
        storage: StorageKind, tmp_path: Path) -> None:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, anti_entropy=False,
                               storage=storage,
                               storage_dir=tmp_path if storage == "sqlite" else None)
    try:
        _stale_ack_after_disk_loss(cluster)
    finally:
        cluster.close()


def _stale_ack_after_disk_loss(cluster: SimulatedCluster) -> None:
    key = b"k"
    first, _, third = cluster.node("n1").preference_list(key)[:3]
    others = set(cluster.node_names) - {third}
    cluster.partition({third}, others)
    cluster.run_for(6.0)
    cluster.client(first).put(key, b"v1", w=3)
    cluster.run_for(0.5)
    holders = [name for name in cluster.node_names
               if third in cluster.node(name).hints.pending_for()]
    assert holders == ["n4"] and third == "n2"
    holder = holders[0]
    ((old_id, intended),) = _hints(cluster, holder)  # 1 (memory), 1 << 32 | 1 before the fix
    assert intended == third
    cluster.heal()
    cluster.partition_one_way([third], [holder])  # the delivery arrives, its ack does not
    cluster.run_for(3.0)
    stored = cluster.replicas(key)[third]
    assert stored is not None and values(stored) == [b"v1"]
    stale = HintAck(old_id)  # the ack n2 sent, still to come
    cluster.heal()
    cluster.lose_disk(holder)
    cluster.restart(holder)
    cluster.partition({third}, others)
    cluster.run_for(6.0)
    context = cluster.client(first).get(key).context
    cluster.client(first).put(key, b"v2", context, w=3)
    cluster.run_for(0.5)
    ((new_id, intended),) = _hints(cluster, holder)  # the new disk's hint: v2, for n2
    assert intended == third
    cluster.heal()
    cluster.partition_one_way([holder], [third])  # its deliveries cut; the stale ack comes
    cluster.sim.perform(third, [Send(holder, stale)])
    cluster.run_for(1.0)
    cluster.heal()
    cluster.run_for(120.0)
    stored = cluster.replicas(key)[third]
    assert stored is not None
    assert values(stored) == [b"v2"], (f"n2 holds {values(stored)}, "
                                       f"n4's hints {_hints(cluster, holder)}")
    assert new_id != old_id  # the new disk numbers its hints apart from the lost one's


def test_a_store_numbers_its_hints_from_where_it_is_told(tmp_path: Path) -> None:
    """The engines' part of the fix: the memory engine counts from ``first_hint_id``
    (1 to 2**62); a new SQLite file from the epoch of its ``storage-id``, and an
    open of it again from the epoch above."""
    memory = MemoryStorage(first_hint_id=1 << 40)
    assert [memory.add_hint("n2", b"k", b"r") for _ in range(2)] == [1 << 40, (1 << 40) + 1]
    assert MemoryStorage().add_hint("n2", b"k", b"r") == 1
    for bad in (0, (1 << 62) + 1, True):
        with pytest.raises(InvalidValueError):
            MemoryStorage(first_hint_id=bad)
    epoch = first_epoch(b"disk-a")
    assert 1 <= epoch <= 1 << 30 and epoch != first_epoch(b"disk-b")
    path = tmp_path / "n1.sqlite3"
    engine = SqliteStorage(path, storage_id=b"disk-a")
    assert engine.add_hint("n2", b"k", b"r") == epoch << 32 | 1
    engine.close()
    engine = SqliteStorage(path, storage_id=b"ignored: the file has one")
    assert engine.add_hint("n2", b"k", b"r") == (epoch + 1) << 32 | 1
    engine.close()
