"""The claimant: one member moves the partitions of every strategy-3 join and leave
(docs/impl.md, "The claimant"; riak_core's ``riak_core_claimant.erl``).

Strategy 3 (equal partitions) moves partitions between the members at a join and
at a leave. Before the claimant a joining node computed its own claim from the view
it got from a seed: two joins that took the seed's view before either reached it
moved the same partitions, and the views held a token twice for ever (a view no
node accepts: every later gossip of it was dropped). Now a joining node announces
itself ``joining`` with no tokens, a leaving node ``leaving`` with its tokens, and
only the claimant (the lowest-named ``up`` member holding tokens) moves partitions,
one change at a time (``Gossiper.claim``).

Each scenario is seeded and bounded: a 5-node cluster, a sequential
read-modify-write client on a few keys, two joins ``gap`` seconds apart (or a join
and a leave); it checks after every client step that the merged views form a ring,
and at the end that every change settled and the client read its own writes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace

import pytest

from impl import DynamoError, SimulatedCluster, membership
from impl.effects import Effect
from impl.gossip import Gossiper
from impl.membership import Member, Membership, MemberStatus
from spec.ring import Partitioning
from tests.conftest import PROFILE
from tests.impl.test_join_strategy3 import merged_ring_ok, rmw_step

N = 3
KEYS = tuple(b"c-%d" % i for i in range(6))


def _status(cluster: SimulatedCluster, name: str, node: str) -> MemberStatus | None:
    member = cluster.node(name).gossiper.view.get(node)
    return None if member is None else member.status


def _settled(cluster: SimulatedCluster, joiners: tuple[str, ...],
             leavers: tuple[str, ...]) -> bool:
    for name in cluster.sim.members:
        g = cluster.node(name).gossiper
        if g.previous is not None or g.settling or g.future is not g.partitioning or (
                g.transfer_after is not None):
            return False
        if any(_status(cluster, name, node) is not MemberStatus.UP for node in joiners):
            return False
        if any(_status(cluster, name, node) not in (None, MemberStatus.LEFT)
               for node in leavers):
            return False
    return True


def _scenario(seed: int, changes: tuple[tuple[float, str, str], ...],
              steps: int = 24) -> tuple[list[str], bool, list[str]]:
    """``changes``: (second, "join" | "leave", node), made while the client runs (a
    step every 0.25 s, the first change at 2.5 s). Returns (read-your-writes
    violations, whether every change settled within 600 s, the moments the merged
    views held a token twice)."""
    rng = random.Random(seed)
    cluster = SimulatedCluster(nodes=5, n=N, r=2, w=2, seed=seed, partitioning="strategy3")
    client = cluster.client()
    start = cluster.sim.now + 2.5
    todo = sorted((start + at, op, node) for at, op, node in changes)
    last: dict[bytes, bytes] = {}
    stale: list[str] = []
    doubled: list[str] = []

    def advance(seconds: float) -> None:
        """Run ``seconds``, making each change at its second exactly."""
        until = cluster.sim.now + seconds
        while todo and todo[0][0] <= until:
            at, op, node = todo.pop(0)
            if at > cluster.sim.now:
                cluster.run_for(at - cluster.sim.now)
            (cluster.join if op == "join" else cluster.leave)(node)
        if until > cluster.sim.now:
            cluster.run_for(until - cluster.sim.now)

    for step in range(steps):
        if not rmw_step(cluster, client, rng, KEYS, step, last, stale):
            continue
        advance(0.25)
        if not merged_ring_ok(cluster):
            doubled.append(f"{cluster.sim.now:.2f}")
    joiners = tuple(node for _, op, node in changes if op == "join")
    leavers = tuple(node for _, op, node in changes if op == "leave")
    try:
        cluster.run_until(lambda: not merged_ring_ok(cluster)
                          or _settled(cluster, joiners, leavers),
                          max_time=cluster.sim.now + 600)
        settled = merged_ring_ok(cluster)
    except DynamoError:
        settled = False
    if not merged_ring_ok(cluster):
        doubled.append("end")
    else:
        for key, value in sorted(last.items()):
            if cluster.client("n1").get(key, r=3).values != [value]:
                stale.append(f"end {key!r}: not {value!r}")
    return stale, settled, doubled


GAPS = (0.0, 0.1, 0.5)
SEEDS = tuple(range(1, 11))
#: the seeds the race below runs in CI; the soak profile runs all of :data:`SEEDS`
#: (session 19: the 30 runs were about 16 CPU-s of CI's 1,225; the mutant
#: ``every_joiner_claims`` holds a token twice in every gap of seed 2, and in 9 of
#: the 21 runs of seeds 4-10, none of seeds 1 and 3; session 42 moved seeds 1 and 3
#: to soak: under the mutant seed 2 still holds a token twice in each of its 3 gaps,
#: and seeds 1 and 3 settle clean in all 6 of theirs)
SEEDS_IN_CI = (2,)
RACE_SEEDS = SEEDS if PROFILE == "soak" else SEEDS_IN_CI


def _two_joins(seed: int, gap: float) -> tuple[list[str], bool, list[str]]:
    return _scenario(seed, ((0.0, "join", "n6"), (gap, "join", "n7")))


@pytest.mark.parametrize("gap", GAPS)
@pytest.mark.parametrize("seed", RACE_SEEDS)
def test_two_joins_racing_for_one_view_both_settle(seed: int, gap: float) -> None:
    """n6 and n7 join ``gap`` seconds apart (both ask a seed for the view before
    either reached it): both settle up, no token is ever held twice, and the client
    reads its own writes throughout."""
    stale, settled, doubled = _two_joins(seed, gap)
    assert doubled == []
    assert settled
    assert stale == []


@pytest.mark.parametrize("gap", (0.0, 0.5))
@pytest.mark.parametrize("seed", (1, 2, 3))
def test_a_leave_during_a_join_waits_for_the_claimant(seed: int, gap: float) -> None:
    """n6 joins and n2 is asked to leave ``gap`` seconds later (while n6 joins): n2
    announces ``leaving`` once n6's change settled, the claimant hands its partitions
    out, and both changes settle with read-your-writes kept."""
    stale, settled, doubled = _scenario(seed, ((0.0, "join", "n6"), (gap, "leave", "n2")))
    assert doubled == []
    assert settled
    assert stale == []


# -- mutants


@pytest.fixture
def every_joiner_claims(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No claimant: a joining node moves the partitions of its own join (the code
    before the fix, without its wait for a view where nobody joins)."""
    plain = membership.claimant

    def mine(view: Membership) -> str | None:
        joining = [m.node for m in view if m.status is MemberStatus.JOINING and not m.tokens]
        return joining[0] if joining else plain(view)
    monkeypatch.setattr(membership, "claimant", mine)
    yield


