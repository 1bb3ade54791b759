"""A context from a cluster that was wiped and recreated from the same cluster file
(an operator's "reset the staging cluster": every node stopped, every data
directory removed, the same cluster.toml started again; its secret and name are
the same, so a context issued before still authenticates). A long-lived app
server's library client and a script's saved CLI context then write with contexts
issued by the old cluster (Riak's kv679 in its whole-cluster form: vnode ids
re-issued; etcd's revision numbers restarting at 1 after a new cluster).

3 processes (`serve --node`), N=3 R=2 W=2, each clock mode given (default dvv and
client-vclock: the modes that keep concurrent writes; in server-vclock a put with a
stale context through the coordinator that holds ``fresh`` supersedes it without any
wipe, the paper's same-coordinator loss, documented: run with ``server-vclock`` it
prints that FAIL, seen the same without the wipe). Before the wipe: ``k``
read-modify-written 30 times through the old library client ``a`` (its context
C30, counters near 30), ``d`` written 30 times (context D). The wipe; the cluster
started again. Then: a new client ``b`` writes ``k`` = ``fresh`` and ``d`` =
``keep`` (blind, new cluster);
``a`` (the same object, never closed) puts ``k`` = ``stale`` with C30, and deletes
``d`` with D; the CLI puts ``k2`` ... (``k2`` = ``fresh2`` by b, then the CLI's put
of ``old2`` with a context of the old k2).

Right value: the new cluster's acknowledged writes are never superseded by a
context that never saw them: ``k`` reads both ``fresh`` and ``stale`` (siblings) at
r=3, ``d`` reads ``keep`` (the old delete covers nothing of the new cluster), ``k2``
reads ``fresh2`` and ``old2``. A refusal of the old context (4xx, naming it) is
right too, provided ``fresh``, ``keep``, ``fresh2`` are kept.

Seen (session 61): PASS, 12 s; dvv and client-vclock: the lifetime actors drawn at
each start make the old context cover none of the new cluster's dots: k [fresh,
stale], d [keep], k2 [fresh2, old2].

Run from the project's root:
    .venv/bin/python probes/12p-whole-cluster-wiped-and-recreated-old-contexts.py [MODES]
"""
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vdynamo
from _cluster import Checks, LocalNodes, vdynamo_command
from impl.errors import DynamoError


def wipe(c: LocalNodes) -> None:
    c.stop()
    for entry in c.dir.iterdir():
        if entry.name == "cluster.toml" or entry.suffix == ".log":
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for name in c.names:
        c.start_node(name)
    c.wait_ready()


def settle(db: vdynamo.Client) -> None:
    for _ in range(50):
        try:
            db.put("warm", b"x", w=3)
            return
        except DynamoError:
            time.sleep(0.2)


def run(clock: str, check: Checks) -> None:
    c = LocalNodes(nodes=3, per_process=True, extra_cluster=f'clock = "{clock}"')
    try:
        for name in c.names:
            c.start_node(name)
        c.wait_ready()
        seeds = [f"127.0.0.1:{c.http[name]}" for name in c.names]
        a = vdynamo.connect(seeds)
        settle(a)
        ctx = None
        for i in range(30):
            ctx = a.put("k", f"v{i}".encode(), context=ctx, w=3)
            dctx = a.put("d", f"d{i}".encode(), context=(a.get("d").context if i else None), w=3)
        ctx_k2 = a.put("k2", b"old-k2", w=3)
        old_k = ctx
        old_d = a.get("d", r=3).context
        wipe(c)
        b = vdynamo.connect(seeds)
        settle(b)
        b.put("k", b"fresh", w=3)
        b.put("d", b"keep", w=3)
        b.put("k2", b"fresh2", w=3)
        outcome = []
        try:
            a.put("k", b"stale", context=old_k, w=3)
            outcome.append("put taken")
        except DynamoError as err:
            outcome.append(f"put refused {type(err).__name__}: {err}")
        try:
            a.delete("d", context=old_d, w=3)
            outcome.append("delete taken")
        except DynamoError as err:
            outcome.append(f"delete refused {type(err).__name__}: {err}")
        cli = subprocess.run([*vdynamo_command(), "put", "k2", "old2", "--context", ctx_k2,
                              "--w", "3", *[arg for s in seeds for arg in ("--node", s)]],
                             capture_output=True, text=True, timeout=60)
        outcome.append(f"cli rc={cli.returncode} {cli.stderr.strip()[:120]}")
        k = sorted(b.get("k", r=3).values)
        d = sorted(b.get("d", r=3).values)
        k2 = sorted(b.get("k2", r=3).values)
        check(f"{clock}: k keeps the new cluster's fresh ({outcome[0]})", b"fresh" in k, k)
        check(f"{clock}: d keeps keep ({outcome[1]})", d == [b"keep"], d)
        check(f"{clock}: k2 keeps fresh2 ({outcome[2]})", b"fresh2" in k2, k2)
        print(f"{clock}: k={k} d={d} k2={k2}; {outcome}; old context {len(old_k)} chars, "
              f"dctx {len(dctx)}")
        a.close()
        b.close()
    finally:
        c.__exit__()


if __name__ == "__main__":
    checks = Checks()
    for mode in sys.argv[1:] or ("dvv", "client-vclock"):
        run(mode, checks)
    checks.finish()
