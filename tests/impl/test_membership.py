"""Gossip membership (reconcile laws, bytes, ring, token choice, peers) and the
local failure detector; each check is also shown to catch a broken variant."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from impl.errors import BadMessageError, InvalidValueError
from impl.failure_detector import FailureDetector
from impl.membership import (
    _VIEW_BYTES,
    _VIEW_BYTES_LIMIT,
    ROUTED,
    Member,
    Membership,
    MemberStatus,
    force_remove,
    initial_membership,
    join,
    leave,
    left,
    merge_conflict,
    pick_gossip_peer,
)
from spec.ring import (
    RING_SIZE,
    Partitioning,
    Ring,
    Strategy,
    strategy1,
    strategy2,
    strategy3,
)

NAMES = st.sampled_from(["a", "b", "c", "d"])
MEMBERS = st.builds(
    Member, NAMES, st.integers(0, 3), st.sampled_from(list(MemberStatus)),
    st.lists(st.integers(0, RING_SIZE - 1), max_size=3, unique=True).map(tuple),
    settled=st.booleans(),
)
VIEWS = st.lists(MEMBERS, max_size=6).map(Membership.of)

Merge = Callable[[Membership, Membership], Membership]


def real_merge(a: Membership, b: Membership) -> Membership:
    return a.merge(b)


# ---------------------------------------------------------------- reconcile laws


def check_laws(merge: Merge, a: Membership, b: Membership, c: Membership) -> None:
    assert merge(a, b) == merge(b, a), "merge is not commutative"
    assert merge(merge(a, b), c) == merge(a, merge(b, c)), "merge is not associative"
    assert merge(a, a) == a, "merge is not idempotent"
    merged = merge(a, b)
    for member in merged:
        for side in (a, b):
            held = side.get(member.node)
            assert held is None or member.covers(held), "merge lost a newer entry"
    assert set(merged.nodes) == set(a.nodes) | set(b.nodes)


_UNSETTLED = Membership((Member("a", 1, MemberStatus.UP, (1,)),))
_SETTLED = Membership((Member("a", 1, MemberStatus.UP, (1,), settled=True),))


@example(_UNSETTLED, _SETTLED, Membership())  # entries that differ only in settled
@example(_SETTLED, _UNSETTLED, Membership())
@given(VIEWS, VIEWS, VIEWS)
def test_merge_is_a_semilattice(a: Membership, b: Membership, c: Membership) -> None:
    check_laws(real_merge, a, b, c)


@st.composite
def _moved_members(draw: st.DrawFn) -> Member:
    """An entry whose status and tokens registers may carry different versions (a
    claimant's move since the member's last announcement, session 26)."""
    member = draw(MEMBERS)
    older = draw(st.integers(0, member.version))
    if draw(st.booleans()):
        return replace(member, status_version=older)
    return replace(member, tokens_version=older)


MOVED_VIEWS = st.lists(_moved_members(), max_size=6).map(Membership.of)


@given(MOVED_VIEWS, MOVED_VIEWS, MOVED_VIEWS)
def test_merge_of_two_registers_is_a_semilattice_and_round_trips(
        a: Membership, b: Membership, c: Membership) -> None:
    """Session 26: the status and the tokens of an entry are two registers merged each
    by its own order (``Member.join``); the merge stays a semilattice, and a view with
    registers apart survives its bytes."""
    check_laws(real_merge, a, b, c)
    for view in (a, b, a.merge(b)):
        assert Membership.from_bytes(view.to_bytes()) == view


def test_a_move_keeps_the_status_a_member_announced_meanwhile() -> None:
    """The claimant moves n2's tokens from a view where n2 is ``up``; n2 announced
    ``leaving`` meanwhile: every merge keeps ``leaving`` and the moved tokens (session
    25 found the status going back to ``up``: 74 of 200 seeded strategy-3 runs)."""
    view = Membership.of([Member("n1", 1, MemberStatus.UP, (1,)),
                          Member("n2", 1, MemberStatus.UP, (2, 3))])
    moved = view.move("n2", (2,)).move("n1", (1, 3))
    leaving = view.announce("n2", status=MemberStatus.LEAVING)
    for merged in (moved.merge(leaving), leaving.merge(moved)):
        held = merged.get("n2")
        assert held == Member("n2", 3, MemberStatus.LEAVING, (2,), status_version=2,
                              tokens_version=3)
        assert merged.ring() is not None
    assert Membership.from_bytes(moved.merge(leaving).to_bytes()) == moved.merge(leaving)


def keep_mine_on_ties(a: Membership, b: Membership) -> Membership:
    """Mutant: equal versions are not ordered: the left side's entry wins."""
    out = {m.node: m for m in b}
    for m in a:
        held = out.get(m.node)
        if held is None or m.version >= held.version:
            out[m.node] = m
    return Membership(tuple(out.values()))


