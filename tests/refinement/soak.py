"""The implementation in production settings, checked against the spec's properties.

Theory of operation
-------------------
The lockstep refinement tests (:mod:`model_check.refinement`) compare the
implementation with the spec step by step, on the spec's small configurations.
This module complements them at full scale: a :class:`impl.SimulatedCluster`
in its default configuration (five nodes, N=3 R=2 W=2, dvv clocks, the sloppy
quorum, hinted handoff, read repair, strategy-3 partitioning) serves a workload
over many keys while the simulator injects random faults (message loss,
duplication, reordering, delay, clock skew, crashes and restarts, partitions),
and the spec's safety properties are checked on what the implementation does:

- ``acked_writes_durable``: a put acknowledged to its client is never lost:
  after every batch of requests, some node's store, some hint or some message in
  flight holds a version whose *true causal history* contains it; and after the
  faults stop and the cluster is quiet, some node's store does.
- ``read_your_writes`` (only where the configuration promises it: a strict
  quorum with R + W > N): a get a client starts after its own put was
  acknowledged returns a version whose true causal history contains that put.
- ``siblings_are_antichain``: no get returns, and no node stores, two versions
  of a key where one causally overwrote the other (by true history), and in the
  vector-clock modes no two stored siblings whose clocks dominate one another.

True causal history is ghost state kept by the harness, as the spec keeps it:
every put writes a unique value; the history of a value is the value itself
plus the histories of the values the get whose context the put carried had
returned (a blind put: the value alone). A client runs one request at a time;
the clients' requests run concurrently.

Everything is seeded: one seed gives one run (the simulator's faults, the
workload's choices). :func:`soak` runs many seeds and :func:`main` prints the
seeds, steps (simulator events) and faults survived (``python -m
tests.refinement.soak --seeds 20``).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from impl.cluster import Client, SimulatedCluster
from impl.effects import GetResult, PutResult
from impl.errors import DynamoError
from impl.messages import HintDelivery, KeyRecords, ReadRepair, ReplicaGetReply, ReplicaPut
from impl.simulator import Delay, Faults, Pending, derive_seed
from impl.versions import ClockMode, Record, decode_record, values
from spec.vclock import Order

__all__ = [
    "DEFAULT_FAULTS",
    "SoakResult",
    "Workload",
    "main",
    "soak",
    "soak_run",
]

#: The random faults of a soak run (every kind the simulator has, bounded rates).
DEFAULT_FAULTS = Faults(
    loss=0.02, duplication=0.02, reorder=0.05, reorder_delay=0.05,
    delay=Delay.uniform(0.001, 0.01), max_clock_skew=0.05,
    crash_interval=4.0, downtime=(0.5, 4.0), max_down=1,
    partition_interval=6.0, partition_duration=(0.5, 3.0), one_way_partitions=0.3,
)


@dataclass(frozen=True, slots=True)
class Workload:
    """The client side of a soak run: ``keys`` keys, ``clients`` clients each
    issuing ``rounds`` requests (one at a time; the clients run concurrently);
    a put carries the context of the client's last get of that key with
    probability ``read_modify_write`` (else it is a blind write)."""

    keys: int = 200
    clients: int = 6
    rounds: int = 40
    put_ratio: float = 0.5
    read_modify_write: float = 0.8


@dataclass(frozen=True, slots=True)
class SoakResult:
    """What one seeded run did and what it found (``violations`` empty: it survived)."""

    seed: int
    clock: str
    sloppy_quorum: bool
    puts_acked: int
    gets_ok: int
    requests_failed: int
    events: int
    virtual_seconds: float
    faults: dict[str, int]
    violations: tuple[str, ...]
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.violations

    def line(self) -> str:
        faults = " ".join(f"{k}={v}" for k, v in sorted(self.faults.items()))
        verdict = "ok" if self.ok else f"VIOLATED: {self.violations[0]}"
        return (f"seed {self.seed:>6} {self.clock:<13} sloppy={self.sloppy_quorum!s:<5} "
                f"acked={self.puts_acked:<4} gets={self.gets_ok:<4} "
                f"failed={self.requests_failed:<4} events={self.events:<7} "
                f"t={self.virtual_seconds:7.1f}s {faults}  {verdict}")


@dataclass(slots=True)
class _Ghost:
    """The harness's ghost state: the true causal history of every value written."""

    history: dict[bytes, frozenset[bytes]] = field(default_factory=dict)
    acked: dict[bytes, tuple[str, bytes]] = field(default_factory=dict)  # value -> client, key
    violations: list[str] = field(default_factory=list)

    def covers(self, put: bytes, vals: Iterable[bytes]) -> bool:
        return any(put in self.history.get(v, frozenset((v,))) for v in vals)

    def overwritten(self, vals: Sequence[bytes]) -> tuple[bytes, bytes] | None:
        """Two of ``vals`` where the second causally overwrote the first, if any."""
        for a in vals:
            for b in vals:
                if a != b and a in self.history.get(b, frozenset((b,))):
                    return a, b
        return None


