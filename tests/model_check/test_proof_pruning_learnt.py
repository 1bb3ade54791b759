"""Session 36: the learnt knowledge of retirements (``prune_knowledge = "learnt"``,
spec/learning.py) in the Z3 encoding (model_check/proofs/learning.py: the ``knows``
variables, the ``learn-retirement`` step, the knowledge an anti-entropy exchange
carries and a disk loss forgets, the knowledge guard reading it), checked on every
edge of dvv-prune-learnt and of a variant with a disk loss, both directions; mutants
of the encoding and of the spec refused (docs/proofs.md, "Learnt knowledge in the Z3
encoding (session 36)")."""

from __future__ import annotations

from typing import Any

import pytest
import z3

from model_check.proofs import transition
from model_check.proofs.abstraction import AbstractState, Params
from model_check.proofs.agreement import check_graph
from model_check.proofs.edges import Relations
from model_check.proofs.learning import knows_retired
from model_check.suite import DEFAULT_SUITE
from tests.conftest import PROFILE

RELATIONS: Relations = {}

SOAK = PROFILE == "soak"

#: CI's share of the entry: the first ``PREFIX`` states of the walk (1,013 states
#: checked, about 1.2 CPU-s; the whole graph 11.5 CPU-s, under soak)
PREFIX = 2_000

#: the mutants' share: the first ``MUTANT_PREFIX`` states (about 270 walked, forward
#: only, 0.1-0.2 CPU-s each), on which each mutant below is refused (the whole graphs'
#: figures: docs/proofs.md)
MUTANT_PREFIX = 600

ENTRY = next(e for e in DEFAULT_SUITE if e.name == "dvv-prune-learnt")

#: dvv-prune-learnt with a disk loss (the entry has none) and one put, small enough to
#: walk whole in CI (about 1 CPU-s): a node learns a retirement, then loses its disk
DISK_LOSS = ENTRY.config.replace(name="learnt-disk-loss", disk_losses=1, puts_per_client=1)

#: configuration -> (states, edges, stutters, successors proposed by the exact steps):
#: the figures of the whole graph (causal rule, no edge refused by it)
FIGURES = {
    "dvv-prune-learnt": (12_090, 26_598, 4_520, 9_700),
    "learnt-disk-loss": (3_060, 8_316, 2_828, 3_774),
}


@pytest.mark.parametrize("config", [ENTRY.config, DISK_LOSS], ids=lambda c: c.name)
def test_every_edge_with_learnt_knowledge_agrees(config: Any) -> None:
    """Every edge of the reachable graph, forward, and backward for the exact steps
    (crash, recover, disk loss, the learn-retirement step, anti-entropy with the
    knowledge it carries). In CI the entry walks its first :data:`PREFIX` states (the
    soak profile its whole graph), the disk-loss variant its whole graph."""
    whole = SOAK or config is DISK_LOSS
    result = check_graph(config.name, config, relations=RELATIONS,
                         max_states=None if whole else PREFIX)
    assert result.ok, (result.disagreements, result.exact_disagreements)
    assert result.rule == "causal" and result.causal_refusals == 0
    assert not result.not_encoded and result.outside == 0
    assert result.by_family["learn-retirement"] > 0 and result.by_family["anti-entropy"] > 0
    assert result.exact_proposals > 0
    if config is DISK_LOSS:
        assert result.by_family["disk-loss"] > 0
    if not whole:
        assert 1_000 < result.checked_states == result.states < ENTRY.distinct_states
        return
    states, edges, stutters, proposals = FIGURES[config.name]
    assert result.checked_states == result.states == states
    assert (result.edges, result.stutters, result.exact_proposals) == (edges, stutters,
                                                                       proposals)


# -- mutants of the encoding ---------------------------------------------------------------------


