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
the fix n4 deleted its new hint). After :data:`HEALED_S` healed n2 holds ``v2``.
"""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from impl import SimulatedCluster
from impl.cluster import StorageKind
from impl.effects import Send
from impl.errors import InvalidValueError, StorageError
from impl.messages import MAX_ID, HintAck
from impl.storage.memory import MemoryStorage
from impl.storage.sqlite import SqliteStorage, first_epoch
from impl.versions import values

#: simulated seconds the scenario runs healed at its end: 120 until session 42; the
#: new hint reached n2 within 1 s of the heal in each storage, and no replica changed
#: after it (a scratch probe stepping the 120 s by 1 s, memory and sqlite)
HEALED_S = 10.0


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
    third = cluster.node("n1").preference_list(key)[2]
    holder = "n4"
    old_id = hint_delivered_with_its_ack_held(cluster, key, holder)
    cluster.lose_disk(holder)
    cluster.restart(holder)
    new_id = rewritten_behind_a_stale_ack(cluster, key, holder, HintAck(old_id))
    stored = cluster.replicas(key)[third]
    assert stored is not None
    assert values(stored) == [b"v2"], (f"n2 holds {values(stored)}, "
                                       f"n4's hints {_hints(cluster, holder)}")
    assert new_id != old_id  # the new disk numbers its hints apart from the lost one's


def hinted_for_cut_off_replica(cluster: SimulatedCluster, key: bytes) -> tuple[str, list[str]]:
    """``key``'s third replica cut off from the rest for 6 s (suspected), then ``v1``
    written with W = 3 through its first replica: (the third replica, the nodes that
    hold a hint for it). The partition stays."""
    first, _, third = cluster.node("n1").preference_list(key)[:3]
    cluster.partition({third}, set(cluster.node_names) - {third})
    cluster.run_for(6.0)
    cluster.client(first).put(key, b"v1", w=3)
    cluster.run_for(0.5)
    return third, [name for name in cluster.node_names
                   if third in cluster.node(name).hints.pending_for()]


def hint_delivered_with_its_ack_held(cluster: SimulatedCluster, key: bytes, holder: str) -> int:
    """The first half of the scenario (shared with ``test_hint_ids_after_restore``):
    ``key``'s third replica (n2) cut off, ``v1`` written with W = 3 through its first
    (``holder`` keeps the one hint, for n2), healed with n2's acks to ``holder`` cut:
    n2 holds ``v1``; the id of the hint, whose ack is still to come. The links are
    healed at the end."""
    third, holders = hinted_for_cut_off_replica(cluster, key)
    assert holders == [holder] and third == "n2"
    ((old_id, intended),) = _hints(cluster, holder)  # 1 (memory), 1 << 32 | 1 before the fix
    assert intended == third
    cluster.heal()
    cluster.partition_one_way([third], [holder])  # the delivery arrives, its ack does not
    cluster.run_for(3.0)
    stored = cluster.replicas(key)[third]
    assert stored is not None and values(stored) == [b"v1"]
    cluster.heal()
    return old_id


def rewritten_behind_a_stale_ack(cluster: SimulatedCluster, key: bytes, holder: str,
                                 stale: HintAck) -> int:
    """The second half: n2 cut off again, ``v2`` written over ``v1`` (``holder`` keeps a
    new hint for n2, whose id this returns), ``holder``'s deliveries to n2 cut and the
    ``stale`` ack sent by n2; then :data:`HEALED_S` healed."""
    first, _, third = cluster.node("n1").preference_list(key)[:3]
    cluster.partition({third}, set(cluster.node_names) - {third})
    cluster.run_for(6.0)
    context = cluster.client(first).get(key).context
    cluster.client(first).put(key, b"v2", context, w=3)
    cluster.run_for(0.5)
    ((new_id, intended),) = _hints(cluster, holder)  # the new store's hint: v2, for n2
    assert intended == third
    cluster.heal()
    cluster.partition_one_way([holder], [third])  # its deliveries cut; the stale ack comes
    cluster.sim.perform(third, [Send(holder, stale)])
    cluster.run_for(1.0)
    cluster.heal()
    cluster.run_for(HEALED_S)
    return new_id


def test_a_store_numbers_its_hints_from_where_it_is_told(tmp_path: Path) -> None:
    """The engines' part of the fix: the memory engine counts from ``first_hint_id``
    (1 to 2**62); a new SQLite file from the epoch of its ``storage-id``, and an
    open of it again from a drawn epoch (session 35; the epoch above until then:
    ``tests/impl/test_hint_ids_after_restore.py``)."""
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
    engine = SqliteStorage(path, storage_id=b"ignored: the file has one",
                           hint_epochs=random.Random(1))
    again = engine.add_hint("n2", b"k", b"r")
    assert again >> 32 not in (0, epoch, first_epoch(b"ignored: the file has one"))
    assert again == random.Random(1).randint(1, (1 << 31) - 1) << 32 | 1
    engine.close()


def _edit(path: Path, *statements: tuple[str, tuple[object, ...]]) -> None:
    conn = sqlite3.connect(path)
    with conn:
        for statement, params in statements:
            conn.execute(statement, params)
    conn.close()


class _Last(random.Random):
    """A source that draws the last epoch whose ids fit 2**63 - 1, then ``then``."""

    def __init__(self, then: int) -> None:
        super().__init__(0)
        self.answers = [(1 << 31) - 1, then]

    def randint(self, a: int, b: int) -> int:
        assert (a, b) == (1, (1 << 31) - 1)
        return self.answers.pop(0)


def test_hint_ids_stay_within_the_wire_bound(tmp_path: Path) -> None:
    """Session 34's revhint review: epochs counted up by one per open (and per 2**32
    hints), so after 2**30 or more opens ``epoch << 32`` passed 2**63 - 1: the open
    passed and the first hint raised a bare OverflowError from sqlite3 (then a
    StorageError, "hint ids are exhausted"). Since session 35 an open draws its
    epoch from 1 to 2**31 - 1: the last epoch gives ids up to MAX_ID, the hint after
    takes a drawn epoch, and a file recorded past the bound (one of an earlier
    session) opens."""
    path = tmp_path / "n1.sqlite3"
    SqliteStorage(path, storage_id=b"disk-a").close()
    _edit(path, ("UPDATE engine SET value = ? WHERE name = 'epoch'", (1 << 31,)))
    engine = SqliteStorage(path, hint_epochs=_Last(then=5))  # epoch 2**31 - 1: the last
    assert engine.add_hint("n2", b"k", b"r") == ((1 << 31) - 1) << 32 | 1
    engine._sequence = (1 << 32) - 2  # 2**32 - 2 hints later: the last id of the epoch
    assert engine.add_hint("n2", b"k", b"r") == MAX_ID
    assert engine.add_hint("n2", b"k", b"r") == 5 << 32 | 1  # the next epoch: drawn
    assert engine.get_hint(MAX_ID) is not None and len(engine.hints()) == 3
    engine.close()


@pytest.mark.parametrize("value", ["text", 1.5, -1, 5])
def test_a_malformed_storage_id_is_refused_at_the_open(tmp_path: Path, value: object) -> None:
    """A file whose ``storage-id`` meta entry is not a blob (a hand-edited or foreign
    file) and that has no epoch yet: a StorageError naming the entry, not a TypeError
    or a ValueError (``bytes(-1)``) from inside the open, nor 5 zero bytes taken
    for the id of an integer 5 (session 34's revhint review). A missing entry (a crash
    between the schema's commit and the entry's insert) counts from ``first_epoch(b"")``."""
    path = tmp_path / "n1.sqlite3"
    SqliteStorage(path, storage_id=b"disk-a").close()
    _edit(path, ("DELETE FROM engine", ()),
          ("UPDATE meta SET value = ? WHERE name = 'storage-id'", (value,)))
    with pytest.raises(StorageError, match="malformed storage-id meta entry"):
        SqliteStorage(path)
    _edit(path, ("DELETE FROM meta WHERE name = 'storage-id'", ()))
    engine = SqliteStorage(path)
    assert engine.add_hint("n2", b"k", b"r") == first_epoch(b"") << 32 | 1
    engine.close()
