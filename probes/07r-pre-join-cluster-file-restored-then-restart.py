"""A member restarted on a cluster file from before a join (07a-07q join and leave
with the file kept current; 08g feeds malformed files): the operator's
configuration management (Ansible, Chef, a backup of /etc) puts back the cluster
file it knows, the one from before `vdynamo join n4`, which lacks `[nodes.n4]`, and
then a member is restarted on it (a rolling restart; etcd's "member restarted with
an old --initial-cluster", Cassandra's "seeds/topology file reverted by Puppet").
The member's data file says n4 is a member holding ranges; its file does not say
where n4 is.

`vdynamo cluster up --nodes 3 --r 2 --w 2` (fast rounds); the file copied; `join
n4`; 30 keys at w=3; the copy put back; n1 stopped (SIGTERM) and started again by
`cluster up` on the directory (which restarts nodes that are not running); 30 more
keys through n1 at w=2; the 60 keys read at r=2 through every node, then after 5 s
again; `/status` of n1 (its view of n4).

Right value: either n1 refuses to start on that file, naming n4 (a member its data
file knows that the file does not name), or it serves rightly: every put that n1
acknowledged reads back at r=2 through every node, every earlier key too, and n1's
puts are acknowledged (no 5xx run longer than 5 s) -- not a node up but cut off
from a member without a word.

Run from the project's root: .venv/bin/python probes/07r-pre-join-cluster-file-restored-then-restart.py
Loopback only, about 40 s; every process stopped.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections import Counter
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
base = import_module("07e-real-join-then-leave-w3-r1")
vd, cluster_up, call, read, tear_down = (base.vd, base.cluster_up, base.call, base.read,
                                          base.tear_down)
from _cluster import Checks  # noqa: E402

OCTET = {"Content-Type": "application/octet-stream"}


def main() -> None:
    checks = Checks()
    d, _, pids, _ = cluster_up("07r", "--nodes", "3")
    try:
        old = (d / "cluster.toml").read_text()
        join = vd("join", "n4", "--dir", str(d))
        nodes = json.loads((d / "cluster.json").read_text())["nodes"]
        pids |= {e["pid"] for e in nodes.values() if e.get("pid")}
        p = base.ports(d)
        first = {f"a{i}": call("PUT", p["n2"], f"/kv/a{i}?w=3", b"a%d" % i, OCTET)[0]
                 for i in range(30)}
        (d / "cluster.toml").write_text(old)
        os.kill(nodes["n1"]["pid"], signal.SIGTERM)
        time.sleep(3)
        again = vd("cluster", "up", "--dir", str(d), timeout=90)
        nodes = json.loads((d / "cluster.json").read_text())["nodes"]
        pids |= {e["pid"] for e in nodes.values() if e.get("pid")}
        alive = False
        n1pid = nodes["n1"].get("pid")
        if n1pid:
            try:
                os.kill(n1pid, 0)
                alive = True
            except ProcessLookupError:
                pass
        log = (d / "n1" / "node.log").read_text(errors="replace") if (d / "n1" / "node.log"
                                                                     ).exists() else ""
        print(f"join exit {join.returncode}; a* puts {Counter(first.values())}")
        print(f"cluster up on the pre-join file: exit {again.returncode} "
              f"{(again.stderr + again.stdout).strip()[-400:]!r}; n1 running {alive}")
        if not alive:
            refusal = [ln for ln in log.splitlines() if "n4" in ln][-2:]
            print(f"n1 refused: {refusal}")
            checks("a refusal names n4", any("n4" in ln for ln in refusal)
                   or "n4" in again.stderr, refusal)
            return
        second: dict[str, int] = {}
        for i in range(30):
            second[f"b{i}"] = call("PUT", p["n1"], f"/kv/b{i}?w=2", b"b%d" % i, OCTET)[0]
        values = {**{f"a{i}": b"a%d" % i for i in range(30) if first[f"a{i}"] == 200},
                  **{f"b{i}": b"b%d" % i for i in range(30) if second[f"b{i}"] == 200}}
        wrong = [f"{k} via {n}: {code} {vals}" for k, v in values.items() for n in p
                 for code, vals, _ in [read(p[n], k, 2)] if vals != [v]]
        time.sleep(5)
        later = [f"{k} via {n}: {code} {vals}" for k, v in values.items() for n in p
                 for code, vals, _ in [read(p[n], k, 2)] if vals != [v]]
        status = json.loads(call("GET", p["n1"], "/status")[2] or b"{}")
        view = status.get("membership", {}).get("n4")
        print(f"b* puts through n1 at w=2: {Counter(second.values())}")
        print(f"n1's view of n4: {view}; ready {status.get('ready')}")
        print(f"r=2 wrong at once {len(wrong)} {wrong[:4]}; 5 s later {len(later)} {later[:4]}")
        for ln in [ln for ln in log.splitlines() if "n4" in ln][-3:]:
            print("  n1.log:", ln[:300])
        checks("n1's puts acknowledged", set(second.values()) == {200}, Counter(second.values()))
        checks("every acknowledged key right at r=2 at once", not wrong, wrong[:4])
        checks("every acknowledged key right at r=2 5 s later", not later, later[:4])
    finally:
        tear_down(d, pids)
        checks.finish()


if __name__ == "__main__":
    main()
