"""The get's answer encoded (model_check/proofs/get_answer.py, session 28): the
proofs' premises are satisfiable, each proof fails when its premise is broken, its
mutants are refuted, and the encoded answer is the spec's own on every reachable
state and every answering edge of the suite's delete entries (docs/proofs.md,
"The get's answer encoded (session 28)")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import combinations
from typing import Any

import pytest
import z3

from model_check.proofs import get_answer as ga
from model_check.proofs.abstraction import new_states
from model_check.proofs.framework import Verdict, count_true, decide
from model_check.proofs.invariants import DELETE_SHAPE, _deletes, _induction, strong_delete_shields
from model_check.proofs.mapping import covered_puts, put_histories, shape_of
from model_check.proofs.transition import lossy_store
from model_check.suite import entry
from spec import clocks, model
from spec.actions import action_from_json
from spec.config import Config
from spec.coordination import _get_result
from spec.state import Kind
from spec.step import plan_of
from tests.conftest import PROFILE
from tests.model_check.test_reap_encoding import LOSS_TRACE


def _sat(*assertions: Any) -> bool:
    solver = z3.Solver()
    solver.set("timeout", 30_000)
    solver.add(*assertions)
    return solver.check() == z3.sat


def _read(w: int, r: int, losses: int = 0, short: int = 0,
          rule: Any = None) -> tuple[Any, Any, Any, Any]:
    """The ``Inv => property`` setting with W, R and the disk losses fixed: the
    strengthened invariant, the get's quorum and merge; (x, params, get, hypotheses)."""
    x, _, params = new_states(DELETE_SHAPE)
    get = ga.Get.of(x)
    got = ga.answer(x, params, get, *([] if rule is None else [rule]))
    hypotheses = [params.wellformed(), strong_delete_shields(x, params), *got.constraints,
                  params.w == w, get.r == r, x.losses == losses, params.max_losses == losses,
                  count_true(list(get.replied.values())) == r - short]
    return x, params, (get, got), hypotheses


def _returns_deleted(x: Any, params: Any, got: Any) -> Any:
    return z3.Or([z3.And(deleted, got.holds[q]) for _, q, deleted in _deletes(x, params)])


def _offers_deleted(x: Any, params: Any, get: Any) -> Any:
    """A reply holds a version an acknowledged delete deletes (the dangerous read)."""
    return z3.Or([z3.And(deleted, flag, x.live[n][q]) for _, q, deleted in _deletes(x, params)
                  for n, flag in get.replied.items()])


# R + W - L > N with N = 3 and L < W: the proofs' premises; reads that break them
# (L >= W breaks the induction instead: the test after these)
GOOD = [(1, 3, 0), (2, 2, 0), (3, 1, 0), (2, 3, 1), (3, 2, 1), (3, 3, 2)]
BROKEN = [(1, 1, 0), (1, 2, 0), (2, 1, 0), (2, 2, 1), (3, 1, 1), (3, 2, 2), (3, 1, 2)]


@pytest.mark.parametrize(("w", "r", "losses"), GOOD)
def test_the_premises_are_satisfiable_and_the_answer_holds(w: int, r: int, losses: int) -> None:
    """Not vacuous: the invariant, an acknowledged delete, a reply holding the version
    it deletes and the get's quorum hold together; and then the answer never
    returns that version (the proof's conclusion at these W, R, L)."""
    x, params, (get, got), hypotheses = _read(w, r, losses)
    assert _sat(*hypotheses, _offers_deleted(x, params, get))
    assert not _sat(*hypotheses, _returns_deleted(x, params, got))


@pytest.mark.parametrize(("w", "r", "losses"), BROKEN)
def test_a_broken_read_quorum_returns_a_deleted_version(w: int, r: int, losses: int) -> None:
    """R + W - L <= N (N = 3): Z3 finds a state of the invariant where the get's
    answer returns a version an acknowledged delete deletes."""
    x, params, (_, got), hypotheses = _read(w, r, losses)
    assert _sat(*hypotheses, _returns_deleted(x, params, got))


