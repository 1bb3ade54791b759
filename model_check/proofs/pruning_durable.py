"""Durability under dvv's pruning with deletes and disk loss (session 37;
docs/proofs.md, "Pruning, deletes and disk loss (session 37)").

Theory of operation
-------------------
``inductive_pruning_keeps_acked_writes`` (:mod:`model_check.proofs.pruning`, session
35) proves ``acked_writes_durable`` under pruning with neither deletes nor disk loss.
This module lifts both.

*Deletes.* A reap empties a copy, its clock included, so what an acknowledged put
keeps is restated as the checker states it (``model_check.properties.
acked_writes_durable``): every acknowledged put is in the true history of a version
held somewhere, **unless a delete that was not refused covers it** (one a coordinator
performed, acknowledged or not: its tombstones may be reaped).
(:func:`durable_unless_deleted`). Exempting only acknowledged deletes is false in
the spec: a delete whose coordinator crashed before acknowledging it is
indeterminate, its tombstones may still be stored on every replica and reaped there
(guard 3 asks only about acknowledged deletes), and then the put it covered is
nowhere (:func:`exempting_acknowledged_deletes_only`, refuted; the checker reaches
such a state on dvv-prune-retired-delete). A reap empties only a copy holding
tombstones alone, so it takes away only what a performed delete covers; that is why
the proof holds with immediate reaping too (durability asks nothing of guards 2-4,
which are no-resurrection's; ``vdynamo prove`` asks it with knowledge all and
``prune_retired = 0``, the soak profile with every knowledge and keep).

The clock a reap empties held the counters of the node's actor: minting after the
reap from the empty copy would re-issue a dot other replicas' clocks still cover, and
they would drop the new acknowledged write as seen (Riak's kv679, per key). The spec
begins a new *key epoch* (``spec.deletes.forget_copy``); the encoding now keeps it
(``kepoch[n]``, ``mkey[p]``: :func:`model_check.proofs.transition.reap_begins_key_epoch`,
:func:`~model_check.proofs.transition.current_actor`), and the strengthening "a node's
copy covers every dot its current actor minted" reads the actor with its key epoch.
The twin keeps the actor at a reap (``Shape.reap_actor = "kept"``): refuted at the
reap, whose copy no longer covers a dot the actor minted.

*Disk loss.* As the data-loss issue restated ``acked_writes_durable`` (the definition
unchanged: a node whose disk was lost holds nothing), it holds with fewer losses than
``W``, strengthened by "an acknowledged put is held by at least ``W`` minus the losses
so far of nodes" (and, with a buffered engine, minus the crashes: each may have lost
an acknowledging node's unflushed copy). Under pruning the wiped node begins a new
lifetime, so the other nodes may prune the old one's value-less entries and the node
never mints its old dots again. The twin keeps the wiped node's lifetime
(``Shape.loss_actor = "kept"``, the naive actor of the suite's
dvv-amnesia-naive-actor): refuted at the disk loss, whose node's copy no longer
covers a dot its current lifetime minted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import z3

from model_check.proofs import terms as zt
from model_check.proofs.abstraction import (
    AbstractState,
    Params,
    Shape,
    Term,
    covers,
    deleted,
    describe,
    durable_unless_deleted,
    new_states,
)
from model_check.proofs.framework import Proof, Query, int_of
from model_check.proofs.pruning import (
    DURABLE_SHAPE,
    PRUNE_SHAPE,
    _induction,
    _preferences,
    histories,
    strong_dots_unique,
)
from model_check.proofs.transition import causal_store, covered_by, holders, relation, transition

__all__ = ["DELETE_BOUNDS", "DELETE_SHAPE", "LOSS_BOUNDS", "LOSS_SHAPE", "PROOFS",
           "acknowledged_deletes_only", "exempting_acknowledged_deletes_only",
           "faithful_unless_deleted", "strong_durable_unless_deleted"]

#: The deletes proof: the pruning entries' 2 nodes (both replicas), 3 put ids of which
#: which are deletes is symbolic, safe reaping (the suite's dvv-prune-retired-delete),
#: no disk loss and no buffered crash.
DELETE_SHAPE = replace(DURABLE_SHAPE, deletes=True, reaping=True, reap_mode="safe")
DELETE_BOUNDS = ("2 nodes (both replicas, so no hint), one key, 3 puts (which are deletes: "
                 "symbolic), safe reaping (and immediate with knowledge all and "
                 "prune_retired = 0), prune_retired = 0 and 1, knowledge "
                 "all, own and learnt, a new lifetime at every crash, a new key epoch at a "
                 "reap that forgets the actor's counters, any W, drop, duplicate and crash "
                 "budgets, partitions; no disk loss and no buffered crash")

#: The disk-loss proof: :data:`PRUNE_SHAPE` (buffered crashes and disk losses) with
#: deletes and safe reaping.
LOSS_SHAPE = replace(PRUNE_SHAPE, deletes=True, reaping=True, reap_mode="safe")
LOSS_BOUNDS = ("2 nodes (both replicas, so no hint), one key, 3 puts (which are deletes: "
               "symbolic), safe reaping, prune_retired = 0 and 1, knowledge all, own and "
               "learnt, a new lifetime at every crash and disk loss, W symbolic, fewer disk "
               "losses and buffered crashes together than W, any drop, duplicate and crash "
               "budgets, partitions")


def exempting_acknowledged_deletes_only(x: AbstractState, params: Params) -> Term:
    """The statement with a narrower exemption (refuted: an indeterminate delete's
    tombstones may be reaped): every acknowledged put is held somewhere unless an
    *acknowledged* delete covers it."""
    puts = range(x.shape.puts)
    return zt.And([zt.Implies(
        zt.And(x.acked[p], *[zt.Not(zt.And(x.acked[d], params.tomb[d], params.hist[d][p]))
                             for d in puts]),
        covers(x, params, p)) for p in puts])


def faithful_unless_deleted(x: AbstractState, params: Params) -> Term:
    """:func:`~model_check.proofs.pruning.faithful_clocks` with deletes: a node's clock
    covers a put's dot only if its copy covers the put, or a performed delete covers
    it (a tombstone a later concurrent delete dropped keeps its dot seen, the history
    it covers with it, until a prune drops its retired value-less entry: the clock
    still covers the dots of the puts it deleted, the copy no longer covers them)."""
    nodes, puts = range(len(x.shape.nodes)), range(x.shape.puts)
    return zt.And([zt.Implies(x.seen[n][q], zt.Or(x.store[n][q], deleted(x, params, q)))
                   for n in nodes for q in puts])


def _lost(x: AbstractState) -> Term:
    """The stores that may have lost an acknowledging node's copy so far: the disk
    losses, and with a buffered engine every crash (the encoding's acknowledgement
    rule, ``transition._acked_rule``)."""
    return x.losses + x.crashes if x.shape.buffered else x.losses


def strong_durable_unless_deleted(x: AbstractState, params: Params) -> Term:
    """:func:`durable_unless_deleted` strengthened until inductive: an acknowledged put
    was performed; an acknowledged put no performed delete covers is in at least ``W``
    minus the losses so far of the stores (:func:`_lost`; there are no hints in the
    shape); no dot minted twice with the key epochs
    (:func:`~model_check.proofs.pruning.strong_dots_unique`), faithful clocks, a copy's
    coverage its values' (and seen tombstones') histories', each value's dot in its
    clock; a performed put's history was performed."""
    nodes, puts = range(len(x.shape.nodes)), range(x.shape.puts)
    kept = [zt.Not(deleted(x, params, p)) for p in puts]
    return zt.And(
        x.losses <= params.max_losses, x.crashes <= params.max_crashes,
        *[zt.Implies(x.acked[p], x.performed[p]) for p in puts],
        *[zt.Implies(zt.And(x.acked[p], kept[p]), holders(x, params, p) >= params.w - _lost(x))
          for p in puts],
        *[zt.Implies(zt.And(x.performed[p], params.hist[p][q]), x.performed[q])
          for p in puts for q in puts],
        durable_unless_deleted(x, params),
        strong_dots_unique(x, params), faithful_unless_deleted(x, params),
        *[x.store[n][q] == covered_by(x, params, n, q) for n in nodes for q in puts],
        *[zt.Implies(x.live[n][q], x.seen[n][q]) for n in nodes for q in puts])


