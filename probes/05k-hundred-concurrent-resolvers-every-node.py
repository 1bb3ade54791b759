"""A hot key with 100 concurrent read-modify-write resolvers spread over every node
(a shopping cart under a flash sale: each app server reads, merges the siblings it
sees with its own item, and writes back with that context; Riak's "sibling
explosion under concurrent resolvers" and Voldemort's clock growth with client
count). 05g sends 8 resolvers after a stampede; 05b is the simulator; here every
writer is also a resolver, 100 at once, each its own library client, twice over.

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, dvv and client-vclock
(the modes that keep concurrent writes; server-vclock loses them through one
coordinator and lww keeps one, by design: README's table). Per round: 100 threads,
thread t a client seeded with node t mod 3, each ``get("hot")``, then ``put`` of the
union of the items it read plus its own item ``r<R>t<t>``, with the get's context.
After the round: a get at r=3, its union checked, then one resolving put.

Right value: every put answers 200 or raises a DynamoError (a refusal, 4xx; or, on
a loaded machine, OutcomeUnknownError: a 504 whose W acks did not come within
``request_timeout``), never a bare error; every acknowledged item is in
the union read after its round (no acknowledged write lost); after the resolving
put one value; the context stays under 4 KiB.

Seen (session 59): PASS; a first run of 3 rounds: dvv 300 of 300 items acknowledged and kept
over 3 rounds, context 356-400 bytes; client-vclock likewise, context 3,028 bytes
(its 50 pairs). At a load of 20: dvv 188 of 200 acknowledged, client-vclock 72 of 200
(the others OutcomeUnknownError, 504 "put reached 1 of W=2 replicas before the
timeout"), none lost.

Run from the project's root: .venv/bin/python probes/05k-hundred-concurrent-resolvers-every-node.py [MODE...]
"""
from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes  # noqa: E402

import vdynamo  # noqa: E402
from impl.errors import DynamoError  # noqa: E402

ROUNDS, WRITERS = 2, 100
check = Checks()


def items(values: list[bytes]) -> set[bytes]:
    return {item for value in values for item in value.split(b",") if item}


for mode in sys.argv[1:] or ["dvv", "client-vclock"]:
    with LocalNodes(nodes=3, extra_cluster=f'clock = "{mode}"') as c:
        addrs = [f"127.0.0.1:{c.http[name]}" for name in c.names]
        acked: set[bytes] = set()
        refused: list[str] = []
        bare: list[str] = []
        lock = threading.Lock()

        def resolver(r: int, t: int) -> None:
            item = b"r%dt%d" % (r, t)
            try:
                with vdynamo.connect([addrs[t % 3], *addrs], timeout_s=10, deadline_s=40) as db:
                    got = db.get("hot")
                    db.put("hot", b",".join(sorted(items(got.values) | {item})),
                           context=got.context)
                with lock:
                    acked.add(item)
            except DynamoError as error:  # a refusal, or (loaded) an unknown outcome
                with lock:
                    refused.append(f"{type(error).__name__}: {error}"[:150])
            except Exception as error:  # noqa: BLE001 (the check: none)
                with lock:
                    bare.append(repr(error)[:200])

        for r in range(ROUNDS):
            threads = [threading.Thread(target=resolver, args=(r, t)) for t in range(WRITERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(120)
            with vdynamo.connect(addrs) as db:
                got = db.get("hot", r=3)
                lost = acked - items(got.values)
                check(f"{mode} round {r}: no acknowledged item lost", not lost,
                      f"{len(lost)} of {len(acked)}: {sorted(lost)[:5]}")
                db.put("hot", b",".join(sorted(items(got.values))), context=got.context)
                after = db.get("hot", r=3)
                check(f"{mode} round {r}: one value after the resolving put",
                      len(after.values) == 1, len(after.values))
                check(f"{mode} round {r}: context under 4 KiB", len(after.context) < 4096,
                      len(after.context))
                print(f"{mode} round {r}: siblings {len(got.values)}, acked {len(acked)}, "
                      f"refused {len(refused)}, context {len(after.context)} bytes")
        check(f"{mode}: no bare error", not bare, bare[:3])
        if refused:
            print(f"{mode}: {len(refused)} DynamoErrors, e.g. {refused[:1]}")
check.finish()
