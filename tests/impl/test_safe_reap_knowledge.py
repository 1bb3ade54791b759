"""Safe reaping by knowledge, not by time (issue 11; review bugs 1, 2 and 4).

The first three tests are the review's (tests/impl/test_review_issue11.py, helper
rev, session 5), each failing on the code before the fix. Bugs 1 and 4 asserted
midway that the replicas had reaped (the bug itself); here they assert the
opposite there: the tombstone stays while a member holds something of the key
(the spec's reap guards 2 and 3, spec/deletes.py). The rest pin the query
protocol (impl/reaping.py) and kill its seeded mutants. Pending ownership on
knowledge (session 5) took bugs 2 and 4's own scenarios past the checks of a node
that left (``left-node-acks-hints``) and of a member's view
(``member-ignores-view``): each has its own scenario under the current rules
here (a fallback that has not heard the intended node left, delivering to its
lingering process; a coordinator's write to a pending owner before every member
knows the join), which kills the mutant.
"""

from __future__ import annotations

from typing import Any

import pytest

from impl import DynamoError, SimulatedCluster, reaping
from impl.gossip import Gossiper
from impl.membership import MemberStatus
from impl.node import Node
from impl.versions import TOMBSTONE, Record, is_tombstone_only, values


def _cluster(**options: Any) -> SimulatedCluster:
    options.setdefault("seed", 3)
    return SimulatedCluster(nodes=5, n=3, r=2, w=2, **options)


def _hinted_then_deleted(cluster: SimulatedCluster, *, from_intended_only: bool = False
                         ) -> tuple[bytes, tuple[str, ...]]:
    """Review bug 1's setting: a put of v is acknowledged while its replica ``a`` is
    down, so a fallback ``d`` keeps a hint of v for ``a``; ``d`` is cut off from
    the others (``from_intended_only``: from ``a`` alone); ``a`` comes back and the
    delete is acknowledged by all N replicas. Returns the key and its preference
    list."""
    key = b"k"
    preference = cluster.node("n1").preference_list(key)
    a, b, _, d = preference[:4]
    client = cluster.client()
    cluster.crash(a)
    client.put(key, b"v", coordinator=b)
    cluster.run_for(2.0)
    assert [hint.intended for hint in cluster.node(d).hints.all()] == [a]
    cluster.partition({d}, {a} if from_intended_only else set(preference) - {d})
    cluster.restart(a)
    cluster.run_for(2.0)
    read = client.get(key, coordinator=b)
    assert read.values == [b"v"]
    client.delete(key, context=read.context, coordinator=b, w=3)  # all N acknowledged
    return key, preference


def test_safe_reaping_keeps_the_tombstone_while_a_fallback_holds_a_hint_of_the_value(
        ) -> None:
    """Review bug 1: the grace period (3 s) passes while ``d`` still holds its hint
    of v: the targets keep the tombstone (``d`` cannot answer the reap's query);
    once ``d`` is reachable its hint meets the tombstone and the value stays
    deleted. Before the fix the replicas reaped and v came back on every replica
    (the get answered [b"v"])."""
    cluster = _cluster(delete_mode="safe")
    key, preference = _hinted_then_deleted(cluster)
    cluster.run_for(10.0)  # > tombstone_grace_s (3.0)
    kept = {name: record for name, record in cluster.replicas(key).items()
            if record is not None}
    assert set(kept) >= set(preference[:3])  # the targets keep the tombstone
    assert all(values(record) == [TOMBSTONE] for record in kept.values())
    cluster.heal()
    cluster.run_until_quiet()
    client = cluster.client()
    assert client.get(key, r=3).values == []  # was [b"v"]: the deleted value back


def test_once_the_hint_is_delivered_the_tombstone_is_reaped_everywhere() -> None:
    """After the heal the fallback's hint reaches its intended node (the tombstone
    wins there) and the next reap round finds every member clean: the tombstone
    goes from every store, and the value stays deleted."""
    cluster = _cluster(delete_mode="safe")
    key, _ = _hinted_then_deleted(cluster)
    cluster.run_for(10.0)
    cluster.heal()
    cluster.run_for(60.0)  # hint scans, later reap rounds
    assert all(not cluster.node(name).hints.all() for name in cluster.sim.members)
    assert all(record is None for record in cluster.replicas(key).values())
    assert cluster.client().get(key, r=3).values == []


