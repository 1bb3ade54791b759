"""A late ``HintAck`` must not delete the new hint of a store restored from an
older backup (session 35; the case session 34's hintid left open).

A ``HintAck`` names its hint by id alone, and the holder deletes the hint it keeps
under that id when the ack comes from the hint's intended node
(``impl.handoff.HintedHandoff.on_ack``). Session 34 numbered a replaced disk's
hints apart from the lost one's, but a store *restored from a backup* repeated the
ids of the starts since the backup: the SQLite engine took its epoch as the
recorded one plus one (the restored file records the backup's), the memory engine
counted on from the backup's counter. So an ack of a hint issued after the backup,
arriving once the restored node had taken a hint of its own, deleted that hint
before it was delivered: the write had one copy fewer than its W, and with
anti-entropy off its intended replica never got it. The restore guard does not
help: it sets the restored store's hints aside, but the hint lost here is taken
after the restore. The spec's ``hint-ack`` carries the hint's key and payload.

The fix (no wire change; old files are opened as they are): every open of a SQLite
file but a new file's first draws its epoch (``SqliteStorage(hint_epochs=...)``,
the system's randomness by default); the simulator moves a memory engine's count to
a first id drawn from the start's seed at every start on a store it did not just
make (``MemoryStorage.start_hints_at``).

The scenario (5 nodes, N = 3, W = 3, anti-entropy off, seed 1): n4 (the fallback
for ``k``'s third replica n2) is backed up while down and restarted; n2 is cut off,
``v1`` written (n4 keeps a hint for n2); healed with n2's acks to n4 cut, so the
delivery arrives and its ack is held; n4 is restored from its backup and restarted;
n2 cut off again, ``v2`` written over ``v1`` (n4's new hint for n2: the held ack's
id before the fix); n4's deliveries to n2 cut, the held ack arrives. After ``HEALED_S``
healed, n2 must hold ``v2``.
"""

from __future__ import annotations

import copy
import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from impl import SimulatedCluster
from impl.cluster import StorageKind, _hint_range
from impl.errors import InvalidValueError, StorageError
from impl.messages import MAX_ID, HintAck
from impl.storage.base import Storage
from impl.storage.memory import MemoryStorage
from impl.storage.sqlite import SqliteStorage
from impl.versions import values
from tests.impl.test_hint_ack_after_disk_loss import (
    hint_delivered_with_its_ack_held,
    rewritten_behind_a_stale_ack,
)

KEY = b"k"
HOLDER = "n4"


def _hints(cluster: SimulatedCluster, name: str) -> list[tuple[int, str]]:
    return [(hint.hint_id, hint.intended) for hint in cluster.storages[name].hints()]


class _Backup:
    """Node ``name``'s store copied while it is down: a deep copy of the memory
    engine; the SQLite files copied with the engine closed (docs/runtime.md, "Back
    up"), the engine then opened again. :meth:`put_back` restores it (down too)."""

    def __init__(self, cluster: SimulatedCluster, name: str, to: Path) -> None:
        assert cluster.is_down(name)
        self.cluster, self.name, self.to = cluster, name, to
        self.copy: Storage | None = None
        if cluster.storage_dir is None:
            self.copy = copy.deepcopy(cluster.storages[name].inner)
            return
        cluster.storages[name].inner.close()
        to.mkdir()
        for file in cluster.storage_dir.glob(f"{name}.sqlite3*"):
            shutil.copy2(file, to / file.name)
        self._reopen(random.Random(1))

    def _reopen(self, hint_epochs: random.Random) -> None:
        assert self.cluster.storage_dir is not None
        self.cluster.storages[self.name].inner = SqliteStorage(
            self.cluster.storage_dir / f"{self.name}.sqlite3", hint_epochs=hint_epochs)

    def put_back(self) -> None:
        watched = self.cluster.storages[self.name]
        assert self.cluster.is_down(self.name)
        if self.copy is not None:
            watched.inner = copy.deepcopy(self.copy)
        else:
            assert self.cluster.storage_dir is not None
            watched.inner.close()
            for file in self.cluster.storage_dir.glob(f"{self.name}.sqlite3*"):
                file.unlink()
            for file in self.to.iterdir():
                shutil.copy2(file, self.cluster.storage_dir / file.name)
            self._reopen(random.Random(2))  # another process: its own draws
        watched.changes += 1  # the replica changed: quiet starts again


