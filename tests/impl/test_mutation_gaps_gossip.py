"""Tests for behaviours of :mod:`impl.gossip` that no other test held, found by the
mutation run of session 9 (docs/refinement.md, "Session 9: gossip"): each one kills
mutants of :class:`impl.gossip.Gossiper` that the rest of the suite let through.
Deterministic (seeded generators, injected time) and fast."""

from __future__ import annotations

import collections
import random

from impl.config import ClusterConfig
from impl.effects import SetTimer
from impl.gossip import Gossiper
from impl.hints import HintStore
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
