"""Which write-ahead log a SQLite data file belongs with (session 59, probe 01k).

SQLite applies whatever valid log sits beside a database file: nothing in the log
names the file it was written on (sqlite.org, "How To Corrupt An SQLite Database
File", 1.4 "mispairing a database file and its journal"). A backup of
``n2.sqlite`` older than the last checkpoint, put back with the crashed process's
``n2.sqlite-wal`` left in place, opens as a mix: the pages the log holds are the
newest, the others the backup's. Probe 01k: 30 of 40 keys n2 acknowledged at
W = 3 read 404 through it at R = 1, and ``PRAGMA integrity_check`` failed.

*The marks* (three rows of the ``engine`` table, so both in the log's pages and,
once checkpointed, in the main file's):

``wal-log``
    a token drawn for the log in use (31 random bits; 0: none yet, a file of an
    earlier session or a new one);
``wal-seals``
    how many times the engine *sealed* that log: a seal is a commit of this row
    (``wal-seals`` + 1), the last frame of the log when a checkpoint starts. A
    checkpoint that cannot copy every frame (a reader holds an older snapshot)
    copies only the pages no frame past that snapshot rewrote, so it never copies
    the seal's page; a main file that holds a seal was copied whole up to it;
``wal-base``
    what the log in use was started on: the identity (below) of the main file
    after the complete checkpoint that ended the log before, whose last frame was
    a seal. Written in the new log's first transaction.

The *identity* of a state of the file (:func:`identity`) is ``wal-log << 32 |
wal-seals`` when it holds a seal of its log, else its ``wal-base``: the main file
read alone holds every page as of the frame that wrote its identity (and perhaps
pages of later frames). The engine
owns every checkpoint (``wal_autocheckpoint = 0``; :class:`~impl.storage.sqlite.
SqliteStorage`'s ``_checkpoint``: seal, ``wal_checkpoint(RESTART)``, and when every
frame was copied, a new log: base, a new token, no seals); SQLite's own checkpoint
when the last connection closes removes the log, and the next open seals and
checkpoints before it writes anything else. A clean close first checkpoints the
engine's way (session 59's review: else the closed file kept the identity its log
began on, though the close had copied that log into it, and a copy taken mid-log
passed beside the next log), and an open that fails closes without SQLite's
checkpoint (:func:`impl.storage.sqlite._close_keeping_log`).

*The check* (:func:`check_log_pairing`, before the engine's connection opens the
file: reading through SQLite applies the log, and closing the last writing
connection checkpoints the mix into the file and removes the log): when the log has
frames, the main file read alone (``immutable=1``: the log ignored) must have an
identity the log knows (:func:`belongs`): its base, or a seal of its own token. A
normal crash passes (the main file is the log's base plus pages a checkpoint
copied from the log, which the log holds as well, so reading through the log
gives its last commit); a file put back from a copy taken before the log began
fails, and the open is refused with :class:`~impl.errors.StorageError`
naming the file, the log and what to do, nothing written or removed. A file of an
earlier session (no marks: identity 0) passes beside a log without marks and
beside its first marked log (base 0). A main file that is empty or missing is not
read: SQLite discards a log beside an empty file (a new database). The node's
restore guard (:mod:`impl.restore_guard`) then handles a file started alone (the
operator removed the log): a restored store behind its peers is set aside.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from pathlib import Path

from impl.errors import StorageError

__all__ = [
    "WAL_HEADER_BYTES",
    "Marks",
    "belongs",
    "check_log_pairing",
    "draw_log_token",
    "identity",
    "read_marks",
]

#: The size of a write-ahead log's header: a log no longer than it holds no frame
#: (sqlite.org, "Database File Format" 4.1).
WAL_HEADER_BYTES = 32

#: The marks of a state of the file: (``wal-base``, ``wal-log``, ``wal-seals``).
Marks = tuple[int, int, int]

_SEAL_BITS = 32


def identity(marks: Marks) -> int:
    """The identity of a state of the file whose marks are ``marks`` (module
    docstring): ``wal-log << 32 | wal-seals`` when it holds a seal, else its base
    (0: none, a file of an earlier session or a new one)."""
    base, log, seals = marks
    return log << _SEAL_BITS | seals if log and seals else base


def belongs(main: Marks, view: Marks) -> bool:
    """Whether a main file whose marks read alone are ``main`` belongs with a log
    whose marks (the file read through the log) are ``view``: the main file's
    identity is the log's base, or one of the log's own seals (its token, a count
    from 1 to the log's). Every state a normal crash leaves belongs (the log's base
    plus a prefix of its frames); a main file copied before the log's base does not
    (short of a 2**-31 chance that two logs drew one token)."""
    mine = identity(main)
    base, log, seals = view
    if mine == base:
        return True
    return bool(log) and mine >> _SEAL_BITS == log and 1 <= mine & (
        (1 << _SEAL_BITS) - 1) <= seals


def read_marks(conn: sqlite3.Connection) -> Marks:
    """The marks (``wal-base``, ``wal-log``, ``wal-seals``) the connection reads, 0 for
    each missing (a file of an earlier session, or a new file's main file before its
    first checkpoint: no ``engine`` table). Raises sqlite3.Error if the file cannot
    be read."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                    "AND name = 'engine'").fetchone() is None:
        return 0, 0, 0
    # the table alone, not its index: a checkpoint that could not copy every frame
    # copies a page only if no later frame rewrote it, so a main file read alone may
    # hold an index page and a table page of two states (``integrity_check``: "wrong
    # # of entries in index"); the engine table is one page, read whole either way
    found = dict(conn.execute("SELECT name, value FROM engine NOT INDEXED WHERE name IN "
                              "('wal-base', 'wal-log', 'wal-seals')").fetchall())
    base, log, seals = (found.get(name, 0) for name in ("wal-base", "wal-log", "wal-seals"))
    if not all(type(mark) is int and mark >= 0 for mark in (base, log, seals)):
        raise sqlite3.DatabaseError(
            f"malformed write-ahead log marks {(base, log, seals)!r:.120}")
    return base, log, seals


