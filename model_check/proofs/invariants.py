"""Inductive invariants of the spec (spec/model.py), checked by Z3 for bounded sizes.

Theory of operation
-------------------
Each proof runs over the abstraction of :mod:`model_check.proofs.abstraction`
(the spec's state for one key) and its transition relation of exact and
over-approximated steps (:mod:`model_check.proofs.transition`), and asks Z3 the
three questions of induction.

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
- With disk loss (issue 10's restatement: the definition is unchanged, a node whose
  disk was lost holds nothing), ``acked_writes_durable`` holds when fewer disks
  are lost than ``W``: strengthened by "an acknowledged put is held by at least
  ``W`` minus the disk losses so far of nodes" (the encoding acknowledges a put
  only then, a rule the edge agreement checks on every suite configuration).
  Twins: ``W = 1`` with one disk loss (the put acknowledged on one disk, and that
  disk lost: the suite's disk-loss-w1), and the lossy merge of dvv's naive actor
  after amnesia (a re-issued dot makes a replica drop the put: the suite's
  dvv-amnesia-naive-actor).
- With the rebuild of a lost disk (session 57, ``Shape.rebuild``:
  :mod:`model_check.proofs.rebuild`), the same strengthened invariant stays inductive
  on the disk-loss shape (strict quorum, no hint): the rebuild's steps move no version
  but as before and the acknowledgement rule is unchanged. Twin: ``W = 1`` with one
  disk loss, as without the rebuild. (The unacknowledged hint delivery is checked by
  the edge agreement alone: on a sloppy shape with a hint payload this invariant is
  not inductive, with or without the rebuild: Z3's counterexample counts a hint whose
  intended node gained the put as no holder.)
- With a failing disk (session 52, ``Shape.write_failures``: the steps
  ``failed-put``, ``failed-write``, a delivered ``replica-put-failed``), the same
  strengthened invariant stays inductive: a refused write adds to no store and the
  acknowledgement rule is unchanged. Twin: the refused write acknowledged as if
  stored (``Shape.failed_write_acks``, the suite's write-failure-acked).
- ``no_resurrection_after_reap``: once the tombstone of an acknowledged delete is
  in no store (it was reaped), no version it deleted is left anywhere (a store, a
  message, a hint, a coordination record) for a later get to return: the part of
  ``no_resurrection`` that reaping decides (before the reap, a get that reads the
  tombstone drops what it deleted, and the read-your-writes proofs say when it
  reads it). Strengthened by "a live version is covered where it lives, and was
  performed; a performed put's history was performed". The safe reap is one
  node's (spec/deletes.py): the node is up holding only tombstones, nothing about
  the key is in flight, and no store, up or down, holds a live version an
  acknowledged delete covers (:func:`~model_check.proofs.transition.reap_covered_nowhere`);
  it keeps the invariant, reaps in any order. Immediate reaping (a node holding an
  acknowledged tombstone reaps whatever the others hold) is the twin (the suite's
  delete-immediate); the guard without the down nodes' stores is refuted too
  (tests/model_check/test_reap_encoding.py).
- ``delete_shields`` (session 27), the part of ``no_resurrection`` a quorum read
  needs, which ``no_resurrection_after_reap`` does not state: for an acknowledged
  delete ``d`` and a version ``q`` it deletes, at least ``W`` stores cover ``d``
  (hold its tombstone or a version that supersedes it), or ``q``'s own version is
  nowhere (store, message, hint, record). It implies
  ``no_resurrection_after_reap`` (no store holding ``d`` is fewer than ``W``) and
  ``quorum_read_sees_delete``: any ``R`` of the top N with ``R + W > N`` include a
  store that covers ``d``, unless ``q`` is gone everywhere. Strengthened by the
  conjuncts of ``strong_no_resurrection``. The suite's delete-immediate breaks it
  at its reap, two steps before the checker's ``no_resurrection`` violation, while
  ``no_resurrection_after_reap`` holds on every state of that trace (a tombstone is
  still at n3): tests/model_check/test_reap_encoding.py. Twin: immediate reaping
  with ``W = 2``. The get's own answer (the replies of one state reconciled: a reply
  covering ``d`` drops ``q``'s own version) is encoded and proved in
  :mod:`model_check.proofs.get_answer` (session 28); a get's replies taken at
  different times are still argued (docs/proofs.md).
- With disk loss (fewer losses than ``W``), ``delete_shields`` reads ``W`` minus the
  losses so far, and the read that sees the delete needs ``R + W - losses > N``.
  Twin: a read of ``R + W > N`` only, one loss, ``W = 2``: the lost disk held the
  tombstone and the get reads it and the replica that missed the delete, with no
  reap (the checker's ``no_resurrection`` counterexample of delete-safe with one
  disk loss, tests/model_check/test_reap_encoding.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
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
    hint_kept_until_acked,
    initial,
    new_states,
    strong_durable,
    strong_hints,
)
from model_check.proofs.framework import Proof, Query, bool_of, count_true, int_of
from model_check.proofs.transition import (
    StoreRule,
    causal_store,
    holders,
    lossy_store,
    relation,
    transition,
)

__all__ = [
    "BOUNDS",
    "PROOFS",
    "REBUILD_KEYS_SHAPE",
    "REBUILD_SHAPE",
    "SHAPE",
    "WRITE_FAILURE_SHAPE",
    "delete_shields",
    "no_resurrection_after_reap",
    "quorum_read_sees_delete",
    "rebuild_marked",
    "rebuild_marks_every_exchange",
    "strong_delete_shields",
    "strong_durable_with_losses",
    "strong_no_resurrection",
]


def _induction(
    shape: Shape,
    invariant: Invariant,
    prop: Invariant,
    store_rule: StoreRule = causal_store,
    parts: tuple[str, ...] = ("init", "step", "implies"),
    losses: Callable[[Params], Term] = lambda params: params.max_losses == 0,
    first: Callable[[AbstractState], list[tuple[Term, Any]]] = lambda x: [],
) -> Iterator[Query]:
    x, y, params = new_states(shape)
    # ``losses``: the hypothesis on disk losses (none, by default: a buffered crash is
    # left out of the shape too); the disk-loss proofs below lift it
    bounds = [params.wellformed(), losses(params)]
    if "init" in parts:
        yield Query("Init => Inv", (*bounds, initial(x, params), zt.Not(invariant(x, params))),
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
             zt.Not(invariant(y, params))),
            explain,
            prefer=(*first(x), *_small_pre_state(x, params)),
        )
    if "implies" in parts:
        yield Query("Inv => property", (invariant(x, params), zt.Not(prop(x, params))),
                    lambda m: f"invariant holds but the property fails: {describe(m, x, params)}")


def _small_pre_state(x: AbstractState, params: Params) -> tuple[tuple[Term, Any], ...]:
    """Preferences for a readable counterexample: nodes up, nothing else going on."""
    prefer: list[tuple[Term, Any]] = [
        (x.losses, 0), (params.max_drops, 0), (params.max_duplicates, 0), (params.max_crashes, 0),
        (params.max_losses, 1), (params.w, 1),
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
    return zt.And(strong_durable(x, params), acked_writes_durable(x, params))


#: The disk-loss proofs: a strict quorum of 3 nodes (no fallback, no hint), as the
#: suite's disk-loss entries.
LOSS_SHAPE = Shape(nodes=("A", "B", "C"), puts=2, payloads=0, top=(0, 1, 2), handoff=False)
LOSS_BOUNDS = "3 nodes (strict quorum), one key, 2 puts, W and the disk-loss budget symbolic"


def strong_durable_with_losses(x: AbstractState, params: Params) -> Term:
    """acked_writes_durable under disk loss, strengthened (see the module docstring)."""
    puts = range(x.shape.puts)
    return zt.And(
        *[c >= 0 for c in (x.drops, x.duplicates, x.crashes, x.losses)],
        x.losses <= params.max_losses,
        *[zt.Implies(x.acked[p], x.performed[p]) for p in puts],
        *[zt.Implies(x.acked[p], holders(x, params, p) >= params.w - x.losses) for p in puts],
        acked_writes_durable(x, params),
    )


#: The rebuild's (session 57): the disk-loss shape with the replaced disk's rebuild
#: (model_check/proofs/rebuild.py: the marks, the exchanges to do, ``rebuilt``).
REBUILD_SHAPE = replace(LOSS_SHAPE, rebuild=True)
REBUILD_BOUNDS = LOSS_BOUNDS + ", the rebuild of a lost disk"

#: The rebuild with several keys (session 61): the rebuild's shape projected onto one
#: key of several, each pair of its nodes also replicating another key (the ``others``
#: variables, the ``put elsewhere``, ``drop elsewhere``, ``duplicate elsewhere`` and
#: ``exchange elsewhere`` steps; model_check/proofs/rebuild.py).
REBUILD_KEYS_SHAPE = replace(REBUILD_SHAPE, other_keys=True,
                             other_pairs=((0, 1), (0, 2), (1, 2)))
REBUILD_KEYS_BOUNDS = (REBUILD_BOUNDS.replace("one key", "one key's projection")
                       + ", every node also replicating another key")

def rebuild_marked(x: AbstractState, params: Params) -> Term:
    """Every exchange left for a node's rebuild, of the key (``todo[n][m]``) or of
    another key (``others[n]``), is of a marked node (``mark[n]``: its
    acknowledgements, own writes and own reads not counted): ``State.rebuilding``
    holds ``(n, j, m)`` only with ``(n, "", "")`` (spec/rebuild.py: ``begin`` sets
    both, ``restart`` keeps or drops both, ``synced`` removes exchanges only,
    ``Rebuilt`` needs none left). Session 61's review: the one statement of the
    encoding that reads ``others`` (``inductive_acked_writes_durable_with_rebuild_keys``
    is proved with any of the rules reading it broken)."""
    del params
    return zt.And(*[zt.Implies(flag, x.mark[e[0]]) for e, flag in x.todo.items()],
                  *[zt.Implies(flag, x.mark[n]) for n, flag in x.others.items()])


def rebuild_marks_every_exchange(shape: Shape = REBUILD_KEYS_SHAPE) -> Iterator[Query]:
    """The three questions of induction for :func:`rebuild_marked` on ``shape`` (by
    default :data:`REBUILD_KEYS_SHAPE`: a projection onto one key of several, every
    node also replicating another key), any number of disk losses (session 61's
    review, docs/proofs.md "The rebuild with several keys reviewed (session 61)"):
    PROVED with the encoding's rules; REFUTED with ``rebuilt`` ignoring ``others``
    (``rebuild.others_done`` true), a crash dropping the mark while ``others`` is
    set, or an ``exchange elsewhere`` that may set a flag of an unmarked node."""
    return _induction(shape, rebuild_marked, rebuild_marked,
                      losses=lambda params: params.max_losses >= 0)


#: The failing disk's proof (session 52): the disk-loss shape with refused writes.
WRITE_FAILURE_SHAPE = replace(LOSS_SHAPE, write_failures=True)
WRITE_FAILURE_BOUNDS = LOSS_BOUNDS + ", any number of refused writes"


def _fewer_losses_than_w(params: Params) -> Term:
    return params.max_losses < params.w


def _w1_one_loss(params: Params) -> Term:
    return zt.And(params.w == 1, params.max_losses == 1)


def _durable_with_losses(shape: Shape, twin: bool = False) -> Iterator[Query]:
    """acked_writes_durable by ``strong_durable_with_losses`` on ``shape`` with fewer
    disk losses than W; ``twin``: the step alone, W = 1 with one disk loss."""
    if twin:
        return _induction(shape, strong_durable_with_losses, acked_writes_durable,
                          parts=("step",), losses=_w1_one_loss)
    return _induction(shape, strong_durable_with_losses, acked_writes_durable,
                      losses=_fewer_losses_than_w)


def _losses_proof(name: str, statement: str, bounds: str, shape: Shape, twin_statement: str
                  ) -> Proof:
    """A proof of acked_writes_durable with fewer disk losses than W on ``shape``
    (:func:`_durable_with_losses`), its twin W = 1 with one loss."""
    return Proof(name, statement, bounds, lambda: _durable_with_losses(shape), twin_statement,
                 lambda: _durable_with_losses(shape, twin=True), group="invariants")


def _w2_one_loss(params: Params) -> Term:
    return zt.And(params.w == 2, params.max_losses == 1)


#: The delete proofs: 3 nodes, all replicas (no fallback), a put and a delete.
DELETE_SHAPE = Shape(nodes=("A", "B", "C"), puts=2, payloads=0, top=(0, 1, 2), handoff=False,
                     reaping=True, deletes=True, reap_mode="safe")
IMMEDIATE_SHAPE = Shape(nodes=("A", "B", "C"), puts=2, payloads=0, top=(0, 1, 2),
                        handoff=False, reaping=True, deletes=True, reap_mode="immediate")
DELETE_BOUNDS = "3 nodes (all replicas), one key, 2 puts (tombstones symbolic), no disk loss"


def _somelive(x: AbstractState, q: int) -> Term:
    return zt.Or(x.alive[q], *[row[q] for row in x.live])


def no_resurrection_after_reap(x: AbstractState, params: Params) -> Term:
    """Once an acknowledged delete's tombstone is in no store, no version it deleted
    is left anywhere."""
    nodes = range(len(x.shape.nodes))
    puts = range(x.shape.puts)
    return zt.And([
        zt.Implies(
            zt.And(x.acked[d], params.tomb[d], params.hist[d][q], zt.Not(params.tomb[q]),
                   *[zt.Not(x.store[n][d]) for n in nodes]),
            zt.Not(_somelive(x, q)),
        )
        for d in puts for q in puts if d != q
    ])


def strong_no_resurrection(x: AbstractState, params: Params) -> Term:
    """:func:`no_resurrection_after_reap` strengthened until it is inductive
    (proof ``inductive_no_resurrection_after_reap``, docs/proofs.md): the budget
    counters are non-negative and the disk losses within ``params.max_losses``;
    an acknowledged put was performed; a put's own version live in a store is
    covered by that store and was performed, and so was one alive in a message,
    hint or coordination record; a performed put's history was performed."""
    nodes = range(len(x.shape.nodes))
    puts = range(x.shape.puts)
    return zt.And(
        *[c >= 0 for c in (x.drops, x.duplicates, x.crashes, x.losses)],
        x.losses <= params.max_losses,
        *[zt.Implies(x.acked[p], x.performed[p]) for p in puts],
        *[zt.Implies(x.live[n][q], zt.And(x.store[n][q], x.performed[q]))
          for n in nodes for q in puts],
        *[zt.Implies(x.alive[q], x.performed[q]) for q in puts],
        *[zt.Implies(zt.And(x.performed[p], params.hist[p][q]), x.performed[q])
          for p in puts for q in puts],
        no_resurrection_after_reap(x, params),
    )


