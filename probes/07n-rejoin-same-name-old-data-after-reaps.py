"""A node that left rejoining under its name on its *old* data directory, after keys it
held were deleted (and the tombstones reaped) and others rewritten (Cassandra: a
decommissioned node started again with its old sstables brings deleted data back
once gc_grace passed; Riak: a node re-added with its old vnode data), on real
processes through the CLI.

`vdynamo cluster up --nodes 4 --n 3 --r 2 --w 2` (fast rounds, tombstone_grace_s =
0.5); 24 keys v1 at w=3; `vdynamo leave n3` (its directory kept); keys 0-7 deleted
with their context at w=3 and read at r=3 (the reap), keys 8-15 rewritten v2 with
their context at w=3; 3 s (6 graces); `vdynamo join n3` on the old directory; every
key read at r=1 through n3 at once and at r=2 through every member 3 s later.
Right value: keys 0-7 not found, 8-15 [v2], 16-23 [v1], through every node; `join`
exits 0.

Run from the project's root: .venv/bin/python probes/07n-rejoin-same-name-old-data-after-reaps.py
Loopback only, about 40 s; every process stopped.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
base = import_module("07e-real-join-then-leave-w3-r1")
vd, ports, call, read, tear_down, FAST = (base.vd, base.ports, base.call, base.read,
                                          base.tear_down, base.FAST)
KEYS = [f"k{i}" for i in range(24)]


def want(i: int) -> list[bytes]:
    return [] if i < 8 else [b"v2"] if i < 16 else [b"v1"]


def check(d: Path, nodes: list[str], r: int, what: str) -> list[str]:
    p = ports(d)
    wrong = [f"{what}: {k} r={r} via {n}: {vals}" for n in nodes
             for i, k in enumerate(KEYS)
             for _, vals, _ in [read(p[n], k, r)] if sorted(vals) != want(i)]
    print(f"  {what}, r={r} via {' '.join(nodes)}: {len(nodes) * len(KEYS)} reads, "
          f"{len(wrong)} wrong")
    return wrong


def up_and_written(d: Path) -> tuple[set[int], dict[str, int], list[int]]:
    """`vdynamo cluster up` of 4 nodes in ``d`` (N=3 R=2 W=2, fast rounds,
    tombstone_grace_s = 0.5) and every key v1 at w=3 through n1: (the processes,
    the HTTP ports, the puts' codes) (07n, 20h)."""
    up = vd("cluster", "up", "--dir", str(d), "--nodes", "4", "--n", "3", "--r", "2",
            "--w", "2", *FAST, "--set", "tombstone_grace_s=0.5")
    assert up.returncode == 0, up.stderr
    pids = {e["pid"] for e in json.loads((d / "cluster.json").read_text())["nodes"].values()}
    p = ports(d)
    octet = {"Content-Type": "application/octet-stream"}
    return pids, p, [call("PUT", p["n1"], f"/kv/{k}?w=3", b"v1", octet)[0] for k in KEYS]


def delete_and_rewrite(p: dict[str, int]) -> list[int]:
    """Keys 0-7 read at r=2 and deleted with that context at w=3 through n1 (each then
    read at r=3 through n2: the reap's check), keys 8-15 written v2 with their
    context at w=3: the answers' codes (07n, 20h)."""
    codes = []
    for i, k in enumerate(KEYS[:16]):
        _, _, ctx = read(p["n1"], k, 2)
        headers = {"X-Vdynamo-Context": ctx} if ctx else {}
        if i < 8:
            codes.append(call("DELETE", p["n1"], f"/kv/{k}?w=3", None, headers)[0])
            read(p["n2"], k, 3)
        else:
            codes.append(call("PUT", p["n1"], f"/kv/{k}?w=3", b"v2",
                              {"Content-Type": "application/octet-stream", **headers})[0])
    return codes


def main() -> None:
    d = Path(tempfile.mkdtemp(prefix="vdynamo-probe07n-")) / "c"
    wrong: list[str] = []
    pids: set[int] = set()
    try:
        pids, p, codes = up_and_written(d)
        time.sleep(1.0)
        left = vd("leave", "n3", "--dir", str(d))
        print(f"  leave n3: exit {left.returncode} {left.stdout.strip()[:80]}")
        codes += delete_and_rewrite(p)
        time.sleep(3.0)
        held = {n: json.loads(call("GET", p[n], "/status")[2])["keys"]
                for n in ("n1", "n2", "n4")}
        joined = vd("join", "n3", "--dir", str(d))
        print(f"  puts and deletes {sorted(set(codes))}; records held before the rejoin "
              f"{held} (16 once 8 deletes are reaped); join n3: exit {joined.returncode} "
              f"{(joined.stdout + joined.stderr).strip()[:120]}")
        pids |= {e["pid"] for e in json.loads((d / "cluster.json").read_text())["nodes"].values()
                 if e.get("pid")}
        if set(codes) - {200, 204} or joined.returncode != 0 or left.returncode != 0:
            wrong.append(f"codes {codes}, leave {left.returncode}, join {joined.returncode}")
        wrong += check(d, ["n3"], 1, "at once")
        time.sleep(3.0)
        wrong += check(d, ["n3", "n1", "n2", "n4"], 2, "3 s later")
        wrong += check(d, ["n3"], 1, "3 s later")
    finally:
        tear_down(d, pids)
    for line in wrong[:20]:
        print("FAIL:", line)
    if wrong:
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
