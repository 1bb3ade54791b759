"""Real processes: the CLI's write failover to a node whose disk was just replaced.
3 nodes N=3 R=W=2; 10 keys v1 at w=3; n1 killed, its sqlite deleted, started again
(peers up: it is told it is a replaced disk and rebuilds); at once, for each key:
vdynamo get (context) then put v2 --context, through --node n1 --node n2 (n1 first),
--node-timeout 1; keys 0-3 then deleted with the put's context the same way.
Then every key read at r=1 through each node (after n1 ready) and r=3 via n2:
want [v2] or not found for deleted; nothing of v1.
`w1`: n2 and n3 killed with n1 (n1's replaced disk alone, marked fresh-unconfirmed),
the CLI's get fails (R = 2), each put is blind at --w 1 (the CLI fails over from n2, n3,
refused, to n1), keys 0-3 deleted with the put's context; n1 killed and started
(fresh holding its own, the own token), then n2 and n3: v2 must be read (v1 may stand
beside it: a blind put is concurrent) and a deleted key must not read v2.
Real processes (tests/runtime/procs.py ServedNodes), loopback, every process stopped.
Run from the project's root: .venv/bin/python probes/07i-cli-failover-replaced-disk.py [w1]
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.getcwd())
import tempfile

from tests.runtime.procs import ServedNodes
from tests.runtime.procs import http_call as call

NAMES = ("n1", "n2", "n3")
W1 = len(sys.argv) > 1 and sys.argv[1] == "w1"
tmp = Path(tempfile.mkdtemp(prefix="s53rev2-"))


def cli(*a):
    return subprocess.run(
        [sys.executable, "-m", "vdynamo", *a],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=os.getcwd(),
    )


bad = []
with ServedNodes(
    tmp,
    NAMES,
    [
        'clock = "dvv"',
        "r = 2",
        "w = 2",
        "gossip_interval = 0.25",
        "request_timeout = 5",
        "shadow_round_s = 0.5",
    ],
) as nodes:
    nodes.start(*NAMES)
    nodes.wait_ready(*NAMES)
    a = {n: f"127.0.0.1:{nodes.http[n]}" for n in NAMES}
    for i in range(10):
        assert call("PUT", f"http://{a['n1']}/kv/k{i}?w=3", b"v1")[0] == 200
    nodes.kill("n1")
    if W1:
        nodes.kill("n2")
        nodes.kill("n3")
    for p in tmp.glob("n1.sqlite*"):
        p.unlink()
    nodes.start("n1")
    flags = ["--node", a["n1"], "--node", a["n2"], "--node-timeout", "1", "--timeout", "8"]
    if W1:
        flags = ["--node", a["n1"], "--node-timeout", "1", "--timeout", "8"]
        time.sleep(1.5)
    acked = {}
    for i in range(10):
        g = cli("get", f"k{i}", *flags, "--json")
        ctx = json.loads(g.stdout)["context"] if g.returncode == 0 else None
        args = (
            ["put", f"k{i}", "v2", *flags]
            + (["--context", ctx] if ctx else [])
            + (["--w", "1"] if W1 else [])
        )
        p = cli(*args)
        print(
            f"k{i} get rc {g.returncode} {g.stderr.strip()[:100]!r}; "
            f"put rc {p.returncode} {p.stderr.strip()[:140]!r}"
        )
        if p.returncode == 0:
            acked[i] = "v2"
            if i < 4:
                d = cli(
                    "delete",
                    f"k{i}",
                    *flags,
                    "--context",
                    p.stdout.strip().split()[-1],
                    *(["--w", "1"] if W1 else []),
                )
                print(f"  delete rc {d.returncode} {d.stderr.strip()[:140]!r}")
                if d.returncode == 0:
                    acked[i] = None
    if W1:
        print("n1 before restart k5 r=1", call("GET", f"http://{a['n1']}/kv/k5?r=1")[::2])
        if os.environ.get("RESTART", "1") == "1":
            nodes.kill("n1")
            nodes.start("n1")
            time.sleep(1)
            print("n1 after restart k5 r=1", call("GET", f"http://{a['n1']}/kv/k5?r=1")[::2])
        nodes.start("n2", "n3")
    nodes.wait_ready(*NAMES, limit=60)
    time.sleep(3)
    for i, want in acked.items():
        for n in NAMES:
            for r in (1, 3):
                st, _, body = call("GET", f"http://{a[n]}/kv/k{i}?r={r}")
                if W1:  # blind puts: v1 a legitimate sibling; a delete covers v2 only
                    vals = (
                        {b"v1"}
                        if (st, body) == (200, b"v1")
                        else {b"v2"}
                        if (st, body) == (200, b"v2")
                        else {b"v1", b"v2"}
                        if st == 300 and b"v1" in body and b"v2" in body
                        else set()
                        if st == 404
                        else {b"?"}
                    )
                    ok = (
                        (b"v2" not in vals and b"?" not in vals)
                        if want is None
                        else (b"v2" in vals and b"?" not in vals)
                    )
                else:
                    ok = (st == 404) if want is None else (st == 200 and body == b"v2")
                if not ok:
                    bad.append((i, n, r, st, body[:80]))
    print(
        "n1 status stats",
        {
            k: v
            for k, v in nodes.status("n1")["stats"].items()
            if "restore" in k or "rebuild" in k or "shadow" in k
        },
    )
print("acked", acked)
print("bad", len(bad), bad[:10])
print("FAIL" if bad else "PASS")
sys.exit(1 if bad else 0)