def test_more_losses_than_the_proof_allows_break_the_induction() -> None:
    """The disk-loss proof needs fewer losses than W: with W = 1 and one loss its
    step query is refuted (the tombstone acknowledged on one disk, that disk lost)."""
    outcome = decide(_induction(DELETE_SHAPE, strong_delete_shields, ga.get_answers_no_deleted,
                                parts=("step",),
                                losses=lambda p: z3.And(p.w == 1, p.max_losses == 1)))
    assert outcome.verdict is Verdict.REFUTED, outcome
    assert "disk-loss" in (outcome.counterexample or "")


@pytest.mark.parametrize("mutant", ["R - 1 replies", "lossy merge"])
def test_the_answers_mutants_are_refuted(mutant: str) -> None:
    """The answer taken at R - 1 replies, or merged by the lossy store rule (lww,
    server-vclock), returns a deleted version at W = R = 2."""
    short, rule = (1, None) if mutant == "R - 1 replies" else (0, lossy_store)
    x, params, (_, got), hypotheses = _read(2, 2, short=short, rule=rule)
    assert _sat(*hypotheses, _returns_deleted(x, params, got))


# -- the encoded answer against the spec's ---------------------------------------------------


class Answers:
    """The encoding's answer for concrete replies of one configuration: each reply's
    coverage and live versions put in its node's ``store``/``live`` row, evaluated by
    Z3 (memoised); the answer must be determined (one model only)."""

    def __init__(self, config: Any) -> None:
        self.shape = shape_of(config)
        self.x, _, self.params = new_states(self.shape)
        self.get = ga.Get.of(self.x, among=range(len(self.shape.nodes)))
        self.got = ga.answer(self.x, self.params, self.get)
        self.index = {n: j for j, n in enumerate(self.shape.nodes)}
        tombs = plan_of(config).tombstones
        self.tomb = {self.params.tomb[p]: (p + 1) in tombs for p in range(self.shape.puts)}
        self.memo: dict[Any, tuple[frozenset[int], frozenset[int]]] = {}
        self.evaluated = 0
        self.last: tuple[Any, dict[str, bool], Any, dict[Any, Any]] = (None, {}, (), {})

    def of(self, state: Any, replies: list[tuple[str, Any]]) -> tuple[frozenset[int],
                                                                      frozenset[int]]:
        """(put ids the answer returns, put ids it covers) for ``replies``."""
        puts = range(self.shape.puts)
        if self.last[0] is not state.puts:  # histories and coverage: per put table
            hist = put_histories([state], self.shape)
            self.last = (state.puts, hist, tuple(sorted(hist.items())), {})
        _, hist, hist_key, rows_of = self.last
        rows = {}
        for n, payload in replies:
            row = rows_of.get(payload)
            if row is None:
                row = rows_of[payload] = (frozenset(covered_puts(state, payload)),
                                          frozenset(clocks.values(payload)))
            rows[self.index[n]] = row
        key = (tuple(sorted(rows.items())), hist_key)
        if key not in self.memo:
            self.evaluated += 1
            x, params = self.x, self.params
            values: list[Any] = [(self.get.r, z3.IntVal(len(rows)))]
            values += [(flag, z3.BoolVal(n in rows)) for n, flag in self.get.replied.items()]
            for n in range(len(self.shape.nodes)):
                cover, live = rows.get(n, (frozenset(), frozenset()))
                values += [(x.store[n][q], z3.BoolVal(q + 1 in cover)) for q in puts]
                values += [(x.live[n][q], z3.BoolVal(q + 1 in live)) for q in puts]
            values += [(params.hist[p][q], z3.BoolVal(hist[f"hist[{p + 1}][{q + 1}]"]))
                       for p in puts for q in puts]
            values += [(t, z3.BoolVal(v)) for t, v in self.tomb.items()]
            terms = _substitute([*self.got.constraints, *self.got.holds, *self.got.covers],
                                values)
            constraints = terms[:len(self.got.constraints)]
            holds = terms[len(constraints):len(constraints) + len(puts)]
            covers = terms[len(constraints) + len(puts):]
            solver = z3.Solver()
            solver.add(*constraints)
            assert solver.check() == z3.sat
            m = solver.model()
            held = [z3.is_true(m.eval(t, model_completion=True)) for t in holds]
            cov = [z3.is_true(m.eval(t, model_completion=True)) for t in covers]
            # determined: no other model of the merge gives another answer
            solver.add(z3.Or([t != v for t, v in zip((*holds, *covers), (*held, *cov),
                                                       strict=True)]))
            assert solver.check() == z3.unsat, key
            self.memo[key] = (frozenset(q + 1 for q in puts if held[q]),
                              frozenset(q + 1 for q in puts if cov[q]))
        return self.memo[key]


