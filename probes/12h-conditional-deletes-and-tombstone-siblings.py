"""Deletes with HTTP preconditions (If-Match / If-None-Match, RFC 9110 13; Riak's
HTTP API takes them on DELETE and on PUT) and a tombstone beside a live sibling
(Riak's "deleted sibling" reports: a GET answering 300 with a tombstone among the
values, a create-if-absent refused on a key that only holds a tombstone). No
earlier probe sends a precondition.

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, each clock mode
(lww too: there the concurrent put and delete are ordered by stamps, so step 1
only checks that the answer is one of the two). Per mode:

1. `k` = v1; A and B read it (context C1, ETag E1); A deletes with C1 through n1,
   B puts v2 with C1 through n2 (concurrent with the delete).
   Right: a GET at r=3 through each node answers [v2] with status 200 (the
   tombstone sibling never shown as a value, never a 300).
2. PUT `k` `If-None-Match: *` through n3: 412 (it holds v2), `k` unchanged.
3. DELETE `k` `If-Match: E1` (the state before v2) through n1: 412, `k` unchanged.
4. DELETE `k` `If-Match: "nonsense"`: 412; then `If-Match: <k's ETag now>`: 200
   or 204, and `k` reads nothing at r=3 through each node; HEAD 404.
5. PUT `k` `If-Match: *` (a deleted key has no value): 412, still nothing.
6. PUT `k` `If-None-Match: *` through n2: 200, `k` reads [v3] at r=3 everywhere.
7. DELETE `j` (never written) `If-Match: *`: 412; `If-None-Match: *`: 404 or 412,
   never a write (`j` reads nothing; /status keys unchanged).

Run from the project's root:
    .venv/bin/python probes/12h-conditional-deletes-and-tombstone-siblings.py [MODES]
"""
import json
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

MODES = sys.argv[1].split(",") if len(sys.argv) > 1 else [
    "dvv", "server-vclock", "client-vclock", "lww"]
problems: list[str] = []


def check(ok: bool, what: str) -> None:
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        problems.append(what)


def keys(c: LocalNodes, node: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{c.http[node]}/status", timeout=5) as r:
        return int(json.loads(r.read())["keys"])


for mode in MODES:
    with LocalNodes(nodes=3, extra_cluster=f'clock = "{mode}"') as c:
        cl = {"X-Vdynamo-Client": "probe"} if mode == "client-vclock" else {}

        def req(method: str, key: str, body: bytes | None = None, node: str = "n1",
                query: str = "", **headers: str) -> tuple[int, dict[str, str], bytes]:
            h = {k.replace("_", "-"): v for k, v in headers.items()}
            return c.request(method, key, body, node=node, query=query,
                             headers={**cl, **h})  # noqa: B023 (called in this loop only)

        def etag(key: str) -> str | None:
            _, headers, _ = req("GET", key, query="?r=3", Accept="*/*")
            return {k.lower(): v for k, v in headers.items()}.get("etag")

        def state(key: str) -> list[tuple[int, list[bytes]]]:
            out = []
            for node in c.names:
                status, _, _ = req("GET", key, node=node, query="?r=3", Accept="*/*")
                out.append((status, sorted(c.values(key, node=node, query="?r=3"))))
            return out

        assert req("PUT", "k", b"v1", Content_Type="application/octet-stream")[0] == 200
        _, c1 = c.read("k", query="?r=3")
        e1 = etag("k")
        assert c1 and e1
        sd = req("DELETE", "k", node="n1", X_Vdynamo_Context=c1)[0]
        sp = req("PUT", "k", b"v2", node="n2", X_Vdynamo_Context=c1,
                 Content_Type="application/octet-stream")[0]
        got = state("k")
        if mode == "lww":
            check(all(g == got[0] for g in got) and got[0] in ((200, [b"v2"]), (404, [])),
                  f"{mode} 1: delete {sd}, put {sp}: {got}")
            if got[0][0] == 404:  # the delete's stamp won: put v2 again to go on
                req("PUT", "k", b"v2", Content_Type="application/octet-stream")
        else:
            check(all(g == (200, [b"v2"]) for g in got),
                  f"{mode} 1: delete {sd}, concurrent put {sp}: {got}")
        s, _, body = req("PUT", "k", b"vX", node="n3", If_None_Match="*",
                         Content_Type="application/octet-stream")
        check(s == 412 and state("k")[0] == (200, [b"v2"]),
              f"{mode} 2: If-None-Match * on a live key: {s} {state('k')[0]}")
        s, _, _ = req("DELETE", "k", node="n1", If_Match=e1)
        check(s == 412 and state("k")[0] == (200, [b"v2"]),
              f"{mode} 3: DELETE If-Match the old ETag: {s} {state('k')[0]}")
        s, _, _ = req("DELETE", "k", node="n2", If_Match='"nonsense"')
        check(s == 412 and state("k")[0] == (200, [b"v2"]),
              f"{mode} 4a: DELETE If-Match nonsense: {s} {state('k')[0]}")
        e2 = etag("k")
        s, _, _ = req("DELETE", "k", node="n3", If_Match=e2 or "")
        head = req("HEAD", "k", node="n2", query="?r=3")[0]
        check(s in (200, 204) and all(g[1] == [] for g in state("k")) and head == 404,
              f"{mode} 4b: DELETE If-Match the ETag now: {s} {state('k')} HEAD {head}")
        s, _, _ = req("PUT", "k", b"vY", node="n1", If_Match="*",
                      Content_Type="application/octet-stream")
        check(s == 412 and all(g[1] == [] for g in state("k")),
              f"{mode} 5: PUT If-Match * on a deleted key: {s} {state('k')}")
        s, _, body = req("PUT", "k", b"v3", node="n2", If_None_Match="*",
                         Content_Type="application/octet-stream")
        check(s == 200 and all(g == (200, [b"v3"]) for g in state("k")),
              f"{mode} 6: PUT If-None-Match * on a deleted key: {s} {body[:80]!r} {state('k')}")
        before = [keys(c, n) for n in c.names]
        s1 = req("DELETE", "j", node="n1", If_Match="*")[0]
        s2 = req("DELETE", "j", node="n2", If_None_Match="*")[0]
        time.sleep(0.3)
        after = [keys(c, n) for n in c.names]
        check(s1 == 412 and s2 in (404, 412) and after == before
              and all(g[1] == [] for g in state("j")),
              f"{mode} 7: DELETE of a never-written key If-Match * {s1}, If-None-Match * "
              f"{s2}, keys {before} -> {after}")

if problems:
    print("FAIL:", *problems, sep="\n  ")
    sys.exit(1)
print("PASS")
