"""Cassandra's zombie deletes (a replica down longer than gc_grace_seconds comes
back and resurrects deleted data: the "tombstones and gc_grace" reports,
CASSANDRA-6434 family) with hinted handoff off, so only read repair and
anti-entropy can tell the returning node.

5 nodes, N=3 R=2 W=2, tombstone_grace_s = 0.5, hinted_handoff off; dvv, lww and
client-vclock. Ten keys are written and replicated; one replica of each is
*crashed* (not partitioned: its process is gone), every key is read and deleted,
then 120 s pass (240 graces: reaping would have run), the node restarts, quiet.
Right value: every key reads [] at r=3 through every node; none comes back.

Run from the project's root: .venv/bin/python probes/12a-zombie-replica-down-past-grace.py
"""
import sys

sys.path.insert(0, ".")
import impl

bad = False
for clock in ("dvv", "lww", "client-vclock"):
    for seed in (1, 2):
        c = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, clock=clock,
                                  tombstone_grace_s=0.5, hinted_handoff=False)
        cl = c.client()
        keys = [b"z%d" % i for i in range(10)]
        for k in keys:
            cl.put(k, b"doomed-" + k)
        c.run_until_quiet()
        down = "n3"
        c.crash(down)
        for k in keys:
            cl.delete(k, context=cl.get(k).context)
        c.run_for(120.0)
        c.restart(down)
        c.run_until_quiet()
        back = [(k, via) for k in keys for via in c.node_names
                if list(c.client(via).get(k, r=3, coordinator=via).values)]
        print(f"{clock:13} seed {seed}: keys back after the restart: {len(back)} {back[:3]}")
        if back:
            bad = True
            print("  FAIL: a deleted key came back from the replica that missed the delete")
if bad:
    sys.exit(1)
print("PASS")