def _vclock_dominated(record: Record) -> bool:
    if record.mode is ClockMode.DVV:
        return False
    sibs = record.siblings
    return any(a.clock.compare(b.clock) is Order.BEFORE for a in sibs for b in sibs)


class _Run:
    """One seeded soak run (see the module docstring)."""

    def __init__(self, seed: int, workload: Workload, faults: Faults, **options: Any) -> None:
        self.seed = seed
        self.workload = workload
        self.cluster = SimulatedCluster(seed=seed, faults=faults, **options)
        self.mode = ClockMode(self.cluster.config.clock)
        config = self.cluster.config
        self.ryw_promised = (not config.sloppy_quorum) and config.r + config.w > config.n
        self.rng = random.Random(derive_seed(seed, "workload"))
        self.keys = [b"key-%d" % i for i in range(workload.keys)]
        # random coordinators (a load balancer): forwarding runs under the faults too
        self.clients: list[Client] = [self.cluster.client(routing="random")
                                      for _ in range(workload.clients)]
        self.last_get: dict[tuple[str, bytes], GetResult] = {}
        self.ghost = _Ghost()
        self.writes = 0
        self.puts_acked = 0
        self.gets_ok = 0
        self.failed = 0
        self.touched: set[bytes] = set()
        self.acked_at: dict[bytes, float] = {}

    # ------------------------------------------------------------------ the workload

    def run(self) -> None:
        for _ in range(self.workload.rounds):
            self._batch()
            self._check_durable(in_flight=True)
            if self.ghost.violations:
                return
        sim = self.cluster.sim
        sim.stop_nemesis()
        self.cluster.run_for(10.0)  # scheduled restarts and heals happen
        for name in self.cluster.node_names:
            if self.cluster.is_down(name):
                self.cluster.restart(name)
        self.cluster.heal()
        self.cluster.run_until_quiet()
        self._check_durable(in_flight=False)
        self._check_stored_antichain()

    def _batch(self) -> None:
        started: list[tuple[Client, str, bytes, bytes | None, Pending, float]] = []
        for client in self.clients:
            key = self.rng.choice(self.keys)
            try:
                if self.rng.random() < self.workload.put_ratio:
                    value = self._new_value(client, key)
                    handle = client.submit_put(key, value, self._context(client, key, value))
                    started.append((client, "put", key, value, handle, self.cluster.now))
                else:
                    handle = client.submit_get(key)
                    started.append((client, "get", key, None, handle, self.cluster.now))
            except DynamoError:
                self.failed += 1
        self.cluster.wait([entry[4] for entry in started])
        for client, kind, key, written, handle, began in started:
            self._finished(client, kind, key, written, handle, began)

    def _new_value(self, client: Client, key: bytes) -> bytes:
        self.writes += 1
        return b"%s:%d" % (client.client_id.encode(), self.writes)

    def _context(self, client: Client, key: bytes, value: bytes) -> bytes:
        got = self.last_get.get((client.client_id, key))
        history = {value}
        context = b""
        if got is not None and self.rng.random() < self.workload.read_modify_write:
            context = got.context
            for v in got.values:
                history |= self.ghost.history.get(v, frozenset((v,)))
        self.ghost.history[value] = frozenset(history)
        return context

    def _finished(self, client: Client, kind: str, key: bytes, value: bytes | None,
                  handle: Pending, began: float) -> None:
        if handle.error is not None:
            self.failed += 1
            return
        self.touched.add(key)
        result = handle.value
        if kind == "put":
            assert isinstance(result, PutResult) and value is not None
            self.puts_acked += 1
            self.ghost.acked[value] = (client.client_id, key)
            self.acked_at[value] = self.cluster.now
            return
        assert isinstance(result, GetResult)
        self.gets_ok += 1
        self.last_get[(client.client_id, key)] = result
        pair = self.ghost.overwritten(result.values)
        if pair is not None:
            self._violate("siblings_are_antichain",
                          f"a get of {key!r} returned {pair[0]!r} with {pair[1]!r}, "
                          "which causally overwrote it")
        if self.ryw_promised:
            for put, (writer, put_key) in self.ghost.acked.items():
                if (writer == client.client_id and put_key == key
                        and self.acked_at[put] <= began
                        and not self.ghost.covers(put, result.values)):
                    self._violate("read_your_writes",
                                  f"{client.client_id}'s get of {key!r} missed its own "
                                  f"acknowledged put {put!r}")

    # ------------------------------------------------------------------ the checks

    def _violate(self, prop: str, what: str) -> None:
        self.ghost.violations.append(f"{prop}: {what} (seed {self.seed}, t={self.cluster.now:.3f})")

    def _held_values(self, in_flight: bool) -> dict[bytes, set[bytes]]:
        held: dict[bytes, set[bytes]] = {}
        for name, storage in self.cluster.storages.items():
            for key in self.touched:
                raw = storage.read(key)
                if raw is not None:
                    held.setdefault(key, set()).update(values(decode_record(raw, self.mode)))
            for hint in storage.hints():
                held.setdefault(hint.key, set()).update(
                    values(decode_record(hint.record, self.mode)))
            del name
        if in_flight:
            for message in self.cluster.sim.in_flight():
                for key, raw in _records_in(message.message):
                    held.setdefault(key, set()).update(values(decode_record(raw, self.mode)))
        return held

    def _check_durable(self, *, in_flight: bool) -> None:
        held = self._held_values(in_flight)
        where = "stores, hints or messages in flight" if in_flight else "stores after quiet"
        for put, (_, key) in sorted(self.ghost.acked.items()):
            if not self.ghost.covers(put, held.get(key, ())):
                self._violate("acked_writes_durable",
                              f"acknowledged put {put!r} of {key!r} is in no {where}")

    def _check_stored_antichain(self) -> None:
        for name, storage in sorted(self.cluster.storages.items()):
            for key in sorted(self.touched):
                raw = storage.read(key)
                if raw is None:
                    continue
                record = decode_record(raw, self.mode)
                pair = self.ghost.overwritten(values(record))
                if pair is not None or _vclock_dominated(record):
                    self._violate("siblings_are_antichain",
                                  f"{name} stores dominated siblings of {key!r}")

    def result(self, seconds: float) -> SoakResult:
        stats = self.cluster.sim.stats
        faults = {k: stats[k] for k in ("lost", "duplicated", "reordered", "crashes",
                                         "partitions", "blocked", "to_down_node")}
        events = stats["delivered"] + stats["ticks"]
        config = self.cluster.config
        return SoakResult(self.seed, config.clock, config.sloppy_quorum, self.puts_acked,
                          self.gets_ok, self.failed, events, self.cluster.now, faults,
                          tuple(self.ghost.violations), seconds)


