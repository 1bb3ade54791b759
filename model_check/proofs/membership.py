"""Membership change (spec/membership.py) in the Z3 encoding: the ring's state and
steps, beside the fixed-ring encoding of :mod:`model_check.proofs.abstraction`.

Theory of operation
-------------------
The spec's membership (paper 4.8, 4.9; :mod:`spec.membership`) is a log of
announced changes, each node's *view* (how many log entries it heard of), and
the range transfers of the current change that arrived. The encoding covers
configurations with **one** change (``joins + leaves + removes == 1``: the suite's
join-immediate, join-pending, leave-pending and, since session 24, the
force-removes) and one key, and keeps:

- ``log`` (Int): the log's length, 0 before the change, then 1 (``join`` or
  ``leave``), 2 (``handed``) and, with pending ownership, 3 (``settled``);
- ``subject`` (Int): the index of the node that joins (leaves), -1 before;
- ``view[n]`` (Int): how many log entries node ``n`` knows;
- ``handed[s->d]``: the transfer from ``s`` to ``d`` of the current change
  arrived; ``tmsg[s->d]`` (Int): range transfers from ``s`` to ``d`` in flight
  and ``tcov[s->d][p]``: their versions cover put ``p`` (all in-flight copies of
  one transfer carry the same versions: a second is not sent while one is in
  flight); ``carried[s->d]``: that transfer arrived carrying versions (session 35:
  its sender then forwards a late write, the late re-transfer);
- ``coord[n]``: node ``n`` coordinates a request (the guard of a handover that
  empties copies, and of the settlement: no request of a moved key in progress).

What the log implies (the ring before and after, the key's top N on each, the
transfers, the nodes that take part in gossip, the members a safe reap asks about:
:func:`reap_members`, :func:`reap_view_cases`) is computed here in Python from
:class:`Change` (the initial ring, the key's preference list over every node,
N, the rule), per possible subject, and enters the formulas as case splits on
``subject`` and ``log``. :func:`transfers` is the spec's pairing of senders and
receivers, in one function.

Every membership step is **exact** (its effect is determined by the abstract
pre-state): ``gossip``, ``join``, ``leave``, ``transfer`` (guards: pending
ownership waits until every member knows the change, the immediate rule only
until the sender does; the sender has no write of the key in flight to it),
the late re-transfer (``transfer again``, session 35: a transfer that arrived
carrying versions is sent again while its sender's copy covers a put the
receiver's does not, under the first transfer's other guards), ``handover``
(every transfer arrived and none in flight adds a version to its receiver's copy: a
stale duplicate does not hold it, session 35's review; with the immediate rule it
also empties the senders' copies, once no request is coordinated), ``settle`` (pending only:
every member knows the handover, no request coordinated; empties the senders'
copies), the delivery of a ``range-transfer`` (the receiver merges its versions;
the transfer counts for the change), and its loss at a down node, drop and
duplicate. The fixed-ring steps stay as they are: their over-approximation
already allows what the views change (which coordinator, which targets, a
message from a peer the receiver never heard of being ignored); only the
coordinator steps may now change ``coord`` and a crash clears it, and
anti-entropy runs between the nodes of the *current* ring's top N.

A force-remove (session 24; ``spec.membership.removals``) is the exact
``force-remove`` step: a member that knows the (empty) log announces a down node
removed, whose store and hints are emptied; its ``recover`` is refused from then
on (:func:`not_removed`); the survivors of the old top N send the transfers; the
claimant (the first member left, :meth:`Change.announcer`) announces the handover
once every member knows the removal and every transfer arrived, and the
settlement; nothing is emptied. A message from the removed node that a node knowing
the removal refuses is covered by the delivery steps' over-approximation (as a
message from a peer never heard of). The acknowledgement rule counts a removal as
a disk loss (an acknowledgement in flight from the removed node: transition.py).

Not encoded: more than one change per run (ProofInputError from
:func:`change_of`); a range transfer refused by a receiver that never heard of
its sender (with one change every sender is of the initial ring, which every
node knows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from model_check.errors import ProofInputError
from model_check.proofs import terms as zt

__all__ = [
    "Change",
    "RingState",
    "abstract_ring",
    "change_of",
    "describe_ring",
    "in_current_top",
    "in_exchange_candidates",
    "not_removed",
    "reap_members",
    "reap_view_cases",
    "ring_initial",
    "ring_state",
    "ring_steps",
    "same_view",
    "transfers",
]

Term = Any
Pair = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Change:
    """The one membership change a configuration may make (indexes into the
    shape's nodes, in ring order): ``kind`` "join", "leave" or "remove" (a
    force-remove, session 24); ``members``: the initial ring;
    ``candidates``: the nodes that may join (leave, be removed); ``pref``: the key's
    preference list over every node; ``n``; ``pending``: pending ownership
    (``features.join_handover = "pending"``) rather than the immediate rule."""

    kind: str
    members: tuple[int, ...]
    candidates: tuple[int, ...]
    pref: tuple[int, ...]
    n: int
    pending: bool

    @property
    def final(self) -> int:
        """The log's length once the change is complete (settled, or handed with
        the immediate rule)."""
        return 3 if self.pending else 2

    def after(self, subject: int) -> tuple[int, ...]:
        """The ring once ``subject`` joined (left)."""
        if self.kind == "join":
            return tuple(sorted({*self.members, subject}))
        return tuple(n for n in self.members if n != subject)

    def announcer(self, subject: int) -> int:
        """The node that announces the handover and the settlement: the node that
        joins (leaves), or for a removal the claimant, the first member after it in
        ring order (``spec.membership._latest``)."""
        return self.after(subject)[0] if self.kind == "remove" else subject

    def top(self, members: Sequence[int]) -> tuple[int, ...]:
        """The key's top N on the ring of ``members``."""
        return tuple(n for n in self.pref if n in members)[: self.n]

    def current(self, subject: int, log: int) -> tuple[int, ...]:
        """The ring of the whole log (the replicas anti-entropy is about)."""
        return self.members if log == 0 else self.after(subject)

    def involved(self, subject: int, log: int) -> tuple[int, ...]:
        """The nodes that take part in gossip: the initial ring before the change,
        then the old ring and the new, even once the change is complete (a node
        that left still tells what it knows; ``spec.membership._latest``)."""
        if log == 0:
            return self.members
        if self.kind == "remove":  # a force-removed node is out: it never comes back
            return self.after(subject)
        return tuple(sorted({*self.members, *self.after(subject)}))


