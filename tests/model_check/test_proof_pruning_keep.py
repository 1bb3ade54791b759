"""Session 35: dvv's pruning with ``prune_retired = K`` > 0 (spec/retired.py: the newest
``K`` retired lifetimes of each node keep their entries) in the Z3 encoding
(model_check/proofs/transition.py: ``outranked``, ``Shape.keep``), checked on every edge
of the four pruning entries run with ``prune_retired = 1`` and two crashes (one crash
retires at most one lifetime per node: with one, ``K = 1`` prunes nothing), both
directions where the encoding is exact; mutants of the encoding and of the spec refused
(docs/proofs.md, "Pruning with prune_retired > 0 (session 35)")."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import z3

from model_check.proofs import transition
from model_check.proofs.agreement import check_graph
from model_check.proofs.mapping import faithful, shape_of
from model_check.suite import DEFAULT_SUITE
from tests.conftest import PROFILE
from tests.model_check.first_refusal import stopping_at_a_refusal
from tests.proof_cache import RELATIONS

SOAK = PROFILE == "soak"

#: CI's share: the first ``PREFIX`` states of each walk (about 630-700 checked, about
#: 0.8 CPU-s each), on which every mutant below is refused; the soak profile
#: (``HYPOTHESIS_PROFILE=soak``) walks the whole graphs (30,000-66,000 states, 10-60
#: CPU-s each), figures pinned
PREFIX = 1_500

#: entry -> (store rule, states, edges, stutters, successors proposed by the exact
#: steps, edges the causal rule refuses): the figures of the whole graph of the entry
#: run with ``prune_retired = 1`` and two crashes
FIGURES = {
    "dvv-prune-retired": ("causal", 64_476, 149_588, 21_020, 54_400, 0),
    "dvv-prune-retired-own": ("causal", 63_020, 147_672, 21_464, 53_846, 0),
    "dvv-prune-naive": ("lossy", 66_060, 154_970, 21_990, 57_286, 0),
    "dvv-prune-retired-delete": ("causal", 30_473, 72_516, 13_736, 21_630, 0),
}


def keep_one(name: str, keep: int = 1, crashes: int = 2) -> Any:
    """The suite entry ``name``'s configuration with ``prune_retired = keep`` and
    ``crashes`` crashes."""
    config = next(e for e in DEFAULT_SUITE if e.name == name).config
    return replace(config, prune_retired=keep, crashes=crashes)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_edge_with_one_retired_lifetime_kept_agrees(name: str) -> None:
    """Every edge of the reachable graph (CI: its first :data:`PREFIX` states; soak:
    the whole graph), forward, and backward for the exact steps (crash, recover, and
    anti-entropy, whose merge and prunes are stated by the dvv rule: the ranking of
    the lifetimes read on the merged clock)."""
    config = keep_one(name)
    result = check_graph(name, config, relations=RELATIONS,
                         max_states=None if SOAK else PREFIX)
    assert result.ok, (result.disagreements, result.exact_disagreements)
    rule, states, edges, stutters, proposals, refusals = FIGURES[name]
    assert result.rule == rule and faithful(config) == (rule == "causal")
    assert not result.not_encoded and result.outside == 0
    assert result.by_family["anti-entropy"] > 0 and result.by_family["crash"] > 0
    assert result.exact_proposals > 0
    if not SOAK:
        assert 500 < result.checked_states == result.states < states
        return
    assert result.checked_states == result.states == states
    assert (result.edges, result.stutters, result.exact_proposals,
            result.causal_refusals) == (edges, stutters, proposals, refusals)


@pytest.mark.parametrize(("keep", "encoded"), [(1, 0), (0, 1)])
def test_the_encoding_of_another_keep_is_refused(keep: int, encoded: int) -> None:
    """The keep the encoding states is what the agreement checks: the graph of
    ``prune_retired = 1`` checked against the encoding of 0 (it prunes the entries of
    the lifetime the spec keeps), and that of 0 against the encoding of 1, are
    refused forward."""
    config = keep_one("dvv-prune-retired", keep)
    shape = replace(shape_of(config), keep=encoded)
    with stopping_at_a_refusal(lambda r: r.forward_failures > 0):  # (session 37)
        result = check_graph("mutant", config, shape=shape, max_states=PREFIX,
                             backward=False)  # (session 45: forward refusals asked)
    assert result.forward_failures > 0


def _counting_the_live_lifetime(z: Any, params: Any, n: int, q: int,
                                clock: Any = None) -> Any:
    """``outranked`` counting a newer lifetime that is not known retired (a mutant: the
    node's live lifetime, whose entry is never pruned, takes one of the ``K`` places)."""
    dots = z.seen[n] if clock is None else clock
    return z3.Or([z3.And(dots[r], params.minter[r] == params.minter[q],
                         params.mepoch[r] > params.mepoch[q])
                  for r in range(z.shape.puts) if r != q])


@pytest.mark.parametrize("mutant", [_counting_the_live_lifetime])
def test_a_wrong_ranking_is_refused(monkeypatch: pytest.MonkeyPatch, mutant: Any) -> None:
    """The ranking of the lifetimes is what the agreement checks: counting a live
    lifetime among the newer ones prunes what the spec keeps: refused forward (the walk
    ends at its first refusal, checked forward only: session 45)."""
    monkeypatch.setattr(transition, "outranked", mutant)
    with stopping_at_a_refusal(lambda r: r.forward_failures > 0):  # (session 37)
        result = check_graph("mutant", keep_one("dvv-prune-retired"), max_states=PREFIX,
                             backward=False)  # (session 45: forward refusals asked)
    assert result.forward_failures > 0


def _oldest_kept(node: str, clock: Any, nodes: tuple[str, ...], epochs: tuple[int, ...],
                 keep: int, knowledge: str, learnt: Any = frozenset()) -> Any:
    """spec.retired.prune_at keeping the *oldest* ``keep`` retired lifetimes of each
    node (a mutant of the spec): the ranking reversed."""
    from spec.dvv import DVVSet
    from spec.retired import lifetime_of

    live = dict(zip(nodes, epochs, strict=True))
    own = knowledge == "own"
    lifetimes = [lifetime_of(entry.id) for entry in clock.entries]
    retired: dict[str, set[int]] = {}
    for owner, epoch in lifetimes:
        if owner in live and epoch < live[owner] and (not own or owner == node):
            retired.setdefault(owner, set()).add(epoch)
    gone = {(owner, epoch) for owner, found in retired.items()
            for epoch in sorted(found)[keep:]}
    kept = tuple(entry for entry, lifetime in zip(clock.entries, lifetimes, strict=True)
                 if entry.values or lifetime not in gone)
    return clock if len(kept) == len(clock.entries) else DVVSet(kept, clock.anonymous)


def _keep_ignored(node: str, clock: Any, nodes: tuple[str, ...], epochs: tuple[int, ...],
                  keep: int, knowledge: str, learnt: Any = frozenset()) -> Any:
    """spec.retired.prune_at pruning as with ``keep = 0`` whatever the configuration
    says (a mutant of the spec)."""
    from spec.retired import prune_at

    return prune_at(node, clock, nodes, epochs, 0, knowledge, learnt)


@pytest.mark.parametrize(("mutant", "states"), [(_oldest_kept, 5_000), (_keep_ignored, PREFIX)])
def test_a_wrong_spec_ranking_is_refused(monkeypatch: pytest.MonkeyPatch, mutant: Any,
                                         states: int) -> None:
    """The agreement has teeth on the spec's side too: the spec keeping the oldest
    retired lifetime rather than the newest (its first refused edge is a replica-put
    whose record keeps n1's value-less entry beside n1~1's: 2,183 states walked), or
    ignoring ``prune_retired``, is refused on a prefix of the walk."""
    import spec.step

    monkeypatch.setattr(spec.step, "prune_at", mutant)
    with stopping_at_a_refusal(lambda r: r.forward_failures > 0):  # (session 37)
        result = check_graph("spec-mutant", keep_one("dvv-prune-retired"),
                             max_states=states, relations=RELATIONS,
                             backward=False)  # (session 45: forward refusals asked)
    assert result.forward_failures > 0
