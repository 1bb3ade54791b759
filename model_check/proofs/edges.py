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

from model_check.proofs import terms as zt
from model_check.proofs.abstraction import AbstractState, Invariant, Params, Shape, Term, new_states
from model_check.proofs.mapping import (
    AbstractParts,
    abstract_parts,
    hint_payloads,
    payload_coverage,
    projected_families,
    put_dots,
    put_histories,
    shape_of,
    with_hints,
)
from model_check.proofs.transition import Step, StoreRule, causal_store, transition
from spec.clocks import payload_key

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


def _unchecked(name: str) -> Any:
    """Z3's C function ``name`` itself, without the Python wrapper's error check (a
    second ctypes call, ``Z3_get_error_code``, after every call); the wrapper when this
    z3 build does not expose it so. Only for the getters below, which read a valid AST
    of a live context and cannot fail (session 45: the check was a third of
    :func:`_free_constants`)."""
    wrapper = getattr(z3, name)
    elementaries = (getattr(wrapper, "__defaults__", None) or (None,))[-1]
    return getattr(elementaries, "f", wrapper)


_AST_ID = _unchecked("Z3_get_ast_id")
_AST_KIND = _unchecked("Z3_get_ast_kind")
_NUM_ARGS = _unchecked("Z3_get_app_num_args")
_ARG = _unchecked("Z3_get_app_arg")
_DECL = _unchecked("Z3_get_app_decl")
_DECL_KIND = _unchecked("Z3_get_decl_kind")


def _free_asts(term: Term) -> list[Any]:
    """The raw ASTs of :func:`_free_constants` (kept alive by ``term``)."""
    ref = term.ctx.ref()
    app, numeral, uninterpreted = z3.Z3_APP_AST, z3.Z3_NUMERAL_AST, z3.Z3_OP_UNINTERPRETED
    ast_id, ast_kind, num_args, arg, decl, decl_kind = (
        _AST_ID, _AST_KIND, _NUM_ARGS, _ARG, _DECL, _DECL_KIND)
    found: dict[int, Any] = {}
    seen: set[int] = set()
    stack = [term.as_ast()]
    while stack:
        ast = stack.pop()
        ident = ast_id(ref, ast)
        if ident in seen:
            continue
        seen.add(ident)
        kind = ast_kind(ref, ast)
        if kind == app:
            count = num_args(ref, ast)
            if count:
                stack.extend([arg(ref, ast, j) for j in range(count)])
            elif decl_kind(ref, decl(ref, ast)) == uninterpreted:
                found[ident] = ast
        elif kind != numeral:
            raise ValueError(f"not a quantifier-free term (AST kind {kind}): {term}")
    return list(found.values())


def _free_constants(term: Term) -> list[Term]:
    """The uninterpreted constants of a quantifier-free term, in the order a
    depth-first walk meets them (children pushed in order, popped last first).

    The walk reads raw ASTs through Z3's C API (no Python wrapper per node: the
    wrappers' construction and reference counting were most of the agreement
    sample's time in this function, session 20; since session 45 the getters without
    their error check, :func:`_unchecked`); the term keeps its sub-terms alive. A
    quantifier or bound variable (not in the encoding) raises ``ValueError``."""
    ctx = term.ctx
    return [z3.z3._to_expr_ref(ast, ctx) for ast in _free_asts(term)]


Named = list[tuple[str, Any]]
"""Constants of a formula as ``(name, ast)`` pairs (names read once: reading a
name through the Python API costs more than a substitution)."""


def _named(consts: list[Term]) -> Named:
    return [(c.decl().name(), c.as_ast()) for c in consts]


def _named_free(term: Term) -> Named:
    """``_named(_free_constants(term))``, the names read through Z3's C API (no
    wrapper per constant; session 45); a constant named by an integer symbol (none in
    the encoding) through the wrappers."""
    ref = term.ctx.ref()
    asts = _free_asts(term)
    out: Named = []
    for ast in asts:
        symbol = z3.Z3_get_decl_name(ref, _DECL(ref, ast))
        if z3.Z3_get_symbol_kind(ref, symbol) != z3.Z3_STRING_SYMBOL:
            return _named([z3.z3._to_expr_ref(a, term.ctx) for a in asts])
        out.append((z3.Z3_get_symbol_string(ref, symbol), ast))
    return out


