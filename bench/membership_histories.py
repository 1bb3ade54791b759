"""Randomized membership histories with an oracle (session 50's review of the data probe).

Run: ``.venv/bin/python bench/membership_histories.py MODE AE FIRST LAST`` (MODE a clock
mode, AE 1 or 0 for ``anti_entropy``, seeds FIRST..LAST-1); one JSON line a seed.

The driver of ``tests/impl/test_hand_on_ping_pong.py`` (session 50's data probe: 5
nodes, N = 3, R = W = 2, SQLite; crashes, restarts, wipes, joins and rejoins, leaves,
force-removes, crashed leavers, skews; one sequential named client per key
read-modify-writing or deleting through random nodes, 120 steps), then every node
not removed up, ``run_until_quiet``; printed: ``quiet``; ``wrong``, the keys whose
value at R = 3 is not the last acknowledged write (keys with an unknown outcome
skipped); ``sib``, the gets that saw siblings; ``thin``, the keys whose last written
value fewer than N of the top N replicas hold once quiet (before the check's reads
repair them); ``cpu``, CPU-s of the seed. On a tree whose ``SimulatedCluster.join``
refuses a node that left and is down (90d3b64a), that step is skipped, and at the
end such a node is restarted.
"""

import contextlib
import json
import random
import struct
import sys
import time

import impl
import impl.simulator
from impl.errors import DynamoError
from impl.records import encode_record


def has(rec, v):
    return struct.pack(">I", len(v)) + v in encode_record(rec)


def run(seed, clock, ae):
    rnd = random.Random(seed)
    cluster = impl.SimulatedCluster(
        nodes=5,
        n=3,
        r=2,
        w=2,
        seed=seed,
        clock=clock,
        storage="sqlite",
        tombstone_grace_s=rnd.choice([0.5, 3.0]),
        anti_entropy=ae,
    )
    keys = [b"k%d" % i for i in range(6)]
    clients = {
        key: cluster.client(client_id="seq-" + key.decode(), routing="random") for key in keys
    }
    removed = set()
    joined = 6
    last = {}
    unknown = set()
    sib = 0
    for step in range(120):
        roll = rnd.random()
        up = [n for n in cluster.node_names if not cluster.is_down(n)]
        down = [n for n in cluster.node_names if cluster.is_down(n) and n not in removed]
        if roll < 0.04 and len(up) > 3 and len(down) < 2:
            cluster.crash(rnd.choice(up))
        elif roll < 0.08 and down:
            cluster.restart(rnd.choice(down))
        elif roll < 0.10 and len(up) > 3 and len(down) < 2:
            cluster.wipe(rnd.choice(up))
        elif roll < 0.12 and len(cluster.node_names) < 8:
            gone = sorted(cluster.left - set(cluster.node_names) - removed)
            name = rnd.choice(gone) if gone and rnd.random() < 0.6 else None
            if name is None:
                name, joined = f"n{joined}", joined + 1
            cluster.join(name)
        elif roll < 0.14 and len(up) > 4 and not cluster.leaving():
            cluster.leave(rnd.choice(up))
        elif roll < 0.15 and down and len(cluster.node_names) > 4:
            name, by = rnd.choice(down), rnd.choice(up)
            cluster.run_for(6)
            try:
                cluster.force_remove(by, name)
                removed.add(name)
            except DynamoError:
                pass
        elif roll < 0.16 and cluster.leaving():
            name = rnd.choice(cluster.leaving())
            if not cluster.is_down(name):
                cluster.crash(name)
        elif roll < 0.17 and [
            n for n in cluster.left if n in cluster.node_names and cluster.is_down(n)
        ]:
            # (main, 90d3b64a, refuses a node down that left; a force-removed one too)
            gone = sorted(n for n in cluster.left if n in cluster.node_names and cluster.is_down(n))
            with contextlib.suppress(impl.simulator.SimulationError):
                cluster.join(rnd.choice(gone))
        elif roll < 0.18:
            cluster.set_skew(rnd.choice(up), rnd.choice([0, 120, -120, 3600, -3600]))
        key = rnd.choice(keys)
        client = clients[key]
        try:
            read = client.get(key)
        except DynamoError:
            cluster.run_for(0.2)
            continue
        if len(read.values) > 1:
            sib += 1
        val = b"%s-%d" % (key, step)
        try:
            if rnd.random() < 0.15:
                client.delete(key, context=read.context)
                last[key] = None
            else:
                client.put(key, val, context=read.context)
                last[key] = val
            unknown.discard(key)
        except DynamoError:
            unknown.add(key)
        cluster.run_for(rnd.choice([0.0, 0.05, 0.3, 1.0]))
    for name in [n for n in cluster.node_names if cluster.is_down(n) and n not in removed]:
        if name in cluster.left:
            try:
                cluster.join(name)
            except impl.simulator.SimulationError:
                cluster.restart(name)
        else:
            cluster.restart(name)
    wrong = []
    quiet = True
    try:
        cluster.run_until_quiet(max_time=120)
    except Exception:
        quiet = False
    thin = []
    for key in keys:
        if key in unknown or last.get(key) is None:
            continue
        try:
            reps = cluster.replicas(key)
        except Exception:
            continue
        have = sorted(n for n, rec in reps.items() if rec is not None and has(rec, last[key]))
        if len(have) < 3:
            thin.append((key.decode(), have, sorted(reps)))
    reader = cluster.client(client_id="checker", routing="random")
    for key in keys:
        if key in unknown or key not in last:
            continue
        try:
            got = reader.get(key, r=3)
        except DynamoError as e:
            wrong.append((key.decode(), "err " + type(e).__name__))
            continue
        want = [] if last[key] is None else [last[key]]
        if sorted(got.values) != want:
            wrong.append(
                (key.decode(), [v.decode() for v in got.values], last[key] and last[key].decode())
            )
    cluster.close()
    return dict(seed=seed, clock=clock, ae=ae, quiet=quiet, wrong=wrong, sib=sib, thin=thin)


if __name__ == "__main__":
    clock = sys.argv[1]
    ae = sys.argv[2] == "1"
    for seed in range(int(sys.argv[3]), int(sys.argv[4])):
        t = time.process_time()
        r = run(seed, clock, ae)
        r["cpu"] = round(time.process_time() - t, 1)
        print(json.dumps(r), flush=True)
