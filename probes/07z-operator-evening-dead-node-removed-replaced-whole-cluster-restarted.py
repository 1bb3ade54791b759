"""An operator's evening (red team 15's workflow): a node lost for good under a
library load, removed and replaced, a setting reloaded with SIGHUP, then the whole
cluster stopped and started again with README's commands.

1. `vdynamo cluster up --nodes 5 --dir D`; the load (3 threads, 2 processes) 5 s.
2. n5 SIGKILLed and its directory removed (the machine is gone); `vdynamo remove n5
   --dir D` at once (refused: the one line must say what to do, or when), then
   every 3 s until it exits 0; `vdynamo cluster status --dir D` after; every key at
   r=3.
3. `vdynamo join n6 --dir D` (the replacement); every key at r=2 through n6 alone
   the moment it returns; the load 6 s; every key at r=3.
4. `kill -HUP PID` of n1 after a live setting is changed in cluster.toml; n1
   still answers; `vdynamo cluster down --dir D`; `vdynamo cluster up --dir D`;
   `vdynamo cluster status --dir D`; every key at r=3; the load 5 s; every key.

Right value: every acknowledged write read or superseded after each step; the
first refusal of `remove` names why and when it may be taken; `remove` taken within
30 s; `cluster status` after the removal and after the restart exit 0 (n5 is no
member); `join` and the restart exit 0.

Run from the project's root: .venv/bin/python probes/07z-operator-evening-dead-node-removed-replaced-whole-cluster-restarted.py
Loopback only, about 2 minutes; every process stopped.
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks  # noqa: E402
from _day import Day, Load, vd  # noqa: E402


def main() -> None:
    checks = Checks()
    day = Day("07z")
    try:
        checks("cluster up exits 0", day.up.returncode == 0, day.up.stderr[-300:])
        d, where = str(day.dir), day.root

        def step(name: str, **kw: object) -> None:
            day.judged(checks, name, **kw)

        seeds = day.seeds()
        load = Load(where, seeds[:4])
        time.sleep(5)
        os.kill(int(str(day.nodes()["n5"]["pid"])), signal.SIGKILL)
        shutil.rmtree(day.dir / "n5")
        first = vd("remove", "n5", "--dir", d)
        print(f"remove n5 at once: exit {first.returncode} {first.stdout.strip()!r} "
              f"{first.stderr.strip()!r}")
        checks("the first remove refused in one line saying when or what to do",
               first.returncode == 1 and len(first.stderr.strip().splitlines()) == 1
               and any(w in first.stderr for w in ("again", "wait", " s ", "seconds", "until")),
               first.stderr)
        took, began = first, time.monotonic()
        while took.returncode != 0 and time.monotonic() - began < 40:
            time.sleep(3)
            took = vd("remove", "n5", "--dir", d)
        print(f"remove n5 taken after {time.monotonic() - began:.0f} s: exit {took.returncode} "
              f"{took.stdout.strip()!r} {took.stderr.strip()!r}")
        checks("remove n5 taken within 40 s", took.returncode == 0, took.stderr[-300:])
        time.sleep(3)
        st = vd("cluster", "status", "--dir", d)
        print(f"cluster status after the removal: exit {st.returncode}\n{st.stdout}{st.stderr}")
        checks("cluster status exits 0 after the removal", st.returncode == 0,
               st.stdout[-300:] + st.stderr[-300:])
        load.stop()
        live = [s for n, s in zip(day.nodes(), day.seeds(), strict=True) if n != "n5"]
        step("after n5 was removed", r=3)

        load = Load(where, live)
        join = vd("join", "n6", "--dir", d)
        day.note_pids()
        checks("join n6 exits 0", join.returncode == 0, join.stdout[-200:] + join.stderr[-300:])
        load.stop()
        live = [s for n, s in zip(day.nodes(), day.seeds(), strict=True) if n != "n5"]
        step("through n6 at once (r=2)", r=2, via=int(str(day.nodes()["n6"]["http"])))
        load = Load(where, live)
        time.sleep(6)
        load.stop()
        step("after the join")

        toml = day.dir / "cluster.toml"
        toml.write_text(toml.read_text().replace("[cluster]\n", "[cluster]\nmax_siblings = 30\n",
                                                 1))
        os.kill(int(str(day.nodes()["n1"]["pid"])), signal.SIGHUP)
        time.sleep(2)
        with urllib.request.urlopen(f"http://{day.http('n1')}/health", timeout=10) as resp:
            checks("n1 answers after SIGHUP", resp.status == 200, resp.status)
        down = vd("cluster", "down", "--dir", d, timeout=90)
        checks("cluster down exits 0", down.returncode == 0, down.stderr[-300:])
        up = vd("cluster", "up", "--dir", d, timeout=120)
        day.note_pids()
        print(f"cluster up again: exit {up.returncode}\n{up.stdout}{up.stderr}")
        checks("cluster up again exits 0", up.returncode == 0, up.stdout[-300:] + up.stderr[-300:])
        st = vd("cluster", "status", "--dir", d)
        print(f"cluster status after the restart: exit {st.returncode}\n{st.stdout}{st.stderr}")
        checks("cluster status exits 0 after the restart", st.returncode == 0,
               st.stdout[-300:] + st.stderr[-300:])
        live = [s for n, s in zip(day.nodes(), day.seeds(), strict=True) if n != "n5"]
        step("after the whole cluster's restart")
        load = Load(where, live)
        time.sleep(5)
        load.stop()
        step("after the load on the restarted cluster")
    finally:
        day.tear_down()
    checks.finish()


if __name__ == "__main__":
    main()
