"""HTTP semantics a user's curl, proxy or cache relies on that no earlier probe
checks: validators (a cache's revalidation: GET and HEAD with If-None-Match, RFC
9110 13.1.2 and 15.4.5), equivalent percent-encodings of one key (RFC 3986 6.2.2:
`%41` is `A`, `%2f` is `%2F`), malformed percent-encodings, a body shorter than its
Content-Length with the client's side then shut (a crashed uploader), a body
longer than its Content-Length, and chunk sizes at their edges.

Real processes (`vdynamo serve --all`), 3 nodes, defaults. Right values:

1. GET `k` answers an ETag; GET and HEAD with `If-None-Match: <it>` answer 304 with
   no body; after an update the old ETag gets 200 and the new value; after a
   delete the old ETag gets 404 (not 304: nothing is there).
2. `/kv/%41b` and `/kv/Ab` are one key; so are `/kv/x%2fy` and `/kv/x%2Fy`.
3. `/kv/%zz`, `/kv/a%4`, `/kv/a%` are refused 400 and store nothing.
4. PUT with Content-Length 100 and 40 bytes, then `shutdown(SHUT_WR)`: no 200 (a
   400 or a close), and `short` is not written (reads nothing).
5. PUT with Content-Length 5 and `hello` + `GARBAGE\\r\\n\\r\\n`: `long` holds
   `hello`; the garbage gets a 400 (or the connection closes), never a write.
6. Chunked: sizes `0000A` (leading zeros, upper case) store the data; a size of 20
   hex digits, and chunks totalling one byte over max_value_bytes: 400 or 413, and
   nothing written.

Run from the project's root: .venv/bin/python probes/08h-http-validators-percent-forms-short-bodies.py
"""
import sys
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, raw

check = Checks()


def status_of(answer: bytes) -> int:
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def statuses(answer: bytes) -> list[int]:
    return [int(line.split(b" ", 2)[1]) for line in answer.split(b"\r\n")
            if line.startswith(b"HTTP/1.1 ")]


with LocalNodes(nodes=3) as c:
    port = c.http["n1"]
    head = {"Content-Type": "application/octet-stream"}
    # 1. validators
    check("put k v1", c.put("k", b"v1") == 200)
    status, headers, _ = c.request("GET", "k")
    etag = {k.lower(): v for k, v in headers.items()}.get("etag")
    check("GET k answers an ETag", status == 200 and bool(etag), (status, headers))
    if etag:
        st, _, body = c.request("GET", "k", headers={"If-None-Match": etag})
        check("GET If-None-Match current ETag -> 304, no body", st == 304 and body == b"", (st, body))
        st, _, body = c.request("HEAD", "k", headers={"If-None-Match": etag})
        check("HEAD If-None-Match current ETag -> 304", st == 304 and body == b"", (st, body))
        st, _, body = c.request("GET", "k", headers={"If-None-Match": f'"nope", {etag}'})
        check("GET If-None-Match list holding it -> 304", st == 304, st)
        ctx = c.read("k")[1]
        check("put k v2 with context", c.put("k", b"v2", context=ctx) == 200)
        st, h2, body = c.request("GET", "k", headers={"If-None-Match": etag})
        check("old ETag after update -> 200 v2", st == 200 and body == b"v2", (st, body))
        ctx = c.read("k")[1]
        st = c.request("DELETE", "k", headers={"X-Vdynamo-Context": ctx or ""})[0]
        check("delete k", st in (200, 204), st)
        st, _, body = c.request("GET", "k", headers={"If-None-Match": etag})
        check("old ETag after delete -> 404", st == 404, (st, body))
        st, _, body = c.request("GET", "k", headers={"If-None-Match": "*"})
        check("If-None-Match * on a deleted key -> 404", st == 404, (st, body))
    # 2. equivalent percent-encodings
    check("PUT /kv/%41b", c.put("%41b", b"pa") == 200)
    check("/kv/Ab reads it", c.values("Ab", query="?r=3") == [b"pa"], c.values("Ab"))
    check("PUT /kv/x%2fy", c.put("x%2fy", b"slash") == 200)
    check("/kv/x%2Fy reads it", c.values("x%2Fy", query="?r=3") == [b"slash"], c.values("x%2Fy"))
    # 3. malformed percent-encodings
    for bad in ("%zz", "a%4", "a%", "%G0x"):
        st = c.request("PUT", bad, b"bad", headers=head)[0]
        check(f"PUT /kv/{bad} -> 400", st == 400, st)
    for probe_key in ("zz", "a4", "a", "%25zz"):
        check(f"nothing stored under {probe_key}", c.values(probe_key, query="?r=3") == [],
              c.values(probe_key))
    # 4. short body, client side shut
    out = raw(port, half_close=True, data=b"PUT /kv/short HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                      b"Content-Type: application/octet-stream\r\n\r\n" + b"s" * 40)
    check("short body then SHUT_WR: no 200", status_of(out) != 200, out[:120])
    check("short not written", c.values("short", query="?r=3") == [], c.values("short"))
    # 5. body longer than Content-Length
    out = raw(port, b"PUT /kv/long HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
              b"Content-Type: application/octet-stream\r\n\r\nhelloGARBAGE\r\n\r\n", timeout=3)
    sts = statuses(out)
    check("long: the PUT 200 then the garbage 400 (or a close)",
          sts[:1] == [200] and all(s == 400 for s in sts[1:]), sts)
    check("long holds hello", c.values("long", query="?r=3") == [b"hello"], c.values("long"))
    # 6. chunk sizes
    out = raw(port, b"PUT /kv/ch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
              b"Connection: close\r\nContent-Type: application/octet-stream\r\n\r\n"
              b"0000A\r\n0123456789\r\n00\r\n\r\n")
    check("chunk sizes 0000A and 00 -> 200", status_of(out) == 200, out[:120])
    check("ch holds the 10 bytes", c.values("ch", query="?r=3") == [b"0123456789"], c.values("ch"))
    out = raw(port, b"PUT /kv/ch2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
              b"Content-Type: application/octet-stream\r\n\r\n"
              b"ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n")
    check("20-hex-digit chunk size -> 400 or 413", status_of(out) in (400, 413), out[:120])
    limit = 1 << 20
    body = b"".join(b"%x\r\n" % n + b"z" * n + b"\r\n" for n in (limit // 2, limit // 2 + 1))
    out = raw(port, b"PUT /kv/ch3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
              b"Content-Type: application/octet-stream\r\n\r\n" + body + b"0\r\n\r\n", timeout=10)
    check("chunks one byte over max_value_bytes -> 413", status_of(out) == 413, out[:120])
    for key in ("ch2", "ch3"):
        check(f"{key} not written", c.values(key, query="?r=3") == [], c.values(key))
check.finish()
