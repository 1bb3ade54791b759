"""The per-edge checks of the edge agreement (:mod:`model_check.proofs.agreement`):
:class:`EdgeCheck` compares the Z3 encoding with the spec on one configuration's
edges, forward and backward.

Theory of operation
-------------------
:class:`EdgeCheck` compares the encoding with the spec in both directions:

- *forward* (:meth:`EdgeCheck.edge`): for a spec edge ``pre --action--> post``,
  the abstractions are substituted into the formulas of the steps of the action's
  *family* (a crash must be the encoding's crash of that node, a delivered
  ``replica-get-reply`` its ``replica-get-reply`` step, ...), simplified to true or
  false. The edge agrees if one of them holds, or if the abstraction did not
  change (a stutter: the step touches nothing the encoding keeps, as a forward or
  a duplicated message). An action kind the encoding has no family for is
  counted as *not encoded*, not an error (membership changes have their
  families: :mod:`model_check.proofs.membership`); an edge with more
  distinct hint payloads than the bounds as *outside the bounds*. For a
  configuration of several keys an :class:`EdgeCheck` checks the projection onto
  one of them (session 32): an action of another key stands for the steps
  :func:`~model_check.proofs.mapping.projected_families` names (a stutter, a put id
  or a fault budget spent elsewhere).
- *backward*, for the exact steps (:meth:`EdgeCheck.exact_successors`): every
  abstract successor Z3 allows by an exact step from a state's abstraction
  (models enumerated and blocked) must be the abstraction of one of the state's
  spec successors (or the state's own, a stutter). The over-approximated steps are
  checked forward only: they allow more than the spec does.

The abstractions come from :mod:`model_check.proofs.mapping`; Z3 terms are
evaluated by substitution through Z3's C API (:func:`_substituted`), not by a
solver, except where an exact step leaves more than one post-state.

Moved from :mod:`model_check.proofs.agreement` (which walks the graph and counts
the verdicts), with :mod:`model_check.proofs.mapping`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import z3

from model_check.proofs.abstraction import AbstractState, Invariant, Params, Shape, Term, new_states
from model_check.proofs.mapping import (
    abstract_state,
    hint_payloads,
    payload_coverage,
    projected_families,
    put_dots,
    put_histories,
    shape_of,
)
from model_check.proofs.transition import Step, StoreRule, causal_store, transition

__all__ = [
    "MERGING",
    "NOT_ENCODED",
    "OUTSIDE",
    "STUTTER",
    "EdgeCheck",
    "Named",
    "Relation",
    "Relations",
]


def _free_constants(term: Term) -> list[Term]:
    """The uninterpreted constants of a quantifier-free term, in the order a
    depth-first walk meets them (children pushed in order, popped last first).

    The walk reads raw ASTs through Z3's C API (no Python wrapper per node: the
    wrappers' construction and reference counting were most of the agreement
    sample's time in this function, session 20); the term keeps its sub-terms
    alive. A quantifier or bound variable (not in the encoding) raises
    ``ValueError``."""
    ctx = term.ctx
    ref = ctx.ref()
    found: dict[int, Any] = {}
    seen: set[int] = set()
    stack = [term.as_ast()]
    while stack:
        ast = stack.pop()
        ident = z3.Z3_get_ast_id(ref, ast)
        if ident in seen:
            continue
        seen.add(ident)
        kind = z3.Z3_get_ast_kind(ref, ast)
        if kind == z3.Z3_APP_AST:
            count = z3.Z3_get_app_num_args(ref, ast)
            if count:
                stack.extend([z3.Z3_get_app_arg(ref, ast, j) for j in range(count)])
            elif z3.Z3_get_decl_kind(ref, z3.Z3_get_app_decl(ref, ast)) == (
                    z3.Z3_OP_UNINTERPRETED):
                found[ident] = ast
        elif kind != z3.Z3_NUMERAL_AST:
            raise ValueError(f"not a quantifier-free term (AST kind {kind}): {term}")
    return [z3.z3._to_expr_ref(ast, ctx) for ast in found.values()]


Named = list[tuple[str, Any]]
"""Constants of a formula as ``(name, ast)`` pairs (names read once: reading a
name through the Python API costs more than a substitution)."""


def _named(consts: list[Term]) -> Named:
    return [(c.decl().name(), c.as_ast()) for c in consts]


_LITERALS: dict[Any, Any] = {}
#: EdgeCheck.holds: a constant a state's values do not name (left symbolic)
_ABSENT = object()
#: EdgeCheck.holds: the verdicts kept per check before the memo starts over
_VERDICTS_KEPT = 200_000


def _literal(value: Any) -> Any:
    key = (type(value), value)
    found = _LITERALS.get(key)
    if found is None:
        term = z3.BoolVal(value) if isinstance(value, bool) else z3.IntVal(value)
        _LITERALS[key] = found = (term, term.as_ast())
    return found[1]


def _evaluate(formula: Term, consts: Named, values: dict[str, Any]) -> bool:
    """``formula`` with its constants replaced by ``values``, simplified to true?"""
    return bool(z3.is_true(_substituted(formula, consts, values)))


def _substituted(formula: Term, consts: Named, values: dict[str, Any]) -> Term:
    """``formula`` with the constants of ``consts`` that ``values`` names replaced by
    their values, simplified (one call to Z3's C API)."""
    pairs = [(ast, _literal(values[name])) for name, ast in consts if name in values]
    count = len(pairs)
    sources = (z3.Ast * count)()
    targets = (z3.Ast * count)()
    for j, (source, target) in enumerate(pairs):
        sources[j] = source
        targets[j] = target
    ctx = formula.ctx
    substituted = z3.Z3_substitute(ctx.ref(), formula.as_ast(), count, sources, targets)
    return z3.BoolRef(z3.Z3_simplify(ctx.ref(), substituted), ctx)


#: Exact steps whose effect is a merge (exact under the causal rule only).
MERGING = frozenset({"anti-entropy", "hint-deliver"})

STUTTER = "stutter"
NOT_ENCODED = "not encoded"
OUTSIDE = "outside the bounds"


Relation = tuple[AbstractState, AbstractState, Params, list[Step], dict[int, Named]]
"""An encoding's transition relation: the pre- and post-state terms, the parameters,
the steps (:func:`~model_check.proofs.transition.transition`), and each step's
constants once read (by step index)."""

Relations = dict[tuple[Shape, StoreRule, bool], Relation]
"""Relations already built, by (shape, store rule, acknowledgement quorum): a
caller's cache (:func:`model_check.proofs.agreement.check_suite`)."""


def _relation(shape: Shape, store_rule: StoreRule, relations: Relations | None) -> Relation:
    """The transition relation of ``shape`` under ``store_rule``: built (the costly
    part of an :class:`EdgeCheck`: a few seconds), or taken from ``relations`` when
    one of the same shape and rule was built there. Sharing is sound: the terms are
    Z3 constants named after the shape's variables (the same names give the same
    terms) and a relation is not changed once built. The cache is the caller's, not
    a module's: a test that builds a mutated relation (a monkeypatched guard of
    :mod:`model_check.proofs.transition`) must not leave it to another."""
    ack_quorum = store_rule is causal_store
    key = (shape, store_rule, ack_quorum)
    found = relations.get(key) if relations is not None else None
    if found is None:
        x, y, params = new_states(shape)
        found = (x, y, params, transition(x, y, params, store_rule, ack_quorum=ack_quorum),
                 {})
        if relations is not None:
            relations[key] = found
    return found


class EdgeCheck:
    """Both checks for one configuration (see the module docstring); ``relations``:
    a cache of transition relations to take this one from, or to add it to
    (:data:`Relations`; None: built for this check alone); ``key``: for a
    configuration of several keys, the key whose projection is checked (session 32:
    :func:`~model_check.proofs.mapping.abstract_state`; raises ProofInputError
    without it)."""

    def __init__(self, config: Any, store_rule: StoreRule = causal_store,
                 shape: Shape | None = None, relations: Relations | None = None,
                 key: str | None = None) -> None:
        self.config = config
        self.lossy = store_rule is not causal_store
        self.shape = shape or shape_of(config, key=key)
        #: the key projected onto (None: the configuration's one key, nothing filtered)
        self.key = key if len(config.keys) > 1 else None
        self.x, self.y, self.params, self.steps, consts = _relation(
            self.shape, store_rule, relations)
        self._consts: dict[int, Named] = consts  # step index -> its constants, on first use
        self._by_family: dict[str, list[int]] = {}
        for k, step in enumerate(self.steps):
            self._by_family.setdefault(step.family, []).append(k)
        self._family_of = {step.name: step.family for step in self.steps}
        self._memo: dict[Any, str | None] = {}
        self._predicates: dict[Invariant, tuple[Term, Named]] = {}
        # holds(): the last state's abstraction (a caller checks several predicates
        # on one state), and each predicate's verdict per the values of its
        # constants (many states share an abstraction); pure speed, the same answers
        self._held: tuple[Any, dict[str, Any] | None] = (None, None)
        self._verdicts: dict[tuple[Invariant, tuple[Any, ...]], bool] = {}
        self._exact: Any = None
        self._exact_memo: dict[Any, list[dict[str, Any]]] = {}
        # the last numbering (its states, kept so their ids stay theirs, and its
        # answer) and the abstractions made under it, by state id: a caller asks
        # edges() and then exact_successors() of one state and its successors, which
        # number the payloads the same way and abstract the same states (pure speed,
        # session 17: abstract_state was half of an every-edge agreement check)
        self._numbered: tuple[tuple[Any, ...], Any] = ((), None)
        self._abstracted: dict[int, dict[str, Any]] = {}
        from spec.step import plan_of

        tombs = plan_of(config).tombstones
        self.tombstones = {f"tomb[{p}]": p in tombs for p in range(1, self.shape.puts + 1)}
        self.budgets = dict(max_drops=config.drops, max_duplicates=config.duplicates,
                            max_crashes=config.crashes, max_losses=config.disk_losses,
                            W=config.w)
        if self.shape.restores:
            self.budgets["max_restores"] = config.restores

    def _constants(self, k: int) -> Named:
        found = self._consts.get(k)
        if found is None:
            found = self._consts[k] = _named(_free_constants(self.steps[k].formula))
        return found

    def steps_family(self, step_name: str) -> str:
        """The family of the step called ``step_name``."""
        return self._family_of[step_name]

    def numbering(self, *states: Any) -> tuple[dict[Any, int], list[Any]] | None:
        """Payload -> number for the hint payloads of ``states`` (None: too many).
        The same states (the same objects, in order) as the last call: the same
        answer, the very same objects."""
        last, answer = self._numbered
        if len(last) == len(states) and all(a is b for a, b in zip(last, states, strict=True)):
            return answer  # type: ignore[no-any-return]
        payloads = hint_payloads(*states, key=self.key)
        answer = (None if len(payloads) > self.shape.payloads
                  else ({p: u for u, p in enumerate(payloads)}, payloads))
        self._numbered = (states, answer)
        self._abstracted = {}
        return answer

    def _abstract(self, state: Any, ids: dict[Any, int]) -> dict[str, Any]:
        """:func:`abstract_state` of ``state`` under ``ids``, once per state while
        ``ids`` is the last numbering's (a state among that numbering's states)."""
        last, answer = self._numbered
        if answer is None or answer[0] is not ids or not any(s is state for s in last):
            return abstract_state(state, self.shape, ids, self.key)
        found = self._abstracted.get(id(state))
        if found is None:
            found = self._abstracted[id(state)] = abstract_state(state, self.shape, ids, self.key)
        return found

    def _parameters(self, states: Sequence[Any], payloads: list[Any]) -> dict[str, Any]:
        values: dict[str, Any] = payload_coverage(states[-1], payloads, self.shape, self.key)
        values.update(put_histories(states, self.shape, self.key))
        values.update(put_dots(states, self.shape))
        values.update(self.budgets)
        values.update(self.tombstones)
        return values

    def edge(self, pre: Any, action: Any, post: Any) -> str | None:
        """The step of the encoding that explains the spec edge: a step name,
        :data:`STUTTER`, :data:`NOT_ENCODED` (an action kind the encoding does not
        cover), :data:`OUTSIDE` (more hint payloads than the bounds), or None when no
        step of the action's family explains it (a disagreement)."""
        return self.edges(pre, [(action, post)])[0]

    def edges(self, pre: Any, successors: Sequence[tuple[Any, Any]]) -> list[str | None]:
        """:meth:`edge` for each ``(action, post)`` of ``successors`` (one payload
        numbering for them all when the bounds allow: the pre-state is abstracted
        once)."""
        numbered = self.numbering(pre, *[post for _, post in successors])
        if numbered is None:
            if len(successors) == 1:
                return [OUTSIDE]
            return [self.edges(pre, [one])[0] for one in successors]
        ids, payloads = numbered
        before = self._abstract(pre, ids)
        names = list(before)
        key_before = tuple(before.values())
        out: list[str | None] = []
        for action, post in successors:
            wanted = projected_families(action, pre, self.key)
            if wanted is None:
                out.append(NOT_ENCODED)
                continue
            after = self._abstract(post, ids)
            key_after = tuple(after.values())
            if key_after == key_before:
                out.append(STUTTER)
                continue
            params = self._parameters((pre, post), payloads)
            memo = (wanted, key_before, key_after, tuple(params.values()))
            if memo not in self._memo:
                changed = frozenset(n for n in names if before[n] != after[n])
                values = dict(params)
                values.update(before)
                values.update({f"'{name}": value for name, value in after.items()})
                self._memo[memo] = next(
                    (self.steps[k].name for family in wanted
                     for k in self._by_family.get(family, ())
                     if changed <= self.steps[k].changes
                     and _evaluate(self.steps[k].formula, self._constants(k), values)),
                    None,
                )
            out.append(self._memo[memo])
        return out

    def step_holds(self, name: str, pre: Any, post: Any) -> bool | None:
        """Does the encoding's step called ``name`` (one of :attr:`steps`) lead from
        the abstraction of ``pre`` to that of ``post``, the variables it does not
        change kept (None: outside the bounds)? A spec pair that no spec edge joins
        may be asked about: the step's guard against the spec's (a test of the reap's
        guard, tests/model_check/test_proof_membership.py)."""
        numbered = self.numbering(pre, post)
        if numbered is None:
            return None
        ids, payloads = numbered
        k = next(j for j, step in enumerate(self.steps) if step.name == name)
        before = abstract_state(pre, self.shape, ids, self.key)
        after = abstract_state(post, self.shape, ids, self.key)
        if any(before[n] != after[n] for n in before if n not in self.steps[k].changes):
            return False
        values = self._parameters((pre, post), payloads)
        values.update(before)
        values.update({f"'{n}": value for n, value in after.items()})
        return _evaluate(self.steps[k].formula, self._constants(k), values)

    def holds(self, predicate: Invariant, state: Any) -> bool | None:
        """Does ``predicate`` (an invariant or property of the encoding) hold on the
        abstraction of a spec state (None: outside the bounds)?"""
        held, values = self._held
        if held is not state:
            numbered = self.numbering(state)
            if numbered is None:
                values = None
            else:
                ids, payloads = numbered
                values = self._parameters((state,), payloads)
                values.update(abstract_state(state, self.shape, ids, self.key))
            self._held = (state, values)
        if values is None:
            return None
        if predicate not in self._predicates:
            formula = predicate(self.x, self.params)
            self._predicates[predicate] = (formula, _named(_free_constants(formula)))
        formula, consts = self._predicates[predicate]
        key = (predicate, tuple(values.get(name, _ABSENT) for name, _ in consts))
        verdict = self._verdicts.get(key)
        if verdict is None:
            if len(self._verdicts) >= _VERDICTS_KEPT:
                self._verdicts.clear()
            verdict = self._verdicts[key] = _evaluate(formula, consts, values)
        return verdict

    def exact_successors(
        self, state: Any, successors: Sequence[Any], limit: int = 60
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
        """(abstract states the exact steps allow from ``state``'s abstraction, the
        abstractions of the spec's ``successors`` and of ``state``), over one payload
        numbering; None outside the bounds."""
        numbered = self.numbering(state, *successors)
        if numbered is None:
            return None
        ids, payloads = numbered
        before = self._abstract(state, ids)
        expected = [self._abstract(s, ids) for s in successors] + [before]
        params = self._parameters((state, *successors), payloads)
        key = (tuple(before.values()), tuple(params.values()))
        if key not in self._exact_memo:
            self._exact_memo[key] = self._enumerate(before, params, limit)
        return self._exact_memo[key], expected

    def _enumerate(self, before: dict[str, Any], params: dict[str, Any], limit: int
                   ) -> list[dict[str, Any]]:
        """The post-states the exact steps allow, step by step: a step changes only
        its ``changes``, so every other post-state variable is the pre-state's, and
        what is left of the step's formula once the pre-state, the parameters and
        those are substituted constrains a few variables only."""
        if self._exact is None:
            # under the lossy rule a merge is not determined: merging steps are then
            # checked forward only; with pruning (session 34) anti-entropy's merge is
            # stated by the dvv rule itself, not by the store rule
            pruned = {"anti-entropy"} if self.shape.prune else set()
            self._exact = [k for k, step in enumerate(self.steps)
                           if step.exact and not (self.lossy and step.family in MERGING
                                                  and step.family not in pruned)]
        found: list[dict[str, Any]] = []
        values = dict(params)
        values.update(before)
        values.update({f"'{n}": v for n, v in before.items()})
        ys = self.y.variables()
        for k in self._exact:
            step = self.steps[k]
            if step.about and not (before[f"hint[{step.about}]"] or before[f"hmsg[{step.about}]"]
                                   or before[f"hack[{step.about}]"]):
                continue  # a hint step about a hint that is nowhere
            unknown = {f"'{name}" for name in step.changes}
            consts = [(n, ast) for n, ast in self._constants(k) if n not in unknown]
            residue = _substituted(step.formula, consts, values)
            if z3.is_false(residue):
                continue
            free = {name: ys[name] for name in step.changes}
            fixed = _assignment(residue, free)
            if fixed is not None:  # the common case: no solver needed
                if len(found) < limit:
                    found.append({**before, **fixed})
                continue
            solver = z3.Solver()
            solver.add(residue)
            while len(found) < limit and solver.check() == z3.sat:
                model = solver.model()
                post = dict(before)
                for name, term in free.items():
                    value = model.eval(term, model_completion=True)
                    post[name] = (value.as_long() if z3.is_int_value(value)
                                  else z3.is_true(value))
                found.append(post)
                solver.add(z3.Or([term != post[name] for name, term in free.items()]))
        return found


def _assignment(residue: Term, free: dict[str, Term]) -> dict[str, Any] | None:
    """The one assignment of ``free`` that ``residue`` allows when it is a conjunction
    of literals each fixing one of them to a value (``v == 3``, ``b``, ``Not(b)``);
    None when it is anything else (the solver enumerates it)."""
    names = {term.get_id(): name for name, term in free.items()}
    out: dict[str, Any] = {}
    for atom in residue.children() if z3.is_and(residue) else [residue]:
        if atom.get_id() in names:
            name, value = names[atom.get_id()], True
        elif z3.is_not(atom) and atom.arg(0).get_id() in names:
            name, value = names[atom.arg(0).get_id()], False
        elif z3.is_eq(atom) and atom.arg(0).get_id() in names and z3.is_int_value(atom.arg(1)):
            name, value = names[atom.arg(0).get_id()], atom.arg(1).as_long()
        elif z3.is_eq(atom) and atom.arg(1).get_id() in names and z3.is_int_value(atom.arg(0)):
            name, value = names[atom.arg(1).get_id()], atom.arg(0).as_long()
        else:
            return None
        if out.setdefault(name, value) != value:
            return None
    return out if len(out) == len(free) else None

