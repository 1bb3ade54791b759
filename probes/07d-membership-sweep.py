"""A seeded sweep of the membership kinds a user meets (riak_core handoff, Cassandra
bootstrap / decommission / removenode, Voldemort rebalancing): a join; two joins at
once; a leave; a join during a leave; a join while an owner is down; a dead owner
force-removed then replaced; a node that left re-joining under its name with its old
data (SQLite store) while keys it held were deleted and rewritten; every kind with
writes at W = 1, 2 and 3 and deletes during the transfer.

5 nodes, N=3, dvv (or the CLOCKS given). One sequential client does, each step,
for one of 8 keys: a get at R = 2, then a put with its context (or, one time in 8,
a delete) at a W drawn from 1..3, then a read of the key at an R drawn from
N+1-W..N through a member drawn at random (the joiners included, R = 1 through
them after W = 3 writes).
Between steps the cluster runs 0.4 virtual s, so the transfers overlap the writes.
Right value: every read at R + W > N returns the last acknowledged value (a value
whose put failed may stand beside it as a sibling, and a put or delete that failed
since may have replaced it; no value the client overwrote or deleted); after
quiet, every key reads its last value at R = 1 through every member and every up
node holds the same member statuses (joined `up`, gone absent or `left`/`removed`).
Reads in the crash kinds are checked only after quiet (sloppy quorums: paper 4.6).
A read refused (DynamoError) is counted, not a fault.

Run from the project's root:
    .venv/bin/python probes/07d-membership-sweep.py [SEEDS [CLOCKS [ROUTING]]]
(SEEDS: seeds 0..SEEDS-1, default 1-3; CLOCKS: comma-separated clock modes, default
dvv; ROUTING: the writer's, `preference` (default) or `random`: more forwarded puts).
"""
from __future__ import annotations

import random
import sys
import tempfile
import zlib

sys.path.insert(0, ".")
import impl
from impl.membership import MemberStatus

N = 3
KEYS = [b"k%d" % i for i in range(8)]


def kinds() -> dict[str, dict[int, list[tuple[str, ...]]]]:
    return {
        "join": {4: [("join", "n6")]},
        "two-joins": {4: [("join", "n6"), ("join", "n7")]},
        "leave": {4: [("leave", "n2")]},
        "join-during-leave": {4: [("leave", "n2")], 6: [("join", "n6")]},
        "leave-during-join": {4: [("join", "n6")], 6: [("leave", "n3")]},
        "join-node-down": {2: [("crash", "n3")], 4: [("join", "n6")], 30: [("restart", "n3")]},
        "remove-dead-replace": {2: [("crash", "n2")], 33: [("remove", "n2")], 34: [("join", "n6")]},
        "rejoin-old-data": {2: [("leave", "n5")], 6: [("quiet",)], 14: [("join", "n5")]},
    }


CRASHY = {"join-node-down", "remove-dead-replace"}


