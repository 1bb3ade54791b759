"""lww after NTP corrects a clock that ran ahead, across a restart (Riak lww and
Cassandra reports: "after fixing the clock, updates are ignored until wall time
catches up with the bad timestamps").

lww, SQLite storage, 3 nodes, N=3 R=1 W=1. n1's clock is 2 h ahead; v1 is written
through n1 and replicated. Then n1's clock is set right and n1 is restarted (its
in-memory clock state is gone; only the disk is left). Through n1: a read-then-
write v2; then a blind put v3 (the client lost its context), then a delete with the
read's context and a blind re-create v4 through n2 after the delete was read back.
Right value: each step's value is what get r=3 returns after it ([v2], [v3], [],
[v4]): the spec's stamp is one more than the highest stored, so no write through a
node that holds the key loses to the bad stamp.

Run from the project's root: .venv/bin/python probes/03c-lww-clock-fixed-after-restart.py
"""
import sys

sys.path.insert(0, ".")
import impl

bad = False
for seed in (1, 2, 3):
    c = impl.SimulatedCluster(nodes=3, n=3, r=1, w=1, seed=seed, clock="lww", storage="sqlite")
    try:
        c.set_skew("n1", 7200.0)
        a = c.client()
        a.put(b"k", b"v1", coordinator="n1")
        c.run_until_quiet()
        c.set_skew("n1", 0.0)
        c.crash("n1")
        c.restart("n1")
        c.run_until_quiet()
        seen = []
        g = a.get(b"k", coordinator="n1")
        a.put(b"k", b"v2", context=g.context, coordinator="n1")
        c.run_until_quiet()
        seen.append(c.client().get(b"k", r=3).values)
        a.put(b"k", b"v3", coordinator="n1")
        c.run_until_quiet()
        seen.append(c.client().get(b"k", r=3).values)
        a.delete(b"k", context=a.get(b"k", coordinator="n1").context, coordinator="n1")
        c.run_until_quiet()
        seen.append(c.client().get(b"k", r=3).values)
        g = a.get(b"k", coordinator="n2")
        a.put(b"k", b"v4", context=g.context, coordinator="n2")
        c.run_until_quiet()
        seen.append(c.client().get(b"k", r=3).values)
    finally:
        c.close()
    seen = [list(v) for v in seen]
    print(f"seed {seed}: after v2, v3, delete, v4: {seen}")
    if seen != [[b"v2"], [b"v3"], [], [b"v4"]]:
        bad = True
        print("  FAIL: a write after the clock was fixed lost to the bad stamp")
if bad:
    sys.exit(1)
print("PASS")
