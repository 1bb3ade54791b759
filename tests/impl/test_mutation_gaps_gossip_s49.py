"""Tests for behaviours of :mod:`impl.gossip` that session 49's mutmut run of the
file (docs/refinement.md, "Mutation score of the open survivors and of
impl/gossip.py (session 49)") found no test for: each one kills the mutants its
docstring names. A :class:`~impl.gossip.Gossiper` on its own, as
tests/impl/test_mutation_gaps_gossip.py builds one; deterministic.
"""

from __future__ import annotations

from impl.membership import MemberStatus, initial_membership
from impl.storage.memory import MemoryStorage
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
