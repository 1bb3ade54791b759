"""An *authenticated* peer that sends well-sealed nonsense (20a-20i are outsiders, a
wrong secret, a replayed session, a twin; case 20 forges frames without the secret):
a machine that keeps the cluster file (a retired node, a half-upgraded node with a
bug, a debugging script) completes the hello under a member's name, then sends
frames whose MAC is right but whose content is not what a node would send: raw
garbage after the proof, tagged garbage, tagged frames corrupted byte by byte that
still decode as messages (replies to requests never made, Merkle exchanges over odd
ranges, records that do not decode, gossip that is not JSON, hint deliveries and
reaps of unknown keys). Riak's "a buggy node crashed its peers' vnodes" and
Cassandra's "a malformed gossip state from one node took the ring down"
(CASSANDRA-6800's family).

3 processes (`serve --node`), dvv, N=3 R=2 W=2; 20 keys `k*` at w=3. With the
secret of the cluster file, connections to n1's peer port each complete the hello
as `n3` (no start token: a node of before session 28 is not checked) and send:
(a) 64 random bytes after the proof; (b) one tagged frame of 64 random bytes;
(c) 600 tagged frames, each a sample message of tests/impl/test_wire.py (key `f*`,
never `k*`) with 1-4 bytes changed, kept when it still decodes (reconnecting when
n1 closes). Throughout, the real n3 keeps serving.

Right value: n1 stays up; `vdynamo_internal_errors_total` stays 0 (a frame that
decodes is a valid message: an exception while handling it is the node's own
fault, "impl.internal_errors"); every w=3 put through n1 afterwards 200 within 10 s;
the 20 keys read [their value] at r=3 through n1.

Run from the project's root: .venv/bin/python probes/20j-authenticated-insider-fuzzed-frames.py [SEED]
Loopback only, about 30 s; every process stopped.
"""
from __future__ import annotations

import os
import random
import re
import socket
import sys
import time
import tomllib
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, recv_exact  # noqa: E402

from impl import wire  # noqa: E402
from impl.errors import BadMessageError  # noqa: E402
from impl.peer_auth import (  # noqa: E402
    HELLO_HEAD_BYTES,
    NONCE_BYTES,
    TAG_BYTES,
    Dialer,
    FrameSealer,
    HelloInfo,
    parse_hello_head,
)
from tests.impl.test_wire import SAMPLES  # noqa: E402


def hello(port: int, secret: bytes, info: HelloInfo) -> tuple[socket.socket, FrameSealer,
                                                                HelloInfo]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    dialer = Dialer(secret, "n3", "n1", info)
    sock.sendall(dialer.hello())
    length, info_length = parse_hello_head(recv_exact(sock, HELLO_HEAD_BYTES))
    peer, peer_info = recv_exact(sock, length), recv_exact(sock, info_length)
    nonce, proof = recv_exact(sock, NONCE_BYTES), recv_exact(sock, TAG_BYTES)
    mine, sealer, _ = dialer.on_challenge(peer, peer_info, nonce, proof)
    sock.sendall(mine)
    return sock, sealer, HelloInfo.decode(peer_info)


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    found = re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    return sum(float(v) for v in found)


def mutated(rng: random.Random) -> bytes | None:
    message = rng.choice(SAMPLES)
    frame = bytearray(wire.encode(message))
    frame = bytearray(bytes(frame).replace(b"k", b"f"))  # keys f*, never the k* checked
    try:
        wire.decode(bytes(frame))
    except BadMessageError:
        frame = bytearray(wire.encode(message))
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(10, len(frame)) if len(frame) > 10 else rng.randrange(len(frame))
        frame[i] = rng.randrange(256)
    try:
        wire.decode(bytes(frame))
    except BadMessageError:
        return None
    return bytes(frame)


def main() -> None:
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    rng = random.Random(seed)
    checks = Checks()
    with LocalNodes(nodes=3, per_process=True, extra_cluster='clock = "dvv"') as c:
        toml = tomllib.loads(c.config.read_text())
        secret = toml["cluster"]["secret"].encode()
        for i in range(20):
            checks(f"k{i} put", c.put(f"k{i}", b"v%d" % i, query="?w=3") == 200)
        before = metric(c.http["n1"], "vdynamo_internal_errors_total")
        sock, _, told = hello(c.peer["n1"], secret, HelloInfo("vdynamo"))
        sock.close()
        info = HelloInfo(told.cluster, told.limits, told.settings)
        # (a) raw garbage after the proof; (b) one tagged garbage frame
        sock, sealer, _ = hello(c.peer["n1"], secret, info)
        sock.sendall(os.urandom(64))
        sock.close()
        sock, sealer, _ = hello(c.peer["n1"], secret, info)
        sock.sendall(sealer.seal(os.urandom(64)))
        sock.close()
        # (c) tagged frames that decode, corrupted
        sent: Counter[str] = Counter()
        sock, sealer, _ = hello(c.peer["n1"], secret, info)
        while sum(sent.values()) < 600:
            frame = mutated(rng)
            if frame is None:
                continue
            try:
                sock.sendall(sealer.seal(frame))
                sent[type(wire.decode(frame)).__name__] += 1
            except OSError:
                sock.close()
                sock, sealer, _ = hello(c.peer["n1"], secret, info)
        time.sleep(2.0)
        sock.close()
        alive = c.procs["n1"].poll() is None
        after = metric(c.http["n1"], "vdynamo_internal_errors_total") if alive else -1
        codes: Counter[int] = Counter()
        deadline = time.time() + 10
        first_ok = None
        said: dict[int, str] = {}
        while time.time() < deadline:
            code, _, body = c.request("PUT", f"after{len(codes)}", b"x", query="?w=3",
                                      headers={"Content-Type": "application/octet-stream"})
            codes[code] += 1
            if code != 200 and code not in said:
                said[code] = body[:200].decode(errors="replace")
            if code == 200 and first_ok is None:
                first_ok = round(10 - (deadline - time.time()), 1)
            if code == 200 and codes[200] >= 5:
                break
            time.sleep(0.3)
        wrong = [f"k{i}: {vals}" for i in range(20)
                 if (vals := c.values(f"k{i}", query="?r=3")) != [b"v%d" % i]]
        log = (c.dir / "n1.log").read_text(errors="replace")
        print(f"seed {seed}: sent {sum(sent.values())} decodable corrupted frames {dict(sent)}")
        print(f"n1 alive {alive}; internal errors {before} -> {after}; puts after {dict(codes)} "
              f"(first 200 at {first_ok} s) {said}; k* wrong {wrong[:4]}")
        for line in [ln for ln in log.splitlines() if "internal" in ln.lower()][:5]:
            print("  n1.log:", line[:300])
        checks("n1 stays up", alive)
        checks("no internal error", after == before, (before, after))
        checks("w=3 puts through n1 200 afterwards", codes[200] >= 1, dict(codes))
        checks("k* unchanged at r=3", not wrong, wrong[:4])
    checks.finish()


if __name__ == "__main__":
    main()
