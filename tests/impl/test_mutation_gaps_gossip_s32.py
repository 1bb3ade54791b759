"""Tests for behaviours of :mod:`impl.gossip` that no other test held, found by
session 32's mutation run over :meth:`impl.gossip.Gossiper.on_gossip`, ``_apply``,
``claim`` and ``_serving`` (docs/refinement.md, "Session 32: more of
impl/gossip.py"): each one kills mutants the rest of the selection let through
(named in its docstring). Deterministic (seeded generators, injected time) and fast."""

from __future__ import annotations

import collections
import json
import random

from impl.config import ClusterConfig
from impl.effects import Send
from impl.gossip import FROM_META, Gossiper, _ring_json
from impl.hints import HintStore
from impl.membership import Member, MemberStatus, force_remove, seen_to_bytes
from impl.messages import Gossip, HandoffDone, SeenDigest, Settled
from impl.storage.base import Storage
from impl.storage.memory import MemoryStorage
from tests.impl.test_mutation_gaps_gossip import _joiner, gossiper
from tests.impl.test_node_driver import make_config


def _rejoiner(config: ClusterConfig, storage: Storage) -> Gossiper:
    """n4 started with ``serve --rejoin`` on a new store (it waits for a view saying
    it left)."""
    stats: collections.Counter[str] = collections.Counter()
    return Gossiper("n4", config, storage, HintStore(storage, stats), random.Random(1),
                    stats, collections.deque(maxlen=100), rejoin_if_left=True)


def test_a_node_told_it_was_force_removed_takes_the_view_keeps_it_and_says_so_once() -> None:
    """``on_gossip__mutmut_43``, ``_44`` and ``_47`` to ``_52`` (the line logged not at all or
    None; the view not persisted under ``membership``): n4, down while n1 force-removed it,
    hears of it from n1. It answers nothing (even a push), takes the view as it is, persists it
    (a restart on the same store finds itself removed), and logs once, word for word, that it
    serves nothing; the same news again logs nothing more."""
    config = make_config(4)
    g = gossiper("n4", config=config)
    removed = force_remove(g.view, "n4", config.n)
    assert g.on_gossip("n1", Gossip(removed.to_bytes(), reply=True)) == []
    assert g.view == removed and g.known_nodes == frozenset(removed.nodes)
    assert g.removed
    assert g.storage.get_meta("membership") == removed.to_bytes()
    line = ("n4: this node was force-removed from the cluster (the view of n1 says so): "
            "it serves nothing")
    assert list(g.log) == [line]
    assert g.on_gossip("n2", Gossip(removed.to_bytes(), reply=False)) == []
    assert list(g.log) == [line]
    assert gossiper("n4", config=config, storage=g.storage).removed


def test_a_rejoining_node_told_it_left_joins_anew_once_saying_so() -> None:
    """``on_gossip__mutmut_87`` and ``_90`` (the flag kept set; the line logged None):
    n4 on a new store with ``--rejoin`` hears that it left (settled): it logs, word
    for word, that it joins again, joins (strategy 1: ``joining`` with its tokens)
    and is no longer waiting for a view saying it left."""
    config = make_config(4, partitioning="strategy1")
    g = _rejoiner(config, MemoryStorage())
    assert g.rejoin_if_left and not g.join_pending
    held = g.view.get("n4")
    assert held is not None
    left = g.view.with_member(Member("n4", held.version + 2, MemberStatus.LEFT,
                                     settled=True))
    out = g.on_gossip("n1", Gossip(left.to_bytes(), reply=False))
    assert list(g.log) == ["n4: the cluster's view says this node left; its store is "
                           "new: joining again (--rejoin)"]
    assert not g.rejoin_if_left and not g.join_pending
    me = g.view.get("n4")
    assert me is not None and me.status is MemberStatus.JOINING and me.tokens
    assert out == [Send("n1", Gossip(g.view.to_bytes(), reply=True))]


