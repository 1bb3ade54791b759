"""A Jepsen-style set workload on the simulated cluster: no acknowledged add is lost.

Clients add elements to one shopping cart, each add a read-modify-write: get the
cart, merge its siblings as sets, add the element, put the set back with the
get's context. Meanwhile the nemesis crashes and restarts nodes and cuts and
heals partitions, and the network loses, duplicates and reorders messages. At
the end the nemesis stops, the partitions heal, every node restarts, and after
``run_until_quiet()`` a read must hold every element whose put was acknowledged.
(An add whose put failed or timed out is indeterminate: it may or may not be
there.) A lost add is reported with the seed that reproduces it.

Run over 20 seeds in the ci profile and 1,000 in the soak profile
(``HYPOTHESIS_PROFILE=soak``); odd seeds pass every message through impl.wire.
Known-lossy configurations must be caught: last writer wins (concurrent adds
overwrite each other), server-side vector clocks (two concurrent writes through
one coordinator get ordered clocks: the scheme DVV fixes) and W=1 with buffered
writes flushed every 5 s under crashes. (client-vclock can lose an add too, when a
client reads a stale replica and its next clock dominates its own earlier,
unseen write; it is not asserted either way here.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from impl import DynamoError, Faults, Pending, SimulatedCluster
from tests.conftest import examples

CART = b"cart"

NEMESIS = Faults(loss=0.02, duplication=0.02, reorder=0.05, max_clock_skew=0.05,
                 crash_interval=1.5, downtime=(0.5, 3.0), max_down=1,
                 partition_interval=2.0, partition_duration=(0.5, 3.0), one_way_partitions=0.3)


def decode_cart(value: bytes) -> set[str]:
    return {item for item in value.decode().split(",") if item}


def encode_cart(items: set[str]) -> bytes:
    return ",".join(sorted(items)).encode()


@dataclass
class Adder:
    """One client's loop: get, merge, add the next element, put back."""

    number: int
    cluster: SimulatedCluster
    client: Any
    adds: int
    think: float
    thinking: bool = False
    next_element: int = 0
    handle: Pending | None = None
    pending_element: str | None = None
    acknowledged: set[str] = field(default_factory=set)
    indeterminate: set[str] = field(default_factory=set)

    @property
    def finished(self) -> bool:
        return self.handle is None and not self.thinking and self.next_element >= self.adds

    def start(self) -> None:
        """Read the cart after a think time (so the run spans the nemesis' faults)."""
        if self.next_element < self.adds:
            self.thinking = True
            self.cluster.sim.schedule(self.cluster.now + self.client.rng.uniform(0, self.think),
                                      self.read)

    def read(self) -> None:
        self.thinking = False
        self.handle = self.client.submit_get(CART)

    def advance(self) -> None:
        """The current request finished: take the next step."""
        handle, self.handle = self.handle, None
        assert handle is not None and handle.done
        if self.pending_element is None:  # a get finished
            if handle.error is not None:
                self.start()  # read again
                return
            items: set[str] = set()
            for value in handle.value.values:
                items |= decode_cart(value)
            element = f"c{self.number}-{self.next_element}"
            self.pending_element = element
            self.handle = self.client.submit_put(CART, encode_cart(items | {element}),
                                                 handle.value.context)
            return
        element, self.pending_element = self.pending_element, None
        if handle.error is None:
            self.acknowledged.add(element)
        else:
            self.indeterminate.add(element)
        self.next_element += 1
        self.start()


@dataclass(frozen=True)
class SetReport:
    seed: int
    acknowledged: frozenset[str]
    indeterminate: frozenset[str]
    final: frozenset[str]
    stats: dict[str, int]

    @property
    def lost(self) -> frozenset[str]:
        return self.acknowledged - self.final

    def describe(self) -> str:
        return (f"seed {self.seed}: {len(self.lost)} acknowledged adds lost "
                f"{sorted(self.lost)}; {len(self.acknowledged)} acknowledged, "
                f"{len(self.indeterminate)} indeterminate; faults {self.stats}")