def transfers(change: Change, subject: int) -> tuple[Pair, ...]:
    """The range transfers of ``subject``'s change, ``(sender, receiver)``: each node
    of the key's old top N that is not in its new top N sends to each node that is
    new in it; for a removal each node of the old top N that stays in it (the
    removed node's copies are lost) (``spec.membership._latest``: the one place to
    adapt if the spec pairs them otherwise)."""
    old = change.top(change.members)
    new = change.top(change.after(subject))
    removal = change.kind == "remove"
    return tuple((s, d) for s in old if (s in new) == removal for d in new if d not in old)


def change_of(config: Any, nodes: Sequence[str]) -> Change | None:
    """The :class:`Change` of a spec configuration (None: no ``[membership]``
    budget). Raises ProofInputError for more than one change per run."""
    if not config.membership:
        return None
    if config.joins + config.leaves + config.removes != 1:
        raise ProofInputError("the encoding covers one membership change per run")
    index = {n: j for j, n in enumerate(nodes)}
    members = tuple(index[n] for n in config.nodes)
    if config.joins:
        candidates = tuple(index[n] for n in config.joining)
    else:
        candidates = members if len(members) > config.n else ()
    key = config.keys[0]
    return Change(
        kind="join" if config.joins else "remove" if config.removes else "leave",
        members=members,
        candidates=candidates,
        pref=tuple(index[n] for n in config.ring.preference_list(key)),
        n=config.n,
        pending=config.join_handover == "pending",
    )


