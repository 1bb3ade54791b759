"""Values and keys exactly at, and one byte over, limits an operator set to odd
numbers (`max_value_bytes = 100003`, `max_key_bytes = 300`), through every path a
user has: raw HTTP (Content-Length, chunked, `Expect: 100-continue`), the CLI
(positional value, `--value-file PATH`, `--value-file -` from a pipe) and the
client library (blocking and asyncio); and keys of 0 bytes through the CLI and
the library. 22e used the default 1 MiB / 1024 (library and CLI), 22g 65536 by
HTTP alone: a client that assumed the defaults, or a check off by one against the
cluster's own figure, shows only with limits of their own.

3 processes, defaults otherwise. Right value: each value of 100003 bytes and
each key of 300 bytes stored and read back exactly (r=3); each one over refused
with the limit named (HTTP 413 / 414; the CLI exit 1 naming `max_value_bytes` or the
key's limit, one line; the library a DynamoError subclass), nothing stored; a 0-byte
key refused (CLI exit 1 or 2, one line; library a DynamoError subclass).

Run from the project's root: .venv/bin/python probes/22l-odd-limits-at-and-over-through-http-cli-library.py
"""
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vdynamo
from _cluster import Checks, LocalNodes, raw, vdynamo_command

check = Checks()
VALUE, KEY = 100003, 300


def status_of(answer: bytes) -> int:
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


