"""Cassandra's "a write after a delete is lost" (the delete's timestamp from a node
whose clock is ahead shadows a later insert: CASSANDRA-2646 and the clock-skew
threads) and Riak lww's delete-then-put reports.

lww, 5 nodes, N=3 R=2 W=2. n1 runs one hour ahead. The key is written, then read
and deleted through n1 (ahead). The client then reads the key (nothing), and
re-creates it with the read's context through a node on time; a second round does
the same with the roles reversed (deleted through a node behind, n2 -1 h,
re-created through n1 ahead), and a third re-creates it *blind* right after a
delete read back as gone.
Right value: after quiet, get r=3 returns [again] (round 1), [again2] (round 2):
a write made after the client saw the delete is not shadowed by the delete.

Run from the project's root: .venv/bin/python probes/03b-lww-delete-then-recreate-skew.py
"""
import sys

sys.path.insert(0, ".")
import impl

bad = False
for seed in (1, 2, 3):
    c = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, clock="lww")
    c.set_skew("n1", 3600.0)
    c.set_skew("n2", -3600.0)
    others = [n for n in c.node_names if n not in ("n1", "n2")]
    a = c.client()
    a.put(b"k", b"v1", coordinator="n3")
    c.run_until_quiet()
    a.delete(b"k", context=a.get(b"k", coordinator="n1").context, coordinator="n1")
    g = a.get(b"k", coordinator=others[0])
    a.put(b"k", b"again", context=g.context, coordinator=others[0])
    c.run_until_quiet()
    r1 = c.client().get(b"k", r=3).values
    a.put(b"j", b"w1", coordinator="n1")
    c.run_until_quiet()
    a.delete(b"j", context=a.get(b"j", coordinator="n2").context, coordinator="n2")
    g = a.get(b"j", coordinator="n1")
    a.put(b"j", b"again2", context=g.context, coordinator="n1")
    c.run_until_quiet()
    r2 = c.client().get(b"j", r=3).values
    print(f"seed {seed}: k={r1} j={r2}")
    if list(r1) != [b"again"] or list(r2) != [b"again2"]:
        bad = True
        print("  FAIL: a write made after the client read the delete was shadowed by it")
if bad:
    sys.exit(1)
print("PASS")
