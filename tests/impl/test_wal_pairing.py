"""A data file put back beside a newer write-ahead log is refused; its own log is not
(session 59, probe 01k; :mod:`impl.storage.wal_pairing`).

SQLite applies any valid log beside a file: a backup of ``n2.sqlite`` put back with
the crashed process's newer ``-wal`` opened as a mix (probe 01k: 30 of 40 keys n2
acknowledged at W = 3 read 404 through it, ``integrity_check`` failed). The engine
now refuses such a pair at its open, naming the file and the log, nothing changed;
a crash's own log (SIGKILL, a copy of the three files taken while the engine runs:
the state a crash leaves) opens with every committed write.

Mutants run (session 59), each failing here and passing when reverted:

- the pairing check removed (``check_log_pairing`` not called by ``_open``):
  ``test_a_backup_put_back_beside_a_newer_log_is_refused`` opens the mix and the
  30 ``x`` keys read None (the probe's 404s);
- compared wrongly, the log's seals ignored (``belongs``: ``mine == base`` only):
  ``test_a_crash_after_a_partial_checkpoint_keeps_its_log`` is refused (a normal
  crash whose main file a checkpoint copied past a seal);
- the identity ignoring the seals (``identity`` returns the base):
  ``test_a_copy_taken_during_a_partial_checkpoint_is_refused_beside_a_later_log``
  opens the mix (the copy's identity is its old log's base, which the later log's
  base repeats), and the unit test of ``identity`` fails;
- no seal before the checkpoint (``_checkpoint`` without ``_seal``): the same test
  opens the mix (the new log's base names a file state the copy shares);
- the main file's marks read through the engine table's index (no ``NOT INDEXED``):
  the same test opens the mix (the copy, read alone, is "malformed" there: its
  index and table pages are of two states, so nothing was compared);
- ``wal_autocheckpoint`` left at 1000, no size look, no ``journal_size_limit``: see
  the last two tests' docstrings.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from impl.errors import StorageError
from impl.storage import sqlite as sqlite_engine
from impl.storage.sqlite import SqliteStorage
from impl.storage.wal_pairing import belongs, check_log_pairing, identity

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = ("", "-wal", "-shm")
KEYS = [b"k%d" % i for i in range(10)]
XS = {b"x%d" % i: bytes([65 + i % 26]) * 4096 for i in range(30)}

#: the probe's history in one process, killed with SIGKILL after its last commit:
#: k0..k9 v1, a clean close and a copy of the file alone (the backup), the 30 x keys
#: and a clean close (a checkpoint: the next log starts after the backup), k0..k9 v2
_CHILD = """
import os, shutil, signal, sys
from impl.storage import sqlite as sqlite_engine
from impl.storage.sqlite import SqliteStorage
path, backup = sys.argv[1], sys.argv[2]
store = SqliteStorage(path)
for i in range(10):
    store.write(b"k%d" % i, b"v1")
store.close()
shutil.copy2(path, backup)
store = SqliteStorage(path)
for i in range(30):
    store.write(b"x%d" % i, bytes([65 + i % 26]) * 4096)
store.close()
store = SqliteStorage(path)
for i in range(10):
    store.write(b"k%d" % i, b"v2")
