"""Deletes and puts from many threads sharing *one* Python client (a new user
shares a client as they would an HTTP session; the public case and 12a-12e use one
client per actor), while a node is killed and restarted mid-run (the client's
node list, suspicions and learned ring change under the threads).

3 processes, N=3 R=2 W=2. 12 threads share one `vdynamo.connect` client; each
owns two keys and loops for 20 s: put v(i) with the last context, get, delete
with the get's context, get (must be empty), put again blind; a 13th thread
puts blind to a shared key "hot" and deletes it without a context. After 5 s n3
is SIGKILLed, after 12 s it starts again.
Right value: every call either succeeds or raises a DynamoError subclass (never
another exception: a RuntimeError from a dict changed by another thread, a
KeyError, an httpx error); every get right after an acknowledged delete of the
thread's own key reads nothing, and every get right after an acknowledged put
reads that put's value (the thread is the key's only writer); at the end each
key reads its last acknowledged state at r=3.

Run from the project's root: .venv/bin/python probes/12f-shared-client-threads-delete-put-node-killed.py
"""
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

RUN = 20.0
problems: list[str] = []
lock = threading.Lock()


def note(text: str) -> None:
    with lock:
        problems.append(text)
        print("FAIL", text, flush=True)


with LocalNodes(nodes=3, per_process=True) as cluster:
    import vdynamo
    db = vdynamo.connect([f"127.0.0.1:{cluster.http[n]}" for n in cluster.names])
    final: dict[str, bytes | None] = {}
    stop = time.time() + RUN
    counts = {"ok": 0, "dynamo": 0}

    def call(what: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            out = fn(*args, **kwargs)
            with lock:
                counts["ok"] += 1
            return True, out
        except vdynamo.DynamoError as err:
            with lock:
                counts["dynamo"] += 1
            return False, err
        except Exception:  # noqa: BLE001
            note(f"{what}: not a DynamoError: {traceback.format_exc(limit=3)[-600:]}")
            return False, None

    def owner(t: int) -> None:
        keys = [f"t{t}-a", f"t{t}-b"]
        ctx = {k: None for k in keys}
        i = 0
        while time.time() < stop:
            for k in keys:
                i += 1
                value = b"v%d" % i
                ok, out = call("put", db.put, k, value, context=ctx[k])
                if ok:
                    final[k], ctx[k] = value, out
                    ok, got = call("get", db.get, k)
                    if ok and list(got.values) != [value]:
                        note(f"{k}: get after put {value!r} read {list(got.values)[:3]}")
                    if ok:
                        ctx[k] = got.context
                        ok, out = call("delete", db.delete, k, context=got.context)
                        if ok:
                            final[k], ctx[k] = None, out
                            ok, got = call("get", db.get, k)
                            if ok and list(got.values):
                                note(f"{k}: get after delete read {list(got.values)[:3]}")
                            if ok:
                                ctx[k] = got.context
                else:
                    ctx[k] = None  # outcome unknown: read again next time
                    ok, got = call("get", db.get, k)
                    if ok:
                        ctx[k] = got.context
                        final[k] = got.values[0] if len(got.values) == 1 else final.get(k)

    def hot() -> None:
        n = 0
        while time.time() < stop:
            n += 1
            call("hot put", db.put, "hot", b"h%d" % n)
            call("hot delete", db.delete, "hot")

    threads = [threading.Thread(target=owner, args=(t,)) for t in range(12)]
    threads.append(threading.Thread(target=hot))
    for t in threads:
        t.start()
    time.sleep(5)
    proc = cluster.procs.pop("n3")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    time.sleep(7)
    cluster.start("n3")
    for t in threads:
        t.join(60)
    time.sleep(2)
    wrong = {}
    for k, v in final.items():
        ok, got = call("final get", db.get, k, r=3)
        want = [] if v is None else [v]
        if ok and list(got.values) != want:
            wrong[k] = (list(got.values)[:3], want)
    print(f"calls: {counts['ok']} succeeded, {counts['dynamo']} raised a DynamoError; "
          f"{len(final)} keys checked at r=3, {len(wrong)} wrong {dict(list(wrong.items())[:3])}")
    db.close()
    if wrong:
        problems.append("final state")
if problems:
    print(f"FAIL: {len(problems)} problems")
    sys.exit(1)
print("PASS")
