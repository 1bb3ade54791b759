"""Half-sent requests and half hellos on *every* port of a `serve --all` process at
once, under a low open-files limit (the public case floods one node's two ports of
an `--all` process with the default limit; tests/runtime/test_descriptor_limit.py
holds 150 idle sockets on one port under 128): a small VM or a container started
with `ulimit -n 256` (Docker's old default 1024 shared with a sidecar; systemd's
`LimitNOFILE=` set low by a hardening guide) runs the whole 3-node cluster in one
process, and a scanner or a broken load balancer holds every port. The caps are
fitted to the limit at the start (`impl.connections.fit_descriptors`); the flood
here opens more connections than the *process* can hold, over all six ports.

One `vdynamo serve FILE --all` process of 3 nodes, dvv, N=3 R=2 W=2, its open-files
limit 256 (soft and hard: it cannot raise it). 4 keys at w=3. Then 150 connections
to each node's HTTP port sending the start of a PUT's headers, and 60 to each
node's peer port sending half a hello (630 in all, over twice the limit); each
refused or closed connection is opened again by 6 threads for 40 s. Meanwhile a
client every 1 s: a w=3 PUT and an r=3 GET through n1, n2, n3 in turn (new
connections).

Right value: the process stays up and logs no traceback; from 10 s into the flood
every client request is answered 200 within 5 s (idle connections evicted; the
header timeout closes the rest), at most 2 failures in the first 10 s; after the
flood the 4 keys and every acknowledged PUT read right at r=3 through every node.

Run from the project's root: .venv/bin/python probes/21l-every-port-of-an-all-process-flooded-under-a-low-fd-limit.py
Loopback only, about 60 s; every process stopped, every socket closed.
"""
from __future__ import annotations

import resource
import socket
import subprocess
import threading
import time
from collections import Counter

from _cluster import Checks, LocalNodes, vdynamo_command

LIMIT = 256
HOLD = 40.0


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


def main() -> None:
    checks = Checks()
    c = LocalNodes(nodes=3)
    stop = threading.Event()
    opened = Counter[str]()
    lock = threading.Lock()
    held: list[socket.socket] = []
    log = open(c.dir / "all.log", "ab")
    proc = subprocess.Popen([*vdynamo_command(), "serve", str(c.config), "--all"], cwd=c.dir,
                            stdout=log, stderr=log, preexec_fn=limited)
    c.procs["all"] = proc

    def hold(kind: str, port: int, data: bytes) -> None:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.sendall(data)
        except OSError:
            return
        with lock:
            held.append(s)
            opened[kind] += 1

    def reopen() -> None:
        while not stop.is_set():
            with lock:
                for s in [s for s in held if _closed(s)]:
                    held.remove(s)
                    s.close()
                room = len(held) < 630
            if room:
                for name in c.names:
                    hold("http", c.http[name], b"PUT /kv/slow HTTP/1.1\r\nHost: x\r\n")
                    hold("peer", c.peer[name], b"VDYNHELO\x04")
            time.sleep(0.05)

    try:
        c.wait_ready()
        time.sleep(2)
        base = {f"k{i}": c.put(f"k{i}", b"v%d" % i, query="?w=3") for i in range(4)}
        for name in c.names:
            for _ in range(150):
                hold("http", c.http[name], b"PUT /kv/slow HTTP/1.1\r\nHost: x\r\n")
            for _ in range(60):
                hold("peer", c.peer[name], b"VDYNHELO\x04")
        threads = [threading.Thread(target=reopen, daemon=True) for _ in range(6)]
        for thread in threads:
            thread.start()
        start = time.monotonic()
        results: list[tuple[float, str, str]] = []
        acked: dict[str, bytes] = {}
        i = 0
        while time.monotonic() - start < HOLD:
            node = c.names[i % 3]
            key, value = f"during{i}", b"d%d" % i
            t = round(time.monotonic() - start, 1)
            try:
                code = c.request("PUT", key, value, node=node, query="?w=3", timeout=5,
                                 headers={"Content-Type": "application/octet-stream"})[0]
            except OSError as error:
                code = type(error).__name__
            if code == 200:
                acked[key] = value
            try:
                got = c.request("GET", "k0", node=node, query="?r=3", timeout=5)[0]
            except OSError as error:
                got = type(error).__name__
            results.append((t, f"put {code}", f"get {got}"))
            i += 1
            time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join(10)
        with lock:
            for s in held:
                s.close()
            held.clear()
        alive = proc.poll() is None
        time.sleep(2)
        wrong = [f"{k} via {n}: {got}" for k, v in {**{f"k{i}": b"v%d" % i for i in range(4)},
                                                    **acked}.items()
                 for n in c.names if (got := _values(c, k, n)) != [v]] if alive else ["dead"]
        early = [r for r in results if r[0] < 10 and (r[1] != "put 200" or r[2] != "get 200")]
        late = [r for r in results if r[0] >= 10 and (r[1] != "put 200" or r[2] != "get 200")]
        text = (c.dir / "all.log").read_text(errors="replace")
        tracebacks = text.count("Traceback")
        emfile = text.count("Too many open files")
        print(f"base puts {base}; flood opened {dict(opened)}")
        print(f"client during {HOLD:.0f} s: {Counter(r[1] for r in results)} "
              f"{Counter(r[2] for r in results)}")
        print(f"failed in the first 10 s: {early[:4]}; after: {len(late)} {late[:6]}")
        print(f"process alive {alive}; log: {tracebacks} tracebacks, {emfile} 'Too many open "
              f"files'; wrong at r=3 after: {wrong[:4]}")
        for line in [ln for ln in text.splitlines() if "rror" in ln][:4]:
            print("  log:", line[:300])
        checks("process alive", alive)
        checks("no traceback in the log", tracebacks == 0, tracebacks)
        checks("at most 2 failures in the first 10 s", len(early) <= 2, early[:4])
        checks("every request answered 200 from 10 s on", not late, late[:6])
        checks("every acknowledged key right at r=3 after", not wrong, wrong[:4])
    finally:
        stop.set()
        with lock:
            for s in held:
                s.close()
        log.close()
        c.__exit__()  # SIGTERM (then SIGKILL) to the process, the directory removed
    checks.finish()


def _values(c: LocalNodes, key: str, node: str) -> list[bytes]:
    try:
        return c.values(key, node=node, query="?r=3")
    except (OSError, RuntimeError) as error:
        return [repr(error)[:60].encode()]


def _closed(s: socket.socket) -> bool:
    try:
        s.setblocking(False)
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


if __name__ == "__main__":
    main()