def test_a_hint_for_a_node_that_left_reaches_the_keys_new_owner() -> None:
    """Review bug 2 (verbatim): node n2 is down while 40 keys are written
    (fallbacks keep hints for it); it comes back cut off from the others, leaves
    (it holds nothing, so it announces ``left`` at once) and the cut heals. The
    fallbacks, not yet knowing n2 left, deliver their hints to n2, which must not
    acknowledge them: once they hear it left they re-address the hints to each
    key's current top N (anti-entropy and read repair are off to show the handoff
    alone). Before the fix (the mutant ``left-node-acks-hints``) 14 (key, new
    owner) pairs lacked the version. (With pending ownership on knowledge n2
    announces ``left`` only once every member saw the leave, and it cannot learn
    that while cut off from the fallbacks: the mutant passes here now, and the next
    scenario kills it.)"""
    cluster, keys, holders = _n2_down_while_written(seed=3)
    cluster.partition({"n2"}, holders)
    cluster.restart("n2")
    cluster.leave("n2")
    cluster.run_for(60.0)
    cluster.heal()
    cluster.run_until_quiet()
    assert _lacking(cluster, keys) == []


def _n2_down_while_written(seed: int) -> tuple[SimulatedCluster, list[bytes], set[str]]:
    """Six nodes (anti-entropy and read repair off); n2 is down while 40 keys are
    written. Returns the cluster, the keys and the fallbacks holding hints for n2."""
    cluster = SimulatedCluster(nodes=6, n=3, r=2, w=2, seed=seed, anti_entropy=False,
                               read_repair=False)
    client = cluster.client()
    keys = [b"k%d" % i for i in range(40)]
    cluster.crash("n2")
    for key in keys:
        client.put(key, b"x")
    cluster.run_for(1.0)
    holders = {name for name in cluster.sim.members if not cluster.sim.is_down(name)
               and any(hint.intended == "n2" for hint in cluster.node(name).hints.all())}
    assert holders
    return cluster, keys, holders


def _lacking(cluster: SimulatedCluster, keys: list[bytes]) -> list[tuple[bytes, str]]:
    """Once n2 is gone: the (key, top-N node) pairs whose node lacks the key."""
    assert "n2" not in cluster.sim.members
    return [(key, name) for key in keys for name in cluster.node("n1").preference_list(key)[:3]
            if cluster.node(name).record(key) is None]


def _left_while_a_fallback_has_not_heard(seed: int, f: str | None = None
                                         ) -> tuple[list[tuple[bytes, str]], int]:
    """As review bug 2, with pending ownership reaching the left-node check: n2 is
    down while 40 keys are written (fallbacks keep hints for it); it comes back cut
    off from one fallback ``f`` only, and leaves (the others relay the gossip, so
    every member sees the leave and n2 announces ``left``); at that event ``f``
    stops hearing gossip (it still believes n2 leaving) and the cut heals, for
    30 s: ``f``'s hint scans deliver its hints to n2, whose process lingers. Then
    ``f`` hears that n2 left and the cluster runs until quiet (anti-entropy and
    read repair off: only the handoff moves data). Returns the (key, top-N node)
    pairs lacking the key, and the hint deliveries n2 refused."""
    cluster, keys, holders = _n2_down_while_written(seed)
    # a fallback that is none of n2's new owners: strategy 3 hands n2's partitions
    # out when it announces its leave, and n2 cannot leave while cut off from one
    # (before, they went out only at ``left``: f = min(holders))
    f = f or {3: "n3", 7: "n4", 12: "n3"}[seed]  # (the claimant's hand-out: n6 before it)
    assert f in holders
    cluster.partition({"n2"}, {f})
    cluster.restart("n2")
    cluster.leave("n2")
    cluster.run_until(lambda: cluster.node("n2").status is MemberStatus.LEFT, max_time=300)
    gossiper = cluster.node(f).gossiper
    member = gossiper.view.get("n2")
    assert member is not None and member.status is MemberStatus.LEAVING
    gossiper.on_gossip = lambda src, message: []  # type: ignore[method-assign]
    cluster.heal()
    cluster.run_for(30.0)
    assert any(hint.intended == "n2" for hint in cluster.node(f).hints.all()) == (
        cluster.node("n2").stats["hint-refused-left"] > 0)
    refused = cluster.node("n2").stats["hint-refused-left"]
    del gossiper.on_gossip
    cluster.run_until_quiet()
    return _lacking(cluster, keys), refused


