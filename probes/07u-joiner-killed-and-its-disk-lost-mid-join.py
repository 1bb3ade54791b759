"""A joining node is SIGKILLed halfway through its join and its disk is lost with
it (07m kills a joiner and a leaver mid-handoff and starts them on their files;
07q and 07s wipe a *member* while another node joins; none loses the joiner's own
disk mid-join): the new machine's disk fails an hour into its bootstrap, is swapped,
and the operator starts the node again under the same name (Cassandra: a node
replaced while still JOINING, CASSANDRA-8494's family; Riak: `cluster join`
committed, then the joiner's vnodes lost mid-handoff).

`vdynamo cluster up --nodes 4 --n 3 --r 1 --w 3` (R + W > N; fast rounds), 24 keys
v1 at w=3; `vdynamo join n5` in the background; once cluster.json names n5's
process and 3 s more, n5 SIGKILLed and its SQLite files deleted, then `vdynamo
cluster start n5` in the background. Meanwhile a client does read-modify-writes at
w=3 through random members and after each acknowledged one reads the key at r=1
through every node cluster.json names that answers, until both commands returned
and 3 s more (at most 150 s); then every key at r=1 through every node, at once and
3 s later; and each node's view of n5.

Right value: `cluster start n5` exits 0 (`join` may exit non-zero: its node was
killed); every read at r=1 after an acknowledged write answers that write's value
(a 5xx or no answer is not checked; a 404 or an older value is wrong); at the end
every key reads its last value through every node, and n5 is `up` in every view.

Run from the project's root: .venv/bin/python probes/07u-joiner-killed-and-its-disk-lost-mid-join.py [SEED]
Loopback only, about 60-90 s; every process stopped.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
base = import_module("07e-real-join-then-leave-w3-r1")
wiped = import_module("07q-join-while-a-member-is-wiped")
from _cluster import Checks  # noqa: E402


def background(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*base.VD, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def main() -> None:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    rnd = random.Random(seed)
    checks = Checks()
    d, _, pids, p = base.cluster_up("07u", "--nodes", "4", "--n", "3", "--r", "1", "--w", "3")
    try:
        first = [base.call("PUT", p["n1"], f"/kv/{k}?w=3", b"v1", wiped.OCTET)[0]
                 for k in wiped.KEYS]
        last = {k: b"v1" for k in wiped.KEYS}
        joining = background("join", "n5", "--dir", str(d))
        started: subprocess.Popen[str] | None = None
        killed_at = seen_at = None
        wrong: list[str] = []
        codes: Counter[str] = Counter()
        step, ended, at = 0, None, time.monotonic()
        while ended is None or time.monotonic() - ended < 3:
            nodes = json.loads((d / "cluster.json").read_text())["nodes"]
            pids |= {e["pid"] for e in nodes.values() if e.get("pid")}
            if seen_at is None and nodes.get("n5", {}).get("pid"):
                seen_at = time.monotonic()
            if killed_at is None and seen_at and time.monotonic() - seen_at > 3:
                os.kill(nodes["n5"]["pid"], signal.SIGKILL)
                time.sleep(0.3)
                for f in (d / "n5").glob("*.sqlite*"):
                    f.unlink()
                killed_at = round(time.monotonic() - at, 1)
                started = background("cluster", "start", "n5", "--dir", str(d))
            if (ended is None and started is not None and started.poll() is not None
                    and joining.poll() is not None):
                ended = time.monotonic()
            if time.monotonic() - at > 150:
                wrong.append("gave up: the commands did not return within 150 s")
                break
            p = base.ports(d)
            members = [m for m in p if m != "n5"]
            wiped.rmw_step(p, rnd.choice(members), list(p), step, last, codes, wrong)
            step += 1
        out_join = joining.communicate(timeout=60)[0]
        out_start = started.communicate(timeout=60)[0] if started else "(never started)"
        p = base.ports(d)
        at_once, later = wiped.finals(p, last)
        views = {n: json.loads(base.call("GET", p[n], "/status")[2] or b"{}")
                 .get("membership", {}).get("n5", {}).get("status") for n in p}
        print(f"seed {seed}: v1 {Counter(first)}; n5 killed and wiped at {killed_at} s; join "
              f"exit {joining.returncode} {out_join.strip()[-160:]!r}; cluster start n5 exit "
              f"{started.returncode if started else None}; {step} steps: {dict(codes)}")
        print(f"  reads after an acknowledged write, wrong: {len(wrong)} {wrong[:3]}")
        print(f"  final r=1 via every node: at once {len(at_once)} wrong {at_once[:3]}; "
              f"3 s later {len(later)} wrong {later[:3]}")
        print(f"  n5 in each view: {views}")
        checks("v1 puts 200", set(first) == {200}, first)
        checks("n5 killed mid-join", killed_at is not None, killed_at)
        checks("cluster start n5 exits 0", started is not None and started.returncode == 0,
               out_start[-300:])
        checks("every read after an acknowledged write answers it", not wrong, wrong[:6])
        checks("every key its last value via every node at once", not at_once, at_once[:6])
        checks("every key its last value via every node 3 s later", not later, later[:6])
        checks("n5 up in every view", set(views.values()) == {"up"}, views)
    finally:
        base.tear_down(d, pids)
    checks.finish()


if __name__ == "__main__":
    main()
