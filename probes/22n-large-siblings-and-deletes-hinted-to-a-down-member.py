"""Large values, siblings of them and deletes written while a member is down, then
handed back to it (red team 15's workflow; 22a sends large siblings with a node
down, 22f huge keys by handoff; neither checks what the returning member holds
alone, nor the fallbacks' CPU once it is back).

1. `vdynamo cluster up --nodes 4 --dir D` (N=3: each key has a fallback); a
   library client learns the ring.
2. `vdynamo cluster stop n3 --dir D`; through the library, on 12 keys whose top 3
   hold n3: two blind puts of half `max_value_bytes` each (siblings), one key a
   single value of exactly `max_value_bytes`; 4 keys then read and deleted with
   the read's context.
3. `vdynamo cluster start n3 --dir D`; 15 s; each node's CPU over the next 10 s
   (from /proc: a hint re-sent forever would show).
4. n1, n2, n4 stopped; each key read at r=1 through n3 alone; they started again;
   every key at r=3.

Right value: n3 alone holds both siblings of each key, the 1 MiB value whole, the
deleted keys gone; so does r=3; no node spends more than 3 CPU-s of the 10 s.

Run from the project's root: .venv/bin/python probes/22n-large-siblings-and-deletes-hinted-to-a-down-member.py
Loopback only, about 60 s; every process stopped.
"""
from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks  # noqa: E402
from _day import Day, judge, vd  # noqa: E402


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    import base64

    import vdynamo

    checks = Checks()
    day = Day("22n", nodes=4)
    try:
        checks("cluster up --nodes 4 exits 0", day.up.returncode == 0, day.up.stderr[-300:])
        d, where = str(day.dir), day.root
        with urllib.request.urlopen(f"http://{day.seeds()[0]}/status", timeout=10) as resp:
            max_value = int(json.loads(resp.read()).get("config", {}).get(
                "max_value_bytes", 1 << 20))
        db = vdynamo.connect(day.seeds())
        db.get(b"warm")
        partitioning = db.router.partitioning
        assert partitioning is not None
        keys = [k for k in (f"big-{i}" for i in range(200))
                if "n3" in partitioning.preference_list(k.encode())[:3]][:12]
        stop = vd("cluster", "stop", "n3", "--dir", d)
        checks("cluster stop n3 exits 0", stop.returncode == 0, stop.stderr[-300:])
        log = []

        def entry(key: str, op: str, value: str | None, outcome: str, read: list[bytes]) -> None:
            log.append({"key": key, "op": op, "value": value, "outcome": outcome,
                        "read": [base64.b64encode(v).decode() for v in read]})

        half = max_value // 2 - 64
        for i, key in enumerate(keys):
            values = ([f"{key}:whole:".ljust(max_value, "w")] if i == 0 else
                      [f"{key}:a:".ljust(half, "a"), f"{key}:b:".ljust(half, "b")])
            for value in values:
                try:
                    db.put(key.encode(), value.encode())
                    entry(key, "put", value, "ok", [])
                except vdynamo.DynamoError as error:
                    entry(key, "put", value, "unknown", [])
                    print(f"{key}: put {len(value)} B: {type(error).__name__}: {error}"[:300])
        for key in keys[1:5]:
            got = db.get(key.encode())
            try:
                db.delete(key.encode(), context=got.context)
                entry(key, "del", None, "ok", got.values)
            except vdynamo.DynamoError as error:
                entry(key, "del", None, "unknown", got.values)
                print(f"{key}: delete: {type(error).__name__}: {error}"[:300])
        (where / "log-22n.jsonl").write_text("\n".join(json.dumps(e) for e in log))
        acked = sum(e["outcome"] == "ok" for e in log)
        print(f"{len(keys)} keys, {acked} of {len(log)} operations acknowledged with n3 down")
        start = vd("cluster", "start", "n3", "--dir", d)
        day.note_pids()
        checks("cluster start n3 exits 0", start.returncode == 0, start.stderr[-300:])
        time.sleep(15)
        pids = {n: int(str(e["pid"])) for n, e in day.nodes().items()}
        before = {n: cpu_s(p) for n, p in pids.items()}
        time.sleep(10)
        spent = {n: round(cpu_s(p) - before[n], 2) for n, p in pids.items()}
        print(f"CPU-s of each node over 10 s once n3 was back 15 s: {spent}")
        checks("no node busy once n3 is back (<= 3 CPU-s of 10 s)",
               max(spent.values()) <= 3.0, spent)
        for name in ("n1", "n2", "n4"):
            vd("cluster", "stop", name, "--dir", d)
        port = int(str(day.nodes()["n3"]["http"]))
        faults, counts = judge(where, day.seeds(), r=1, via=port)
        print(f"n3 alone: {dict(counts)}")
        checks("n3 alone holds every acknowledged write, the deletes", not faults,
               [f[:300] for f in faults[:3]])
        for name in ("n1", "n2", "n4"):
            vd("cluster", "start", name, "--dir", d)
        day.note_pids()
        faults, counts = judge(where, day.seeds())
        print(f"every key at r=3: {dict(counts)}")
        checks("every key at r=3", not faults, [f[:300] for f in faults[:3]])
    finally:
        day.tear_down()
    checks.finish()


if __name__ == "__main__":
    main()
