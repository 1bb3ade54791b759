"""A get's answer, encoded: no resurrection observed by a quorum read (session 28).

Theory of operation
-------------------
The delete proofs of :mod:`model_check.proofs.invariants`
(``inductive_delete_shields_quorum_reads`` and ``..._with_disk_loss``) show that an
acknowledged delete ``d`` is held by at least ``W`` minus the disk losses so far of
stores, or a version ``q`` it deletes is nowhere; that any ``R`` of the top N with
``R + W - losses > N`` include a store covering ``d`` was their property. That the
get's *answer* then leaves ``q`` out was argued (the spec's merge), not encoded.
This module encodes the answer and proves it.

A :class:`Get` is ``R`` and which nodes replied (free constants): exactly ``R``
distinct nodes of the key's preference list (the spec answers at the ``R``-th
reply, ``spec.coordination.settle_get``), each replying with its store as it is in
the state read. :func:`answer` merges the replies as the transition relation
merges a version into a store (its ``store_rule``, by default
:func:`~model_check.proofs.transition.causal_store`, derived from the causal merge
by ``merge_keeps_every_history``), folded over the replies from the empty copy;
and keeps a put's own version (returns it as a sibling) as
:func:`reconciled` does, merge by merge: one side holds it and the other holds it
too or has not seen it (dvv's sync drops a value whose dot the other side's clock
covers: that side superseded it), and no put ``p`` whose true history holds it is
covered by the merged answer (reconcile drops a version a different version's
clock dominates, and with faithful clocks a version whose history holds ``p``, so
``p``'s history, is such a version). That rule is checked against the spec's own
answer (``spec.coordination._get_result`` on every subset of the stores of every
reachable state, and ``GetRecord.returned`` on every edge where a get answers) for
the suite's delete entries (tests/model_check/test_get_answer.py), and derived
from reconcile's encoding (:func:`~model_check.proofs.vclock.reconcile_kept`) by
``get_answer_merge_is_reconcile``: with clocks faithful to histories and complete
(a put whose history holds another's has a clock dominating it) the rule keeps
exactly the versions reconcile keeps; twin: clocks not complete. (dvv's "seen" dot
without a held version, the first clause's own case, is not in that derivation:
the agreement checks it.)

Proofs of the answer (each ``Init => Inv``, ``Inv and Trans => Inv'`` and ``Inv => the get's
answer holds no deleted version``, with :func:`~model_check.proofs.invariants.strong_delete_shields`
as ``Inv``):

- ``get_answer_no_resurrection``: no disk loss, ``R + W > N``: a get of ``R``
  replies never returns a version an acknowledged delete deletes. Twin: ``R + W
  <= N`` (``R = 1``, ``W = 2``, ``N = 3``): the get is answered by the replica that
  missed the delete alone.
- ``get_answer_no_resurrection_with_disk_loss``: fewer disk losses than ``W``, and
  ``R + W - L > N`` where ``L`` is the number of disks lost so far when the stores
  are read (so ``R + W - max_losses > N`` suffices for every reachable state).
  Twin: one loss, ``R + W > N`` only (``R = W = 2``, ``N = 3``): the lost disk held
  the tombstone.

Assumptions (the shape's, :data:`~model_check.proofs.invariants.DELETE_SHAPE`): a
fixed ring of 3 nodes, every node a replica (N = 3), 2 puts of which which is a
delete is symbolic, faithful clocks. The replies are the stores of one state:
a get's replies taken at different times are argued, not encoded (docs/proofs.md,
"The get's answer encoded (session 28)"). Since session 56 the coordinator's own
reply is its first read merged with its copy read again as it answers
(``spec.coordination._read_own_again``): the agreement test
(tests/model_check/test_get_answer.py, ``_answering``) gives that merged copy as the
coordinator's store, and the transition relation's ``replica-get-reply`` step lets
the answer's repairs carry the coordinator's served copy
(:mod:`model_check.proofs.transition`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from model_check.proofs import terms as zt
from model_check.proofs.abstraction import AbstractState, Params, Term, describe, new_states
from model_check.proofs.framework import Proof, Query, bool_of, count_true, int_of
from model_check.proofs.invariants import (
    DELETE_BOUNDS,
    DELETE_SHAPE,
    _deletes,
    _fewer_losses_than_w,
    _induction,
    _small_pre_state,
    strong_delete_shields,
)
from model_check.proofs.transition import StoreRule, causal_store
from model_check.proofs.vclock import BoundedClocks, dominates, reconcile_kept, wellformed

__all__ = ["PROOFS", "Answer", "Get", "answer", "get_answers_no_deleted", "reconcile_setting",
           "reconciled"]


@dataclass(frozen=True, slots=True)
class Get:
    """A get's replies: ``r`` (the read quorum R) and, per node index in
    ``replied``, whether that node's store is one of the replies (free constants:
    a property over them holds for every choice)."""

    r: Term
    replied: dict[int, Term]

    @staticmethod
    def of(x: AbstractState, among: Sequence[int] | None = None, prefix: str = "") -> Get:
        """Replies from the nodes ``among`` (indexes; default: the key's top N)."""
        nodes = x.shape.top if among is None else among
        return Get(z3.Int(f"{prefix}R"),
                   {n: z3.Bool(f"{prefix}replied[{x.shape.nodes[n]}]") for n in nodes})

    def quorum(self, params: Params, n: int, slack: Term, short: int = 0) -> Term:
        """``R >= 1``, ``R + W - slack > n`` and exactly ``R - short`` replies
        (``short`` = 0: the spec answers at the ``R``-th reply)."""
        return zt.And(self.r >= 1, self.r + params.w - slack > n,
                      count_true(list(self.replied.values())) == self.r - short)


@dataclass(frozen=True, slots=True)
class Answer:
    """The get's merged answer: ``covers[p]`` (it holds a version whose true history
    holds put ``p``), ``holds[p]`` (it returns put ``p``'s own version), and the
    constraints that define ``covers`` (the fold of the store rule)."""

    covers: tuple[Term, ...]
    holds: tuple[Term, ...]
    constraints: tuple[Term, ...]


def reconciled(hist: Sequence[Sequence[Term]], covers: Sequence[Term], mine: Sequence[Term],
               my_covers: Sequence[Term], theirs: Sequence[Term],
               their_covers: Sequence[Term]) -> list[Term]:
    """Which put's own version the merge of two copies keeps (``mine``/``theirs``:
    each copy holds it; ``..._covers``: each copy has seen it; ``covers``: the merged
    coverage): one copy holds it and the other holds it too or has not seen it (a
    copy that has seen a version and no longer holds it superseded it: dvv's sync
    drops a value whose dot the other clock covers), and no other put whose true
    history holds it is covered by the merge (that put's version dominates it:
    reconcile with faithful clocks)."""
    puts = range(len(covers))
    return [zt.And(zt.Or(zt.And(mine[q], zt.Or(theirs[q], zt.Not(their_covers[q]))),
                         zt.And(theirs[q], zt.Or(mine[q], zt.Not(my_covers[q])))),
                   zt.Not(zt.Or([zt.And(covers[p], hist[p][q])
                                 for p in puts if p != q])))
            for q in puts]


def answer(x: AbstractState, params: Params, get: Get,
           store_rule: StoreRule = causal_store, prefix: str = "") -> Answer:
    """The reconciled answer of ``get``'s replies (see the module docstring): folded
    reply by reply from the empty copy, the coverage by ``store_rule``, the live
    versions by :func:`reconciled`."""
    puts = range(x.shape.puts)
    covers: list[Term] = [z3.BoolVal(False) for _ in puts]
    holds: list[Term] = [z3.BoolVal(False) for _ in puts]
    constraints: list[Term] = []
    for n, flag in get.replied.items():
        incoming = [zt.And(flag, x.store[n][q]) for q in puts]
        offered = [zt.And(flag, x.live[n][q]) for q in puts]
        after = [z3.Bool(f"{prefix}answer[{x.shape.nodes[n]}][{q + 1}]") for q in puts]
        constraints += [store_rule(covers[q], after[q], incoming[q]) for q in puts]
        holds = reconciled(params.hist, after, holds, covers, offered, incoming)
        covers = after
    return Answer(tuple(covers), tuple(holds), tuple(constraints))


def _no_deleted(x: AbstractState, params: Params, got: Answer) -> Term:
    return zt.And([zt.Implies(deleted, zt.Not(got.holds[q]))
                   for _, q, deleted in _deletes(x, params)])


def get_answers_no_deleted(x: AbstractState, params: Params, get: Get | None = None,
                           store_rule: StoreRule = causal_store, short: int = 0) -> Term:
    """The property: a get of ``R`` replies from distinct nodes of the top N, with
    ``R + W - losses > N`` (the disk losses so far), returns no version an
    acknowledged delete deletes (``short``: the mutant that answers at ``R - short``
    replies)."""
    get = get or Get.of(x)
    got = answer(x, params, get, store_rule)
    return zt.Implies(zt.And(get.quorum(params, len(x.shape.top), x.losses, short),
                             *got.constraints),
                      _no_deleted(x, params, got))


def _explain(x: AbstractState, params: Params, get: Get) -> Any:
    got = answer(x, params, get)

    def explain(m: Any) -> str:
        names = [x.shape.nodes[n] for n, flag in get.replied.items() if bool_of(m, flag)]
        held = [str(q + 1) for q in range(x.shape.puts) if bool_of(m, got.holds[q])]
        return (f"invariant holds: {describe(m, x, params)}; W={int_of(m, params.w)} "
                f"R={int_of(m, get.r)}: a get answered by {{{', '.join(names)}}} returns "
                f"put(s) {{{', '.join(held)}}}, one of them deleted by an acknowledged delete")
    return explain


def _broken_read(premise: Any, tombstone_at: tuple[int, ...]) -> Iterator[Query]:
    """A twin: the strengthened invariant holds and ``premise`` (a read quorum that
    breaks the proof's) picks R and W; the answer returns a deleted version (shown,
    where the query allows, as put 1 at B and the delete, put 2, at ``tombstone_at``)."""
    x, _, params = new_states(DELETE_SHAPE)
    get = Get.of(x)
    got = answer(x, params, get)
    yield Query(
        "Inv => the get's answer holds no deleted version",
        (params.wellformed(), strong_delete_shields(x, params), *got.constraints,
         premise(x, params, get), zt.Not(_no_deleted(x, params, got))),
        _explain(x, params, get),
        prefer=((params.tomb[0], False), *[(a, False) for a in x.alive],
                (x.live[0][0], False), (x.live[2][0], False), (x.store[1][1], False),
                *[(x.live[n][1], True) for n in tombstone_at],
                *_small_pre_state(x, params)),
    )


def _no_loss_r1_w2(x: AbstractState, params: Params, get: Get) -> Term:
    """R + W <= N: N = 3, W = 2, R = 1, no disk loss."""
    return zt.And(params.max_losses == 0, params.w == 2, get.r == 1,
                  count_true(list(get.replied.values())) == get.r)


def _one_loss_r2_w2(x: AbstractState, params: Params, get: Get) -> Term:
    """R + W > N but not R + W - L > N: N = 3, W = R = 2, one disk lost."""
    return zt.And(params.max_losses == 1, params.w == 2, get.r == 2, x.losses == 1,
                  count_true(list(get.replied.values())) == get.r)


#: The derivation of :func:`reconciled`: versions per side, put ids, clock entries
#: (those of ``merge_keeps_every_history``).
SIDE, PUTS, ENTRIES = 2, 3, 4


def reconcile_setting(complete: bool) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """(hypotheses, per put: the rule's kept own version, reconcile's, and "a copy
    holds it") of the query of ``get_answer_merge_is_reconcile``."""
    hypotheses, rule, truth, offered, _ = _setting(complete)
    return hypotheses, rule, truth, offered


def _reconciled_query(complete: bool) -> Iterator[Query]:
    hypotheses, rule, truth, _, explain = _setting(complete)
    yield Query(f"reconcile of {SIDE}+{SIDE} versions, k={ENTRIES}",
                (*hypotheses, zt.Or([a != b for a, b in zip(rule, truth, strict=True)])),
                explain)


def _setting(complete: bool) -> tuple[list[Any], list[Any], list[Any], list[Any], Any]:
    """:func:`reconciled` against ``reconcile`` of two copies of ``SIDE`` versions each
    (:func:`~model_check.proofs.vclock.reconcile_kept`): a version is put
    ``put[i]``'s own version, with that put's clock (one clock per put) and true
    history (``hist``: reflexive, transitive, antisymmetric: a put's history holds
    earlier puts); clocks faithful (a dominating clock's put's history holds the
    dominated one's) and, with ``complete``, complete (a put whose history holds
    another's has a clock dominating it: the client read that version). The query:
    for some put, the encoding's rule over the copies' coverage and own versions
    differs from which own versions reconcile keeps."""
    c = BoundedClocks(ENTRIES)
    names = [f"a{j}" for j in range(SIDE)] + [f"b{j}" for j in range(SIDE)]
    put = [z3.Int(f"put[{n}]") for n in names]
    clocks = [c.fresh(f"clock[{p + 1}]") for p in range(PUTS)]
    hist = [[z3.Bool(f"hist[{p + 1}][{q + 1}]") for q in range(PUTS)] for p in range(PUTS)]
    puts = range(PUTS)
    hypotheses: list[Any] = [zt.And(v >= 0, v < PUTS) for v in put]
    hypotheses += [wellformed(c, clock) for clock in clocks]
    hypotheses += [hist[p][p] for p in puts]
    hypotheses += [zt.Implies(zt.And(hist[p][r], hist[r][q]), hist[p][q])
                   for p in puts for r in puts for q in puts]
    hypotheses += [zt.Not(zt.And(hist[p][q], hist[q][p])) for p in puts for q in puts if p != q]
    for p in puts:
        for q in puts:
            if p == q:
                continue
            contained = zt.And([zt.Implies(hist[q][r], hist[p][r]) for r in puts])
            hypotheses.append(zt.Implies(dominates(c, clocks[p], clocks[q]), contained))
            if complete:  # the twin drops this one
                hypotheses.append(zt.Implies(hist[p][q], dominates(c, clocks[p], clocks[q])))

    def clock_of(i: int) -> Any:
        return tuple(z3.If(put[i] == 0, clocks[0][e], z3.If(put[i] == 1, clocks[1][e],
                                                              clocks[2][e]))
                     for e in range(ENTRIES))

    kept = reconcile_kept(c, [(put[i], clock_of(i)) for i in range(len(names))])

    def side(members: range) -> tuple[list[Any], list[Any]]:
        covers = [zt.Or([zt.Or([zt.And(put[i] == p, hist[p][q]) for p in puts])
                         for i in members]) for q in puts]
        own = [zt.Or([put[i] == q for i in members]) for q in puts]
        return covers, own

    mine_covers, mine = side(range(SIDE))
    their_covers, theirs = side(range(SIDE, 2 * SIDE))
    merged = [zt.Or(a, b) for a, b in zip(mine_covers, their_covers, strict=True)]
    rule = reconciled(hist, merged, mine, mine_covers, theirs, their_covers)
    truth = [zt.Or([zt.And(kept[i], put[i] == q) for i in range(len(names))]) for q in puts]

    def explain(m: Any) -> str:
        parts = [f"{n} = put {int_of(m, put[i]) + 1} "
                 f"({'kept' if bool_of(m, kept[i]) else 'dropped'})" for i, n in enumerate(names)]
        hists = [f"put {p + 1}: clock {c.show(m, clocks[p])} history "
                 f"{{{', '.join(str(q + 1) for q in puts if bool_of(m, hist[p][q]))}}}"
                 for p in puts]
        wrong = [str(q + 1) for q in puts if bool_of(m, rule[q]) != bool_of(m, truth[q])]
        return (f"copies {{a0, a1}} and {{b0, b1}}: {'; '.join(parts)}; {'; '.join(hists)}; "
                f"the rule and reconcile differ on put(s) {{{', '.join(wrong)}}}")

    offered = [zt.Or(a, b) for a, b in zip(mine, theirs, strict=True)]
    return hypotheses, rule, truth, offered, explain


PROOFS: tuple[Proof, ...] = (
    Proof(
        "get_answer_merge_is_reconcile",
        "The get answer's rule for own versions (reconciled: one copy holds it and the "
        "other holds it or has not seen it, and no covered put's history holds it) is "
        "exactly which versions reconcile keeps when clocks are faithful to histories and "
        "complete (a version whose history holds another's put has a clock dominating "
        "it): derived from the encoding of reconcile, as merge_keeps_every_history derives "
        "the coverage rule.",
        f"{SIDE} versions per copy, clocks of {ENTRIES} entries, {PUTS} put ids",
        lambda: _reconciled_query(complete=True),
        "clocks not complete (a put whose history holds another's with a clock that does "
        "not dominate it, as lww or a blind rewrite): reconcile keeps a version the rule "
        "drops",
        lambda: _reconciled_query(complete=False),
        group="invariants",
    ),
    Proof(
        "get_answer_no_resurrection",
        "With safe reaping on a fixed ring (strict quorum, no disk loss) and R + W > N: "
        "a get answered by R distinct replicas of the key's top N, their stores merged "
        "by the encoding's causal merge, returns no version an acknowledged delete "
        "deletes (the strengthened delete_shields invariant holds initially, is "
        "preserved by every step and implies it).",
        DELETE_BOUNDS.replace("no disk loss", "W and R symbolic, no disk loss"),
        lambda: _induction(DELETE_SHAPE, strong_delete_shields, get_answers_no_deleted),
        "a read quorum with R + W <= N (N = 3, W = 2, R = 1): the get is answered by the "
        "replica that missed the delete alone",
        lambda: _broken_read(_no_loss_r1_w2, (0, 2)),
        group="invariants",
    ),
    Proof(
        "get_answer_no_resurrection_with_disk_loss",
        "With safe reaping on a fixed ring and fewer disk losses than W: a get answered "
        "by R distinct replicas of the top N with R + W - L > N, L the disks lost so "
        "far, returns no version an acknowledged delete deletes (the strengthened "
        "invariant with W - L holds initially, is preserved by every step, disk loss "
        "included, and implies it).",
        DELETE_BOUNDS.replace("no disk loss", "W, R and the disk-loss budget symbolic"),
        lambda: _induction(DELETE_SHAPE, strong_delete_shields, get_answers_no_deleted,
                           losses=_fewer_losses_than_w),
        "a read quorum of R + W > N only, one disk loss, W = R = 2 (N = 3): the lost disk "
        "held the tombstone, and the get reads it and the replica that missed the delete",
        lambda: _broken_read(_one_loss_r2_w2, (2,)),
        group="invariants",
    ),
)
