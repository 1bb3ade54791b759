"""The spec (spec/model.py) abstracted for Z3: state, predicates, transition relation.

Theory of operation
-------------------
The encoding behind the inductive-invariant proofs
(:mod:`model_check.proofs.invariants`) and the edge-by-edge agreement check
(:mod:`model_check.proofs.agreement`) is an *abstraction* of the spec's state for
one key, a fixed list of nodes, ``P`` put ids (deletes included: a delete is a put
of a tombstone) and ``U`` distinct hint payloads, kept at the level the
properties talk about:

- ``up[n]``, ``side[n]`` (``n`` is on the partition side that holds the first
  node; all false: no partition); ``performed[p]`` (a coordinator wrote put ``p``);
  ``acked[p]`` (its client was told so);
- ``store[n][p]``: node ``n``'s durable store holds a version whose true causal
  history (the spec's ghost history, not its clock) contains put ``p``;
- ``wmsg[n][p]``: an in-flight ``replica-put`` or ``read-repair`` to ``n`` carries
  such a version; ``rmsg[n][p]``: an in-flight ``replica-get-reply`` to ``n`` does;
  ``held[n][p]``: one of ``n``'s (volatile) coordination records does (a put's new
  version, a get's replies);
- per hint payload ``u`` (its coverage ``cov[u][p]`` fixed but unknown) and pair of
  fallback ``h`` and intended node ``i``: ``hint[h][i][u]`` (in ``h``'s hint store),
  the numbers of in-flight handoffs ``hmsg`` and acknowledgements ``hack``, and the
  ghost records ``rec_acked`` / ``rec_deleted``;
- with deletes (``Shape.deletes``), ``live[n][p]``: ``n``'s store holds put ``p``'s
  own version (not only a version whose history contains it), and ``alive[p]``: a
  message, hint or coordination record does;
- the fault budgets spent on drops, duplicates, crashes and disk losses;
- with dvv's pruning of retired lifetimes (``Shape.prune``, session 34:
  spec/retired.py), ``epoch[n]`` (node ``n``'s current storage lifetime,
  ``State.epochs``), ``seen[n][p]`` (``n``'s stored clock covers put ``p``'s dot),
  and ``live[n][p]`` (the values, whose entries a prune keeps), as with deletes;
  with the learnt knowledge (``Shape.prune == "learnt"``, session 36:
  spec/learning.py), ``knows[n][p]``: node ``n`` has learnt the retirement of the
  lifetime that minted put ``p``'s dot (``State.known`` holds
  ``(n, minter, mepoch)``; a node's own earlier lifetimes are known from ``epoch``,
  not listed, as in the spec); with deletes and reaping as well (session 37),
  ``kepoch[n]``: node ``n``'s key epoch of the key (``State.key_epochs``: a reap that
  forgot a counter of the node's actor began a new one, spec.deletes.forget_copy);
- with other keys (``Shape.other_keys``: the state is the *projection* onto one
  key of a configuration with several, :func:`model_check.proofs.mapping.abstract_state`),
  ``elsewhere[p]``: put ``p`` was performed on another key (its put id is spent;
  nothing of this key's holds it). The fault budgets are shared by the keys.
- with the rebuild of a lost disk (``Shape.rebuild``, session 57: spec/rebuild.py,
  ``State.rebuilding``), ``mark[n]`` (node ``n``'s acknowledgements, own writes and
  own reads are not counted: its ``(n, "", "")``) and, for two distinct nodes ``n``,
  ``m`` of the key's top N, ``todo[n][m]``: the anti-entropy exchange of the key
  between them that ``n``'s rebuild waits for is still to do (``(n, key, m)``);
  in a projection onto one key of several (session 61, ``Shape.other_pairs``),
  ``others[n]`` for each node ``n`` replicating another key: an exchange of another
  key is left for ``n``'s rebuild (``(n, j, m)``, ``j`` not the key).

The parameters (fixed unknowns) are each hint payload's coverage, each put's true
history ``hist[p][q]`` (``hist[p][p]`` holds), which puts are deletes
(``tomb[p]``), the write quorum ``W`` and the fault budgets; with pruning, each
put's dot: the lifetime that minted it (``minter[p]``, a node index, and
``mepoch[p]``; with reaping, its key epoch ``mkey[p]``, session 37) which puts share a
dot (``same[p][q]``: a re-issued dot) and which share an actor, so a dvv entry
(``entry[p][q]``).

With a membership change (``Shape.change``), the ring's state (the log, the
views, the range transfers, which nodes coordinate) comes from
:mod:`model_check.proofs.membership`.

The transition relation over these states is :mod:`model_check.proofs.transition`.

Split from :mod:`model_check.proofs.invariants` by theme: this module is the
encoding (what the spec's state is in Z3), that one the proofs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import z3

from model_check.proofs import terms as zt
from model_check.proofs.framework import bool_of, int_of, value_of
from model_check.proofs.membership import (
    Change,
    RingState,
    describe_ring,
    ring_initial,
    ring_state,
)

__all__ = [
    "AbstractState",
    "Invariant",
    "Params",
    "Shape",
    "Term",
    "acked_writes_durable",
    "covers",
    "deleted",
    "describe",
    "durable_unless_deleted",
    "hint_kept_until_acked",
    "initial",
    "new_states",
    "strong_durable",
    "strong_hints",
]

Term = Any


@dataclass(frozen=True, slots=True)
class Shape:
    """The bounds: node names (ring order), number of put ids, number of hint
    payloads, the key's top N (indexes into ``nodes``), and which optional steps
    the configuration has (a step it cannot take is left out of the relation)."""

    nodes: tuple[str, ...] = ("A", "B", "C", "D")
    puts: int = 2
    payloads: int = 2
    top: tuple[int, ...] = (0, 1, 2)
    #: the one membership change a run may make (None: a fixed ring;
    #: :mod:`model_check.proofs.membership`); ``top`` is then the initial ring's
    change: Change | None = None
    anti_entropy: bool = True
    handoff: bool = True
    buffered: bool = False
    reaping: bool = False
    partitions: bool = False
    #: deletes: the live-version variables (``live``, ``alive``) are kept
    deletes: bool = False
    reap_mode: str = "safe"  # "safe" or "immediate" (spec.deletes)
    #: restores from a backup (``faults.restores``): the ``restores`` counter and the
    #: inexact ``restore`` step are kept (docs/refinement.md, "Restore from a backup")
    restores: bool = False
    #: the projection onto one key of a configuration with several (session 32): the
    #: ``elsewhere`` variables and the steps of another key's actions are kept
    other_keys: bool = False
    #: dvv's pruning of retired lifetimes (session 34; spec/retired.py): what a
    #: pruning node knows (``prune_knowledge``: "all", "own", "naive", and since
    #: session 36 "learnt", its knowledge the ``knows`` variables); "": no pruning
    prune: str = ""
    #: with pruning: ``prune_retired``, the newest retired lifetimes of each node whose
    #: entries a prune keeps (session 35: 0 before; :func:`transition.outranked`)
    keep: int = 0
    #: with pruning: every crash begins a new lifetime (``actor_per_start``); a disk
    #: loss or a buffered crash always does
    per_start: bool = True
    #: with pruning and reaping (session 37): what a reap that forgets a counter of the
    #: node's actor does to the actor: "new", a new key epoch (spec.deletes.forget_copy,
    #: Riak's per-key actor epochs); "kept", the actor stays (the broken twin: the node
    #: mints the dots of its reaped copy again, kv679 per key)
    reap_actor: str = "new"
    #: with pruning (session 37): what a disk loss does to the node's lifetime: "new",
    #: a new one (spec.faults, ``actor_epochs``); "kept", the wiped node keeps its
    #: lifetime (the broken twin: it mints the dots its lost disk covered again, as the
    #: suite's dvv-amnesia-naive-actor)
    loss_actor: str = "new"
    #: with pruning and deletes (session 38): a delete's history takes over those of the
    #: tombstones its write removes from its coordinator's copy (spec.coordination.
    #: absorbed: the tombstones it drops, spec.dvv.drop_superseded); False: the twin,
    #: the spec before that fix, where a dropped tombstone is covered by its dot alone
    #: and a write may lose a copy's coverage while two deletes are concurrent
    drop_absorbs: bool = True
    #: ``features.hinted_reads`` (session 49; spec.replica.served): a node answers a
    #: ``replica-get`` with its store and the payloads of the hints it keeps
    hinted_reads: bool = False
    #: ``faults.write_failures`` (session 52; spec/faults.py): the failing disk's steps
    #: (``failed-put``, ``failed-write``, a delivered ``replica-put-failed``), and a
    #: coordinator's kept records of its refused writes (``State.unpersisted``, in
    #: ``held``) merged by its next put
    write_failures: bool = False
    #: the failing disk's broken twin (``features.failed_write_acks``; proofs only, the
    #: agreement leaves the twin's entry out): a refused replica write counts as one
    #: of the W acknowledging holders
    failed_write_acks: bool = False
    #: ``features.rebuild`` with disk losses and anti-entropy on a fixed ring (session
    #: 57; spec/rebuild.py): the ``mark`` and ``todo`` variables and the ``rebuilt``
    #: step (:func:`model_check.proofs.transition.transition`)
    rebuild: bool = False
    #: with the rebuild in a projection onto one key of several (session 61;
    #: :mod:`model_check.proofs.rebuild`): the pairs ``(a, b)``, ``a < b`` (indexes),
    #: of distinct nodes of another key's top N, whose exchanges of that key a rebuild
    #: waits for (the ``others`` variables of :attr:`other_rebuilds`, the ``exchange
    #: elsewhere`` steps)
    other_pairs: tuple[tuple[int, int], ...] = ()

    @property
    def other_rebuilds(self) -> tuple[int, ...]:
        """With the rebuild in a projection (session 61): the nodes a disk loss gives an
        exchange of another key (those of :attr:`other_pairs`), in index order."""
        if not self.rebuild:
            return ()
        return tuple(sorted({n for pair in self.other_pairs for n in pair}))

    @property
    def key_epochs(self) -> bool:
        """Are the key epochs kept (``kepoch``, ``mkey``): with pruning and reaping
        (session 37; a reap begins a key epoch, spec.deletes.forget_copy)."""
        return bool(self.prune) and self.reaping

    @property
    def tracks_live(self) -> bool:
        """Are the values of each store (``live``) kept: with deletes (no
        resurrection) or with pruning (a prune keeps the entries holding values)."""
        return self.deletes or bool(self.prune)

    @property
    def exchanges(self) -> list[tuple[int, int]]:
        """With the rebuild: the (rebuilding node, peer) index pairs of distinct nodes
        of the key's top N (the ``todo`` variables; empty without the rebuild)."""
        if not self.rebuild:
            return []
        return [(n, m) for n in self.top for m in self.top if n != m]

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
    side: tuple[Term, ...]
    performed: tuple[Term, ...]
    acked: tuple[Term, ...]
    store: tuple[tuple[Term, ...], ...]  # [node][put]
    wmsg: tuple[tuple[Term, ...], ...]  # [destination][put]
    rmsg: tuple[tuple[Term, ...], ...]  # [coordinator][put]
    held: tuple[tuple[Term, ...], ...]  # [coordinator][put]
    live: tuple[tuple[Term, ...], ...]  # [node][put]: the store holds put's own version
    alive: tuple[Term, ...]  # [put]: a message, hint or coordination record holds it
    hint: dict[tuple[int, int, int], Term]  # (fallback, intended, payload)
    hmsg: dict[tuple[int, int, int], Term]
    hack: dict[tuple[int, int, int], Term]
    rec_acked: dict[tuple[int, int, int], Term]
    rec_deleted: dict[tuple[int, int, int], Term]
    drops: Term
    duplicates: Term
    crashes: Term
    losses: Term
    #: the ring's state (None: a fixed ring; :mod:`model_check.proofs.membership`)
    ring: RingState | None = None
    names: dict[str, Term] = field(default_factory=dict)
    #: restores made (None: a shape without restores)
    restores: Term | None = None
    #: [put]: the put was performed on another key (empty: a shape of one key)
    elsewhere: tuple[Term, ...] = ()
    #: with pruning (``Shape.prune``): [node] its current storage lifetime
    epoch: tuple[Term, ...] = ()
    #: with pruning: [node][put] the node's stored clock covers the put's dot
    seen: tuple[tuple[Term, ...], ...] = ()
    #: with the learnt knowledge (session 36): [node][put] the node has learnt that
    #: the lifetime that minted the put's dot is retired (``State.known``)
    knows: tuple[tuple[Term, ...], ...] = ()
    #: with pruning and reaping (session 37): [node] its key epoch of the key
    kepoch: tuple[Term, ...] = ()
    #: with the rebuild (session 57): [node] its acknowledgements, own writes and own
    #: reads are not counted (``(n, "", "")`` in ``State.rebuilding``)
    mark: tuple[Term, ...] = ()
    #: with the rebuild: (node, peer) of the key's top N -> the exchange of the key
    #: between them is still to do for ``node``'s rebuild (``(n, key, m)``)
    todo: dict[tuple[int, int], Term] = field(default_factory=dict)
    #: with the rebuild in a projection onto one key (session 61): node -> an exchange
    #: of another key is left for its rebuild (only the nodes of
    #: ``Shape.other_rebuilds``)
    others: dict[int, Term] = field(default_factory=dict)

    def unrebuilt(self, n: int) -> Term:
        """Node ``n`` has an exchange of the key left (spec.rebuild.unrebuilt): silent
        to its reads, no hint of it acknowledged (false without the rebuild)."""
        left = [flag for (m, _), flag in self.todo.items() if m == n]
        return zt.Or(left) if left else z3.BoolVal(False)

    def variables(self) -> dict[str, Term]:
        """Every term by a stable name (for substitution and display)."""
        return self.names

    def message(self, p: int) -> Term:
        """Some in-flight message other than a handoff carries put ``p``."""
        k = range(len(self.shape.nodes))
        return zt.Or([self.wmsg[n][p] for n in k] + [self.rmsg[n][p] for n in k])


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

    def table(what: str) -> tuple[tuple[Term, ...], ...]:
        return tuple(tuple(b(f"{what}[{n}][{p + 1}]") for p in puts) for n in nodes)

    return AbstractState(
        shape,
        tuple(b(f"up[{n}]") for n in nodes),
        tuple(b(f"side[{n}]") for n in nodes),
        tuple(b(f"performed[{p + 1}]") for p in puts),
        tuple(b(f"acked[{p + 1}]") for p in puts),
        table("store"),
        table("wmsg"),
        table("rmsg"),
        table("held"),
        table("live"),
        tuple(b(f"alive[{p + 1}]") for p in puts),
        {t: b(f"hint[{label(t)}]") for t in triples},
        {t: i(f"hmsg[{label(t)}]") for t in triples},
        {t: i(f"hack[{label(t)}]") for t in triples},
        {t: b(f"rec_acked[{label(t)}]") for t in triples},
        {t: b(f"rec_deleted[{label(t)}]") for t in triples},
        i("drops"),
        i("duplicates"),
        i("crashes"),
        i("losses"),
        None if shape.change is None else ring_state(shape.change, nodes, shape.puts, b, i),
        names,
        i("restores") if shape.restores else None,
        tuple(b(f"elsewhere[{p + 1}]") for p in puts) if shape.other_keys else (),
        tuple(i(f"epoch[{n}]") for n in nodes) if shape.prune else (),
        table("seen") if shape.prune else (),
        table("knows") if shape.prune == "learnt" else (),
        tuple(i(f"kepoch[{n}]") for n in nodes) if shape.key_epochs else (),
        tuple(b(f"mark[{n}]") for n in nodes) if shape.rebuild else (),
        {(n, m): b(f"todo[{nodes[n]}][{nodes[m]}]") for n, m in shape.exchanges},
        {n: b(f"others[{nodes[n]}]") for n in shape.other_rebuilds},
    )


