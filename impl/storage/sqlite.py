"""The SQLite storage engine: the default, durable engine.

Theory of operation
-------------------
One SQLite database file per node, in WAL mode (readers never block the writer,
and a commit is an append to the write-ahead log). Three tables, as the paper
keeps versions and hints apart:

``versions(id, pos, key, record)``
    one row per key; ``pos`` is the key's ring position (MD5, spec.ring) as a
    16-byte big-endian BLOB -- a 128-bit int does not fit SQLite's 64-bit
    INTEGER, and BLOBs compare with memcmp, so the bytes sort like the integers.
    A unique index on ``(pos, key)`` serves both point lookups (the position is
    recomputed from the key) and ordered range scans for Merkle trees and
    hand-offs.
``hints(hint_id, intended, key, record)``
    replicas kept for another node, until it acknowledged them.
``meta(name, value)``
    the node's own persisted state (membership history, tokens).

A fourth small table, ``engine``, holds the engine's own counters (the hint-id
epoch); ``PRAGMA user_version`` holds the schema version.

Durability (the fsync trade)
----------------------------
``fsync="always"``
    every change is its own transaction, committed with ``synchronous=FULL``:
    the write-ahead log is fsynced before the call returns, so what was
    acknowledged survives a process crash and a power loss. One fsync per write.
``fsync="buffered"``
    the paper's buffered writes: changes accumulate in one open transaction,
    committed at :meth:`SqliteStorage.flush` and automatically every ``batch``
    changes, with ``synchronous=NORMAL``. A process crash loses exactly the
    changes since the last commit. A commit is not itself fsynced (WAL +
    NORMAL): an OS crash or power loss can also lose recent commits, except
    that :meth:`~SqliteStorage.flush` also fsyncs the log, so what was flushed
    survives a power loss too. Many writes share one fsync.

Checkpoints (session 59): the engine owns them (``wal_autocheckpoint = 0``). A
commit that leaves the log past :data:`_CHECKPOINT_BYTES` (about SQLite's default,
1000 pages) and every open seal the log,
copy it into the file (``wal_checkpoint(RESTART)``) and, when every frame was
copied, start a new log whose first transaction names the file state it builds on
(SQLite writes it from the log file's start, and cuts the file back to
``journal_size_limit``, :data:`_CHECKPOINT_BYTES`: the file is reused, not grown
again, which ``TRUNCATE`` cost, 7 us a commit on tmpfs). An open first refuses a
file put back beside a log it does not belong with (a backup restored beside the
crashed process's newer ``-wal``), before SQLite applies the log
(:mod:`impl.storage.wal_pairing`, probe 01k). A clean close checkpoints the engine's
way before SQLite's own close checkpoint (:meth:`SqliteStorage.close`; session 59's
review), and an open that fails closes without one (``_close_keeping_log``).

Hint ids are ``epoch << 32 | sequence``, and every open takes an epoch of its own,
recorded durably (the ``epoch`` row) before the first hint: an id is not reused, not
even for a hint that a crash lost before it was committed, so a stale
acknowledgement does not remove a newer hint. A new file's first epoch is drawn from
its ``storage-id`` (from 1 to 2**30, :func:`first_epoch`; session 34): a file
replacing a lost one of the same node (a new disk) numbers its hints apart from the
lost file's (``tests/impl/test_hint_ack_after_disk_loss.py``; before, every file
began at epoch 1). Every later open, and the 2**32nd hint of an open, draws its
epoch at random from 1 to 2**31 - 1 (``hint_epochs``, the system's randomness by
default), neither the epoch before it nor one of a hint the file keeps (session 35).
Until then an open took the epoch above the recorded one, a counter that a file
*restored from an older backup* repeats: its opens took again the epochs of the
opens since the backup, and a late acknowledgement of a hint issued by one of those
removed the restored file's new hint of the same id
(``tests/impl/test_hint_ids_after_restore.py``). Nothing in a restored file tells
it from the live one, so the open's epoch is a fresh draw, not a count: two opens
share an epoch with probability 2**-31 (a draw, as op ids and actors are), and
epochs never run out (files of earlier sessions, whose epochs counted up, are
opened as they are).

Group commit (:mod:`impl.storage.group_commit`): :meth:`SqliteStorage.transaction`
makes every change inside it one transaction, committed (and, with
``"always"``, fsynced) once at its end; :meth:`SqliteStorage.open_reader` gives
the reads a second connection of their own, so one thread can read (WAL
readers see the last commit and never wait for the writer) while another
writes and commits.

The engine is not thread-safe: use it from one thread at a time, except that
with :meth:`~SqliteStorage.open_reader` the reads (``read``, ``scan``,
``hints``, ``get_hint``, ``get_meta``, ``len``) may run in one thread while
the writes run in another.
"""

