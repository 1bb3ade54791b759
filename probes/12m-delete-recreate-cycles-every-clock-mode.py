"""One key deleted and re-created over and over, in *every* clock mode, on real
processes (a session store or a lock key: Riak's "tombstone accumulation" and
"vclock grows with every delete/put cycle" reports; Cassandra's tombstone
build-up on a hot partition). 05j is client-vclock in the simulator (past
truncation, fixed by s59-tomb); 12g re-creates after the reap; none loops hundreds
of cycles in dvv, server-vclock and lww with foreign blind writes mixed in.

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, defaults
(``tombstone_grace_s`` left as it is). For each mode: 150 cycles through the library:
Alice deletes ``t`` with her last context and re-creates it with the delete's
context; every third cycle another client (a new library client, its seed another
node) writes ``t`` blind first, and Alice reads and deletes with the read's context.
After every 50 cycles, a get at r=3 through each node.

Right value: every call succeeds; every checkpoint reads exactly Alice's last value
(``v<i>``, one value, no blind value left, no deleted value back) through every
node; the context stays bounded: under 4 KiB, and (but in client-vclock, where each
blind client adds its pair until ``vclock_max_pairs``, 50: 3,028 bytes, reached by
cycle 150) the context of cycle 150 no longer than 1.2 times that of cycle 50; each
node's /status ``keys`` stays at 1.

Seen (session 59): PASS; context bytes at cycles 50/100/150: dvv 100/100/100,
client-vclock 1,048/2,068/3,028 (3,028 through cycle 300 in a longer run),
server-vclock 60, lww 44.

Run from the project's root: .venv/bin/python probes/12m-delete-recreate-cycles-every-clock-mode.py [MODE...]
"""
from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes  # noqa: E402

import vdynamo  # noqa: E402

MODES = sys.argv[1:] or ["dvv", "client-vclock", "server-vclock", "lww"]
CYCLES = 150
check = Checks()

for mode in MODES:
    with LocalNodes(nodes=3, extra_cluster=f'clock = "{mode}"') as c:
        addrs = [f"127.0.0.1:{c.http[name]}" for name in c.names]
        sizes: dict[int, int] = {}
        errors: list[str] = []
        with vdynamo.connect(addrs) as alice:
            context = alice.put("t", b"v0")
            for i in range(1, CYCLES + 1):
                try:
                    if i % 3 == 0:
                        with vdynamo.connect([addrs[i % 3]]) as other:
                            other.put("t", b"blind%d" % i)
                        context = alice.delete("t", context=alice.get("t").context)
                    else:
                        context = alice.delete("t", context=context)
                    context = alice.put("t", b"v%d" % i, context=context)
                except vdynamo.client.NoNodeError as error:
                    errors.append(f"cycle {i}: {error}"[:200])
                    continue
                if i % 50 == 0:
                    seen = [c.values("t", node=name, query="?r=3") for name in c.names]
                    check(f"{mode} cycle {i}: every node reads [v{i}] at r=3",
                          all(values == [b"v%d" % i] for values in seen), seen)
                    sizes[i] = len(alice.get("t", r=3).context)
        check(f"{mode}: every call succeeded", not errors, errors[:3])
        if 50 in sizes and CYCLES in sizes:
            grows = mode == "client-vclock"  # a pair per blind client, to vclock_max_pairs
            check(f"{mode}: the context stays bounded (cycle 50, {CYCLES}; bytes)",
                  (grows or sizes[CYCLES] <= 1.2 * sizes[50]) and sizes[CYCLES] < 4096, sizes)
        for name in c.names:
            with urllib.request.urlopen(f"http://127.0.0.1:{c.http[name]}/status",
                                        timeout=10) as answer:
                keys = json.loads(answer.read()).get("keys")
            check(f"{mode}: {name} holds 1 key", keys == 1, keys)
        print(f"{mode}: context bytes by cycle {sizes}")
check.finish()