def _substitute(terms: list[Any], pairs: list[tuple[Any, Any]]) -> list[Any]:
    """``z3.substitute(t, *pairs)`` for each term, the pairs' arrays built once
    (one call to Z3's C API per term: ``z3.substitute`` checks every pair's sorts)."""
    ctx = terms[0].ctx
    sources, targets = (z3.Ast * len(pairs))(), (z3.Ast * len(pairs))()
    for j, (source, target) in enumerate(pairs):
        sources[j], targets[j] = source.as_ast(), target.as_ast()
    return [z3.BoolRef(z3.Z3_substitute(ctx.ref(), t.as_ast(), len(pairs), sources, targets),
                       ctx) for t in terms]


def _graph(config: Any) -> Iterator[tuple[Any, list[tuple[Any, Any]]]]:
    """Every reachable state (symmetry-reduced as the checker's) with its edges
    (action, successor), breadth first."""
    seen = {model.canonicalize(model.initial_state(config))}
    frontier = [model.initial_state(config)]
    while frontier:
        following = []
        for state in frontier:
            edges = list(model.successors(state))
            yield state, edges
            for _, after in edges:
                canonical = model.canonicalize(after)
                if canonical not in seen:
                    seen.add(canonical)
                    following.append(after)
        frontier = following


def _answering(pre: Any, action: Any, post: Any) -> tuple[list[tuple[str, Any]], Any] | None:
    """(the get's replies, its GetRecord) where ``action`` answers a get (a client's
    gets grow): the reply that completes the record's replies, the coordinator's own
    reply merged with its copy read again as it answers (session 56:
    ``spec.coordination._read_own_again``; the delete entries have no hinted reads),
    or, at R = 1, the coordinator's own copy read as it begins
    (``spec.coordination.start``); else None."""
    grown = [after for before, after in zip(pre.clients, post.clients, strict=True)
             if len(after.gets) > len(before.gets)]
    if not grown:
        return None
    (client,) = grown
    m = getattr(action, "message", None)
    if m is not None and m.kind is Kind.REPLICA_GET_REPLY:
        node = pre.nodes[pre.config.all_nodes.index(m.dst)]
        coord = next(c for c in node.coord if c.request == m.request)
        again = [(n, clocks.merge(pre.config.clock, p, node.store[0], pre.puts)
                  if n == m.dst else p) for n, p in coord.replies]
        return [*again, (m.src, m.payload)], client.gets[-1]
    coordinator = m.dst if m is not None else action.node  # a forward, or a client's get
    store = pre.nodes[pre.config.all_nodes.index(coordinator)].store[0]
    return [(coordinator, store)], client.gets[-1]


#: CI: delete-concurrent-put (siblings of a tombstone, and the dvv rule that drops a
#: value the other side has seen), about 7 CPU-s; soak: every other delete entry of
#: the suite but delete-safe-sloppy-crash (2 million states), about 80 CPU-s
#: (docs/proofs.md, "The get's answer encoded (session 28)"). delete-safe is soak's
#: since session 41 (5.3 CPU-s): no mutant of the encoding fails its agreement alone
#: (the answer holding nothing and the fold keeping the last reply's coverage fail
#: delete-concurrent-put's, the proofs' and the not-vacuous tests too;
#: docs/model-checking.md, "Where CI's test time goes (session 41)")
SOAK_AGREEMENT = ["delete-safe", "delete-retry", "delete-safe-drop", "delete-fallback-copy",
                  "delete-fallback-primary", "delete-join-pending", "delete-join-drop",
                  "delete-join-immediate",
                  "delete-leave-pending", "delete-restore-after-reap", "delete-restore-keep",
                  "delete-immediate", "delete-safe-strict-crash"]
