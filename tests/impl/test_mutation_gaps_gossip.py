"""Tests for behaviours of :mod:`impl.gossip` that no other test held, found by the
mutation run of session 9 (docs/refinement.md, "Session 9: gossip") and of session
10 ("Session 10: the rest of membership and gossip"): each one kills mutants of
:class:`impl.gossip.Gossiper` that the rest of the suite let through.
Deterministic (seeded generators, injected time) and fast."""

from __future__ import annotations

import collections
import json
import logging
import random
from collections.abc import Callable

import pytest

from impl.config import ClusterConfig
from impl.effects import Effect, Send, SetTimer
from impl.errors import BadMessageError, InvalidValueError, PeerDataError
from impl.gossip import (
    ANNOUNCED_META,
    FROM_META,
    HANDED_META,
    HEADROOM_LOG,
    SERVING_META,
    SETTLING_META,
    STRAYS_META,
    Gossiper,
)
from impl.hints import HintStore
from impl.membership import (
    PEER_VERSION_LIMIT,
    Member,
    Membership,
    MemberStatus,
    initial_membership,
    seen_to_bytes,
)
from impl.messages import Gossip, HandoffDone, SeenDigest, Settled
from impl.node import Node
from impl.positions import position_of
from impl.records import ClockMode, Record, encode_record
from impl.storage.base import Storage
from impl.storage.memory import MemoryStorage
from impl.timers import GossipRound
from impl.versions import apply_put, context_clock
from spec.ring import Ring
from tests.impl.test_node_driver import make_config


def _chain(count: int) -> list[bytes]:
    """``count`` encoded dvv records of one key, each a put with the context of the
    one before, so each covers (supersedes) every earlier one: a transfer's newer
    record replaces the hint of an older (:meth:`impl.gossip.Gossiper._hand`
    decodes them since session 22's review of the stray-copy rule)."""
    records, record = [], Record.empty(ClockMode.DVV)
    for i in range(1, count + 1):
        record = apply_put(record, context_clock(record), b"v%d" % i, coordinator="n1",
                           client_id="c", now=float(i))
        records.append(encode_record(record))
    return records


R1, R2, R3, R4 = _chain(4)


def gossiper(name: str = "n1", config: ClusterConfig | None = None,
             storage: Storage | None = None, seed: int = 1) -> Gossiper:
    """A node's gossiper on its own, over a memory storage."""
    config = make_config(4) if config is None else config
    storage = MemoryStorage() if storage is None else storage
    stats: collections.Counter[str] = collections.Counter()
    return Gossiper(name, config, storage, HintStore(storage, stats), random.Random(seed),
                    stats, collections.deque(maxlen=100))


def test_the_first_round_comes_within_the_first_interval_and_the_next_one_after() -> None:
    """``first_timers`` draws the first round in ``[0, gossip_interval)`` after now, and
    each round sets the next one ``gossip_interval`` later."""
    g = gossiper()
    drawn: list[tuple[float, float]] = []

    def draw(low: float, high: float) -> float:
        drawn.append((low, high))
        return 0.25

    assert g.first_timers(10.0, draw) == [SetTimer(GossipRound(), 10.25)]
    assert drawn == [(0, g.config.gossip_interval)]
    effects = g.on_round(20.0, GossipRound())
    assert effects[0] == SetTimer(GossipRound(), 20.0 + g.config.gossip_interval)


def test_the_handlers_map_each_message_to_its_handler() -> None:
    """Each peer message type reaches its own handler (and the round its timer)."""
    g = gossiper()
    assert set(g.handlers()) == {Gossip, HandoffDone, Settled, SeenDigest}
    assert g.timers() == {GossipRound: g.on_round}


# ------------------------------------------------------------ persisted state unreadable


def _joining_view(config: ClusterConfig) -> Membership:
    """The initial view with ``n5`` joining, holding one token of its own (a change in
    progress: :func:`impl.gossip._in_change`)."""
    view = initial_membership(config.initial_partitioning().ring)
    return view.announce("n5", status=MemberStatus.JOINING, tokens=(12345,))


def _last_log(g: Gossiper) -> str:
    return list(g.log)[-1]


def test_an_unreadable_persisted_view_starts_fresh_saying_so() -> None:
    config = make_config(4)
    storage = MemoryStorage()
    storage.set_meta("membership", b"not a view")
    g = gossiper(config=config, storage=storage)
    assert g.view == initial_membership(config.initial_partitioning().ring)
    assert _last_log(g).startswith("persisted membership unreadable, starting fresh: ")


def test_a_persisted_view_is_merged_into_the_initial_one() -> None:
    """The view a node persisted comes back after a restart, merged into the
    configuration's initial view (read from the meta entry ``membership``)."""
    config = make_config(4)
    storage = MemoryStorage()
    view = _joining_view(config)
    storage.set_meta("membership", view.to_bytes())
    g = gossiper(config=config, storage=storage)
    assert g.view == view and "n5" in g.known_nodes and g.known("n5")
    assert not g.log


def test_unreadable_announcements_are_ignored_saying_so() -> None:
    storage = MemoryStorage()
    storage.set_meta(ANNOUNCED_META, b"{")
    g = gossiper(storage=storage)
    assert (g.announced_settled, g.leave_requested) == (False, False)
    assert _last_log(g).startswith("persisted announcements unreadable, ignored: ")
    storage.set_meta(ANNOUNCED_META, b'{"settled": true}')  # a key missing
    g = gossiper(storage=storage)
    assert (g.announced_settled, g.leave_requested) == (False, False)
    assert _last_log(g).startswith("persisted announcements unreadable, ignored: ")


def test_announcements_survive_a_restart_each_on_its_own() -> None:
    """``announced_settled`` and ``leave_requested`` come back from the meta entry
    :data:`ANNOUNCED_META`, each from its own key, ``true`` only."""
    for settled, leave in ((True, False), (False, True), (True, True)):
        storage = MemoryStorage()
        g = gossiper(storage=storage)
        g.announced_settled, g.leave_requested = settled, leave
        g._persist_announced()
        again = gossiper(storage=storage)
        assert (again.announced_settled, again.leave_requested) == (settled, leave)
    storage = MemoryStorage()
    storage.set_meta(ANNOUNCED_META, b'{"settled": 1, "leave": "yes"}')
    g = gossiper(storage=storage)
    assert (g.announced_settled, g.leave_requested) == (False, False)
    assert not g.log


def test_an_unreadable_kept_serving_ring_falls_back_to_the_views_saying_so() -> None:
    config = make_config(4)
    storage = MemoryStorage()
    storage.set_meta("membership", _joining_view(config).to_bytes())
    storage.set_meta(SERVING_META, b"[1, 2]")
    g = gossiper(config=config, storage=storage)
    assert g.partitioning.ring == config.initial_partitioning().ring
    assert any(line.startswith("persisted serving ring unreadable, using the view's: ")
               for line in g.log)


def test_an_unreadable_handover_ring_falls_back_to_the_serving_one_saying_so() -> None:
    config = make_config(4)
    storage = MemoryStorage()
    storage.set_meta("membership", _joining_view(config).to_bytes())
    storage.set_meta(FROM_META, b"{")
    g = gossiper(config=config, storage=storage)
    assert g.transfer_from is g.partitioning
    assert g.transfer_after == g.view.vector()
    assert any(line.startswith("persisted handover ring unreadable, using the serving one: ")
               for line in g.log)


def test_an_unreadable_settling_change_is_ignored_saying_so() -> None:
    config = make_config(4)
    storage = MemoryStorage()
    storage.set_meta(SETTLING_META, b'{"settling": ["n5"]}')  # "after" missing
    g = gossiper(config=config, storage=storage)
    assert g.settling == frozenset() and g.previous is None
    assert _last_log(g).startswith("persisted settling change unreadable, ignored: ")


# ------------------------------------------------------------ queries


def test_a_node_knows_its_views_members_and_the_configured_ones_only() -> None:
    config = make_config(4)
    storage = MemoryStorage()
    storage.set_meta("membership", _joining_view(config).to_bytes())
    g = gossiper(config=config, storage=storage)
    assert g.known("n1") and g.known("n5") and not g.known("n9")
    fresh = gossiper("n5", config=config)  # not in its own view yet: config nodes only
    assert fresh.known("n1") and not fresh.known("n9")


def test_a_node_off_the_ring_replicates_no_range() -> None:
    config = make_config(4)
    g = gossiper("n1", config=config)
    assert g.my_ranges() == g.partitioning.ranges_of("n1", config.n) != []
    assert gossiper("n5", config=config).my_ranges() == []


# ------------------------------------------------------------ gossip messages


def test_a_node_not_in_the_senders_view_is_answered_with_the_view_and_not_merged() -> None:
    """A node about to join asks for the view with its own (it is not in it): the
    answer is this node's view, ``reply=False``; nothing is merged or recorded."""
    config = make_config(4)
    g = gossiper(config=config)
    before, seen = g.view, {k: dict(v) for k, v in g.seen.items()}
    ask = Gossip(initial_membership(config.initial_partitioning().ring).to_bytes())
    assert g.on_gossip("n5", ask) == [Send("n5", Gossip(g.view.to_bytes(), reply=False))]
    assert g.on_gossip("n5", Gossip(ask.view, reply=False)) == []
    assert g.view == before and g.seen == seen