def _a_put_and_its_delete(x: AbstractState, params: Params) -> list[tuple[Term, object]]:
    """Preferences for the reap twin's counterexample: put 1 and its delete, put 2,
    both acknowledged and minted by B's first actor, the tombstone in both stores."""
    a, b = 0, 1
    prefer: list[tuple[Term, object]] = [
        (x.performed[2], False), (params.tomb[0], False), (params.tomb[1], True),
        (params.hist[1][0], True), (params.hist[0][1], False)]
    for q in (0, 1):
        prefer += [(x.performed[q], True), (x.acked[q], True), (params.minter[q], b),
                   (params.mepoch[q], 0), (params.mkey[q], 0)]
    prefer += [(x.live[n][1], True) for n in (a, b)]
    prefer += [(x.seen[n][q], True) for n in (a, b) for q in (0, 1)]
    return prefer + [(e, 0) for e in x.epoch]


def _a_put_on_both_disks(x: AbstractState, params: Params) -> list[tuple[Term, object]]:
    """Preferences for the disk-loss twin's counterexample: put 1 alone, acknowledged,
    minted by B's first lifetime, its version in both stores."""
    prefer: list[tuple[Term, object]] = [(x.performed[1], False), (x.performed[2], False),
                                         (params.tomb[0], False), (x.performed[0], True),
                                         (x.acked[0], True), (params.minter[0], 1),
                                         (params.mepoch[0], 0), (params.w, 2)]
    prefer += [(x.live[n][0], True) for n in (0, 1)]
    return prefer + [(e, 0) for e in x.epoch]


