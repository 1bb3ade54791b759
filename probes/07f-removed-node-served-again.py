"""A node force-removed, then started again by hand on its old data (Riak's
`cluster force-remove` of a node that was only down, then `riak start` on it; a
Cassandra node `removenode`d that comes back and gossips its old tokens): it must
not answer a read with the values it held before, nor take writes.

`vdynamo cluster up --nodes 4 --n 3 --r 2 --w 2` (fast rounds); 12 keys put (v1);
`vdynamo cluster stop n2`; `vdynamo remove n2` (asked again while refused because n2
was heard from lately); every key put again (v2) and 3 deleted, through n1; then
`vdynamo cluster start n2` (expected: refused, exit 1) and, by hand,
`vdynamo serve cluster.toml --node n2` on its old data. For 15 s each key is read
through n2 at r=1 every 0.5 s, and one PUT is tried through it.
Right value: n2 never answers 200 with v1 or a deleted value (a refusal, 404 for
every key it no longer owns, or its process gone, are all right); the other members
read every key's v2 (404 for the deleted) at r=1; `cluster status` does not show n2
`up`; every member's GET /status says n2 `removed` (or has no entry).

Run from the project's root: .venv/bin/python probes/07f-removed-node-served-again.py
Loopback only, bounded (about 40 s), every process stopped (`cluster down`, the
hand-started n2 by its pid, then SIGKILL of any pid cluster.json names).
"""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "probe07e", Path(__file__).with_name("07e-real-join-then-leave-w3-r1.py"))
assert _spec is not None and _spec.loader is not None
p07e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(p07e)
vd, ports, call, read, FAST, VD = p07e.vd, p07e.ports, p07e.call, p07e.read, p07e.FAST, p07e.VD


def main() -> None:
    d = Path(tempfile.mkdtemp(prefix="vdynamo-probe07f-")) / "c"
    faults: list[str] = []
    pids: set[int] = set()
    by_hand: subprocess.Popen[bytes] | None = None
    try:
        up = vd("cluster", "up", "--dir", str(d), "--nodes", "4", "--n", "3", "--r", "2",
                "--w", "2", *FAST)
        assert up.returncode == 0, up.stderr
        p = ports(d)
        keys = [f"k{i}" for i in range(12)]
        for k in keys:
            assert call("PUT", p["n1"], f"/kv/{k}", b"v1-" + k.encode())[0] in (200, 204)
        stop = vd("cluster", "stop", "n2", "--dir", str(d))
        print(f"  cluster stop n2: exit {stop.returncode}")
        deadline = time.monotonic() + 40
        while True:
            rm = vd("remove", "n2", "--dir", str(d))
            if rm.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        print(f"  remove n2: exit {rm.returncode} {rm.stdout.strip()} {rm.stderr.strip()[:160]}")
        deleted = set(keys[:3])
        for k in keys:
            code, _, ctx = read(p["n1"], k, 2)
            hdr = {"X-Vdynamo-Context": ctx} if ctx else {}
            if k in deleted:
                c = call("DELETE", p["n1"], f"/kv/{k}", headers=hdr)[0]
            else:
                hdr["Content-Type"] = "application/octet-stream"
                c = call("PUT", p["n1"], f"/kv/{k}", b"v2-" + k.encode(), hdr)[0]
            if c not in (200, 204):
                faults.append(f"write of {k} after the removal: HTTP {c}")
        start = vd("cluster", "start", "n2", "--dir", str(d), timeout=60)
        print(f"  cluster start n2: exit {start.returncode} {start.stderr.strip()[:200]}")
        if start.returncode == 0:
            faults.append("cluster start of a removed node exited 0")
        with open(d.parent / "n2-by-hand.log", "wb") as log:
            by_hand = subprocess.Popen([*VD, "serve", str(d / "cluster.toml"), "--node", "n2"],
                                       cwd=d, stdout=log, stderr=log)
        answered = {"200 old": 0, "200 new": 0, "404": 0, "other": 0, "no answer": 0}
        put_code = None
        other: set[int] = set()
        end = time.monotonic() + 15
        while time.monotonic() < end:
            for k in keys:
                code, got, _ = read(p["n2"], k, 1)
                if code == 200 and any(v.startswith(b"v1-") for v in got):
                    answered["200 old"] += 1
                    faults.append(f"n2 answered {k} with {got}")
                elif code == 200:
                    answered["200 new"] += 1
                elif code == 404:
                    answered["404"] += 1
                elif code == 0:
                    answered["no answer"] += 1
                else:
                    answered["other"] += 1
                    other.add(code)
            if put_code is None:
                put_code = call("PUT", p["n2"], "/kv/fresh", b"x",
                                {"Content-Type": "application/octet-stream"})[0]
            time.sleep(0.5)
        ended = "running" if by_hand.poll() is None else f"exited {by_hand.returncode}"
        print(f"  n2 served by hand: reads through it {answered} (other: HTTP {sorted(other)}); "
              f"a PUT through it: HTTP {put_code}; its process {ended}")
        if put_code in (200, 204):
            faults.append(f"a PUT through the removed n2 was acknowledged (HTTP {put_code})")
        for m in ("n1", "n3", "n4"):
            for k in keys:
                code, got, _ = read(p[m], k, 1)
                want = [] if k in deleted else [b"v2-" + k.encode()]
                if got != want:
                    faults.append(f"{k} via {m} r=1: HTTP {code} {got}, want {want}")
            _, _, body = call("GET", p[m], "/status")
            view = {n: e["status"] for n, e in json.loads(body)["membership"].items()}
            if view.get("n2") not in (None, "removed"):
                faults.append(f"{m}'s view of n2: {view.get('n2')}")
        status = vd("cluster", "status", "--dir", str(d))
        print("  cluster status:", " | ".join(status.stdout.strip().splitlines()))
        row = next((line for line in status.stdout.splitlines() if line.startswith("n2 ")), "")
        if " up " in f" {row} " and "removed" not in row:
            faults.append(f"cluster status shows n2: {row!r}")
        print(f"  faults {len(faults)} {faults[:4]}")
    finally:
        if by_hand is not None and by_hand.poll() is None:
            os.kill(by_hand.pid, signal.SIGTERM)
            try:
                by_hand.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(by_hand.pid, signal.SIGKILL)
                by_hand.wait(10)
        p07e.tear_down(d, pids)
    print("FAIL" if faults else "PASS")
    sys.exit(1 if faults else 0)


if __name__ == "__main__":
    main()
