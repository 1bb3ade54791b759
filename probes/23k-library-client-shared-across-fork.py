"""The client library's blocking client made before a ``fork`` and used on both
sides of it (gunicorn ``--preload``, a Celery or uWSGI prefork worker, a
``multiprocessing.Pool`` with Linux's default ``fork`` start method in Python
3.11-3.13: a module-level ``db = vdynamo.connect(...)`` that the parent already used
at import, e.g. to read a setting). redis-py (its pools check ``os.getpid()``) and
pymongo ("MongoClient opened before fork", PYTHON-961) hit this: the children inherit
the parent's kept-alive sockets, two processes then write requests into one TCP
connection and read each other's answers. 21g and 12f share a client between threads
of one process; no probe forks.

Real processes (`vdynamo serve --all`), 3 nodes, defaults. The parent connects, puts
8 keys ``k0..k7`` (each value names its key) and reads each (so every node's pool
keeps connections open), then forks 4 children; the parent and every child each make
60 calls at once: a get of a key of its own (checked against its value), and a put of
a fresh key ``c<i>-<j>`` with a value naming that key.

Then the same with the asyncio client: the parent's ``asyncio.run`` puts and reads
the keys, 4 children each run 30 gets and puts in an event loop of their own (a
uvicorn worker forked by gunicorn ``--preload`` runs its own loop).

Right value: every call succeeds (every node is up), every get answers its own key's
value, and afterwards (a fresh client, r=3) every acknowledged put holds exactly the
value its process put.

Found (session 60): 14 calls failed with crossed answers ("an answer for the key
b'c4-4', not b'c0-9'") and ``c1-0`` held ``GET /kv/k4 HTTP/1.1 ...``, acknowledged;
the asyncio children's every call raised LocalError "used in another event loop".
Fixed: ``Client.forked`` / ``AsyncClient.forked`` (impl/http_client.py, run in every
child by ``os.register_at_fork``; tests/vdynamo/test_client_fork.py).

Run from the project's root: .venv/bin/python probes/23k-library-client-shared-across-fork.py
"""
import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes

import vdynamo

CHILDREN, CALLS = 4, 60


def work(db: vdynamo.Client | vdynamo.AsyncClient, me: int, calls: int = CALLS,
         prefix: str = "c") -> dict[str, object]:
    """``calls`` gets and puts (the asyncio client's in one event loop of this
    process); the wrong answers, the errors and the acknowledged keys."""
    loop = asyncio.new_event_loop() if isinstance(db, vdynamo.AsyncClient) else None

    def done(result: object) -> object:
        return loop.run_until_complete(result) if loop else result  # type: ignore[arg-type]

    wrong, errors, acked = [], [], []
    for j in range(calls):
        key = f"k{(me + j) % 8}"
        try:
            got = done(db.get(key)).values  # type: ignore[attr-defined]
            if got != [f"value-of-{key}".encode()]:
                wrong.append((key, [v[:40].decode(errors="replace") for v in got]))
        except Exception as err:  # counted: the right value is none
            errors.append(f"get {key}: {type(err).__name__}: {str(err)[:120]}")
        mine = f"{prefix}{me}-{j}"
        try:
            done(db.put(mine, f"value-of-{mine}".encode() * 3))
            acked.append(mine)
        except Exception as err:
            errors.append(f"put {mine}: {type(err).__name__}: {str(err)[:120]}")
    if loop:
        loop.close()
    return {"wrong": wrong, "errors": errors, "acked": acked}


def forked(run: object) -> tuple[int, int]:
    """Fork a child that runs ``run()`` (a report) and writes it on a pipe; (pid, fd)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            report = run()  # type: ignore[operator]
        except BaseException as err:
            report = {"wrong": [], "errors": [repr(err)], "acked": []}
        os.write(write_end, json.dumps(report).encode())
        os._exit(0)
    os.close(write_end)
    return pid, read_end


def collect(pid: int, read_end: int) -> dict[str, object]:
    data = b""
    while chunk := os.read(read_end, 1 << 16):
        data += chunk
    os.close(read_end)
    os.waitpid(pid, 0)
    return json.loads(data or b'{"wrong": [], "errors": ["no report"], "acked": []}')


def judge(who: str, report: dict[str, object], fresh: vdynamo.Client) -> None:
    check(f"{who}: every get answered its own key's value", not report["wrong"],
          f"{len(report['wrong'])} wrong, e.g. {report['wrong'][:3]}")
    check(f"{who}: every call succeeded (every node up)", not report["errors"],
          f"{len(report['errors'])} errors, e.g. {report['errors'][:3]}")
    bad = []
    for key in report["acked"]:
        got = fresh.get(key, r=3).values
        if got != [f"value-of-{key}".encode() * 3]:
            bad.append((key, [v[:60] for v in got]))
    check(f"{who}: every acknowledged put holds its own value at r=3", not bad,
          f"{len(bad)} of {len(report['acked'])}, e.g. {bad[:3]}")


check = Checks()
with LocalNodes(nodes=3) as cluster:
    nodes = [f"127.0.0.1:{cluster.http[name]}" for name in cluster.names]
    db = vdynamo.connect(nodes)
    for i in range(8):
        db.put(f"k{i}", f"value-of-k{i}".encode())
    for i in range(8):
        db.get(f"k{i}")
    children = [forked(lambda me=me: work(db, me)) for me in range(1, CHILDREN + 1)]
    started = time.monotonic()
    reports = {0: work(db, 0)}
    reports.update({me: collect(pid, fd) for me, (pid, fd) in enumerate(children, start=1)})
    print(f"parent and {CHILDREN} children: {time.monotonic() - started:.1f} s")
    db.close()
    with vdynamo.connect(nodes) as fresh:
        for me, report in reports.items():
            judge("parent" if me == 0 else f"child {me}", report, fresh)
    adb = vdynamo.connect_async(nodes)

    async def warm() -> None:
        for i in range(8):
            await adb.get(f"k{i}")

    asyncio.run(warm())
    children = [forked(lambda me=me: work(adb, me, CALLS // 2, "a"))
                for me in range(1, CHILDREN + 1)]
    reports = {me: collect(pid, fd) for me, (pid, fd) in enumerate(children, start=1)}
    asyncio.run(adb.aclose())
    with vdynamo.connect(nodes) as fresh:
        for me, report in reports.items():
            judge(f"async child {me}", report, fresh)
check.finish()
