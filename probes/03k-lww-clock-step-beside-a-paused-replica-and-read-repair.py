"""lww read-then-writes through a coordinator whose clock is stepped ahead and back
while a third replica is *paused*, then repaired by reads through that replica
(03f steps a clock with every replica up; 03i and 03j wipe a replica; none lets a
replica miss the stepped writes and then be repaired by reads it coordinates): NTP
steps a node that ran an hour ahead back to the right time the same minutes a VM
of the same key range is frozen by its hypervisor (Cassandra's "timestamps from the
future" repaired onto a replica, CASSANDRA-4373's family; Riak's lww read repair).

lww, 3 processes (`serve --node`), N=3 R=2 W=2, n1 under libfaketime reading its
offset from a file (re-read every second). 8 keys v1 at w=3 through n2; n3
SIGSTOPped; n1 stepped +1 h; v2 read-then-write of each key through n1 (w=2); n1
stepped back to +0; v3 read-then-write through n2; v4 read-then-write through n1;
n3 SIGCONTed; each key read at r=3 through n3 (its read repair); n2 SIGKILLed; each
key at r=2 through n3 and n1; n1 SIGKILLed, 3 s, each key at r=1 through n3.

Right value: every put 200, or 504 (its outcome unknown: under load a put may time
out while n3 is paused and not yet suspected); every read [v4] (v4 came last in real
time, each write read the one before: a causally later, acknowledged write never
loses), or, for a key whose v4 put answered 504, one value no older than its last
acknowledged one; the last reads show n3 holds it alone.

Run from the project's root: .venv/bin/python probes/03k-lww-clock-step-beside-a-paused-replica-and-read-repair.py
Loopback only, needs libfaketime; about 30 s; every process stopped (SIGCONT first).
"""
from __future__ import annotations

import os
import signal
import time
from collections import Counter

from _cluster import FAKETIME_LIB, Checks, LocalNodes, faketime_env

KEYS = [f"k{i}" for i in range(8)]
SETTINGS = ('clock = "lww"\ngossip_interval = 0.25\nanti_entropy_interval = 0.5\n'
            'hint_scan_interval = 0.25')


def rmw(c: LocalNodes, via: str, value: bytes, right: dict[str, set[bytes]]) -> Counter[int]:
    """A read-then-write of every key through ``via`` at r=2, w=2; ``right[key]`` the
    values a read may answer after it: the value once acknowledged, else it too (a
    504's outcome is unknown: under a loaded machine a put may time out while n3 is
    paused and not yet suspected, and still be written)."""
    codes: Counter[int] = Counter()
    for k in KEYS:
        _, ctx = c.read(k, via, "?r=2")
        code = c.put(k, value, via, ctx, "?w=2")
        codes[code] += 1
        right[k] = {value} if code == 200 else right[k] | {value}
    return codes


def values(c: LocalNodes, key: str, node: str, query: str) -> object:
    """The values ``node`` answers for ``key``, or what went wrong (a 5xx, no answer)."""
    try:
        return c.values(key, node, query)
    except (OSError, RuntimeError) as error:
        return str(error)[:60]


def main() -> None:
    if FAKETIME_LIB is None:
        raise SystemExit("SKIP: libfaketime is not installed")
    checks = Checks()
    c = LocalNodes(nodes=3, per_process=True, extra_cluster=SETTINGS)
    offset = c.dir / "n1.faketime"
    offset.write_text("+0\n")
    n3 = 0
    try:
        for name in c.names:
            c.start_node(name, faketime_env(file=offset) if name == "n1" else None)
        time.sleep(2)
        v1 = Counter(c.put(k, b"v1", "n2", query="?w=3") for k in KEYS)
        right = {k: {b"v1"} for k in KEYS}
        n3 = c.procs["n3"].pid
        os.kill(n3, signal.SIGSTOP)
        offset.write_text("+3600\n")
        time.sleep(2.5)
        v2 = rmw(c, "n1", b"v2", right)
        offset.write_text("+0\n")
        time.sleep(2.5)
        v3 = rmw(c, "n2", b"v3", right)
        v4 = rmw(c, "n1", b"v4", right)
        os.kill(n3, signal.SIGCONT)
        n3 = 0
        time.sleep(1)
        repair = {k: values(c, k, "n3", "?r=3") for k in KEYS}
        c.kill("n2")
        quorum = {f"{k} via {n}": values(c, k, n, "?r=2") for k in KEYS for n in ("n3", "n1")}
        c.kill("n1")
        time.sleep(3)
        alone = {k: values(c, k, "n3", "?r=1") for k in KEYS}
        print(f"puts: v1 {dict(v1)}, v2 (n1 +1 h) {dict(v2)}, v3 (n2) {dict(v3)}, "
              f"v4 (n1 back to +0) {dict(v4)}")
        for what, seen in (("r=3 through n3 (read repair)", repair),
                           ("r=2 with n2 down", quorum), ("r=1 through n3 alone", alone)):
            bad = {k: v for k, v in seen.items()
                   if not (isinstance(v, list) and len(v) == 1 and v[0] in right[k[:2]])}
            print(f"{what}: {len(seen) - len(bad)} of {len(seen)} right; "
                  f"other {dict(list(bad.items())[:4])}")
            checks(f"{what}: every key its last value", not bad, bad)
        checks("every put 200 or 504 (outcome unknown)",
               set(v1) | set(v2) | set(v3) | set(v4) <= {200, 504}, (v1, v2, v3, v4))
    finally:
        if n3:
            os.kill(n3, signal.SIGCONT)
        c.__exit__()  # every process stopped, the directory removed
    checks.finish()


if __name__ == "__main__":
    main()
