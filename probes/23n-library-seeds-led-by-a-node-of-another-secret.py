"""The client library and the CLI given their cluster's three nodes, the first of which
was restarted with another secret (a deployment that shipped one member a stale
cluster file; Cassandra's "node with a different cluster_name" and etcd's member with
another ``--initial-cluster-token``): its peers refuse its hellos, its ``/status``
says ``ready: false`` and why. 20f rotates a member's secret but seeds the client
with a good node first; 23a kills or pauses a node; nobody put the odd one first.

Real processes (`serve --node`), 3 nodes, N=3 R=2 W=2: n1 and n2 on the cluster file,
n3 on a copy with another secret and its own data file. Seeds ``[n3, n1, n2]`` and
``[n1, n2, n3]``; for each: the blocking client, the asyncio client and `vdynamo put`
/ `get` with ``--node`` in that order, 5 keys each.

Right value: every put and get succeeds through n1 and n2 (a quorum of the members
serves), whatever the order, and each key reads its value at r=2 through n1.

Found (session 60): seeds ``[n3, n1, n2]``: every call NoNodeError ("a node of another
cluster" for n1 and n2, n3's 503): the client learned the cluster of its first seed,
n3's. Fixed: ``impl.http_client._status_of`` passes over a node not ready before the
cluster is learned (tests/vdynamo/test_client_unready_seed.py).

Run from the project's root:
    .venv/bin/python probes/23n-library-seeds-led-by-a-node-of-another-secret.py
"""
import asyncio
import json
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, vdynamo_command

import vdynamo

check = Checks()
V = vdynamo_command()


async def through_async(seeds: list[str], keys: list[str]) -> list[str]:
    errors = []
    async with vdynamo.connect_async(seeds) as db:
        for key in keys:
            try:
                await db.put(key, key.encode())
                if (await db.get(key)).values != [key.encode()]:
                    errors.append(f"{key}: wrong value")
            except Exception as err:  # reported
                errors.append(f"{key}: {type(err).__name__}: {str(err)[:160]}")
    return errors


with LocalNodes(nodes=3, per_process=True) as cluster:
    other = cluster.dir / "other.toml"
    other.write_text(re.sub(r'secret = "[0-9a-f]+"', f'secret = "{secrets.token_hex(24)}"',
                            cluster.config.read_text())
                     .replace("[nodes.n3]\n", '[nodes.n3]\ndata = "other-n3.sqlite"\n'))
    other.chmod(0o600)
    cluster.kill("n3")
    cluster.start_node("n3", config=other)
    deadline = time.monotonic() + 30
    why = ""
    while "secret" not in why and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{cluster.http['n3']}/status",
                                        timeout=2) as answer:
                why = json.loads(answer.read()).get("why_not_ready") or ""
        except OSError:
            pass
        time.sleep(0.3)
    check("n3 says its peers' secret differs", "secret" in why, why)
    for order in (["n3", "n1", "n2"], ["n1", "n2", "n3"]):
        seeds = [f"127.0.0.1:{cluster.http[name]}" for name in order]
        tag = "-".join(order)
        keys = [f"b-{tag}-{i}" for i in range(5)]
        errors = []
        with vdynamo.connect(seeds) as db:
            for key in keys:
                try:
                    db.put(key, key.encode())
                    if db.get(key).values != [key.encode()]:
                        errors.append(f"{key}: wrong value")
                except Exception as err:  # reported
                    errors.append(f"{key}: {type(err).__name__}: {str(err)[:160]}")
        check(f"{order}: the blocking client's 5 puts and gets", not errors, errors[:2])
        akeys = [f"a-{tag}-{i}" for i in range(5)]
        errors = asyncio.run(through_async(seeds, akeys))
        check(f"{order}: the asyncio client's 5 puts and gets", not errors, errors[:2])
        ckeys = [f"c-{tag}-{i}" for i in range(5)]
        nodes = [arg for seed in seeds for arg in ("--node", seed)]
        bad = []
        for key in ckeys:
            put = subprocess.run([*V, "put", key, key, *nodes], capture_output=True, text=True,
                                 timeout=60)
            got = subprocess.run([*V, "get", key, *nodes], capture_output=True, text=True,
                                 timeout=60)
            if put.returncode or got.returncode or got.stdout.splitlines()[:1] != [key]:
                bad.append((key, put.returncode, got.returncode, (put.stderr + got.stderr)[-200:]))
        check(f"{order}: the CLI's 5 puts and gets", not bad, bad[:2])
        wrong = [key for key in keys + akeys + ckeys
                 if cluster.values(key, node="n1", query="?r=2") != [key.encode()]]
        check(f"{order}: every key its value at r=2 through n1", not wrong, wrong[:5])
check.finish()
