"""Slow connections the public case (half a request held still), 21a (a trickled
body) and 21b (idle keep-alive) do not send: headers trickled one byte a second
(slowloris proper: each byte resets a per-read timer), bare CRLFs sent a second
apart *before* a request line (RFC 9112 2.2 lets a server skip them, so a parser
may never start a request and never start its header timer), a keep-alive
connection whose *second* request is trickled, a peer hello trickled one byte a
second, clients that pipeline GETs of a 1 MiB value and never read the answers
(the node's send buffers fill), and a client that half-closes (SHUT_WR) after
a whole request.

3 processes, default limits (http_header_timeout_s 10, peer_hello_timeout_s 5).
Held 45 s while a normal client reads and writes.
Right value: every normal request succeeds (a 503 "retry after 1 s" at the
start, load shed while the pipelined 1 MiB answers are in flight, retried once); by the end the node closed every
trickling, CRLF-sending and hello-trickling connection, and every non-reading
one (none holds the node's memory: n1's resident set stays under 400 MB); the
half-closed client gets its answer.

Run from the project's root: .venv/bin/python probes/21d-trickled-headers-crlf-and-unread-answers.py
"""
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

HOLD = 45.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Trickler(threading.Thread):
    """Sends `first`, then `step` every second until the peer closes or stop is set."""

    def __init__(self, port: int, first: bytes, step: bytes, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.first, self.step, self.stop, self.closed_at = first, step, stop, None
        self.t0 = time.time()

    def run(self) -> None:
        try:
            self.sock.sendall(self.first)
            while not self.stop.wait(1.0):
                self.sock.sendall(self.step)
                self.sock.setblocking(False)
                try:
                    data = self.sock.recv(65536)
                    if data == b"" or data.startswith(b"HTTP/1.1 4"):
                        raise OSError("closed")
                except BlockingIOError:
                    pass
                finally:
                    self.sock.setblocking(True)
        except OSError:
            self.closed_at = time.time() - self.t0
        finally:
            self.sock.close()


with LocalNodes(nodes=3, per_process=True) as cluster:
    http, peer = cluster.http["n1"], cluster.peer["n1"]
    cluster.put("k", b"v")
    cluster.put("big", b"B" * (1024 * 1024))
    stop = threading.Event()
    groups: dict[str, list[Trickler]] = {
        "header trickle": [Trickler(http, b"GET /kv/k HTTP/1.1\r\nHost: x\r\nX-Slow: ", b"a", stop) for _ in range(30)],
        "CRLF before request": [Trickler(http, b"\r\n", b"\r\n", stop) for _ in range(30)],
        "second request trickled": [],
        "peer hello trickle": [Trickler(peer, b"V", b"D", stop) for _ in range(20)],
    }
    for _ in range(20):
        t = Trickler(http, b"GET /kv/k HTTP/1.1\r\nHost: x\r\n\r\nGET /kv/k HTTP/1.1\r\nHost: x\r\nX-Slow: ", b"a", stop)
        t.sock.settimeout(5)
        groups["second request trickled"].append(t)
    half = socket.create_connection(("127.0.0.1", http), timeout=10)
    half.sendall(b"GET /kv/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    half.shutdown(socket.SHUT_WR)
    try:
        half_answer = half.recv(65536)
    except OSError as err:
        half_answer = repr(err).encode()
    half.close()
    unread = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", http))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        try:
            for _ in range(50):
                s.send(b"GET /kv/big HTTP/1.1\r\nHost: x\r\n\r\n")
        except (BlockingIOError, OSError):
            pass
        unread.append(s)
    for g in groups.values():
        for t in g:
            t.start()
    failures, peak = 0, 0.0
    pid = cluster.procs["n1"].pid
    t0 = time.time()
    i = 0
    while time.time() - t0 < HOLD:
        for attempt in range(2):  # a 503 "retry after 1 s" (load shed) is retried once
            try:
                assert cluster.put(f"n{i}", b"x") == 200
                assert cluster.values("k") == [b"v"]
                break
            except Exception as err:  # noqa: BLE001
                print(f"t={time.time() - t0:4.0f}s a normal request failed: {err!r}")
                if attempt or "503" not in repr(err):
                    failures += 1
                    break
                time.sleep(1)
        peak = max(peak, rss_mb(pid))
        i += 1
        time.sleep(2)
    stop.set()
    bad = False
    for what, g in groups.items():
        for t in g:
            t.join(5)
        open_ = sum(1 for t in g if t.closed_at is None)
        late = [round(t.closed_at) for t in g if t.closed_at is not None]
        print(f"{what:26}: {open_}/{len(g)} still open after {HOLD:.0f} s; closed at {sorted(set(late))} s")
        bad |= open_ > 0
    ports = {s.getsockname()[1] for s in unread}
    listing = subprocess.run(["ss", "-tnH", "state", "established", f"( dport = :{http} )"],
                             capture_output=True, text=True).stdout.split()
    still = sum(1 for word in listing if word.rsplit(":", 1)[-1].isdigit()
                and int(word.rsplit(":", 1)[-1]) in ports)
    for s in unread:
        s.close()
    print(f"non-reading pipeliners: {still}/20 still open; n1 peak RSS {peak:.0f} MB")
    print(f"half-closed client's answer: {half_answer[:40]!r}")
    print(f"normal requests failed: {failures}")
    if still or peak > 400 or not half_answer.startswith(b"HTTP/1.1 200") or failures:
        bad = True
    if bad:
        print("FAIL: a slow or non-reading connection was held, or normal requests failed")
        sys.exit(1)
    print("PASS")