def run_set_workload(seed: int, *, clients: int = 4, adds: int = 10, think: float = 0.5,
                     faults: Faults = NEMESIS, routing: Any = "preference",
                     **cluster_options: Any) -> SetReport:
    """Run the workload on a 5-node cluster seeded ``seed``; report what was lost.
    ``routing``: the clients' (``SimulatedCluster.client``)."""
    cluster = SimulatedCluster(nodes=5, seed=seed, faults=faults, **cluster_options)
    adders = [Adder(i, cluster, cluster.client(routing=routing), adds, think)
              for i in range(clients)]
    for adder in adders:
        adder.start()

    def some_reply() -> bool:
        return any(a.handle is not None and a.handle.done for a in adders)

    while not all(adder.finished for adder in adders):
        cluster.run_until(some_reply, max_time=600.0)
        for adder in adders:
            if adder.handle is not None and adder.handle.done:
                adder.advance()
    cluster.stop_nemesis()
    cluster.heal()
    for name in cluster.node_names:
        if cluster.is_down(name):
            cluster.restart(name)
    cluster.run_until_quiet()
    assert cluster.converged(CART), f"seed {seed}: replicas differ after quiet: " \
        f"{cluster.replicas(CART)}"
    final: set[str] = set()
    reader = cluster.client()
    for coordinator in cluster.node_names:  # every node must answer the same
        values = reader.get(CART, r=cluster.config.n, coordinator=coordinator).values
        items: set[str] = set()
        for value in values:
            items |= decode_cart(value)
        assert not final or items == final, f"seed {seed}: replicas disagree after quiet"
        final = items
    stats = {k: v for k, v in cluster.sim.stats.items()
             if k in ("lost", "duplicated", "reordered", "crashes", "partitions", "timeouts")}
    return SetReport(seed, frozenset().union(*(a.acknowledged for a in adders)),
                     frozenset().union(*(a.indeterminate for a in adders)),
                     frozenset(final), stats)


SEEDS = range(examples(20))


@pytest.mark.parametrize("seed", SEEDS)
def test_no_acknowledged_add_is_lost(seed: int) -> None:
    report = run_set_workload(seed, wire=seed % 2 == 1)  # odd seeds: every message encoded
    assert not report.lost, report.describe()
    assert report.acknowledged, f"seed {seed}: no add was acknowledged: the test is vacuous"


def test_the_nemesis_really_injects_faults() -> None:
    totals: dict[str, int] = {}
    for seed in range(3):
        for name, count in run_set_workload(seed).stats.items():
            totals[name] = totals.get(name, 0) + count
    assert all(totals[name] > 0 for name in ("lost", "duplicated", "crashes", "partitions")), \
        totals


def lossy_seeds(seeds: range, **options: Any) -> list[SetReport]:
    """The first report, over ``seeds``, that lost an acknowledged add (or none)."""
    for seed in seeds:
        report = run_set_workload(seed, **options)
        if report.lost:
            return [report]
    return []


#: The known-lossy clocks' searches route each request to a random up node (session 56).
#: With the default routing every client's request goes to the cart's first
#: preference node and an add's put starts there as its get answers (no client
#: latency), so the coordinator serialises the read-modify-writes; what these two
#: searches caught was a coordinator's get missing a put it had just written (its
#: own copy read once, at the get's start: hole 4, tests/impl/
#: test_hint_moved_during_a_read.py). Since the get reads its own copy again as it
#: answers, seeds 0-39 of each (and 8 clients, think 0.01 s, seeds 0-9) lose
#: nothing that way; with random routing two coordinators (or a forward's hop)
#: interleave the adds: lww loses some on seeds 0-3, server-vclock on 1-3, dvv on
#: none of 0-4.
LOSSY_ROUTING = "random"


def test_last_writer_wins_loses_concurrent_adds() -> None:
    caught = lossy_seeds(range(5), clock="lww", faults=Faults(), routing=LOSSY_ROUTING)
    assert caught, "the set workload did not catch lww losing concurrent adds"


def test_server_side_vector_clocks_lose_concurrent_adds() -> None:
    caught = lossy_seeds(range(5), clock="server-vclock", faults=Faults(),
                         routing=LOSSY_ROUTING)
    assert caught, "the set workload did not catch server-vclock ordering concurrent adds"


def test_no_acknowledged_add_is_lost_on_sqlite() -> None:
    report = run_set_workload(100, clients=3, adds=4, storage="sqlite")
    assert not report.lost, report.describe()
    assert report.acknowledged


def test_w1_with_buffered_writes_loses_adds_under_crashes() -> None:
    # Few schedules lose an add (seed 2 of 0-11 before session 16; since its peers
    # answer the first gossip of a restart, seeds 17, 24, 31 and 35 of 0-39; since
    # session 27's read repair of the key's replicas only, none of 0-39 and seeds
    # 51, 59, 67 and 146 of 40-159; with read_repair_fallbacks = true, 17, 24, 31
    # and 35 again; since session 35's in-sync anti-entropy answer, none of 50-59 and
    # seed 46 of 40-159): the search starts at 46 to stay short.
    crashes = Faults(crash_interval=0.3, downtime=(0.2, 0.5), max_down=2)
    caught = lossy_seeds(range(46, 56), w=1, fsync="buffered", flush_interval=5.0,
                         faults=crashes)
    assert caught, "the set workload did not catch W=1 with buffered writes losing adds"


def dedup_decode() -> None:  # keep the helpers honest
    assert decode_cart(encode_cart({"b", "a"})) == {"a", "b"}


def test_cart_encoding_round_trips() -> None:
    dedup_decode()
    assert encode_cart(set()) == b"" and decode_cart(b"") == set()


def test_errors_are_dynamo_errors() -> None:
    cluster = SimulatedCluster(nodes=3, seed=1)
    for name in cluster.node_names:
        cluster.crash(name)
    with pytest.raises(DynamoError):
        cluster.client().get(CART)