@pytest.mark.usefixtures("every_joiner_claims")
def test_the_race_catches_every_joiner_claiming() -> None:
    # the same runs as before session 15, seed 2 first: its three gaps each hold a
    # token twice under the mutant; seed 1's three, tried first before, none (3.1
    # CPU-s to the first kill, now 0.2)
    order = sorted(((seed, gap) for seed in SEEDS for gap in GAPS),
                   key=lambda run: run[0] != 2)
    assert any(_two_joins(seed, gap)[2] for seed, gap in order)  # held twice


def _leave_during_a_join(seed: int) -> tuple[Membership, bool]:
    """n6 joins; once n2 knows n6's claim (n6 joining with tokens) n2 is asked to
    leave. Returns the first view that shows n2 leaving, and whether both changes
    then settled within 600 s with no token ever held twice (checked every 0.25 s)."""
    cluster = SimulatedCluster(nodes=5, n=N, r=2, w=2, seed=seed, partitioning="strategy3")
    client = cluster.client("n1")
    for key in KEYS:
        client.put(key, b"v", w=3)
    cluster.join("n6")

    def n2_knows_n6() -> bool:
        member = cluster.node("n2").gossiper.view.get("n6")
        return member is not None and bool(member.tokens)
    cluster.run_until(n2_knows_n6, max_time=600)
    cluster.leave("n2")
    seen: list[Membership] = []

    def n2_leaving() -> bool:
        for name in cluster.sim.members:
            view = cluster.node(name).gossiper.view
            if (member := view.get("n2")) is not None and member.status is (
                    MemberStatus.LEAVING):
                seen.append(view)
                return True
        return False
    cluster.run_until(n2_leaving, max_time=cluster.sim.now + 600)
    deadline = cluster.sim.now + 600
    while cluster.sim.now < deadline and merged_ring_ok(cluster):
        if _settled(cluster, ("n6",), ("n2",)):
            return seen[0], True
        cluster.run_for(0.25)
    return seen[0], False


