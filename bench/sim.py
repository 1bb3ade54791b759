"""Benchmark of the simulated cluster: client operations per second, bytes per key.

Run: ``.venv/bin/python bench/sim.py [--keys 100000] [--window 64] [--rows ROWS]
[--repeat N] [--profile]``

For each storage engine (in-memory, then SQLite in a temporary directory) it
builds a 5-node cluster (N=3, R=2, W=2, dvv, default features; clients send
each request to a random node; a third row routes it to the key's preference
list instead, the paper's partition-aware client and the library client's
default since session 5), loads
``--keys`` distinct keys with one put each (``--window`` requests outstanding
at a time, clients spread over the nodes), then gets every key once, and
prints, side by side:

- simulated client operations per second (wall clock, one core) for the puts,
  the gets, and both;
- simulator events per operation (messages delivered and timer ticks);
- bytes per stored key: for the in-memory engine the memory the engines hold
  (tracemalloc, in a separate load of ``--memory-keys`` keys, since tracing
  slows the run down), for SQLite the database files' size; per stored replica
  and per client key (x N replicas).

Operations per second are given twice: per wall-clock second and per second of
CPU time of this process (``time.process_time``), which is the fairer figure on
a shared machine. A calibration line times a plain Python loop of 10 million
additions, to compare machines.

``--rows`` picks the rows (comma-separated, of ``memory``, ``sqlite``,
``memory/pref``; default all three); ``--repeat N`` runs each row N times and
prints the median of each figure (and every run's CPU all/s), the figure to
compare before and after a change on a shared machine; ``--memory-keys 0`` skips
the tracemalloc load. ``--profile`` runs the in-memory put and get phases again
under cProfile (partition-aware clients, CPU time) and prints the own time per
source file and the hottest functions (where the node core spends its time).
``--ceiling`` measures the simulator alone: the same clients, window and message
pattern as a partition-aware put (the coordinator sends to the 2 other replicas
of N=3, answers the client on the first acknowledgement; 4 events per
operation), driving nodes that do no work: the most this simulator could run.
``--tuned-gc`` runs the loads and gets under the cyclic garbage collector's
thresholds of a model-checking search (:func:`model_check.explorer.tuned_gc`):
the caller's choice for a long simulation, not something the simulator does
(it would change the whole process's collector); session 32 measured the
collector at 3.9% of a 20,000-key run's time and 5.2% of a 100,000-key one's.
The last lines state issue 13's goal (:data:`GOAL`, 50,000 client operations per
CPU second) against each row's CPU figure, with the share of that CPU the cyclic
garbage collector took (:class:`CollectorClock`; session 57). It prints figures and
never fails on time.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import pstats
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from impl import Pending, SimulatedCluster  # noqa: E402
from impl.cluster import Routing  # noqa: E402
from impl.effects import Effect, Reply, Send  # noqa: E402
from impl.simulator import Simulator  # noqa: E402
from model_check.explorer import tuned_gc  # noqa: E402


def key_of(i: int) -> bytes:
    return b"key-%08d" % i


def drive(cluster: SimulatedCluster, keys: int, window: int, op: str,
          routing: Routing = "random") -> tuple[float, float]:
    """Issue one ``op`` per key, ``window`` outstanding; return wall and CPU seconds."""
    clients = [cluster.client(routing=routing) for _ in range(16)]
    value = b"v" * 32
    outstanding: list[Pending] = []
    errors = 0
    started = time.perf_counter()
    started_cpu = time.process_time()
    for i in range(keys):
        client = clients[i % len(clients)]
        if op == "put":
            outstanding.append(client.submit_put(key_of(i), value))
        else:
            outstanding.append(client.submit_get(key_of(i)))
        if len(outstanding) >= window:
            cluster.wait(outstanding)
            errors += sum(1 for handle in outstanding if handle.error is not None)
            outstanding = []
    cluster.wait(outstanding)
    errors += sum(1 for handle in outstanding if handle.error is not None)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - started_cpu
    if errors:
        print(f"  ({op}: {errors} requests failed)")
    return elapsed, cpu


class CollectorClock:
    """CPU seconds the cyclic garbage collector spends while installed (a
    ``gc.callbacks`` hook timing each collection with ``time.process_time``; about
    1 us a collection of its own): the collector's share of a run, which the
    benchmark prints beside the operations per CPU second (session 57: 8% of a
    100,000-key run)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started
            self.collections += 1

    def __enter__(self) -> CollectorClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def run_engine(storage: str, keys: int, window: int, routing: Routing = "random",
               gc_tuned: bool = False) -> dict[str, Any]:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, storage=storage,  # type: ignore[arg-type]
                               fsync="always")
    gc.collect()
    events_before = cluster.sim.stats["delivered"] + cluster.sim.stats["ticks"]
    with tuned_gc() if gc_tuned else contextlib.nullcontext(), CollectorClock() as collector:
        put_seconds, put_cpu = drive(cluster, keys, window, "put", routing)
        events_mid = cluster.sim.stats["delivered"] + cluster.sim.stats["ticks"]
        get_seconds, get_cpu = drive(cluster, keys, window, "get", routing)
    events_after = cluster.sim.stats["delivered"] + cluster.sim.stats["ticks"]
    stored = sum(len(storage_) for storage_ in cluster.storages.values())
    result: dict[str, Any] = {
        "engine": storage if routing == "random" else f"{storage}/pref",
        "put_ops": keys / put_seconds,
        "get_ops": keys / get_seconds,
        "all_ops": 2 * keys / (put_seconds + get_seconds),
        "cpu_put_ops": keys / put_cpu,
        "cpu_get_ops": keys / get_cpu,
        "cpu_all_ops": 2 * keys / (put_cpu + get_cpu),
        "keys": keys,
        "events_per_put": (events_mid - events_before) / keys,
        "events_per_get": (events_after - events_mid) / keys,
        "stored_replicas": stored,
        "gc_share": collector.seconds / (put_cpu + get_cpu),
        "virtual_seconds": cluster.now,
    }
    if storage == "sqlite":
        assert cluster.storage_dir is not None
        for storage_ in cluster.storages.values():
            storage_.close()  # the last connection checkpoints the write-ahead log
        size = sum(path.stat().st_size for path in cluster.storage_dir.iterdir()
                   if path.is_file())
        result["bytes_per_replica"] = size / stored
        result["bytes_per_key"] = size / keys
    cluster.close()
    return result