# -- the state -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RingState:
    """Z3 terms of the ring's state (see the module docstring)."""

    change: Change
    log: Term
    subject: Term
    view: tuple[Term, ...]
    handed: dict[Pair, Term]
    tmsg: dict[Pair, Term]
    tcov: dict[Pair, tuple[Term, ...]]
    coord: tuple[Term, ...]
    carried: dict[Pair, Term]


def _label(nodes: Sequence[str], pair: Pair) -> str:
    return f"{nodes[pair[0]]}->{nodes[pair[1]]}"


def ring_state(change: Change, nodes: Sequence[str], puts: int,
               boolean: Callable[[str], Term], integer: Callable[[str], Term]) -> RingState:
    """Fresh terms, named through ``boolean`` and ``integer`` (which record them)."""
    pairs = [(s, d) for s in range(len(nodes)) for d in range(len(nodes)) if s != d]
    return RingState(
        change,
        integer("log"),
        integer("subject"),
        tuple(integer(f"view[{n}]") for n in nodes),
        {t: boolean(f"handed[{_label(nodes, t)}]") for t in pairs},
        {t: integer(f"tmsg[{_label(nodes, t)}]") for t in pairs},
        {t: tuple(boolean(f"tcov[{_label(nodes, t)}][{p + 1}]") for p in range(puts))
         for t in pairs},
        tuple(boolean(f"coord[{n}]") for n in nodes),
        {t: boolean(f"carried[{_label(nodes, t)}]") for t in pairs},
    )


def ring_initial(r: RingState) -> list[Term]:
    """The initial ring: no change, every view empty, nothing handed or in flight."""
    return [
        r.log == 0, r.subject == -1,
        *[v == 0 for v in r.view], *[c == 0 for c in r.tmsg.values()],
        *[zt.Not(f) for f in (*r.handed.values(), *r.coord, *r.carried.values())],
        *[zt.Not(f) for cov in r.tcov.values() for f in cov],
    ]


def in_current_top(r: RingState, n: int) -> Term:
    """Node ``n`` is in the key's top N on the ring of the whole log."""
    change = r.change
    cases = [r.log == 0] if n in change.top(change.members) else []
    cases += [zt.And(r.log > 0, r.subject == j) for j in change.candidates
              if n in change.top(change.after(j))]
    return zt.Or(cases) if cases else z3.BoolVal(False)


def in_exchange_candidates(r: RingState, n: int) -> Term:
    """Node ``n`` may take part in an anti-entropy exchange of the key
    (:func:`spec.membership.exchange_candidates`): in its top N on the ring of the
    whole log, or on the ring before the change (an over-approximation: the spec
    drops the old owners once the change settled, and asks what the pair knows)."""
    change = r.change
    if n in change.top(change.members):
        return z3.BoolVal(True)
    return in_current_top(r, n)


def reap_members(change: Change, subject: int, view: int) -> tuple[int, ...]:
    """The nodes a safe reap by a node that knows ``view`` entries of ``subject``'s
    change asks about (:func:`spec.membership.reap_members`, guards 3 and 4 of
    :mod:`spec.deletes`): the initial ring before the change; the rings before and
    after it once the change is known (a joining and a leaving node included), also
    once handed over (the spec's view keeps the old ring until a settlement, so with
    the immediate rule until the end); only the ring after it once settled (a node
    that left is not asked any more)."""
    if view == 0:
        return change.members
    if view >= 3:
        return change.after(subject)
    return change.involved(subject, view)


def reap_view_cases(r: RingState, n: int) -> list[tuple[Term, tuple[int, ...]]]:
    """``(condition, members)`` for each view node ``n`` may have: the condition on
    ``view[n]`` (and the change's subject) under which :func:`reap_members` are the
    members its reap asks about. The conditions cover every view the log allows."""
    change = r.change
    cases: list[tuple[Term, tuple[int, ...]]] = [(r.view[n] == 0, change.members)]
    cases += [(zt.And(r.subject == j, r.view[n] == v), reap_members(change, j, v))
              for j in change.candidates for v in range(1, change.final + 1)]
    return cases


