"""Pipelined small GETs whose answers nobody reads, then silence: 20 connections
each send 400 `GET /kv/k` at once (a 100-byte value: about 190 KB of answers,
which fit in the sockets' buffers) and read nothing (21d pipelines 50 GETs of a
1 MiB value: its answers do not fit, and the node's `_drain` gives up on them; here
every answer is written, and the node waits for a next request that never comes:
`wrk --pipeline`, or a client library that sends and crashes before it reads).

3 processes (`serve --node`), defaults. Meanwhile a normal client opens a
connection every 0.5 s and GETs `k` (10 s timeout) for 20 s, and n1's RSS and CPU
time are sampled. Then, past n1's idle timeout (`http_idle_timeout_s`, 30 s after
its last answer), the probe counts n1's sockets in FIN-WAIT-1 still holding bytes
to send (`ss`), and each flooder reads what it can (3 s at most).

Then, on a cluster with `max_http_connections = 8`, 8 such connections are evicted
by 8 new ones (the idle longest goes first at the cap).

Right value: every normal GET answered, the slowest within 5 s; n1's RSS grows by
less than 300 MB; n1 still answers at the end; and every flooding connection n1
gave up on was *reset*: no orphan in FIN-WAIT-1 holding its answers, no flooder
reads them and then a clean end (session 54's rule for `_drain`, probe 21d); the
same for the 8 evicted connections.
Before the fix (2db083f0's parent): 20 of 20 orphans in FIN-WAIT-1 holding
167,077-167,961 bytes each, no flooder reset (each read 8,840-105,292 bytes of the
abandoned answers in its 3 s, the kernel's zero-window backoff pacing the rest);
and 8 of 8 evicted connections orphans holding 167,961-168,403 bytes (408329e0's
parent, a scratch run).

Run from the project's root: .venv/bin/python probes/21f-small-pipelined-gets-flood-never-read.py
"""
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

RUN = 20.0
REQUEST = b"GET /kv/k HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"
problems: list[str] = []


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


def orphans(port: int) -> list[int]:
    """The Send-Q of each of the node's sockets on ``port`` in FIN-WAIT-1."""
    ss = subprocess.run(["ss", "-tn", "state", "fin-wait-1", f"( sport = :{port} )"],
                        capture_output=True, text=True).stdout.splitlines()[1:]
    return [int(f[1]) for f in (line.split() for line in ss) if len(f) > 1 and f[1].isdigit()]


def read_rest(sock: socket.socket) -> tuple[int, str]:
    """(bytes read in 3 s at most, how the stream ended)."""
    sock.settimeout(1)
    got, until = 0, time.time() + 3
    try:
        while time.time() < until:
            data = sock.recv(1 << 20)
            if not data:
                return got, "eof"
            got += len(data)
        return got, "open"
    except ConnectionResetError:
        return got, "reset"
    except OSError as err:
        return got, type(err).__name__
    finally:
        sock.close()


with LocalNodes(nodes=3, per_process=True) as c:
    assert c.put("k", b"v" * 100, query="?w=3") == 200
    pid = c.procs["n1"].pid
    rss0, cpu0 = rss_mb(pid), cpu_s(pid)
    flooders = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", c.http["n1"]))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(REQUEST * 400)
        flooders.append(s)
    latencies, failures, peak = [], [], rss0
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
        time.sleep(max(0.0, 0.5 - (time.time() - start)))
    latencies.sort()
    print(f"normal GETs: {len(latencies)} ok, {len(failures)} failed; median "
          f"{latencies[len(latencies) // 2] if latencies else 0:.3f} s, slowest "
          f"{latencies[-1] if latencies else 0:.3f} s", flush=True)
    print(f"n1 RSS {rss0:.0f} -> peak {peak:.0f} MB; CPU {cpu_s(pid) - cpu0:.1f} s in "
          f"{RUN:.0f} s", flush=True)
    if failures:
        problems.append(f"{len(failures)} normal GETs failed: {failures[:3]}")
    if latencies and latencies[-1] > 5:
        problems.append(f"a normal GET took {latencies[-1]:.1f} s")
    if peak - rss0 > 300:
        problems.append(f"n1's RSS grew by {peak - rss0:.0f} MB")
    time.sleep(max(0.0, 50 - (time.time() - t0)))  # past n1's idle close
    held = orphans(c.http["n1"])
    ends = [read_rest(s) for s in flooders]
    clean = [e for e in ends if e[1] != "reset"]
    print(f"50 s on: {len(held)} orphans in FIN-WAIT-1 holding {sorted(set(held))[:3]} "
          f"bytes; flooders' ends {sorted(set(e[1] for e in ends))}, {len(clean)} not reset "
          f"(read {sorted(set(e[0] for e in clean))[:3]} bytes)", flush=True)
    if held or clean:
        problems.append(f"{len(held)} orphans holding answers; {len(clean)} of 20 flooders "
                        f"not reset ({clean[:2]})")
    if c.values("k") != [b"v" * 100]:
        problems.append("n1 does not answer k at the end")

with LocalNodes(nodes=3, per_process=True, extra_cluster="max_http_connections = 8") as c:
    assert c.put("k", b"v" * 100, query="?w=3") == 200
    flooders = []
    for _ in range(8):
        s = socket.create_connection(("127.0.0.1", c.http["n1"]))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(REQUEST * 400)
        flooders.append(s)
    time.sleep(8)  # every answer written: each connection waits, idle
    newcomers = [socket.create_connection(("127.0.0.1", c.http["n1"])) for _ in range(8)]
    time.sleep(1)
    held = orphans(c.http["n1"])
    ends = [read_rest(s) for s in flooders]
    clean = [e for e in ends if e[1] != "reset"]
    print(f"evicted at the cap: {len(held)} orphans holding {sorted(set(held))[:3]} bytes; "
          f"ends {sorted(set(e[1] for e in ends))}, {len(clean)} not reset", flush=True)
    if held or clean:
        problems.append(f"evicted: {len(held)} orphans holding answers; {len(clean)} of 8 "
                        f"not reset ({clean[:2]})")
    for s in newcomers:
        s.close()

if problems:
    print("FAIL:", *problems, sep="\n  ")
    sys.exit(1)
print("PASS")