def _no_loss(params: Params) -> list[Term]:
    return [params.max_losses == 0, histories(params)]


def _fewer_losses_than_w(shape: Shape) -> Callable[[Params], list[Term]]:
    def hypotheses(params: Params) -> list[Term]:
        lost = params.max_losses + (params.max_crashes if shape.buffered else 0)
        return [lost < params.w, histories(params)]
    return hypotheses


def _durable(shape: Shape, hypotheses: Callable[[Params], list[Term]],
             parts: tuple[str, ...] = ("init", "step", "implies"),
             first: Callable[[AbstractState, Params], list[tuple[Term, object]]]
             = lambda x, params: []) -> Iterator[Query]:
    yield from _induction(shape, parts, strong_durable_unless_deleted, durable_unless_deleted,
                          hypotheses, first)


def _with_deletes(immediate: tuple[tuple[str, int], ...] = (("all", 0),)) -> Iterator[Query]:
    """The deletes proof's queries: safe reaping with each knowledge and keep; immediate
    reaping with those of ``immediate`` (the reap's guard does not meet the knowledge
    nor the keep: CI asks all, keep 0, the soak profile every pair,
    tests/model_check/test_proof_pruning_deletes.py)."""
    for prune in ("all", "own", "learnt"):
        for keep in (0, 1):
            yield from _durable(replace(DELETE_SHAPE, prune=prune, keep=keep), _no_loss)
    for prune, keep in immediate:
        shape = replace(DELETE_SHAPE, reap_mode="immediate", prune=prune, keep=keep)
        yield from _durable(shape, _no_loss)


def _with_disk_loss() -> Iterator[Query]:
    for prune in ("all", "own", "learnt"):
        for keep in (0, 1):
            shape = replace(LOSS_SHAPE, prune=prune, keep=keep)
            yield from _durable(shape, _fewer_losses_than_w(shape))


