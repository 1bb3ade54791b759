"""The proof framework: a statement, its Z3 query, and a broken twin.

Theory of operation
-------------------
A :class:`Proof` states a property in its docstring-like ``statement`` and
builds one or more :class:`Query` objects, each a list of Z3 assertions that
say *the property fails*. The property is **proved** when every query is
unsatisfiable: no assignment of the symbolic clocks, sets or states makes it
fail within the encoding's bounds.

A proof that is unsatisfiable for the wrong reason (contradictory hypotheses, an
encoding that constrains everything away) would be vacuous. So every proof
carries a **broken twin**: the same query with a deliberately mutated definition
or a dropped hypothesis, which Z3 must *satisfy*. Its model is a concrete
counterexample, turned into text a person can read by the query's ``explain``
function (the two clocks, the read and write sets, the pre-state and the step).
A twin that Z3 refutes shows that the query can fail, and that the hypotheses the
real proof keeps are the ones that matter.

Verdicts: ``proved`` (every query unsat), ``refuted`` (some query sat: the
counterexample is kept), ``unknown`` (Z3 gave up or hit the timeout). Every solver
gets a timeout and a fixed random seed, so nothing hangs and every run is the
same.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from model_check.errors import ProofError

__all__ = [
    "DEFAULT_TIMEOUT_MS",
    "Outcome",
    "Proof",
    "ProofResult",
    "Query",
    "Verdict",
    "decide",
    "run_proof",
]

#: Per-query solver timeout. Every proof here finishes far sooner.
DEFAULT_TIMEOUT_MS = 30_000

Explain = Callable[[Any], str]


class Verdict(enum.Enum):
    """What Z3 said about a proof (or about its twin)."""

    PROVED = "proved"  # every query is unsatisfiable
    REFUTED = "refuted"  # some query is satisfiable: a counterexample
    UNKNOWN = "unknown"  # Z3 gave up or timed out


def _no_explanation(model: Any) -> str:
    return str(model)


@dataclass(frozen=True, slots=True)
class Query:
    """Assertions that say the property FAILS; unsat means it holds.

    ``label`` names the instance (for example ``"N=5"``); ``explain`` turns a
    model of the assertions into a readable counterexample.
    """

    label: str
    assertions: tuple[Any, ...]
    explain: Explain = _no_explanation
    #: look for a model with small integers before explaining (readability)
    minimize: bool = True
    #: (term, value) preferences, tried one at a time and kept where still sat: a
    #: greedy way to a small counterexample (used instead of ``minimize`` if given)
    prefer: tuple[tuple[Any, Any], ...] = ()


Builder = Callable[[], Iterable[Query]]


@dataclass(frozen=True, slots=True)
class Proof:
    """A named statement, the queries that prove it, and its broken twin.

    ``check`` builds the queries of the real statement (each must be unsat);
    ``twin`` builds the queries of the broken variant (at least one must be sat);
    ``twin_statement`` says what was broken. ``bounds`` says what sizes the
    encoding covers ("unbounded" where it is quantified over all clocks).
    ``shown``: the twin's counterexample is a result of its own (what the spec
    does, e.g. the hinted read that misses a write), printed by ``vdynamo prove``
    without ``--verbose`` too.
    """

    name: str
    statement: str
    bounds: str
    check: Builder
    twin_statement: str
    twin: Builder
    group: str = ""
    shown: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdict on one side (statement or twin) of a proof."""

    verdict: Verdict
    seconds: float
    queries: int
    counterexample: str | None = None  # for REFUTED: the explained model
    label: str | None = None  # the query that was sat or unknown
    reason: str | None = None  # for UNKNOWN: Z3's reason


@dataclass(frozen=True, slots=True)
class ProofResult:
    """Both halves of one proof."""

    proof: Proof
    outcome: Outcome
    twin: Outcome
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.proof.name

    @property
    def ok(self) -> bool:
        """The statement is proved and its twin is refuted."""
        return self.outcome.verdict is Verdict.PROVED and self.twin.verdict is Verdict.REFUTED

    def to_json(self) -> dict[str, Any]:
        """``{"name", "verdict", "seconds", "twin_verdict"}``, and
        ``"twin_counterexample"`` (text) for a proof whose twin's counterexample is
        shown (``Proof.shown``)."""
        out = {
            "name": self.name,
            "verdict": self.outcome.verdict.value,
            "seconds": round(self.outcome.seconds + self.twin.seconds, 3),
            "twin_verdict": self.twin.verdict.value,
        }
        if self.proof.shown and self.twin.counterexample is not None:
            out["twin_counterexample"] = self.twin.counterexample
        return out


