"""Poison keys and values through the Python client library and the CLI (the
public case and 22a-22d send raw HTTP): keys a URL treats specially (`/`, `?`,
`#`, `%`, `%2F` literally, `.`, `..`, `./x`, `a/../b`, a space, CR, LF, NUL,
TAB, `\\`, `+`, `;`, `&w=1`), keys of exactly max_key_bytes (1024) in 1-, 2-, 3-
and 4-byte UTF-8 characters and in raw 0x80-0xff bytes, a key one byte over;
values of 0 bytes, of exactly max_value_bytes (1 MiB) and one over; 26
blind puts from distinct library clients to one key (max_siblings 25), then a
resolving put; and each written key read back across the paths: written by the
library and read by the CLI (`vdynamo get --json`) and by raw HTTP, and the
CLI's own put/get of the same keys.

3 processes, defaults. Right value: every key within the limit round-trips
unchanged on every path (the same bytes, one value, never another key's);
over the limits a clear error (the library: a DynamoError subclass, not a bare
httpx or UnicodeError; the CLI: exit 1 with one line); the sibling flood keeps
every accepted put (at most 25) and refuses the rest with a DynamoError, and the
resolver's put leaves one value.

Run from the project's root: .venv/bin/python probes/22e-library-and-cli-odd-keys-and-values.py
"""
import base64
import json
import subprocess
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

VD = str(Path(".venv/bin/vdynamo").resolve())
KEYS: list[bytes] = [k.encode() for k in (
    "/", "?", "#", "%", "%2F", ".", "..", "./x", "a/../b", "a b", "a\rb", "a\nb", "a\x00b",
    "a\tb", "a\\b", "a+b", "a;b", "a&w=1", "a?w=1", "-dash", "--", "é", "🔥")]
KEYS += ["a".encode() * 1024, ("é" * 512).encode(), ("€" * 341 + "a").encode(),
         ("🔥" * 256).encode(), bytes(range(0x80, 0x100)) * 8]
bad: list[str] = []


def check(what: str, ok: bool, seen: object = "") -> None:
    if not ok:
        print(f"FAIL {what}: {str(seen)[:300]}")
        bad.append(what)


with LocalNodes(nodes=3) as cluster:
    import vdynamo
    nodes = [f"127.0.0.1:{cluster.http[n]}" for n in cluster.names]
    db = vdynamo.connect(nodes)
    for i, key in enumerate(KEYS):
        value = b"v%d-" % i + key
        try:
            db.put(key, value)
        except Exception as err:  # noqa: BLE001
            check(f"library put of key {key[:20]!r} ({len(key)} B)", False, repr(err))
            continue
        got = db.get(key, r=3).values
        check(f"library get of key {key[:20]!r}", list(got) == [value], got)
        quoted = urllib.parse.quote(key, safe="")
        raw = cluster.values(quoted, query="?r=3")
        check(f"raw HTTP get of key {key[:20]!r}", raw == [value], raw)
        try:
            arg = key.decode("utf-8")
        except UnicodeDecodeError:
            arg = key.decode("utf-8", "surrogateescape")  # argv bytes as the OS gives them
        if b"\x00" not in key:
            out = subprocess.run([VD, "get", "--json", "--node", nodes[1], "--", arg],
                                 capture_output=True, timeout=30)
            try:
                data = json.loads(out.stdout)
                vals = [base64.b64decode(v) for v in data["values"]]
            except (ValueError, KeyError, TypeError):
                vals = out.stdout[:120] + out.stderr[:200]
            check(f"vdynamo get --json of key {key[:20]!r}", vals == [value], vals)
            out = subprocess.run([VD, "put", "--node", nodes[2], "--", arg, "cli"],
                                 capture_output=True, timeout=30)
            got = db.get(key, r=3).values
            check(f"vdynamo put of key {key[:20]!r}", out.returncode == 0 and sorted(got) == sorted([value, b"cli"]),
                  (out.returncode, out.stderr[-200:], got))
    for key in (b"a" * 1025, ("é" * 513).encode(), ("🔥" * 257).encode()):
        try:
            db.put(key, b"x")
            check(f"library put of a {len(key)}-byte key refused", False, "stored")
        except vdynamo.DynamoError as err:
            print(f"ok   {len(key)}-byte key: {type(err).__name__}: {str(err)[:90]}")
        except Exception as err:  # noqa: BLE001
            check(f"library put of a {len(key)}-byte key: a DynamoError", False, repr(err))
        out = subprocess.run([VD, "put", "--node", nodes[0], "--", key.decode(), "x"],
                             capture_output=True, timeout=30)
        check(f"vdynamo put of a {len(key)}-byte key: exit 1, one line", out.returncode == 1
              and len(out.stderr.strip().splitlines()) == 1, (out.returncode, out.stderr[-300:]))
    for size in (0, 1 << 20):
        value = b"z" * size
        db.put(b"size%d" % size, value)
        check(f"a value of {size} B round-trips", list(db.get(b"size%d" % size, r=3).values) == [value])
        out = subprocess.run([VD, "put", "--node", nodes[0], "--value-file", "-", "cli-size%d" % size],
                             input=value, capture_output=True, timeout=30)
        got = db.get(b"cli-size%d" % size, r=3).values
        check(f"vdynamo put from stdin of {size} B", out.returncode == 0 and list(got) == [value],
              (out.returncode, out.stderr[-200:], [len(g) for g in got]))
    try:
        db.put(b"over", b"z" * ((1 << 20) + 1))
        check("a value one byte over the limit refused", False, "stored")
    except vdynamo.DynamoError as err:
        print(f"ok   value over the limit: {type(err).__name__}: {str(err)[:90]}")
    except Exception as err:  # noqa: BLE001
        check("a value one byte over the limit: a DynamoError", False, repr(err))
    accepted, refused = [], []
    for i in range(26):
        with vdynamo.connect(nodes) as c:
            try:
                c.put(b"flood", b"s%d" % i)
                accepted.append(b"s%d" % i)
            except vdynamo.DynamoError as err:
                refused.append(type(err).__name__)
            except Exception as err:  # noqa: BLE001
                check("a sibling-flood refusal is a DynamoError", False, repr(err))
    got = db.get(b"flood", r=3)
    print(f"flood: {len(accepted)} accepted, refused {refused}; read {len(got.values)} siblings")
    check("the flood keeps every accepted put", sorted(got.values) == sorted(accepted),
          (len(got.values), len(accepted)))
    db.put(b"flood", b"merged", context=got.context)
    check("the resolver's put leaves one value", list(db.get(b"flood", r=3).values) == [b"merged"],
          db.get(b"flood", r=3).values)
    db.close()
if bad:
    print(f"FAIL: {len(bad)} checks failed")
    sys.exit(1)
print("PASS")
