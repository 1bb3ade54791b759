"""The peer secret rotated while a member is down and hints for it are pending
(red team 15's workflow; 20m rotates with every member up, 12r under a long-lived
client): what the fallbacks hold for n3 was written under the old secret, and n3
comes back under the new one.

1. `vdynamo cluster up --nodes 4 --dir D` (N=3: each key has a fallback); the
   load (3 threads, 2 processes) 4 s.
2. `vdynamo cluster stop n3 --dir D`; the load 8 s (hints for n3 on the fallbacks,
   deletes too); the load stopped.
3. The secret rotated: `vdynamo cluster down`; a new `[cluster] secret`; `vdynamo
   cluster up --dir D --adopt-store` (n3 too); 12 s (hints, anti-entropy).
4. n1, n2, n4 stopped (`vdynamo cluster stop`); every key whose preference list
   holds n3 read at r=1 through n3 alone: what n3 holds itself.
5. n1, n2, n4 started; every key at r=3.

Right value: in 4, n3 holds every acknowledged write of its keys (or what
superseded it), no superseded value; in 5 the same for every key.

Run from the project's root: .venv/bin/python probes/20s-secret-rotated-while-a-member-is-down-with-hints-pending.py
Loopback only, about 70 s; every process stopped.
"""
from __future__ import annotations

import secrets
import sys
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks  # noqa: E402
from _day import Day, Load, events, judge, vd  # noqa: E402


def main() -> None:
    import vdynamo

    checks = Checks()
    day = Day("20s", nodes=4)
    try:
        checks("cluster up --nodes 4 exits 0", day.up.returncode == 0, day.up.stderr[-300:])
        d, where = str(day.dir), day.root
        load = Load(where, day.seeds())
        time.sleep(4)
        stop = vd("cluster", "stop", "n3", "--dir", d)
        checks("cluster stop n3 exits 0", stop.returncode == 0, stop.stderr[-300:])
        time.sleep(8)
        load.stop()
        down = vd("cluster", "down", "--dir", d, timeout=60)
        checks("cluster down exits 0", down.returncode == 0, down.stderr[-300:])
        toml = day.dir / "cluster.toml"
        old = tomllib.loads(toml.read_text())["cluster"]["secret"]
        toml.write_text(toml.read_text().replace(old, secrets.token_hex(24)))
        up = vd("cluster", "up", "--dir", d, "--adopt-store", timeout=120)
        day.note_pids()
        checks("cluster up --adopt-store (n3 too) exits 0", up.returncode == 0,
               up.stdout[-300:] + up.stderr[-300:])
        time.sleep(12)
        db = vdynamo.connect(day.seeds())
        db.get(b"cart")
        partitioning = db.router.partitioning
        assert partitioning is not None
        keys = {str(e["key"]) for e in events(where)}
        mine = {k for k in keys if "n3" in partitioning.preference_list(k.encode())[:3]}
        for name in ("n1", "n2", "n4"):
            vd("cluster", "stop", name, "--dir", d)
        port = int(str(day.nodes()["n3"]["http"]))
        faults, counts = judge(where, day.seeds(), r=1, via=port, only=mine)
        print(f"n3 alone, its {len(mine)} of {len(keys)} keys: {dict(counts)}")
        checks("n3 alone holds every acknowledged write of its keys", not faults, faults[:3])
        for name in ("n1", "n2", "n4"):
            vd("cluster", "start", name, "--dir", d)
        day.note_pids()
        faults, counts = judge(where, day.seeds())
        print(f"every key at r=3: {dict(counts)}")
        checks("every key at r=3", not faults, faults[:3])
    finally:
        day.tear_down()
    checks.finish()


if __name__ == "__main__":
    main()
