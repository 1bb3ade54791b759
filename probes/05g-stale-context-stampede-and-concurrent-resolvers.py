"""Clock and sibling growth from a stampede of clients holding one old context,
through all three coordinators at once, then concurrent resolvers (Riak's
"sibling explosion" reports: many app servers read once, write later; each
resolver's write-back is itself a sibling of the others). 05b is the simulator,
05c one shared client id, 05f sequential; 22e blind puts from one thread.

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, dvv and
client-vclock, max_siblings 25. Per mode:

1. `cart` = `base`; 40 library clients (each its own client id) read it (context
   C0), then all put `item-i` with C0 at once, through n1, n2, n3 in turn.
   Right: each put answers 200 or a clear refusal (RequestRefusedError, a 4xx);
   every accepted item is a sibling at r=3; `base` is not (every put covered it);
   at least 25 accepted (each coordinator admits up to max_siblings).
2. 8 clients with a union resolver (`connect(resolve=...)`) read at once: each
   read writes its merge back. Right: the union of the items in every sibling at
   r=3 afterwards is exactly the accepted items; no write-back raised.
3. One more resolving read and a put of the union with its context: one value,
   every accepted item in it, at r=3 through each node.

Run from the project's root: .venv/bin/python probes/05g-stale-context-stampede-and-concurrent-resolvers.py
"""
import sys
import threading
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vdynamo
from _cluster import Checks, LocalNodes

check = Checks()


def items(values: list[bytes]) -> set[bytes]:
    return {i for v in values for i in v.split(b",") if i}


def union(values: list[bytes]) -> bytes:
    return b",".join(sorted(items(values)))


for clock in ("dvv", "client-vclock"):
    with LocalNodes(nodes=3, extra_cluster=f'clock = "{clock}"') as c:
        seeds = [f"127.0.0.1:{c.http[n]}" for n in c.names]
        with vdynamo.connect(seeds) as first:
            first.put("cart", b"base")
        clients = [vdynamo.connect([seeds[i % 3]]) for i in range(40)]
        contexts = [cl.get("cart").context for cl in clients]
        barrier = threading.Barrier(40)
        accepted: list[bytes] = []
        errors: list[str] = []
        lock = threading.Lock()

        def stale(i: int) -> None:
            barrier.wait()
            value = f"item-{i}".encode()
            try:
                clients[i].put("cart", value, context=contexts[i])
            except vdynamo.RequestRefusedError as err:
                with lock:
                    errors.append(f"refused {str(err)[:80]}")
                return
            except Exception as err:  # noqa: BLE001 - the probe reports what it saw
                with lock:
                    errors.append(f"{type(err).__name__}: {str(err)[:120]}")
                return
            with lock:
                accepted.append(value)

        threads = [threading.Thread(target=stale, args=(i,)) for i in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for cl in clients:
            cl.close()
        odd = [e for e in errors if not e.startswith("refused")]
        print(f"{clock}: accepted {len(accepted)}, refused {len(errors) - len(odd)}; "
              f"{errors[:1]}")
        check(f"{clock}: every stampede put 200 or a clear refusal", not odd, odd)
        check(f"{clock}: at least 25 accepted", len(accepted) >= 25, len(accepted))
        for node in c.names:
            vals = c.values("cart", node=node, query="?r=3")
            check(f"{clock}: through {node} at r=3 exactly the accepted items",
                  sorted(vals) == sorted(accepted), (len(vals), len(accepted)))
        want = set(accepted)
        resolvers = [vdynamo.connect([seeds[i % 3]], resolve=union) for i in range(8)]
        wb_errors: list[str] = []
        barrier2 = threading.Barrier(8)

        def resolver(i: int) -> None:
            barrier2.wait()
            got = resolvers[i].get("cart")
            if got.write_back_error:
                with lock:
                    wb_errors.append(got.write_back_error)

        threads = [threading.Thread(target=resolver, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        check(f"{clock}: no write-back failed", not wb_errors, wb_errors)
        vals = c.values("cart", query="?r=3")
        print(f"{clock}: after 8 concurrent resolvers {len(vals)} siblings")
        check(f"{clock}: union after the resolvers is the accepted items", items(vals) == want,
              (len(items(vals)), len(want), sorted(items(vals) - want)[:5]))
        got = resolvers[0].get("cart", r=3)
        resolvers[0].put("cart", got.value or b"", context=got.context)
        for node in c.names:
            vals = c.values("cart", node=node, query="?r=3")
            check(f"{clock}: one value with every item through {node}",
                  len(vals) == 1 and items(vals) == want, (len(vals), len(items(vals))))
        for cl in resolvers:
            cl.close()
check.finish()