@pytest.mark.parametrize("mutant", [None, "left-node-acks-hints"])
def test_a_node_that_left_refuses_a_hint_from_a_fallback_that_has_not_heard(
        mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """n2 left while the fallback ``f`` still believes it leaving: n2 refuses ``f``'s
    hints (no ``HintAck``), ``f`` keeps them and, once it hears n2 left,
    re-addresses them to each key's current top N. The mutant (a node that left
    acknowledges a hint) makes ``f`` delete its hints: two (key, new owner) pairs
    lacked the version while strategy 3 handed n2's partitions out only at ``left``
    (n2's transfer to that ring then waited, and n2 kept the hints it took); since
    they go out at the leave n2 hands them on and nothing is lost, so the mutant is
    seen only as n2 taking the hints (no refusal). (Pending ownership made review
    bug 2's own scenario, above, announce ``left`` only after the fallbacks heard
    the leave, and it no longer reaches this check.)"""
    if mutant:
        monkeypatch.setattr(Node, "_refuse_if_left", lambda self, handler: handler)
    lacking, refused = _left_while_a_fallback_has_not_heard(seed=3)
    assert lacking == []
    assert (refused > 0) == (not mutant)


def test_a_leaving_node_hands_on_a_hint_delivered_after_its_transfer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """In the same scenario (seed 12) other fallbacks deliver their hints to n2 while
    it leaves, after its range transfer: n2 hands them on to the keys' new owners
    (``Gossiper.hand_on``), one of which is the fallback that just deleted its
    hint. Before (``hand_on`` a no-op, as the mutant here), n2 took them and left
    with them: (key, new owner) pairs lacked the version (seed 6 showed six
    before the claimant; its hand-out differs now, and seeds 1-8 reached the
    mutant with seed 7 only; since session 16's shadow round, n2's restart waits
    for its peers, and seeds 1-12 reach it with 9, 11 and 12, four pairs with 12)."""
    assert _left_while_a_fallback_has_not_heard(seed=12)[0] == []
    monkeypatch.setattr(Gossiper, "hand_on", lambda self, key: None)
    assert _left_while_a_fallback_has_not_heard(seed=12)[0] != []


_clean = reaping.Reaper._clean


def test_a_delete_through_a_node_with_a_stale_view_stays_deleted_after_a_join() -> None:
    """Review bug 4: n6 joins; n5 has not heard of it yet (its gossip is held
    back). Before the fix the range of ``k`` (old top N n5, n1, n2; new n5, n1, n6)
    was transferred to n6 at once, a delete through n5 was reaped at n5, n1, n2
    after the grace period and the get answered [b"v-key-3"]. Now the transfer
    waits until every member has seen the join (pending ownership on knowledge),
    and n5's reap asks every member it knows; n1 and the others know of n6 (their
    views differ from n5's), so the tombstone stays; once n5 catches up the value
    stays deleted. (The seeded mutant ``member-ignores-view`` killed this test
    before the transfer waited for knowledge; with it, this scenario no longer
    reaches the view check: no member holds anything n5 does not ask about. The
    next test reaches it: a coordinator-side write to the pending owner.)"""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=11, tombstone_grace_s=2.0)
    client = cluster.client("n1")
    keys = [b"key-%d" % i for i in range(40)]
    for key in keys:
        client.put(key, b"v-" + key, w=3)
    cluster.run_until_quiet()
    gossiper = cluster.node("n5").gossiper
    gossiper.on_gossip = lambda src, message: []  # type: ignore[method-assign]
    cluster.join("n6")
    cluster.run_for(30.0)
    key = b"key-3"
    assert cluster.node("n5").preference_list(key)[:3] == ("n5", "n1", "n2")
    assert set(cluster.node("n1").gossiper.future.preference_list(key, 3)) == {"n5", "n1",
                                                                               "n6"}
    # n5 has not seen the join, so the range is not transferred yet (pending
    # ownership waits for every member: impl/gossip.py), the root of bug 4's fix
    assert cluster.node("n6").record(key) is None
    stale = cluster.client("n5")
    read = stale.get(key, coordinator="n5")
    stale.delete(key, context=read.context, coordinator="n5", w=3)
    cluster.run_for(10.0)
    for name in ("n5", "n1"):
        record = cluster.node(name).record(key)
        assert record is not None and values(record) == [TOMBSTONE]  # kept
    del gossiper.on_gossip
    cluster.run_until_quiet()
    assert cluster.client("n1").get(key, r=3).values == []


def _ignores_view(self: reaping.Reaper, key: bytes, view: bytes) -> bool:
    """The mutant ``member-ignores-view``: a member answers clean whatever its view."""
    if self.busy(key):
        return False
    stored = self.replica.storage.read(key)
    return stored is None or is_tombstone_only(self.replica.parse(stored))


