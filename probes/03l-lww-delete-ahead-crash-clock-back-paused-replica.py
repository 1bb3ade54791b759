"""lww: a delete stamped by a clock ahead, then the coordinator crashes and comes
back with its clock set right, while a replica that missed the delete resumes
(03b, 03f and 03h delete under skew with every replica up and no crash; 03c restarts
a node whose clock was fixed but deletes through another): NTP steps the clock back
at the reboot after a kernel panic (Cassandra's "tombstone from the future, then the
node's clock fixed": CASSANDRA-2646's and -6233's threads), and the replica that was
in a long GC pause still holds the value the delete removed (Riak lww's "deleted
keys come back after a node returns").

3 processes (`serve --node`), lww, N=3 R=2 W=2, fast rounds; n1 under libfaketime
reading its offset from a file (+3600 s at first, its monotonic clock left alone).
12 keys v1 blind through n1 at w=3. n3 SIGSTOPped. Each key read at r=2 and
deleted with that context through n1 at w=2 (the tombstones an hour ahead, on n1 and
n2). n1's offset set to +0 and n1 SIGKILLed and started (the clock stepped back at
the reboot). n3 SIGCONTed. Each key read at r=2 through n1 (must be gone) and v2
written with that read's context through n1 at w=2; 4 s; each key read at r=3
through n1, n2 and n3.

Right value: no read after the delete answers v1 (404; a 503 is reported, not
checked: n3 just resumed), and every key whose v2 put was acknowledged (a 504, its
outcome unknown, is not checked) reads [v2] at r=3 through every node
(a write with the context of the read that saw the delete is after it, whatever
the coordinator's clock says: the project's lww promise).

Run from the project's root: .venv/bin/python probes/03l-lww-delete-ahead-crash-clock-back-paused-replica.py
Loopback only, needs libfaketime (skipped, exit 0, without); about 40 s; every
process stopped (SIGCONT first).
"""
from __future__ import annotations

import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import FAKETIME_LIB, Checks, LocalNodes, faketime_env  # noqa: E402

KEYS = [f"k{i}" for i in range(12)]
FAST = 'clock = "lww"\ngossip_interval = 0.25\nanti_entropy_interval = 0.5\n'


def at_r3(c: LocalNodes, key: str, node: str) -> list[bytes] | str:
    """``key``'s values at r=3 through ``node``; a 503 (a replica slow to answer on a
    loaded machine) asked again up to 3 times a second apart, then its text."""
    for _ in range(3):
        try:
            return c.values(key, node=node, query="?r=3")
        except RuntimeError as error:
            seen = str(error)[:120]
            time.sleep(1)
    return seen


def main() -> None:
    if FAKETIME_LIB is None:
        print("SKIP: libfaketime is not installed")
        return
    checks = Checks()
    c = LocalNodes(nodes=3, per_process=True, extra_cluster=FAST)
    offset = c.dir / "n1.faketime"
    offset.write_text("+3600\n")
    n3 = 0
    try:
        for name in c.names:
            c.start_node(name, faketime_env(file=offset) if name == "n1" else None, wait=False)
        c.wait_ready()
        time.sleep(2)
        # (a put retried once after 2 s: a 504 in a loaded machine's first seconds is
        # not what this probe looks at; 20k's rule)
        first = Counter(code if code == 200 or time.sleep(2) else c.put(k, b"v1", query="?w=3")
                        for k in KEYS for code in [c.put(k, b"v1", query="?w=3")])
        checks("v1 at w=3 through n1 (an hour ahead)", set(first) == {200}, first)
        n3 = c.procs["n3"].pid
        os.kill(n3, signal.SIGSTOP)
        deletes = Counter()
        for k in KEYS:
            ctx = c.read(k, "n1", "?r=2")[1]
            deletes[c.request("DELETE", k, None, "n1", "?w=2",
                              {"X-Vdynamo-Context": ctx} if ctx else {})[0]] += 1
        offset.write_text("+0\n")
        c.kill("n1")
        c.start_node("n1", faketime_env(file=offset))
        ready = c.ready_within("n1", 30)
        os.kill(n3, signal.SIGCONT)
        back: list[str] = []
        taken: list[str] = []
        seen: Counter[int] = Counter()
        puts: Counter[int] = Counter()
        for k in KEYS:
            status, headers, _ = c.request("GET", k, node="n1", query="?r=2",
                                           headers={"Accept": "application/json"})
            ctx = {h.lower(): v for h, v in headers.items()}.get("x-vdynamo-context")
            if status == 200:  # the deleted v1 back (a 503 is reported, not checked)
                back.append(f"{k}: {status}")
            seen[status] += 1
            code = c.put(k, b"v2", context=ctx, query="?w=2")
            puts[code] += 1
            if code == 200:
                taken.append(k)
        time.sleep(4)
        wrong = [f"{k} via {n}: {vals}" for k in taken for n in c.names
                 for vals in [at_r3(c, k, n)] if vals != [b"v2"]]
        print(f"deletes through n1 (n3 paused) {dict(deletes)}; n1 back on time, ready after "
              f"{ready} s; reads after the delete {dict(seen)}, v1 back: {back[:4]}; v2 puts {dict(puts)}")
        print(f"r=3 through every node 4 s later, not [v2]: {len(wrong)} {wrong[:4]}")
        # (a 504 while n3 is paused and not yet suspected: its outcome unknown; 03k saw
        # them at a load of 14; a read after it must still not answer v1)
        checks("most deletes 200", deletes[200] >= len(KEYS) * 2 // 3, deletes)
        checks("no read after the delete answers v1", not back, back[:6])
        checks("most v2 puts 200", len(taken) >= len(KEYS) * 2 // 3, puts)
        checks("every acknowledged v2 [v2] at r=3 through every node", not wrong, wrong[:6])
    finally:
        if n3:
            try:
                os.kill(n3, signal.SIGCONT)
            except ProcessLookupError:
                pass
        c.__exit__()
    checks.finish()


if __name__ == "__main__":
    main()