def run(kind: str, seed: int, clock: str = "dvv", routing: str = "preference") -> list[str]:
    events = kinds()[kind]
    tmp = tempfile.mkdtemp(prefix="vdynamo-probe-") if kind == "rejoin-old-data" else None
    c = impl.SimulatedCluster(nodes=5, n=N, r=2, w=2, seed=seed, clock=clock,
                              **({"storage": "sqlite", "storage_dir": tmp} if tmp else {}))
    rnd = random.Random(seed * 1000 + zlib.crc32(kind.encode()) % 1000)
    cl = c.client(routing=routing)  # type: ignore[arg-type]
    want: dict[bytes, tuple[bytes | None, int]] = {}   # key -> (last acked value or None, its W)
    loose: dict[bytes, set[bytes]] = {k: set() for k in KEYS}  # values whose put failed
    # since the last acknowledged write: the values of failed puts (each may have
    # replaced it: its context covered it), and whether a delete failed (it may have)
    later: dict[bytes, set[bytes | None]] = {k: set() for k in KEYS}

    def wrong(key: bytes, got: list[bytes]) -> bool:
        value = want[key][0]
        if set(got) - {value} - loose[key]:
            return True   # a value overwritten or deleted came back
        if value is not None and value not in got:
            return not (set(got) & later[key] or (None in later[key] and not got))
        return False

    faults: list[str] = []
    reads = refused = 0
    for step in range(40):
        for ev in events.get(step, []):
            if ev[0] == "join":
                c.join(ev[1])
            elif ev[0] == "leave":
                c.leave(ev[1])
            elif ev[0] == "crash":
                c.crash(ev[1])
            elif ev[0] == "restart":
                c.restart(ev[1])
            elif ev[0] == "remove":
                c.force_remove("n1", ev[1])
            elif ev[0] == "quiet":
                c.run_until_quiet()
            elif ev[0] == "wipe":
                c.wipe(ev[1])
            elif ev[0] == "lose":
                c.lose_disk(ev[1])
        key = KEYS[step % len(KEYS)]
        w = rnd.randint(1, N)
        try:
            g = cl.get(key, r=2)
            if rnd.random() < 0.125 and key in want:
                try:
                    cl.delete(key, g.context, w=w)
                except impl.DynamoError:
                    later[key].add(None)
                    raise
                want[key] = (None, w)
                later[key] = set()
            else:
                v = b"%s-%d" % (key, step)
                try:
                    cl.put(key, v, context=g.context, w=w)
                    want[key] = (v, w)
                    later[key] = set()
                except impl.DynamoError:
                    loose[key].add(v)
                    later[key].add(v)
                    raise
        except impl.DynamoError:
            pass
        if key in want and kind not in CRASHY:
            value, w_acked = want[key]
            r = rnd.randint(N + 1 - w_acked, N)
            members = [m for m in c.sim.members if m not in c.left and not c.is_down(m)]
            via = rnd.choice(members)
            try:
                got = c.client(via).get(key, r=r, coordinator=via).values
                reads += 1
                if wrong(key, got):
                    faults.append(f"step {step} via {via} r={r} (w={w_acked}): "
                                  f"{key!r} read {got}, want {value}")
            except impl.DynamoError:
                refused += 1
        c.run_for(0.4)
    c.run_until_quiet(max_time=1800)
    members = [m for m in c.sim.members if not c.is_down(m) and m not in c.left]
    for key, (value, _) in want.items():
        for via in members:
            try:
                got = c.client(via).get(key, r=1, coordinator=via).values
            except impl.DynamoError as e:
                faults.append(f"after quiet via {via} r=1: {key!r} refused {e}")
                continue
            if wrong(key, got):
                faults.append(f"after quiet via {via} r=1: {key!r} read {got}, want {value}")
    views = {}
    for m in members:
        view = c.node(m).gossiper.view
        views[m] = {e.node: e.status.value for e in view
                    if e.status not in (MemberStatus.LEFT, MemberStatus.REMOVED)}
    if len({tuple(sorted(v.items())) for v in views.values()}) > 1:
        faults.append(f"views differ after quiet: {views}")
    for m, v in views.items():
        bad = {name: s for name, s in v.items() if name in members and s != "up"}
        if bad:
            faults.append(f"{m} sees members not up after quiet: {bad}")
    print(f"{kind:20} {clock} seed {seed}: reads checked {reads}, refused {refused}, "
          f"faults {len(faults)}"
          f"{'' if not faults else ': ' + '; '.join(faults[:3])}; members {members}")
    c.close()
    return faults


def main() -> None:
    seeds = range(int(sys.argv[1])) if len(sys.argv) > 1 else range(1, 4)
    clocks = sys.argv[2].split(",") if len(sys.argv) > 2 else ["dvv"]
    routing = sys.argv[3] if len(sys.argv) > 3 else "preference"
    bad = 0
    for clock in clocks:
        for kind in kinds():
            for seed in seeds:
                bad += bool(run(kind, seed, clock, routing))
    print("FAIL" if bad else "PASS")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