def test_a_peers_view_is_merged_and_a_push_answered_only_when_views_differ() -> None:
    config = make_config(4)
    g = gossiper("n1", config=config)
    newer = _joining_view(config)
    # the peer's view is newer: merged, the seen digest records that n2 saw it
    assert g.on_gossip("n2", Gossip(newer.to_bytes(), reply=True)) == []
    assert g.view == newer
    assert g.seen["n2"] == newer.vector() and g.seen["n1"] == newer.vector()
    # the same view again: nothing to answer
    assert g.on_gossip("n3", Gossip(newer.to_bytes(), reply=True)) == []
    # an older view: a push is answered with this node's view, a pull is not
    old = initial_membership(config.initial_partitioning().ring)
    assert g.on_gossip("n4", Gossip(old.to_bytes(), reply=True)) == [
        Send("n4", Gossip(newer.to_bytes(), reply=False))]
    assert g.on_gossip("n4", Gossip(old.to_bytes(), reply=False)) == []
    assert g.view == newer


def test_a_view_with_a_token_claimed_twice_is_refused_and_nothing_changes() -> None:
    config = make_config(4)
    g = gossiper("n1", config=config)
    before = g.view
    token = config.initial_partitioning().ring.tokens_of("n2")[0]
    clash = before.announce("n5", status=MemberStatus.JOINING, tokens=(token,))
    with pytest.raises(BadMessageError):
        g.on_gossip("n2", Gossip(clash.to_bytes()))
    assert g.view == before and "n2" not in g.seen


def test_a_seen_digest_is_merged_and_a_push_answered_only_when_they_differ() -> None:
    g = gossiper("n1")
    mine = g.seen["n1"]
    theirs = {"n2": {"n1": 1, "n2": 7}}
    out = g.on_seen("n2", SeenDigest(seen_to_bytes(theirs), reply=True))
    merged = {"n1": mine, "n2": {"n1": 1, "n2": 7}}
    assert g.seen == merged
    assert out == [Send("n2", SeenDigest(seen_to_bytes(merged), reply=False))]
    assert g.on_seen("n2", SeenDigest(seen_to_bytes(theirs), reply=False)) == []
    assert g.on_seen("n3", SeenDigest(seen_to_bytes(merged), reply=True)) == []


def test_the_handler_map_passes_the_sender_and_the_message_on() -> None:
    config = make_config(4)
    g = gossiper("n1", config=config)
    handlers = g.handlers()
    ask = Gossip(initial_membership(config.initial_partitioning().ring).to_bytes())
    assert handlers[Gossip](0.0, "n5", ask) == [
        Send("n5", Gossip(g.view.to_bytes(), reply=False))]
    theirs = {"n2": {"n2": 3}}
    assert handlers[SeenDigest](0.0, "n2", SeenDigest(seen_to_bytes(theirs))) != []
    assert g.seen["n2"] == {"n2": 3}
    g.releasable = False
    assert handlers[Settled](0.0, "n2", Settled("n2")) == [] and g.releasable
    assert handlers[HandoffDone](0.0, "n2", HandoffDone("n1")) == []


def test_only_a_settlement_from_its_own_node_lets_the_copies_go() -> None:
    g = gossiper("n1")
    g.releasable = False
    assert g.on_settled("n2", Settled("n3")) == [] and not g.releasable
    assert g.on_settled("n1", Settled("n1")) == [] and not g.releasable
    assert g.on_settled("n3", Settled("n3")) == [] and g.releasable


# ------------------------------------------------------------ leaving


def _gossips(effects: list[Effect]) -> list[Send]:
    return [e for e in effects if isinstance(e, Send) and isinstance(e.message, Gossip)]


def test_a_leaving_node_with_tokens_leaves_the_ring_and_gossips_it() -> None:
    """Strategies 1 and 2: a leaving node keeps its tokens until it has left; then
    its entry is ``left`` with no tokens, and it gossips that view to a peer."""
    config = make_config(4, partitioning="strategy1", tokens_per_node=4)
    g = gossiper("n1", config=config)
    g.leave()
    mine = g.view.get("n1")
    assert mine is not None and mine.status is MemberStatus.LEAVING and mine.tokens
    out = g.finish_leaving(0.0)
    mine = g.view.get("n1")
    assert mine is not None and (mine.status, mine.tokens) == (MemberStatus.LEFT, ())
    sends = _gossips(out)
    assert len(sends) == 1 and sends[0].dest != "n1"
    assert sends[0].message == Gossip(g.view.to_bytes(), reply=True)


def test_the_last_of_two_nodes_but_one_may_leave() -> None:
    """A two-node ring: the leaving node still leaves (its members' ring has two
    nodes: it and the one that stays). N = 1: with N = 2 the leave waits at its
    ``left`` since session 24 (it would leave fewer than N members,
    :func:`impl.membership.departure_shortfall`)."""
    config = make_config(2, partitioning="strategy1", tokens_per_node=4, n=1, r=1, w=1)
    g = gossiper("n1", config=config)
    g.leave()
    g.finish_leaving(0.0)
    mine = g.view.get("n1")
    assert mine is not None and (mine.status, mine.tokens) == (MemberStatus.LEFT, ())


# ------------------------------------------------------------ joining


def _joiner(config: ClusterConfig) -> Gossiper:
    """``n5``, restarted while joining with a token of its own (pending ownership)."""
    storage = MemoryStorage()
    storage.set_meta("membership", _joining_view(config).to_bytes())
    return gossiper("n5", config=config, storage=storage)


def test_a_joining_node_serves_once_every_serving_member_handed_it_over() -> None:
    """``HandoffDone`` from each serving member: after the last one the joining node
    announces itself up (its own entry) and gossips it; not before, and a message
    naming another node, or a node not joining, changes nothing."""
    config = make_config(4)
    g = _joiner(config)
    assert g.on_handoff_done("n1", HandoffDone("n9")) == [] and g.handed_from == set()
    for src in ("n1", "n2", "n3"):
        assert g.on_handoff_done(src, HandoffDone("n5")) == []
        assert g.status is MemberStatus.JOINING
    out = g.on_handoff_done("n4", HandoffDone("n5"))
    assert g.handed_from == {"n1", "n2", "n3", "n4"}
    mine = g.view.get("n5")
    assert mine is not None and mine.status is MemberStatus.UP and mine.tokens == (12345,)
    assert _gossips(out) and all(s.message == Gossip(g.view.to_bytes(), reply=True)
                                 for s in _gossips(out))
    # now up: a late HandoffDone changes nothing
    view = g.view
    assert g.on_handoff_done("n1", HandoffDone("n5")) == [] and g.view == view


def test_a_node_that_is_up_ignores_a_handoff_done() -> None:
    g = gossiper("n1")
    view = g.view
    assert g.on_handoff_done("n2", HandoffDone("n1")) == []
    assert g.view == view and g.handed_from == set()


# ------------------------------------------------------------ settling


def _settle_state(g: Gossiper) -> tuple[object, bool]:
    return g.settle_after, g.announced_settled


def test_settling_announces_it_persists_it_and_tells_every_other_serving_member() -> None:
    g = gossiper("n1")
    assert g.settle() == []  # no change of this node's to settle
    assert _settle_state(g) == (None, False)
    g.settling, g.settle_after = frozenset({"n1"}), {"n1": 1}
    out = g.settle()
    assert out == [Send(node, Settled("n1")) for node in ("n2", "n3", "n4")]
    assert _settle_state(g) == (None, True)
    mine = g.view.get("n1")
    assert mine is not None and mine.settled and mine.version == 2
    assert g.settling == frozenset()
    again = gossiper("n1", storage=g.storage)
    assert again.announced_settled is True


# ------------------------------------------------------------ transfers as hints


def _hints(g: Gossiper) -> set[tuple[str, bytes, bytes]]:
    return {(h.intended, h.key, h.record) for h in g.hints.all()}


def test_a_transfer_hint_is_replaced_by_a_newer_record_for_its_node_only() -> None:
    g = gossiper("n1")
    g._hand("n5", b"k", R1)
    g._hand("n6", b"k", R1)
    g._hand("n5", b"j", R1)
    g._hand("n5", b"k", R2)  # replaces n5's hint of k only
    assert _hints(g) == {("n5", b"k", R2), ("n6", b"k", R1), ("n5", b"j", R1)}
    g._hand("n5", b"k", R2)  # the same record again: kept once
    assert _hints(g) == {("n5", b"k", R2), ("n6", b"k", R1), ("n5", b"j", R1)}
    assert len(g.hints.all()) == 3


def test_a_change_that_has_not_settled_survives_a_restart() -> None:
    """:data:`SETTLING_META` keeps the nodes whose change has not settled, what this
    node waits for every member to have seen, and the ring before; empty bytes (not
    an unreadable entry) once nothing is left to settle."""
    g = gossiper("n1")
    g._persist_settling()
    assert g.storage.get_meta(SETTLING_META) == b""
    previous = g.partitioning
    g.settling, g.settle_after, g.previous = frozenset({"n1", "n5"}), {"n1": 2}, previous
    g._persist_settling()
    again = gossiper("n1", storage=g.storage)
    assert again.settling == frozenset({"n1", "n5"}) and again.settle_after == {"n1": 2}
    assert again.previous is not None and again.previous.ring == previous.ring
    other = gossiper("n2", storage=g.storage)  # not its own change: nothing to wait for
    assert other.settling == frozenset({"n1", "n5"}) and other.settle_after is None
    g.settling = frozenset()
    g._persist_settling()
    assert g.storage.get_meta(SETTLING_META) == b""
    assert gossiper("n1", storage=g.storage).settling == frozenset() and not g.log


# ------------------------------------------------------------ rounds


