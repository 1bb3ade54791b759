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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import cast

import pytest

from impl import Client, DynamoError, SimulatedCluster
from impl.gossip import ROUTING, SERVING, SERVING_META, Gossiper
from impl.membership import Membership, MemberStatus
from impl.node import Node
from impl.sloppy_quorum import SloppyQuorum
from impl.versions import values
from spec.ring import Partitioning
from tests.conftest import PROFILE

STRATEGIES = ("strategy3", "strategy1", "strategy2")
#: the strategies CI runs the join and the leave scenarios under (session 42): the
#: bugs they were written for are strategy 3's (its members' token sets change
#: before the handover); under strategies 1 and 2 the kept serving ring is the
#: view's own (:meth:`impl.gossip.Gossiper._serving`), the soak profile runs them too
#: (about 13 CPU-s of CI). Every mutant of the serving ring and the pending writes
#: tried fails strategy 3's two runs: docs/model-checking.md, "Where CI's test time
#: goes (session 42)"
HANDOVER_IN_CI = STRATEGIES if PROFILE == "soak" else ("strategy3",)
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
        # (after every event: the rings of before are compared by identity, nothing
        # built when they did not change; session 44)
        nodes, seen = self.cluster.sim.nodes, self._seen
        for name in self.cluster.sim.members:
            node = nodes.get(name)
            gossiper = (self.cluster.node(name) if node is None
                        else cast(Node, node)).gossiper
            held = seen.get(name)
            if (held is not None and held[0] is gossiper.partitioning
                    and held[1] is gossiper.future):
                continue
            seen[name] = (gossiper.partitioning, gossiper.future)
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


def _holds(cluster: SimulatedCluster, node: str, key: bytes, value: bytes) -> bool:
    record = cluster.node(node).record(key)
    return record is not None and value in values(record)


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
        missing += [(key, owner) for owner in sorted(future(key) - watch.old[key])
                    if not _holds(cluster, owner, key, value)]
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


def _leave(strategy: str, seed: int = 11, settle_within: float = 900) -> Observed:
    """n2 leaves a 5-node cluster; the moving keys are written while it leaves; the
    change settles within ``settle_within`` simulated seconds (DynamoError otherwise;
    strategy 3, seed 11: 170 s)."""
    cluster = _cluster(strategy, seed)
    first = cluster.node("n1").gossiper.partitioning
    watch = _Watch(cluster, "n2", MemberStatus.LEFT, {key: _top(first, key) for key in KEYS})
    cluster.leave("n2")
    watch.run(lambda: _every_node(  # (strategy 3: once the claimant moved n2's partitions)
        cluster, lambda g: _status_of(g, "n2") is MemberStatus.LEAVING
        and g.future is not g.partitioning), 60)
    future = cluster.node("n1").gossiper.future
    missing, moving = _write_during(watch, cluster, lambda key: _top(future, key), "n1")
    assert _status_of(cluster.node("n1").gossiper, "n2") is MemberStatus.LEAVING
    watch.run(lambda: _settled(cluster), settle_within)
    final = {key: _top(cluster.node("n1").gossiper.partitioning, key) for key in KEYS}
    return Observed(watch.stale, watch.check_after(final),
                    [key for key, seen in watch.futures.items() if seen != {final[key]}],
                    missing, moving)


@pytest.mark.parametrize("strategy", HANDOVER_IN_CI)
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


@pytest.mark.parametrize("strategy", HANDOVER_IN_CI)
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
    assert seen.stale  # (the writes reach n6: the groups add the future top N)


