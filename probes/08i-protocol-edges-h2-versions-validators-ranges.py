"""Protocol edges a proxy, curl or an HTTP/2-first client sends, that 08a-08h do not:
HTTP/2's connection preface and `Upgrade: h2c` (curl --http2, --http2-prior-knowledge),
request lines of HTTP/1.2, HTTP/2.0 and HTTP/0.9, a lowercase method, Content-Length
as a list or signed (RFC 9110 8.6), a transfer coding before chunked, a raw `#`, an
empty key, Range and If-Range on a GET (RFC 9110 14), If-Unmodified-Since on a PUT,
weak entity tags in If-Match and If-None-Match (RFC 9110 13.1.1: If-Match compares
strongly, If-None-Match weakly), and a DELETE carrying a body.

Real processes (`vdynamo serve --all`), 3 nodes, defaults; each request on its own
connection (`Connection: close`). Right values:
- preface: 505 or 400; `Upgrade: h2c` ignored: the GET answered 200 in HTTP/1.1;
- HTTP/1.2 served as 1.1 (200); HTTP/2.0 505; HTTP/0.9 (no version) 505 or 400;
- `get`: 501 or 400; `Content-Length: 5, 5` and `+5`: 400; `gzip, chunked`: 400 or
  501; `#`: 400; `/kv/` (GET and PUT): 400; none of these refused PUTs writes;
- Range `bytes=0-1`: 200 with the whole value, or 206 with its first two bytes;
  If-Range: the same; If-Unmodified-Since on a PUT: 4xx or 501, the value unchanged;
- `If-Match: W/<etag>` on a PUT: 412 (weak never matches strongly), unchanged;
  `If-None-Match: W/<etag>` on a GET: 304 (weak comparison matches);
- a DELETE with a body and no context: 200/204 (the body ignored, as Riak's) or 400;
  reported either way.

Run from the project's root: .venv/bin/python probes/08i-protocol-edges-h2-versions-validators-ranges.py
"""
import sys
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, raw

check = Checks()
H = b"Host: x\r\nConnection: close\r\n"


def answer(port: int, data: bytes) -> tuple[int, bytes]:
    out = raw(port, data, timeout=4)
    try:
        status = int(out.split(b" ", 2)[1])
    except (IndexError, ValueError):
        status = 0
    return status, out.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in out else b""


with LocalNodes(nodes=3) as c:
    port = c.http["n1"]
    check("put a", c.put("a", b"AAAA") == 200)
    st, headers, _ = c.request("GET", "a")
    etag = {k.lower(): v for k, v in headers.items()}.get("etag", "")
    expect = {
        "h2 preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {505, 400}),
        "Upgrade: h2c": (b"GET /kv/a HTTP/1.1\r\n" + H + b"Upgrade: h2c\r\n"
                         b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", {200}),
        "HTTP/1.2": (b"GET /kv/a HTTP/1.2\r\n" + H + b"\r\n", {200}),
        "HTTP/2.0 line": (b"GET /kv/a HTTP/2.0\r\n" + H + b"\r\n", {505}),
        "HTTP/0.9": (b"GET /kv/a\r\n\r\n", {505, 400}),
        "lowercase get": (b"get /kv/a HTTP/1.1\r\n" + H + b"\r\n", {501, 400}),
        "Content-Length: 5, 5": (b"PUT /kv/cl55 HTTP/1.1\r\n" + H
                                 + b"Content-Length: 5, 5\r\n\r\nhello", {400}),
        "Content-Length: +5": (b"PUT /kv/clp5 HTTP/1.1\r\n" + H
                               + b"Content-Length: +5\r\n\r\nhello", {400}),
        "TE gzip, chunked": (b"PUT /kv/teg HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked"
                             b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n", {400, 501}),
        "raw #": (b"GET /kv/a#frag HTTP/1.1\r\n" + H + b"\r\n", {400}),
        "GET /kv/": (b"GET /kv/ HTTP/1.1\r\n" + H + b"\r\n", {400}),
        "PUT /kv/": (b"PUT /kv/ HTTP/1.1\r\n" + H + b"Content-Length: 1\r\n\r\nx", {400}),
        "If-Unmodified-Since PUT": (b"PUT /kv/a HTTP/1.1\r\n" + H + b"If-Unmodified-Since: Sun, "
                                    b"06 Nov 1994 08:49:37 GMT\r\nContent-Length: 1\r\n\r\nz",
                                    {400, 412, 428, 501}),
        "If-Match weak PUT": (b"PUT /kv/a HTTP/1.1\r\n" + H + b"If-Match: W/" + etag.encode()
                              + b"\r\nContent-Length: 1\r\n\r\nw", {412}),
        "If-None-Match weak GET": (b"GET /kv/a HTTP/1.1\r\n" + H + b"If-None-Match: W/"
                                   + etag.encode() + b"\r\n\r\n", {304}),
    }
    for name, (data, ok) in expect.items():
        st, body = answer(port, data)
        check(f"{name}: {sorted(ok)}", st in ok, (st, body[:160]))
    for key in ("cl55", "clp5", "teg"):
        check(f"{key} not written", c.values(key, query="?r=3") == [], c.values(key))
    check("a unchanged after the refused PUTs", c.values("a", query="?r=3") == [b"AAAA"],
          c.values("a"))
    for name, extra in (("Range", b"Range: bytes=0-1\r\n"),
                        ("If-Range", b"Range: bytes=0-1\r\nIf-Range: " + etag.encode() + b"\r\n")):
        st, body = answer(port, b"GET /kv/a HTTP/1.1\r\n" + H + extra + b"\r\n")
        check(f"{name}: 200 whole or 206 first two bytes",
              (st, body) in ((200, b"AAAA"), (206, b"AA")), (st, body[:60]))
    check("put d", c.put("d", b"D") == 200)
    st, body = answer(port, b"DELETE /kv/d HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\nabc")
    print(f"DELETE with a body and no context: {st} {body[:100]!r}; d now {c.values('d')}")
    check("DELETE with a body: 200/204 or 400", st in (200, 204, 400), st)
check.finish()