def _deletes(x: AbstractState, params: Params) -> Iterator[tuple[int, int, Term]]:
    """(d, q, "d is an acknowledged delete and q a version it deletes") per pair."""
    puts = range(x.shape.puts)
    for d in puts:
        for q in puts:
            if d != q:
                yield d, q, zt.And(x.acked[d], params.tomb[d], params.hist[d][q],
                                   zt.Not(params.tomb[q]))


def delete_shields(x: AbstractState, params: Params) -> Term:
    """For an acknowledged delete ``d`` and a version ``q`` it deletes: at least ``W``
    minus the disk losses so far of nodes' stores cover ``d``, or ``q``'s own
    version is nowhere (proofs ``inductive_delete_shields_quorum_reads`` and
    ``..._with_disk_loss``, docs/proofs.md)."""
    return zt.And([
        zt.Implies(deleted, zt.Or(holders(x, params, d) >= params.w - x.losses,
                                  zt.Not(_somelive(x, q))))
        for d, q, deleted in _deletes(x, params)
    ])


def strong_delete_shields(x: AbstractState, params: Params) -> Term:
    """:func:`delete_shields` with the conjuncts of :func:`strong_no_resurrection`
    (which make it inductive)."""
    return zt.And(strong_no_resurrection(x, params), delete_shields(x, params))


