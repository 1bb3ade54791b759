"""A put's answered context chained across the HTTP API and the client library, in
every clock mode (session 60's review of `workload.chain_puts`, docs/spec.md
"Chained contexts reviewed (session 60)"): what the spec's
`spec.clocks.answered_context` says a put answers, checked on real processes.

Real processes (`vdynamo serve --all`), 4 nodes, N=3 R=2 W=2, once per clock mode
(dvv, server-vclock, client-vclock, lww hybrid). One key `k`:
1. alice (the library) puts `a1` blind;
2. bob (raw HTTP, n1) puts `b2` blind: concurrent with a1;
3. alice puts `a3` over HTTP through n2 with the context a1's put answered (the
   coordinator holds bob's b2 as a sibling alice never read);
4. alice puts `a4` through the library with the context a3's HTTP PUT answered;
5. alice deletes with a4's answer (a chained tombstone), then puts `a6` with the
   delete's answer.

Right values (paper 4.4: a context covers what its client saw and wrote, never a
sibling the coordinator held): after a4 [a4, b2], after the delete [b2], after a6
[a6, b2]; lww (one version, last writer wins): [a4], [], [a6]. Mutants of
`impl.put_coordinator` (each seen failing, 9 checks of 12; lww passes both, its
answer the one version): answering the coordinator's whole clock
(`context_pairs(record)`, the rule before session 14's fix) loses bob's b2 (e.g.
server-vclock after a4: [a4]); answering an empty context keeps alice's own writes as
siblings (client-vclock after a6: [a1, a3, a4, a6, b2]).

Run from the project's root (about 15 s wall):
    .venv/bin/python probes/05m-chained-contexts-http-and-library-every-clock-mode.py [MODES]
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, each_clock

import vdynamo


def http_write(c: LocalNodes, value: bytes | None, node: str,
               context: str | None = None) -> tuple[int, str | None]:
    """PUT ``value`` (None: DELETE) of ``k`` through ``node``: (status, answered context)."""
    headers = {"Content-Type": "application/octet-stream"}
    if context:
        headers["X-Vdynamo-Context"] = context
    status, answer, body = c.request("PUT" if value is not None else "DELETE", "k", value,
                                     node, headers=headers)
    lower = {k.lower(): v for k, v in answer.items()}
    ctx = lower.get("x-vdynamo-context")
    if ctx is None and body:
        ctx = json.loads(body).get("context")
    return status, ctx


def run(mode: str, check: Checks) -> None:
    lww = mode == "lww"
    with LocalNodes(nodes=4, n=3, r=2, w=2, extra_cluster=f'clock = "{mode}"') as c:
        lib = vdynamo.connect([f"127.0.0.1:{c.http['n1']}"])
        try:
            a1 = lib.put("k", b"a1")
            check(f"{mode}: bob's blind put", http_write(c, b"b2", "n1")[0] == 200)
            status, a3 = http_write(c, b"a3", "n2", a1)
            check(f"{mode}: alice's chained HTTP put answers a context", status == 200 and bool(a3),
                  (status, a3))
            a4 = lib.put("k", b"a4", context=a3)
            seen = sorted(v.decode() for v in c.read("k", "n3", "?r=3")[0])
            check(f"{mode}: after a4", seen == (["a4"] if lww else ["a4", "b2"]), seen)
            d5 = lib.delete("k", context=a4)
            seen = sorted(v.decode() for v in c.read("k", "n4", "?r=3")[0])
            check(f"{mode}: after the chained delete", seen == ([] if lww else ["b2"]), seen)
            lib.put("k", b"a6", context=d5)
            seen = sorted(v.decode() for v in c.read("k", "n2", "?r=3")[0])
            check(f"{mode}: after a6", seen == (["a6"] if lww else ["a6", "b2"]), seen)
        finally:
            lib.close()


each_clock(run, ("dvv", "server-vclock", "client-vclock", "lww"))
