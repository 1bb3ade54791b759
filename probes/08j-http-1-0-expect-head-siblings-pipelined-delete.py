"""HTTP semantics a curl / HAProxy / Python-requests user meets that 08a-08i do not
check: an HTTP/1.0 PUT with `Expect: 100-continue` (RFC 9110 10.1.1: a server MUST
ignore it: no `100 Continue` to a 1.0 client), TRACE, HEAD of a key with siblings
(RFC 9110 9.3.2: the same header fields as GET, no body), a Content-Length over the
limit sent with no body and the connection held open (the 413 must come at once,
not after a body timeout), a single-valued header given twice (Content-Type,
X-Vdynamo-Client), the absolute form with `https://` and `%2F` / `%00` in the key,
`OPTIONS *`, a 70 KB query, a GET's `If-None-Match: *` and stale `If-Match`, a
GET's caching headers, and a pipelined PUT, DELETE, GET of one key on one
connection.

3 processes, defaults (dvv). Right values (each printed on failure):
1.0 + Expect: no 100, 200, stored; TRACE 405 or 501 with Allow; HEAD of a 300
key: 300, GET's Content-Length, no body; the no-body 413 within 2 s; both
duplicates 400, nothing stored; `https://x/kv/a%2Fb` and `/kv/a%2Fb` one key,
`%00` round-trips; OPTIONS * 200 with Allow; the long query 414 or 431 (never a
dropped connection); `If-None-Match: *` 304 (present) and 404 (absent); a stale
If-Match 412; a GET answered `Cache-Control: no-store`; the pipelined GET reads
404 after the pipelined DELETE.

Run from the project's root: .venv/bin/python probes/08j-http-1-0-expect-head-siblings-pipelined-delete.py
"""
import re
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, raw

check = Checks()
H = b"Host: x\r\n"


