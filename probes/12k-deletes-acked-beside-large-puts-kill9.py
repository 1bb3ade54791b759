"""Deletes and re-creates acknowledged beside large puts, then every process killed
(the s57-service group commit lets a small submit pass a large one queued before
it: a tombstone, or a put after it, reordered or acknowledged before its commit
would bring a deleted value back or lose the re-create after a crash). 01j checks
puts only; 12a-12h never crash a node right after a delete's answer.

Real processes (one per node), 3 nodes, N=3 R=2 W=2. Per round (seeded): 4 threads
put 1 MiB values (w=2) through n1 in a loop; the main thread, for keys `d-R-i`:
puts `v1` (w=3), deletes it with the put's context (w=1 or w=3, alternating),
puts `v2` blind (w=1), all through n1, and right after the K-th acknowledged
step (K random, 10..60) every node is SIGKILLed. All restarted.

Right value, at r=3 through n1 and through n3: a key whose `v2` was acknowledged
reads [v2] (or [v2] beside nothing else); a key whose delete was acknowledged and
`v2` not sent reads nothing (never v1); a key whose `v1` alone was acknowledged
reads [v1]. Three rounds.

Then three rounds with n2 and n3 SIGSTOPped (n1's own write the only
acknowledgement of a w=1 step): every step at w=1 through n1, the large puts too;
n1 SIGKILLed right after the K-th acknowledged step (K random, 4..30), then
restarted alone (n2 and n3 killed). Right value at r=1 through n1: as above.
Shown to fail: `NodeServer._skippable` returning every pending submit (an ack
sent before its commit): see docs/runtime.md, "Red team 6".

Run from the project's root: .venv/bin/python probes/12k-deletes-acked-beside-large-puts-kill9.py
"""
import json
import os
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, flood

check = Checks()
rnd = random.Random(1257)
octet = {"Content-Type": "application/octet-stream"}
with LocalNodes(nodes=3, per_process=True) as cluster:
    for rnd_no in range(6):
        lone = rnd_no >= 3
        w_all = "?w=1" if lone else "?w=3"
        if lone:
            for name in ("n2", "n3"):
                os.kill(cluster.procs[name].pid, signal.SIGSTOP)
        end_flood = flood(cluster, f"big-{rnd_no}", "?w=1" if lone else "?w=2")
        time.sleep(0.5)
        target, steps = rnd.randint(4, 30) if lone else rnd.randint(10, 60), 0
        state: dict[str, list[bytes] | None] = {}  # None: deleted
        i = 0
        while steps < target and i < 200:
            key = f"d-{rnd_no}-{i}"
            i += 1
            st, _, body = cluster.request("PUT", key, b"v1", query=w_all, headers=octet)
            if st != 200:
                continue
            state[key], steps = [b"v1"], steps + 1
            if steps >= target:
                break
            ctx = json.loads(body)["context"]
            w = 1 if i % 2 or lone else 3
            st = cluster.request("DELETE", key, query=f"?w={w}",
                                 headers={"X-Vdynamo-Context": ctx})[0]
            if st not in (200, 204):
                continue
            state[key], steps = None, steps + 1
            if steps >= target:
                break
            if cluster.put(key, b"v2", query="?w=1") == 200:
                state[key], steps = [b"v2"], steps + 1
        for name in ("n1", "n2", "n3"):
            if lone and name != "n1":
                os.kill(cluster.procs[name].pid, signal.SIGCONT)
            cluster.kill(name)
        end_flood()
        if lone:
            cluster.start_node("n1")
            time.sleep(2.5)  # its shadow round, peers down
        else:
            cluster.start()
            time.sleep(1.0)
        wrong = []
        for key, want in state.items():
            for node in (("n1",) if lone else ("n1", "n3")):
                try:
                    vals = cluster.values(key, node=node, query="?r=1" if lone else "?r=3")
                except RuntimeError as err:
                    wrong.append((key, node, str(err)[:100]))
                    continue
                if vals != (want or []):
                    wrong.append((key, node, want, vals))
        deleted = sum(v is None for v in state.values())
        print(f"round {rnd_no}: {steps} steps acknowledged over {len(state)} keys "
              f"({deleted} ending deleted); {len(wrong)} wrong")
        check(f"round {rnd_no}: every acknowledged delete and re-create after kill -9",
              not wrong, wrong[:4])
        cluster.stop()
        cluster.start()
check.finish()
