"""Session 34: dvv's pruning of retired lifetimes (spec/retired.py) in the Z3 encoding
(model_check/proofs/transition.py: ``epoch``, ``seen``, the prune at every write and
its knowledge guard ``retirement_known``) checked on every edge of the four pruning
entries, both directions; the knowledge guard's mutants refused; the proof that with
``"all"`` or ``"own"`` no dot is minted twice, and its ``"naive"`` twin refuted
(docs/proofs.md, "Retired pruning in the Z3 encoding (session 34)")."""

from __future__ import annotations

from typing import Any

import pytest
import z3

from model_check.proofs import transition
from model_check.proofs.agreement import check_graph
from model_check.proofs.edges import Relations
from model_check.proofs.mapping import faithful, shape_of
from model_check.suite import DEFAULT_SUITE

RELATIONS: Relations = {}

#: entry -> (store rule, edges, stutters, successors proposed by the exact steps,
#: edges the causal rule refuses): the figures of the whole graph
FIGURES = {
    "dvv-prune-retired": ("causal", 13_226, 1_524, 4_116, 0),
    "dvv-prune-retired-own": ("causal", 12_940, 1_848, 4_154, 0),
    "dvv-prune-naive": ("lossy", 13_546, 2_296, 4_724, 28),
    "dvv-prune-retired-delete": ("causal", 10_306, 2_094, 2_884, 0),
}


def entry(name: str) -> Any:
    return next(e for e in DEFAULT_SUITE if e.name == name)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_edge_of_the_pruning_entries_agrees(name: str) -> None:
    """Every edge of the whole reachable graph, forward, and backward for the exact
    steps (crash, recover, anti-entropy: its merge and each side's prune stated by
    the dvv rule, exact even under the lossy rule of the naive twin)."""
    suite_entry = entry(name)
    result = check_graph(name, suite_entry.config, relations=RELATIONS)
    assert result.ok, (result.disagreements, result.exact_disagreements)
    rule, edges, stutters, proposals, refusals = FIGURES[name]
    assert result.rule == rule and faithful(suite_entry.config) == (rule == "causal")
    assert result.checked_states == result.states == suite_entry.distinct_states
    assert (result.edges, result.stutters, result.exact_proposals,
            result.causal_refusals) == (edges, stutters, proposals, refusals)
    assert not result.not_encoded and result.outside == 0
    assert result.by_family["anti-entropy"] > 0 and result.by_family["crash"] > 0


def _knowing_everything(z: Any, params: Any, n: int, q: int) -> Any:
    """``retirement_known`` without the knowledge guard (a mutant): every lifetime
    counts as retired, live ones included, whoever minted it."""
    return z3.BoolVal(True)


def _knowing_nothing(z: Any, params: Any, n: int, q: int) -> Any:
    """``retirement_known`` never true (a mutant): no entry is ever pruned."""
    return z3.BoolVal(False)


@pytest.mark.parametrize("mutant", [_knowing_everything, _knowing_nothing])
def test_a_wrong_knowledge_guard_is_refused(monkeypatch: pytest.MonkeyPatch,
                                            mutant: Any) -> None:
    """The prune step's knowledge guard is what the agreement checks: without it (every
    entry without a value goes) or with no pruning at all, the spec's edges of
    dvv-prune-retired are refused forward and Z3's anti-entropy proposes successors
    the spec does not reach (a fresh relation: the mutant's is not shared)."""
    monkeypatch.setattr(transition, "retirement_known", mutant)
    config = entry("dvv-prune-retired").config
    result = check_graph("mutant", config, max_states=3_000)
    assert result.forward_failures > 0 and result.backward_failures > 0


def test_the_own_guard_is_not_the_all_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """dvv-prune-retired-own checked against the ``"all"`` guard is refused: the guard
    reads ``Shape.prune``, and the two differ on the entry's edges."""
    config = entry("dvv-prune-retired-own").config
    shape = shape_of(config)
    from dataclasses import replace

    result = check_graph("own-as-all", config, shape=replace(shape, prune="all"),
                         max_states=3_000)
    assert not result.ok


def test_no_dot_is_minted_twice_with_all_or_own_knowledge() -> None:
    """The inductive proof (all and own: every query unsat) and its naive twin refuted,
    with the step that breaks the strengthening printed."""
    from model_check.proofs.framework import Verdict, run_proof
    from model_check.proofs.pruning import PROOFS

    result = run_proof(PROOFS[0])
    assert result.outcome.verdict is Verdict.PROVED, result.outcome
    assert result.twin.verdict is Verdict.REFUTED
    assert "minted by B~1" in result.twin.counterexample


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_the_invariant_holds_on_the_spec_where_the_proof_says(name: str) -> None:
    """The strengthened invariant of the proof on every state of the entries' graphs:
    it holds on every state of dvv-prune-retired and dvv-prune-retired-own (the
    proof's claim, read on the spec), and dvv-prune-naive reaches states where it
    fails, 148 of them holding two puts of one dot (its re-issued dot); the delete
    entry is outside the proof (a reap empties a copy, and the node then mints under
    a new key epoch, not by its copy's counter): the strengthening fails on 708 of its
    states, while no dot is minted twice on any."""
    from model_check.proofs.edges import EdgeCheck
    from model_check.proofs.pruning import dots_unique, strong_dots_unique
    from spec import model

    config = entry(name).config
    check = EdgeCheck(config, relations=RELATIONS)
    initial = model.initial_state(config)
    seen, frontier, failing, duplicated = {model.canonicalize(initial)}, [initial], 0, 0
    while frontier:
        following = []
        for state in frontier:
            failing += not check.holds(strong_dots_unique, state)
            duplicated += not check.holds(dots_unique, state)
            for _, after in model.successors(state):
                canonical = model.canonicalize(after)
                if canonical not in seen:
                    seen.add(canonical)
                    following.append(after)
        frontier = following
    # (states breaking the strengthening, states holding two puts of one dot)
    expected = {"dvv-prune-retired": (0, 0), "dvv-prune-retired-own": (0, 0),
                "dvv-prune-naive": (856, 148), "dvv-prune-retired-delete": (708, 0)}
    assert (failing, duplicated) == expected[name]
