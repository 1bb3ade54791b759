"""The transition relation of the Z3 encoding of the spec (spec/model.py): the
named steps from one abstract state (:mod:`model_check.proofs.abstraction`) to the
next, and the store rules of a merge.

Theory of operation
-------------------
The transition relation is a disjunction of named :class:`Step` s, each with its
*family* (the spec action it stands for) and its frame:

- *exact* steps, whose effect on the abstraction is determined by the abstract
  pre-state: ``handoff``, ``hint-deliver``, ``hint-ack`` and the drops,
  duplicates and losses at a down node of those two messages; ``crash`` (the
  node's coordination records and the replies coming back to it are gone),
  ``buffered-crash`` and ``disk-loss`` (the same, and its store and hint store are
  emptied), ``recover``, ``anti-entropy`` (two reachable top-N replicas both end
  with the merge of their copies), ``heal``;
- *over-approximated* steps, whose effect depends on what the abstraction forgets
  (which message, which coordination record): ``put`` (a coordinator writes put
  ``p``: its store gains ``hist[p]``), ``get`` (a coordinator reads its own copy),
  one step per delivered message kind (``replica-put``, ``replica-put hinted``,
  ``read-repair``, ``replica-get``, ``replica-get-reply``, ``replica-put-ack``;
  a ``replica-get`` answers with the node's store, and with ``Shape.hinted_reads``
  the payloads of its hints too, session 49),
  ``lost`` (a message to a down node), ``timeout`` and ``client-timeout``,
  ``drop`` and ``duplicate`` of any other message, ``reap`` (an up node's copy of
  the key is removed, under the guards of ``spec.deletes``; or, safe, a copy that
  an up node's tombstones-only copy covers, the outside-copy drop: on a fixed ring
  a copy outside the key's top N covered by one in it),
  ``partition``, and, in a shape with restores (``faults.restores``), ``restore``
  (as a disk loss, but the store is the backup's: the encoding keeps no backup, so
  the new store holds any performed puts, the hint store anything).
  Every inexact step may also acknowledge a performed put, while at least ``W``
  minus the disk losses and restores so far of nodes hold it (:func:`holders`),
  except the steps of another key's actions (below).
  With deletes, live versions are never created except by their own put, and a
  node's change only where its store may (those steps are then not exact).

With dvv's pruning of retired lifetimes (``Shape.prune``, session 34;
spec/retired.py), every write of a store prunes (:func:`pruned_away`: the entries
without values of the lifetimes the writer knows retired, :func:`retirement_known`),
a put mints its dot under its coordinator's current lifetime (re-issuing one only
where the copy no longer covers it: :func:`_minted`), crashes begin lifetimes, and
anti-entropy is exact by dvv's own rule (:func:`_pruned_anti_entropy`; docs/proofs.md,
"Retired pruning in the Z3 encoding"). With the learnt knowledge (session 36:
:mod:`model_check.proofs.learning`), the exact ``learn-retirement`` steps, the
knowledge an exchange teaches before its prune and a disk loss forgets. With reaping
too (session 37), the key epoch a reap begins (:func:`reap_begins_key_epoch`; a put
mints under its coordinator's :func:`current_actor`), and a write may lose the
coverage of a put a performed delete covers (a dropped tombstone's retired entry
pruned; docs/proofs.md, "Pruning, deletes and disk loss (session 37)").

With the rebuild of a lost disk (``Shape.rebuild``, session 57; spec/rebuild.py), a
disk loss sets the node's ``mark`` and ``todo`` exchanges, a crash begins them again or
drops the mark, anti-entropy is enabled between equal copies while their exchange is
to do and does it, the exact ``rebuilt`` step drops a mark with no exchange left, a
hint delivered to a node rebuilding the key is stored unacknowledged (the exact
``hint-deliver unacked``) and such a node answers no ``replica-get``: the rules of
:mod:`model_check.proofs.rebuild`.

In the projection onto one key of a configuration with several
(``Shape.other_keys``, session 32), another key's actions are three more
over-approximated families that touch nothing of this key but what the keys share
(:func:`_other_key_steps`): ``put elsewhere`` (a put id spent on another key),
``drop elsewhere`` and ``duplicate elsewhere`` (the shared fault budgets).

With a membership change (``Shape.change``), the ring's state (the log, the
views, the range transfers, which nodes coordinate) and its exact steps come
from :mod:`model_check.proofs.membership`; the steps above stay (their
over-approximation already covers what a node's view changes), coordinator
steps may change ``coord`` and a crash clears it, and anti-entropy runs between
the top N of the whole log's ring.

Stores change only by merging (:func:`causal_store`): the new coverage is the old
one or'ed with the incoming version's. That is not assumed: the proof
``merge_keeps_every_history`` (:mod:`model_check.proofs.merge`) derives it from the
encoding of the causal merge (reconcile keeps a version unless a version whose
clock dominates it, and so whose history contains it, is kept). So stores only
grow, except by disk loss, a buffered crash or a reap, the three steps that empty
a store, and a restore, which rolls it back. :func:`lossy_store` is the twin
(lww and server-vclock, whose merges may drop a version the winner does not
descend from).

Moved from :mod:`model_check.proofs.abstraction` (the state, the predicates, the
readable states), which it builds on; the proofs over both are
:mod:`model_check.proofs.invariants`, the check against the spec's own steps
:mod:`model_check.proofs.agreement`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

import z3

from model_check.errors import ProofInputError
from model_check.proofs import rebuild as rb
from model_check.proofs import terms as zt
from model_check.proofs.abstraction import AbstractState, Params, Term, deleted
from model_check.proofs.framework import count_true
from model_check.proofs.learning import exchange_teaches, forgotten_with_disk, learn_steps
from model_check.proofs.membership import (
    in_exchange_candidates,
    not_removed,
    reap_view_cases,
    ring_steps,
    same_view,
)

__all__ = [
    "EXACT_FAMILIES",
    "Step",
    "StoreRule",
    "causal_store",
    "current_actor",
    "holders",
    "kept_and_put",
    "key_quiet",
    "lossy_store",
    "reap_begins_key_epoch",
    "reap_covered_nowhere",
    "relation",
    "safe_reap_guard",
    "transition",
]

#: The families of the exact steps (see the module docstring).
EXACT_FAMILIES = frozenset({
    "handoff", "hint-deliver", "hint-ack", "hint lost", "hint-ack lost", "drop hint",
    "drop hint-ack", "duplicate hint", "duplicate hint-ack", "crash", "buffered-crash",
    "disk-loss", "recover", "anti-entropy", "heal", "learn-retirement",
    "rebuilt",  # session 57
})


@dataclass(frozen=True, slots=True)
class Step:
    """One disjunct of the transition relation: a name, its family (the spec action
    it stands for), its formula (without frame conditions), whether it is exact,
    and the variables it may change (every other variable keeps its value: see
    :func:`relation`)."""

    name: str
    formula: Term
    exact: bool
    changes: frozenset[str]
    family: str = ""
    #: the hint (fallback->intended#payload) a hint step is about ("" for others):
    #: the step is enabled only where that hint or one of its messages exists
    about: str = ""


StoreRule = Callable[[Term, Term, Term], Term]
"""``rule(before, after, incoming)``: a store entry after a merge with a version
whose coverage of the put is ``incoming``."""


def causal_store(before: Term, after: Term, incoming: Term) -> Term:
    """The causal merge's coverage (dvv, client-vclock): the union of both sides'
    (derived from the merge's encoding by ``merge_keeps_every_history``)."""
    return after == zt.Or(before, incoming)


def lossy_store(before: Term, after: Term, incoming: Term) -> Term:
    """The lossy merge's coverage (lww, server-vclock; the twin of
    :func:`causal_store`): a merge may drop a version whose history the winner
    lacks, and the incoming version may lose; only nothing new appears."""
    return zt.Implies(after, zt.Or(before, incoming))


def _may_shrink(before: Term, after: Term) -> Term:
    return zt.Implies(after, before)


def reap_covered_nowhere(x: AbstractState, params: Params,
                         members: Sequence[int] | None = None) -> list[Term]:
    """The safe reap's third guard (spec/deletes.py): no store of ``members``
    (indexes of nodes; default: every node), up or down (a down node's disk
    persists), holds a live version in the history of an acknowledged delete."""
    puts = range(x.shape.puts)
    stores = x.live if members is None else [x.live[m] for m in members]
    return [zt.Implies(zt.And(x.acked[d], params.tomb[d], params.hist[d][q],
                              zt.Not(params.tomb[q])), zt.Not(live[q]))
            for d in puts for q in puts if d != q for live in stores]


def key_quiet(x: AbstractState, params: Params) -> list[Term]:
    """A safe reap's second guard (spec/deletes.py ``_quiet`` and ``_gets_hold``):
    nothing about the key in flight or held (no write, hint or hint message; with a
    membership change also no range transfer in flight) but a get's: a reply in
    flight or a coordination record may hold a version, unless it is a live version
    a performed delete (acknowledged or not) covers (session 39: before, no reply and
    no coordination record held anything, and with a membership change no request
    was coordinated; a get in progress held the reap off). The encoding does not
    tell a get's record from a put's: it also lets a reap pass a put's coordination
    that holds nothing a delete covers (an over-approximation: the spec refuses
    it)."""
    puts = range(x.shape.puts)
    quiet = [zt.Not(f) for r in x.wmsg for f in r]
    quiet += [zt.Implies(zt.And(x.performed[d], params.tomb[d], params.hist[d][q],
                                zt.Not(params.tomb[q])), zt.Not(x.alive[q]))
              for d in puts for q in puts if d != q]
    quiet += [zt.Not(f) for f in x.hint.values()]
    quiet += [c == 0 for c in (*x.hmsg.values(), *x.hack.values())]
    if x.ring is not None:
        quiet += [c == 0 for c in x.ring.tmsg.values()]
    return quiet


def safe_reap_guard(x: AbstractState, params: Params, n: int) -> list[Term]:
    """Guards 3 and 4 of a safe reap by node ``n`` (spec/deletes.py): without a
    membership change, :func:`reap_covered_nowhere` over every node; with one, over
    the members of ``n``'s view only
    (:func:`~model_check.proofs.membership.reap_members`: a node that left before
    the change ``n`` knows was settled is not asked, and may still hold a late
    write), each of them knowing exactly the log ``n`` knows
    (:func:`~model_check.proofs.membership.same_view`)."""
    if x.ring is None:
        return reap_covered_nowhere(x, params)
    return [zt.Or([zt.And(condition, same_view(x.ring, n, members),
                          *reap_covered_nowhere(x, params, members))
                   for condition, members in reap_view_cases(x.ring, n)])]


def transition(
    x: AbstractState,
    y: AbstractState,
    params: Params,
    store_rule: StoreRule = causal_store,
    exact_only: bool = False,
    ack_quorum: bool = True,
) -> list[Step]:
    """The named disjuncts of the transition relation from ``x`` to ``y``;
    ``ack_quorum``: a put is acknowledged only while ``W`` minus the disk losses of
    nodes hold it (off for the agreement of the lossy configurations, where the
    coordinator's own merge may already drop the put it acknowledges)."""
    shape = x.shape
    nodes = range(len(shape.nodes))
    puts = range(shape.puts)
    steps: list[Step] = []
    nm = shape.nodes
    # with pruning, a write's clock covers the dot of a put only if its copy covers
    # the put where the clocks are faithful (the causal rule; session 35)
    faithful = store_rule is causal_store

    acked_names = {f"acked[{p + 1}]" for p in puts}

    def row(what: str, n: int) -> set[str]:
        return {f"{what}[{nm[n]}][{q + 1}]" for q in puts}

    def records(n: int) -> set[str]:
        """What a coordinator step at ``n`` may change of its coordination records."""
        return row("held", n) | ({f"coord[{nm[n]}]"} if x.ring is not None else set())

    live_names = {f"live[{nm[n]}][{q + 1}]" for n in nodes for q in puts}
    live_names |= {f"alive[{q + 1}]" for q in puts}

    # the acknowledgement rule every inexact step conjoins: the same terms for each
    # (x, y), built once per relation (session 17: it was built once per inexact step,
    # two fifths of the CPU of the suite's Z3 agreement sample; Z3 shares equal terms,
    # so the relation is the very same formula)
    acked_rule: list[list[Term]] = []

    # the deletes' conjuncts, the same terms for each step that takes them: built
    # once per relation (pure speed, session 20; Z3 shares equal terms, so the
    # relation is the very same formula)
    kept_live: dict[int, Term] = {}
    live_in_store: dict[tuple[int, int], Term] = {}
    # session 43: a write's prune per (node, family), once a relation (every step
    # writing a store asked for it again: 764 times for the learnt file's relations)
    pruned_writes: dict[tuple[int, str], list[Term]] = {}

    def pruned_write(n: int, family: str) -> list[Term]:
        found = pruned_writes.get((n, family))
        if found is None:
            found = pruned_writes[n, family] = _pruned_write(x, y, params, n, family, faithful)
        return found

    def somelive(z: AbstractState, q: int) -> Term:
        return zt.Or(z.alive[q], *[z.live[n][q] for n in nodes])

    def stays_live(q: int) -> Term:
        found = kept_live.get(q)
        if found is None:
            found = kept_live[q] = zt.Implies(somelive(y, q), somelive(x, q))
        return found

    def live_stored(n: int, q: int) -> Term:
        found = live_in_store.get((n, q))
        if found is None:
            found = live_in_store[n, q] = zt.Implies(y.live[n][q], y.store[n][q])
        return found

    def add(name: str, family: str, exact: bool, *parts: Term, skip: set[str],
            about: str = "", creates: tuple[int, int] | None = None,
            acknowledges: bool = True, states_prune: bool = False,
            states_live: bool = False) -> None:
        if shape.prune and not states_prune and family not in _LIVE_STATIC:
            # session 34: every write of a store merges and prunes (spec.step.Edit.store)
            touched = [n for n in nodes if row("store", n) & skip]
            parts = (*parts, *[f for n in touched
                               for f in pruned_write(n, family)])
            skip = skip | {name for n in touched for name in row("seen", n) | row("live", n)}
            if not shape.deletes and touched and family not in _EMPTYING:
                exact = False  # the values a merge keeps are not determined
        if shape.deletes and family not in _LIVE_STATIC and not states_live:
            # live versions move about but are never created, except by their put
            # (``creates``: put, coordinator), which changes only the coordinator's
            # store and what is in flight
            # (a restore may bring an older live version back: it is not constrained)
            parts = (*parts, *[stays_live(q) for q in puts
                               if (creates is None or q != creates[0])
                               and family != "restore"])
            # a node's live versions change only where its store may (and are covered
            # by it: a put's history holds the put)
            touched = [n for n in nodes if row("store", n) & skip]
            parts = (*parts, *[live_stored(n, q) for n in touched for q in puts])
            skip = skip | {name for n in touched for name in row("live", n)}
            skip = skip | {f"alive[{q + 1}]" for q in puts}
            exact = False  # which copy goes where is not determined
        if exact_only and not exact:
            return
        if not exact and acknowledges:  # an inexact step may also deliver acknowledgements
            if not acked_rule:
                acked_rule.append(_acked_rule(x, y, params, ack_quorum))
            parts = (*parts, *acked_rule[0])
            skip = skip | acked_names
        steps.append(Step(name, zt.And(*parts), exact, frozenset(skip), family, about))

    def lbl(t: tuple[int, int, int]) -> str:
        return f"{nm[t[0]]}->{nm[t[1]]}#{t[2]}"

    # with pruning and deletes (session 37) a write may also lose the coverage of a put
    # a performed delete covers: a delete drops the tombstones it is concurrent with
    # (spec.dvv.drop_superseded), whose histories the copy then covers only by their
    # dots, and a prune drops their retired value-less entries (found on the edges of
    # dvv-prune-retired-delete with two deletes per client: 536 puts refused before);
    # session 38: only while two performed deletes are concurrent (concurrent_deletes),
    # and since session 38's fix (a delete takes over the tombstones it drops) never but
    # in the twin (unabsorbed_drop)
    losable = shape.prune and shape.deletes

    def merged(q: int, before: Term, after: Term, incoming: Term) -> Term:
        rule = store_rule(before, after, incoming)
        if not losable:
            return rule
        lost = zt.And(deleted(y, params, q), unabsorbed_drop(y, params),
                      zt.Implies(after, zt.Or(before, incoming)))
        return zt.Or(rule, lost)

    def merge_into(n: int, incoming: Sequence[Term]) -> list[Term]:
        return [merged(q, x.store[n][q], y.store[n][q], incoming[q]) for q in puts]

    def sends_from(source: Sequence[Term]) -> tuple[list[Term], set[str]]:
        """Write messages to any node may appear, carrying only what ``source`` has."""
        parts = [zt.Implies(y.wmsg[m][q], zt.Or(x.wmsg[m][q], source[q]))
                 for m in nodes for q in puts]
        return parts, {name for m in nodes for name in row("wmsg", m)}

    # a coordinator c performs put p (a client's put or delete, or a forwarded one)
    refusals = shape.write_failures
    for c in nodes:
        for p in puts:
            # it sends (and keeps in its coordination record) its merged copy, or the
            # new version alone where that lost the merge (lww)
            written = [zt.Or(y.store[c][q], params.hist[p][q]) for q in puts]
            sends, sent = sends_from(written)
            incoming = kept_and_put(x, y, params, c, p) if refusals else params.hist[p]
            add(
                f"put {p + 1} at {nm[c]}", "put", False,
                x.up[c],
                zt.Not(x.performed[p]),
                *[zt.Not(x.elsewhere[p])] if x.elsewhere else [],
                # the client read every other put of its history
                *[zt.Implies(params.hist[p][q], x.performed[q]) for q in puts if q != p],
                y.performed[p],
                *merge_into(c, incoming),
                *[zt.Implies(y.held[c][q], zt.Or(x.held[c][q], written[q])) for q in puts],
                *sends,
                *_minted(x, y, params, c, p),
                skip={f"performed[{p + 1}]"} | row("store", c) | records(c) | sent
                | ({f"seen[{nm[m]}][{p + 1}]" for m in nodes if m != c} if shape.prune
                   else set()),
                creates=(p, c),
            )
    if refusals:
        _refusal_steps(x, y, params, add, sends_from, records)
    for c in nodes:
        # a coordinator begins a get: it reads its own copy (and may answer at once,
        # with read repair)
        sends, sent = sends_from([zt.Or(x.held[c][q], x.store[c][q]) for q in puts])
        # with pruning, answering at once it may repair its own copy in place when it
        # holds an entry its pruning of the merge drops (spec.read_repair, session 34):
        # its own copy merged into itself, then pruned (:func:`_pruned_write`)
        own = [merged(q, x.store[c][q], y.store[c][q], zt.And(x.store[c][q], y.store[c][q]))
               for q in puts] if shape.prune else []
        add(
            f"get at {nm[c]}", "get", False,
            x.up[c],
            *[zt.Implies(y.held[c][q], zt.Or(x.held[c][q], x.store[c][q])) for q in puts],
            *sends,
            *own,
            skip=records(c) | sent | (row("store", c) if shape.prune else set()),
        )
    for n in nodes:
        # a replica stores a delivered replica-put or read-repair
        for family in ("replica-put", "read-repair"):
            add(
                f"{family} at {nm[n]}", family, False,
                x.up[n],
                # merged with some of the versions in flight to n: the incoming
                # coverage is what n gained, and must have been in flight
                *[merged(q, x.store[n][q], y.store[n][q], zt.And(x.wmsg[n][q],
                                                                 y.store[n][q]))
                  for q in puts],
                *[_may_shrink(x.wmsg[n][q], y.wmsg[n][q]) for q in puts],
                skip=row("store", n) | row("wmsg", n),
            )
        # a replica answers a replica-get of coordinator c with its copy; with
        # hinted_reads (session 49: spec.replica.served) merged with its hints
        served = [zt.Or(x.store[n][q], *[zt.And(x.hint[t], params.cov[t[2]][q])
                                         for t in x.hint if t[0] == n])
                  if shape.hinted_reads else x.store[n][q] for q in puts]
        # a node rebuilding the key answers no replica-get of it (session 57:
        # spec.rebuild.unrebuilt; the delivery is then a stutter of the abstraction;
        # model_check.proofs.rebuild)
        silent = [rb.answers_reads(x, n)] if shape.rebuild else []
        for c in nodes:
            add(
                f"replica-get at {nm[n]} from {nm[c]}", "replica-get", False,
                x.up[n], *silent,
                *[y.rmsg[c][q] == zt.Or(x.rmsg[c][q], served[q]) for q in puts],
                skip=row("rmsg", c),
            )
        # a coordinator receives a reply (and may answer, repair its own copy in
        # place, and send read repairs); answering, it reads its own copy again (with
        # hinted_reads merged with its hints), merged into its first read (session 56:
        # spec.coordination._read_own_again): its answer and repairs may carry that too
        replies = [zt.Or(x.held[n][q], x.rmsg[n][q], served[q]) for q in puts]
        sends, sent = sends_from(replies)
        add(
            f"replica-get-reply at {nm[n]}", "replica-get-reply", False,
            x.up[n],
            *[merged(q, x.store[n][q], y.store[n][q], zt.And(replies[q], y.store[n][q]))
              for q in puts],
            *[_may_shrink(x.rmsg[n][q], y.rmsg[n][q]) for q in puts],
            *[zt.Implies(y.held[n][q], zt.Or(x.held[n][q], x.rmsg[n][q])) for q in puts],
            *sends,
            skip=row("rmsg", n) | records(n) | row("store", n) | sent,
        )
        # a coordinator receives a put's acknowledgement (and may answer its client)
        add(
            f"replica-put-ack at {nm[n]}", "replica-put-ack", False,
            x.up[n],
            *[_may_shrink(x.held[n][q], y.held[n][q]) for q in puts],
            skip=records(n),
        )
        # a message reaches a down node and is lost
        add(
            f"lost at down {nm[n]}", "lost", False,
            zt.Not(x.up[n]),
            *[_may_shrink(x.wmsg[n][q], y.wmsg[n][q]) for q in puts],
            *[_may_shrink(x.rmsg[n][q], y.rmsg[n][q]) for q in puts],
            skip=row("wmsg", n) | row("rmsg", n),
        )
        # a coordinator's timeout: a put is resent to a fallback, a get asks one
        sends, sent = sends_from(x.held[n])
        add(
            f"timeout at {nm[n]}", "timeout", False,
            x.up[n],
            *[_may_shrink(x.rmsg[n][q], y.rmsg[n][q]) for q in puts],
            *[_may_shrink(x.held[n][q], y.held[n][q]) for q in puts],
            *sends,
            skip=row("rmsg", n) | records(n) | sent,
        )
        # a client gives up: its coordination record (at n) and its replies go
        add(
            f"client-timeout at {nm[n]}", "client-timeout", False,
            *[_may_shrink(x.rmsg[n][q], y.rmsg[n][q]) for q in puts],
            *[_may_shrink(x.held[n][q], y.held[n][q]) for q in puts],
            skip=row("rmsg", n) | records(n),
        )
        # a message other than a handoff or its acknowledgement is dropped
        add(
            f"drop to {nm[n]}", "drop", False,
            x.drops < params.max_drops, y.drops == x.drops + 1,
            *[_may_shrink(x.wmsg[n][q], y.wmsg[n][q]) for q in puts],
            *[_may_shrink(x.rmsg[n][q], y.rmsg[n][q]) for q in puts],
            skip=row("wmsg", n) | row("rmsg", n) | {"drops"},
        )
    add("duplicate", "duplicate", False, x.duplicates < params.max_duplicates,
        y.duplicates == x.duplicates + 1, skip={"duplicates"})
    for t in x.hint:
        # a fallback keeps a delivered replica-put in its hint store
        h = t[0]
        add(
            f"replica-put hinted {lbl(t)}", "replica-put", False,
            x.up[h],
            y.hint[t],
            *[zt.Implies(params.cov[t[2]][q], x.wmsg[h][q]) for q in puts],
            *[_may_shrink(x.wmsg[h][q], y.wmsg[h][q]) for q in puts],
            skip={f"hint[{lbl(t)}]"} | row("wmsg", h),
        )
    if shape.reaping:
        store_names = {name for n in nodes for name in row("store", n)}

        if shape.prune:
            store_names |= {name for n in nodes for name in row("seen", n)}

        def actor_names(n: int) -> set[str]:  # the reaped node's key epoch (session 37)
            return {f"kepoch[{nm[n]}]"} if shape.key_epochs else set()

        def emptied(n: int) -> list[Term]:
            seen = y.seen[n] if shape.prune else ()
            return [zt.Not(f) for f in (*y.store[n], *y.live[n], *seen)]

        def kept(n: int) -> list[Term]:
            return [y.store[n][q] == x.store[n][q] for q in puts] + [
                y.live[n][q] == x.live[n][q] for q in puts] + [
                y.seen[n][q] == x.seen[n][q] for q in puts if shape.prune]

        def only_tombstones(n: int) -> Term:
            return zt.And([zt.Implies(x.live[n][q], params.tomb[q]) for q in puts])

        # one node's reap (spec/deletes.py): n up, its copy not empty and only
        # tombstones; immediate: one of them acknowledged; safe: nothing about the key
        # in flight and no store (up or down) holding a live version an acknowledged
        # delete covers; with a membership change, no store of a member of n's view,
        # each of them sharing n's view (:func:`safe_reap_guard`). (The new actor a
        # reap may begin is not in the abstraction.)
        quiet = key_quiet(x, params)
        for n in nodes:
            if shape.reap_mode == "immediate":
                guard = [zt.Or([zt.And(x.live[n][q], params.tomb[q], x.acked[q])
                                for q in puts])]
            else:
                guard = [*quiet, *safe_reap_guard(x, params, n)]
            add(
                f"reap at {nm[n]}", "reap", False,
                x.up[n], zt.Or([x.live[n][q] for q in puts]), only_tombstones(n), *guard,
                *emptied(n), *reap_begins_key_epoch(x, y, params, n),
                *[f for m in nodes if m != n for f in kept(m)],
                skip=store_names | live_names | actor_names(n), states_prune=True,
            )
        if shape.reap_mode == "safe":
            # a copy outside the key's replicas dropped at a reap (spec/deletes.py,
            # session 8): m up, its copy not empty; some other up node n holding only
            # tombstones whose copy covers every history m's does (n's tombstones
            # dominate m's copy), nothing about the key in flight. On a fixed ring the
            # replicas are the key's top N (spec.membership.replicates): m is outside
            # it and n in it (session 27: before, any m and n, which let a replica's
            # copy go and refuted inductive_delete_shields_quorum_reads). With a
            # membership change who is a replica (by the views), and on any ring
            # reachability, are not in the abstraction: over-approximated.
            outside = [m for m in nodes if x.ring is not None or m not in shape.top]
            askers = [n for n in nodes if x.ring is not None or n in shape.top]
            for m in outside:
                dominating = [zt.And(x.up[n], zt.Or([x.live[n][q] for q in puts]),
                                     only_tombstones(n),
                                     *[zt.Implies(x.store[m][q], x.store[n][q]) for q in puts])
                              for n in askers if n != m]
                if not dominating:
                    continue
                add(
                    f"outside copy dropped at {nm[m]}", "reap", False,
                    x.up[m], zt.Or([x.live[m][q] for q in puts]), zt.Or(dominating), *quiet,
                    *emptied(m), *reap_begins_key_epoch(x, y, params, m),
                    *[f for n in nodes if n != m for f in kept(n)],
                    skip=store_names | live_names | actor_names(m), states_prune=True,
                )
    # the nodes whose rebuild waits for exchanges of the key (session 57:
    # model_check.proofs.rebuild)
    rebuilders = {n for n, _ in x.todo}

    def exchange_names(*among: int) -> set[str]:
        """The ``todo`` variables of the pairs of ``among`` (session 57)."""
        return {f"todo[{nm[n]}][{nm[m]}]" for n, m in x.todo if n in among and m in among}

    if shape.partitions:
        add("partition", "partition", False, *[zt.Not(s) for s in x.side],
            skip={f"side[{nm[n]}]" for n in nodes})
        add("heal", "heal", True, *[zt.Not(s) for s in y.side],
            skip={f"side[{nm[n]}]" for n in nodes})
    if shape.anti_entropy:
        # between the key's top N (with membership change: of the rings before and
        # after the change, spec.membership.exchange_candidates, session 25; since
        # session 24 the spec also asks that the pair serve the key by what they
        # know, spec.membership.exchanges, which the encoding leaves out: an
        # over-approximation with membership, exact without)
        replicas = shape.top if x.ring is None else tuple(nodes)
        for j, a in enumerate(replicas):
            for b in replicas[j + 1 :]:
                current = ([] if x.ring is None
                           else [in_exchange_candidates(x.ring, n) for n in (a, b)])
                if shape.prune:
                    _pruned_anti_entropy(x, y, params, a, b, add)
                    continue
                # with the rebuild (session 57: spec.rebuild.pending, synced) also
                # between equal copies while the pair's exchange is to do, and it is
                # done after
                pair = rb.exchange_due(x, a, b)
                done = [zt.Not(y.todo[e]) for e in ((a, b), (b, a)) if e in y.todo]
                add(
                    f"anti-entropy {nm[a]} {nm[b]}", "anti-entropy", x.ring is None,
                    *current, x.up[a], x.up[b], x.side[a] == x.side[b],
                    zt.Or([x.store[a][q] != x.store[b][q] for q in puts] + pair),
                    *merge_into(a, x.store[b]),
                    *merge_into(b, x.store[a]),
                    *done,
                    skip=row("store", a) | row("store", b) | exchange_names(a, b),
                )
    for t in x.hint:
        h, i, _ = t
        key = lbl(t)
        # hinted handoff: the fallback sends the hint to its reachable intended node
        if shape.handoff:
            add(
                f"handoff {key}", "handoff", True,
                x.hint[t], x.up[h], x.up[i], x.side[h] == x.side[i],
                x.hmsg[t] == 0, x.hack[t] == 0, y.hmsg[t] == 1,
                skip={f"hmsg[{key}]"}, about=key,
            )
        # the intended node receives the hint: stores it, records, acknowledges (not
        # while it rebuilds the key, session 57: spec.rebuild.unrebuilt, below)
        acks = [rb.acknowledges_hint(x, i)] if i in rebuilders else []
        add(
            f"hint-deliver {key}", "hint-deliver", True,
            x.hmsg[t] > 0,
            x.up[i], *acks,
            y.hmsg[t] == x.hmsg[t] - 1,
            *merge_into(i, params.cov[t[2]]),
            y.rec_acked[t],
            y.hack[t] == x.hack[t] + 1,
            skip={f"hmsg[{key}]", f"hack[{key}]", f"rec_acked[{key}]"} | row("store", i),
            about=key,
        )
        if i in rebuilders:
            # ... while it rebuilds the key: stores it, neither records nor
            # acknowledges it (the fallback keeps its hint: spec.handoff.on_hint_delivery)
            add(
                f"hint-deliver unacked {key}", "hint-deliver", True,
                x.hmsg[t] > 0,
                x.up[i], zt.Not(rb.acknowledges_hint(x, i)),
                y.hmsg[t] == x.hmsg[t] - 1,
                *merge_into(i, params.cov[t[2]]),
                skip={f"hmsg[{key}]"} | row("store", i),
                about=key,
            )
        # the acknowledgement reaches the fallback: the hint is deleted
        add(
            f"hint-ack {key}", "hint-ack", True,
            x.hack[t] > 0,
            x.up[h],
            y.hack[t] == x.hack[t] - 1,
            zt.Not(y.hint[t]),
            y.rec_deleted[t] == zt.Or(x.rec_deleted[t], x.hint[t]),
            skip={f"hack[{key}]", f"hint[{key}]", f"rec_deleted[{key}]"}, about=key,
        )
        for kind, counts, who in (("hint", x.hmsg, i), ("hint-ack", x.hack, h)):
            after = y.hmsg if kind == "hint" else y.hack
            name = f"{'hmsg' if kind == 'hint' else 'hack'}[{key}]"
            # a message at a down node is lost
            add(f"{kind} lost at down {nm[who]} {key}", f"{kind} lost", True, counts[t] > 0,
                zt.Not(x.up[who]), after[t] == counts[t] - 1, skip={name}, about=key)
            add(f"drop {kind} {key}", f"drop {kind}", True, counts[t] > 0,
                x.drops < params.max_drops, after[t] == counts[t] - 1,
                y.drops == x.drops + 1, skip={name, "drops"}, about=key)
            add(f"duplicate {kind} {key}", f"duplicate {kind}", True, counts[t] > 0,
                x.duplicates < params.max_duplicates, after[t] == counts[t] + 1,
                y.duplicates == x.duplicates + 1, skip={name, "duplicates"}, about=key)
    for n in nodes:
        name = nm[n]
        # a crash loses the node's coordination records and the replies coming back
        gone = [zt.Not(y.held[n][q]) for q in puts] + [zt.Not(y.rmsg[n][q]) for q in puts]
        gone += [] if y.ring is None else [zt.Not(y.ring.coord[n])]
        volatile = records(n) | row("rmsg", n)
        # with pruning (session 34) a new storage lifetime begins: at every crash with
        # actor_per_start, at every disk loss and buffered crash
        later = [y.epoch[n] == x.epoch[n] + 1] if shape.prune else []
        lifetime = {f"epoch[{name}]"} if shape.prune else set()
        if shape.key_epochs:  # a new lifetime's actor is new for every key (session 37)
            later.append(y.kepoch[n] == 0)
            lifetime.add(f"kepoch[{name}]")
        per_start = later if shape.per_start else []
        # the twin of session 37: the wiped node keeps its lifetime (the naive actor)
        wiped = [] if shape.loss_actor == "kept" else later
        # the rebuild (session 57: spec.rebuild.restart and begin): a crash with an
        # exchange left begins them all again (mark kept), one with none left drops the
        # mark; a disk loss sets the mark and every exchange of the key it replicates
        restart: list[Term] = []
        begin: list[Term] = []
        rebuild_names: set[str] = set()
        if shape.rebuild:  # (session 61: the ``_keys`` rules read other keys' ``others``)
            restart, rebuild_names = rb.restarted_keys(x, y, n)
            begin, _ = rb.begun_keys(x, y, n)
        add(f"crash {name}", "crash", True, x.up[n], zt.Not(y.up[n]),
            x.crashes < params.max_crashes, y.crashes == x.crashes + 1, *gone, *per_start,
            *restart,
            skip={f"up[{name}]", "crashes"} | volatile | rebuild_names
            | (lifetime if shape.per_start else set()))
        if shape.rebuild:  # (session 61: Crash.again, a range holding no key left)
            again, _ = rb.restarted_again_keys(x, y, n)
            add(f"crash {name} again", "crash", True, x.up[n], zt.Not(y.up[n]),
                x.crashes < params.max_crashes, y.crashes == x.crashes + 1, *gone,
                *per_start, *again,
                skip={f"up[{name}]", "crashes"} | volatile | rebuild_names
                | (lifetime if shape.per_start else set()))
        # ... and with a disk loss or a buffered crash, its store and hint store
        empty = [zt.Not(y.store[n][q]) for q in puts]
        empty += [zt.Not(y.hint[t]) for t in x.hint if t[0] == n]
        durable = row("store", n) | {f"hint[{lbl(t)}]" for t in x.hint if t[0] == n}
        if x.knows:  # what it learnt of retirements was on the disk (session 36)
            forgets, forgotten = forgotten_with_disk(y, n)
            empty += forgets
            durable = durable | forgotten
        if shape.buffered:
            add(f"buffered-crash {name}", "buffered-crash", True, x.up[n], zt.Not(y.up[n]),
                x.crashes < params.max_crashes, y.crashes == x.crashes + 1, *gone, *empty,
                *later, skip={f"up[{name}]", "crashes"} | volatile | durable | lifetime)
        add(f"disk-loss {name}", "disk-loss", True, x.up[n], zt.Not(y.up[n]),
            x.losses < params.max_losses, y.losses == x.losses + 1, *gone, *empty, *wiped,
            *begin,
            skip={f"up[{name}]", "losses"} | volatile | durable | rebuild_names
            | (lifetime if wiped else set()))
        if shape.restores and x.restores is not None and y.restores is not None \
                and params.max_restores is not None:
            # a restore from a backup (faults.restores): as a disk loss, with the
            # backup's store and hints in place of empty ones; the encoding keeps no
            # backup, so the step is inexact: the store holds only performed puts, the
            # hint store anything (docs/refinement.md, "Restore from a backup")
            older = [zt.Implies(y.store[n][q], x.performed[q]) for q in puts]
            add(f"restore {name}", "restore", False, x.up[n], zt.Not(y.up[n]),
                x.restores < params.max_restores, y.restores == x.restores + 1, *gone,
                *older, skip={f"up[{name}]", "restores"} | volatile | durable)
        add(f"recover {name}", "recover", True, zt.Not(x.up[n]), y.up[n],
            *([] if x.ring is None else [not_removed(x.ring, n)]),  # a removed node: never
            skip={f"up[{name}]"})
        if shape.rebuild:
            # the rebuild ends (session 57: spec.rebuild.rebuilt_steps): an up node whose
            # mark is set and that has no exchange left drops its mark
            add(f"rebuilt {name}", "rebuilt", True, x.up[n], x.mark[n],
                rb.rebuild_over(x, n), rb.others_done(x, n), zt.Not(y.mark[n]),
                skip={f"mark[{name}]"})
    if x.knows:  # the learnt knowledge (session 36): model_check.proofs.learning
        learn_steps(x, y, params, add)
    if shape.other_keys:
        _other_key_steps(x, y, params, add)
    if x.ring is not None:
        ring_steps(x, y, params, merge_into, add)
    return steps


def _other_key_steps(x: AbstractState, y: AbstractState, params: Params,
                     add: Callable[..., None]) -> None:
    """The steps of another key's actions in the projection onto one key (session 32;
    :func:`model_check.proofs.mapping.projected_families`): they share this key's put
    ids and fault budgets, and touch nothing else of it (no store, message, record,
    hint or acknowledgement). ``put p elsewhere``: put ``p`` is performed on another
    key (its id spent: no ``put p`` here after it); ``drop elsewhere`` and
    ``duplicate elsewhere``: a fault on another key's message spends the shared
    budget. Over-approximated (checked forward only): the projection does not know
    whether the client is free to send put ``p``, nor whether another key has a
    message in flight to drop."""
    for p in range(x.shape.puts):
        add(f"put {p + 1} elsewhere", "put elsewhere", False,
            zt.Not(x.performed[p]), zt.Not(x.elsewhere[p]), y.elsewhere[p],
            skip={f"elsewhere[{p + 1}]"}, acknowledges=False)
    add("drop elsewhere", "drop elsewhere", False, x.drops < params.max_drops,
        y.drops == x.drops + 1, skip={"drops"}, acknowledges=False)
    add("duplicate elsewhere", "duplicate elsewhere", False,
        x.duplicates < params.max_duplicates, y.duplicates == x.duplicates + 1,
        skip={"duplicates"}, acknowledges=False)
    # session 61: another key's exchange may end a rebuild's wait for that key
    # (model_check.proofs.rebuild.exchanged_elsewhere; over-approximated)
    for a, b in x.shape.other_pairs if x.others else ():
        formulas, names = rb.exchanged_elsewhere(x, y, a, b)
        add(f"exchange elsewhere {x.shape.nodes[a]} {x.shape.nodes[b]}", "exchange elsewhere",
            False, *formulas, skip=names, acknowledges=False)


# -- pruning the entries of retired lifetimes (session 34; spec/retired.py) --------------------


def retirement_known(z: AbstractState, params: Params, n: int, q: int) -> Term:
    """Node ``n``, writing in state ``z``, counts the lifetime that minted put ``q``'s
    dot as retired (spec.retired.prune_at, by ``Shape.prune``): ``"all"``, any
    lifetime older than its node's current one (``epoch``); ``"own"``, only such a
    lifetime of ``n``'s own; ``"naive"`` (the broken twin), any lifetime of ``n``'s
    own, its current one too; ``"learnt"`` (session 36), such a lifetime of ``n``'s
    own, or another node's that ``n`` has learnt retired (``knows``; as in the spec,
    another node's lifetime counts as retired by that knowledge alone). The
    *knowledge guard*: one function, so that a test can
    break it (tests/model_check/test_proof_pruning.py)."""
    minter, mepoch = params.minter[q], params.mepoch[q]
    knowledge = z.shape.prune
    if knowledge == "all":
        return zt.Or([zt.And(minter == m, mepoch < z.epoch[m])
                      for m in range(len(z.shape.nodes))])
    if knowledge == "own":
        return zt.And(minter == n, mepoch < z.epoch[n])
    if knowledge == "naive":
        return zt.And(minter == n, mepoch <= z.epoch[n])
    if knowledge == "learnt":  # session 36: its own earlier lifetimes, another's learnt
        return zt.Or(zt.And(minter == n, mepoch < z.epoch[n]),
                     zt.And(minter != n, z.knows[n][q]))
    raise ProofInputError(f"unknown prune knowledge {knowledge!r}")


def same_entry(params: Params, q: int, r: int) -> Term:
    """Puts ``q`` and ``r`` were minted by one actor: their values sit in one dvv entry
    (a lifetime may have several: its pairs with clients, its key epochs; each
    value-less one goes on its own, spec.retired.prune_retired)."""
    return params.entry[q][r]


def outranked(z: AbstractState, params: Params, n: int, q: int,
              clock: Sequence[Term] | None = None) -> Term:
    """With ``prune_retired = K`` > 0 (``Shape.keep``, session 35): the clock node ``n``
    prunes (``clock``, the dots it covers; default ``z.seen[n]``) holds entries of at
    least ``K`` lifetimes of the node that minted put ``q``'s dot, each newer than
    that lifetime and known retired by ``n`` (:func:`retirement_known`): ``q``'s
    lifetime is then ranked ``K`` or later among them, newest first, and its
    value-less entries may go (spec.retired.prune_retired). A lifetime has an entry
    in a clock iff the clock covers the dot of a put it minted (an entry covers the
    dot of its counter). True with ``K = 0``.

    ``K`` such lifetimes are ``K`` puts of pairwise distinct lifetimes (a choice
    among the puts: the encoding's bounds are small). The clock may be the one
    written, after the prune (a step that states only the pruned clock,
    :func:`_pruned_write`): the ``K`` newest known retired lifetimes of a node are
    ranked below ``K`` and keep all their entries, so the pruned clock holds ``K``
    newer ones iff the clock before the prune did."""
    keep = z.shape.keep
    if keep == 0:
        return z3.BoolVal(True)
    dots = z.seen[n] if clock is None else clock
    minter, mepoch = params.minter, params.mepoch
    newer = {r: zt.And(dots[r], minter[r] == minter[q], mepoch[r] > mepoch[q],
                       retirement_known(z, params, n, r))
             for r in range(z.shape.puts) if r != q}
    choices = [zt.And(*[newer[r] for r in chosen],
                      *[mepoch[r] != mepoch[s] for r, s in combinations(chosen, 2)])
               for chosen in combinations(sorted(newer), keep)]
    return zt.Or(choices) if choices else z3.BoolVal(False)


def pruned_away(z: AbstractState, params: Params, n: int, q: int,
                values: Sequence[Term] | None = None, clock: Sequence[Term] | None = None
                ) -> Term:
    """Node ``n``'s write drops the entry of put ``q``'s dot: ``n`` knows the lifetime
    that minted it retired (:func:`retirement_known`), the written copy (``values``,
    default ``z.live[n]``) holds no value of that entry, and, with ``prune_retired``
    above 0, the lifetime is not among the newest kept (:func:`outranked`, by the
    dots ``clock`` covers, default ``z.seen[n]``)."""
    held = z.live[n] if values is None else values
    return zt.And(retirement_known(z, params, n, q),
                  zt.Not(zt.Or([zt.And(held[r], same_entry(params, q, r))
                                for r in range(z.shape.puts)])),
                  outranked(z, params, n, q, clock))


def concurrent_deletes(z: AbstractState, params: Params) -> Term:
    """Two performed deletes are concurrent (neither's true history holds the other;
    session 38): the only way a write loses a copy's coverage of a put. A delete
    drops the tombstones it is concurrent with (spec.dvv.drop_superseded) keeping their
    dots seen, and a prune of their retired value-less entries then loses what only
    those dots covered; every other value a merge drops is one whose dot a clock
    covers, which a value kept covers (faithful clocks)."""
    puts = range(z.shape.puts)
    return zt.Or([zt.And(z.performed[a], z.performed[b], params.tomb[a], params.tomb[b],
                         zt.Not(params.hist[a][b]), zt.Not(params.hist[b][a]))
                  for a in puts for b in puts if a < b])


def unabsorbed_drop(z: AbstractState, params: Params) -> Term:
    """The exemption of the writes' clauses (a write may lose a copy's coverage of a
    deleted put; a clock may cover a dot its copy does not; a tombstone seen and not
    held may be superseded by no value held): False since session 38's fix, where a
    delete takes over the histories of the tombstones it drops
    (spec.coordination.absorbed), so the tombstone it writes supersedes them wherever
    their dots go; in the twin (``shape.drop_absorbs`` False, the spec before the fix)
    :func:`concurrent_deletes`."""
    if z.shape.drop_absorbs:
        return z3.BoolVal(False)
    return concurrent_deletes(z, params)


def covered_by(z: AbstractState, params: Params, n: int, q: int,
               values: Sequence[Term] | None = None, seen: Sequence[Term] | None = None
               ) -> Term:
    """Node ``n``'s copy covers put ``q`` (``store[n][q]``, as the abstraction
    function defines it: mapping._coverage): some value's history holds ``q``, or,
    with deletes, the history of a tombstone whose dot the clock covers although the
    copy no longer holds it."""
    held = z.live[n] if values is None else values
    dots = z.seen[n] if seen is None else seen
    puts = range(z.shape.puts)
    out = [zt.And(held[r], params.hist[r][q]) for r in puts]
    if z.shape.deletes:
        out += [zt.And(params.tomb[t], zt.Not(held[t]), dots[t], params.hist[t][q])
                for t in puts]
    return zt.Or(out)


def _pruned_write(x: AbstractState, y: AbstractState, params: Params, n: int,
                  family: str, faithful: bool = False) -> list[Term]:
    """What a step writing node ``n``'s store does to its clock, with pruning: a disk
    loss or buffered crash empties it; a merge keeps every entry but those the write
    prunes (:func:`pruned_away`, by the values written), gains only performed puts'
    dots, covers the dot of every value it holds, and the copy covers what its values
    (and seen tombstones) do. With ``faithful`` (the causal store rule: knowledge
    "all" and "own"; session 35), the written clock covers a put's dot only if the
    written copy covers the put (*faithful clocks*: the version merged in, whose clock
    the abstraction does not keep, is faithful too; checked on every edge of the
    pruning entries, and refused by the naive twin's, whose re-issued dots break it:
    docs/proofs.md, "Pruning with prune_retired > 0 (session 35)"); with deletes,
    unless a performed delete covers the put and two performed deletes are concurrent
    (sessions 37 and 38), and a tombstone the clock covers but the copy does not hold is
    superseded by a value it holds unless they are (:func:`dropped_tombstone_superseded`,
    session 38); since session 38's fix the exemption is the twin's alone
    (:func:`unabsorbed_drop`)."""
    puts = range(x.shape.puts)
    if family in _EMPTYING:
        return [zt.Not(y.seen[n][q]) for q in puts] + [zt.Not(y.live[n][q]) for q in puts]
    out = []
    for q in puts:
        gone = pruned_away(y, params, n, q)
        out += [zt.Implies(y.seen[n][q], zt.Not(gone)),
                zt.Implies(zt.And(x.seen[n][q], zt.Not(gone)), y.seen[n][q]),
                zt.Implies(y.seen[n][q], zt.Or(x.seen[n][q], y.performed[q])),
                zt.Implies(y.live[n][q], y.store[n][q]),
                zt.Implies(y.live[n][q], y.seen[n][q]),  # a value's dot is in its clock
                y.store[n][q] == covered_by(y, params, n, q)]
        if faithful:  # session 37: unless a performed delete covers it
            # session 38: and two performed deletes are concurrent
            out.append(zt.Implies(y.seen[n][q], zt.Or(y.store[n][q], zt.And(
                deleted(y, params, q), unabsorbed_drop(y, params)))))
        if faithful and x.shape.deletes:  # session 38
            out.append(dropped_tombstone_superseded(y, params, n, q))
    return out


def dropped_tombstone_superseded(z: AbstractState, params: Params, n: int, t: int) -> Term:
    """A tombstone ``t`` whose dot node ``n``'s clock covers while its copy does not hold
    it was superseded there: a value the copy holds has ``t`` in its history (session
    38; in the twin, the spec before session 38's fix, unless two performed deletes are
    concurrent: :func:`unabsorbed_drop`).
    A merge drops a value only where the other clock covers its dot (dvv's sync), and a
    copy that covers it without holding it holds a value superseding it, by induction;
    a delete's write drops a tombstone concurrent with it (spec.dvv.drop_superseded) and
    takes over its history (spec.coordination.absorbed), so it supersedes it."""
    puts = range(z.shape.puts)
    return zt.Implies(
        zt.And(params.tomb[t], z.seen[n][t], zt.Not(z.live[n][t])),
        zt.Or(*[zt.And(z.live[n][r], params.hist[r][t]) for r in puts if r != t],
              unabsorbed_drop(z, params)))


def current_actor(z: AbstractState, params: Params, n: int, q: int) -> Term:
    """Put ``q``'s dot was minted by node ``n``'s current actor in state ``z``: its
    current lifetime (``epoch``) and, with reaping, its current key epoch of the key
    (``kepoch``, session 37; spec.state.actor_id ``n~<lifetime>.<key epoch>``)."""
    out = [params.minter[q] == n, params.mepoch[q] == z.epoch[n]]
    if z.kepoch:
        out.append(params.mkey[q] == z.kepoch[n])
    return zt.And(out)


def reap_begins_key_epoch(x: AbstractState, y: AbstractState, params: Params, n: int
                          ) -> list[Term]:
    """What a reap of node ``n``'s copy (or the drop of its copy outside the key's
    replicas) does to its actor (session 37; spec.deletes.forget_copy): if the copy
    carried a counter of the actor ``n`` mints the key under (its clock covers the
    dot of a put that actor minted), ``n`` begins a new key epoch, so it never mints
    those dots again (Riak's per-key actor epochs, kv679); else its key epoch stays.
    With ``Shape.reap_actor == "kept"`` (the broken twin) the actor always stays."""
    if not x.kepoch:
        return []
    if x.shape.reap_actor == "kept":
        return [y.kepoch[n] == x.kepoch[n]]
    mentions = zt.Or([zt.And(x.seen[n][q], current_actor(x, params, n, q))
                      for q in range(x.shape.puts)])
    return [y.kepoch[n] == x.kepoch[n] + z3.If(mentions, 1, 0)]


def kept_and_put(x: AbstractState, y: AbstractState, params: Params, c: int, p: int
                 ) -> list[Term]:
    """What coordinator ``c``'s put ``p`` merges into its copy with a failing disk
    (session 52): the put's history, and what its copy gains of the records it kept
    of its refused writes (``held``: ``spec.coordination._with_unpersisted`` merges
    them before the mint)."""
    return [zt.Or(params.hist[p][q], zt.And(x.held[c][q], y.store[c][q]))
            for q in range(x.shape.puts)]


def _refusal_steps(x: AbstractState, y: AbstractState, params: Params,
                   add: Callable[..., None],
                   sends_from: Callable[[Sequence[Term]], tuple[list[Term], set[str]]],
                   records: Callable[[int], set[str]]) -> None:
    """The failing disk's steps (``Shape.write_failures``, session 52; spec/faults.py),
    all over-approximated, each with the acknowledgement rule (a put is acknowledged
    only while W nodes hold it: a refused write holds nothing):

    - ``failed-put`` (the spec's ``FailedPut``, and ``FailedWrite`` of a put's
      ``forward``): coordinator ``c`` performs put ``p`` and its own write is
      refused: its store is unchanged; it keeps (``held``) and sends its copy merged
      with its kept records and the new version (``spec.coordination.start``);
    - ``failed-write`` (``FailedWrite`` of a ``replica-put``): an up replica or
      fallback ``n`` takes a write in flight to it and stores nothing (nor a hint);
    - ``replica-put-failed`` (its delivery to the coordinator ``n``): as a timeout of
      the target, the coordinator's records may shrink (the put failed) and its
      part may go to a fallback, carrying what it holds."""
    shape = x.shape
    nodes, puts, nm = range(len(shape.nodes)), range(shape.puts), shape.nodes

    def row(what: str, n: int) -> set[str]:
        return {f"{what}[{nm[n]}][{q + 1}]" for q in puts}

    for c in nodes:
        for p in puts:
            written = [zt.Or(x.store[c][q], x.held[c][q], params.hist[p][q]) for q in puts]
            sends, sent = sends_from(written)
            add(
                f"failed-put {p + 1} at {nm[c]}", "failed-put", False,
                x.up[c],
                zt.Not(x.performed[p]),
                *[zt.Implies(params.hist[p][q], x.performed[q]) for q in puts if q != p],
                y.performed[p],
                *[zt.Implies(y.held[c][q], written[q]) for q in puts],
                *sends,
                skip={f"performed[{p + 1}]"} | records(c) | sent,
            )
    for n in nodes:
        # the twin (``Shape.failed_write_acks``): the refusing node's answer counts
        # as an acknowledgement, so a put may be acknowledged with one holder short
        lie = ([zt.Implies(zt.And(y.acked[q], zt.Not(x.acked[q])),
                           zt.And(y.performed[q], x.wmsg[n][q],
                                  holders(y, params, q) + 1 >= params.w - y.losses))
                for q in puts] + [zt.Implies(x.acked[q], y.acked[q]) for q in puts]
               if shape.failed_write_acks else [])
        add(
            f"failed-write at {nm[n]}", "failed-write", False,
            x.up[n],
            *[_may_shrink(x.wmsg[n][q], y.wmsg[n][q]) for q in puts],
            *lie,
            skip=row("wmsg", n) | ({f"acked[{q + 1}]" for q in puts} if lie else set()),
            acknowledges=not lie,
        )
        sends, sent = sends_from(x.held[n])
        add(
            f"replica-put-failed at {nm[n]}", "replica-put-failed", False,
            x.up[n],
            *[_may_shrink(x.held[n][q], y.held[n][q]) for q in puts],
            *sends,
            skip=records(n) | sent,
        )


def _minted(x: AbstractState, y: AbstractState, params: Params, c: int, p: int) -> list[Term]:
    """With pruning, coordinator ``c`` mints put ``p``'s dot under its current actor (its
    lifetime, and with reaping its key epoch: :func:`current_actor`); it re-issues the
    dot of an earlier put ``q`` of that actor (``same[p][q]``) only if its copy no
    longer covers ``q``'s dot (its entry pruned: the ``"naive"`` twin),
    and every other copy covers the new dot exactly when it covers ``q``'s."""
    if not x.shape.prune:
        return []
    puts = range(x.shape.puts)
    out = [current_actor(x, params, c, p), y.seen[c][p]]
    out += [zt.Not(params.same[p][p])]
    out += [zt.Implies(params.same[p][q],
                       zt.And(x.performed[q], params.entry[p][q], current_actor(x, params, c, q),
                              zt.Not(x.seen[c][q])))
            for q in puts if q != p]
    out += [y.seen[m][p] == zt.Or([zt.And(params.same[p][q], x.seen[m][q])
                                   for q in puts if q != p])
            for m in range(len(x.shape.nodes)) if m != c]
    return out


def _pruned_anti_entropy(x: AbstractState, y: AbstractState, params: Params, a: int, b: int,
                         add: Callable[..., None]) -> None:
    """Anti-entropy between ``a`` and ``b`` with pruning (spec/anti_entropy.py): the
    copies differ (a value or a covered dot); both store the merge, each pruned by
    its own knowledge. dvv's sync keeps a value unless the other clock covers its dot
    and the other copy holds no value at that dot; the clock covers the union of the
    dots. Exact while no dot is held by two different values (a re-issued dot of
    the ``"naive"`` twin: which one sync keeps depends on counters the abstraction
    does not keep), inexact then. With the learnt knowledge (session 36), each side
    learns first (:func:`~model_check.proofs.learning.exchange_teaches`) and prunes by
    what it knows after."""
    nm, puts = x.shape.nodes, range(x.shape.puts)

    def at_dot(n: int, q: int) -> Term:  # n holds a value at q's dot
        return zt.Or([x.live[n][r] for r in puts if r == q] +
                     [zt.And(x.live[n][r], params.same[q][r]) for r in puts if r != q])

    merged = [zt.Or(x.seen[a][q], x.seen[b][q]) for q in puts]
    kept = [zt.Or(zt.And(x.live[a][q], zt.Or(zt.Not(x.seen[b][q]), at_dot(b, q))),
                  zt.And(x.live[b][q], zt.Or(zt.Not(x.seen[a][q]), at_dot(a, q))))
            for q in puts]
    twice = zt.Or([zt.And(params.same[q][r], zt.Or(x.live[a][q], x.live[b][q]),
                          zt.Or(x.live[a][r], x.live[b][r]))
                   for q in puts for r in puts if q != r])
    guard = [x.up[a], x.up[b], x.side[a] == x.side[b],
             zt.Or([zt.Or(x.seen[a][q] != x.seen[b][q], x.live[a][q] != x.live[b][q])
                    for q in puts])]
    exact: list[Term] = []
    loose: list[Term] = []
    # with the learnt knowledge (session 36) each side first learns what the other knows
    # of the copies' lifetimes, then prunes by it: the post-state's knowledge
    writer = x
    changes: set[str] = set()
    if x.knows:
        writer = y
        for n in (a, b):
            taught = [y.knows[n][q] == after
                      for q, after in enumerate(exchange_teaches(x, params, a, b, n))]
            exact += taught
            loose += taught
            changes |= {f"knows[{nm[n]}][{q + 1}]" for q in puts}
    for n in (a, b):
        for q in puts:
            seen = zt.And(merged[q], zt.Not(pruned_away(writer, params, n, q, kept, merged)))
            exact += [y.live[n][q] == kept[q], y.seen[n][q] == seen]
            loose += [zt.Implies(y.live[n][q], zt.Or(x.live[a][q], x.live[b][q])),
                      zt.Implies(y.live[n][q], y.seen[n][q]),
                      zt.Implies(y.seen[n][q], merged[q])]
        exact += [y.store[n][q] == covered_by(y, params, n, q) for q in puts]
        loose += [y.store[n][q] == covered_by(y, params, n, q) for q in puts]
    changes |= {f"{what}[{nm[n]}][{q + 1}]" for what in ("store", "live", "seen")
                for n in (a, b) for q in puts}
    add(f"anti-entropy {nm[a]} {nm[b]}", "anti-entropy", True, *guard, zt.Not(twice),
        *exact, skip=changes, states_prune=True, states_live=True)
    add(f"anti-entropy {nm[a]} {nm[b]} (a dot held twice)", "anti-entropy", False, *guard,
        twice, *loose, skip=changes, states_prune=True, states_live=True)


#: Step families that empty a store (with pruning: its clock too).
_EMPTYING = frozenset({"disk-loss", "buffered-crash"})

#: Step families that move no live version (their steps keep ``live`` and ``alive``).
_LIVE_STATIC = frozenset({"handoff", "recover", "heal", "duplicate", "duplicate hint",
                          "duplicate hint-ack", "partition", "learn-retirement",
                          "put elsewhere", "drop elsewhere", "duplicate elsewhere",
                          "exchange elsewhere"})


def holders(x: AbstractState, params: Params, p: int) -> Term:
    """How many nodes hold put ``p`` durably: in their store, or in a hint whose
    intended node does not hold it (a handed-off hint is not counted twice)."""
    k = range(len(x.shape.nodes))
    held = []
    for n in k:
        hints = [zt.And(flag, params.cov[t[2]][p], zt.Not(x.store[t[1]][p]))
                 for t, flag in x.hint.items() if t[0] == n]
        held.append(zt.Or(x.store[n][p], *hints))
    return count_true(held)


def _acked_rule(x: AbstractState, y: AbstractState, params: Params, quorum: bool
                ) -> list[Term]:
    """Acknowledgements only grow, and only for performed puts (any inexact step may
    acknowledge); with ``quorum`` a put is acknowledged only while at least ``W``
    minus the disk losses (and, with a buffered engine, the crashes) so far of nodes
    hold it: its ``W`` acknowledging nodes stored it, and with causal merges only a
    disk loss or a buffered crash takes a store's put away, possibly while its
    acknowledgement is in flight (the edge agreement found that one on
    dvv-buffered-crash-actor-epochs)."""
    out = []
    for p in range(x.shape.puts):
        new = zt.And(y.acked[p], zt.Not(x.acked[p]))
        out += [zt.Implies(x.acked[p], y.acked[p]), zt.Implies(new, y.performed[p])]
        if quorum:
            # a buffered crash loses unflushed writes too: with a buffered engine
            # every crash may have taken an acknowledging node's copy
            lost = y.losses + y.crashes if x.shape.buffered else y.losses
            if y.restores is not None:  # a restore takes a store's later puts away
                lost = lost + y.restores
            if y.ring is not None and y.ring.change.kind == "remove":
                # a force-remove empties its node's store as a disk loss does (session
                # 24: an acknowledgement in flight from the removed node, found by the
                # agreement check on force-remove-w2)
                lost = lost + z3.If(y.ring.log > 0, 1, 0)
            out.append(zt.Implies(new, holders(y, params, p) >= params.w - lost))
    return out


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
            keep = zt.Or(keep, *[selector == k for k in changers[name]])
        frames.append(keep)
    chosen = zt.Or([zt.And(selector == k, s.formula) for k, s in enumerate(steps)])
    return zt.And(selector >= 0, selector < len(steps), chosen, *frames)

