"""Two disks of one preference list lost *at once* (01l loses two in turn, waiting
for the first rebuild): a rack's shared power supply burns two disks, or an
operator's "replace the two bad disks in one maintenance window" (Riak's and
Cassandra's runbooks say one node at a time; this is the mistake). Both replicas
restart empty at the same moment, so each could take the other, also empty, for a
source that says "nothing here" and declare its rebuild over.

3 processes (`serve --node`), N=3 R=2 W=2, dvv, defaults. 30 keys v1 at w=3, then
v2 with v1's context at w=3. n2 and n3 SIGKILLed, their files deleted, both started
at once. At once and every 0.5 s for 20 s: a read of a key at r=2 through n2 (its
quorum could be n2 + n3, both empty). Then n1 SIGKILLed; every key read at r=2
through n2 and through n3 (n1 down: only the rebuilt copies can answer).

Right value: no read through n2 ever answers 404 or [v1] for an acknowledged key
(a 503 while rebuilding is right); with n1 down after the rebuilds end (`/status`
`rebuild` null on both), every key reads [v2] at r=2 through n2 and n3.

Run from the project's root: .venv/bin/python probes/01r-two-disks-of-one-preference-list-lost-at-once.py
Loopback only, about 60 s; every process stopped.
"""
from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes  # noqa: E402

KEYS = [f"k{i}" for i in range(30)]


def main() -> None:
    checks = Checks()
    with LocalNodes(nodes=3, per_process=True) as c:
        first = Counter(c.put(k, b"v1", query="?w=3") for k in KEYS)
        second = Counter(c.put(k, b"v2", context=c.read(k)[1], query="?w=3") for k in KEYS)
        checks("v1 and v2 at w=3", set(first) == set(second) == {200}, (first, second))
        c.wipe("n2")
        c.wipe("n3")
        c.start_node("n2", wait=False)
        c.start_node("n3")
        c.wait_ready()
        seen: Counter[str] = Counter()
        wrong: list[str] = []
        start = time.time()
        i = 0
        while time.time() - start < 20:
            key = KEYS[i % len(KEYS)]
            i += 1
            status, body = c.get(key, "n2", "?r=2")
            seen[str(status)] += 1
            if status == 404 or (status == 200 and body != b"v2"):
                wrong.append(f"{round(time.time() - start, 1)} s {key}: {status} {body[:10]!r}")
            time.sleep(0.5)
        print(f"reads through n2 at r=2 during the two rebuilds: {dict(seen)}, wrong {len(wrong)}")
        checks("no 404 nor stale value through n2 while both rebuild", not wrong, wrong[:5])
        over = {n: None for n in ("n2", "n3")}
        for _ in range(60):
            over = {n: c.status(n).get("rebuild", "?") for n in ("n2", "n3")}
            if all(v is None for v in over.values()):
                break
            time.sleep(1)
        print(f"rebuild in /status of n2, n3: {over}")
        c.kill("n1")
        time.sleep(1)
        after = {n: [k for k in KEYS if c.get(k, n, "?r=2") != (200, b"v2")] for n in ("n2", "n3")}
        samples = {n: [c.get(k, n, "?r=2") for k in after[n][:3]] for n in after}
        print(f"n1 down, keys not [v2] at r=2: n2 {len(after['n2'])}, n3 {len(after['n3'])} "
              f"{samples}")
        checks("both rebuilds end within 60 s", all(v is None for v in over.values()), over)
        checks("n1 down: every key [v2] at r=2 through n2 and n3",
               not after["n2"] and not after["n3"], samples)
    checks.finish()


if __name__ == "__main__":
    main()
