"""Deletes through the client library (blocking and asyncio) with contexts that are
not the key's own, and a delete then re-create at R=W=1 while the replica holding the
old value is away (Riak's "deleted keys come back" with `r=1, w=1` and a paused
vnode; etcd's delete with a stale revision). 20e/20g send foreign contexts by raw
HTTP and the CLI; 12e-12f delete through the library with the key's own contexts.

Real processes (`vdynamo serve --node`), 3 nodes, N=3 R=2 W=2, each clock mode
given (default dvv and lww). Steps:

1. `delete("a", context=<b's context>)` (blocking, then asyncio): RequestRefusedError,
   `a` still [va] at r=3.
2. `delete("a", context=<a context of another cluster's a>)` (a one-node cluster of
   another secret): RequestRefusedError, `a` unchanged.
3. `delete("c", context=<the context put("c") returned>)`: deleted, `c` reads
   nothing at r=3; `delete("c", missing_ok=False)` then raises RequestRefusedError
   (only a tombstone left) and `delete("c")` returns a context that a put supersedes
   the tombstone with: `c` reads [vc2] alone.
4. A tombstone beside a blind put's value (a delete, then a blind put): a get with a
   resolve hook returns that one value, the hook never called (a tombstone is not a
   sibling to merge); the asyncio client's hook raising on a key of two real
   siblings raises the hook's own error, nothing written (the two still there).
5. `z` = old at w=3; its third replica SIGSTOPped; delete at w=1 (the node reads at
   r=1 first), then a blind put of `new` at w=1; SIGCONT; 6 s later `z` reads [new]
   at r=1 and r=3 through every node (never `old`).
6. The same with the replica SIGKILLed, `tombstone_grace_s = 0.5`, 4 s (8 graces)
   before its restart: [new] at r=1 through it and at r=3 everywhere, 6 s after.

Run from the project's root:
    .venv/bin/python probes/12l-library-deletes-foreign-contexts-and-recreate-r1w1.py [MODES]
"""
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vdynamo
from _cluster import Checks, LocalNodes

check = Checks()
MODES = sys.argv[1:] or ["dvv", "lww"]


