"""Session 34: dvv's pruning of retired lifetimes (spec/retired.py) in the Z3 encoding
(model_check/proofs/transition.py: ``epoch``, ``seen``, the prune at every write and
its knowledge guard ``retirement_known``) checked on every edge of the four pruning
entries, both directions; the knowledge guard's mutants refused; the proof that with
``"all"`` or ``"own"`` no dot is minted twice, and its ``"naive"`` twin refuted
(docs/proofs.md, "Retired pruning in the Z3 encoding (session 34)")."""

from __future__ import annotations

import re
from typing import Any

import pytest
import z3

from model_check.proofs import transition
from model_check.proofs.agreement import check_graph
from model_check.proofs.mapping import faithful, shape_of
from model_check.suite import DEFAULT_SUITE
from tests.conftest import PROFILE
from tests.model_check.first_refusal import stopping_at_a_refusal
from tests.proof_cache import RELATIONS, proof_run, pruning_readings
from tests.run_cache import run_cache_dir

SOAK = PROFILE == "soak"

#: CI's share of the three larger entries (session 34's review): the first ``PREFIX``
#: states of each walk, on which every mutant of this file and of the review is
#: refused (the spec mutants below; the knowledge guard dropped, nothing pruned, own as
#: all, naive's guard with ``<``, no re-issued dot, the spec's naive pruning as own);
#: the soak profile (``HYPOTHESIS_PROFILE=soak``) walks their whole graphs, figures
#: pinned. 3,000 until session 41; at 1,500 (this file's mutant tests' own bound) the
#: review's mutants re-run are refused first at the 130th-680th state walked (the
#: spec's all as own and keep + 1 on dvv-prune-retired, its naive as own, the
#: encoding's naive guard with ``<`` and no re-issued dot on dvv-prune-naive);
#: docs/model-checking.md, "Where CI's test time goes (session 41)"
PREFIX = 1_500

#: the entry small enough to walk whole in CI too (2.3 CPU-s)
WHOLE_IN_CI = "dvv-prune-retired-delete"

#: entry -> (store rule, edges, stutters, successors proposed by the exact steps,
#: edges the causal rule refuses): the figures of the whole graph
FIGURES = {
    # session 39 (a put replicated unpruned): 13,226 1,524 4,116 before
    "dvv-prune-retired": ("causal", 13_650, 1_524, 4_212, 0),
    "dvv-prune-retired-own": ("causal", 13_026, 2_008, 4_304, 0),  # s38: 12,940 1,848 4,154
    # s34: 28 refused (s35: faithful clocks); s38: 13,546 2,296 4,724 80
    "dvv-prune-naive": ("lossy", 13_602, 2_448, 4_866, 80),
    # s34: 10,306 2,094 2,884; s38: 10,356 2,044 2,908
    "dvv-prune-retired-delete": ("causal", 10_796, 2_124, 3_014, 0),
}


def entry(name: str) -> Any:
    return next(e for e in DEFAULT_SUITE if e.name == name)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_edge_of_the_pruning_entries_agrees(name: str) -> None:
    """Every edge of the whole reachable graph, forward, and backward for the exact
    steps (crash, recover, anti-entropy: its merge and each side's prune stated by
    the dvv rule, exact even under the lossy rule of the naive twin). In CI the
    three larger entries walk their first :data:`PREFIX` states only (the soak
    profile the whole graphs)."""
    suite_entry = entry(name)
    whole = SOAK or name == WHOLE_IN_CI
    result = check_graph(name, suite_entry.config, relations=RELATIONS,
                         max_states=None if whole else PREFIX)
    assert result.ok, (result.disagreements, result.exact_disagreements)
    rule, edges, stutters, proposals, refusals = FIGURES[name]
    assert result.rule == rule and faithful(suite_entry.config) == (rule == "causal")
    assert not result.not_encoded and result.outside == 0
    assert result.by_family["anti-entropy"] > 0 and result.by_family["crash"] > 0
    if not whole:
        assert 500 < result.checked_states == result.states < suite_entry.distinct_states
        return
    assert result.checked_states == result.states == suite_entry.distinct_states
    assert (result.edges, result.stutters, result.exact_proposals,
            result.causal_refusals) == (edges, stutters, proposals, refusals)


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
    with stopping_at_a_refusal(lambda r: r.forward_failures > 0 and r.backward_failures > 0):
        result = check_graph("mutant", config, max_states=1_500)  # (session 37)
    assert result.forward_failures > 0 and result.backward_failures > 0


def _one_more(node: str, clock: Any, nodes: tuple[str, ...], epochs: tuple[int, ...],
              keep: int, knowledge: str, learnt: Any = frozenset()) -> Any:
    """spec.retired.prune_at pruning one more lifetime (a mutant of the spec): each
    node's current lifetime counts as retired too."""
    from spec.retired import prune_retired

    return prune_retired(clock, {n: e + 1 for n, e in zip(nodes, epochs, strict=True)}, keep)


def _ignoring_knowledge(node: str, clock: Any, nodes: tuple[str, ...],
                        epochs: tuple[int, ...], keep: int, knowledge: str,
                        learnt: Any = frozenset()) -> Any:
    """spec.retired.prune_at ignoring ``prune_knowledge`` (a mutant of the spec):
    ``"own"`` prunes as ``"all"``."""
    from spec.retired import prune_at

    return prune_at(node, clock, nodes, epochs, keep, "all")


@pytest.mark.parametrize(("mutant", "name"), [(_one_more, "dvv-prune-retired"),
                                              (_ignoring_knowledge, "dvv-prune-retired-own")])
