"""The client library's failover with its defaults (session 54): a new user's
``c = vdynamo.connect([n1, n2, n3]); c.put(k, v); c.get(k)``, then one node fails.

3 processes (``vdynamo serve --node``), N=3 R=2 W=2, loopback. For each fault of
n1 and each call (get, put, delete) of a key n1 leads, a client made with the
library's defaults (``vdynamo.connect(nodes)``, nothing else given) first puts and
gets that key (so it has talked to n1), then n1 fails, and the call is timed:

- ``kill``: SIGKILL (its port closed: a connection is refused at once);
- ``stop``: SIGSTOP (the process hangs; its kernel still accepts connections);
- ``firewall``: n1 killed and its HTTP port taken by a listening socket that never
  accepts, its backlog (``listen(0)``) filled, so a SYN to it is dropped (as a
  firewall that drops packets does; no iptables here).

Each call is made ``at once`` after the fault (the client answered by n1 within
the last second) and ``idle`` (2 s after the warm-up). After each call the fault is
undone (SIGCONT; or the socket closed and n1 started again) and the client closed.
Prints one line per (fault, call, when): seconds, what was returned or raised.

Run from the project's root: ``nice -n 10 .venv/bin/python
probes/23a-library-failover-defaults.py [--faults kill,stop,firewall]
[--calls get,put,delete] [--when at-once,idle]``. Every process it started is
stopped at the end (SIGCONT first), its sockets closed.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

import vdynamo
from impl import http_client


def blackhole(port: int) -> list[socket.socket]:
    """A listening socket on ``port`` that never accepts, its backlog filled: the
    sockets to close to undo it (the listener first)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(0)
    held = [listener]
    for _ in range(16):
        filler = socket.socket()
        filler.settimeout(0.3)
        try:
            filler.connect(("127.0.0.1", port))
        except OSError:  # the SYN dropped: the backlog is full
            filler.close()
            return held
        held.append(filler)
    raise SystemExit("the backlog never filled")


def fault(nodes: LocalNodes, kind: str) -> list[socket.socket]:
    proc = nodes.procs["n1"]
    if kind == "stop":
        os.kill(proc.pid, signal.SIGSTOP)
        return []
    nodes.kill("n1")
    return blackhole(nodes.http["n1"]) if kind == "firewall" else []


def undo(nodes: LocalNodes, kind: str, held: list[socket.socket]) -> None:
    if kind == "stop":
        os.kill(nodes.procs["n1"].pid, signal.SIGCONT)
        return
    for sock in held:
        sock.close()
    nodes.start("n1")


def led_by(client: vdynamo.Client, base: str, count: int) -> list[str]:
    client.router.learn(client.status())
    return [key for key in (f"k{i}" for i in range(400))
            if client.router.candidates(key)[0] == base][:count]


def call(client: vdynamo.Client, what: str, key: str) -> Any:
    if what == "get":
        return client.get(key).values
    if what == "put":
        return client.put(key, b"new")[:12] + "..."
    return client.delete(key)[:12] + "..."


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--faults", default="kill,stop,firewall")
    parser.add_argument("--calls", default="get,put,delete")
    parser.add_argument("--when", default="at-once,idle")
    args = parser.parse_args()
    print(f"library defaults: {getattr(http_client, 'DEADLINE_S', None)=} "
          f"{getattr(http_client, 'TIMEOUT_S', None)=}", flush=True)
    for kind in args.faults.split(","):
        with LocalNodes(nodes=3, per_process=True) as nodes:
            try:
                seeds = [f"127.0.0.1:{nodes.http[name]}" for name in nodes.names]
                with vdynamo.connect(seeds) as helper:
                    keys = iter(led_by(helper, f"http://{seeds[0]}", 12))
                for what in args.calls.split(","):
                    for when in args.when.split(","):
                        key = next(keys)
                        client = vdynamo.connect(seeds)
                        client.put(key, b"old")
                        client.get(key)
                        if when == "idle":
                            time.sleep(2.0)
                        held = fault(nodes, kind)
                        began, cpu = time.monotonic(), time.process_time()
                        try:
                            said = f"returned {call(client, what, key)!r}"
                        except vdynamo.NoNodeError as error:
                            said = (f"{type(error).__name__} (outcome {error.outcome}): "
                                    f"{str(error)[:150]}")
                        took = time.monotonic() - began
                        cpu = time.process_time() - cpu
                        client.close()
                        undo(nodes, kind, held)
                        print(f"{kind:8} {what:6} {when:7} {took:6.2f} s "
                              f"({cpu:.2f} CPU-s)  {said}", flush=True)
            finally:
                proc = nodes.procs.get("n1")
                if proc is not None and proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, signal.SIGCONT)


if __name__ == "__main__":
    main()
