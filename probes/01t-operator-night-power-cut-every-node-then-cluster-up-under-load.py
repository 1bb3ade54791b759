"""A night of power cuts (red team 15's workflow): every node of the cluster
SIGKILLed at once while a library load of 3 threads and 2 processes writes, then
brought back with README's `vdynamo cluster up --dir D`, twice, and once a
graceful `vdynamo cluster down` in the middle of the load (01m kills nodes in
turn; 01q a new cluster in its first seconds; none cuts every node at once under
the library's load and restarts them with `cluster up`).

1. `vdynamo cluster up --nodes 5 --dir D`; the load 6 s.
2. Every node SIGKILLed at once (the load running: its calls fail meanwhile);
   `vdynamo cluster status --dir D` (must exit non-zero naming the nodes down);
   `vdynamo cluster up --dir D` (the load still running); 6 s; the load stopped;
   every key at r=3.
3. The same again (a second cut).
4. The load; `vdynamo cluster down --dir D` under it; `vdynamo cluster up --dir D`;
   6 s; every key at r=3.

Right value: every acknowledged write read, or superseded by an acknowledged
operation that read it; no superseded value back; `cluster up` exits 0 after each
cut (no stale pid or lock file in the way); `status` while the nodes are dead
exits 1.

Run from the project's root: .venv/bin/python probes/01t-operator-night-power-cut-every-node-then-cluster-up-under-load.py
Loopback only, about 90 s; every process stopped.
"""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks  # noqa: E402
from _day import Day, Load, vd  # noqa: E402


def main() -> None:
    checks = Checks()
    day = Day("01t")
    try:
        checks("cluster up exits 0", day.up.returncode == 0, day.up.stderr[-300:])
        d, where = str(day.dir), day.root

        def step(name: str) -> None:
            day.judged(checks, name)

        for cut in (1, 2):
            load = Load(where, day.seeds())
            time.sleep(6)
            for entry in day.nodes().values():
                os.kill(int(str(entry["pid"])), signal.SIGKILL)
            time.sleep(1)
            st = vd("cluster", "status", "--dir", d)
            checks(f"cut {cut}: cluster status exits 1 with every node dead", st.returncode == 1,
                   f"exit {st.returncode} {st.stdout[-300:]} {st.stderr[-300:]}")
            up = vd("cluster", "up", "--dir", d, timeout=120)
            day.note_pids()
            print(f"cut {cut}: cluster up: exit {up.returncode} {up.stderr.strip()[-300:]!r}")
            checks(f"cut {cut}: cluster up exits 0", up.returncode == 0,
                   up.stdout[-300:] + up.stderr[-300:])
            time.sleep(6)
            load.stop()
            step(f"after power cut {cut}")

        load = Load(where, day.seeds())
        time.sleep(4)
        down = vd("cluster", "down", "--dir", d, timeout=90)
        checks("cluster down under the load exits 0", down.returncode == 0, down.stderr[-300:])
        up = vd("cluster", "up", "--dir", d, timeout=120)
        day.note_pids()
        checks("cluster up after it exits 0", up.returncode == 0, up.stderr[-300:])
        time.sleep(6)
        load.stop()
        step("after down and up under the load")
    finally:
        day.tear_down()
    checks.finish()


if __name__ == "__main__":
    main()
