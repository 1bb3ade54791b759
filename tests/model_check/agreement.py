"""Agreement of the invariants' encoding with the Python spec (spec/model.py).

Theory of operation
-------------------
:func:`abstract_state` is the abstraction function: it maps a spec state onto the
variables of :mod:`model_check.proofs.abstraction` (for one key; hint payloads are
numbered per step by :func:`hint_payloads`, in the spec's canonical payload order).
:class:`Agreement` then checks the encoding against the spec in both directions:

- :meth:`Agreement.step_name`: which step of the transition relation explains a
  spec step ``pre -> post`` (the abstractions substituted into each candidate
  step's formula, simplified to true or false), or None if none does;
- :meth:`Agreement.exact_successors`: the abstract states Z3 allows by the exact
  steps from a spec state's abstraction (models enumerated and blocked), next to
  the abstractions of the spec's own successors;
- :meth:`Agreement.holds`: an invariant or property of the encoding evaluated on
  a spec state's abstraction (to compare with :mod:`model_check.properties`).

The tests in ``tests/model_check/test_proofs.py`` drive it over sampled spec states.
Two helpers serve the same tests: :func:`evaluate` (a closed term simplified to a
Python value) and :func:`dvv_constant` (a spec DVVSet as Z3 constants).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import z3

from model_check.proofs import dvv
from model_check.proofs.abstraction import (
    Invariant,
    Shape,
    StoreRule,
    Term,
    causal_store,
    new_states,
    relation,
    transition,
)
from model_check.proofs.framework import python_value

__all__ = ["Agreement", "abstract_state", "dvv_constant", "evaluate", "hint_payloads",
           "payload_coverage"]


# -- the abstraction function: spec state -> abstract state ----------------------------------


def abstract_state(
    state: Any, shape: Shape, payload_ids: dict[Any, int]
) -> dict[str, Any]:
    """The abstract state of a spec state, as ``{variable name: value}``.

    ``payload_ids`` numbers the hint payloads (shared by a pre- and a post-state);
    the caller builds it with :func:`hint_payloads`.
    """
    from spec import clocks
    from spec.state import Kind

    nodes = shape.nodes
    config = state.config
    if tuple(config.nodes) != nodes or len(config.keys) != 1:
        raise ValueError("the abstraction covers one key and the shape's nodes")

    def coverage(payload: Any) -> set[int]:
        out: set[int] = set()
        for value in clocks.values(payload):
            record = state.puts[value - 1]
            if record is not None:
                out |= record.history
        return out

    def label(h: str, i: str, u: int) -> str:
        return f"{h}->{i}#{u}"

    out: dict[str, Any] = {}
    for n, node in zip(nodes, state.nodes, strict=True):
        out[f"up[{n}]"] = node.up
        covered = coverage(node.store[0])
        for p in range(shape.puts):
            out[f"store[{n}][{p + 1}]"] = (p + 1) in covered
    acked = {p for client in state.clients for p in client.acked}
    inflight: set[int] = set()
    for m in state.messages:
        if m.payload is not None and m.kind not in (Kind.HINT_DELIVERY, Kind.HINT_ACK):
            inflight |= coverage(m.payload)
    for p in range(shape.puts):
        out[f"performed[{p + 1}]"] = state.puts[p] is not None
        out[f"acked[{p + 1}]"] = (p + 1) in acked
        out[f"inflight[{p + 1}]"] = (p + 1) in inflight
    for h in nodes:
        for i in nodes:
            if h == i:
                continue
            for u in range(shape.payloads):
                key = label(h, i, u)
                out[f"hint[{key}]"] = False
                out[f"hmsg[{key}]"] = 0
                out[f"hack[{key}]"] = 0
                out[f"rec_acked[{key}]"] = False
                out[f"rec_deleted[{key}]"] = False
    for fallback, node in zip(nodes, state.nodes, strict=True):
        for hint in node.hints:
            out[f"hint[{label(fallback, hint.intended, payload_ids[hint.payload])}]"] = True
    for m in state.messages:
        if m.kind is Kind.HINT_DELIVERY:
            out[f"hmsg[{label(m.src, m.dst, payload_ids[m.payload])}]"] += 1
        elif m.kind is Kind.HINT_ACK:
            out[f"hack[{label(m.dst, m.src, payload_ids[m.payload])}]"] += 1
    for fallback, intended, _, payload in state.hints_acked:
        out[f"rec_acked[{label(fallback, intended, payload_ids[payload])}]"] = True
    for fallback, intended, _, payload in state.hints_deleted:
        out[f"rec_deleted[{label(fallback, intended, payload_ids[payload])}]"] = True
    out["drops"], out["duplicates"], out["crashes"] = state.used[:3]
    return out


def hint_payloads(*states: Any) -> list[Any]:
    """Every payload a hint, handoff, acknowledgement or ghost hint record holds."""
    from spec.clocks import payload_key
    from spec.state import Kind

    found: set[Any] = set()
    for state in states:
        for node in state.nodes:
            found.update(h.payload for h in node.hints)
        found.update(m.payload for m in state.messages
                     if m.kind in (Kind.HINT_DELIVERY, Kind.HINT_ACK))
        found.update(r[3] for r in state.hints_acked | state.hints_deleted)
    return sorted(found, key=payload_key)


def payload_coverage(state: Any, payloads: Sequence[Any], shape: Shape) -> dict[str, bool]:
    """``cov[#u][p]`` for the numbered payloads (unused numbers cover nothing)."""
    from spec import clocks

    out = {f"cov[#{u}][{p + 1}]": False for u in range(shape.payloads)
           for p in range(shape.puts)}
    for u, payload in enumerate(payloads):
        covered: set[int] = set()
        for value in clocks.values(payload):
            record = state.puts[value - 1]
            if record is not None:
                covered |= record.history
        for p in range(shape.puts):
            out[f"cov[#{u}][{p + 1}]"] = (p + 1) in covered
    return out


def _free_constants(term: Term) -> list[Term]:
    """The uninterpreted constants of a quantifier-free term."""
    found: dict[int, Term] = {}
    seen: set[int] = set()
    stack = [term]
    while stack:
        t = stack.pop()
        if t.get_id() in seen:
            continue
        seen.add(t.get_id())
        if z3.is_const(t) and t.decl().kind() == z3.Z3_OP_UNINTERPRETED:
            found[t.get_id()] = t
        else:
            stack.extend(t.children())
    return list(found.values())


class Agreement:
    """Checks the encoding against spec steps (see tests/model_check/test_proofs.py).

    ``allows(pre, post)``: does the transition relation allow the abstract step from
    spec state ``pre`` to spec state ``post`` (a stutter, where the abstraction does
    not change, is allowed too)? ``exact_successors(state, limit)``: the abstract
    states the *exact* steps allow from ``state``'s abstraction (Z3 models,
    blocked one by one), to compare with the spec's successors.
    """

    def __init__(self, config: Any, shape: Shape | None = None,
                 store_rule: StoreRule = causal_store) -> None:
        self.config = config
        self.shape = shape or Shape(tuple(config.nodes), config.clients * config.puts_per_client)
        self.x, self.y, self.params = new_states(self.shape)
        budgets = [self.params.max_drops == config.drops,
                   self.params.max_duplicates == config.duplicates,
                   self.params.max_crashes == config.crashes]
        self.steps = transition(self.x, self.y, self.params, store_rule)
        self._consts = [_free_constants(step.formula) for step in self.steps]
        self._predicates: dict[Invariant, tuple[Term, list[Term]]] = {}
        self._memo: dict[tuple[tuple[str, Any], ...], str | None] = {}
        exact = transition(self.x, self.y, self.params, exact_only=True)
        self.exact_solver = z3.Solver()
        self.exact_solver.add(*budgets, relation(self.x, self.y, exact, z3.Int("exact_step")))

    def numbering(self, *states: Any) -> tuple[dict[Any, int], list[Any]] | None:
        payloads = hint_payloads(*states)
        if len(payloads) > self.shape.payloads:
            return None  # more distinct hint payloads than the bounds
        return {p: u for u, p in enumerate(payloads)}, payloads

    def _fix(self, values: dict[str, Any], terms: dict[str, Term]) -> list[Term]:
        return [terms[name] == value for name, value in values.items()]

    def _cov(self, state: Any, payloads: list[Any]) -> list[Term]:
        cov = payload_coverage(state, payloads, self.shape)
        return [z3.Bool(name) == value for name, value in cov.items()]

    def _values(self, before: dict[str, Any], after: dict[str, Any], cov: dict[str, bool]
                ) -> dict[str, Any]:
        values: dict[str, Any] = dict(before)
        values.update({f"'{name}": value for name, value in after.items()})
        values.update(cov)
        values.update(max_drops=self.config.drops, max_duplicates=self.config.duplicates,
                      max_crashes=self.config.crashes)
        return values

    def _evaluate(self, formula: Term, consts: list[Term], values: dict[str, Any]) -> bool:
        """``formula`` with its constants replaced by ``values``, simplified (one call
        to Z3's C API: the Python wrappers cost more than the work)."""
        count = len(consts)
        sources = (z3.Ast * count)()
        targets = (z3.Ast * count)()
        for j, const in enumerate(consts):
            value = values[const.decl().name()]
            literal = z3.BoolVal(value) if isinstance(value, bool) else z3.IntVal(value)
            sources[j] = const.as_ast()
            targets[j] = literal.as_ast()
        ctx = formula.ctx
        substituted = z3.Z3_substitute(ctx.ref(), formula.as_ast(), count, sources, targets)
        return bool(z3.is_true(z3.BoolRef(z3.Z3_simplify(ctx.ref(), substituted), ctx)))

    def _holds(self, k: int, values: dict[str, Any]) -> bool:
        return self._evaluate(self.steps[k].formula, self._consts[k], values)

    def step_name(self, pre: Any, post: Any) -> str | None:
        """The first step of the relation that explains a spec step ("stutter" when the
        abstraction does not change; None when no step does, or outside the bounds)."""
        numbered = self.numbering(pre, post)
        if numbered is None:
            return None
        ids, payloads = numbered
        before = abstract_state(pre, self.shape, ids)
        after = abstract_state(post, self.shape, ids)
        changed = {name for name in before if before[name] != after[name]}
        if not changed:
            return "stutter"
        values = self._values(before, after, payload_coverage(post, payloads, self.shape))
        memo = tuple(sorted(values.items()))
        if memo not in self._memo:
            self._memo[memo] = next(
                (step.name for k, step in enumerate(self.steps)
                 if changed <= step.changes and self._holds(k, values)),
                None,
            )
        return self._memo[memo]

    def allows(self, pre: Any, post: Any) -> bool | None:
        """Does the relation allow the spec step from ``pre`` to ``post`` (None: the
        step is outside the bounds)?"""
        if self.numbering(pre, post) is None:
            return None
        return self.step_name(pre, post) is not None

    def holds(self, predicate: Invariant, state: Any) -> bool | None:
        """Does ``predicate`` (an invariant or property of this module) hold on the
        abstraction of a spec state (None: outside the bounds)?"""
        numbered = self.numbering(state)
        if numbered is None:
            return None
        ids, payloads = numbered
        values = self._values(abstract_state(state, self.shape, ids), {},
                              payload_coverage(state, payloads, self.shape))
        if predicate not in self._predicates:
            formula = predicate(self.x, self.params)
            self._predicates[predicate] = (formula, _free_constants(formula))
        formula, consts = self._predicates[predicate]
        return self._evaluate(formula, consts, values)

    def exact_successors(self, state: Any, successors: list[Any], limit: int = 40
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        """(abstract states the exact steps allow from ``state``, the abstractions of
        the spec's ``successors``), both over one payload numbering."""
        numbered = self.numbering(state, *successors)
        if numbered is None:
            return None
        ids, payloads = numbered
        before = abstract_state(state, self.shape, ids)
        expected = [abstract_state(s, self.shape, ids) for s in successors]
        solver = self.exact_solver
        solver.push()
        solver.add(*self._fix(before, self.x.variables()), *self._cov(state, payloads))
        found: list[dict[str, Any]] = []
        ys = self.y.variables()
        while len(found) < limit and solver.check() == z3.sat:
            model = solver.model()
            values = {}
            for name, term in ys.items():
                value = model.eval(term, model_completion=True)
                values[name] = value.as_long() if z3.is_int_value(value) else z3.is_true(value)
            found.append(values)
            solver.add(z3.Or([term != values[name] for name, term in ys.items()]))
        solver.pop()
        return found, expected


# -- concrete values ------------------------------------------------------------------------


def evaluate(term: Any) -> Any:
    """Simplify a closed term to a Python int or bool (its value in any model)."""
    value = python_value(z3.simplify(term))
    if not isinstance(value, int | bool):
        raise AssertionError(f"term did not simplify to a constant: {value}")
    return value


def dvv_constant(
    clock: Any, ids: Sequence[str], slots: int = dvv.SLOTS, values: int = dvv.VALUES
) -> dvv.SymbolicDVV:
    """A spec DVVSet (ids among ``ids``, int values in ``0 .. values-1``) as constants."""
    by_id = {entry.id: entry for entry in clock.entries}
    entries = []
    for name in ids:
        entry = by_id.get(name)
        if entry is None:
            entries.append(
                dvv.SymbolicEntry(
                    z3.BoolVal(False),
                    z3.IntVal(0),
                    z3.IntVal(0),
                    tuple(z3.IntVal(0) for _ in range(slots)),
                )
            )
            continue
        vals = list(entry.values) + [0] * (slots - len(entry.values))
        entries.append(
            dvv.SymbolicEntry(
                z3.BoolVal(True),
                z3.IntVal(entry.counter),
                z3.IntVal(len(entry.values)),
                tuple(z3.IntVal(v) for v in vals[:slots]),
            )
        )
    anonymous = tuple(z3.BoolVal(u in clock.anonymous) for u in range(values))
    return dvv.SymbolicDVV(tuple(entries), anonymous)