def same_view(r: RingState, n: int, members: Sequence[int]) -> Term:
    """Every node of ``members`` knows exactly the log entries node ``n`` knows
    (guard 4 of a safe reap: :func:`spec.membership.same_view`)."""
    return zt.And([r.view[m] == r.view[n] for m in members if m != n])


# -- the steps -----------------------------------------------------------------------------------


Add = Callable[..., None]
"""``add(name, family, exact, *parts, skip=...)``: a step of the relation (the
``add`` of :func:`model_check.proofs.transition.transition`)."""


@dataclass(frozen=True, slots=True)
class _Context:
    """What the steps are written against: pre- and post-state, the node names,
    the puts, the shape's variables' names and the merge."""

    x: Any  # AbstractState
    y: Any
    r: RingState
    s: RingState
    params: Any
    nm: tuple[str, ...]
    merge: Callable[[int, Sequence[Term]], list[Term]]
    add: Add

    @property
    def nodes(self) -> range:
        return range(len(self.nm))

    @property
    def puts(self) -> range:
        return range(len(self.x.performed))

    def label(self, pair: Pair) -> str:
        return _label(self.nm, pair)

    def reachable(self, a: int, b: int) -> Term:
        x = self.x
        return zt.And(x.up[a], x.up[b], x.side[a] == x.side[b])

    def everyone(self, subject: int, log: int) -> Term:
        """Every node taking part in gossip knows the whole log."""
        return zt.And([self.r.view[n] == log for n in self.r.change.involved(subject, log)])

    def store_names(self, n: int) -> set[str]:
        return {f"store[{self.nm[n]}][{q + 1}]" for q in self.puts}

    def emptied(self, senders: Sequence[int]) -> tuple[list[Term], set[str]]:
        """The senders' copies emptied (the change's last entry)."""
        parts = [zt.Not(self.y.store[n][q]) for n in senders for q in self.puts]
        return parts, {name for n in senders for name in self.store_names(n)}

    def drained(self) -> Term:
        """No request is being coordinated (one key: every request is of a moved key)."""
        return zt.And([zt.Not(c) for c in self.r.coord])

    def in_flight_done(self, pair: Pair, count: Term) -> list[Term]:
        """A transfer's count becomes ``count``; its versions go with the last copy."""
        s, r = self.s, self.r
        return [s.tmsg[pair] == count,
                *[s.tcov[pair][q] == zt.And(count > 0, r.tcov[pair][q]) for q in self.puts]]

    def pair_names(self, pair: Pair) -> set[str]:
        key = self.label(pair)
        return {f"tmsg[{key}]"} | {f"tcov[{key}][{q + 1}]" for q in self.puts}


def ring_steps(x: Any, y: Any, params: Any, merge: Callable[[int, Sequence[Term]], list[Term]],
               add: Add) -> None:
    """The membership steps from ``x`` to ``y`` (both with a ring), through ``add``;
    ``merge(n, incoming)``: node ``n``'s store after merging ``incoming`` (the
    configuration's store rule)."""
    ctx = _Context(x, y, x.ring, y.ring, params, x.shape.nodes, merge, add)
    _gossip_steps(ctx)
    _announce_steps(ctx)
    _transfer_steps(ctx)
    _handover_steps(ctx)
    _range_transfer_steps(ctx)


def _gossip_steps(ctx: _Context) -> None:
    r, s, change = ctx.r, ctx.s, ctx.r.change
    logs = range(change.final + 1)
    for a in ctx.nodes:
        for b in ctx.nodes:
            if a == b:
                continue
            # both take part in gossip (a case split on the log and its subject)
            cases = [zt.And(r.log == 0, r.subject == -1)] if {a, b} <= set(change.members) else []
            cases += [zt.And(r.log == log, r.subject == j) for j in change.candidates
                      for log in logs[1:] if {a, b} <= set(change.involved(j, log))]
            if not cases:
                continue
            ctx.add(f"gossip {ctx.nm[a]} {ctx.nm[b]}", "gossip", True,
                    zt.Or(cases), r.view[a] > r.view[b], ctx.reachable(a, b),
                    s.view[b] == r.view[a], skip={f"view[{ctx.nm[b]}]"})


