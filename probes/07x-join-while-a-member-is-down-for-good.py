"""A node joins while an old member is *down for good* (07p pauses a member, 07q
wipes one, 07j stops one cleanly and starts it again): its host died overnight and
the operator adds the new capacity first and will remove the dead one later
(Cassandra: bootstrapping a node while another is down is refused unless
`-Dcassandra.consistent.rangemovement=false`; Riak's `cluster join` plans wait
for the down node's handoffs). The dead member's ranges are held by the two
others only; a joiner that takes part of them must not serve them empty.

`vdynamo cluster up --nodes 4 --n 3 --r 2 --w 2` (fast rounds); 40 keys v1 at
w=3; n3 SIGKILLed (never started again); 3 s; `vdynamo join n5`; then for each key a
read at r=2 through n5 (the joiner) and v2 written with that context at w=2 through
n5; each acknowledged v2 read at r=2 through n5, n1, n2, n4 at once; then
`vdynamo remove n3` and 3 s later every key at r=2
through every live node.

Right value: `join` exits 0, or non-zero naming n3 (and then n5 serves nothing
it does not hold); no read through n5 answers 404 or anything but [v1]
for a key written at w=3; every acknowledged v2 reads [v2] at r=2 everywhere, at
once and after the removal of n3.

Run from the project's root: .venv/bin/python probes/07x-join-while-a-member-is-down-for-good.py
Loopback only, about 90 s; every process stopped.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
base = import_module("07e-real-join-then-leave-w3-r1")
VD, ports, call, read, tear_down = base.VD, base.ports, base.call, base.read, base.tear_down
from _cluster import Checks  # noqa: E402

KEYS = [f"k{i}" for i in range(40)]


def main() -> None:
    checks = Checks()
    d, nodes, pids, p = base.cluster_up("07x", "--nodes", "4", "--n", "3", "--r", "2", "--w", "2")
    try:
        octet = {"Content-Type": "application/octet-stream"}
        first = Counter(call("PUT", p["n1"], f"/kv/{k}?w=3", b"v1", octet)[0] for k in KEYS)
        checks("v1 at w=3", set(first) == {200}, first)
        os.kill(nodes["n3"]["pid"], signal.SIGKILL)
        time.sleep(3)
        t0 = time.time()
        join = subprocess.run([*VD, "join", "n5", "--dir", str(d)], capture_output=True,
                              text=True, timeout=240, check=False)
        took = round(time.time() - t0, 1)
        out = (join.stdout + join.stderr).strip()
        print(f"join n5 with n3 dead: exit {join.returncode} after {took} s: {out[-300:]!r}")
        checks("join exits 0 or names n3", join.returncode == 0 or "n3" in out, out[-300:])
        p = ports(d)
        pids |= {e["pid"] for e in json.loads((d / "cluster.json").read_text())["nodes"].values()
                 if e.get("pid")}
        if "n5" not in p:
            checks("n5 in cluster.json", False, p)
            return
        live = ("n5", "n1", "n2", "n4")
        reads: Counter[str] = Counter()
        codes: dict[str, int] = {}
        wrong: list[str] = []
        for k in KEYS:
            code, vals, ctx = read(p["n5"], k, 2)
            reads[str(code)] += 1
            if code == 404 or (code == 200 and vals != [b"v1"]):
                wrong.append(f"{k} first read via n5: {code} {vals}")
            headers = {**octet, **({"X-Vdynamo-Context": ctx} if ctx else {})}
            codes[k] = call("PUT", p["n5"], f"/kv/{k}?w=2", b"v2", headers)[0]
            if codes[k] == 200:
                for node in live:
                    code, vals, _ = read(p[node], k, 2)
                    if vals != [b"v2"]:
                        wrong.append(f"{k} at once via {node}: {code} {vals}")
        print(f"reads via n5 {dict(reads)}; v2 via n5 at w=2 {Counter(codes.values())}; "
              f"wrong {len(wrong)} {wrong[:4]}")
        rm = subprocess.run([*VD, "remove", "n3", "--dir", str(d)],
                            capture_output=True, text=True, timeout=120, check=False)
        print(f"remove n3: exit {rm.returncode} {(rm.stdout + rm.stderr).strip()[-200:]!r}")
        time.sleep(3)
        later = [f"{k} via {node}: {code} {vals}" for k in KEYS if codes[k] == 200
                 for node in live for code, vals, _ in [read(p[node], k, 2)] if vals != [b"v2"]]
        print(f"after the removal, r=2 via every live node: {len(later)} wrong {later[:4]}")
        checks("no 404 or wrong value through the joiner", not wrong, wrong[:6])
        checks("most v2 acknowledged", list(codes.values()).count(200) >= len(KEYS) // 2, codes)
        checks("every acknowledged v2 everywhere after n3's removal", not later, later[:6])
    finally:
        tear_down(d, pids)
    checks.finish()


if __name__ == "__main__":
    main()
