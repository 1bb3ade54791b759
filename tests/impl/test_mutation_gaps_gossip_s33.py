"""Tests for behaviours of :mod:`impl.gossip` that no other test held, found by
session 33's mutation run over :meth:`impl.gossip.Gossiper.on_gossip` (its last 57
mutants) and the functions after it (docs/refinement.md, "Session 33: more of
impl/gossip.py"): each one kills mutants the gaps files let through (named in its
docstring). Deterministic (seeded generators, injected time) and fast."""

from __future__ import annotations

import collections
import json
import logging
import random

import pytest

from impl.config import ClusterConfig
from impl.effects import Send, SetTimer
from impl.errors import BadMessageError, PeerDataError
from impl.gossip import (
    HANDED_META,
    HEADROOM_LOG,
    OUTSIDERS_META,
    SETTLING_META,
    STRAYS_META,
    Gossiper,
    _encode_keys,
)
from impl.hints import HintStore
from impl.membership import (
    PEER_VERSION_LIMIT,
    Member,
    Membership,
    MemberStatus,
    force_remove,
    initial_membership,
    seen_to_bytes,
)
from impl.messages import Gossip, HandoffDone, SeenDigest
from impl.records import ClockMode, Record, encode_record
from impl.storage.memory import MemoryStorage
from impl.timers import GossipRound
from tests.impl.test_mutation_gaps_gossip import (
    R1,
    R2,
    _at_the_bound,
    _joiner,
    _joining_view,
    _old_owner,
    _refused_once,
    gossiper,
)
from tests.impl.test_mutation_gaps_gossip_s32 import _rejoiner
from tests.impl.test_node_driver import make_config


def test_a_settlement_again_refused_at_the_bound_merges_the_view_without_it(
        caplog: pytest.LogCaptureFixture) -> None:
    """``on_gossip__mutmut_65`` (the change named upper case), ``_76`` (the view
    dropped when the announcement is refused): n1 announced its change settled; a
    peer's view holds a newer entry of n1's, up and not settled, at 2**62 - 1 (a
    forged view, valid). Announcing the settlement again would reach the bound: it
    is refused, counted, logged once by its name, word for word; the peer's view is
    merged without it (n1's entry as it came) and a push is answered with it."""
    caplog.set_level(logging.ERROR, logger=HEADROOM_LOG.name)
    config = make_config(4)
    g = gossiper("n1", config=config)
    g.settling, g.settle_after = frozenset({"n1"}), {"n1": 1}
    g.settle()
    assert g.announced_settled
    held = g.view.get("n1")
    assert held is not None
    forged = Member("n1", PEER_VERSION_LIMIT - 1, MemberStatus.UP, held.tokens)
    other = Membership.of((*(m for m in g.view.members if m.node != "n1"), forged))
    out = g.on_gossip("n2", Gossip(other.to_bytes(), reply=True))
    assert g.view.get("n1") == forged
    line = ("membership change not announced (settlement again): membership: 'n1' "
            f"cannot announce a change: version {PEER_VERSION_LIMIT} would not be below "
            "2**62 (PEER_VERSION_LIMIT), and every peer refuses a view with it")
    assert g.stats["version-headroom"] == 1 and list(g.log) == [line]
    assert [r.getMessage() for r in caplog.records
            if r.name == HEADROOM_LOG.name] == [f"n1: {line}"]
    assert out == []


def test_a_fresh_gossiper_holds_its_arguments_and_starts_with_nothing_under_way() -> None:
    """``__init__``'s plain state (mutants setting an attribute to None, ``""``, True
    for False and the like): a gossiper of a configured member on a new store holds
    the objects it was given, has its configuration's strategy and handover, knows
    its view's members, has seen its own view, and has nothing under way: no change
    settling, no transfer, nothing to let go, no stray or outsider copy, no leave,
    no join, no reap due, no removal handed or marked."""
    config = make_config(4)
    storage = MemoryStorage()
    stats: collections.Counter[str] = collections.Counter()
    log: collections.deque[str] = collections.deque(maxlen=10)
    hints = HintStore(storage, stats)
    rng = random.Random(1)
    g = Gossiper("n1", config, storage, hints, rng, stats, log)
    assert (g.name, g.config, g.storage, g.hints, g.rng, g.stats, g.log) == (
        "n1", config, storage, hints, rng, stats, log)
    assert g.storage is storage and g.hints is hints and g.rng is rng
    assert g.stats is stats and g.log is log
    assert g.claims is False and g.pending is True
    assert g.known_nodes == frozenset({"n1", "n2", "n3", "n4"})
    assert g.seen == {"n1": g.view.vector()}
    assert g.future is g.partitioning
    assert g.handed_from == set() and g.transferred == set() and g.let_go_keys == set()
    assert g.previous is None and g.settle_after is None and g.settling == frozenset()
    assert g.transfer_after is None and g.transfer_from is None and g.moved_from is None
    assert g.releasable is False and g.release_due is False
    assert g.strays == {} and g.stray_scan_due is False and g.outsider_keys == set()
    assert g.coordinating(b"k") is False
    assert g.heard_since_loss is None
    assert g.announced_settled is False and g.leave_requested is False
    assert g.join_pending is False and g.rejoin_if_left is False
    assert g.rejoin_rounds == 0 and g.ring_listeners == [] and g.reap_due is False
    assert g.after_change is None
    assert g.removal_handed == {} and g.removal_marks == {}
    assert g.departures_waiting() == {}
    naive = gossiper("n1", config=make_config(4, join_handover="immediate"))
    assert naive.pending is False and naive.releasable is True
    assert gossiper("n1", config=make_config(4, partitioning="strategy3")).claims is True


