"""Values of exactly ``max_value_bytes`` written to one key by many writers at
once through every node (requests.Session pools), all nodes up: each
coordinator checks the record limit against the record it read, and thirty
writers' puts in flight together can pass that check together (22k made the
record over the limit with three lone coordinators; here with none down, by
concurrency alone). A writer whose put would make the record too large is told
413; is the key still readable and resolvable with a value of exactly the limit?
One byte over the limit, sent among them, is 413 every time.

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, dvv,
``max_value_bytes = 16384``, ``max_record_bytes = 65536``. 30 threads, thread t
on node t mod 3, 4 blind puts each of 16,384 random bytes; thread 0 also 4 puts of
16,385 bytes.

Right value: every answer is 200, a 413 whose JSON names the limit
(max_value_bytes, max_record_bytes or max_siblings), or a JSON 503/504 (never
another status, never a dropped connection); every 16,385-byte put is 413 naming
max_value_bytes; every acknowledged value is in the r=3 read after (blind puts
supersede nothing); a put of exactly 16,384 bytes with that read's context
through each node in turn answers 200 the first time and the key then reads
at r=3 as [that value] (the record over its limit does not leave it stuck).

Run from the project's root: .venv/bin/python probes/22p-exact-limit-values-many-concurrent-writers-one-key.py
"""
from __future__ import annotations

import base64
import json
import os
import sys
import threading
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes  # noqa: E402

LIMIT, WRITERS, PUTS = 16384, 30, 4
check = Checks()

with LocalNodes(nodes=3, extra_cluster=f"max_value_bytes = {LIMIT}\n"
                                       "max_record_bytes = 65536") as c:
    acked: set[bytes] = set()
    statuses: Counter[str] = Counter()
    odd: list[str] = []
    lock = threading.Lock()

    def writer(t: int) -> None:
        url = f"http://127.0.0.1:{c.http[c.names[t % 3]]}/kv/hot"
        with requests.Session() as session:
            sizes = [LIMIT] * PUTS + ([LIMIT + 1] * PUTS if t == 0 else [])
            for size in sizes:
                value = os.urandom(size)
                try:
                    answer = session.put(url, data=value, timeout=30, headers={
                        "Content-Type": "application/octet-stream"})
                except requests.RequestException as error:
                    with lock:
                        odd.append(f"{size}: {type(error).__name__} {error}"[:200])
                    continue
                ctype = answer.headers.get("content-type", "")
                with lock:
                    statuses[f"{size} {answer.status_code}"] += 1
                    if answer.status_code == 200 and size == LIMIT:
                        acked.add(value)
                    elif answer.status_code == 413 and ctype.startswith("application/json"):
                        limit = json.loads(answer.content).get("limit", "")
                        if size > LIMIT and limit != "max_value_bytes" or limit not in (
                                "max_value_bytes", "max_record_bytes", "max_siblings"):
                            odd.append(f"{size}: 413 limit {limit!r}")
                    elif answer.status_code not in (503, 504) or not ctype.startswith(
                            "application/json"):
                        odd.append(f"{size}: {answer.status_code} {answer.content[:120]!r}")

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)
    check("every writer ended", not any(t.is_alive() for t in threads))
    status, headers, body = c.request("GET", "hot", query="?r=3",
                                      headers={"Accept": "application/json"})
    data = json.loads(body) if status in (200, 300) else {}
    values = [base64.b64decode(v) for v in data.get("values", [])]
    print(f"answers {dict(statuses)}; acked {len(acked)}; read {status} with {len(values)} "
          f"values, {sum(map(len, values))} bytes")
    check("every answer 200, a 413 naming its limit, or a JSON 503/504", not odd, odd[:4])
    check(f"every {LIMIT + 1}-byte put 413", statuses[f"{LIMIT + 1} 413"] == PUTS,
          {k: v for k, v in statuses.items() if k.startswith(str(LIMIT + 1))})
    check("the r=3 read answers", status in (200, 300), (status, body[:200]))
    check("every acknowledged value read back", acked <= set(values),
          f"{len(acked - set(values))} of {len(acked)} missing")
    final = os.urandom(LIMIT)
    codes = []
    for name in c.names:
        code, _, answer = c.request("PUT", "hot", final, node=name, query="?w=3", headers={
            "Content-Type": "application/octet-stream",
            "X-Vdynamo-Context": data.get("context", "")})
        codes.append((name, code, answer[:150]))
        if code == 200:
            break
    check("the resolving put of exactly the limit answers 200", codes[0][1] == 200, codes)
    check("the key then reads as [that value]", c.values("hot", query="?r=3") == [final])
check.finish()
