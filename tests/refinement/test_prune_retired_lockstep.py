"""The lockstep maps the pruning of retired lifetimes' entries (session 34).

Session 33's suite entries ``dvv-prune-retired`` (``prune_retired = 0``, every node
knowing every retirement) and ``dvv-prune-retired-own`` (a node knowing its own)
were unmapped: the spec prunes past a count per node under a fixed knowledge, the
implementation past a byte budget under gossiped knowledge. Now the harness runs
the implementation with its count knob (``ClusterConfig.retired_keep``, the spec's
``prune_retired``; production keeps the byte budget) and tells each node the
retirements its ``prune_knowledge`` gives it, before every step, as it sets the
failure detector's suspicions (``LockstepState._tell_retirements``,
``impl.retired.RetiredActors.tell``). The conformance of both entries agrees on
every edge (docs/refinement.md, "Trace validation's progress rule and the
retired-pruning lockstep (session 34)"); the broken twin (``"naive"``) stays
unmapped, with its reason; the delete entry is mapped since the spec's read repair
prunes as the implementation's (tests/refinement/test_reap_pruned_lockstep.py).

Mapping them found one difference in the implementation, fixed: anti-entropy's
back-send carried the record pruned, only where it differed from the peer's; the
spec's two-sided exchange stores the union at both replicas, each pruned by what
its node knows. Before, a stale value the pruned entries covered came back at the
peer as a false sibling, and a peer whose record was the union kept its retired
entries (``anti-entropy-sends-back-pruned`` below).
"""

from __future__ import annotations

import pytest

from model_check.refinement import Lockstep
from model_check.refinement_conformance import conformance
from model_check.refinement_state import unmapped_features
from model_check.suite import entry
from tests.refinement.first_divergence import stopping_at_a_divergence
from tests.refinement.mutations import PRUNE_MUTANTS

#: the shard of dvv-prune-retired's sources each mutant's conformance checks (as CI's
#: FULL_SHARD_IN_CI until session 40: every edge of the sources at breadth-first positions 0 mod 6,
#: 2,195 edges; about 3 CPU-s each in full). Since session 37 each run ends at its
#: first divergence (tests/refinement/first_divergence.py): edges 136-439 of the
#: 2,195, about 0.5-1 CPU-s each. Since session 40 the twelfth CI checks without a
#: mutant (test_conformance.py's PRUNE_SHARD_IN_CI, positions 0 mod 12): each mutant
#: diverges there at edges 67-345 (0.7-4.4 CPU-s each on the slower machine of then).
#: Since session 43 a twenty-fourth, positions 0 mod 24: each mutant still diverges
#: there (0.2-2.4 CPU-s each to its first divergence)
SHARD = (0, 24)


def test_the_prune_entries_map_but_the_twin() -> None:
    assert unmapped_features(entry("dvv-prune-retired").config) == ()
    assert unmapped_features(entry("dvv-prune-retired-own").config) == ()
    assert unmapped_features(entry("dvv-prune-retired-delete").config) == ()
    (naive,) = unmapped_features(entry("dvv-prune-naive").config)
    assert "broken twin" in naive


@pytest.mark.parametrize(("name", "n2_store"), [
    # every node knows n1's retirement: n2's merge of v2's record drops n1's entry
    ("dvv-prune-retired", "{v2}"),
    # n2 knows only its own: it keeps n1's value-less entry
    ("dvv-prune-retired-own", "{v2}"),
])
def test_a_retired_entry_goes_as_the_spec_says(name: str, n2_store: str) -> None:
    """n1 writes v1 (its first lifetime), crashes and recovers (a new actor: the
    first is retired); the client reads v1 at n2 and writes v2 through n2: the
    record n2 writes and replicates holds n1's first lifetime's entry without a
    value, dropped with "all" knowledge, kept with "own". Each step checked."""
    ls = Lockstep(entry(name).config)
    try:
        ls.put("c1", "n1", "k")
        while ls.deliverable():
            ls.deliver(ls.deliverable()[0].id)
        ls.crash("n1")
        ls.recover("n1")
        retired = ls.retired_actors()
        assert list(retired) == ["n1"] and list(retired["n1"].values()) == [0]
        ls.get("c1", "n2", "k")  # (each step tells the nodes first)
        told = {node: ls._node(node).retired.known for node in ("n1", "n2")}
        assert told["n1"] == retired["n1"]
        assert told["n2"] == (retired["n1"] if name == "dvv-prune-retired" else {})
        while ls.deliverable():
            ls.deliver(ls.deliverable()[0].id)
        ls.put("c1", "n2", "k")
        while ls.deliverable():
            ls.deliver(ls.deliverable()[0].id)
        state = ls.frontier[0]
        entries = {e.id for e in state.node("n2").store[0].entries}
        assert ("n1" in entries) == (name == "dvv-prune-retired-own")
        nodes = ls.abstract().readable(ls.config)["nodes"]
        assert isinstance(nodes, dict)
        assert nodes["n2"]["store"]["k"] == n2_store
        assert ls.verify()
    finally:
        ls.cluster.close()


@pytest.mark.parametrize("mutant", sorted(PRUNE_MUTANTS))
def test_the_conformance_of_dvv_prune_retired_kills_a_pruning_mutant(mutant: str) -> None:
    from tests.refinement import test_conformance

    assert test_conformance.SHARD_IN_CI["dvv-prune-retired"] == SHARD  # checked unmutated
    with PRUNE_MUTANTS[mutant](), stopping_at_a_divergence():
        report = conformance(entry("dvv-prune-retired").config, shard=SHARD)
    assert report.outcomes["diverged"] > 0, report.row()