@pytest.mark.parametrize("seed", (1, 2, 3))
def test_a_leave_asked_during_a_join_is_announced_once_the_join_settled(seed: int) -> None:
    """n2 announces ``leaving`` only once n6 is up and its change settled (one change
    at a time), and both changes settle."""
    view, settled = _leave_during_a_join(seed)
    n6 = view.get("n6")
    assert n6 is not None and n6.status is MemberStatus.UP and n6.settled
    assert settled


@pytest.fixture
def leave_at_once(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The leave announced at once, while the join is in progress (it does not wait
    until no change is in progress)."""
    real = Gossiper.changing

    def changing(self: Gossiper) -> bool:
        if self.leave_requested and self.status is MemberStatus.UP:
            return False  # (the leaving node does not wait)
        return real(self)
    monkeypatch.setattr(Gossiper, "changing", changing)
    yield


@pytest.mark.usefixtures("leave_at_once")
def test_the_wait_is_caught_by_the_leave_during_a_join() -> None:
    view, _ = _leave_during_a_join(1)
    n6 = view.get("n6")
    assert n6 is not None and n6.status is MemberStatus.JOINING


# -- the tie rule: a move outranks the member's own announcement (versions + 2)


def _five() -> tuple[Membership, Partitioning]:
    cluster = SimulatedCluster(nodes=5, n=N, r=2, w=2, seed=1, partitioning="strategy3")
    view = cluster.node("n1").gossiper.view
    ring = view.ring()
    assert ring is not None
    return view, cluster.config.partitioning_of(ring)


def _claim_beside_a_leave() -> tuple[Membership, Membership, str]:
    """The claimant gives joining n6 its partitions while a donor announces
    ``leaving`` from the same view: (the claim, the merge of both, the donor)."""
    view, partitioning = _five()
    view = view.announce("n6", status=MemberStatus.JOINING)
    claim = membership.claim_join(view, "n6", partitioning, random.Random(7))
    donor = next(m.node for m in claim if m.node != "n6" and m.tokens != view.get(
        m.node).tokens)  # type: ignore[union-attr]
    leaving = view.announce(donor, status=MemberStatus.LEAVING)
    return claim, claim.merge(leaving), donor


def test_a_move_outranks_the_donors_concurrent_announcement() -> None:
    """The donor's own ``leaving`` (version + 1) loses the tokens to the move (version
    + 2): the merged view forms a ring, with the donor's moved token set. Since session
    26 the move writes only the tokens register (``Membership.move``), so the donor's
    ``leaving`` is kept (before, the move carried its old ``up`` and the donor's status
    went back to ``up`` until it announced its leave again). With a bump by one the
    tokens tie, and the merged view holds n6's tokens twice."""
    claim, merged, donor = _claim_beside_a_leave()
    assert merged.ring() is not None
    held = merged.get(donor)
    assert held is not None and held.tokens == claim.get(donor).tokens  # type: ignore[union-attr]
    assert held.status is MemberStatus.LEAVING


