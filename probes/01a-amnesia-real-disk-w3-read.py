"""Riak kv679 on real processes: a node's data files are deleted while it is down
(a replaced disk, a restore that failed) and it is restarted empty.

3 processes, N=3 R=2 W=2, for each of dvv, client-vclock, server-vclock and lww.
Through n2 (not n1 as in the public case): v1, then v2 with the context of a
read. n2 is SIGKILLed, its SQLite files deleted, and it is started again. A new
client (its own X-Vdynamo-Client) writes v3 blind through n2 (acknowledged), and
the first client's read-modify-write through n2 writes v4 over what it reads.
Right value: after a few anti-entropy rounds, a get r=3 through n1 and through n3
returns [v4] (v4 was written with a context covering v2 and v3); neither the blind
v3 nor v4 vanish, and v1/v2 never come back beside v4.

Run from the project's root: .venv/bin/python probes/01a-amnesia-real-disk-w3-read.py
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

bad = False
for clock in ("dvv", "client-vclock", "server-vclock", "lww"):
    with LocalNodes(nodes=3, per_process=True, extra_cluster=f'clock = "{clock}"') as c:
        def put(value: bytes, client: str, context: str | None = None) -> int:
            headers = {"Content-Type": "application/octet-stream", "X-Vdynamo-Client": client}
            if context:
                headers["X-Vdynamo-Context"] = context
            return c.request("PUT", "k", value, "n2", "", headers)[0]
        put(b"v1", "alice")
        _, ctx = c.read("k", node="n2")
        put(b"v2", "alice", ctx)
        time.sleep(1.0)
        c.kill("n2")
        for f in c.dir.glob("n2.sqlite*"):
            f.unlink()
        c.start("n2")
        time.sleep(1.0)
        code3 = put(b"v3", "bob")
        vals, ctx = c.read("k", node="n2")
        code4 = put(b"v4", "alice", ctx)
        time.sleep(6.0)                       # anti-entropy and read repair
        r1 = sorted(c.values("k", node="n1", query="?r=3"))
        r3 = sorted(c.values("k", node="n3", query="?r=3"))
        print(f"{clock:13}: put v3 {code3}, read {sorted(vals)}, put v4 {code4}; r=3 n1 {r1}, n3 {r3}")
        if r1 != [b"v4"] or r3 != [b"v4"] or code3 >= 300 or code4 >= 300:
            bad = True
            print("  FAIL")
if bad:
    sys.exit(1)
print("PASS")