def _gossip_teaching_nothing(x: AbstractState, y: AbstractState, params: Params,
                             add: Any) -> None:
    """``learning.learn_steps`` whose step carries no knowledge (a mutant): the same
    guard, and the learner's ``knows`` kept."""
    nodes = range(len(x.shape.nodes))
    for n in nodes:
        for s in nodes:
            for q in range(x.shape.puts):
                if s != n:
                    add(f"learn-retirement {n} {s} #{q}", "learn-retirement", True,
                        x.up[n], x.up[s], x.performed[q], knows_retired(x, params, s, q),
                        z3.Not(knows_retired(x, params, n, q)), skip=set())


def _knowing_as_all(z: AbstractState, params: Params, n: int, q: int) -> Any:
    """``transition.retirement_known`` pruning by the global knowledge (a mutant):
    every lifetime older than its node's current one counts as retired, learnt or
    not (``prune_knowledge = "all"``)."""
    return z3.Or([z3.And(params.minter[q] == m, params.mepoch[q] < z.epoch[m])
                  for m in range(len(z.shape.nodes))])


def _kept_with_disk(y: AbstractState, n: int) -> tuple[list[Any], set[str]]:
    """``learning.forgotten_with_disk`` forgetting nothing (a mutant): a disk loss keeps
    what the node learnt."""
    return [], set()


def _exchange_teaching_nothing(x: AbstractState, params: Params, a: int, b: int,
                               n: int) -> list[Any]:
    """``learning.exchange_teaches`` teaching nothing (a mutant): an anti-entropy
    exchange carries no knowledge."""
    return list(x.knows[n])


@pytest.mark.parametrize(("name", "mutant", "config", "states", "backward"), [
    ("learn_steps", _gossip_teaching_nothing, ENTRY.config, MUTANT_PREFIX, False),
    ("retirement_known", _knowing_as_all, ENTRY.config, MUTANT_PREFIX, False),
    ("forgotten_with_disk", _kept_with_disk, DISK_LOSS, None, True),
    ("exchange_teaches", _exchange_teaching_nothing, ENTRY.config, MUTANT_PREFIX, False),
], ids=["gossip-carries-nothing", "pruning-by-global-knowledge", "disk-loss-keeps-knowledge",
        "exchange-carries-nothing"])
def test_a_wrong_encoding_of_knowledge_is_refused(
        monkeypatch: pytest.MonkeyPatch, name: str, mutant: Any, config: Any,
        states: int | None, backward: bool) -> None:
    """Each way knowledge moves, and the guard that reads it, is what the agreement
    checks (a fresh relation: the mutant's is not shared): refused forward on a prefix
    of the walk (the spec's learning edge, a prune the spec does not make, an exchange
    that teaches), and the disk loss on the variant's whole graph both ways (36 spec
    edges that forget refused; Z3's exact disk loss proposes 36 successors that kept
    the knowledge)."""
    monkeypatch.setattr(transition, name, mutant)
    result = check_graph("mutant", config, max_states=states, backward=backward)
    assert result.forward_failures > 0
    if backward:
        assert result.backward_failures > 0


# -- mutants of the spec ---------------------------------------------------------------------------


def _exchanged_nothing(learnt: Any, *args: Any) -> Any:
    """``spec.learning.exchanged`` teaching nothing (a mutant of the spec)."""
    return learnt


def _forgetting_nothing(learnt: Any, node: str) -> Any:
    """``spec.retired.forget`` forgetting nothing (a mutant of the spec)."""
    return learnt


def _prune_as_all(node: str, clock: Any, nodes: tuple[str, ...], epochs: tuple[int, ...],
                  keep: int, knowledge: str, learnt: Any = frozenset()) -> Any:
    """``spec.retired.prune_at`` pruning the learnt mode by the global knowledge (a
    mutant of the spec)."""
    from spec.retired import prune_at

    return prune_at(node, clock, nodes, epochs, keep, "all")


