"""Tests for behaviours of :mod:`impl.gossip` that no other test held, found by
session 32's mutation run over :meth:`impl.gossip.Gossiper.on_gossip`, ``_apply``,
``claim`` and ``_serving`` (docs/refinement.md, "Session 32: more of
impl/gossip.py"): each one kills mutants the rest of the selection let through
(named in its docstring). Deterministic (seeded generators, injected time) and fast."""

from __future__ import annotations

import collections
import random

from impl.config import ClusterConfig
from impl.effects import Send
from impl.gossip import Gossiper
from impl.hints import HintStore
from impl.membership import Member, MemberStatus, force_remove
from impl.messages import Gossip
from impl.storage.base import Storage
from impl.storage.memory import MemoryStorage
from tests.impl.test_mutation_gaps_gossip import gossiper
from tests.impl.test_node_driver import make_config


def _rejoiner(config: ClusterConfig, storage: Storage) -> Gossiper:
    """n4 started with ``serve --rejoin`` on a new store (it waits for a view saying
    it left)."""
    stats: collections.Counter[str] = collections.Counter()
    return Gossiper("n4", config, storage, HintStore(storage, stats), random.Random(1),
                    stats, collections.deque(maxlen=100), rejoin_if_left=True)


def test_a_node_told_it_was_force_removed_takes_the_view_keeps_it_and_says_so_once() -> None:
    """``on_gossip__mutmut_44`` and ``_47`` to ``_52`` (the line logged None; the view
    not persisted under ``membership``): n4, down while n1 force-removed it, hears of
    it from n1. It answers nothing (even a push), takes the view as it is, persists it
    (a restart on the same store finds itself removed), and logs once, word for word,
    that it serves nothing; the same news again logs nothing more."""
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
