"""Well-formed requests a new user's tools send that the malformed-HTTP probes do
not check the *meaning* of (08a-08d check that bad ones get a 4xx): an
absolute-form target (RFC 9112 3.2.2, what a client configured with the node as
its proxy sends), HTTP/1.0 with and without keep-alive, a pipeline of a PUT then a
GET of the same key, `Connection: close` on the first of two pipelined requests,
`Expect: 100-continue` on a PUT, a chunked body with chunk extensions and a
trailer (RFC 9112 7.1), an empty body, mixed-case header names, HEAD beside GET,
a percent-encoded key in the absolute form.

Right value: the absolute-form PUT stores the key its path names (read back
through the origin form); an HTTP/1.0 request without keep-alive is answered with
the connection then closed; a pipelined GET after a PUT of the same key on one
connection reads that PUT; nothing is answered after a `Connection: close`
request; `100 Continue` is sent before the final answer of an `Expect` PUT, which
stores the body; the chunked body is stored as the chunks' data (no extension or
trailer bytes); `Content-Length: 0` stores an empty value; mixed-case context
headers work; HEAD answers GET's status and Content-Length and no body.

Run from the project's root: .venv/bin/python probes/08e-well-formed-unusual-requests-semantics.py
"""
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

problems: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        problems.append(what)