def test_a_restarted_claimant_waits_again_to_settle_a_removal_others_do_not() -> None:
    """``_restore_settling``'s branch of a removal (``_31``, ``_33``, ``_35`` to
    ``_37``: ``and``/``or`` swapped, the claimant test inverted, the removed test
    dropped): n4 was force-removed and handed over (``removed``); the change
    persisted as settling, with a mark. After a restart the claimant n1 (not in
    the settling set itself) waits again for every member to have seen that mark,
    to settle the removal for n4; n2 keeps the change settling but no mark; and
    the claimant keeps none for a change that is no removal (n5's join)."""
    config = make_config(4)
    view = force_remove(initial_membership(config.initial_partitioning().ring), "n4",
                        config.n).announce("n4", status=MemberStatus.REMOVED, tokens=())
    mark = {"n1": 3, "n4": 3}
    for name, after in (("n1", mark), ("n2", None)):
        storage = MemoryStorage()
        storage.set_meta("membership", view.to_bytes())
        storage.set_meta(SETTLING_META, json.dumps(
            {"settling": ["n4"], "after": mark, "previous": None}).encode())
        g = gossiper(name, config=config, storage=storage)
        assert g.settling == frozenset({"n4"}) and g.settle_after == after
    joined = initial_membership(config.initial_partitioning().ring).announce(
        "n5", status=MemberStatus.UP, tokens=(12345,))
    storage = MemoryStorage()
    storage.set_meta("membership", joined.to_bytes())
    storage.set_meta(SETTLING_META, json.dumps(
        {"settling": ["n5"], "after": mark, "previous": None}).encode())
    g = gossiper("n1", config=config, storage=storage)
    assert g.settling == frozenset({"n5"}) and g.settle_after is None


def test_only_a_rejoining_node_told_it_left_and_settled_joins_again() -> None:
    """``on_gossip__mutmut_81`` to ``_83`` (the rejoin test's ``and``s turned ``or``):
    n1, up with its change settled, merges a peer's view: it does not join again
    nor log anything; n4 on a new store with ``--rejoin`` hearing it is up waits
    on (still ``rejoin_if_left``), silent; n4 that left (settled) and runs without
    ``--rejoin`` does not join again on a peer's gossip."""
    config = make_config(4, partitioning="strategy1")
    g = gossiper("n1", config=config)
    g.settling, g.settle_after = frozenset({"n1"}), {"n1": 1}
    g.settle()
    me = g.view.get("n1")
    assert me is not None and me.settled
    g.on_gossip("n2", Gossip(g.view.announce("n2").to_bytes(), reply=False))
    assert not g.join_pending and not g.log
    rejoiner = _rejoiner(config, MemoryStorage())
    up = rejoiner.view.announce("n4")
    rejoiner.on_gossip("n1", Gossip(up.to_bytes(), reply=False))
    assert rejoiner.rejoin_if_left and not rejoiner.join_pending and not rejoiner.log
    held = g.view.get("n4")
    assert held is not None
    left = g.view.with_member(Member("n4", held.version + 2, MemberStatus.LEFT,
                                     settled=True))
    gone = gossiper("n4", config=config)
    gone.on_gossip("n1", Gossip(left.to_bytes(), reply=False))
    n4 = gone.view.get("n4")
    assert n4 is not None and n4.status is MemberStatus.LEFT
    assert not gone.join_pending and not gone.log


def test_a_leave_refused_at_the_version_bound_is_logged_by_its_name(
        caplog: pytest.LogCaptureFixture) -> None:
    """``_leave_if_requested__mutmut_26``, ``_30``, ``_31`` (the change's name None or
    reworded) and ``_32`` (the test of the refusal inverted): n1, up at 2**62 - 1 (a
    forged view, valid), is asked to leave (strategy 1): announcing it would reach the
    bound: refused, counted, logged by its name; n1 stays up, the leave requested
    (tried again every round), and sends nothing."""
    caplog.set_level(logging.ERROR, logger=HEADROOM_LOG.name)
    g = gossiper("n1", config=make_config(4, partitioning="strategy1"))
    _at_the_bound(g, "n1", MemberStatus.UP)
    assert g.leave() == []
    assert g.status is MemberStatus.UP and g.leave_requested
    _refused_once(g, caplog, "n1", "leave")


def test_an_up_refused_at_the_version_bound_is_logged_by_its_name(
        caplog: pytest.LogCaptureFixture) -> None:
    """``on_round__mutmut_7``, ``_11``, ``_12`` (the change's name None or reworded):
    n5, joining with its tokens under the naive handover (it announces itself up at
    its next round), holds an entry at 2**62 - 1: announcing ``up`` is refused,
    counted, logged by its name; n5 stays joining and the round still sets the next
    one and gossips."""
    caplog.set_level(logging.ERROR, logger=HEADROOM_LOG.name)
    g = _joiner(make_config(4, join_handover="immediate"))
    _at_the_bound(g, "n5", MemberStatus.JOINING)
    out = g.on_round(0.0, GossipRound())
    assert g.status is MemberStatus.JOINING
    assert out[0] == SetTimer(GossipRound(), g.config.gossip_interval)
    assert any(isinstance(e, Send) and isinstance(e.message, Gossip) for e in out), out
    _refused_once(g, caplog, "n5", "up")


