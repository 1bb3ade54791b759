"""The s57-service change (a small put's acknowledgement no longer waits for a large
group commit queued before it) seen by a user: a small put acknowledged beside large
ones must be durable the moment its 200 is sent. Cassandra's commitlog "batch" mode
and Riak's `sync_on_write` promise the same; the danger is an ack reordered ahead of
its own write's commit.

Real processes (`vdynamo serve --node`, one process each), 3 nodes, N=3 R=2 W=2.
Per round (seeded): 4 threads put 1 MiB values (w=2) through n1 in a loop; the main
thread puts 100-byte values through n1, alternately at w=1 and w=3, and right after
the K-th small 200 (K random, 5..25) every node is SIGKILLed (n1 first, within
milliseconds of the answer). All restarted.

Right value: every acknowledged small put reads its value at r=3 through n1 (w=1:
one durable copy survives somewhere); every acknowledged w=3 small put is on n1
itself (n2 and n3 stopped, r=1 through n1); every acknowledged large put reads its
value at r=3. Three rounds.

Then three rounds alone: n2 and n3 SIGSTOPped, so n1's own write is the only
acknowledgement a w=1 put can have; 4 threads put 1 MiB values (w=1) through n1,
the main thread 100-byte values (w=1), and n1 is SIGKILLed right after the K-th
small 200 (K random, 3..15). Right value: n1 restarted alone (n2 and n3 killed)
holds every acknowledged small put (r=1). Shown to fail: `NodeServer._skippable`
returning every pending submit (an ack sent before its own write's commit):
FAIL in the rounds alone (see docs/runtime.md, "Red team 6").

Run from the project's root: .venv/bin/python probes/01j-small-acks-beside-large-puts-kill9.py
"""
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
rnd = random.Random(57)
with LocalNodes(nodes=3, per_process=True) as cluster:
    for rnd_no in range(3):
        large_acked: dict[str, bytes] = {}
        end_flood = flood(cluster, f"big-{rnd_no}", "?w=2", acked=large_acked)
        time.sleep(0.5)
        small_acked: dict[str, tuple[bytes, int]] = {}
        target = rnd.randint(5, 25)
        i = 0
        while len(small_acked) < target and i < 400:
            w = 1 if i % 2 == 0 else 3
            key, value = f"small-{rnd_no}-{i}", os.urandom(50).hex().encode()
            status = cluster.put(key, value, query=f"?w={w}")
            if status == 200:
                small_acked[key] = (value, w)
            i += 1
        for name in ("n1", "n2", "n3"):
            cluster.kill(name)
        end_flood()
        large_copy = dict(large_acked)
        cluster.start()
        time.sleep(1.0)
        lost = [k for k, (v, _) in small_acked.items() if v not in cluster.values(k, query="?r=3")]
        check(f"round {rnd_no}: {len(small_acked)} acknowledged small puts at r=3", not lost, lost)
        lost_big = [k for k, v in large_copy.items() if v not in cluster.values(k, query="?r=3")]
        check(f"round {rnd_no}: {len(large_copy)} acknowledged 1 MiB puts at r=3", not lost_big,
              lost_big)
        cluster.kill("n2")
        cluster.kill("n3")
        w3 = [k for k, (_, w) in small_acked.items() if w == 3]
        missing = cluster.missing_alone("n1", w3)
        check(f"round {rnd_no}: {len(w3)} acknowledged w=3 small puts on n1 alone", not missing,
              missing)
        print(f"round {rnd_no}: small acked {len(small_acked)} ({len(w3)} at w=3), "
              f"large acked {len(large_copy)}; lost {len(lost)}, {len(lost_big)}, {len(missing)}")
        cluster.stop()
        cluster.start()
    for rnd_no in range(3, 6):
        for name in ("n2", "n3"):
            os.kill(cluster.procs[name].pid, signal.SIGSTOP)
        end_flood = flood(cluster, f"big-{rnd_no}", "?w=1")
        time.sleep(0.5)
        acked: dict[str, bytes] = {}
        target = rnd.randint(3, 15)
        i = 0
        while len(acked) < target and i < 200:
            key, value = f"alone-{rnd_no}-{i}", os.urandom(50).hex().encode()
            if cluster.put(key, value, query="?w=1") == 200:
                acked[key] = value
            i += 1
        cluster.kill("n1")
        end_flood()
        for name in ("n2", "n3"):
            os.kill(cluster.procs[name].pid, signal.SIGCONT)
            cluster.kill(name)
        cluster.start_node("n1")
        time.sleep(2.5)  # its shadow round, peers down
        missing = cluster.missing_alone("n1", list(acked))
        print(f"round {rnd_no} (n1 alone): small acked {len(acked)}; lost {len(missing)}")
        check(f"round {rnd_no}: {len(acked)} acknowledged w=1 small puts on n1 alone", not missing,
              missing)
        cluster.stop()
        cluster.start()
check.finish()
