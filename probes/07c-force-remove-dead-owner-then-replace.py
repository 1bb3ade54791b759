"""Replacing a dead node (Riak's `cluster force-replace` / `force-remove`, which the
Riak docs warn can lose data when replicas are few; Cassandra's replace_address
serving reads before it streamed its range, CASSANDRA-8523-style stale reads).

5 nodes, N=3 R=2 W=2, dvv and client-vclock. 40 keys are written; n2 crashes for
good; 20 keys are then updated (read-modify-write) while it is down; n1
force-removes n2; n6 joins as the replacement. A sequential client keeps doing
read-modify-write of a register through the default routing throughout, and at
each step reads 4 of the 40 keys at R=2 through n6 once it is a member.
Right value: no read through n6 returns an older value than the last acknowledged
one; after quiet every key reads its last value alone at r=3, and the register its
last acknowledged value with no sibling seen on the way.

Run from the project's root: .venv/bin/python probes/07c-force-remove-dead-owner-then-replace.py
"""
import sys

sys.path.insert(0, ".")
import impl

bad = False
for clock in ("dvv", "client-vclock"):
    for seed in (1, 2, 3):
        c = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, clock=clock)
        cl = c.client()
        want = {}
        for i in range(40):
            cl.put(b"k%d" % i, b"a%d" % i)
            want[b"k%d" % i] = b"a%d" % i
        c.run_until_quiet()
        c.crash("n2")
        for i in range(20):
            k = b"k%d" % i
            try:
                g = cl.get(k)
                cl.put(k, b"b%d" % i, context=g.context)
                want[k] = b"b%d" % i
            except impl.DynamoError:
                pass
        c.run_for(30.0)   # long enough for every member to call n2 down
        c.force_remove("n1", "n2")
        c.join("n6")
        stale, answered, max_sib, last = [], 0, 0, None
        for step in range(60):
            try:
                g = cl.get(b"reg")
                max_sib = max(max_sib, len(g.values))
                cl.put(b"reg", b"r%d" % step, context=g.context)
                last = b"r%d" % step
            except impl.DynamoError:
                pass
            if "n6" in c.sim.members:
                for j in range(4):
                    k = b"k%d" % ((step * 4 + j) % 40)
                    try:
                        got = list(c.client("n6").get(k, coordinator="n6").values)
                    except impl.DynamoError:
                        continue
                    answered += 1
                    if got != [want[k]]:
                        stale.append((step, k, got, want[k]))
            c.run_for(0.5)
        c.run_until_quiet(max_time=900)
        wrong = [k for k, v in want.items() if list(c.client().get(k, r=3).values) != [v]]
        reg = list(c.client().get(b"reg", r=3).values)
        print(f"{clock:13} seed {seed}: reads via n6 {answered}, stale {len(stale)} {stale[:2]}; "
              f"keys wrong after quiet {len(wrong)}; reg {reg} (last {last}), max siblings {max_sib}; "
              f"members {c.sim.members}")
        if stale or wrong or reg != [last] or max_sib > 1 or not answered:
            bad = True
            print("  FAIL")
if bad:
    sys.exit(1)
print("PASS")
