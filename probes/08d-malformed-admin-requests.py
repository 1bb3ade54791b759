"""Malformed and forged requests to the one endpoint that changes membership,
`POST /admin/force-remove?node=NODE` (the public case and 08a-08c send them to
/kv and the read-only endpoints): no or a malformed Authorization, a token of the
right shape and a wrong tag, a token made for another member or node, a token
replayed, a token stamped an hour ago, `node` missing, repeated, empty, with a NUL,
percent-escapes that do not decode, 10,000 characters, another method (GET, PUT,
DELETE), a body.

3 processes. n3 is stopped (SIGKILL) first, so a removal would be *possible*.
Right value: every request gets a status line, 4xx, with a JSON error body, and
none removes anything: afterwards `/status` of n1 still lists n3 in its
membership, neither removed nor leaving.

Run from the project's root: .venv/bin/python probes/08d-malformed-admin-requests.py
"""
import json
import re
import sys
import time
import tomllib
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes, raw


with LocalNodes(nodes=3, per_process=True) as cluster:
    from impl.config import DEFAULT_CLUSTER_NAME
    from impl.http_api import admin_authorization
    secret = tomllib.loads(cluster.config.read_text())["cluster"]["secret"].encode()
    port = cluster.http["n1"]
    cluster.kill("n3")
    now = int(time.time())

    def token(node: str = "n3", member: str = "n1", stamp: int = now, nonce: str | None = None) -> str:
        return admin_authorization(secret, DEFAULT_CLUSTER_NAME, node=node, member=member,
                                   address=f"127.0.0.1:{cluster.peer[member]}",
                                   stamp=stamp, nonce=nonce)

    good = token()
    stamp, nonce, tag = good.split(".")
    replayed = token(nonce="ab" * 16)
    cases = [
        ("no Authorization", "POST", "/admin/force-remove?node=n3", None, b""),
        ("Basic auth", "POST", "/admin/force-remove?node=n3", "Basic dXNlcjpwYXNz", b""),
        ("Bearer and nothing", "POST", "/admin/force-remove?node=n3", "Bearer", b""),
        ("wrong tag", "POST", "/admin/force-remove?node=n3", f"Bearer {stamp}.{nonce}.{'0' * 64}", b""),
        ("upper-case hex tag", "POST", "/admin/force-remove?node=n3", f"Bearer {stamp}.{nonce}.{tag.upper()}", b""),
        ("for member n2", "POST", "/admin/force-remove?node=n3", f"Bearer {token(member='n2')}", b""),
        ("for node n2", "POST", "/admin/force-remove?node=n3", f"Bearer {token(node='n2')}", b""),
        ("an hour old", "POST", "/admin/force-remove?node=n3", f"Bearer {token(stamp=now - 3600)}", b""),
        ("stamp 2**70", "POST", "/admin/force-remove?node=n3", f"Bearer {2**70}.{nonce}.{tag}", b""),
        ("node missing", "POST", "/admin/force-remove", f"Bearer {token()}", b""),
        ("node twice", "POST", "/admin/force-remove?node=n3&node=n2", f"Bearer {token()}", b""),
        ("node empty", "POST", "/admin/force-remove?node=", f"Bearer {token(node='')}", b""),
        ("node with NUL", "POST", "/admin/force-remove?node=n3%00", "Bearer " + token(node="n3\x00"), b""),
        ("node %zz", "POST", "/admin/force-remove?node=n%zz", f"Bearer {token()}", b""),
        ("node %ff", "POST", "/admin/force-remove?node=n%ff", "Bearer " + token(node="n\udcff"), b""),
        ("node of 10,000", "POST", "/admin/force-remove?node=" + "n" * 10000, f"Bearer {token(node='n' * 10000)}", b""),
        ("GET", "GET", "/admin/force-remove?node=n3", f"Bearer {token()}", b""),
        ("PUT", "PUT", "/admin/force-remove?node=n3", f"Bearer {token()}", b"x"),
        ("DELETE", "DELETE", "/admin/force-remove?node=n3", f"Bearer {token()}", b""),
        ("a 2 MiB body", "POST", "/admin/force-remove?node=n9", f"Bearer {token(node='n9')}", b"b" * (2 << 20)),
        ("unknown node n9", "POST", "/admin/force-remove?node=n9", f"Bearer {token(node='n9')}", b""),
        ("replay 1", "POST", "/admin/force-remove?node=n9", f"Bearer {token(node='n9', nonce='cd' * 16)}", b""),
        ("replay 2", "POST", "/admin/force-remove?node=n9", f"Bearer {token(node='n9', nonce='cd' * 16)}", b""),
        ("/admin/ other", "POST", "/admin/force-add?node=n3", f"Bearer {token()}", b""),
    ]
    bad = False
    for what, method, path, auth, body in cases:
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
        if auth is not None:
            head += f"Authorization: {auth}\r\n"
        try:
            out = raw(port, head.encode("utf-8", "surrogateescape") + b"\r\n" + body)
        except OSError as err:
            out = repr(err).encode()
        status_line, _, rest = out.partition(b"\r\n")
        body_out = out.partition(b"\r\n\r\n")[2]
        ok = bool(re.match(rb"HTTP/1.1 4\d\d", status_line))
        if ok and body_out:
            try:
                json.loads(body_out)
            except ValueError:
                ok = False
        print(f"{what:22}: {status_line[:40]!r} {body_out[:90]!r}{'' if ok else '  <- FAIL'}")
        bad |= not ok
    status = json.loads(raw(port, b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").partition(b"\r\n\r\n")[2])
    members = status.get("membership", {})
    print("n1's membership afterwards:", members)
    if members.get("n3", {}).get("status") not in ("up", "down"):
        print("FAIL: a malformed or forged admin request removed n3")
        bad = True
    if bad:
        print("FAIL: an admin request was not refused with a 4xx and a JSON error, or removed a node")
        sys.exit(1)
    print("PASS")
