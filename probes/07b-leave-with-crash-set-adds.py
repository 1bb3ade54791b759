"""Rebalancing that meets a failure (Voldemort "rebalancing with a failed
donor", riak_kv #1754 handoff data loss, Cassandra decommission of a node that
then dies): two nodes leave one after another, and a third owner crashes during
the first handoff and comes back later.

6 nodes, N=3 R=2 W=2, client-vclock. Four set-adding clients run concurrently
(read, add an element, write with the context), and a sequential client does
read-modify-write of a register. Step 20: n2 leaves; step 25: n4 crashes;
step 50: n3 leaves; step 70: n4 restarts.
Right value: the sequential client never sees a sibling and reads back its last
acknowledged value at r=3; no acknowledged set add is lost.

Run from the project's root: .venv/bin/python probes/07b-leave-with-crash-set-adds.py
"""
import sys

sys.path.insert(0, ".")
import impl

bad = False
for clock in ("client-vclock", "dvv"):
    for seed in (1, 2, 3):
        c = impl.SimulatedCluster(nodes=6, n=3, r=2, w=2, seed=seed, clock=clock)
        seq = c.client()
        adders = [c.client() for _ in range(4)]
        acked, max_sib, last = set(), 0, None
        for step in range(100):
            if step == 20:
                c.leave("n2")
            if step == 25:
                c.crash("n4")
            if step == 50:
                c.leave("n3")
            if step == 70:
                c.restart("n4")
            try:
                g = seq.get(b"reg")
                max_sib = max(max_sib, len(g.values))
                seq.put(b"reg", b"r%d" % step, context=g.context)
                last = b"r%d" % step
            except impl.DynamoError:
                pass
            hs = []
            for i, a in enumerate(adders):
                try:
                    gg = a.get(b"set")
                except impl.DynamoError:
                    continue
                s = set()
                for v in gg.values:
                    s |= set(v.split(b",")) - {b""}
                e = b"e%d-%d" % (i, step)
                s.add(e)
                hs.append((e, a.submit_put(b"set", b",".join(sorted(s)), context=gg.context)))
            c.wait([h for _, h in hs])
            acked |= {e for e, h in hs if h.error is None}
        c.run_until_quiet(max_time=900)
        reg = list(c.client().get(b"reg", r=3).values)
        final = set()
        for v in c.client().get(b"set", r=3).values:
            final |= set(v.split(b","))
        lost = acked - final
        print(f"{clock} seed {seed}: max siblings {max_sib}, reg {reg} (last {last}), "
              f"adds {len(acked)} lost {len(lost)}; members {c.sim.members}")
        if max_sib > 1 or reg != [last] or lost:
            bad = True
            print("  FAIL")
if bad:
    sys.exit(1)
print("PASS")
