"""Session 35's amnesia probe on real processes (``vdynamo serve``, one per node).

Run from the project's root, with the shared cases beside it (their ``_cluster.py``
starts and stops the processes, by PID, on 127.0.0.1):

    nice -n 10 .venv/bin/python bench/amnesia_probe.py [SCENARIO ...]

Scenarios: wiped, restored, buffered, two, handoff, coordinator, rebuild-reads.
Each prints PASS or FAIL with what it read; docs/runtime.md, "Restored hint ids
and amnesia probe (session 35)". It never fails: it reports.
"""
from __future__ import annotations

import json
import shutil
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, ".")
sys.path[:0] = ["../shared/cases", "../../shared/cases"]  # from main, or a worktree
from _cluster import LocalNodes  # noqa: E402

RESULTS: list[tuple[str, str, str]] = []
CLOCKS = ("dvv", "client-vclock", "server-vclock", "lww")


def data(c: LocalNodes, name: str) -> list[Path]:
    return [p for p in c.dir.glob(f"{name}.sqlite*") if not p.name.endswith(".lock")]


def wipe(c: LocalNodes, name: str) -> None:
    for p in data(c, name):
        p.unlink()


def copy_out(c: LocalNodes, name: str, to: Path) -> None:
    to.mkdir(parents=True, exist_ok=True)
    for p in data(c, name):
        shutil.copy2(p, to / p.name)


def copy_back(c: LocalNodes, name: str, frm: Path) -> None:
    wipe(c, name)
    for p in frm.iterdir():
        shutil.copy2(p, c.dir / p.name)


def put(c: LocalNodes, key: str, value: bytes, node: str = "n1", context: str | None = None,
        client: str | None = None, query: str = "") -> int:
    headers = {"Content-Type": "application/octet-stream"}
    if context:
        headers["X-Vdynamo-Context"] = context
    if client:
        headers["X-Vdynamo-Client"] = client
    return c.request("PUT", key, value, node, query, headers)[0]


def get(c: LocalNodes, key: str, node: str = "n2", r: int = 3) -> list[bytes] | str:
    try:
        return sorted(c.values(key, node, f"?r={r}"))
    except Exception as err:
        return f"error {err}"


