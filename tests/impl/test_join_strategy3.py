"""The serving ring through a join and a leave, under every partitioning strategy
(docs/impl.md, "Join and leave handover", strategy 3).

With pending ownership a coordinator reads from (and counts its quorum in) the
*serving* top N of a key: until the handover (the joining node announces ``up``,
the leaving node ``left``) that must be the top N of the ring before the change,
whose nodes hold the data; writes meanwhile also reach the *pending* owners (the
top N of the ring the ranges move to); after the handover the serving top N is
that future ring's. Strategy 3 (equal partitions, the default) moves partitions
between the members at a join or a leave, so the members' token sets change
before the handover: before the fix the serving ring (the up and leaving members'
tokens) became at the join a third ring, neither the old nor the future one, and
a write then did not go to the pending owner; at a leave the ranges were moved to
a ring (the leaving node's tokens left out) that was not the one served once it
had left (the partitions were handed out only then). Strategies 1 and 2 add or
remove tokens only; the same checks run over them.

A :class:`_Watch` looks at every node's serving ring after every simulator
event. Each scenario is seeded and bounded (hint scans every 60 s keep the
transfer window open while the writes are made).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from impl import DynamoError, SimulatedCluster, membership
from impl.gossip import Gossiper
from impl.membership import Membership, MemberStatus
from impl.versions import values
from spec.ring import Partitioning

STRATEGIES = ("strategy3", "strategy1", "strategy2")
KEYS = tuple(b"key-%d" % i for i in range(40))
N = 3
TopN = frozenset[str]


def _top(partitioning: Partitioning, key: bytes) -> TopN:
    return frozenset(partitioning.preference_list(key, N))


@dataclass
class _Watch:
    """Checks, after every event, each node's serving top N of every key: the ring
    before the change (``old``) until the node heard the handover (``subject``'s
    status ``done``), then the ring after it (``after``, filled in at the end: see
    :meth:`check_after`). Records the mismatches and, per node that knows the change
    and not its handover, the future top N it hands the ranges to."""

    cluster: SimulatedCluster
    subject: str
    done: MemberStatus
    old: dict[bytes, TopN]
    stale: list[tuple[str, bytes, TopN]] = field(default_factory=list)
    served_after: dict[str, dict[bytes, TopN]] = field(default_factory=dict)
    futures: dict[bytes, set[TopN]] = field(default_factory=dict)
    _seen: dict[str, tuple[Partitioning, Partitioning]] = field(default_factory=dict)

    def __call__(self) -> bool:
        for name in self.cluster.sim.members:
            gossiper = self.cluster.node(name).gossiper
            rings = (gossiper.partitioning, gossiper.future)
            held = self._seen.get(name)
            if held is not None and held[0] is rings[0] and held[1] is rings[1]:
                continue
            self._seen[name] = rings
            member = gossiper.view.get(self.subject)
            handed = member is not None and member.status is self.done
            in_change = member is not None and member.status in (MemberStatus.JOINING,
                                                                  MemberStatus.LEAVING)
            for key in KEYS:
                served = _top(gossiper.partitioning, key)
                if handed:
                    self.served_after.setdefault(name, {})[key] = served
                    continue
                if served != self.old[key]:
                    self.stale.append((name, key, served))
                if in_change and gossiper.future is not gossiper.partitioning:
                    self.futures.setdefault(key, set()).add(_top(gossiper.future, key))
        return False

    def run(self, condition: Callable[[], bool], max_time: float) -> None:
        self.cluster.run_until(lambda: self() or condition(), max_time=max_time)

    def run_for(self, seconds: float) -> None:
        until = self.cluster.sim.now + seconds
        self.run(lambda: self.cluster.sim.now >= until, seconds + 1)

    def check_after(self, final: dict[bytes, TopN]) -> list[tuple[str, bytes, TopN]]:
        """The serving top N each node used after it heard the handover that is not
        the final one (while the change settles the ring must not move again)."""
        return [(name, key, served) for name, by_key in sorted(self.served_after.items())
                for key, served in by_key.items() if served != final[key]]


@dataclass
class Observed:
    stale: list[tuple[str, bytes, TopN]]  # serving top N not the old one before the handover
    wrong_after: list[tuple[str, bytes, TopN]]  # ... not the final one after it
    moved_elsewhere: list[bytes]  # keys handed to a top N that is not the final one
    missing: list[tuple[bytes, str]]  # (key, pending owner) a write did not reach
    moving: int  # keys whose top N changes


def _cluster(strategy: str, seed: int) -> SimulatedCluster:
    cluster = SimulatedCluster(nodes=5, n=N, r=2, w=2, seed=seed, partitioning=strategy,
                               hint_scan_interval=60.0)
    client = cluster.client("n1")
    for key in KEYS:
        client.put(key, key + b"-v0", w=3)
    return cluster


def _every_node(cluster: SimulatedCluster, test: Callable[[Gossiper], bool]) -> bool:
    return all(test(cluster.node(name).gossiper) for name in cluster.sim.members)


def _status_of(gossiper: Gossiper, node: str) -> MemberStatus | None:
    member = gossiper.view.get(node)
    return None if member is None else member.status


def _settled(cluster: SimulatedCluster) -> bool:
    return _every_node(cluster, lambda g: g.previous is None and not g.settling
                       and g.future is g.partitioning and g.transfer_after is None)


def _write_during(watch: _Watch, cluster: SimulatedCluster, future: Callable[[bytes], TopN],
                  writer: str) -> tuple[list[tuple[bytes, str]], int]:
    """Put a new value of each key whose top N moves (through ``writer``), while the
    ranges move; which pending owners (future, not old, top N) lack it 0.5 s later."""
    client = cluster.client(writer)
    missing: list[tuple[bytes, str]] = []
    moving = [key for key in KEYS if future(key) != watch.old[key]]
    for key in moving[:12]:
        value = key + b"-during"
        try:
            client.put(key, value, context=client.get(key).context)
        except DynamoError:
            continue
        watch.run_for(0.5)
        for owner in sorted(future(key) - watch.old[key]):
            record = cluster.node(owner).record(key)
            if record is None or value not in values(record):
                missing.append((key, owner))
    return missing, len(moving)


def _join(strategy: str, seed: int = 11) -> Observed:
    """n6 joins a 5-node cluster; the moving keys are written while n6 is joining."""
    cluster = _cluster(strategy, seed)
    first = cluster.node("n1").gossiper.partitioning
    watch = _Watch(cluster, "n6", MemberStatus.UP, {key: _top(first, key) for key in KEYS})
    cluster.join("n6")
    watch.run(lambda: _every_node(cluster, lambda g: _status_of(g, "n6") is not None
                                  and bool(g.view.get("n6").tokens)), 60)  # type: ignore[union-attr]
    assert _status_of(cluster.node("n6").gossiper, "n6") is MemberStatus.JOINING
    future = cluster.node("n6").gossiper.future
    missing, moving = _write_during(watch, cluster, lambda key: _top(future, key), "n1")
    assert _status_of(cluster.node("n6").gossiper, "n6") is MemberStatus.JOINING
    watch.run(lambda: _settled(cluster), 900)
    final = {key: _top(cluster.node("n1").gossiper.partitioning, key) for key in KEYS}
    return Observed(watch.stale, watch.check_after(final),
                    [key for key, seen in watch.futures.items() if seen != {final[key]}],
                    missing, moving)


def _leave(strategy: str, seed: int = 11) -> Observed:
    """n2 leaves a 5-node cluster; the moving keys are written while it leaves."""
    cluster = _cluster(strategy, seed)
    first = cluster.node("n1").gossiper.partitioning
    watch = _Watch(cluster, "n2", MemberStatus.LEFT, {key: _top(first, key) for key in KEYS})
    cluster.leave("n2")
    watch.run(lambda: _every_node(
        cluster, lambda g: _status_of(g, "n2") is MemberStatus.LEAVING), 60)
    future = cluster.node("n1").gossiper.future
    missing, moving = _write_during(watch, cluster, lambda key: _top(future, key), "n1")
    assert _status_of(cluster.node("n1").gossiper, "n2") is MemberStatus.LEAVING
    watch.run(lambda: _settled(cluster), 900)
    final = {key: _top(cluster.node("n1").gossiper.partitioning, key) for key in KEYS}
    return Observed(watch.stale, watch.check_after(final),
                    [key for key, seen in watch.futures.items() if seen != {final[key]}],
                    missing, moving)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_join_serves_the_old_ring_until_the_handover(strategy: str) -> None:
    """Until n6 is up every node serves every key by its old top N, every write
    reaches the pending owners too, the ranges move to the ring served afterwards,
    and after the handover each node serves the future top N."""
    seen = _join(strategy)
    assert seen.moving > 0
    assert seen.stale == []
    assert seen.missing == []
    assert seen.moved_elsewhere == []
    assert seen.wrong_after == []


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_leave_moves_the_ranges_to_the_ring_served_once_it_left(strategy: str) -> None:
    """Until n2 has left every node serves the old top N (n2 in it), writes reach the
    pending owners, and the ranges move to the ring that serves once n2 has left
    (before, strategy 3 moved them with n2's tokens left out and then handed n2's
    partitions out at ``left``: a third ring)."""
    seen = _leave(strategy)
    assert seen.moving > 0
    assert seen.stale == []
    assert seen.missing == []
    assert seen.moved_elsewhere == []
    assert seen.wrong_after == []


def _read_modify_write(strategy: str, seed: int, steps: int = 70) -> tuple[int, list[bytes],
                                                                          bytes | None]:
    """Case 07's sequential client (``../shared/cases/07-join-stale-read.py``: n6 joins,
    then n2 leaves) under ``strategy``: (max siblings it saw, the final read, its last
    acknowledged value)."""
    cluster = SimulatedCluster(nodes=5, n=N, r=2, w=2, seed=seed, partitioning=strategy)
    client = cluster.client()
    max_siblings, last = 0, None
    for step in range(steps):
        if step == 10:
            cluster.join("n6")
        if step == 40:
            cluster.leave("n2")
        read = client.get(b"reg")
        max_siblings = max(max_siblings, len(read.values))
        try:
            client.put(b"reg", b"r%d" % step, context=read.context)
            last = b"r%d" % step
        except DynamoError:
            pass
    cluster.run_until_quiet(max_time=900)
    return max_siblings, cluster.client("n1").get(b"reg", r=3).values, last


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("seed", (4, 5))
def test_a_sequential_client_reads_its_own_writes_through_a_join_and_a_leave(
        strategy: str, seed: int) -> None:
    max_siblings, final, last = _read_modify_write(strategy, seed)
    assert max_siblings == 1
    assert final == [last]


# -- the old rule as a seeded mutant: the serving ring is the up and leaving members'
# tokens as the view has them (a strategy-3 join re-announces the donors' smaller
# token sets at once)


@pytest.fixture
def view_serving_mutant(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def from_view(self: Gossiper, view: Membership) -> Partitioning:
        return self._routing_partitioning(view)
    monkeypatch.setattr(Gossiper, "_serving", from_view)
    yield


@pytest.mark.usefixtures("view_serving_mutant")
def test_the_join_scenario_catches_serving_the_views_ring() -> None:
    seen = _join("strategy3")
    assert seen.stale and seen.missing


@pytest.fixture
def late_partitions_mutant(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    plain = membership.leave

    def keep_tokens(view: Membership, node: str, partitioning: Partitioning | None = None,
                    rng: random.Random | None = None) -> Membership:
        return plain(view, node)  # strategy 3: the partitions go out only at ``left``
    monkeypatch.setattr(membership, "leave", keep_tokens)
    yield


@pytest.mark.usefixtures("late_partitions_mutant")
def test_the_leave_scenario_catches_handing_the_partitions_out_at_left() -> None:
    seen = _leave("strategy3")
    assert seen.moved_elsewhere