@pytest.mark.parametrize("guard", [False, True], ids=["guard-off", "guard-on"])
@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_a_late_hint_ack_does_not_delete_a_restored_stores_new_hint(
        storage: StorageKind, guard: bool, tmp_path: Path) -> None:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, anti_entropy=False,
                               storage=storage, restore_guard=guard,
                               storage_dir=tmp_path / "data" if storage == "sqlite" else None)
    try:
        third, old_id, new_id = _late_ack_after_restore(cluster, tmp_path / "backup")
        stored = cluster.replicas(KEY)[third]
        assert stored is not None
        assert values(stored) == [b"v2"], (f"n2 holds {values(stored)}, "
                                           f"n4's hints {_hints(cluster, HOLDER)}")
        assert new_id != old_id  # the restored store numbers its hints apart
    finally:
        cluster.close()


def _late_ack_after_restore(cluster: SimulatedCluster, backup_dir: Path) -> tuple[str, int, int]:
    """Run the module's scenario; the third replica, the held ack's id and the id of
    the restored store's hint."""
    third = cluster.node("n1").preference_list(KEY)[2]
    cluster.crash(HOLDER)
    backup = _Backup(cluster, HOLDER, backup_dir)
    cluster.restart(HOLDER)
    cluster.run_for(5.0)
    old_id = hint_delivered_with_its_ack_held(cluster, KEY, HOLDER)
    cluster.crash(HOLDER)
    backup.put_back()
    cluster.restart(HOLDER)
    cluster.run_for(5.0)
    return third, old_id, rewritten_behind_a_stale_ack(cluster, KEY, HOLDER, HintAck(old_id))


# ------------------------------------------------------------------ the engines' part


def test_a_restored_sqlite_file_opens_with_an_epoch_apart_from_the_lost_opens(
        tmp_path: Path) -> None:
    """The open after a restore must not take the epoch the open after the backup
    took (before the fix both were the recorded epoch plus one)."""
    path, saved = tmp_path / "n1.sqlite3", tmp_path / "backup.sqlite3"
    SqliteStorage(path, storage_id=b"disk-a").close()
    shutil.copy(path, saved)
    lost = SqliteStorage(path, hint_epochs=random.Random(1))
    lost_id = lost.add_hint("n2", b"k", b"r")
    lost.close()
    shutil.copy(saved, path)
    restored = SqliteStorage(path, hint_epochs=random.Random(2))
    restored_id = restored.add_hint("n2", b"k", b"r")
    restored.close()
    assert restored_id >> 32 != lost_id >> 32, f"both opens numbered from {lost_id:#x}"
    assert 1 <= restored_id >> 32 <= (1 << 31) - 1 and restored_id & 0xFFFFFFFF == 1


class _Scripted(random.Random):
    """A source whose ``randint`` answers the given numbers in turn."""

    def __init__(self, *answers: int) -> None:
        super().__init__(0)
        self.answers = list(answers)

    def randint(self, a: int, b: int) -> int:
        answer = self.answers.pop(0)
        assert a <= answer <= b
        return answer


def test_a_drawn_epoch_is_neither_the_last_one_nor_one_of_a_kept_hint(
        tmp_path: Path) -> None:
    """An open draws again for the epoch before it and for an epoch whose ids the file
    keeps a hint under; the 2**32nd hint of an open draws a new epoch too."""
    path = tmp_path / "n1.sqlite3"
    engine = SqliteStorage(path, storage_id=b"disk-a", hint_epochs=_Scripted(7))
    kept = engine.add_hint("n2", b"k", b"r")  # a new file's epoch: its storage-id's
    first = kept >> 32
    assert first != 7 and kept == first << 32 | 1
    engine._sequence = (1 << 32) - 2
    assert engine.add_hint("n2", b"k", b"r") == first << 32 | 0xFFFFFFFF
    assert engine.add_hint("n2", b"k", b"r") == 7 << 32 | 1  # the next epoch: drawn
    engine.close()
    engine = SqliteStorage(path, hint_epochs=_Scripted(first, 7, 9))
    engine.close()  # first: kept hints; 7: the epoch before (and kept hints); 9 taken
    engine = SqliteStorage(path, hint_epochs=_Scripted(9, 11))
    assert engine.add_hint("n2", b"k", b"r") == 11 << 32 | 1  # 9: the epoch before
    assert len(engine.hints()) == 4
    engine.close()