def new_solver(timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Any:
    """A solver with a timeout and a fixed seed (deterministic verdicts)."""
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    solver.set("random_seed", 0)
    return solver


def decide(queries: Iterable[Query], timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Outcome:
    """Check queries in order: PROVED if all are unsat, else the first sat/unknown."""
    start = time.perf_counter()
    count = 0
    unknown: tuple[str, str] | None = None
    for query in queries:
        count += 1
        solver = new_solver(timeout_ms)
        solver.add(*query.assertions)
        answer = solver.check()
        if answer == z3.sat:
            model = solver.model()
            if query.prefer:
                model = _preferred_model(query.assertions, query.prefer, model, timeout_ms)
            elif query.minimize:
                model = _small_model(query.assertions, model, timeout_ms)
            text = query.explain(model)
            return Outcome(
                Verdict.REFUTED, time.perf_counter() - start, count, text, query.label
            )
        if answer == z3.unknown and unknown is None:
            unknown = (query.label, solver.reason_unknown())
    seconds = time.perf_counter() - start
    if unknown is not None:
        return Outcome(Verdict.UNKNOWN, seconds, count, label=unknown[0], reason=unknown[1])
    return Outcome(Verdict.PROVED, seconds, count)


def _int_constants(terms: Iterable[Any]) -> list[Any]:
    """The uninterpreted integer constants occurring in ``terms``."""
    found: dict[int, Any] = {}
    seen: set[int] = set()
    stack = list(terms)
    while stack:
        term = stack.pop()
        key = term.get_id()
        if key in seen:
            continue
        seen.add(key)
        if z3.is_const(term) and term.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            if term.sort() == z3.IntSort():
                found[key] = term
            continue
        if z3.is_quantifier(term):
            stack.append(term.body())
        elif z3.is_app(term):
            stack.extend(term.children())
    return [found[k] for k in sorted(found)]


def _small_model(assertions: Sequence[Any], model: Any, timeout_ms: int) -> Any:
    """A model with small integers (minimised sum of absolute values), for readability.

    Falls back to ``model`` when the optimiser does not answer in time.
    """
    constants = _int_constants(assertions)
    if not constants or len(constants) > 400:
        return model
    optimizer = z3.Optimize()
    optimizer.set("timeout", min(timeout_ms, 3_000))
    optimizer.add(*assertions)
    optimizer.minimize(z3.Sum([z3.If(x >= 0, x, -x) for x in constants]))
    if optimizer.check() == z3.sat:
        return optimizer.model()
    return model


def _preferred_model(
    assertions: Sequence[Any], prefer: Sequence[tuple[Any, Any]], model: Any, timeout_ms: int
) -> Any:
    """Greedily add ``term == value`` for each preference that keeps the query sat."""
    solver = new_solver(timeout_ms)
    solver.add(*assertions)
    for term, value in prefer:
        solver.push()
        solver.add(term == value)
        if solver.check() != z3.sat:
            solver.pop()
    if solver.check() == z3.sat:
        return solver.model()
    return model


def run_proof(proof: Proof, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> ProofResult:
    """Run a proof and its twin."""
    return ProofResult(proof, decide(proof.check(), timeout_ms), decide(proof.twin(), timeout_ms))


# -- helpers for the encodings -----------------------------------------------------------


def value_of(model: Any, term: Any) -> Any:
    """A term's value in a model (model completion on), as a Python int or bool."""
    return python_value(model.eval(term, model_completion=True))


def python_value(value: Any) -> Any:
    """A Z3 integer or Boolean constant as a Python int or bool (any other term as is)."""
    if z3.is_int_value(value):
        return value.as_long()
    if z3.is_true(value):
        return True
    if z3.is_false(value):
        return False
    return value


def int_of(model: Any, term: Any) -> int:
    value = value_of(model, term)
    if not isinstance(value, int):
        raise ProofError(f"expected an integer value for {term}, got {value}")
    return value


def bool_of(model: Any, term: Any) -> bool:
    return bool(z3.is_true(model.eval(term, model_completion=True)))


def count_true(flags: Sequence[Any]) -> Any:
    """The number of true Booleans among ``flags``, as a Z3 integer term."""
    if not flags:
        return z3.IntVal(0)
    return z3.Sum([z3.If(flag, 1, 0) for flag in flags])