@dataclass(frozen=True, slots=True)
class Params:
    """The fixed unknowns: each hint payload's coverage, each put's true history, and
    the fault budgets."""

    cov: tuple[tuple[Term, ...], ...]  # [payload][put]
    hist: tuple[tuple[Term, ...], ...]  # [put][put]
    max_drops: Term
    max_duplicates: Term
    max_crashes: Term
    max_losses: Term
    w: Term  # the write quorum
    tomb: tuple[Term, ...]  # [put]: the put is a delete (its value a tombstone)
    max_restores: Term | None = None  # the restore budget (None: a shape without)
    #: with pruning: [put] the node (index) whose lifetime minted the put's dot
    minter: tuple[Term, ...] = ()
    #: with pruning: [put] that lifetime's epoch
    mepoch: tuple[Term, ...] = ()
    #: with pruning: [put][put] the two puts have the same dot (a re-issued one)
    same: tuple[tuple[Term, ...], ...] = ()
    #: with pruning: [put][put] the two puts' dots are of one actor (one dvv entry:
    #: a lifetime may have several, a pair with a client, a key epoch)
    entry: tuple[tuple[Term, ...], ...] = ()
    #: with pruning and reaping (session 37): [put] the key epoch of the actor that
    #: minted the put's dot (``n~<lifetime>.<key epoch>``, spec.state.actor_id)
    mkey: tuple[Term, ...] = ()

    def wellformed(self) -> Term:
        """A put's history holds the put itself; budgets are not negative."""
        return zt.And(
            *[self.hist[p][p] for p in range(len(self.hist))],
            self.max_drops >= 0, self.max_duplicates >= 0, self.max_crashes >= 0,
            self.max_losses >= 0, self.w >= 1,
            *([] if self.max_restores is None else [self.max_restores >= 0]),
        )


