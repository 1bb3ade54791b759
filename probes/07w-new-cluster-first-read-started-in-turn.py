"""A brand-new cluster's first read: three `vdynamo serve` processes started one
after another (each once the previous one's HTTP port accepts, as
tests/runtime/test_client_counter_unnamed.py starts them), every `/health` ready,
then `GET ?r=3` of a key nobody wrote (session 59's CI-style rounds: 503 three
times; docs/runtime.md "The unconfirmed fresh store shown (session 59)").

A `serve` process cannot know its cluster is brand new, so each store starts
*unconfirmed* until every live peer named its start (impl.restore_guard), and
until then answers no replica read of a key it holds no copy of. Started in turn,
n1's and n2's shadow rounds end before n3 is up, and nothing asked n3 to name
them: before session 60, at ready, n1 and n2 were still unconfirmed and the GET
waited on 2-3 `unconfirmed-silent-get` (0.7-0.9 s, 3 of 3 runs at a load of 9).

Phases:
1. started in turn, idle: at ready `fresh_unconfirmed` on each, the GET's status,
   wall and the silent gets; right: 404 within 0.5 s, no silent get.
2. the same with two CPU hogs (nice 10) running: right: 404, no silent get.
3. the guard kept for replaced disks: `k` written at w=3, every node stopped,
   n1's and n2's data files deleted, n1 and n2 started again (n3, which holds `k`,
   still down): after 4 s both are still `fresh_unconfirmed` (each heard the other
   name it, but not n3) and `GET k ?r=2` through n1 is not 404; n3 started: the
   GET answers the value (n3 told them; they rebuilt).

Run from the project's root: .venv/bin/python probes/07w-new-cluster-first-read-started-in-turn.py
Loopback only, about 40 s; every process stopped (the hogs too).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes

NAMES = ("n1", "n2", "n3")


def status(c: LocalNodes, name: str) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{c.http[name]}/status", timeout=10) as r:
        answer: dict[str, object] = json.loads(r.read())
    return answer


def silent(c: LocalNodes) -> int:
    return sum(int(status(c, name)["stats"].get("unconfirmed-silent-get", 0))  # type: ignore[union-attr]
               for name in NAMES)


def started_in_turn(c: LocalNodes, names: tuple[str, ...]) -> None:
    for name in names:
        c.start_node(name)
    for name in names:
        if c.ready_within(name, 60) is None:
            raise SystemExit(f"{name} not ready within 60 s; logs in {c.dir}")


def first_read(c: LocalNodes, checks: Checks, phase: str) -> None:
    started_in_turn(c, NAMES)
    flags = {name: status(c, name)["fresh_unconfirmed"] for name in NAMES}
    began = time.monotonic()
    code = c.request("GET", "never-written", node="n2", query="?r=3")[0]
    wall = time.monotonic() - began
    quiet = silent(c)
    print(f"{phase}: fresh_unconfirmed at ready {flags}; GET r=3 {code} in {wall:.3f} s, "
          f"unconfirmed-silent-get {quiet}")
    checks(f"{phase}: GET r=3 of an absent key is 404", code == 404, code)
    checks(f"{phase}: the GET answered within 0.5 s", wall < 0.5, f"{wall:.3f} s")
    checks(f"{phase}: no unconfirmed-silent-get", quiet == 0, quiet)


def main() -> None:
    checks = Checks()
    c = LocalNodes(nodes=3, per_process=True)
    try:
        first_read(c, checks, "idle")
    finally:
        c.stop()
    c = LocalNodes(nodes=3, per_process=True)
    hogs = [subprocess.Popen(["nice", "-n", "10", sys.executable, "-c", "while True: pass"])
            for _ in range(2)]
    try:
        first_read(c, checks, "two CPU hogs")
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait(10)
        c.stop()
    c = LocalNodes(nodes=3, per_process=True)
    try:
        started_in_turn(c, NAMES)
        put = c.put("k", b"kept", node="n1", query="?w=3")
        checks("replaced disks: k written at w=3", put == 200, put)
        for name in NAMES:
            c.kill(name)
        for name in ("n1", "n2"):
            for path in c.dir.glob(f"{name}.sqlite*"):
                path.unlink()
        for name in ("n1", "n2"):
            c.start_node(name)
        time.sleep(4.0)
        flags = {name: status(c, name)["fresh_unconfirmed"] for name in ("n1", "n2")}
        asked = {name: status(c, name)["stats"].get("unconfirmed-asked", 0)  # type: ignore[union-attr]
                 for name in ("n1", "n2")}
        code = c.request("GET", "k", node="n1", query="?r=2", timeout=20)[0]
        print(f"replaced disks, n3 down: fresh_unconfirmed {flags}, unconfirmed-asked {asked}, "
              f"GET k r=2 through n1: {code}")
        checks("replaced disks: both still unconfirmed", flags == {"n1": True, "n2": True}, flags)
        checks("replaced disks: GET k r=2 is not 404", code != 404, code)
        c.start_node("n3")
        deadline, values = time.monotonic() + 30, []
        while time.monotonic() < deadline:
            code, _, body = c.request("GET", "k", node="n1", query="?r=2", timeout=20)
            if code == 200:
                values = [body]
                break
            time.sleep(0.5)
        print(f"replaced disks, n3 back: GET k r=2 through n1: {values}")
        checks("replaced disks: k read back once n3 is up", values == [b"kept"], values)
    finally:
        c.stop()
    checks.finish()


if __name__ == "__main__":
    main()
