"""An asynchronous client whose pool is larger than the node's connection cap:
httpx.AsyncClient (its pool limited to 200 connections, the default 100 raised),
200 read-modify-write tasks on one key at once through one node whose
``max_http_connections`` is 32, each reading (Accept: application/json) and
writing back the union of the items it read plus its own, with the read's
context, 3 times; then a second client whose pool keeps its connections idle
while a third asks. 21e/21k flood the caps with raw sockets; 05o is 50 threads
under the cap; here a library's pool, over the cap, doing real work.

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, dvv,
``max_http_connections = 32``; every task on n1.

Right value: every request is answered -- 200, 300 (siblings, on a GET), 404
(the first reads), 412/413 naming max_siblings, or a JSON 503 with Retry-After
(a refused connection gets its 503: docs/runtime.md, "every refusal still gets
its 503") -- never a reset or a closed connection with no answer
(httpx.RemoteProtocolError, ReadError); every acknowledged item is in the r=3
read after; with 32 idle connections held open by one pool, a new client is
answered (an idle kept-alive connection yields to a new one, or the newcomer
gets a 503, not silence).

Run from the project's root: .venv/bin/python probes/08r-async-pool-larger-than-the-connection-cap-rmw-one-key.py
"""
from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, items  # noqa: E402
from _cluster import json_values as decode  # noqa: E402

TASKS, ROUNDS = 200, 3
check = Checks()


async def main(c: LocalNodes) -> None:
    url = c.url("hot")
    acked: set[bytes] = set()
    statuses: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=TASKS, max_keepalive_connections=TASKS)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def task(t: int) -> None:
            for r in range(ROUNDS):
                try:
                    got = await client.get(url, headers={"Accept": "application/json"})
                    statuses[f"GET {got.status_code}"] += 1
                    if got.status_code in (200, 300, 404):
                        values, context = decode(got.content)
                    else:
                        continue
                    item = b"t%dr%d" % (t, r)
                    headers = {"Content-Type": "application/octet-stream"}
                    if context:
                        headers["X-Vdynamo-Context"] = context
                    put = await client.put(url, content=b",".join(sorted(items(values) | {item})),
                                           headers=headers)
                except httpx.HTTPError as error:
                    errors[type(error).__name__] += 1
                    continue
                ctype = put.headers.get("content-type", "")
                statuses[f"PUT {put.status_code}"] += 1
                if put.status_code == 200:
                    acked.add(item)
                elif not ctype.startswith("application/json") or (
                        put.status_code == 503 and "retry-after" not in put.headers):
                    errors[f"PUT {put.status_code} {ctype}"] += 1

        await asyncio.gather(*(task(t) for t in range(TASKS)))
    counts = {k: v for k, v in c.status("n1").get("connections", {}).items()
              if k.startswith("http")}
    print(f"answers {dict(statuses)}; errors {dict(errors)}; acked {len(acked)}; n1 {counts}")
    check("every request answered (no reset, no silent close)", not errors, dict(errors))
    values = c.values("hot", query="?r=3")
    check("every acknowledged item kept", acked <= items(values),
          f"{len(acked - items(values))} of {len(acked)} missing")

    # 32 idle kept-alive connections of one pool, then a newcomer
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=32,
                                                     max_keepalive_connections=32),
                                 timeout=20) as holder:
        answers = await asyncio.gather(*(holder.get(c.url(f"idle{i}")) for i in range(32)),
                                       return_exceptions=True)
        held = sum(1 for a in answers if isinstance(a, httpx.Response))
        async with httpx.AsyncClient(timeout=10) as newcomer:
            try:
                late = await newcomer.get(url, headers={"Accept": "application/json"})
                seen = f"{late.status_code} {late.headers.get('retry-after')}"
                ok = late.status_code in (200, 300) or (late.status_code == 503 and
                                                        "retry-after" in late.headers)
            except httpx.HTTPError as error:
                seen, ok = repr(error), False
        print(f"idle holder answered {held} of 32; newcomer: {seen}")
        check("a newcomer beside 32 idle kept-alive connections is answered", ok, seen)


with LocalNodes(nodes=3, extra_cluster="max_http_connections = 32") as cluster:
    asyncio.run(main(cluster))
check.finish()