def test_a_settled_change_sets_the_reaps_again_once_and_only_when_no_change_is_on() -> None:
    g = gossiper("n1")
    assert g.take_reap_due() is False
    g.reap_due = True
    g.settling = frozenset({"n5"})  # another change in progress: wait for it
    assert g.take_reap_due() is False and g.reap_due is True
    g.settling = frozenset()
    assert g.take_reap_due() is True
    assert g.take_reap_due() is False and g.reap_due is False


def test_a_round_sets_the_reaps_again_at_the_keys_top_n_on_the_serving_ring() -> None:
    config = make_config(4)
    g = gossiper("n1", config=config)
    calls: list[float] = []
    tops: list[tuple[str, ...]] = []
    marker = SetTimer(GossipRound(), -1.0)

    def after_change(now: float, top: Callable[[bytes], tuple[str, ...]]) -> list[Effect]:
        calls.append(now)
        tops.append(top(b"some-key"))
        return [marker]

    g.after_change = after_change
    assert marker not in g.on_round(1.0, GossipRound()) and calls == []
    g.reap_due = True
    out = g.on_round(2.0, GossipRound())
    assert out[:2] == [SetTimer(GossipRound(), 2.0 + config.gossip_interval), marker]
    assert calls == [2.0]
    assert tops == [g.partitioning.preference_list(b"some-key", config.n)]
    assert len(tops[0]) == config.n
    assert g.on_round(3.0, GossipRound()).count(marker) == 0 and calls == [2.0]


def test_a_round_gossips_the_view_to_a_random_peer() -> None:
    g = gossiper("n1", seed=7)
    out = g.on_round(0.0, GossipRound())
    expected = random.Random(7).choice(["n2", "n3", "n4"])
    assert _gossips(out) == [Send(expected, Gossip(g.view.to_bytes(), reply=True))]


def test_a_node_about_to_join_asks_a_seed_other_than_itself() -> None:
    config = make_config(4, seeds=("n2", "n5"))
    g = gossiper("n5", config=config, seed=3)
    assert g.join_pending
    for _ in range(5):
        assert [s.dest for s in _gossips(g.on_round(0.0, GossipRound()))] == ["n2"]
    lonely = gossiper("n5", config=make_config(4, seeds=("n5",)))
    assert _gossips(lonely.on_round(0.0, GossipRound())) == []


def test_a_node_settles_its_change_once_every_member_has_seen_its_handover() -> None:
    g = gossiper("n1")
    handover = {"n1": 1, "n2": 1}
    g.settling, g.settle_after = frozenset({"n1"}), handover
    g.seen = {node: dict(handover) for node in ("n1", "n2", "n3")}
    assert g.settle_if_seen() == []  # n4 not known to have seen it
    g.seen["n4"] = {"n1": 1, "n2": 0}
    assert g.settle_if_seen() == []  # n4 saw an older view
    g.seen["n4"] = dict(handover)
    assert g.settle_if_seen() == [Send(node, Settled("n1")) for node in ("n2", "n3", "n4")]
    assert g.settle_if_seen() == []  # settled: nothing more
    g.settling, g.settle_after = frozenset({"n2"}), None  # not this node's change
    assert g.settle_if_seen() == []


# ------------------------------------------------------------ an old owner's transfer


KEYS = [f"k{i}".encode() for i in range(40)]


def _old_owner(handover: str = "immediate") -> tuple[Gossiper, list[bytes], list[bytes]]:
    """``n2`` holding ``KEYS`` (record ``R1`` each) when ``n5`` joins with one
    token (the naive handover: the transfer starts at once): the keys it hands to
    ``n5`` (it left their top N), and the keys it keeps."""
    config = make_config(4, join_handover=handover)
    g = gossiper("n2", config=config)
    for key in KEYS:
        g.storage.write(key, R1)
    old = g.future
    g._apply(_joining_view(config))
    n = config.n
    moved = [k for k in KEYS if "n2" in old.preference_list(k, n)
             and "n2" not in g.future.preference_list(k, n)]
    kept = [k for k in KEYS if "n2" in g.future.preference_list(k, n)]
    assert moved and kept
    return g, moved, kept


def _due(g: Gossiper) -> bool:
    return g.release_due


def test_a_changed_ring_hands_every_key_this_node_left_to_its_new_owner() -> None:
    g, moved, kept = _old_owner()
    assert g.moved_from is not None and g.release_due and g.releasable
    assert _hints(g) == {("n5", key, R1) for key in moved}
    assert g.stats["rebalance-hints"] == len(moved)
    assert g._new_owners(g.moved_from, g.future, kept[0]) == ()
    assert g._new_owners(g.moved_from, g.future, moved[0]) == ("n5",)
    g._rebalance(g.moved_from, g.future)  # again (a restart's redo): counted again
    assert g.stats["rebalance-hints"] == 2 * len(moved)
    assert _hints(g) == {("n5", key, R1) for key in moved}


def test_a_hint_merged_at_an_old_owner_is_handed_on_to_the_keys_new_owners() -> None:
    g, moved, kept = _old_owner()
    g.transferred = {"n5", "n4"}
    g.release_due = False
    g.storage.write(moved[0], R2)
    g.hand_on(moved[0])
    assert ("n5", moved[0], R2) in _hints(g) and ("n5", moved[0], R1) not in _hints(g)
    assert g.transferred == {"n4"} and _due(g)
    before = _hints(g)
    g.hand_on(kept[0])  # still a replica: nothing to hand on
    assert _hints(g) == before and _due(g)
    g.storage.write(moved[1], b"")  # reaped: nothing to hand on
    g.hand_on(moved[1])
    assert _hints(g) == before
    g.transfer_after = {"n5": 1}  # a transfer that waits: nothing yet
    g.storage.write(moved[2], R3)
    g.hand_on(moved[2])
    assert _hints(g) == before


def test_a_node_that_moved_no_range_hands_nothing_on() -> None:
    g = gossiper("n2", config=make_config(4, join_handover="immediate"))
    g.storage.write(b"k1", R1)
    g.hand_on(b"k1")
    g.on_write(b"k1", R1)
    assert g.hints.all() == []


def test_a_late_write_at_an_old_owner_is_handed_on_until_the_transfer_is_done() -> None:
    g, moved, kept = _old_owner()
    g.release_due = False
    g.on_write(moved[0], b"")  # a reap: nothing
    assert ("n5", moved[0], R1) in _hints(g) and not _due(g)
    g.on_write(moved[0], R2)
    assert ("n5", moved[0], R2) in _hints(g) and _due(g)
    before = _hints(g)
    g.on_write(kept[0], R2)
    assert _hints(g) == before and _due(g)  # a kept key leaves release_due as it was
    g.transferred = {"n5"}  # the transfer to n5 is done: a later write is not handed on
    g.on_write(moved[1], R2)
    assert ("n5", moved[1], R1) in _hints(g) and ("n5", moved[1], R2) not in _hints(g)
    g.let_go_keys = {moved[1]}  # ... unless the copy was let go: then it is, again
    g.on_write(moved[1], R3)
    assert ("n5", moved[1], R3) in _hints(g) and "n5" not in g.transferred
    g.transfer_after = {"n5": 1}  # a transfer that waits carries what the store holds
    g.on_write(moved[2], R4)
    assert ("n5", moved[2], R4) not in _hints(g)


def test_an_acknowledged_transfer_lets_the_copy_go_with_the_naive_handover_only() -> None:
    g, moved, kept = _old_owner()
    for hint in g.hints.all():
        if hint.key != moved[0]:
            g.hints.remove(hint.hint_id)
    assert g.let_go("n5", moved[0], R1) is True  # one hint left for n5: not done
    assert g.let_go_keys == {moved[0]} and "n5" not in g.transferred
    assert g.let_go("n5", moved[1], b"other") is False  # the copy changed since
    assert g.let_go("n5", kept[0], R1) is False  # still a replica
    g.hints.remove(g.hints.all()[0].hint_id)
    assert g.let_go("n5", moved[1], R1) is True and g.transferred == {"n5"}
    assert g.let_go_keys == {moved[0], moved[1]}
    pending, moved, _ = _old_owner("pending")
    assert pending.let_go("n5", moved[0], R1) is False and pending.let_go_keys == set()


# ------------------------------------------------------------ pending ownership's rings


def test_a_view_that_leaves_the_serving_ring_as_it_was_changes_no_serving_state() -> None:
    """Pending ownership: ``n5`` joining does not change the serving ring (it serves
    nothing before its handover): no ring listener runs, no joint quorum starts."""
    config = make_config(4)
    g = gossiper("n1", config=config)
    calls: list[int] = []
    g.ring_listeners.append(lambda: calls.append(1))
    g._apply(_joining_view(config))
    assert calls == [] and g.previous is None and g.settling == frozenset()
    assert g.future is not g.partitioning  # the future ring has n5: a change is on


def test_overlapping_changes_keep_the_ring_before_the_first() -> None:
    config = make_config(4)
    g = gossiper("n1", config=config)
    first = g.partitioning
    up5 = _joining_view(config).announce("n5", status=MemberStatus.UP)
    g.reap_due = True  # an earlier change settled, its reaps not set again yet: kept
    g._apply(up5)
    assert g.reap_due is True
    assert g.previous is not None and g.previous.ring == first.ring
    assert g.settling == frozenset({"n5"})
    up6 = up5.announce("n6", status=MemberStatus.UP, tokens=(99999,))
    g._apply(up6)
    assert g.previous.ring == first.ring and g.settling == frozenset({"n5", "n6"})
    fresh = gossiper("n1", config=config)
    fresh._apply(up5)  # pending: the reaps are set again once the change settled only
    assert fresh.reap_due is False and fresh.settling == frozenset({"n5"})


