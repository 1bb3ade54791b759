"""The spec (spec/model.py) abstracted for Z3: state, predicates, transition relation.

Theory of operation
-------------------
The encoding behind the inductive-invariant proofs
(:mod:`model_check.proofs.invariants`) is an *abstraction* of the spec's state
for one key, a fixed list of nodes, ``P`` puts and ``U`` distinct hint payloads,
kept at the level the two properties talk about:

- ``up[n]``; ``performed[p]`` (the coordinator wrote put ``p``); ``acked[p]`` (the
  client was told so);
- ``store[n][p]``: node ``n``'s durable store holds a version whose true causal
  history (the spec's ghost history, not its clock) contains put ``p``;
- ``inflight[p]``: some in-flight message other than a hint handoff carries such a
  version;
- per hint payload ``u`` (its coverage ``cov[u][p]`` fixed but unknown) and pair of
  fallback ``h`` and intended node ``i``: ``hint[h][i][u]`` (in ``h``'s hint store),
  the numbers of in-flight handoffs ``hmsg`` and acknowledgements ``hack``, and the
  ghost records ``rec_acked`` (the intended node acknowledged the handoff) and
  ``rec_deleted`` (the fallback deleted the hint);
- the fault budgets spent on drops, duplicates and crashes.

The transition relation is a disjunction of named steps, each with its frame:

- *exact* steps, matching the spec one for one: ``handoff`` (a fallback sends a hint
  to its reachable intended node when no copy of the handoff or of its
  acknowledgement is in flight), ``hint-deliver`` (the intended node stores the
  versions, records the acknowledgement and sends it back; lost at a down node),
  ``hint-ack`` (the fallback deletes the hint and records the deletion; lost at a
  down node), ``drop``/``duplicate`` of a handoff or acknowledgement, ``crash``,
  ``recover``;
- *over-approximated* steps, covering every other action of the spec: ``put``
  (a coordinator writes put ``p``: its store gains ``p`` and perhaps the
  context's puts, and may send versions it stores), ``replicate`` (a replica
  stores a delivered version, or a fallback keeps it as a hint), ``acknowledge``
  (a client learns its put succeeded), and ``exchange`` (every other delivery,
  timeout, get, read repair, anti-entropy, drop or duplicate of another message):
  stores and hint stores only *grow*, and only with versions already somewhere;
  messages only carry versions that are somewhere. Every inexact step may also
  acknowledge performed puts.

"Stores only grow" is the causal modes' merge (dvv, client-vclock): a version is
replaced only by one whose history contains it. The agreement tests check it on
the spec's own steps, and show that it fails for ``server-vclock``.

Split from :mod:`model_check.proofs.invariants` by theme: this module is the
encoding (what the spec's state and steps are in Z3), that one the proofs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from model_check.proofs.framework import bool_of, int_of

__all__ = [
    "AbstractState",
    "Invariant",
    "Params",
    "Shape",
    "Step",
    "StoreRule",
    "Term",
    "acked_writes_durable",
    "causal_store",
    "describe",
    "hint_kept_until_acked",
    "initial",
    "lossy_store",
    "new_states",
    "relation",
    "strong_durable",
    "strong_hints",
    "transition",
]

Term = Any


@dataclass(frozen=True, slots=True)
class Shape:
    """The bounds: node names (ring order), number of puts, number of hint payloads."""

    nodes: tuple[str, ...] = ("A", "B", "C", "D")
    puts: int = 2
    payloads: int = 2

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """(fallback, intended) index pairs of distinct nodes."""
        k = len(self.nodes)
        return [(h, i) for h in range(k) for i in range(k) if h != i]


@dataclass(frozen=True, slots=True)
class AbstractState:
    """Z3 terms for one abstract state (see the module docstring)."""

    shape: Shape
    up: tuple[Term, ...]
    performed: tuple[Term, ...]
    acked: tuple[Term, ...]
    store: tuple[tuple[Term, ...], ...]  # [node][put]
    inflight: tuple[Term, ...]  # [put]
    hint: dict[tuple[int, int, int], Term]  # (fallback, intended, payload)
    hmsg: dict[tuple[int, int, int], Term]
    hack: dict[tuple[int, int, int], Term]
    rec_acked: dict[tuple[int, int, int], Term]
    rec_deleted: dict[tuple[int, int, int], Term]
    drops: Term
    duplicates: Term
    crashes: Term
    names: dict[str, Term] = field(default_factory=dict)

    def variables(self) -> dict[str, Term]:
        """Every term by a stable name (for substitution and display)."""
        return self.names


def _state(shape: Shape, prefix: str) -> AbstractState:
    names: dict[str, Term] = {}

    def b(name: str) -> Term:
        names[name] = z3.Bool(f"{prefix}{name}")
        return names[name]

    def i(name: str) -> Term:
        names[name] = z3.Int(f"{prefix}{name}")
        return names[name]

    nodes, puts = shape.nodes, range(shape.puts)
    triples = [(h, n, u) for h, n in shape.pairs for u in range(shape.payloads)]

    def label(t: tuple[int, int, int]) -> str:
        return f"{nodes[t[0]]}->{nodes[t[1]]}#{t[2]}"

    return AbstractState(
        shape,
        tuple(b(f"up[{n}]") for n in nodes),
        tuple(b(f"performed[{p + 1}]") for p in puts),
        tuple(b(f"acked[{p + 1}]") for p in puts),
        tuple(tuple(b(f"store[{n}][{p + 1}]") for p in puts) for n in nodes),
        tuple(b(f"inflight[{p + 1}]") for p in puts),
        {t: b(f"hint[{label(t)}]") for t in triples},
        {t: i(f"hmsg[{label(t)}]") for t in triples},
        {t: i(f"hack[{label(t)}]") for t in triples},
        {t: b(f"rec_acked[{label(t)}]") for t in triples},
        {t: b(f"rec_deleted[{label(t)}]") for t in triples},
        i("drops"),
        i("duplicates"),
        i("crashes"),
        names,
    )


@dataclass(frozen=True, slots=True)
class Params:
    """The fixed unknowns: each hint payload's coverage, and the fault budgets."""

    cov: tuple[tuple[Term, ...], ...]  # [payload][put]
    max_drops: Term
    max_duplicates: Term
    max_crashes: Term


