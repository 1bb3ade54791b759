"""A left member's copy of the secret, before and after the operator rotates it (20h
restarts a left member on its file; 21i holds idle connections under its name; no
probe writes data with it, nor rotates the secret): a node is decommissioned and
its disk image keeps `cluster.toml`; the secret is one for the whole cluster, so
whoever holds that image can pass the peer hello under any member's name and send
a coordinator a put (docs/runtime.md, "Securing a cluster": anyone who knows the
secret can change stored data). The way out the documentation gives is to rotate
the secret: every node stopped, a new `[cluster] secret`, each started once with
`--adopt-store` (session 30's user probe). etcd and Cassandra revoke a member's
certificate instead.

`vdynamo cluster up --nodes 4` (fast rounds); 10 keys v1 at w=3; k1's context kept;
`vdynamo leave n4`; its file copied (the old secret). (a) With the old secret, a
hello to n1 as `n2` (no start token) and a `Forward` of a blind put `k0 = before`.
(b) The secret rotated: `cluster down`, a new secret in cluster.toml, `cluster up
--adopt-store`. (c) With the old secret again, a hello to n1 as `n2` and a
`Forward` of `k9 = after`. Then reads at r=3 through n1, n2, n3; a put of k1 with
the context kept from before the rotation; a read-modify-write of k1.

Right value (after the rotation): the old secret's hello refused and `k9` still
[v1]; keys k2..k8 [v1] (the data kept); the old context refused 400 naming the
secret's change; the read-modify-write 200. (a) is printed, not checked: one
cluster secret cannot tell a left member from a live one, as documented.

Run from the project's root: .venv/bin/python probes/20m-left-members-secret-then-rotation.py
Loopback only, about 40 s; every process stopped.
"""
from __future__ import annotations

import json
import secrets
import socket
import sys
import time
from collections import Counter
from importlib import import_module
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
base = import_module("07e-real-join-then-leave-w3-r1")
vd, ports, call, read, tear_down = base.vd, base.ports, base.call, base.read, base.tear_down
insider = import_module("20j-authenticated-insider-fuzzed-frames")
from _cluster import Checks  # noqa: E402

from impl import wire  # noqa: E402
from impl.messages import Forward, PutRequest  # noqa: E402
from impl.peer_auth import HelloInfo  # noqa: E402

OCTET = {"Content-Type": "application/octet-stream"}


def forward_put(port: int, secret: bytes, cluster: str, key: bytes, value: bytes) -> str:
    """A hello to ``port`` as n2 with ``secret``, then a sealed Forward of a blind put;
    what happened (the hello refused, or the frame sent)."""
    try:
        sock, _, told = insider.hello(port, secret, HelloInfo(cluster))
        sock.close()
        info = HelloInfo(told.cluster, told.limits, told.settings)
        sock, sealer, _ = insider.hello(port, secret, info)
    except (OSError, ValueError) as error:
        return f"hello refused: {type(error).__name__}: {str(error)[:120]}"
    try:
        frame = wire.encode(Forward(7001, PutRequest(7002, key, value, b"", 2, "x")))
        sock.sendall(sealer.seal(frame))
        sock.settimeout(3)
        try:
            sock.recv(65536)
        except (TimeoutError, socket.timeout):
            pass
        return "hello passed, frame sent"
    except OSError as error:
        return f"closed: {error!r}"[:120]
    finally:
        sock.close()


def main() -> None:
    checks = Checks()
    d, _, pids, p = base.cluster_up("20m", "--nodes", "4")
    try:
        first = Counter(call("PUT", p["n1"], f"/kv/k{i}?w=3", b"v1", OCTET)[0] for i in range(10))
        _, _, old_ctx = read(p["n1"], "k1", 2)
        left = vd("leave", "n4", "--dir", str(d))
        secret, cluster = base.secret_and_name(d)
        old = secret.decode()
        peer = json.loads((d / "cluster.json").read_text())["nodes"]["n1"]["peer"]
        before = forward_put(int(peer), old.encode(), cluster, b"k0", b"before")
        time.sleep(1)
        k0 = read(p["n1"], "k0", 3)[1]
        down = vd("cluster", "down", "--dir", str(d), timeout=60)
        new = secrets.token_hex(24)
        (d / "cluster.toml").write_text((d / "cluster.toml").read_text().replace(old, new))
        again = vd("cluster", "up", "--dir", str(d), "--adopt-store", timeout=120)
        nodes = json.loads((d / "cluster.json").read_text())["nodes"]
        pids |= {e["pid"] for e in nodes.values() if e.get("pid")}
        p = ports(d)
        peer = nodes["n1"]["peer"]
        time.sleep(2)
        after = forward_put(int(peer), old.encode(), cluster, b"k9", b"after")
        time.sleep(1)
        members = [m for m in ("n1", "n2", "n3") if m in p]
        k9 = {m: read(p[m], "k9", 3)[1] for m in members}
        kept = [f"k{i} via {m}: {vals}" for i in range(2, 9) for m in members
                if (vals := read(p[m], f"k{i}", 3)[1]) != [b"v1"]]
        stale = call("PUT", p["n1"], "/kv/k1?w=2", b"v2",
                     {**OCTET, **({"X-Vdynamo-Context": old_ctx} if old_ctx else {})})
        _, _, ctx = read(p["n1"], "k1", 2)
        fresh = call("PUT", p["n1"], "/kv/k1?w=2", b"v2",
                     {**OCTET, **({"X-Vdynamo-Context": ctx} if ctx else {})})[0]
        print(f"v1 {dict(first)}; leave n4 exit {left.returncode}")
        print(f"(a) old secret before the rotation, as n2: {before}; k0 now {k0}")
        print(f"(b) cluster down exit {down.returncode}; up --adopt-store with a new secret: exit "
              f"{again.returncode} {again.stderr.strip()[-200:]!r}")
        print(f"(c) old secret after: {after}; k9 {k9}")
        print(f"k2..k8 not [v1]: {kept[:4]}; put with the context from before: {stale[0]} "
              f"{stale[2][:160]!r}; read-modify-write after: {fresh}")
        checks("cluster up --adopt-store exits 0", again.returncode == 0, again.stderr[-300:])
        checks("the old secret's hello refused after the rotation", after.startswith("hello refused"),
               after)
        checks("k9 untouched", all(v == [b"v1"] for v in k9.values()), k9)
        checks("the data kept through the rotation", not kept, kept[:4])
        checks("the old context refused 400 naming the secret", stale[0] == 400
               and b"secret" in stale[2], stale[2][:200])
        checks("a read-modify-write after 200", fresh == 200, fresh)
    finally:
        tear_down(d, pids)
    checks.finish()


if __name__ == "__main__":
    main()