def test_a_token_of_a_member_that_left_during_a_join_is_served_by_its_new_owner() -> None:
    """Strategy 3's case: ``n4`` left (its partition moved to ``n3``: ``left``) while
    ``n5`` joins with no tokens yet. Only a *leaving* member keeps serving a token it
    gave away (``handed_out``); one that left does not, nor does the joining node:
    the token is served by ``n3``, the view's serving ring."""
    config = make_config(4)
    g = gossiper("n1", config=config)
    ring = config.initial_partitioning().ring
    view = initial_membership(ring)
    view = view.announce("n3", tokens=(*ring.tokens_of("n3"), *ring.tokens_of("n4")))
    view = view.announce("n4", status=MemberStatus.LEFT, tokens=())
    view = view.announce("n5", status=MemberStatus.JOINING)
    served = g._serving(view)
    assert served.ring == view.ring((MemberStatus.UP, MemberStatus.LEAVING))
    assert served.ring.tokens_of("n3") == (*ring.tokens_of("n3"), *ring.tokens_of("n4"))
    assert g.storage.get_meta(SERVING_META) is None  # nothing kept: the view's ring


def _leave_claimed(config: ClusterConfig) -> tuple[Membership, Ring]:
    """Strategy 3's leave before the handover: ``n4`` leaving with no tokens (the
    claimant gave its token to ``n3``), and ``n6`` up with a token new to the ring."""
    ring = config.initial_partitioning().ring
    view = initial_membership(ring)
    view = view.announce("n3", tokens=(*ring.tokens_of("n3"), *ring.tokens_of("n4")))
    view = view.announce("n4", status=MemberStatus.LEAVING, tokens=())
    return view, ring


def test_a_leaving_member_serves_the_token_it_handed_out_until_it_has_left() -> None:
    config = make_config(4)
    g = gossiper("n1", config=config)
    view, ring = _leave_claimed(config)
    served = g._serving(view)
    assert served is g.partitioning and served.ring == ring  # the old ring, kept
    kept = g.storage.get_meta(SERVING_META)
    assert kept is not None and json.loads(kept.decode()) == {
        node: [str(t) for t in ring.tokens_of(node)] for node in ring.nodes}
    # a member new on the ring (up) serves its token at once
    view6 = view.announce("n6", status=MemberStatus.UP, tokens=(99999,))
    served = g._serving(view6)
    assert served.ring.tokens_of("n6") == (99999,)
    assert served.ring.tokens_of("n4") == ring.tokens_of("n4")
    # the change over: the view's ring again, the kept one cleared (empty bytes)
    assert g._serving(g.view).ring == ring and g.storage.get_meta(SERVING_META) == b""


def test_a_token_of_a_member_that_left_is_not_served_by_it() -> None:
    """``n4`` left with its token gone from the view (strategies 1 and 2) while ``n5``
    joins: no one serves that token (not ``n4``)."""
    config = make_config(4)
    g = gossiper("n1", config=config)
    view = initial_membership(config.initial_partitioning().ring)
    view = view.announce("n4", status=MemberStatus.LEFT, tokens=())
    view = view.announce("n5", status=MemberStatus.JOINING)
    assert "n4" not in g._serving(view).ring.nodes


def _previous(g: Gossiper) -> object:
    return g.previous


def _due_flags(g: Gossiper) -> tuple[bool, bool]:
    return g.releasable, g.reap_due


def test_one_change_settling_keeps_the_other_and_this_nodes_wait() -> None:
    g = gossiper("n1")
    g.settling, g.settle_after, g.previous = frozenset({"n1", "n5"}), {"n1": 2}, g.partitioning
    view = g.view.announce("n5", status=MemberStatus.UP, tokens=(12345,), settled=True)
    g._settled(view)
    assert g.settling == frozenset({"n1"}) and g.settle_after == {"n1": 2}
    raw = g.storage.get_meta(SETTLING_META)
    assert raw is not None and json.loads(raw.decode())["settling"] == ["n1"]
    g.releasable = False
    g._settled(view.announce("n1", settled=True))
    assert g.settling == frozenset() and _previous(g) is None
    assert _settle_state(g)[0] is None and _due_flags(g) == (True, True)
    assert g.storage.get_meta(SETTLING_META) == b""


def test_a_restarted_node_forgets_a_change_that_settled_and_keeps_one_that_has_not() -> None:
    config = make_config(4)
    storage = MemoryStorage()
    view = _joining_view(config).announce("n5", status=MemberStatus.UP)
    storage.set_meta("membership", view.to_bytes())
    storage.set_meta(SETTLING_META, json.dumps(
        {"settling": ["n5"], "after": None, "previous": None}).encode())
    g = gossiper("n1", config=config, storage=storage)
    assert g.settling == frozenset({"n5"}) and g.previous is None and not g.log
    storage.set_meta("membership", view.announce("n5", settled=True).to_bytes())
    g = gossiper("n1", config=config, storage=storage)
    assert g.settling == frozenset() and not g.log


def test_a_change_is_on_while_a_transfer_waits_or_the_future_ring_is_not_served() -> None:
    g = gossiper("n1")
    assert not g.changing()
    g.transfer_after = {"n1": 1}
    assert g.changing()
    g.transfer_after = None
    g.future = g._partitioning(g.partitioning.ring)  # another ring object: not served
    assert g.changing()


def test_a_hint_scan_lets_go_the_keys_handed_to_every_new_owner() -> None:
    assert gossiper("n2").scanned(set()) == []  # no change: nothing
    g, moved, _ = _old_owner()
    g.transfer_after = {"n5": 1}  # a transfer that waits: nothing either
    assert g.scanned(set()) == [] and g.transferred == set()
    g.transfer_after = None
    g.transferred = {"n6"}
    assert g.scanned({"n5"}) == []  # n5 still has hints: nothing to let go yet
    assert g.transferred == {"n6", "n1", "n2", "n3", "n4"} and _due(g)
    assert sorted(g.scanned(set())) == sorted(moved)
    assert g.let_go_keys == set(moved) and not _due(g)
    assert g.scanned(set()) == []  # everything let go already


def _status(g: Gossiper) -> object:
    return g.status


def test_a_strategy3_leave_asked_during_a_change_waits_for_it() -> None:
    g = gossiper("n2", config=make_config(4, partitioning="strategy3"))
    g.settling = frozenset({"n5"})  # a change in progress
    assert g.leave() == [] and g.leave_requested
    assert _status(g) is MemberStatus.UP
    g.settling = frozenset()
    g.on_round(0.0, GossipRound())
    assert _status(g) is MemberStatus.LEAVING


def test_a_node_restarted_after_its_transfer_keeps_its_copies_until_the_change_settled() -> None:
    config = make_config(4)
    storage = MemoryStorage()
    view = _joining_view(config).announce("n5", status=MemberStatus.UP)
    storage.set_meta("membership", view.to_bytes())
    storage.set_meta(SETTLING_META, json.dumps(
        {"settling": ["n5"], "after": None, "previous": None}).encode())
    storage.set_meta(HANDED_META, gossiper("n1", config=config, storage=storage)._ring_id())
    g = gossiper("n1", config=config, storage=storage)
    assert g.moved_from is not None and g.release_due and not g.releasable
    storage.set_meta(SETTLING_META, b"")  # the change settled before the crash
    assert gossiper("n1", config=config, storage=storage).releasable


def _restarted(config: ClusterConfig, handed: Membership, now: Membership) -> Gossiper:
    """``n1`` restarted with view ``now`` after it made the transfer of view ``handed``
    (:data:`HANDED_META` written as the node writes it)."""
    storage = MemoryStorage()
    storage.set_meta("membership", handed.to_bytes())
    storage.set_meta(HANDED_META, gossiper("n1", config=config, storage=storage)._ring_id())
    storage.set_meta("membership", now.to_bytes())
    return gossiper("n1", config=config, storage=storage)


def test_a_restart_redoes_a_transfer_only_for_another_future_ring() -> None:
    config = make_config(4)
    v1 = _joining_view(config)
    v2 = v1.announce("n6", status=MemberStatus.JOINING, tokens=(99999,))
    assert _restarted(config, v1, v2).transfer_after is not None  # another ring: redo
    assert _restarted(config, v1, v1).transfer_after is None
    # strategies 1 and 2: a leaving node is off the future ring
    config1 = make_config(4, partitioning="strategy1", tokens_per_node=2)
    up = initial_membership(config1.initial_partitioning().ring)
    leaving = up.announce("n4", status=MemberStatus.LEAVING)
    assert _restarted(config1, up, leaving).transfer_after is not None
    # strategy 3: a leaving node keeps its tokens on it until the claim
    config3 = make_config(4, partitioning="strategy3")
    up = initial_membership(config3.initial_partitioning().ring)
    leaving = up.announce("n4", status=MemberStatus.LEAVING)
    g = _restarted(config3, up, leaving)
    assert g.transfer_after is None and g.moved_from is not None


# ------------------------------------------------------------ session 10: on_gossip


def test_a_view_that_does_not_parse_is_the_peers_fault_with_the_parse_error() -> None:
    """A Gossip whose view does not parse raises :class:`PeerDataError` of case
    ``view`` carrying the parse error's own message (kills ``peer_data_error("view",
    None)``, whose message is ``None``); nothing changes."""
    g = gossiper("n1")
    before = g.view
    with pytest.raises(PeerDataError) as raised:
        g.on_gossip("n2", Gossip(b"[]"))
    assert raised.value.what == "view"
    assert str(raised.value) == "membership: expected a JSON object"
    assert g.view == before and "n2" not in g.seen