def memory_footprint(keys: int, window: int) -> tuple[float, float, float, str]:
    """Bytes the whole simulated cluster retains per stored replica and per client key
    (tracemalloc: engines, Merkle trees, everything), the payload (key + record
    bytes) per stored replica, and a breakdown by source file."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, storage="memory")
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    drive(cluster, keys, window, "put")
    cluster.sim.run_for(cluster.client_timeout + 1.0)  # expired client deadlines go
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    stored = sum(len(storage_) for storage_ in cluster.storages.values())
    payload = sum(len(key) + len(record) for storage_ in cluster.storages.values()
                  for key, record in storage_.scan())
    stats = after.compare_to(before, "filename")
    grown = sum(stat.size_diff for stat in stats)
    parts = []
    for stat in stats[:6]:
        filename = stat.traceback[0].filename
        short = filename.split(str(ROOT) + "/")[-1] if str(ROOT) in filename else Path(
            filename).name
        parts.append(f"{short} {stat.size_diff / stored:,.0f}")
    return grown / stored, grown / keys, payload / stored, ", ".join(parts)


def calibrate() -> float:
    """CPU seconds of a plain loop of 10 million additions (to compare machines)."""
    started = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.process_time() - started


def profile(keys: int, window: int) -> str:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, storage="memory")
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    drive(cluster, keys, window, "put", "preference")
    drive(cluster, keys, window, "get", "preference")
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    by_file: dict[str, float] = {}
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        short = filename.split(str(ROOT) + "/")[-1]
        by_file[short] = by_file.get(short, 0.0) + own
    total = sum(by_file.values())
    out.write(f"own time by file ({total / (2 * keys) * 1e6:,.0f} us per operation under "
              "cProfile; ~ builtins):\n")
    for short, own in sorted(by_file.items(), key=lambda item: -item[1])[:16]:
        out.write(f"  {own / total:6.1%}  {short}\n")
    stats.sort_stats("tottime").print_stats(25)
    return out.getvalue()


class _Ack:
    """The simulator-ceiling node's peer message (and its answer)."""

    __slots__ = ("answer", "request_id")

    def __init__(self, request_id: int, answer: bool) -> None:
        self.request_id = request_id
        self.answer = answer