def test_the_tie_test_catches_a_bump_by_one() -> None:
    """A move by one version ties an announcement of the donor's own that writes its
    tokens, and the tie goes by the token sets' order (session 26; before, by the
    status rank), so the donor's old tokens can win, held twice with the taker's: the
    bump by two (``Membership.move``) is needed. The donor gives its highest token to
    n6. A status-only announcement (the donor's ``leaving``) writes no tokens (session
    26's review), so the move wins the tokens whatever its bump."""
    view = Membership.of([Member("n1", 1, MemberStatus.UP, (1, 2, 3)),
                          Member("n6", 1, MemberStatus.JOINING)])
    by_two = view.move("n1", (1, 2)).move("n6", (3,))
    leaving = view.announce("n1", status=MemberStatus.LEAVING)
    merged = by_two.merge(leaving)
    assert merged.ring() is not None
    assert merged.get("n1") == replace(by_two.get("n1"),  # type: ignore[arg-type]
                                       status=MemberStatus.LEAVING, status_version=2)
    moved = by_two.get("n1")
    assert moved is not None
    by_one = Membership(tuple(m if m.node != "n1" else replace(
        moved, version=2, tokens_version=2) for m in by_two))
    assert by_one.merge(leaving).tokens()["n1"] == (1, 2)
    restated = view.announce("n1", status=MemberStatus.LEAVING, tokens=(1, 2, 3))
    assert by_two.merge(restated).tokens()["n1"] == (1, 2)
    with pytest.raises(DynamoError, match="do not form a ring"):
        by_one.merge(restated).ring()


@pytest.mark.parametrize("seed", range(1, 9))
def test_a_removal_crossing_a_claim_keeps_every_partition(seed: int) -> None:
    """5 members (strategy 3, Q = 32), n3 leaving. The claimant n1 claims n3's leave
    (some of its partitions moved to n5) while n2, which has not heard the claim,
    force-removes n5 (accepted during a leave since session 26); the two views meet.
    Session 26's review: every announcement wrote the tokens register, so the
    removal's two status-only bumps wrote n5's old tokens at the move's version, the
    tie went by the token sets' order, and the old set won in 39 of 40 seeds: the
    partitions moved to n5 were held by no member (30 of 32 on the ring, which then
    no strategy-3 claim accepts; in the simulator 48 of 64 partitions for good, 5
    nodes, seed 1, ``leave n3`` then ``force_remove n2 n5`` within one round)."""
    from spec.ring import Strategy, strategy3
    ring = strategy3(["n1", "n2", "n3", "n4", "n5"], 32, random.Random(seed)).ring
    view = membership.initial_membership(ring).announce("n3", status=MemberStatus.LEAVING)
    on_ring = view.ring()
    assert on_ring is not None
    claimed = membership.claim_leave(
        view, "n3", Partitioning(Strategy.EQUAL_PARTITIONS, on_ring, 6, 32),
        random.Random(seed))
    removing = membership.force_remove(view, "n5", 3)
    for merged in (claimed.merge(removing), removing.merge(claimed)):
        after = merged.ring()
        assert after is not None
        assert sorted(after.tokens) == sorted(ring.tokens)  # before: 2 of 32 missing
        assert merged.tokens(membership.ON_RING)["n5"] == claimed.tokens()["n5"]
        assert merged.get("n5").status is MemberStatus.REMOVING  # type: ignore[union-attr]


# -- restarts keep the announcements (meta entry ``announced``)


def _restarted_after_settling(cluster: SimulatedCluster) -> bool:
    """n6 joins and settles, then restarts: whether it still knows it announced its
    change settled."""
    cluster.join("n6")
    cluster.run_until(lambda: cluster.node("n6").gossiper.announced_settled, max_time=600)
    cluster.crash("n6")
    cluster.restart("n6")
    return cluster.node("n6").gossiper.announced_settled


#: how long (simulated seconds) the leave tests below wait for n6 to have left: the
#: clean runs have it LEFT by 13-14 s (seeds 2 and 3, strategy 3; 5 s strategy 1);
#: their mutants keep it UP for ever, and each waited the whole 400 s of before
#: (session 15: 100 s, a quarter of the CPU, the same kills)
LEAVE_WAIT = 100.0