def test_a_settlement_outranked_by_a_move_is_announced_again() -> None:
    """A node that announced its change settled and then merges a view in which a
    newer status of its own (announced before a restart it lost) is not settled
    announces the settlement again, one version above (kills ``mine = None``,
    ``merged.get(None)`` and ``mine is None``); without that announcement of its
    own, the merged entry is kept as it came."""
    config = make_config(4)
    g = gossiper("n1", config=config)
    g.settling, g.settle_after = frozenset({"n1"}), {"n1": 1}
    g.settle()
    tokens = config.initial_partitioning().ring.tokens_of("n1")
    # (status-only announcements write the status register only: session 26's review)
    assert g.view.get("n1") == Member("n1", 2, MemberStatus.UP, tokens, settled=True,
                                      tokens_version=1)
    moved = initial_membership(config.initial_partitioning().ring).announce("n1")
    moved = moved.announce("n1")  # version 3, not settled: outranks the settlement
    g.on_gossip("n2", Gossip(moved.to_bytes(), reply=False))
    assert g.view.get("n1") == Member("n1", 4, MemberStatus.UP, tokens, settled=True,
                                      tokens_version=1)
    other = gossiper("n1", config=config)
    other.on_gossip("n2", Gossip(moved.to_bytes(), reply=False))
    assert other.view.get("n1") == Member("n1", 3, MemberStatus.UP, tokens, tokens_version=1)


def test_a_node_that_left_joins_again_as_joining_when_the_seed_still_lists_it() -> None:
    """Strategy 3: a node that left and starts again on an empty disk (so it waits for
    a seed's view) finds itself ``left`` in the seed's view: it announces itself
    ``joining``, one version above, with no tokens (the claimant gives it its
    partitions), not ``left`` again (kills ``announce(self.name, status=None)`` and
    ``announce(self.name)`` in :meth:`Gossiper.on_gossip`), and pushes that view
    back to the seed that answered it (kills ``_gossip_to(None)``)."""
    config = make_config(4, partitioning="strategy3")
    seed_view = initial_membership(config.initial_partitioning().ring)
    seed_view = seed_view.announce("n5", MemberStatus.JOINING).announce(
        "n5", MemberStatus.LEFT, (), settled=True)  # (unsettled: it settles first)
    g = gossiper("n5", config=config)
    waits = g.join_pending
    assert waits
    out = g.on_gossip("n1", Gossip(seed_view.to_bytes(), reply=False))
    assert g.view.get("n5") == Member("n5", 3, MemberStatus.JOINING, tokens_version=2)
    assert not g.join_pending
    assert out == [Send("n1", Gossip(g.view.to_bytes(), reply=True))]


def test_a_round_may_gossip_with_a_seed_outside_the_view() -> None:
    """:func:`membership.pick_gossip_peer` draws among the live members *and* the
    configured seeds (a seed not in the view, ``n9`` here, included): over 40
    rounds every one of them is drawn, and no other node (kills the seeds left out
    of :meth:`Gossiper._peer`)."""
    g = gossiper("n1", config=make_config(4, seeds=("n9",)), seed=3)
    peers = {send.dest for r in range(40)
             for send in _gossips(g.on_round(float(r), GossipRound()))}
    assert peers == {"n2", "n3", "n4", "n9"}


def test_a_leave_announced_forgets_the_settlement_of_the_earlier_change() -> None:
    """A node that announced its earlier change settled and then announces its leave
    (strategy 1: at once) has a new change of its own: ``announced_settled`` is
    false again, and persisted so (``"settled": false``, not ``null``: kills
    ``announced_settled = None`` and ``= True`` in
    :meth:`Gossiper._leave_if_requested`)."""
    g = gossiper("n1", config=make_config(4, partitioning="strategy1"))
    g.settling, g.settle_after = frozenset({"n1"}), {"n1": 1}
    g.settle()
    assert _settle_state(g) == (None, True)
    g.leave()
    assert _status(g) is MemberStatus.LEAVING and _settle_state(g) == (None, False)
    assert json.loads(g.storage.get_meta(ANNOUNCED_META) or b"") == {
        "settled": False, "leave": True}


def _round_messages(g: Gossiper) -> list[type]:
    return [type(e.message) for e in g.on_round(0.0, GossipRound()) if isinstance(e, Send)]


def test_a_round_sends_the_seen_digest_only_with_pending_ownership_during_a_change() -> None:
    """A round pushes the seen digest with the view only with pending ownership, from
    a member that is up (not joining), and only while a change is on: a transfer
    waits, or the future ring is not served yet, or a change has not settled (kills
    ``and`` for ``or`` between the two parts of :meth:`Gossiper._gossip_to`'s test,
    ``pending or``, and ``transfer_after ... and future ...``)."""
    pending = make_config(4, join_handover="pending")
    g = gossiper("n1", config=pending)
    assert _round_messages(g) == [Gossip]
    g.transfer_after = {"n1": 1}  # future is the serving ring: the wait alone
    assert _round_messages(g) == [Gossip, SeenDigest]
    g.transfer_after, g.future = None, g.partitioning.with_node("n5", random.Random(1))
    assert _round_messages(g) == [Gossip, SeenDigest]  # the future ring alone
    g.future, g.settling = g.partitioning, frozenset({"n2"})
    assert _round_messages(g) == [Gossip, SeenDigest]  # a change not settled alone
    naive = gossiper("n1", config=make_config(4, join_handover="immediate"))
    naive.transfer_after, naive.settling = {"n1": 1}, frozenset({"n2"})
    assert _round_messages(naive) == [Gossip]
    joiner = gossiper("n1", config=pending)
    joiner.view = joiner.view.announce("n1", status=MemberStatus.JOINING)
    joiner.transfer_after = {"n1": 1}
    assert _round_messages(joiner) == [Gossip]


def test_the_claimant_hands_out_the_partitions_of_a_leaving_member_of_a_two_node_ring() -> None:
    """Strategy 3 on two nodes: the claimant moves every partition of the other,
    leaving, member to itself (a ring of two nodes is enough: kills ``len(ring.nodes)
    > 2`` in :meth:`Gossiper.claim`), counted as one claim, the leaving entry bumped
    by two and holding no tokens. N = 1: with N = 2 the claim waits since session
    24 (it would leave fewer than N members)."""
    config = make_config(2, partitioning="strategy3", n=1, r=1, w=1)
    g = gossiper("n1", config=config)
    leaving = g.view.announce("n2", MemberStatus.LEAVING)
    g.on_gossip("n2", Gossip(leaving.to_bytes(), reply=False))
    g.claim()
    # (its status as n2 announced it, at version 2: the claim moves tokens only, session 26)
    assert g.view.get("n2") == Member("n2", 4, MemberStatus.LEAVING, status_version=2)
    n1 = g.view.get("n1")
    assert n1 is not None and len(n1.tokens) == config.partitions
    assert g.stats["claims"] == 1


def test_a_round_without_a_reap_hook_keeps_the_reap_due() -> None:
    """``after_change`` is None until the node wires the reaper's hook: a round with a
    reap due then sets no reap and keeps it due for the hook (kills ``after_change =
    ""`` in :meth:`Gossiper.__init__`, which a round would call)."""
    g = gossiper("n1")
    assert g.after_change is None
    g.reap_due = True
    out = g.on_round(1.0, GossipRound())
    assert out[0] == SetTimer(GossipRound(), 1.0 + g.config.gossip_interval)
    assert [e for e in out if not isinstance(e, Send)] == [out[0]]
    assert g.reap_due


def _ring_bytes(ring: Ring) -> bytes:
    return json.dumps({node: [str(t) for t in ring.tokens_of(node)]
                       for node in ring.nodes}).encode()


@pytest.mark.parametrize("case", ["in-change", "no-change", "naive"])
def test_a_kept_serving_ring_comes_back_only_during_a_change_with_pending_ownership(
        case: str) -> None:
    """After a restart the serving ring kept through a change (:data:`SERVING_META`)
    is used as it was persisted while the view still shows a member joining or
    leaving, with pending ownership only; else the view's ring (kills the kept ring
    not parsed, ``_partitioning(None)``, and ``not pending and not in change`` in
    :meth:`Gossiper._restore_serving`)."""
    config = make_config(4, join_handover="immediate" if case == "naive" else "pending")
    initial = config.initial_partitioning().ring
    kept = initial.with_node("n5", (54321,))  # no view's ring: n5 announces 12345
    storage = MemoryStorage()
    view = _joining_view(config) if case != "no-change" else initial_membership(initial)
    storage.set_meta("membership", view.to_bytes())
    storage.set_meta(SERVING_META, _ring_bytes(kept))
    g = gossiper(config=config, storage=storage)
    from_view = g._routing_partitioning(view).ring
    assert from_view != kept
    assert g.partitioning.ring == (kept if case == "in-change" else from_view)
    assert not g.log


def test_the_future_ring_of_a_view_whose_every_member_leaves_is_the_views() -> None:
    """Strategy 1, the naive handover: when every member holding tokens is leaving (no
    routing ring of joining and up members), the future ring is the view's ring of
    its leaving members, not the configuration's initial ring (kills ``or`` to
    ``and`` in :meth:`Gossiper._routing_partitioning`'s fallback)."""
    config = make_config(2, partitioning="strategy1", tokens_per_node=4, n=2, r=1, w=1,
                         join_handover="immediate")
    g = gossiper("n1", config=config)
    view = g.view.announce("n3", MemberStatus.UP, (12345,))
    for node in ("n1", "n2", "n3"):
        view = view.announce(node, MemberStatus.LEAVING)
    g.on_gossip("n2", Gossip(view.to_bytes(), reply=False))
    assert g.view == view
    assert g.future.ring == view.ring() != config.initial_partitioning().ring


