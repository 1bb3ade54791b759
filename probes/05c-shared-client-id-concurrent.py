"""Two application processes that share one client id (a copied configuration, a
hard-coded X-Vdynamo-Client): Riak's client-side vclocks lost writes this way
(two clients incrementing the same actor's counter make equal clocks for
different values; the reason Riak moved to vnode vclocks, and the "clientId
reuse" warnings of its client libraries).

3 processes, N=3 R=2 W=2, dvv and client-vclock. Both processes send
`X-Vdynamo-Client: app`. 30 rounds: both read the key (through n1 and n2), then
both write with their own read's context, through n2 and n3; then one of them
reads and writes a merged value.
Right value: after every round both acknowledged writes are siblings at r=3 (none
lost to the shared id), and the merge leaves one value; the context stays bounded.

Run from the project's root: .venv/bin/python probes/05c-shared-client-id-concurrent.py
"""
import sys
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes  # noqa: E402

bad = False
for clock in ("dvv", "client-vclock"):
    with LocalNodes(nodes=3, extra_cluster=f'clock = "{clock}"') as c:
        def put(node: str, value: bytes, ctx: str | None) -> int:
            headers = {"Content-Type": "application/octet-stream", "X-Vdynamo-Client": "app"}
            if ctx:
                headers["X-Vdynamo-Context"] = ctx
            return c.request("PUT", "k", value, node, "", headers)[0]
        put("n1", b"start", None)
        lost_rounds, ctx_len = [], 0
        for i in range(30):
            _, ca = c.read("k", node="n1")
            _, cb = c.read("k", node="n2")
            codes = (put("n2", b"A%d" % i, ca), put("n3", b"B%d" % i, cb))
            both = sorted(c.values("k", node="n1", query="?r=3"))
            if both != [b"A%d" % i, b"B%d" % i] or codes != (200, 200):
                lost_rounds.append((i, codes, both))
            vals, ctx = c.read("k", node="n3", query="?r=3")
            ctx_len = max(ctx_len, len(ctx or ""))
            put("n3", b"M%d" % i, ctx)
        final = c.values("k", node="n2", query="?r=3")
        print(f"{clock:13}: rounds with a write lost: {len(lost_rounds)} {lost_rounds[:2]}; "
              f"final {final}; largest context {ctx_len} characters")
        if lost_rounds or final != [b"M29"]:
            bad = True
            print("  FAIL: a write of a client sharing its id was lost")
if bad:
    sys.exit(1)
print("PASS")