def _params(shape: Shape) -> Params:
    return Params(
        tuple(
            tuple(z3.Bool(f"cov[#{u}][{p + 1}]") for p in range(shape.puts))
            for u in range(shape.payloads)
        ),
        tuple(
            tuple(z3.Bool(f"hist[{p + 1}][{q + 1}]") for q in range(shape.puts))
            for p in range(shape.puts)
        ),
        z3.Int("max_drops"),
        z3.Int("max_duplicates"),
        z3.Int("max_crashes"),
        z3.Int("max_losses"),
        z3.Int("W"),
        tuple(z3.Bool(f"tomb[{p + 1}]") for p in range(shape.puts)),
        z3.Int("max_restores") if shape.restores else None,
        tuple(z3.Int(f"minter[{p + 1}]") for p in range(shape.puts)) if shape.prune else (),
        tuple(z3.Int(f"mepoch[{p + 1}]") for p in range(shape.puts)) if shape.prune else (),
        tuple(tuple(z3.Bool(f"same[{p + 1}][{q + 1}]") for q in range(shape.puts))
              for p in range(shape.puts)) if shape.prune else (),
        tuple(tuple(z3.BoolVal(True) if p == q else z3.Bool(f"entry[{p + 1}][{q + 1}]")
                    for q in range(shape.puts))
              for p in range(shape.puts)) if shape.prune else (),
        tuple(z3.Int(f"mkey[{p + 1}]") for p in range(shape.puts)) if shape.key_epochs else (),
    )


