"""A node joins while one member's disk has just been replaced *and* another member
is paused (07p pauses a member during a join, 07q wipes one; never both at once):
the week an operator adds capacity, a failed disk is swapped and a third machine's
VM is frozen by its hypervisor for 15 s (Cassandra: a bootstrap whose stream source
is being rebuilt while another replica is in a long GC pause; Riak: a `cluster
join` planned while one vnode is repaired and another node is unreachable). Two
of a key's three replicas can be out at once; the sloppy quorum's fallbacks and
the joiner's handover must still never show an acknowledged write as missing.

`vdynamo cluster up --nodes 5 --n 3 --r 1 --w 3` (R + W > N; fast rounds), 24 keys
v1 at w=3; n2 SIGKILLed, its SQLite files deleted; n3 SIGSTOPped; `vdynamo cluster
start n2` and at once `vdynamo join n6`, both in the background; n3 SIGCONTed 15 s
later. Meanwhile a client does read-modify-writes at w=3 of the 24 keys through
random members (not n3 while paused), and after each acknowledged write reads the
key at r=1 through every member (n3 once resumed; n6 once cluster.json names it),
until both commands returned, n3 resumed, and 2 s more; then every key at r=1
through every member, at once and 3 s later.

Right value: both commands exit 0 (or `join` non-zero naming n3, the paused
member, as 07p allows); every read at r=1 after an acknowledged write answers that
write's value (a 503, or no answer from a node not yet listening, is not checked; a
404 or an older value is wrong); at the end every key reads its last acknowledged
value through every member.

Run from the project's root: .venv/bin/python probes/07s-join-while-one-member-wiped-another-paused.py [SEED]
Loopback only, about 60-90 s; every process stopped (SIGCONT first).
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
base = import_module("07e-real-join-then-leave-w3-r1")
VD, vd, ports, call, read, tear_down, FAST = (base.VD, base.vd, base.ports, base.call,
                                              base.read, base.tear_down, base.FAST)
from _cluster import Checks  # noqa: E402

KEYS = [f"k{i}" for i in range(24)]


def main() -> None:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    rnd = random.Random(seed)
    checks = Checks()
    d = Path(tempfile.mkdtemp(prefix="vdynamo-probe07s-")) / "c"
    pids: set[int] = set()
    try:
        up = vd("cluster", "up", "--dir", str(d), "--nodes", "5", "--n", "3", "--r", "1",
                "--w", "3", *FAST)
        assert up.returncode == 0, up.stderr
        nodes = json.loads((d / "cluster.json").read_text())["nodes"]
        pids = {e["pid"] for e in nodes.values()}
        p = ports(d)
        octet = {"Content-Type": "application/octet-stream"}
        first = [call("PUT", p["n1"], f"/kv/{k}?w=3", b"v1", octet)[0] for k in KEYS]
        last = {k: b"v1" for k in KEYS}
        time.sleep(0.5)
        os.kill(nodes["n2"]["pid"], signal.SIGKILL)
        time.sleep(0.3)
        for f in (d / "n2").glob("*.sqlite*"):
            f.unlink()
        n3 = nodes["n3"]["pid"]
        os.kill(n3, signal.SIGSTOP)
        paused_at, resumed = time.monotonic(), False
        started = subprocess.Popen([*VD, "cluster", "start", "n2", "--dir", str(d)],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        joining = subprocess.Popen([*VD, "join", "n6", "--dir", str(d)],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wrong: list[str] = []
        codes: Counter[str] = Counter()
        step, ended = 0, None
        while ended is None or time.monotonic() - ended < 2:
            if not resumed and time.monotonic() - paused_at > 15:
                os.kill(n3, signal.SIGCONT)
                resumed = True
            if (ended is None and resumed and started.poll() is not None
                    and joining.poll() is not None):
                ended = time.monotonic()
            if time.monotonic() - paused_at > 150:
                wrong.append("gave up: the commands did not return within 150 s")
                break
            p = ports(d)
            members = [m for m in p if (m != "n2" or started.poll() is not None)
                       and (m != "n3" or resumed)]
            key = KEYS[step % len(KEYS)]
            via = rnd.choice(members)
            code, _, ctx = read(p[via], key, 1)
            value = b"v%d" % (step + 2)
            headers = {**octet, **({"X-Vdynamo-Context": ctx} if ctx else {})}
            put = call("PUT", p[via], f"/kv/{key}?w=3", value, headers)[0]
            codes[f"put {put}" + (f" {via}" if put == 0 else "")] += 1
            step += 1
            if put != 200:
                continue
            last[key] = value
            for node in members:
                code, vals, _ = read(p[node], key, 1)
                codes[f"read {code}" + (f" {node}" if code == 0 else "")] += 1
                if code in (200, 404) and vals != [value]:
                    wrong.append(f"step {step}: {key}={value!r} via {node}: {code} {vals}")
        if not resumed:
            os.kill(n3, signal.SIGCONT)
        out_start = started.communicate(timeout=60)[0]
        out_join = joining.communicate(timeout=60)[0]
        pids |= {e["pid"] for e in json.loads((d / "cluster.json").read_text())["nodes"].values()
                 if e.get("pid")}
        p = ports(d)

        def final(what: str) -> list[str]:
            return [f"{what}: {k} via {n}: {code} {vals} (last {last[k]!r})" for n in p
                    for k in KEYS for code, vals, _ in [read(p[n], k, 1)] if vals != [last[k]]]

        at_once = final("at once")
        time.sleep(3.0)
        later = final("3 s later")
        print(f"seed {seed}: v1 {Counter(first)}; cluster start n2 exit {started.returncode}; "
              f"join n6 exit {joining.returncode}; {step} steps: {dict(codes)}")
        print(f"  reads after an acknowledged write, wrong: {len(wrong)} {wrong[:3]}")
        print(f"  final r=1 via every member: at once {len(at_once)} wrong {at_once[:3]}; "
              f"3 s later {len(later)} wrong {later[:3]}")
        checks("v1 puts 200", set(first) == {200}, first)
        checks("cluster start n2 exits 0", started.returncode == 0, out_start[-300:])
        checks("join n6 exits 0, or non-zero naming the paused n3",
               joining.returncode == 0 or "n3" in out_join, out_join[-300:])
        checks("every read after an acknowledged write answers it", not wrong, wrong[:6])
        checks("every key its last value via every member at once", not at_once, at_once[:6])
        checks("every key its last value via every member 3 s later", not later, later[:6])
    finally:
        with contextlib.suppress(Exception):
            os.kill(json.loads((d / "cluster.json").read_text())["nodes"]["n3"]["pid"],
                    signal.SIGCONT)
        tear_down(d, pids)
    checks.finish()


if __name__ == "__main__":
    main()
