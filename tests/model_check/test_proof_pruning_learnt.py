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
from model_check.proofs.learning import knows_retired, same_lifetime
from model_check.suite import DEFAULT_SUITE
from tests.conftest import PROFILE
from tests.model_check.first_refusal import stopping_at_a_refusal
from tests.proof_cache import RELATIONS, proof_run
from tests.run_cache import run_cache_dir

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
#: (session 60: without the rebuild, on by default since; the encoding states pruning
#: without it, model_check.proofs.agreement.unsupported)
DISK_LOSS = ENTRY.config.replace(name="learnt-disk-loss", disk_losses=1, puts_per_client=1,
                                 rebuild=False)

#: configuration -> (states, edges, stutters, successors proposed by the exact steps):
#: the figures of the whole graph (causal rule, no edge refused by it)
FIGURES = {
    "dvv-prune-learnt": (12_090, 26_598, 4_520, 9_700),
    "learnt-disk-loss": (3_060, 8_316, 2_828, 3_774),
    "learnt-relay": (3_986, 12_962, 4_110, 6_452),
    "learnt-three-replicas": (4_238, 17_760, 6_060, 6_372),
    "learnt-buffered-twice": (3_134, 8_996, 2_888, 4_410),
}

# Review (session 36): three small variants whose graphs reach what the entry's and the
# disk-loss variant's cannot (docs/proofs.md, "Review (session 36)"): with two nodes
# and one crash a retirement is only ever taught by its owner, no partition stands
# between two nodes, and nobody has learnt anything before the one crash.

#: three nodes, two replicas, one partition: a node learns from one that learnt it
#: (relayed knowledge), and a partition stands between a knower and a learner
RELAY = ENTRY.config.replace(name="learnt-relay", nodes=("n1", "n2", "n3"), n=2,
                             puts_per_client=1, partitions=1)

#: three replicas: an anti-entropy exchange between two nodes teaches the retirement
#: of the third's lifetime, which one of them learnt
THREE = ENTRY.config.replace(name="learnt-three-replicas", nodes=("n1", "n2", "n3"), n=3,
                             puts_per_client=1)

#: buffered storage, two crashes: a node learns a retirement, then its buffered crash
#: forgets it
BUFFERED = ENTRY.config.replace(name="learnt-buffered-twice", storage="buffered", crashes=2,
                                puts_per_client=1)

#: the variants every CI run walks whole, both directions
WHOLE = (DISK_LOSS, RELAY, THREE, BUFFERED)


@pytest.mark.parametrize("config", [ENTRY.config, *WHOLE], ids=lambda c: c.name)
def test_every_edge_with_learnt_knowledge_agrees(config: Any) -> None:
    """Every edge of the reachable graph, forward, and backward for the exact steps
    (crash, recover, disk loss, the learn-retirement step, anti-entropy with the
    knowledge it carries). In CI the entry walks its first :data:`PREFIX` states (the
    soak profile its whole graph), the variants (:data:`WHOLE`) their whole graphs."""
    whole = SOAK or config in WHOLE
    result = check_graph(config.name, config, relations=RELATIONS,
                         max_states=None if whole else PREFIX)
    assert result.ok, (result.disagreements, result.exact_disagreements)
    assert result.rule == "causal" and result.causal_refusals == 0
    assert not result.not_encoded and result.outside == 0
    assert result.by_family["learn-retirement"] > 0 and result.by_family["anti-entropy"] > 0
    assert result.exact_proposals > 0
    if config is DISK_LOSS:
        assert result.by_family["disk-loss"] > 0
    if config is RELAY:
        assert result.by_family["partition"] > 0
    if config is BUFFERED:
        assert result.by_family["buffered-crash"] > 0
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
    with stopping_at_a_refusal(lambda r: r.forward_failures > 0
                               and (r.backward_failures > 0 or not backward)):  # (session 37)
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
    with stopping_at_a_refusal(lambda r: r.forward_failures > 0):  # (session 37)
        result = check_graph("spec-mutant", config, max_states=states, relations=RELATIONS,
                             backward=False)
    assert result.forward_failures > 0


# -- review (session 36): mutants only the small variants' graphs refuse ---------------------------