# -- predicates -----------------------------------------------------------------------------


def hinted(x: AbstractState, params: Params, h: int, p: int) -> Term:
    """Node ``h``'s hint store holds put ``p`` (for some intended node)."""
    return zt.Or([zt.And(flag, params.cov[t[2]][p]) for t, flag in x.hint.items()
                  if t[0] == h])


def _covers_durably(x: AbstractState, params: Params, p: int) -> Term:
    in_store = [x.store[n][p] for n in range(len(x.shape.nodes))]
    in_hint = [zt.And(flag, params.cov[t[2]][p]) for t, flag in x.hint.items()]
    return zt.Or(in_store + in_hint)


def _covers(x: AbstractState, params: Params, p: int) -> Term:
    in_messages = [x.message(p)]
    for t in x.hmsg:
        in_messages.append(zt.And(x.hmsg[t] > 0, params.cov[t[2]][p]))
        in_messages.append(zt.And(x.hack[t] > 0, params.cov[t[2]][p]))
    return zt.Or(_covers_durably(x, params, p), *in_messages)


def covers(x: AbstractState, params: Params, p: int) -> Term:
    """Put ``p`` is in a store, a hint or an in-flight message (what
    :func:`acked_writes_durable` asks of an acknowledged put)."""
    return _covers(x, params, p)