def exchange(port: int, data: bytes, quiet: float = 1.5) -> tuple[bytes, bool]:
    """Send ``data``; read until the node closes (True) or is quiet ``quiet`` s."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        s.settimeout(quiet)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                return out, False
            except OSError:
                return out, True
            if not chunk:
                return out, True
            out += chunk


def statuses(answer: bytes) -> list[bytes]:
    """The status codes of the answers in ``answer``, framed by their Content-Length
    (a 1xx and a HEAD's answer have no body here; HEAD's are read by hand below)."""
    out = []
    while answer.startswith(b"HTTP/1."):
        head, _, rest = answer.partition(b"\r\n\r\n")
        out.append(head.split(b" ")[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and not out[-1].startswith(b"1"):
                length = int(value)
        answer = rest[length:]
    return out


with LocalNodes(nodes=3) as c:
    port = c.http["n1"]
    host = f"127.0.0.1:{port}".encode()

    # 1. absolute form
    ans, _ = exchange(port, b"PUT http://" + host + b"/kv/abs HTTP/1.1\r\nHost: " + host
                      + b"\r\nContent-Length: 1\r\nConnection: close\r\n\r\nA")
    check(statuses(ans)[:1] in ([b"200"], [b"204"]) and c.values("abs", query="?r=3") == [b"A"],
          f"absolute-form PUT stores /kv/abs: {statuses(ans)} {c.values('abs', query='?r=3')}")
    ans, _ = exchange(port, b"PUT http://" + host + b"/kv/a%2Fb%20c HTTP/1.1\r\nHost: " + host
                      + b"\r\nContent-Length: 1\r\nConnection: close\r\n\r\nB")
    check(c.values("a%2Fb%20c", query="?r=3") == [b"B"],
          f"absolute-form PUT of an encoded key: {statuses(ans)} "
          f"{c.values('a%2Fb%20c', query='?r=3')}")

    # 2. HTTP/1.0
    ans, closed = exchange(port, b"GET /kv/abs HTTP/1.0\r\n\r\n", quiet=3)
    check(ans.startswith(b"HTTP/1.") and b"\r\n\r\nA" in ans and closed,
          f"HTTP/1.0 GET answered then closed: {ans[:15]!r} closed={closed}")
    ans, closed = exchange(port, b"PUT /kv/h10 HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi", quiet=3)
    check(statuses(ans)[:1] in ([b"200"], [b"204"]) and closed
          and c.values("h10", query="?r=3") == [b"hi"],
          f"HTTP/1.0 PUT: {statuses(ans)} closed={closed} {c.values('h10', query='?r=3')}")
    ans, closed = exchange(port, b"GET /kv/abs HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                           b"GET /kv/h10 HTTP/1.0\r\n\r\n", quiet=3)
    two = statuses(ans)
    check(two in ([b"200"], [b"200", b"200"]) and closed,
          f"HTTP/1.0 keep-alive then a plain 1.0 request: {two} closed={closed}")

    # 3. pipelined PUT then GET of one key
    for i in range(5):
        body = f"p{i}".encode()
        ans, _ = exchange(port, b"PUT /kv/pipe%d HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: %d\r\n\r\n%s"
                          b"GET /kv/pipe%d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                          % (i, len(body), body, i))
        check(statuses(ans)[:1] in ([b"200"], [b"204"]) and len(statuses(ans)) == 2
              and ans.endswith(body),
              f"pipelined PUT then GET of pipe{i}: {statuses(ans)} ends {ans[-8:]!r}")

    # 4. Connection: close on the first of two
    ans, closed = exchange(port, b"GET /kv/abs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                           b"DELETE /kv/abs HTTP/1.1\r\nHost: x\r\n\r\n")
    check(len(statuses(ans)) == 1 and closed and c.values("abs", query="?r=3") == [b"A"],
          f"nothing served after Connection: close: {statuses(ans)} closed={closed} "
          f"{c.values('abs', query='?r=3')}")

    # 5. Expect: 100-continue
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"PUT /kv/exp HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
        s.settimeout(3)
        try:
            first = s.recv(65536)
        except TimeoutError:
            first = b""
        s.sendall(b"hello")
        rest = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            rest += chunk
    check(first.startswith(b"HTTP/1.1 100") and statuses(first + rest)[-1:] in ([b"200"], [b"204"])
          and c.values("exp", query="?r=3") == [b"hello"],
          f"Expect: 100-continue: first {first[:20]!r}, then {statuses(first + rest)}, "
          f"{c.values('exp', query='?r=3')}")

    # 6. chunked with extensions and a trailer
    ans, _ = exchange(port, b"PUT /kv/chunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                      b"Connection: close\r\n\r\n3;name=value\r\nabc\r\n2;x\r\nde\r\n0\r\n"
                      b"X-Trailer: t\r\n\r\n")
    check(statuses(ans)[:1] in ([b"200"], [b"204"])
          and c.values("chunk", query="?r=3") == [b"abcde"],
          f"chunked with extensions and a trailer: {statuses(ans)} "
          f"{c.values('chunk', query='?r=3')}")

    # 7. empty body
    ans, _ = exchange(port, b"PUT /kv/empty HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                      b"Connection: close\r\n\r\n")
    check(statuses(ans)[:1] in ([b"200"], [b"204"]) and c.values("empty", query="?r=3") == [b""],
          f"Content-Length 0: {statuses(ans)} {c.values('empty', query='?r=3')}")

    # 8. mixed-case context header
    _, ctx = c.read("chunk", query="?r=3")
    assert ctx
    ans, _ = exchange(port, b"PUT /kv/chunk HTTP/1.1\r\nHOST: x\r\nx-VdYnAmO-cOnTeXt: "
                      + ctx.encode() + b"\r\ncontent-LENGTH: 3\r\nConnection: close\r\n\r\nxyz")
    check(c.values("chunk", query="?r=3") == [b"xyz"],
          f"mixed-case context header supersedes: {statuses(ans)} "
          f"{c.values('chunk', query='?r=3')}")

    # 9. HEAD beside GET
    for key in ("chunk", "nothing-here", "empty"):
        get, _ = exchange(port, b"GET /kv/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                          % key.encode())
        head, _ = exchange(port, b"HEAD /kv/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                           % key.encode())
        gh = {ln.split(b":")[0].lower(): ln for ln in get.split(b"\r\n\r\n")[0].split(b"\r\n")}
        hh = {ln.split(b":")[0].lower(): ln for ln in head.split(b"\r\n\r\n")[0].split(b"\r\n")}
        check(statuses(get) == statuses(head)
              and gh.get(b"content-length") == hh.get(b"content-length")
              and head.endswith(b"\r\n\r\n"),
              f"HEAD /kv/{key} like GET: {statuses(get)} {statuses(head)} "
              f"{gh.get(b'content-length')!r} {hh.get(b'content-length')!r} "
              f"head ends {head[-6:]!r}")
    time.sleep(0.2)

if problems:
    print("FAIL:", *problems, sep="\n  ")
    sys.exit(1)
print("PASS")