def _learn_steps(x: AbstractState, y: AbstractState, params: Params, add: Any, *,
                 sides: bool = True, relayed: bool = True) -> None:
    """``learning.learn_steps`` with its partition guard (``sides``) and the source's
    learnt knowledge (``relayed``: else it teaches only its own earlier lifetimes)
    each removable: the mutants below."""
    nodes, puts = range(len(x.shape.nodes)), range(x.shape.puts)
    for n in nodes:
        for s in nodes:
            for q in puts:
                if s == n:
                    continue
                taught = (knows_retired(x, params, s, q) if relayed else
                          z3.And(params.minter[q] == s, params.mepoch[q] < x.epoch[s]))
                add(f"learn-retirement {n} from {s} #{q}", "learn-retirement", True,
                    x.up[n], x.up[s], *([x.side[n] == x.side[s]] if sides else []),
                    x.performed[q], taught, z3.Not(knows_retired(x, params, n, q)),
                    *[y.knows[n][r] == z3.Or(x.knows[n][r],
                                             z3.And(x.performed[r],
                                                    same_lifetime(params, q, r)))
                      for r in puts],
                    skip={f"knows[{x.shape.nodes[n]}][{r + 1}]" for r in puts})


def _learning_across_sides(x: AbstractState, y: AbstractState, params: Params,
                           add: Any) -> None:
    """The learn step without its partition guard (a mutant of the encoding)."""
    _learn_steps(x, y, params, add, sides=False)


def _gossip_teaching_own_only(x: AbstractState, y: AbstractState, params: Params,
                              add: Any) -> None:
    """The learn step teaching only the source's own retirements, never one it learnt
    (a mutant of the encoding)."""
    _learn_steps(x, y, params, add, relayed=False)


def _exchange_teaching_own_only(x: AbstractState, params: Params, a: int, b: int,
                                n: int) -> list[Any]:
    """``learning.exchange_teaches`` where the other side teaches only its own earlier
    lifetimes, never one it learnt (a mutant of the encoding)."""
    other, puts = (b if n == a else a), range(x.shape.puts)
    return [z3.Or(x.knows[n][q],
                  z3.And(x.performed[q], params.minter[q] == other,
                         params.mepoch[q] < x.epoch[other],
                         z3.Or([z3.And(same_lifetime(params, q, r),
                                       z3.Or(x.seen[a][r], x.seen[b][r])) for r in puts]),
                         z3.Not(knows_retired(x, params, n, q))))
            for q in puts]


@pytest.mark.parametrize(("name", "mutant", "config", "refused"), [
    ("learn_steps", _learning_across_sides, RELAY, (0, 318)),
    ("learn_steps", _gossip_teaching_own_only, RELAY, (72, None)),
    ("exchange_teaches", _exchange_teaching_own_only, THREE, (84, None)),
    ("forgotten_with_disk", _kept_with_disk, BUFFERED, (74, None)),
], ids=["learning-across-a-partition", "gossip-relays-nothing", "exchange-relays-nothing",
        "buffered-crash-keeps-knowledge"])
def test_a_wrong_encoding_only_a_variant_reaches_is_refused(
        monkeypatch: pytest.MonkeyPatch, name: str, mutant: Any, config: Any,
        refused: tuple[int, int | None]) -> None:
    """Four mutants of the encoding that the entry's graph and the disk-loss variant's
    both accept (no partition, a retirement only ever taught by its owner, nothing
    learnt before a buffered crash), each refused on a variant's whole graph
    (:data:`WHOLE`): ``refused``, the edges refused forward and the successors refused
    backward (None: not checked, forward suffices; docs/proofs.md, "Review (session
    36)")."""
    monkeypatch.setattr(transition, name, mutant)
    result = check_graph("mutant", config, backward=refused[1] is not None)
    assert (result.forward_failures, refused[1] and result.backward_failures) == refused


def _gossip_across_sides(state: Any, plan: Any) -> Any:
    """``spec.learning.retirement_gossip`` without its partition guard (a mutant of the
    spec)."""
    from spec.actions import LearnRetirement
    from spec.retired import known_by
    from spec.step import Edit

    if not any(state.epochs):
        return
    nodes, learnt = plan.nodes, state.known
    knowledge = [known_by(name, nodes, state.epochs, learnt) for name in nodes]
    for i, node in enumerate(nodes):
        for j, src in enumerate(nodes):
            if j != i and state.nodes[i].up and state.nodes[j].up:
                for owner, lifetime in sorted(knowledge[j] - knowledge[i]):
                    edit = Edit(state, plan)
                    edit.known = learnt | {(node, owner, lifetime)}
                    yield LearnRetirement(node, src, owner, lifetime), edit.build()


