"""A rolling crash of every node in turn under a write load (01e kills one node with
its peers stopped, 01j one node beside large puts; no probe crashed *every* node in
turn while clients kept writing): an operator's rolling kernel upgrade done with
`kill -9` (a host reboot, an OOM kill), Riak's and Cassandra's "rolling restart
under load" runbook, twice around, each node back before the next goes down. The
amnesia a crash can cause (a lost tail of a node's write-ahead log, a re-issued dot,
riak_kv#679) shows as an acknowledged write missing or superseded by an older one.

3 processes (`serve --node`), dvv, N=3 R=2 W=2, fsync "always". Two writer threads
put fresh keys (each once, at most 200 each, one every 0.1 s) at w=2 through random nodes; a third runs a
read-modify-write chain on `hot` (GET r=2, PUT the next number with that context at
w=2) through random nodes. Each node in turn, twice around: SIGKILL, 1 s, started
again, waited for until `/health` is ready (at most 30 s), 2 s more. After each
node is back every key acknowledged so far is read at r=2 through a random node.
At the end, the writers stopped and 3 s to settle, every acknowledged key at r=2
through every node and `hot` at r=3.

Right value: every acknowledged key reads [its value] at every check (R + W > N and
at most one node down at a time); `hot` reads the last acknowledged number (alone,
or beside values of puts that were not acknowledged), never only older ones; each
node ready within 30 s of its start.

Run from the project's root: .venv/bin/python probes/01m-rolling-kill9-every-node-under-load.py [SEED]
Loopback only, about 60-90 s; every process stopped.
"""
from __future__ import annotations

import random
import sys
import threading
import time
from collections import Counter

from _cluster import Checks, LocalNodes


def main() -> None:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    rng = random.Random(seed)
    checks = Checks()
    acked: dict[str, bytes] = {}
    hot: list[int] = []
    codes: Counter[int] = Counter()
    lock, stop = threading.Lock(), threading.Event()
    with LocalNodes(nodes=3, per_process=True, extra_cluster='clock = "dvv"') as c:
        def writer(t: int) -> None:
            local = random.Random(seed * 100 + t)
            i = 0
            while not stop.is_set() and i < 200:
                key, value = f"w{t}-{i}", b"v%d-%d" % (t, i)
                try:
                    code = c.put(key, value, node=local.choice(c.names), query="?w=2")
                except OSError:
                    code = 0
                with lock:
                    codes[code] += 1
                    if code == 200:
                        acked[key] = value
                i += 1
                time.sleep(0.1)

        def chain() -> None:
            local = random.Random(seed * 100 + 9)
            n = 0
            while not stop.is_set():
                node = local.choice(c.names)
                try:
                    _, ctx = c.read("hot", node=node, query="?r=2")
                    code = c.put("hot", b"%d" % (n + 1), node=node, context=ctx, query="?w=2")
                except (OSError, RuntimeError):
                    code = 0
                if code == 200:
                    n += 1
                    hot.append(n)
                time.sleep(0.1)

        threads = [threading.Thread(target=writer, args=(t,), daemon=True) for t in range(2)]
        threads.append(threading.Thread(target=chain, daemon=True))
        for thread in threads:
            thread.start()
        time.sleep(2)
        wrong: list[str] = []
        readies: list[tuple[str, float | None]] = []
        for rnd in range(2):
            for name in c.names:
                c.kill(name)
                time.sleep(1)
                c.start_node(name)
                readies.append((name, c.ready_within(name)))
                time.sleep(2)
                with lock:
                    snapshot = dict(acked)
                for key, value in snapshot.items():
                    try:
                        got = c.values(key, node=rng.choice(c.names), query="?r=2")
                    except (OSError, RuntimeError) as error:
                        got = [repr(error)[:60].encode()]
                    if got != [value]:
                        wrong.append(f"round {rnd} after {name}: {key} {got}")
        stop.set()
        for thread in threads:
            thread.join(20)
        time.sleep(3)
        end_wrong = [f"{key} via {node}: {got}" for key, value in acked.items()
                     for node in c.names
                     if (got := c.values(key, node=node, query="?r=2")) != [value]]
        hot_vals = c.values("hot", query="?r=3")
        last = hot[-1] if hot else 0
        print(f"seed {seed}: puts {dict(codes)}; acked keys {len(acked)}; hot chain acked "
              f"{len(hot)} (last {last}), hot at r=3 {hot_vals}")
        print(f"ready after start (s): {readies}")
        print(f"wrong during the roll: {len(wrong)} {wrong[:5]}")
        print(f"wrong at the end: {len(end_wrong)} {end_wrong[:5]}")
        checks("every node ready within 30 s", all(t is not None for _, t in readies), readies)
        checks("acknowledged keys right during the roll (r=2)", not wrong, wrong[:5])
        checks("acknowledged keys right at the end (r=2 through every node)", not end_wrong,
               end_wrong[:5])
        checks("hot holds the last acknowledged number", b"%d" % last in hot_vals or not hot,
               (last, hot_vals))
        checks("hot holds nothing older than the last acknowledged",
               all(int(v) >= last for v in hot_vals if v.isdigit()), (last, hot_vals))
    checks.finish()


if __name__ == "__main__":
    main()
