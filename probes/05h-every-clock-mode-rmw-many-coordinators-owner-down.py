"""Clock growth and lost updates under read-modify-write loops in *every* clock mode
(`dvv`, `client-vclock`, `server-vclock`, `lww`), through many coordinators, with
the key's first owner killed mid-run and started again (riak_kv's "vclock growth
with vnode churn" and Voldemort's "clock grows with every coordinator"; 05b is the
simulator in client-vclock alone, 05e restarts every node in dvv and server-vclock
one writer at a time, 05g a single stampede without a node down).

Real processes (`vdynamo serve --node`), 5 nodes, N=3 R=2 W=2. Per mode:

1. Sequential (all four modes): one writer, 24 read-modify-writes of `seq`, each
   read through one node and written (with that read's context) through another,
   the nodes rotating over all five (so fallbacks coordinate too); `seq`'s first
   owner SIGKILLed after write 8 and started again after write 16. Every value is
   the set of items so far (the union of the siblings read, plus a new item).
2. Concurrent (dvv and client-vclock: server-vclock's concurrent puts through one
   coordinator supersede each other by design, lww's by timestamp): 6 writers, 4 of
   raw HTTP (each its own `X-Vdynamo-Client`, reads and writes through rotating
   nodes) and 2 of the client library with a union resolver, 10 read-modify-writes
   each of `conc`; its first owner SIGKILLed once 20 writes are acknowledged and
   started again at 40.

Right value: after a settle, `seq` and `conc` read at r=3 through every node hold
every acknowledged item (the union of their siblings); no put is refused for its
context (every answer 200, or a 503/504 while the owner is down); the largest
context seen stays under 1,024 base64 characters (the clock bounded by the actors
that wrote, not by the writes).

Run from the project's root:
    .venv/bin/python probes/05h-every-clock-mode-rmw-many-coordinators-owner-down.py [MODES]
"""
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vdynamo
from _cluster import Checks, LocalNodes

check = Checks()
MODES = sys.argv[1:] or ["dvv", "client-vclock", "server-vclock", "lww"]
CONTEXT_BOUND = 1024


def items(values: list[bytes]) -> set[bytes]:
    return {i for v in values for i in v.split(b",") if i}


def union(values: list[bytes]) -> bytes:
    return b",".join(sorted(items(values)))


def owner(c: LocalNodes, key: str) -> str:
    """The key's first owner, as the library routes to it."""
    with vdynamo.connect([f"127.0.0.1:{c.http['n1']}"]) as db:
        db.get(key)
        first = db.router.candidates(key)[0]
    port = int(first.rstrip("/").rsplit(":", 1)[1])
    return next(name for name, p in c.http.items() if p == port)


def begin(c: LocalNodes, key: str, first: bytes) -> tuple[str, set[bytes]]:
    """``key`` written ``first``: (its first owner, the acknowledged items so far)."""
    c.put(key, first, node="n1")
    return owner(c, key), {first}


def settled(c: LocalNodes, what: str, key: str, acked: set[bytes], settle: float) -> None:
    """After ``settle`` seconds, every acknowledged item in ``key`` at r=3 through each node."""
    time.sleep(settle)
    for name in c.names:
        got = items(c.values(key, node=name, query="?r=3"))
        check(f"{what}: every acked item through {name} at r=3", acked <= got,
              sorted(acked - got))


def sequential(c: LocalNodes, mode: str, stats: dict[str, int]) -> None:
    key = "seq"
    victim, acked = begin(c, key, b"s-init")
    refused: list[str] = []
    for i in range(24):
        if i == 8:
            c.kill(victim)
        if i == 16:
            c.start_node(victim)
            time.sleep(1.0)
        up = [n for n in c.names if n in c.procs]
        reader, writer = up[i % len(up)], up[(i + 2) % len(up)]
        try:
            values, context = c.read(key, node=reader)
        except RuntimeError as err:  # a 503 while the owner is down
            refused.append(f"read {i} via {reader}: {str(err)[:80]}")
            continue
        stats["context"] = max(stats["context"], len(context or ""))
        item = f"s{i}".encode()
        value = union([*values, item])
        headers = {"Content-Type": "application/octet-stream", "X-Vdynamo-Client": "seq"}
        if context:
            headers["X-Vdynamo-Context"] = context
        status, _, body = c.request("PUT", key, value, node=writer, headers=headers)
        if status == 200:
            acked.add(item)
        elif status not in (503, 504):
            refused.append(f"put {i} via {writer}: {status} {body[:120]!r}")
        else:
            refused.append(f"put {i} via {writer}: {status} (owner down)")
    check(f"{mode} seq: no put refused but for the owner down",
          all("owner down" in r or "read" in r for r in refused), refused)
    settled(c, f"{mode} seq", key, acked, 4.0)
    stats["seq_acked"] = len(acked)