@dataclass(frozen=True, slots=True)
class _Read:
    """A quorum read of the stores, taken now: ``r`` and the nodes ``read`` are free
    constants (a property over them holds for every choice)."""

    r: Term
    read: dict[int, Term]

    @staticmethod
    def of(x: AbstractState) -> _Read:
        return _Read(z3.Int("R"), {n: z3.Bool(f"read[{x.shape.nodes[n]}]") for n in x.shape.top})

    def sees_delete(self, x: AbstractState, params: Params, slack: Term) -> Term:
        """If ``R + W - slack > N`` and ``R`` of the top N are read, they include a
        store covering each acknowledged delete ``d`` unless a version it deletes
        is gone everywhere."""
        quorum = zt.And(self.r >= 1, self.r + params.w - slack > len(x.shape.top),
                        count_true(list(self.read.values())) >= self.r)
        return zt.Implies(quorum, zt.And([
            zt.Implies(zt.And(deleted, _somelive(x, q)),
                       zt.Or([zt.And(flag, x.store[n][d]) for n, flag in self.read.items()]))
            for d, q, deleted in _deletes(x, params)
        ]))


def quorum_read_sees_delete(x: AbstractState, params: Params) -> Term:
    """Any ``R`` of the key's top N with ``R + W - losses > N`` (the disk losses so
    far; none: ``R + W > N``) include a store covering an acknowledged delete ``d``,
    unless a version ``q`` it deletes is gone everywhere: a quorum read taken now
    cannot see ``q`` without the tombstone (or a version superseding it) beside it."""
    return _Read.of(x).sees_delete(x, params, x.losses)


