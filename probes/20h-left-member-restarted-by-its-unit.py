"""A member that *left* comes back by itself on its old data, holding the secret
(20a-20g are outsiders or a member with another secret; 07f is a force-removed
node started again; 07n rejoins with `vdynamo join`): the operator ran `vdynamo
leave n3`, but its service unit was still enabled, so systemd (or a reboot) starts
`vdynamo serve cluster.toml --node n3` again on the data it had when it left, after
keys it held were deleted (and the tombstones reaped) and others rewritten. Its
frames are authenticated (the secret did not change): anything it sends, gossip,
anti-entropy, hints, read repair, is a trusted peer's. Cassandra's "decommissioned
node restarted brings deleted data back" (CASSANDRA-12083's family); Riak's "a left
node started again with its old ring and data".

`vdynamo cluster up --nodes 4 --n 3 --r 2 --w 2` (fast rounds, anti-entropy every
0.5 s, tombstone_grace_s = 0.5); 24 keys v1 at w=3; n1 reads every key (so that
hints and read repair have copies in flight); `vdynamo leave n3`; keys 0-7 deleted
with their context at w=3 and read at r=3 (the reap), keys 8-15 rewritten v2 at
w=3; 3 s; n3 started by hand (`vdynamo serve cluster.toml --node n3`), the same
again 6 s after it stops (a unit with Restart=always); for 15 s every key read at
r=1 through n1, n2 and n4, then once more after 3 s.

Right value: keys 0-7 never read back (not found), 8-15 [v2], 16-23 [v1], through
every member, during the restarts and after; n3 does not stay in the ring (every
member's /status names it `left` or does not name it); a put through n3 is not
acknowledged.

Run from the project's root: .venv/bin/python probes/20h-left-member-restarted-by-its-unit.py
Loopback only, about 60 s; every process stopped.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
base = import_module("07e-real-join-then-leave-w3-r1")
VD, vd, ports, call, read, tear_down, FAST = (base.VD, base.vd, base.ports, base.call,
                                              base.read, base.tear_down, base.FAST)
from _cluster import Checks  # noqa: E402

rejoin = import_module("07n-rejoin-same-name-old-data-after-reaps")
KEYS, want = rejoin.KEYS, rejoin.want


def wrong_reads(p: dict[str, int], nodes: tuple[str, ...], what: str) -> list[str]:
    return [f"{what}: {k} via {n}: {code} {vals}" for n in nodes for i, k in enumerate(KEYS)
            for code, vals, _ in [read(p[n], k, 1)] if sorted(vals) != want(i)
            and code in (200, 404)]


def main() -> None:
    checks = Checks()
    d = Path(tempfile.mkdtemp(prefix="vdynamo-probe20h-")) / "c"
    pids: set[int] = set()
    by_hand: list[subprocess.Popen[bytes]] = []
    try:
        pids, p, codes = rejoin.up_and_written(d)
        octet = {"Content-Type": "application/octet-stream"}
        for k in KEYS:
            read(p["n1"], k, 3)
        left = vd("leave", "n3", "--dir", str(d))
        codes += rejoin.delete_and_rewrite(p)
        time.sleep(3.0)
        print(f"leave n3: exit {left.returncode}; puts and deletes {sorted(set(codes))}")
        wrong: list[str] = []
        answers: Counter[str] = Counter()
        put_codes: list[int] = []
        for round_ in range(2):
            with open(d.parent / f"n3-by-hand-{round_}.log", "wb") as log:
                proc = subprocess.Popen([*VD, "serve", str(d / "cluster.toml"), "--node", "n3"],
                                        cwd=d, stdout=log, stderr=log)
            by_hand.append(proc)
            end = time.monotonic() + 15
            while time.monotonic() < end:
                wrong += wrong_reads(p, ("n1", "n2", "n4"), f"round {round_}")
                code, vals, _ = read(p["n3"], KEYS[0], 1)
                answers[f"{code} {vals[:1]}"] += 1
                if len(put_codes) <= round_:
                    put_codes.append(call("PUT", p["n3"], f"/kv/fresh{round_}", b"x", octet)[0])
                time.sleep(0.3)
            ended = proc.poll()
            print(f"n3 by hand, round {round_}: "
                  f"{'still running' if ended is None else f'exited {ended}'}; "
                  f"a deleted key read through it: {dict(answers)}")
            if ended is None:
                os.kill(proc.pid, signal.SIGTERM)
                proc.wait(15)
            time.sleep(1.0)
        time.sleep(3.0)
        wrong += wrong_reads(p, ("n1", "n2", "n4"), "3 s after")
        views = {}
        for m in ("n1", "n2", "n4"):
            body = call("GET", p[m], "/status")[2]
            views[m] = json.loads(body)["membership"].get("n3", {}).get("status")
        print(f"puts through n3: {put_codes}; views of n3 {views}; wrong reads {len(wrong)} "
              f"{wrong[:4]}")
        checks("leave exits 0", left.returncode == 0, left.stderr[-200:])
        checks("puts and deletes before 200", set(codes) <= {200, 204}, codes)
        checks("no deleted value back, no rewritten one old, through n1, n2, n4", not wrong,
               wrong[:8])
        checks("no put through the left n3 acknowledged", not set(put_codes) & {200, 204},
               put_codes)
        checks("every member holds n3 left (or forgot it)",
               set(views.values()) <= {"left", None}, views)
    finally:
        for proc in by_hand:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)
        tear_down(d, pids)
    checks.finish()


if __name__ == "__main__":
    main()