def acked_writes_durable(x: AbstractState, params: Params) -> Term:
    """Every acknowledged put is in a store, a hint or an in-flight message (as
    model_check.properties; without deletes, the abstraction's bounds)."""
    return zt.And([zt.Implies(x.acked[p], _covers(x, params, p)) for p in range(x.shape.puts)])


def deleted(x: AbstractState, params: Params, p: int) -> Term:
    """Put ``p`` is in the true history of a delete a coordinator performed (session 37;
    ``model_check.properties.deleted``: acknowledged or indeterminate, its tombstones
    may be reaped; a tombstone covers itself). False in a shape without deletes."""
    if not x.shape.deletes:
        return z3.BoolVal(False)
    return zt.Or([zt.And(x.performed[d], params.tomb[d], params.hist[d][p])
                  for d in range(x.shape.puts)])


def durable_unless_deleted(x: AbstractState, params: Params) -> Term:
    """``acked_writes_durable`` as the checker states it with deletes
    (``model_check.properties.acked_writes_durable``, session 37): every acknowledged
    put is in a store, a hint or an in-flight message, unless a performed delete
    covers it (:func:`deleted`); without deletes, :func:`acked_writes_durable`."""
    return zt.And([zt.Implies(zt.And(x.acked[p], zt.Not(deleted(x, params, p))),
                              _covers(x, params, p)) for p in range(x.shape.puts)])


