"""The client library's kept-alive connections against the node's idle close, a
restart and a stopped process (21a-21f are raw sockets; 12f and 23a use the
library with nodes killed): an application's client object lives for hours, its
pooled connections outliving the node's `http_idle_timeout_s` and the node
process itself (urllib3's and the Riak/Cassandra drivers' "connection reset on a
reused connection" reports: a request written on a connection the server had
just closed fails though the server never read it, and a driver that retries it
blindly writes twice).

Real processes, 3 nodes, N=3 R=2 W=2, dvv, `http_idle_timeout_s = 0.3`. One
`vdynamo.connect` client (blocking) and one `connect_async` client, each on the
three nodes:
1. *idle*: 60 blind puts of new keys each, one every 0.28-0.32 s (the close's
   edge: the client's next request and the node's idle close cross);
2. *restart*: n1 and n2 SIGTERMed and started again, one after the other, a put
   and a get between;
3. *stopped*: n1 SIGSTOPped; 6 puts and 6 gets; SIGCONT.
Right value: every call succeeds (no OutcomeUnknownError, no other error: the
idle close never loses a request the node did not read, the library reconnects
after a restart, asks another node than the stopped one); every key written
reads back at r=3 as exactly [its value] (nothing written twice).

Run from the project's root: .venv/bin/python probes/21g-library-kept-alive-connections-idle-restart-stop.py
"""
import asyncio
import os
import random
import signal
import sys
import time
from collections import Counter

import vdynamo
from _cluster import LocalNodes

bad: list[str] = []
errors: Counter[str] = Counter()
written: dict[str, bytes] = {}


def note(phase: str, err: Exception) -> None:
    errors[f"{phase}: {type(err).__name__}"] += 1
    if sum(errors.values()) <= 5:
        print(f"{phase}: {type(err).__name__}: {str(err)[:200]}")


with LocalNodes(nodes=3, per_process=True,
                extra_cluster='clock = "dvv"\nhttp_idle_timeout_s = 0.3') as c:
    seeds = [f"127.0.0.1:{c.http[n]}" for n in c.names]
    rnd = random.Random(57)
    db = vdynamo.connect(seeds)

    def put(phase: str, key: str) -> None:
        value = f"{key}={rnd.random()}".encode()
        try:
            db.put(key, value)
            written[key] = value
        except Exception as err:  # noqa: BLE001
            note(phase, err)

    for i in range(60):
        put("idle (blocking)", f"idle-{i}")
        time.sleep(rnd.uniform(0.28, 0.32))

    async def idle_async() -> None:
        async with vdynamo.connect_async(seeds) as adb:
            for i in range(60):
                key = f"aidle-{i}"
                value = f"{key}={rnd.random()}".encode()
                try:
                    await adb.put(key, value)
                    written[key] = value
                except Exception as err:  # noqa: BLE001
                    note("idle (async)", err)
                await asyncio.sleep(rnd.uniform(0.28, 0.32))

    asyncio.run(idle_async())
    for name in ("n1", "n2"):
        proc = c.procs.pop(name)
        proc.terminate()
        proc.wait(20)
        c.start_node(name)
        time.sleep(1.5)
        put(f"restart {name}", f"restart-{name}")
        try:
            db.get("idle-0")
        except Exception as err:  # noqa: BLE001
            note(f"restart {name} get", err)
    time.sleep(2)
    os.kill(c.procs["n1"].pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        for i in range(6):
            put("stopped n1", f"stopped-{i}")
            try:
                db.get(f"idle-{i}")
            except Exception as err:  # noqa: BLE001
                note("stopped n1 get", err)
        print(f"stopped phase: {time.monotonic() - started:.1f} s")
    finally:
        os.kill(c.procs["n1"].pid, signal.SIGCONT)
    db.close()
    time.sleep(2)
    wrong = {}
    for key, value in written.items():
        got = c.values(key, node=rnd.choice(c.names), query="?r=3")
        if got != [value]:
            wrong[key] = got
    print(f"{len(written)} puts acknowledged; errors {dict(errors)}; wrong at r=3: {wrong}")
    if errors:
        bad.append(f"errors {dict(errors)}")
    if wrong:
        bad.append(f"wrong {wrong}")
if bad:
    print(f"FAIL: {bad}")
    sys.exit(1)
print("PASS")