def test_a_join_refused_at_the_version_bound_is_logged_by_its_name(
        caplog: pytest.LogCaptureFixture) -> None:
    """``on_gossip__mutmut_100``, ``_104``, ``_105`` (the change's name None or
    reworded): strategy 3, n5 starts on an empty store and waits for a seed's view;
    n1's view holds n5 ``left`` at 2**62 - 1 (forged, valid). Announcing the join
    would reach the bound: refused, counted, logged by its name; n5 still waits to
    join (asks a seed again next round) and answers nothing."""
    caplog.set_level(logging.ERROR, logger=HEADROOM_LOG.name)
    config = make_config(4, partitioning="strategy3")
    seed = initial_membership(config.initial_partitioning().ring)
    seed = Membership.of((*seed.members,
                          Member("n5", PEER_VERSION_LIMIT - 1, MemberStatus.LEFT,
                                 settled=True)))
    g = gossiper("n5", config=config)
    assert g.join_pending
    assert g.on_gossip("n1", Gossip(seed.to_bytes(), reply=False)) == []
    assert g.join_pending
    _refused_once(g, caplog, "n5", "join")


def test_a_new_store_of_a_member_that_joined_does_not_join_again() -> None:
    """``on_gossip__mutmut_94``, ``_95`` (the branch for a member's replaced disk
    taken under strategy 3 only; only when the view lacks the node): strategy 1,
    n5 joined earlier (up, with a token); its disk replaced, it starts on a new
    store (not configured: it waits for a seed's view). n1's view holds it: n5
    does not join again (a second join raised on every gossip, session 28), says
    so once, word for word, and takes the view."""
    config = make_config(4, partitioning="strategy1")
    seed = initial_membership(config.initial_partitioning().ring).announce(
        "n5", status=MemberStatus.UP, tokens=(12345,))
    g = gossiper("n5", config=config)
    assert g.join_pending
    g.on_gossip("n1", Gossip(seed.to_bytes(), reply=False))
    assert not g.join_pending
    assert list(g.log) == ["n5: the cluster's view holds this node (up): not joining again"]
    assert g.view == seed


def test_a_settlement_refused_at_the_version_bound_is_logged_and_kept_waiting(
        caplog: pytest.LogCaptureFixture) -> None:
    """``settle__mutmut_4``, ``_8``, ``_9`` (the change's name None or reworded) and
    ``_17`` (the test of the refusal inverted): n1's own change waits to settle, its
    entry at 2**62 - 1 (forged, valid): announcing the settlement is refused,
    counted, logged by its name; n1 keeps its mark (tried again at the next hint
    scan), has announced nothing settled and tells nobody."""
    caplog.set_level(logging.ERROR, logger=HEADROOM_LOG.name)
    g = gossiper("n1", config=make_config(4))
    _at_the_bound(g, "n1", MemberStatus.UP)
    g.settling, g.settle_after = frozenset({"n1"}), {"n1": 1}
    assert g.settle() == []
    assert g.settle_after == {"n1": 1} and not g.announced_settled
    _refused_once(g, caplog, "n1", "settlement")


def _survivor_of(name: str, removed: tuple[str, ...], nodes: int = 4) -> Gossiper:
    """``name``'s gossiper (pending ownership, strategy 1) once it merged the
    force-removal of ``removed`` from n1's view and every member saw it: the transfer
    done, nothing kept."""
    config = make_config(nodes, partitioning="strategy1")
    g = gossiper(name, config=config)
    view = g.view
    for node in removed:
        view = force_remove(view, node, config.n)
    g.on_gossip("n3" if name != "n3" else "n1", Gossip(view.to_bytes(), reply=False))
    for peer in g.view.nodes_with((MemberStatus.UP,)):
        g.on_seen(peer, SeenDigest(seen_to_bytes({peer: g.view.vector()})))
    assert g.transfer_after is None and g.removing() == tuple(sorted(removed))
    return g


def test_a_survivor_tells_the_claimant_each_removal_it_handed_over() -> None:
    """``_removals_handed`` (no gaps test called it: ``_1`` to ``_10``, ``_15`` to
    ``_24``, ``_29`` to ``_34``): strategy 1, n4 force-removed of 4; n2, its transfer
    done and no hint kept, tells the claimant n1 once per scan that it handed n4's
    ranges over, and counts n4's new owners transferred; with a hint kept for n4 it
    tells nothing. Of two removals (n4, n5 of 6), a hint kept for n4 holds back n4's
    only: n5's is told."""
    g = _survivor_of("n2", ("n4",))
    owners = g._removal_new_owners("n4")
    assert owners == {"n1", "n2", "n3"} and g.transferred == set()
    g.transferred = {"n9"}
    assert g.handoffs_done(set()) == [Send("n1", HandoffDone("n4"))]
    assert g.transferred == owners | {"n9"}
    held = _survivor_of("n2", ("n4",))
    held.hints.add("n4", b"k", b"r")
    assert held.handoffs_done({"n4"}) == []
    two = _survivor_of("n2", ("n4", "n5"), nodes=6)
    two.hints.add("n4", b"k", b"r")
    assert two.handoffs_done({"n4"}) == [Send("n1", HandoffDone("n5"))]