with LocalNodes(nodes=3, extra_cluster=f"max_value_bytes = {VALUE}\nmax_key_bytes = {KEY}") as c:
    port = c.http["n1"]
    seeds = [f"127.0.0.1:{c.http[n]}" for n in c.names]
    at, over = os.urandom(VALUE), os.urandom(VALUE + 1)

    # raw HTTP
    for name, framing in (("cl", "cl"), ("chunked", "chunked"), ("expect", "expect")):
        for size, value in (("at", at), ("over", over)):
            key = f"h-{name}-{size}".encode()
            head = b"PUT /kv/" + key + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            if framing == "chunked":
                body = b"".join(b"%x\r\n%s\r\n" % (len(value[i:i + 7000]), value[i:i + 7000])
                                for i in range(0, len(value), 7000)) + b"0\r\n\r\n"
                request = head + b"Transfer-Encoding: chunked\r\n\r\n" + body
            else:
                extra = b"Expect: 100-continue\r\n" if framing == "expect" else b""
                request = head + extra + b"Content-Length: %d\r\n\r\n" % len(value) + value
            got = status_of(raw(port, request, timeout=10))
            want = 200 if size == "at" else 413
            check(f"HTTP {name} {size}: {want}", got == want, got)
            stored = c.values(key.decode(), query="?r=3")
            check(f"HTTP {name} {size}: stored right", stored == ([value] if size == "at" else []),
                  [len(v) for v in stored])
    for size, key in (("at", "k" * KEY), ("over", "k" * (KEY + 1))):
        got = c.request("PUT", key, b"x", headers={"Content-Type": "text/plain"})[0]
        check(f"HTTP key {size}: {200 if size == 'at' else 414}",
              got == (200 if size == "at" else 414), got)

    # the CLI
    cli = [*vdynamo_command(), "--node", seeds[0], "--node", seeds[1]]

    def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([cli[0], args[0], *cli[1:], *args[1:]], input=stdin,
                              capture_output=True, timeout=60)

    with tempfile.TemporaryDirectory() as tmp:
        for size, value in (("at", at), ("over", over)):
            path = Path(tmp) / size
            path.write_bytes(value)
            for how, args, stdin in (("file", ("--value-file", str(path)), None),
                                     ("stdin", ("--value-file", "-"), value)):
                key = f"cli-{how}-{size}"
                done = run("put", key, *args, stdin=stdin)
                ok = done.returncode == 0 if size == "at" else (
                    done.returncode == 1 and b"max_value_bytes" in done.stderr
                    and done.stderr.count(b"\n") == 1)
                check(f"CLI {how} {size}", ok, (done.returncode, done.stderr[:200]))
                stored = c.values(key, query="?r=3")
                check(f"CLI {how} {size}: stored right",
                      stored == ([value] if size == "at" else []), [len(v) for v in stored])
    text_at, text_over = "t" * VALUE, "t" * (VALUE + 1)
    for size, text in (("at", text_at), ("over", text_over)):
        done = run("put", f"cli-arg-{size}", text)
        ok = done.returncode == 0 if size == "at" else (
            done.returncode == 1 and b"max_value_bytes" in done.stderr)
        check(f"CLI positional {size}", ok, (done.returncode, done.stderr[:200]))
    for size, key in (("at", "q" * KEY), ("over", "q" * (KEY + 1))):
        done = run("put", key, "v")
        check(f"CLI key {size}", (done.returncode == 0) if size == "at" else (
            done.returncode in (1, 2) and done.stderr.count(b"\n") == 1),
            (done.returncode, done.stderr[:200]))
        if size == "at":
            got = run("get", key)
            check("CLI key at: read back", got.returncode == 0 and got.stdout.startswith(b"v\n"),
                  (got.returncode, got.stdout[:60]))
    for verb in ("get", "put", "delete"):
        done = run(verb, "", *(["v"] if verb == "put" else []))
        check(f"CLI {verb} of a 0-byte key: exit 1/2, one line",
              done.returncode in (1, 2) and done.stderr.count(b"\n") == 1 and b"Traceback" not in done.stderr,
              (done.returncode, done.stderr[:200]))

    # the library, blocking and asyncio
    def lib(fn) -> str:  # type: ignore[no-untyped-def]
        try:
            fn()
        except vdynamo.DynamoError as err:
            return f"DynamoError {type(err).__name__}: {str(err)[:100]}"
        except Exception as err:  # noqa: BLE001
            return f"OTHER {type(err).__name__}: {str(err)[:100]}"
        return "ok"

    with vdynamo.connect(seeds) as db:
        for size, value in (("at", at), ("over", over)):
            seen = lib(lambda: db.put(f"lib-{size}", value))
            check(f"library value {size}", seen == "ok" if size == "at" else (
                seen.startswith("DynamoError") and "max_value_bytes" in seen), seen)
            got = db.get(f"lib-{size}", r=3).values
            check(f"library value {size}: stored right", got == ([value] if size == "at" else []),
                  [len(v) for v in got])
        for size, key in (("at", "L" * KEY), ("over", "L" * (KEY + 1))):
            seen = lib(lambda: db.put(key, b"v"))
            check(f"library key {size}", seen == "ok" if size == "at" else seen.startswith("DynamoError"),
                  seen)
        for verb in ("get", "put", "delete"):
            seen = lib(lambda: getattr(db, verb)("", *([b"v"] if verb == "put" else [])))
            check(f"library {verb} of a 0-byte key: a DynamoError", seen.startswith("DynamoError"), seen)

    async def async_side() -> list[str]:
        out = []
        async with vdynamo.connect_async(seeds) as adb:
            for size, value in (("at", at), ("over", over)):
                try:
                    await adb.put(f"alib-{size}", value)
                    out.append(f"{size} ok")
                except vdynamo.DynamoError as err:
                    out.append(f"{size} DynamoError {str(err)[:160]}")
                except Exception as err:  # noqa: BLE001
                    out.append(f"{size} OTHER {type(err).__name__} {str(err)[:80]}")
            got = (await adb.get("alib-at", r=3)).values
            out.append("read ok" if got == [at] else f"read {[len(v) for v in got]}")
        return out

    seen = asyncio.run(async_side())
    check("async library: at ok, over a DynamoError naming the limit, read back",
          seen[0] == "at ok" and seen[1].startswith("over DynamoError") and "max_value_bytes" in seen[1]
          and seen[2] == "read ok", seen)
check.finish()
