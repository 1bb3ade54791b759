"""Clock growth under *concurrent* read-modify-writes (riak_kv "vclock pruning
and false siblings" / Voldemort's vector clocks growing with client count): the
public case's clients take turns; here 40 clients at a time read the same
version, then all write, so each round makes siblings whose clocks each hold a
new entry; 20 rounds of 20 writers (400 actors), each round ended by a resolver.

client-vclock, 5 nodes, N=3 R=2 W=2, random routing (each request through any
node, forwarded). Right value: every round's concurrent puts are kept as siblings
(none of the 20 is lost; 20 stays under max_siblings, 25) and each resolver's put
leaves one value; the key never refuses its own context. server-vclock is not
run: there concurrent puts through one coordinator supersede each other by
design (docs/runtime.md, session 47: "the same-coordinator loss by design").

Run from the project's root: .venv/bin/python probes/05b-concurrent-rmw-many-actors.py
"""
import sys

sys.path.insert(0, ".")
import impl

bad = False
for clock in ("client-vclock", "dvv"):
    c = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=9, clock=clock)
    ctx_max = 0
    for rnd in range(20):
        writers = [c.client(client_id=("r%02d-c%02d-" % (rnd, j)) + "u" * 100, routing="random")
                   for j in range(20)]
        reads = [w.get(b"k") for w in writers]
        hs = [w.submit_put(b"k", b"r%d-%d" % (rnd, j), context=g.context)
              for j, (w, g) in enumerate(zip(writers, reads))]
        c.wait(hs)
        acked = {b"r%d-%d" % (rnd, j) for j, h in enumerate(hs) if h.error is None}
        c.run_until_quiet()
        res = c.client(client_id="resolver-%02d" % rnd, routing="random")
        g = res.get(b"k", r=3)
        ctx_max = max(ctx_max, len(g.context))
        lost = acked - set(g.values)
        try:
            res.put(b"k", b"m%d" % rnd, context=g.context)
            after = list(c.client().get(b"k", r=3).values)
        except impl.DynamoError as e:
            after = [repr(e).encode()]
        if lost or after != [b"m%d" % rnd]:
            bad = True
            print(f"{clock}: round {rnd}: acked {len(acked)}, lost {sorted(lost)[:4]}, after resolve {after[:3]}")
            print("  FAIL")
            break
    else:
        print(f"{clock:13}: 20 rounds x 20 concurrent writers: nothing lost, each resolved; "
              f"largest context {ctx_max} bytes")
if bad:
    sys.exit(1)
print("PASS")
