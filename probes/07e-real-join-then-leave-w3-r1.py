"""Case 07's kind on real processes: a join, then a leave while the join's ranges
may still move, with a client writing at W = 3 through random nodes (forwards
included) and reading each acknowledged write back at R = 1 through every member
(Cassandra's bootstrap and decommission overlapping, CASSANDRA-2434; the simulator's
finding of session 53: probes/07d-membership-sweep.py, leave-during-join seed 3, a
put forwarded to a leaver that had handed its ranges over, acknowledged at W = 3
without a healthy owner, read stale at R = 1 through it).

`vdynamo cluster up --nodes 5 --n 3 --r 2 --w 2` (fast rounds) in a temporary
directory; one sequential client loops over 6 keys: GET at r=2 through a random
member, PUT of a new value at w=3 with its context through a random member, then GET
at r=1 through every member. After 3 s `vdynamo join n6`; once it returns,
`vdynamo leave n3` runs in the background while the client goes on; 4 s after the
leave ends the client stops. Then every key is read at r=1 through every member,
and `vdynamo cluster status` and each member's GET /status are printed.
Right value: every r=1 read returns the last acknowledged value (a later value
whose PUT failed may have replaced it); no 5xx run longer than 5 s; every member
sees n6 `up` and n3 `left` (or gone) at the end; `leave` exits 0.

Run from the project's root: .venv/bin/python probes/07e-real-join-then-leave-w3-r1.py [ROUNDS]
Loopback only, bounded (about 40 s a round), every process stopped (`cluster down`,
then SIGKILL of any pid cluster.json names).
"""
from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

VD = [str(Path(".venv/bin/vdynamo").resolve())]
FAST = ["--set", "gossip_interval=0.25", "--set", "hint_scan_interval=0.25",
        "--set", "anti_entropy_interval=0.5"]


def tear_down(d: Path, pids: set[int]) -> None:
    """``cluster down`` of the cluster in ``d``, then SIGKILL to every process it or
    ``pids`` names that is left, and ``d``'s parent removed (07e's and 07f's end)."""
    with contextlib.suppress(Exception):
        pids = pids | {e["pid"] for e in json.loads((d / "cluster.json").read_text())
                       ["nodes"].values() if e.get("pid")}
    vd("cluster", "down", "--dir", str(d), timeout=60)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(d.parent, ignore_errors=True)


def vd(*args: str, timeout: float = 180.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VD, *args], capture_output=True, text=True, timeout=timeout,
                          check=False)


def ports(d: Path) -> dict[str, int]:
    nodes = json.loads((d / "cluster.json").read_text())["nodes"]
    return {name: int(e["http"]) for name, e in nodes.items()}


