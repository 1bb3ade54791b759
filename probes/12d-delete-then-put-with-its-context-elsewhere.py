"""A delete, then at once a put carrying the delete's own answered context through
another node (Riak's delete_mode keep / immediate / 3000: a re-create racing the
reap), the delete's coordinator's clock an hour ahead, behind, or right.

Simulator, 5 nodes, N=3 R=2 W=2, 4 modes x `delete_mode` safe and keep x
`tombstone_grace_s` 0.01 and 0.5 x the put 0, 0.05, 0.3, 0.6 or 1.2 s after the
delete's answer x the delete coordinator's skew 0, +3600, -3600 s x seeds 1-2
(480 runs): `v1` written and replicated; read through the key's third replica; the
delete with that context through its first (skewed); the put of `v2` with the
context the DELETE answered, through another node.
Right value: [v2] at r = 3 through every node (the put saw the delete).
`--naive` (lww, `lww_timestamps = "wall-clock"`) must FAIL: the check can fail.

Run from the project's root:
    .venv/bin/python probes/12d-delete-then-put-with-its-context-elsewhere.py
"""
import itertools
import sys

sys.path.insert(0, ".")
import impl

NAIVE = "--naive" in sys.argv
CLOCKS = ("lww",) if NAIVE else ("lww", "dvv", "client-vclock", "server-vclock")
runs, wrong = 0, []
for clock, mode, grace, gap, skew, seed in itertools.product(
        CLOCKS, ("safe", "keep"), (0.01, 0.5), (0.0, 0.05, 0.3, 0.6, 1.2),
        (0.0, 3600.0, -3600.0), (1, 2)):
    extra = {"lww_timestamps": "wall-clock"} if NAIVE else {}
    c = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, clock=clock,
                              delete_mode=mode, tombstone_grace_s=grace, **extra)
    owners = list(c.replicas(b"k"))
    c.set_skew(owners[0], skew)
    client = c.client(client_id="a")
    client.put(b"k", b"v1", coordinator=owners[1])
    c.run_until_quiet()
    read = client.get(b"k", coordinator=owners[2])
    deleted = client.delete(b"k", context=read.context, coordinator=owners[0])
    c.run_for(gap)
    other = [n for n in c.node_names if n != owners[0]][seed % 4]
    client.put(b"k", b"v2", context=deleted.context, coordinator=other)
    c.run_until_quiet()
    got = [c.client(coordinator=n).get(b"k", r=3).values for n in c.node_names]
    runs += 1
    if any(values != [b"v2"] for values in got):
        wrong.append((clock, mode, grace, gap, skew, seed, got[0]))
print(f"{runs} runs, {len(wrong)} wrong: {wrong[:5]}")
if wrong:
    print("FAIL: a put made with the delete's context lost to the tombstone")
    sys.exit(1)
print("PASS")
