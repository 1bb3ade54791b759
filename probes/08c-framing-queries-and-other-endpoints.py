"""Malformed *framing* and *query strings*, and malformed requests to the endpoints
that are not /kv (the public case and 08a/08b break the request line and the
headers of /kv requests): request-smuggling shapes (Content-Length with
Transfer-Encoding, two different Content-Lengths, a signed or hex or huge length,
a chunk size that is not hex, a chunk extension, an unknown transfer coding),
`Expect` values, a pipeline whose first request is malformed, query parameters
whose values Python's int() would take but are not decimal digits (`1_0`, ` 2`,
`+2`, a full-width digit `%EF%BC%92`, `٢`), and POST / PATCH / a body on
/health, /status, /metrics and /openapi.json.

3 processes, N=3 R=2 W=2. Right value: each gets a status line, 4xx (or 2xx for
the well-formed ones), with a JSON error body on a 4xx; a query value that is
not ASCII decimal digits is refused 400 (it is not a quorum the client can have
meant); nothing is written by a refused PUT (the control key is unchanged), and
a pipelined request after a malformed one is never served (answering it would
be request smuggling).

Run from the project's root: .venv/bin/python probes/08c-framing-queries-and-other-endpoints.py
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes, raw


H = b"Host: x\r\nConnection: close\r\n"
FRAMING = [
    ("CL and TE chunked", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nS\r\n0\r\n\r\n", "4"),
    ("two different CLs", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nContent-Length: 5\r\n\r\nSMUGG", "4"),
    ("CL with a plus", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Content-Length: +3\r\n\r\nSMU", "4"),
    ("negative CL", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n", "4"),
    ("hex CL", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Content-Length: 0x3\r\n\r\nSMU", "4"),
    ("CL 2**64", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Content-Length: 18446744073709551616\r\n\r\n", "4"),
    ("CL list 3, 3", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Content-Length: 3, 3\r\n\r\nSMU", "24"),
    ("chunk size not hex", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nSMU\r\n0\r\n\r\n", "4"),
    ("chunk size overflow", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nSMU\r\n0\r\n\r\n", "4"),
    ("TE gzip", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\nSMU", "4"),
    ("TE chunked, gzip", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n3\r\nSMU\r\n0\r\n\r\n", "4"),
    ("TE identity", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Transfer-Encoding: identity\r\nContent-Length: 3\r\n\r\nSMU", "4"),
    ("Expect: 200-ok", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Expect: 200-ok\r\nContent-Length: 3\r\n\r\nSMU", "4"),
    ("Content-Encoding gzip", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Content-Encoding: gzip\r\nContent-Length: 3\r\n\r\nSMU", "4"),
    ("chunked with a bad trailer", b"PUT /kv/k HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n3\r\nSMU\r\n0\r\nbad trailer\r\n\r\n", "4"),
    ("pipelined after malformed", b"GET /kv/a b HTTP/1.1\r\nHost: x\r\n\r\nPUT /kv/k HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\nSMU", "4"),
    ("HTTP/1.0 PUT without CL", b"PUT /kv/k HTTP/1.0\r\nHost: x\r\n\r\nSMU", "4"),
]
QUERIES = ["?w=1_0", "?w=%202", "?w=+2", "?w=%EF%BC%92", "?w=%D9%A2", "?w=2%00", "?w=02",
           "?w=2&", "?&w=2", "?w", "?w=2;r=1", "?r=1", "?W=2", "?w=2#f", "?w=%32"]
OTHER = []
for path in (b"/health", b"/health/ready", b"/status", b"/metrics", b"/openapi.json", b"/", b"/kv", b"/kv/"):
    for method in (b"POST", b"PATCH", b"PUT", b"DELETE", b"GET"):
        OTHER.append((method + b" " + path, method + b" " + path + b" HTTP/1.1\r\n" + H
                      + b"Content-Length: 3\r\n\r\nabc"))
    OTHER.append((b"GET " + path + b"?x=%zz", b"GET " + path + b"?x=%zz HTTP/1.1\r\n" + H + b"\r\n"))


def verdict(out: bytes, want: str) -> tuple[bool, bytes]:
    head, _, rest = out.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    code = status[9:10].decode() if status.startswith(b"HTTP/1.1 ") else "?"
    ok = code in want
    if ok and code in "45" and rest:
        try:
            json.loads(rest.split(b"HTTP/1.1 ")[0])
        except ValueError:
            ok = False
    return ok, status


with LocalNodes(nodes=3) as cluster:
    port = cluster.http["n1"]
    cluster.put("k", b"control")
    bad = False
    for what, req, want in FRAMING:
        out = raw(port, req)
        ok, status = verdict(out, want)
        if what == "pipelined after malformed" and out.count(b"HTTP/1.1 ") > 1:
            ok = False
        print(f"{what:28}: {status[:40]!r}{'' if ok else '  <- FAIL'}")
        bad |= not ok
        if cluster.values("k") != [b"control"]:
            print("   FAIL: the control key changed:", cluster.values("k"))
            cluster.put("k", b"control", context=cluster.read("k")[1])
            bad = True
    for q in QUERIES:
        want = "2" if q in ("?w=02", "?w=%32") else "24" if q in ("?w=2&", "?&w=2", "?w=2#f") else "4"
        if q == "?w=2#f":
            want = "4"
        out = raw(port, b"PUT /kv/q" + q.encode() + b" HTTP/1.1\r\n" + H + b"Content-Length: 1\r\n\r\nx")
        ok, status = verdict(out, want)
        print(f"PUT /kv/q{q:20}: {status[:40]!r}{'' if ok else '  <- FAIL (want ' + want + 'xx)'}")
        bad |= not ok
    for what, req in OTHER:
        out = raw(port, req)
        ok, status = verdict(out, "24")
        print(f"{what.decode():28}: {status[:40]!r}{'' if ok else '  <- FAIL'}")
        bad |= not ok
    after = cluster.values("k")
    print("control after:", after)
    if after != [b"control"]:
        bad = True
    if bad:
        print("FAIL: a malformed request was not refused with a 4xx and a JSON error, or was served")
        sys.exit(1)
    print("PASS")
