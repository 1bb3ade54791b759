"""Generic HTTP clients' keep-alive pools against the node's idle close and a
restart, and a PUT whose body is half sent when its node is told to stop.
21g is the project's library; generic clients differ: urllib3's PoolManager
retries a PUT or DELETE (its default ``Retry(3)``: both "idempotent") when the
connection fails after the request was sent, so a blind put the node took and
then dropped the connection of would be written twice (two siblings of the same
bytes); requests and httpx do not retry, and say so with an exception.

Real processes, one per node, 3 nodes, N=3 R=2 W=2, dvv, ``http_idle_timeout_s =
0.3``.
A. urllib3.PoolManager (default retries), requests.Session, httpx.Client, each on
   n1: 25 blind puts of new keys, one every 0.28-0.32 s (seeded), n1 SIGTERMed and
   started again after the 12th (the pools hold connections to the old process).
B. A raw PUT of 64 KiB to n1 sends its head and half its body, n1 is SIGTERMed,
   the rest of the body is sent 0.5 s later; what n1 answered (or that it closed
   the connection with no answer) is recorded; n1 started again; the key read at r=3.

Right value: A. every put answers 200 or raises (no 5xx but a JSON 503), and every
key read back at r=3 is exactly [its value] (nothing written twice by a retried
request). B. the graceful stop either answers the PUT (200: the value reads back;
503 with Connection: close: nothing written) or closes the connection with no
answer and writes nothing (a client may then safely retry); never writes a value
whose client saw no answer.

Run from the project's root: .venv/bin/python probes/08p-generic-pools-at-the-idle-edge-and-a-put-half-sent-at-sigterm.py
"""
from __future__ import annotations

import os
import random
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import requests
import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes  # noqa: E402

check = Checks()


def restart(c: LocalNodes, name: str) -> None:
    proc = c.procs.pop(name)
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    c.start_node(name)
    c.ready_within(name, 30)


with LocalNodes(nodes=3, per_process=True, extra_cluster="http_idle_timeout_s = 0.3") as c:
    base = f"http://127.0.0.1:{c.http['n1']}/kv/"
    rng = random.Random(61)
    pool = urllib3.PoolManager()
    session = requests.Session()
    hx = httpx.Client(timeout=20)
    senders = {
        "urllib3": lambda url, body: pool.request(
            "PUT", url, body=body, headers={"Content-Type": "application/octet-stream"},
            timeout=20).status,
        "requests": lambda url, body: session.put(
            url, data=body, headers={"Content-Type": "application/octet-stream"},
            timeout=20).status_code,
        "httpx": lambda url, body: hx.put(
            url, content=body, headers={"Content-Type": "application/octet-stream"}).status_code,
    }
    written: dict[str, bytes] = {}
    outcomes: dict[str, list[str]] = {name: [] for name in senders}
    for i in range(25):
        if i == 12:
            restart(c, "n1")
        for name, send in senders.items():
            key, value = f"{name}-{i}", os.urandom(16)
            try:
                status = send(base + key, value)
            except Exception as error:  # noqa: BLE001 (recorded: a raised refusal)
                outcomes[name].append(type(error).__name__)
                continue
            outcomes[name].append(str(status))
            if status == 200:
                written[key] = value
        time.sleep(rng.uniform(0.28, 0.32))
    pool.clear()
    session.close()
    hx.close()
    for name, seen in outcomes.items():
        print(f"A {name}: {seen}")
        check(f"A {name}: every put 200 or raised", all(s == "200" or not s.isdigit()
                                                          for s in seen), seen)
    doubled = {}
    for key, value in written.items():
        values = c.values(key, node="n2", query="?r=3")
        if values != [value]:
            doubled[key] = len(values)
    check("A: every acknowledged key reads back as exactly [its value]", not doubled, doubled)

    # B: a PUT half-sent when n1 is told to stop
    body = os.urandom(64 << 10)
    head = (f"PUT /kv/half HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", c.http["n1"]), timeout=15) as s:
        s.sendall(head + body[: len(body) // 2])
        time.sleep(0.3)
        proc = c.procs.pop("n1")
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        try:
            s.sendall(body[len(body) // 2:])
        except OSError as error:
            print(f"B: the rest of the body not sent: {error!r}")
        answer = b""
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except OSError as error:
            print(f"B: read ended: {error!r}")
    proc.wait(30)
    c.start_node("n1")
    c.ready_within("n1", 30)
    status_line = answer.split(b"\r\n", 1)[0]
    stored = c.values("half", node="n2", query="?r=3")
    print(f"B: n1 answered {status_line!r} ({len(answer)} bytes); stored: "
          f"{[len(v) for v in stored]}")
    if status_line.startswith(b"HTTP/1.1 200"):
        check("B: a 200 reads back", stored == [body], len(stored))
    else:
        check("B: no 200, nothing written", stored == [], [len(v) for v in stored])
        check("B: a refusal is 503 or no answer", not answer or b" 503 " in status_line,
              status_line)
check.finish()