class _Request:
    __slots__ = ("request_id",)

    def __init__(self, request_id: int) -> None:
        self.request_id = request_id


class _Idle:
    """A node that does no work but sends a partition-aware put's messages: the
    coordinator sends to the next two nodes, each answers, the first answer
    replies to the client (W=2 with the coordinator's own write)."""

    def __init__(self, name: str, names: list[str]) -> None:
        self.name = name
        at = names.index(name)
        self.peers = [names[(at + 1) % len(names)], names[(at + 2) % len(names)]]
        self.waiting: set[int] = set()

    def start(self, now: float) -> list[Effect]:
        return []

    def client_request(self, now: float, request: Any) -> list[Effect]:
        self.waiting.add(request.request_id)
        return [Send(peer, _Ack(request.request_id, False)) for peer in self.peers]

    def receive(self, now: float, src: str, message: Any) -> list[Effect]:
        if not message.answer:
            return [Send(src, _Ack(message.request_id, True))]
        if message.request_id in self.waiting:
            self.waiting.discard(message.request_id)
            return [Reply(message.request_id)]
        return []

    def fire(self, now: float, timer: Any) -> list[Effect]:
        return []

    def leave(self, now: float) -> list[Effect]:
        return []

    def persist_failed(self, now: float, error: Any) -> list[Effect]:
        return []


def ceiling(keys: int, window: int) -> tuple[float, float]:
    """Operations and events per CPU second of the simulator driving :class:`_Idle`
    nodes (5 of them, ``window`` requests outstanding, coordinators spread)."""
    names = [f"n{i}" for i in range(1, 6)]
    sim = Simulator(lambda name, seed, now: _Idle(name, names), seed=1)
    for name in names:
        sim.add_node(name)
    started = time.process_time()
    events_before = sim.stats["delivered"]
    outstanding: list[Pending] = []
    for i in range(keys):
        outstanding.append(sim.submit(names[i % 5], _Request(sim.new_request_id())))
        if len(outstanding) >= window:
            sim.wait(outstanding)
            outstanding = []
    sim.wait(outstanding)
    cpu = time.process_time() - started
    return keys / cpu, (sim.stats["delivered"] - events_before) / cpu


#: Issue 13's goal: simulated client operations per CPU second on this benchmark
#: (5 nodes, 100,000 keys).
GOAL = 50_000

ROWS = {"memory": ("memory", "random"), "sqlite": ("sqlite", "random"),
        "memory/pref": ("memory", "preference")}