@pytest.fixture
def unclaimed_leave_out_mutant(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def routing(self: Gossiper, view: Membership,
                statuses: frozenset[MemberStatus] | None = None) -> Partitioning:
        if statuses is None:
            statuses = SERVING if self.pending else ROUTING
        # the future ring leaves a leaving node's tokens out before the claimant
        # handed its partitions out: the ranges move to a third ring first
        return self._partitioning(view.ring(statuses) or view.ring()
                                  or self.config.initial_partitioning().ring)
    monkeypatch.setattr(Gossiper, "_routing_partitioning", routing)
    yield


@pytest.mark.usefixtures("unclaimed_leave_out_mutant")
def test_the_leave_scenario_catches_moving_ranges_before_the_claim() -> None:
    """The mutant's future ring moves at n2's ``leaving``, before the claim: the
    claimant then sees a change in progress and never claims, and n2 never leaves
    (before the claimant, handing the partitions out at ``left`` moved the ranges to
    a third ring: ``moved_elsewhere``). Not settled within 250 simulated seconds
    (the clean leave settles in 170, within 250 measured in session 16; session 15:
    waiting the clean test's 900 cost 9.7 CPU-s of CI's run, session 16's 400 cost
    6.9 in a loaded whole run)."""
    with pytest.raises(DynamoError, match="condition not reached"):
        _leave("strategy3", settle_within=250)


def _overlapping_write(strategy: str, seed: int = 11) -> list[tuple[bytes, str]]:
    """n6 joins and hands over; before its change settles (``previous`` set, joint
    quorums) n7 joins: the keys moving to n7 are written; which pending owners (n7's
    new top N, not the serving one) lack the write 0.5 s later."""
    cluster = _cluster(strategy, seed)
    cluster.join("n6")
    cluster.run_until(lambda: _every_node(
        cluster, lambda g: _status_of(g, "n6") is MemberStatus.UP), max_time=600)
    cluster.join("n7")
    cluster.run_until(lambda: _every_node(
        cluster, lambda g: _status_of(g, "n7") is MemberStatus.JOINING
        and bool(g.view.get("n7").tokens)), max_time=60)  # type: ignore[union-attr]
    writer = cluster.node("n1").gossiper
    assert writer.previous is not None  # n6's change has not settled
    future, serving = writer.future, writer.partitioning
    client = cluster.client("n1")
    moving = [key for key in KEYS if _top(future, key) != _top(serving, key)][:8]
    cluster.wait([client.submit_put(key, key + b"-during") for key in moving])
    cluster.run_for(0.5)
    assert writer.previous is not None  # (all within the window)
    return [(key, owner) for key in moving
            for owner in sorted(_top(future, key) - _top(serving, key))
            if not _holds(cluster, owner, key, key + b"-during")]


@pytest.mark.parametrize("strategy", ("strategy1", "strategy2") if PROFILE == "soak"
                         else ("strategy1",))
def test_a_write_while_one_change_settles_and_another_moves_reaches_the_pending_owner(
        strategy: str) -> None:
    """Two changes overlap: the write goes to the old, the serving and the future top
    N (before, the future ring was ignored while the first change settled). (Strategy
    3 does not overlap changes any more: the claimant waits for n6's change to settle
    before it gives n7 partitions, test_a_strategy3_join_waits_for_a_view_where_no_member_joins.)
    CI runs strategy 1 (the mutant test below's), soak strategy 2 too (session 42)."""
    assert _overlapping_write(strategy) == []


def _restarted_mid_change(op: str) -> list[bytes]:
    """Strategy 3: n1 crashes and restarts once every node knows of the join (the
    leave) and before its handover; the keys n1 then serves by a top N other than
    the old one."""
    cluster = _cluster("strategy3", 11)
    before = cluster.node("n1").gossiper.partitioning
    subject, status = ("n6", MemberStatus.JOINING) if op == "join" else ("n2",
                                                                           MemberStatus.LEAVING)
    if op == "join":
        cluster.join("n6")
    else:
        cluster.leave("n2")
    cluster.run_until(lambda: _every_node(cluster, lambda g: _status_of(g, subject) is status
                                          and g.future is not g.partitioning), max_time=60)
    cluster.crash("n1")
    cluster.restart("n1")
    gossiper = cluster.node("n1").gossiper
    assert _status_of(gossiper, subject) is status
    return [key for key in KEYS if _top(gossiper.partitioning, key) != _top(before, key)]


@pytest.mark.parametrize("op", ("join", "leave"))
def test_a_node_restarted_before_the_handover_serves_the_old_ring(op: str) -> None:
    assert _restarted_mid_change(op) == []


def test_the_restart_scenario_catches_forgetting_the_kept_ring(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Gossiper, "_restore_serving",
                        lambda self: self._routing_partitioning(self.view))
    assert _restarted_mid_change("join") and _restarted_mid_change("leave")


def _groups_without_the_future(self: SloppyQuorum, key: bytes, *, writing: bool = False
                               ) -> tuple[tuple[str, ...], ...]:
    """Mutant: the groups before: the future ring ignored while ``previous`` is set."""
    n = self.config.n
    current = self.preference_list(key)[:n]
    previous, future = self._previous(), self._future()
    if previous is not None:
        old, new = previous.preference_list(key, n), current
    elif not writing or future is None or future is self._ring():
        return ()
    else:
        old, new = current, future.preference_list(key, n)
    return () if set(old) == set(new) else (tuple(sorted(old)), tuple(sorted(new)))


def test_the_overlap_scenario_catches_groups_without_the_future(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SloppyQuorum, "groups", _groups_without_the_future)
    assert _overlapping_write("strategy1")


# -- overlapping changes (rev2 finding F1): a second join (or a leave) while the first
# change is under way. Strategy 3 moves partitions between the members at a join, so
# the joining node announces the donors' new token sets: before the fix it computed
# them from the kept serving ring (the donors' token sets before the first join) and
# from members whose own entries were changing meanwhile, and the views no longer
# formed a ring (a token held twice): every gossip of the second joiner was dropped,
# and it stayed joining for ever.


def merged_ring_ok(cluster: SimulatedCluster) -> bool:
    """The views of all nodes merged still form a ring (no token held twice)."""
    views = tuple(cluster.node(name).gossiper.view for name in cluster.sim.members)
    # the views are immutable (impl.membership.Membership): the verdict of the same
    # view objects is the same (session 17, pure speed: test_claimant's runs ask after
    # every simulated event, and the merge and ring were two thirds of their CPU)
    key = tuple(map(id, views))
    last = _LAST_MERGED.get(key)
    if last is not None:
        return last[1]
    merged = views[0]
    for view in views[1:]:
        merged = merged.merge(view)
    try:
        merged.ring()
        ok = True
    except DynamoError:
        ok = False
    _LAST_MERGED.clear()  # the last views only, kept alive so their ids stay theirs
    _LAST_MERGED[key] = (views, ok)
    return ok


#: merged_ring_ok's last answer: the ids of the views asked about -> (the views, the verdict)
_LAST_MERGED: dict[tuple[int, ...], tuple[tuple[Membership, ...], bool]] = {}


def rmw_step(cluster: SimulatedCluster, client: Client, rng: random.Random,
             keys: Sequence[bytes], step: int, last: dict[bytes, bytes],
             stale: list[str]) -> bool:
    """One step of a sequential read-modify-write client (random key of ``keys``,
    random live coordinators): a get, checked against ``last`` (the key's last
    acknowledged value; a violation is appended to ``stale``), then a put of a new
    value with its context. False if the get failed (no put made)."""
    live = [n for n in sorted(cluster.sim.members) if n not in cluster.left]
    key = rng.choice(keys)
    try:
        read = client.get(key, coordinator=rng.choice(live))
    except DynamoError:
        return False
    if key in last and read.values != [last[key]]:
        stale.append(f"{cluster.sim.now:.2f} {key!r}: {read.values} after {last[key]!r}")
    value = b"%s-%d" % (key, step)
    try:
        client.put(key, value, context=read.context, coordinator=rng.choice(live))
        last[key] = value
    except DynamoError:
        last.pop(key, None)  # a failed put may or may not have landed
    return True


def _changes(strategy: str, seed: int, plan: tuple[tuple[float, str, str], ...],
             steps: int = 60) -> tuple[list[str], bool, list[str]]:
    """A 5-node cluster; a sequential read-modify-write client (random coordinators)
    makes ``steps`` steps 0.25 s apart while ``plan``'s changes ((step, "join" |
    "leave", node)) are made. Returns (the read-your-writes violations, whether every
    change settled within 600 s, the moments the merged views held a token twice)."""
    rng = random.Random(seed)
    cluster = SimulatedCluster(nodes=5, n=N, r=2, w=2, seed=seed, partitioning=strategy)
    client = cluster.client()
    last: dict[bytes, bytes] = {}
    stale: list[str] = []
    doubled: list[str] = []
    keys = KEYS[:6]
    for step in range(steps):
        for at, op, node in plan:
            if at == step:
                (cluster.join if op == "join" else cluster.leave)(node)
        if not rmw_step(cluster, client, rng, keys, step, last, stale):
            continue
        cluster.run_for(0.25)
        if not merged_ring_ok(cluster):
            doubled.append(f"{cluster.sim.now:.2f}")
    joiners = {node for _, op, node in plan if op == "join"}
    leavers = {node for _, op, node in plan if op == "leave"}

    def done() -> bool:
        return _settled(cluster) and _every_node(cluster, lambda g: all(
            _status_of(g, node) is MemberStatus.UP for node in joiners) and all(
            _status_of(g, node) in (None, MemberStatus.LEFT) for node in leavers))
    try:
        cluster.run_until(done, max_time=cluster.sim.now + 600)
        settled = True
    except DynamoError:
        settled = False
    if not merged_ring_ok(cluster):
        doubled.append("end")
    return stale, settled, doubled


OVERLAPS = {
    "join-join-0.5s": ((10, "join", "n6"), (12, "join", "n7")),
    "join-join-5s": ((10, "join", "n6"), (30, "join", "n7")),
    "join-during-leave": ((10, "leave", "n2"), (14, "join", "n6")),
    "leave-during-join": ((10, "join", "n6"), (14, "leave", "n2")),
}


#: the (seed, strategy, overlap) runs CI makes: seed 1 under every strategy, seed 2
#: under strategy 3; the soak profile runs seed 2 under strategies 1 and 2 too
#: (session 19: the 24 runs were about 10 CPU-s of CI). Without the claimant
#: (test_claimant.py's ``every_joiner_claims``) seed 2's strategy-3 0.5 s join/join
#: holds a token twice and never settles; none of the other 23 runs fails under it
OVERLAP_RUNS = [(seed, strategy, overlap) for seed in (1, 2) for strategy in STRATEGIES
                for overlap in sorted(OVERLAPS)
                if PROFILE == "soak" or seed == 1 or strategy == "strategy3"]


@pytest.mark.parametrize(("seed", "strategy", "overlap"), OVERLAP_RUNS)
def test_overlapping_changes_settle_and_keep_read_your_writes(
        strategy: str, overlap: str, seed: int) -> None:
    stale, settled, doubled = _changes(strategy, seed, OVERLAPS[overlap])
    assert doubled == []
    assert settled
    assert stale == []


@pytest.mark.parametrize(("gap", "seed"), [
    (0.5, 1), (0.5, 2), (0.5, 3), (5.0, 1), (5.0, 2), (5.0, 3)])
def test_two_strategy3_joins_without_a_client_both_settle(gap: float, seed: int) -> None:
    """rev2 F1's reproducer (``join_join.py strategy3 GAP SEED``): n6 joins, n7 ``gap``
    seconds later, no client. Before the fix n7 (gap 0.5 s) or n6 (5 s, once the joins
    took tokens from the view) stayed joining for ever; then (seed 2, gap 0.5 s) both
    joins took the seed's view before either reached it and moved the same
    partitions, until the claimant made every move (tests/impl/test_claimant.py)."""
    cluster = SimulatedCluster(nodes=5, n=N, r=2, w=2, seed=seed, partitioning="strategy3")
    client = cluster.client("n1")
    for key in KEYS[:30]:
        client.put(key, b"v", w=3)
    cluster.join("n6")
    cluster.run_for(gap)
    cluster.join("n7")
    cluster.run_until(lambda: _settled(cluster) and _every_node(cluster, lambda g: all(
        _status_of(g, node) is MemberStatus.UP for node in ("n6", "n7"))),
        max_time=cluster.sim.now + 600)
    assert merged_ring_ok(cluster)


# -- the kept serving ring after its change (rev2 mutants A3, A4: each guard was masked
# by the other). A3: the meta entry must be cleared once no member joins or leaves;
# A4: a restart restores it only while a member still joins or leaves (a crash between
# persisting the view and clearing the entry leaves an earlier change's ring behind).


def _joined_and_kept(cluster: SimulatedCluster) -> bytes:
    """n6 joins (strategy 3); returns n1's kept serving ring as persisted while n6 was
    joining, and runs until the change settled."""
    cluster.join("n6")
    kept: list[bytes] = []

    def joining_with_kept() -> bool:
        raw = cluster.node("n1").gossiper.storage.get_meta(SERVING_META)
        if raw and _status_of(cluster.node("n1").gossiper, "n6") is MemberStatus.JOINING:
            kept.append(raw)
            return True
        return False
    cluster.run_until(joining_with_kept, max_time=60)
    cluster.run_until(lambda: _settled(cluster) and _every_node(
        cluster, lambda g: _status_of(g, "n6") is MemberStatus.UP), max_time=600)
    return kept[0]


def test_the_kept_serving_ring_is_cleared_and_a_restart_ignores_an_earlier_one() -> None:
    """A3, then A4 on the same run (session 42: two tests, each running the join, 7.4
    CPU-s; the restart part sets the kept ring itself, so A3's guard does not mask
    A4's): once the change settled no node keeps a serving ring, and a restart with
    the join's kept ring left behind serves the ring it served before."""
    cluster = _cluster("strategy3", 11)
    kept = _joined_and_kept(cluster)
    assert _every_node(cluster, lambda g: not g.storage.get_meta(SERVING_META))
    gossiper = cluster.node("n1").gossiper
    served = {key: _top(gossiper.partitioning, key) for key in KEYS}
    disk = cluster.storages["n1"]  # (the node's own storage stages its writes)
    disk.set_meta(SERVING_META, kept)  # left by a crash before the clear
    disk.flush()
    cluster.crash("n1")
    cluster.restart("n1")
    restarted = cluster.node("n1").gossiper.partitioning
    assert [key for key in KEYS if _top(restarted, key) != served[key]] == []


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_strategy3_join_waits_for_a_view_where_no_member_joins(strategy: str) -> None:
    """n7 asks a seed that knows n6 is joining: under strategy 3 it takes its
    partitions only once n6's change settled (the claimant, ``Gossiper.claim``, makes
    one change at a time); strategies 1 and 2 draw n7's tokens at once."""
    cluster = _cluster(strategy, 11)
    cluster.join("n6")
    cluster.run_until(lambda: _status_of(cluster.node("n1").gossiper, "n6")
                      is MemberStatus.JOINING, max_time=60)
    cluster.join("n7")

    def n7_took_tokens() -> bool:
        member = cluster.node("n7").gossiper.view.get("n7")
        return member is not None and bool(member.tokens)
    cluster.run_until(n7_took_tokens, max_time=600)
    n6 = _status_of(cluster.node("n7").gossiper, "n6")
    assert n6 is (MemberStatus.UP if strategy == "strategy3" else MemberStatus.JOINING)