def _params(shape: Shape) -> Params:
    return Params(
        tuple(
            tuple(z3.Bool(f"cov[#{u}][{p + 1}]") for p in range(shape.puts))
            for u in range(shape.payloads)
        ),
        z3.Int("max_drops"),
        z3.Int("max_duplicates"),
        z3.Int("max_crashes"),
    )


# -- predicates -----------------------------------------------------------------------------


def _covers_durably(x: AbstractState, params: Params, p: int) -> Term:
    in_store = [x.store[n][p] for n in range(len(x.shape.nodes))]
    in_hint = [z3.And(flag, params.cov[t[2]][p]) for t, flag in x.hint.items()]
    return z3.Or(in_store + in_hint)


def _covers(x: AbstractState, params: Params, p: int) -> Term:
    in_messages = [x.inflight[p]]
    for t in x.hmsg:
        in_messages.append(z3.And(x.hmsg[t] > 0, params.cov[t[2]][p]))
        in_messages.append(z3.And(x.hack[t] > 0, params.cov[t[2]][p]))
    return z3.Or(_covers_durably(x, params, p), *in_messages)


def acked_writes_durable(x: AbstractState, params: Params) -> Term:
    """Every acknowledged put is in a store, a hint or an in-flight message."""
    return z3.And([z3.Implies(x.acked[p], _covers(x, params, p)) for p in range(x.shape.puts)])


def hint_kept_until_acked(x: AbstractState, params: Params) -> Term:
    """Every deleted hint was acknowledged by its intended node."""
    return z3.And([z3.Implies(x.rec_deleted[t], x.rec_acked[t]) for t in x.rec_deleted])


def _counts_ok(x: AbstractState) -> Term:
    return z3.And(
        [c >= 0 for c in (*x.hmsg.values(), *x.hack.values(), x.drops, x.duplicates, x.crashes)]
    )


def strong_durable(x: AbstractState, params: Params) -> Term:
    """The strengthening of acked_writes_durable that is inductive."""
    shape = x.shape
    return z3.And(
        _counts_ok(x),
        *[z3.Implies(x.acked[p], x.performed[p]) for p in range(shape.puts)],
        *[
            z3.Implies(x.performed[p], _covers_durably(x, params, p))
            for p in range(shape.puts)
        ],
        *[
            z3.Implies(
                z3.And(x.hack[t] > 0, params.cov[t[2]][p]), x.store[t[1]][p]
            )
            for t in x.hack
            for p in range(shape.puts)
        ],
    )


