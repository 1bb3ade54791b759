"""Every error path of ``/kv/{key}`` and the other endpoints, sent as a generic
HTTP client sends it (http.client, one request per connection, HTTP/1.1 and a
few HTTP/1.0), checked against the OpenAPI document the node serves at
``/openapi.json``: a client generated from that document (openapi-generator,
schemathesis' response checks) treats an undocumented status as an error it has
no model for, and a body of another type than documented as a parse failure.
Schemathesis (session 50) draws valid-looking requests; these are the refusals:
bad quorums, an oversized key and value, a missing length, a coded body, a
wrong Expect, stale preconditions, dates on writes, a forged context, a body on a
GET, an unknown method, an unknown path, an HTTP/1.0 PUT without a length, a
delete of a key never written.

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, max_value_bytes 1024,
max_key_bytes 64.

Right value: each answer's status is one the document lists for that path and
method (for a method the document does not list on a known path: 405 with Allow;
for an unknown path: 404; for /kv/ with no key: 400 naming it, or 404), its Content-Type is one the document lists for that
status, and a JSON error body has the Error schema's ``error``, ``message`` and
``outcome``.

Run from the project's root: .venv/bin/python probes/08o-every-error-path-against-the-openapi-document.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, raw  # noqa: E402

check = Checks()
BIG = b"x" * 1025


def head(method: str, target: str, headers: str = "", body: bytes = b"",
         version: str = "HTTP/1.1", length: bool = True) -> bytes:
    lines = f"{method} {target} {version}\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}"
    if length and "Content-Length" not in headers and "Transfer-Encoding" not in headers:
        lines += f"Content-Length: {len(body)}\r\n"
    return lines.encode() + b"\r\n" + body


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    top, _, body = answer.partition(b"\r\n\r\n")
    lines = top.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


with LocalNodes(nodes=3, extra_cluster="max_value_bytes = 1024\nmax_key_bytes = 64") as c:
    port = c.http["n1"]
    doc = json.loads(parse(raw(port, head("GET", "/openapi.json")))[2])
    c.put("k", b"v", query="?w=3")
    _, ctx = c.read("k")
    cases: list[tuple[str, bytes, str, str]] = [  # what, request, path, method
        ("GET r=9", head("GET", "/kv/k?r=9"), "/kv/{key}", "get"),
        ("GET r=zero", head("GET", "/kv/k?r=0"), "/kv/{key}", "get"),
        ("GET unknown parameter", head("GET", "/kv/k?q=1"), "/kv/{key}", "get"),
        ("GET key over the limit", head("GET", "/kv/" + "a" * 65), "/kv/{key}", "get"),
        ("GET with a body", head("GET", "/kv/k", body=b"abc"), "/kv/{key}", "get"),
        ("GET If-Match stale", head("GET", "/kv/k", 'If-Match: "nope"\r\n'), "/kv/{key}", "get"),
        ("GET If-Match malformed", head("GET", "/kv/k", "If-Match: nope\r\n"), "/kv/{key}", "get"),
        ("GET Accept malformed", head("GET", "/kv/k", "Accept: ;;;\r\n"), "/kv/{key}", "get"),
        ("GET Accept image/png only", head("GET", "/kv/k", "Accept: image/png\r\n"),
         "/kv/{key}", "get"),
        ("GET never written", head("GET", "/kv/never"), "/kv/{key}", "get"),
        ("GET bad context header", head("GET", "/kv/k", "X-Vdynamo-Context: !!\r\n"),
         "/kv/{key}", "get"),
        ("GET X-Vdynamo-Cluster other", head("GET", "/kv/k", "X-Vdynamo-Cluster: zz\r\n"),
         "/kv/{key}", "get"),
        ("PUT value over the limit", head("PUT", "/kv/k", body=BIG), "/kv/{key}", "put"),
        ("PUT value at the limit", head("PUT", "/kv/lim", body=BIG[:1024]), "/kv/{key}", "put"),
        ("PUT key over the limit", head("PUT", "/kv/" + "a" * 65, body=b"v"), "/kv/{key}", "put"),
        ("PUT no length", head("PUT", "/kv/k", length=False), "/kv/{key}", "put"),
        ("PUT HTTP/1.0 no length", head("PUT", "/kv/k", body=b"", version="HTTP/1.0",
                                        length=False), "/kv/{key}", "put"),
        ("PUT gzip", head("PUT", "/kv/k", "Content-Encoding: gzip\r\n", b"v"), "/kv/{key}", "put"),
        ("PUT Expect other", head("PUT", "/kv/k", "Expect: 200-ok\r\n", b"v"), "/kv/{key}", "put"),
        ("PUT w=4", head("PUT", "/kv/k?w=4", body=b"v"), "/kv/{key}", "put"),
        ("PUT w=one,two", head("PUT", "/kv/k?w=1&w=2", body=b"v"), "/kv/{key}", "put"),
        ("PUT forged context", head("PUT", "/kv/k", "X-Vdynamo-Context: AAAA\r\n", b"v"),
         "/kv/{key}", "put"),
        ("PUT stale If-Match", head("PUT", "/kv/k", 'If-Match: "old"\r\n', b"v"),
         "/kv/{key}", "put"),
        ("PUT If-None-Match * on a value", head("PUT", "/kv/k", "If-None-Match: *\r\n", b"v"),
         "/kv/{key}", "put"),
        ("PUT If-Unmodified-Since", head("PUT", "/kv/k", "If-Unmodified-Since: Mon, 01 Jan "
                                         "2024 00:00:00 GMT\r\n", b"v"), "/kv/{key}", "put"),
        ("PUT bad Content-MD5", head("PUT", "/kv/k", "Content-MD5: AAAAAAAAAAAAAAAAAAAAAA==\r\n",
                                     b"v"), "/kv/{key}", "put"),
        ("PUT Transfer-Encoding gzip", head("PUT", "/kv/k", "Transfer-Encoding: gzip\r\n", b"v"),
         "/kv/{key}", "put"),
        ("PUT bad Content-Type", head("PUT", "/kv/k", "Content-Type: ;;\r\n", b"v"),
         "/kv/{key}", "put"),
        ("DELETE never written", head("DELETE", "/kv/never2"), "/kv/{key}", "delete"),
        ("DELETE w=0", head("DELETE", "/kv/k?w=0"), "/kv/{key}", "delete"),
        ("DELETE forged context", head("DELETE", "/kv/k", "X-Vdynamo-Context: AAAA\r\n"),
         "/kv/{key}", "delete"),
        ("DELETE with a body", head("DELETE", "/kv/k", body=b"abc"), "/kv/{key}", "delete"),
        ("DELETE gzip body", head("DELETE", "/kv/k", "Content-Encoding: gzip\r\n", b"abc"),
         "/kv/{key}", "delete"),
        ("DELETE stale If-Match", head("DELETE", "/kv/k", 'If-Match: "old"\r\n'),
         "/kv/{key}", "delete"),
        ("DELETE body over the limit", head("DELETE", "/kv/k", body=BIG), "/kv/{key}", "delete"),
        ("DELETE If-Modified-Since", head("DELETE", "/kv/k", "If-Modified-Since: Mon, 01 Jan "
                                          "2024 00:00:00 GMT\r\n"), "/kv/{key}", "delete"),
        ("PATCH", head("PATCH", "/kv/k", body=b"v"), "/kv/{key}", "patch"),
        ("POST", head("POST", "/kv/k", body=b"v"), "/kv/{key}", "post"),
        ("GET /status?x=1", head("GET", "/status?x=1"), "/status", "get"),
        ("POST /status", head("POST", "/status"), "/status", "post"),
        ("GET /health with a body", head("GET", "/health", body=b"abc"), "/health", "get"),
        ("GET /metrics?x", head("GET", "/metrics?x"), "/metrics", "get"),
        ("GET /admin/force-remove", head("GET", "/admin/force-remove?node=n2"),
         "/admin/force-remove", "get"),
        ("POST /admin/force-remove no token", head("POST", "/admin/force-remove?node=n2"),
         "/admin/force-remove", "post"),
        ("POST /admin/force-remove no node", head("POST", "/admin/force-remove"),
         "/admin/force-remove", "post"),
        ("GET /nowhere", head("GET", "/nowhere"), "", "get"),
        ("GET /kv/", head("GET", "/kv/"), "/kv/", "get"),
    ]
    for what, request, path, method in cases:
        status, headers, body = parse(raw(port, request))
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        operations = doc["paths"].get(path, {})
        if not path:
            ok = status == 404
            expected = "404 (no such path)"
        elif path == "/kv/":  # no key: a 400 naming the empty key (or a 404)
            ok = status in (400, 404)
            expected = "400 naming the empty key, or 404"
        elif method not in operations:
            ok = status == 405 and "allow" in headers
            expected = "405 with Allow"
        else:
            responses = operations[method]["responses"]
            listed = responses.get(str(status)) or responses.get("default")
            types = list((listed or {}).get("content", {}))
            ok = listed is not None and (not types or ctype in types or "*/*" in types
                                         or (status == 304 and not body))
            expected = f"one of {sorted(responses)} with its content types"
        if ok and ctype == "application/json" and status >= 400:
            try:
                data = json.loads(body)
                ok = isinstance(data, dict) and {"error", "message", "outcome"} <= set(data)
            except ValueError:
                ok = False
            expected += ", an Error body"
        print(f"{what}: {status} {ctype} {body[:90]!r}")
        check(f"{what}: documented answer", ok, f"{status} {ctype}; expected {expected}")
check.finish()