_LITERALS: dict[Any, Any] = {}
#: EdgeCheck.holds: a constant a state's values do not name (left symbolic)
_ABSENT = object()
#: EdgeCheck.holds: the verdicts kept per check before the memo starts over
_VERDICTS_KEPT = 200_000
#: EdgeCheck: the states' abstractions kept per check before the memo starts over
#: (a breadth-first walk asks for a state's as a successor, then as the state
#: expanded: a few levels of the walk)
_PARTS_KEPT = 50_000


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


#: _substituted: per constants list (by id, the list held so the id stays its own) its
#: names and the array of their ASTs (session 43: built again for every substitution)
_SOURCES: dict[int, tuple[Named, list[str], Any]] = {}


def _substituted(formula: Term, consts: Named, values: dict[str, Any]) -> Term:
    """``formula`` with the constants of ``consts`` that ``values`` names replaced by
    their values, simplified (one call to Z3's C API). When ``values`` names them all
    (the common case) the array of sources is the one kept for ``consts``."""
    found = _SOURCES.get(id(consts))
    if found is None or found[0] is not consts:
        if len(_SOURCES) >= 4_096:
            _SOURCES.clear()
        every = (z3.Ast * len(consts))()
        for j, (_, ast) in enumerate(consts):
            every[j] = ast
        found = _SOURCES[id(consts)] = (consts, [name for name, _ in consts], every)
    _, names, sources = found
    count = len(names)
    targets = (z3.Ast * count)()
    try:
        for j, name in enumerate(names):
            targets[j] = _literal(values[name])
    except KeyError:  # some constants left symbolic
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


Relation = tuple[AbstractState, AbstractState, Params, list[Step], dict[Any, Any]]
"""An encoding's transition relation: the pre- and post-state terms, the parameters,
the steps (:func:`~model_check.proofs.transition.transition`), and what is read of
them once, kept with them: each step's constants (by step index), the exact steps
packed (``"packed"``: :meth:`EdgeCheck._packed`, a function of the relation alone,
session 43) and the hint steps renamed apart (``("renamed", k)``)."""