@pytest.mark.parametrize("mutant", [None, "member-ignores-view"])
def test_a_write_to_a_pending_owner_the_asker_has_not_heard_of_keeps_the_tombstone(
        mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """n6 joins (the spec's ring layout: its slot between n5 and n1, so ``key-3``
    moves from n4, n5, n1 to n4, n5, n6); n5 has not heard of it (its gossip is held
    back). n1, which knows the join, coordinates a put of v2: pending ownership
    writes it to the old and the new top N, so n6 holds v2 although no transfer
    started (n5 has not seen the join). n5 then reads v2 and deletes it (all N old
    targets acknowledge); its reap asks the members it knows, n1 to n4: n1 and n4
    know n6, their views differ from n5's, and they answer not clean, so the
    tombstone stays and the transfer carries it to n6, which holds the only copy of
    v2 n5 never asked about. The mutant answers clean: n4, n5, n1 reap, and once
    the join completes n6 serves v2 again (a resurrection)."""
    if mutant:
        monkeypatch.setattr(reaping.Reaper, "_clean", _ignores_view)
    cluster = SimulatedCluster(nodes=["n1", "n2", "n3", "n4", "n5"], n=3, r=2, w=2, seed=11,
                               tombstone_grace_s=2.0, partitioning="evenly-spaced",
                               ring_slots=("n1", "n2", "n3", "n4", "n5", "n6"))
    key = b"key-3"
    client = cluster.client("n1")
    client.put(key, b"v1", w=3)
    cluster.run_until_quiet()
    gossiper = cluster.node("n5").gossiper
    gossiper.on_gossip = lambda src, message: []  # type: ignore[method-assign]
    cluster.join("n6")
    cluster.run_for(10.0)
    assert cluster.node("n5").preference_list(key)[:3] == ("n4", "n5", "n1")
    assert cluster.node("n1").gossiper.future.preference_list(key, 3) == ("n4", "n5", "n6")
    read = client.get(key, coordinator="n1")
    client.put(key, b"v2", context=read.context, coordinator="n1")
    cluster.run_for(1.0)
    pending = cluster.node("n6").record(key)
    assert pending is not None and values(pending) == [b"v2"]  # the pending owner's copy
    stale = cluster.client("n5")
    read = stale.get(key, coordinator="n5")
    stale.delete(key, context=read.context, coordinator="n5", w=3)
    cluster.run_for(10.0)  # > tombstone_grace_s: n5's reap rounds asked n1..n4
    kept = [name for name in ("n4", "n5", "n1") if cluster.node(name).record(key) is not None]
    assert kept == ([] if mutant else ["n4", "n5", "n1"])
    del gossiper.on_gossip
    cluster.run_until_quiet()
    assert cluster.client("n1").get(key, r=3).values == ([b"v2"] if mutant else [])


def _ignores_hints(self: reaping.Reaper, key: bytes) -> list[int]:
    """The mutant ``member-ignores-hints``: a member answers as if it held no hint."""
    return []


@pytest.mark.parametrize("mutant", [None, "member-ignores-hints"])
def test_a_reachable_fallback_holding_a_hint_keeps_the_tombstone(
        mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """As review bug 1, but the fallback ``d`` is cut off from the hint's intended
    node ``a`` only: it answers the reap's query (not clean: it holds a hint of
    v), and its attempt to deliver the hint at once fails. The tombstone stays
    until the cut heals; then the hint meets it at ``a`` and v stays deleted. The
    mutant answers clean: the replicas reap and v comes back."""
    if mutant:
        monkeypatch.setattr(reaping.Reaper, "_hints_of", _ignores_hints)
    cluster = _cluster(delete_mode="safe")
    key, preference = _hinted_then_deleted(cluster, from_intended_only=True)
    cluster.run_for(10.0)  # > tombstone_grace_s: reap rounds asked d
    kept = [name for name in preference[:3] if cluster.node(name).record(key) is not None]
    assert kept == ([] if mutant else list(preference[:3]))
    cluster.heal()
    cluster.run_until_quiet()
    assert cluster.client().get(key, r=3).values == ([b"v"] if mutant else [])


def _ignores_store(self: reaping.Reaper, key: bytes, view: bytes) -> bool:
    """The mutant ``member-ignores-store``: a member's live versions do not count."""
    return not self.busy(key) and self.members()[1] == view


def _keeps_dominated(self: reaping.Reaper, key: bytes, tombstone: Record,
                     view: bytes) -> None:
    """The mutant ``keeps-dominated`` (the code before the fix): a copy the asker's
    tombstone dominates stays, and refuses every reap round (the storage leak)."""


def _drops_undominated(self: reaping.Reaper, key: bytes, tombstone: Record,
                       view: bytes) -> None:
    """The mutant ``drops-undominated``: a node that is not a replica of the key lets
    its copy go whatever the copy holds."""
    if not self.replicates(key) and self.replica.storage.read(key) is not None:
        self.let_go(key)


def _read_repaired_fallback(cluster: SimulatedCluster) -> tuple[bytes, tuple[str, ...]]:
    """Replica ``t`` is down through a get with r = N: the fallback ``d`` answers for
    it and read repair writes v into ``d``'s store (no replica of the key: nothing
    hands it off or reaps it). ``t`` comes back."""
    key = b"k"
    preference = cluster.node("n1").preference_list(key)
    a, _, t, d = preference[:4]
    client = cluster.client()
    client.put(key, b"v", coordinator=a, w=3)
    cluster.run_until_quiet()
    cluster.crash(t)
    assert client.get(key, coordinator=a, r=3).values == [b"v"]
    cluster.run_for(2.0)
    stored = cluster.node(d).record(key)
    assert stored is not None and values(stored) == [b"v"]
    cluster.restart(t)
    cluster.run_for(2.0)
    return key, preference


@pytest.mark.parametrize("mutant", [None, "keeps-dominated"])
def test_a_covered_version_in_a_fallbacks_store_goes_and_the_tombstone_is_reaped(
        mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback ``d`` holds v by read repair; the delete (its context covers v)
    is acknowledged by all N and the grace period passes. ``d``'s copy is dominated
    by the asker's tombstone: asked, ``d`` (no replica of the key) lets it go and
    answers clean, and every replica reaps; nothing comes back. (Before the fix, and
    with the mutant, ``d``'s stale copy refused every round: the tombstone was never
    reaped; the spec's reap guard 3 holds once the covered copy is gone.)"""
    if mutant:
        monkeypatch.setattr(reaping.Reaper, "_settle_dominated", _keeps_dominated)
    # (read repair of fallbacks on: the implementation's rule before session 27,
    # riak_kv's default; by default d would hold nothing to let go)
    cluster = _cluster(hinted_handoff=False, anti_entropy=False, tombstone_grace_s=1.0,
                       read_repair_fallbacks=True)
    key, preference = _read_repaired_fallback(cluster)
    client = cluster.client()
    read = client.get(key, coordinator=preference[0])
    client.delete(key, context=read.context, coordinator=preference[0], w=3)
    cluster.run_for(10.0)
    kept = [name for name in preference[:3] if cluster.node(name).record(key) is not None]
    assert kept == (list(preference[:3]) if mutant else [])
    assert (cluster.node(preference[3]).record(key) is None) is not bool(mutant)
    assert client.get(key, r=3).values == []
    cluster.run_until_quiet()
    assert client.get(key, r=3).values == []


@pytest.mark.parametrize("mutant", [None, "member-ignores-store", "drops-undominated"])
def test_a_version_the_delete_does_not_cover_keeps_the_tombstone(
        mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """``d``, no replica of the key, coordinates a put of w while cut off from every
    node (a strict quorum: no fallback, no hint; the put fails, and ``d`` keeps its
    own record of w: :mod:`impl.put_coordinator`). The delete (its context from the
    replicas) does not cover w: ``d`` keeps w and answers "not clean", so the
    tombstone stays on all N. The mutants
    reap (``member-ignores-store``: ``d``'s store is not looked at;
    ``drops-undominated``: ``d`` lets go a copy the tombstone does not dominate)."""
    if mutant == "member-ignores-store":
        monkeypatch.setattr(reaping.Reaper, "_clean", _ignores_store)
    elif mutant:
        monkeypatch.setattr(reaping.Reaper, "_settle_dominated", _drops_undominated)
    cluster = _cluster(hinted_handoff=False, anti_entropy=False, sloppy_quorum=False,
                       tombstone_grace_s=1.0)
    key = b"k"
    preference = cluster.node("n1").preference_list(key)
    a, d = preference[0], preference[3]
    client = cluster.client()
    client.put(key, b"v", coordinator=a, w=3)
    cluster.run_until_quiet()
    cluster.partition({d}, set(cluster.node_names) - {d})
    with pytest.raises(DynamoError):
        client.put(key, b"w", coordinator=d)
    cluster.heal()
    cluster.run_until_quiet()
    read = client.get(key, coordinator=a, r=3)
    assert read.values == [b"v"]  # w is on d alone
    client.delete(key, context=read.context, coordinator=a, w=3)
    cluster.run_for(10.0)
    kept = [name for name in preference[:3] if cluster.node(name).record(key) is not None]
    assert kept == ([] if mutant else list(preference[:3]))
    held = cluster.node(d).record(key)
    assert (held is not None and values(held) == [b"w"]) is (mutant != "drops-undominated")
