"""lww while a running node's wall clock is *stepped* (NTP stepping a clock that
ran ahead back to the right time, the Cassandra "timestamps from the future" and
Jepsen lww reports), on real processes; each write sent to a chosen node over HTTP, the reads at r=3
through the Python client library and through n2 and n3 (03d sets the skews before the start and keeps
them; 03c restarts the node; 03e steps clocks in the simulator).

lww, 3 processes, N=3 R=2 W=2; n1 under libfaketime reading its offset from a
file (FAKETIME_TIMESTAMP_FILE, re-read every second), its monotonic clock left
alone. Steps: v1 blind through n2; n1 stepped +2 h; v2 blind through n1 (a new
client); v3 read-then-write through n2; n1 stepped back to 0; v4 read-then-write
through n1; v5 blind through n1 (a new client, after reading v4 elsewhere: it
came later in real time and the spec's stamp is one more than the highest
stored); a delete through n1 with a read's context; v6 read-then-write through
n3; n1 stepped -2 h; v7 read-then-write through n1; a delete through n1 without a
context (it reads first); v8 blind through n2 after the delete was read back.
Right value: after each step, get r=3 through every node returns [v1], [v2], [v3],
[v4], [v5], [], [v6], [v7], [], [v8].
`--naive` runs the same with `lww_timestamps = "wall-clock"`, which must FAIL (the
steps took: n1's stamps follow its stepped clock; the check can fail).
Skipped (exit 0, says so) where libfaketime is not installed.

Run from the project's root: .venv/bin/python probes/03f-lww-clock-stepped-while-running.py [--naive]
"""
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import FAKETIME_LIB, LocalNodes, faketime_env

if FAKETIME_LIB is None:
    print("SKIP: libfaketime not installed")
    sys.exit(0)

NAIVE = "--naive" in sys.argv
c = LocalNodes(nodes=3, per_process=True, extra_cluster='clock = "lww"' + (
    '\nlww_timestamps = "wall-clock"' if NAIVE else ""))
offset = c.dir / "n1.faketime"
offset.write_text("+0\n")
try:
    import vdynamo
    for name in c.names:
        c.start_node(name, faketime_env(file=offset) if name == "n1" else None, wait=False)
    c.wait_ready()
    time.sleep(2.0)
    at = {n: f"127.0.0.1:{c.http[n]}" for n in c.names}

    reader = vdynamo.connect(list(at.values()))  # reads: the library, r=3

    def step(text: str) -> None:
        offset.write_text(text + "\n")
        time.sleep(2.5)  # past libfaketime's cache of the file

    def everywhere() -> list[list[bytes]]:
        time.sleep(0.5)
        return [sorted(reader.get("k", r=3).values)] + [
            sorted(c.values("k", node=n, query="?r=3")) for n in c.names[1:]]

    seen, names = [], []

    def after(name: str) -> None:
        names.append(name)
        seen.append(everywhere())

    def get(node: str) -> str | None:
        return c.read("k", node=node)[1]

    def put(node: str, value: bytes, ctx: str | None = None) -> None:
        headers = {"Content-Type": "application/octet-stream"}
        if ctx:
            headers["X-Vdynamo-Context"] = ctx
        code, _, body = c.request("PUT", "k", value, node, "", headers)
        if code != 200:
            print(f"FAIL: PUT {value!r} through {node}: {code} {body[:200]!r}")
            sys.exit(1)

    def delete(node: str, ctx: str | None = None) -> None:
        code, _, body = c.request("DELETE", "k", None, node, "", {"X-Vdynamo-Context": ctx} if ctx else {})
        if code != 200:
            print(f"FAIL: DELETE through {node}: {code} {body[:200]!r}")
            sys.exit(1)

    put("n2", b"v1"); after("v1")
    step("+7200")
    put("n1", b"v2"); after("v2")
    put("n2", b"v3", get("n2")); after("v3")
    step("+0")
    put("n1", b"v4", get("n1")); after("v4")
    get("n3"); put("n1", b"v5"); after("v5")
    delete("n1", get("n1")); after("delete")
    put("n3", b"v6", get("n3")); after("v6")
    step("-7200")
    put("n1", b"v7", get("n1")); after("v7")
    delete("n1"); after("delete2")
    get("n2"); put("n2", b"v8"); after("v8")
    want = [[[v]] * 3 for v in (b"v1", b"v2", b"v3", b"v4", b"v5")] + [[[]] * 3] + \
        [[[v]] * 3 for v in (b"v6", b"v7")] + [[[]] * 3] + [[[b"v8"]] * 3]
    for name, got, exp in zip(names, seen, want):
        print(f"after {name:8}: {got}{'' if got == exp else '  <- FAIL'}")
    if seen != want:
        print("FAIL: with a clock stepped while running, a later acknowledged write lost")
        sys.exit(1)
    print("PASS")
finally:
    c.stop()
    shutil.rmtree(c.dir, ignore_errors=True)
