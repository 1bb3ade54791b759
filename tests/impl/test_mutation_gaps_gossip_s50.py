"""Tests for the one survivor session 49's mutmut run of :mod:`impl.gossip` left open
(docs/refinement.md, "Mutation score of impl/node.py (session 50)"): each one kills
the mutants its docstring names. A :class:`~impl.gossip.Gossiper` on its own, as
tests/impl/test_mutation_gaps_gossip.py builds one; deterministic.
"""

from __future__ import annotations

import random

from impl.membership import MemberStatus, claim_join, initial_membership
from impl.storage.memory import MemoryStorage
from spec.ring import Strategy
from tests.impl.test_mutation_gaps_gossip import gossiper
from tests.impl.test_node_driver import make_config


def test_a_strategy3_node_mid_join_serves_by_the_plain_ring_of_its_members() -> None:
    """Strategy 3, pending ownership: once the claimant gave n3 (joining) its partitions,
    the ring of the members that serve (n1 and n2, n3's partitions out) is no
    strategy-3 ring (a token at the end of every partition), so every member serves by
    it as a plain ring, strategy 1 with T = 1 (:meth:`Gossiper._partitioning`'s
    fallback), and routes by the full strategy-3 ring of the future. This is the ring
    ``GET /status`` reports (``ring.strategy``, ``ring.tokens_per_node``:
    ``NodeServer.status`` reads ``Node.partitioning``, the gossiper's)
    (``_partitioning__mutmut_8``: T = 2, a count no token of that ring was drawn by)."""
    config = make_config(2, partitioning="strategy3", n=1, r=1, w=1)
    view = initial_membership(config.initial_partitioning().ring).announce(
        "n3", status=MemberStatus.JOINING)
    view = claim_join(view, "n3", config.partitioning_of(view.ring()), random.Random(1))
    for name in ("n1", "n2", "n3"):
        storage = MemoryStorage()
        storage.set_meta("membership", view.to_bytes())
        g = gossiper(name, config=config, storage=storage)
        assert g.pending and g.partitioning.ring.nodes == ("n1", "n2")
        assert (g.partitioning.strategy, g.partitioning.tokens_per_node,
                g.partitioning.partitions) == (Strategy.RANDOM_TOKENS, 1, None)
        assert g.future.strategy is Strategy.EQUAL_PARTITIONS
        assert g.future.ring.nodes == ("n1", "n2", "n3")
