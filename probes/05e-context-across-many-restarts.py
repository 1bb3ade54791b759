"""Clock growth from node *restarts* rather than from clients (the public case and
05a-05d grow the clock with client ids): every start of a node takes a new
lifetime actor (Riak's kv679 epochs), so a key read-modify-written through nodes
that keep restarting gains an entry per start unless retired actors are pruned
(riak_kv's vclock growth reports after many restarts/handoffs; Cassandra's
counter shards per node id).

dvv (the default) and server-vclock, 3 processes, N=3 R=2 W=2. 12 rounds: one
node in turn is stopped (SIGTERM on even rounds, SIGKILL on odd ones) and started
again, and then the key gets one read-modify-write through each node (the CLI,
`vdynamo get --json` then `vdynamo put --context`); a second key is written
blind once per round through the restarted node and never read.
Right value: every put succeeds; after each round the first key reads one value
(the last written) at r=3; its context stays under 1 KiB (printed per round);
the second key's read-modify-write with its context at the end leaves one value.

Run from the project's root: .venv/bin/python probes/05e-context-across-many-restarts.py
"""
import base64
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

VD = str(Path(".venv/bin/vdynamo").resolve())
ROUNDS = 12
bad: list[str] = []


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VD, *args], capture_output=True, text=True, timeout=60)


for mode in ("dvv", "server-vclock"):
    c = LocalNodes(nodes=3, per_process=True, extra_cluster=f'clock = "{mode}"')
    try:
        c.start()
        at = {n: f"127.0.0.1:{c.http[n]}" for n in c.names}
        sizes = []
        last = None
        for i in range(ROUNDS):
            node = c.names[i % 3]
            proc = c.procs.pop(node)
            os.kill(proc.pid, signal.SIGTERM if i % 2 == 0 else signal.SIGKILL)
            proc.wait(15)
            c.start(node)
            for via in c.names:
                _, ctx = c.read("k", node=via)
                last = f"r{i}-{via}".encode()
                code = c.put("k", last, node=via, context=ctx)
                if code != 200:
                    bad.append(f"{mode}: round {i} put through {via}: {code}")
            put = cli("put", "blind", f"b{i}", "--node", at[node])
            if put.returncode != 0:
                bad.append(f"{mode}: round {i} blind put: {put.stderr.strip()[:200]}")
                print("FAIL", bad[-1])
            vals, ctx = c.read("k", query="?r=3")
            sizes.append(len(base64.b64decode(ctx or "")))
            if vals != [last]:
                bad.append(f"{mode}: after round {i} k reads {vals[:4]} (want [{last!r}])")
        print(f"{mode}: context bytes per round: {sizes}")
        if max(sizes) > 1024:
            bad.append(f"{mode}: the context grew to {max(sizes)} bytes")
        vals, ctx = c.read("blind", query="?r=3")
        print(f"{mode}: the blind key holds {len(vals)} siblings; context {len(base64.b64decode(ctx or ''))} bytes")
        headers = {"X-Vdynamo-Context": ctx} if ctx else {}
        code = c.request("PUT", "blind", b"merged", headers=headers)[0]
        after = c.values("blind", query="?r=3")
        if code != 200 or after != [b"merged"]:
            bad.append(f"{mode}: the blind key's merge: {code} {after[:4]}")
    finally:
        c.stop()
        shutil.rmtree(c.dir, ignore_errors=True)
for line in bad:
    print("FAIL", line)
if bad:
    print("FAIL: a key stopped taking its own context, or its clock grew without bound")
    sys.exit(1)
print("PASS")