def _announce_steps(ctx: _Context) -> None:
    """Join (leave): the change starts; its node knows the log."""
    r, s, change = ctx.r, ctx.s, ctx.r.change
    if change.kind == "remove":
        _remove_steps(ctx)
        return
    for j in change.candidates:
        guard = [r.log == 0, ctx.x.up[j]]
        if change.kind == "leave":
            guard.append(r.view[j] == r.log)
        ctx.add(f"{change.kind} {ctx.nm[j]}", change.kind, True,
                *guard, s.log == 1, s.subject == j, s.view[j] == 1,
                skip={"log", "subject", f"view[{ctx.nm[j]}]"})


def _remove_steps(ctx: _Context) -> None:
    """ForceRemove(X, by B) (session 24; ``spec.membership.removals``): X is down, B is
    up and knows the whole log (no change yet: one change per run); B announces the
    removal and knows it; X's store and hint store are emptied (its disk is gone) and
    it stays down (:func:`not_removed`, the guard of its ``recover``)."""
    x, y, r, s, change = ctx.x, ctx.y, ctx.r, ctx.s, ctx.r.change
    for j in change.candidates:
        hints = [t for t in x.hint if t[0] == j]
        empty = [zt.Not(y.store[j][q]) for q in ctx.puts] + [zt.Not(y.hint[t]) for t in hints]
        names = ctx.store_names(j) | {
            f"hint[{ctx.nm[t[0]]}->{ctx.nm[t[1]]}#{t[2]}]" for t in hints}
        for by in change.members:
            if by == j:
                continue
            ctx.add(f"force-remove {ctx.nm[j]} by {ctx.nm[by]}", "force-remove", True,
                    r.log == 0, zt.Not(x.up[j]), x.up[by], r.view[by] == r.log,
                    s.log == 1, s.subject == j, s.view[by] == 1, *empty,
                    skip={"log", "subject", f"view[{ctx.nm[by]}]"} | names)


def not_removed(r: RingState, n: int) -> Term:
    """Node ``n`` has not been force-removed (its ``Recover`` is refused once it is:
    ``spec.membership.is_removed``)."""
    if r.change.kind != "remove" or n not in r.change.candidates:
        return z3.BoolVal(True)
    return zt.Or(r.log == 0, r.subject != n)


def _blocked(ctx: _Context, pair: Pair) -> Term:
    """A transfer ``pair`` is in flight, or a write of the key to its sender."""
    x, r = ctx.x, ctx.r
    src = pair[0]
    writes = [*x.wmsg[src], *[c > 0 for t, c in r.tmsg.items() if t[1] == src]]
    writes += [c > 0 for t, c in x.hmsg.items() if t[1] == src]
    return zt.Or(r.tmsg[pair] > 0, *writes)


def _adds(ctx: _Context, versions: Sequence[Term], dst: int) -> Term:
    """``versions`` (per put: they cover it) add a version to ``dst``'s copy: they
    cover a put ``dst``'s store does not."""
    return zt.Or([zt.And(versions[q], zt.Not(ctx.x.store[dst][q])) for q in ctx.puts])