def eventually(fn, want, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    got = fn()
    while not want(got) and time.time() < deadline:
        time.sleep(1.0)
        got = fn()
    return got


def record(name: str, ok: bool, detail: str) -> None:
    verdict = "PASS" if ok else "FAIL"
    RESULTS.append((name, verdict, detail))
    print(f"{verdict} {name}: {detail}", flush=True)


def cluster(nodes: int = 3, extra: str = "") -> LocalNodes:
    c = LocalNodes(nodes=nodes, per_process=True, extra_cluster=extra)
    c.start()
    time.sleep(2.0)
    return c


def restart(c: LocalNodes, *names: str, wait: bool = True) -> None:
    """Start ``names`` again; with ``wait`` wait until every node that is not down
    opened its HTTP port."""
    import subprocess

    from _cluster import vdynamo_command
    for name in names:
        with open(c.dir / f"{name}.log", "ab") as log:  # the child keeps its own copy
            c.procs[name] = subprocess.Popen(
                [*vdynamo_command(), "serve", str(c.config), "--node", name],
                cwd=c.dir, stdout=log, stderr=log)
    if wait:
        saved = c.names
        c.names = [n for n in saved if n in c.procs]
        try:
            c.wait_ready()
        finally:
            c.names = saved
    time.sleep(1.0)


def stopped(c: LocalNodes) -> None:
    c.stop()
    if RESULTS and RESULTS[-1][1] == "PASS":
        shutil.rmtree(c.dir, ignore_errors=True)
    else:
        print("kept", c.dir, flush=True)


def blind_v3(c: LocalNodes, clock: str) -> tuple[int, list[bytes] | str, list[bytes]]:
    """A blind put of v3 through n1 (client c2 under client-vclock), then k read at
    r=3 until v3 is in: (the put's status, what was read, what is right: v3 beside
    v2 but under lww, where v3 alone)."""
    status = put(c, "k", b"v3", client="c2" if clock == "client-vclock" else None)
    got = eventually(lambda: get(c, "k"), lambda v: isinstance(v, list) and b"v3" in v)
    return status, got, [b"v3"] if clock == "lww" else [b"v2", b"v3"]


def node_status(c: LocalNodes, name: str) -> dict[str, Any]:
    """Node ``name``'s ``/status`` document."""
    with urllib.request.urlopen(f"http://127.0.0.1:{c.http[name]}/status", timeout=5) as r:
        status: dict[str, Any] = json.loads(r.read())
    return status


def show_rebuild(c: LocalNodes) -> None:
    """Print each node's rebuild, generation and restore counters (a failed scenario's
    evidence)."""
    for n in c.names:
        st = node_status(c, n)
        print(n, json.dumps({k: st.get(k) for k in ("rebuild", "generation")}),
              {k: v for k, v in st.get("stats", {}).items()
               if any(word in k for word in ("rebuil", "shadow", "set-aside", "restore"))})


def two_puts_then_blind(name: str, clock: str, extra: str, settle: float,
                        lose: Callable[[LocalNodes], None]) -> None:
    """v1, then v2 with v1's context, through n1; after ``settle`` s n1 killed, ``lose``
    done to its disk while it is down, n1 restarted; a blind v3 through n1, whose get
    with R = 3 must show what ``blind_v3`` wants (``record`` as ``name[clock]``)."""
    c = cluster(extra=f'clock = "{clock}"{extra}')
    try:
        cl = "c1" if clock == "client-vclock" else None
        assert put(c, "k", b"v1", client=cl) == 200
        ctx = c.read("k", "n1")[1]
        assert put(c, "k", b"v2", context=ctx, client=cl) == 200
        time.sleep(settle)
        c.kill("n1")
        lose(c)
        restart(c, "n1")
        status, got, want = blind_v3(c, clock)
        record(f"{name}[{clock}]", status == 200 and got == want,
               f"put v3 {status}, get r=3 {got}, want {want}")
    finally:
        stopped(c)


def wiped_then_blind(clock: str) -> None:
    """Case 01 on processes: v1, v2 through n1; n1's disk wiped while down; a blind v3."""
    two_puts_then_blind("wiped-then-blind", clock, "", 2.0, lambda c: wipe(c, "n1"))


def restored_copy(clock: str) -> None:
    """n1's data copied while down (holding v1); v2 through n1; n1 put back to the copy;
    a blind v3 through n1."""
    c = cluster(extra=f'clock = "{clock}"')
    try:
        cl = "c1" if clock == "client-vclock" else None
        assert put(c, "k", b"v1", client=cl) == 200
        time.sleep(1.0)
        c.kill("n1")
        copy_out(c, "n1", c.dir / "backup")
        restart(c, "n1")
        ctx = c.read("k", "n1")[1]
        s2 = put(c, "k", b"v2", context=ctx, client=cl)
        time.sleep(1.0)
        c.kill("n1")
        copy_back(c, "n1", c.dir / "backup")
        restart(c, "n1")
        s3, got, want = blind_v3(c, clock)
        ok = (s2, s3) == (200, 200) and got == want
        if not ok:
            show_rebuild(c)
        record(f"restored-copy[{clock}]", ok,
               f"put v2 {s2}, v3 {s3}, get r=3 {got}, want {want}")
    finally:
        stopped(c)


def buffered_crash(clock: str) -> None:
    """fsync buffered, flush_interval 60 s: v1, v2 through n1, n1 killed before it
    flushed; restarted, a blind v3 through n1."""
    two_puts_then_blind("buffered-crash", clock,
                        '\nflush_interval = 60.0\n[storage]\nfsync = "buffered"', 0.5,
                        lambda c: None)


def two_disks_lost() -> None:
    """v1, v2 written with w=3; n1 and n2 lose their disks while down; restarted, a
    read at r=2 through n1 at once, then a blind v3 through n1."""
    c = cluster()
    try:
        assert put(c, "k", b"v1", query="?w=3") == 200
        ctx = c.read("k", "n1")[1]
        assert put(c, "k", b"v2", context=ctx, query="?w=3") == 200
        c.kill("n1")
        c.kill("n2")
        wipe(c, "n1")
        wipe(c, "n2")
        restart(c, "n1", "n2")
        early = get(c, "k", node="n1", r=2)
        s3 = put(c, "k", b"v3")
        got = eventually(lambda: get(c, "k"), lambda v: v == [b"v2", b"v3"], timeout=90)
        record("two-disks-lost", early != [] and got == [b"v2", b"v3"] and s3 == 200,
               f"early r=2 via n1 {early}, put v3 {s3}, get r=3 {got}")
    finally:
        stopped(c)


def loss_during_handoff(which: str) -> None:
    """4 nodes: n3 down, 40 keys written (w=2): fallbacks keep hints for n3. Then
    `fallback`: every node but n1, n2, n3 (n4) loses its disk before handing off;
    `intended`: n3 comes back, takes its hints, and loses its disk at once. Every
    key must read its value at r=3 in the end."""
    c = cluster(nodes=4)
    try:
        c.kill("n3")
        time.sleep(3.0)
        keys = [f"h{i}" for i in range(40)]
        statuses = [put(c, k, k.encode()) for k in keys]
        if which == "fallback":
            c.kill("n4")
            wipe(c, "n4")
            restart(c, "n4", "n3")
        else:
            restart(c, "n3")
            time.sleep(4.0)
            c.kill("n3")
            wipe(c, "n3")
            restart(c, "n3")

        def missing() -> list[str]:
            return [k for k in keys if get(c, k, node="n1") != [k.encode()]]
        lost = eventually(missing, lambda m: not m, timeout=90)
        record(f"handoff-loss[{which}]", all(s == 200 for s in statuses) and not lost,
               f"{statuses.count(200)}/40 acknowledged, {len(lost)} not read back at r=3: "
               f"{lost[:5]}")
    finally:
        stopped(c)


def coordinator_lost_after_ack(clock: str) -> None:
    """20 keys: a put through n1, and at its answer n1 is killed and its disk wiped;
    restarted. Every acknowledged value must read back (r=2 at once via n2, r=3 later)."""
    c = cluster(extra=f'clock = "{clock}"')
    try:
        lost_early, acked = [], []
        for i in range(6):
            key = f"c{i}"
            client = "c1" if clock == "client-vclock" else None
            if put(c, key, b"x" + str(i).encode(), client=client) == 200:
                acked.append(key)
            c.kill("n1")
            wipe(c, "n1")
            early = get(c, key, node="n2", r=2)
            if early != [b"x" + str(i).encode()]:
                lost_early.append((key, early))
            restart(c, "n1")
        def missing() -> list[str]:
            return [k for k in acked if get(c, k, node="n3") != [b"x" + k[1:].encode()]]
        lost = eventually(missing, lambda m: not m, timeout=90)
        record(f"coordinator-lost-after-ack[{clock}]", not lost and not lost_early,
               f"{len(acked)}/6 acknowledged, early r=2 misses {lost_early}, r=3 missing {lost}")
    finally:
        stopped(c)


def rebuild_under_reads(clock: str, wiped: bool = False) -> None:
    """n1 restored from a copy (as in restored_copy; ``wiped``: its data deleted
    instead), then a get at r=3 through n2 every second or so: does n1's rebuild end
    within 60 s, and how long does it take? (Before session 35's fix, "A rebuild
    under reads": often not, n2 suspecting the silent n1 and starting no exchange
    with it, and n1's own exchanges never completing at n1.)"""
    c = cluster(extra=f'clock = "{clock}"')
    try:
        assert put(c, "k", b"v1") == 200
        time.sleep(1.0)
        c.kill("n1")
        copy_out(c, "n1", c.dir / "backup")
        restart(c, "n1")
        assert put(c, "k", b"v2", context=c.read("k", "n1")[1]) == 200
        time.sleep(1.0)
        c.kill("n1")
        if wiped:
            wipe(c, "n1")
        else:
            copy_back(c, "n1", c.dir / "backup")
        started = time.time()
        restart(c, "n1")
        gets: list[object] = []

        def rebuild() -> object:
            gets.append(get(c, "k"))
            return node_status(c, "n1").get("rebuild")
        left = eventually(rebuild, lambda r: r is None, timeout=60)
        took = time.time() - started
        final = get(c, "k")
        failed = sum(not isinstance(g, list) for g in gets)
        record(f"rebuild-under-reads[{clock}{', wiped' if wiped else ''}]",
               left is None and final == [b"v2"],
               f"n1's rebuild {'ended' if left is None else 'left'} after {took:.1f} s: {left}; "
               f"{len(gets)} gets at r=3, {failed} failed; then {final}")
    finally:
        stopped(c)


SCENARIOS = {
    "wiped": lambda: [wiped_then_blind(m) for m in CLOCKS],
    "restored": lambda: [restored_copy(m) for m in CLOCKS],
    "rebuild-reads": lambda: [rebuild_under_reads("server-vclock"),
                              rebuild_under_reads("dvv", wiped=True)],
    "buffered": lambda: [buffered_crash(m) for m in ("dvv", "server-vclock", "lww")],
    "two": two_disks_lost,
    "handoff": lambda: [loss_during_handoff(w) for w in ("fallback", "intended")],
    "coordinator": lambda: [coordinator_lost_after_ack(m) for m in ("dvv", "lww")],
}

if __name__ == "__main__":
    t0 = time.time()
    for name in sys.argv[1:] or list(SCENARIOS):
        try:
            SCENARIOS[name]()
        except (Exception, SystemExit) as err:
            record(name, False, f"probe error {err!r}")
    passed = sum(verdict == "PASS" for _, verdict, _ in RESULTS)
    print(f"{passed}/{len(RESULTS)} PASS in {time.time() - t0:.0f} s")
