"""Peer connections that go silent without a reset (21a-21g are clients and floods
that hold connections open; here the *nodes'* own connections die quietly): a
stateful firewall, a NAT or a cloud load balancer forgets an established flow (an
idle timeout, a failover, conntrack's table full) and then drops its packets both
ways with no RST, while new connections pass. The node's socket stays open; what
it writes is retransmitted unanswered (Linux keeps trying about 15 minutes,
tcp_retries2), and TCP keepalive does not probe a connection with unacknowledged
data. Cassandra's CASSANDRA-9630 / -14358 ("OutboundTcpConnection can hang for many
minutes", fixed by internode_tcp_user_timeout) and etcd's "rafthttp stream hangs
after a NAT timeout" (fixed by a read deadline on its streams).

Run in a network namespace of its own (`unshare --net`, re-executed by itself;
its own loopback), so that the filters touch no other process's traffic: 3
processes (`serve --node`), N=3 R=2 W=2, dvv, defaults. 10 keys at w=3 (every
connection up); then every established TCP flow between n1's and n2's peer ports
is dropped both ways by policy routing on the flow's two ports into a blackhole
route (`ip rule add ipproto tcp sport A dport B table 100`; new flows pass); for 60 s a put at w=3 through n1 and one through n2, one each a second.

Right value: the nodes find the dead connections and dial again: the w=3 puts
succeed again within 30 s of the cut (PEER_KEEPALIVE's 25 s plus a round), and
every put of the last 20 s is 200.

Needs root (or CAP_NET_ADMIN and CAP_SYS_ADMIN), `unshare`, `ip` and `ss`; skipped (exit 0, says so)
otherwise. Run from the project's root:
.venv/bin/python probes/21h-black-holed-peer-connections.py
Loopback only (its own namespace), about 75 s; every process stopped.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, flows_between

MARK = "VDYNAMO_PROBE_21H_NETNS"


def in_namespace() -> None:
    """Re-execute this script in a network namespace of its own, its loopback up."""
    if os.environ.get(MARK):
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    if not all(shutil.which(tool) for tool in ("unshare", "ip", "ss")):
        print("SKIP: unshare, ip or ss missing")
        sys.exit(0)
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        print(f"SKIP: cannot make a network namespace: {probe.stderr.decode()[:200]}")
        sys.exit(0)
    env = {**os.environ, MARK: "1"}
    os.execvpe("unshare", ["unshare", "--net", "--", sys.executable, *sys.argv], env)


def drop(pairs: list[tuple[int, int]]) -> None:
    """Drop every packet of the flows ``pairs`` (source port, destination port), each
    way given: policy routing (`ip rule ... sport dport`) into a table whose only
    route is a blackhole, ahead of the local table (moved from preference 0 to 100).
    Adding a rule invalidates the sockets' cached routes, so established flows are
    hit; new flows (other ports) are routed as before."""
    for sport, dport in pairs:
        subprocess.run(["ip", "rule", "add", "pref", "10", "ipproto", "tcp", "sport", str(sport),
                        "dport", str(dport), "table", "100"], check=True)
    subprocess.run(["ip", "route", "add", "blackhole", "default", "table", "100"], check=True)
    subprocess.run(["ip", "rule", "del", "pref", "0"], check=True)
    subprocess.run(["ip", "rule", "add", "pref", "100", "table", "local"], check=True)


def main() -> None:
    in_namespace()
    checks = Checks()
    with LocalNodes(nodes=3, per_process=True) as c:
        octet = {"Content-Type": "application/octet-stream"}
        first = [c.request("PUT", f"k{i}", b"v1", node, "?w=3", octet)[0]
                 for i in range(10) for node in ("n1", "n2")]
        time.sleep(1.0)
        cut = flows_between(c.procs["n1"].pid, c.procs["n2"].pid)
        drop(cut + [(b, a) for a, b in cut])
        print(f"puts before {sorted(set(first))}; flows between n1 and n2 cut both ways: {cut}")
        start = time.time()
        seen: list[tuple[float, str, int]] = []
        while time.time() - start < 60:
            t = round(time.time() - start, 1)
            for node in ("n1", "n2"):
                try:
                    code = c.request("PUT", f"after{int(t * 10)}{node}", b"v", node, "?w=3",
                                     octet, timeout=10)[0]
                except OSError:
                    code = 0
                seen.append((t, node, code))
            time.sleep(max(0.0, 1.0 - (time.time() - start - t)))
        ok = [t for t, _, code in seen if code == 200]
        back = next((t for t in ok if all(code == 200 for u, _, code in seen if u >= t)), None)
        late = [(t, n, code) for t, n, code in seen if t >= 40 and code != 200]
        print(f"after the cut: {len(seen)} puts at w=3, {len(ok)} 200; every put 200 from "
              f"{back} s on; first 200 at {ok[0] if ok else None} s")
        print("  by 5 s:", [(t, n, code) for t, n, code in seen if t % 5 < 1][:24])
        checks("puts before the cut 200", set(first) == {200}, first)
        checks("some flow between n1 and n2 cut", bool(cut), cut)
        checks("w=3 puts through n1 and n2 succeed again within 30 s of the cut",
               back is not None and back <= 30, back)
        checks("every put of the last 20 s 200", not late, late[:8])
    checks.finish()


if __name__ == "__main__":
    main()
