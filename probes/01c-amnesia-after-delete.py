"""Riak kv679's tombstone variant (basho/riak_kv #679 discussion, "deleted keys
come back / new writes vanish after a vnode's data is lost"): a key is written,
deleted, and one of its replicas loses its disk *between* the delete and the
next write, so its fresh counter collides with the tombstone's history.

5 nodes, N=3 R=2 W=2, dvv then client-vclock. k = v1, then a read-and-delete
through n1 (acknowledged), quiet. n1's disk is replaced (the coordinator of the
delete). A client writes v2 blind through n1 (acknowledged); a second key, k2, is
written, deleted, its *other* replica wiped and k2 re-created blind through it.
Right value: after quiet, get r=3 returns [v2] for k and [w2] for k2: the deleted
v1 / w1 never come back, and the acknowledged re-creations are kept.

Run from the project's root: .venv/bin/python probes/01c-amnesia-after-delete.py
"""
import sys

sys.path.insert(0, ".")
import impl

bad = False
for clock in ("dvv", "client-vclock", "server-vclock"):
    for seed in (1, 2):
        c = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, clock=clock,
                                  tombstone_grace_s=0.5)
        cl = c.client()
        holders = sorted(c.replicas(b"k"))
        first = holders[0]
        cl.put(b"k", b"v1", coordinator=first)
        c.run_until_quiet()
        cl.delete(b"k", context=cl.get(b"k").context, coordinator=first)
        c.run_until_quiet()
        c.wipe(first)
        c.client(first).put(b"k", b"v2", coordinator=first)
        c.run_until_quiet()
        k = c.client().get(b"k", r=3).values
        h2 = sorted(c.replicas(b"k2"))
        cl.put(b"k2", b"w1", coordinator=h2[0])
        c.run_until_quiet()
        cl.delete(b"k2", context=cl.get(b"k2").context, coordinator=h2[0])
        c.run_for(0.2)                      # the tombstone not yet reaped everywhere
        c.wipe(h2[-1])
        c.client(h2[-1]).put(b"k2", b"w2", coordinator=h2[-1])
        c.run_until_quiet()
        k2 = c.client().get(b"k2", r=3).values
        print(f"{clock:13} seed {seed}: k={sorted(k)} k2={sorted(k2)}")
        if list(k) != [b"v2"] or list(k2) != [b"w2"]:
            bad = True
            print("  FAIL: a deleted value came back or an acknowledged re-creation was lost")
if bad:
    sys.exit(1)
print("PASS")