# Session 28: session 27's outsider copies and strays (docs/refinement.md, "Session
# 28: forwarding and hints"). n1 of five nodes (N = 3); the rings are real ones.

def _outsider_node(**changes: object) -> tuple[Node, bytes, bytes]:
    """n1 of 5 (N = 3): (node, a key outside its top N, a key in it)."""
    node = Node("n1", make_config(5, n=3, r=2, w=2, **changes), MemoryStorage("always"),
                seed=1)
    node.start(0.0)
    keys = [b"k%d" % i for i in range(100)]
    outside = next(k for k in keys if "n1" not in node.preference_list(k)[:3])
    inside = next(k for k in keys if "n1" in node.preference_list(k)[:3])
    return node, outside, inside


def _ring_without_n1() -> Gossiper:
    """The gossiper of a cluster of n2-n5 (a real partitioning without n1)."""
    config = ClusterConfig(nodes=("n2", "n3", "n4", "n5"), n=3, r=2, w=2,
                           partitioning="evenly-spaced")
    other = Node("n2", config, MemoryStorage("always"), seed=1)
    return other.gossiper


def test_only_a_key_served_on_no_known_ring_is_noted_as_an_outsiders_copy() -> None:
    """``mark_outsider_copy__mutmut_1`` (noted without hinted handoff), ``_2`` (every
    key noted), ``_outsider__mutmut_4`` (served now but not on the future ring: an
    outsider), ``_15`` to ``_17`` (the ring the last transfer moved keys from asked
    for its whole preference list, or wrongly)."""
    node, outside, inside = _outsider_node()
    gossip = node.gossiper
    gossip.mark_outsider_copy(inside)
    assert gossip.outsider_keys == set()  # it serves the key
    gossip.future = _ring_without_n1().partitioning  # a change that moves n1 out
    assert "n1" not in gossip.future.preference_list(inside, 3)
    gossip.mark_outsider_copy(inside)
    assert gossip.outsider_keys == set()  # still served on the serving ring
    gossip.future = gossip.partitioning
    gossip.moved_from = gossip.partitioning  # a ring that does not hold it either
    gossip.mark_outsider_copy(outside)
    assert gossip.outsider_keys == {outside}
    node, outside, _ = _outsider_node(hinted_handoff=False)
    node.gossiper.mark_outsider_copy(outside)
    assert node.gossiper.outsider_keys == set()  # no copy is handed without handoff


def test_a_noted_key_still_coordinated_is_not_handed_at_a_scan() -> None:
    """``_hand_outsiders__mutmut_3`` (``coordinating(None)``): a key whose put is
    still coordinated here was handed before the put's end."""
    node, outside, _ = _outsider_node()
    gossip = node.gossiper
    gossip.mark_outsider_copy(outside)
    gossip.coordinating = lambda key: key == outside
    gossip._hand_outsiders()
    assert gossip.outsider_keys == {outside}
    gossip.coordinating = lambda key: False
    gossip._hand_outsiders()
    assert gossip.outsider_keys == set()


def test_each_stray_copy_handed_counts_one_stray_hint_per_owner() -> None:
    """``_hand_stray__mutmut_12`` to ``_15`` (the ``stray-hints`` statistic set,
    lowered, or under another name)."""
    node, outside, _ = _outsider_node()
    node.gossiper._hand_stray(outside, b"r1")
    node.gossiper._hand_stray(outside, b"r2")
    assert node.gossiper.stats["stray-hints"] == 6  # twice the key's three owners


def test_the_stray_look_flag_is_written_only_when_it_changes() -> None:
    """``_persist_strays__mutmut_3``, ``_5`` (the flag set with no stray kept: a
    restart would scan for strays), ``_6``, ``_8`` (written at every call)."""
    node, outside, _ = _outsider_node()
    gossip = node.gossiper
    gossip._persist_strays()
    assert gossip.storage.get_meta(STRAYS_META) is None  # nothing kept: nothing written
    gossip._hand_stray(outside, b"r1")
    gossip._persist_strays()
    assert gossip.storage.get_meta(STRAYS_META) == b"1"
    gossip.strays.clear()
    gossip._persist_strays()
    assert gossip.storage.get_meta(STRAYS_META) == b""


def _pending_node_storing(keys: list[bytes]) -> tuple[Node, MemoryStorage]:
    """n1 of 5 (N = 3), pending ownership, whose engine stores ``R1`` under ``keys``."""
    storage = MemoryStorage("always")
    for key in keys:
        storage.write(key, R1)
    node = Node("n1", make_config(5, n=3, r=2, w=2, join_handover="pending"), storage,
                seed=1)
    node.start(0.0)
    return node, storage


def test_the_stray_look_waits_for_no_change_and_skips_the_moved_from_ring() -> None:
    """``_hand_strays__mutmut_1`` (looked during a change while up), ``_11`` (the
    ring the last transfer moved keys from not asked: its keys handed as strays) and
    ``_23`` (``break`` for ``continue``: the look stopped at the first key kept)."""
    # the ring before: five nodes named in another order, so n1's arc is elsewhere
    # on the ring than on the cluster's own, and a scan meets kept and stray keys mixed
    before = Node("n1", ClusterConfig(nodes=("n5", "n4", "n3", "n2", "n1"), n=3, r=2, w=2,
                                      partitioning="evenly-spaced"),
                  MemoryStorage("always"), seed=1)
    before.start(0.0)
    keys = [b"k%d" % i for i in range(200)]
    inside = [k for k in keys if "n1" in before.preference_list(k)[:3]]
    stray = next(k for k in keys if "n1" not in before.preference_list(k)[:3]
                 and position_of(k) > min(map(position_of, inside)))
    node, storage = _pending_node_storing(inside)
    gossip = node.gossiper
    without = _ring_without_n1().partitioning
    gossip.stray_scan_due = True
    gossip.future = without  # a change in progress: no look
    gossip._hand_strays()
    assert gossip.stray_scan_due and gossip.strays == {}
    # the change done: n1 serves none of its keys now, but the ring before held them all
    gossip.partitioning = gossip.future = without
    gossip.moved_from = before.gossiper.partitioning
    gossip._hand_strays()
    assert not gossip.stray_scan_due and gossip.strays == {}
    storage.write(stray, R1)  # a key the ring before did not give n1 either
    gossip.stray_scan_due = True
    gossip._hand_strays()
    assert set(gossip.strays) == {stray}


def test_an_outsiders_copy_is_handed_once_per_record_and_counted_per_key() -> None:
    """``hand_outsider_copy__mutmut_12`` (the record handed already looked up under
    None: handed again) and ``_23`` (``outsider-copies`` set to 1)."""
    node, storage = _pending_node_storing([])
    gossip = node.gossiper
    keys = [b"k%d" % i for i in range(100)]
    first, second = [k for k in keys if "n1" not in node.preference_list(k)[:3]][:2]
    for key in (first, second):
        storage.write(key, R1)
    gossip.hand_outsider_copy(first)
    gossip.hand_outsider_copy(first)  # the same record: not handed again
    assert gossip.stats["stray-hints"] == 3
    gossip.hand_outsider_copy(second)
    assert gossip.stats["outsider-copies"] == 2 and gossip.stats["stray-hints"] == 6


# ---------------------------------------------------------------- session 30's run
# (docs/refinement.md, "Session 30: part of impl/gossip.py")


def test_a_strategy3_leave_waits_for_the_claimant_named_with_the_step_claim() -> None:
    """``handover_waiting__mutmut_27``, ``_29`` to ``_31`` (the claimant's step None,
    left out or reworded): a leaving node still holding its tokens under strategy 3
    waits for the claimant (the lowest-named up member with tokens) to claim them,
    and says ``"claim"`` word for word (``GET /status``, read by ``vdynamo leave``)."""
    g = gossiper("n2", config=make_config(4, partitioning="strategy3"))
    g.view = g.view.announce("n2", status=MemberStatus.LEAVING)
    assert g.handover_waiting() == {"n1": "claim"}


def test_a_removal_ranked_first_is_not_listed_waiting_for_the_leave_after_it() -> None:
    """``departures_waiting__mutmut_15`` (the departures going first taken for no
    node: every departure in flight): 4 members, N = 3, n3 force-removed and n4
    leaving; the removal goes first, so it alone leaves 3 members and does not wait,
    while the leave, counted after it, would leave 2 and waits."""
    g = gossiper("n1", config=make_config(4))
    g.view = (g.view.announce("n3", status=MemberStatus.REMOVING)
              .announce("n4", status=MemberStatus.LEAVING))
    g._waiting = {"n3": "stale", "n4": "stale"}
    waiting = g.departures_waiting()
    assert list(waiting) == ["n4"] and waiting["n4"].startswith("with n3 going too")


def test_a_waiting_transfer_moves_keys_from_the_persisted_ring_before_the_change() -> None:
    """``_ring_before__mutmut_4`` to ``_6`` (the persisted ring not read: the error is
    caught and the serving ring used): the ring kept in :data:`FROM_META` is the one
    a transfer that waits moves keys from."""
    g = gossiper("n1")
    kept = Ring.from_tokens({"n1": [10], "n2": [20], "n9": [30]})
    g.storage.set_meta(FROM_META, json.dumps(
        {node: [str(t) for t in kept.tokens_of(node)] for node in kept.nodes}).encode())
    assert g._ring_before().ring == kept and g.log == collections.deque(maxlen=100)


