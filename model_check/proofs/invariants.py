"""Inductive invariants of the spec (spec/model.py), checked by Z3 for bounded sizes.

Theory of operation
-------------------
Each proof runs over the abstraction of :mod:`model_check.proofs.abstraction`
(the spec's state for one key, its transition relation of exact and
over-approximated steps) and asks Z3 the three questions of induction.

Invariants (Init => Inv, Inv and Trans => Inv', Inv => property):

- ``acked_writes_durable`` is *not* inductive alone: Z3's counterexample to
  induction is an acknowledged put held only by an in-flight message, which a
  drop loses. Such a state is unreachable: the coordinator stored the put durably
  before acknowledging. Strengthened: every performed put is in some durable store
  or hint store; an acknowledged put was performed; an in-flight hint
  acknowledgement's versions are in its intended node's store.
- ``hint_kept_until_acked`` (a deleted hint was acknowledged) is not inductive
  alone either: an in-flight acknowledgement nobody recorded would delete a hint.
  Strengthened: every in-flight acknowledgement was recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import z3

from model_check.proofs.abstraction import (
    AbstractState,
    Invariant,
    Params,
    Shape,
    StoreRule,
    Term,
    acked_writes_durable,
    causal_store,
    describe,
    hint_kept_until_acked,
    initial,
    lossy_store,
    new_states,
    relation,
    strong_durable,
    strong_hints,
    transition,
)
from model_check.proofs.framework import Proof, Query, int_of

__all__ = ["BOUNDS", "PROOFS", "SHAPE"]


def _induction(
    shape: Shape,
    invariant: Invariant,
    prop: Invariant,
    store_rule: StoreRule = causal_store,
    parts: tuple[str, ...] = ("init", "step", "implies"),
) -> Iterator[Query]:
    x, y, params = new_states(shape)
    # no disk loss (a buffered crash is left out of the shape): the hypothesis of
    # these proofs; the disk-loss proofs below lift it
    bounds = [params.wellformed(), params.max_losses == 0]
    if "init" in parts:
        yield Query("Init => Inv", (*bounds, initial(x, params), z3.Not(invariant(x, params))),
                    lambda m: f"initial state violates the invariant: {describe(m, x, params)}")
    if "step" in parts:
        steps = transition(x, y, params, store_rule)
        selector = z3.Int("step")

        def explain(m: Any) -> str:
            taken = steps[int_of(m, selector)].name
            return (
                f"pre-state (satisfies the invariant): {describe(m, x, params)}; "
                f"step: {taken}; post-state: {describe(m, y, params)}"
            )

        yield Query(
            "Inv and Trans => Inv'",
            (*bounds, invariant(x, params), relation(x, y, steps, selector),
             z3.Not(invariant(y, params))),
            explain,
            prefer=_small_pre_state(x, params),
        )
    if "implies" in parts:
        yield Query("Inv => property", (invariant(x, params), z3.Not(prop(x, params))),
                    lambda m: f"invariant holds but the property fails: {describe(m, x, params)}")


def _small_pre_state(x: AbstractState, params: Params) -> tuple[tuple[Term, Any], ...]:
    """Preferences for a readable counterexample: nodes up, nothing else going on."""
    prefer: list[tuple[Term, Any]] = [
        (params.max_drops, 0), (params.max_duplicates, 0), (params.max_crashes, 0)
    ]
    for name, term in x.variables().items():
        if name.startswith("up["):
            prefer.append((term, True))
        elif z3.is_bool(term):
            prefer.append((term, False))
        else:
            prefer.append((term, 0))
    prefer += [(c, False) for row in params.cov for c in row]
    return tuple(prefer)


SHAPE = Shape()
BOUNDS = (
    f"{len(SHAPE.nodes)} nodes, one key, {SHAPE.puts} puts, {SHAPE.payloads} distinct hint "
    "payloads, any fault budgets"
)


def _strong_awd(x: AbstractState, params: Params) -> Term:
    return z3.And(strong_durable(x, params), acked_writes_durable(x, params))


PROOFS: tuple[Proof, ...] = (
    Proof(
        "inductive_acked_writes_durable",
        "acked_writes_durable holds in every reachable state: the strengthened invariant "
        "(performed puts are in a durable store or hint store; acked puts were performed; "
        "an in-flight hint acknowledgement's versions are in its intended node's store) "
        "holds initially, is preserved by every step, and implies the property.",
        BOUNDS,
        lambda: _induction(SHAPE, _strong_awd, acked_writes_durable),
        "acked_writes_durable alone as the invariant (not inductive): Z3 gives a "
        "counterexample to induction",
        lambda: _induction(SHAPE, acked_writes_durable, acked_writes_durable, parts=("step",)),
        group="invariants",
    ),
    Proof(
        "inductive_acked_writes_durable_needs_causal_merge",
        "The strengthened acked_writes_durable invariant is inductive because a replica "
        "replaces a version only by one whose history contains it (dvv, client-vclock).",
        BOUNDS,
        lambda: _induction(SHAPE, _strong_awd, acked_writes_durable, parts=("step",)),
        "a merge may drop a version the new one does not descend from (lww, server-vclock)",
        lambda: _induction(SHAPE, _strong_awd, acked_writes_durable, lossy_store,
                           parts=("step",)),
        group="invariants",
    ),
    Proof(
        "inductive_hint_kept_until_acked",
        "hint_kept_until_acked holds in every reachable state: strengthened by 'every "
        "in-flight hint acknowledgement was recorded as acknowledged', it holds initially, "
        "is preserved by every step, and implies the property.",
        BOUNDS,
        lambda: _induction(SHAPE, strong_hints, hint_kept_until_acked),
        "hint_kept_until_acked alone as the invariant (not inductive): Z3 gives a "
        "counterexample to induction",
        lambda: _induction(SHAPE, hint_kept_until_acked, hint_kept_until_acked,
                           parts=("step",)),
        group="invariants",
    ),
)