def head(answer: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    """The first answer's status, headers (lowercased names) and the bytes after them."""
    top, _, rest = answer.partition(b"\r\n\r\n")
    lines = top.split(b"\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    fields = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip()
    return status, fields, rest


def statuses(answer: bytes) -> list[int]:
    """Every status line's status (a body may end right before the next answer)."""
    return [int(m) for m in re.findall(rb"HTTP/1\.\d (\d{3}) ", answer)]


with LocalNodes(nodes=3) as c:
    port = c.http["n1"]

    # HTTP/1.0 + Expect: 100-continue: the body sent after 1 s, as curl does
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"PUT /kv/e10 HTTP/1.0\r\n" + H + b"Content-Length: 3\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        time.sleep(1.0)
        s.sendall(b"abc")
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    check("1.0 + Expect: no 100 Continue, 200", statuses(out) == [200], out[:120])
    check("1.0 + Expect: stored", c.values("e10", query="?r=3") == [b"abc"], c.values("e10"))

    # TRACE
    status, fields, _ = head(raw(port, b"TRACE /kv/e10 HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"))
    check("TRACE 405/501 with Allow", status in (405, 501) and (status == 501 or b"allow" in fields),
          (status, fields))

    # HEAD of a key with siblings
    c.put("sib", b"one")
    c.put("sib", b"two")
    for accept in (b"*/*", b"application/json"):
        req = b"HTTP/1.1\r\n" + H + b"Accept: " + accept + b"\r\nConnection: close\r\n\r\n"
        gs, gf, gbody = head(raw(port, b"GET /kv/sib " + req))
        hs, hf, hbody = head(raw(port, b"HEAD /kv/sib " + req))
        check(f"HEAD of siblings ({accept.decode()}): GET's status and length, no body",
              hs == gs and hf.get(b"content-length") == gf.get(b"content-length")
              and hf.get(b"content-length") == str(len(gbody)).encode() and hbody == b"",
              (gs, hs, gf.get(b"content-length"), hf.get(b"content-length"), len(gbody), hbody[:40]))
        check(f"HEAD of siblings ({accept.decode()}): same content-type",
              hf.get(b"content-type") == gf.get(b"content-type"),
              (gf.get(b"content-type"), hf.get(b"content-type")))

    # Content-Length over the limit, no body, connection held open
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"PUT /kv/big HTTP/1.1\r\n" + H + b"Content-Length: 1048577\r\n\r\n")
        started = time.monotonic()
        try:
            first = s.recv(65536)
        except OSError as err:
            first = repr(err).encode()
        took = time.monotonic() - started
    status = head(first)[0]
    check("CL over the limit, no body: 413 at once", status == 413 and took < 2.0,
          (status, round(took, 2), first[:80]))

    # a single-valued header twice
    for name in (b"Content-Type", b"X-Vdynamo-Client"):
        answer = raw(port, b"PUT /kv/dup HTTP/1.1\r\n" + H + name + b": a/b\r\n" + name
                     + b": c/d\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx")
        check(f"{name.decode()} twice: 400", head(answer)[0] == 400, answer[:120])
    check("duplicates: nothing stored", c.values("dup", query="?r=3") == [], c.values("dup"))

    # absolute form: https scheme, %2F and %00
    answer = raw(port, b"PUT https://x/kv/a%2Fb HTTP/1.1\r\n" + H
                 + b"Content-Length: 2\r\nConnection: close\r\n\r\nab")
    check("PUT https://x/kv/a%2Fb: 200", head(answer)[0] == 200, answer[:120])
    check("/kv/a%2Fb reads it", c.values("a%2Fb", query="?r=3") == [b"ab"], c.values("a%2Fb"))
    answer = raw(port, b"PUT http://x/kv/n%00l HTTP/1.1\r\n" + H
                 + b"Content-Length: 2\r\nConnection: close\r\n\r\nnl")
    check("PUT http://x/kv/n%00l: 200", head(answer)[0] == 200, answer[:120])
    check("/kv/n%00l reads it", c.values("n%00l", query="?r=3") == [b"nl"], c.values("n%00l"))

    # OPTIONS *
    status, fields, _ = head(raw(port, b"OPTIONS * HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"))
    check("OPTIONS * 200 with Allow", status in (200, 204) and b"allow" in fields, (status, fields))

    # a 70 KB query string (the request line alone past the 64 KiB of a head)
    answer = raw(port, b"GET /kv/e10?r=" + b"1" * 70000 + b" HTTP/1.1\r\n" + H
                 + b"Connection: close\r\n\r\n")
    check("70 KB query: 414 or 431, an answer", head(answer)[0] in (414, 431), answer[:160])

    # conditionals on GET
    status = head(raw(port, b"GET /kv/e10 HTTP/1.1\r\n" + H + b"If-None-Match: *\r\n"
                      b"Connection: close\r\n\r\n"))[0]
    check("GET If-None-Match: * of a present key: 304", status == 304, status)
    status = head(raw(port, b"GET /kv/absent HTTP/1.1\r\n" + H + b"If-None-Match: *\r\n"
                      b"Connection: close\r\n\r\n"))[0]
    check("GET If-None-Match: * of an absent key: 404", status == 404, status)
    old = c.request("GET", "e10")[1].get("etag") or c.request("GET", "e10")[1].get("ETag")
    c.put("e10", b"abd", context=c.read("e10")[1])
    status = head(raw(port, b"GET /kv/e10 HTTP/1.1\r\n" + H + b"If-Match: " + str(old).encode()
                      + b"\r\nConnection: close\r\n\r\n"))[0]
    check("GET with a stale If-Match: 412", status == 412, (status, old))
    status, fields, _ = head(raw(port, b"GET /kv/e10 HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n"))
    check("GET: Cache-Control no-store", b"no-store" in fields.get(b"cache-control", b""), fields)

    # pipelined PUT, DELETE, GET of one key
    answer = raw(port, b"PUT /kv/pipe HTTP/1.1\r\n" + H + b"Content-Length: 1\r\n\r\nP"
                 + b"DELETE /kv/pipe HTTP/1.1\r\n" + H + b"\r\n"
                 + b"GET /kv/pipe HTTP/1.1\r\n" + H + b"Connection: close\r\n\r\n")
    check("pipelined PUT, DELETE, GET: 200, 200, 404", statuses(answer) == [200, 200, 404],
          statuses(answer))
check.finish()
