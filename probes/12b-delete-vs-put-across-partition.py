"""A delete on one side of a partition and writes on the other (Riak's
"delete during a netsplit" reports; Dynamo 4.4's concurrent versions): the delete
must remove only what its client saw.

5 nodes, N=3 R=2 W=2 (sloppy quorum on). k = v1 replicated. Partition {n1, n2}
| {n3, n4, n5}. Through n1: Alice reads k (v1) and deletes it. Through n3: Bob
writes v2 blind after Carol read k (v1); Carol then writes v3 over v1. Heal, quiet. A second
key is deleted on the majority side while the minority side's client
read-modify-writes it.
Right value: k reads [v2, v3] at r=3 (the delete covered v1 only); the second key
reads [w2] (a write over v1, concurrent with the delete of v1).

Run from the project's root: .venv/bin/python probes/12b-delete-vs-put-across-partition.py
"""
import sys

sys.path.insert(0, ".")
import impl

bad = False
for clock in ("dvv", "client-vclock"):
    for seed in (1, 2, 3):
        c = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, clock=clock)
        setup = c.client()
        setup.put(b"k", b"v1")
        setup.put(b"j", b"w1")
        c.run_until_quiet()
        c.partition({"n1", "n2"}, {"n3", "n4", "n5"})
        alice = c.client("n1", client_id="alice")
        bob = c.client("n3", client_id="bob")
        carol = c.client("n4", client_id="carol")
        errs = []
        try:
            alice.delete(b"k", context=alice.get(b"k").context)
            seen = carol.get(b"k")          # Carol reads before Bob writes
            bob.put(b"k", b"v2")
            carol.put(b"k", b"v3", context=seen.context)
            g = bob.get(b"j")
            bob.delete(b"j", context=g.context)
            g = alice.get(b"j")
            alice.put(b"j", b"w2", context=g.context)
        except impl.DynamoError as e:
            errs.append(repr(e))
        c.heal()
        c.run_until_quiet()
        k = sorted(c.client().get(b"k", r=3).values)
        j = sorted(c.client().get(b"j", r=3).values)
        print(f"{clock:13} seed {seed}: k={k} j={j} errors={errs}")
        if errs or k != [b"v2", b"v3"] or j != [b"w2"]:
            bad = True
            print("  FAIL")
if bad:
    sys.exit(1)
print("PASS")
