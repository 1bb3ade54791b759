"""A captured `vdynamo remove` request replayed to a member whose store was put back
from a backup older than the token, *while every peer is down* (20n restores the
backup with its peers up, which tell it that it is behind: it refuses every token
of the window; 20l and 20k move clocks): a rack loses power, one node's disk is
lost with it, the operator restores that node's nightly backup and starts it first;
its peers, still booting, cannot tell it that its store is old, and its replay
cache (the nonces it took, in the store) is as old as the backup.

4 processes (`serve --node`), 10 keys at w=2. n1 stopped, its files copied (the
backup), started. (1) `POST /admin/force-remove?node=n4` to n1 with a fresh token:
409 (n4 up); captured. (2) n2, n3 and n4 SIGKILLed; n1 SIGKILLed, its files
replaced by the backup, started alone, 12 s. (3) The captured request replayed to
n1. (4) n2 and n3 started (n4 stays down), 10 s; n4's status in n1's, n2's and
n3's views. (5) The base's end: n4 SIGKILLed (already), 12 s, the request replayed
again.

Right value: the replay is not taken: 401, or a 503 / 409 that does not remove n4
(a node that can reach none of its peers cannot know its store is behind, so it
should take no admin request yet); n4 stays a member in every view; the
second replay 401. A 200 (n4 removed by a replay) is the fault.

Run from the project's root: .venv/bin/python probes/20o-admin-token-replayed-to-a-restored-member-whose-peers-are-down.py
Loopback only, needs libfaketime (the base's n1 runs under it at +0); about 50 s;
every process stopped.
"""
from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, faketime_env  # noqa: E402

base = import_module("20k-admin-token-replayed-after-a-clock-step")
backup = import_module("20n-admin-token-replayed-after-a-backup-restored")


def alone(c: LocalNodes, offset: Path, checks: Checks,
          token: Callable[[str, int], str], seen: str) -> None:
    for name in ("n2", "n3", "n4", "n1"):
        c.kill(name)
    for f in c.dir.glob("n1.sqlite*"):
        f.unlink()
    for f in (c.dir / "backup").iterdir():
        shutil.copy2(f, c.dir / f.name)
    c.start_node("n1", faketime_env(file=offset))
    time.sleep(12)
    replay = base.admin(c, "n4", seen)
    print(f"(2)-(3) peers down, n1 restored alone; the captured token replayed: {replay}")
    checks("the replay is not 200", replay[0] != 200, replay)
    for name in ("n2", "n3"):
        c.start_node(name)
    time.sleep(10)
    views = {n: c.status(n).get("membership", {}).get("n4", {}) for n in ("n1", "n2", "n3")}
    print(f"(4) n2, n3 started: n4 in each view {views}")
    checks("n4 a member in every view", all(v.get("status") not in ("removed", "removing")
                                            for v in views.values()), views)


if __name__ == "__main__":
    base.replayed(alone, before=backup.backed_up)
