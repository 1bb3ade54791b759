"""The outsider's stand-in (revfwd fix 2) when the suspected target is a replaced disk
that restarted: 5 nodes, reordered messages (grants late, declined: n5 coordinates
outside its top N), n5 puts every key outside its top N at W = 3; the disk of WIPED
lost at put 4 (down: suspected, stood in for), restarted at put 9, crashed and
restarted at put 14 (a replaced disk restarting); each put read at R = 1 through
every up owner at once, and every key after quiet through every owner (every fifth
key, from the third, deleted at W = 3 after its put). WIPED None: no disk replaced
(the baseline). Reads at once may miss a put whose W = 3 counted a stand-in's hint for
a suspected owner (sloppy quorum, paper 4.6: seen without any disk replaced too);
a wrong read after quiet is a fault.

Run from the project's root (session 53's review of the fixes together):
    .venv/bin/python probes/07h-standin-replaced-disk.py [SEEDS [CLOCKS]]
"""

import sys

sys.path.insert(0, ".")
import impl
from impl.cluster import SimulatedCluster
from impl.faults import Faults


def run(seed, clock, wiped="n2", delete_every=5):
    bad = []
    reads = 0
    refused = 0
    with SimulatedCluster(
        nodes=5,
        n=3,
        r=2,
        w=2,
        seed=seed,
        clock=clock,
        faults=Faults(reorder=0.5, reorder_delay=0.35),
    ) as c:
        cl = c.client()
        n5 = c.node("n5")
        keys = [k for k in (b"k%d" % i for i in range(60)) if "n5" not in n5.preference_list(k)[:3]]
        want = {}
        for i, key in enumerate(keys):
            if i == 4 and wiped:
                c.lose_disk(wiped)
            if i == 9 and wiped:
                c.restart(wiped)
            if i == 14 and wiped:
                c.crash(wiped)
                c.restart(wiped)
            try:
                cl.put(key, b"v%d" % i, w=3, coordinator="n5")
                want[key] = b"v%d" % i
            except impl.DynamoError:
                continue
            if i % delete_every == 2:
                try:
                    g = cl.get(key, r=3, coordinator="n5")
                    cl.delete(key, g.context, w=3, coordinator="n5")
                    want[key] = None
                except impl.DynamoError:
                    want[key] = "?"
            owners = c.node("n1").preference_list(key)[:3]
            for o in owners:
                if c.is_down(o) or want[key] == "?":
                    continue
                try:
                    got = c.client(o).get(key, r=1, coordinator=o).values
                    reads += 1
                    exp = [] if want[key] is None else [want[key]]
                    if got != exp:
                        bad.append(f"{key!r} via {o} at once: {got} want {exp}")
                except impl.DynamoError:
                    refused += 1
        c.run_until_quiet(max_time=1800)
        for key, v in want.items():
            if v == "?":
                continue
            for o in c.node("n1").preference_list(key)[:3]:
                got = c.client(o).get(key, r=1, coordinator=o).values
                reads += 1
                exp = [] if v is None else [v]
                if got != exp:
                    bad.append(f"{key!r} via {o} after quiet: {got} want {exp}")
        st = {
            s: sum(c.node(n).stats.get(s, 0) for n in ("n1", "n2", "n3", "n4", "n5"))
            for s in ("restore-fresh-renewed", "restore-own-restart", "restore-set-aside")
        }
    return bad, reads, refused, st


if __name__ == "__main__":
    total = 0
    total_q = []
    clocks = sys.argv[2].split(",") if len(sys.argv) > 2 else ["dvv"]
    for clock in clocks:
        for seed in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
            for wiped in (None, "n2", "n3"):
                bad, reads, refused, st = run(seed, clock, wiped)
                total += bool(bad)
                q = [b for b in bad if "after quiet" in b]
                total_q.append(len(q))
                print(
                    clock,
                    seed,
                    wiped,
                    "reads",
                    reads,
                    "refused",
                    refused,
                    "bad at once",
                    len(bad) - len(q),
                    "after quiet",
                    len(q),
                    q[:3],
                    st,
                )
    print("after-quiet bad", sum(total_q), "runs with a read at once missed", total)
    print("FAIL" if sum(total_q) else "PASS")
    sys.exit(1 if sum(total_q) else 0)
