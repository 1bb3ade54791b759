"""Chained puts over unread siblings by a raw HTTP client that does not name itself
(curl, a shell script; Riak's HTTP clients without X-Riak-ClientId made a sibling
per write, "sibling explosion" through the HTTP API): session 47 fixed this for
the library and the CLI, which name themselves, and left the raw unnamed client.

3 processes, N=3 R=2 W=2, dvv (the default). Alice and Bob write `cart` blind
(two siblings). Carol writes c0 blind, then c1, c2, ... c39, each PUT carrying
the X-Vdynamo-Context her previous PUT answered, none naming a client.
Right value: every PUT succeeds (the key never refuses its own context) and the
key ends [a, b, c39]: each chained put replaces Carol's previous value.

Run from the project's root: .venv/bin/python probes/05d-raw-http-chained-puts-unnamed.py
"""
import sys
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes  # noqa: E402

with LocalNodes(nodes=3) as c:
    def put(value: bytes, ctx: str | None) -> tuple[int, str | None, bytes]:
        headers = {"Content-Type": "application/octet-stream"}
        if ctx:
            headers["X-Vdynamo-Context"] = ctx
        status, h, body = c.request("PUT", "cart", value, "n1", "", headers)
        return status, {k.lower(): v for k, v in h.items()}.get("x-vdynamo-context"), body
    put(b"a", None)
    put(b"b", None)
    ctx = None
    codes = []
    for i in range(40):
        status, new_ctx, body = put(b"c%d" % i, ctx)
        codes.append(status)
        if status != 200:
            print(f"put c{i}: {status} {body[:200]!r}")
            break
        ctx = new_ctx
    final = sorted(c.values("cart", query="?r=3"))
    print(f"chained puts: {len(codes)} sent, codes {sorted(set(codes))}; final {len(final)} values "
          f"{final[:4]}{' ...' if len(final) > 4 else ''}")
    if set(codes) != {200} or final != [b"a", b"b", b"c39"]:
        print("FAIL: an unnamed HTTP client's chained puts each made a sibling")
        sys.exit(1)
    print("PASS")
