"""A captured `vdynamo remove` request replayed after the member's store was put back
from a backup taken *before* the token (20k steps the clock, 20l replaces the disk
on a slow clock; 01d and 01f restore backups but send no admin request): the
member's replay cache (the nonces it took, kept in its store) is as old as the
backup, so the nonce of a token it took after the backup is gone. An operator's
nightly copy of the data directory, a disk that dies the next morning, the backup
put back (Riak's "restored a node from backup", Cassandra's snapshot restore).

4 processes (`serve --node`), 10 keys at w=2. n1 stopped (SIGTERM), its files
copied (the backup), started again. (1) `POST /admin/force-remove?node=n4` to n1
with a fresh token: 409 (n4 is up); the request is captured. (2) n1 SIGKILLed, its
files replaced by the backup, started, waited for until ready. (3) n4 SIGKILLed,
12 s for n1 to see it down. (4) The captured request replayed to n1.

Right value: the replay is 401; n4 stays a member in n1's view. A 200 (n4 removed
by a replay) or a 409 (past the token check) is the fault.

Run from the project's root: .venv/bin/python probes/20n-admin-token-replayed-after-a-backup-restored.py
Loopback only, needs libfaketime (the base's n1 runs under it at +0); about 40 s;
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


def backed_up(c: LocalNodes, offset: Path) -> None:
    c.procs.pop("n1").terminate()
    time.sleep(3)
    (c.dir / "backup").mkdir()
    for f in c.dir.glob("n1.sqlite*"):
        shutil.copy2(f, c.dir / "backup" / f.name)
    c.start_node("n1", faketime_env(file=offset))
    print(f"(0) n1 stopped, backed up, started: ready after {c.ready_within('n1', 60)} s")


def restored(c: LocalNodes, offset: Path, checks: Checks,
             token: Callable[[str, int], str], seen: str) -> None:
    c.kill("n1")
    for f in c.dir.glob("n1.sqlite*"):
        f.unlink()
    for f in (c.dir / "backup").iterdir():
        shutil.copy2(f, c.dir / f.name)
    c.start_node("n1", faketime_env(file=offset))
    ready = c.ready_within("n1", 60)
    time.sleep(2)
    print(f"(2) n1's files replaced by the backup: ready after {ready} s")
    checks("(2) n1 ready", ready is not None)


if __name__ == "__main__":
    base.replayed(restored, before=backed_up)