def test_the_claimant_counts_its_own_removal_handover_and_others_nothing() -> None:
    """``_removals_handed__mutmut_24`` to ``_28`` (the claimant sending to itself; its
    own handover counted for None or under another name): n1, the claimant, counts
    itself among the members that handed n4's ranges over, and sends nothing; a
    node that is not serving (n5 joining) tells nothing."""
    g = _survivor_of("n1", ("n4",))
    assert g.handoffs_done(set()) == []
    assert g.removal_handed == {"n4": {"n1"}}
    joiner = _joiner(make_config(4, partitioning="strategy1"))
    joiner.view = force_remove(joiner.view, "n4", 3)
    assert joiner._removals_handed(set()) == []


def test_a_member_removed_mid_change_waits_behind_a_removal_ranked_before_it() -> None:
    """``claim__mutmut_21`` (``or`` for ``and``) and ``_25`` (``_defers(None)``),
    session 32's two open ones: the branch that claims a member removed mid-change
    defers it when the departures ranked before it would leave fewer than N members.
    Strategy 3, N = 3, n1 to n3 up: the claimant n1 gives the joining n5 its
    partitions; n5 is handed over (up, its change not settled). Then two operators
    force-remove at once, each from a view that allows it: n2 (at n3), and n5 (at
    n2, which had not heard of n2's removal). n1 merges both: n5's change never
    ends, but n2's removal goes first (removals by name) and the two would leave
    n1 and n3: n1 claims nothing, n5 keeps its tokens, and its departure waits,
    saying why."""
    config = make_config(3, partitioning="strategy3")
    g = gossiper("n1", config=config)
    g.on_gossip("n2", Gossip(g.view.announce("n5", MemberStatus.JOINING).to_bytes(),
                             reply=False))
    g.claim()
    for peer in ("n2", "n3", "n5"):
        g.on_seen(peer, SeenDigest(seen_to_bytes({peer: g.view.vector()})))
    g.on_gossip("n5", Gossip(g.view.announce("n5", status=MemberStatus.UP).to_bytes(),
                             reply=False))
    assert g.settling == frozenset({"n5"}) and g.stats["claims"] == 1
    before = g.view
    g.on_gossip("n3", Gossip(force_remove(before, "n2", config.n).to_bytes(), reply=False))
    g.on_gossip("n2", Gossip(force_remove(before, "n5", config.n).to_bytes(), reply=False))
    n5 = g.view.get("n5")
    assert n5 is not None and n5.status is MemberStatus.REMOVING and n5.tokens
    assert g.removing() == ("n2", "n5")
    g.claim()
    assert g.stats["claims"] == 1
    assert g.view.get("n5") == n5
    why = ("with n2 going too, it would leave 2 members (n1, n3), fewer than N = 3 "
           "replicas per key; it completes once a node joins")
    assert g.departures_waiting() == {"n5": why}


def test_a_restart_keeps_the_outsider_copies_not_handed_yet() -> None:
    """``__init____mutmut_50``, ``_51`` (the persisted outsider keys not read): a
    node that noted copies it coordinated from outside their top N and restarted
    before handing them still holds them, as persisted."""
    storage = MemoryStorage()
    storage.set_meta(OUTSIDERS_META, _encode_keys({b"a", b"b"}))
    assert gossiper("n1", storage=storage).outsider_keys == {b"a", b"b"}


def test_a_restart_looks_for_stray_copies_if_it_was_due_or_its_change_settled() -> None:
    """``__init____mutmut_82`` to ``_86`` (the persisted stray-look flag replacing,
    or and-ed with, the one the restored transfer set; not read; read inverted or
    as ``XX1XX``): a node restarted with the flag persisted looks for stray copies
    at its next quiet scan; so does one restarted after its transfer for a change
    that settled before the crash, flag or not; a fresh one does not."""
    config = make_config(4)
    storage = MemoryStorage()
    storage.set_meta(STRAYS_META, b"1")
    assert gossiper("n1", config=config, storage=storage).stray_scan_due is True
    storage = MemoryStorage()
    view = _joining_view(config).announce("n5", status=MemberStatus.UP)
    storage.set_meta("membership", view.to_bytes())
    storage.set_meta(HANDED_META, gossiper("n1", config=config, storage=storage)._ring_id())
    g = gossiper("n1", config=config, storage=storage)
    assert g.moved_from is not None and g.releasable and g.stray_scan_due is True


