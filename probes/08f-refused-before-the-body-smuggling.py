"""Requests refused before their body is read, whose body is itself a request
(the request-smuggling shape; Scylla's alternator answered a shed request before
reading its body while promising keep-alive, so the next request on the
connection was misparsed: scylladb PR #31511). 08c pipelines behind *malformed*
requests; here every request is well-formed and refused for what it asks: 413
(Content-Length one over `max_value_bytes`), 412 (`If-None-Match: *` on a live
key), 414 (a key over `max_key_bytes`), 400 (a bad context, a bad `w`), 405
(POST), 404 (an unknown path), 401 (the admin endpoint without a token), each
with and without `Expect: 100-continue` (the client then sends the body anyway
after its answer, as curl does after its 1 s wait), each followed on the same
connection by a GET of a control key.

The body is `DELETE /kv/victim` (twice: at its start and at its end, padded to
the announced length).
Right value: `victim` still reads its value at r=3 after every case; no answer
to a DELETE is ever seen; each refusal answered with its status; and either the
connection is closed after the refusal (then nothing more answered) or the
control GET is answered 200 with its value.

Run from the project's root: .venv/bin/python probes/08f-refused-before-the-body-smuggling.py
"""
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

LIMIT = 4096
SMUGGLED = b"DELETE /kv/victim HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
CONTROL = b"GET /kv/control HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"
problems: list[str] = []


def body_of(size: int) -> bytes:
    if size < 2 * len(SMUGGLED):
        return SMUGGLED[:size]
    return SMUGGLED + b"x" * (size - 2 * len(SMUGGLED)) + SMUGGLED


def answers(data: bytes) -> list[tuple[bytes, bytes, bytes]]:
    """(status, head, body) of each answer in ``data``, framed by Content-Length."""
    out = []
    while data.startswith(b"HTTP/1."):
        head, _, rest = data.partition(b"\r\n\r\n")
        status = head.split(b" ")[1]
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and not status.startswith(b"1"):
                length = int(value)
        out.append((status, head, rest[:length]))
        data = rest[length:]
    return out


def run(port: int, head: bytes, size: int, expect: bool) -> tuple[list, bool]:
    if expect:
        head = head + b"Expect: 100-continue\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(head + b"Content-Length: %d\r\n\r\n" % size)
        if expect:
            s.settimeout(1.0)
            try:
                early = s.recv(65536)
            except TimeoutError:
                early = b""
        else:
            early = b""
        got, closed = early, False
        try:
            s.sendall(body_of(size) + CONTROL)
        except OSError:
            closed = True
        s.settimeout(2.0)
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            got += chunk
    return answers(got), closed


CASES = [
    ("413 over max_value_bytes", b"PUT /kv/big HTTP/1.1\r\nHost: x\r\n", LIMIT + 1, b"413"),
    ("412 If-None-Match *", b"PUT /kv/control HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n",
     200, b"412"),
    ("414 long key", b"PUT /kv/" + b"k" * 1100 + b" HTTP/1.1\r\nHost: x\r\n", 200, b"414"),
    ("400 bad context", b"PUT /kv/c HTTP/1.1\r\nHost: x\r\nX-Vdynamo-Context: !!!!\r\n",
     200, b"400"),
    ("400 bad w", b"PUT /kv/c?w=9 HTTP/1.1\r\nHost: x\r\n", 200, b"400"),
    ("405 POST", b"POST /kv/c HTTP/1.1\r\nHost: x\r\n", 200, b"405"),
    ("404 unknown path", b"PUT /nothing HTTP/1.1\r\nHost: x\r\n", 200, b"404"),
    ("401 admin without a token", b"POST /admin/force-remove?node=n3 HTTP/1.1\r\nHost: x\r\n",
     200, b"401"),
]

with LocalNodes(nodes=3, extra_cluster=f"max_value_bytes = {LIMIT}") as c:
    assert c.put("victim", b"alive", query="?w=3") == 200
    assert c.put("control", b"ctl", query="?w=3") == 200
    port = c.http["n1"]
    for what, head, size, want in CASES:
        for expect in (False, True):
            got, closed = run(port, head, size, expect)
            finals = [a for a in got if not a[0].startswith(b"1")]
            statuses = [a[0].decode() for a in got]
            victim = c.values("victim", query="?r=3")
            line = (f"{what}{' + Expect' if expect else ''}: {statuses} closed={closed} "
                    f"victim {victim}")
            bad = []
            if victim != [b"alive"]:
                bad.append("victim deleted")
                c.put("victim", b"alive", query="?w=3")
            if not finals or finals[0][0] != want:
                bad.append(f"first final answer not {want.decode()}")
            rest = finals[1:]
            if rest and not (len(rest) == 1 and rest[0][0] == b"200" and rest[0][2] == b"ctl"):
                bad.append(f"after the refusal: {[(a[0], a[2][:60]) for a in rest]}")
            if not rest and not closed:
                bad.append("no control answer, connection still open")
            print(("ok   " if not bad else "FAIL ") + line + (f" ({'; '.join(bad)})" if bad
                                                             else ""), flush=True)
            if bad:
                problems.append(line + f" ({'; '.join(bad)})")
    time.sleep(0.2)

if problems:
    print("FAIL:", *problems, sep="\n  ")
    sys.exit(1)
print("PASS")