def test_a_file_of_an_earlier_session_opens_whatever_its_counted_epoch(tmp_path: Path) -> None:
    """Files of earlier sessions counted their epochs up, by one per open; one at the
    last epoch whose ids fit 2**63 - 1, or past it, was refused (session 34's revhint
    review: "hint ids are exhausted"). Now it opens, keeps its hints and draws an
    epoch within the bound."""
    path = tmp_path / "n1.sqlite3"
    engine = SqliteStorage(path, storage_id=b"disk-a")
    engine.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE engine SET value = ? WHERE name = 'epoch'", (1 << 31,))
        conn.execute("INSERT INTO hints (hint_id, intended, key, record) VALUES (?, ?, ?, ?)",
                     (MAX_ID, "n2", b"k", b"old"))
    conn.close()
    engine = SqliteStorage(path, hint_epochs=random.Random(3))
    new_id = engine.add_hint("n2", b"k", b"r")
    assert 1 << 32 < new_id < MAX_ID
    assert [hint.hint_id for hint in engine.hints()] == [new_id, MAX_ID]
    engine.close()


def test_hint_epochs_must_be_a_random_source(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="hint_epochs"):
        SqliteStorage(tmp_path / "n1.sqlite3", hint_epochs=7)  # type: ignore[arg-type]


def test_a_memory_store_numbers_its_hints_from_where_a_start_tells_it() -> None:
    """``start_hints_at`` moves the count (the kept hints keep their ids), and a count
    that meets a kept id steps over it instead of replacing that hint."""
    memory = MemoryStorage()
    assert memory.add_hint("n2", b"k", b"r1") == 1
    memory.start_hints_at(1 << 40)
    assert memory.add_hint("n2", b"k", b"r2") == 1 << 40
    memory.start_hints_at(1)
    assert memory.add_hint("n2", b"k", b"r3") == 2  # 1 is kept: stepped over
    assert [hint.record for hint in memory.hints()] == [b"r1", b"r3", b"r2"]
    for bad in (0, (1 << 62) + 1, True):
        with pytest.raises(InvalidValueError, match="hint_id"):
            memory.start_hints_at(bad)