def concurrent(c: LocalNodes, mode: str, stats: dict[str, int]) -> None:
    key = "conc"
    victim, acked = begin(c, key, b"c-init")
    odd: list[str] = []
    lock = threading.Lock()
    count = [0]
    seeds = [f"127.0.0.1:{c.http[n]}" for n in c.names]

    def ack(item: bytes) -> None:
        with lock:
            acked.add(item)
            count[0] += 1

    def raw_writer(w: int) -> None:
        for i in range(10):
            up = [n for n in c.names if n in c.procs]
            reader, writer = up[(w + i) % len(up)], up[(w + i + 1) % len(up)]
            try:
                values, context = c.read(key, node=reader)
            except (RuntimeError, OSError) as err:
                with lock:  # a node killed under the request: expected
                    odd.append(f"w{w} read {i}: {str(err)[:80]} (node down)")
                continue
            with lock:
                stats["context"] = max(stats["context"], len(context or ""))
            item = f"w{w}-{i}".encode()
            headers = {"Content-Type": "application/octet-stream",
                       "X-Vdynamo-Client": f"writer-{w}"}
            if context:
                headers["X-Vdynamo-Context"] = context
            try:
                status, _, body = c.request("PUT", key, union([*values, item]), node=writer,
                                            headers=headers)
            except OSError as err:
                with lock:
                    odd.append(f"w{w} put {i}: {err} (node down)")
                continue
            if status == 200:
                ack(item)
            elif status not in (503, 504):
                with lock:
                    odd.append(f"w{w} put {i}: {status} {body[:120]!r}")

    def lib_writer(w: int) -> None:
        with vdynamo.connect(seeds, resolve=union) as db:
            for i in range(10):
                item = f"L{w}-{i}".encode()
                try:
                    got = db.get(key)
                    with lock:
                        stats["context"] = max(stats["context"], len(got.context))
                    db.put(key, union([got.value or b"", item]), context=got.context)
                except (vdynamo.NoNodeError,) as err:  # OutcomeUnknownError too
                    with lock:
                        odd.append(f"L{w} {i}: {type(err).__name__} (owner down?)")
                    continue
                except Exception as err:  # noqa: BLE001 - reported
                    with lock:
                        odd.append(f"L{w} {i}: {type(err).__name__}: {str(err)[:120]}")
                    continue
                ack(item)

    threads = [threading.Thread(target=raw_writer, args=(w,)) for w in range(4)]
    threads += [threading.Thread(target=lib_writer, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    killed = started = False
    deadline = time.time() + 120
    while any(t.is_alive() for t in threads) and time.time() < deadline:
        if not killed and count[0] >= 20:
            c.kill(victim)
            killed = True
        if killed and not started and count[0] >= 40:
            c.start_node(victim)
            started = True
        time.sleep(0.05)
    for t in threads:
        t.join(30)
    if not started:
        c.start_node(victim)
    check(f"{mode} conc: no put refused but for the owner down",
          not [o for o in odd if "down" not in o], [o for o in odd if "down" not in o][:4])
    print(f"{mode} conc: {len(odd)} calls failed while the owner was down", flush=True)
    settled(c, f"{mode} conc", key, acked, 5.0)
    stats["conc_acked"] = len(acked)


for mode in MODES:
    with LocalNodes(nodes=5, extra_cluster=f'clock = "{mode}"', per_process=True) as c:
        stats = {"context": 0, "seq_acked": 0, "conc_acked": 0}
        sequential(c, mode, stats)
        if mode in ("dvv", "client-vclock"):
            concurrent(c, mode, stats)
        check(f"{mode}: the largest context under {CONTEXT_BOUND} characters",
              stats["context"] < CONTEXT_BOUND, stats["context"])
        print(f"{mode}: acked seq {stats['seq_acked']}, conc {stats['conc_acked']}, "
              f"largest context {stats['context']} characters", flush=True)
check.finish()
