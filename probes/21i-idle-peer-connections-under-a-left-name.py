"""Idle, *authenticated* peer connections under the name of a node that left (21b
and the public case hold unauthenticated half hellos; 20d runs a second process
under a live member's name): the machine of a retired node keeps its cluster file
(the secret) and a script or a stuck supervisor keeps dialing the peer port as that
node and then does nothing, hundreds of times: etcd's "removed member keeps
connecting" and Cassandra's "decommissioned node still gossiping" reports.

`vdynamo cluster up --nodes 4` (fast rounds), 10 keys; `vdynamo leave n4` (its
process stops). Then, with the secret of cluster.toml, 300 connections to n1's peer
port each complete the whole hello as `n4` (the settings and limits n1's own
challenge tells, no start token) and then send nothing, all held open; for 40 s a
client puts at w=3 through n1 every 0.5 s.

Right value: every put 200; n1 holds at most one of the 300 open 35 s later (it
keeps one connection a peer; its keepalive and slots bound the rest); n1's view of
n4 stays `left`.

Run from the project's root: .venv/bin/python probes/21i-idle-peer-connections-under-a-left-name.py
Loopback only, about 70 s; every process stopped.
"""
from __future__ import annotations

import json
import socket
import sys
import tempfile
import time
import tomllib
from collections import Counter
from importlib import import_module
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
base = import_module("07e-real-join-then-leave-w3-r1")
vd, ports, call, tear_down, FAST = base.vd, base.ports, base.call, base.tear_down, base.FAST
from _cluster import Checks, closed_by_node, recv_exact  # noqa: E402

from impl.peer_auth import (  # noqa: E402
    HELLO_HEAD_BYTES,
    NONCE_BYTES,
    TAG_BYTES,
    Dialer,
    HelloInfo,
    parse_hello_head,
)


def hello(port: int, secret: bytes, name: str, target: str,
          info: HelloInfo) -> tuple[socket.socket, bytes, bool]:
    """A connection that sent ``name``'s hello; (socket, the acceptor's info, whether
    the proof was sent: the challenge verified)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    dialer = Dialer(secret, name, target, info)
    sock.sendall(dialer.hello())
    length, info_length = parse_hello_head(recv_exact(sock, HELLO_HEAD_BYTES))
    peer = recv_exact(sock, length)
    peer_info = recv_exact(sock, info_length)
    nonce, proof = recv_exact(sock, NONCE_BYTES), recv_exact(sock, TAG_BYTES)
    try:
        mine, _, _ = dialer.on_challenge(peer, peer_info, nonce, proof)
    except Exception:
        return sock, peer_info, False
    sock.sendall(mine)
    return sock, peer_info, True


def main() -> None:
    checks = Checks()
    d = Path(tempfile.mkdtemp(prefix="vdynamo-probe21i-")) / "c"
    pids: set[int] = set()
    held: list[socket.socket] = []
    try:
        up = vd("cluster", "up", "--dir", str(d), "--nodes", "4", *FAST)
        assert up.returncode == 0, up.stderr
        pids = {e["pid"] for e in json.loads((d / "cluster.json").read_text())["nodes"].values()}
        p = ports(d)
        octet = {"Content-Type": "application/octet-stream"}
        before = [call("PUT", p["n1"], f"/kv/k{i}?w=3", b"v", octet)[0] for i in range(10)]
        left = vd("leave", "n4", "--dir", str(d))
        toml = tomllib.loads((d / "cluster.toml").read_text())
        secret, name = toml["cluster"]["secret"].encode(), toml["cluster"].get("name", "vdynamo")
        peer_port = json.loads((d / "cluster.json").read_text())["nodes"]["n1"]["peer"]
        # n1's own info, from a first challenge: its settings and limits, no start token
        first, raw, _ = hello(peer_port, secret, "n4", "n1", HelloInfo(name))
        first.close()
        told = HelloInfo.decode(raw)
        info = HelloInfo(told.cluster, told.limits, told.settings)
        verified = Counter()
        for _ in range(300):
            try:
                sock, _, ok = hello(peer_port, secret, "n4", "n1", info)
                verified[ok] += 1
                held.append(sock)
            except OSError as error:
                verified[type(error).__name__] += 1
        codes: Counter[int] = Counter()
        start = time.monotonic()
        while time.monotonic() - start < 40:
            codes[call("PUT", p["n1"], f"/kv/during{int(time.monotonic() * 10)}?w=3", b"v",
                       octet)[0]] += 1
            time.sleep(0.5)
        still = sum(not closed_by_node(sock) for sock in held)
        view = json.loads(call("GET", p["n1"], "/status")[2])["membership"].get("n4", {})
        print(f"puts before {Counter(before)}; leave n4 exit {left.returncode}; hellos as the "
              f"left n4 (proof sent: True) {dict(verified)}")
        print(f"w=3 puts through n1 during 40 s: {dict(codes)}; insider connections still "
              f"open 40 s later: {still} of {len(held)}; n1's view of n4 {view.get('status')}")
        checks("leave exits 0", left.returncode == 0, left.stderr[-200:])
        checks("every w=3 put 200", set(codes) == {200} and set(before) == {200}, codes)
        checks("at most one of the idle connections held", still <= 1, still)
        checks("n4 stays left", view.get("status") == "left", view)
    finally:
        for sock in held:
            sock.close()
        tear_down(d, pids)
    checks.finish()


if __name__ == "__main__":
    main()