def test_a_wrong_spec_prune_is_refused(monkeypatch: pytest.MonkeyPatch, mutant: Any,
                                       name: str) -> None:
    """The agreement has teeth on the spec's side too (session 34's review): the spec
    pruning one more entry, or ignoring what its node knows, is refused on the first
    1,500 states (forward: 45 and 30 edges; whole graphs: 190 and 274 forward, 0 and
    72 backward)."""
    import spec.step

    monkeypatch.setattr(spec.step, "prune_at", mutant)
    with stopping_at_a_refusal(lambda r: r.forward_failures > 0):  # (session 37)
        result = check_graph("spec-mutant", entry(name).config, max_states=1_500,
                             relations=RELATIONS, backward=False)  # (session 45)
    assert result.forward_failures > 0


def test_the_own_guard_is_not_the_all_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    """dvv-prune-retired-own checked against the ``"all"`` guard is refused: the guard
    reads ``Shape.prune``, and the two differ on the entry's edges."""
    config = entry("dvv-prune-retired-own").config
    shape = shape_of(config)
    from dataclasses import replace

    with stopping_at_a_refusal():  # (session 37)
        result = check_graph("own-as-all", config, shape=replace(shape, prune="all"),
                             max_states=1_500)
    assert not result.ok


def test_no_dot_is_minted_twice_with_all_or_own_knowledge(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The inductive proof (all and own: every query unsat) and its naive twin refuted,
    with the step that breaks the strengthening printed. The run is test_proofs.py's
    (session 43: :func:`tests.proof_cache.proof_run`)."""
    from model_check.proofs.framework import Verdict
    from model_check.proofs.pruning import PROOFS

    result = proof_run(run_cache_dir(tmp_path_factory), PROOFS[0].name)
    assert result.outcome.verdict is Verdict.PROVED, result.outcome
    assert result.twin.verdict is Verdict.REFUTED
    assert result.twin.label == "Inv and Trans => Inv' (naive)"
    # Z3's model depends on the terms built before in the process (the other tests'):
    # any one, in which a node's copy covers a dot its lifetime minted, then not
    assert re.search(r"covered by the clock at \{[^}]*\b(\w)\b[^}]*\}, minted by \1~\d",
                     result.twin.counterexample or ""), result.twin.counterexample


def _all_knows_the_current_lifetime(z: Any, params: Any, n: int, q: int) -> Any:
    """``retirement_known`` with ``"all"`` counting every node's current lifetime as
    retired too (a mutant of the encoding: a dot minted twice with ``all``)."""
    return z3.Or([z3.And(params.minter[q] == m, params.mepoch[q] <= z.epoch[m])
                  for m in range(len(z.shape.nodes))])


def test_the_proof_fails_on_an_encoding_that_mints_a_dot_twice(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The induction step quantifies over the steps that prune (session 34's review): with
    ``"all"`` pruning the writer's live entries, the proof is refused, at a write
    (read repair, replica-put) that drops a current lifetime's dot from its copy."""
    from model_check.proofs.framework import Verdict, run_proof
    from model_check.proofs.pruning import PROOFS

    monkeypatch.setattr(transition, "retirement_known", _all_knows_the_current_lifetime)
    result = run_proof(PROOFS[0])
    assert result.outcome.verdict is Verdict.REFUTED
    assert result.outcome.label == "Inv and Trans => Inv' (all)"


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_the_invariant_holds_on_the_spec_where_the_proof_says(
        name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The strengthened invariant of the proof on every state of the entries' graphs:
    it holds on every state of dvv-prune-retired and dvv-prune-retired-own (the
    proof's claim, read on the spec), and dvv-prune-naive reaches states where it
    fails, 148 of them holding two puts of one dot (its re-issued dot). The delete
    entry was outside the proof until session 37 (a reap empties a copy, and the node
    then mints under a new key epoch, not by its copy's counter: the strengthening
    failed on 708 of its states); with the key epochs in the encoding (``kepoch``,
    ``mkey``) it holds on all of them, and no dot is minted twice on any. (Session
    45: read once per test run with test_proof_pruning_durable.py's invariants on the
    same graphs, :func:`tests.proof_cache.pruning_readings`.)"""
    read = pruning_readings(run_cache_dir(tmp_path_factory), entry(name).config, name)
    assert read.name == name and read.states == entry(name).distinct_states
    failing = read.failing["strong_dots_unique"]
    duplicated = read.failing["dots_unique"]
    # (states breaking the strengthening, states holding two puts of one dot)
    expected = {"dvv-prune-retired": (0, 0), "dvv-prune-retired-own": (0, 0),
                # session 39 (a put replicated unpruned): 856 breaking the strengthening
                "dvv-prune-naive": (832, 148), "dvv-prune-retired-delete": (0, 0)}
    assert (failing, duplicated) == expected[name]


def test_shared_relations_build_a_shape_once_and_only_within(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Within ``shared_relations`` (``vdynamo prove``, test_proofs.py) an induction over a
    shape built before takes its relation (the same terms), a nested use shares the
    outer's, an induction without the step builds and asks none; outside, each builds
    its own (review, session 38). Mutants killed: the cache kept on leaving, a nested
    use starting its own, the cached step asked without "step"."""
    from model_check.proofs import pruning
    from model_check.proofs.pruning import PRUNE_SHAPE, _induction, shared_relations

    built: list[int] = []
    real = pruning.transition

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(pruning, "transition", counting)
    with shared_relations():
        with shared_relations():
            first = list(_induction(PRUNE_SHAPE))
        again = list(_induction(PRUNE_SHAPE))
        init = list(_induction(PRUNE_SHAPE, parts=("init",)))
    assert len(built) == 1
    assert all(a.eq(b) for a, b in zip(first[1].assertions, again[1].assertions, strict=True))
    assert [q.label for q in init] == ["Init => Inv (all)"]
    list(_induction(PRUNE_SHAPE))
    assert len(built) == 2