def _read_without_losses(shape: Shape) -> Iterator[Query]:
    """The disk-loss twin: the strengthened invariant holds, one disk lost with
    W = 2 (N = 3), and a read of R with R + W > N but not R + W - losses > N."""
    x, _, params = new_states(shape)
    read = _Read.of(x)

    def explain(m: Any) -> str:
        names = [x.shape.nodes[n] for n, flag in read.read.items() if bool_of(m, flag)]
        return (f"invariant holds: {describe(m, x, params)}; W={int_of(m, params.w)} "
                f"R={int_of(m, read.r)}: a get answered by {{{', '.join(names)}}} reads no "
                "store covering the acknowledged delete, and the version it deleted is left")

    yield Query(
        "Inv => a read with R + W > N sees the delete",
        (params.wellformed(), _w2_one_loss(params), strong_delete_shields(x, params),
         zt.Not(read.sees_delete(x, params, z3.IntVal(0)))),
        explain,
        prefer=(*[(a, False) for a in x.alive], (x.live[0][0], False), (x.live[2][0], False),
                (x.store[1][1], False), (x.live[2][1], True),
                *_small_pre_state(x, params)),
    )


def _deleted_in_a_store(x: AbstractState) -> list[tuple[Term, Any]]:
    """Preferences for the shields twin's counterexample, the shape of the checker's
    trace of delete-immediate: the deleted version in the store of B (which missed
    the delete), the tombstone in A's and C's, nothing in flight."""
    return [*[(a, False) for a in x.alive], (x.live[0][0], False), (x.live[2][0], False),
            (x.store[1][1], False), (x.live[0][1], True), (x.live[2][1], True)]


