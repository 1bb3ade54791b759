"""A replica whose disk fills and is then freed *while it runs* (22i restarts the node
to lift the limit): the operator deletes old logs or snapshots and expects the node to
take writes again without a restart (Cassandra's commitlog "No space left on device"
followed by a cleanup; Riak's leveldb "disk full" write stall that ends when space is
back). Made on one machine with the process's file-size limit (RLIMIT_FSIZE, as
`ulimit -f`; EFBIG as on a full disk), lifted on the running process with
prlimit(2) (`prlimit --pid PID --fsize=unlimited`).

Real processes (`serve --node`), 3 nodes, N=3 R=2 W=2, dvv. 5 keys at w=3; n2
SIGKILLed and started with a limit 100 KB over its largest data file. *Full*: 30
rounds of 20 KB values: a put at w=3 through n1, one at w=1 through n2 (the full
node coordinates). *Freed*: the limit lifted on n2's running process; 3 s later 15
rounds of the same puts plus a read-modify-write of `hot` through n2 at w=3 and a
delete through n2 at w=3. Then n2 SIGKILLed and started (no limit), n1 and n3
SIGKILLed.
Right value: while full, no w=3 put through n1 is acknowledged once n2's writes
fail, a w=1 put through n2 is acknowledged only if stored somewhere; once freed,
every put at w=3 (through n1 and n2), the read-modify-write and the delete are
acknowledged (at most the first round after the lift refused); after n2's restart
it alone (r=1) holds every w=3 put acknowledged, `hot` [h2], the deleted key
nothing; every w=1 put acknowledged through n2 is readable at r=3 with the three up.

Run from the project's root: .venv/bin/python probes/22j-disk-full-then-freed-while-running.py
"""
import glob
import os
import resource
import time
from collections import Counter

from _cluster import Checks, LocalNodes

check = Checks()


with LocalNodes(nodes=3, per_process=True, extra_cluster='clock = "dvv"') as cluster:
    for i in range(5):
        assert cluster.put(f"k{i}", b"v%d" % i, query="?w=3") == 200
    assert cluster.put("hot", b"h1", query="?w=3") == 200
    assert cluster.put("gone", b"g", query="?w=3") == 200
    cluster.kill("n2")
    limit = max(os.path.getsize(f) for f in glob.glob(str(cluster.dir / "n2.sqlite*"))) + 100_000

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    n2 = cluster.start_node("n2", preexec_fn=limited)
    time.sleep(2)
    value = os.urandom(20_000)
    full: Counter[tuple[int, int]] = Counter()
    acked3: list[str] = []
    acked1: list[str] = []
    for i in range(30):
        w3 = cluster.put(f"full3-{i}", value, query="?w=3")
        w1 = cluster.put(f"full1-{i}", value, node="n2", query="?w=1")
        full[(w3, w1)] += 1
        acked3 += [f"full3-{i}"] * (w3 == 200)
        acked1 += [f"full1-{i}"] * (w1 == 200)
    print(f"full (w=3 via n1, w=1 via n2): {dict(full)}")
    check("n2's writes failed at all (the limit bit)", full[(200, 200)] < 30, dict(full))
    check("n2 still running while full", n2.poll() is None, n2.poll())
    resource.prlimit(n2.pid, resource.RLIMIT_FSIZE,
                     (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    time.sleep(3)
    freed: Counter[tuple[int, int]] = Counter()
    for i in range(15):
        w3 = cluster.put(f"freed3-{i}", value, query="?w=3")
        via2 = cluster.put(f"freed2-{i}", value, node="n2", query="?w=3")
        freed[(w3, via2)] += 1
        acked3 += [f"freed3-{i}"] * (w3 == 200) + [f"freed2-{i}"] * (via2 == 200)
        check(f"freed round {i}: both w=3 puts acknowledged", i == 0 or (w3, via2) == (200, 200),
              (w3, via2))
    print(f"freed (w=3 via n1, w=3 via n2): {dict(freed)}")
    _, ctx = cluster.read("hot", node="n2", query="?r=3")
    hot = cluster.put("hot", b"h2", node="n2", context=ctx, query="?w=3")
    check("freed: read-modify-write of hot through n2 at w=3", hot == 200, hot)
    _, ctx = cluster.read("gone", node="n2", query="?r=3")
    gone = cluster.request("DELETE", "gone", node="n2", query="?w=3",
                           headers={"X-Vdynamo-Context": ctx or ""})[0]
    check("freed: delete through n2 at w=3", gone in (200, 204), gone)
    log_text = (cluster.dir / "n2.log").read_text(errors="replace")
    check("no traceback in n2's log", "Traceback" not in log_text, log_text[-400:])
    print(f"n2 logged {len(log_text.splitlines())} lines")
    cluster.kill("n2")
    cluster.start_node("n2")
    time.sleep(2)
    w1_reads = {key: cluster.values(key, query="?r=3") for key in acked1}
    lost1 = [key for key, got in w1_reads.items() if got != [value]]
    print(f"{len(acked1)} w=1 puts through n2 acknowledged while full; wrong at r=3: {lost1}")
    check("every w=1 put acknowledged through full n2 is kept", not lost1, lost1)
    cluster.kill("n1")
    cluster.kill("n3")
    missing = cluster.missing_alone("n2", [*acked3, *(f"k{i}" for i in range(5))])
    print(f"{len(acked3)} w=3 puts acknowledged; missing on n2 alone after its restart: {missing}")
    check("every acknowledged w=3 put is on n2", not missing, missing)
    got = cluster.values("hot", node="n2", query="?r=1"), cluster.values("gone", node="n2",
                                                                         query="?r=1")
    check("n2 alone: hot [h2], gone nothing", got == ([b"h2"], []) or hot != 200, got)
check.finish()
