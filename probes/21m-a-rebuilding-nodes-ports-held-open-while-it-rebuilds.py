"""A node whose disk was replaced rebuilds while half-open connections hold its
ports and its donors' peer ports (21b-21l hold ports of nodes that serve, restart or
join; none while a node rebuilds from empty): the morning a failed disk is swapped,
a broken sidecar or a port scanner keeps half-sent hellos on every internode port
and a load balancer's health checks half-sent heads on the new node's HTTP port
(Cassandra's "bootstrap streaming stalled, native port flooded", Riak's handoff
stuck behind `{error, emfile}`).

3 processes (`serve --node`), dvv, N=3 R=2 W=2, `max_http_connections = 16`,
`max_peer_connections = 8`, fast rounds. 60 keys of 8 KB at w=3. n2 SIGKILLed and
its files deleted; 12 threads hold half hellos on each of n1's, n2's and n3's peer
ports and 24 hold half PUT heads on n2's HTTP port (over its cap), each reopened at
once when closed; n2 started. For 30 s: every 0.5 s a put at w=2 through n1 of a
new key, and a read at r=2 through n3 of an old one. Then the floods stop.

Right value: every read through n3 during the flood answers its key's value (or a
5xx; never a 404 or another value), some w=2 put through n1 is 200 within 10 s of
n2's start and every one from 15 s on; within 20 s after the floods stop n2 is
ready and every old key and every acknowledged new key reads right at r=1 through
n2 (its rebuild done, nothing missing).

Run from the project's root: .venv/bin/python probes/21m-a-rebuilding-nodes-ports-held-open-while-it-rebuilds.py
Loopback only, about 60 s; every process stopped, every socket closed.
"""
from __future__ import annotations

import time
from collections import Counter

from _cluster import Checks, LocalNodes, hold_open

SETTINGS = ('clock = "dvv"\nmax_http_connections = 16\nmax_peer_connections = 8\n'
            'gossip_interval = 0.25\nanti_entropy_interval = 0.5\nhint_scan_interval = 0.25')
HALF_HELLO = b"VDYNHELO\x04"
HALF_HEAD = b"PUT /kv/x HTTP/1.1\r\nHost: x\r\nContent-Le"


def main() -> None:
    checks = Checks()
    c = LocalNodes(nodes=3, per_process=True, extra_cluster=SETTINGS)
    ends = []
    try:
        for name in c.names:
            c.start_node(name)
        old = c.put_random(60, 8192, checks)
        c.wipe("n2")
        ends = [hold_open(c.peer[n], HALF_HELLO, 12) for n in c.names]
        ends.append(hold_open(c.http["n2"], HALF_HEAD, 24))
        time.sleep(1)
        c.start_node("n2", wait=False)
        at = time.monotonic()
        puts: list[tuple[float, int]] = []
        new: dict[str, bytes] = {}
        wrong: list[str] = []
        i = 0
        while time.monotonic() - at < 30:
            key, value = f"new{i}", b"n%d" % i
            try:
                code = c.put(key, value, query="?w=2")
            except OSError:
                code = 0
            puts.append((round(time.monotonic() - at, 1), code))
            if code == 200:
                new[key] = value
            k = f"k{i % 60}"
            status, body = c.get(k, "n3", "?r=2")
            if status < 500 and (status, body) != (200, old[k]):
                wrong.append(f"{k} via n3: {status} {body[:20]!r}")
            i += 1
            time.sleep(0.5)
        opened = [end() for end in ends]
        ends = []
        ready = c.ready_within("n2", 20)
        missing = [k for k, v in {**old, **new}.items() if c.get(k, "n2", "?r=1") != (200, v)]
        first_ok = next((t for t, code in puts if code == 200), None)
        late = [(t, code) for t, code in puts if t >= 15 and code != 200]
        print(f"held open: peer ports {opened[:3]}, n2's HTTP {opened[3]}")
        print(f"w=2 puts through n1: {Counter(code for _, code in puts)}; first 200 at "
              f"{first_ok} s; from 15 s not 200: {late[:6]}")
        print(f"reads through n3 wrong: {len(wrong)} {wrong[:3]}")
        print(f"n2 ready {ready} s after the floods; at r=1 through n2 missing or wrong: "
              f"{len(missing)} of {len(old) + len(new)} {missing[:4]}")
        checks("no wrong read through n3", not wrong, wrong[:4])
        checks("a put 200 within 10 s", first_ok is not None and first_ok <= 10, first_ok)
        checks("every put 200 from 15 s", not late, late[:6])
        checks("n2 ready within 20 s of the floods' end", ready is not None, ready)
        checks("every key right through n2 at r=1", not missing, missing[:4])
    finally:
        for end in ends:
            end()
        c.__exit__()  # every process stopped, the directory removed
    checks.finish()


if __name__ == "__main__":
    main()