def acknowledged_deletes_only() -> Iterator[Query]:
    """The statement with the narrower exemption
    (:func:`exempting_acknowledged_deletes_only`) is not kept by the relation: one
    query, the invariant of :data:`PROOFS`' first proof and the narrow statement
    before a step, the narrow statement broken after it (safe reaping, knowledge all,
    keep 0). Z3 answers with a reap of an indeterminate delete's last tombstone (the
    checker's dvv-prune-retired-delete reaches it: docs/proofs.md)."""
    x, y, params = new_states(DELETE_SHAPE)
    steps = transition(x, y, params, causal_store)
    selector = z3.Int("step")

    def explain(m: Any) -> str:
        return (f"pre-state (satisfies the invariant): {describe(m, x, params)}; "
                f"step: {steps[int_of(m, selector)].name}; "
                f"post-state: {describe(m, y, params)}")

    prefer = [(x.performed[2], False), (params.tomb[0], False), (params.tomb[1], True),
              (params.hist[1][0], True), (x.acked[0], True), (x.acked[1], False),
              (x.live[1][1], True), *[(e, 0) for e in x.epoch],
              *[(t, 0) for q in (0, 1) for t in (params.minter[q], params.mepoch[q],
                                                 params.mkey[q])]]
    yield Query("Inv and Trans => acknowledged deletes only'",
                (params.wellformed(), *_no_loss(params), strong_durable_unless_deleted(x, params),
                 exempting_acknowledged_deletes_only(x, params),
                 relation(x, y, steps, selector),
                 zt.Not(exempting_acknowledged_deletes_only(y, params))),
                explain, prefer=(*prefer, *_preferences(x, params)))


PROOFS: tuple[Proof, ...] = (
    Proof(
        "inductive_pruning_keeps_acked_writes_with_deletes",
        "With pruning (prune_retired 0 or 1; knowledge all, own or learnt) and deletes "
        "reaped (safe; immediate too, with knowledge all and prune_retired 0), every "
        "acknowledged put is held somewhere (a store, a hint, a message) unless a delete "
        "a coordinator performed covers it (the checker's acked_writes_durable with "
        "deletes): strengthened by unique dots, the copy of a "
        "node covering every dot its current actor minted (a reap that forgets the "
        "actor's counters begins a new key epoch: spec.deletes.forget_copy), faithful "
        "clocks and at least W holders of an acknowledged put no delete covers, the "
        "invariant holds initially, is preserved by every step of the encoding and "
        "implies the property (the suite's dvv-prune-retired-delete).",
        DELETE_BOUNDS,
        _with_deletes,
        "a reap keeps the node's actor (no key epoch): its emptied copy no longer covers "
        "the dots its actor minted, which it then mints again, and a replica whose clock "
        "covers them drops the new acknowledged write (kv679, per key)",
        lambda: _durable(replace(DELETE_SHAPE, reap_actor="kept"), _no_loss,
                         parts=("step",), first=_a_put_and_its_delete),
        group="invariants",
    ),
    Proof(
        "inductive_pruning_keeps_acked_writes_with_disk_loss",
        "With pruning (prune_retired 0 or 1; knowledge all, own or learnt), deletes "
        "safely reaped and fewer disk losses (with a buffered engine, disk losses and "
        "crashes) than W, every acknowledged put no performed delete covers is held "
        "somewhere (acked_writes_durable as the data-loss issue restated it: a wiped node "
        "holds nothing): strengthened by 'an acknowledged put is held by at least W minus "
        "the losses so far of nodes' and the invariant of the proof above, it holds "
        "initially, is preserved by every step (a disk loss begins a new lifetime, whose "
        "node mints none of its old dots again while the others prune the old lifetime's "
        "value-less entries) and implies the property.",
        LOSS_BOUNDS,
        _with_disk_loss,
        "the wiped node keeps its lifetime (the naive actor, the suite's "
        "dvv-amnesia-naive-actor): its empty copy no longer covers the dots its current "
        "lifetime minted, which it then mints again",
        lambda: _durable(replace(LOSS_SHAPE, loss_actor="kept"),
                         _fewer_losses_than_w(LOSS_SHAPE), parts=("step",),
                         first=_a_put_on_both_disks),
        group="invariants",
    ),
)
