"""A key with siblings deleted with a get's context, then that same (pre-delete)
context used again, by a put and by a second delete, and the delete's own context
used by a late re-create, in *every* clock mode, through three coordinators (Riak's
"delete with siblings" and "stale vclock after delete" reports; 12h/12i do dvv and
client-vclock with one sibling, 12l foreign contexts through the library).

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, per mode. Raw HTTP
(each request through the node named, that node coordinating or forwarding):

1. two clients (``X-Vdynamo-Client`` a / b) write ``a`` and ``b`` blind through n1
   and n2; C reads through n3 at r=3 (context C0);
2. DELETE with C0 through n1; every node reads nothing at r=3;
3. PUT ``c`` with C0 through n2 (concurrent with the delete in the causal modes);
4. DELETE with C0 again through n3;
5. PUT ``d`` with the first DELETE's answered context through n3.

Right value: never ``a`` or ``b`` again after step 2 (no resurrection); after step 3
every node reads [c]; after step 4, in dvv and client-vclock, [c] still (C0 did not
cover it), in server-vclock and lww [] or [c] (their documented losses); after step
5, every node reads [d] or, where ``c`` outlived step 4 (lww aside: one value),
[c, d] (``c`` was concurrent with the delete whose context ``d`` carries): never a
deleted value, never a 5xx.

Seen (session 59): PASS in all four modes (server-vclock: step 4 kept [c] and step 5
read [c, d]; lww one value throughout).

Run from the project's root: .venv/bin/python probes/12n-delete-siblings-then-old-contexts-every-mode.py [MODE...]
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes  # noqa: E402

check = Checks()
CAUSAL = ("dvv", "client-vclock")


def everyone(c: LocalNodes, key: str) -> list[list[bytes]]:
    return [sorted(c.values(key, node=name, query="?r=3")) for name in c.names]


def write(c: LocalNodes, method: str, key: str, node: str, context: str | None,
          value: bytes | None = None, client: str | None = None) -> tuple[int, str | None]:
    headers = {"Content-Type": "application/octet-stream"}
    if context:
        headers["X-Vdynamo-Context"] = context
    if client:
        headers["X-Vdynamo-Client"] = client
    status, answered, _ = c.request(method, key, value, node=node, headers=headers)
    lower = {k.lower(): v for k, v in answered.items()}
    return status, lower.get("x-vdynamo-context")


for mode in sys.argv[1:] or ["dvv", "client-vclock", "server-vclock", "lww"]:
    with LocalNodes(nodes=3, extra_cluster=f'clock = "{mode}"') as c:
        for i in range(3):
            key = f"sib{i}"
            check(f"{mode} {key}: blind a", write(c, "PUT", key, "n1", None, b"a", "a")[0] == 200)
            check(f"{mode} {key}: blind b", write(c, "PUT", key, "n2", None, b"b", "b")[0] == 200)
            first, c0 = c.read(key, node="n3", query="?r=3")
            if mode in CAUSAL:
                check(f"{mode} {key}: a and b siblings", sorted(first) == [b"a", b"b"], first)
            status, deleted = write(c, "DELETE", key, "n1", c0)
            check(f"{mode} {key}: delete with C0 -> 200", status == 200, status)
            check(f"{mode} {key}: after the delete every node reads nothing",
                  everyone(c, key) == [[]] * 3, everyone(c, key))
            status, _ = write(c, "PUT", key, "n2", c0, b"c")
            check(f"{mode} {key}: put c with C0 -> 200", status == 200, status)
            check(f"{mode} {key}: after put c every node reads [c]",
                  everyone(c, key) == [[b"c"]] * 3, everyone(c, key))
            status, _ = write(c, "DELETE", key, "n3", c0)
            check(f"{mode} {key}: delete again with C0 -> 200 or 404", status in (200, 404),
                  status)
            seen = everyone(c, key)
            allowed = [[[b"c"]] * 3] if mode in CAUSAL else [[[b"c"]] * 3, [[]] * 3]
            check(f"{mode} {key}: after the second C0 delete", seen in allowed, seen)
            kept_c = seen == [[b"c"]] * 3
            status, _ = write(c, "PUT", key, "n3", deleted, b"d")
            check(f"{mode} {key}: put d with the delete's context -> 200", status == 200,
                  status)
            seen = everyone(c, key)
            allowed = [[[b"d"]] * 3] + ([[[b"c", b"d"]] * 3] if kept_c and mode != "lww" else [])
            check(f"{mode} {key}: after put d (never a or b)", seen in allowed, seen)
    print(f"{mode}: done")
check.finish()