#: :meth:`EdgeCheck._packed`: the packed term, its constants, and per packed step and
#: per hint step its index, the variables it changes renamed apart, their names by id
Packed = tuple[Term, Named, list[tuple[int, dict[str, Term], dict[int, str]]],
               list[tuple[int, dict[str, Term], dict[int, str]]]]

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
        # step index -> its constants, on first use; the packed steps (the relation's)
        self._consts: dict[Any, Any] = consts
        self._by_family: dict[str, list[int]] = {}
        for k, step in enumerate(self.steps):
            self._by_family.setdefault(step.family, []).append(k)
        self._family_of = {step.name: step.family for step in self.steps}
        self._memo: dict[Any, str | None] = {}
        self._predicates: dict[Invariant, tuple[Term, Named]] = {}
        # holds(): each state's values (kept by the state's value, as a tuple in the
        # order of its names: a caller reads several predicates on each state, one
        # predicate over all the states after another), and each predicate's verdict
        # per the values of its constants (many states share an abstraction); pure
        # speed, the same answers
        self._held: dict[Any, tuple[tuple[str, ...], tuple[Any, ...]] | None] = {}
        self._orders: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._positions: dict[tuple[Invariant, tuple[str, ...]], list[int]] = {}
        self._verdicts: dict[tuple[Invariant, tuple[Any, ...]], bool] = {}
        self._exact_memo: dict[Any, list[dict[str, Any]]] = {}
        # the last numbering (its states, kept so their ids stay theirs, and its
        # answer): a caller asks edges() and then exact_successors() of one state and
        # its successors (pure speed, session 17)
        self._numbered: tuple[tuple[Any, ...], Any] = ((), None)
        self._payloads: dict[Any, frozenset[Any]] = {}
        # each state's abstraction before its payloads are numbered, by the state's
        # value (session 43: a walk abstracted a state once per edge into it and once
        # more as the state expanded, each under another numbering: 4.6 times a state
        # on the learnt entry's walk); pure speed, the same answers
        self._parts: dict[Any, AbstractParts] = {}
        self._params_memo: dict[tuple[tuple[Any, ...], tuple[Any, ...]], dict[str, Any]] = {}
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
            found = self._consts[k] = _named_free(self.steps[k].formula)
        return found

    def steps_family(self, step_name: str) -> str:
        """The family of the step called ``step_name``."""
        return self._family_of[step_name]

    def numbering(self, *states: Any) -> tuple[dict[Any, int], list[Any]] | None:
        """Payload -> number for the hint payloads of ``states`` (None: too many).
        The same states (the same objects, in order) as the last call: the same
        answer, the very same objects. Each state's payloads are kept by the state's
        value (session 43; most states hold none)."""
        last, answer = self._numbered
        if len(last) == len(states) and all(a is b for a, b in zip(last, states, strict=True)):
            return answer  # type: ignore[no-any-return]
        found: set[Any] = set()
        for state in states:
            own = self._payloads.get(state)
            if own is None:
                if len(self._payloads) >= _PARTS_KEPT:
                    self._payloads.clear()
                own = self._payloads[state] = frozenset(hint_payloads(state, key=self.key))
            found |= own
        payloads = sorted(found, key=payload_key) if found else []
        answer = (None if len(payloads) > self.shape.payloads
                  else ({p: u for u, p in enumerate(payloads)}, payloads))
        self._numbered = (states, answer)
        return answer

    def abstract(self, state: Any, ids: dict[Any, int]) -> dict[str, Any]:
        """:func:`~model_check.proofs.mapping.abstract_state` of ``state`` (of this
        check's shape and key) under the payload numbering ``ids``; a state's
        :func:`~model_check.proofs.mapping.abstract_parts` computed once (kept by the
        state's value, up to :data:`_PARTS_KEPT` states). Shared, not to be changed:
        a state without hints gets the same dict every time."""
        parts = self._parts.get(state)
        if parts is None:
            if len(self._parts) >= _PARTS_KEPT:
                self._parts.clear()
            parts = self._parts[state] = abstract_parts(state, self.shape, self.key)
        return with_hints(parts, ids) if parts[1] else parts[0]


    def _parameters(self, states: Sequence[Any], payloads: list[Any]) -> dict[str, Any]:
        """The parameters of an edge between ``states`` (a new dict): they read the
        put tables of ``states`` and the numbered payloads only (and the check's
        configuration), so they are kept per those (session 43)."""
        memo = (tuple(state.puts for state in states), tuple(payloads))
        found = self._params_memo.get(memo)
        if found is None:
            found = payload_coverage(states[-1], payloads, self.shape, self.key)
            found.update(put_histories(states, self.shape, self.key))
            found.update(put_dots(states, self.shape))
            found.update(self.budgets)
            found.update(self.tombstones)
            if len(self._params_memo) >= _PARTS_KEPT:
                self._params_memo.clear()
            self._params_memo[memo] = found
        return dict(found)

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
        before = self.abstract(pre, ids)
        names = list(before)
        key_before = tuple(before.values())
        out: list[str | None] = []
        for action, post in successors:
            wanted = projected_families(action, pre, self.key)
            if wanted is None:
                out.append(NOT_ENCODED)
                continue
            after = self.abstract(post, ids)
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
        before = self.abstract(pre, ids)
        after = self.abstract(post, ids)
        if any(before[n] != after[n] for n in before if n not in self.steps[k].changes):
            return False
        values = self._parameters((pre, post), payloads)
        values.update(before)
        values.update({f"'{n}": value for n, value in after.items()})
        return _evaluate(self.steps[k].formula, self._constants(k), values)

    def holds(self, predicate: Invariant, state: Any) -> bool | None:
        """Does ``predicate`` (an invariant or property of the encoding) hold on the
        abstraction of a spec state (None: outside the bounds)?"""
        held = self._held[state] if state in self._held else self._held_values(state)
        if held is None:
            return None
        names, values = held
        if predicate not in self._predicates:
            formula = predicate(self.x, self.params)
            self._predicates[predicate] = (formula, _named_free(formula))
        formula, consts = self._predicates[predicate]
        positions = self._positions.get((predicate, names))
        if positions is None:
            at = {name: j for j, name in enumerate(names)}
            positions = self._positions[predicate, names] = [at.get(name, len(names))
                                                             for name, _ in consts]
        key = (predicate, tuple(map(values.__getitem__, positions)))
        verdict = self._verdicts.get(key)
        if verdict is None:
            if len(self._verdicts) >= _VERDICTS_KEPT:
                self._verdicts.clear()
            # the values end with _ABSENT, the position of a name they lack
            verdict = self._verdicts[key] = _evaluate(
                formula, consts, dict(zip(names, values[:-1], strict=True)))
        return verdict

    def _held_values(self, state: Any) -> tuple[tuple[str, ...], tuple[Any, ...]] | None:
        """:meth:`holds`'s values of ``state`` (the parameters and the abstraction): the
        names (one tuple object per order met) and the values in their order, then
        :data:`_ABSENT` (the position of a name they lack); None outside the bounds.
        Kept for up to :data:`_PARTS_KEPT` states."""
        numbered = self.numbering(state)
        held: tuple[tuple[str, ...], tuple[Any, ...]] | None = None
        if numbered is not None:
            ids, payloads = numbered
            values = self._parameters((state,), payloads)
            values.update(self.abstract(state, ids))
            names = tuple(values)
            held = (self._orders.setdefault(names, names), (*values.values(), _ABSENT))
        if len(self._held) >= _PARTS_KEPT:
            self._held.clear()
        self._held[state] = held
        return held

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
        before = self.abstract(state, ids)
        expected = [self.abstract(s, ids) for s in successors] + [before]
        params = self._parameters((state, *successors), payloads)
        key = (tuple(before.values()), tuple(params.values()))
        if key not in self._exact_memo:
            self._exact_memo[key] = self._enumerate(before, params, limit)
        return self._exact_memo[key], expected

    def _packed(self) -> Packed:
        """The exact steps packed into one term for :meth:`_enumerate` (session 43):
        ``exact(f_1, ..., f_n)`` (an uninterpreted function of the step formulas), in
        each of which the post-state variables the step changes are renamed apart
        (``'v@k``: left symbolic, while every other post-state variable takes its
        pre-state value); its constants (the renamed ones never have a value); and per
        step, its index, those variables (name -> term) and their names by AST id; the
        same of the hint steps, reduced one by one (:meth:`_renamed`). One
        substitution then reduces every step at once, the frame conditions they share
        reduced once. Built once a relation (kept with it)."""
        found: Packed | None = self._consts.get("packed")
        if found is None:
            # under the lossy rule a merge is not determined: merging steps are then
            # checked forward only; with pruning (session 34) anti-entropy's merge is
            # stated by the dvv rule itself, not by the store rule
            pruned = {"anti-entropy"} if self.shape.prune else set()
            exact = [k for k, step in enumerate(self.steps)
                     if step.exact and not (self.lossy and step.family in MERGING
                                            and step.family not in pruned)]
            ys = self.y.variables()
            formulas, steps, about = [], [], []
            for k in exact:
                step = self.steps[k]
                free = {name: z3.Const(f"'{name}@{k}", ys[name].sort())
                        for name in sorted(step.changes)}
                by_id = {term.get_id(): name for name, term in free.items()}
                if step.about:  # rarely enabled: reduced alone, when its hint is somewhere
                    about.append((k, free, by_id))
                    continue
                formula = step.formula
                if free:
                    formula = z3.substitute(formula, *[(ys[name], term)
                                                       for name, term in free.items()])
                formulas.append(formula)
                steps.append((k, free, by_id))
            booleans = [z3.BoolSort()] * max(1, len(formulas))
            packed = z3.Function("exact#", *booleans, z3.BoolSort())(
                *(formulas or [z3.BoolVal(False)]))
            found = self._consts["packed"] = (packed, _named_free(packed), steps,
                                              about)
        return found

    def _renamed(self, k: int, free: dict[str, Term]) -> tuple[Term, Named]:
        """Step ``k``'s formula with the post-state variables it changes renamed to
        ``free``'s, and its constants (once a relation)."""
        found: tuple[Term, Named] | None = self._consts.get(("renamed", k))
        if found is None:
            ys = self.y.variables()
            formula = self.steps[k].formula
            if free:
                formula = z3.substitute(formula, *[(ys[name], term)
                                                   for name, term in free.items()])
            found = self._consts["renamed", k] = (formula, _named_free(formula))
        return found

    def _enumerate(self, before: dict[str, Any], params: dict[str, Any], limit: int
                   ) -> list[dict[str, Any]]:
        """The post-states the exact steps allow, step by step: a step changes only
        its ``changes``, so every other post-state variable is the pre-state's, and
        what is left of the step's formula once the pre-state, the parameters and
        those are substituted constrains a few variables only (all the steps in one
        substitution: :meth:`_packed`)."""
        packed, consts, steps, about_steps = self._packed()
        found: list[dict[str, Any]] = []
        values = dict(params)
        values.update(before)
        values.update({f"'{n}": v for n, v in before.items()})
        reduced = _substituted(packed, consts, values)
        ctx = reduced.ctx
        ref = ctx.ref()
        top = reduced.as_ast()
        residues = [(k, free, by_id, z3.Z3_get_app_arg(ref, top, j))  # kept by ``reduced``
                    for j, (k, free, by_id) in enumerate(steps)]
        kept = []  # the hint steps' residues, alive while read
        for k, free, by_id in about_steps:
            about = self.steps[k].about
            if not (before[f"hint[{about}]"] or before[f"hmsg[{about}]"]
                    or before[f"hack[{about}]"]):
                continue  # a hint step about a hint that is nowhere
            alone = _substituted(*self._renamed(k, free), values)
            kept.append(alone)
            residues.append((k, free, by_id, alone.as_ast()))
        residues.sort(key=lambda r: r[0])  # the steps' order, as before the packing
        for _, free, by_id, residue in residues:
            if _is_false_ast(ref, residue):
                continue
            fixed = _assignment(ref, residue, by_id, len(free))
            if fixed is not None:  # the common case: no solver needed
                if len(found) < limit:
                    found.append({**before, **fixed})
                continue
            solver = z3.Solver(ctx=ctx)
            solver.add(z3.BoolRef(residue, ctx))
            while len(found) < limit and solver.check() == z3.sat:
                model = solver.model()
                post = dict(before)
                for name, term in free.items():
                    value = model.eval(term, model_completion=True)
                    post[name] = (value.as_long() if z3.is_int_value(value)
                                  else z3.is_true(value))
                found.append(post)
                solver.add(zt.Or([term != post[name] for name, term in free.items()]))
        return found