def _left_after_a_restart(cluster: SimulatedCluster) -> MemberStatus | None:
    """n6 joins and is asked to leave while it joins; it crashes and restarts before
    it may announce the leave: n6's status in n1's view after ``LEAVE_WAIT``."""
    cluster.join("n6")
    cluster.run_until(lambda: cluster.node("n6").status is MemberStatus.JOINING, max_time=60)
    cluster.leave("n6")
    assert cluster.node("n6").status is MemberStatus.JOINING  # (it waits)
    cluster.crash("n6")
    cluster.restart("n6")
    cluster.run_until(lambda: _status(cluster, "n1", "n6") is MemberStatus.LEFT
                      or cluster.sim.now > LEAVE_WAIT, max_time=LEAVE_WAIT + 100)
    return _status(cluster, "n1", "n6")


def _strategy3(seed: int = 3) -> SimulatedCluster:
    return SimulatedCluster(nodes=5, n=N, r=2, w=2, seed=seed, partitioning="strategy3")


def test_a_restart_keeps_that_the_change_was_announced_settled() -> None:
    assert _restarted_after_settling(_strategy3())


def test_a_restart_keeps_a_leave_asked_while_joining() -> None:
    assert _left_after_a_restart(_strategy3()) is MemberStatus.LEFT


def test_the_restart_tests_catch_announcements_kept_in_memory_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Gossiper, "_restore_announced", lambda self: None)
    assert not _restarted_after_settling(_strategy3())
    assert _left_after_a_restart(_strategy3()) is MemberStatus.UP


# -- review findings (issue 11, session 7): F1, F3


def _join_then_leave_at_once(cluster: SimulatedCluster) -> MemberStatus | None:
    """n6 joins and is asked to leave 0.5 s later (before it heard the view from a
    seed): n6's status in n1's view after ``LEAVE_WAIT``."""
    cluster.join("n6")
    cluster.run_for(0.5)
    cluster.leave("n6")
    cluster.run_until(lambda: _status(cluster, "n1", "n6") is MemberStatus.LEFT
                      or cluster.sim.now > LEAVE_WAIT, max_time=LEAVE_WAIT + 100)
    return _status(cluster, "n1", "n6")


@pytest.mark.parametrize("strategy", ("strategy3", "strategy1"))
def test_f1_a_leave_asked_within_a_second_of_the_join_is_kept(strategy: str) -> None:
    """F1: before, ``Node.leave`` of a node that had not heard the view yet (no status)
    did nothing, and n6 stayed up."""
    cluster = SimulatedCluster(nodes=5, n=N, r=2, w=2, seed=2, partitioning=strategy)
    assert _join_then_leave_at_once(cluster) is MemberStatus.LEFT


def test_f1_catches_a_leave_dropped_before_the_view(monkeypatch: pytest.MonkeyPatch) -> None:
    real = Gossiper.leave

    def leave(self: Gossiper) -> list[Effect]:
        return [] if self.status is None else real(self)  # (the guard before)
    monkeypatch.setattr(Gossiper, "leave", leave)
    assert _join_then_leave_at_once(_strategy3(2)) is MemberStatus.UP


@pytest.mark.parametrize("seed", (1, 2, 3))
def test_f3_two_strategy3_leaves_at_once_both_complete(seed: int) -> None:
    """F3: n2 and n3 are asked to leave at the same moment: the claimant hands out
    one's partitions, then the other's, and both leave; every key keeps its
    acknowledged value. (Before, each leaving node moved partitions itself, from the
    same view: seeds 1-3 all ended with n2 leaving and n3 up for ever, run on the
    code before the claimant by hand; ``run_until_quiet`` takes a node asked to leave
    out whether or not it left, so the statuses are checked first.)"""
    cluster = _strategy3(seed)
    client = cluster.client("n1")
    for key in KEYS:
        client.put(key, b"v-" + key, w=3)
    cluster.leave("n2")
    cluster.leave("n3")
    cluster.run_until(lambda: all(_status(cluster, "n1", node) is MemberStatus.LEFT
                                  for node in ("n2", "n3")) or cluster.sim.now > 400,
                      max_time=500)
    assert [_status(cluster, "n1", node) for node in ("n2", "n3")] == [MemberStatus.LEFT] * 2
    cluster.run_until_quiet(max_time=900)
    assert merged_ring_ok(cluster)
    for key in KEYS:
        assert cluster.client("n1").get(key, r=3).values == [b"v-" + key]
