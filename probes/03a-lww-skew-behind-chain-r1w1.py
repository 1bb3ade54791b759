"""Riak lww / Cassandra clock skew, the "writer behind" variant (CASSANDRA-4119-era
reports: an update through a node whose clock lags is silently dropped).

lww, 3 nodes, N=3 R=1 W=1 (the public case: R=2 W=2, the skewed node ahead).
n1 runs 60 s ahead, n2 60 s behind, n3 on time. One sequential client does 30
read-modify-writes, each read through one node and written through another
(n1 -> n2 -> n3 -> n1 ...), so every write whose coordinator is behind follows a
stamp from a node ahead. A second key is written through n1 (ahead) blind and
then updated by a read-then-write through n2 (behind).
Right value: after quiet, get r=3 returns the last value of the chain alone, and
the second key's update; every acknowledged read-then-write wins over what it read.

Run from the project's root: .venv/bin/python probes/03a-lww-skew-behind-chain-r1w1.py
"""
import sys

sys.path.insert(0, ".")
import impl

bad = False
nodes = ["n1", "n2", "n3"]
for seed in (1, 2, 3, 4):
    c = impl.SimulatedCluster(nodes=3, n=3, r=1, w=1, seed=seed, clock="lww")
    c.set_skew("n1", 60.0)
    c.set_skew("n2", -60.0)
    a = c.client()
    last = None
    for i in range(30):
        g = a.get(b"k", coordinator=nodes[i % 3])
        a.put(b"k", b"v%d" % i, context=g.context, coordinator=nodes[(i + 1) % 3])
        last = b"v%d" % i
        c.run_for(0.05)
    a.put(b"k2", b"old", coordinator="n1")
    c.run_until_quiet()
    g = a.get(b"k2", coordinator="n2")
    a.put(b"k2", b"new", context=g.context, coordinator="n2")
    c.run_until_quiet()
    got = c.client().get(b"k", r=3).values
    got2 = c.client().get(b"k2", r=3).values
    print(f"seed {seed}: k={got} (last acked {last}); k2={got2}")
    if list(got) != [last] or list(got2) != [b"new"]:
        bad = True
        print("  FAIL: an acknowledged read-then-write lost to a value it had read")
if bad:
    sys.exit(1)
print("PASS")
