"""A flood of forged hellos to the inter-node port, each a different way of being
wrong (the public case and 20a/20b send a few forged sessions; an attacker with
no secret sends thousands: Cassandra's internode port and Riak's handoff port
"log flooding" and CPU reports): a wrong magic, a version the node does not speak,
name and info lengths of 65,535 with nothing after, an info of `[` x 60,000, a
name with invalid UTF-8 and NUL bytes, a hello of another cluster, a hello that
answers the challenge with a wrong proof, a TLS ClientHello and an HTTP request.

3 processes, defaults. 1,200 connections (8 threads of 150, the kinds in turn) against
n1's peer port, while a client writes at w=3 every 0.5 s.
Right value: every w=3 write succeeds; n1's log grows by less than 200 KB (the
refusals are summarized, not one line of a malicious peer's bytes each); n1
spends less than 15 CPU-s on the flood; no forged byte reaches the store
("cart" reads [milk] at r=3 through every node).

Run from the project's root: .venv/bin/python probes/20c-bad-hello-flood-log-and-cpu.py
"""
import os
import socket
import struct
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes


def kinds() -> list[bytes]:
    from impl import peer_auth
    from impl.config import DEFAULT_CLUSTER_NAME

    def hello(name: bytes, info: bytes, version: int = peer_auth.PROTOCOL_VERSION) -> bytes:
        return (struct.pack(">8sBHH", peer_auth.HELLO, version, len(name), len(info)) + name + info
                + os.urandom(peer_auth.NONCE_BYTES))
    good_info = peer_auth.HelloInfo(DEFAULT_CLUSTER_NAME).encoded()
    return [
        b"VDYNHELX" + b"\x04\x00\x02\x00\x02n2{}" + bytes(32),
        hello(b"n2", good_info, version=99),
        struct.pack(">8sBHH", peer_auth.HELLO, peer_auth.PROTOCOL_VERSION, 65535, 65535),
        hello(b"n2", b"[" * 60000),
        hello(b"n\xff\x00\xc3", good_info),
        hello(b"n2", peer_auth.HelloInfo("other-cluster").encoded()),
        hello(b"n2", good_info) + b"\x00" * 32 + b"\x00" * 200,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(200),
    ] + [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


with LocalNodes(nodes=3, per_process=True) as cluster:
    assert cluster.put("cart", b"milk") == 200
    log = cluster.dir / "n1.log"
    size0, pid = log.stat().st_size, cluster.procs["n1"].pid
    cpu0 = cpu_s(pid)
    payloads = kinds()
    sent = [0]

    def flood(share: int) -> None:
        for i in range(share):
            data = payloads[i % len(payloads)]
            try:
                with socket.create_connection(("127.0.0.1", cluster.peer["n1"]), timeout=0.5) as s:
                    s.sendall(data)
                    try:
                        s.recv(4096)
                    except OSError:
                        pass
                sent[0] += 1
            except OSError:
                pass

    threads = [threading.Thread(target=flood, args=(150,)) for _ in range(8)]
    t0 = time.time()
    for t in threads:
        t.start()
    codes = []
    while any(t.is_alive() for t in threads):
        codes.append(cluster.put(f"w{len(codes)}", b"x", query="?w=3"))
        time.sleep(0.5)
    for t in threads:
        t.join()
    took = time.time() - t0
    time.sleep(2)
    grew = log.stat().st_size - size0
    cpu = cpu_s(pid) - cpu0
    after = {n: cluster.values("cart", node=n, query="?r=3") for n in cluster.names}
    print(f"{sent[0]} forged hellos in {took:.1f} s; n1's log grew {grew} bytes, n1 used {cpu:.1f} CPU-s; "
          f"w=3 puts meanwhile: {len(codes)}, failed {[c for c in codes if c != 200]}")
    print("cart after:", after)
    tail = log.read_text(errors="replace").splitlines()[-3:]
    print("n1's last log lines:", *[line[:160] for line in tail], sep="\n  ")
    if (any(c != 200 for c in codes) or grew > 200_000 or cpu > 15
            or any(v != [b"milk"] for v in after.values())):
        print("FAIL: a flood of forged hellos flooded the log, burned CPU, or disturbed writes")
        sys.exit(1)
    print("PASS")
