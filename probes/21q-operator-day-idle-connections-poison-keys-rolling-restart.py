"""An afternoon of idle connections, poison keys and a rolling restart under a
library load (red team 15's workflow; 21g, 22e and 22l take one of these alone).

1. `vdynamo cluster up --nodes 5 --dir D`; the load (3 threads, 2 processes) 5 s;
   a library client `idle` reads and writes `idle-k` once, then sits idle.
2. Every node's HTTP port held by 6 connections each (3 that sent half a request
   head, 3 that sent nothing), reopened when closed; the load 10 s beside them.
3. Poison through the library and the CLI beside the load: a key one byte over
   `max_key_bytes`, a value one byte over `max_value_bytes` (the limits the nodes'
   `/status` states), a value exactly at the limit (read back whole).
4. A rolling restart: `vdynamo cluster stop nX --dir D`, `vdynamo cluster start nX
   --dir D` for n1..n5 in turn, the load and the held connections running; the
   idle client then reads and writes `idle-k` again.

Right value: after 2, 3 and 4 every acknowledged write is read (or superseded), no
superseded value comes back; the load acknowledges operations while the ports are
held (at least 50 in 10 s); the over-limit key and value refused by the library
with an error naming the limit, by the CLI with exit 1 and one line naming it;
the value at the limit stored and read back whole; every stop/start exits 0; the
idle client's read-modify-write after the restart 200 with its value read back.

Run from the project's root: .venv/bin/python probes/21q-operator-day-idle-connections-poison-keys-rolling-restart.py
Loopback only, about 2 minutes; every process stopped.
"""
from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, hold_open  # noqa: E402
from _day import Day, Load, events, vd  # noqa: E402


def main() -> None:
    import vdynamo

    checks = Checks()
    day = Day("21q")
    holders = []
    try:
        checks("cluster up exits 0", day.up.returncode == 0, day.up.stderr[-300:])
        d, where = str(day.dir), day.root

        def step(name: str) -> None:
            day.judged(checks, name, extra=extra)

        load = Load(where, day.seeds())
        time.sleep(5)
        idle = vdynamo.connect(day.seeds())
        idle.put(b"idle-k", b"idle-1", context=idle.get(b"idle-k").context)
        extra = {"idle-k": ["idle-1"]}

        before = len(events(where))
        for name in day.nodes():
            port = int(str(day.nodes()[name]["http"]))
            holders.append(hold_open(port, b"GET /kv/x HTTP/1.1\r\nHost: a\r\n", 3))
            holders.append(hold_open(port, b"", 3))
        time.sleep(10)
        during = len(events(where)) - before
        print(f"operations logged in 10 s with 30 connections held: {during}")
        checks("the load goes on beside the held connections (>= 50 in 10 s)", during >= 50,
               during)
        load.stop()
        step("after the held connections")

        load = Load(where, day.seeds())
        with urllib.request.urlopen(f"http://{day.seeds()[0]}/status", timeout=10) as resp:
            config = json.loads(resp.read()).get("config", {})
        max_key = int(config.get("max_key_bytes", 0)) or 1024
        max_value = int(config.get("max_value_bytes", 0)) or (1 << 20)
        print(f"limits stated: max_key_bytes {max_key}, max_value_bytes {max_value}")
        for what, key, value in (("key", b"k" * (max_key + 1), b"v"),
                                 ("value", b"big", b"x" * (max_value + 1))):
            try:
                idle.put(key, value)
                seen = "200"
            except vdynamo.DynamoError as error:
                seen = f"{type(error).__name__}: {error}"
            checks(f"the library refuses a {what} one byte over, naming the limit",
                   seen != "200" and f"max_{what}_bytes" in seen, seen[:300])
            (day.root / "poison").write_bytes(value)
            cli = vd("put", key.decode(), "--value-file", str(day.root / "poison"), "--dir", d)
            lines = cli.stderr.strip().splitlines()
            checks(f"the CLI refuses a {what} one byte over: exit 1, one line naming it",
                   cli.returncode == 1 and len(lines) == 1 and f"max_{what}_bytes" in cli.stderr,
                   f"exit {cli.returncode} {cli.stderr[-300:]!r}")
        at = b"y" * max_value
        try:
            idle.put(b"at-limit", at)
            got = idle.get(b"at-limit", r=3).values
            seen = "whole" if got == [at] else f"{[len(v) for v in got]} bytes"
        except vdynamo.DynamoError as error:
            seen = f"{type(error).__name__}: {error}"
        checks("a value at the limit stored and read back whole", seen == "whole", seen[:300])
        time.sleep(3)
        load.stop()
        step("after the poison")

        load = Load(where, day.seeds())
        for name in list(day.nodes()):
            stop = vd("cluster", "stop", name, "--dir", d)
            start = vd("cluster", "start", name, "--dir", d)
            day.note_pids()
            checks(f"cluster stop/start {name} exit 0", stop.returncode == start.returncode == 0,
                   stop.stderr[-200:] + start.stderr[-200:])
            time.sleep(2)
        load.stop()
        step("after the rolling restart")
        try:
            idle.put(b"idle-k", b"idle-2", context=idle.get(b"idle-k").context)
            got = idle.get(b"idle-k", r=3).values
            seen = "200" if got == [b"idle-2"] else f"read {got}"
        except vdynamo.DynamoError as error:
            seen = f"{type(error).__name__}: {error}"
        checks("the idle client's read-modify-write after the restart", seen == "200",
               seen[:300])
    finally:
        for end in holders:
            end()
        day.tear_down()
    checks.finish()


if __name__ == "__main__":
    main()
