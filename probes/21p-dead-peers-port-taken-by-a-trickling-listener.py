"""The node as the *dialer* held by a slow listener (21a-21o hold the node's own
ports open: it is the server there): a member dies and its peer port is taken by
another process that accepts and then trickles bytes, a hung proxy, a half-dead
JVM still in `accept`, or an attacker on a shared host binding the freed port
(Cassandra's "OutboundTcpConnection stuck on a peer that accepts and never
answers", CASSANDRA-13993's family; a slowloris against the client side).

3 processes (`serve --node`), N=3 R=2 W=2, dvv, defaults (peer hello timeout 5 s).
10 keys at w=3; n3 SIGKILLed; a listener binds n3's peer port, accepts every
connection and sends it one byte of a hello head (`VDYNHELO`, a version, lengths
that promise a long name) every second, never closing. For 40 s: a put at w=2
through n1 and through n2 every second, and every 5 s a read at r=2 through n1.

Right value: every put and read 200, each within 3 s (n1 and n2 are a quorum; a
dialer stuck on n3's address must not hold their requests); the nodes close
each trickling connection within about the hello timeout (under 10 s) and keep
at most a few open at once (a dialer that opens a new one each round and never
closes the old leaks sockets).

Run from the project's root: .venv/bin/python probes/21p-dead-peers-port-taken-by-a-trickling-listener.py
Loopback only, about 60 s; every process stopped.
"""
from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes  # noqa: E402

HEAD = b"VDYNHELO" + bytes([3]) + struct.pack(">HH", 200, 200)


def main() -> None:
    checks = Checks()
    lived: list[float] = []
    open_now, most = [0], [0]
    lock, stop = threading.Lock(), threading.Event()

    def trickle(conn: socket.socket) -> None:
        start = time.time()
        with lock:
            open_now[0] += 1
            most[0] = max(most[0], open_now[0])
        try:
            i = 0
            while not stop.is_set():
                conn.sendall(HEAD[i % len(HEAD):i % len(HEAD) + 1] if i < len(HEAD) else b"x")
                i += 1
                conn.settimeout(1.0)
                try:
                    if conn.recv(65536) == b"":
                        break
                except TimeoutError:
                    pass
        except OSError:
            pass
        finally:
            conn.close()
            with lock:
                open_now[0] -= 1
                if not stop.is_set():
                    lived.append(time.time() - start)

    with LocalNodes(nodes=3, per_process=True) as c:
        puts = Counter(c.put(f"k{i}", b"v", query="?w=3") for i in range(10))
        checks("10 puts at w=3", set(puts) == {200}, puts)
        c.kill("n3")
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", c.peer["n3"]))
        srv.listen(64)
        srv.settimeout(0.5)

        def accept() -> None:
            while not stop.is_set():
                try:
                    conn, _ = srv.accept()
                except OSError:
                    continue
                threading.Thread(target=trickle, args=(conn,), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        codes: Counter[str] = Counter()
        slow: list[str] = []
        start, i = time.time(), 0
        while time.time() - start < 40:
            for node, method in (("n1", "PUT"), ("n2", "PUT")) + ((("n1", "GET"),) if i % 5 == 0 else ()):
                t = time.time()
                try:
                    if method == "PUT":
                        code = c.put(f"p{i}-{node}", b"w", node=node, query="?w=2")
                    else:
                        code = c.get(f"k{i % 10}", node, "?r=2")[0]
                except OSError as err:
                    code = 0
                    print(f"{method} via {node}: {err!r}")
                took = time.time() - t
                codes[f"{method} {code}"] += 1
                if code != 200 or took > 3:
                    slow.append(f"{round(t - start, 1)} s {method} via {node}: {code} in {took:.1f} s")
            i += 1
            time.sleep(max(0.0, start + i - time.time()))
        stop.set()
        srv.close()
        print(f"requests: {dict(codes)}; not 200 or over 3 s: {len(slow)} {slow[:4]}")
        print(f"trickling connections accepted {len(lived) + open_now[0]}, closed by the "
              f"nodes {len(lived)}, longest {max(lived, default=0):.1f} s, at most {most[0]} open")
        checks("every request 200 within 3 s", not slow, slow[:6])
        checks("some trickling connection dialed (n3 was dialed)", len(lived) + open_now[0] > 0)
        checks("each closed within 10 s", max(lived, default=0) < 10, max(lived, default=0))
        checks("at most 6 open at once", most[0] <= 6, most[0])
    checks.finish()


if __name__ == "__main__":
    main()
