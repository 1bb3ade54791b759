"""An inductive invariant of dvv's pruning of retired lifetimes (session 34;
spec/retired.py, docs/proofs.md "Retired pruning in the Z3 encoding").

Theory of operation
-------------------
With pruning, a write drops the value-less dvv entries of the lifetimes its node
knows retired (``transition.pruned_away``). The safety rule (a) of spec/retired.py
is that a *live* lifetime's entry never goes: otherwise its node, whose copy no
longer covers the dots it minted, mints one of them again (the ``"naive"`` twin),
and a replica whose clock still covers that dot drops the new acknowledged write
(Riak's kv679: the suite's dvv-prune-naive loses an acked write in 11 steps).

``inductive_pruning_mints_no_dot_twice`` proves, over the encoding's whole
transition relation (every step, pruning at every write, crashes beginning new
lifetimes), that with ``prune_knowledge = "all"`` and with ``"own"`` no dot is ever
minted twice: strengthened by "every dot a node's current lifetime minted is
covered by that node's copy" and "a put shares its dot only with later puts", the
invariant holds initially, is preserved by every step and implies the property.
The twin is the ``"naive"`` knowledge: a write prunes the writer's own live entry
and the strengthening fails, with Z3's model printed as a readable step.

Both proofs cover the learnt knowledge too since session 36 (``"learnt"``: the
``knows`` variables and their steps, :mod:`model_check.proofs.learning`); their
argument does not rest on what a node knows (only a node's own live lifetime is
guarded, and it never prunes that), so they hold with learnt knowledge as with the
static modes.

``inductive_pruning_keeps_acked_writes`` (session 35) is the durability this buys:
with ``"all"`` or ``"own"`` and ``prune_retired`` 0 or 1, ``acked_writes_durable``
holds, strengthened by unique dots and *faithful clocks* (a node's clock covers a
put's dot only if its copy covers the put; the writes the abstraction cannot see
the clock of state it, checked on every edge; anti-entropy's dvv merge preserves
it, by ``hist`` being a partial order). Without faithful clocks the induction fails
at an anti-entropy that drops the only copy of an acknowledged put.

This is the hypothesis the durability of dvv merges rests on (a clock covers a dot
only of a version its history holds: ``merge_keeps_every_history``'s faithful
clocks, in the direction a merge drops versions by); the agreement check shows the
rest on every edge (the causal store rule holds on every edge of
dvv-prune-retired and dvv-prune-retired-own; dvv-prune-naive's 28 edges it refuses
are acknowledgements of a write a re-issued dot dropped).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import z3

from model_check.proofs import terms as zt
from model_check.proofs.abstraction import (
    AbstractState,
    Invariant,
    Params,
    Shape,
    Term,
    acked_writes_durable,
    describe,
    initial,
    new_states,
    strong_durable,
)
from model_check.proofs.framework import Proof, Query, int_of
from model_check.proofs.transition import (
    Step,
    causal_store,
    covered_by,
    current_actor,
    relation,
    transition,
)

__all__ = ["DURABLE_BOUNDS", "DURABLE_SHAPE", "PROOFS", "PRUNE_BOUNDS", "PRUNE_SHAPE",
           "dots_unique", "faithful_clocks", "histories", "shared_relations",
           "strong_dots_unique", "strong_pruned_durable"]

#: The suite's pruning entries: 2 nodes (both replicas), three puts, no hint; wider
#: than the entries in the faults (buffered crashes, disk losses, partitions: session
#: 34's review), not in deletes (a reap empties a copy: the strengthening fails).
PRUNE_SHAPE = Shape(nodes=("A", "B"), puts=3, payloads=0, top=(0, 1), handoff=False,
                    buffered=True, partitions=True, prune="all", per_start=True)
PRUNE_BOUNDS = ("2 nodes (both replicas, so no hint), one key, 3 puts, no deletes, "
                "prune_retired = 0, a new lifetime at every crash, any W and any crash, "
                "drop, duplicate and disk-loss budgets, durable or buffered storage, "
                "partitions")


def dots_unique(x: AbstractState, params: Params) -> Term:
    """No two performed puts have the same dot."""
    puts = range(x.shape.puts)
    return zt.And([zt.Implies(zt.And(x.performed[p], x.performed[q]), zt.Not(params.same[p][q]))
                   for p in puts for q in puts if p != q])


def strong_dots_unique(x: AbstractState, params: Params) -> Term:
    """:func:`dots_unique` strengthened until inductive: the counters are not negative;
    a performed put was minted by a lifetime of a node that is not later than the
    node's current one (and, with reaping, by a key epoch not later than its current
    one: session 37); every dot of a node's current actor is covered by its copy; a
    put shares no dot with a put not yet performed; a copy covers only the dots of
    performed puts, and the dot of each value it holds."""
    nodes = range(len(x.shape.nodes))
    puts = range(x.shape.puts)
    return zt.And(
        *[c >= 0 for c in (x.drops, x.duplicates, x.crashes, x.losses, *x.epoch, *x.kepoch)],
        *[zt.Implies(x.performed[q], zt.Or([zt.And(params.minter[q] == m,
                                                   params.mepoch[q] >= 0,
                                                   params.mepoch[q] <= x.epoch[m],
                                                   *_key_epoch_minted(x, params, m, q))
                                            for m in nodes]))
          for q in puts],
        *[zt.Implies(zt.And(x.performed[q], current_actor(x, params, m, q)), x.seen[m][q])
          for m in nodes for q in puts],
        *[zt.Implies(zt.And(x.performed[p], zt.Not(x.performed[q])), zt.Not(params.same[p][q]))
          for p in puts for q in puts if p != q],
        *[zt.Implies(x.seen[n][q], x.performed[q]) for n in nodes for q in puts],
        *[zt.Implies(x.live[n][q], x.seen[n][q]) for n in nodes for q in puts],
        dots_unique(x, params),
    )


def _key_epoch_minted(x: AbstractState, params: Params, m: int, q: int) -> list[Term]:
    """With reaping (session 37): put ``q``, minted by node ``m``, was minted under a key
    epoch that is not negative and, in ``m``'s current lifetime, not later than its
    current one (``kepoch``)."""
    if not x.kepoch:
        return []
    return [params.mkey[q] >= 0,
            zt.Implies(params.mepoch[q] == x.epoch[m], params.mkey[q] <= x.kepoch[m])]


def _preferences(x: AbstractState, params: Params) -> tuple[tuple[Term, Any], ...]:
    """Preferences for a readable counterexample: no fault budget but one crash, W = 1,
    nodes up, nothing else going on."""
    prefer: list[tuple[Term, Any]] = [(params.max_drops, 0), (params.max_duplicates, 0),
                                      (params.max_crashes, 1), (params.w, 1)]
    for name, term in x.variables().items():
        if name.startswith("up["):
            prefer.append((term, True))
        elif z3.is_bool(term):
            prefer.append((term, False))
        elif not name.startswith("epoch["):
            prefer.append((term, 0))
    return tuple(prefer)


Built = tuple[AbstractState, AbstractState, Params, list[Step]]

#: the relations :func:`_induction` built, by shape, while :func:`shared_relations` is
#: on (None: off, each induction builds its own)
_SHARED: dict[Shape, Built] | None = None


@contextlib.contextmanager
def shared_relations() -> Iterator[None]:
    """While on, :func:`_induction` builds the causal transition relation of a shape
    once and every later induction over that shape takes it (review, session 38: the
    pruning proofs ask 12 shapes 28 times, 0.09 CPU-s a build; ``vdynamo prove`` runs
    its proofs within). Sound: the terms are Z3 constants named after the shape's
    variables and a relation is not changed once built. Scoped, not a module cache: a
    test that monkeypatches :mod:`model_check.proofs.transition` outside it builds its
    own mutated relation and leaves it to no one. Re-entrant (an inner use shares the
    outer's); on leaving the outermost, everything built is dropped."""
    global _SHARED
    before = _SHARED
    if before is None:
        _SHARED = {}
    try:
        yield
    finally:
        _SHARED = before


def _built(shape: Shape, step: bool) -> tuple[AbstractState, AbstractState, Params,
                                                list[Step] | None]:
    """``shape``'s states and parameters, and its causal relation when ``step``:
    taken from :func:`shared_relations`' cache when on and built there before."""
    found = _SHARED.get(shape) if _SHARED is not None else None
    if found is not None:
        return (*found[:3], found[3] if step else None)
    x, y, params = new_states(shape)
    if not step:
        return x, y, params, None
    steps = transition(x, y, params, causal_store)
    if _SHARED is not None:
        _SHARED[shape] = (x, y, params, steps)
    return x, y, params, steps


def _induction(shape: Shape, parts: tuple[str, ...] = ("init", "step", "implies"),
               invariant: Invariant | None = None, prop: Invariant | None = None,
               hypotheses: Callable[[Params], list[Term]] = lambda params: [],
               first: Callable[[AbstractState, Params], list[tuple[Term, Any]]]
               = lambda x, params: []) -> Iterator[Query]:
    """The three questions of induction for ``invariant`` (default
    :func:`strong_dots_unique`) and ``prop`` (default :func:`dots_unique`) over
    ``shape``'s relation under the causal rule, with ``hypotheses`` on the parameters
    besides their well-formedness; each query labelled with the shape's knowledge
    (and its keep, when above 0); ``first``: preferences for the step's
    counterexample tried before the usual ones (session 37)."""
    inv = strong_dots_unique if invariant is None else invariant
    goal = dots_unique if prop is None else prop
    x, y, params, steps = _built(shape, "step" in parts)
    bounds = [params.wellformed(), *hypotheses(params)]
    label = f" ({shape.prune}" + (f", keep {shape.keep})" if shape.keep else ")")
    if "init" in parts:
        yield Query("Init => Inv" + label,
                    (*bounds, initial(x, params), zt.Not(inv(x, params))),
                    lambda m: f"initial state violates the invariant: {describe(m, x, params)}")
    if steps is not None:
        selector = z3.Int("step")

        def explain(m: Any) -> str:
            return (f"pre-state (satisfies the invariant): {describe(m, x, params)}; "
                    f"step: {steps[int_of(m, selector)].name}; "
                    f"post-state: {describe(m, y, params)}")

        yield Query("Inv and Trans => Inv'" + label,
                    (*bounds, inv(x, params), relation(x, y, steps, selector),
                     zt.Not(inv(y, params))),
                    explain, prefer=(*first(x, params), *_preferences(x, params)))
    if "implies" in parts:
        yield Query("Inv => property" + label,
                    (inv(x, params), zt.Not(goal(x, params))),
                    lambda m: f"invariant holds but the property fails: {describe(m, x, params)}")


def _all_and_own() -> Iterator[Query]:
    yield from _induction(PRUNE_SHAPE)
    yield from _induction(replace(PRUNE_SHAPE, prune="own"))
    yield from _induction(replace(PRUNE_SHAPE, keep=1))
    yield from _induction(replace(PRUNE_SHAPE, prune="own", keep=1))
    # session 36: the learnt knowledge (model_check.proofs.learning), its steps included
    yield from _induction(replace(PRUNE_SHAPE, prune="learnt"))
    yield from _induction(replace(PRUNE_SHAPE, prune="learnt", keep=1))


# -- acked_writes_durable under pruning (session 35) -------------------------------------------

#: The durability proof's bounds: :data:`PRUNE_SHAPE` without buffered crashes (a
#: buffered crash loses an acknowledging node's unflushed copy, as a disk loss does:
#: ``strong_durable_with_losses``'s subject, not pruning's), the keep symbolic per shape.
DURABLE_SHAPE = replace(PRUNE_SHAPE, buffered=False)
DURABLE_BOUNDS = ("2 nodes (both replicas, so no hint), one key, 3 puts, no deletes, "
                  "prune_retired = 0 and 1, knowledge all, own and learnt, a new lifetime at every "
                  "crash, any W, drop, duplicate and crash budgets, partitions; no disk "
                  "loss and no buffered crash (their loss of an acknowledged write is "
                  "inductive_acked_writes_durable_with_disk_loss's subject)")


def faithful_clocks(x: AbstractState, params: Params) -> Term:
    """A node's clock covers a put's dot only if its copy covers the put (some value's
    history holds it): the lemma a dvv merge's durability rests on (it drops a value
    only where the other clock covers its dot)."""
    nodes, puts = range(len(x.shape.nodes)), range(x.shape.puts)
    return zt.And([zt.Implies(x.seen[n][q], x.store[n][q]) for n in nodes for q in puts])


def histories(params: Params) -> Term:
    """The true histories are a partial order: transitive (a put's history holds the
    histories of the versions its client read) and antisymmetric (a put's history
    holds only puts performed before it); checked on every state of the pruning
    entries' graphs (tests/model_check/test_proof_pruning_keep.py)."""
    hist = params.hist
    puts = range(len(hist))
    return zt.And(*[zt.Implies(zt.And(hist[p][q], hist[q][r]), hist[p][r])
                    for p in puts for q in puts for r in puts],
                  *[zt.Not(zt.And(hist[p][q], hist[q][p])) for p in puts for q in puts
                    if p != q])


def strong_pruned_durable(x: AbstractState, params: Params) -> Term:
    """``acked_writes_durable`` under pruning, strengthened until inductive: the
    strengthening of the proofs without pruning (``strong_durable``: an acknowledged
    put was performed, a performed one is in a store), :func:`strong_dots_unique`
    (no dot minted twice, session 34), :func:`faithful_clocks`, and a copy's
    coverage is its values' histories' (as the abstraction function defines it),
    each value's dot covered by its clock."""
    nodes, puts = range(len(x.shape.nodes)), range(x.shape.puts)
    return zt.And(strong_durable(x, params), acked_writes_durable(x, params),
                  strong_dots_unique(x, params), faithful_clocks(x, params),
                  *[x.store[n][q] == covered_by(x, params, n, q) for n in nodes for q in puts],
                  *[zt.Implies(x.live[n][q], x.seen[n][q]) for n in nodes for q in puts])


def _durable(shape: Shape, parts: tuple[str, ...] = ("init", "step", "implies")
             ) -> Iterator[Query]:
    yield from _induction(shape, parts, strong_pruned_durable, acked_writes_durable,
                          lambda params: [params.max_losses == 0, histories(params)])


def _durable_all_and_own() -> Iterator[Query]:
    for prune in ("all", "own", "learnt"):  # learnt: session 36
        for keep in (0, 1):
            yield from _durable(replace(DURABLE_SHAPE, prune=prune, keep=keep))


PROOFS: tuple[Proof, ...] = (
    Proof(
        "inductive_pruning_mints_no_dot_twice",
        "With prune_retired = 0 or 1 and prune_knowledge 'all' (the suite's "
        "dvv-prune-retired), 'own' (dvv-prune-retired-own) or 'learnt' (dvv-prune-learnt, "
        "its learning steps included), no dot is ever minted twice: strengthened by "
        "'a node's copy covers every dot its current lifetime minted', the invariant holds "
        "initially, is preserved by every step of the encoding (pruning at every write, "
        "a new lifetime at every crash) and implies the property, so a pruned entry never "
        "lets a replica's clock cover a new write's dot (kv679).",
        PRUNE_BOUNDS,
        _all_and_own,
        "prune_knowledge 'naive' (the suite's dvv-prune-naive): a write prunes its node's "
        "own live entry, whose dot the node then mints again",
        lambda: _induction(replace(PRUNE_SHAPE, prune="naive"), parts=("step",)),
        group="invariants",
    ),
    Proof(
        "inductive_pruning_keeps_acked_writes",
        "With prune_retired = 0 or 1 and prune_knowledge 'all', 'own' or 'learnt', "
        "acked_writes_durable holds: strengthened by 'no dot is minted twice' (the "
        "proof above) and 'a node's clock covers a put's dot only if its copy covers the "
        "put' (faithful clocks), the invariant holds initially, is preserved by every step "
        "of the encoding (pruning at every write and in anti-entropy, whose dvv merge "
        "drops a value only where the other clock covers its dot; a new lifetime at every "
        "crash) and implies the property, so pruning never drops an acknowledged write.",
        DURABLE_BOUNDS,
        _durable_all_and_own,
        "prune_knowledge 'naive' (the suite's dvv-prune-naive): a write prunes its node's "
        "own live entry, so its copy no longer covers a dot its current lifetime minted "
        "(the node mints it again, and a replica whose clock covers it drops the new "
        "write: the lemma the proof rests on is gone)",
        lambda: _durable(replace(DURABLE_SHAPE, prune="naive"), parts=("step",)),
        group="invariants",
    ),
)
