"""Frames sent *before* the handshake completes, and hellos that claim odd names
(the "unauthenticated cluster port" reports: a client that does not wait for the
server's challenge, Riak's handoff receiver accepting data after a bare hello).

3 processes. Against each node's peer port, in one send each (no waiting):
(1) a v4 hello naming "n2", a proof of 32 zero bytes, then ReplicaPut,
HintDelivery and ReadRepair frames each followed by a zero tag; (2) the same
naming the target node itself; (3) naming "n9", a node the cluster does not have;
(4) a hello of the right version whose info names another cluster; (5) a v3 hello
(the version before); (6) the frames alone, no hello. The forged record's clock
dominates everything.
Right value: "cart" reads [milk] at r=3 through every node; a w=3 put afterwards
succeeds (the nodes closed the connections and kept serving).

Run from the project's root: .venv/bin/python probes/20b-pipelined-frames-before-proof.py
"""
import socket
import struct
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes


def payloads(target: str) -> list[tuple[str, bytes]]:
    from impl import peer_auth, wire
    from impl.config import DEFAULT_CLUSTER_NAME
    from impl.messages import HintDelivery, ReadRepair, ReplicaPut
    from impl.versions import ClockMode, Record, apply_put, encode_record
    from spec.vclock import VClock
    record = encode_record(apply_put(Record.empty(ClockMode.DVV),
                                     VClock.of({"n1": 10**6, "n2": 10**6, "n3": 10**6}),
                                     b"FORGED", coordinator="n1", client_id="x", now=0.0))
    zero_tag = bytes(peer_auth.TAG_BYTES)
    frames = b"".join(wire.encode(m) + zero_tag for m in (
        ReplicaPut(op_id=7, key=b"cart", record=record),
        HintDelivery(hint_id=7, key=b"cart", record=record),
        ReadRepair(key=b"cart", record=record)))

    def hello(name: str, cluster: str = DEFAULT_CLUSTER_NAME, version: int = peer_auth.PROTOCOL_VERSION) -> bytes:
        info = peer_auth.HelloInfo(cluster).encoded()
        data = name.encode()
        return (struct.pack(">8sBHH", peer_auth.HELLO, version, len(data), len(info)) + data + info
                + bytes(peer_auth.NONCE_BYTES))
    proof = bytes(peer_auth.TAG_BYTES)
    return [("hello n2, zero proof, frames", hello("n2") + proof + frames),
            ("hello naming the target itself", hello(target) + proof + frames),
            ("hello naming n9 (not a member)", hello("n9") + proof + frames),
            ("hello of another cluster", hello("n2", cluster="other") + proof + frames),
            ("a version-3 hello", hello("n2", version=3) + proof + frames),
            ("frames alone", frames)]


with LocalNodes(nodes=3) as cluster:
    assert cluster.put("cart", b"milk") in (200, 201, 204)
    time.sleep(0.5)
    before = cluster.values("cart", query="?r=3")
    for name in cluster.names:
        for what, data in payloads(name):
            answer = b""
            try:
                with socket.create_connection(("127.0.0.1", cluster.peer[name]), timeout=2) as s:
                    s.sendall(data)
                    time.sleep(0.2)
                    answer = s.recv(65536)
            except OSError as err:
                answer = type(err).__name__.encode()
            print(f"{name}: {what:32}: {len(answer)} bytes back")
    time.sleep(1.0)
    after = {name: cluster.values("cart", node=name, query="?r=3") for name in cluster.names}
    ok_put = cluster.put("other", b"x", query="?w=3")
    print("before:", before, "after:", after, "a w=3 put afterwards:", ok_put)
    if any(v != before for v in after.values()) or ok_put != 200:
        print("FAIL: frames sent before the proof changed stored data, or wedged the cluster")
        sys.exit(1)
    print("PASS")