def hint_kept_until_acked(x: AbstractState, params: Params) -> Term:
    """Every deleted hint was acknowledged by its intended node."""
    return zt.And([zt.Implies(x.rec_deleted[t], x.rec_acked[t]) for t in x.rec_deleted])


def _counts_ok(x: AbstractState) -> Term:
    return zt.And(
        [c >= 0 for c in (*x.hmsg.values(), *x.hack.values(), x.drops, x.duplicates,
                          x.crashes, x.losses, *([] if x.restores is None else [x.restores]))]
    )


def strong_durable(x: AbstractState, params: Params) -> Term:
    """The strengthening of acked_writes_durable that is inductive (no disk loss)."""
    shape = x.shape
    return zt.And(
        _counts_ok(x),
        *[zt.Implies(x.acked[p], x.performed[p]) for p in range(shape.puts)],
        *[
            zt.Implies(x.performed[p], _covers_durably(x, params, p))
            for p in range(shape.puts)
        ],
        *[
            zt.Implies(
                zt.And(x.hack[t] > 0, params.cov[t[2]][p]), x.store[t[1]][p]
            )
            for t in x.hack
            for p in range(shape.puts)
        ],
    )


def strong_hints(x: AbstractState, params: Params) -> Term:
    """The strengthening of hint_kept_until_acked that is inductive."""
    return zt.And(
        _counts_ok(x),
        hint_kept_until_acked(x, params),
        *[zt.Implies(x.hack[t] > 0, x.rec_acked[t]) for t in x.hack],
    )


def initial(x: AbstractState, params: Params) -> Term:
    """The spec's initial state: every node up, nothing written, nothing in flight."""
    del params
    falses = [
        *x.side,
        *x.performed,
        *x.acked,
        *[f for table in (x.store, x.wmsg, x.rmsg, x.held, x.live, x.seen, x.knows)
          for row in table for f in row],
        *x.alive,
        *x.elsewhere,
        *x.mark,
        *x.todo.values(),
        *x.others.values(),
        *x.hint.values(),
        *x.rec_acked.values(),
        *x.rec_deleted.values(),
    ]
    zeros = [*x.hmsg.values(), *x.hack.values(), x.drops, x.duplicates, x.crashes, x.losses,
             *x.epoch, *x.kepoch]
    zeros += [] if x.restores is None else [x.restores]
    ring = [] if x.ring is None else ring_initial(x.ring)
    return zt.And(*x.up, *[zt.Not(f) for f in falses], *[c == 0 for c in zeros], *ring)



