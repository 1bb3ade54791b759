"""A flood of unauthenticated connections to the inter-node port while a real
peer has to reconnect (the public case keeps 50 half hellos still; here 16
attacker threads reconnect as soon as they are closed, so the slots never free
by themselves: Cassandra's internode port floods, Riak's handoff-port exhaustion
"{error, emfile}" reports).

3 processes. 16 threads keep opening connections to n1's peer port (more than
max_peer_connections, 128, in flight), each sending half a hello and holding it.
Meanwhile n2 is SIGKILLed and started again, so n2 and n1 must dial each other
through the flood. After 10 s, and for 20 s more, w=3 puts through n2 and through
n1 (which need n1 <-> n2 connections).
Right value: within 10 s of n2's restart every w=3 put through either node
succeeds, and keeps succeeding while the flood goes on.

Run from the project's root: .venv/bin/python probes/21c-peer-flood-while-a-peer-restarts.py
"""
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes  # noqa: E402

def _walk(doc: object, prefix: str = "") -> list[tuple[str, object]]:
    if isinstance(doc, dict):
        return [kv for k, v in doc.items() for kv in _walk(v, f"{prefix}{k}.")]
    return [(prefix.rstrip("."), doc)] if isinstance(doc, int | float) else []


with LocalNodes(nodes=3, per_process=True) as c:
    c.put("k", b"v", query="?w=3")
    stop = time.time() + 40
    opened = [0]

    def flood() -> None:
        held: list[socket.socket] = []
        while time.time() < stop:
            try:
                s = socket.create_connection(("127.0.0.1", c.peer["n1"]), timeout=1)
                s.sendall(b"VDYNHELO")
                held.append(s)
                opened[0] += 1
            except OSError:
                time.sleep(0.01)
            alive = []
            for s in held:
                s.setblocking(False)
                try:
                    gone = s.recv(1) == b""
                except BlockingIOError:
                    gone = False
                except OSError:
                    gone = True
                if gone:
                    s.close()
                else:
                    alive.append(s)
            held = alive
        for s in held:
            s.close()

    threads = [threading.Thread(target=flood) for _ in range(16)]
    for t in threads:
        t.start()
    time.sleep(3)
    c.kill("n2")
    c.start("n2")
    restarted = time.time()
    time.sleep(10)
    results = []
    while time.time() < restarted + 30:
        for via in ("n2", "n1"):
            status = c.request("PUT", f"p{len(results)}", b"x", via, "?w=3",
                               {"Content-Type": "application/octet-stream"})[0]
            results.append((round(time.time() - restarted, 1), via, status))
        time.sleep(1)
    import json
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{c.http['n1']}/status", timeout=10) as resp:
        status_doc = resp.read().decode()
    counts = {k: v for k, v in _walk(json.loads(status_doc)) if "peer" in k}
    for t in threads:
        t.join(60)
    print("n1's peer counters during the flood:", counts)
    bad = [r for r in results if r[2] != 200]
    print(f"attacker connections opened: {opened[0]}; w=3 puts from 10 s after the restart: "
          f"{len(results) - len(bad)}/{len(results)} ok; failures {bad[:6]}")
    if bad:
        print("FAIL: a peer could not reconnect through a flood of unauthenticated connections")
        sys.exit(1)
    print("PASS")
