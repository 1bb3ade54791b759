"""Clock growth from *worker churn*: a prefork server (gunicorn ``--preload --max-requests``,
Celery's ``worker_max_tasks_per_child``) whose one module-level client is inherited by
each new worker process, which serves a few requests and is replaced. Each worker is a
new client id since session 60 (``Client.forked``: a forked child is another client),
so a hot key read-modify-written by a stream of short-lived workers meets one new
client per worker (Riak's "vclock growth with client-id churn": riak_kv's
``vclock`` pruning was made for exactly this). 05a-05k make the clients in one
process; 23k forks but checks answers, not the clock.

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, dvv and client-vclock.
The parent connects and reads ``cart``; then 80 workers in turn (fork, 1 read-modify-
write adding the item ``w<i>`` through the inherited client, exit), then 8 at once
(each 3 read-modify-writes, merging the siblings it reads).

Right value: every worker's put answers 200 (the key never refuses a context it
issued); after the sequential run ``cart`` is one value holding its 81 items; after
the concurrent run one read-merge-write leaves one value holding all 105 items; the
context stays bounded (client-vclock: at most ``vclock_max_pairs`` = 50 pairs, about
3 KB; printed).

Seen (session 60, after the fork fix): PASS; context 60 characters after the 80 in dvv,
480 after the concurrent run; 3,028 in client-vclock (its 50 pairs) after both.

Run from the project's root:
    .venv/bin/python probes/05l-prefork-worker-churn-read-modify-writes.py [MODE...]
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes

import vdynamo

MODES = sys.argv[1:] or ["dvv", "client-vclock"]
check = Checks()


def items(values: list[bytes]) -> set[bytes]:
    return {i for v in values for i in v.split(b",") if i}


def rmw(db: vdynamo.Client, item: str) -> bool:
    """One read-modify-write adding ``item``; whether the put was taken."""
    got = db.get("cart")
    merged = b",".join(sorted(items(got.values) | {item.encode()}))
    try:
        db.put("cart", merged, context=got.context)
        return True
    except vdynamo.NoNodeError:
        return False
    except Exception:  # a refusal: the right value is none
        return False


def worker(db: vdynamo.Client, items_: list[str]) -> int:
    """Fork a worker making one read-modify-write per item; its pid."""
    pid = os.fork()
    if pid == 0:
        ok = all([rmw(db, item) for item in items_])
        os._exit(0 if ok else 1)
    return pid


for mode in MODES:
    with LocalNodes(nodes=3, extra_cluster=f'clock = "{mode}"') as cluster:
        nodes = [f"127.0.0.1:{cluster.http[name]}" for name in cluster.names]
        db = vdynamo.connect(nodes)
        db.put("cart", b"start")
        db.get("cart")
        failed = 0
        for i in range(80):
            _, status = os.waitpid(worker(db, [f"w{i}"]), 0)
            failed += status != 0
        got = db.get("cart", r=3)
        want = {b"start"} | {f"w{i}".encode() for i in range(80)}
        check(f"{mode}: 80 workers in turn, every put taken", failed == 0, failed)
        check(f"{mode}: one value with the 81 items", len(got.values) == 1
              and items(got.values) == want, (len(got.values), len(items(got.values))))
        sequential = len(got.context)
        pids = [worker(db, [f"c{j}-{k}" for k in range(3)]) for j in range(8)]
        failed = sum(os.waitpid(pid, 0)[1] != 0 for pid in pids)
        print(f"{mode}: {failed} of 8 concurrent workers had a put refused")
        got = db.get("cart", r=3)
        merged = b",".join(sorted(items(got.values)))
        db.put("cart", merged, context=got.context)
        got = db.get("cart", r=3)
        want |= {f"c{j}-{k}".encode() for j in range(8) for k in range(3)}
        check(f"{mode}: after the concurrent workers and one merge, one value, 105 items",
              len(got.values) == 1 and items(got.values) == want,
              (len(got.values), len(items(got.values)), sorted(want - items(got.values))[:5]))
        print(f"{mode}: context {sequential} characters after the 80, "
              f"{len(got.context)} at the end")
        check(f"{mode}: the context stays under 4,500 characters", len(got.context) < 4500,
              len(got.context))
        db.close()
check.finish()