# -- readable states ----------------------------------------------------------------------------


def describe(m: Any, x: AbstractState, params: Params) -> str:
    """The facts that hold in ``x`` under model ``m``, briefly."""
    shape = x.shape
    nm = shape.nodes
    k = range(len(nm))
    parts = []
    down = [nm[n] for n in k if not bool_of(m, x.up[n])]
    if down:
        parts.append(f"down {{{', '.join(down)}}}")
    def actor(n: int, epoch: int, key: int) -> str:  # spec.state.actor_id's form
        return f"{nm[n]}~{epoch}" + (f".{key}" if key else "")

    later = [actor(n, int_of(m, x.epoch[n]), int_of(m, x.kepoch[n]) if x.kepoch else 0)
             for n in k if x.epoch and (int_of(m, x.epoch[n]) > 0
                                        or (x.kepoch and int_of(m, x.kepoch[n]) > 0))]
    if later:
        parts.append(f"lifetimes {{{', '.join(later)}}}")
    if (losses := int_of(m, x.losses)) > 0:
        parts.append(f"{losses} disk loss(es)")
    for n in k if x.mark else ():
        left = [nm[p] for (r, p), flag in x.todo.items() if r == n and bool_of(m, flag)]
        elsewhere = n in x.others and bool_of(m, x.others[n])
        marked = bool_of(m, x.mark[n])
        if marked or left or elsewhere:
            parts.append(f"{nm[n]} rebuilding" + (f" (exchanges left with {{{', '.join(left)}}})"
                                                  if left else "")
                         + (" (another key's exchanges left)" if elsewhere else "")
                         + ("" if marked else " (not marked)"))
    for p in range(shape.puts):
        facts = []
        if bool_of(m, x.performed[p]):
            facts.append("performed")
        if bool_of(m, x.acked[p]):
            facts.append("acked")
        for what, table in (("stored at", x.store), ("in flight to", x.wmsg),
                            ("in a reply to", x.rmsg), ("held by coordinator", x.held),
                            ("its own version stored at", x.live),
                            *([("its dot covered by the clock at", x.seen)]
                              if x.seen else []),
                            *([("its lifetime learnt retired by", x.knows)]
                              if x.knows else [])):
            where = [nm[n] for n in k if bool_of(m, table[n][p])]
            if where:
                facts.append(f"{what} {{{', '.join(where)}}}")
        if bool_of(m, x.alive[p]):
            facts.append("its own version in a message, hint or record")
        if x.elsewhere and bool_of(m, x.elsewhere[p]):
            facts.append("performed on another key")
        if shape.prune and bool_of(m, x.performed[p]):
            epoch_of_key = int_of(m, params.mkey[p]) if params.mkey else 0
            life = actor(int_of(m, params.minter[p]), int_of(m, params.mepoch[p]), epoch_of_key) \
                if 0 <= int_of(m, params.minter[p]) < len(nm) else "?"
            again = [str(q + 1) for q in range(shape.puts)
                     if q != p and bool_of(m, params.same[p][q])]
            facts.append(f"minted by {life}" + (f" (the dot of {{{', '.join(again)}}})"
                                                 if again else ""))
        if shape.deletes and bool_of(m, params.tomb[p]):
            gone = [str(q + 1) for q in range(shape.puts)
                    if q != p and bool_of(m, params.hist[p][q])]
            facts.append(f"a delete of {{{', '.join(gone)}}}")
        if facts:
            parts.append(f"put {p + 1}: {', '.join(facts)}")
    for t in x.hint:
        key = f"{nm[t[0]]} for {nm[t[1]]} (payload #{t[2]}: puts "
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
    if x.ring is not None:
        parts += describe_ring(lambda t: value_of(m, t), x.ring, nm)
    return "; ".join(parts) or "nothing"


Invariant = Callable[[AbstractState, Params], Term]
"""An invariant or property of the abstract state (a Z3 boolean term)."""


def new_states(shape: Shape) -> tuple[AbstractState, AbstractState, Params]:
    """Fresh pre- and post-state terms and the parameters (for the agreement checks)."""
    return _state(shape, ""), _state(shape, "'"), _params(shape)
