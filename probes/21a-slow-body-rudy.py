"""The slow-body attack ("R-U-Dead-Yet", slowhttptest -B; the public case stops
inside the *headers*): 150 connections send complete PUT headers announcing a
1 MiB body, then one body byte every 5 s; 50 more send `Transfer-Encoding:
chunked` and a one-byte chunk every 5 s; held 45 s at the default settings
while a normal client keeps reading and writing.

Right value: normal GETs and PUTs are served throughout, and by the end the node
has closed every trickling connection (http_min_body_rate after the first
http_idle_timeout_s); no trickled value is stored.

Run from the project's root: .venv/bin/python probes/21a-slow-body-rudy.py
"""
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

HOLD = 45.0


def send(s: socket.socket, data: bytes) -> bool:
    try:
        s.sendall(data)
        return True
    except OSError:
        return False


def peek_open(sock: socket.socket) -> bool:
    """True when the node has not closed its end (nothing consumed)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


with LocalNodes(nodes=3) as cluster:
    cluster.put("k", b"v")
    port = cluster.http["n1"]
    plain, chunked = [], []
    for i in range(150):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"PUT /kv/slow%d HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n" % i)
        plain.append(s)
    for i in range(50):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"PUT /kv/slowc%d HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" % i)
        chunked.append(s)
    alive = {id(s): True for s in plain + chunked}
    failures = 0
    t0 = time.time()
    mid = None   # connections the node still holds at t=20 s (shows the hold is real)
    next_trickle = t0
    while time.time() - t0 < HOLD:
        if mid is None and time.time() - t0 >= 20:
            mid = sum(peek_open(s) for s in plain + chunked)
            print(f"t=20s: {mid} of the held HTTP connections still open")
        if time.time() >= next_trickle:
            for s in plain:
                if alive[id(s)]:
                    alive[id(s)] = send(s, b"x")
            for s in chunked:
                if alive[id(s)]:
                    alive[id(s)] = send(s, b"1\r\ny\r\n")
            next_trickle += 5.0
        try:
            assert cluster.values("k") == [b"v"], "a GET"
            assert cluster.put(f"fresh{failures}-{time.time()}", b"w") == 200, "a PUT"
        except Exception as err:
            failures += 1
            print(f"t={time.time() - t0:4.0f}s a normal request failed: {err!r}")
        time.sleep(1.0)
    # a last trickle: a closed connection shows as a reset or as EOF on read
    def still_open(s: socket.socket) -> bool:
        """False when the node closed its end (a reset, or EOF after any 408 answer)."""
        if not send(s, b"z"):
            return False
        s.setblocking(False)
        try:
            while True:
                if s.recv(65536) == b"":
                    return False
        except BlockingIOError:
            return True
        except OSError:
            return False
    time.sleep(0.5)
    open_plain = sum(still_open(s) for s in plain)
    open_chunked = sum(still_open(s) for s in chunked)
    for s in plain + chunked:
        s.close()
    stored = [i for i in range(0, 150, 15) if cluster.values(f"slow{i}")]
    print(f"after {HOLD:.0f}s: {open_plain}/150 slow bodies and {open_chunked}/50 slow chunked "
          f"bodies still open; {failures} normal requests failed; slow keys stored: {stored}")
    if failures or open_plain or open_chunked or stored:
        print("FAIL: slow request bodies hold the node's connections (or break normal clients)")
        sys.exit(1)
    print("PASS")
