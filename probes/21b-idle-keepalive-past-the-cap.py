"""Descriptor exhaustion by *finished* requests (the public case leaves requests
half-sent): 600 keep-alive connections (more than max_http_connections, 512)
each complete one GET and then sit idle; 100 connections to the inter-node port
complete the TCP handshake and send nothing at all (the case sends half a hello);
held 45 s while a normal client keeps working on new connections.

Right value: every normal request on a new connection is served (idle ones are
evicted to make room), and by the end the node has closed every idle HTTP
connection (http_idle_timeout_s, 30 s) and every silent peer connection
(peer_hello_timeout_s, 5 s).

Run from the project's root: .venv/bin/python probes/21b-idle-keepalive-past-the-cap.py
"""
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

HOLD = 45.0


def still_open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(65536)
            if data == b"":
                return False
    except BlockingIOError:
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
    idle, answered = [], 0
    for _ in range(600):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /kv/k HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        try:
            if s.recv(65536).startswith(b"HTTP/1.1 "):
                answered += 1
        except OSError:
            pass
        idle.append(s)
    silent = [socket.create_connection(("127.0.0.1", cluster.peer["n1"])) for _ in range(100)]
    failures = 0
    t0 = time.time()
    mid = None   # connections the node still holds at t=20 s (shows the hold is real)
    while time.time() - t0 < HOLD:
        if mid is None and time.time() - t0 >= 20:
            mid = sum(peek_open(s) for s in idle)
            print(f"t=20s: {mid} of the held HTTP connections still open")
        try:
            assert cluster.values("k") == [b"v"]
        except Exception as err:
            failures += 1
            print(f"t={time.time() - t0:4.0f}s normal GET failed: {err!r}")
        time.sleep(2)
    open_http = sum(still_open(s) for s in idle)
    open_peer = sum(still_open(s) for s in silent)
    for s in idle + silent:
        s.close()
    print(f"{answered}/600 first GETs answered; after {HOLD:.0f}s: {open_http}/600 idle HTTP and "
          f"{open_peer}/100 silent peer connections still open; {failures} normal GETs failed")
    if failures or open_http or open_peer:
        print("FAIL: idle connections hold the node's descriptors")
        sys.exit(1)
    print("PASS")