def test_a_strategy3_change_over_a_transfer_done_moves_from_the_future_ring() -> None:
    """``_apply__mutmut_27`` and ``_29`` (strategy 3 taking the branch of strategies 1
    and 2: the ring before the last transfer): n1, strategy 3's claimant, gives the
    joining n5 its partitions and makes the transfer once every member saw it; a
    second move (one of n2's tokens to n5, n5 not served yet) then moves keys from
    the future ring of the first, the one this node handed over to, not from the
    ring before it; persisted so in :data:`impl.gossip.FROM_META`."""
    config = make_config(4, partitioning="strategy3")
    g = gossiper("n1", config=config)
    g.on_gossip("n2", Gossip(g.view.announce("n5", MemberStatus.JOINING).to_bytes(),
                             reply=False))
    g.claim()
    vector = g.view.vector()
    for peer in ("n2", "n3", "n4", "n5"):
        g.on_seen(peer, SeenDigest(seen_to_bytes({peer: vector})))
    assert g.transfer_after is None and g.moved_from is not None
    first = g.future.ring
    assert first != g.partitioning.ring and g.moved_from.ring != first
    n2, n5 = g.view.get("n2"), g.view.get("n5")
    assert n2 is not None and n5 is not None
    token = n2.tokens[0]
    moved = g.view.announce("n2", tokens=n2.tokens[1:]).announce(
        "n5", MemberStatus.JOINING, tuple(sorted((*n5.tokens, token))))
    g.on_gossip("n3", Gossip(moved.to_bytes(), reply=False))
    assert g.transfer_after == moved.vector()
    assert g.transfer_from is not None and g.transfer_from.ring == first
    assert g.storage.get_meta(FROM_META) == json.dumps(_ring_json(first)).encode()


def test_a_second_join_over_a_transfer_done_moves_from_the_ring_that_served() -> None:
    """``_apply__mutmut_30``, ``_31`` and ``_38`` (the ring before the last transfer not taken,
    or taken when that transfer's ring served; ``null`` persisted): strategies 1 and 2, two
    joins at once (docs/runtime.md, session 17's data probe; ``test_two_joins_at_once.py``, not
    in the mutation selection). n1 makes n5's transfer once every member saw it, n5 not served
    yet; n6's join then moves keys from the ring that served here (the one before n5's join),
    not from n5's future ring, which never served; persisted so."""
    config = make_config(4)
    g = gossiper("n1", config=config)
    first = g.partitioning.ring
    v1 = g.view.announce("n5", status=MemberStatus.JOINING, tokens=(12345,))
    g.on_gossip("n2", Gossip(v1.to_bytes(), reply=False))
    for peer in ("n2", "n3", "n4", "n5"):
        g.on_seen(peer, SeenDigest(seen_to_bytes({peer: v1.vector()})))
    assert g.transfer_after is None and g.moved_from is not None
    assert g.moved_from.ring == first and g.future.ring != first
    assert g.partitioning.ring == first  # n5 not handed over yet
    v2 = v1.announce("n6", status=MemberStatus.JOINING, tokens=(99999,))
    g.on_gossip("n3", Gossip(v2.to_bytes(), reply=False))
    assert g.transfer_after == v2.vector()
    assert g.transfer_from is not None and g.transfer_from.ring == first
    assert g.storage.get_meta(FROM_META) == json.dumps(_ring_json(first)).encode()


def test_a_joiner_handed_over_waits_for_every_member_to_see_its_own_handover() -> None:
    """``_apply__mutmut_62`` (``and`` for ``or``: a node's own change sets the mark
    only when it is also the claimant of a removal): n5, joining, announces itself up
    once every serving member handed its ranges over; the change is its own, so it
    settles once every member has seen that view (the mark is the view's vector),
    telling every other serving member; not before."""
    config = make_config(4)
    g = _joiner(config)
    for src in ("n1", "n2", "n3", "n4"):
        g.on_handoff_done(src, HandoffDone("n5"))
    assert g.status is MemberStatus.UP
    up = g.view.vector()
    assert g.settling == frozenset({"n5"}) and g.settle_after == up
    assert g.settle_if_seen() == []
    for peer in ("n1", "n2", "n3", "n4"):
        g.on_seen(peer, SeenDigest(seen_to_bytes({peer: up})))
    assert g.settle_if_seen() == [Send(node, Settled("n5"))
                                  for node in ("n1", "n2", "n3", "n4")]


