"""Agreement of the Z3 encoding (:mod:`model_check.proofs.abstraction`) with the spec,
edge by edge over the reachable graph of a configuration.

Theory of operation
-------------------
:func:`abstract_state` is the abstraction function: a spec state onto the
variables of the encoding (one key; hint payloads numbered per edge, in the spec's
canonical payload order, by :func:`hint_payloads`). :class:`EdgeCheck` compares the
encoding with the spec in both directions:

- *forward* (:meth:`EdgeCheck.edge`): for a spec edge ``pre --action--> post``,
  the abstractions are substituted into the formulas of the steps of the action's
  *family* (a crash must be the encoding's crash of that node, a delivered
  ``replica-get-reply`` its ``replica-get-reply`` step, ...), simplified to true or
  false. The edge agrees if one of them holds, or if the abstraction did not
  change (a stutter: the step touches nothing the encoding keeps, as a forward or
  a duplicated message). An action kind the encoding has no family for is
  counted as *not encoded*, not an error (membership changes have their
  families: :mod:`model_check.proofs.membership`); an edge with more
  distinct hint payloads than the bounds as *outside the bounds*.
- *backward*, for the exact steps (:meth:`EdgeCheck.exact_successors`): every
  abstract successor Z3 allows by an exact step from a state's abstraction
  (models enumerated and blocked) must be the abstraction of one of the state's
  spec successors (or the state's own, a stutter). The over-approximated steps are
  checked forward only: they allow more than the spec does.

:func:`check_graph` walks a configuration's reachable graph breadth first
(symmetry-reduced, as the checker does) and runs both checks on every edge of
every state it expands (``every`` > 1 expands only one state in ``every`` for the
checks, but still walks the whole graph: a sample for CI). The causal store rule
is the spec's merge only in the causal configurations; a configuration whose
merges may lose a version (lww, server-vclock, client clocks after a blind
rewrite, dvv after amnesia with the naive actor) is checked against the lossy
rule, and the causal rule's refusals are counted (they are the lossy merges, the
steps behind the durability violations of those configurations).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from model_check.errors import ProofInputError
from model_check.proofs.abstraction import Invariant, Shape, Term, new_states
from model_check.proofs.membership import abstract_ring, change_of
from model_check.proofs.transition import StoreRule, causal_store, lossy_store, transition

__all__ = [
    "SAMPLE_EVERY",
    "SAMPLE_STATES",
    "EdgeCheck",
    "GraphAgreement",
    "abstract_state",
    "agreement_json",
    "agreement_table",
    "check_graph",
    "check_suite",
    "faithful",
    "families",
    "hint_payloads",
    "lossy_configurations",
    "payload_coverage",
    "shape_of",
]

#: Distinct hint payloads the encoding numbers per edge (edges with more are
#: counted as outside the bounds).
PAYLOADS = 2


def faithful(config: Any) -> bool:
    """Are the configuration's clocks faithful to true histories (a dominating clock's
    version has the dominated one's history: the hypothesis of
    ``merge_keeps_every_history``)? Not for lww and server-vclock (the coordinator's
    clock or timestamp ignores what the client read), dvv's naive actor after a
    disk loss or a buffered crash (re-issued dots), or client clocks when a client
    may write twice without reading (a blind rewrite)."""
    if config.clock in ("lww", "server-vclock"):
        return False
    if config.clock == "dvv":
        amnesia = config.disk_losses > 0 or config.storage == "buffered"
        return bool(config.actor_epochs) or not amnesia
    blind = config.puts_per_client > 1 and config.gets_per_client == 0
    return not blind


def lossy_configurations() -> frozenset[str]:
    """The suite entries whose clocks are not :func:`faithful`."""
    from model_check.suite import DEFAULT_SUITE

    return frozenset(e.name for e in DEFAULT_SUITE if not faithful(e.config))


def shape_of(config: Any, payloads: int = PAYLOADS) -> Shape:
    """The encoding's bounds for a spec configuration (one key; raises
    ProofInputError for more)."""
    from spec.step import plan_of

    if len(config.keys) != 1:
        raise ProofInputError("the encoding covers configurations with one key")
    plan = plan_of(config)
    key = config.keys[0]
    nodes = tuple(config.all_nodes)  # with joining nodes (spec.config)
    return Shape(
        nodes=nodes,
        puts=plan.total_puts,
        payloads=payloads,
        top=tuple(plan.index[n] for n in plan.top[key]),
        change=change_of(config, nodes),
        anti_entropy=bool(config.anti_entropy),
        handoff=bool(config.hinted_handoff),
        buffered=config.storage == "buffered",
        reaping=bool(plan.tombstones) and config.delete_mode != "keep",
        partitions=config.partitions > 0,
        deletes=bool(plan.tombstones),
        reap_mode=config.delete_mode,
    )


# -- the abstraction function: spec state -> abstract state ----------------------------------


def _coverage(state: Any, payload: Any) -> set[int]:
    from spec import clocks

    out: set[int] = set()
    for value in clocks.values(payload):
        record = state.puts[value - 1]
        if record is not None:
            out |= record.history
    return out


def abstract_state(state: Any, shape: Shape, payload_ids: dict[Any, int]) -> dict[str, Any]:
    """The abstract state of a spec state, as ``{variable name: value}``.

    ``payload_ids`` numbers the hint payloads (shared by a pre- and a post-state);
    the caller builds it with :func:`hint_payloads`. Raises ProofInputError (a
    ValueError) for a state of another shape.
    """
    from spec.state import Kind

    nodes = shape.nodes
    if tuple(state.config.all_nodes) != nodes or len(state.config.keys) != 1:
        raise ProofInputError("the abstraction covers one key and the shape's nodes")
    index = {n: j for j, n in enumerate(nodes)}
    puts = range(1, shape.puts + 1)
    out: dict[str, Any] = {}
    from spec import clocks

    deletes = shape.deletes
    live: list[set[int]] = [set() for _ in nodes]
    alive: set[int] = set()
    wmsg: list[set[int]] = [set() for _ in nodes]
    rmsg: list[set[int]] = [set() for _ in nodes]
    held: list[set[int]] = [set() for _ in nodes]
    for n, node in zip(nodes, state.nodes, strict=True):
        out[f"up[{n}]"] = node.up
        out[f"side[{n}]"] = n in state.side
        covered = _coverage(state, node.store[0])
        for p in puts:
            out[f"store[{n}][{p}]"] = p in covered
        for coord in node.coord:
            if coord.payload is not None:
                held[index[n]] |= _coverage(state, coord.payload)
                if deletes:
                    alive.update(clocks.values(coord.payload))
            for _, payload in coord.replies:
                held[index[n]] |= _coverage(state, payload)
                if deletes:
                    alive.update(clocks.values(payload))
        if deletes:
            live[index[n]].update(clocks.values(node.store[0]))
            for hint in node.hints:
                alive.update(clocks.values(hint.payload))
    for m in state.messages:
        if m.payload is None:
            continue
        if deletes:
            alive.update(clocks.values(m.payload))
        if m.kind is Kind.REPLICA_PUT or m.kind is Kind.READ_REPAIR:
            wmsg[index[m.dst]] |= _coverage(state, m.payload)
        elif m.kind is Kind.REPLICA_GET_REPLY:
            rmsg[index[m.dst]] |= _coverage(state, m.payload)
    for j, n in enumerate(nodes):
        for p in puts:
            out[f"wmsg[{n}][{p}]"] = p in wmsg[j]
            out[f"rmsg[{n}][{p}]"] = p in rmsg[j]
            out[f"held[{n}][{p}]"] = p in held[j]
            out[f"live[{n}][{p}]"] = p in live[j]
    acked = {p for client in state.clients for p in client.acked}
    for p in puts:
        out[f"performed[{p}]"] = state.puts[p - 1] is not None
        out[f"acked[{p}]"] = p in acked
        out[f"alive[{p}]"] = p in alive

    def label(h: str, i: str, u: int) -> str:
        return f"{h}->{i}#{u}"

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
    out["losses"] = state.used[4]
    if shape.change is not None:
        out.update(abstract_ring(state, nodes, shape.puts, lambda p: _coverage(state, p)))
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
    out = {f"cov[#{u}][{p + 1}]": False for u in range(shape.payloads)
           for p in range(shape.puts)}
    for u, payload in enumerate(payloads):
        covered = _coverage(state, payload)
        for p in range(shape.puts):
            out[f"cov[#{u}][{p + 1}]"] = (p + 1) in covered
    return out


def put_histories(states: Sequence[Any], shape: Shape) -> dict[str, bool]:
    """``hist[p][q]`` from the put table of the last state that performed put ``p``
    (an unperformed put's history is itself)."""
    out: dict[str, bool] = {}
    for p in range(1, shape.puts + 1):
        history: frozenset[int] = frozenset({p})
        for state in states:
            record = state.puts[p - 1]
            if record is not None:
                history = record.history | {p}
        for q in range(1, shape.puts + 1):
            out[f"hist[{p}][{q}]"] = q in history
    return out


# -- which steps of the encoding stand for a spec action -------------------------------------


_DELIVER_FAMILIES = {
    "forward": ("put", "get"),
    "replica-put": ("replica-put", "lost"),
    "read-repair": ("read-repair", "lost"),
    "replica-get": ("replica-get", "lost"),
    "replica-get-reply": ("replica-get-reply", "lost"),
    "replica-put-ack": ("replica-put-ack", "lost"),
    "hint-delivery": ("hint-deliver", "hint lost"),
    "hint-ack": ("hint-ack", "hint-ack lost"),
    "range-transfer": ("range-transfer", "range-transfer lost"),
}
#: messages the encoding counts (their drops and duplicates are exact steps)
_COUNTED_MESSAGES = {"hint-delivery": "hint", "hint-ack": "hint-ack",
                     "range-transfer": "transfer"}
_OWN_FAMILY = frozenset({
    "crash", "buffered-crash", "disk-loss", "recover", "anti-entropy", "handoff", "timeout",
    "client-timeout", "reap", "partition", "heal",
    "gossip", "join", "leave", "transfer", "handover", "settle",  # model_check.proofs.membership
})


def families(action: Any) -> tuple[str, ...] | None:
    """The families of encoding steps that may explain ``action`` (None: an action
    kind the encoding does not cover)."""
    kind = getattr(action, "kind", "")
    if kind in ("client-put", "client-delete"):
        return ("put",)
    if kind == "client-get":
        return ("get",)
    if kind == "deliver":
        return _DELIVER_FAMILIES.get(str(action.message.kind.value))
    if kind in ("drop", "duplicate"):
        hint = _COUNTED_MESSAGES.get(str(action.message.kind.value))
        return (f"{kind} {hint}",) if hint else (kind,)
    if kind in _OWN_FAMILY:
        return (kind,)
    return None


# -- the checks --------------------------------------------------------------------------------


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


Named = list[tuple[str, Any]]
"""Constants of a formula as ``(name, ast)`` pairs (names read once: reading a
name through the Python API costs more than a substitution)."""


def _named(consts: list[Term]) -> Named:
    return [(c.decl().name(), c.as_ast()) for c in consts]


_LITERALS: dict[Any, Any] = {}


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


class EdgeCheck:
    """Both checks for one configuration (see the module docstring)."""

    def __init__(self, config: Any, store_rule: StoreRule = causal_store,
                 shape: Shape | None = None) -> None:
        self.config = config
        self.lossy = store_rule is not causal_store
        self.shape = shape or shape_of(config)
        self.x, self.y, self.params = new_states(self.shape)
        self.steps = transition(self.x, self.y, self.params, store_rule,
                                ack_quorum=store_rule is causal_store)
        self._consts: dict[int, Named] = {}  # step index -> its constants, on first use
        self._by_family: dict[str, list[int]] = {}
        for k, step in enumerate(self.steps):
            self._by_family.setdefault(step.family, []).append(k)
        self._family_of = {step.name: step.family for step in self.steps}
        self._memo: dict[Any, str | None] = {}
        self._predicates: dict[Invariant, tuple[Term, Named]] = {}
        self._exact: Any = None
        self._exact_memo: dict[Any, list[dict[str, Any]]] = {}
        from spec.step import plan_of

        tombs = plan_of(config).tombstones
        self.tombstones = {f"tomb[{p}]": p in tombs for p in range(1, self.shape.puts + 1)}
        self.budgets = dict(max_drops=config.drops, max_duplicates=config.duplicates,
                            max_crashes=config.crashes, max_losses=config.disk_losses,
                            W=config.w)

    def _constants(self, k: int) -> Named:
        found = self._consts.get(k)
        if found is None:
            found = self._consts[k] = _named(_free_constants(self.steps[k].formula))
        return found

    def steps_family(self, step_name: str) -> str:
        """The family of the step called ``step_name``."""
        return self._family_of[step_name]

    def numbering(self, *states: Any) -> tuple[dict[Any, int], list[Any]] | None:
        """Payload -> number for the hint payloads of ``states`` (None: too many)."""
        payloads = hint_payloads(*states)
        if len(payloads) > self.shape.payloads:
            return None
        return {p: u for u, p in enumerate(payloads)}, payloads

    def _parameters(self, states: Sequence[Any], payloads: list[Any]) -> dict[str, Any]:
        values: dict[str, Any] = payload_coverage(states[-1], payloads, self.shape)
        values.update(put_histories(states, self.shape))
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
        before = abstract_state(pre, self.shape, ids)
        names = list(before)
        key_before = tuple(before.values())
        out: list[str | None] = []
        for action, post in successors:
            wanted = families(action)
            if wanted is None:
                out.append(NOT_ENCODED)
                continue
            after = abstract_state(post, self.shape, ids)
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

    def holds(self, predicate: Invariant, state: Any) -> bool | None:
        """Does ``predicate`` (an invariant or property of the encoding) hold on the
        abstraction of a spec state (None: outside the bounds)?"""
        numbered = self.numbering(state)
        if numbered is None:
            return None
        ids, payloads = numbered
        values = self._parameters((state,), payloads)
        values.update(abstract_state(state, self.shape, ids))
        if predicate not in self._predicates:
            formula = predicate(self.x, self.params)
            self._predicates[predicate] = (formula, _named(_free_constants(formula)))
        formula, consts = self._predicates[predicate]
        return _evaluate(formula, consts, values)

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
        before = abstract_state(state, self.shape, ids)
        expected = [abstract_state(s, self.shape, ids) for s in successors] + [before]
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
            # checked forward only
            self._exact = [k for k, step in enumerate(self.steps)
                           if step.exact and not (self.lossy and step.family in MERGING)]
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


# -- the whole graph ---------------------------------------------------------------------------


@dataclass
class GraphAgreement:
    """The figures of one configuration's agreement check."""

    name: str
    rule: str  # "causal" or "lossy": the store rule the edges were checked against
    states: int = 0  # distinct states walked
    checked_states: int = 0  # states whose edges were checked
    edges: int = 0  # edges compared (forward)
    stutters: int = 0
    not_encoded: Counter[str] = field(default_factory=Counter)  # action kind -> edges
    outside: int = 0
    by_family: Counter[str] = field(default_factory=Counter)  # step family -> edges
    disagreements: list[str] = field(default_factory=list)  # forward, first few
    causal_refusals: int = 0  # lossy configurations: edges the causal rule refuses
    exact_states: int = 0  # states checked backward
    exact_proposals: int = 0  # abstract successors Z3 proposed by exact steps
    exact_disagreements: list[str] = field(default_factory=list)
    forward_failures: int = 0
    backward_failures: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """No spec edge the encoding refuses (forward) and no abstract successor
        Z3 proposes that the spec does not reach (backward); stutters, edges
        outside the encoding and edges not encoded are counted, not failures."""
        return self.forward_failures == 0 and self.backward_failures == 0


def check_graph(
    name: str,
    config: Any,
    *,
    every: int = 1,
    rule: str | None = None,
    backward: bool = True,
    max_states: int | None = None,
    shape: Shape | None = None,
) -> GraphAgreement:
    """Walk the reachable graph of ``config`` and check the encoding on the edges of
    every ``every``-th state (both directions; see the module docstring), against
    the ``rule`` store rule ("causal" or "lossy"; default: causal where the clocks
    are :func:`faithful`); ``max_states`` stops the walk early (a sample);
    ``shape``: the encoding's bounds, if not :func:`shape_of` the configuration's
    (a test's mutated encoding)."""
    from spec import model

    start = time.perf_counter()
    if rule is None:
        rule = "causal" if faithful(config) else "lossy"
    result = GraphAgreement(name, rule)
    check = EdgeCheck(config, lossy_store if rule == "lossy" else causal_store, shape)
    causal = EdgeCheck(config, shape=shape) if rule == "lossy" else None
    initial = model.initial_state(config)
    seen = {model.canonicalize(initial)}
    # a state first reached through an action the encoding does not cover is
    # outside the encoding, and so is everything after it:
    # its edges are counted as not encoded, not checked
    frontier: list[tuple[Any, str]] = [(initial, "")]
    while frontier:
        following: list[tuple[Any, str]] = []
        for state, outside in frontier:
            successors = list(model.successors(state))
            result.states += 1
            if outside:
                result.not_encoded[f"after {outside}"] += len(successors)
                result.edges += len(successors)
            elif result.states % every == 0:
                _check_state(check, causal, state, successors, result, backward)
            for action, after in successors:
                canonical = model.canonicalize(after)
                if canonical not in seen:
                    seen.add(canonical)
                    kind = outside or ("" if families(action) is not None
                                       else str(getattr(action, "kind", "?")))
                    following.append((after, kind))
            if max_states is not None and len(seen) >= max_states:
                following = []
                break
        frontier = following
    result.seconds = time.perf_counter() - start
    return result


def _check_state(check: EdgeCheck, causal: EdgeCheck | None, state: Any,
                 successors: list[tuple[Any, Any]], result: GraphAgreement,
                 backward: bool) -> None:
    result.checked_states += 1
    verdicts = check.edges(state, successors)
    refused = causal.edges(state, successors) if causal is not None else None
    for j, (action, _) in enumerate(successors):
        result.edges += 1
        verdict = verdicts[j]
        if verdict == STUTTER:
            result.stutters += 1
        elif verdict == NOT_ENCODED:
            result.not_encoded[str(getattr(action, "kind", type(action).__name__))] += 1
        elif verdict == OUTSIDE:
            result.outside += 1
        elif verdict is None:
            result.forward_failures += 1
            if len(result.disagreements) < 5:
                result.disagreements.append(f"{action}")
        else:
            result.by_family[check.steps_family(verdict)] += 1
            if refused is not None and refused[j] is None:
                result.causal_refusals += 1
    if not backward:
        return
    answer = check.exact_successors(state, [after for _, after in successors])
    if answer is None:
        return
    found, expected = answer
    result.exact_states += 1
    result.exact_proposals += len(found)
    for candidate in found:
        if candidate not in expected:
            result.backward_failures += 1
            if len(result.exact_disagreements) < 5:
                before = expected[-1]
                diff = sorted(k for k in candidate if candidate[k] != before[k])
                result.exact_disagreements.append(f"exact step changing {diff}")


#: The default sample of ``vdynamo prove``: the first states of each configuration's
#: breadth-first walk, the edges of one state in ``SAMPLE_EVERY`` checked.
SAMPLE_STATES, SAMPLE_EVERY = 1_000, 20


def check_suite(*, all_edges: bool = False, names: Sequence[str] = ()) -> list[GraphAgreement]:
    """:func:`check_graph` over the suite's configurations (those named, or all)
    that the encoding covers (one key; at most one membership change,
    :mod:`model_check.proofs.membership`):
    every edge with ``all_edges``, else the default sample."""
    from model_check.suite import DEFAULT_SUITE

    out = []
    for suite_entry in DEFAULT_SUITE:
        if names and suite_entry.name not in names:
            continue
        if len(suite_entry.config.keys) != 1:
            continue  # the encoding covers one key
        if all_edges:
            out.append(check_graph(suite_entry.name, suite_entry.config))
        else:
            out.append(check_graph(suite_entry.name, suite_entry.config, every=SAMPLE_EVERY,
                                   max_states=SAMPLE_STATES))
    return out


def agreement_json(result: GraphAgreement) -> dict[str, Any]:
    """One configuration's figures as JSON."""
    return {
        "name": f"agreement:{result.name}",
        "verdict": "agrees" if result.ok else "disagrees",
        "seconds": round(result.seconds, 3),
        "rule": result.rule,
        "states": result.states,
        "checked_states": result.checked_states,
        "edges": result.edges,
        "stutters": result.stutters,
        "not_encoded": dict(result.not_encoded),
        "outside": result.outside,
        "causal_refusals": result.causal_refusals,
        "exact_states": result.exact_states,
        "exact_proposals": result.exact_proposals,
        "forward_failures": result.forward_failures,
        "backward_failures": result.backward_failures,
    }


def agreement_table(results: Sequence[GraphAgreement]) -> str:
    """The figures as a table (one line per configuration, then the totals)."""
    width = max([len("configuration"), *(len(r.name) for r in results)])
    lines = [f"{'configuration':<{width}}  {'rule':<6} {'states':>7} {'checked':>7} "
             f"{'edges':>8} {'stutter':>7} {'exact':>6} {'lossy':>5} {'seconds':>7}  verdict"]
    for r in results:
        verdict = "agrees" if r.ok else "DISAGREES"
        extra = ""
        if r.not_encoded:
            extra += f" (not encoded: {dict(r.not_encoded)})"
        if r.outside:
            extra += f" ({r.outside} outside the bounds)"
        lines.append(
            f"{r.name:<{width}}  {r.rule:<6} {r.states:>7} {r.checked_states:>7} "
            f"{r.edges:>8} {r.stutters:>7} {r.exact_proposals:>6} {r.causal_refusals:>5} "
            f"{r.seconds:>7.1f}  {verdict}{extra}")
        for text in r.disagreements + r.exact_disagreements:
            lines.append(f"    disagreement: {text}")
    edges = sum(r.edges for r in results)
    seconds = sum(r.seconds for r in results)
    lines.append(f"{'total':<{width}}  {'':<6} {sum(r.states for r in results):>7} "
                 f"{sum(r.checked_states for r in results):>7} {edges:>8} "
                 f"{sum(r.stutters for r in results):>7} "
                 f"{sum(r.exact_proposals for r in results):>6} "
                 f"{sum(r.causal_refusals for r in results):>5} {seconds:>7.1f}")
    return "\n".join(lines)
