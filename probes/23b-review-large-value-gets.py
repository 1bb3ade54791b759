"""Session 54 review (s54-revlib): gets of a 16 MiB value on a loaded cluster, old defaults
vs the new. 3 nodes of max_value_bytes MIB MiB (max_record_bytes MIB+4, request_timeout
(MIB+4)/4 s), every node SIGSTOPped DUTY of each 20 ms. Usage, from the root:
``nice -n 10 .venv/bin/python probes/23b-review-large-value-gets.py /tmp/DIR 16 0.9``.
Each process stopped at the end (tests.runtime.procs.cluster_up). docs/runtime.md,
"Review of the library's failover defaults (session 54, review)".
"""
import time, sys, json, os, signal, threading
from pathlib import Path
sys.path.insert(0, ".")
import vdynamo
from tests.runtime.procs import cluster_up, state, request
d = Path(sys.argv[1]); mib = int(sys.argv[2]); duty = float(sys.argv[3])
with cluster_up(d, "--nodes", "3", "--set", f"max_value_bytes={mib<<20}", "--set", f"max_record_bytes={(mib+4)<<20}", "--set", f"request_timeout={(mib+4)/4}") as directory:
    nodes = state(directory)["nodes"]
    addrs = [f"127.0.0.1:{n['http']}" for n in nodes.values()]
    pids = [n["pid"] for n in nodes.values()]
    v = os.urandom(mib << 20)
    with vdynamo.connect(addrs, deadline_s=None, timeout_s=60) as c:
        t = time.monotonic(); c.put("big", v); print("put", time.monotonic() - t)
    stop = threading.Event()
    def cycle():
        while not stop.is_set():
            for p in pids: os.kill(p, signal.SIGSTOP)
            time.sleep(0.02 * duty)
            for p in pids: os.kill(p, signal.SIGCONT)
            time.sleep(0.02 * (1 - duty))
    th = threading.Thread(target=cycle); th.start()
    try:
        for kw in ({"deadline_s": None, "timeout_s": 10}, {}):
            with vdynamo.connect(addrs, **kw) as c:
                for i in range(3):
                    t = time.monotonic()
                    try:
                        g = c.get("big"); print(kw, "get", round(time.monotonic() - t, 2), len(g.values[0]))
                    except Exception as e:
                        print(kw, "get FAILED", round(time.monotonic() - t, 2), type(e).__name__, str(e)[:400])
    finally:
        stop.set(); th.join()
        for p in pids: os.kill(p, signal.SIGCONT)