#: SQLite's names of the errors that say the pages read do not make a database (and
#: their extended names, ``SQLITE_CORRUPT_INDEX``...)
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def _read(path: Path, mode: str) -> Marks | sqlite3.Error:
    """The marks of ``path`` opened with the URI parameter ``mode`` (``immutable=1``:
    the main file alone; ``mode=ro``: through its log, read-only, which never
    checkpoints nor removes the log at its close), or the error SQLite raised when
    it cannot read them."""
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?{mode}"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        return exc
    try:
        return read_marks(conn)
    except sqlite3.Error as exc:
        return exc
    finally:
        conn.close()


def check_log_pairing(path: Path) -> None:
    """Refuse the data file ``path`` beside a write-ahead log (``<path>-wal``) it does
    not belong with (module docstring): raises :class:`~impl.errors.StorageError`
    naming the file, the log and the way out. Nothing is written or removed (a
    read-only open may create the ``-shm`` index, which SQLite rebuilds from the log).
    No log, a log without frames, an empty or missing main file, or a main file
    SQLite cannot read alone (a checkpoint's partial copy can leave it so): nothing
    to compare, no error. A file SQLite reads *through the log* as damaged
    (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``) is refused too: a normal crash's pair
    reads whole, and the engine's open, failing on it, would close its connection,
    whose checkpoint lays the log over the file and removes the log (session 59's
    review: an older log beside a newer file cut the file to the log's size)."""
    wal = Path(f"{path}-wal")
    try:
        wal_bytes = wal.stat().st_size
        main_bytes = path.stat().st_size
    except FileNotFoundError:
        return
    if wal_bytes <= WAL_HEADER_BYTES or main_bytes == 0:
        return
    main, view = _read(path, "immutable=1"), _read(path, "mode=ro")
    shm = f"{path.name}-shm"
    if isinstance(view, sqlite3.Error):
        if not str(getattr(view, "sqlite_errorname", "")).startswith(_DAMAGED):
            return  # (not a damaged read: the engine's open says what is wrong)
        raise StorageError(
            f"SQLite database {str(path)!r} cannot be read through the write-ahead log "
            f"beside it ({wal.name}, {wal_bytes} bytes: {view}): the log was written "
            f"on another state of the file (an older log put back beside a newer "
            f"file?), or one of them is damaged, and opening them would checkpoint "
            f"the log over the file and remove it. Nothing was changed. Either put "
            f"back {path.name} with the {wal.name} and {shm} of the same copy, or move "
            f"{wal.name} and {shm} away to start on {path.name} alone. docs/storage.md, "
            f"\"A data file mispaired with its log\"")
    if isinstance(main, sqlite3.Error) or belongs(main, view):
        return
    raise StorageError(
        f"SQLite database {str(path)!r} does not belong with the write-ahead log beside "
        f"it ({wal.name}, {wal_bytes} bytes): the log was written on another state of "
        f"the file (the file put back from a backup or a copy without its log?), and "
        f"opening them together would lay the log's pages over the file's, a mix of "
        f"both that loses writes (sqlite.org, \"How To Corrupt An SQLite Database "
        f"File\" 1.4). Nothing was changed. Either put back {path.name} with the "
        f"{wal.name} and {shm} of the same copy, or move {wal.name} and {shm} away to "
        f"start on {path.name} alone (a restored store: the node sets it aside if its "
        f"peers saw a later one). docs/storage.md, \"A data file mispaired with its "
        f"log\" (the file's identity {identity(main):x}; the log's base "
        f"{view[0]:x}, its token {view[1]:x}, {view[2]} seals)")


def draw_log_token() -> int:
    """A new log's token: 31 random bits, never 0 (``os.urandom``: the token is never
    seen outside the file, and only its difference from the others matters)."""
    return int.from_bytes(os.urandom(4), "big") % ((1 << 31) - 1) + 1
