"""Fifty read-modify-write loops on one key through generic HTTP clients with
keep-alive pools (requests.Session and httpx.Client, as an app server's workers
use them, not the project's library): each worker, on its own pooled connection to
node t mod 3, reads ``hot`` (Accept: application/json: the siblings in base64 and
the context), writes back the union of the items it read plus its own next item
with ``X-Vdynamo-Context`` set to the context that read answered, and loops.
05k is 100 library clients, one round each; here the loops overlap, every client
keeps its connection, and each reads the node's answer to every status it gets.

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, dvv (the default)
and client-vclock.

Right value: every answer is 200, or a refusal with a JSON body (a 503 with
Retry-After, a 504 whose outcome is unknown, a 409/412 naming the context);
every acknowledged item is in the union of the siblings read at r=3 after the loops
stop (no acknowledged write lost); the sibling count then is at most the number of
writers (each writer's last put supersedes what it read: at most one concurrent
sibling per writer) and at most max_siblings (25: a put past it is 413 naming
max_siblings, documented); one resolving put leaves one value.

Run from the project's root: .venv/bin/python probes/05o-generic-http-clients-rmw-one-key-keepalive-pools.py [MODE...]
"""
from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, items, run_for  # noqa: E402
from _cluster import json_values as decode  # noqa: E402

WRITERS, SECONDS = 50, 12.0
check = Checks()


for mode in sys.argv[1:] or ["dvv", "client-vclock"]:
    with LocalNodes(nodes=3, extra_cluster=f'clock = "{mode}"') as c:
        acked: set[bytes] = set()
        statuses: Counter[str] = Counter()
        odd: list[str] = []
        at_limit: list[int] = []
        lock = threading.Lock()
        stop = threading.Event()

        def worker(t: int) -> None:
            base = f"http://127.0.0.1:{c.http[c.names[t % 3]]}/kv/hot"
            client: requests.Session | httpx.Client = (requests.Session() if t % 2 == 0
                                                       else httpx.Client(timeout=20))
            i = 0
            try:
                while not stop.is_set():
                    try:
                        got = client.get(base, headers={"Accept": "application/json"},
                                         timeout=20)
                        if got.status_code == 404:
                            values, context = [], None
                        elif got.status_code in (200, 300):
                            values, context = decode(got.content)
                        else:
                            with lock:
                                statuses[f"GET {got.status_code}"] += 1
                            continue
                        item = b"w%di%d" % (t, i)
                        headers = {"Content-Type": "application/octet-stream"}
                        if context:
                            headers["X-Vdynamo-Context"] = context
                        body = b",".join(sorted(items(values) | {item}))
                        put = (client.put(base, content=body, headers=headers, timeout=20)
                               if isinstance(client, httpx.Client) else
                               client.put(base, data=body, headers=headers, timeout=20))
                    except (requests.RequestException, httpx.HTTPError) as error:
                        with lock:
                            odd.append(f"w{t}: {type(error).__name__} {error}"[:200])
                        return
                    i += 1
                    ctype = put.headers.get("content-type", "")
                    with lock:
                        statuses[f"PUT {put.status_code}"] += 1
                        if put.status_code == 200:
                            acked.add(item)
                        elif put.status_code == 413 and b"max_siblings" in put.content:
                            at_limit.append(t)  # documented: reconcile first
                        elif (put.status_code not in (409, 412, 503, 504)
                              or not ctype.startswith("application/json")
                              or (put.status_code == 503 and "retry-after" not in put.headers)):
                            odd.append(f"w{t}: {put.status_code} {ctype} {put.content[:150]!r}")
            finally:
                client.close()

        start = time.monotonic()
        check(f"{mode}: every worker stopped", run_for(worker, WRITERS, SECONDS, stop))
        took = time.monotonic() - start
        status, _, body = c.request("GET", "hot", query="?r=3",
                                    headers={"Accept": "application/json"})
        values, context = decode(body)
        lost = acked - items(values)
        print(f"{mode}: {took:.0f} s, answers {dict(statuses)}, acked {len(acked)}, "
              f"siblings after {len(values)}, context {len(context or '')} chars")
        check(f"{mode}: no acknowledged item lost", not lost,
              f"{len(lost)} of {len(acked)}: {sorted(lost)[:5]}")
        limit = min(WRITERS, 25)  # max_siblings' default
        check(f"{mode}: siblings after the loops at most {limit}", len(values) <= limit,
              len(values))
        check(f"{mode}: every answer 200 or a JSON refusal, no client error", not odd, odd[:3])
        code = c.put("hot", b",".join(sorted(items(values))), context=context, query="?w=3")
        after = c.values("hot", query="?r=3")
        check(f"{mode}: one value after the resolving put", code == 200 and len(after) == 1,
              (code, len(after)))
check.finish()
