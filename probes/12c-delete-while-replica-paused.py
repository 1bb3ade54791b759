"""Deletes while a replica is *paused* (SIGSTOP: a long GC pause or a frozen VM,
the Cassandra zombie reports where a node "comes back" with old data and open
connections), with DELETEs sent with and without a context (the public case
always reads first), on real processes.

3 processes, N=3 R=2 W=2, tombstone_grace_s = 1, for dvv and lww. Ten keys are
written at w=3. n3 is SIGSTOPped. Five keys are deleted with a GET's context,
five with a bare DELETE (no context) through n1; 8 s pass (the grace 8 times
over); n3 is resumed (SIGCONT). Straight away one deleted key is re-created
through n3 with the context of a GET through n3.
Right value: 6 s later, at r=3 through every node, the nine other keys read
nothing (none comes back from n3's old copies) and the re-created key reads its
new value alone.

Run from the project's root: .venv/bin/python probes/12c-delete-while-replica-paused.py
"""
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

bad = False
for clock in ("dvv", "lww"):
    with LocalNodes(nodes=3, per_process=True,
                    extra_cluster=f'clock = "{clock}"\ntombstone_grace_s = 1') as c:
        keys = [f"z{i}" for i in range(10)]
        codes = [c.put(k, b"old-" + k.encode(), query="?w=3") for k in keys]
        pid = c.procs["n3"].pid
        os.kill(pid, signal.SIGSTOP)
        try:
            for i, k in enumerate(keys):
                headers = {}
                if i < 5:
                    _, ctx = c.read(k)
                    headers["X-Vdynamo-Context"] = ctx or ""
                codes.append(c.request("DELETE", k, None, "n1", headers=headers)[0])
            time.sleep(8)
        finally:
            os.kill(pid, signal.SIGCONT)
        _, ctx = c.read("z0", node="n3")
        headers = {"Content-Type": "application/octet-stream"}
        if ctx:
            headers["X-Vdynamo-Context"] = ctx
        codes.append(c.request("PUT", "z0", b"new", "n3", "", headers)[0])
        time.sleep(6)
        back = [(k, n) for k in keys[1:] for n in c.names if c.values(k, node=n, query="?r=3")]
        z0 = [c.values("z0", node=n, query="?r=3") for n in c.names]
        print(f"{clock}: codes {sorted(set(codes))}; deleted keys back: {len(back)} {back[:4]}; z0 {z0}")
        if back or z0 != [[b"new"]] * 3 or any(x >= 300 and x != 404 for x in codes):
            bad = True
            print("  FAIL")
if bad:
    sys.exit(1)
print("PASS")