def highest_version_only_when_newer(a: Membership, b: Membership) -> Membership:
    """Mutant: the other side's entries replace ours (last writer wins, no versions)."""
    out = {m.node: m for m in a}
    out.update({m.node: m for m in b})
    return Membership(tuple(out.values()))


@pytest.mark.parametrize("mutant", [keep_mine_on_ties, highest_version_only_when_newer])
def test_law_check_catches_mutants(mutant: Merge) -> None:
    a = Membership((Member("a", 2, MemberStatus.UP, (1,)), Member("b", 5, MemberStatus.UP)))
    b = Membership((Member("a", 2, MemberStatus.LEAVING, (1,)), Member("b", 1, MemberStatus.UP)))
    with pytest.raises(AssertionError):
        check_laws(mutant, a, b, Membership())


def test_announce_bumps_the_version_and_wins() -> None:
    view = Membership()
    view = view.announce("n1", MemberStatus.JOINING, (5, 9))
    first = view.get("n1")
    assert first == Member("n1", 1, MemberStatus.JOINING, (5, 9))
    up = view.announce("n1", MemberStatus.UP)
    # (a status-only announcement writes the status register only: session 26's review)
    assert up.get("n1") == Member("n1", 2, MemberStatus.UP, (5, 9), tokens_version=1)
    # an older view merged in changes nothing; the newer one wins either way
    assert up.merge(view) == up and view.merge(up) == up
    assert up.with_member(Member("n1", 1, MemberStatus.LEFT)) == up


# ---------------------------------------------------------------- bytes


def check_round_trip(view: Membership, decode: Callable[[bytes], Membership]) -> None:
    data = view.to_bytes()
    assert decode(data) == view
    assert decode(data).to_bytes() == data  # canonical


@given(VIEWS)
def test_bytes_round_trip(view: Membership) -> None:
    check_round_trip(view, Membership.from_bytes)
    assert Membership.from_json(json.loads(view.to_bytes())) == view


def test_a_settled_change_is_announced_carried_and_reset() -> None:
    """``Member.settled`` (pending ownership's settlement): announced with a version
    bump, carried by the bytes, and cleared by the node's next announcement."""
    view = Membership().announce("n1", MemberStatus.UP, (5,))
    settled = view.announce("n1", settled=True)
    assert settled.get("n1") == Member("n1", 2, MemberStatus.UP, (5,), settled=True,
                                       tokens_version=1)
    assert view.merge(settled) == settled
    check_round_trip(settled, Membership.from_bytes)
    assert settled.to_bytes() != view.announce("n1").to_bytes()
    assert settled.announce("n1", MemberStatus.LEAVING).get("n1").settled is False  # type: ignore[union-attr]


def decode_without_versions(data: bytes) -> Membership:
    """Mutant: versions are not carried (every entry comes back at version 1)."""
    view = Membership.from_bytes(data)
    return Membership(tuple(Member(m.node, 1, m.status, m.tokens) for m in view))


def test_round_trip_check_catches_mutant() -> None:
    view = Membership((Member("a", 3, MemberStatus.UP, (1, 2)),))
    with pytest.raises(AssertionError):
        check_round_trip(view, decode_without_versions)


def _doc(members: object, **extra: object) -> bytes:
    return json.dumps({"format": "vdynamo.membership.v1", "members": members, **extra}).encode()


