"""Slowloris past the connection cap, reconnecting: the public case holds 200
half-sent requests still (under max_http_connections, 512) and 21b fills the cap
with *idle* keep-alive connections; here 8 threads keep 600 connections open
(more than the cap) that each trickle a header byte every second, and open a new
one at once whenever the node closes one (the header timeout then frees nothing
for long: slowhttptest -H -c 600 -r 200), so the cap is always full of
connections that are neither idle nor done.

3 processes, defaults. For 30 s a normal client opens a new connection every
0.5 s and GETs a key (a 10 s timeout each).
Right value: at least 95% of the normal GETs succeed, none slower than 5 s
(connections still reading their headers are evicted, or refused, to make room
for a new one as idle ones are), and the node still answers once the flood stops.

Run from the project's root: .venv/bin/python probes/21e-slowloris-flood-past-the-cap-reconnecting.py
"""
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

FLOOD, THREADS, RUN = 600, 8, 30.0

with LocalNodes(nodes=3, per_process=True) as cluster:
    port = cluster.http["n1"]
    cluster.put("k", b"v")
    stop = threading.Event()
    opened = [0]

    def flooder(count: int) -> None:
        socks: list[socket.socket | None] = [None] * count
        while not stop.is_set():
            for i in range(count):
                s = socks[i]
                try:
                    if s is None:
                        s = socket.create_connection(("127.0.0.1", port), timeout=2)
                        s.sendall(b"GET /kv/k HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                        socks[i] = s
                        opened[0] += 1
                    else:
                        s.sendall(b"a")
                except OSError:
                    if s is not None:
                        s.close()
                    socks[i] = None
                if stop.is_set():
                    break
            stop.wait(1.0)
        for s in socks:
            if s is not None:
                s.close()

    threads = [threading.Thread(target=flooder, args=(FLOOD // THREADS,), daemon=True)
               for _ in range(THREADS)]
    for t in threads:
        t.start()
    time.sleep(3)
    times, fails = [], []
    t0 = time.time()
    while time.time() - t0 < RUN:
        start = time.time()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/kv/k", timeout=10) as resp:
                assert resp.read() == b"v"
            times.append(time.time() - start)
        except Exception as err:  # noqa: BLE001
            fails.append(f"t={start - t0:.0f}s {type(err).__name__}: {str(err)[:80]}")
        time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(10)
    after = cluster.values("k")
    total = len(times) + len(fails)
    times.sort()
    print(f"flood connections opened: {opened[0]}; normal GETs: {len(times)}/{total} ok, "
          f"median {times[len(times) // 2] if times else 0:.2f} s, slowest {times[-1] if times else 0:.2f} s")
    for f in fails[:5]:
        print("  failed:", f)
    print("after the flood:", after)
    if len(times) < 0.95 * total or (times and times[-1] > 5) or after != [b"v"]:
        print("FAIL: a reconnecting slowloris flood past the cap locked normal clients out")
        sys.exit(1)
    print("PASS")
