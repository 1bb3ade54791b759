"""HTTP details a hand-written client, an old proxy or a Riak user's habits produce that
08a-08l do not send: chunked framing on an HTTP/1.0 request (RFC 9112 6.1: faulty
framing), the transfer coding's name in capitals, the removed ``identity`` coding beside a
Content-Length, a Content-Length with 100 leading zeros, the context header with trailing
whitespace (RFC 9110 5.5: OWS is not part of the value), ``Connection: keep-alive, close``
and ``Connection: CLOSE`` on the first of two pipelined requests (RFC 9112 9.6: close
after it), a trailer section carrying ``X-Vdynamo-Context`` (RFC 9110 6.5.1: not merged
into the header section), a chunk extension whose quoted value holds CR LF, an
``Expect: 100-continue`` PUT pipelined behind a GET, HEAD with ``Accept:
application/json``, a content type with a charset, and Riak's own query parameters
(``returnbody=true``, ``dw=2``, ``notfound_ok``) that this API does not take.

Real processes (`vdynamo serve --all`), 3 nodes, defaults; raw sockets. Right value:
each answer below, and a refused request stores nothing (its key 404 at r=3):

- 1.0 + chunked: 400; ``Chunked``: 200, ``hello`` stored; ``identity`` + length: 400;
  zeros: 200, ``hello`` stored exactly;
- a context with trailing space and tab: 200, it superseded the value it names (one value);
- ``keep-alive, close`` / ``CLOSE``: one answer, the second request not answered;
- trailer ``X-Vdynamo-Context: garbage``: 200, a blind write (the trailer ignored);
- quoted CR LF in a chunk extension: 400;
- GET then an Expect PUT pipelined: the GET's 200 first, then ``100 Continue``, then 200;
- HEAD with JSON accepted: GET's status, type and length, no body;
- ``text/plain; charset=latin-1``: the same type back;
- ``returnbody``, ``dw``, ``notfound_ok``: 400 naming the parameter, nothing stored.

Run from the project's root:
    .venv/bin/python probes/08m-framing-tokens-ows-trailers-and-unknown-parameters.py
"""
import json
import re
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, raw

check = Checks()


def statuses(answer: bytes) -> list[int]:
    """The status of each answer in ``answer`` (an answer follows the last one's body
    directly; these bodies hold no status line)."""
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", answer)]


