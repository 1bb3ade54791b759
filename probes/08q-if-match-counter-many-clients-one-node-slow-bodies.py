"""Optimistic concurrency as a generic HTTP client does it, many at once on one
key through one node: a counter incremented by 16 requests.Session workers, each
looping GET (ETag, the number) then PUT of the number + 1 with ``If-Match:
<that ETag>``, retrying on 412; every fourth worker sends its PUT's body as a
chunked stream trickled over 0.3 s (a slow client) while the others write. The
module docstring of impl/http_conditions.py says conditional writes of a key
through one node are taken in turn and, with R + W > N, the later reads the
earlier's acknowledged write: a compare-and-set through one node. 08h and 12h
send one conditional request at a time; here they race.

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, dvv; all workers
on n1; 10 s.

Right value: every PUT answers 200, 412 (JSON, the tag did not match), or a
JSON 503 with Retry-After (the turn not reached in time); after the loops the key
reads at r=3 as one value (no siblings), and that number equals the count of
200s (no increment lost, none applied twice); every 200 answered a distinct
number.

Run from the project's root: .venv/bin/python probes/08q-if-match-counter-many-clients-one-node-slow-bodies.py
"""
from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, run_for  # noqa: E402

WORKERS, SECONDS = 16, 10.0
check = Checks()


def trickled(data: bytes) -> Iterator[bytes]:
    step = max(1, len(data) // 3)
    for i in range(0, len(data), step):
        time.sleep(0.1)
        yield data[i:i + step]


with LocalNodes(nodes=3) as c:
    url = c.url("counter")
    check("the counter starts at 0", c.put("counter", b"0", query="?w=3") == 200)
    numbers: list[int] = []
    statuses: Counter[int] = Counter()
    odd: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker(t: int) -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    got = session.get(url, headers={"Accept": "application/octet-stream"},
                                      timeout=20)
                    if got.status_code != 200:
                        with lock:
                            odd.append(f"GET {got.status_code} {got.content[:100]!r}")
                        time.sleep(0.1)
                        continue
                    number = int(got.content) + 1
                    body = str(number).encode()
                    headers = {"If-Match": got.headers["etag"],
                               "Content-Type": "application/octet-stream"}
                    answer = session.put(url, data=trickled(body) if t % 4 == 0 else body,
                                         headers=headers, timeout=30)
                except requests.RequestException as error:
                    with lock:
                        odd.append(f"w{t}: {type(error).__name__} {error}"[:200])
                    return
                ctype = answer.headers.get("content-type", "")
                with lock:
                    statuses[answer.status_code] += 1
                    if answer.status_code == 200:
                        numbers.append(number)
                    elif answer.status_code not in (412, 503) or not ctype.startswith(
                            "application/json") or (answer.status_code == 503 and
                                                    "retry-after" not in answer.headers):
                        odd.append(f"w{t}: {answer.status_code} {answer.content[:150]!r}")

    check("every worker ended", run_for(worker, WORKERS, SECONDS, stop))
    final = c.values("counter", query="?r=3")
    twice = [n for n, k in Counter(numbers).items() if k > 1]
    print(f"answers {dict(statuses)}; final {final}; 200s {len(numbers)}")
    check("every answer 200, a JSON 412, or a JSON 503 with Retry-After", not odd, odd[:3])
    check("one value after", len(final) == 1, final)
    check("the counter equals the count of 200s", final == [str(len(numbers)).encode()],
          (final, len(numbers)))
    check("no number acknowledged twice", not twice, twice[:5])
check.finish()
