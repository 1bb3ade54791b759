"""Tests for behaviours of :mod:`impl.gossip` that no other test held, found by the
mutation run of session 9 (docs/refinement.md, "Session 9: gossip"): each one kills
mutants of :class:`impl.gossip.Gossiper` that the rest of the suite let through.
Deterministic (seeded generators, injected time) and fast."""

from __future__ import annotations

import collections
import random

from impl.config import ClusterConfig
from impl.effects import SetTimer
from impl.gossip import ANNOUNCED_META, FROM_META, SERVING_META, SETTLING_META, Gossiper
from impl.hints import HintStore
from impl.membership import Membership, MemberStatus, initial_membership
from impl.messages import Gossip, HandoffDone, SeenDigest, Settled
from impl.storage.memory import MemoryStorage
from impl.timers import GossipRound
from tests.impl.test_node_driver import make_config


def gossiper(name: str = "n1", config: ClusterConfig | None = None,
             storage: MemoryStorage | None = None, seed: int = 1) -> Gossiper:
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
