"""lww with a node whose clock is *frozen* (03a-03i skew clocks, step them, put them
at the epoch's edges; none stops one): a VM restored from a snapshot with its
clock source stuck, a container whose libfaketime was left in (Cassandra's "all
writes from one coordinator got the same timestamp" reports, CASSANDRA-4131's
family). Every put that node coordinates reads the same instant, so only the hybrid
rule's tick (one above the context's or the stored stamp) orders them. Here the
frozen node is a *joiner* (it holds no copy of the keys until its handover) and a
replica's disk is replaced while the client works: two faults at once.

4 processes (`serve --node`), lww, N=3 R=2 W=2; n4's clock frozen 10 minutes behind
(libfaketime, a fixed time, monotonic clock left alone); n1-n3 the initial members,
n4 in the file as a node that joins (a section, not in `nodes`). 8 keys v0 at w=3
through n1; n4 started (it joins through its seeds), waited for until its
`member_status` is up (60 s at most). A sequential client, 6 rounds: for each key a GET at r=2 through a random
node and a PUT of the next value with that context at w=2 through n4 half the time,
a random member otherwise; after each acknowledged PUT the key at r=2 through a
random node. In round 3 n2 is SIGKILLed, its files removed and started again.

Right value: each acknowledged PUT reads [its value] at r=2 right after and at the
end (every node, 3 s after the last): a read-then-write is causally after what it
read, whatever the coordinator's clock says (case 03's rule); at the end a later
put of the key answered 504 (its outcome unknown) may be read instead.

Run from the project's root: .venv/bin/python probes/03j-lww-frozen-clock-joiner-and-wiped-replica.py [SEED]
Loopback only, needs libfaketime; about 60 s; every process stopped.
"""
from __future__ import annotations

import random
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

from _cluster import FAKETIME_LIB, Checks, LocalNodes, faketime_env, with_joiner

KEYS = [f"k{i}" for i in range(8)]


def values(c: LocalNodes, key: str, node: str, wait: float = 0.0) -> list[bytes] | None:
    """``key``'s values at r=2 through ``node`` after ``wait`` s; None for a 5xx (a
    read's timeout under a loaded machine is no wrong value: red team 11 saw 503
    QuorumError at a load of 15)."""
    time.sleep(wait)
    try:
        return c.values(key, node=node, query="?r=2")
    except RuntimeError:
        return None


def main() -> None:
    if FAKETIME_LIB is None:
        raise SystemExit("SKIP: libfaketime is not installed")
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    rng = random.Random(seed)
    checks = Checks()
    c = with_joiner('clock = "lww"\ngossip_interval = 0.25\n'  # n4 joins
                    'anti_entropy_interval = 0.5\nhint_scan_interval = 0.25')
    frozen = (datetime.now(timezone.utc) - timedelta(minutes=10)).strftime("%Y-%m-%d %H:%M:%S")
    try:
        for name in c.names:
            c.start_node(name)
        for k in KEYS:
            checks(f"{k} v0", c.put(k, b"v0", query="?w=3") == 200)
        c.start_node("n4", env=faketime_env(frozen))
        c.names = ["n1", "n2", "n3", "n4"]
        joined = None
        for _ in range(120):
            if c.status("n4").get("member_status") == "up":
                joined = True
                break
            time.sleep(0.5)
        acked: dict[str, bytes] = {}
        # a put answered 504 (its outcome unknown) after the last acknowledged one may
        # have been written: the end may read it (red team 11: k5's round-5 504 did)
        unknown: dict[str, set[bytes]] = {}
        codes: Counter[int] = Counter()
        wrong: list[str] = []
        for rnd in range(6):
            if rnd == 3:
                c.kill("n2")
                for f in c.dir.glob("n2.sqlite*"):
                    f.unlink()
                c.start_node("n2")
            for k in KEYS:
                try:
                    _, ctx = c.read(k, node=rng.choice(c.names), query="?r=2")
                except RuntimeError:
                    codes[-1] += 1
                    continue
                coord = "n4" if rng.random() < 0.5 else rng.choice(c.names[:3])
                value = b"%s-r%d-%s" % (k.encode(), rnd, coord.encode())
                code = c.put(k, value, node=coord, context=ctx, query="?w=2")
                codes[code] += 1
                if code != 200:
                    unknown.setdefault(k, set()).add(value)
                if code == 200:
                    acked[k] = value
                    unknown.pop(k, None)
                    via = rng.choice(c.names)
                    got = values(c, k, via)
                    if got is not None and got != [value]:
                        wrong.append(f"round {rnd} {k} by {coord} read via {via}: {got}")
        time.sleep(3)
        end = [f"{k} via {n}: {got}" for k, v in acked.items() for n in c.names
               if (got := values(c, k, n) or values(c, k, n, 1.0)) != [v]
               and not (len(got) == 1 and got[0] in unknown.get(k, ()))]
        print(f"seed {seed}: n4 frozen at {frozen} UTC, joined {joined}; puts {dict(codes)}")
        print(f"wrong right after the ack: {len(wrong)} {wrong[:4]}")
        print(f"wrong at the end: {len(end)} {end[:4]}")
        checks("n4 joined", joined is True)
        checks("every acked read-then-write read right after", not wrong, wrong[:4])
        checks("every acked read-then-write read at the end", not end, end[:4])
    finally:
        c.__exit__()  # every process stopped, the directory removed
    checks.finish()


if __name__ == "__main__":
    main()