def test_a_scan_keeps_a_copy_still_served_and_stays_due_to_let_it_go_later() -> None:
    """``scanned__mutmut_42``, ``_43`` (the scan no longer due once a served copy was
    kept) and ``_14`` (a scan done leaving the flag None, which a later write then
    or-ed with a bool: a TypeError): n2, an old owner of the keys n5's join moved
    (the naive handover, every new owner handed), still serves them while the
    serving ring is the one before the join: the scan lets none go and stays due;
    once the new ring serves, the next scan lets them all go and is done; a later
    write of one of them makes it due again."""
    g, moved, _ = _old_owner()
    assert g.moved_from is not None
    future = g.partitioning
    g.partitioning = g.moved_from
    assert g.scanned(set()) == [] and g.release_due is True
    g.partitioning = future
    assert sorted(g.scanned(set())) == sorted(moved) and g.release_due is False
    g.on_write(moved[0], R2)
    assert g.release_due is True


def test_a_joiner_under_the_naive_handover_announces_itself_up_at_its_round() -> None:
    """``on_round__mutmut_3`` to ``_20`` (no gaps test ran a joiner's round: the up
    announcement dropped, made for None, or with no status; its guard's ``and``/``or``
    swapped or inverted): n5, joining with its token under the naive handover,
    announces itself up at its next round, one version above, its tokens kept; an
    up member's round announces nothing; under pending ownership a joiner not handed
    over yet stays joining."""
    g = _joiner(make_config(4, join_handover="immediate"))
    held = g.view.get("n5")
    assert held is not None and held.status is MemberStatus.JOINING and held.tokens
    g.on_round(0.0, GossipRound())
    up = g.view.get("n5")
    assert up is not None and up.status is MemberStatus.UP
    assert up.version == held.version + 1 and up.tokens == held.tokens
    member = gossiper("n1", config=make_config(4, join_handover="immediate"))
    before = member.view
    member.on_round(0.0, GossipRound())
    assert member.view == before
    pending = _joiner(make_config(4))
    pending.on_round(0.0, GossipRound())
    assert pending.status is MemberStatus.JOINING


def _claimant_of_a_removal_handed_over() -> tuple[Gossiper, Membership]:
    """The claimant n1 once n4 (of 4) was force-removed and handed over
    (``removed``, no tokens), its settlement owed; and that view."""
    config = make_config(4)
    g = gossiper("n1", config=config)
    v1 = force_remove(g.view, "n4", config.n)
    g.on_gossip("n3", Gossip(v1.to_bytes(), reply=False))
    v2 = v1.announce("n4", status=MemberStatus.REMOVED, tokens=())
    g.on_gossip("n3", Gossip(v2.to_bytes(), reply=False))
    return g, v2


def test_the_claimant_settles_a_removed_members_change_for_it() -> None:
    """``settle__mutmut_18`` (the mark left ``""``) and ``_20`` (the settled view not
    taken): n4 was force-removed and handed over; the claimant n1 settles the change
    for it (n4 is down for good): n4's entry is settled, the mark cleared, nothing
    of n1's own announced settled, and no message sent."""
    g, v2 = _claimant_of_a_removal_handed_over()
    assert g.settle_after == v2.vector()
    assert g.settle() == []
    n4 = g.view.get("n4")
    assert n4 is not None and n4.settled and n4.status is MemberStatus.REMOVED
    assert g.settle_after is None and not g.announced_settled
    assert "n4" not in g.settling


def test_a_leave_announced_is_pushed_to_a_peer_at_once() -> None:
    """``_leave_if_requested__mutmut_36`` (the leave's gossip sent to no peer): n1
    (strategy 1) asked to leave announces it and pushes the new view, wanting a
    reply, to one of its peers."""
    g = gossiper("n1", config=make_config(4, partitioning="strategy1"))
    out = g.leave()
    assert g.status is MemberStatus.LEAVING
    gossips = [e for e in out if isinstance(e, Send) and isinstance(e.message, Gossip)]
    assert len(gossips) == 1 and gossips[0].dest in {"n2", "n3", "n4"}
    assert gossips[0].message == Gossip(g.view.to_bytes(), reply=True)


def test_a_strategy3_survivor_tells_nothing_of_a_removal_not_claimed_yet() -> None:
    """``_removals_handed__mutmut_9``, ``_10``, ``_13`` (the removed member's entry
    not read, or its test inverted) and ``_14`` (``break`` for ``continue``):
    strategy 3, n4 force-removed of 4 but not claimed yet (``removing`` with its
    tokens: its partitions are not handed out): n2 has handed nothing over and tells
    the claimant nothing. Of 5, n5 removed and claimed (no tokens), then n3 removed
    (not claimed yet): n2 tells the claimant of n5's handover only."""
    config = make_config(4, partitioning="strategy3")
    g = gossiper("n2", config=config)
    g.on_gossip("n3", Gossip(force_remove(g.view, "n4", config.n).to_bytes(), reply=False))
    n4 = g.view.get("n4")
    assert n4 is not None and n4.status is MemberStatus.REMOVING and n4.tokens
    assert g.transfer_after is None and g.removing() == ("n4",)
    assert g.handoffs_done(set()) == []
    config = make_config(5, partitioning="strategy3")
    claimant = gossiper("n1", config=config)
    claimant.force_remove("n5")
    claimant.claim()
    n5 = claimant.view.get("n5")
    assert n5 is not None and n5.status is MemberStatus.REMOVING and n5.tokens == ()
    g = gossiper("n2", config=config)
    g.on_gossip("n1", Gossip(force_remove(claimant.view, "n3", config.n).to_bytes(),
                             reply=False))
    for peer in g.view.nodes_with((MemberStatus.UP,)):
        g.on_seen(peer, SeenDigest(seen_to_bytes({peer: g.view.vector()})))
    assert g.transfer_after is None and g.removing() == ("n3", "n5")
    assert g.handoffs_done(set()) == [Send("n1", HandoffDone("n5"))]


