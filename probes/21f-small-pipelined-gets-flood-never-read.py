"""HTTP pipelining as a flood: connections that send small GETs back to back as
fast as the node takes them and never read an answer (21d pipelines 50 GETs of a
1 MiB value and stops sending; here the requests never stop, and each answer is
small, so the node's unsent answers grow by many small writes, and its parser
always has a next request to serve). `wrk --pipeline` or a broken client library
does this.

3 processes (`serve --node`), defaults. 20 connections to n1 each send
`GET /kv/k` (a 100-byte value) in 64 KiB batches for 40 s and read nothing; the
probe notes how many bytes each got in, and when the node closed or reset it.
Meanwhile a normal client opens a connection every 0.5 s and GETs `k` (10 s
timeout), and n1's RSS and CPU time are sampled.

Right value: every normal GET answered, the slowest within 5 s; n1's RSS grows by
less than 300 MB; every flooding connection stopped being read or was closed
(the bytes each got in bounded: under 64 MiB), and n1 still answers at the end.

Run from the project's root: .venv/bin/python probes/21f-small-pipelined-gets-flood-never-read.py
"""
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

RUN = 40.0
REQUEST = b"GET /kv/k HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"
BATCH = REQUEST * (65536 // len(REQUEST))
problems: list[str] = []


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


class Flooder(threading.Thread):
    def __init__(self, port: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(1.0)
        self.stop, self.sent, self.ended, self.t0 = stop, 0, "", time.time()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    self.sent += self.sock.send(BATCH)
                except TimeoutError:
                    continue
        except OSError as err:
            self.ended = f"{type(err).__name__} at {time.time() - self.t0:.1f} s"
        finally:
            self.sock.close()


with LocalNodes(nodes=3, per_process=True) as c:
    assert c.put("k", b"v" * 100, query="?w=3") == 200
    pid = c.procs["n1"].pid
    rss0, cpu0 = rss_mb(pid), cpu_s(pid)
    stop = threading.Event()
    flooders = [Flooder(c.http["n1"], stop) for _ in range(20)]
    for f in flooders:
        f.start()
    latencies, failures, peak = [], [], rss0
    windows, mark, mark_cpu = [], time.time(), cpu0
    t0 = time.time()
    while time.time() - t0 < RUN:
        start = time.time()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{c.http['n1']}/kv/k",
                                        timeout=10) as r:
                r.read()
            latencies.append(time.time() - start)
        except OSError as err:
            failures.append(f"{time.time() - t0:.1f} s: {err}")
        peak = max(peak, rss_mb(pid))
        if time.time() - mark >= 5:
            now_cpu = cpu_s(pid)
            windows.append(f"{now_cpu - mark_cpu:.1f}")
            mark, mark_cpu = time.time(), now_cpu
        time.sleep(max(0.0, 0.5 - (time.time() - start)))
    stop.set()
    for f in flooders:
        f.join(5)
    cpu = cpu_s(pid) - cpu0
    latencies.sort()
    sent = sorted(f.sent for f in flooders)
    print(f"normal GETs: {len(latencies)} ok, {len(failures)} failed; median "
          f"{latencies[len(latencies) // 2] if latencies else 0:.3f} s, slowest "
          f"{latencies[-1] if latencies else 0:.3f} s", flush=True)
    print(f"n1 RSS {rss0:.0f} -> peak {peak:.0f} MB; CPU {cpu:.1f} s in {RUN:.0f} s "
          f"(per 5 s: {', '.join(windows)})", flush=True)
    print(f"flooders' bytes in: min {sent[0]}, max {sent[-1]}; ended: "
          f"{[f.ended for f in flooders if f.ended][:5]} ({sum(1 for f in flooders if f.ended)}"
          f" of 20 closed)", flush=True)
    if failures:
        problems.append(f"{len(failures)} normal GETs failed: {failures[:3]}")
    if latencies and latencies[-1] > 5:
        problems.append(f"a normal GET took {latencies[-1]:.1f} s")
    if peak - rss0 > 300:
        problems.append(f"n1's RSS grew by {peak - rss0:.0f} MB")
    if sent[-1] > 64 << 20:
        problems.append(f"a flooder got {sent[-1]} bytes in")
    if c.values("k") != [b"v" * 100]:
        problems.append("n1 does not answer k at the end")

if problems:
    print("FAIL:", *problems, sep="\n  ")
    sys.exit(1)
print("PASS")
