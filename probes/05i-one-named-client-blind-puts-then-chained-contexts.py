"""One *named* client's chains in dvv, the default clock: a cache-style writer that
puts blind a few times (a `set`, no read first) and then continues from the
context each put answers (as a Riak client does with the object a put returns),
and one client shared by a web server's threads running several chains on one key
(session 47 named every library client for chains past *other* writers' values;
session 48 gave the unnamed HTTP writers fresh pairs; nobody chained past the
same named client's own unread values: 05b-05g chain from gets).

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, dvv. Four writers:
1. the library: 3 blind puts of `lib`, then 30 puts each with the previous put's
   returned context;
2. the library: one client, 3 chains on `shared` interleaved, 20 rounds (each
   chain's first put blind);
3. raw HTTP with `X-Vdynamo-Client: shop-7`: 3 blind PUTs of `raw`, then 29 PUTs
   each with the previous answer's context;
4. the CLI: `vdynamo put cli b<i>` 3 times, then 12 `vdynamo put --context` with the
   context the previous put printed.

Right value (paper 4.4: a context covers what its client saw and wrote): every put
200 / exit 0; at r=3 `lib` holds [b0, b1, c29], `shared` [0-19, 1-19, 2-19], `raw`
[a, b, c29], `cli` [b0, b1, c11]. Before session 58's fix each chain after the
client's third unread value made one sibling per put until 413 "more than 25
siblings" (the key stuck for that client: case 05's kind).

Run from the project's root:
    .venv/bin/python probes/05i-one-named-client-blind-puts-then-chained-contexts.py
"""
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vdynamo
from _cluster import Checks, LocalNodes, vdynamo_command

check = Checks()


def attempt(what: str, fn) -> bool:  # type: ignore[no-untyped-def]
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - reported
        check(what, False, f"{type(err).__name__}: {str(err)[:160]}")
        return False
    return True


with LocalNodes(nodes=3) as c:
    seeds = [f"127.0.0.1:{c.http[n]}" for n in c.names]
    with vdynamo.connect(seeds) as db:
        def lib() -> None:
            context = None
            for value in (b"b0", b"b1", b"b2"):
                context = db.put("lib", value)
            for i in range(30):
                context = db.put("lib", b"c%d" % i, context=context)

        if attempt("library: 3 blind puts then 30 chained", lib):
            got = sorted(c.values("lib", query="?r=3"))
            check("library: lib at r=3", got == [b"b0", b"b1", b"c29"], (len(got), got[:6]))

        def shared() -> None:
            contexts: list[str | None] = [None, None, None]
            for i in range(20):
                for chain in range(3):
                    contexts[chain] = db.put("shared", b"%d-%d" % (chain, i),
                                             context=contexts[chain])

        if attempt("library: 3 interleaved chains of one client", shared):
            got = sorted(c.values("shared", query="?r=3"))
            check("library: shared at r=3", got == [b"0-19", b"1-19", b"2-19"],
                  (len(got), got[:6]))

    named = {"Content-Type": "application/octet-stream", "X-Vdynamo-Client": "shop-7"}
    body = b""
    for value in (b"a", b"b", b"c0"):
        status, _, body = c.request("PUT", "raw", value, headers=named)
        check(f"raw: blind {value!r} 200", status == 200, status)
    for i in range(1, 30):
        headers = {**named, "X-Vdynamo-Context": json.loads(body)["context"]}
        status, _, body = c.request("PUT", "raw", b"c%d" % i, headers=headers)
        if not check(f"raw: chained put c{i} 200", status == 200, (status, body[:120])):
            break
    got = sorted(c.values("raw", query="?r=3"))
    check("raw: raw at r=3", got == [b"a", b"b", b"c29"], (len(got), got[:6]))

    cli = [*vdynamo_command(), "put", "--node", seeds[0], "--node", seeds[1]]
    context = ""
    for i in range(3):
        done = subprocess.run([*cli, "cli", f"b{i}"], capture_output=True, text=True, timeout=60)
        check(f"cli: blind b{i} exit 0", done.returncode == 0, done.stderr)
        context = done.stdout.strip().split()[-1]
    for i in range(12):
        done = subprocess.run([*cli, "cli", f"c{i}", "--context", context], capture_output=True,
                              text=True, timeout=60)
        if not check(f"cli: chained c{i} exit 0", done.returncode == 0, done.stderr):
            break
        context = done.stdout.strip().split()[-1]
    got = sorted(c.values("cli", query="?r=3"))
    check("cli: cli at r=3", got == [b"b0", b"b1", b"c11"], (len(got), got[:6]))
check.finish()
