"""Node clocks stepped back and ahead while the nodes run, under random sequential
histories with deletes and reaps (Cassandra's "write with a timestamp in the future,
then the clock corrected"; NTP steps; Jepsen's lww analyses), beside crashes, disk
losses and partitions.

Simulator, 5 nodes, N=3 R=2 W=2, `tombstone_grace_s = 0.5` (reaps happen mid-run),
4 keys, one sequential client per key (random routing): each step is one of a
node's clock set to 0, +-0.5, +-5, +-120, +-3600 or +86400 s (12%), a node crashed
or restarted (5%; `--wipe`: 30% of crashes lose the disk), a partition cut or
healed (`--partitions`; 2%), time passing (0.2-3 s), or a get then: a put with
its context (60%), a delete with its context (25%) or a bare delete (15%).
Right value: every get (outside partitions and disk losses) returns the key's last
acknowledged write (or nothing after a delete); after the clocks are set right,
heal and quiet, r = 3 through every node returns it. `--naive` runs the same with
`lww_timestamps = "wall-clock"` (lww only), which must FAIL: the check can fail.

Run from the project's root:
    .venv/bin/python probes/03e-clock-steps-mid-run-random-histories.py \
        [--wipe] [--partitions] [--naive]
"""
import random
import sys

sys.path.insert(0, ".")
import impl

WIPE = "--wipe" in sys.argv
PARTITIONS = "--partitions" in sys.argv
NAIVE = "--naive" in sys.argv
OFFSETS = [0.0, 3600.0, -3600.0, 120.0, -120.0, 86400.0, -5.0, 5.0, 0.5, -0.5]
KEYS = [b"k%d" % i for i in range(4)]


def history(clock: str, seed: int, steps: int) -> list[object]:
    rng = random.Random(seed)
    extra = {"lww_timestamps": "wall-clock"} if NAIVE else {}
    c = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, clock=clock,
                              tombstone_grace_s=0.5, **extra)
    last: dict[bytes, bytes | None] = {k: None for k in KEYS}
    unknown: set[bytes] = set()
    bad: list[object] = []
    down, parted = None, False
    clients = {k: c.client(client_id="cl-" + k.decode(), routing="random") for k in KEYS}
    for step in range(steps):
        roll = rng.random()
        if roll < 0.12:
            c.set_skew(rng.choice(c.node_names), rng.choice(OFFSETS))
            continue
        if roll < 0.17:
            if down:
                c.restart(down)
                down = None
            else:
                down = rng.choice(c.node_names)
                c.crash(down)
                if WIPE and rng.random() < 0.3:
                    c.lose_disk(down)
            continue
        if roll < 0.19 and PARTITIONS:
            if parted:
                c.heal()
            else:
                side = set(rng.sample(list(c.node_names), 1 if rng.random() < 0.7 else 2))
                c.partition(side, set(c.node_names) - side)
            parted = not parted
            continue
        if roll < 0.25:
            c.run_for(rng.choice([0.2, 1.0, 3.0]))
            continue
        key = rng.choice(KEYS)
        client = clients[key]
        try:
            read = client.get(key)
        except impl.DynamoError:
            unknown.add(key)
            continue
        want = [] if last[key] is None else [last[key]]
        if key not in unknown and not parted and not WIPE and sorted(read.values) != want:
            bad.append((step, key, read.values, want))
        op = rng.random()
        try:
            if op < 0.6:
                value = b"%s-%d" % (key, step)
                client.put(key, value, context=read.context)
                last[key] = value
            elif op < 0.85:
                if read.values:
                    client.delete(key, context=read.context)
                last[key] = None
            else:
                client.delete(key)
                last[key] = None
        except impl.DynamoError:
            unknown.add(key)
    if down:
        c.restart(down)
    if parted:
        c.heal()
    for name in c.node_names:
        c.set_skew(name, 0.0)
    c.run_until_quiet()
    for key in KEYS:
        want = [] if last[key] is None else [last[key]]
        for name in c.node_names:
            got = sorted(c.client(coordinator=name).get(key, r=3).values)
            if key not in unknown and got != want:
                bad.append(("final", name, key, got, want))
    return bad


failed = False
for clock in (("lww",) if NAIVE else ("lww", "dvv", "client-vclock", "server-vclock")):
    wrong = 0
    for seed in range(1, 6):
        bad = history(clock, seed, 200)
        wrong += len(bad)
        if bad:
            print(f"{clock} seed {seed}: {bad[:3]}")
    print(f"{clock:13}: {wrong} wrong reads in 5 histories of 200 steps")
    failed = failed or wrong > 0
if failed:
    print("FAIL: a read missed the last acknowledged write, or a deleted value came back")
    sys.exit(1)
print("PASS")
