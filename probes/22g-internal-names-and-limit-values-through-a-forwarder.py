"""Keys named like the store's own internals, and values at the size limit exactly,
one under and one over, sent chunked and through a node that owns none of the key
(forwarded), with a replica down so a hint carries them (22a-22f send sizes by
Content-Length through an owner, and odd keys that are not the store's names).

Real processes (`serve --node`), 5 nodes, N=3 R=2 W=2, `max_value_bytes = 65536`.
Keys: the SQLite tables and meta names (`versions`, `hints`, `meta`, `engine`,
`storage-id`, `sqlite_master`), an SQL injection (`k'; DROP TABLE versions;--`),
the node names and the cluster's, `..`, `kv`, `status`, `health` (as keys under
/kv/), `%00` (NUL). n2 is SIGKILLed first; each key is written blind through a node
outside its preference list in a simulated 5-node ring (the served ring may place it
otherwise: then through an owner; either way n2's share goes to a hint) with a
65,535-, a 65,536- (chunked in 7 pieces) and then a 65,537-byte value (chunked:
must be 413).
The replica is started again; 8 s later every key is read at r=3 through every node.

Right value: each key reads the two blind writes as siblings, the 65,535- and the
65,536-byte values (the 65,537 refused 413 and never stored), on every node;
/status answers on every node, which together hold each key 3 times (n2's through
its hints); the SQL-looking key does nothing.

Run from the project's root:
    .venv/bin/python probes/22g-internal-names-and-limit-values-through-a-forwarder.py
"""
import json
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes, raw

LIMIT = 65536
KEYS = ["versions", "hints", "meta", "engine", "storage-id", "sqlite_master",
        "k%27%3B%20DROP%20TABLE%20versions%3B--", "n1", "n3", "vdynamo", "..", "kv",
        "status", "health", "%00"]
problems: list[str] = []


def chunked_put(port: int, key: str, value: bytes, pieces: int = 7) -> bytes:
    size = -(-len(value) // pieces)
    body = b"".join(b"%x\r\n%s\r\n" % (len(value[i:i + size]), value[i:i + size])
                    for i in range(0, len(value), size)) + b"0\r\n\r\n"
    head = (f"PUT /kv/{key} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n").encode()
    return raw(port, head + body, timeout=15).split(b"\r\n", 1)[0]


with LocalNodes(nodes=5, per_process=True, extra_cluster=f"max_value_bytes = {LIMIT}") as c:
    with urllib.request.urlopen(f"http://127.0.0.1:{c.http['n1']}/status", timeout=5) as r:
        status = json.loads(r.read())
    print("status keys:", sorted(status)[:12], flush=True)
    owners: dict[str, list[str]] = {}
    import impl
    sim = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=0)
    for key in KEYS:
        owners[key] = list(sim.replicas(urllib.request.unquote(key).encode()))
    down = "n2"
    c.kill(down)
    for key in KEYS:
        outsiders = [n for n in c.names if n not in owners[key] and n != down]
        via = outsiders[0] if outsiders else next(n for n in c.names if n != down)
        a = c.put(key, b"a" * (LIMIT - 1), node=via)
        b = chunked_put(c.http[via], key, b"b" * LIMIT)
        over = chunked_put(c.http[via], key, b"c" * (LIMIT + 1))
        line = f"{key!r} via {via} (owners {owners[key]}): {a}, {b!r}, {over!r}"
        print(line, flush=True)
        if a != 200 or not b.endswith(b"200 OK") or b" 413 " not in over + b" ":
            problems.append(line)
    c.start(down)
    time.sleep(8)
    for key in KEYS:
        for node in c.names:
            got = sorted(c.values(key, node=node, query="?r=3"))
            if got != [b"a" * (LIMIT - 1), b"b" * LIMIT]:
                problems.append(f"{key!r} via {node}: {[(v[:1], len(v)) for v in got]}")
    total = 0
    for node in c.names:
        with urllib.request.urlopen(f"http://127.0.0.1:{c.http[node]}/status",
                                    timeout=5) as r:
            keys = json.loads(r.read()).get("keys")
        print(f"{node} /status keys: {keys}", flush=True)
        total += int(keys)
    if total != 3 * len(KEYS):
        problems.append(f"the nodes hold {total} copies, not {3 * len(KEYS)}")

if problems:
    print("FAIL:", *problems[:20], sep="\n  ")
    sys.exit(1)
print("PASS")