def _gossip_relaying_nothing(state: Any, plan: Any) -> Any:
    """``spec.learning.retirement_gossip`` teaching only the source's own retirements
    (a mutant of the spec)."""
    from spec.learning import retirement_gossip

    return ((action, after) for action, after in retirement_gossip(state, plan)
            if action.owner == action.src)


def _exchanged_relaying_nothing(learnt: Any, a: str, b: str, records: Any,
                                nodes: tuple[str, ...], epochs: tuple[int, ...]) -> Any:
    """``spec.learning.exchanged`` where each side teaches only its own retirements
    (a mutant of the spec)."""
    from spec.learning import exchanged

    taught = exchanged(frozenset(), a, b, records, nodes, epochs)
    return learnt | taught if taught - learnt else learnt


def _mechanisms(replaced: Any) -> tuple[Any, ...]:
    """``spec.model.MECHANISMS`` with the gossip step replaced."""
    from spec import model
    from spec.learning import retirement_gossip

    return tuple(replaced if m is retirement_gossip else m for m in model.MECHANISMS)


@pytest.mark.parametrize(("module", "name", "mutant", "config", "refused"), [
    ("spec.model", "MECHANISMS", _gossip_across_sides, RELAY, (318, None)),
    ("spec.model", "MECHANISMS", _gossip_relaying_nothing, RELAY, (0, 72)),
    ("spec.anti_entropy", "exchanged", _exchanged_relaying_nothing, THREE, (84, None)),
    ("spec.faults", "forget", _forgetting_nothing, BUFFERED, (74, None)),
], ids=["gossip-across-a-partition", "gossip-relays-nothing", "exchange-relays-nothing",
        "buffered-crash-forgets-nothing"])
def test_a_wrong_spec_only_a_variant_reaches_is_refused(
        monkeypatch: pytest.MonkeyPatch, module: str, name: str, mutant: Any,
        config: Any, refused: tuple[int, int | None]) -> None:
    """The same four faults on the spec's side, each refused on a variant's whole
    graph (``refused`` as above: a gossip that relays nothing removes edges only, so
    Z3's relayed learning is what the spec no longer reaches)."""
    import importlib

    target = importlib.import_module(module)
    monkeypatch.setattr(target, name, _mechanisms(mutant) if name == "MECHANISMS" else mutant)
    result = check_graph("spec-mutant", config, relations=RELATIONS,
                         backward=refused[1] is not None)
    assert (result.forward_failures, refused[1] and result.backward_failures) == refused


# -- review (session 36): the learnt knowledge with prune_retired = 1 ------------------------------

#: dvv-prune-learnt with ``prune_retired = 1`` and two crashes (with one, a node retires
#: one lifetime and ``K = 1`` keeps it: nothing is pruned), the keep the proofs claim
#: for the learnt encoding too; the whole graph (soak): 174,600 states, 509,752 edges,
#: 116,124 stutters, 209,270 successors proposed, 162 CPU-s
KEEP_ONE = ENTRY.config.replace(name="learnt-keep-1", prune_retired=1, crashes=2)

#: CI's share of it: the first ``KEEP_PREFIX`` states seen (573 walked, about 1 CPU-s)
KEEP_PREFIX = 1_500


def test_every_edge_with_learnt_knowledge_and_one_lifetime_kept_agrees() -> None:
    """The learnt knowledge ranks the lifetimes a prune keeps (``prune_retired = 1``:
    only the retired lifetimes the writer knows are ranked, ``outranked`` reading
    ``knows``); no agreement check ran it before this review. CI walks the first
    :data:`KEEP_PREFIX` states, the soak profile the whole graph (figures pinned)."""
    result = check_graph(KEEP_ONE.name, KEEP_ONE, relations=RELATIONS,
                         max_states=None if SOAK else KEEP_PREFIX)
    assert result.ok, (result.disagreements, result.exact_disagreements)
    assert result.rule == "causal" and result.causal_refusals == 0
    assert not result.not_encoded and result.outside == 0
    assert result.by_family["learn-retirement"] > 0 and result.exact_proposals > 0
    if not SOAK:
        assert result.checked_states == result.states == 573
        return
    assert (result.states, result.edges, result.stutters, result.exact_proposals) == (
        174_600, 509_752, 116_124, 209_270)


