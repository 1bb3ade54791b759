"""A captured `vdynamo remove` request replayed after the member's disk was replaced
on a host whose clock was *behind* (20k's clock ahead; session 20's service probe:
a replaced disk lost its replay cache, so the member refuses for one window every
token stamped up to the time it learned it was replaced, by its clock): a failed
disk's node is rebuilt on a spare machine whose clock is not synced yet (10 minutes
behind: a VM template's clock, an RTC never set), NTP sets it right, and the
service is restarted. The window was measured by the wrong clock, so a token the
old disk took shortly before it failed falls outside it.

4 processes (`serve --node`), 10 keys at w=2. (1) `POST /admin/force-remove?node=n4`
to n1 with a fresh token: 409 (n4 is up); the request is captured. (2) n1 SIGKILLed,
its files deleted, started under libfaketime 600 s behind, waited for until ready
(its rebuild done). (3) n1's clock set right, n1 restarted (SIGTERM, start); n4
SIGKILLed, 12 s for n1 to see it down. (4) The captured request replayed to n1.

Right value: the replay is 401; n4 stays a member in n1's view. A 200 (n4 removed
by a replay) or a 409 (past the token check) is the fault.

Run from the project's root: .venv/bin/python probes/20l-admin-token-replayed-after-a-disk-replaced-on-a-slow-clock.py
Loopback only, needs libfaketime; about 40 s; every process stopped.
"""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, faketime_env  # noqa: E402

base = import_module("20k-admin-token-replayed-after-a-clock-step")
STEP = base.STEP


def replaced_behind(c: LocalNodes, offset: Path, checks: Checks,
                    token: Callable[[str, int], str], seen: str) -> None:
    offset.write_text(f"-{STEP}\n")
    c.kill("n1")
    for f in c.dir.glob("n1.sqlite*"):
        f.unlink()
    c.start_node("n1", faketime_env(file=offset))
    rebuilt = c.ready_within("n1", 60)
    offset.write_text("+0\n")
    c.procs.pop("n1").terminate()
    time.sleep(3)
    c.start_node("n1", faketime_env(file=offset))
    time.sleep(4)
    print(f"(2) n1's disk replaced on a clock {STEP} s behind: ready (rebuilt) after {rebuilt} s")
    print("(3) n1's clock set right, n1 restarted")
    checks("(2) n1 rebuilt", rebuilt is not None)


if __name__ == "__main__":
    base.replayed(replaced_behind)
