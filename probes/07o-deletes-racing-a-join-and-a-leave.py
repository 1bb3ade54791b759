"""Deletes racing membership changes (07a-07n change membership under puts; 12a-12h
delete with a fixed membership): an operator adds a node and retires another while
an application deletes keys, with tombstones reaped quickly (Cassandra's
"deleted data resurrected after bootstrap/decommission" reports, CASSANDRA-6109,
-12083: a node streaming a range it snapshotted before the delete; Riak's
"doomstone" reaps during ownership handoff). A transfer of a range that carries
the value from before a delete, arriving after the tombstone was reaped on the
other replicas, brings the value back.

`vdynamo cluster up --nodes 4 --n 3 --r 2 --w 2` (fast rounds),
`tombstone_grace_s = 0.5`, 120 keys v1 at w=3. The client library (blocking,
`vdynamo.connect` on every member) in one thread deletes keys d0..d59 (each read
at r=2, deleted with its context at w=2) and read-modify-writes u0..u59 to v2,
in random order; meanwhile `vdynamo join n5` and then `vdynamo leave n2`; then
`vdynamo delete` (the CLI) of d0..d9 again with no context (idempotent).
Right value: after the changes, and again 8 s later (anti-entropy and reaps), at
r=3 and at r=1 through every member: each key whose delete was acknowledged reads
nothing, each acknowledged update [v2]; a key whose call failed reads its old or
its new value, nothing else.

Run from the project's root: .venv/bin/python probes/07o-deletes-racing-a-join-and-a-leave.py [CLOCK]
(CLOCK: dvv by default, lww, server-vclock, client-vclock)
Loopback only, about 2 minutes; every process stopped (`cluster down`, then SIGKILL).
"""
from __future__ import annotations

import json
import random
import sys
import tempfile
import threading
import time
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
walk = import_module("07e-real-join-then-leave-w3-r1")
vd, ports, read, tear_down, FAST = walk.vd, walk.ports, walk.read, walk.tear_down, walk.FAST
import vdynamo  # noqa: E402

CLOCK = sys.argv[1] if len(sys.argv) > 1 else "dvv"
DELETED = [f"d{i}" for i in range(60)]
UPDATED = [f"u{i}" for i in range(60)]
faults: list[str] = []


def main() -> None:
    d = Path(tempfile.mkdtemp(prefix="vdynamo-probe07o-")) / "c"
    pids: set[int] = set()
    try:
        up = vd("cluster", "up", "--dir", str(d), "--nodes", "4", "--n", "3", "--r", "2",
                "--w", "2", *FAST, "--set", "tombstone_grace_s=0.5", "--set", f'clock="{CLOCK}"')
        assert up.returncode == 0, up.stderr
        pids |= {e["pid"] for e in json.loads((d / "cluster.json").read_text())["nodes"].values()}
        p = ports(d)
        db = vdynamo.connect([f"127.0.0.1:{p[n]}" for n in ("n1", "n2", "n3", "n4")])
        for key in DELETED + UPDATED:
            db.put(key, b"v1", w=3)
        state: dict[str, str] = {}  # key -> "acked" | "failed"
        order = DELETED + UPDATED
        random.Random(57).shuffle(order)
        stop = threading.Event()

        def client() -> None:
            for key in order:
                if stop.is_set():
                    return
                try:
                    got = db.get(key, r=2)
                    if key.startswith("d"):
                        db.delete(key, context=got.context, w=2)
                    else:
                        db.put(key, b"v2", context=got.context, w=2)
                    state[key] = "acked"
                except vdynamo.OutcomeUnknownError:
                    state[key] = "failed"
                except Exception as err:  # noqa: BLE001 - a refusal: nothing written
                    state[key] = f"refused {type(err).__name__}"
                time.sleep(0.05)

        thread = threading.Thread(target=client)
        thread.start()
        time.sleep(0.5)
        joined = vd("join", "n5", "--dir", str(d))
        print(f"join n5: exit {joined.returncode} {joined.stderr.strip()[:150]}")
        left = vd("leave", "n2", "--dir", str(d))
        print(f"leave n2: exit {left.returncode} {left.stderr.strip()[:150]}")
        if joined.returncode or left.returncode:
            faults.append(f"join {joined.returncode} / leave {left.returncode}")
        thread.join(120)
        stop.set()
        pids |= {e["pid"] for e in json.loads((d / "cluster.json").read_text())["nodes"].values()
                 if e.get("pid")}
        again = [vd("delete", key, "--dir", str(d)).returncode for key in DELETED[:10]]
        print(f"CLI deletes of d0..d9 again: exits {sorted(set(again))}")
        if any(again):
            faults.append(f"`vdynamo delete` again: exits {again}")
        acked = sum(v == "acked" for v in state.values())
        print(f"client: {acked} acknowledged, {len(state) - acked} not: "
              f"{sorted(set(state.values()))}")
        members = ["n1", "n3", "n4", "n5"]
        for key, code in zip(DELETED[:10], again):
            if code == 0:
                state[key] = "acked"
        for when in ("after the changes", "8 s later"):
            if when != "after the changes":
                time.sleep(8)
            p = ports(d)
            wrong = []
            reads = 0
            for node in members:
                for r in (3, 1):
                    for key in order:
                        code, values, _ = read(p[node], key, r)
                        reads += 1
                        if key.startswith("d"):
                            want = ([[]] if state.get(key) == "acked" else [[], [b"v1"]])
                        else:
                            want = ([[b"v2"]] if state.get(key) == "acked"
                                    else [[b"v1"], [b"v2"]])
                        if code not in (200, 404) or values not in want:
                            wrong.append(f"{key} r={r} via {node}: {code} {values} "
                                         f"({state.get(key)})")
            print(f"{when}: {reads} reads, {len(wrong)} wrong {wrong[:4]}")
            faults.extend(f"{when}: {w}" for w in wrong)
        db.close()
    finally:
        tear_down(d, pids)


main()
if faults:
    print(f"FAIL: {len(faults)} faults")
    sys.exit(1)
print("PASS")