def _transfer_steps(ctx: _Context) -> None:
    """A sender of the change sends its copy of the key to a receiver."""
    r, s, change = ctx.r, ctx.s, ctx.r.change
    for pair in sorted({t for j in change.candidates for t in transfers(change, j)}):
        subjects = [j for j in change.candidates if pair in transfers(change, j)]
        cases = [zt.And(r.subject == j, ctx.everyone(j, 1)) if change.pending
                 else r.subject == j for j in subjects]
        key = ctx.label(pair)
        ctx.add(f"transfer {key}", "transfer", True,
                r.log == 1, zt.Or(cases), zt.Not(r.handed[pair]), r.view[pair[0]] >= 1,
                ctx.reachable(*pair), zt.Not(_blocked(ctx, pair)),
                s.tmsg[pair] == 1,
                *[s.tcov[pair][q] == ctx.x.store[pair[0]][q] for q in ctx.puts],
                skip=ctx.pair_names(pair))
        # the late re-transfer (spec.membership.late_transfers, session 35): a transfer
        # that arrived carrying versions is sent again while its sender's copy covers a
        # put the receiver's does not (a write that reached the sender after it)
        src, dst = pair
        adds = _adds(ctx, ctx.x.store[src], dst)
        ctx.add(f"transfer again {key}", "transfer", True,
                r.log == 1, zt.Or(cases), r.carried[pair], r.view[src] >= 1,
                ctx.reachable(*pair), zt.Not(_blocked(ctx, pair)), adds,
                s.tmsg[pair] == 1,
                *[s.tcov[pair][q] == ctx.x.store[src][q] for q in ctx.puts],
                skip=ctx.pair_names(pair))


def _handover_steps(ctx: _Context) -> None:
    """The change's node announces the handover (every transfer arrived), then, with
    pending ownership, the settlement; the last of them empties the senders'."""
    r, s, change = ctx.r, ctx.s, ctx.r.change
    clear = [zt.Not(f) for f in (*s.handed.values(), *s.carried.values())]
    cleared = ({f"handed[{ctx.label(t)}]" for t in r.handed}
               | {f"carried[{ctx.label(t)}]" for t in r.carried})
    removal = change.kind == "remove"
    for j in change.candidates:
        moves = transfers(change, j)
        name = ctx.nm[j]
        # the announcer: the node itself, or a removal's claimant, whose view grows
        by = change.announcer(j)
        view = f"view[{ctx.nm[by]}]"
        # a removal's senders stay owners: nothing is emptied
        senders = [] if removal else sorted({src for src, _ in moves})
        empty, emptied = ctx.emptied(senders)
        drained = [ctx.drained()] if moves else []
        last = [] if change.pending else [*drained, *empty]
        # a removal's claimant hears from every survivor once every member knows it
        heard = [ctx.everyone(j, 1)] if removal else []
        ctx.add(f"handover {name}", "handover", True,
                r.log == 1, r.subject == j, *[r.handed[t] for t in moves], ctx.x.up[by],
                # no (late re-)transfer in flight that adds a version to its receiver's
                # copy (a stale duplicate does not hold it: session 35's review)
                *[zt.Or(r.tmsg[t] == 0, zt.Not(_adds(ctx, r.tcov[t], t[1]))) for t in moves],
                *heard, *last, s.log == 2, s.view[by] == 2, *clear,
                skip={"log", view} | cleared | (set() if change.pending else emptied))
        if change.pending:
            ctx.add(f"settle {name}", "settle", True,
                    r.log == 2, r.subject == j, ctx.everyone(j, 2), ctx.x.up[by], *drained,
                    *empty, s.log == 3, s.view[by] == 3, *clear,
                    skip={"log", view} | cleared | emptied)


