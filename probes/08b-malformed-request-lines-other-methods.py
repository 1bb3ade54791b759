"""Malformed request lines with the methods, targets and versions the public case
does not send (it sends GETs): fuzzers' mutations of a PUT or DELETE line, a
lowercase or non-ASCII method, absolute-form targets with raw bytes, NUL and tab
in the target, HTTP/1.0 without Host, CONNECT and OPTIONS forms, and versions the
node does not speak.

Right value: each gets a status line (400, or 501 / 505 / 405 for an unknown
method or version; 2xx for the well-formed HTTP/1.0 and OPTIONS ones is fine)
with a JSON error body on a 4xx/5xx; no connection is dropped without an answer;
a control key is unchanged and readable afterwards.

Run from the project's root: .venv/bin/python probes/08b-malformed-request-lines-other-methods.py
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes, raw


TAIL = b"\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
LINES = [
    ("PUT, raw UTF-8 in the target", b"PUT /kv/caf\xc3\xa9 HTTP/1.1", False),
    ("DELETE, raw space in the target", b"DELETE /kv/a b HTTP/1.1", False),
    ("PUT, NUL in the target", b"PUT /kv/k\x00x HTTP/1.1", False),
    ("DELETE, tab in the target", b"DELETE /kv/k\tx HTTP/1.1", False),
    ("lowercase method", b"put /kv/k HTTP/1.1", False),
    ("non-ASCII method", b"P\xc3\x9cT /kv/k HTTP/1.1", False),
    ("absolute form, raw 0xff", b"GET http://x/kv/\xff HTTP/1.1", False),
    ("absolute form, other scheme", b"GET ftp://x/kv/k HTTP/1.1", False),
    ("CONNECT authority form", b"CONNECT 127.0.0.1:22 HTTP/1.1", False),
    ("OPTIONS asterisk", b"OPTIONS * HTTP/1.1", True),
    ("HTTP/2.0 in a text line", b"PUT /kv/k HTTP/2.0", False),
    ("HTTP/0.9 style, no version", b"DELETE /kv/k", False),
    ("percent-encoded NUL key", b"PUT /kv/%00 HTTP/1.1", True),
    ("overlong UTF-8 (%c0%af)", b"PUT /kv/%c0%af HTTP/1.1", True),
    ("lone surrogate (%ed%a0%80)", b"DELETE /kv/%ed%a0%80 HTTP/1.1", True),
    ("a 20 KiB method", b"X" * 20_000 + b" /kv/k HTTP/1.1", False),
]

with LocalNodes(nodes=3) as cluster:
    port = cluster.http["n1"]
    cluster.put("control", b"c")
    bad = False
    for what, line, may_succeed in LINES:
        out = raw(port, line + TAIL)
        head, _, rest = out.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        ok = status.startswith(b"HTTP/1.1 4") or status.startswith(b"HTTP/1.1 5")
        if ok and rest:
            try:
                json.loads(rest)
            except ValueError:
                ok = False
        if may_succeed and status.startswith(b"HTTP/1.1 2"):
            ok = True
        print(f"{what:32}: {status[:45]!r}{'' if ok else '  <- FAIL'}")
        bad |= not ok
    # the same bytes once more on HTTP/1.0 without Host: still answered
    out = raw(port, b"GET /kv/caf\xc3\xa9 HTTP/1.0\r\n\r\n")
    first = out.split(b"\r\n", 1)[0]
    print(f"{'HTTP/1.0, no Host, raw UTF-8':32}: {first[:45]!r}")
    bad |= not out.startswith(b"HTTP/1.")
    after = cluster.values("control")
    print("control after:", after)
    bad |= after != [b"c"]
    if bad:
        print("FAIL: a malformed request line was not answered with an error status")
        sys.exit(1)
    print("PASS")