def test_a_transfer_hint_refuses_a_record_of_another_clock_mode() -> None:
    """``_hand__mutmut_1``, ``_12``, ``_14``, ``_20``, ``_22`` (the records decoded
    with no mode: any mode taken): a dvv cluster's transfer of a key to n5 reads the
    record handed and each hint it may replace in the cluster's mode only: an ``lww``
    record (a store kept across a change of ``clock``) raises
    :class:`~impl.errors.BadMessageError` naming both modes, whichever side holds
    it, and keeps nothing new."""
    lww = encode_record(Record.empty(ClockMode.LWW))
    for held, handed in ((lww, R1), (R1, lww)):
        g = gossiper("n1")
        g.hints.add("n5", b"k", held)
        with pytest.raises(BadMessageError,
                           match="record is in clock mode lww, the cluster uses dvv"):
            g._hand("n5", b"k", handed)
        assert [(h.intended, h.record) for h in g.hints.all()] == [("n5", held)]


def test_a_seen_digest_that_does_not_parse_is_the_peers_fault_with_the_parse_error() -> None:
    """``on_seen__mutmut_3`` to ``_8`` (the case named None or reworded; the parse
    error dropped): a seen digest that does not parse raises
    :class:`~impl.errors.PeerDataError` of case ``seen`` carrying the parse error's
    own message; nothing is merged."""
    g = gossiper("n1")
    before = dict(g.seen)
    with pytest.raises(PeerDataError) as raised:
        g.on_seen("n2", SeenDigest(b"[]"))
    assert raised.value.what == "seen"
    assert str(raised.value) == ("membership: seen digest: expected "
                                 "{format: 'vdynamo.seen.v1', seen}")
    assert g.seen == before


def test_a_round_during_a_change_pushes_the_view_and_this_nodes_seen_digest_to_one_peer() -> None:
    """``_gossip_to__mutmut_20`` (the digest sent to None) and ``_25`` (the digest of
    None): n1 (pending ownership), its transfer waiting, pushes at its round its view
    and its own seen digest, wanting replies, to the same peer."""
    g = gossiper("n1", config=make_config(4))
    g.seen = {"n1": g.view.vector(), "n2": {"n2": 1}}
    g.transfer_after = {"n1": 1}
    out = [e for e in g.on_round(0.0, GossipRound()) if isinstance(e, Send)]
    assert len(out) == 2 and out[0].dest == out[1].dest
    assert out == [Send(out[0].dest, Gossip(g.view.to_bytes(), reply=True)),
                   Send(out[0].dest, SeenDigest(seen_to_bytes(g.seen)))]


def test_the_handler_map_passes_the_sender_of_a_digest_and_a_handover_on() -> None:
    """``handlers__mutmut_7``, ``_17`` (the sender dropped from the handlers of
    ``HandoffDone`` and ``SeenDigest``): a pushed digest that differs is answered to
    its sender, wanting no reply; a joiner counts the member that handed it over by
    its name."""
    g = gossiper("n1", config=make_config(4))
    theirs = {"n2": {"n2": 3}}
    out = g.handlers()[SeenDigest](0.0, "n2", SeenDigest(seen_to_bytes(theirs)))
    assert out == [Send("n2", SeenDigest(seen_to_bytes(g.seen), reply=False))]
    joiner = _joiner(make_config(4))
    assert joiner.handlers()[HandoffDone](0.0, "n3", HandoffDone("n5")) == []
    assert joiner.handed_from == {"n3"}


def _holding_keys(name: str, config: ClusterConfig) -> tuple[Gossiper, list[bytes]]:
    """``name``'s gossiper holding 20 keys (record ``R1`` each), and the keys."""
    g = gossiper(name, config=config)
    keys = [b"k%d" % i for i in range(20)]
    for key in keys:
        g.storage.write(key, R1)
    return g, keys


def test_a_leaving_node_hands_each_key_to_the_member_entering_its_top_n() -> None:
    """``_new_owners__mutmut_4`` to ``_6`` (the old preference list taken whole, not
    its top N: a member already on the ring never counted new): n4 leaves (the naive
    handover: its transfer at once) and hands each key it held of its top N to the
    member that enters that top N, itself a member on the ring before; nothing else."""
    config = make_config(5, join_handover="immediate")
    g, keys = _holding_keys("n4", config)
    old = g.future
    g.leave()
    assert g.status is MemberStatus.LEAVING and "n4" not in g.future.nodes
    expected = {(target, key) for key in keys if "n4" in old.preference_list(key, 3)
                for target in g.future.preference_list(key, 3)
                if target not in old.preference_list(key, 3)}
    assert expected and {target for target, _ in expected} <= set(old.nodes)
    assert {(h.intended, h.key) for h in g.hints.all()} == expected


