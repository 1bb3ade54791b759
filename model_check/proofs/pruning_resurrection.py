"""No resurrection after a reap under dvv's pruning (session 38; docs/proofs.md, "No
resurrection under pruning (session 38)").

Theory of operation
-------------------
``inductive_no_resurrection_after_reap`` (:mod:`model_check.proofs.invariants`) proves,
without pruning, that once an acknowledged delete's tombstone is in no store no
version it deleted is anywhere: a store's coverage shrinks only at a reap, and a safe
reap needs the deleted versions gone. Under pruning session 37 found the statement
not inductive: Z3's counterexample to induction drops a tombstone's retired entry at
a write with no reap.

That counterexample was **reachable** in the spec before session 38's fix. A delete
drops the tombstones it is concurrent with (:func:`spec.dvv.drop_superseded`: a delete
retried with one context adds no sibling), keeping their dots in the clock; once the
dropped tombstone's lifetime is retired, a prune drops its value-less entry, and the
copy no longer covered what only that dot covered: on dvv-prune-retired-delete with
``w = 1``, two deletes per client and a forgetful client, the checker reached it in 6
steps (c1 puts v1 through n1, reads it, deletes it through n1, acknowledged; n1
crashes and recovers; c1's blind delete through n1 drops the first tombstone and
prunes its entry, while v1 is on its way to n2), and with ``w = 2`` and one duplicate
in 12. The implementation's record there is the one a delete written with a context
covering the dropped tombstone leaves (its collapse means "two tombstones carry the
same meaning"), and the spec's ghost did not say so: the fix
(:func:`spec.coordination.absorbed`) gives the delete the histories of the tombstones
its write removes, so the tombstone it writes supersedes them wherever their dots go.
The value then back beside that tombstone is pruning's documented cost, as with
ordered deletes (the checker's ``no_resurrection`` on dvv-prune-retired-delete).

What holds since: every write keeps what a copy covers (a value a merge drops is one
another clock covers, and a copy that covers a dot without holding its value holds a
value superseding it), so coverage shrinks only at a reap and the proof of the
unpruned encoding carries over, for any order of the deletes. The encoding's inexact
writes state it as two clauses (faithful clocks; a tombstone seen and not held is
superseded by a value held:
:func:`~model_check.proofs.transition.dropped_tombstone_superseded`), checked on every
edge of the pruning graphs with deletes. The twin is the spec before the fix
(``Shape.drop_absorbs`` False: the clauses exempt a state where two performed deletes
are concurrent, :func:`~model_check.proofs.transition.concurrent_deletes`), and Z3
answers with the checker's old counterexample.

*Disk loss.* A lost disk takes its tombstones with it, so with disk losses (and
buffered crashes) the invariant adds session 27's ``delete_shields`` with the stores
lost so far counted (:func:`tombstone_holders`): fewer losses than ``W`` leave a holder
of an acknowledged delete while a version it deleted is anywhere. The twin allows as
many losses as ``W``: at ``W = 1`` the delete's one store loses its disk while the
version it deleted is in flight (the checker, 4 steps).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from model_check.proofs import terms as zt
from model_check.proofs.abstraction import AbstractState, Params, Term
from model_check.proofs.framework import Proof, Query
from model_check.proofs.invariants import (
    _somelive,
    no_resurrection_after_reap,
    strong_no_resurrection,
)
from model_check.proofs.pruning import _induction, histories
from model_check.proofs.pruning_durable import (
    DELETE_SHAPE,
    LOSS_SHAPE,
    _lost,
    strong_durable_unless_deleted,
)
from model_check.proofs.transition import (
    dropped_tombstone_superseded,
    holders,
    unabsorbed_drop,
)

__all__ = ["BOUNDS", "LOSS_BOUNDS", "PROOFS", "faithful_unless_concurrent_deletes",
           "strong_no_resurrection_pruned", "strong_no_resurrection_with_losses",
           "tombstone_holders", "tombstones_superseded"]

BOUNDS = ("2 nodes (both replicas, so no hint), one key, 3 puts (which are deletes: "
          "symbolic), the deletes in any causal order, safe reaping, "
          "prune_retired = 0 and 1, knowledge all, own and learnt, a new lifetime at every "
          "crash, a new key epoch at a reap that forgets the actor's counters, any W, drop, "
          "duplicate and crash budgets, partitions; no disk loss")
LOSS_BOUNDS = ("2 nodes (both replicas, so no hint), one key, 3 puts (which are deletes: "
               "symbolic), the deletes in any order, safe reaping, buffered crashes, disk "
               "losses, prune_retired = 0 and 1, knowledge all, own and learnt, a new lifetime "
               "at every crash and disk loss, W symbolic, fewer disk losses and buffered "
               "crashes together than W, any drop, duplicate and crash budgets, partitions")


def faithful_unless_concurrent_deletes(x: AbstractState, params: Params) -> Term:
    """A node's clock covers a put's dot only if its copy covers the put (the clause the
    encoding's writes state since session 38; session 37's
    :func:`~model_check.proofs.pruning_durable.faithful_unless_deleted` exempted every
    deleted put); in the twin, the spec before session 38's fix, unless two performed
    deletes are concurrent (:func:`~model_check.proofs.transition.unabsorbed_drop`)."""
    nodes, puts = range(len(x.shape.nodes)), range(x.shape.puts)
    return zt.And([zt.Implies(x.seen[n][q], zt.Or(x.store[n][q], unabsorbed_drop(x, params)))
                   for n in nodes for q in puts])


def tombstones_superseded(x: AbstractState, params: Params) -> Term:
    """Every tombstone a clock covers and its copy does not hold is superseded there by
    a value the copy holds (:func:`~model_check.proofs.transition.
    dropped_tombstone_superseded` at every node; in the twin, unless two performed
    deletes are concurrent)."""
    return zt.And([dropped_tombstone_superseded(x, params, n, t)
                   for n in range(len(x.shape.nodes)) for t in range(x.shape.puts)])


def strong_no_resurrection_pruned(x: AbstractState, params: Params) -> Term:
    """:func:`~model_check.proofs.invariants.no_resurrection_after_reap` under pruning,
    strengthened until inductive: the conjuncts of the unpruned proof
    (:func:`~model_check.proofs.invariants.strong_no_resurrection`), the durability
    invariant of session 37 (unique dots with key epochs, a copy's coverage its
    values' and seen tombstones' histories', W holders of an acknowledged put no delete
    covers), faithful clocks and superseded tombstones."""
    return zt.And(strong_durable_unless_deleted(x, params), strong_no_resurrection(x, params),
                  faithful_unless_concurrent_deletes(x, params),
                  tombstones_superseded(x, params))


def tombstone_holders(x: AbstractState, params: Params) -> Term:
    """For an acknowledged delete ``d`` and a version ``q`` it deletes, at least ``W``
    minus the stores lost so far cover ``d`` (the disk losses, and with a buffered
    engine the crashes), or ``q`` is nowhere: session 27's ``delete_shields`` with the
    buffered crashes counted."""
    puts = range(x.shape.puts)
    return zt.And([zt.Implies(
        zt.And(x.acked[d], params.tomb[d], params.hist[d][q], zt.Not(params.tomb[q])),
        zt.Or(holders(x, params, d) >= params.w - _lost(x), zt.Not(_somelive(x, q))))
        for d in puts for q in puts if d != q])


def strong_no_resurrection_with_losses(x: AbstractState, params: Params) -> Term:
    """:func:`strong_no_resurrection_pruned` and :func:`tombstone_holders`: with disk
    losses a tombstone leaves a store at a loss too, and fewer losses than ``W`` leave
    one holder of an acknowledged delete while a version it deleted is anywhere."""
    return zt.And(strong_no_resurrection_pruned(x, params), tombstone_holders(x, params))


def _any_order(params: Params) -> list[Term]:
    return [params.max_losses == 0, histories(params)]


def _queries(shape: Any, hypotheses: Any, parts: tuple[str, ...] = ("init", "step", "implies"),
             first: Any = lambda x, params: []) -> Iterator[Query]:
    yield from _induction(shape, parts, strong_no_resurrection_pruned,
                          no_resurrection_after_reap, hypotheses, first)


def _proof() -> Iterator[Query]:
    for prune in ("all", "own", "learnt"):
        for keep in (0, 1):
            yield from _queries(replace(DELETE_SHAPE, prune=prune, keep=keep), _any_order)


def _lossy(shape: Any, at_most: bool = False) -> Any:
    def hypotheses(params: Params) -> list[Term]:
        lost = params.max_losses + (params.max_crashes if shape.buffered else 0)
        return [lost <= params.w if at_most else lost < params.w, histories(params)]
    return hypotheses


def _with_disk_loss() -> Iterator[Query]:
    for prune in ("all", "own", "learnt"):
        for keep in (0, 1):
            shape = replace(LOSS_SHAPE, prune=prune, keep=keep)
            yield from _induction(shape, ("init", "step", "implies"),
                                  strong_no_resurrection_with_losses,
                                  no_resurrection_after_reap, _lossy(shape))


def _a_delete_on_one_disk(x: AbstractState, params: Params) -> list[tuple[Term, object]]:
    """Preferences for the disk-loss twin: put 1 (v1) in flight, put 2, its delete,
    acknowledged at W = 1 and held at A only; no crash."""
    return [(params.w, 1), (params.max_losses, 1), (params.max_crashes, 0),
            (params.tomb[0], False), (params.tomb[1], True), (params.hist[1][0], True),
            (x.performed[2], False), (x.acked[1], True), (x.alive[0], True),
            (x.live[0][1], True), (x.live[1][1], False)]


def _as_many_losses_as_w() -> Iterator[Query]:
    yield from _induction(LOSS_SHAPE, ("step",), strong_no_resurrection_with_losses,
                          no_resurrection_after_reap, _lossy(LOSS_SHAPE, at_most=True),
                          _a_delete_on_one_disk)


def _a_delete_dropped(x: AbstractState, params: Params) -> list[tuple[Term, object]]:
    """Preferences for the twin's counterexample: put 1 (v1) acknowledged, minted by
    A's first lifetime, its own version in flight; put 2, its delete, acknowledged,
    minted by B's first lifetime, held at B; put 3, a blind delete, not yet
    performed; B in its second lifetime."""
    a, b = 0, 1
    prefer: list[tuple[Term, object]] = [
        (params.tomb[0], False), (params.tomb[1], True), (params.tomb[2], True),
        (params.hist[1][0], True), (params.hist[2][0], False), (params.hist[2][1], False),
        (x.performed[0], True), (x.performed[1], True), (x.acked[1], True),
        (x.performed[2], False), (x.alive[0], True), (x.live[b][1], True),
        (params.minter[0], a), (params.mepoch[0], 0), (params.minter[1], b),
        (params.mepoch[1], 0), (x.epoch[a], 0), (x.epoch[b], 1)]
    prefer += [(m, 0) for m in params.mkey] + [(k, 0) for k in x.kepoch]
    return prefer


PROOFS: tuple[Proof, ...] = (
    Proof(
        "inductive_pruning_no_resurrection_after_reap",
        "With pruning (prune_retired 0 or 1; knowledge all, own or learnt), deletes "
        "safely reaped, in any order (a delete takes over the tombstones it drops: "
        "session 38's fix), once an acknowledged delete's "
        "tombstone is in no store no version it deleted is left anywhere (store, "
        "message, record): strengthened by the unpruned proof's conjuncts, session 37's "
        "durability invariant, faithful clocks and every tombstone a clock covers but "
        "its copy does not hold superseded by a value it holds, the invariant holds "
        "initially, is preserved by every step of the encoding and implies the "
        "property (no_resurrection_after_reap; the suite's dvv-prune-retired-delete).",
        BOUNDS,
        _proof,
        "the spec before session 38's fix (a delete does not take over the tombstones it "
        "drops): a blind delete drops the acknowledged delete's tombstone "
        "(spec.dvv.drop_superseded) and prunes its retired entry, so no store covers the "
        "delete while the version it deleted is in flight (the checker reached it in 6 "
        "steps with w = 1, 12 with w = 2 and a duplicate)",
        lambda: _queries(replace(DELETE_SHAPE, drop_absorbs=False), _any_order,
                         parts=("step",), first=_a_delete_dropped),
        group="invariants",
    ),
    Proof(
        "inductive_pruning_no_resurrection_after_reap_with_disk_loss",
        "The same with disk losses and buffered crashes, fewer together than W: "
        "strengthened besides by 'an acknowledged delete is covered by at least W minus "
        "the stores lost so far, or a version it deleted is nowhere' (session 27's "
        "delete_shields), once an acknowledged delete's tombstone is in no store no "
        "version it deleted is left anywhere (the suite's dvv-prune-retired-delete with "
        "one disk loss keeps it on every state).",
        LOSS_BOUNDS,
        _with_disk_loss,
        "as many losses as W: the one store an acknowledged delete is on at W = 1 loses "
        "its disk while the version it deleted is in flight (the checker reaches it in 4 "
        "steps on dvv-prune-retired-delete with w = 1 and one disk loss)",
        _as_many_losses_as_w,
        group="invariants",
    ),
)
