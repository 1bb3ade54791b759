"""Both of a node's ports held at their caps *at once* while the membership moves
(21b fills each port with idle connections, 21c floods the peer port during one
restart; none holds the HTTP and the peer port together, nor during a join): a
misbehaving load balancer keeps hundreds of idle keep-alive connections while a
port scanner or a broken sidecar keeps half-open connections on the internode
port, the week a node is restarted and another one added (Cassandra's "native
transport and internode ports both exhausted", Riak's `{error, emfile}` during
`cluster join`).

4 processes (`serve --node`), dvv, N=3 R=2 W=2, `max_http_connections = 24`,
`max_peer_connections = 8` (n4 a node that joins: a section, not in `nodes`).
12 keys at w=3. On n1: 60 keep-alive HTTP connections each complete one GET and
sit idle; 12 threads keep the peer port full of half hellos (each reconnects as
soon as it is closed). Then n2 is SIGKILLed and started again, and n4 is started
(it joins through n1, n2, n3). For 30 s a client puts at w=3 through n1 every
0.3 s on a new connection, then the floods stop.

Right value: n4's `member_status` is up within 60 s; within 15 s of n2's start
every w=3 put through n1 is 200 and stays 200 (a 503 of a refused connection is
a failure once 15 s passed); every new HTTP connection to n1 gets an answer (idle
ones are evicted); the 12 keys read [their value] at r=3 through n1 at the end.

Run from the project's root: .venv/bin/python probes/21k-both-ports-at-their-caps-while-a-peer-restarts-and-one-joins.py
Loopback only, about 60 s; every process stopped, every socket closed.
"""
from __future__ import annotations

import socket
import threading
import time
from collections import Counter

from _cluster import Checks, with_joiner

SETTINGS = ('clock = "dvv"\nmax_http_connections = 24\nmax_peer_connections = 8\n'
            'gossip_interval = 0.25\nanti_entropy_interval = 0.5\nhint_scan_interval = 0.25')


def main() -> None:
    checks = Checks()
    c = with_joiner(SETTINGS)
    stop = threading.Event()
    idle: list[socket.socket] = []
    lock = threading.Lock()
    flooded = Counter[str]()

    def peer_flood() -> None:
        while not stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", c.peer["n1"]), timeout=2) as s:
                    s.sendall(b"VDYNHELO\x04")
                    with lock:
                        flooded["opened"] += 1
                    s.settimeout(30)
                    while not stop.is_set():
                        if not s.recv(1024):
                            break
            except OSError:
                time.sleep(0.05)

    try:
        for name in c.names:
            c.start_node(name)
        for i in range(12):
            checks(f"k{i} put", c.put(f"k{i}", b"v%d" % i, query="?w=3") == 200)
        for _ in range(60):
            s = socket.create_connection(("127.0.0.1", c.http["n1"]), timeout=5)
            s.sendall(b"GET /kv/k0 HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(65536)
            idle.append(s)
        threads = [threading.Thread(target=peer_flood, daemon=True) for _ in range(12)]
        for thread in threads:
            thread.start()
        time.sleep(2)
        c.kill("n2")
        time.sleep(0.5)
        c.start_node("n2")
        n2_at = time.monotonic()
        c.start_node("n4")
        codes: list[tuple[float, int]] = []
        joined = None
        while time.monotonic() - n2_at < 30:
            try:
                code = c.put(f"during{len(codes)}", b"x", query="?w=3")
            except OSError:
                code = 0
            codes.append((round(time.monotonic() - n2_at, 1), code))
            if joined is None and c.status("n4").get("member_status") == "up":
                joined = round(time.monotonic() - n2_at, 1)
            time.sleep(0.3)
        stop.set()
        for _ in range(60):
            if joined is not None:
                break
            if c.status("n4").get("member_status") == "up":
                joined = round(time.monotonic() - n2_at, 1)
            time.sleep(0.5)
        late = [(t, code) for t, code in codes if t > 15 and code != 200]
        first_ok = next((t for t, code in codes if code == 200), None)
        wrong = [f"k{i}: {vals}" for i in range(12)
                 if (vals := c.values(f"k{i}", query="?r=3")) != [b"v%d" % i]]
        still = sum(1 for s in idle if s.fileno() >= 0 and _open(s))
        print(f"peer-port half hellos opened {flooded['opened']}; idle HTTP held at the "
              f"end {still} of {len(idle)}")
        print(f"w=3 puts through n1 after n2's start: {Counter(code for _, code in codes)}; "
              f"first 200 at {first_ok} s; after 15 s not 200: {late[:6]}")
        print(f"n4 up at {joined} s; k* wrong at r=3: {wrong[:4]}")
        checks("n4 up within 60 s", joined is not None and joined < 60, joined)
        checks("every put 200 from 15 s after n2's start", not late, late[:6])
        checks("some put 200 within 15 s", first_ok is not None and first_ok <= 15, first_ok)
        checks("k* right at r=3", not wrong, wrong[:4])
    finally:
        stop.set()
        for s in idle:
            s.close()
        c.__exit__()  # every process stopped, the directory removed
    checks.finish()


def _open(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