def call(method: str, port: int, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()
    except OSError as err:
        return 0, {"error": repr(err)[:80]}, b""


def read(port: int, key: str, r: int) -> tuple[int, list[bytes], str]:
    code, headers, body = call("GET", port, f"/kv/{key}?r={r}",
                               headers={"Accept": "application/json"})
    if code == 404:
        return code, [], headers.get("x-vdynamo-context", "")
    if code != 200:
        return code, [], ""
    data = json.loads(body)
    return code, [base64.b64decode(v) for v in data["values"]], data.get("context", "")


def cluster_up(probe: str, *args: str) -> tuple[Path, dict[str, dict[str, int]], set[int],
                                                dict[str, int]]:
    """``vdynamo cluster up --dir D ARGS --set (fast rounds)`` in a new temporary
    directory named for ``probe`` (``07r``): D, cluster.json's nodes, their pids and
    HTTP ports (07q, 07r, 07s, 07t, 20m and later probes' set-up; the caller ends
    with :func:`tear_down`). An AssertionError with its stderr if it fails."""
    d = Path(tempfile.mkdtemp(prefix=f"vdynamo-probe{probe}-")) / "c"
    up = vd("cluster", "up", "--dir", str(d), *args, *FAST)
    if up.returncode != 0:
        tear_down(d, set())
        raise AssertionError(up.stderr)
    nodes = json.loads((d / "cluster.json").read_text())["nodes"]
    return d, nodes, {e["pid"] for e in nodes.values() if e.get("pid")}, ports(d)


def secret_and_name(d: Path) -> tuple[bytes, str]:
    """The ``[cluster] secret`` and ``name`` of the cluster file in ``d`` (07t, 20m)."""
    cluster = tomllib.loads((d / "cluster.toml").read_text())["cluster"]
    return cluster["secret"].encode(), cluster.get("name", "vdynamo")


def one_round(seed: int) -> list[str]:
    rnd = random.Random(seed)
    d = Path(tempfile.mkdtemp(prefix="vdynamo-probe07e-")) / "c"
    faults: list[str] = []
    pids: set[int] = set()
    try:
        up = vd("cluster", "up", "--dir", str(d), "--nodes", "5", "--n", "3", "--r", "2",
                "--w", "2", *FAST)
        assert up.returncode == 0, up.stderr
        gone: set[str] = set()
        stop = threading.Event()
        joined = threading.Event()
        want: dict[str, bytes] = {}
        later: dict[str, set[bytes]] = {}
        counts = {"puts": 0, "put_failed": 0, "reads": 0, "stale": 0, "5xx": 0, "n3 gone": 0,
                  "n6 before join returned": 0}
        codes: dict[str, int] = {}
        err_since: list[float | None] = [None]
        longest = [0.0]

        def note(code: int, node: str) -> None:
            if code == 0 and node == "n3":
                counts["n3 gone"] += 1  # its process exited before `leave` returned
                return
            if node == "n6" and not joined.is_set() and (code >= 500 or code == 0):
                counts["n6 before join returned"] += 1  # listed in cluster.json already
                return
            if code >= 500 or code == 0:
                counts["5xx"] += 1
                codes[f"{code} at {node}"] = codes.get(f"{code} at {node}", 0) + 1
                err_since[0] = err_since[0] or time.monotonic()
                longest[0] = max(longest[0], time.monotonic() - err_since[0])
            else:
                err_since[0] = None

        def client() -> None:
            step = 0
            while not stop.is_set():
                p = ports(d)
                members = [m for m in p if m not in gone]
                key = f"k{step % 6}"
                via = rnd.choice(members)
                code, _, ctx = read(p[via], key, 2)
                note(code, via)
                value = b"%s-%d" % (key.encode(), step)
                hdr = {"Content-Type": "application/octet-stream"}
                if ctx:
                    hdr["X-Vdynamo-Context"] = ctx
                if code in (200, 404):
                    via = rnd.choice(members)
                    pc, _, _ = call("PUT", p[via], f"/kv/{key}?w=3", value, hdr)
                    note(pc, via)
                    if pc in (200, 204):
                        counts["puts"] += 1
                        want[key], later[key] = value, set()
                    else:
                        counts["put_failed"] += 1
                        later.setdefault(key, set()).add(value)
                if key in want:
                    for m in members:
                        rc, got, _ = read(p[m], key, 1)
                        if rc != 200:
                            continue
                        counts["reads"] += 1
                        if want[key] not in got and not set(got) & later.get(key, set()):
                            counts["stale"] += 1
                            faults.append(f"step {step}: {key} via {m} r=1 read {got}, "
                                          f"want {want[key]!r}")
                step += 1

        t = threading.Thread(target=client)
        t.start()
        time.sleep(3)
        j = vd("join", "n6", "--dir", str(d))
        joined.set()
        print(f"  join n6: exit {j.returncode} {j.stdout.strip()} {j.stderr.strip()[:200]}")
        leave = vd("leave", "n3", "--dir", str(d))
        gone.add("n3")
        print(f"  leave n3: exit {leave.returncode} {leave.stdout.strip()} "
              f"{leave.stderr.strip()[:200]}")
        if leave.returncode != 0:
            faults.append(f"leave exit {leave.returncode}")
        time.sleep(4)
        stop.set()
        t.join(60)
        p = ports(d)
        for key, value in want.items():
            for m in p:
                if m in gone:
                    continue
                rc, got, _ = read(p[m], key, 1)
                if value not in got and not set(got) & later.get(key, set()):
                    faults.append(f"final: {key} via {m} r=1 ({rc}) read {got}, want {value!r}")
        status = vd("cluster", "status", "--dir", str(d))
        print("  cluster status:", " | ".join(status.stdout.strip().splitlines()))
        for m in p:
            if m in gone:
                continue
            _, _, body = call("GET", p[m], "/status")
            view = {n: e["status"] for n, e in json.loads(body)["membership"].items()}
            if view.get("n6") != "up" or view.get("n3") not in (None, "left"):
                faults.append(f"{m}'s view at the end: {view}")
        if longest[0] > 5.0:
            faults.append(f"a run of 5xx lasted {longest[0]:.1f} s")
        print(f"  round {seed}: {counts} (by code {codes}), longest 5xx run {longest[0]:.1f} s, "
              f"faults {len(faults)} {faults[:3]}")
    finally:
        tear_down(d, pids)
    return faults


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    bad = sum(bool(one_round(seed)) for seed in range(1, rounds + 1))
    print("FAIL" if bad else "PASS")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
