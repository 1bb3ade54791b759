"""A captured `vdynamo remove` request replayed to *another cluster* made from a
copy of the same cluster file (20k-20o replay a token to the member it was made
for, after a clock step, a replaced disk or a restored backup; session 18 bound
tokens to the cluster's name): an operator builds staging by copying production's
cluster file and changing only the addresses (the secret and the default
`[cluster] name` kept: the docs' example file has no name), as Cassandra's
"cloned cassandra.yaml" and etcd's "reused --initial-cluster-token" reports do.
The two clusters have the same node names, secret and name, so every HMAC the
product derives is the same in both.

Two clusters of 4 processes (`serve --node`), "prod" and "staging", one secret,
no `name`. 5 keys at w=2 in each. n4 of each SIGKILLed (both dead hosts), 12 s. The
operator force-removes prod's n4 through prod's n1 (`POST
/admin/force-remove?node=n4`, a fresh token: 200); the request is captured and
replayed at once to staging's n1 (within the token's 300 s window).

Right value: the replay is refused (401 or 409: the token was made for another
cluster's member), and staging's n4 stays a member in staging's view. A 200 (a
member of another cluster removed by a token it never was given) is the fault.

Run from the project's root: .venv/bin/python probes/20q-admin-token-replayed-to-a-twin-cluster.py
Loopback only, about 40 s; every process stopped.
"""
from __future__ import annotations

import json
import secrets
import shutil
import sys
import time
import urllib.request
from importlib import import_module
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, cluster_file  # noqa: E402

from impl.http_api import admin_authorization  # noqa: E402

admin = import_module("20k-admin-token-replayed-after-a-clock-step").admin


def main() -> None:
    checks = Checks()
    secret = secrets.token_hex(24)
    prod, staging = LocalNodes(nodes=4, per_process=True), LocalNodes(nodes=4, per_process=True)
    for c in (prod, staging):
        c.config = cluster_file(c.dir, c.names, "", c.peer, c.http, secret=secret)
    try:
        for c in (prod, staging):
            c.start()
        time.sleep(3)
        for label, c in (("prod", prod), ("staging", staging)):
            puts = [c.put(f"k{i}", b"v", query="?w=2") for i in range(5)]
            checks(f"{label} puts", set(puts) == {200}, puts)
        prod.kill("n4")
        staging.kill("n4")
        time.sleep(12)
        token = admin_authorization(secret.encode(), "vdynamo", node="n4", member="n1",
                                    address=f"127.0.0.1:{prod.peer['n1']}",
                                    stamp=int(time.time()))
        first = admin(prod, "n4", token)
        replay = admin(staging, "n4", token)
        with urllib.request.urlopen(f"http://127.0.0.1:{staging.http['n1']}/status",
                                    timeout=10) as r:
            view = json.loads(r.read())["membership"].get("n4", {})
        print(f"prod's n1 took the token for n4: {first}")
        print(f"the captured request replayed to staging's n1: {replay}")
        print(f"staging n1's view of its n4 after: {view}")
        checks("prod's own removal 200", first[0] == 200, first)
        checks("the replay to the twin cluster refused", replay[0] in (401, 409), replay)
        checks("staging's n4 still a member", view.get("status") not in ("removed", "removing"),
               view)
    finally:
        for c in (prod, staging):
            c.stop()
            shutil.rmtree(c.dir, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
