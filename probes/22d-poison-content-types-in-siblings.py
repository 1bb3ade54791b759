"""Poison *value metadata*: a sibling whose Content-Type is malformed or composite
(fuzzers and buggy clients; Riak's multipart sibling answers broke clients when a
stored content type carried its own boundary or quoting) must not make the key
unreadable for everyone else.

3 processes. For each type below, one key gets a sibling `one` (text/plain) and a
sibling of that type, written blind by two named clients: an unterminated quoted
parameter, an unterminated charset, a `boundary=` on a non-multipart type, a quoted
`;`, empty parameters, application/json, and the composite types
`multipart/mixed; boundary=x` (its value holding `--x`) and `message/rfc822`.
Right value: the cases' reader (Riak's multipart 300, parsed with Python's email
package) and the JSON answer both return the two siblings' bytes exactly; types
outside printable ASCII or over 255 bytes are refused 400 at the put.

Run from the project's root: .venv/bin/python probes/22d-poison-content-types-in-siblings.py
"""
import base64
import json
import sys
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes  # noqa: E402

TYPES = [('a/b; q="unterminated', b"two"), ('text/plain; charset="x', b"two"),
         ("a/b; boundary=zz", b"--zz\r\ntwo"), ('text/plain; x=";', b"two"), ("a/b;;;", b"two"),
         ("application/json", b'{"values": ["AAAA"]}'),
         ("multipart/mixed; boundary=x", b"--x\r\n\r\ninner\r\n--x--"),
         ("message/rfc822", b"Subject: hi\r\n\r\nbody")]

with LocalNodes(nodes=3) as c:
    bad = False
    for i, (ctype, value) in enumerate(TYPES):
        key = f"m{i}"
        c.request("PUT", key, b"one", headers={"Content-Type": "text/plain", "X-Vdynamo-Client": "p"})
        c.request("PUT", key, value, headers={"Content-Type": ctype, "X-Vdynamo-Client": "q"})
        try:
            multipart = sorted(c.values(key))
        except Exception as err:  # noqa: BLE001
            multipart = [f"{type(err).__name__}: {err}".encode()]
        status, _, body = c.request("GET", key, headers={"Accept": "application/json"})
        as_json = sorted(base64.b64decode(v) for v in json.loads(body)["values"])
        want = sorted([b"one", value])
        ok = multipart == want and as_json == want
        print(f"{ctype!r:34}: multipart {multipart}, json {'ok' if as_json == want else as_json}"
              f"{'' if ok else '  <- FAIL'}")
        bad |= not ok
    refused = [c.request("PUT", "r", b"x", headers={"Content-Type": t})[0]
               for t in ("text/plain; charset=\u00e9", "x" * 300)]
    print("non-ASCII and 300-byte types:", refused)
    bad |= refused != [400, 400]
    if bad:
        print("FAIL: a sibling's content type made the key's answer unreadable")
        sys.exit(1)
    print("PASS")