def strong_hints(x: AbstractState, params: Params) -> Term:
    """The strengthening of hint_kept_until_acked that is inductive."""
    return z3.And(
        _counts_ok(x),
        hint_kept_until_acked(x, params),
        *[z3.Implies(x.hack[t] > 0, x.rec_acked[t]) for t in x.hack],
    )


def initial(x: AbstractState, params: Params) -> Term:
    """The spec's initial state: every node up, nothing written, nothing in flight."""
    del params
    falses = [
        *x.performed,
        *x.acked,
        *x.inflight,
        *[f for row in x.store for f in row],
        *x.hint.values(),
        *x.rec_acked.values(),
        *x.rec_deleted.values(),
    ]
    zeros = [*x.hmsg.values(), *x.hack.values(), x.drops, x.duplicates, x.crashes]
    return z3.And(*x.up, *[z3.Not(f) for f in falses], *[c == 0 for c in zeros])


# -- the transition relation ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One disjunct of the transition relation: a name, its formula (without frame
    conditions), whether it matches the spec one for one, and the variables it may
    change (every other variable keeps its value: see :func:`relation`)."""

    name: str
    formula: Term
    exact: bool
    changes: frozenset[str]


def _acked_rule(x: AbstractState, y: AbstractState) -> list[Term]:
    """Acknowledgements only grow, and only for performed puts (any step may ack)."""
    return [
        z3.And(z3.Implies(x.acked[p], y.acked[p]),
               z3.Implies(y.acked[p], z3.Or(x.acked[p], y.performed[p])))
        for p in range(x.shape.puts)
    ]


def _anything(x: AbstractState) -> Callable[[int], Term]:
    """Is put ``p`` somewhere in ``x`` (a store, a hint, a message)?"""
    return lambda p: z3.Or(
        *[x.store[n][p] for n in range(len(x.shape.nodes))], x.inflight[p]
    )


StoreRule = Callable[[Term, Term, Term], Term]


def causal_store(before: Term, after: Term, available: Term) -> Term:
    """A store only grows, and only with versions that are somewhere."""
    return z3.And(z3.Implies(before, after), z3.Implies(after, z3.Or(before, available)))


def lossy_store(before: Term, after: Term, available: Term) -> Term:
    # the twin: a merge may drop a version whose history the new one lacks (lww,
    # server-vclock): a store may lose a put
    return z3.Implies(after, z3.Or(before, available))


def transition(
    x: AbstractState,
    y: AbstractState,
    params: Params,
    store_rule: StoreRule = causal_store,
    exact_only: bool = False,
) -> list[Step]:
    """The named disjuncts of the transition relation from ``x`` to ``y``."""
    shape = x.shape
    nodes = range(len(shape.nodes))
    puts = range(shape.puts)
    steps: list[Step] = []
    somewhere = _anything(x)

    acked_names = {f"acked[{p + 1}]" for p in puts}

    def add(name: str, exact: bool, *parts: Term, skip: set[str]) -> None:
        if exact_only and not exact:
            return
        if not exact:  # an inexact step may also deliver acknowledgements
            parts = (*parts, *_acked_rule(x, y))
            skip = skip | acked_names
        steps.append(Step(name, z3.And(*parts), exact, frozenset(skip)))

    def lbl(t: tuple[int, int, int]) -> str:
        return f"{shape.nodes[t[0]]}->{shape.nodes[t[1]]}#{t[2]}"

    # acknowledge: a coordinator tells its client the put succeeded
    add("acknowledge", False, skip=set())
    # put: coordinator c performs put p
    for c in nodes:
        for p in puts:
            name = shape.nodes[c]
            add(
                f"put {p + 1} at {name}",
                False,
                x.up[c],
                z3.Not(x.performed[p]),
                y.performed[p],
                y.store[c][p],
                *[store_rule(x.store[c][q], y.store[c][q], z3.BoolVal(True)) for q in puts],
                *[z3.Implies(y.inflight[q], z3.Or(x.inflight[q], y.store[c][q])) for q in puts],
                skip={f"performed[{p + 1}]", *(f"store[{name}][{q + 1}]" for q in puts),
                      *(f"inflight[{q + 1}]" for q in puts)},
            )
    consumed = [z3.Implies(y.inflight[q], x.inflight[q]) for q in puts]
    inflight_names = {f"inflight[{q + 1}]" for q in puts}
    for n in nodes:
        name = shape.nodes[n]
        # replicate: a replica stores a version delivered to it
        add(
            f"replicate to {name}",
            False,
            x.up[n],
            *[store_rule(x.store[n][q], y.store[n][q], x.inflight[q]) for q in puts],
            *consumed,
            skip={*(f"store[{name}][{q + 1}]" for q in puts), *inflight_names},
        )
    for t in x.hint:
        # replicate with a hint: a fallback keeps a delivered version in its hint store
        add(
            f"replicate hinted {lbl(t)}",
            False,
            x.up[t[0]],
            y.hint[t],
            *[z3.Implies(params.cov[t[2]][q], x.inflight[q]) for q in puts],
            *consumed,
            skip={f"hint[{lbl(t)}]", *inflight_names},
        )
    # exchange: every other protocol step (deliveries, gets, repair, anti-entropy, ...)
    store_names = {f"store[{shape.nodes[n]}][{q + 1}]" for n in nodes for q in puts}
    hint_names = {f"hint[{lbl(t)}]" for t in x.hint}
    add(
        "exchange",
        False,
        *[store_rule(x.store[n][q], y.store[n][q], somewhere(q)) for n in nodes for q in puts],
        *[z3.Implies(y.inflight[q], z3.Or(x.inflight[q], somewhere(q))) for q in puts],
        *[
            z3.And(
                z3.Implies(x.hint[t], y.hint[t]),
                z3.Implies(
                    z3.And(y.hint[t], z3.Not(x.hint[t])),
                    z3.And([z3.Implies(params.cov[t[2]][q], x.inflight[q]) for q in puts]),
                ),
            )
            for t in x.hint
        ],
        z3.Or(y.drops == x.drops, y.drops == x.drops + 1),
        z3.Or(y.duplicates == x.duplicates, y.duplicates == x.duplicates + 1),
        y.drops <= params.max_drops,
        y.duplicates <= params.max_duplicates,
        skip=store_names | hint_names | {f"inflight[{q + 1}]" for q in puts}
        | {"drops", "duplicates"},
    )
    for t in x.hint:
        h, i, _ = t
        key = lbl(t)
        # hinted handoff: the fallback sends the hint to its reachable intended node
        add(
            f"handoff {key}",
            True,
            x.hint[t],
            x.up[h],
            x.up[i],
            x.hmsg[t] == 0,
            x.hack[t] == 0,
            y.hmsg[t] == 1,
            skip={f"hmsg[{key}]"},
        )
        # the intended node receives the hint: stores it, records, acknowledges
        add(
            f"hint-deliver {key}",
            True,
            x.hmsg[t] > 0,
            x.up[i],
            y.hmsg[t] == x.hmsg[t] - 1,
            *[y.store[i][q] == z3.Or(x.store[i][q], params.cov[t[2]][q]) for q in puts],
            y.rec_acked[t],
            y.hack[t] == x.hack[t] + 1,
            skip={f"hmsg[{key}]", f"hack[{key}]", f"rec_acked[{key}]",
                  *(f"store[{shape.nodes[i]}][{q + 1}]" for q in puts)},
        )
        # the acknowledgement reaches the fallback: the hint is deleted
        add(
            f"hint-ack {key}",
            True,
            x.hack[t] > 0,
            x.up[h],
            y.hack[t] == x.hack[t] - 1,
            z3.Not(y.hint[t]),
            y.rec_deleted[t] == z3.Or(x.rec_deleted[t], x.hint[t]),
            skip={f"hack[{key}]", f"hint[{key}]", f"rec_deleted[{key}]"},
        )
        for kind, counts, who in (("hint", x.hmsg, i), ("hint-ack", x.hack, h)):
            after = y.hmsg if kind == "hint" else y.hack
            name = f"{'hmsg' if kind == 'hint' else 'hack'}[{key}]"
            # a message at a down node is lost
            add(f"{kind} lost at down {shape.nodes[who]} {key}", True, counts[t] > 0,
                z3.Not(x.up[who]), after[t] == counts[t] - 1, skip={name})
            add(f"drop {kind} {key}", True, counts[t] > 0, x.drops < params.max_drops,
                after[t] == counts[t] - 1, y.drops == x.drops + 1, skip={name, "drops"})
            add(f"duplicate {kind} {key}", True, counts[t] > 0,
                x.duplicates < params.max_duplicates, after[t] == counts[t] + 1,
                y.duplicates == x.duplicates + 1, skip={name, "duplicates"})
    for n in nodes:
        name = shape.nodes[n]
        add(f"crash {name}", True, x.up[n], z3.Not(y.up[n]), x.crashes < params.max_crashes,
            y.crashes == x.crashes + 1, skip={f"up[{name}]", "crashes"})
        # a crash also purges the reads and answers of the requests it coordinated
        add(f"crash {name} purging its reads", False, x.up[n], z3.Not(y.up[n]),
            x.crashes < params.max_crashes, y.crashes == x.crashes + 1,
            *[z3.Implies(y.inflight[q], x.inflight[q]) for q in puts],
            skip={f"up[{name}]", "crashes", *(f"inflight[{q + 1}]" for q in puts)})
        add(f"recover {name}", True, z3.Not(x.up[n]), y.up[n], skip={f"up[{name}]"})
    return steps


def relation(
    x: AbstractState, y: AbstractState, steps: Sequence[Step], selector: Term
) -> Term:
    """Trans(x, y): ``selector`` names the step taken; every variable the step does
    not change keeps its value."""
    xs, ys = x.variables(), y.variables()
    changers: dict[str, list[int]] = {name: [] for name in xs}
    for k, step in enumerate(steps):
        for name in step.changes:
            changers[name].append(k)
    frames = []
    for name in xs:
        keep = xs[name] == ys[name]
        if changers[name]:
            keep = z3.Or(keep, *[selector == k for k in changers[name]])
        frames.append(keep)
    chosen = z3.Or([z3.And(selector == k, s.formula) for k, s in enumerate(steps)])
    return z3.And(selector >= 0, selector < len(steps), chosen, *frames)


# -- readable states ----------------------------------------------------------------------------


def describe(m: Any, x: AbstractState, params: Params) -> str:
    """The facts that hold in ``x`` under model ``m``, briefly."""
    shape = x.shape
    parts = []
    down = [shape.nodes[n] for n in range(len(shape.nodes)) if not bool_of(m, x.up[n])]
    if down:
        parts.append(f"down {{{', '.join(down)}}}")
    for p in range(shape.puts):
        facts = []
        if bool_of(m, x.performed[p]):
            facts.append("performed")
        if bool_of(m, x.acked[p]):
            facts.append("acked")
        where = [shape.nodes[n] for n in range(len(shape.nodes)) if bool_of(m, x.store[n][p])]
        if where:
            facts.append(f"stored at {{{', '.join(where)}}}")
        if bool_of(m, x.inflight[p]):
            facts.append("in flight")
        if facts:
            parts.append(f"put {p + 1}: {', '.join(facts)}")
    for t in x.hint:
        key = f"{shape.nodes[t[0]]} for {shape.nodes[t[1]]} (payload #{t[2]}: puts "
        key += "{" + ", ".join(
            str(p + 1) for p in range(shape.puts) if bool_of(m, params.cov[t[2]][p])
        ) + "})"
        facts = []
        if bool_of(m, x.hint[t]):
            facts.append("hint held")
        if (count := int_of(m, x.hmsg[t])) > 0:
            facts.append(f"{count} handoff(s) in flight")
        if (count := int_of(m, x.hack[t])) > 0:
            facts.append(f"{count} ack(s) in flight")
        if bool_of(m, x.rec_acked[t]):
            facts.append("recorded acked")
        if bool_of(m, x.rec_deleted[t]):
            facts.append("recorded deleted")
        if facts:
            parts.append(f"hint {key}: {', '.join(facts)}")
    return "; ".join(parts) or "nothing"


Invariant = Callable[[AbstractState, Params], Term]
"""An invariant or property of the abstract state (a Z3 boolean term)."""


def new_states(shape: Shape) -> tuple[AbstractState, AbstractState, Params]:
    """Fresh pre- and post-state terms and the parameters (for the agreement checks)."""
    return _state(shape, ""), _state(shape, "'"), _params(shape)
