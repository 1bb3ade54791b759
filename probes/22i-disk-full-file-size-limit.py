"""A replica whose disk fills while it runs (Cassandra's and Riak's "disk full" reports:
a node that keeps acknowledging writes it could not store, or crashes in a loop,
or floods its log with one error per write), made on one machine with the
process's file-size limit (RLIMIT_FSIZE, `ulimit -f`): writes past it fail with
EFBIG as on a full disk, while reads of what is stored keep working.

Real processes (`serve --node`), 3 nodes, N=3 R=2 W=2, dvv. 5 keys at w=3; n2 is
SIGKILLed and started again with a file-size limit 300 KB over its largest data
file. 40 rounds, 20 KB random values: a put at w=2 through n1, one at w=3 through
n1, one at w=3 through n2 (coordinated by the node whose disk is full).
Then n2 is SIGKILLed, started without the limit, and n1 and n3 SIGKILLed.
Right value: once n2's writes fail, no w=3 put is acknowledged (each is refused, a
clear 5xx, never a 200 counting n2's failed write); every w=2 put through n1 is
acknowledged (n1 and n3 hold it); n2 stays up, answers reads of the first keys at
r=1 throughout, and logs less than 300 lines; after its restart n2 alone (r=1)
holds every w=3 put that was acknowledged, and the first 5 keys.

Run from the project's root: .venv/bin/python probes/22i-disk-full-file-size-limit.py
"""
import glob
import os
import resource
import sys
import time
from collections import Counter

from _cluster import LocalNodes

bad: list[str] = []


def check(what: str, ok: bool, seen: object = "") -> None:
    if not ok:
        print(f"FAIL {what}: {str(seen)[:300]}")
        bad.append(what)


with LocalNodes(nodes=3, per_process=True) as cluster:
    for i in range(5):
        assert cluster.put(f"k{i}", b"v%d" % i, query="?w=3") == 200
    cluster.kill("n2")
    limit = max(os.path.getsize(f) for f in glob.glob(str(cluster.dir / "n2.sqlite*"))) + 300_000

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    n2 = cluster.start_node("n2", preexec_fn=limited)
    cluster.wait_ready()
    time.sleep(2)
    lines_before = len((cluster.dir / "n2.log").read_text(errors="replace").splitlines())
    value = os.urandom(20_000)
    outcomes: Counter[tuple[int, int, int]] = Counter()
    acked3: list[str] = []
    for i in range(40):
        w2 = cluster.put(f"w2-{i}", value, query="?w=2")
        w3 = cluster.put(f"w3-{i}", value, query="?w=3")
        via2 = cluster.put(f"via2-{i}", value, node="n2", query="?w=3")
        outcomes[(w2, w3, via2)] += 1
        acked3 += [f"w3-{i}"] * (w3 == 200) + [f"via2-{i}"] * (via2 == 200)
        check(f"round {i}: the w=2 put through n1", w2 == 200, w2)
        check(f"round {i}: each w=3 put 200 or a 5xx", {w3, via2} <= {200, 503, 504, 507},
              (w3, via2))
    print(f"(w=2 via n1, w=3 via n1, w=3 via n2): {dict(outcomes)}")
    check("n2's writes failed at all (the limit bit)", len(acked3) < 80, len(acked3))
    check("n2 is still running", n2.poll() is None, n2.poll())
    reads = [cluster.request("GET", f"k{i}", node="n2", query="?r=1")[0] for i in range(5)]
    check("n2 answers reads at r=1", reads == [200] * 5, reads)
    log_text = (cluster.dir / "n2.log").read_text(errors="replace")
    added = len(log_text.splitlines()) - lines_before
    print(f"n2 logged {added} lines; last: {log_text.strip().splitlines()[-1][:300]}")
    check("n2's log stays small", added < 300, added)
    check("no traceback in n2's log", "Traceback" not in log_text)
    cluster.kill("n2")
    cluster.start("n2")
    time.sleep(2)
    cluster.kill("n1")
    cluster.kill("n3")
    missing = cluster.missing_alone("n2", [*acked3, *(f"k{i}" for i in range(5))])
    print(f"{len(acked3)} w=3 puts acknowledged; missing on n2 alone after its restart: {missing}")
    check("every acknowledged w=3 put is on n2", not missing, missing)
if bad:
    print(f"FAIL: {len(bad)} checks failed")
    sys.exit(1)
print("PASS")