def test_every_change_settled_makes_a_look_for_stray_copies_due() -> None:
    """``_settled__mutmut_14``, ``_15`` (the look not made due, or None): once the
    last change this node saw settles, its next quiet hint scan looks for stray
    copies; not while another change has not settled."""
    g = gossiper("n1")
    g.settling, g.previous = frozenset({"n1", "n5"}), g.partitioning
    view = g.view.announce("n5", status=MemberStatus.UP, tokens=(12345,), settled=True)
    g._settled(view)
    assert g.stray_scan_due is False
    g._settled(view.announce("n1", settled=True))
    assert g.settling == frozenset() and g.stray_scan_due is True


def test_a_survivor_of_a_removed_replica_hands_the_key_on_though_it_stays() -> None:
    """``_new_owners__mutmut_17``, ``_18`` (the removed replica not recognised: the
    survivor, still in the key's top N, hands nothing): n4 is force-removed (the naive
    handover: the transfer at once); n2, which stays in the top N of keys n4 held,
    hands each of them to the member entering that top N (the removed node, down
    for good, cannot)."""
    config = make_config(5, join_handover="immediate")
    g, keys = _holding_keys("n2", config)
    old = g.future
    g.on_gossip("n1", Gossip(force_remove(g.view, "n4", config.n).to_bytes(), reply=False))
    assert "n4" not in g.future.nodes
    expected = {(target, key) for key in keys
                if {"n2", "n4"} <= set(old.preference_list(key, 3))
                for target in g.future.preference_list(key, 3)
                if target not in old.preference_list(key, 3)}
    assert expected
    assert {(h.intended, h.key) for h in g.hints.all()} == expected


def test_each_refusal_at_the_bound_is_counted_and_logged_once() -> None:
    """``announced__mutmut_1`` (the count set to 1, not added to): n1's leave, refused
    at the version bound, is tried again at each round: three refusals counted, one
    line logged."""
    g = gossiper("n1", config=make_config(4, partitioning="strategy1"))
    _at_the_bound(g, "n1", MemberStatus.UP)
    g.leave()
    g.on_round(0.0, GossipRound())
    g.on_round(1.0, GossipRound())
    assert g.stats["version-headroom"] == 3 and len(g.log) == 1


def test_a_change_is_on_while_a_member_joins_with_tokens_or_departs_without() -> None:
    """``changing__mutmut_2``, ``_3``, ``_11`` (the view's clauses and-ed, or a
    removal with its tokens counted): with the rings and marks quiet, a change is on
    while a member joins with tokens, leaves without, or is being removed without
    (its partitions handed out); not for a leave or a removal not claimed yet
    (tokens kept)."""
    g = gossiper("n1", config=make_config(4, partitioning="strategy3"))
    quiet = g.view
    assert not g.changing()
    for node, status, tokens, on in (("n5", MemberStatus.JOINING, (12345,), True),
                                     ("n4", MemberStatus.LEAVING, (), True),
                                     ("n4", MemberStatus.REMOVING, (), True),
                                     ("n4", MemberStatus.LEAVING, None, False),
                                     ("n4", MemberStatus.REMOVING, None, False)):
        g.view = (quiet.announce(node, status=status) if tokens is None
                  else quiet.announce(node, status=status, tokens=tokens))
        assert g.changing() is on, (node, status, tokens)


def test_a_restarted_transfer_counts_handed_every_new_owner_with_no_hint_kept() -> None:
    """``_restore_transfer__mutmut_7`` (the new owners handed to forgotten: None, which
    a later scan or-ed with a set): n1 restarted after its transfer for n5's join,
    a hint still kept for n5: it counts every node of the future ring but n5
    handed everything, and a scan adds n5 once its hints are out."""
    config = make_config(4)
    storage = MemoryStorage()
    view = _joining_view(config).announce("n5", status=MemberStatus.UP)
    storage.set_meta("membership", view.to_bytes())
    storage.set_meta(HANDED_META, gossiper("n1", config=config, storage=storage)._ring_id())
    gossiper("n1", config=config, storage=storage).hints.add("n5", b"k", R1)
    g = gossiper("n1", config=config, storage=storage)
    assert g.moved_from is not None
    assert g.transferred == set(g.future.nodes) - {"n5"}
    g.scanned(set())
    assert g.transferred == set(g.future.nodes)


def test_a_member_tells_each_joiner_it_holds_no_hint_for_that_it_handed_it_over() -> None:
    """``handoffs_done__mutmut_4`` to ``_7`` (pending ownership's test inverted; the
    message sent to None, or None sent): n1 (pending ownership), n5 and n6 joining
    with tokens: nothing while its transfer waits; once done, a scan with hints
    kept for n6 only tells n5 it handed it everything. Under the naive handover
    nothing is told (the joiner serves at once)."""
    joins = initial_membership(make_config(4).initial_partitioning().ring).announce(
        "n5", status=MemberStatus.JOINING, tokens=(12345,)).announce(
        "n6", status=MemberStatus.JOINING, tokens=(99999,))
    g = gossiper("n1", config=make_config(4))
    g.on_gossip("n2", Gossip(joins.to_bytes(), reply=False))
    assert g.handoffs_done(set()) == []
    for peer in ("n2", "n3", "n4", "n5", "n6"):
        g.on_seen(peer, SeenDigest(seen_to_bytes({peer: g.view.vector()})))
    assert g.transfer_after is None
    assert g.handoffs_done({"n6"}) == [Send("n5", HandoffDone("n5"))]
    naive = gossiper("n1", config=make_config(4, join_handover="immediate"))
    naive.on_gossip("n2", Gossip(joins.to_bytes(), reply=False))
    assert naive.handoffs_done(set()) == []


