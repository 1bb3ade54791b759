"""Connections that go idle *after the node answered something*, on both ports (21a
trickles bodies, 21b idles between requests, 21d trickles heads, 21e-21l flood;
none goes silent once the node has spoken): a client told `100 Continue` that never
sends the body; a chunked body that stops after its first chunk; an `Upgrade: h2c`
request then silence; a request answered 200 whose client half-closes and never
reads again; a peer hello whose challenge the node sent and that never answers it;
a peer whose first frame header is sent without its body. (curl's
`Expect: 100-continue` with a client that crashed; a proxy that opened a chunked
upload and died; Cassandra's internode handshake left half done.)

1 process of 3 nodes (`serve --all`), `http_header_timeout_s = 2`,
`http_idle_timeout_s = 3`, `peer_hello_timeout_s = 3`, `max_http_connections = 64`
(over the 40 HTTP connections: none is evicted, each closes by its own timeout).
10 connections of each of the six kinds to n1 at once, each timed until the node
closes it (at most 40 s); meanwhile a GET of a key through n1 every 0.5 s on a new connection.

Right value: every connection closed by the node within 15 s (the idle timeouts
are 2-3 s; a body at 0 bytes/s is under `http_min_body_rate` once the idle timeout
passed); every GET through n1 answered 200 within 2 s.

Run from the project's root: .venv/bin/python probes/21n-idle-after-the-node-spoke-first.py
Loopback only, about 45 s; every process stopped, every socket closed.
"""
from __future__ import annotations

import socket
import threading
import time
from collections import Counter

from _cluster import Checks, LocalNodes

SETTINGS = ('http_header_timeout_s = 2\nhttp_idle_timeout_s = 3\npeer_hello_timeout_s = 3\n'
            'max_http_connections = 64')
LIMIT = 40.0

HTTP = {
    "100-continue, no body": b"PUT /kv/a HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                             b"Expect: 100-continue\r\n\r\n",
    "chunked, stopped after a chunk": b"PUT /kv/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                      b"chunked\r\n\r\n5\r\nhello\r\n",
    "upgrade h2c, then silence": b"GET /kv/c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, "
                                 b"HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
    "answered, half-closed, never read": b"GET /kv/d HTTP/1.1\r\nHost: x\r\n\r\n",
}
PEER = {
    "hello begun, challenge unanswered": b"VDYNHELO",
    "hello and a frame header alone": b"VDYNHELO\x04" + b"\x00" * 3,
}


def held(port: int, first: bytes, half_close: bool, out: list[float]) -> None:
    """Open, send ``first`` (then shut the sending side if ``half_close``), never
    send more; how long until the node closed it (LIMIT + 1 when it did not)."""
    start = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(first)
            if half_close:
                s.shutdown(socket.SHUT_WR)
            s.settimeout(0.5)
            while time.monotonic() - start < LIMIT:
                try:
                    if not s.recv(65536):
                        break
                except TimeoutError:
                    continue
                except OSError:
                    break
            else:
                out.append(LIMIT + 1)
                return
    except OSError:
        pass
    out.append(round(time.monotonic() - start, 1))


def main() -> None:
    checks = Checks()
    with LocalNodes(nodes=3, extra_cluster=SETTINGS) as c:
        checks("k put", c.put("k", b"v", query="?w=3") == 200)
        times: dict[str, list[float]] = {kind: [] for kind in [*HTTP, *PEER]}
        threads = [threading.Thread(target=held, args=(
            c.peer["n1"] if kind in PEER else c.http["n1"], (PEER | HTTP)[kind],
            kind.startswith("answered"), times[kind]), daemon=True)
            for kind in times for _ in range(10)]
        for thread in threads:
            thread.start()
        gets: Counter[str] = Counter()
        slow: list[float] = []
        start = time.monotonic()
        while any(t.is_alive() for t in threads) and time.monotonic() - start < LIMIT + 5:
            began = time.monotonic()
            try:
                code = c.request("GET", "k", timeout=5)[0]
            except OSError as error:
                code = type(error).__name__
            took = time.monotonic() - began
            gets[str(code)] += 1
            if code != 200 or took > 2:
                slow.append(round(took, 1))
            time.sleep(0.5)
        for thread in threads:
            thread.join(5)
        for kind, seen in times.items():
            print(f"{kind}: closed after {sorted(seen)} s")
        print(f"GETs through n1 meanwhile: {dict(gets)}; not 200 or over 2 s: {slow[:6]}")
        for kind, seen in times.items():
            checks(f"{kind}: every one closed within 15 s",
                   len(seen) == 10 and max(seen) <= 15, sorted(seen))
        checks("every GET 200 within 2 s", not slow and set(gets) == {"200"}, (dict(gets), slow))
    checks.finish()


if __name__ == "__main__":
    main()