def median_row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each numeric figure's median over ``runs`` of one row (the first run's labels)."""
    row = dict(runs[0])
    for name, value in runs[0].items():
        if isinstance(value, float):
            row[name] = statistics.median(run[name] for run in runs)
    row["cpu_all_runs"] = [run["cpu_all_ops"] for run in runs]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=64,
                        help="client requests outstanding at a time")
    parser.add_argument("--sqlite-keys", type=int, default=None,
                        help="keys for the SQLite engine (default: --keys)")
    parser.add_argument("--memory-keys", type=int, default=20_000,
                        help="keys loaded under tracemalloc for the in-memory bytes/key")
    parser.add_argument("--rows", default=",".join(ROWS),
                        help=f"comma-separated rows to run, of {', '.join(ROWS)}")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per row; the figures printed are the medians")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--tuned-gc", action="store_true",
                        help="load and get under model_check.explorer.tuned_gc")
    parser.add_argument("--ceiling", action="store_true",
                        help="also measure the simulator alone (nodes that do no work)")
    args = parser.parse_args(argv)
    names = [name.strip() for name in args.rows.split(",") if name.strip()]
    unknown = [name for name in names if name not in ROWS]
    if unknown or not names or args.repeat < 1:
        parser.error(f"--rows: choose among {', '.join(ROWS)}; --repeat: at least 1")
    rows = []
    for name in names:
        storage, routing = ROWS[name]
        keys = args.sqlite_keys or args.keys if storage == "sqlite" else args.keys
        rows.append(median_row([run_engine(storage, keys, args.window, routing,  # type: ignore[arg-type]
                                           args.tuned_gc)
                                for _ in range(args.repeat)]))
    per_replica = per_key = payload = float("nan")
    breakdown = "(not measured: --memory-keys 0)"
    if args.memory_keys > 0:
        per_replica, per_key, payload, breakdown = memory_footprint(args.memory_keys,
                                                                    args.window)
    for row in rows:
        if "bytes_per_replica" not in row:
            row["bytes_per_replica"] = per_replica
            row["bytes_per_key"] = per_key
    print(f"5 nodes, N=3 R=2 W=2, dvv; one put then one get per key, {args.window} requests "
          f"outstanding; Python {sys.version.split()[0]}; calibration: 10M-addition loop "
          f"{calibrate():.2f} s")
    header = (f"{'engine':<11} {'keys':>8} {'put/s':>7} {'get/s':>7} {'all/s':>7} "
              f"{'cpu put/s':>9} {'cpu get/s':>9} {'cpu all/s':>9} {'ev/put':>6} {'ev/get':>6} "
              f"{'B/replica':>9} {'B/key':>7}")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row['engine']:<11} {row['keys']:>8,} {row['put_ops']:>7,.0f} "
              f"{row['get_ops']:>7,.0f} {row['all_ops']:>7,.0f} {row['cpu_put_ops']:>9,.0f} "
              f"{row['cpu_get_ops']:>9,.0f} {row['cpu_all_ops']:>9,.0f} "
              f"{row['events_per_put']:>6.1f} {row['events_per_get']:>6.1f} "
              f"{row['bytes_per_replica']:>9,.0f} {row['bytes_per_key']:>7,.0f}")
    if args.repeat > 1:
        print(f"medians of {args.repeat} runs; cpu all/s of each run: " + "; ".join(
            f"{row['engine']} " + ", ".join(f"{ops:,.0f}" for ops in row["cpu_all_runs"])
            for row in rows))
    print("memory/pref: clients route each request to the first node of the key's preference "
          "list\n(the paper's partition-aware client, the default; the other rows pick a random "
          "node, which "
          "forwards\nwhen it is not among the key's top N).")
    print("/s: client operations per wall-clock second; cpu /s: per CPU second of this "
          "process;\nev: simulator events (deliveries and timer ticks) per operation;\n"
          f"B/replica: memory: bytes the simulated cluster retains (tracemalloc: engines, "
          f"Merkle trees, all) per stored\n           replica, {args.memory_keys:,} keys "
          f"loaded; payload (key + record) {payload:,.0f} B/replica;\n"
          "           sqlite (fsync=always): database file bytes per stored replica "
          "(log checkpointed).\nB/key: per client key (N=3 replicas).")
    print(f"memory B/replica by the file that allocated it: {breakdown}")
    print(f"issue 13's goal, {GOAL:,} client operations per CPU second: " + "; ".join(
        f"{row['engine']} {row['cpu_all_ops']:,.0f} ("
        + (f"{GOAL / row['cpu_all_ops']:.1f}x short" if row["cpu_all_ops"] < GOAL else "met")
        + f"; the cyclic garbage collector {row['gc_share']:.1%} of its CPU)" for row in rows))
    if args.ceiling:
        runs = sorted(ceiling(args.keys, args.window) for _ in range(args.repeat))
        ops, events = runs[len(runs) // 2]
        print(f"simulator alone (nodes that do no work, a partition-aware put's 4 messages "
              f"per operation): {ops:,.0f} operations / CPU s, {events:,.0f} events / CPU s"
              + (f" (median of {args.repeat})" if args.repeat > 1 else ""))
    if args.profile:
        print()
        print(profile(min(args.keys, 20_000), args.window))
    return 0


if __name__ == "__main__":
    sys.exit(main())
