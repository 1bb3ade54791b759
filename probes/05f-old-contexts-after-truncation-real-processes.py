"""Clock growth on real processes, then contexts read *before* the clock was
truncated echoed back, and a context of another key (riak_core #613's pruning
made false siblings; the danger is the other way: a pruned entry re-minted low,
and an old context that covers it).

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, client-vclock,
`vclock_max_pairs = 12` (so 30 clients truncate; the public case uses 400 and the
default 50). Per run (count-based truncation; then time-based with
`vclock_young_s = 0`, `vclock_old_s = 1` and a 2.5 s pause):

1. client X (a 255-character id) writes `x0` blind; client Y reads (context Y0,
   which holds X's pair).
2. 30 clients (255-character ids) each read and write with that context, through
   n1, n2, n3 in turn: each write must be 200 and the key one value.
3. X writes `x1` blind (its pair was truncated away); Y writes `y` with Y0.
4. For key `j`, a read-modify-write through each node with the context of `k`:
   400 (a misdirected context), `j` unchanged.
5. The current context (12 pairs of 255-character ids) echoed through each node,
   the library and `vdynamo put --context`: each 200, one value left.

Right value after 3: `k` at r=3 holds `x1`, `y` and the last client's value (Y
never saw `x1` nor the last client's write: none may be superseded).

Run from the project's root:
    .venv/bin/python probes/05f-old-contexts-after-truncation-real-processes.py
"""
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes, vdynamo_command

problems: list[str] = []
RUNS = [("count", "vclock_max_pairs = 12"),
        ("age", "vclock_max_pairs = 12\nvclock_young_s = 0\nvclock_old_s = 1")]


def cid(name: str) -> str:
    return (name + "-").ljust(255, "x")


def put(c: LocalNodes, key: str, value: bytes, client: str, node: str = "n1",
        context: str | None = None) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/octet-stream", "X-Vdynamo-Client": client}
    if context:
        headers["X-Vdynamo-Context"] = context
    status, _, body = c.request("PUT", key, value, node=node, headers=headers)
    return status, body


for label, extra in RUNS:
    with LocalNodes(nodes=3, extra_cluster=f'clock = "client-vclock"\n{extra}') as c:
        nodes = c.names
        assert put(c, "k", b"x0", cid("X"))[0] == 200
        _, y0 = c.read("k", query="?r=3")
        assert y0
        if label == "age":
            time.sleep(2.5)
        last = b""
        for i in range(30):
            node = nodes[i % 3]
            _, ctx = c.read("k", node=node, query="?r=2")
            last = f"c{i}".encode()
            status, body = put(c, "k", last, cid(f"C{i:02d}"), node=node, context=ctx)
            if status != 200:
                problems.append(f"{label}: client C{i:02d}'s read-modify-write: {status} "
                                f"{body[:120]!r}")
        vals, ctx = c.read("k", query="?r=3")
        print(f"{label}: after 30 clients: {vals}, context {len(ctx or '')} characters",
              flush=True)
        if vals != [last]:
            problems.append(f"{label}: after 30 read-modify-writes: {vals}")
        s1, _ = put(c, "k", b"x1", cid("X"), node="n2")
        s2, _ = put(c, "k", b"y", cid("Y"), node="n3", context=y0)
        time.sleep(0.5)
        for node in nodes:
            got = sorted(c.values("k", node=node, query="?r=3"))
            want = sorted([b"x1", b"y", last])
            print(f"{label}: X blind {s1}, Y with Y0 {s2}; k via {node}: {got}", flush=True)
            if got != want:
                problems.append(f"{label}: k via {node} after the old context: {got}, "
                                f"want {want}")
        # 4. a misdirected context
        assert put(c, "j", b"j0", cid("J"))[0] == 200
        _, kctx = c.read("k", query="?r=3")
        for node in nodes:
            status, body = put(c, "j", b"j-wrong", cid("J"), node=node, context=kctx)
            if status != 400:
                problems.append(f"{label}: k's context on j via {node}: {status} {body[:100]!r}")
        if c.values("j", query="?r=3") != [b"j0"]:
            problems.append(f"{label}: j changed by k's context: {c.values('j', query='?r=3')}")
        # 5. the big context echoed every way
        for node in nodes:
            _, ctx = c.read("k", node=node, query="?r=3")
            status, body = put(c, "k", f"via-{node}".encode(), cid("R"), node=node, context=ctx)
            if status != 200 or c.values("k", query="?r=3") != [f"via-{node}".encode()]:
                problems.append(f"{label}: echo via {node}: {status} {body[:100]!r} "
                                f"{c.values('k', query='?r=3')}")
        import vdynamo
        db = vdynamo.connect([f"127.0.0.1:{c.http[n]}" for n in nodes])
        got = db.get(b"k")
        db.put(b"k", b"via-library", context=got.context)
        _, ctx = c.read("k", query="?r=3")
        run = subprocess.run([*vdynamo_command(), "put", "k", "via-cli", "--context", ctx or "",
                              "--node", f"127.0.0.1:{c.http['n2']}"],
                             capture_output=True, timeout=30)
        final = c.values("k", query="?r=3")
        print(f"{label}: library then CLI (exit {run.returncode}): {final}, "
              f"context {len(ctx or '')} characters", flush=True)
        if run.returncode != 0 or final != [b"via-cli"]:
            problems.append(f"{label}: CLI put with the context: exit {run.returncode} "
                            f"{run.stderr[-200:]!r}; {final}")

if problems:
    print("FAIL:", *problems[:20], sep="\n  ")
    sys.exit(1)
print("PASS")
