"""Malformed HTTP *headers* (the public case breaks the request line), sent with
each method, as fuzzers (AFL/boofuzz runs against HTTP servers, Riak's webmachine
crash reports on bad headers) and broken proxies do.

For GET, PUT, DELETE and HEAD on /kv/k: a header line with no colon; a space
before the colon (RFC 9112 5.1: must be 400); a NUL and a raw DEL in a header
value; a raw 0xff byte in a header name; an obs-fold continuation line (RFC 9112
5.2: reject with 400 or unfold); a bare CR inside a value; 200 headers of 1 KiB
each; one 100 KiB header line.
Right value: every request gets a status line (4xx, or 2xx only for the unfold)
and, for a 4xx that has a body, a JSON error body; no connection is dropped
without an answer, and a normal GET still reads the control value afterwards.

Run from the project's root: .venv/bin/python probes/08a-malformed-headers-each-method.py
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes, raw


BAD_HEADERS = [
    ("no colon", b"X-Broken header without colon\r\n"),
    ("space before colon", b"Host : x\r\n"),
    ("NUL in a value", b"X-Test: a\x00b\r\n"),
    ("DEL in a value", b"X-Test: a\x7fb\r\n"),
    ("0xff in a name", b"X-T\xffst: a\r\n"),
    ("obs-fold", b"X-Test: a\r\n  folded\r\n"),
    ("bare CR in a value", b"X-Test: a\rb\r\n"),
    ("200 headers of 1 KiB", b"".join(b"X-H%d: %s\r\n" % (i, b"a" * 1024) for i in range(200))),
    ("one 100 KiB header", b"X-Big: " + b"b" * 100_000 + b"\r\n"),
]

with LocalNodes(nodes=3) as cluster:
    port = cluster.http["n1"]
    cluster.put("k", b"control")
    bad = False
    for method in (b"GET", b"PUT", b"DELETE", b"HEAD"):
        for what, header in BAD_HEADERS:
            body = b"xyz" if method == b"PUT" else b""
            req = (method + b" /kv/k HTTP/1.1\r\nHost: x\r\n" + header +
                   b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            out = raw(port, req)
            head, _, rest = out.partition(b"\r\n\r\n")
            status = head.split(b"\r\n", 1)[0]
            ok = status.startswith(b"HTTP/1.1 4") or (what == "obs-fold" and status.startswith(b"HTTP/1.1 2"))
            if ok and status.startswith(b"HTTP/1.1 4") and rest and method != b"HEAD":
                try:
                    json.loads(rest)
                except ValueError:
                    ok = False
            print(f"{method.decode():6} {what:22}: {status[:40]!r}{'' if ok else '  <- FAIL'}")
            bad |= not ok
    after = cluster.values("k")
    print("control after:", after)
    if after != [b"control"]:
        bad = True
    if bad:
        print("FAIL: a malformed header was not answered with a 4xx and a JSON error")
        sys.exit(1)
    print("PASS")