def test_the_simulator_moves_a_memory_stores_count_at_every_start_but_a_new_stores_first(
        ) -> None:
    """A node's first start on a new memory store counts from its first id (1 for the
    node's first store: runs without a restart number their hints as before); a
    restart, and a start on a store put back from a backup, from a draw of the
    start's seed, so the two starts that follow one backup draw apart."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)
    store = cluster.storages["n1"].inner
    assert store.add_hint("n2", b"k", b"r") == 1
    cluster.crash("n1")
    backup = copy.deepcopy(store)
    cluster.restart("n1")
    after_backup = store.add_hint("n2", b"k", b"r")
    cluster.crash("n1")
    cluster.storages["n1"].inner = restored = copy.deepcopy(backup)
    cluster.restart("n1")
    after_restore = restored.add_hint("n2", b"k", b"r")
    assert min(after_backup, after_restore) >= 1 << 32
    assert after_restore != after_backup, "the restored store repeated the lost start's ids"


# ------------------------------------------------------------------ session 35's review


def test_a_count_steps_over_a_run_of_kept_ids() -> None:
    """A count moved onto a run of kept ids steps over all of them, not the first only
    (the mutant ``if`` for ``while`` put the new hint in the place of kept hint 2)."""
    memory = MemoryStorage()
    ids = [memory.add_hint("n2", b"k", b"r%d" % i) for i in range(3)]
    assert ids == [1, 2, 3]
    memory.remove_hint(3)
    memory.start_hints_at(1)
    assert memory.add_hint("n2", b"k", b"new") == 3
    assert [hint.record for hint in memory.hints()] == [b"r0", b"r1", b"new"]


def test_a_start_draws_its_first_id_above_the_first_stores_ids() -> None:
    """The simulator's first ids of a later store or start lie in ``[2**32, 2**62)``,
    above the ids a node's first store counts from 1 (the mutant without the 2**32
    offset drew from 1)."""
    assert _hint_range(0) == 1 << 32
    assert _hint_range((1 << 62) - (1 << 32) - 1) == (1 << 62) - 1
    assert _hint_range((1 << 62) - (1 << 32)) == 1 << 32


def test_an_open_after_an_epoch_bump_does_not_draw_the_bumped_epoch(tmp_path: Path) -> None:
    """The 2**32nd hint of an open draws a new epoch and records it: the next open
    must not take it again even when none of its hints is kept (removed, or lost in
    a crash: a late acknowledgement may still come for one). The mutant that does
    not record the bumped epoch drew it again."""
    path = tmp_path / "n1.sqlite3"
    engine = SqliteStorage(path, storage_id=b"disk-a", hint_epochs=_Scripted(7))
    engine._sequence = (1 << 32) - 1
    bumped = engine.add_hint("n2", b"k", b"r")
    assert bumped == 7 << 32 | 1
    engine.remove_hint(bumped)  # acknowledged: no hint of epoch 7 kept
    engine.close()
    engine = SqliteStorage(path, hint_epochs=_Scripted(7, 9))
    assert engine.add_hint("n2", b"k", b"r") == 9 << 32 | 1
    engine.close()


def test_a_simulated_sqlite_restart_draws_the_same_epoch_for_the_same_seed(
        tmp_path: Path) -> None:
    """The simulator seeds every file's epoch source (a run is a function of its
    seed): two runs of one seed number a restarted node's hints alike, from an epoch
    other than its first open's (the mutant that left the source to the system's
    randomness numbered them apart)."""
    ids = []
    for run in range(2):
        with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, storage="sqlite",
                              storage_dir=tmp_path / f"run{run}") as cluster:
            first = cluster.storages["n1"].add_hint("n2", b"k", b"r")
            cluster.crash("n1")
            cluster.restart("n1")
            ids.append(cluster.storages["n1"].add_hint("n2", b"k", b"r"))
            assert ids[-1] >> 32 != first >> 32
    assert ids[0] == ids[1]


class _FailingEpochRecord:
    """A connection whose ``UPDATE engine`` fails as a full disk does (the rest
    passed through): the record of a bumped epoch cannot be written."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql.startswith("UPDATE engine"):
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorname = "SQLITE_FULL"
            raise error
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)


def test_an_epoch_bump_that_cannot_be_recorded_raises_storage_error_and_takes_no_epoch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 35's review of the drawn epochs: the 2**32nd hint's epoch was taken
    before its record was written, so a failed write raised a bare ``sqlite3.Error``
    and the next hint used the unrecorded epoch (which a later open may draw again).
    Now a StorageError names the file and the cause, and the epoch in use stays;
    once the disk has room the next hint bumps and records it."""
    path = tmp_path / "n1.sqlite3"
    engine = SqliteStorage(path, storage_id=b"disk-a", hint_epochs=_Scripted(7, 8))
    first = engine._epoch
    engine._sequence = (1 << 32) - 1
    real = engine._connection
    monkeypatch.setattr(engine, "_connection", lambda: _FailingEpochRecord(real()))
    with pytest.raises(StorageError, match=r"could not record a new hint epoch in .*"
                       r"n1\.sqlite3.*database or disk is full"):
        engine.add_hint("n2", b"k", b"r")
    assert (engine._epoch, engine._sequence) == (first, (1 << 32) - 1)
    assert engine.hints() == []
    monkeypatch.setattr(engine, "_connection", real)
    assert engine.add_hint("n2", b"k", b"r") == 8 << 32 | 1
    engine.close()
    engine = SqliteStorage(path, hint_epochs=_Scripted(8, 9))
    assert engine._epoch == 9  # 8 was recorded: the open draws past it
    engine.close()
