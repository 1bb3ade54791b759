"""A node that was only *paused* is force-removed, then resumes (07c and 07f
force-remove a node that was stopped and start it again later; 20h restarts a left
one; none resumes the *same* process, with its connections and its view): a VM
frozen by its hypervisor for a minute looks dead, the operator force-removes it
from another machine (`POST /admin/force-remove` by hand, as "Force-remove of a
node down for good" shows), the ranges move, and then the VM thaws: its process
still believes it is a member, holds its old ring, and takes client writes at once
(Riak's "force-removed node came back and accepted writes", Cassandra's
"removenode'd node rejoined the ring after a GC pause").

`vdynamo cluster up --nodes 4 --n 3 --r 2 --w 2` (fast rounds); 16 keys v1 at w=3.
n3 SIGSTOPped; 15 s later (n1 no longer hears it) a force-remove of n3 sent to n1
by hand; once n1's view says n3 removed and 5 s more, n3 SIGCONTed. At once, 16
read-modify-writes (v2) and 8 new keys through n3 at w=2, then every key whose
write n3 acknowledged read at r=2 through n1, n2 and n4, at once and 5 s later.

Right value: every write n3 acknowledges after its resume reads back at r=2
through the members (n3 may refuse them: 503, 409, or its process gone); v1 of a
key whose v2 was acknowledged never comes back.

Run from the project's root: .venv/bin/python probes/07t-paused-node-force-removed-then-resumed.py
Loopback only, about 60 s; every process stopped (SIGCONT first).
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections import Counter
from importlib import import_module
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
base = import_module("07e-real-join-then-leave-w3-r1")
cluster_up, call, read, tear_down = base.cluster_up, base.call, base.read, base.tear_down
from _cluster import Checks  # noqa: E402

from impl.http_api import ADMIN_FORCE_REMOVE, admin_authorization  # noqa: E402

OCTET = {"Content-Type": "application/octet-stream"}


def main() -> None:
    checks = Checks()
    d, nodes, pids, p = cluster_up("07t", "--nodes", "4")
    n3 = nodes["n3"]["pid"]
    try:
        keys = [f"k{i}" for i in range(16)]
        first = Counter(call("PUT", p["n1"], f"/kv/{k}?w=3", b"v1", OCTET)[0] for k in keys)
        secret, name = base.secret_and_name(d)
        os.kill(n3, signal.SIGSTOP)
        time.sleep(15)
        removal = None
        for _ in range(20):
            token = admin_authorization(secret, name, node="n3", member="n1",
                                        address=f"127.0.0.1:{nodes['n1']['peer']}",
                                        stamp=int(time.time()))
            removal = call("POST", p["n1"], f"{ADMIN_FORCE_REMOVE}?node=n3", b"",
                           {"Authorization": f"Bearer {token}"})
            if removal[0] == 200:
                break
            time.sleep(2)
        removed_at = None
        for _ in range(60):
            view = json.loads(call("GET", p["n1"], "/status")[2] or b"{}")
            if view.get("membership", {}).get("n3", {}).get("status") == "removed":
                removed_at = time.monotonic()
                break
            time.sleep(0.5)
        time.sleep(5)
        os.kill(n3, signal.SIGCONT)
        acked: dict[str, bytes] = {}
        codes: Counter[int] = Counter()
        errors_seen: Counter[str] = Counter()
        for k in keys:
            _, _, ctx = read(p["n3"], k, 2)
            headers = {**OCTET, **({"X-Vdynamo-Context": ctx} if ctx else {})}
            code, said, _ = call("PUT", p["n3"], f"/kv/{k}?w=2", b"v2", headers)
            codes[code] += 1
            if code == 0:
                errors_seen[said.get("error", "")[:60]] += 1
            if code == 200:
                acked[k] = b"v2"
        for i in range(8):
            code = call("PUT", p["n3"], f"/kv/new{i}?w=2", b"n", OCTET)[0]
            codes[code] += 1
            if code == 200:
                acked[f"new{i}"] = b"n"
        try:
            state = Path(f"/proc/{n3}/stat").read_text().split(") ")[1][0]
            alive = {"Z": "exited (a zombie)"}.get(state, f"running ({state})")
        except (OSError, IndexError):
            alive = "gone"
        members = ("n1", "n2", "n4")
        at_once = [f"{k} via {m}: {c} {vals}" for k, v in acked.items() for m in members
                   for c, vals, _ in [read(p[m], k, 2)] if vals != [v]]
        time.sleep(5)
        later = [f"{k} via {m}: {c} {vals}" for k, v in acked.items() for m in members
                 for c, vals, _ in [read(p[m], k, 2)] if vals != [v]]
        print(f"v1 {dict(first)}; force-remove of the paused n3 via n1: {removal and removal[0]} "
              f"{removal and removal[2][:160]!r}; n1 says removed: {removed_at is not None}")
        print(f"through the resumed n3 at w=2: {dict(codes)} (0: no answer: "
              f"{dict(errors_seen)}); n3's process after them: {alive}")
        print(f"acknowledged, read at r=2 through the members: wrong at once {len(at_once)} "
              f"{at_once[:4]}; 5 s later {len(later)} {later[:4]}")
        checks("the removal taken", removal is not None and removal[0] == 200, removal)
        checks("every write the resumed n3 acknowledged reads back at once", not at_once,
               at_once[:6])
        checks("every write the resumed n3 acknowledged reads back 5 s later", not later,
               later[:6])
    finally:
        with contextlib.suppress(ProcessLookupError):
            if n3:
                os.kill(n3, signal.SIGCONT)
        tear_down(d, pids)
    checks.finish()


if __name__ == "__main__":
    main()