def test_a_pending_transfer_hands_the_moved_keys_once_every_member_saw_the_change() -> None:
    """``_transfer_if_seen__mutmut_12`` (the transfer made to no ring): n2 (pending
    ownership) holding keys when n5 joins makes no hint while its transfer waits;
    once every member saw the change, it hands each key it left the top N of to n5."""
    g, moved, _ = _old_owner("pending")
    assert g.transfer_after is not None and not g.hints.all()
    for peer in ("n1", "n3", "n4", "n5"):
        g.on_seen(peer, SeenDigest(seen_to_bytes({peer: g.view.vector()})))
    assert g.transfer_after is None
    assert {(h.intended, h.key) for h in g.hints.all()} == {("n5", key) for key in moved}


def test_a_node_that_left_and_restarts_joins_again_after_one_unanswered_round() -> None:
    """``_rejoin_unanswered__mutmut_1`` to ``_12`` (no gaps test ran it: the node's
    entry not read, the test of its wait inverted, the rounds miscounted): n4 left
    (strategy 1) and was started again (``rejoin``): its first round may still be
    answered, so it waits; at its second round, unanswered, it announces its join
    from its own view (joining, with tokens); a member that never left does not."""
    config = make_config(4, partitioning="strategy1")
    left = initial_membership(config.initial_partitioning().ring).announce(
        "n4", status=MemberStatus.LEAVING).announce("n4", status=MemberStatus.LEFT,
                                                   tokens=())
    storage = MemoryStorage()
    storage.set_meta("membership", left.to_bytes())
    stats: collections.Counter[str] = collections.Counter()
    g = Gossiper("n4", config, storage, HintStore(storage, stats), random.Random(1),
                 stats, collections.deque(maxlen=10), rejoin=True)
    assert g.join_pending and g.status is MemberStatus.LEFT
    g.on_round(0.0, GossipRound())
    assert g.join_pending and g.status is MemberStatus.LEFT and g.rejoin_rounds == 1
    g.on_round(1.0, GossipRound())
    me = g.view.get("n4")
    assert not g.join_pending and me is not None
    assert me.status is MemberStatus.JOINING and me.tokens
    member = gossiper("n1", config=config)
    member.on_round(0.0, GossipRound())
    member.on_round(1.0, GossipRound())
    assert member.rejoin_rounds == 0 and member.status is MemberStatus.UP


def test_a_claimant_that_lost_its_writes_claims_once_every_live_member_gossiped() -> None:
    """``_unheard_since_loss__mutmut_1`` to ``_10`` (no gaps test ran it: the set not
    read, the test of a member unheard inverted or or-ed, the end of the tracking
    dropped): strategy 3, the claimant n1's store lost its writes; n5 asks to join.
    n1 claims nothing while n3 or n4 has not gossiped since; once every live member
    has, it claims n5's join and stops tracking."""
    config = make_config(4, partitioning="strategy3")
    g = gossiper("n1", config=config)
    g.must_hear_all()
    joins = g.view.announce("n5", MemberStatus.JOINING)
    g.on_gossip("n2", Gossip(joins.to_bytes(), reply=False))
    g.claim()
    g.on_gossip("n3", Gossip(joins.to_bytes(), reply=False))
    g.claim()
    assert g.stats["claims"] == 0 and g.heard_since_loss == {"n2", "n3"}
    for peer in ("n4", "n5"):
        g.on_gossip(peer, Gossip(joins.to_bytes(), reply=False))
    g.claim()
    assert g.stats["claims"] == 1 and g.heard_since_loss is None
    g.claim()
    assert g.heard_since_loss is None


def test_a_settlement_owed_with_no_mark_waits_for_the_current_view() -> None:
    """``settle_if_seen__mutmut_3`` (no mark taken): the claimant n1 owes removed
    n4's settlement with no mark (cleared, as by another change settling): it takes
    its current view's vector as the mark and waits until every member has seen
    it; then it settles n4's change."""
    g, _ = _claimant_of_a_removal_handed_over()
    g.settle_after = None
    assert g.settle_if_seen() == [] and g.settle_after == g.view.vector()
    n4 = g.view.get("n4")
    assert n4 is not None and not n4.settled
    for peer in ("n2", "n3"):
        g.on_seen(peer, SeenDigest(seen_to_bytes({peer: g.view.vector()})))
    assert g.settle_if_seen() == []
    n4 = g.view.get("n4")
    assert n4 is not None and n4.settled


def test_a_removal_goes_before_a_leave_whatever_their_names() -> None:
    """``_departure_rank__mutmut_2`` to ``_4`` (removals not ranked first): n2 leaving
    and n3 being removed: n3's removal goes before n2's leave, not the reverse."""
    g = gossiper("n1")
    g.view = (g.view.announce("n2", status=MemberStatus.LEAVING)
              .announce("n3", status=MemberStatus.REMOVING))
    assert g._before("n2") == {"n3"} and g._before("n3") == set()
