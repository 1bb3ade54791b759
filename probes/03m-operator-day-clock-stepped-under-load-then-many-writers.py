"""An operator's clock trouble under a library load (red team 15): one member
restarted by the operator under a wall clock that NTP then steps forward an hour,
back, and an hour behind, while 3 threads and 2 processes read-modify-write; then
many writers (12 threads, 2 processes) on one key, its context growing.

1. `vdynamo cluster up --nodes 5 --dir D --set clock="MODE"` (lww, dvv).
2. The load, 8 s; every key at r=3.
3. `vdynamo cluster stop n1`, n1 started again by its own command line (`cluster
   start` itself cannot run under libfaketime) with FAKETIME_TIMESTAMP_FILE in its
   environment (re-read each second; its monotonic
   clock left alone), the file "+0"; the load; the file "+3600" (8 s), "+0" (8 s),
   "-3600" (8 s); every key at r=3 after each.
4. (dvv only: lww keeps one of concurrent writes by design) 12 threads and 2
   processes read-modify-writing `cart` alone, 12 s; `cart` at r=3.

Right value: after each step every acknowledged write is read or superseded by an
acknowledged operation that read it (lww: the read-modify-writes of one writer are
causally chained, so its later write must win whatever n1's clock says), nothing
superseded comes back; in dvv `cart` keeps every acknowledged, unsuperseded value.

Run from the project's root: .venv/bin/python probes/03m-operator-day-clock-stepped-under-load-then-many-writers.py [MODES]
Needs libfaketime. Loopback only, about 2 minutes a mode; every process stopped.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import FAKETIME_LIB, Checks, faketime_env
from _day import Day, Load, vd


def run(mode: str, checks: Checks) -> None:
    day = Day(f"03m-{mode}", "--set", f'clock="{mode}"')
    try:
        checks(f"{mode}: cluster up exits 0", day.up.returncode == 0, day.up.stderr[-300:])
        d, where, shared = str(day.dir), day.root, mode != "lww"

        def step(name: str) -> None:
            day.judged(checks, f"{mode} {name}")

        load = Load(where, day.seeds(), shared=shared)
        time.sleep(8)
        load.stop()
        step("after the load")
        clock = day.root / "faketime"
        clock.write_text("+0\n")
        # `vdynamo cluster start` under libfaketime fails in its own time.sleep
        # (EINVAL: libfaketime's clock_nanosleep, any Python): n1 is stopped by the
        # CLI and started again by hand with the command line `cluster up` gave it
        old_pid = int(str(day.nodes()["n1"]["pid"]))
        argv = Path(f"/proc/{old_pid}/cmdline").read_bytes().split(b"\0")[:-1]
        cwd = os.readlink(f"/proc/{old_pid}/cwd")
        stop = vd("cluster", "stop", "n1", "--dir", d)
        checks(f"{mode}: cluster stop n1 exits 0", stop.returncode == 0, stop.stderr[-200:])
        with open(day.dir / "n1" / "node.log", "ab") as log:
            n1 = subprocess.Popen(argv, cwd=cwd, stdout=log, stderr=log,
                                  env={**os.environ, **faketime_env(file=clock)})
        day.pids.add(n1.pid)
        port = int(str(day.nodes()["n1"]["http"]))
        ready = False
        for _ in range(60):
            time.sleep(0.5)
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    ready = r.status == 200
            except OSError:
                pass
            if ready:
                break
        checks(f"{mode}: n1 ready under libfaketime", ready, argv)
        pid = n1.pid
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        checks(f"{mode}: n1 runs under libfaketime", b"FAKETIME_TIMESTAMP_FILE" in environ, pid)
        for offset in ("+3600", "+0", "-3600"):
            load = Load(where, day.seeds(), shared=shared)
            time.sleep(2)
            clock.write_text(offset + "\n")
            time.sleep(8)
            load.stop()
            tail = (day.dir / "n1" / "node.log").read_text().splitlines()[-1:]
            print(f"{mode}: n1's last log line after {offset}: {tail}; now {time.ctime()}")
            step(f"after n1's clock stepped to {offset}")
        if shared:
            load = Load(where, day.seeds(), threads=12, procs=2, keys=0)
            time.sleep(12)
            load.stop()
            step("after 14 writers on cart")
    finally:
        day.tear_down()


def main() -> None:
    if FAKETIME_LIB is None:
        raise SystemExit("libfaketime is not installed")
    checks = Checks()
    for mode in sys.argv[1:] or ["lww", "dvv"]:
        run(mode, checks)
    checks.finish()


if __name__ == "__main__" and os.environ.get("PROBE_IMPORT") is None:
    main()