def test_an_old_member_does_not_settle_a_joiners_change_as_its_own() -> None:
    """``_apply__mutmut_63`` and ``_64`` (the mark set for a change of another node;
    for every change seen by the claimant): n1, the claimant, adopts n5's join and
    then its handover (n5 up): the change settling is n5's, not n1's, so n1 keeps no
    mark and, every member having seen the handover, announces no settlement."""
    config = make_config(4)
    g = gossiper("n1", config=config)
    v1 = g.view.announce("n5", status=MemberStatus.JOINING, tokens=(12345,))
    g.on_gossip("n2", Gossip(v1.to_bytes(), reply=False))
    for peer in ("n2", "n3", "n4", "n5"):
        g.on_seen(peer, SeenDigest(seen_to_bytes({peer: v1.vector()})))
    v2 = v1.announce("n5", status=MemberStatus.UP)
    g.on_gossip("n5", Gossip(v2.to_bytes(), reply=False))
    assert "n5" in g.partitioning.ring.nodes
    assert g.settling == frozenset({"n5"}) and g.settle_after is None
    for peer in ("n2", "n3", "n4", "n5"):
        g.on_seen(peer, SeenDigest(seen_to_bytes({peer: v2.vector()})))
    assert g.settle_if_seen() == []


def test_only_the_claimant_settles_a_removal_handed_over() -> None:
    """``_apply__mutmut_66``, ``_68``, ``_69`` (``!=`` for ``==``: the mark taken by the members
    that are not the claimant; no member counted removed; no mark): n4 is force-removed and its
    handover done (``removed``, no tokens: off the serving ring). The removed node announces
    nothing, so the claimant n1 settles the change for it (its mark is the view's vector); n2,
    not the claimant, keeps no mark."""
    config = make_config(4)
    views = []
    for name in ("n1", "n2"):
        g = gossiper(name, config=config)
        v1 = force_remove(g.view, "n4", config.n)
        g.on_gossip("n3", Gossip(v1.to_bytes(), reply=False))
        v2 = v1.announce("n4", status=MemberStatus.REMOVED, tokens=())
        g.on_gossip("n3", Gossip(v2.to_bytes(), reply=False))
        assert "n4" not in g.partitioning.ring.nodes and "n4" in g.settling
        views.append((g.settle_after, v2.vector()))
    (claimant_mark, vector), (other_mark, _) = views
    assert claimant_mark == vector and other_mark is None


def test_a_joiner_removed_mid_join_is_claimed_past_a_leave_not_claimed_yet() -> None:
    """``claim__mutmut_10``, ``_12`` and ``_13`` (the leave not claimed yet counted as another
    change in progress: session 26's crossing departures,
    ``test_crossing_departures_review.py``, not in the mutation selection). Strategy
    3: the claimant n1 gave the joining n5 its partitions; n5 is then force-removed
    mid-join (``removing`` with its tokens: its transfer never ends) while n4 asks to
    leave. n1 hands n5's partitions out at once (a claim, n5 holds no token); n4's
    leave, not claimed yet, is no change in progress and keeps its tokens."""
    config = make_config(4, partitioning="strategy3")
    g = gossiper("n1", config=config)
    g.on_gossip("n2", Gossip(g.view.announce("n5", MemberStatus.JOINING).to_bytes(),
                             reply=False))
    g.claim()
    assert g.stats["claims"] == 1 and g.changing()
    n4 = g.view.get("n4")
    assert n4 is not None
    view = force_remove(g.view, "n5", config.n).announce("n4", MemberStatus.LEAVING)
    g.on_gossip("n2", Gossip(view.to_bytes(), reply=False))
    g.claim()
    n5, leaving = g.view.get("n5"), g.view.get("n4")
    assert g.stats["claims"] == 2
    assert n5 is not None and n5.status is MemberStatus.REMOVING and n5.tokens == ()
    assert leaving is not None and leaving.status is MemberStatus.LEAVING
    assert leaving.tokens == n4.tokens


def test_a_joiner_removed_mid_join_on_a_ring_of_two_is_claimed() -> None:
    """``claim__mutmut_23`` (``> 2`` for ``> 1`` nodes on the claimed ring): strategy 3,
    one node (N = 1); the claimant n1 gives the joining n2 its partitions (a ring of
    two), then force-removes it mid-join: n1 hands n2's partitions out at once, n2
    holds no token."""
    config = make_config(1, partitioning="strategy3", n=1, r=1, w=1)
    g = gossiper("n1", config=config)
    g.on_gossip("n2", Gossip(g.view.announce("n2", MemberStatus.JOINING).to_bytes(),
                             reply=False))
    g.claim()
    joined = g.view.get("n2")
    assert g.stats["claims"] == 1 and joined is not None and joined.tokens
    g.force_remove("n2")
    g.claim()
    removed = g.view.get("n2")
    assert g.stats["claims"] == 2
    assert removed is not None and removed.status is MemberStatus.REMOVING
    assert removed.tokens == ()