def _is_false_ast(ref: Any, ast: Any) -> bool:
    """Is the raw AST ``ast`` the constant false? (Z3's C API, session 43.)"""
    return bool(_AST_KIND(ref, ast) == z3.Z3_APP_AST and _DECL_KIND(
        ref, _DECL(ref, ast)) == z3.Z3_OP_FALSE)


def _int_numeral(ref: Any, ast: Any) -> int | None:
    """The value of an integer numeral (None: ``ast`` is not one)."""
    if _AST_KIND(ref, ast) != z3.Z3_NUMERAL_AST:
        return None
    if z3.Z3_get_sort_kind(ref, z3.Z3_get_sort(ref, ast)) != z3.Z3_INT_SORT:
        return None
    return int(z3.Z3_get_numeral_string(ref, ast))


def _assignment(ref: Any, top: Any, names: dict[int, str], count: int) -> dict[str, Any] | None:
    """The one assignment of the ``count`` free variables (``names``: AST id -> name)
    that ``residue`` allows when it is a conjunction of literals each fixing one of
    them to a value (``v == 3``, ``b``, ``Not(b)``); None when it is anything else
    (the solver enumerates it). Reads the raw ASTs through Z3's C API (session 43:
    the Python wrappers were two thirds of the enumeration's time): ``top`` in the
    context ``ref``, kept alive by the caller."""
    if _AST_KIND(ref, top) != z3.Z3_APP_AST:
        return None
    if _DECL_KIND(ref, _DECL(ref, top)) == z3.Z3_OP_AND:
        atoms = [_ARG(ref, top, j) for j in range(_NUM_ARGS(ref, top))]
    else:
        atoms = [top]
    out: dict[str, Any] = {}
    for atom in atoms:
        name = names.get(_AST_ID(ref, atom))
        value: Any = True
        if name is None:
            if _AST_KIND(ref, atom) != z3.Z3_APP_AST:
                return None
            kind = _DECL_KIND(ref, _DECL(ref, atom))
            if kind == z3.Z3_OP_NOT:
                negated = _ARG(ref, atom, 0)
                name, value = names.get(_AST_ID(ref, negated)), False
            elif kind == z3.Z3_OP_EQ:
                left, right = _ARG(ref, atom, 0), _ARG(ref, atom, 1)
                name, value = names.get(_AST_ID(ref, left)), _int_numeral(ref, right)
                if name is None:
                    name, value = names.get(_AST_ID(ref, right)), _int_numeral(ref, left)
                if value is None:
                    return None
            if name is None:
                return None
        if out.setdefault(name, value) != value:
            return None
    return out if len(out) == count else None

