"""Contexts read before a delete, echoed back after the tombstone was reaped and the
key written again (Riak's kv679 "reaped tombstone, old vclock" shape; the
client-vclock twin is tests/runtime/test_client_counter_reap.py, this one is
dvv and server-vclock, whose counters are the coordinators').

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2,
`tombstone_grace_s = 1`. For each clock mode and each key k1..k3: `v1` put
through n1, read (context A), `v2` put with A through n1, read (context B),
deleted with B through n2, then the probe waits until every node's /status
counts 0 keys (the tombstone reaped everywhere); in the second run of each mode
every node is then stopped (SIGTERM) and started again on its data. Then the key is written again
blind (`new`) and an old context comes back:

- k1: `new` through n1 (the first writer's coordinator), `stale` with A through n3;
- k2: `new` through n1, DELETE with B through n2;
- k3: `new` through n2 (the deleter), `stale` with B through n1.

Right value at r=3 through each node: k1 and k3 [new, stale] as siblings (the
stale writer never saw `new`), k2 [new] (a delete with a context read before
`new` existed must not delete it).

Run from the project's root:
    .venv/bin/python probes/12g-pre-delete-contexts-after-the-reap.py [dvv,server-vclock,...]
"""
import json
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

MODES = sys.argv[1].split(",") if len(sys.argv) > 1 else ["dvv", "server-vclock", "client-vclock"]
problems: list[str] = []


def keys(c: LocalNodes, node: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{c.http[node]}/status", timeout=5) as r:
        return int(json.loads(r.read())["keys"])


def delete(c: LocalNodes, key: str, node: str, context: str | None) -> int:
    headers = {"X-Vdynamo-Context": context} if context else {}
    return c.request("DELETE", key, node=node, headers=headers)[0]


for mode, restart in [(m, r) for m in MODES for r in (False, True)]:
    with LocalNodes(nodes=3, extra_cluster=f'clock = "{mode}"\ntombstone_grace_s = 1.0') as c:
        mode = mode + (" restarted" if restart else "")
        ctx: dict[str, tuple[str, str]] = {}
        for key in ("k1", "k2", "k3"):
            assert c.put(key, b"v1", node="n1") == 200
            _, a = c.read(key, node="n1", query="?r=3")
            assert c.put(key, b"v2", node="n1", context=a) == 200
            vals, b = c.read(key, node="n1", query="?r=3")
            assert vals == [b"v2"], vals
            assert a and b
            ctx[key] = (a, b)
            assert delete(c, key, "n2", b) in (200, 204), key
        deadline = time.time() + 40
        while time.time() < deadline:
            for key in ("k1", "k2", "k3"):
                c.read(key, node="n1", query="?r=3")  # a get sets the reap once all hold it
            if all(keys(c, n) == 0 for n in c.names):
                break
            time.sleep(0.5)
        else:
            problems.append(f"{mode}: the tombstones were not reaped in 40 s "
                            f"({[keys(c, n) for n in c.names]})")
            continue
        if restart:  # every node stopped (SIGTERM) and started again after the reap
            c.stop()
            c.start()
        time.sleep(0.5)
        a1, _ = ctx["k1"]
        assert c.put("k1", b"new", node="n1") == 200
        s1 = c.put("k1", b"stale", node="n3", context=a1)
        _, b2 = ctx["k2"]
        assert c.put("k2", b"new", node="n1") == 200
        s2 = delete(c, "k2", "n2", b2)
        _, b3 = ctx["k3"]
        assert c.put("k3", b"new", node="n2") == 200
        s3 = c.put("k3", b"stale", node="n1", context=b3)
        time.sleep(0.5)
        want = {"k1": [b"new", b"stale"], "k2": [b"new"], "k3": [b"new", b"stale"]}
        for key, status in (("k1", s1), ("k2", s2), ("k3", s3)):
            for node in c.names:
                got = sorted(c.values(key, node=node, query="?r=3"))
                line = f"{mode} {key} (old context answered {status}) via {node}: {got}"
                print(line, flush=True)
                if got != want[key]:
                    problems.append(line + f", want {want[key]}")

if problems:
    print("FAIL:", *problems, sep="\n  ")
    sys.exit(1)
print("PASS")