def _no_loss_w2(params: Params) -> Term:
    """The suite's delete-immediate: N=3 R=2 W=2, no disk loss."""
    return zt.And(params.max_losses == 0, params.w == 2)


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
    _losses_proof(
        "inductive_acked_writes_durable_with_disk_loss",
        "With disk losses (fewer than W of them), acked_writes_durable holds in every "
        "reachable state: strengthened by 'an acknowledged put is held by at least W "
        "minus the disk losses so far of nodes', it holds initially, is preserved by "
        "every step (disk loss included: it empties one store and counts one loss), and "
        "implies the property. W = 2 with one disk loss is the suite's disk-loss-w2.",
        LOSS_BOUNDS,
        LOSS_SHAPE,
        "W = 1 with one disk loss (the suite's disk-loss-w1): the put acknowledged on "
        "one disk, and that disk lost",
    ),
    _losses_proof(
        "inductive_acked_writes_durable_with_rebuild",
        "With the rebuild of a lost disk (session 57, features.rebuild: a replaced disk "
        "answers no read of a key and acknowledges no hint of it until anti-entropy "
        "exchanged it with every other replica, a crash begins its exchanges again, "
        "Rebuilt ends it) and fewer disk losses than W, acked_writes_durable holds in "
        "every reachable state: the disk-loss proof's strengthened invariant holds "
        "initially, is preserved by every step (the rebuild's included: a disk loss, a "
        "crash, an exchange or Rebuilt changes no version's place but as before, and the "
        "acknowledgement rule is unchanged, the rebuild only acknowledging less) and "
        "implies the property (the suite's disk-loss-rebuild-crash, "
        "disk-loss-read-rebuild; strict quorum, no hint).",
        REBUILD_BOUNDS,
        REBUILD_SHAPE,
        "W = 1 with one disk loss: the rebuild does not bring back a put acknowledged on "
        "the one disk lost",
    ),
    _losses_proof(
        "inductive_acked_writes_durable_with_rebuild_keys",
        "The rebuild with several keys (session 61): on the projection of a state onto "
        "one key, with per node whether another key's exchange is left (a crash with one "
        "left begins every exchange again, Rebuilt waits for them, another key's "
        "anti-entropy may end them), the strengthened invariant of "
        "inductive_acked_writes_durable_with_rebuild holds initially, is preserved by "
        "every step (another key's steps included) and implies acked_writes_durable, "
        "with fewer disk losses than W: within the bounds it holds for each key of a run "
        "of several.",
        REBUILD_KEYS_BOUNDS,
        REBUILD_KEYS_SHAPE,
        "W = 1 with one disk loss: no rebuild of any key brings back a put acknowledged "
        "on the one disk lost",
    ),
    Proof(
        "inductive_acked_writes_durable_with_write_failures",
        "With a failing disk (session 52: any number of refused writes, a replica's "
        "and a coordinator's own, and the records a coordinator keeps of its refused "
        "writes) and fewer disk losses than W, acked_writes_durable holds in every "
        "reachable state: the strengthened invariant of the disk-loss proof holds "
        "initially, is preserved by every step (failed-put, failed-write and a "
        "delivered replica-put-failed included: a refused write holds nothing, and a "
        "put is acknowledged only while W minus the losses of nodes hold it, the rule "
        "the edge agreement checks on write-failure-strict's every edge) and implies "
        "the property.",
        WRITE_FAILURE_BOUNDS,
        lambda: _induction(WRITE_FAILURE_SHAPE, strong_durable_with_losses,
                           acked_writes_durable, losses=_fewer_losses_than_w),
        "a refused write acknowledged as if stored (the suite's write-failure-acked, "
        "features.failed_write_acks): the put is acknowledged with one holder short",
        lambda: _induction(replace(WRITE_FAILURE_SHAPE, failed_write_acks=True),
                           strong_durable_with_losses, acked_writes_durable,
                           parts=("step",)),
        group="invariants",
    ),
    Proof(
        "inductive_acked_writes_durable_with_disk_loss_needs_actor_epochs",
        "W = 2 with one disk loss: the strengthened invariant is inductive because merges "
        "are causal after the loss (the node mints under a new actor, so no dot is "
        "re-issued: the suite's dvv-amnesia-actor-epochs).",
        LOSS_BOUNDS,
        lambda: _induction(LOSS_SHAPE, strong_durable_with_losses, acked_writes_durable,
                           parts=("step",),
                           losses=_w2_one_loss),
        "the naive actor (the suite's dvv-amnesia-naive-actor): after the loss the node "
        "re-issues a dot and a replica's merge drops the put (the lossy rule)",
        lambda: _induction(LOSS_SHAPE, strong_durable_with_losses, acked_writes_durable,
                           lossy_store, parts=("step",), losses=_w2_one_loss),
        group="invariants",
    ),
    Proof(
        "inductive_no_resurrection_after_reap",
        "With safe reaping (one node at a time), once the tombstone of an acknowledged "
        "delete is in no store, "
        "no version it deleted is left anywhere for a get to return: the strengthened "
        "invariant holds initially, is preserved by every step (reap included) and "
        "implies the property (the suite's delete-safe).",
        DELETE_BOUNDS,
        lambda: _induction(DELETE_SHAPE, strong_no_resurrection, no_resurrection_after_reap),
        "immediate reaping (the suite's delete-immediate): a node holding the "
        "acknowledged tombstone reaps it while another replica still holds the deleted "
        "version",
        lambda: _induction(IMMEDIATE_SHAPE, strong_no_resurrection,
                           no_resurrection_after_reap, parts=("step",)),
        group="invariants",
    ),
    Proof(
        "inductive_delete_shields_quorum_reads",
        "With safe reaping on a fixed ring (strict quorum, no disk loss), for an "
        "acknowledged delete and a version it deletes: at least W stores cover the "
        "delete, or the version's own copy is nowhere (store, message, hint, record). "
        "The strengthened invariant holds initially, is preserved by every step (reaps "
        "included) and implies that any R of the top N with R + W > N include a store "
        "covering the delete unless the version is gone (the suite's delete-safe).",
        DELETE_BOUNDS.replace("no disk loss", "W symbolic, no disk loss"),
        lambda: _induction(DELETE_SHAPE, strong_delete_shields, quorum_read_sees_delete),
        "immediate reaping with W = 2 (the suite's delete-immediate): a node reaps the "
        "acknowledged tombstone while another replica still holds the deleted version, "
        "so fewer than W stores cover the delete",
        lambda: _induction(IMMEDIATE_SHAPE, strong_delete_shields, quorum_read_sees_delete,
                           parts=("step",), losses=_no_loss_w2, first=_deleted_in_a_store),
        group="invariants",
    ),
    Proof(
        "inductive_delete_shields_with_disk_loss",
        "With safe reaping on a fixed ring and fewer disk losses than W: for an "
        "acknowledged delete and a version it deletes, at least W minus the losses so "
        "far of stores cover the delete, or the version's own copy is nowhere; the "
        "strengthened invariant holds initially, is preserved by every step (disk loss "
        "included) and implies that any R of the top N with R + W - losses > N include "
        "a store covering the delete unless the version is gone.",
        DELETE_BOUNDS.replace("no disk loss", "W and the disk-loss budget symbolic"),
        lambda: _induction(DELETE_SHAPE, strong_delete_shields, quorum_read_sees_delete,
                           losses=_fewer_losses_than_w),
        "a read quorum of R + W > N only, with one disk loss and W = 2 (N = 3, R = 2): "
        "the lost disk held the tombstone, and a get reads it and the replica that "
        "missed the delete",
        lambda: _read_without_losses(DELETE_SHAPE),
        group="invariants",
    ),
)
