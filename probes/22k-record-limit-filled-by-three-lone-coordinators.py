"""A key filled to `max_record_bytes` by each of three coordinators in turn while
the other two are down (Riak's "object too large" after a partition heals: each
side admitted siblings under the limit, the merge is over it; Riak then refuses
even the read-repair and the resolving write). 22a fills one side; the config
docs say three isolated nodes can make 3 x the limit. Here the merged record is
over the limit on every node: is the key still readable, writable to resolve, and
do the replicas converge?

Real processes (one per node), 3 nodes, N=3 R=2 W=2, `max_value_bytes = 16384`,
`max_record_bytes = 65536`, `tombstone_grace_s = 1`. For X in n1, n2, n3: only X
runs; distinct library clients put 15,000-byte values blind (w=1) until refused
(at most 8). Then all three run; 12 s for hinted handoff and anti-entropy.

Right value: every put answers 200 or 413 (never 5xx); each lone node accepted
at least one; a GET at r=3 through each node answers every accepted value; at
r=1 each node alone holds them all; a blind put answers 413 naming the limit
(the record is over it); a put of 100 bytes with the r=3 read's context answers
200 and leaves that value alone at r=1 on every node, after 6 s; then a delete
with its context leaves nothing anywhere.

Run from the project's root: .venv/bin/python probes/22k-record-limit-filled-by-three-lone-coordinators.py
"""
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes

check = Checks()
settings = "max_value_bytes = 16384\nmax_record_bytes = 65536\ntombstone_grace_s = 1"
with LocalNodes(nodes=3, per_process=True, extra_cluster=settings) as c:
    accepted: list[bytes] = []
    for x in c.names:
        for name in c.names:
            c.kill(name)
        c.start_node(x)
        time.sleep(2.5)  # the restore guard's shadow round
        mine = 0
        for i in range(8):
            value = f"{x}-{i}-".encode() + os.urandom(7500).hex().encode()[:14990]
            st, _, body = c.request("PUT", "hot", value, node=x, query="?w=1",
                                    headers={"Content-Type": "application/octet-stream",
                                             "X-Vdynamo-Client": f"client-{x}-{i}"})
            check(f"lone {x} put {i}: 200 or 413", st in (200, 413), (st, body[:200]))
            if st != 200:
                print(f"lone {x}: put {i} {st} {body[:160]!r}")
                break
            accepted.append(value)
            mine += 1
        check(f"lone {x} accepted at least one", mine >= 1, mine)
    for name in c.names:
        c.kill(name)
    c.start()
    time.sleep(12)
    want = sorted(accepted)
    print(f"accepted {len(accepted)} values ({sum(map(len, accepted))} bytes)")
    for node in c.names:
        st, _, body = c.request("GET", "hot", node=node, query="?r=3",
                                headers={"Accept": "*/*"})
        check(f"GET r=3 through {node}: not 5xx", st < 500, (st, body[:200]))
        if st < 500:
            vals = sorted(c.values("hot", node=node, query="?r=3"))
            check(f"GET r=3 through {node}: every accepted value", vals == want,
                  (len(vals), len(want)))
    # each alone
    for node in c.names:
        vals = sorted(c.values("hot", node=node, query="?r=1"))
        check(f"{node} at r=1 holds every accepted value", vals == want, (len(vals), len(want)))
    st, _, body = c.request("PUT", "hot", b"blind", headers={"Content-Type": "application/octet-stream"})
    check("blind put on the over-limit record: 413", st == 413, (st, body[:200]))
    ctx = c.read("hot", query="?r=3")[1]
    st, _, body = c.request("PUT", "hot", b"r" * 100,
                            headers={"Content-Type": "application/octet-stream",
                                     "X-Vdynamo-Context": ctx or ""})
    check("resolving put with the read's context: 200", st == 200, (st, body[:200]))
    time.sleep(6)
    for node in c.names:
        vals = c.values("hot", node=node, query="?r=1")
        check(f"{node} at r=1 after the resolve: [r*100]", vals == [b"r" * 100], [v[:10] for v in vals])
    ctx = c.read("hot", query="?r=3")[1]
    st = c.request("DELETE", "hot", headers={"X-Vdynamo-Context": ctx or ""})[0]
    check("delete: 200/204", st in (200, 204), st)
    time.sleep(4)
    for node in c.names:
        vals = c.values("hot", node=node, query="?r=1")
        check(f"{node} at r=1 after the delete: nothing", vals == [], len(vals))
check.finish()
