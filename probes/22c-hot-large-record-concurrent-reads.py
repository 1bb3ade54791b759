"""A hot key whose record is as large as the cluster allows, read by many clients
at once (Riak's large-object warnings: each get of a big object copies it from N
vnodes into the coordinator, and a burst of them ran nodes out of memory; the
"poison key" a hot dashboard polls).

3 processes, N=3 R=2 W=2, default limits. One key holds 4 siblings of 1 MiB less
64 bytes (the largest record, `max_record_bytes` 4 MiB). 8 threads (the first
argument: READERS) each GET it at r=3 through a random node, over and over, for
15 s, while another client writes small keys at w=3 and reads them back.
Right value: every node stays up; every small write and read succeeds (none slower
than its 15 s timeout); the hot GETs answer 300 with the 4 siblings (or a clear
503 when the node sheds load); the nodes' resident memory stays bounded (printed).

Run from the project's root: .venv/bin/python probes/22c-hot-large-record-concurrent-reads.py
(about 100 MB per node). With 16 or 40 readers the nodes are saturated (about 20
hot GETs a second here, each gathering 12 MiB): the small requests then wait their
turn up to retry_after_s and some are refused 503 OverloadedError "retry after 1 s"
(max_pending_bytes, 1.33 MiB by default, is below one such record), and the probe
prints FAIL: load shed by design, not a wedge (docs/runtime.md, session 51).
"""
import os
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes  # noqa: E402


READERS = int(sys.argv[1]) if len(sys.argv) > 1 else 8


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


with LocalNodes(nodes=3, per_process=True) as c:
    codes = [c.request("PUT", "hot", os.urandom(1024 * 1024 - 64), "n1",
                       headers={"Content-Type": "application/octet-stream",
                                "X-Vdynamo-Client": f"w{i}"}, timeout=30)[0] for i in range(4)]
    print("hot puts:", codes)
    stop = time.time() + 15
    hot: dict[object, int] = {}
    lock = threading.Lock()

    def reader(seed: int) -> None:
        rnd = random.Random(seed)
        while time.time() < stop:
            try:
                status, _, body = c.request("GET", "hot", node=rnd.choice(c.names), query="?r=3",
                                            headers={"Accept": "*/*"}, timeout=30)
                key: object = (status, body.count(b"Content-Type") if status == 300 else 0)
            except Exception as err:  # noqa: BLE001
                key = type(err).__name__
            with lock:
                hot[key] = hot.get(key, 0) + 1

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    for t in threads:
        t.start()
    small_fail, slowest, peak = 0, 0.0, {n: 0.0 for n in c.names}
    i = 0
    while time.time() < stop:
        t0 = time.time()
        status, _, body = c.request("PUT", f"small{i}", b"v", "n1", "?w=3",
                                    {"Content-Type": "application/octet-stream"})
        ok = status == 200
        if ok:
            status, _, body = c.request("GET", f"small{i}", node="n1", headers={"Accept": "*/*"})
            ok = status == 200 and body == b"v"
        if not ok and small_fail < 3:
            print(f"small pair {i}: {status} {body[:240]!r}")
        slowest = max(slowest, time.time() - t0)
        small_fail += not ok
        for n in c.names:
            peak[n] = max(peak[n], rss_mb(c.procs[n].pid))
        i += 1
        time.sleep(0.2)
    for t in threads:
        t.join(60)
    alive = [n for n in c.names if c.procs[n].poll() is None]
    print(f"hot GETs (status, parts): {hot}")
    print(f"small write+read pairs: {i}, failed {small_fail}, slowest {slowest:.2f} s; "
          f"peak RSS MB {({n: round(v) for n, v in peak.items()})}; alive {alive}")
    good = all(k in ((300, 4), (503, 0)) for k in hot)
    if small_fail or len(alive) != 3 or not good or not hot.get((300, 4)):
        print("FAIL: concurrent reads of a large record broke the node or other clients")
        sys.exit(1)
    print("PASS")
