"""A node whose wall clock is at an edge of the epoch rather than a few hours off
(03a-03f skew by hours): a dead RTC battery (1970-01-01 00:00:01, timestamps near
0), and started a few seconds before the signed 32-bit end (2038-01-19 03:14:07)
and the unsigned 32-bit end (2106-02-07 06:28:15), so that the run crosses them: Cassandra's "timestamps from the year 2106" and Riak's
vclock-timestamp reports after a clock reset. Made with libfaketime on n1 alone
(its monotonic clock left alone); a year past 9999 is not tried: Python itself
does not start there (logging's time.time() raises OverflowError at import).

Real processes (`serve --node`), 3 nodes, N=3 R=2 W=2, request_timeout 5 s (the
machine is loaded), lww and dvv. Through n1
(the odd clock): v1; a read through n2 and v2 with its context through n2; a read
through n1 and a delete with its context through n1; a read through n3 and v3
with its context through n3; `k2` blind through n1.
Right value: every put and delete 200; the reads at r=3 give [v1], [v2], [] and
[v3] (through n1 and n3); the Last-Modified and Date headers are HTTP-dates of
n1's clock; no traceback in any log. Skipped (exit 0, says so) where libfaketime
is not installed.

Run from the project's root: .venv/bin/python probes/03g-node-clock-at-the-epochs-edges.py
"""
import glob
import sys
import time
from pathlib import Path

from _cluster import FAKETIME_LIB, LocalNodes, faketime_env

if FAKETIME_LIB is None:
    print("SKIP: libfaketime not installed")
    sys.exit(0)
bad: list[str] = []


def check(what: str, ok: bool, seen: object = "") -> None:
    if not ok:
        print(f"FAIL {what}: {str(seen)[:300]}")
        bad.append(what)


for clock in ("lww", "dvv"):
    for when in ("@1970-01-01 00:00:01", "@2038-01-19 03:14:04", "@2106-02-07 06:28:12"):
        run = f"{clock} {when[1:11]}"
        cluster = LocalNodes(nodes=3, per_process=True,  # 5 s: a loaded machine's 504s
                             extra_cluster=f'clock = "{clock}"\nrequest_timeout = 5')
        try:
            for name in cluster.names:
                cluster.start_node(name, faketime_env(when) if name == "n1" else None, wait=False)
            cluster.wait_ready()
            time.sleep(2)
            check(f"{run}: v1 through n1", cluster.put("k", b"v1", node="n1") == 200)
            status, headers, _ = cluster.request("GET", "k", node="n1", query="?r=3",
                                                 headers={"Accept": "*/*"})
            dates = {k.lower(): v for k, v in headers.items() if k.lower() in ("date",
                                                                               "last-modified")}
            year = when[1:5]
            check(f"{run}: Date and Last-Modified in {year}",
                  status == 200 and all(year in v for v in dates.values()) and len(dates) == 2,
                  (status, dates))
            values, context = cluster.read("k", node="n2", query="?r=3")
            check(f"{run}: [v1] through n2", values == [b"v1"], values)
            check(f"{run}: v2 through n2",
                  cluster.put("k", b"v2", node="n2", context=context) == 200)
            values, context = cluster.read("k", node="n1", query="?r=3")
            check(f"{run}: [v2] through n1", values == [b"v2"], values)
            deleted = cluster.request("DELETE", "k", node="n1",
                                      headers={"X-Vdynamo-Context": context or ""})[0]
            check(f"{run}: delete through n1", deleted in (200, 204), deleted)
            values, context = cluster.read("k", node="n3", query="?r=3")
            check(f"{run}: [] through n3", values == [], values)
            check(f"{run}: v3 through n3",
                  cluster.put("k", b"v3", node="n3", context=context) == 200)
            time.sleep(1)
            for node in ("n1", "n3"):
                got = cluster.values("k", node=node, query="?r=3")
                check(f"{run}: [v3] through {node}", got == [b"v3"], got)
            check(f"{run}: k2 blind through n1", cluster.put("k2", b"w", node="n1") == 200)
            print(f"{run}: {dates}")
        finally:
            cluster.stop()
            for log in glob.glob(str(cluster.dir / "*.log")):
                text = Path(log).read_text(errors="replace")
                check(f"{run}: no traceback in {Path(log).name}", "Traceback" not in text,
                      text[-500:])
if bad:
    print(f"FAIL: {len(bad)} checks failed")
    sys.exit(1)
print("PASS")
