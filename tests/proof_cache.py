"""What the Z3 proof tests compute once and share (session 43): one cache of the
encoding's transition relations for every proof test of a worker, and each proof's
verdicts once per test run.

Each agreement test module kept its own :data:`~model_check.proofs.edges.Relations`
(a relation built once per shape and store rule within the module): the suite
entries' relations were built again by each module whose tests walk them (the
default sample of tests/model_check/test_proof_agreement.py builds 41 of them, 7
CPU-s; the pruning entries' again in test_proof_pruning.py, test_proof_pruning_keep.py,
...). :data:`RELATIONS` is the one those modules share now, for the process (an
xdist worker): sound for the same reason the modules' own were (the terms are Z3
constants named after the shape's variables, a relation is not changed once built),
provided no relation is built or taken while a test has replaced a function of the
encoding, which each module's tests already kept to (a mutant of the encoding builds
its own relation, without ``relations``). :class:`PristineRelations` checks it: a
look-up or an insertion while a function of the encoding's modules
(:data:`ENCODING`) is not the one it was when this module was imported raises
AssertionError, naming it (a mutant's relation would otherwise be handed to the
tests of another module, or a mutant test given the right relation).

:func:`proof_run`: a registered proof run once per test run (:func:`run_proof`'s
verdicts, and the labels of the statement's queries decided), shared by the xdist
workers as :mod:`tests.run_cache` shares its searches (its ``once_per_run``:
pickled in the directory the workers share, under an ``fcntl`` lock per proof):
tests/model_check/test_proofs.py runs every proof, and three tests of other modules
ran the same pruning proofs again (test_proof_pruning.py,
test_proof_pruning_durable.py, test_proof_pruning_learnt.py: 3.0, 3.3 and 4.1
CPU-s). Only for a proof of the right encoding: a test that
monkeypatches the encoding runs its proof itself.

Docs: docs/model-checking.md, "Where CI's test time goes (session 43): the Z3 proofs".
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model_check.proofs.edges import Relation, Relations
from model_check.proofs.framework import Outcome, Query, decide
from tests.run_cache import once_per_run

__all__ = ["ENCODING", "RELATIONS", "PristineRelations", "ProofRun", "Readings",
           "delete_readings", "graph_readings", "once_per_run", "proof_run",
           "pruning_readings", "reachable", "superseded_not_live"]

#: the modules whose functions build a transition relation
ENCODING = (
    "model_check.proofs.abstraction",
    "model_check.proofs.framework",
    "model_check.proofs.learning",
    "model_check.proofs.membership",
    "model_check.proofs.rebuild",  # (session 57)
    "model_check.proofs.terms",  # (the connectives every relation is built of)
    "model_check.proofs.transition",
)


def _functions() -> dict[tuple[str, str], Any]:
    """Every callable attribute of the :data:`ENCODING` modules, by (module, name)."""
    out = {}
    for name in ENCODING:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if callable(value):
                out[name, attribute] = value
    return out


class PristineRelations(Relations):
    """A :data:`~model_check.proofs.edges.Relations` cache that refuses to be read or
    written while a function of the encoding is replaced (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._originals = _functions()

    def _check(self) -> None:
        now = _functions()
        changed = sorted(f"{module}.{name}" for (module, name), value in now.items()
                         if self._originals.get((module, name), value) is not value)
        assert not changed, (
            f"a relation shared between test modules used while {changed} replaced: "
            "a mutant of the encoding builds its own relation (no relations=)")

    def get(self, key: Any, default: Any = None) -> Any:
        self._check()
        return super().get(key, default)

    def __setitem__(self, key: Any, value: Relation) -> None:
        self._check()
        super().__setitem__(key, value)


#: the relations every proof test module of this process shares
RELATIONS: Relations = PristineRelations()


@dataclass(frozen=True, slots=True)
class ProofRun:
    """A proof's verdicts (:func:`~model_check.proofs.framework.run_proof`'s two
    outcomes) and the labels of the statement's queries decided, in order (all of
    them, each unsat, when the statement is proved); ``name``: the registered proof's
    (so a reader can tell a run served under another proof's name)."""

    name: str
    outcome: Outcome
    twin: Outcome
    labels: tuple[str, ...]


def _run(name: str) -> ProofRun:
    """The registered proof ``name`` run here (its relations shared between its
    queries, as ``vdynamo prove`` runs it)."""
    from model_check.proofs.pruning import shared_relations
    from model_check.proofs.registry import all_proofs

    proof = all_proofs()[name]
    labels: list[str] = []

    def noted(queries: Iterable[Query]) -> Iterator[Query]:
        for query in queries:
            labels.append(query.label)
            yield query

    with shared_relations():
        outcome = decide(noted(proof.check()))
        twin = decide(proof.twin())
    return ProofRun(name, outcome, twin, tuple(labels))


_RUNS: dict[str, ProofRun] = {}


def proof_run(directory: Path, name: str) -> ProofRun:
    """:func:`_run` of the registered proof ``name`` once per test run
    (:func:`once_per_run` in ``directory``, :func:`tests.run_cache.run_cache_dir`);
    kept in this process too. Raises KeyError for a name not registered."""
    if name not in _RUNS:
        _RUNS[name] = once_per_run(directory, f"proof-{name}", lambda: _run(name))
    return _RUNS[name]


def _histories(x: Any, params: Any) -> Any:
    """The pruning proof's hypothesis on histories as a predicate (``pruning.histories``)."""
    from model_check.proofs import pruning

    return pruning.histories(params)


def _readings() -> dict[str, Any]:
    """The predicates :func:`pruning_readings` reads, by name (imported late: the
    encoding's modules as they are when the reading runs)."""
    from model_check.proofs import pruning
    from model_check.proofs.abstraction import acked_writes_durable

    return {"strong_dots_unique": pruning.strong_dots_unique,
            "dots_unique": pruning.dots_unique,
            "strong_pruned_durable": pruning.strong_pruned_durable,
            "faithful_clocks": pruning.faithful_clocks,
            "acked_writes_durable": acked_writes_durable,
            "histories": _histories}


@dataclass(frozen=True, slots=True)
class Readings:
    """The states of a configuration's reachable graph and, per predicate name, how
    many of them it does not hold on (``not EdgeCheck.holds``: outside the bounds
    counts as failing) and the first such state met (None: none); ``name``: the
    configuration's."""

    name: str
    states: int
    failing: dict[str, int]
    first: dict[str, Any]


def _read(config: Any, states: Iterable[Any], predicates: dict[str, Any]) -> Readings:
    """``predicates`` read on every state of ``states`` (a configuration's graph), one
    :class:`~model_check.proofs.edges.EdgeCheck` on the shared relations."""
    from model_check.proofs.edges import EdgeCheck

    check = EdgeCheck(config, relations=RELATIONS)
    failing = dict.fromkeys(predicates, 0)
    first: dict[str, Any] = dict.fromkeys(predicates)
    count = 0
    for state in states:
        count += 1
        for name, predicate in predicates.items():
            if not check.holds(predicate, state):
                failing[name] += 1
                if first[name] is None:
                    first[name] = state
    return Readings(config.name, count, failing, first)


def pruning_readings(directory: Path, config: Any, stem: str) -> Readings:
    """:func:`_readings`' predicates on every state of ``config``'s
    :func:`~model_check.refinement_conformance.reachable_graph`, once per test run
    (:func:`once_per_run` in ``directory`` under ``stem``, which names the
    configuration; session 45): test_proof_pruning.py and test_proof_pruning_durable.py
    read their invariants on every state of the same three pruning entries' graphs
    (each walked and abstracted twice, 2.4-4.1 CPU-s a test). Only for the right
    encoding: a test that replaces a function of the encoding reads its own (the shared
    relations refuse it, :class:`PristineRelations`)."""

    def read() -> Readings:
        from model_check.refinement_conformance import reachable_graph

        return _read(config, reachable_graph(config)[0], _readings())

    return once_per_run(directory, f"readings-{stem}", read)


def superseded_not_live(x: Any, params: Any) -> Any:
    """No store holds put ``q``'s own version beside a version whose history holds
    another put ``p`` whose history holds ``q`` (that version supersedes ``q``'s):
    tests/model_check/test_reap_encoding.py's (moved here, session 45)."""
    import z3

    puts = range(x.shape.puts)
    return z3.And([z3.Not(z3.And(live[q], store[p], params.hist[p][q]))
                   for live, store in zip(x.live, x.store, strict=True)
                   for p in puts for q in puts if p != q])


def delete_readings() -> dict[str, Any]:
    """The predicates read on every state of delete-safe by two tests
    (test_proof_agreement.py's ``test_the_new_invariants_hold_on_every_reachable_state``,
    test_reap_encoding.py's ``test_a_store_covering_a_delete_holds_nothing_it_deleted``)."""
    from model_check.proofs import invariants

    return {"strong_delete_shields": invariants.strong_delete_shields,
            "delete_shields": invariants.delete_shields,
            "superseded_not_live": superseded_not_live}


def graph_readings(directory: Path, config: Any, predicates: dict[str, Any]) -> Readings:
    """``predicates`` (name -> predicate of the encoding) on every reachable state of
    ``config`` (breadth first, symmetry-reduced, the walk's memoised successors:
    ``agreement._successors``), once per test run for that configuration and those
    names (session 45: delete-safe's 14,151 states were walked and abstracted by two
    tests, :func:`delete_readings`); the right encoding only, as
    :func:`pruning_readings`."""

    def read() -> Readings:
        return _read(config, reachable(config), predicates)

    stem = "-".join(["graph", config.name, *sorted(predicates)])
    return once_per_run(directory, stem, read)


def reachable(config: Any) -> Iterator[Any]:
    """Every reachable state of ``config`` (one per symmetry class), breadth first; the
    successors those of ``check_graph``'s walk (``agreement._successors``: memoised for
    the walk, the spec's own while ``spec.model.successors`` is replaced; session 45:
    delete-safe's walk 2.5 -> 2.0 CPU-s)."""
    from model_check.proofs import agreement
    from spec import model

    successors = agreement._successors()
    seen = set()
    frontier = [model.initial_state(config)]
    while frontier:
        following = []
        for state in frontier:
            yield state
            for _, after in successors(state):
                canonical = model.canonicalize(after)
                if canonical not in seen:
                    seen.add(canonical)
                    following.append(after)
        frontier = following
