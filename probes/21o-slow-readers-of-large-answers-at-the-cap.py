"""The slow-read attack (slowhttptest -X; 21a trickles request bodies, 21d and 21f
leave answers *unread*; none reads them *slowly*): clients GET a large value and read
its answer a few bytes at a time, each read just before the node's idle timeout
would close a connection whose client reads nothing, with a small receive window,
so the node's send never stalls for `http_idle_timeout_s` and each connection stays
busy (never idle-evicted) for as long as the answer lasts. IIS bounds it with
`minBytesPerSecond` (240 B/s), lighttpd with `server.max-write-idle`.

1 process of 3 nodes (`serve --all`), `max_http_connections = 24` (the idle timeout
its default 30 s). `big` = 1 MiB at w=3. 24 connections to n1 each send `GET /kv/big`
(receive buffer 4 KB) and read up to 4 KB every 10 s (about 400 B/s: 45 minutes for
the answer; each read opens the TCP window, so the node sees its client acknowledge
bytes well within the idle timeout). For 75 s, every second, a GET of a small key
through n1 on a new connection (5 s timeout); then the slow readers' state.

Right value: the small GETs are answered 200 from 45 s on; the node closes each
slow reader once its rate is under `http_min_body_rate` (500 B/s by default, the rate
it asks of a request's body) after the first idle timeout: all 24 closed within 75 s.

Run from the project's root: .venv/bin/python probes/21o-slow-readers-of-large-answers-at-the-cap.py
Loopback only, about 90 s; every process stopped, every socket closed.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from collections import Counter

from _cluster import Checks, LocalNodes

SETTINGS = 'max_http_connections = 24'
HOLD = 75.0
PACE = 10.0


def slow_reader(port: int, stop: threading.Event, closed: list[float], read: list[int]) -> None:
    start = time.monotonic()
    got = 0
    try:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            s.sendall(b"GET /kv/big HTTP/1.1\r\nHost: x\r\nAccept: application/octet-stream"
                      b"\r\n\r\n")
            while not stop.is_set():
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += len(chunk)
                stop.wait(PACE)
            else:
                read.append(got)
                return
    except OSError:
        pass
    read.append(got)
    closed.append(round(time.monotonic() - start, 1))


def main() -> None:
    checks = Checks()
    with LocalNodes(nodes=3, extra_cluster=SETTINGS) as c:
        checks("big put", c.put("big", os.urandom(1 << 20), query="?w=3") == 200)
        checks("small put", c.put("small", b"s", query="?w=3") == 200)
        stop = threading.Event()
        closed: list[float] = []
        read: list[int] = []
        threads = [threading.Thread(target=slow_reader, args=(c.http["n1"], stop, closed, read),
                                    daemon=True) for _ in range(24)]
        for thread in threads:
            thread.start()
            time.sleep(0.02)
        start = time.monotonic()
        gets: list[tuple[float, str]] = []
        while time.monotonic() - start < HOLD:
            try:
                code = str(c.request("GET", "small", timeout=5)[0])
            except OSError as error:
                code = type(error).__name__
            gets.append((round(time.monotonic() - start, 1), code))
            time.sleep(1)
        stop.set()
        for thread in threads:
            thread.join(10)
        late = [(t, code) for t, code in gets if t > 45 and code != "200"]
        print(f"small GETs through n1: {Counter(code for _, code in gets)}; after 45 s not "
              f"200: {late[:6]}")
        print(f"slow readers closed by the node: {len(closed)} of 24, after {sorted(closed)[:8]} "
              f"s; bytes read each {sorted(read)[:4]}..{sorted(read)[-2:]}")
        checks("every small GET 200 after 45 s", not late, late[:6])
        checks("every slow reader closed within 75 s", len(closed) == 24, sorted(closed))
    checks.finish()


if __name__ == "__main__":
    main()
