"""kill -9 in the middle of writes, on real processes (Riak's "acknowledged writes
lost after a node crash", kv679's W = 1 form; Cassandra's commitlog_sync periodic
losing acknowledged writes at a kill -9).

3 processes, N=3 R=2 W=2, for dvv and server-vclock.
- w1: n2 and n3 SIGSTOPped (the only copy of each write is n1's); four client
  threads put through n1 at w=1: two blind puts of new keys (64 B to 256 KiB), two a
  read-modify-write chain (r=1) of a hot key each; n1 is SIGKILLed 2 s in, n2 and n3
  SIGCONTed, n1 started on its data.
- w2: every node running; four threads put 512 KiB values of new keys through n1 at
  w=2 and a read-modify-write chain of a hot key; n1 SIGKILLed 2 s in; each
  acknowledged put read at once at r=2 through n2 (n1 still dead); n1 started.
Right value: every acknowledged put (200) reads back its value at r=3 through each
node once the cluster is quiet (a blind key alone; a hot key: its last acknowledged
value, or a later one of its chain whose put was cut off by the kill, applied
with its context: nothing older); in w2 also at
r=2 through n2 while n1 is dead.

Run from the project's root: .venv/bin/python probes/01e-kill9-mid-write-w1-peers-stopped.py [w1|w2]
Loopback only, about 20 s a run; every process stopped (SIGCONT first).
"""
from __future__ import annotations

import http.client
import os
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from importlib import import_module

from _cluster import LocalNodes

restored = import_module("01d-amnesia-restored-backup-and-cloned-store")
FAST = restored.FAST


def writer(c: LocalNodes, tag: str, w: int, size: int, hot: bool, stop: threading.Event,
           acked: dict[str, bytes]) -> None:
    i = 0
    while not stop.is_set():
        key = f"hot-{tag}" if hot else f"{tag}-{i}"
        value = f"{tag}-{i}-".encode() + b"x" * (size if not hot else 8)
        try:
            context = c.read(key, node="n1", query="?r=1")[1] if hot else None
            headers = {"Content-Type": "application/octet-stream"}
            if context:
                headers["X-Vdynamo-Context"] = context
            status = c.request("PUT", key, value, "n1", f"?w={w}", headers, timeout=5)[0]
        except (OSError, http.client.HTTPException, RuntimeError):
            return  # n1 killed
        if status == 200:
            acked[key] = value
        i += 1


def index(value: bytes) -> int:
    return int(value.split(b"-")[1])


def right(key: str, value: bytes, vals: list[bytes]) -> bool:
    """A blind key: its value alone. A hot key: its last acknowledged value, or
    later ones of its chain (a put cut off by the kill may have been applied with
    its context, replacing it), nothing older."""
    if not key.startswith("hot"):
        return vals == [value]
    return bool(vals) and all(index(v) >= index(value) for v in vals)


def run(clock: str, kind: str) -> list[str]:
    wrong: list[str] = []
    w = 1 if kind == "w1" else 2
    with LocalNodes(nodes=3, per_process=True,
                    extra_cluster=f'clock = "{clock}"\n{FAST}') as c:
        paused = ["n2", "n3"] if kind == "w1" else []
        try:
            for name in paused:
                os.kill(c.procs[name].pid, signal.SIGSTOP)
            acked: dict[str, bytes] = {}
            stop = threading.Event()
            sizes = [(64, False), (256 << 10, False), (0, True), (0, True)] if w == 1 else \
                [(512 << 10, False), (512 << 10, False), (512 << 10, False), (0, True)]
            threads = [threading.Thread(target=writer, args=(c, f"t{n}", w, size, hot, stop,
                                                             acked))
                       for n, (size, hot) in enumerate(sizes)]
            for t in threads:
                t.start()
            time.sleep(2.0)
            c.kill("n1")
            stop.set()
            for t in threads:
                t.join(20)
        finally:
            for name in paused:
                os.kill(c.procs[name].pid, signal.SIGCONT)
        early_wrong = 0
        if kind == "w2":
            for key, value in acked.items():
                if not right(key, value, c.values(key, node="n2", query="?r=2")):
                    early_wrong += 1
                    wrong.append(f"{clock} {kind}: {key} not read at r=2 via n2 with n1 dead")
        restored.start_one(c, "n1")
        time.sleep(4.0)
        checked = 0
        for key, value in acked.items():
            for node in c.names:
                vals = c.values(key, node=node, query="?r=3")
                checked += 1
                if not right(key, value, vals):
                    wrong.append(f"{clock} {kind}: {key} via {node}: "
                                 f"{[v[:12] for v in vals]}, acknowledged {value[:12]!r}")
        print(f"{clock:13} {kind}: {len(acked)} keys acknowledged before the kill "
              f"({sum(k.startswith('hot') for k in acked)} hot), {checked} r=3 reads, "
              f"{len(wrong)} wrong ({early_wrong} with n1 dead)")
    return wrong


def main() -> None:
    wrong: list[str] = []
    kinds = sys.argv[1:] or ["w1", "w2"]
    for clock in ("dvv", "server-vclock"):
        for kind in kinds:
            wrong += run(clock, kind)
    for line in wrong[:20]:
        print("FAIL:", line)
    if wrong:
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