def test_a_removal_crosses_other_departures_and_refuses_a_member_off_the_ring() -> None:
    """Session 26's ``_only_leaves_besides`` mutants (a member not on the ring taken;
    another member's leave refusing the removal), kept now that a removal crosses any
    change in progress (session 31): another member's leave, with it settling, does
    not refuse n3's removal; a left n3 is refused, as no member on the ring."""
    g = gossiper("n1", config=make_config(4))
    g.view = g.view.announce("n2", status=MemberStatus.LEAVING)
    g.settling = frozenset({"n2"})
    assert _status_of_view(g.removal_view("n3"), "n3") is MemberStatus.REMOVING
    g.settling = frozenset({"n2", "n3"})
    assert _status_of_view(g.removal_view("n3"), "n3") is MemberStatus.REMOVING
    g.view = g.view.announce("n3", status=MemberStatus.LEFT)
    with pytest.raises(InvalidValueError, match=r"^force-remove: 'n3' is not a member "
                       r"\(it is left\)"):
        g.removal_view("n3")


def _status_of_view(view: Membership, node: str) -> MemberStatus | None:
    member = view.get(node)
    return None if member is None else member.status


def test_a_change_is_a_nodes_own_only_with_it_changing_and_no_other_departure() -> None:
    """``_only_change_of__mutmut_4`` (``and`` for ``or``: an up member's change
    taken), ``_11`` (the node's own leave counted as another's), ``_8``, ``_12``
    (no other change ever), ``_16`` (the members not departing counted), ``_1``,
    ``_17``, ``_18`` (another leave still holding its tokens not counted without
    ``claimant``), ``_19`` (``or``: any change while nothing settles), ``_21``
    (``<``: the node's own change settling refused)."""
    g = gossiper("n1", config=make_config(4))
    assert not g._only_change_of("n3")  # n3 is up: no change of its own
    g.view = g.view.announce("n3", status=MemberStatus.LEAVING)
    assert g._only_change_of("n3")  # its leave alone
    g.settling = frozenset({"n3"})
    assert g._only_change_of("n3")  # its own change settling
    g.settling = frozenset()
    g.view = g.view.announce("n2", status=MemberStatus.LEAVING)  # with its tokens
    assert not g._only_change_of("n3")
    assert g._only_change_of("n3", claimant=True)  # not claimed yet: no change


def test_the_hint_ids_for_nodes_are_those_of_their_kept_hints_only() -> None:
    """``_hint_ids_for`` (session 35's review, in place of ``_last_hint_id``): no id
    with no hint kept; with hints kept, the ids of those meant for the nodes asked,
    on every page of heads."""
    g = gossiper("n1")
    assert g._hint_ids_for({"n3"}) == frozenset()
    g.hints.add("n3", b"k", R1)
    g.hints.add("n4", b"j", R2)
    first, second = (h[0] for h in g.hints.heads(None, 10))
    assert g._hint_ids_for({"n3"}) == {first}
    assert g._hint_ids_for({"n3", "n4"}) == {first, second}
    assert g._hint_ids_for({"n9"}) == frozenset()


def test_a_noted_hint_is_found_kept_only_while_it_is() -> None:
    """``_any_kept`` (session 35's review, in place of ``_hint_up_to``): none of no
    ids; a noted id kept is found, the highest noted itself too; a kept hint not
    noted is not; a removed one no longer is."""
    g = gossiper("n1")
    g.hints.add("n3", b"k", R1)
    g.hints.add("n4", b"j", R2)
    first, second = (h[0] for h in g.hints.heads(None, 10))
    assert not g._any_kept(frozenset())
    assert g._any_kept(frozenset({first}))
    assert g._any_kept(frozenset({second}))
    assert not g._any_kept(frozenset({first + second}))  # never kept
    g.hints.remove(second)
    assert not g._any_kept(frozenset({second}))
    assert g._any_kept(frozenset({first, second}))


def test_the_members_that_handed_a_removal_over_are_counted_per_removed_node() -> None:
    """``_removal_done__mutmut_2`` (the handovers kept under None: every removal's in
    one set): of two removals, one handed over by n4 alone is not announced done with
    the other's handovers by n1 to n3 counted for it, nor the other; each is once all
    four survivors handed it; then it has no tokens (``_30``: kept) and its
    handovers are forgotten (``_32``: kept for good)."""
    g = gossiper("n1", config=make_config(6))
    g.view = (g.view.announce("n5", status=MemberStatus.REMOVING)
              .announce("n6", status=MemberStatus.REMOVING))
    for src in ("n1", "n2", "n3"):
        g._removal_done("n5", src)
    g._removal_done("n6", "n4")
    assert _status_of(g, "n5") is _status_of(g, "n6") is MemberStatus.REMOVING
    g._removal_done("n5", "n4")
    assert _status_of(g, "n5") is MemberStatus.REMOVED
    assert _status_of(g, "n6") is MemberStatus.REMOVING
    held = g.view.get("n5")  # removed with no tokens; its handovers forgotten
    assert held is not None and held.tokens == () and set(g.removal_handed) == {"n6"}


def _status_of(g: Gossiper, node: str) -> object:
    member = g.view.get(node)
    return None if member is None else member.status


def test_a_removals_hints_are_out_only_once_none_is_kept_for_it() -> None:
    """``_removal_hints_out__mutmut_3`` (the test inverted), ``_4`` (``|``: never
    done at once): with no hint pending for the removed node or its new owners the
    hints are out and no mark is kept; with one kept for the removed node they are
    not."""
    g = gossiper("n1", config=make_config(6))
    g.view = g.view.announce("n5", status=MemberStatus.REMOVING)
    assert g._removal_hints_out("n5", set()) and g.removal_marks == {}
    g.hints.add("n5", b"k", R1)
    assert not g._removal_hints_out("n5", {"n5"})


# ---------------------------------------------------------------- session 31's run
# (docs/refinement.md, "Session 31: more of impl/gossip.py")


def _at_the_bound(g: Gossiper, node: str, status: MemberStatus) -> None:
    """``g``'s view with ``node``'s entry at 2**62 - 1 (valid: a peer's forged view)
    and ``status``, its tokens kept (built with Membership.of: no merge)."""
    held = g.view.get(node)
    assert held is not None
    g.view = Membership.of((*(m for m in g.view.members if m.node != node),
                            Member(node, PEER_VERSION_LIMIT - 1, status, held.tokens)))


def _refused_once(g: Gossiper, caplog: pytest.LogCaptureFixture, node: str,
                  change: str) -> None:
    """``g`` counted one refusal at the bound and logged it once, naming ``change``
    and ``node``, word for word, in its log and on :data:`HEADROOM_LOG`."""
    line = (f"membership change not announced ({change}): membership: '{node}' cannot "
            f"announce a change: version {PEER_VERSION_LIMIT} would not be below 2**62 "
            "(PEER_VERSION_LIMIT), and every peer refuses a view with it")
    assert g.stats["version-headroom"] == 1
    assert list(g.log) == [line]
    assert [r.getMessage() for r in caplog.records
            if r.name == HEADROOM_LOG.name] == [f"{g.name}: {line}"]


def test_a_removal_handover_refused_at_the_version_bound_is_logged_by_its_name(
        caplog: pytest.LogCaptureFixture) -> None:
    """``_removal_done__mutmut_17``, ``_21``, ``_22`` (the change's name in the
    version-headroom line reworded or None): n4, force-removed, holds an entry at
    2**62 - 1 (valid: a peer's forged view); once every survivor handed its ranges
    over, the claimant n1 cannot announce it removed (2**62 is over every peer's
    bound). The refusal is counted, n4 stays ``removing`` with its handovers kept
    (tried again at the next one), and the line names the change
    ``removal handover``, word for word, in :attr:`log` and on :data:`HEADROOM_LOG`."""
    caplog.set_level(logging.ERROR, logger=HEADROOM_LOG.name)
    g = gossiper("n1", config=make_config(4))
    _at_the_bound(g, "n4", MemberStatus.REMOVING)
    for src in ("n1", "n2", "n3"):
        g._removal_done("n4", src)
    assert _status_of(g, "n4") is MemberStatus.REMOVING
    assert g.removal_handed == {"n4": {"n1", "n2", "n3"}}
    _refused_once(g, caplog, "n4", "removal handover")


def moving_to(node: str, g: Gossiper, *, moves: bool) -> bytes:
    """A key the removal moves to ``node`` (in its top N on the future ring, not on
    the serving one), or (``moves`` false) one ``node`` owns on both rings."""
    n = g.config.n
    return next(key for key in (b"k%d" % i for i in range(1000))
                if node in g.future.preference_list(key, n)
                and (node in g.partitioning.preference_list(key, n)) is not moves)


def test_a_removals_hints_are_not_out_while_one_is_kept_for_a_new_owner() -> None:
    """``_removal_hints_out__mutmut_2`` (the new owners of None: none): n5 is
    force-removed and its ranges go to n1, n2 and n6; with no hint kept for n5 but
    one kept for n6, a new owner (its write's share there not delivered yet), the
    removal's hints are not out; once it is delivered, they are."""
    g = gossiper("n1", config=make_config(6))
    g._apply(g.view.announce("n5", status=MemberStatus.REMOVING))
    assert "n6" in g._removal_new_owners("n5")
    g.hints.add("n6", moving_to("n6", g, moves=True), R1)  # (session 55: a key it gains)
    assert not g._removal_hints_out("n5", g.hints.pending_for())
    for hint_id, _, _ in g.hints.heads(None, 10):
        g.hints.remove(hint_id)
    assert g._removal_hints_out("n5", g.hints.pending_for())