BAD_BYTES = [
    (b"\xff\xfe", "not valid JSON"),
    (b"{", "not valid JSON"),
    (b"[]", "expected a JSON object"),
    (json.dumps({"format": "other", "members": []}).encode(), "unknown format"),
    (_doc([], extra=1), "unexpected fields"),
    (_doc({}), "members must be a list"),
    (_doc([["a", 1, "up"]]), "member 0 must be"),
    (_doc([["a", 1, "dancing", []]]), "unknown status"),
    (_doc([["a", 1, "up", [1]]]), "decimal strings"),
    (_doc([["a", 1, "up", ["-1"]]]), "decimal strings"),
    (_doc([["a", 1, "up", [str(RING_SIZE)]]]), "not a ring position"),
    (_doc([["a", 1, "up", ["1", "1"]]]), "repeat a token"),
    (_doc([["a", -1, "up", []]]), "version"),
    (_doc([["a", True, "up", []]]), "version"),
    (_doc([["a", 1.5, "up", []]]), "version"),
    (_doc([["", 1, "up", []]]), "node must be"),
    (_doc([[7, 1, "up", []]]), "node must be"),
    (_doc([["a", 1, "up", []], ["a", 2, "up", []]]), "appears twice"),
    (_doc([["a", 1, "up", [], False]]), "member 0 must be"),  # settled: true or absent
    (_doc([["a", 1, "up", [], 1]]), "member 0 must be"),
]


@pytest.mark.parametrize(("data", "problem"), BAD_BYTES)
def test_bad_bytes_are_refused_naming_the_problem(data: bytes, problem: str) -> None:
    with pytest.raises(BadMessageError, match=problem):
        Membership.from_bytes(data)
    assert issubclass(BadMessageError, ValueError)


def test_from_bytes_refuses_non_bytes() -> None:
    with pytest.raises(BadMessageError, match="expected bytes"):
        Membership.from_bytes("text")  # type: ignore[arg-type]


def test_persist_in_storage_meta() -> None:
    from impl.storage.memory import MemoryStorage

    store = MemoryStorage()
    view = initial_membership(Ring.evenly_spaced(["n1", "n2", "n3"]))
    store.set_meta("membership", view.to_bytes())
    raw = store.get_meta("membership")
    assert raw is not None and Membership.from_bytes(raw) == view
    assert view.digest() == Membership.from_bytes(raw).digest() != Membership().digest()


# ---------------------------------------------------------------- ring and token choice


def test_ring_from_the_view() -> None:
    ring = Ring.evenly_spaced(["n1", "n2", "n3"])
    view = initial_membership(ring)
    assert view.ring() == ring
    assert view.live_nodes == ("n1", "n2", "n3")
    gone = view.announce("n2", MemberStatus.LEFT, ())
    assert gone.ring() == ring.without_node("n2")
    assert gone.live_nodes == ("n1", "n3")
    assert gone.ring(statuses=[MemberStatus.JOINING]) is None
    clash = view.with_member(Member("x", 1, MemberStatus.UP, ring.tokens_of("n1")))
    with pytest.raises(BadMessageError, match="do not form a ring"):
        clash.ring()


Join = Callable[[Membership, str, Partitioning, random.Random], Membership]


