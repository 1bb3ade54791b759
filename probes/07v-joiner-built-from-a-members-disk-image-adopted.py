"""A new node built from a copy of a member's disk image joins, started with
`--adopt-store` (01d starts a clone under the *same* member's slot; 07n rejoins a
name with its old data; none joins a *new* name on another member's store): the
operator makes the fifth machine from the VM template of n1, data directory
included; `vdynamo serve` refuses the file ("belongs to another node ... if the
node's name was changed on purpose, start once with --adopt-store") and the
operator, taking the new machine for a renamed one, adds the flag (Cassandra: a
node cloned from another's image keeps its host ID and takes over its tokens;
Riak: a cloned node's vnodes share their vclock actor ids with the original's).

5 processes (`serve --node`), dvv, N=3 R=2 W=2, n5 a section that joins. 20 keys
v1 at w=3 through n2. n1 stopped (SIGTERM), its files copied as n5's (the image),
n1 started again; 20 read-modify-writes v2 through n1 at w=2 (n1's counters move
on past the image). n5 started with `--adopt-store`; once it is up (at most 60 s),
20 read-modify-writes v3 through n5 at w=2; then 20 v4 through n1; each key at
r=3 through n2 after each round, and at the end at r=1 through every node.

Right value: n5 refuses to run n1's store as its own (naming it), or, if it runs,
every key reads [v3] after the v3 round and [v4] after the v4 round: writes
coordinated by n5 and by n1 are never taken for one another's.

Run from the project's root: .venv/bin/python probes/07v-joiner-built-from-a-members-disk-image-adopted.py
Loopback only, about 60 s; every process stopped.
"""
from __future__ import annotations

import shutil
import time
from collections import Counter

from _cluster import Checks, LocalNodes, with_joiner

SETTINGS = ('clock = "dvv"\ngossip_interval = 0.25\nanti_entropy_interval = 0.5\n'
            'hint_scan_interval = 0.25')
KEYS = [f"k{i}" for i in range(20)]


def rmw(c: LocalNodes, via: str, value: bytes) -> Counter[int]:
    codes: Counter[int] = Counter()
    for k in KEYS:
        try:
            _, ctx = c.read(k, via, "?r=2")
            codes[c.put(k, value, via, ctx, "?w=2")] += 1
        except (OSError, RuntimeError):
            codes[0] += 1
    return codes


def reads(c: LocalNodes, via: str, query: str) -> dict[str, object]:
    seen: dict[str, object] = {}
    for k in KEYS:
        try:
            seen[k] = c.values(k, via, query)
        except (OSError, RuntimeError) as error:
            seen[k] = str(error)[:60]
    return seen


def main() -> None:
    checks = Checks()
    c = with_joiner(SETTINGS, members=4)
    try:
        for name in c.names:
            c.start_node(name)
        time.sleep(2)
        v1 = Counter(c.put(k, b"v1", "n2", query="?w=3") for k in KEYS)
        c.procs.pop("n1").terminate()
        time.sleep(3)
        for f in c.dir.glob("n1.sqlite*"):
            if not f.name.endswith(".lock"):
                shutil.copy2(f, c.dir / f.name.replace("n1.", "n5.", 1))
        c.start_node("n1")
        time.sleep(3)
        v2 = rmw(c, "n1", b"v2")
        n5 = c.start_node("n5", args=("--adopt-store",))
        joined = None
        for i in range(120):
            if n5.poll() is not None:
                break
            if c.status("n5").get("member_status") == "up":
                joined = i * 0.5
                break
            time.sleep(0.5)
        log = (c.dir / "n5.log").read_text(errors="replace")
        if n5.poll() is not None or joined is None:
            print(f"n5 did not join: exit {n5.poll()}; its log {log.strip()[-300:]!r}")
            checks("n5 refused, naming n1's store", "n1" in log, log[-300:])
            return
        c.names.append("n5")
        time.sleep(2)
        v3 = rmw(c, "n5", b"v3")
        after3 = reads(c, "n2", "?r=3")
        v4 = rmw(c, "n1", b"v4")
        after4 = reads(c, "n2", "?r=3")
        time.sleep(3)
        end = {f"{k} via {n}": v for n in c.names for k, v in reads(c, n, "?r=1").items()}
        print(f"puts: v1 {dict(v1)}, v2 (n1) {dict(v2)}, v3 (n5, joined after {joined} s) "
              f"{dict(v3)}, v4 (n1) {dict(v4)}")
        for what, seen, want in (("after v3, r=3 via n2", after3, [b"v3"]),
                                 ("after v4, r=3 via n2", after4, [b"v4"]),
                                 ("at the end, r=1 via every node", end, [b"v4"])):
            bad = {k: v for k, v in seen.items() if v != want}
            print(f"{what}: {len(seen) - len(bad)} of {len(seen)} {want}; other "
                  f"{dict(list(bad.items())[:4])}")
            checks(f"{what}: every key {want}", not bad, dict(list(bad.items())[:4]))
    finally:
        c.__exit__()  # every process stopped, the directory removed
    checks.finish()


if __name__ == "__main__":
    main()
