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

This is the hypothesis the durability of dvv merges rests on (a clock covers a dot
only of a version its history holds: ``merge_keeps_every_history``'s faithful
clocks, in the direction a merge drops versions by); the agreement check shows the
rest on every edge (the causal store rule holds on every edge of
dvv-prune-retired and dvv-prune-retired-own; dvv-prune-naive's 28 edges it refuses
are acknowledgements of a write a re-issued dot dropped).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import z3

from model_check.proofs.abstraction import (
    AbstractState,
    Params,
    Shape,
    Term,
    describe,
    initial,
    new_states,
)
from model_check.proofs.framework import Proof, Query, int_of
from model_check.proofs.transition import causal_store, relation, transition

__all__ = ["PROOFS", "PRUNE_BOUNDS", "PRUNE_SHAPE", "dots_unique", "strong_dots_unique"]

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
    return z3.And([z3.Implies(z3.And(x.performed[p], x.performed[q]), z3.Not(params.same[p][q]))
                   for p in puts for q in puts if p != q])


def strong_dots_unique(x: AbstractState, params: Params) -> Term:
    """:func:`dots_unique` strengthened until inductive: the counters are not negative;
    a performed put was minted by a lifetime of a node that is not later than the
    node's current one; every dot of a node's current lifetime is covered by its
    copy; a put shares no dot with a put not yet performed; a copy covers only the
    dots of performed puts, and the dot of each value it holds."""
    nodes = range(len(x.shape.nodes))
    puts = range(x.shape.puts)
    return z3.And(
        *[c >= 0 for c in (x.drops, x.duplicates, x.crashes, x.losses, *x.epoch)],
        *[z3.Implies(x.performed[q], z3.Or([z3.And(params.minter[q] == m,
                                                   params.mepoch[q] >= 0,
                                                   params.mepoch[q] <= x.epoch[m])
                                            for m in nodes]))
          for q in puts],
        *[z3.Implies(z3.And(x.performed[q], params.minter[q] == m,
                            params.mepoch[q] == x.epoch[m]), x.seen[m][q])
          for m in nodes for q in puts],
        *[z3.Implies(z3.And(x.performed[p], z3.Not(x.performed[q])), z3.Not(params.same[p][q]))
          for p in puts for q in puts if p != q],
        *[z3.Implies(x.seen[n][q], x.performed[q]) for n in nodes for q in puts],
        *[z3.Implies(x.live[n][q], x.seen[n][q]) for n in nodes for q in puts],
        dots_unique(x, params),
    )


def _induction(shape: Shape, parts: tuple[str, ...] = ("init", "step", "implies")
               ) -> Iterator[Query]:
    x, y, params = new_states(shape)
    bounds = [params.wellformed()]
    label = f" ({shape.prune})"
    if "init" in parts:
        yield Query("Init => Inv" + label,
                    (*bounds, initial(x, params), z3.Not(strong_dots_unique(x, params))),
                    lambda m: f"initial state violates the invariant: {describe(m, x, params)}")
    if "step" in parts:
        steps = transition(x, y, params, causal_store)
        selector = z3.Int("step")

        def explain(m: Any) -> str:
            return (f"pre-state (satisfies the invariant): {describe(m, x, params)}; "
                    f"step: {steps[int_of(m, selector)].name}; "
                    f"post-state: {describe(m, y, params)}")

        prefer: list[tuple[Term, Any]] = [(params.max_drops, 0), (params.max_duplicates, 0),
                                          (params.max_crashes, 1), (params.w, 1)]
        for name, term in x.variables().items():
            if name.startswith("up["):
                prefer.append((term, True))
            elif z3.is_bool(term):
                prefer.append((term, False))
            elif not name.startswith("epoch["):
                prefer.append((term, 0))
        yield Query("Inv and Trans => Inv'" + label,
                    (*bounds, strong_dots_unique(x, params), relation(x, y, steps, selector),
                     z3.Not(strong_dots_unique(y, params))),
                    explain, prefer=tuple(prefer))
    if "implies" in parts:
        yield Query("Inv => property" + label,
                    (strong_dots_unique(x, params), z3.Not(dots_unique(x, params))),
                    lambda m: f"invariant holds but the property fails: {describe(m, x, params)}")


def _all_and_own() -> Iterator[Query]:
    yield from _induction(PRUNE_SHAPE)
    yield from _induction(replace(PRUNE_SHAPE, prune="own"))


PROOFS: tuple[Proof, ...] = (
    Proof(
        "inductive_pruning_mints_no_dot_twice",
        "With prune_retired = 0 and prune_knowledge 'all' (the suite's dvv-prune-retired) "
        "or 'own' (dvv-prune-retired-own), no dot is ever minted twice: strengthened by "
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
)
