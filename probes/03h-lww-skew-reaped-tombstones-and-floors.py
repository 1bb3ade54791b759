"""lww with a node's clock ahead, across deletes whose tombstones are *reaped* (03b
and 03d keep the tombstone: its stamp is still stored when the key is written
again): once reaped, no replica stores the delete's stamp, only each node's
floor (`lww_floor_margin_s`), which lasts until *that node's* clock passes the
stamp by the margin; the node ahead forgets it first. Cassandra's "data written
after a delete disappears / reappears after gc_grace" threads with skewed
clocks (CASSANDRA-2646, -4905) and Riak lww's delete-then-recreate reports.

Real processes (`serve --node`), lww, 3 nodes, N=3 R=2 W=2, n1 two hours ahead
(libfaketime), `tombstone_grace_s = 0.5`, `lww_floor_margin_s = 5` (so that
floors expire in the run). Steps (a new client, no context, for each blind put):
1. v1 blind through n1 (ahead); 2. read and delete through n1 at w=3; 4 s (the
reap); 3. v2 blind through n2 (on time) once the delete reads back gone; 4. 8 s
(n1's floor expired, not n2's nor n3's); read and delete through n2 at w=3, 4 s;
5. v3 blind through n3; 6. read and delete through n3, 4 s; v4 blind through n1;
7. 8 s; v5 blind through n3 once v4 reads back.
Right value: at r=3 through every node after each step: [v1], [], [v2], [], [v3],
[], [v4], [v5]; every /status `keys` 0 after each reap wait (the reap happened).
`--naive` (`lww_timestamps = "wall-clock"`) must FAIL: the skew took.
Skipped (exit 0, says so) where libfaketime is not installed.

Run from the project's root: .venv/bin/python probes/03h-lww-skew-reaped-tombstones-and-floors.py
"""
import json
import sys
import time
import urllib.request

from _cluster import FAKETIME_LIB, LocalNodes, faketime_env

if FAKETIME_LIB is None:
    print("SKIP: libfaketime not installed")
    sys.exit(0)

bad: list[str] = []
NAIVE = "--naive" in sys.argv  # the coordinator's wall clock alone: shows the skew bites
c = LocalNodes(nodes=3, per_process=True, extra_cluster='clock = "lww"\ntombstone_grace_s = 0.5\n'
               "lww_floor_margin_s = 5\nrequest_timeout = 5"
               + ('\nlww_timestamps = "wall-clock"' if NAIVE else ""))
try:
    for name in c.names:
        c.start_node(name, faketime_env("+7200") if name == "n1" else None, wait=False)
    c.wait_ready()
    time.sleep(2)

    def everywhere(step: str, want: list[bytes]) -> None:
        time.sleep(0.5)
        got = [sorted(c.values("k", node=n, query="?r=3")) for n in c.names]
        ok = got == [want] * 3
        print(f"{step:34}: {got}{'' if ok else '  <- FAIL, want ' + str(want)}")
        if not ok:
            bad.append(step)

    def keys() -> list[int]:
        out = []
        for n in c.names:
            with urllib.request.urlopen(f"http://127.0.0.1:{c.http[n]}/status", timeout=10) as r:
                out.append(json.load(r).get("keys"))
        return out

    def delete(node: str, step: str) -> None:
        _, ctx = c.read("k", node=node, query="?r=3")
        code = c.request("DELETE", "k", node=node, query="?w=3",
                         headers={"X-Vdynamo-Context": ctx or ""})[0]
        if code not in (200, 204):
            print(f"{step}: DELETE {code}  <- FAIL")
            bad.append(step)
        everywhere(step, [])
        time.sleep(4)
        reaped = keys()
        print(f"{'  /status keys after the wait':34}: {reaped}")
        if reaped != [0, 0, 0]:
            bad.append(f"{step}: not reaped {reaped}")

    def blind(node: str, value: bytes, step: str) -> None:
        code = c.request("PUT", "k", value, node, "", {"Content-Type": "application/octet-stream",
                                                        "X-Vdynamo-Client": step})[0]
        if code != 200:
            print(f"{step}: PUT {code}  <- FAIL")
            bad.append(step)
        everywhere(step, [value])

    blind("n1", b"v1", "1 v1 blind via n1 (+2 h)")
    delete("n1", "2 delete via n1")
    blind("n2", b"v2", "3 v2 blind via n2 after the reap")
    time.sleep(8)
    delete("n2", "4 delete via n2, n1's floor gone")
    blind("n3", b"v3", "5 v3 blind via n3")
    delete("n3", "6 delete via n3")
    blind("n1", b"v4", "6 v4 blind via n1 (+2 h)")
    time.sleep(8)
    blind("n3", b"v5", "7 v5 blind via n3 after v4")
finally:
    c.stop()
if bad:
    print(f"FAIL: {len(bad)} steps wrong: {bad}")
    sys.exit(1)
print("PASS")