def refused(fn, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    try:
        fn(*args, **kwargs)
    except vdynamo.RequestRefusedError as err:
        return f"refused: {str(err)[:100]}"
    except Exception as err:  # noqa: BLE001 - reported
        return f"{type(err).__name__}: {str(err)[:100]}"
    return "accepted"


def everywhere(c: LocalNodes, key: str, want: list[bytes], what: str,
               query: str = "?r=3", nodes: list[str] | None = None) -> None:
    for name in nodes or c.names:
        got = sorted(c.values(key, node=name, query=query))
        check(f"{what}: {key} through {name} {query}", got == sorted(want), got)


def owners(db: vdynamo.Client, c: LocalNodes, key: str) -> list[str]:
    db.get(key)
    ports = [int(u.rstrip("/").rsplit(":", 1)[1]) for u in db.router.candidates(key)]
    by_port = {p: n for n, p in c.http.items()}
    return [by_port[p] for p in ports if p in by_port]


for mode in MODES:
    with LocalNodes(nodes=3, per_process=True,
                    extra_cluster=f'clock = "{mode}"\ntombstone_grace_s = 0.5') as c, \
            LocalNodes(nodes=1, n=1, r=1, w=1) as other:
        seeds = [f"127.0.0.1:{c.http[n]}" for n in c.names]
        calls = [0]

        def counting(values: list[bytes]) -> bytes:
            calls[0] += 1
            return b"|".join(sorted(values))

        with vdynamo.connect(seeds) as db, vdynamo.connect(seeds, resolve=counting) as rdb:
            # 1. another key's context
            db.put("a", b"va")
            db.put("b", b"vb")
            ctx_b = db.get("b").context
            seen = refused(db.delete, "a", context=ctx_b)
            check(f"{mode} 1: delete a with b's context refused", seen.startswith("refused"), seen)

            async def async_delete(context: str) -> str:
                async with vdynamo.connect_async(seeds) as adb:
                    try:
                        await adb.delete("a", context=context)
                    except vdynamo.RequestRefusedError as err:
                        return f"refused: {str(err)[:100]}"
                    except Exception as err:  # noqa: BLE001
                        return f"{type(err).__name__}: {str(err)[:100]}"
                    return "accepted"

            seen = asyncio.run(async_delete(ctx_b))
            check(f"{mode} 1: async delete a with b's context refused",
                  seen.startswith("refused"), seen)
            everywhere(c, "a", [b"va"], f"{mode} 1")

            # 2. another cluster's context of the same key
            with vdynamo.connect([f"127.0.0.1:{other.http['n1']}"]) as odb:
                odb.put("a", b"other")
                foreign = odb.get("a").context
            seen = refused(db.delete, "a", context=foreign)
            check(f"{mode} 2: delete with another cluster's context refused",
                  seen.startswith("refused"), seen)
            everywhere(c, "a", [b"va"], f"{mode} 2")

            # 3. a put's own returned context
            ctx_c = db.put("c", b"vc")
            db.delete("c", context=ctx_c)
            everywhere(c, "c", [], f"{mode} 3 deleted")
            seen = refused(db.delete, "c", missing_ok=False)
            check(f"{mode} 3: delete(missing_ok=False) of a tombstone refused",
                  seen.startswith("refused"), seen)
            ctx_c2 = db.delete("c")
            db.put("c", b"vc2", context=ctx_c2)
            everywhere(c, "c", [b"vc2"], f"{mode} 3 re-created")

            # 4. a tombstone beside a value; the async hook raising
            db.put("t", b"t1")
            db.delete("t", context=db.get("t").context)
            db.put("t", b"t2")
            calls[0] = 0
            got = rdb.get("t")
            check(f"{mode} 4: tombstone + value: one value, the hook not called",
                  got.values == [b"t2"] and calls[0] == 0, (got.values, calls[0]))
            if mode != "lww":
                db.put("s", b"s1")
                db.put("s", b"s2")

                def boom(values: list[bytes]) -> bytes:
                    raise KeyError("the hook's own error")

                async def hook_raises() -> str:
                    async with vdynamo.connect_async(seeds, resolve=boom) as adb:
                        try:
                            await adb.get("s")
                        except KeyError:
                            return "KeyError"
                        except Exception as err:  # noqa: BLE001
                            return f"{type(err).__name__}: {str(err)[:100]}"
                        return "no error"

                seen = asyncio.run(hook_raises())
                check(f"{mode} 4: the async hook's own error raised", seen == "KeyError", seen)
                everywhere(c, "s", [b"s1", b"s2"], f"{mode} 4 nothing written")

            # 5. delete + re-create at w=1 while the third replica is paused
            db.put("z", b"old", w=3)
            third = owners(db, c, "z")[-1]
            pid = c.procs[third].pid
            os.kill(pid, signal.SIGSTOP)
            try:
                db.delete("z", w=1, r=1)
                db.put("z", b"new", w=1)
            finally:
                os.kill(pid, signal.SIGCONT)
            time.sleep(6.0)
            everywhere(c, "z", [b"new"], f"{mode} 5", query="?r=1")
            everywhere(c, "z", [b"new"], f"{mode} 5")

            # 6. the same with the replica killed past many graces
            db.put("y", b"old", w=3)
            third = owners(db, c, "y")[-1]
            c.kill(third)
            db.delete("y", w=1, r=1)
            db.put("y", b"new", w=1)
            time.sleep(4.0)
            c.start_node(third)
            time.sleep(6.0)
            everywhere(c, "y", [b"new"], f"{mode} 6", query="?r=1", nodes=[third])
            everywhere(c, "y", [b"new"], f"{mode} 6")
        print(f"{mode}: done", flush=True)
check.finish()
