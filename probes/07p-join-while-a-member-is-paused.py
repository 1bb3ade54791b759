"""A node joins while an old member is *paused* (07j joins while a node is stopped
cleanly, 07m kills the joiner): a VM frozen by its hypervisor, a 20 s GC pause, a
process SIGSTOPped by a debugger: it keeps its connections and its old view of the
ring, and when it resumes it coordinates writes with that view before gossip
reaches it (Cassandra's "a node back from a long GC pause writes to the old
replicas after a bootstrap", CASSANDRA-2434's family; Riak's "stale ring on a node
that missed the ownership change").

`vdynamo cluster up --nodes 3 --n 3 --r 1 --w 3` (R + W > N; fast rounds), 24 keys
v1 at w=3; n2 SIGSTOPped; `vdynamo join n4` in the background; n2 SIGCONTed once
`join` returned (or after 30 s); at once, for each key, a read through n2 at r=1
and v2 written with that context through n2 at w=3; after each acknowledged write
the key read at r=1 through every member, the joiner first; then 3 s later every
key at r=1 through every member again.

Right value: `join` exits 0, or non-zero naming n2 (a join waits for every member's
handover; Riak's claimant and Cassandra's bootstrap need every replica up), and
then n4 ends its join (`member_status` up in /status) within 60 s of n2's resume;
every acknowledged v2 reads [v2] at r=1 through every
member (R + W > N: the read meets the write), at once and 3 s later; a put that
is not acknowledged (503, 504) is not checked.

Run from the project's root: .venv/bin/python probes/07p-join-while-a-member-is-paused.py
Loopback only, about 60 s; every process stopped (SIGCONT first).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
base = import_module("07e-real-join-then-leave-w3-r1")
VD, ports, call, read, tear_down, FAST = (base.VD, base.ports, base.call, base.read,
                                          base.tear_down, base.FAST)
from _cluster import Checks  # noqa: E402

KEYS = [f"k{i}" for i in range(24)]


def main() -> None:
    checks = Checks()
    d = Path(tempfile.mkdtemp(prefix="vdynamo-probe07p-")) / "c"
    pids: set[int] = set()
    n2 = 0
    try:
        up = base.vd("cluster", "up", "--dir", str(d), "--nodes", "3", "--n", "3", "--r", "1",
                     "--w", "3", *FAST)
        assert up.returncode == 0, up.stderr
        nodes = json.loads((d / "cluster.json").read_text())["nodes"]
        pids = {e["pid"] for e in nodes.values()}
        n2 = nodes["n2"]["pid"]
        p = ports(d)
        octet = {"Content-Type": "application/octet-stream"}
        first = [call("PUT", p["n1"], f"/kv/{k}?w=3", b"v1", octet)[0] for k in KEYS]
        time.sleep(1.0)
        os.kill(n2, signal.SIGSTOP)
        join = subprocess.Popen([*VD, "join", "n4", "--dir", str(d)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        waited_at = waited = time.time()
        try:
            out, _ = join.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            out = ""
        waited = round(time.time() - waited, 1)
        p = ports(d)
        code, _, body = call("GET", p["n4"], "/status")
        waits = json.loads(body).get("handover_waiting") if code == 200 else code
        os.kill(n2, signal.SIGCONT)
        pids |= {e["pid"] for e in json.loads((d / "cluster.json").read_text())["nodes"].values()
                 if e.get("pid")}
        codes: dict[str, int] = {}
        wrong: list[str] = []
        for k in KEYS:
            _, _, ctx = read(p["n2"], k, 1)
            headers = {**octet, **({"X-Vdynamo-Context": ctx} if ctx else {})}
            codes[k] = call("PUT", p["n2"], f"/kv/{k}?w=3", b"v2", headers)[0]
            if codes[k] != 200:
                continue
            for node in ("n4", "n1", "n2", "n3"):
                code, vals, _ = read(p[node], k, 1)
                if vals != [b"v2"]:
                    wrong.append(f"{k} at once via {node}: {code} {vals}")
        if not out:
            out = join.communicate(timeout=120)[0]
        done = None
        for _ in range(120):  # the join ends once n2 resumed?
            code, _, body = call("GET", p["n4"], "/status")
            if code == 200 and json.loads(body).get("member_status") == "up":
                done = round(time.time() - waited_at, 1)
                break
            time.sleep(0.5)
        print(f"v1 puts {Counter(first)}; join n4 with n2 paused: "
              f"{'returned' if waited < 30 else 'still running'} after {waited} s, exit "
              f"{join.returncode} {out.strip()[-300:]!r}")
        print(f"v2 through n2 at w=3 right after its SIGCONT: {Counter(codes.values())}; "
              f"reads at r=1 at once, wrong: {len(wrong)} {wrong[:4]}")
        time.sleep(3.0)
        later = [f"{k} 3 s later via {node}: {code} {vals}" for k in KEYS if codes[k] == 200
                 for node in ("n4", "n1", "n2", "n3")
                 for code, vals, _ in [read(p[node], k, 1)] if vals != [b"v2"]]
        print(f"3 s later, r=1 via every member: {len(later)} wrong {later[:4]}")
        checks("v1 puts 200", set(first) == {200}, first)
        print(f"n4's /status handover_waiting before n2 resumed: {waits}")
        print(f"n4 member_status up {done} s after the join began (n2 resumed at 30 s)")
        checks("join exits 0, or non-zero naming the paused n2", join.returncode == 0 or (
            "n2" in out and waited >= 30), out[-300:])
        checks("n4 up within 60 s of n2's resume", done is not None and done < 90, done)
        checks("some v2 acknowledged", 200 in codes.values(), codes)
        checks("every acknowledged v2 read at r=1 through every member at once", not wrong,
               wrong[:6])
        checks("every acknowledged v2 read at r=1 through every member 3 s later", not later,
               later[:6])
    finally:
        if n2:
            try:
                os.kill(n2, signal.SIGCONT)
            except ProcessLookupError:
                pass
        tear_down(d, pids)
    checks.finish()


if __name__ == "__main__":
    main()
