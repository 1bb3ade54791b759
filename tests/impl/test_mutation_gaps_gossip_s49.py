"""Tests for behaviours of :mod:`impl.gossip` that session 49's mutmut run of the
file (docs/refinement.md, "Mutation score of the open survivors and of
impl/gossip.py (session 49)") found no test for: each one kills the mutants its
docstring names. A :class:`~impl.gossip.Gossiper` on its own, as
tests/impl/test_mutation_gaps_gossip.py builds one; deterministic.
"""

from __future__ import annotations

import collections
import random

from impl.gossip import Gossiper
from impl.hints import HintStore
from impl.membership import (
    PEER_VERSION_LIMIT,
    Member,
    Membership,
    MemberStatus,
    initial_membership,
)
from impl.storage.memory import MemoryStorage
from impl.timers import GossipRound
from tests.impl.test_mutation_gaps_gossip import gossiper
from tests.impl.test_node_driver import make_config


def test_a_joining_node_names_the_claimant_it_waits_for_and_none_without_one() -> None:
    """Strategy 3, n3 joining with no tokens (pending ownership): its handover waits
    for the claimant, the lowest-named up member holding tokens, step "claim"; with
    every token holder leaving there is none to name, and it says nothing
    (``_join_waiting__mutmut_6``: ``{None: "claim"}``, a key ``GET /status`` and
    ``vdynamo join`` cannot name)."""
    config = make_config(2, partitioning="strategy3", n=1, r=1, w=1)
    joining = initial_membership(config.initial_partitioning().ring).announce(
        "n3", status=MemberStatus.JOINING)
    for leaving, waiting in (((), {"n1": "claim"}), (("n1",), {"n2": "claim"}),
                             (("n1", "n2"), {})):
        view = joining
        for node in leaving:
            view = view.announce(node, status=MemberStatus.LEAVING)
        storage = MemoryStorage()
        storage.set_meta("membership", view.to_bytes())
        g = gossiper("n3", config=config, storage=storage)
        assert g.status is MemberStatus.JOINING and g.pending
        assert g.handover_waiting() == waiting


def test_a_rejoin_refused_at_the_version_bound_is_logged_as_a_join() -> None:
    """n4 left (its entry at 2**62 - 1: a forged view, valid) and was started again
    with ``serve --rejoin``: after a round unanswered it announces its join from its
    own view (:meth:`Gossiper._rejoin_unanswered`), which would reach the bound: the
    join is refused, counted and logged by its name, word for word, and stays pending
    (``_rejoin_unanswered__mutmut_14``: the change named None; ``_18``:
    ``"XXjoinXX"``)."""
    config = make_config(4)
    view = initial_membership(config.initial_partitioning().ring)
    left = Membership.of((*(m for m in view.members if m.node != "n4"),
                          Member("n4", PEER_VERSION_LIMIT - 1, MemberStatus.LEFT)))
    storage = MemoryStorage()
    storage.set_meta("membership", left.to_bytes())
    stats: collections.Counter[str] = collections.Counter()
    g = Gossiper("n4", config, storage, HintStore(storage, stats), random.Random(1), stats,
                 collections.deque(maxlen=100), rejoin=True)
    assert g.join_pending and g.status is MemberStatus.LEFT
    g.on_round(0.0, GossipRound())  # (the first round's gossip may still be answered)
    assert list(g.log) == [] and stats["version-headroom"] == 0
    g.on_round(1.0, GossipRound())
    assert list(g.log) == [
        "membership change not announced (join): membership: 'n4' cannot announce a "
        f"change: version {PEER_VERSION_LIMIT} would not be below 2**62 "
        "(PEER_VERSION_LIMIT), and every peer refuses a view with it"]
    assert stats["version-headroom"] == 1
    assert g.join_pending and g.status is MemberStatus.LEFT
