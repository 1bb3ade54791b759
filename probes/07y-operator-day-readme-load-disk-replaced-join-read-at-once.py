"""An operator's morning (red team 15): README's commands as written, then a library
load of 3 threads and 2 processes through a disk replacement and a join, the
acknowledged writes checked after each step (the per-key oracle of probes/_day.py).

1. `vdynamo cluster up --nodes 5 --dir D`, `vdynamo cluster status --dir D`, then
   README's line `vdynamo put cart milk --dir D; vdynamo get cart --dir D; vdynamo
   delete cart --dir D` and `vdynamo put cart milk --w 2 --pw 2 --dir D; vdynamo get
   cart --r 2 --pr 2 --dir D`, and README's library snippet (`vdynamo.connect`, get,
   put with the context).
2. The load, 12 s; stopped; every key read at r=3.
3. The load again; n2's disk replaced (`vdynamo cluster stop n2 --dir D`, its
   directory removed, `vdynamo cluster start n2 --dir D`); 12 s; every key at r=3.
4. The load again; `vdynamo join n6 --dir D`; the moment it returns, every key read
   at r=2 through n6 alone (raw HTTP: n6's own answer); 8 s more load; every key at
   r=3; `vdynamo leave n6 --dir D`; every key at r=3.

Right value: every command exits 0; after each step every acknowledged write is
read (or superseded by an acknowledged operation that read it), no superseded value
comes back, no value nobody wrote.

Run from the project's root: .venv/bin/python probes/07y-operator-day-readme-load-disk-replaced-join-read-at-once.py
Loopback only, about 90 s; every process stopped.
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks
from _day import Day, Load, vd


def main() -> None:
    checks = Checks()
    day = Day("07y")
    try:
        checks("cluster up exits 0", day.up.returncode == 0, day.up.stderr[-300:])
        d = str(day.dir)
        st = vd("cluster", "status", "--dir", d)
        checks("cluster status exits 0", st.returncode == 0, st.stdout + st.stderr)
        for cmd in (["put", "cart", "milk"], ["get", "cart"], ["delete", "cart"],
                    ["put", "cart", "milk", "--w", "2", "--pw", "2"],
                    ["get", "cart", "--r", "2", "--pr", "2"]):
            got = vd(*cmd, "--dir", d)
            checks(f"vdynamo {' '.join(cmd)} exits 0", got.returncode == 0, got.stderr[-300:])
        import vdynamo
        with vdynamo.connect([day.seeds()[0]]) as db:
            got = db.get("cart")
            db.put("cart", b"milk", context=got.context)
        extra = {"cart": ["milk"]}
        where = day.root

        def step(name: str, **kw: object) -> None:
            day.judged(checks, name, extra=extra, **kw)

        load = Load(where, day.seeds())
        time.sleep(12)
        load.stop()
        step("after the load")

        load = Load(where, day.seeds())
        time.sleep(3)
        stop = vd("cluster", "stop", "n2", "--dir", d)
        checks("cluster stop n2 exits 0", stop.returncode == 0, stop.stderr[-300:])
        shutil.rmtree(day.dir / "n2")
        start = vd("cluster", "start", "n2", "--dir", d)
        checks("cluster start n2 (a new disk) exits 0", start.returncode == 0,
               start.stdout[-200:] + start.stderr[-300:])
        day.note_pids()
        time.sleep(12)
        load.stop()
        step("after n2's disk was replaced")

        load = Load(where, day.seeds())
        time.sleep(2)
        join = vd("join", "n6", "--dir", d)
        day.note_pids()
        checks("join n6 exits 0", join.returncode == 0, join.stdout[-200:] + join.stderr[-300:])
        port = int(str(day.nodes()["n6"]["http"]))
        load.stop()
        step("through n6 at once (r=2)", r=2, via=port)
        load = Load(where, day.seeds())
        time.sleep(8)
        load.stop()
        step("after the join")
        leave = vd("leave", "n6", "--dir", d)
        checks("leave n6 exits 0", leave.returncode == 0, leave.stdout[-200:] + leave.stderr[-300:])
        step("after the leave")
    finally:
        day.tear_down()
    checks.finish()


if __name__ == "__main__":
    main()