def check_join(do_join: Join, strategy: int) -> None:
    nodes = ["n1", "n2", "n3", "n4"]
    rng = random.Random(7)
    partitioning: Partitioning
    if strategy == 1:
        partitioning = strategy1(nodes, 8, rng)
    elif strategy == 2:
        partitioning = strategy2(nodes, 8, 64, rng)
    else:
        partitioning = strategy3(nodes, 64, rng)
    view = initial_membership(partitioning.ring)
    joined = do_join(view, "n5", partitioning, random.Random(1))
    member = joined.get("n5")
    assert member is not None and member.status is MemberStatus.JOINING and member.tokens
    expected = partitioning.with_node("n5", random.Random(1)).ring
    assert joined.ring() == expected
    if strategy == 3:
        assert len(member.tokens) in (64 // 5, 64 // 5 + 1)
        donors = [m for m in joined if m.node != "n5" and m.version > 1]
        assert donors, "strategy 3 moves partitions: donors' new tokens are announced"
    else:
        assert len(member.tokens) == 8
        assert all(m.version == 1 for m in joined if m.node != "n5")
    # an old member hearing the join by gossip computes the same ring
    assert view.merge(joined).ring() == expected
    up = joined.announce("n5", MemberStatus.UP)
    assert view.merge(up).ring() == expected


@pytest.mark.parametrize("strategy", [1, 2, 3])
def test_join_takes_tokens_by_the_strategy_and_gossip_spreads_them(strategy: int) -> None:
    check_join(join, strategy)
    partitioning = strategy1(["n1", "n2"], 2, random.Random(0))
    joined = join(initial_membership(partitioning.ring), "n3", partitioning, random.Random(1))
    with pytest.raises(ValueError, match="already a member"):
        join(joined.announce("n3", MemberStatus.UP), "n3", partitioning, random.Random(1))


def join_without_donors(view: Membership, node: str, partitioning: Partitioning,
                        rng: random.Random) -> Membership:
    """Mutant: only the joining node's own entry is announced."""
    target = partitioning.with_node(node, rng).ring
    return view.announce(node, MemberStatus.JOINING, target.tokens_of(node))


def join_with_fixed_tokens(view: Membership, node: str, partitioning: Partitioning,
                           rng: random.Random) -> Membership:
    """Mutant: the strategy is ignored; the node takes one token half way round."""
    return view.announce(node, MemberStatus.JOINING, (RING_SIZE // 2 + 1,))


@pytest.mark.parametrize(("mutant", "strategy"), [
    (join_without_donors, 3), (join_with_fixed_tokens, 1),
])
def test_join_check_catches_mutants(mutant: Join, strategy: int) -> None:
    with pytest.raises((AssertionError, BadMessageError)):
        check_join(mutant, strategy)


@pytest.mark.parametrize("strategy", [1, 3])
def test_leave_then_left(strategy: int) -> None:
    nodes = ["n1", "n2", "n3", "n4"]
    partitioning = (strategy1(nodes, 4, random.Random(3)) if strategy == 1
                    else strategy3(nodes, 32, random.Random(3)))
    view = initial_membership(partitioning.ring)
    leaving = leave(view, "n2")
    assert leaving.get("n2") == Member("n2", 2, MemberStatus.LEAVING,
                                       partitioning.ring.tokens_of("n2"), tokens_version=1)
    assert leaving.ring() == partitioning.ring  # still serving while it hands over
    gone = left(leaving, "n2", partitioning, random.Random(5))
    assert gone.get("n2") == Member("n2", 3, MemberStatus.LEFT, ())
    target = partitioning.without_node("n2", random.Random(5)).ring
    assert gone.ring() == target
    assert sum(len(m.tokens) for m in gone) == len(target)
    assert view.merge(gone).ring() == target
    with pytest.raises(ValueError, match="not a live member"):
        leave(gone, "n2")
    with pytest.raises(ValueError, match="not a live member"):
        left(gone, "n2", partitioning, random.Random(5))


@pytest.mark.parametrize("strategy", [1, 2])
def test_a_left_announces_no_removing_members_entry(strategy: int) -> None:
    """Strategies 1 and 2 move no other member's tokens at a leave: n2's ``left``,
    announced while n4 is being force-removed, leaves n4's entry as it is, so that
    the claimant's ``removed`` of n4 (one version up) is not outranked. Before (session
    21) n2's ``left`` announced n4's unchanged ``removing`` entry two versions up
    (its tokens were compared with the routed members' only), and the removal never
    settled (tests/impl/test_join_during_removal.py, a leave crossing a removal)."""
    nodes = ["n1", "n2", "n3", "n4", "n5"]
    partitioning = (strategy1(nodes, 4, random.Random(3)) if strategy == 1
                    else strategy2(nodes, 4, 32, random.Random(3)))
    view = force_remove(leave(initial_membership(partitioning.ring), "n2"), "n4", 3)
    removing = view.get("n4")
    gone = left(view, "n2", partitioning, random.Random(5))
    assert gone.get("n4") == removing
    handed = view.announce("n4", status=MemberStatus.REMOVED, tokens=())
    assert handed.merge(gone).get("n4") == handed.get("n4")


def test_evenly_spaced_join() -> None:
    ring = Ring.evenly_spaced(["n1", "n2", "n3"])
    view = initial_membership(ring)
    joined = join(view, "n4", Partitioning(Strategy.RANDOM_TOKENS, ring, 1), random.Random(0))
    result = joined.ring()
    assert result is not None and result.nodes == ("n1", "n2", "n3", "n4")


# ---------------------------------------------------------------- gossip peers


Picker = Callable[..., "str | None"]


def check_peer_choice(pick: Picker) -> None:
    view = initial_membership(Ring.evenly_spaced(["n1", "n2", "n3", "n4"]))
    view = view.announce("n4", MemberStatus.LEFT, ())
    picks = Counter(pick(view, "n1", random.Random(i)) for i in range(300))
    assert set(picks) == {"n2", "n3"}, "only live members other than me"
    assert min(picks.values()) > 100
    # the same seed gives the same choices
    rng1, rng2 = random.Random(42), random.Random(42)
    assert [pick(view, "n1", rng1) for _ in range(20)] == [
        pick(view, "n1", rng2) for _ in range(20)]
    # a joining node that knows nobody gossips with a seed
    assert pick(Membership(), "new", random.Random(0), seeds=("n1",)) == "n1"
    assert pick(Membership(), "n1", random.Random(0), seeds=("n1",)) is None
    seeded = Counter(pick(view, "n1", random.Random(i), seeds=("s1",)) for i in range(300))
    assert set(seeded) == {"n2", "n3", "s1"}


def test_pick_gossip_peer() -> None:
    check_peer_choice(pick_gossip_peer)


def picks_myself_too(view: Membership, me: str, rng: random.Random,
                     seeds: Sequence[str] = ()) -> str | None:
    """Mutant: I am a candidate."""
    candidates = sorted({*view.live_nodes, *seeds})
    return candidates[rng.randrange(len(candidates))] if candidates else None


def picks_departed(view: Membership, me: str, rng: random.Random,
                   seeds: Sequence[str] = ()) -> str | None:
    """Mutant: nodes that left are still gossiped with."""
    candidates = sorted({*view.nodes, *seeds} - {me})
    return candidates[rng.randrange(len(candidates))] if candidates else None


def ignores_seeds(view: Membership, me: str, rng: random.Random,
                  seeds: Sequence[str] = ()) -> str | None:
    """Mutant: seeds are never contacted."""
    return pick_gossip_peer(view, me, rng)


def unseeded(view: Membership, me: str, rng: random.Random,
             seeds: Sequence[str] = ()) -> str | None:
    """Mutant: the choice ignores the generator it was handed."""
    return pick_gossip_peer(view, me, random.Random(), seeds)


@pytest.mark.parametrize("mutant", [picks_myself_too, picks_departed, ignores_seeds, unseeded])
def test_peer_check_catches_mutants(mutant: Picker) -> None:
    with pytest.raises(AssertionError):
        check_peer_choice(mutant)


def test_member_validation() -> None:
    for args, problem in [
        (("", 1, MemberStatus.UP), "node must be"),
        (("a", -1, MemberStatus.UP), "version"),
        (("a", 1, "up"), "status"),
        (("a", 1, MemberStatus.UP, "12"), "tokens"),
        (("a", 1, MemberStatus.UP, (RING_SIZE,)), "ring position"),
        (("a", 1, MemberStatus.UP, (True,)), "ring position"),
    ]:
        with pytest.raises(BadMessageError, match=problem):
            Member(*args)  # type: ignore[arg-type]
    assert Member("a", 1, MemberStatus.UP, (9, 3)).tokens == (3, 9)
    with pytest.raises(BadMessageError, match="merge a Membership"):
        Membership().merge("x")  # type: ignore[arg-type]
    assert {MemberStatus.JOINING, MemberStatus.UP, MemberStatus.LEAVING} == ROUTED


# ---------------------------------------------------------------- failure detector


def check_timeouts(make: Callable[[], FailureDetector]) -> None:
    fd = make()
    assert fd.is_available("b", 0.0)  # never heard of: try it
    fd.timed_out("b", 10.0)
    assert not fd.is_available("b", 10.5)
    assert fd.is_available("b", 11.0)  # retry after 1 s: one request probes it
    fd.timed_out("b", 11.0)
    assert not fd.is_available("b", 12.5)  # second timeout in a row: wait doubles
    assert fd.is_available("b", 13.0)
    fd.timed_out("b", 13.0)
    fd.heard_from("b", 13.2)  # it answered after all
    assert fd.is_available("b", 13.3)
    fd.timed_out("b", 20.0)
    assert fd.is_available("b", 21.0)  # the backoff restarted after the answer
    for i in range(40):
        fd.timed_out("c", 100.0 + i)
    assert fd.is_available("c", 139.0 + 30.0)  # bounded by max_retry_after


def check_phi(make: Callable[[], FailureDetector]) -> None:
    fd = make()
    for t in range(10):
        fd.heard_from("b", float(t))  # a heartbeat every second, like clockwork
    assert fd.phi("b", 9.5) < 1.0
    assert fd.is_available("b", 9.9)
    assert fd.phi("b", 12.0) > fd.phi("b", 10.5) > fd.phi("b", 9.5)
    assert fd.phi("b", 30.0) == math.inf or fd.phi("b", 30.0) > 8.0
    assert not fd.is_available("b", 30.0)
    fd.heard_from("b", 30.0)
    assert fd.is_available("b", 30.1)
    # an irregular peer is given more slack than a regular one at the same silence
    # (same mean interval, 1 s; c alternates 0.2 s and 1.8 s)
    fd2 = make()
    for arrival in (0.0, 0.2, 2.0, 2.2, 4.0, 4.2, 6.0, 6.2, 8.0):
        fd2.heard_from("c", arrival)
    for second in range(100, 109):
        fd2.heard_from("b", float(second))
    assert fd2.phi("c", 8.0 + 2.0) < 2.0 < 8.0 < fd2.phi("b", 108.0 + 2.0)


def test_failure_detector_timeouts() -> None:
    check_timeouts(lambda: FailureDetector(retry_after=1.0, max_retry_after=30.0))


def test_failure_detector_phi() -> None:
    check_phi(lambda: FailureDetector(phi_threshold=8.0, min_samples=3))


def test_phi_warm_up_and_disabled() -> None:
    fd = FailureDetector(min_samples=3)
    fd.heard_from("b", 0.0)
    fd.heard_from("b", 1.0)
    assert fd.phi("b", 1000.0) == 0.0  # one interval: no evidence yet
    assert fd.is_available("b", 1000.0)
    off = FailureDetector(phi_threshold=None)
    for t in range(10):
        off.heard_from("b", float(t))
    assert off.is_available("b", 1e6)
    assert off.available(["b", "c"], 1e6) == ["b", "c"]
    off.timed_out("c", 0.0)
    assert off.available(["b", "c"], 0.5) == ["b"]
    off.forget("c")
    assert off.record("c") is None and off.is_available("c", 0.5)
    # time going backwards (the node's clock stepped back) is not a sample; since
    # session 23's review the kept arrival moves back with the step (5.0 - 1.0 + ...:
    # the step is -1 s, so 5.0 becomes 4.0, then 4.0 is heard: impl/failure_detector.py
    # ``_stepped``)
    fd.heard_from("x", 5.0)
    fd.heard_from("x", 4.0)
    record = fd.record("x")
    assert record is not None and record.last_heard == 4.0 and not record.intervals


def test_failure_detector_bad_arguments() -> None:
    for kwargs, problem in [
        ({"retry_after": 0}, "retry_after"),
        ({"retry_after": math.nan}, "retry_after"),
        ({"max_retry_after": 0.5}, "max_retry_after"),
        ({"phi_threshold": -1}, "phi_threshold"),
        ({"window": 1}, "window"),
        ({"min_samples": 0}, "min_samples"),
        ({"min_std": 0}, "min_std"),
    ]:
        with pytest.raises(ValueError, match=problem):
            FailureDetector(**kwargs)  # type: ignore[arg-type]
    fd = FailureDetector()
    with pytest.raises(ValueError, match="node must be"):
        fd.heard_from("", 1.0)
    with pytest.raises(ValueError, match="now must be"):
        fd.timed_out("b", math.inf)


class NeverForgives(FailureDetector):
    """Mutant: a timed-out peer stays suspected until it is heard from."""

    def is_suspected(self, node: str, now: float) -> bool:
        record = self.record(node)
        return record is not None and record.suspected_until is not None


class NoBackoff(FailureDetector):
    """Mutant: every timeout waits the same retry_after."""

    def timed_out(self, node: str, now: float) -> None:
        super().timed_out(node, now)
        record = self.record(node)
        assert record is not None
        record.suspected_until = now + self.retry_after


class FixedVariance(FailureDetector):
    """Mutant: phi ignores how irregular the peer is (sigma fixed at min_std)."""

    def phi(self, node: str, now: float) -> float:
        record = self.record(node)
        if record is None or record.last_heard is None or len(record.intervals) < 3:
            return 0.0
        mean = sum(record.intervals) / len(record.intervals)
        later = 0.5 * math.erfc((now - record.last_heard - mean) / (0.1 * math.sqrt(2.0)))
        return math.inf if later <= 0 else max(0.0, -math.log10(later))


class MemorylessPhi(FailureDetector):
    """Mutant: phi is never computed (always 0), so silence never makes a peer unavailable."""

    def phi(self, node: str, now: float) -> float:
        return 0.0


@pytest.mark.parametrize(("mutant", "check"), [
    (NeverForgives, check_timeouts),
    (NoBackoff, check_timeouts),
    (FixedVariance, check_phi),
    (MemorylessPhi, check_phi),
], ids=lambda x: getattr(x, "__name__", str(x)))
def test_failure_detector_checks_catch_mutants(
    mutant: type[FailureDetector], check: Callable[[Callable[[], FailureDetector]], None],
) -> None:
    with pytest.raises(AssertionError):
        check(mutant)


# ------------------------------------------------- merge_conflict (issue 12, F3)

_SMALL_MEMBERS = st.builds(
    Member, st.sampled_from(["n1", "n2", "n3", "n4"]), st.integers(0, 3),
    st.sampled_from(list(MemberStatus)),
    st.lists(st.integers(1, 6), max_size=2, unique=True).map(tuple))
_SMALL_VIEWS = st.lists(_SMALL_MEMBERS, max_size=4).map(Membership.of)


def _ring_fails(view: Membership) -> bool:
    try:
        view.ring()
    except BadMessageError:
        return True
    return False


@given(_SMALL_VIEWS, _SMALL_VIEWS)
@example(  # equal versions: the status decides which entry wins (the merge's precedence)
    Membership.of([Member("n1", 1, MemberStatus.JOINING, (5,)),
                   Member("n2", 1, MemberStatus.UP, (1,))]),
    Membership.of([Member("n1", 1, MemberStatus.UP, (1,))]))
@example(  # a member that left holds no ring token
    Membership.of([Member("n1", 1, MemberStatus.UP, (1,))]),
    Membership.of([Member("n2", 1, MemberStatus.LEFT, (1,))]))
def test_merge_conflict_agrees_with_the_merged_ring(mine: Membership,
                                                    theirs: Membership) -> None:
    """merge_conflict, computed from the two views without Membership.merge, raises
    exactly when the merged view is no ring; it blames this node's own view
    (InvalidValueError) exactly when the conflict is between two of its entries,
    which happens only if its own view is no ring."""
    try:
        merge_conflict(mine, theirs)
    except BadMessageError:
        assert _ring_fails(mine.merge(theirs))
    except InvalidValueError:
        assert _ring_fails(mine.merge(theirs)) and _ring_fails(mine)
    else:
        assert not _ring_fails(mine.merge(theirs))
    if not _ring_fails(mine) and _ring_fails(mine.merge(theirs)):
        with pytest.raises(BadMessageError):  # our own view is a ring: the peer's
            merge_conflict(mine, theirs)


def test_view_bytes_kept_per_live_view_and_bounded() -> None:
    """Session 41: :meth:`Membership.to_bytes` keeps a view's bytes by its ``id`` with
    the view itself held. Views made and dropped one after another (CPython gives a
    freed view's id to the next) each serialize to their own bytes, again on a
    second call, and the kept entries stay within their bound. Mutants killed: the
    entry without its view (a later view read an earlier one's bytes); no oldest
    entry dropped (the bound)."""
    for i in range(_VIEW_BYTES_LIMIT + 64):
        view = Membership((Member(f"n{i}", 1, MemberStatus.UP, (i,)),))
        fresh = json.dumps(view.to_json(), separators=(",", ":"), sort_keys=True).encode()
        assert view.to_bytes() == fresh
        assert view.to_bytes() == fresh
        del view
    assert len(_VIEW_BYTES) <= _VIEW_BYTES_LIMIT


def test_view_bytes_over_their_bound_are_brought_back_to_it() -> None:
    """The views' kept bytes share the checks' kept tuples' cache helper
    (:func:`impl.held.keep`, session 42): entries left over the bound by drops
    another thread lost are brought back to it at the next view serialized. Mutant
    killed: ``keep`` dropping one entry per call (``if`` for ``while``)."""
    views = [Membership((Member(f"n{i}", 1, MemberStatus.UP, (i,)),))
             for i in range(_VIEW_BYTES_LIMIT + 10)]
    for view in views:  # (as if 10 drops had been lost)
        _VIEW_BYTES[id(view)] = (view, b"")
    fresh = Membership((Member("n1", 2, MemberStatus.UP, (7,)),))
    assert fresh.to_bytes() == fresh.to_bytes() != b""
    assert len(_VIEW_BYTES) == _VIEW_BYTES_LIMIT
