"""A backup of the data file restored *beside the newer write-ahead log* (01d restores
every file of a backup; 01g starts on a file without its log): the operator copies
only `n2.sqlite` back from last night's copy (`cp backup/n2.sqlite data/`), and the
`n2.sqlite-wal` and `n2.sqlite-shm` the crashed process left stay where they are.
SQLite then applies the newer log's pages on top of the older main file (nothing in
the log names the file it belongs to: sqlite.org "How To Corrupt An SQLite Database
File", 1.4 "mispairing a database file and its journal"), so the store is neither the
backup nor the last state but pages of both: Riak's "restored a vnode from backup and
kept the old journal" and Cassandra's "restored sstables with the newer commitlog".

Real processes (`serve --node`), 3 nodes, N=3 R=2 W=2, dvv (or the clocks given),
fast gossip, anti-entropy every 60 s (so that n2's own copy is read before an
exchange mends it). 10 keys v1 at w=3; n2 stopped (SIGTERM: a clean file) and
`n2.sqlite` copied (the backup); n2 started; 30 keys `x*` of 4 KiB at w=3 (pages of
the records' table and its index); n2 restarted (SIGTERM: its log checkpointed into
the file, so the log that follows starts *after* the backup's state, and file + log
are a mispair); read-modify-writes of `hot` through n2 (h1..h5) and of k0..k9 to v2
through n1 at w=3; n2 SIGKILLed (the log is kept, not checkpointed); `n2.sqlite`
alone replaced by the backup; n2 started, waited ready; n1 and n3 SIGSTOPped and
every key read at r=1 through n2 alone (what it holds), n1 and n3 SIGCONTed. Then
through n2: a blind put of `new` at w=1, and a read-modify-write of `hot` (h6).

Right value: either n2 refuses to start naming its data file (exit != 0, a line
that names `n2.sqlite`), or it serves and nothing acknowledged is lost: n2 alone
answers no key it acknowledged at w=3 not found (a 503 is right: it cannot know);
6 s later every key at r=3 through n1, n3 and n2 reads its last value ([v2], `hot`
[h6], `new` [new], `x*` their value); `PRAGMA integrity_check` of n2's file (once
stopped) says ok. `KEEP=DIR` copies the mispaired files (before n2's start) and the
cluster's directory (at the end) into DIR.

Run from the project's root: .venv/bin/python probes/01k-backup-restored-beside-a-newer-wal.py [CLOCK ...]
Loopback only, about 30 s a clock mode; every process stopped.
"""
from __future__ import annotations

import os
from collections import Counter
import shutil
import signal
import sqlite3
import sys
import time
from importlib import import_module
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, each_clock

base = import_module("01d-amnesia-restored-backup-and-cloned-store")
FAST, stop, ready, put, rmw = base.FAST, base.stop, base.ready, base.put, base.rmw
#: fast gossip, anti-entropy slow: n2's own copy is read before an exchange mends it
SETTINGS = FAST.replace("anti_entropy_interval = 0.5", "anti_entropy_interval = 60")


def run(clock: str, checks: Checks) -> None:
    with LocalNodes(nodes=3, per_process=True,
                    extra_cluster=f'clock = "{clock}"\n{SETTINGS}') as c:
        keys = [f"k{i}" for i in range(10)]
        xs = {f"x{i}": bytes([65 + i % 26]) * 4096 for i in range(30)}
        codes = [put(c, k, b"v1", "n1", "alice", query="?w=3") for k in keys]
        codes.append(put(c, "hot", b"h0", "n2", "alice", query="?w=3"))
        time.sleep(0.5)
        stop(c, "n2")
        backup = c.dir / "backup"
        backup.mkdir()
        shutil.copy2(c.dir / "n2.sqlite", backup / "n2.sqlite")
        c.start_node("n2")
        ready(c, "n2")
        codes += [put(c, k, v, "n1", "alice", query="?w=3") for k, v in xs.items()]
        time.sleep(0.5)
        stop(c, "n2")  # a checkpoint: the log now starts after the x keys
        c.start_node("n2")
        ready(c, "n2")
        codes += [rmw(c, "hot", f"h{i}".encode(), "n2", "alice") for i in range(1, 6)]
        for k in keys:
            _, ctx = c.read(k, node="n1")
            codes.append(put(c, k, b"v2", "n1", "alice", ctx, query="?w=3"))
        time.sleep(0.5)
        c.kill("n2")
        wal = c.dir / "n2.sqlite-wal"
        wal_bytes = wal.stat().st_size if wal.exists() else 0
        shutil.copy2(backup / "n2.sqlite", c.dir / "n2.sqlite")
        if os.environ.get("KEEP"):
            (Path(os.environ["KEEP"]) / "mispair").mkdir(parents=True, exist_ok=True)
            for f in c.dir.glob("n2.sqlite*"):
                shutil.copy2(f, Path(os.environ["KEEP"]) / "mispair" / f.name)
        proc = c.start_node("n2")
        time.sleep(2.0)
        alive = proc.poll() is None
        log = (c.dir / "n2.log").read_text(errors="replace")
        print(f"{clock}: puts {sorted(set(codes))}; n2's log {wal_bytes} bytes when "
              f"restored; n2 {'serving' if alive else f'exited {proc.returncode}'}")
        if not alive:
            tail = [line for line in log.splitlines() if line.strip()][-3:]
            print("   n2 said:", " | ".join(tail)[:400])
            checks(f"{clock}: n2 refused naming its data file", "n2.sqlite" in log, tail)
            checks(f"{clock}: every put before 200", set(codes) <= {200}, codes)
            return
        ready(c, "n2")
        for name in ("n1", "n3"):
            os.kill(c.procs[name].pid, signal.SIGSTOP)
        try:
            early = {k: c.request("GET", k, node="n2", query="?r=1")[0] for k in [*xs, *keys]}
        finally:
            for name in ("n1", "n3"):
                os.kill(c.procs[name].pid, signal.SIGCONT)
        print(f"   at once, r=1 through n2 with n1 and n3 stopped (each key acknowledged "
              f"by n2 at w=3): {sorted(Counter(early.values()).items())}")
        checks(f"{clock}: n2 alone answers no write it acknowledged not found",
               404 not in early.values(), [k for k, v in early.items() if v == 404][:8])
        after = [put(c, "new", b"new", "n2", "bob", query="?w=1"),
                 rmw(c, "hot", b"h6", "n2", "alice")]
        time.sleep(6.0)
        want = {**{k: [b"v2"] for k in keys}, "hot": [b"h6"], "new": [b"new"],
                **{k: [v] for k, v in xs.items()}}
        wrong = [(k, n, vals) for n in ("n1", "n3", "n2") for k, w in want.items()
                 for vals in [sorted(c.values(k, node=n, query="?r=3"))] if vals != w]
        print(f"   after the restore: puts {after}; {3 * len(want)} reads at r=3, "
              f"{len(wrong)} wrong {wrong[:4]}")
        stop(c, "n2")
        if os.environ.get("KEEP"):
            shutil.copytree(c.dir, os.environ["KEEP"], dirs_exist_ok=True)
        with sqlite3.connect(c.dir / "n2.sqlite") as db:
            integrity = [row[0] for row in db.execute("PRAGMA integrity_check")][:3]
        print(f"   n2's file: integrity_check {integrity}")
        checks(f"{clock}: every put 200", set(codes + after) <= {200}, codes + after)
        checks(f"{clock}: every key's last value at r=3 everywhere", not wrong, wrong[:6])
        checks(f"{clock}: n2's file passes integrity_check", integrity == ["ok"], integrity)


if __name__ == "__main__":
    each_clock(run)
