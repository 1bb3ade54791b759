"""A node joins while another member's disk has just been replaced (07g sweeps this
in the simulator; 07i and 07k replace a disk with a fixed membership; 07j joins
while a node is stopped): an operator adds capacity the same hour a failed disk is
swapped, so the joiner's ranges are handed over while one of their donors is
rebuilding from empty (Cassandra: a bootstrap streaming from a replica that was
just replaced, CASSANDRA-8523's family; Riak: `cluster join` planned while a vnode
is being repaired).

`vdynamo cluster up --nodes 4 --n 3 --r 1 --w 3` (R + W > N; fast rounds), 24 keys
v1 at w=3; n2 SIGKILLed, its SQLite files deleted, `vdynamo cluster start n2` and
at once `vdynamo join n5`, both in the background; meanwhile a client does
read-modify-writes at w=3 of the 24 keys through random members, and after each
acknowledged write reads the key at r=1 through every member (n5 once cluster.json
names it); until both commands returned and 2 s more; then every key at r=1
through every member, at once and 3 s later.

Right value: both commands exit 0; every read at r=1 after an acknowledged write
answers that write's value (a 503, or no answer from a node not yet listening, is
not checked; a 404 or an older value is wrong); at the end every key reads its last
acknowledged value through every member.

Run from the project's root: .venv/bin/python probes/07q-join-while-a-member-is-wiped.py [SEED]
Loopback only, about 60 s; every process stopped.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
base = import_module("07e-real-join-then-leave-w3-r1")
VD, cluster_up, ports, call, read, tear_down = (base.VD, base.cluster_up, base.ports, base.call,
                                               base.read, base.tear_down)
from _cluster import Checks  # noqa: E402

KEYS = [f"k{i}" for i in range(24)]
OCTET = {"Content-Type": "application/octet-stream"}


def rmw_step(p: dict[str, int], via: str, readers: list[str], step: int,
             last: dict[str, bytes], codes: Counter[str], wrong: list[str]) -> None:
    """Step ``step`` of the client: a read-modify-write at w=3 of one of :data:`KEYS`
    through ``via``; once acknowledged (``last`` updated) a read at r=1 through every
    one of ``readers`` (a 404 or another value is put in ``wrong``); answers counted
    in ``codes`` (07q, 07s, 07u)."""
    key = KEYS[step % len(KEYS)]
    code, _, ctx = read(p[via], key, 1)
    value = b"v%d" % (step + 2)
    headers = {**OCTET, **({"X-Vdynamo-Context": ctx} if ctx else {})}
    put = call("PUT", p[via], f"/kv/{key}?w=3", value, headers)[0]
    codes[f"put {put}" + (f" {via}" if put == 0 else "")] += 1
    if put != 200:
        return
    last[key] = value
    for node in readers:
        code, vals, _ = read(p[node], key, 1)
        codes[f"read {code}" + (f" {node}" if code == 0 else "")] += 1
        if code in (200, 404) and vals != [value]:
            wrong.append(f"step {step + 1}: {key}={value!r} via {node}: {code} {vals}")


def finals(p: dict[str, int], last: dict[str, bytes]) -> tuple[list[str], list[str]]:
    """Every key read at r=1 through every node of ``p`` at once and 3 s later: the
    reads that did not answer its ``last`` value (07q, 07s, 07u)."""
    def final(what: str) -> list[str]:
        return [f"{what}: {k} via {n}: {code} {vals} (last {last[k]!r})" for n in p
                for k in KEYS for code, vals, _ in [read(p[n], k, 1)] if vals != [last[k]]]

    at_once = final("at once")
    time.sleep(3.0)
    return at_once, final("3 s later")


def wiped_join(probe: str, nodes_up: int, joiner: str, paused: str | None = None) -> None:
    """The probe: ``cluster up --nodes NODES_UP --r 1 --w 3``, 24 keys v1; n2 SIGKILLed
    and its files deleted (``paused`` SIGSTOPped too, SIGCONTed after 15 s: 07s);
    ``cluster start n2`` and ``join JOINER`` at once, read-modify-writes meanwhile;
    the checks printed (07q, 07s)."""
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    rnd = random.Random(seed)
    checks = Checks()
    d, nodes, pids, p = cluster_up(probe, "--nodes", str(nodes_up), "--n", "3", "--r", "1",
                                   "--w", "3")
    stopped = nodes[paused]["pid"] if paused else 0
    try:
        first = [call("PUT", p["n1"], f"/kv/{k}?w=3", b"v1", OCTET)[0] for k in KEYS]
        last = {k: b"v1" for k in KEYS}
        time.sleep(0.5)
        os.kill(nodes["n2"]["pid"], signal.SIGKILL)
        time.sleep(0.3)
        for f in (d / "n2").glob("*.sqlite*"):
            f.unlink()
        if stopped:
            os.kill(stopped, signal.SIGSTOP)
        paused_at, resumed = time.monotonic(), not stopped
        started = subprocess.Popen([*VD, "cluster", "start", "n2", "--dir", str(d)],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        joining = subprocess.Popen([*VD, "join", joiner, "--dir", str(d)],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        wrong: list[str] = []
        codes: Counter[str] = Counter()
        step, ended = 0, None
        while ended is None or time.monotonic() - ended < 2:
            if not resumed and time.monotonic() - paused_at > 15:
                os.kill(stopped, signal.SIGCONT)
                resumed = True
            if (ended is None and resumed and started.poll() is not None
                    and joining.poll() is not None):
                ended = time.monotonic()
            if time.monotonic() - paused_at > 150:
                wrong.append("gave up: the commands did not return within 150 s")
                break
            p = ports(d)
            readers = [m for m in p if m != paused or resumed]
            members = [m for m in readers if m != "n2" or started.poll() is not None]
            rmw_step(p, rnd.choice(members), readers, step, last, codes, wrong)
            step += 1
        if not resumed:
            os.kill(stopped, signal.SIGCONT)
        out_start = started.communicate(timeout=60)[0]
        out_join = joining.communicate(timeout=60)[0]
        pids |= {e["pid"] for e in json.loads((d / "cluster.json").read_text())["nodes"].values()
                 if e.get("pid")}
        p = ports(d)
        at_once, later = finals(p, last)
        print(f"seed {seed}: v1 {Counter(first)}; cluster start n2 exit {started.returncode}; "
              f"join {joiner} exit {joining.returncode}; {step} steps: {dict(codes)}")
        print(f"  reads after an acknowledged write, wrong: {len(wrong)} {wrong[:3]}")
        print(f"  final r=1 via every member: at once {len(at_once)} wrong {at_once[:3]}; "
              f"3 s later {len(later)} wrong {later[:3]}")
        checks("v1 puts 200", set(first) == {200}, first)
        checks("cluster start n2 exits 0", started.returncode == 0, out_start[-300:])
        if paused:
            checks(f"join {joiner} exits 0, or non-zero naming the paused {paused}",
                   joining.returncode == 0 or paused in out_join, out_join[-300:])
        else:
            checks(f"join {joiner} exits 0", joining.returncode == 0, out_join[-300:])
        checks("every read after an acknowledged write answers it", not wrong, wrong[:6])
        checks("every key its last value via every member at once", not at_once, at_once[:6])
        checks("every key its last value via every member 3 s later", not later, later[:6])
    finally:
        if stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(stopped, signal.SIGCONT)
        tear_down(d, pids)
    checks.finish()


def main() -> None:
    wiped_join("07q", 4, "n5")


if __name__ == "__main__":
    main()
