"""The public case's scenario on real processes with a real clock skew (the
Jepsen Cassandra / Riak lww reports were on real nodes, not a simulator): n1's
process runs one hour ahead (libfaketime, FAKETIME=+3600, its monotonic clock
left alone), n3's one hour behind.

lww, 3 processes, N=3 R=2 W=2. Through n1 (ahead): v1. Through n2: a read, then
v2 with that context. Through n3 (behind): a blind v3 (a new client), then a
read and v4 with that context; then a read-and-delete through n3 and a re-create
v5 through n2 with the delete's read context.
Right value: at r=3 through every node, after each step: [v2], [v3], [v4], [],
[v5] (the spec's stamps are one more than the highest stored and the context's).
Skipped (exit 0, says so) where libfaketime is not installed.

Run from the project's root: .venv/bin/python probes/03d-lww-real-skew-faketime.py
"""
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import FAKETIME_LIB, LocalNodes, faketime_env

if FAKETIME_LIB is None:
    print("SKIP: libfaketime not installed")
    sys.exit(0)

c = LocalNodes(nodes=3, per_process=True, extra_cluster='clock = "lww"')
try:
    for name, offset in (("n1", "+3600"), ("n2", None), ("n3", "-3600")):  # start all, then wait
        c.start_node(name, faketime_env(offset) if offset else None, wait=False)
    c.wait_ready()
    time.sleep(2.0)

    def put(node: str, value: bytes, ctx: str | None, client: str) -> int:
        headers = {"Content-Type": "application/octet-stream", "X-Vdynamo-Client": client}
        if ctx:
            headers["X-Vdynamo-Context"] = ctx
        return c.request("PUT", "k", value, node, "", headers)[0]

    def everywhere() -> list[list[bytes]]:
        time.sleep(0.5)
        return [sorted(c.values("k", node=n, query="?r=3")) for n in c.names]

    seen, codes = [], []
    codes.append(put("n1", b"v1", None, "a"))
    _, ctx = c.read("k", node="n2")
    codes.append(put("n2", b"v2", ctx, "a"))
    seen.append(everywhere())
    codes.append(put("n3", b"v3", None, "b"))
    seen.append(everywhere())
    _, ctx = c.read("k", node="n3")
    codes.append(put("n3", b"v4", ctx, "b"))
    seen.append(everywhere())
    _, ctx = c.read("k", node="n3")
    codes.append(c.request("DELETE", "k", None, "n3", "", {"X-Vdynamo-Context": ctx or ""})[0])
    seen.append(everywhere())
    _, ctx = c.read("k", node="n2")
    codes.append(put("n2", b"v5", ctx, "c"))
    seen.append(everywhere())
    want = [[[b"v2"]] * 3, [[b"v3"]] * 3, [[b"v4"]] * 3, [[]] * 3, [[b"v5"]] * 3]
    print("status codes:", codes)
    for step, got, exp in zip(("v2", "blind v3", "v4", "delete", "v5"), seen, want):
        print(f"after {step:8}: {got}{'' if got == exp else '  <- FAIL'}")
    if seen != want:
        print("FAIL: with real skewed clocks a later acknowledged write lost")
        sys.exit(1)
    print("PASS")
finally:
    c.stop()
    shutil.rmtree(c.dir, ignore_errors=True)