@pytest.mark.parametrize(("module", "name", "mutant", "config", "states"), [
    ("spec.anti_entropy", "exchanged", _exchanged_nothing, ENTRY.config, MUTANT_PREFIX),
    ("spec.faults", "forget", _forgetting_nothing, DISK_LOSS, MUTANT_PREFIX),
    ("spec.step", "prune_at", _prune_as_all, ENTRY.config, MUTANT_PREFIX),
], ids=["exchange-teaches-nothing", "disk-loss-forgets-nothing", "prune-by-global-knowledge"])
def test_a_wrong_spec_of_knowledge_is_refused(monkeypatch: pytest.MonkeyPatch, module: str,
                                              name: str, mutant: Any, config: Any,
                                              states: int) -> None:
    """The agreement has teeth on the spec's side too: an exchange that teaches
    nothing, a disk loss that keeps what the node learnt, and pruning by the global
    knowledge are refused forward, on a prefix of the walk (whole graphs: 1,306, 36
    and 154 edges refused)."""
    import importlib

    monkeypatch.setattr(importlib.import_module(module), name, mutant)
    result = check_graph("spec-mutant", config, max_states=states, relations=RELATIONS,
                         backward=False)
    assert result.forward_failures > 0


# -- the pruning proofs with the learnt knowledge ------------------------------------------------


def test_the_pruning_proofs_cover_the_learnt_knowledge() -> None:
    """``inductive_pruning_mints_no_dot_twice`` and ``inductive_pruning_keeps_acked_writes``
    ask their three questions of induction of the learnt encoding too (keep 0 and 1),
    over its learning steps, and each is unsat."""
    from model_check.proofs.pruning import PROOFS

    for proof in PROOFS:
        learnt = [query for query in proof.check() if "(learnt" in query.label]
        assert len(learnt) == 6, proof.name
        for query in learnt:
            solver = z3.Solver()
            solver.add(*query.assertions)
            assert solver.check() == z3.unsat, (proof.name, query.label)


def _learnt_guarding_nothing(z: AbstractState, params: Params, n: int, q: int) -> Any:
    """``transition.retirement_known`` with the learnt knowledge counting the writer's
    own current lifetime as retired too (a mutant: ``<=`` for ``<``)."""
    return z3.Or(z3.And(params.minter[q] == n, params.mepoch[q] <= z.epoch[n]),
                 z3.And(params.minter[q] != n, z.knows[n][q]))


def test_the_learnt_proof_fails_on_a_guard_that_prunes_a_live_entry(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The learnt queries have teeth: with the own live lifetime unguarded, the induction
    step of the learnt encoding is refuted (a write prunes the writer's live entry)."""
    from dataclasses import replace

    from model_check.proofs.pruning import PRUNE_SHAPE, _induction

    monkeypatch.setattr(transition, "retirement_known", _learnt_guarding_nothing)
    (query,) = _induction(replace(PRUNE_SHAPE, prune="learnt"), parts=("step",))
    solver = z3.Solver()
    solver.add(*query.assertions)
    assert solver.check() == z3.sat


def test_the_proofs_invariants_hold_on_every_state_of_the_learnt_entry() -> None:
    """The two proofs' strengthened invariants (``strong_dots_unique``,
    ``strong_pruned_durable``) and the hypothesis on histories, read on every state of
    dvv-prune-learnt's graph: they hold on all 12,090 (the proofs' claim, read on the
    spec; 6 s: CI reads the first 3,000 in breadth-first order, the soak profile all)."""
    from model_check.proofs import pruning
    from model_check.proofs.edges import EdgeCheck
    from model_check.refinement_conformance import reachable_graph

    check = EdgeCheck(ENTRY.config, relations=RELATIONS)
    states = reachable_graph(ENTRY.config)[0]
    assert len(states) == ENTRY.distinct_states
    states = list(states)[:None if SOAK else 3_000]  # a dict, in breadth-first order

    def hist(x: Any, params: Any) -> Any:
        return pruning.histories(params)

    failing = [sum(not check.holds(p, s) for s in states)
               for p in (pruning.strong_dots_unique, pruning.strong_pruned_durable, hist)]
    assert failing == [0, 0, 0]
