"""Thirty generic HTTP clients (requests.Session keep-alive pools, ten per node)
race deletes and puts on one key, each with the context of its own last read,
which is stale by the time it writes: thread t loops GET (Accept:
application/json) then, by a seeded coin, DELETE or PUT of a value of its own
with ``X-Vdynamo-Context`` set to that read's context (the header of a 404 too:
a tombstone's context). 12i sends stale-context deletes then writers one after
the other; 12o races one stale delete; here they all overlap, for 10 s.

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, dvv and client-vclock.

Right value (Dynamo 4.4: a write replaces exactly the versions its context
covers): a value whose put was acknowledged and that no later write's read saw
(no write, acknowledged or not, was sent with a context that covered it) is in
the r=3 read after the race; no value ever appears that was never put (no
resurrection of a key by a delete); every answer is 2xx or a JSON refusal.

Run from the project's root: .venv/bin/python probes/12s-stale-context-deletes-and-puts-racing-generic-clients.py [MODE...]
"""
from __future__ import annotations

import base64
import json
import random
import sys
import threading
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, run_for  # noqa: E402

WRITERS, SECONDS = 30, 10.0
check = Checks()


def read(session: requests.Session, url: str) -> tuple[int, list[bytes], str | None]:
    got = session.get(url, headers={"Accept": "application/json"}, timeout=20)
    context = got.headers.get("x-vdynamo-context")
    if got.status_code in (200, 300):
        data = json.loads(got.content)
        return 200, [base64.b64decode(v) for v in data["values"]], data.get("context", context)
    return got.status_code, [], context


for mode in sys.argv[1:] or ["dvv", "client-vclock"]:
    with LocalNodes(nodes=3, extra_cluster=f'clock = "{mode}"') as c:
        acked: set[bytes] = set()
        sent: set[bytes] = set()
        covered: set[bytes] = set()
        statuses: Counter[str] = Counter()
        odd: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def worker(t: int) -> None:
            url = f"http://127.0.0.1:{c.http[c.names[t % 3]]}/kv/hot"
            rng = random.Random(t)
            with requests.Session() as session:
                i = 0
                while not stop.is_set():
                    try:
                        status, values, context = read(session, url)
                        if status not in (200, 300, 404):
                            with lock:
                                statuses[f"GET {status}"] += 1
                            continue
                        headers = {"Content-Type": "application/octet-stream"}
                        if context:
                            headers["X-Vdynamo-Context"] = context
                        delete = rng.random() < 0.4
                        value = b"w%di%d" % (t, i)
                        i += 1
                        with lock:
                            covered.update(values)  # before the write leaves
                            if not delete:
                                sent.add(value)
                        if delete:
                            answer = session.delete(url, headers=headers, timeout=20)
                        else:
                            answer = session.put(url, data=value, headers=headers, timeout=20)
                    except requests.RequestException as error:
                        with lock:
                            odd.append(f"w{t}: {type(error).__name__} {error}"[:200])
                        return
                    ctype = answer.headers.get("content-type", "")
                    with lock:
                        statuses[f"{'DELETE' if delete else 'PUT'} {answer.status_code}"] += 1
                        if answer.status_code in (200, 204) and not delete:
                            acked.add(value)
                        elif answer.status_code >= 300 and not ctype.startswith(
                                "application/json"):
                            odd.append(f"w{t}: {answer.status_code} {ctype}")
                        elif answer.status_code >= 300 and answer.status_code not in (
                                409, 412, 503, 504):
                            odd.append(f"w{t}: {answer.status_code} {answer.content[:150]!r}")

        check(f"{mode}: every worker stopped", run_for(worker, WRITERS, SECONDS, stop))
        with requests.Session() as s:
            status, final, _ = read(s, c.url("hot", query="?r=3"))
        must = acked - covered
        print(f"{mode}: answers {dict(statuses)}; acked {len(acked)}, never covered "
              f"{len(must)}, final {status} with {len(final)} values")
        check(f"{mode}: every acknowledged, never-covered value kept", must <= set(final),
              sorted(must - set(final))[:5])
        check(f"{mode}: nothing that was never put", set(final) <= sent,
              sorted(set(final) - sent)[:5])
        check(f"{mode}: every answer 2xx or a JSON refusal, no client error", not odd, odd[:3])
check.finish()