AGREEMENT = ["delete-concurrent-put", *(SOAK_AGREEMENT if PROFILE == "soak" else [])]


@pytest.mark.parametrize("name", AGREEMENT)
def test_the_encoded_answer_is_the_specs(name: str) -> None:
    """On every reachable state, every subset of the key's top N read as a get's
    replies: the encoding returns exactly the put ids the spec's reconciliation
    (``_get_result``) returns, and covers their histories; on every edge where a get
    answers, its R replies are distinct nodes and the encoding's answer over them is
    the spec's ``GetRecord.returned``."""
    config = entry(name).config
    key = config.keys[0]
    answers = Answers(config)
    top = plan_of(config).top[key]
    subsets = [s for k in range(1, len(top) + 1) for s in combinations(top, k)]
    states = answering = 0
    for pre, edges in _graph(config):
        states += 1
        for subset in subsets:
            replies = [(n, pre.nodes[config.all_nodes.index(n)].store[0]) for n in subset]
            _, returned, last = _get_result(config.clock, key, tuple(replies), pre.puts)
            held, covers = answers.of(pre, replies)
            assert held == frozenset(returned), (pre, subset, held, returned)
            assert covers >= last.history
        for action, post in edges:
            found = _answering(pre, action, post)
            if found is not None:
                replies, record = found
                assert len(replies) == len({n for n, _ in replies}) >= config.r
                held, _ = answers.of(pre, replies)
                assert held == frozenset(record.returned), (pre, action, held, record)
                answering += 1
    assert states == entry(name).distinct_states
    assert answering > 0
    print(f"{name}: {states} states, {answering} answering edges, "
          f"{answers.evaluated} distinct answers evaluated")


def test_the_checkers_disk_loss_resurrection_is_the_encoded_answer() -> None:
    """The disk-loss twin in the spec: the checker's ``no_resurrection``
    counterexample of delete-safe with one disk loss (the trace cached for
    test_reap_encoding.py) ends with a get answered by n1 (its disk lost, the
    tombstone with it) and n2 (which missed the delete) at R = W = 2; the encoded
    answer over those replies returns v1, as the spec's does."""
    data = json.loads(LOSS_TRACE.read_text())
    config = Config.from_json(data["config"])
    state = model.initial_state(config)
    for item in data["actions"]:
        wanted = action_from_json(dict(item))
        pre, state = state, next(a for action, a in model.successors(state) if action == wanted)
    found = _answering(pre, wanted, state)
    assert found is not None
    replies, record = found
    assert sorted(n for n, _ in replies) == ["n1", "n2"] and config.r == config.w == 2
    assert record.returned == (1,)
    assert Answers(config).of(pre, replies)[0] == frozenset({1})


def test_the_reconcile_derivation_is_not_vacuous() -> None:
    """``get_answer_merge_is_reconcile``'s hypotheses (faithful and complete clocks)
    hold with a version one copy holds and reconcile drops (the other superseded it)
    beside one it keeps; the rule and reconcile never differ; without completeness
    they do."""
    hypotheses, rule, truth, offered = ga.reconcile_setting(complete=True)
    assert _sat(*hypotheses, offered[0], z3.Not(truth[0]), truth[1])
    assert _sat(*hypotheses, offered[0], truth[0], offered[1], truth[1])
    assert not _sat(*hypotheses, z3.Or([a != b for a, b in zip(rule, truth, strict=True)]))
    loose, rule, truth, _ = ga.reconcile_setting(complete=False)
    assert _sat(*loose, z3.Or([a != b for a, b in zip(rule, truth, strict=True)]))
