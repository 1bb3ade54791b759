"""A node replaced (or its disk) when the only other copy of an acknowledged write is
on one replica: ScyllaDB #15155's example of a streaming-based replace breaking a
quorum ("[B, B, A]: node 1 is lost and node 4 replaces it; streaming from node 3
leaves [B, A, A], and a QUORUM read may return A"), on real processes via the CLI.

`vdynamo cluster up --nodes 3 --n 3 --r 2 --w 2` (fast gossip, anti-entropy every
60 s so that it does not mend n3 first); 16 keys A at w=3 through n1; n3 SIGSTOPped;
the keys B at w=2 through n1 (n1 and n2 hold them; n3 has A); n1 SIGKILLed and its
directory deleted (the disk lost, its hints with it); n3 SIGCONTed. Then:
- wipe: `vdynamo cluster start n1` on the empty directory (a replaced disk);
- replace: `vdynamo remove n1`, `vdynamo join n4` (a new node in its place);
and every key read at once at r=2 through n3 and through the new store (n1 or n4),
then again 3 s later, then at r=3 once the new store is ready.
Right value: B at every r=2 read (W + R > N: any two of the three owners include one
that holds B, unless a store that has not got it answers as if it had: a replaced
disk, a joiner); B at r=3.

Run from the project's root:
    .venv/bin/python probes/07k-replace-after-quorum-write-one-stale.py [wipe|replace]
Loopback only, about 40 s a kind; every process stopped (SIGCONT first,
`cluster down`, then SIGKILL of any pid cluster.json named).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
walk = import_module("07e-real-join-then-leave-w3-r1")
vd, ports, call, read, tear_down = walk.vd, walk.ports, walk.call, walk.read, walk.tear_down
GOSSIP = ["--set", "gossip_interval=0.25", "--set", "hint_scan_interval=0.25",
          "--set", "anti_entropy_interval=60"]
KEYS = [f"k{i}" for i in range(16)]


def pid(d: Path, name: str) -> int:
    return int(json.loads((d / "cluster.json").read_text())["nodes"][name]["pid"])


def put(port: int, key: str, value: bytes, w: int) -> int:
    _, _, ctx = read(port, key, 2)
    headers = {"Content-Type": "application/octet-stream"}
    if ctx:
        headers["X-Vdynamo-Context"] = ctx
    return call("PUT", port, f"/kv/{key}?w={w}", value, headers)[0]


def reads(d: Path, nodes: list[str], r: int, what: str) -> list[str]:
    p = ports(d)
    wrong: list[str] = []
    seen: dict[str, int] = {}
    for node in nodes:
        for key in KEYS:
            code, vals, _ = read(p[node], key, r)
            shown = f"{code} {sorted(v[:1] for v in vals)}"
            seen[shown] = seen.get(shown, 0) + 1
            if code != 200 or vals != [b"B-" + key.encode()]:
                wrong.append(f"{what}: {key} r={r} via {node}: {code} {vals}")
    print(f"  {what}, r={r} via {' '.join(nodes)}: {seen}")
    return wrong


def run(kind: str) -> list[str]:
    d = Path(tempfile.mkdtemp(prefix="vdynamo-probe07k-")) / "c"
    wrong: list[str] = []
    pids: set[int] = set()
    stopped: int | None = None
    try:
        up = vd("cluster", "up", "--dir", str(d), "--nodes", "3", "--n", "3", "--r", "2",
                "--w", "2", *GOSSIP)
        assert up.returncode == 0, up.stderr
        pids = {pid(d, n) for n in ("n1", "n2", "n3")}
        p = ports(d)
        codes = [put(p["n1"], k, b"A-" + k.encode(), 3) for k in KEYS]
        stopped = pid(d, "n3")
        os.kill(stopped, signal.SIGSTOP)
        codes += [put(p["n1"], k, b"B-" + k.encode(), 2) for k in KEYS]
        os.kill(pid(d, "n1"), signal.SIGKILL)
        shutil.rmtree(d / "n1")
        os.kill(stopped, signal.SIGCONT)
        stopped = None
        print(f"{kind}: puts {sorted(set(codes))}")
        if set(codes) != {200}:
            wrong.append(f"{kind}: a put failed: {codes}")
        if kind == "wipe":
            fresh = "n1"
            started = vd("cluster", "start", "n1", "--dir", str(d))
            said = (started.stdout + started.stderr).strip().replace("\n", " ")
            print(f"  cluster start n1 (empty): exit {started.returncode} {said[:200]}")
        else:
            # three members and N = 3: `remove n1` is refused until a fourth joins,
            # and the joiner waits for n1 (down) to give it partitions until n1 is
            # removed (both said by the CLI): join in the background, then remove
            fresh = "n4"
            joining = subprocess.Popen([*walk.VD, "join", "n4", "--dir", str(d)],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 40
            while (removed := vd("remove", "n1", "--dir", str(d))).returncode != 0:
                if time.monotonic() > deadline:
                    wrong.append(f"remove n1 failed: {removed.stderr.strip()[:200]}")
                    break
                time.sleep(0.5)
            _, err = joining.communicate(timeout=120)
            print(f"  remove n1: exit {removed.returncode}; join n4: exit {joining.returncode}")
            if joining.returncode != 0:
                wrong.append(f"join n4: {err.strip()[:200]}")
        with contextlib.suppress(Exception):
            pids.add(pid(d, fresh))
        wrong += reads(d, [fresh, "n3"], 2, f"{kind} at once")
        time.sleep(3.0)
        wrong += reads(d, ["n3", fresh], 2, f"{kind} 3 s later")
        # r=3 once the new store is ready (a replaced disk rebuilding answers no
        # read, so r=3 is 503 until then: unavailable, not wrong)
        waited = time.monotonic()
        while call("GET", ports(d)[fresh], "/health/ready")[0] != 200:
            if time.monotonic() - waited > 90:
                wrong.append(f"{kind}: {fresh} not ready in 90 s")
                break
            time.sleep(0.5)
        print(f"  {fresh} ready after {time.monotonic() - waited:.1f} s more")
        wrong += reads(d, ["n2"], 3, f"{kind} once {fresh} ready")
    finally:
        if stopped is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(stopped, signal.SIGCONT)
        tear_down(d, pids)
    return wrong


def main() -> None:
    wrong: list[str] = []
    for kind in sys.argv[1:] or ["wipe", "replace"]:
        wrong += run(kind)
    for line in wrong[:20]:
        print("FAIL:", line)
    if wrong:
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
