"""Deletes with contexts kept for long, and writes racing just after a delete,
through the library and the CLI (Riak's "delete with a stale vclock" and "deleted
object resurrected / writes swallowed by a tombstone" reports): 12e deletes with
the current context, 12g after the reap, 12h with preconditions; none deletes with
a context older than the value, nor sends many writers right after the tombstone.

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, in dvv and
client-vclock. Per mode:

1. `a` = v1; client A reads it (context C1); client B updates it to v2 (read then
   put); A deletes with C1, through the library. Right: `a` reads [v2] at r=3 (the
   delete covered v1 only).
2. The same with `vdynamo delete b --context C1` (the CLI): `b` reads [v2].
3. `c` = v1, deleted (library, current context); at once 12 threads, each its own
   library client, put a distinct value blind (no context) through n1, n2, n3 in
   turn. Right: every acknowledged value is a sibling of `c` at r=3 through each
   node (none swallowed by the tombstone), and a delete with that read's context
   then leaves nothing; a CLI `get` exits 1.
4. `d` = v1; A reads C1; `d` is deleted (current context) and re-created as v3
   blind; A's stale put of v4 with C1: `d` reads v3 and v4 (the re-create was
   concurrent with A's put), never v1.

Run from the project's root: .venv/bin/python probes/12i-stale-context-deletes-then-concurrent-writers.py
"""
import subprocess
import sys
import threading
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vdynamo
from _cluster import Checks, LocalNodes, vdynamo_command

check = Checks()
for clock in ("dvv", "client-vclock"):
    with LocalNodes(nodes=3, extra_cluster=f'clock = "{clock}"') as c:
        seeds = [f"127.0.0.1:{c.http[n]}" for n in c.names]
        cli = [*vdynamo_command()]
        node_args = [arg for n in c.names for arg in ("--node", f"127.0.0.1:{c.http[n]}")]
        a, b = vdynamo.connect(seeds), vdynamo.connect(seeds)
        for key, how in (("a", "library"), ("b", "cli")):
            a.put(key, b"v1")
            c1 = a.get(key).context
            got = b.get(key)
            b.put(key, b"v2", context=got.context)
            if how == "library":
                a.delete(key, context=c1)
            else:
                run = subprocess.run([*cli, "delete", key, "--context", c1, *node_args],
                                     capture_output=True, timeout=30)
                check(f"{clock}: CLI delete with a stale context exits 0", run.returncode == 0,
                      run.stderr[-200:])
            for node in c.names:
                vals = c.values(key, node=node, query="?r=3")
                check(f"{clock}: {how} stale delete: {key} through {node} reads [v2]",
                      vals == [b"v2"], vals)
        # 3. writers right after a delete
        a.put("c", b"v1")
        a.delete("c", context=a.get("c").context)
        acked: list[bytes] = []
        lock = threading.Lock()

        def writer(i: int) -> None:
            with vdynamo.connect([seeds[i % 3]]) as cl:
                value = f"w{i}".encode()
                try:
                    cl.put("c", value)
                except vdynamo.RequestRefusedError as err:
                    print(f"{clock}: w{i} refused: {err}")
                    return
                with lock:
                    acked.append(value)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for node in c.names:
            vals = c.values("c", node=node, query="?r=3")
            check(f"{clock}: {len(acked)} writers after a delete all kept through {node}",
                  sorted(vals) == sorted(acked) and len(acked) == 12, sorted(vals))
        a.delete("c", context=a.get("c", r=3).context)
        for node in c.names:
            vals = c.values("c", node=node, query="?r=3")
            check(f"{clock}: c deleted through {node}", vals == [], vals)
        run = subprocess.run([*cli, "get", "c", *node_args], capture_output=True, timeout=30)
        check(f"{clock}: CLI get of deleted c exits 1", run.returncode == 1, run)
        # 4. stale put across delete + re-create
        a.put("d", b"v1")
        c1 = a.get("d").context
        b.delete("d", context=b.get("d").context)
        b.put("d", b"v3")
        a.put("d", b"v4", context=c1)
        for node in c.names:
            vals = sorted(c.values("d", node=node, query="?r=3"))
            check(f"{clock}: d through {node} reads v3 and v4", vals == [b"v3", b"v4"], vals)
        a.close()
        b.close()
check.finish()
