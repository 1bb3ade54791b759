"""A write the file-size limit stopped names the limit and the file (session 32).

Scenario (service probe, session 32): three ``vdynamo serve`` processes, n1's under
``ulimit -f`` (RLIMIT_FSIZE 1,500,000 bytes), 100 KB puts through n1. Once its log
file (``n1.sqlite-wal``) reached the limit every put was answered 500
``SQLite commit failed on '.../n1.sqlite': disk I/O error``, and n1 restarted
under a lower limit refused to start with ``cannot open SQLite database ...: disk
I/O error``: the words of a failing disk, for a limit of the process. SQLite maps
EFBIG to SQLITE_IOERR_WRITE. Now the message names the limit, the largest data
file and the space free (``impl.storage.sqlite._write_stopped``).

The engine runs in a child process with the limit set (CPython ignores SIGXFSZ,
so the write fails with EFBIG rather than killing the process)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from impl.storage.sqlite import _write_stopped

_ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[2]), resource.RLIM_INFINITY))
from impl.errors import StorageError
from impl.storage.sqlite import SqliteStorage
try:
    engine = SqliteStorage(Path(sys.argv[1]))
    for i in range(100):
        engine.set_meta(f"m{i}", bytes(10_000))
except StorageError as error:
    print(error)
else:
    print("no error")
"""


def _first_error(tmp_path: Path, limit: int) -> str:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "n1.sqlite"), str(limit)],
                          capture_output=True, text=True, timeout=60, check=True, cwd=_ROOT)
    return done.stdout.strip()


@pytest.mark.parametrize(("limit", "opening"), [(200_000, False), (3_000, True)])
def test_a_write_past_the_file_size_limit_names_the_limit_and_the_file(
        tmp_path: Path, limit: int, opening: bool) -> None:
    message = _first_error(tmp_path, limit)
    assert message.startswith("cannot open SQLite database" if opening
                              else "SQLite commit failed on"), message
    assert "disk I/O error (SQLITE_IOERR_WRITE: a write to the data files failed" in message
    assert (f"this process may write files of at most {limit} bytes (RLIMIT_FSIZE, "
            "`ulimit -f`)") in message, message
    assert "bytes free on its file system; raise the file-size limit or free space" in message
    if not opening:  # the log reached the limit, and the message says so
        assert f"n1.sqlite-wal is {limit} bytes" in message, message


def test_an_error_that_is_no_failed_write_says_nothing_of_limits(tmp_path: Path) -> None:
    path = tmp_path / "n1.sqlite"
    path.write_bytes(b"not a database" * 100)
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path), "10000000"],
                          capture_output=True, text=True, timeout=60, check=True, cwd=_ROOT)
    assert "file is not a database" in done.stdout and "RLIMIT" not in done.stdout, done.stdout


@pytest.mark.parametrize(("name", "what"), [
    ("SQLITE_FULL", "a write to"), ("SQLITE_IOERR_FSYNC", "a write to"),
    ("SQLITE_IOERR_READ", "an operation on"), ("SQLITE_BUSY", None)])
def test_only_a_failed_write_is_called_one(tmp_path: Path, name: str, what: str | None) -> None:
    """A read that failed (SQLITE_IOERR_READ) is not called a write; an error that is
    no I/O failure (SQLITE_BUSY) gets no diagnosis."""
    error = sqlite3.OperationalError("disk I/O error")
    error.sqlite_errorname = name
    said = _write_stopped(tmp_path / "n1.sqlite", error)
    if what is None:
        assert said == ""
    else:
        assert said.startswith(f" ({name}: {what} the data files failed; "), said
        assert "bytes free on its file system" in said
