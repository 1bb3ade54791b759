"""Riak kv679 ("key amnesia"), the W=1 variant: the wiped node is not the one that
wrote the history but a plain replica, and it alone acknowledges the new write.

3 nodes, N=3 R=1 W=1, server-vclock (Riak's vnode clocks, where kv679 was
reported). v1 and v2 (read-modify-write) are coordinated by n1 and replicated to
all. n2's disk is replaced; a new client writes v3 blind *through n2* at w=1, so
the acknowledgement rests on n2's copy alone, and n2's fresh counter starts again
at 1, an event the other replicas may believe they have seen.
Right value: after the cluster is quiet, a get with r=3 through n3 returns v3
(alone or beside v2); the acknowledged write is not dropped by read repair or
anti-entropy. Each clock mode is run (dvv, server-vclock, client-vclock, lww).

Run from the project's root: .venv/bin/python probes/01b-amnesia-w1-wiped-replica-coordinates.py
"""
import sys

sys.path.insert(0, ".")
import impl

bad = False
for clock in ("server-vclock", "dvv", "client-vclock", "lww"):
    for seed in (1, 2, 3):
        c = impl.SimulatedCluster(nodes=3, n=3, r=1, w=1, seed=seed, clock=clock)
        first = c.client("n1", client_id="alice")
        first.put(b"k", b"v1")
        c.run_until_quiet()
        first.put(b"k", b"v2", context=first.get(b"k", r=3).context)
        c.run_until_quiet()
        c.wipe("n2")
        c.client("n2", client_id="bob").put(b"k", b"v3", w=1)   # acknowledged by n2 alone
        c.run_until_quiet()
        got = c.client("n3").get(b"k", r=3).values
        print(f"{clock:13} seed {seed}: get r=3 through n3 after quiet: {sorted(got)}")
        if b"v3" not in got:
            bad = True
            print("  FAIL: the acknowledged w=1 write v3 is lost (the wiped replica re-used an event)")
if bad:
    sys.exit(1)
print("PASS")
