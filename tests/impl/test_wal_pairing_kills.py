"""SIGKILL at seeded moments of a loaded engine, its own checkpoints included: every
restart opens and keeps every acknowledged write; a copy of the file alone put back
beside the killed process's log is refused or, if let in, reads every write too
(session 59's review of :mod:`impl.storage.wal_pairing`).

A child process writes keys (values of 1 to 8 KiB, so that its log passes the
engine's 4 MB checkpoint several times), closes and reopens its engine every 300
writes, copies the data file alone (a backup) at a seeded write, and kills itself
with SIGKILL at a seeded *event*: an acknowledged write (``always``: the write
returned; ``buffered``: a ``flush()`` returned, every 7 writes), the engine's seal
committed (before ``wal_checkpoint(RESTART)``), the RESTART returned (before the new
log's ``wal-base`` commit), the new log committed, a close begun, or -- from a thread
that sleeps 0 to 3 ms while the RESTART runs (sqlite3 releases the GIL) -- mid-copy.
The parent then opens the files (it must start), reads every acknowledged key, and
runs ``PRAGMA integrity_check``; then it puts the backup back beside the killed
process's ``-wal`` and ``-shm`` and opens again: a refusal (StorageError "does not
belong") is right; an open must read every acknowledged key.

``KILL_SEEDS`` seeds per fsync mode (2 by default, about 2.5 CPU-s; 50 under
``HYPOTHESIS_PROFILE=soak``). Session 59's review ran 50 seeds per mode (after its
fix of ``close``): every restart opened and kept every acknowledged write, and
``integrity_check`` was ok; of the backups, 97 of 100 were refused and the 3 let in
(taken on the log the kill left, no complete checkpoint since) read every write.
Mutant (``_new_log`` taking the old ``wal-base`` instead of the file's identity):
seed 0 of ``buffered`` refused a normal crash ("does not belong"). A process kill
loses nothing the page cache holds, so these kills cannot see an fsync removed:
power loss is argued in docs/storage.md, and ``flush``'s fsync is counted in
``test_wal_pairing.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from impl.errors import StorageError
from impl.storage.sqlite import SqliteStorage

ROOT = Path(__file__).resolve().parents[2]
SEEDS = int(os.environ.get("KILL_SEEDS", "50" if os.environ.get(
    "HYPOTHESIS_PROFILE") == "soak" else "2"))

_CHILD = r"""
import os, random, shutil, signal, sys, threading, time
from pathlib import Path
from impl.storage import sqlite as eng
from impl.storage.sqlite import SqliteStorage
path, mode, seed = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rng = random.Random(seed)
writes = 1800
# half the seeds kill at an acknowledgement, half at one of the engine's checkpoint
# events (its seal, its RESTART returned or under way, its new log, a close, an open)
on_checkpoint = rng.random() < 0.5
kill_at = rng.randrange(1, 45) if on_checkpoint else rng.randrange(
    1, writes if mode == "always" else writes // 7)
backup_at = rng.randrange(writes)
counts = {True: 0, False: 0}
def event(what, checkpoint=True):
    counts[checkpoint] += 1
    if checkpoint == on_checkpoint and counts[checkpoint] == kill_at:
        print("kill", what, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
real_in = eng._in_transaction
def in_transaction(conn, change):
    if change is eng._new_log:
        event("restart-returned")
    real_in(conn, change)
    event("sealed" if change is eng._seal else "new-log-committed")
eng._in_transaction = in_transaction
real_ckpt = SqliteStorage._checkpoint
def checkpoint(self, conn, *, sealed=False):
    if sealed:
        event("open-sealed")
    if on_checkpoint and counts[True] + 1 + (not sealed) == kill_at and rng.random() < 0.5:
        delay = rng.random() * 0.003  # the RESTART under way: a kill from a thread
        def kill():
            time.sleep(delay)
            print("kill mid-checkpoint", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        threading.Thread(target=kill, daemon=True).start()
    return real_ckpt(self, conn, sealed=sealed)
SqliteStorage._checkpoint = checkpoint
store = SqliteStorage(path, mode, batch=50)
unflushed = []
for i in range(writes):
    key = b"k%d" % rng.randrange(600)
    value = b"%d:" % i + os.urandom(4) * rng.randrange(256, 2048)
    store.write(key, value)
    if mode == "always":
        print("ack", key.decode(), i, flush=True)
        event("write", False)
    else:
        unflushed.append((key, i))
        if i % 7 == 6:
            store.flush()
            for k, n in unflushed:
                print("ack", k.decode(), n, flush=True)
            unflushed = []
            event("flush", False)
    if i == backup_at:
        shutil.copy2(path, f"{path}.backup")
    if i % 300 == 299:
        event("close")
        store.close()
        store = SqliteStorage(path, mode, batch=50)
print("done", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def acknowledged(out: str) -> dict[bytes, int]:
    """The last acknowledged write of each key (its number), from the child's lines."""
    last: dict[bytes, int] = {}
    for line in out.splitlines():
        if line.startswith("ack "):
            _, key, n = line.split()
            last[key.encode()] = int(n)
    return last


def reads_every_write(path: Path, acked: dict[bytes, int]) -> list[bytes]:
    """The acknowledged keys that do not read back their write or a later one."""
    store = SqliteStorage(path)
    try:
        missing = []
        for key, n in acked.items():
            got = store.read(key)
            if got is None or int(got.split(b":")[0]) < n:
                missing.append(key)
        return missing
    finally:
        store.close()


def run_seed(where: Path, mode: str, seed: int) -> tuple[str, bool]:
    """One seeded kill; returns (the event killed at, whether a backup was let in)."""
    path = where / "n.sqlite"
    child = subprocess.run([sys.executable, "-c", _CHILD, str(path), mode, str(seed)],
                           capture_output=True, text=True, cwd=ROOT, timeout=120,
                           check=False)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    acked = acknowledged(child.stdout)
    killed = [line for line in child.stdout.splitlines() if not line.startswith("ack")]
    crash = where / "crash"
    crash.mkdir()
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{path}{suffix}").exists():
            shutil.copy2(f"{path}{suffix}", crash / f"n.sqlite{suffix}")
    assert reads_every_write(path, acked) == [], (mode, seed, killed)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    if not Path(f"{path}.backup").exists():  # killed before the backup
        return killed[0] if killed else "?", False
    shutil.copy2(f"{path}.backup", crash / "n.sqlite")
    try:
        missing = reads_every_write(crash / "n.sqlite", acked)
    except StorageError as exc:
        assert "does not belong" in str(exc)
        return killed[0] if killed else "?", False
    assert missing == [], (mode, seed, killed, "a mispaired backup let in")
    return killed[0] if killed else "?", True


@pytest.mark.parametrize("mode", ["always", "buffered"])
def test_kills_at_seeded_events_keep_every_acknowledged_write(
        tmp_path: Path, mode: str) -> None:
    """``SEEDS`` seeded kills in ``mode`` (module docstring)."""
    for seed in range(SEEDS):
        where = tmp_path / f"s{seed}"
        where.mkdir()
        run_seed(where, mode, seed)