with LocalNodes(nodes=3) as cluster:
    port = cluster.http["n1"]
    host = f"Host: 127.0.0.1:{port}\r\n".encode()
    close = b"Connection: close\r\n"

    def send(head: bytes, body: bytes = b"") -> bytes:
        return raw(port, head + body, timeout=5)

    def absent(key: str) -> bool:
        return cluster.request("GET", key, query="?r=3")[0] == 404

    out = send(b"PUT /kv/m1 HTTP/1.0\r\n" + host + b"Transfer-Encoding: chunked\r\n\r\n",
               b"5\r\nhello\r\n0\r\n\r\n")
    check("1.0 + chunked: 400, nothing stored", statuses(out) == [400] and absent("m1"), out[:120])
    out = send(b"PUT /kv/m2 HTTP/1.1\r\n" + host + close + b"Transfer-Encoding: Chunked\r\n\r\n",
               b"5\r\nhello\r\n0\r\n\r\n")
    check("Chunked in capitals: 200, hello", statuses(out) == [200]
          and cluster.values("m2", query="?r=3") == [b"hello"], out[:120])
    out = send(b"PUT /kv/m3 HTTP/1.1\r\n" + host + close
               + b"Transfer-Encoding: identity\r\nContent-Length: 5\r\n\r\n", b"hello")
    check("identity + Content-Length: 400, nothing stored", statuses(out) == [400]
          and absent("m3"), out[:120])
    out = send(b"PUT /kv/m4 HTTP/1.1\r\n" + host + close
               + b"Content-Length: " + b"0" * 100 + b"5\r\n\r\n", b"hello")
    check("Content-Length with 100 zeros: 200, hello", statuses(out) == [200]
          and cluster.values("m4", query="?r=3") == [b"hello"], out[:120])

    cluster.put("m5", b"v1")
    context = cluster.read("m5", query="?r=3")[1] or ""
    out = send(b"PUT /kv/m5 HTTP/1.1\r\n" + host + close + b"X-Vdynamo-Context: "
               + context.encode() + b" \t\r\nContent-Length: 2\r\n\r\n", b"v2")
    check("a context with trailing OWS: 200, one value", statuses(out) == [200]
          and cluster.values("m5", query="?r=3") == [b"v2"], out[:160])

    for token in (b"keep-alive, close", b"CLOSE"):
        out = send(b"GET /kv/m2 HTTP/1.1\r\n" + host + b"Connection: " + token + b"\r\n\r\n"
                   + b"GET /kv/m2 HTTP/1.1\r\n" + host + b"\r\n")
        check(f"Connection: {token.decode()}: one answer", statuses(out) == [200], out[:200])

    out = send(b"PUT /kv/m6 HTTP/1.1\r\n" + host + close + b"Transfer-Encoding: chunked\r\n"
               b"Trailer: X-Vdynamo-Context\r\n\r\n",
               b"5\r\nhello\r\n0\r\nX-Vdynamo-Context: garbage\r\n\r\n")
    check("a trailer context is ignored: 200, hello", statuses(out) == [200]
          and cluster.values("m6", query="?r=3") == [b"hello"], out[:160])
    out = send(b"PUT /kv/m7 HTTP/1.1\r\n" + host + close + b"Transfer-Encoding: chunked\r\n\r\n",
               b'5;a="x\r\ny"\r\nhello\r\n0\r\n\r\n')
    check("quoted CR LF in a chunk extension: 400, nothing stored", statuses(out) == [400]
          and absent("m7"), out[:160])

    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /kv/m2 HTTP/1.1\r\n" + host + b"\r\n" + b"PUT /kv/m8 HTTP/1.1\r\n" + host
                  + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        seen = b""
        deadline = time.monotonic() + 5
        while b"100 Continue" not in seen and time.monotonic() < deadline:
            seen += s.recv(65536)
        s.sendall(b"hello")
        while seen.count(b"HTTP/1.1 ") < 3 and time.monotonic() < deadline:
            seen += s.recv(65536)
    check("GET then an Expect PUT pipelined: 200, 100, 200", statuses(seen) == [200, 100, 200]
          and cluster.values("m8", query="?r=3") == [b"hello"],
          (statuses(seen), cluster.values("m8", query="?r=3"), seen[-300:]))

    get = cluster.request("GET", "m2", headers={"Accept": "application/json"})
    out = send(b"HEAD /kv/m2 HTTP/1.1\r\n" + host + close + b"Accept: application/json\r\n\r\n")
    head = {k.lower(): v for k, v in (line.split(": ", 1) for line in
            out.split(b"\r\n\r\n")[0].decode().split("\r\n")[1:])}
    got = {k.lower(): v for k, v in get[1].items()}
    check("HEAD with JSON accepted: GET's status, type, length, no body",
          statuses(out) == [get[0]] and head.get("content-type") == got.get("content-type")
          and head.get("content-length") == got.get("content-length")
          and out.endswith(b"\r\n\r\n"), (out[-200:], got.get("content-length")))

    status = cluster.request("PUT", "m9", b"caf\xe9", headers={
        "Content-Type": "text/plain; charset=latin-1"})[0]
    back = cluster.request("GET", "m9", query="?r=3")
    check("a charset kept", status == 200 and {k.lower(): v for k, v in back[1].items()}
          .get("content-type") == "text/plain; charset=latin-1" and back[2] == b"caf\xe9",
          back[1])

    for method, query in (("PUT", "?returnbody=true"), ("PUT", "?dw=2"),
                          ("GET", "?notfound_ok=false")):
        status, _, body = cluster.request(method, "m10", b"x" if method == "PUT" else None,
                                          query=query)
        name = query[1:].split("=")[0]
        said = json.loads(body or b"{}").get("message", "")
        check(f"{method} {query}: 400 naming it, nothing stored", status == 400
              and name in said and absent("m10"), (status, said))
check.finish()