def _records_in(message: object) -> list[tuple[bytes, bytes]]:
    """The (key, record) pairs a peer message carries."""
    if isinstance(message, ReplicaPut | ReadRepair | HintDelivery):
        return [(message.key, message.record)]
    if isinstance(message, ReplicaGetReply) and message.record:
        return [(message.key, message.record)]
    if isinstance(message, KeyRecords):
        return [(k, r) for k, r in zip(message.keys, message.records, strict=True) if r]
    return []


_DEFAULT = Workload()


def soak_run(seed: int, *, workload: Workload | None = None, faults: Faults | None = None,
             **options: Any) -> SoakResult:
    """One seeded run of the implementation under random faults; ``options`` are
    :class:`impl.SimulatedCluster` keywords (default: its production defaults)."""
    began = time.perf_counter()
    run = _Run(seed, workload or Workload(), faults if faults is not None else DEFAULT_FAULTS,
               **options)
    try:
        run.run()
    finally:
        run.cluster.close()
    return run.result(time.perf_counter() - began)


def soak(seeds: Iterable[int], **kwargs: Any) -> list[SoakResult]:
    """:func:`soak_run` for every seed."""
    return [soak_run(seed, **kwargs) for seed in seeds]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.refinement.soak",
        description="Run the implementation in production settings under random faults and "
        "check the spec's safety properties; prints the seeds, steps and faults survived.")
    parser.add_argument("--seeds", type=int, default=10, help="how many seeds (default 10)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--keys", type=int, default=_DEFAULT.keys)
    parser.add_argument("--rounds", type=int, default=_DEFAULT.rounds)
    parser.add_argument("--clients", type=int, default=_DEFAULT.clients)
    parser.add_argument("--strict", action="store_true",
                        help="strict quorum (then read_your_writes is promised and checked)")
    parser.add_argument("--clock", default="dvv")
    args = parser.parse_args(argv)
    workload = Workload(keys=args.keys, clients=args.clients, rounds=args.rounds)
    options: dict[str, Any] = {"clock": args.clock}
    if args.strict:
        options["sloppy_quorum"] = False
    failed = 0
    totals: dict[str, int] = {}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        result = soak_run(seed, workload=workload, **options)
        print(result.line(), flush=True)
        failed += not result.ok
        for kind, count in result.faults.items():
            totals[kind] = totals.get(kind, 0) + count
        totals["events"] = totals.get("events", 0) + result.events
        totals["acked"] = totals.get("acked", 0) + result.puts_acked
    print(f"{args.seeds - failed}/{args.seeds} seeds survived; totals: "
          + " ".join(f"{k}={v}" for k, v in sorted(totals.items())))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