def _range_transfer_steps(ctx: _Context) -> None:
    """A range transfer delivered (merged, counted for the change), lost at a down
    receiver, dropped or duplicated."""
    x, r, s, change = ctx.x, ctx.r, ctx.s, ctx.r.change
    for pair in r.tmsg:
        dst = pair[1]
        key = ctx.label(pair)
        names = ctx.pair_names(pair)
        count = r.tmsg[pair]
        subjects = [j for j in change.candidates if pair in transfers(change, j)]
        counts = zt.And(r.log == 1, zt.Or([r.subject == j for j in subjects]))
        ctx.add(f"range-transfer {key}", "range-transfer", True,
                count > 0, x.up[dst], *ctx.in_flight_done(pair, count - 1),
                *ctx.merge(dst, r.tcov[pair]),
                s.handed[pair] == zt.Or(r.handed[pair], counts),
                # it counts as carried if it is the first to arrive and holds versions
                s.carried[pair] == zt.Or(r.carried[pair], zt.And(
                    counts, zt.Not(r.handed[pair]), zt.Or(list(r.tcov[pair])))),
                skip=names | ctx.store_names(dst) | {f"handed[{key}]", f"carried[{key}]"})
        ctx.add(f"range-transfer lost at down {ctx.nm[dst]} {key}", "range-transfer lost", True,
                count > 0, zt.Not(x.up[dst]), *ctx.in_flight_done(pair, count - 1),
                skip=names)
        ctx.add(f"drop transfer {key}", "drop transfer", True,
                count > 0, x.drops < ctx.params.max_drops, ctx.y.drops == x.drops + 1,
                *ctx.in_flight_done(pair, count - 1), skip=names | {"drops"})
        ctx.add(f"duplicate transfer {key}", "duplicate transfer", True,
                count > 0, x.duplicates < ctx.params.max_duplicates,
                ctx.y.duplicates == x.duplicates + 1, s.tmsg[pair] == count + 1,
                skip={f"tmsg[{key}]", "duplicates"})


# -- the abstraction function and display ----------------------------------------------------


def abstract_ring(state: Any, nodes: Sequence[str], puts: int,
                  coverage: Callable[[Any], set[int]]) -> dict[str, Any]:
    """The ring's variables of a spec state (``coverage(payload)``: the puts a
    payload's versions cover, by their true histories)."""
    from spec.state import Kind

    ms = state.membership
    index = {n: j for j, n in enumerate(nodes)}
    out: dict[str, Any] = {"log": len(ms.log),
                           "subject": index[ms.log[0][1]] if ms.log else -1}
    for n, view, node in zip(nodes, ms.views, state.nodes, strict=True):
        out[f"view[{n}]"] = view
        out[f"coord[{n}]"] = bool(node.coord)
    for a in nodes:
        for b in nodes:
            if a != b:
                out[f"handed[{a}->{b}]"] = False
                out[f"carried[{a}->{b}]"] = False
                out[f"tmsg[{a}->{b}]"] = 0
                for p in range(puts):
                    out[f"tcov[{a}->{b}][{p + 1}]"] = False
    for _, src, dst in ms.handed:
        out[f"handed[{src}->{dst}]"] = True
    for _, src, dst in ms.carried:
        out[f"carried[{src}->{dst}]"] = True
    for m in state.messages:
        if m.kind is Kind.RANGE_TRANSFER:
            out[f"tmsg[{m.src}->{m.dst}]"] += 1
            for p in coverage(m.payload):
                out[f"tcov[{m.src}->{m.dst}][{p}]"] = True
    return out


def describe_ring(value: Callable[[Term], Any], r: RingState, nodes: Sequence[str]) -> list[str]:
    """The ring's facts under a model (``value(term)``: its value), briefly."""
    log, subject = value(r.log), value(r.subject)
    if log == 0:
        return []
    parts = [f"{r.change.kind} of {nodes[subject]}: log length {log}, views "
             + ", ".join(f"{n}={value(v)}" for n, v in zip(nodes, r.view, strict=True))]
    handed = [_label(nodes, t) for t, f in r.handed.items() if value(f)]
    if handed:
        parts.append(f"transfers arrived {{{', '.join(handed)}}}")
    carried = [_label(nodes, t) for t, f in r.carried.items() if value(f)]
    if carried:
        parts.append(f"carrying versions {{{', '.join(carried)}}}")
    for t, count in r.tmsg.items():
        if (c := value(count)) > 0:
            covered = [str(p + 1) for p, f in enumerate(r.tcov[t]) if value(f)]
            parts.append(f"{c} transfer(s) {_label(nodes, t)} in flight with puts "
                         f"{{{', '.join(covered)}}}")
    return parts