from __future__ import annotations

import hashlib
import os
import random
import resource
import shutil
import sqlite3
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from impl.errors import InvalidValueError, StorageError
from impl.storage._common import (
    check_batch,
    check_fsync,
    check_hint_id,
    check_key,
    check_meta_name,
    check_node,
    check_record,
    position_bytes,
    scan_segments,
)
from impl.storage.base import FsyncPolicy, Hint, HintHead
from impl.storage.wal_pairing import (
    WAL_HEADER_BYTES,
    check_log_pairing,
    draw_log_token,
    identity,
    read_marks,
)
from spec.ring import RING_SIZE, key_position

__all__ = ["SCHEMA_VERSION", "SqliteStorage", "first_epoch"]

#: Bumped whenever the tables change; an unknown version is refused at open.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY,
    pos BLOB NOT NULL,
    key BLOB NOT NULL,
    record BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS versions_by_position ON versions (pos, key);
CREATE TABLE IF NOT EXISTS hints (
    hint_id INTEGER PRIMARY KEY,
    intended TEXT NOT NULL,
    key BLOB NOT NULL,
    record BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS engine (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

_SCAN_PAGE = 256
_SEQUENCE_BITS = 32
#: the last epoch whose ids stay within 2**63 - 1 (SQLite's INTEGER, the wire's MAX_ID)
_MAX_EPOCH = (1 << (63 - _SEQUENCE_BITS)) - 1
#: the files of a database in WAL mode, by the suffix SQLite gives each
_FILE_SUFFIXES = ("", "-wal", "-shm", "-journal")
#: the log file's size in bytes past which a commit checkpoints it (the engine owns
#: the checkpoints: :mod:`impl.storage.wal_pairing`; SQLite's own default is 1000
#: pages), and the size SQLite cuts it back to when a new log starts
#: (``journal_size_limit``), so that a commit past it has written that much since
_CHECKPOINT_BYTES = 1000 * 4096 + WAL_HEADER_BYTES
#: a commit looks at the log's size once the changes since the last look wrote about
#: this much (a page and its record each: a ``stat`` a commit cost 4 us in 40)
_LOOK_BYTES = 64 * 1024
_PAGE_BYTES = 4096
#: how long a checkpoint waits for readers of the log (ms; then it copies what it can)
_CHECKPOINT_WAIT_MS = 100
#: SQLite's busy timeout otherwise (ms; Python's ``sqlite3.connect`` default, 5 s)
_BUSY_MS = 5000


def first_epoch(storage_id: bytes) -> int:
    """The first hint epoch of a new file whose ``storage-id`` is ``storage_id``:
    from 1 to 2**30 (a digest; the later opens draw theirs). Session 34: a replaced
    disk's file numbered its hints from ``1 << 32 | 1`` again, as its lost file had."""
    digest = hashlib.sha256(b"vdynamo hint epoch:" + storage_id).digest()
    return int.from_bytes(digest[:4], "big") % (1 << 30) + 1


def _failed(what: str, path: Path, exc: sqlite3.Error) -> StorageError:
    """StorageError ``what`` ``path``: SQLite's words, and for a write that failed
    (SQLITE_FULL, SQLITE_IOERR_*) what may have stopped it (:func:`_write_stopped`)."""
    return StorageError(f"{what} {str(path)!r}: {exc}{_write_stopped(path, exc)}")


def _write_stopped(path: Path, exc: sqlite3.Error) -> str:
    """For an error of a failed write (``sqlite_errorname`` SQLITE_FULL or
    SQLITE_IOERR_*), the facts that name its usual causes, else "": the process's
    file-size limit (RLIMIT_FSIZE, ``ulimit -f``) with the largest of the
    database's files, and the bytes free on its file system. A write past the
    file-size limit fails with EFBIG, which SQLite reports as "disk I/O error"
    (SQLITE_IOERR_WRITE), the words of a failing disk; a full disk is "database or
    disk is full" (SQLITE_FULL). Before session 32's service probe a node under
    ``ulimit -f`` answered every put 500 "disk I/O error" and refused to start
    with the same words, naming neither the limit nor the file that reached it."""
    name = str(getattr(exc, "sqlite_errorname", ""))
    if name != "SQLITE_FULL" and not name.startswith("SQLITE_IOERR"):
        return ""
    sizes: dict[str, int] = {}
    for suffix in _FILE_SUFFIXES:
        with suppress(OSError):
            sizes[path.name + suffix] = (path.parent / (path.name + suffix)).stat().st_size
    facts = []
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY:
        largest = max(sizes, key=lambda file: sizes[file], default=path.name)
        facts.append(f"this process may write files of at most {limit} bytes "
                     f"(RLIMIT_FSIZE, `ulimit -f`) and {largest} is "
                     f"{sizes.get(largest, 0)} bytes")
    with suppress(OSError):
        facts.append(f"{shutil.disk_usage(path.parent).free} bytes free on its file system")
    facts.append("raise the file-size limit or free space" if facts and "RLIMIT" in facts[0]
                 else "free space, or check the disk")
    # SQLITE_IOERR_READ, _SHORT_READ, _LOCK...: not a write (say so, the facts hold)
    what = ("a write to" if name == "SQLITE_FULL" or any(
        part in name for part in ("WRITE", "FSYNC", "TRUNCATE", "SHM", "MMAP", "EXTEND"))
        else "an operation on")
    return f" ({name}: {what} the data files failed; " + "; ".join(facts) + ")"


class SqliteStorage:
    """A :class:`~impl.storage.base.Storage` in one SQLite file (WAL mode).

    ``path``: the database file (created if missing). ``fsync``: ``"always"``
    or ``"buffered"`` (see the module docstring for the trade). ``batch``: with
    ``"buffered"``, commit automatically after this many changes.
    ``storage_id``: the bytes a new file's ``storage-id`` meta entry gets
    (default: 16 random bytes from ``os.urandom``); the node mixes them into its
    actor id (:func:`impl.versions.lifetime_actor`), so a replaced disk gives a
    new actor even when everything else about the node's start repeats.
    ``hint_epochs``: the source the hint epoch of every open but a new file's first
    is drawn from (default: ``random.SystemRandom()``; the simulator passes a
    seeded one), see the module docstring.
    Raises :class:`~impl.errors.StorageError` if the file cannot be opened as a
    vdynamo database.
    """

    def __init__(
        self, path: str | os.PathLike[str], fsync: FsyncPolicy = "always", *, batch: int = 1000,
        storage_id: bytes | None = None, hint_epochs: random.Random | None = None,
    ) -> None:
        self.fsync: FsyncPolicy = check_fsync(fsync)  # type: ignore[assignment]
        self.batch = check_batch(batch)
        if not isinstance(path, str | os.PathLike):
            raise InvalidValueError(f"path must be a str or path, got {path!r}")
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._batching = False
        self._pending = 0
        self._count = 0
        self._epoch = 0
        self._sequence = 0
        self._wal = f"{self.path}-wal"
        #: the log's size at which a commit checkpoints it (:meth:`_checkpoint`)
        self._checkpoint_at = _CHECKPOINT_BYTES + 1
        #: about the bytes the changes since the last look at it wrote (:meth:`_commit`)
        self._logged = 0
        #: checkpoints that copied every frame of the log, and those that could not
        #: (a reader held an older snapshot; or an error, in ``checkpoint_errors``)
        self.checkpoints = 0
        self.checkpoints_partial = 0
        self.checkpoint_errors = 0
        #: number of commits that made buffered changes durable (for tests and benchmarks)
        self.flushes = 0
        #: a buffered commit since the last fsync of the log: :meth:`flush` fsyncs it
        #: even when nothing is pending (the batch's own commit came first)
        self._unsynced = False
        if storage_id is not None and not isinstance(storage_id, bytes):
            raise InvalidValueError(f"storage_id must be bytes, got {type(storage_id).__name__}")
        self._storage_id = storage_id
        if hint_epochs is not None and not isinstance(hint_epochs, random.Random):
            raise InvalidValueError(
                f"hint_epochs must be a random.Random, got {type(hint_epochs).__name__}")
        self._hint_epochs = hint_epochs if hint_epochs is not None else random.SystemRandom()
        self._open()

    # ------------------------------------------------------------------ opening

    def _open(self) -> None:
        check_log_pairing(self.path)  # before SQLite reads the file through its log
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise _failed("cannot open SQLite database", self.path, exc) from exc
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise StorageError(
                    f"SQLite database {str(self.path)!r} cannot use WAL mode (got {mode!r})")
            conn.execute("PRAGMA wal_autocheckpoint=0")  # the engine's own: _checkpoint
            conn.execute(f"PRAGMA journal_size_limit={_CHECKPOINT_BYTES}")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise StorageError(
                    f"SQLite database {str(self.path)!r} has schema version {version}; "
                    f"this engine reads version {SCHEMA_VERSION}")
            conn.execute("PRAGMA synchronous=FULL")
            if version == 0 and conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                raise StorageError(
                    f"SQLite database {str(self.path)!r} is not a vdynamo database "
                    "(it has tables but no vdynamo schema version)")
            if version == 0:
                conn.executescript(
                    f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
                conn.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('storage-id', ?)",
                             (self._storage_id if self._storage_id is not None
                              else os.urandom(16),))
            # the intended nodes of the hints, read without the table (hint_nodes);
            # created on a file of an earlier session too (an index: no new version)
            conn.execute("CREATE INDEX IF NOT EXISTS hints_by_intended ON hints (intended)")
            # a key's hints, read by a fallback that answers a get (hints_of; session 49)
            conn.execute("CREATE INDEX IF NOT EXISTS hints_by_key ON hints (key)")
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT value FROM engine WHERE name = 'epoch'").fetchone()
            if row is None:  # a new file: its first epoch drawn from its storage-id
                found = conn.execute(
                    "SELECT value FROM meta WHERE name = 'storage-id'").fetchone()
                if found is not None and not isinstance(found[0], bytes):
                    raise StorageError(
                        f"SQLite database {str(self.path)!r} has a malformed storage-id "
                        f"meta entry (a {type(found[0]).__name__}, not a blob)")
                epoch = first_epoch(found[0] if found else b"")
            else:  # drawn, not counted: a restored file repeats its count
                epoch = self._draw_epoch(conn, row[0])
            conn.execute(
                "INSERT INTO engine (name, value) VALUES ('epoch', ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (epoch,))
            _seal(conn)
            conn.execute("COMMIT")  # durable (synchronous=FULL): ids never repeat
            try:  # the log in use starts on this file (else it goes on: sealed)
                self._checkpoint(conn, sealed=True)
            except sqlite3.Error:  # (a full disk: the open stands, as before)
                self.checkpoint_errors += 1
            count = conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
            if self.fsync == "buffered":
                conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            _close_keeping_log(conn, self.path)
            raise _failed("cannot open SQLite database", self.path, exc) from exc
        except StorageError:
            _close_keeping_log(conn, self.path)
            raise
        self._conn = conn
        self._epoch, self._sequence = epoch, 0
        self._count = count
        self._pending = 0

    # ------------------------------------------------------------------ versions

    def read(self, key: bytes) -> bytes | None:
        """The record stored under ``key``, or None."""
        conn = self._read_connection()
        check_key(key)
        row = self._query(conn, "SELECT record FROM versions WHERE pos = ? AND key = ?",
                          (position_bytes(key_position(key)), key)).fetchone()
        return None if row is None else bytes(row[0])

    def write(self, key: bytes, record: bytes) -> None:
        """Store ``record`` under ``key`` (replacing what was there)."""
        check_key(key)
        check_record(record)
        pos = position_bytes(key_position(key))
        with self._mutation(len(record)) as conn:
            updated = conn.execute("UPDATE versions SET record = ? WHERE pos = ? AND key = ?",
                                   (record, pos, key)).rowcount
            if not updated:
                conn.execute("INSERT INTO versions (pos, key, record) VALUES (?, ?, ?)",
                             (pos, key, record))
        if not updated:
            self._count += 1

    def delete(self, key: bytes) -> None:
        """Remove ``key`` and its record (nothing happens if it is absent)."""
        check_key(key)
        pos = position_bytes(key_position(key))
        conn = self._connection()
        if self._query(conn, "SELECT 1 FROM versions WHERE pos = ? AND key = ?",
                       (pos, key)).fetchone() is None:
            return
        with self._mutation() as conn:
            conn.execute("DELETE FROM versions WHERE pos = ? AND key = ?", (pos, key))
        self._count -= 1

    def scan(self, lo: int = 0, hi: int | None = None) -> Iterator[tuple[bytes, bytes]]:
        """Keys whose ring position p is in ``[lo, hi)``, in position order, with records.

        ``hi`` None means the end of the ring. ``lo > hi`` is a range wrapping past
        the top of the ring: ``[lo, 2**128)`` then ``[0, hi)``. ``lo == hi`` is empty.
        Rows are read in pages of 256, so a long scan holds no lock between pages:
        a key present during the whole scan is yielded exactly once; a key written
        or deleted meanwhile may or may not be.
        """
        self._connection()
        return self._pages(scan_segments(lo, hi))

    def _pages(self, segments: list[tuple[int, int]]) -> Iterator[tuple[bytes, bytes]]:
        for low, high in segments:
            upper = "" if high >= RING_SIZE else " AND pos < :hi"
            params: dict[str, bytes] = {"lo": position_bytes(low)}
            if upper:
                params["hi"] = position_bytes(high)
            where = "pos >= :lo"
            while True:
                rows = self._query(
                    self._read_connection(),
                    f"SELECT pos, key, record FROM versions WHERE {where}{upper} "
                    f"ORDER BY pos, key LIMIT {_SCAN_PAGE}", params).fetchall()
                for _, key, record in rows:
                    yield bytes(key), bytes(record)
                if len(rows) < _SCAN_PAGE:
                    break
                params["last_pos"], params["last_key"] = rows[-1][0], rows[-1][1]
                where = "(pos, key) > (:last_pos, :last_key)"

    def __len__(self) -> int:
        """Number of stored keys."""
        return self._count

    # ------------------------------------------------------------------ hints

    def add_hint(self, intended: str, key: bytes, record: bytes) -> int:
        """Keep ``record`` of ``key`` for node ``intended``; returns the new hint's id."""
        check_node(intended)
        check_key(key)
        check_record(record)
        if self._sequence + 1 >= 1 << _SEQUENCE_BITS:
            self._bump_epoch()
        hint_id = (self._epoch << _SEQUENCE_BITS) | (self._sequence + 1)
        with self._mutation(len(record)) as conn:
            conn.execute("INSERT INTO hints (hint_id, intended, key, record) VALUES (?, ?, ?, ?)",
                         (hint_id, intended, key, record))
        self._sequence += 1
        return hint_id

    def hints(self) -> list[Hint]:
        """Every hint kept, in id order."""
        rows = self._query(self._read_connection(),
                           "SELECT hint_id, intended, key, record FROM hints ORDER BY hint_id",
                           ()).fetchall()
        return [Hint(hint_id, intended, bytes(key), bytes(record))
                for hint_id, intended, key, record in rows]

    def hints_of(self, key: bytes) -> list[Hint]:
        """The hints kept of ``key``, in id order (the ``hints_by_key`` index)."""
        rows = self._query(self._read_connection(),
                           "SELECT hint_id, intended, record FROM hints WHERE key = ? "
                           "ORDER BY hint_id", (key,)).fetchall()
        return [Hint(hint_id, intended, key, bytes(record)) for hint_id, intended, record in rows]

    def hint_nodes(self) -> set[str]:
        """The nodes some kept hint is meant for: a skip scan of the
        ``hints_by_intended`` index, one lookup per node (never the records)."""
        conn = self._read_connection()
        nodes: set[str] = set()
        row = self._query(conn, "SELECT MIN(intended) FROM hints", ()).fetchone()
        while row is not None and row[0] is not None:
            nodes.add(row[0])
            row = self._query(conn, "SELECT MIN(intended) FROM hints WHERE intended > ?",
                              (row[0],)).fetchone()
        return nodes

    def hint_heads(self, after: int | None, limit: int) -> list[HintHead]:
        """At most ``limit`` hints whose id is above ``after`` (None: from the first),
        in id order, without their records: a page read by the primary key, so that
        a hint scan reads a bounded batch and no record it does not send, never the
        whole table (session 14: a scan of 47 MB of hints took 9% of a core idle)."""
        if after is not None:
            check_hint_id(after)
            if after >= (1 << 63) - 1:
                return []
        lowest = -(1 << 63) if after is None else max(after + 1, -(1 << 63))
        rows = self._query(self._read_connection(),
                           "SELECT hint_id, intended, key FROM hints WHERE hint_id >= ? "
                           "ORDER BY hint_id LIMIT ?", (lowest, limit)).fetchall()
        return [(hint_id, intended, bytes(key)) for hint_id, intended, key in rows]

    def get_hint(self, hint_id: int) -> Hint | None:
        """The hint with id ``hint_id``, or None (an extra: not in the base protocol)."""
        conn = self._read_connection()
        check_hint_id(hint_id)
        if not -(1 << 63) <= hint_id < 1 << 63:
            return None
        row = self._query(conn, "SELECT intended, key, record FROM hints WHERE hint_id = ?",
                          (hint_id,)).fetchone()
        return None if row is None else Hint(hint_id, row[0], bytes(row[1]), bytes(row[2]))

    def remove_hint(self, hint_id: int) -> None:
        """Forget a hint (after its intended node acknowledged it); unknown ids are ignored."""
        check_hint_id(hint_id)
        if not -(1 << 63) <= hint_id < 1 << 63:
            return  # no such id can be stored
        conn = self._connection()
        if self._query(conn, "SELECT 1 FROM hints WHERE hint_id = ?",
                       (hint_id,)).fetchone() is None:
            return
        with self._mutation() as conn:
            conn.execute("DELETE FROM hints WHERE hint_id = ?", (hint_id,))

    # ------------------------------------------------------------------ meta

    def get_meta(self, name: str) -> bytes | None:
        """The node's own persisted value ``name`` (membership history, tokens...), or None."""
        conn = self._read_connection()
        check_meta_name(name)
        row = self._query(conn, "SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, name: str, value: bytes) -> None:
        """Persist the node's own value ``name``."""
        check_meta_name(name)
        if not isinstance(value, bytes):
            raise InvalidValueError(f"meta value must be bytes, got {type(value).__name__}")
        with self._mutation() as conn:
            conn.execute("INSERT INTO meta (name, value) VALUES (?, ?) "
                         "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, value))

    # ------------------------------------------------------------------ durability

    def flush(self) -> None:
        """Commit buffered changes and fsync the log (a no-op with ``fsync="always"``), so
        that what was flushed survives a power loss too -- every commit since the last
        flush, the batch's automatic ones included (until session 59's review a flush
        with nothing pending fsynced nothing: a write committed by the batch, then a
        flush, was not durable; ``node.py`` flushes a generation "durable before a
        peer hears it"). Raises StorageError naming the file if either fails. (Until
        session 59 the fsync was a checkpoint's; the
        engine's checkpoints seal the log, :mod:`impl.storage.wal_pairing`, two more
        commits: a flush every 100 writes cost x1.25.)"""
        conn = self._connection()
        if self.fsync == "buffered" and (self._commit(conn) or self._unsynced):
            try:
                fd = os.open(self._wal, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    os.fdatasync(fd)  # (SQLite locks the file and -shm, never the log)
                finally:
                    os.close(fd)
            except FileNotFoundError:
                pass  # no log: nothing was written to one
            except OSError as exc:
                raise StorageError(f"cannot fsync the write-ahead log of "
                                   f"{str(self.path)!r}: {exc}") from exc
            self._unsynced = False

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Make every change inside one transaction: with ``"always"``, committed and
        fsynced once at the end (group commit: one fsync for many writes); with
        ``"buffered"``, part of the batch as usual. If a change or the commit fails,
        the whole transaction is rolled back and StorageError raised: none of its
        changes is stored. Not reentrant."""
        self.begin_batch()
        try:
            yield
        except BaseException:
            self.abort_batch()
            raise
        self.commit_batch()

    def begin_batch(self) -> None:
        """Start a transaction that the changes until :meth:`commit_batch` (or
        :meth:`abort_batch`) join (``"always"``; with ``"buffered"`` a no-op)."""
        self._connection()
        if self.fsync == "always":
            self._batching = True

    def commit_batch(self) -> None:
        """Commit the changes since :meth:`begin_batch` as one transaction, with one
        fsync of the log; on failure roll them all back and raise StorageError (or
        what else the COMMIT raised: MemoryError is SQLite's SQLITE_NOMEM, no
        ``sqlite3.Error``). It may run in another thread than the changes did (never
        at the same time as another call on this engine's writing connection)."""
        conn = self._connection()
        if not self._batching:
            return
        self._batching = False
        try:
            self._commit(conn)
        except Exception:  # (a MemoryError left the transaction open: session 32's review)
            self._rollback(conn)
            raise

    def abort_batch(self) -> None:
        """Roll back the changes since :meth:`begin_batch`."""
        conn = self._connection()
        if self._batching:
            self._batching = False
            self._rollback(conn)

    def _rollback(self, conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        self._pending = 0
        self._count = conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0]

    def open_reader(self) -> None:
        """Serve the reads from a second connection (see the module docstring): a
        read sees the last commit, never the changes of an open transaction."""
        self._connection()
        if self._reader is not None:
            return
        try:
            reader = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            reader.execute("PRAGMA query_only=1")
        except sqlite3.Error as exc:
            raise _failed("cannot open a reader of", self.path, exc) from exc
        self._reader = reader

    def close(self) -> None:
        """Commit what is buffered and close; every later call raises StorageError.

        The log is checkpointed the engine's way first (sealed, copied, a new log
        begun: :meth:`_checkpoint`), so that the file SQLite's own checkpoint at the
        close leaves has an identity of its own (:mod:`impl.storage.wal_pairing`).
        Until session 59's review the close let SQLite copy an unsealed log: the
        closed file kept the identity of the file that log began on, which the next
        log took as its base, so a copy taken mid-log, put back beside that next
        log, was served as a mix (``tests/impl/test_wal_pairing.py``). A failure
        there is counted in :attr:`checkpoint_errors` and the close goes on."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            self._commit(conn)
            try:
                self._checkpoint(conn)
            except sqlite3.Error:
                self.checkpoint_errors += 1
        finally:
            conn.close()

    def crash(self) -> None:
        """Model a process crash and restart: drop the connection without committing,
        then open the file again. What survives is what SQLite made durable."""
        reader = self._reader is not None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()  # an open transaction is rolled back, as when the process dies
        self._open()
        if reader:
            self.open_reader()

    @property
    def pending(self) -> int:
        """Buffered changes not yet committed (always 0 with ``fsync="always"``)."""
        return self._pending

    # ------------------------------------------------------------------ internals

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError(f"the storage engine is closed ({str(self.path)!r})")
        return self._conn

    def _read_connection(self) -> sqlite3.Connection:
        conn = self._connection()
        return conn if self._reader is None else self._reader

    def _query(self, conn: sqlite3.Connection, sql: str,
               params: tuple[object, ...] | dict[str, bytes]) -> sqlite3.Cursor:
        try:
            return conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise _failed("SQLite error on", self.path, exc) from exc

    @contextmanager
    def _mutation(self, size: int = 0) -> Iterator[sqlite3.Connection]:
        """One change: its own durable transaction ("always"), or part of the batch;
        ``size``: the bytes of its record (for :meth:`_commit`'s look at the log)."""
        conn = self._connection()
        try:
            if not conn.in_transaction:
                conn.execute("BEGIN IMMEDIATE")
            yield conn
        except sqlite3.Error as exc:
            if self.fsync == "always" and conn.in_transaction and not self._batching:
                conn.execute("ROLLBACK")
            if not conn.in_transaction:  # SQLite rolled the batch back: recount
                self._pending = 0
                self._count = conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0]
            raise _failed("SQLite error on", self.path, exc) from exc
        self._logged += size + _PAGE_BYTES
        if self.fsync == "always":
            if not self._batching:
                self._commit(conn)
        else:
            self._pending += 1
            if self._pending >= self.batch:
                self._commit(conn)

    def _commit(self, conn: sqlite3.Connection) -> bool:
        """Commit the open transaction (False: none was open). Then checkpoint the log
        if it grew past the checkpoint's size while the engine is open (a failure is
        counted in :attr:`checkpoint_errors` and tried again later: the commit stands)."""
        if not conn.in_transaction:
            return False
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _failed("SQLite commit failed on", self.path, exc) from exc
        if self._pending:
            self.flushes += 1
        self._pending = 0
        self._unsynced = self.fsync == "buffered"
        if self._logged >= _LOOK_BYTES and self._conn is not None:
            self._logged = 0
            if self._log_bytes() < self._checkpoint_at:
                return True
            try:
                self._checkpoint(conn)
            except sqlite3.Error:
                self.checkpoint_errors += 1
                self._checkpoint_at = self._log_bytes() + _CHECKPOINT_BYTES
        return True

    def _log_bytes(self) -> int:
        """The size of the write-ahead log in bytes (0: none)."""
        try:
            return os.stat(self._wal).st_size
        except FileNotFoundError:
            return 0

    def _checkpoint(self, conn: sqlite3.Connection, *, sealed: bool = False) -> bool:
        """Checkpoint the log the engine's way (:mod:`impl.storage.wal_pairing`): seal it
        (unless ``sealed``: the last commit did), copy it into the file
        (``wal_checkpoint(RESTART)``, waiting at most :data:`_CHECKPOINT_WAIT_MS` for
        readers), and when every frame was copied start a new log on the file (its base:
        the file's identity, a new token, no seals), which SQLite restarts from its
        first frame. Returns whether every frame was copied; raises sqlite3.Error."""
        if not sealed:
            _in_transaction(conn, _seal)
        conn.execute(f"PRAGMA busy_timeout={_CHECKPOINT_WAIT_MS}")
        try:
            _, frames, copied = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
        finally:
            conn.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        if frames != copied:  # a reader's older snapshot: the next seal tries again
            self.checkpoints_partial += 1
            self._checkpoint_at = self._log_bytes() + _CHECKPOINT_BYTES
            return False
        _in_transaction(conn, _new_log)
        self.checkpoints += 1
        self._checkpoint_at = _CHECKPOINT_BYTES + 1
        return True

    def _draw_epoch(self, conn: sqlite3.Connection, previous: int) -> int:
        """A hint epoch drawn from ``hint_epochs``, from 1 to 2**31 - 1 (its ids
        within 2**63 - 1, SQLite's INTEGER and the wire's ``impl.messages.MAX_ID``):
        neither ``previous`` (the epoch before it) nor the epoch of a hint the file
        keeps (its ids would meet a kept one's)."""
        while True:
            epoch = self._hint_epochs.randint(1, _MAX_EPOCH)
            if epoch != previous and conn.execute(
                    "SELECT 1 FROM hints WHERE hint_id BETWEEN ? AND ? LIMIT 1",
                    (epoch << _SEQUENCE_BITS,
                     ((epoch + 1) << _SEQUENCE_BITS) - 1)).fetchone() is None:
                return epoch

    def _bump_epoch(self) -> None:
        """Take a new hint epoch (an open's 2**32nd hint): drawn, and recorded durably
        before a hint uses it. Raises :class:`~impl.errors.StorageError` naming the
        file if it cannot be recorded (a full disk); the epoch and sequence in use stay
        as they were, so no hint takes an unrecorded epoch and the next hint tries
        again. Until session 35's review the epoch was taken before its ``UPDATE``,
        which raised a bare ``sqlite3.Error``, and later hints used the unrecorded
        epoch (which a later open could draw again)."""
        conn = self._connection()
        self._commit(conn)
        try:
            epoch = self._draw_epoch(conn, self._epoch)
            conn.execute("PRAGMA synchronous=FULL")
            try:
                conn.execute("UPDATE engine SET value = ? WHERE name = 'epoch'", (epoch,))
            finally:
                if self.fsync == "buffered":
                    conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise _failed("SQLite could not record a new hint epoch in", self.path,
                          exc) from exc
        self._epoch = epoch
        self._sequence = 0

    def __repr__(self) -> str:
        return (f"SqliteStorage({str(self.path)!r}, fsync={self.fsync!r}, keys={self._count}, "
                f"pending={self._pending})")


def _close_keeping_log(conn: sqlite3.Connection, path: Path) -> None:
    """Close ``conn`` (an open that failed) without SQLite's checkpoint at the close of
    the last connection, which would lay the log over the file and remove it: a
    read-only connection that has read the file holds it open meanwhile, and a
    read-only connection's own close never checkpoints (sqlite.org, "Write-Ahead
    Logging" 4; session 59's review: an open that failed on a file read through a
    mispaired log as "malformed" cut the file from 8,323,072 to 245,760 bytes at its
    close). If the guard cannot read the file, a plain close."""
    guard = None
    with suppress(sqlite3.Error):
        guard = sqlite3.connect(f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro",
                                uri=True, isolation_level=None)
        guard.execute("PRAGMA schema_version").fetchone()
    try:
        conn.close()
    finally:
        if guard is not None:
            guard.close()


def _set_marks(conn: sqlite3.Connection, marks: dict[str, int]) -> None:
    """Write the write-ahead log marks ``marks`` (name -> value) in the open transaction."""
    conn.executemany("INSERT INTO engine (name, value) VALUES (?, ?) "
                     "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                     sorted(marks.items()))


def _seal(conn: sqlite3.Connection) -> None:
    """Seal the log in use (:mod:`impl.storage.wal_pairing`), in the open transaction:
    one more seal of its token (a token drawn first for a log that has none)."""
    _, log, seals = read_marks(conn)
    if not log:
        log, seals = draw_log_token(), 0
    _set_marks(conn, {"wal-log": log, "wal-seals": seals + 1})


def _new_log(conn: sqlite3.Connection) -> None:
    """Start a new log on the file (every frame of the old one copied into it), in the
    open transaction: its base the file's identity, a new token, no seals."""
    _set_marks(conn, {"wal-base": identity(read_marks(conn)), "wal-log": draw_log_token(),
                      "wal-seals": 0})


def _in_transaction(conn: sqlite3.Connection, change: Callable[[sqlite3.Connection], None],
                    ) -> None:
    """``change`` made and committed in a transaction of its own (rolled back if it fails)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        change(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
