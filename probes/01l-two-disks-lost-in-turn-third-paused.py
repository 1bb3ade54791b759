"""Two disks replaced one after the other while the third replica is paused (01a-01k
lose or damage one node's store): a hardware refresh done node by node, or two
disks of one batch failing a day apart, while the third node sits in a long GC
pause or behind a partition (SIGSTOP: it holds only the older values). The
operator waits for the first node's rebuild to end (`/status` `rebuild` null, as
docs/runtime.md says) before replacing the second: Riak's "replace one node at a
time and wait for handoff", Cassandra's "replace_address one node at a time".

Real processes (`serve --node`), 3 nodes, N=3 R=2 W=2, dvv (or the clocks given),
fast rounds. 20 keys v1 at w=3; n3 SIGSTOPped; each key read and written v2 with
its context at w=2 through n1 (so v2 is on n1 and n2 alone); n1 SIGKILLed, its
files deleted, started (waited until `rebuild` is null, at most 20 s); then n2 the
same; at each step every key read at r=2 through n1 and n2; n3 SIGCONTed; 6 s.

Right value: no read ever answers v1 or not found (an answer is [v2], or a 503
while the replaced stores are not rebuilt: a node that cannot know must say so);
after n3 is back every key reads [v2] at r=3 through every node. If n1's rebuild
cannot end while n3 is paused, n2's disk is not replaced (the operator would wait),
and the probe says so (then the check is that reads are [v2] or 503).

Run from the project's root: .venv/bin/python probes/01l-two-disks-lost-in-turn-third-paused.py [CLOCK ...]
Loopback only, about 60 s a clock mode; every process stopped (SIGCONT first).
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, each_clock

FAST = "gossip_interval = 0.25\nhint_scan_interval = 0.25\nanti_entropy_interval = 0.5"


def status(c: LocalNodes, name: str) -> dict[str, object]:
    try:
        code, _, body = c.request("GET", "", node=name, timeout=3)
    except OSError:
        return {}
    return json.loads(body) if code == 200 else {}


def rebuilt(c: LocalNodes, name: str, timeout: float) -> float | None:
    """Seconds until ``name``'s /status says ``rebuild`` null (None: not within ``timeout``)."""
    start = time.time()
    while time.time() - start < timeout:
        s = status(c, name)
        if s and s.get("rebuild") is None and s.get("ready", True):
            return round(time.time() - start, 1)
        time.sleep(0.3)
    return None


def wipe(c: LocalNodes, name: str) -> None:
    c.kill(name)
    for f in c.dir.glob(f"{name}.sqlite*"):
        f.unlink()
    c.start_node(name)


def reads(c: LocalNodes, keys: list[str], nodes: tuple[str, ...], r: int) -> Counter[str]:
    seen: Counter[str] = Counter()
    for node in nodes:
        for key in keys:
            code, _, _ = c.request("GET", key, node=node, query=f"?r={r}", timeout=15)
            if code == 200:
                vals = c.values(key, node=node, query=f"?r={r}")
                seen["[" + ",".join(v.decode() for v in sorted(vals)) + "]"] += 1
            else:
                seen[str(code)] += 1
    return seen


def run(clock: str, checks: Checks) -> None:
    with LocalNodes(nodes=3, per_process=True,
                    extra_cluster=f'clock = "{clock}"\n{FAST}') as c:
        c.url = lambda key, node="n1", query="": (  # type: ignore[method-assign]
            f"http://127.0.0.1:{c.http[node]}/kv/{key}{query}" if key
            else f"http://127.0.0.1:{c.http[node]}/status")
        keys = [f"k{i}" for i in range(20)]
        codes = [c.put(k, b"v1", query="?w=3") for k in keys]
        time.sleep(0.5)
        n3 = c.procs["n3"].pid
        os.kill(n3, signal.SIGSTOP)
        try:
            for k in keys:
                _, ctx = c.read(k, node="n1")
                codes.append(c.put(k, b"v2", context=ctx, query="?w=2"))
            wipe(c, "n1")
            took1 = rebuilt(c, "n1", 20)
            after1 = reads(c, keys, ("n1", "n2"), 2)
            print(f"{clock}: puts {sorted(set(codes))}; n1 wiped, rebuilt in {took1} s "
                  f"(n3 paused); r=2 through n1, n2: {dict(after1)}")
            after2: Counter[str] = Counter()
            took2 = None
            if took1 is not None:
                wipe(c, "n2")
                took2 = rebuilt(c, "n2", 20)
                after2 = reads(c, keys, ("n1", "n2"), 2)
                print(f"   n2 wiped, rebuilt in {took2} s; r=2 through n1, n2: {dict(after2)}")
            else:
                print("   n1's rebuild did not end with n3 paused: n2 not wiped")
        finally:
            os.kill(n3, signal.SIGCONT)
        time.sleep(6.0)
        final = reads(c, keys, ("n1", "n2", "n3"), 3)
        print(f"   n3 back, 6 s later, r=3 through every node: {dict(final)}")
        checks(f"{clock}: every put 200", set(codes) == {200}, codes)
        for what, seen in (("after n1's wipe", after1), ("after n2's wipe", after2)):
            checks(f"{clock}: {what} no read answers v1 or not found",
                   not set(seen) - {"[v2]", "503"}, dict(seen))
        checks(f"{clock}: every key [v2] at r=3 at the end", set(final) == {"[v2]"},
               dict(final))


if __name__ == "__main__":
    each_clock(run)
