"""Riak's "sibling explosion" (basho/riak_kv #1015-era reports, the
allow_mult=true docs: many clients writing without a context grow siblings
until the object is too large) with client-side actor ids.

client-vclock (and dvv), 3 nodes, N=3 R=2 W=2. 60 distinct clients, each with a
200-character id, write the key *blind*; max_siblings (25) is passed, so some puts
are refused with a clear error. Then a resolver reads the key and writes one
merged value with that context; then 60 more clients each read-modify-write.
Right value: every refusal is a clear DynamoError (not a hang or a crash), the
resolver's put succeeds and leaves [merged] alone, and each later read-modify-write
succeeds with no sibling (the clock did not make the key un-updatable).

Run from the project's root: .venv/bin/python probes/05a-sibling-explosion-then-resolve.py
"""
import sys

sys.path.insert(0, ".")
import impl

bad = False
for clock in ("client-vclock", "dvv"):
    c = impl.SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=4, clock=clock)
    refused = 0
    for i in range(60):
        cl = c.client(client_id=("blind-%03d-" % i) + "y" * 190)
        try:
            cl.put(b"k", b"b%d" % i)
        except impl.DynamoError:
            refused += 1
    c.run_until_quiet()
    res = c.client(client_id="resolver-" + "z" * 190)
    g = res.get(b"k")
    nsib = len(g.values)
    try:
        res.put(b"k", b"merged", context=g.context)
        after = list(res.get(b"k", r=3).values)
    except impl.DynamoError as e:
        after = [f"{type(e).__name__}: {e}".encode()]
    worst = 0
    errors = 0
    for i in range(60):
        cl = c.client(client_id=("late-%03d-" % i) + "w" * 190)
        try:
            gg = cl.get(b"k")
            worst = max(worst, len(gg.values))
            cl.put(b"k", b"l%d" % i, context=gg.context)
        except impl.DynamoError:
            errors += 1
    final = list(c.client().get(b"k", r=3).values)
    print(f"{clock:13}: blind puts refused {refused}/60, siblings read {nsib}, after resolve {after}, "
          f"later rmw errors {errors}, max siblings {worst}, final {final}, "
          f"context bytes {len(c.client().get(b'k').context)}")
    if after != [b"merged"] or errors or worst > 1 or final != [b"l59"] or refused == 0:
        bad = True
        print("  FAIL")
if bad:
    sys.exit(1)
print("PASS")