def test_a_removals_hint_marks_are_its_own_and_forgotten_once_its_hints_are_out() -> None:
    """``_removal_hints_out__mutmut_11`` (the marks kept under None: one pair for
    every removal), ``_6`` (the marks of None dropped: the removal's kept for good):
    a removal with a hint kept for it has marks of its own, dropped once no hint is
    pending for it or its new owners."""
    g = gossiper("n1", config=make_config(6))
    g._apply(g.view.announce("n5", status=MemberStatus.REMOVING))
    g.hints.add("n5", b"k", R1)
    assert not g._removal_hints_out("n5", g.hints.pending_for())
    (hint_id, _, _), = g.hints.heads(None, 10)
    assert g.removal_marks == {"n5": (1, frozenset({hint_id}))}
    g.hints.remove(hint_id)
    assert g._removal_hints_out("n5", g.hints.pending_for())
    assert g.removal_marks == {}


def test_a_hint_made_after_the_second_mark_is_not_waited_for_even_at_0() -> None:
    """``_removal_hints_out__mutmut_18`` (``<= 0``: a second mark of 0, no hint kept
    when it was taken, taken for none and taken again): a scan whose pending set
    still named n5 found no hint kept at all (marks 0 and 0: the hints are out;
    since session 35's review, the second look noting no id); a hint for n6, a new
    owner, made after is not waited for (a write since went to the new owners too)."""
    g = gossiper("n1", config=make_config(6))
    g._apply(g.view.announce("n5", status=MemberStatus.REMOVING))
    assert g._removal_hints_out("n5", {"n5"})
    assert g.removal_marks == {"n5": (2, frozenset())}
    g.hints.add("n6", moving_to("n6", g, moves=True), R1)  # (session 55: a key it gains)
    assert g._removal_hints_out("n5", {"n6"})


def test_a_removals_new_owners_are_the_future_owners_of_its_ranges_only() -> None:
    """``_removal_new_owners__mutmut_11`` (``in`` for ``not in``: the owners kept
    taken): 6 nodes, N = 3, n5 force-removed; its three ranges were served by
    (n3, n4, n5), (n4, n5, n6), (n5, n6, n1) and go to (n3, n4, n6), (n4, n6, n1),
    (n6, n1, n2): the new owners are n6, n1 and n2, none of the others."""
    g = gossiper("n1", config=make_config(6))
    g._apply(g.view.announce("n5", status=MemberStatus.REMOVING))
    assert g._removal_new_owners("n5") == {"n1", "n2", "n6"}


def test_a_member_may_be_removed_during_its_own_join_and_during_anothers() -> None:
    """n5, joining with its tokens, died for good: it may be force-removed during its
    own join; so may n3, up, during n5's join (session 31's operator probe: refused
    before, with "a membership change is in progress", and the join waited for n3 for
    good; ``removal_view__mutmut_12``, that message reworded, has no message left to
    reword)."""
    g = gossiper("n1", config=make_config(4))
    g._apply(g.view.announce("n5", status=MemberStatus.JOINING, tokens=(12345,)))
    assert g.changing()
    assert _status_of_view(g.removal_view("n5"), "n5") is MemberStatus.REMOVING
    assert _status_of_view(g.removal_view("n3"), "n3") is MemberStatus.REMOVING


def test_a_leave_that_waits_for_a_removal_keeps_gossiping() -> None:
    """``finish_leaving__mutmut_10`` (no peer when the leave waits): 4 members, N = 3,
    n1 leaving and n2 force-removed: n1's ``left`` waits (2 members would stay),
    n1 keeps serving and pushes its view to a peer at each try."""
    g = gossiper("n1", config=make_config(4))
    g._apply(g.view.announce("n1", status=MemberStatus.LEAVING)
             .announce("n2", status=MemberStatus.REMOVING))
    assert g._defers("n1")
    sent = g.finish_leaving(0.0)
    assert _status_of(g, "n1") is MemberStatus.LEAVING
    assert any(isinstance(e, Send) and isinstance(e.message, Gossip) for e in sent), sent


def test_a_node_that_left_finishes_leaving_again_with_nothing_to_announce() -> None:
    """``finish_leaving__mutmut_11`` (no announcement as ``""``), ``_37`` (the
    announcement asked even when there is none): a node whose ``left`` is announced
    already (off the ring, a hint scan after it) announces nothing and pushes its
    view to a peer (the mutants called ``""`` or None: a TypeError)."""
    g = gossiper("n1", config=make_config(4))
    g._apply(g.view.announce("n1", status=MemberStatus.LEFT, tokens=()))
    before = g.view
    sent = g.finish_leaving(0.0)
    assert g.view == before and g.stats["version-headroom"] == 0
    assert any(isinstance(e, Send) and isinstance(e.message, Gossip) for e in sent), sent


def test_a_removal_ranked_before_a_leave_is_under_way_without_it() -> None:
    """``removal_under_way__mutmut_13`` (the departures before None: every one, the
    removal's own and the leave after it counted gone): 4 members, N = 3, n3
    force-removed and n4 leaving; the removal goes first, leaves 3 members, and is
    under way (a join or a leave asked meanwhile is held)."""
    g = gossiper("n1", config=make_config(4))
    g.view = (g.view.announce("n3", status=MemberStatus.REMOVING)
              .announce("n4", status=MemberStatus.LEAVING))
    assert g.removal_under_way()


def test_a_left_refused_at_the_version_bound_is_logged_by_its_name(
        caplog: pytest.LogCaptureFixture) -> None:
    """``finish_leaving__mutmut_40``, ``_44`` (the change's name in the
    version-headroom line None or reworded): n1, leaving, holds an entry at
    2**62 - 1 (a peer's forged view, valid); announcing ``left`` would take it to
    2**62, over every peer's bound: refused, counted, n1 stays ``leaving`` and
    keeps gossiping, and the line names the change ``left``, word for word."""
    caplog.set_level(logging.ERROR, logger=HEADROOM_LOG.name)
    g = gossiper("n1", config=make_config(4))
    _at_the_bound(g, "n1", MemberStatus.LEAVING)
    sent = g.finish_leaving(0.0)
    assert _status_of(g, "n1") is MemberStatus.LEAVING
    assert any(isinstance(e, Send) and isinstance(e.message, Gossip) for e in sent), sent
    _refused_once(g, caplog, "n1", "left")


def test_a_departure_that_goes_ahead_is_no_longer_kept_waiting() -> None:
    """``_defers__mutmut_12`` (the entry of None dropped: the departure's kept): n1
    leaving and n2 force-removed, of 4 members, N = 3: n1's ``left`` waits, with
    its reason kept; once n5 joined, it goes ahead and the reason is dropped (kept,
    ``GET /status`` would list n1 waiting again as soon as a view made it short,
    before n1 decided anything)."""
    g = gossiper("n1", config=make_config(4))
    g.view = (g.view.announce("n1", status=MemberStatus.LEAVING)
              .announce("n2", status=MemberStatus.REMOVING))
    assert g._defers("n1") and set(g._waiting) == {"n1"}
    g.view = g.view.announce("n5", status=MemberStatus.UP, tokens=(12345,))
    assert not g._defers("n1")
    assert g._waiting == {}


def test_a_waiting_departure_is_counted_at_each_check_and_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    """``_defers__mutmut_17`` to ``_20`` (the ``departure-deferred`` count set to 1,
    counted down, or under another name) and the log line's mutants: n1 leaving and
    n2 force-removed, of 4 members, N = 3: each check of n1's ``left`` counts one
    ``departure-deferred``; the reason is logged once, word for word, in
    :attr:`log` and at WARNING on :data:`HEADROOM_LOG`."""
    caplog.set_level(logging.WARNING, logger=HEADROOM_LOG.name)
    g = gossiper("n1", config=make_config(4))
    g.view = (g.view.announce("n1", status=MemberStatus.LEAVING)
              .announce("n2", status=MemberStatus.REMOVING))
    assert g._defers("n1") and g._defers("n1")
    assert g.stats["departure-deferred"] == 2
    line = ("n1: the departure of n1 waits: with n2 going too, it would leave 2 members "
            "(n3, n4), fewer than N = 3 replicas per key; it completes once a node joins")
    assert list(g.log) == [line]
    assert [(r.levelno, r.getMessage()) for r in caplog.records
            if r.name == HEADROOM_LOG.name] == [(logging.WARNING, line)]


def test_an_up_refused_at_the_version_bound_is_logged_by_its_name(
        caplog: pytest.LogCaptureFixture) -> None:
    """``on_handoff_done__mutmut_20``, ``_24``, ``_25`` (the change's name in the
    version-headroom line None or reworded): n5 joins with pending ownership and
    holds an entry at 2**62 - 1 (a peer's forged view, valid); once every member
    handed its ranges over, announcing itself ``up`` would reach 2**62: refused,
    counted, n5 stays ``joining``, and the line names the change ``up``, word for
    word."""
    caplog.set_level(logging.ERROR, logger=HEADROOM_LOG.name)
    g = gossiper("n5", config=make_config(4, join_handover="pending"))
    g._apply(g.view.announce("n5", status=MemberStatus.JOINING, tokens=(12345,)))
    _at_the_bound(g, "n5", MemberStatus.JOINING)
    for src in ("n1", "n2", "n3", "n4"):
        assert g.on_handoff_done(src, HandoffDone("n5")) == []
    assert g.handed_from == {"n1", "n2", "n3", "n4"}
    assert _status_of(g, "n5") is MemberStatus.JOINING
    _refused_once(g, caplog, "n5", "up")
