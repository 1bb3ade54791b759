"""Voldemort rebalancing / Cassandra bootstrap stale reads (CASSANDRA-2434:
"range movements can violate consistency"; Voldemort's rebalancing reads served by
a stealer that has not yet copied the partition), N=2 R=1 W=2 (R+W>N, so a read
must see the last acknowledged write), two nodes joining *at once*, every read
coordinated by one of the joiners.

3 nodes, N=2. At step 10 n4 and n5 both join. A sequential client writes the
register at w=2 through any node and, after each acknowledged write, reads it
back at r=1 through n4 then n5 (once they are members); 20 keys written before
the joins are read through the joiners at r=1 throughout.
The same again with N=3 R=3 W=1 (a write acknowledged by one replica, every read
through a joiner at R=3).
Right value: no read returns anything but the last acknowledged value (no stale
or empty read), for dvv and lww, seeds 1-3.

Run from the project's root: .venv/bin/python probes/07a-two-joins-n2-r1-read-through-joiner.py
"""
import itertools
import sys

sys.path.insert(0, ".")
import impl

bad = False
for (n, r, w), clock in itertools.product(((2, 1, 2), (3, 3, 1)), ("dvv", "lww")):
    for seed in (1, 2, 3):
        c = impl.SimulatedCluster(nodes=3, n=n, r=r, w=w, seed=seed, clock=clock)
        cl = c.client()
        for i in range(20):
            cl.put(b"old%d" % i, b"o%d" % i)
        c.run_until_quiet()
        stale = []
        answered = refused = 0
        last = None
        for step in range(80):
            if step == 10:
                c.join("n4")
                c.join("n5")
            try:
                g = cl.get(b"reg")
                cl.put(b"reg", b"r%d" % step, context=g.context, w=w)
                last = b"r%d" % step
            except impl.DynamoError:
                pass
            for via in ("n4", "n5"):
                if via not in c.sim.members or c.is_down(via):
                    continue
                for key, want in ((b"reg", last), (b"old%d" % (step % 20), b"o%d" % (step % 20))):
                    try:
                        got = list(c.client(via).get(key, r=r, coordinator=via).values)
                    except impl.DynamoError:
                        refused += 1
                        continue          # refused while not ready: allowed
                    answered += 1
                    if got != [want]:
                        stale.append((step, via, key, got, want))
            c.run_for(0.5)
        c.run_until_quiet()
        print(f"N={n} R={r} W={w} {clock} seed {seed}: reads through the joiners answered {answered}, refused {refused}, "
              f"stale {len(stale)} {stale[:3]}; members {c.sim.members}")
        if stale or not answered:
            bad = True
            print("  FAIL: a joining node answered a read with an older value")
if bad:
    sys.exit(1)
print("PASS")
