"""A peer that speaks the whole current protocol but holds the *wrong* secret
(an old cluster file, a secret rotated elsewhere, an attacker who guessed the
format: Riak's unauthenticated handoff port 8099 and Cassandra's internode port
7000 reports), writing with ReplicaPut and HintDelivery instead of ReadRepair.

3 processes. The attacker dials each node's peer port naming itself "n2" (to n1,
n3) or "n1" (to n2), sends a well-formed version-4 hello of the right cluster
name, reads the challenge, answers with the proof its own (wrong) secret gives,
and sends frames sealed with the keys that secret gives: a ReplicaPut and a
HintDelivery of a record whose clock dominates everything, for the key "cart".
Right value: "cart" reads [milk] at r=3 through every node afterwards, and the
cluster still serves a put and a get (the connection is refused, nothing applied).

Run from the project's root: .venv/bin/python probes/20a-wrong-secret-full-handshake.py
(`--control` sends the same frames with the cluster's own secret: the probe must
then print FAIL, which shows the attack would change data if the secret matched)
"""
import secrets
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes, recv_exact


def forged_record() -> bytes:
    from impl.versions import ClockMode, Record, apply_put, encode_record
    from spec.vclock import VClock
    record = apply_put(Record.empty(ClockMode.DVV),
                       VClock.of({"n1": 10**6, "n2": 10**6, "n3": 10**6}),
                       b"FORGED", coordinator="n1", client_id="x", now=0.0)
    return encode_record(record)


CONTROL_SECRET: bytes | None = None   # set by --control: the cluster's own secret


def attack(port: int, claim: str, target: str) -> str:
    from impl import peer_auth, wire
    from impl.config import DEFAULT_CLUSTER_NAME
    from impl.messages import HintDelivery, ReplicaPut
    wrong = CONTROL_SECRET or secrets.token_bytes(24)
    info = peer_auth.HelloInfo(DEFAULT_CLUSTER_NAME)
    dialer = peer_auth.Dialer(secret=wrong, name=claim, expected=target, info=info)
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(dialer.hello())
        try:
            head = recv_exact(s, peer_auth.HELLO_HEAD_BYTES)
            nlen, ilen = peer_auth.parse_hello_head(head)
            name = recv_exact(s, nlen)
            info_raw = recv_exact(s, ilen)
            nonce = recv_exact(s, peer_auth.NONCE_BYTES)
            recv_exact(s, peer_auth.TAG_BYTES)
        except (OSError, ConnectionError, peer_auth.PeerAuthError) as err:
            return f"no challenge ({err})"
        t = peer_auth._Transcript(peer_auth.peer_key(wrong, DEFAULT_CLUSTER_NAME), claim,
                                  name.decode(), dialer.nonce, nonce, info.encoded(), info_raw)
        out_key, _ = t.keys()
        sealer = peer_auth.FrameSealer(out_key)
        record = forged_record()
        frames = [wire.encode(ReplicaPut(op_id=1, key=b"cart", record=record)),
                  wire.encode(HintDelivery(hint_id=1, key=b"cart", record=record))]
        try:
            s.sendall(t.proof(b"dialer") + b"".join(sealer.seal(f) for f in frames))
            time.sleep(0.3)
            rest = s.recv(4096)
        except OSError as err:
            return f"sent; then {type(err).__name__}"
        return f"sent; node answered {len(rest)} bytes then {'closed' if not rest else 'kept open'}"


with LocalNodes(nodes=3) as cluster:
    if "--control" in sys.argv:  # the probe's own check: with the real secret it must FAIL
        import tomllib
        CONTROL_SECRET = tomllib.loads(cluster.config.read_text())["cluster"]["secret"].encode()
    assert cluster.put("cart", b"milk") in (200, 201, 204)
    time.sleep(0.5)
    before = cluster.values("cart", query="?r=3")
    for name, claim in (("n1", "n2"), ("n2", "n1"), ("n3", "n2")):
        print(f"attack on {name} claiming {claim}:", attack(cluster.peer[name], claim, name))
    time.sleep(1.0)
    after = {name: cluster.values("cart", node=name, query="?r=3") for name in cluster.names}
    ok_put = cluster.put("other", b"x", query="?w=3")
    print("before:", before, "after:", after, "a w=3 put afterwards:", ok_put)
    if any(v != before for v in after.values()) or ok_put != 200:
        print("FAIL: a peer with the wrong secret changed stored data or wedged the cluster")
        sys.exit(1)
    print("PASS: the wrong-secret peer changed nothing")
