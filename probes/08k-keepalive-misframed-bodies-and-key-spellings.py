"""Bodies whose Content-Length is wrong *on a kept-alive connection*, with a valid
request right behind them in the same packet (a buggy uploader, a proxy that
rewrote the body but not the length: the next request is parsed from the wrong
byte), bodies on methods that take none (GET, HEAD, DELETE, OPTIONS with a body,
a chunked GET), and key spellings a URL normaliser would change but a key store must
not: dot segments, a trailing or doubled slash, a ``;`` parameter, ``%2e%2e``, and
Unicode NFC against NFD ("café" as U+00E9 and as e + U+0301; Riak and S3 keys are
bytes, never normalised). 08h sends a short body with the client's side then shut and
a longer one; 08e / 08j pipeline *well-formed* requests; 22e's odd keys go through the
library, which percent-encodes them.

Real processes (`vdynamo serve --all`), 3 nodes, defaults. Right value:

1. a PUT whose body is shorter than its Content-Length, a valid GET right behind:
   the PUT is answered 200 storing exactly Content-Length bytes (the GET's first
   bytes: the framing is the client's), then the rest is answered 400 with a JSON
   body and the connection closed (never a hang, never a second value); a body
   longer than its length and a body under ``Content-Length: 0`` alike;
2. GET, HEAD, DELETE, OPTIONS, POST and a chunked GET with a body, a valid GET
   behind: two answers on the one connection (the body skipped, not parsed as a
   request), the second the control value;
3. each spelling is its own key, read back exactly through another node at r=3,
   never another spelling's value, never a 2xx of another resource (``/kv/../status``
   stores the key ``../status``); NFC and NFD are two keys.

Run from the project's root: .venv/bin/python probes/08k-keepalive-misframed-bodies-and-key-spellings.py
"""
from __future__ import annotations

import re
import socket
import sys
import time
import unicodedata
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes  # noqa: E402

check = Checks()
GOOD = b"GET /kv/ctl HTTP/1.1\r\nHost: x\r\n\r\n"


def conversation(port: int, data: bytes, wait: float = 3.0) -> tuple[list[int], bytes, str]:
    """(statuses answered, everything answered, how it ended: closed or waiting)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        out, end = b"", "waiting"
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                end = "closed"
                break
            out += chunk
    return [int(x) for x in re.findall(rb"HTTP/1\.1 (\d{3}) ", out)], out, end


with LocalNodes(nodes=3) as c:
    port = c.http["n1"]
    check("control put", c.put("ctl", b"control") == 200)
    # 1. misframed bodies, a valid GET behind
    for name, key, data, stored in [
        ("short body", "mf1", b"PUT /kv/mf1 HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabcde"
         + GOOD, b"abcdeGET /"),
        ("long body", "mf2", b"PUT /kv/mf2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcde"
         + GOOD, b"abc"),
        ("body under Content-Length 0", "mf3",
         b"PUT /kv/mf3 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nxyz" + GOOD, b""),
    ]:
        got, out, end = conversation(port, data)
        check(f"{name}: 200 then 400, closed", got == [200, 400] and end == "closed"
              and b'"error"' in out, (got, end, out[-120:]))
        check(f"{name}: stored exactly Content-Length bytes", c.values(key, query="?r=3")
              == [stored], c.values(key, query="?r=3"))
    # 2. bodies on methods that take none
    for method, extra in [("GET", b""), ("HEAD", b""), ("DELETE", b""), ("OPTIONS", b""),
                          ("POST", b"")]:
        data = (f"{method} /kv/ctl2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n".encode()
                + b"hello" + extra + GOOD)
        got, out, end = conversation(port, data)
        check(f"{method} with a body, then GET: two answers, the second the control",
              len(got) == 2 and got[1] == 200 and out.endswith(b"control"),
              (got, end, out[-80:]))
    got, out, end = conversation(port, b"GET /kv/ctl HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                       b"chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" + GOOD)
    check("chunked GET then GET: 200, 200", got == [200, 200] and out.endswith(b"control"),
          (got, end))
    # 3. key spellings
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    spellings = {
        "/kv/../status": b"../status", "/kv/a/../b": b"a/../b", "/kv/./x": b"./x",
        "/kv/x/": b"x/", "/kv//x": b"/x", "/kv/x": b"x", "/kv/%2e%2e": b"..",
        "/kv/x;a=b": b"x;a=b", "/kv/" + urllib.parse.quote(nfc): nfc.encode(),
        "/kv/" + urllib.parse.quote(nfd): nfd.encode(),
    }
    for target, key in spellings.items():
        value = b"value of " + key
        got, out, _ = conversation(port, f"PUT {target} HTTP/1.1\r\nHost: x\r\nContent-Length: "
                                         f"{len(value)}\r\nConnection: close\r\n\r\n".encode()
                                   + value)
        check(f"PUT {target}: 200", got == [200], (got, out[-120:]))
    time.sleep(0.5)
    for target, key in spellings.items():
        seen = c.values(urllib.parse.quote(key, safe=""), node="n3", query="?r=3")
        check(f"{target} is the key {key!r}, read through n3", seen == [b"value of " + key], seen)
    status_answer = conversation(c.http["n2"], b"GET /status HTTP/1.1\r\nHost: x\r\n"
                                               b"Connection: close\r\n\r\n")[1]
    check("/status is still the node's status", b'"node": "n2"' in status_answer,
          status_answer[:120])
check.finish()