def test_the_learnt_encoding_of_keep_zero_is_refused_on_keep_one() -> None:
    """The keep is what the agreement checks with learnt knowledge too: the graph of
    ``prune_retired = 1`` against the learnt encoding of 0 (it prunes the entries of the
    lifetime the spec keeps) is refused forward, on CI's prefix (4 edges)."""
    from dataclasses import replace

    from model_check.proofs.mapping import shape_of

    result = check_graph("keep-0", KEEP_ONE, max_states=KEEP_PREFIX, backward=False,
                         shape=replace(shape_of(KEEP_ONE), keep=0))
    assert result.forward_failures == 4


def _ranked_by_epochs(z: AbstractState, params: Params, n: int, q: int,
                      clock: Any = None) -> Any:
    """``transition.outranked`` with ``K = 1`` ranking every retired lifetime, known to
    the writer or not (a mutant of the encoding: the learnt writer keeps a lifetime
    only if no newer one is retired, where the spec ranks only those it knows)."""
    dots = z.seen[n] if clock is None else clock
    minter, mepoch = params.minter, params.mepoch
    return z3.Or([z3.And(dots[r], minter[r] == minter[q], mepoch[r] > mepoch[q],
                         z3.Or([z3.And(minter[r] == m, mepoch[r] < z.epoch[m])
                                for m in range(len(z.shape.nodes))]))
                  for r in range(z.shape.puts) if r != q])


@pytest.mark.skipif(not SOAK, reason="soak only (the first 30,000 states: 17 CPU-s)")
def test_ranking_what_the_writer_does_not_know_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Ranking by every retirement, not by the writer's knowledge, is refused forward
    on the first 30,000 states of :data:`KEEP_ONE`'s walk (14,441 walked; 23 edges: a
    replica put at a node that knows only the older lifetime)."""
    monkeypatch.setattr(transition, "outranked", _ranked_by_epochs)
    result = check_graph("mutant", KEEP_ONE, max_states=30_000, backward=False)
    assert result.forward_failures > 0


# -- the pruning proofs with the learnt knowledge ------------------------------------------------


def test_the_pruning_proofs_cover_the_learnt_knowledge(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """``inductive_pruning_mints_no_dot_twice`` and ``inductive_pruning_keeps_acked_writes``
    ask their three questions of induction of the learnt encoding too (keep 0 and 1),
    over its learning steps, and each is unsat: each proof is proved (every query it
    asks unsat) and six of the queries it asked are the learnt encoding's (the runs
    are test_proofs.py's, session 43: :func:`tests.proof_cache.proof_run`)."""
    from model_check.proofs.framework import Verdict
    from model_check.proofs.pruning import PROOFS

    for proof in PROOFS:
        run = proof_run(run_cache_dir(tmp_path_factory), proof.name)
        assert run.outcome.verdict is Verdict.PROVED, (proof.name, run.outcome.label)
        learnt = [label for label in run.labels if "(learnt" in label]
        assert len(learnt) == 6, proof.name


def test_the_learnt_proofs_hypotheses_admit_learning_and_its_prunes() -> None:
    """Review (session 36): the learnt queries are not vacuous. Without its negated
    conclusion each is satisfiable, and each induction step's hypothesis (the
    invariant, the bounds, the relation) admits a step that teaches a node a
    retirement and a step whose prune drops another node's entry by what the writer
    learnt: an unsatisfiable hypothesis (``z3.BoolVal(False)`` among a learnt query's
    bounds) would leave :func:`test_the_pruning_proofs_cover_the_learnt_knowledge`
    passing and fail here."""
    from dataclasses import replace

    from model_check.proofs.abstraction import new_states
    from model_check.proofs.pruning import PROOFS, PRUNE_SHAPE

    x, y, params = new_states(replace(PRUNE_SHAPE, prune="learnt"))  # the queries' names
    nodes, puts = range(len(x.shape.nodes)), range(x.shape.puts)
    learns = z3.Or([z3.And(z3.Not(x.knows[n][q]), y.knows[n][q]) for n in nodes for q in puts])
    prunes = z3.Or([z3.And(x.seen[n][q], z3.Not(y.seen[n][q]), params.minter[q] != n,
                           y.knows[n][q]) for n in nodes for q in puts])
    for proof in PROOFS:
        for query in proof.check():
            if "(learnt" not in query.label:
                continue
            hypothesis = query.assertions[:-1]
            step = query.label.startswith("Inv and Trans")
            for extra in [z3.BoolVal(True), *([learns, prunes] if step else [])]:
                solver = z3.Solver()
                solver.add(*hypothesis, extra)
                assert solver.check() == z3.sat, (proof.name, query.label, extra)


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