print("acknowledged", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def copy_files(src: Path, dest: Path) -> None:
    """The data file ``src`` and its ``-wal`` and ``-shm`` copied as ``dest``'s (the
    state a crash leaves, when taken between two commits of a running engine)."""
    for suffix in SUFFIXES:
        if Path(f"{src}{suffix}").exists():
            shutil.copy2(f"{src}{suffix}", f"{dest}{suffix}")


def contents(path: Path) -> dict[str, bytes]:
    """The bytes of the data file and its log."""
    return {suffix: Path(f"{path}{suffix}").read_bytes() for suffix in ("", "-wal")}


def integrity(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("PRAGMA integrity_check")]


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The probe's history run in a child killed with SIGKILL: (its data file, with
    its own log; the backup of the file alone)."""
    where = tmp_path_factory.mktemp("killed")
    path, backup = where / "n2.sqlite", where / "backup.sqlite"
    child = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(backup)],
                           capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert child.stdout.strip() == "acknowledged"
    assert Path(f"{path}-wal").stat().st_size > 32  # the log the kill left
    return path, backup


def test_a_backup_put_back_beside_a_newer_log_is_refused(killed: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    """Probe 01k's files: the backup put back as ``n2.sqlite``, the killed process's
    ``-wal`` and ``-shm`` kept. The open raises StorageError naming the file, its
    log and both ways out; neither file changed (nothing checkpointed, nothing
    removed). Mutant (the check removed): the open serves the mix, x0..x29 None."""
    path = tmp_path / "n2.sqlite"
    copy_files(killed[0], path)
    shutil.copy2(killed[1], path)
    before = contents(path)
    with pytest.raises(StorageError) as raised:
        SqliteStorage(path)
    said = str(raised.value)
    assert str(path) in said and "n2.sqlite-wal" in said and "n2.sqlite-shm" in said
    assert "does not belong with the write-ahead log" in said and "Nothing was changed" in said
    assert contents(path) == before
    with pytest.raises(StorageError):  # and again: nothing was changed by the first
        SqliteStorage(path)
    Path(f"{path}-wal").unlink()  # the way out: the file alone (a restored store)
    Path(f"{path}-shm").unlink()
    store = SqliteStorage(path)
    assert [store.read(k) for k in KEYS] == [b"v1"] * 10 and store.read(b"x0") is None
    store.close()
    assert integrity(path) == ["ok"]


def test_a_kill9_restart_on_its_own_log_keeps_every_write(killed: tuple[Path, Path],
                                                          tmp_path: Path) -> None:
    """The same kill, nothing put back: the file opens with its own log, and every
    write committed before the kill reads back; ``integrity_check`` ok."""
    path = tmp_path / "n2.sqlite"
    copy_files(killed[0], path)
    store = SqliteStorage(path)
    assert [store.read(k) for k in KEYS] == [b"v2"] * 10
    assert {k: store.read(k) for k in XS} == XS
    store.close()
    assert integrity(path) == ["ok"]


def partial_checkpoint(path: Path, crash: Path) -> tuple[SqliteStorage, sqlite3.Connection]:
    """An engine on ``path`` whose last two checkpoints could not copy every frame
    (a reader held an older snapshot: SQLite then copies only the pages no later
    frame rewrote), with writes after them; ``crash`` gets a copy of the files then
    (a crash's state). Returns the engine and the reader (open, in its snapshot)."""
    store = SqliteStorage(path)
    store.write(b"a", b"1")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM versions").fetchone()  # a snapshot at a=1
    for key, value in XS.items():
        store.write(key, value)
    assert store._conn is not None
    assert not store._checkpoint(store._conn)  # sealed; copied up to the reader's mark
    store.write(b"a", b"2")
    reader.execute("COMMIT")
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM versions").fetchone()  # a snapshot at a=2
    store.write(b"b", b"1")
    assert not store._checkpoint(store._conn)  # the x keys' pages copied, not all
    store.write(b"c", b"1")
    copy_files(path, crash)
    return store, reader


def test_a_crash_after_partial_checkpoints_keeps_its_log(tmp_path: Path) -> None:
    """A crash after checkpoints that copied the log only in part: the file and its
    log belong together, and the open keeps every write."""
    store, reader = partial_checkpoint(tmp_path / "n.sqlite", tmp_path / "crash.sqlite")
    reader.close()
    store.close()
    crashed = SqliteStorage(tmp_path / "crash.sqlite")
    assert [crashed.read(k) for k in (b"a", b"b", b"c")] == [b"2", b"1", b"1"]
    assert {k: crashed.read(k) for k in XS} == XS
    crashed.close()
    assert integrity(tmp_path / "crash.sqlite") == ["ok"]


def checkpoint_without_a_new_log(store: SqliteStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    """``store``'s checkpoint run with its new log's commit failing (a full disk): the
    log copied whole, its seal too, no new log; then a write ``b`` = 1."""

    def full_disk(conn: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(sqlite_engine, "_new_log", full_disk)
    assert store._conn is not None
    with pytest.raises(sqlite3.OperationalError):
        store._checkpoint(store._conn)
    monkeypatch.undo()
    store.write(b"b", b"1")


def test_a_crash_after_a_complete_checkpoint_without_a_new_log_keeps_its_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint that copied every frame (its seal too) but could not restart the
    log (a reader at the last snapshot) nor start a new one (its commit failed: a
    full disk), writes after it, a crash: the main file's identity is the log's own
    seal, not its base, and the open keeps every write. Mutant (``belongs`` takes the
    base only): refused."""
    path = tmp_path / "n.sqlite"
    store = SqliteStorage(path)
    store.write(b"a", b"1")
    reader = sqlite3.connect(path, isolation_level=None)
    real = sqlite_engine._in_transaction

    def seal_then_read(conn: sqlite3.Connection,
                       change: Callable[[sqlite3.Connection], None]) -> None:
        real(conn, change)
        if change is sqlite_engine._seal:  # a snapshot holding the seal: no restart
            reader.execute("BEGIN")
            reader.execute("SELECT COUNT(*) FROM versions").fetchone()

    monkeypatch.setattr(sqlite_engine, "_in_transaction", seal_then_read)
    checkpoint_without_a_new_log(store, monkeypatch)
    copy_files(path, tmp_path / "crash.sqlite")
    reader.close()
    store.close()
    crashed = SqliteStorage(tmp_path / "crash.sqlite")
    assert [crashed.read(k) for k in (b"a", b"b")] == [b"1", b"1"]
    crashed.close()


def test_a_copy_taken_during_a_partial_checkpoint_is_refused_beside_a_later_log(
        tmp_path: Path) -> None:
    """The file alone copied while a checkpoint had copied its log in part (a hot
    copy, or one of a crashed node's file without its log), later put back beside a
    log begun after a complete checkpoint: refused, though the copy holds the old
    log's first seal. Mutants (identity without seals; no seal before a checkpoint):
    the open serves the mix."""
    path = tmp_path / "n.sqlite"
    store, reader = partial_checkpoint(path, tmp_path / "crash.sqlite")
    shutil.copy2(path, tmp_path / "copy.sqlite")  # the main file alone, mid-log
    reader.close()
    assert store._conn is not None and store._checkpoint(store._conn)  # all copied
    store.write(b"d", b"1")  # the new log
    copy_files(path, tmp_path / "later.sqlite")
    store.close()
    shutil.copy2(tmp_path / "copy.sqlite", tmp_path / "later.sqlite")
    with pytest.raises(StorageError, match="does not belong"):
        SqliteStorage(tmp_path / "later.sqlite")


def test_a_copy_taken_mid_log_beside_the_logs_continuation_reads_every_write(
        tmp_path: Path) -> None:
    """The engine owns its checkpoints: a log grown past SQLite's autocheckpoint (1000
    pages) while a reader held an old snapshot, the main file alone copied then (its
    identity the log's base), the reader gone, two more writes, a crash, the copy put
    back. The log was never restarted but by the engine, so it still holds every
    frame since its base: the open keeps every write. Mutant (``wal_autocheckpoint``
    left at 1000): SQLite copied the whole log at the first commit after the reader
    left and restarted it at the second, outside the engine, so the copy met a log
    that builds on a later file and passed as its base: keys read None."""
    path = tmp_path / "n.sqlite"
    store = SqliteStorage(path)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM versions").fetchone()
    written: dict[bytes, bytes] = {}
    while Path(f"{path}-wal").stat().st_size < 1100 * 4120:
        written[b"y%d" % len(written)] = bytes([65 + len(written) % 26]) * 4096
        store.write(b"y%d" % (len(written) - 1), written[b"y%d" % (len(written) - 1)])
    assert store.checkpoints_partial >= 1  # the engine's own, held back by the reader
    shutil.copy2(path, tmp_path / "copy.sqlite")
    reader.close()
    store.write(b"after", b"1")
    store.write(b"after", b"2")
    copy_files(path, tmp_path / "crash.sqlite")
    store.close()
    shutil.copy2(tmp_path / "copy.sqlite", tmp_path / "crash.sqlite")
    crashed = SqliteStorage(tmp_path / "crash.sqlite")  # or refused: either is right
    assert crashed.read(b"after") == b"2"
    assert {k: crashed.read(k) for k in written} == written
    crashed.close()
    assert integrity(tmp_path / "crash.sqlite") == ["ok"]


def test_the_engine_checkpoints_its_log_and_reuses_the_file(tmp_path: Path) -> None:
    """With SQLite's autocheckpoint off the engine must checkpoint itself: 2,000 writes
    of 4 KiB (about 7,000 pages of log: a record, its overflow page, the index) keep
    the log file under 5 MB (``journal_size_limit``, 4 MB, and a commit's worth), one
    checkpoint per 4 MB of log (9 in session 59). Mutants: the commit's look at the
    log's size removed (the log file past 5 MB at the 291st write, no checkpoint but
    the open's); no ``journal_size_limit`` (the file never cut back, so every look
    past 4 MB checkpoints: 221 checkpoints)."""
    path = tmp_path / "n.sqlite"
    store = SqliteStorage(path)
    for i in range(2000):
        store.write(b"z%d" % i, bytes([65 + i % 26]) * 4096)
        assert Path(f"{path}-wal").stat().st_size < 5_000_000, (i, store.checkpoints)
    assert 4 <= store.checkpoints <= 15 and store.checkpoints_partial == 0
    store.close()


def test_files_of_an_earlier_session_with_their_log_open(tmp_path: Path) -> None:
    """A file whose log holds no marks (written before session 59: SQLite's own
    checkpoints) opens with its log, and its first marked log does not refuse it
    later; a new file crashed before its first checkpoint passes as well."""
    path = tmp_path / "old.sqlite"
    SqliteStorage(path).close()
    old = sqlite3.connect(path, isolation_level=None)  # the marks an old file lacks
    old.execute("DELETE FROM engine WHERE name LIKE 'wal-%'")
    old.close()  # the last connection: checkpointed, the log removed
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("INSERT INTO meta (name, value) VALUES ('old', x'01')")
    copy_files(path, tmp_path / "crash.sqlite")
    writer.close()
    check_log_pairing(tmp_path / "crash.sqlite")  # no marks on either side: no error
    store = SqliteStorage(tmp_path / "crash.sqlite")
    assert store.get_meta("old") == b"\x01"
    store.close()


def test_identity_and_belongs() -> None:
    """The identity is the seal when the file holds one, else the base; a file belongs
    with a log whose base it is or one of whose seals it holds, no other."""
    token = 0x1234
    assert identity((7, token, 0)) == 7 and identity((7, token, 3)) == token << 32 | 3
    assert identity((0, 0, 0)) == 0
    view = (7, token, 3)
    assert belongs((5, 9, 0), (9 << 0, token, 3)) is False
    assert belongs((7, token, 0), view) and belongs((1, 2, 0), (0, 0, 0)) is False
    assert all(belongs((7, token, seals), view) for seals in (1, 2, 3))
    assert not belongs((7, token, 4), view)  # a seal the log never made
    assert not belongs((7, token + 1, 1), view) and not belongs((8, 0, 0), view)
    assert belongs((0, 0, 0), (0, 0, 0)) and belongs((0, 0, 0), (0, token, 2))


def test_a_backup_taken_before_a_clean_close_is_refused_beside_the_next_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 59's review: the file alone copied mid-log (its identity the log's
    base), 30 writes, a clean close (SQLite's own checkpoint copies the log and
    removes it), the next open stopped between its seal and its checkpoint (the
    files copied there: a crash's state), the copy put back beside that log:
    refused. Before the fix (the close did not seal the log nor start a new one) the
    closed file kept the copy's identity, the next log's base, and the open served
    the mix: 0 of the 30 x keys read back. Mutant (``close`` without its
    ``_checkpoint``): the same mix opens."""
    path, crash = tmp_path / "n.sqlite", tmp_path / "crash.sqlite"
    store = SqliteStorage(path)
    store.write(b"a", b"1")
    shutil.copy2(path, tmp_path / "backup.sqlite")
    for key, value in XS.items():
        store.write(key, value)
    store.close()
    real = SqliteStorage._checkpoint

    def copy_then_checkpoint(self: SqliteStorage, conn: sqlite3.Connection, *,
                             sealed: bool = False) -> bool:
        if not crash.exists():
            copy_files(path, crash)
        return real(self, conn, sealed=sealed)

    monkeypatch.setattr(SqliteStorage, "_checkpoint", copy_then_checkpoint)
    SqliteStorage(path).close()
    monkeypatch.undo()
    copy_files(crash, tmp_path / "own.sqlite")
    kept = SqliteStorage(tmp_path / "own.sqlite")  # the crash's own files: every write
    assert {k: kept.read(k) for k in XS} == XS
    kept.close()
    shutil.copy2(tmp_path / "backup.sqlite", crash)
    with pytest.raises(StorageError, match="does not belong"):
        SqliteStorage(crash)


def test_a_flush_after_the_batchs_own_commit_fsyncs_the_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 59's review: ``buffered`` with ``batch=3``, three writes (the batch
    commits them, not fsynced: ``synchronous=NORMAL``), then ``flush()``: the log is
    fsynced once, so the three survive a power loss. Before the fix the flush found
    nothing pending and fsynced nothing (0 calls; a process kill cannot show it: the
    page cache keeps what was written). Mutant (``flush`` ignoring ``_unsynced``):
    0 calls here. A second flush with nothing new fsyncs nothing."""
    store = SqliteStorage(tmp_path / "n.sqlite", "buffered", batch=3)
    synced: list[int] = []
    real = os.fdatasync

    def record(fd: int) -> None:
        synced.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", record)
    for key in KEYS[:3]:
        store.write(key, b"v")
    assert store.pending == 0  # the batch's own commit
    store.flush()
    assert len(synced) == 1
    store.flush()
    assert len(synced) == 1
    store.write(b"k9", b"v")
    store.flush()
    assert len(synced) == 2
    store.close()


def test_a_crash_with_the_file_at_an_earlier_seal_of_its_log_keeps_its_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 59's review: a complete checkpoint whose new log could not start (a
    full disk: the file holds the log's first seal), a write, a second seal whose
    checkpoint a kill stopped (the files copied right after the seal): the file's
    identity is the log's seal 1, the log's last is 2. The open keeps every write.
    Mutant (``belongs`` accepting the log's last seal only): refused, a normal crash."""
    path, crash = tmp_path / "n.sqlite", tmp_path / "crash.sqlite"
    store = SqliteStorage(path)
    store.write(b"a", b"1")
    checkpoint_without_a_new_log(store, monkeypatch)
    assert store._conn is not None
    sqlite_engine._in_transaction(store._conn, sqlite_engine._seal)
    copy_files(path, crash)
    store.close()
    with sqlite3.connect(f"file:{crash}?immutable=1", uri=True) as conn:
        main = sqlite_engine.read_marks(conn)
    assert main[2] == 1  # the file at the log's first seal (its log has two)
    crashed = SqliteStorage(crash)
    assert [crashed.read(k) for k in (b"a", b"b")] == [b"1", b"1"]
    crashed.close()


def older_log_beside_newer_file(tmp_path: Path) -> Path:
    """A later crash's data file with the ``-wal`` and ``-shm`` of a copy taken right
    after an earlier complete checkpoint (the log's one frame records a file of about
    20 pages; the file is over 300). Returns the data file's path."""
    path, old = tmp_path / "n.sqlite", tmp_path / "old.sqlite"
    store = SqliteStorage(path)
    for i in range(20):
        store.write(b"a%d" % i, b"a" * 3000)
    assert store._conn is not None and store._checkpoint(store._conn)
    copy_files(path, old)  # the log: the new log's first frame alone
    for i in range(300):
        store.write(b"b%d" % i, b"b" * 3000)
    assert store._checkpoint(store._conn)
    store.write(b"c", b"1")
    crash = tmp_path / "crash.sqlite"
    copy_files(path, crash)
    store.close()
    for suffix in ("-wal", "-shm"):
        shutil.copy2(f"{old}{suffix}", f"{crash}{suffix}")
    return crash


def test_an_older_log_beside_a_newer_file_is_refused_and_nothing_changed(
        tmp_path: Path) -> None:
    """Session 59's review (the reverse mispair): the ``-wal`` and ``-shm`` of a copy
    taken right after a complete checkpoint (the log's one frame records a file of
    about 20 pages) put beside a later crash's data file (over 300 pages). Read
    through that log the file is "malformed", so nothing could be compared; before
    the fix the check let it through, the engine's open failed ("database disk image
    is malformed"), and the close of its connection checkpointed the old log into
    the file: cut to the old size, the log removed, the writes since gone. Now
    refused, both files byte for byte unchanged. Mutant (``check_log_pairing``
    passing an unreadable view, as before): StorageError "malformed" (the next test:
    the failed open changes nothing either)."""
    crash = older_log_beside_newer_file(tmp_path)
    before = contents(crash)
    with pytest.raises(StorageError, match="cannot be read through the write-ahead log"):
        SqliteStorage(crash)
    assert contents(crash) == before


def test_an_open_that_fails_changes_neither_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 59's review: the previous test's pair with the pairing check removed,
    so the engine's open itself fails ("database disk image is malformed"): the
    close of its connection does not checkpoint (a read-only connection holds the
    file meanwhile), both files byte for byte unchanged. Before (``conn.close()``
    alone), SQLite's close checkpoint laid the old log over the file, cut it from
    over 300 pages to about 20 and removed the log (the mutant: the same)."""
    crash = older_log_beside_newer_file(tmp_path)
    before = contents(crash)
    monkeypatch.setattr(sqlite_engine, "check_log_pairing", lambda path: None)
    with pytest.raises(StorageError, match="malformed"):
        SqliteStorage(crash)
    assert contents(crash) == before
