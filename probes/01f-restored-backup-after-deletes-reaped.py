"""A node's data restored from a backup taken before keys were deleted, after their
tombstones were reaped everywhere (Cassandra: restoring a snapshot older than
gc_grace_seconds brings deleted data back; Riak kv679's "doomstone" family): the
backup holds the old values, no replica holds a tombstone any more.

3 processes, N=3 R=2 W=2, tombstone_grace_s = 0.5, fast anti-entropy; dvv, lww and
server-vclock. 10 keys v1 at w=3; n2 stopped (SIGTERM), its files copied (the
backup), n2 started; every key read and deleted with its context at w=3 and read
again at r=3 (the reap's check), 4 s (8 graces); n2 SIGKILLed, its files replaced by
the backup, started; 6 s of anti-entropy. Also a key `fresh` written blind through
n2 after the restore.
Right value: every deleted key reads nothing at r=3 through n1 and n3 (an
acknowledged delete stays deleted); `fresh` reads its value.

Run from the project's root:
    .venv/bin/python probes/01f-restored-backup-after-deletes-reaped.py [CLOCKS]
Loopback only, about 25 s a clock mode; every process stopped.
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from importlib import import_module
from pathlib import Path
from urllib.request import urlopen

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

restored = import_module("01d-amnesia-restored-backup-and-cloned-store")
KEYS = [f"z{i}" for i in range(10)]


def run(clock: str) -> list[str]:
    wrong: list[str] = []
    with LocalNodes(nodes=3, per_process=True, extra_cluster=(
            f'clock = "{clock}"\ntombstone_grace_s = 0.5\n{restored.FAST}')) as c:
        codes = [c.put(k, b"v1", query="?w=3") for k in KEYS]
        time.sleep(1.0)
        restored.stop(c, "n2")
        backup = c.dir / "backup"
        backup.mkdir()
        restored.copy_store(c, "n2", "n2", into=backup)
        restored.start_one(c, "n2")
        for k in KEYS:
            _, ctx = c.read(k, query="?r=3")
            headers = {"X-Vdynamo-Context": ctx} if ctx else {}
            codes.append(c.request("DELETE", k, None, "n1", "?w=3", headers)[0])
        time.sleep(1.0)
        gone = [c.values(k, query="?r=3") for k in KEYS]
        time.sleep(4.0)
        held = {node: json.loads(urlopen(f"http://127.0.0.1:{c.http[node]}/status",
                                         timeout=10).read())["keys"] for node in c.names}
        c.kill("n2")
        for f in restored.files(c, "n2"):
            f.unlink()
        for f in backup.iterdir():
            shutil.copy2(f, c.dir / f.name)
        restored.start_one(c, "n2")
        codes.append(restored.put(c, "fresh", b"new", "n2", "bob"))
        time.sleep(6.0)
        back = {(k, node): c.values(k, node=node, query="?r=3")
                for k in KEYS for node in ("n1", "n3")}
        fresh = c.values("fresh", node="n3", query="?r=3")
        came_back = sorted({k for (k, _), v in back.items() if v})
        print(f"{clock:13}: codes {sorted(set(codes))}; after the deletes {sum(map(bool, gone))} "
              f"of 10 read a value; records held then {held} (0: reaped); after the "
              f"restore {len(came_back)} of 10 came back "
              f"{came_back[:5]}; fresh {fresh}")
        if any(held.values()):
            wrong.append(f"{clock}: the tombstones were not reaped ({held}): scenario not met")
        if set(codes) - {200, 204} or any(gone) or came_back or fresh != [b"new"]:
            wrong.append(f"{clock}: codes {codes}, back {came_back}, fresh {fresh}")
    return wrong


def main() -> None:
    wrong: list[str] = []
    for clock in sys.argv[1:] or ("dvv", "lww", "server-vclock"):
        wrong += run(clock)
    for line in wrong:
        print("FAIL:", line)
    if wrong:
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
