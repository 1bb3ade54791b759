"""DVVSet (spec/dvv.py, a port of the reference dvvset.erl) in Z3, for bounded sizes.

Theory of operation
-------------------
A symbolic DVVSet over ``IDS`` server ids (``0 .. IDS-1``, in the spec's sorted
order) and values drawn from ``0 .. VALUES-1`` holds, per id, a *present* flag (an
entry with counter 0 is not the same as no entry, in the reference as here), a
counter, the number of values of the entry and a fixed number of value slots
(newest first: slot ``j`` carries the dot ``(id, counter - j)``), and for the
anonymous values one Boolean per possible value (the spec keeps them as a set).

The operations are the spec's, case for case:

- ``_merge`` (the reference's merge/5): the larger counter wins; its values are cut
  to those the other side has not seen overwritten;
- ``_sync_entries`` (sync2/2) walks both sorted entry lists; when it takes an entry
  only the *second* list has, the two lists swap roles (the reference recurses as
  ``sync2(T2, C1)``). The swap only matters to ``_merge`` of two entries with equal
  counters and different values; the encoding tracks it anyway, so the agreement
  test can run on any clocks;
- ``less`` (greater/3): every entry of ``a`` is in ``b`` with a counter no larger,
  and ``b`` has an extra entry or a larger counter;
- ``sync``: the entries as above; the anonymous values of the strictly older side
  are dropped, otherwise both sides' are kept;
- ``update(new(context, value), server, id)`` (update/3): ``sync`` of the context
  (no values) with the server's clock, then ``event``: the id's counter plus one,
  the new value in front of its values.

*Well-formed* clocks (what the spec can build): ``0 <= values <= counter``; an
absent entry has counter 0 and no values. *Consistent* clocks agree on the value
of every dot both hold (a dot names one write, and a write has one value).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from model_check.proofs import terms as zt
from model_check.proofs.framework import Proof, Query, bool_of, int_of

__all__ = [
    "IDS",
    "PROOFS",
    "SLOTS",
    "VALUES",
    "SymbolicDVV",
    "consistent",
    "context_of",
    "decode",
    "fresh",
    "join_dominates",
    "less",
    "new_with_context",
    "same",
    "sync",
    "update",
    "wellformed",
]

#: Server ids in the proofs (``a``, ``b``, ``c``), value slots per entry, possible values.
IDS = 3
SLOTS = 2
VALUES = 3
ID_NAMES = "abcdefgh"

Term = Any


@dataclass(frozen=True, slots=True)
class SymbolicEntry:
    present: Term
    counter: Term
    length: Term
    slots: tuple[Term, ...]  # newest first


@dataclass(frozen=True, slots=True)
class SymbolicDVV:
    entries: tuple[SymbolicEntry, ...]  # one per id, in id order
    anonymous: tuple[Term, ...]  # anonymous[u]: value u is an anonymous value


def fresh(name: str, ids: int = IDS, slots: int = SLOTS, values: int = VALUES) -> SymbolicDVV:
    """A DVVSet of fresh constants."""
    entries = tuple(
        SymbolicEntry(
            z3.Bool(f"{name}.{ID_NAMES[i]}.present"),
            z3.Int(f"{name}.{ID_NAMES[i]}.counter"),
            z3.Int(f"{name}.{ID_NAMES[i]}.length"),
            tuple(z3.Int(f"{name}.{ID_NAMES[i]}[{j}]") for j in range(slots)),
        )
        for i in range(ids)
    )
    anonymous = tuple(z3.Bool(f"{name}.anonymous.{u}") for u in range(values))
    return SymbolicDVV(entries, anonymous)


def no_anonymous(clock: SymbolicDVV) -> Term:
    return zt.And([zt.Not(a) for a in clock.anonymous])


def wellformed(clock: SymbolicDVV) -> Term:
    """What spec.dvv.Entry accepts, in the bounds: 0 <= len(values) <= counter."""
    parts = []
    for e in clock.entries:
        parts += [
            e.length >= 0,
            e.length <= e.counter,
            e.length <= len(e.slots),
            zt.Implies(zt.Not(e.present), zt.And(e.counter == 0, e.length == 0)),
            *[zt.And(v >= 0, v < len(clock.anonymous)) for v in e.slots],
        ]
    return zt.And(parts)


def _holds(e: SymbolicEntry, dot: Term) -> Term:
    """Entry ``e`` holds a value at counter ``dot``."""
    return zt.And(e.present, dot <= e.counter, dot > e.counter - e.length)


def _value_at(e: SymbolicEntry, dot: Term) -> Term:
    term = e.slots[-1]
    for j in range(len(e.slots) - 2, -1, -1):
        term = z3.If(e.counter - j == dot, e.slots[j], term)
    return term


def holds_value(e: SymbolicEntry, dot: Term, value: Term) -> Term:
    """Entry ``e`` holds ``value`` at the dot ``(id, dot)``."""
    return zt.Or(
        [
            zt.And(j < e.length, e.present, e.counter - j == dot, e.slots[j] == value)
            for j in range(len(e.slots))
        ]
    )


def consistent(a: SymbolicDVV, b: SymbolicDVV) -> Term:
    """Every dot held by both clocks carries the same value in both."""
    parts = []
    for ea, eb in zip(a.entries, b.entries, strict=True):
        for j in range(len(ea.slots)):
            dot = ea.counter - j
            parts.append(
                zt.Implies(
                    zt.And(j < ea.length, ea.present, _holds(eb, dot)),
                    ea.slots[j] == _value_at(eb, dot),
                )
            )
    return zt.And(parts)


def same(a: SymbolicDVV, b: SymbolicDVV) -> Term:
    """Python equality of the canonical values (entries, values, anonymous set)."""
    parts = []
    for ea, eb in zip(a.entries, b.entries, strict=True):
        common = min(len(ea.slots), len(eb.slots))
        slot_eq = [zt.Implies(j < ea.length, ea.slots[j] == eb.slots[j]) for j in range(common)]
        slot_eq += [ea.length <= common]  # a longer list cannot equal a shorter one
        parts.append(
            zt.And(
                ea.present == eb.present,
                zt.Implies(
                    ea.present,
                    zt.And(ea.counter == eb.counter, ea.length == eb.length, *slot_eq),
                ),
            )
        )
    parts += [x == y for x, y in zip(a.anonymous, b.anonymous, strict=True)]
    return zt.And(parts)


def _greater(c1: SymbolicDVV, c2: SymbolicDVV) -> Term:
    """The reference's greater/3 on entry lists: c1's history strictly exceeds c2's."""
    pairs = list(zip(c1.entries, c2.entries, strict=True))
    covers = zt.And(
        [zt.Implies(e2.present, zt.And(e1.present, e1.counter >= e2.counter)) for e1, e2 in pairs]
    )
    strict = zt.Or(
        [
            zt.Or(
                zt.And(e1.present, zt.Not(e2.present)),
                zt.And(e1.present, e2.present, e1.counter > e2.counter),
            )
            for e1, e2 in pairs
        ]
    )
    return zt.And(covers, strict)


def less(a: SymbolicDVV, b: SymbolicDVV) -> Term:
    """``a``'s causal history is strictly older than ``b``'s."""
    return _greater(b, a)


def _pick(cond: Term, x: Term, y: Term) -> Term:
    return z3.If(cond, x, y)


def _slots(values: Sequence[Term], width: int) -> list[Term]:
    return [values[j] if j < len(values) else z3.IntVal(0) for j in range(width)]


def _merge(e1: SymbolicEntry, e2: SymbolicEntry) -> tuple[Term, Term, list[Term]]:
    """The reference's merge/5: (counter, length, slots)."""
    n1, l1, n2, l2 = e1.counter, e1.length, e2.counter, e2.length
    width = max(len(e1.slots), len(e2.slots))
    s1, s2 = _slots(e1.slots, width), _slots(e2.slots, width)
    first = n1 >= n2
    keep1 = n1 - l1 >= n2 - l2
    keep2 = n2 - l2 >= n1 - l1
    counter = _pick(first, n1, n2)
    length = _pick(first, _pick(keep1, l1, n1 - n2 + l2), _pick(keep2, l2, n2 - n1 + l1))
    slots = [_pick(first, s1[j], s2[j]) for j in range(width)]
    return counter, length, slots


MergeFn = Callable[[SymbolicEntry, SymbolicEntry], tuple[Term, Term, list[Term]]]


def _side(swapped: Term, first: SymbolicEntry, second: SymbolicEntry, width: int
          ) -> SymbolicEntry:
    """``second`` if ``swapped`` else ``first``, slot by slot."""
    return SymbolicEntry(
        _pick(swapped, second.present, first.present),
        _pick(swapped, second.counter, first.counter),
        _pick(swapped, second.length, first.length),
        tuple(
            _pick(swapped, y, z)
            for y, z in zip(_slots(second.slots, width), _slots(first.slots, width), strict=True)
        ),
    )


def _sync_entries(a: SymbolicDVV, b: SymbolicDVV, merge: MergeFn) -> tuple[SymbolicEntry, ...]:
    """sync2/2 over the id universe, with the reference's role swaps."""
    ids = len(a.entries)
    swapped: Term = z3.BoolVal(False)  # is b the "left" list at this id?
    out = []
    for x in range(ids):
        ea, eb = a.entries[x], b.entries[x]
        width = max(len(ea.slots), len(eb.slots))
        e1, e2 = _side(swapped, ea, eb, width), _side(swapped, eb, ea, width)
        counter, length, slots = merge(e1, e2)
        width = len(slots)
        only1 = zt.And(e1.present, zt.Not(e2.present))
        both = zt.And(e1.present, e2.present)
        s1, s2 = _slots(e1.slots, width), _slots(e2.slots, width)
        out.append(
            SymbolicEntry(
                zt.Or(e1.present, e2.present),
                z3.If(both, counter, z3.If(only1, e1.counter, e2.counter)),
                z3.If(both, length, z3.If(only1, e1.length, e2.length)),
                tuple(
                    z3.If(both, slots[j], z3.If(only1, s1[j], s2[j])) for j in range(width)
                ),
            )
        )
        # taking an entry only the right list has, while the left list still has
        # entries, swaps the lists' roles
        left_rest = zt.Or(
            [_pick(swapped, b.entries[z].present, a.entries[z].present)
             for z in range(x + 1, ids)]
            or [z3.BoolVal(False)]
        )
        only2 = zt.And(e2.present, zt.Not(e1.present))
        swapped = z3.Xor(swapped, zt.And(only2, left_rest))
    return tuple(out)


def sync(a: SymbolicDVV, b: SymbolicDVV, merge: MergeFn = _merge) -> SymbolicDVV:
    """The spec's sync(a, b)."""
    a_older, b_older = less(a, b), less(b, a)
    anonymous = tuple(
        z3.If(a_older, y, z3.If(b_older, x, zt.Or(x, y)))
        for x, y in zip(a.anonymous, b.anonymous, strict=True)
    )
    return SymbolicDVV(_sync_entries(a, b, merge), anonymous)


def _event(entries: Sequence[SymbolicEntry], server: int, value: Term) -> tuple[SymbolicEntry, ...]:
    out = []
    for x, e in enumerate(entries):
        if x != server:
            out.append(SymbolicEntry(e.present, e.counter, e.length, (*e.slots, z3.IntVal(0))))
            continue
        out.append(
            SymbolicEntry(
                z3.BoolVal(True),
                z3.If(e.present, e.counter + 1, 1),
                z3.If(e.present, e.length + 1, 1),
                (value, *e.slots),
            )
        )
    return tuple(out)


def new_with_context(
    context: Sequence[tuple[Term, Term]], value: Term, values: int = VALUES
) -> SymbolicDVV:
    """``new(vector, value)``: ``context`` is (present, counter) per id; no entry values."""
    entries = tuple(SymbolicEntry(p, n, z3.IntVal(0), ()) for p, n in context)
    return SymbolicDVV(entries, tuple(value == u for u in range(values)))


def context_of(clock: SymbolicDVV) -> list[tuple[Term, Term]]:
    """``join(clock)`` as (present, counter) per id."""
    return [(e.present, e.counter) for e in clock.entries]


def update(
    client: SymbolicDVV,
    value: Term,
    server_clock: SymbolicDVV,
    server: int,
    merge: MergeFn = _merge,
) -> SymbolicDVV:
    """update/3: ``client`` is ``new(context, value)`` (its one anonymous value is
    ``value``); sync its history with the server's clock, then the event."""
    bare = SymbolicDVV(client.entries, tuple(z3.BoolVal(False) for _ in client.anonymous))
    synced = sync(bare, server_clock, merge)
    return SymbolicDVV(_event(synced.entries, server, value), synced.anonymous)


def _update_ignoring_server(
    client: SymbolicDVV,
    value: Term,
    server_clock: SymbolicDVV,
    server: int,
    merge: MergeFn = _merge,
) -> SymbolicDVV:
    # mutant: update/2 on the client's context, the server's clock ignored
    del server_clock, merge
    return SymbolicDVV(
        _event(client.entries, server, value), tuple(z3.BoolVal(False) for _ in client.anonymous)
    )


def _update_without_dot(
    client: SymbolicDVV,
    value: Term,
    server_clock: SymbolicDVV,
    server: int,
    merge: MergeFn = _merge,
) -> SymbolicDVV:
    # mutant: the new value is filed as an anonymous value, without a new event
    bare = SymbolicDVV(client.entries, tuple(z3.BoolVal(False) for _ in client.anonymous))
    synced = sync(bare, server_clock, merge)
    anonymous = tuple(zt.Or(a, value == u) for u, a in enumerate(synced.anonymous))
    del server
    return SymbolicDVV(synced.entries, anonymous)


def join_dominates(a: SymbolicDVV, context: Sequence[tuple[Term, Term]]) -> Term:
    """join(a) strictly dominates the version vector ``context`` (as VClocks: zero
    counters count as absent)."""
    pairs = list(zip(a.entries, context, strict=True))
    descends = zt.And([z3.If(p, n, 0) <= z3.If(e.present, e.counter, 0) for e, (p, n) in pairs])
    differs = zt.Or([z3.If(p, n, 0) != z3.If(e.present, e.counter, 0) for e, (p, n) in pairs])
    return zt.And(descends, differs)


def decode(clock: SymbolicDVV, ids: Sequence[str], read: Callable[[Term], Any]) -> Any:
    """A symbolic DVVSet back to a spec DVVSet, reading each term with ``read``
    (``framework.evaluate`` for closed terms, or a model's evaluation)."""
    from spec.dvv import DVVSet

    entries = []
    for name, e in zip(ids, clock.entries, strict=True):
        if not read(e.present):
            continue
        length = read(e.length)
        entries.append((name, read(e.counter), [read(e.slots[j]) for j in range(length)]))
    anonymous = [u for u, flag in enumerate(clock.anonymous) if read(flag)]
    return DVVSet.of(entries, anonymous)


def _show(m: Any, **clocks: SymbolicDVV) -> str:
    def read(term: Term) -> Any:
        value = m.eval(term, model_completion=True)
        if z3.is_int_value(value):
            return value.as_long()
        return z3.is_true(value)

    parts = []
    for name, clock in clocks.items():
        try:
            text = repr(decode(clock, ID_NAMES[: len(clock.entries)], read))
        except ValueError as error:  # an ill-formed clock (a twin without that hypothesis)
            text = f"<ill-formed: {error}>"
        parts.append(f"{name} = {text.removeprefix('DVVSet.of')}")
    return ", ".join(parts)


# -- the proofs ------------------------------------------------------------------------------------


def _sync_law(
    law: str, anonymous_allowed: bool, dots_consistent: bool = True, merge: MergeFn = _merge
) -> Iterator[Query]:
    a, b, c = fresh("a"), fresh("b"), fresh("c")
    hyp = [wellformed(x) for x in (a, b, c)]
    if not anonymous_allowed:
        hyp += [no_anonymous(x) for x in (a, b, c)]
    if dots_consistent:
        hyp += [consistent(a, b), consistent(b, c), consistent(a, c)]
    if law == "commutative":
        left, right = sync(a, b, merge), sync(b, a, merge)
        shown: dict[str, SymbolicDVV] = {"a": a, "b": b}
        lhs, rhs = "sync(a, b)", "sync(b, a)"
    elif law == "associative":
        left, right = sync(sync(a, b, merge), c, merge), sync(a, sync(b, c, merge), merge)
        shown = {"a": a, "b": b, "c": c}
        lhs, rhs = "sync(sync(a, b), c)", "sync(a, sync(b, c))"
    else:
        left, right = sync(a, a, merge), a
        shown = {"a": a}
        lhs, rhs = "sync(a, a)", "a"

    def explain(m: Any) -> str:
        return (
            f"{_show(m, **shown)}: {lhs} = {_show(m, x=left)[4:]}, {rhs} = {_show(m, x=right)[4:]}"
        )

    yield Query(
        f"{IDS} ids, {SLOTS} values per entry",
        (*hyp, zt.Not(same(left, right))),
        explain,
        minimize=law == "idempotent",
    )


def _merge_concatenating(e1: SymbolicEntry, e2: SymbolicEntry) -> tuple[Term, Term, list[Term]]:
    # mutant: equal counters keep both entries' values (siblings united without
    # noticing they are the same dots)
    counter, length, slots = _merge(e1, e2)
    width = len(slots)
    both = [*_slots(e1.slots, width), *_slots(e2.slots, width)]
    # the concatenation e1 ++ e2: slot j is e1's if j < len(e1), else e2's slot j - len(e1)
    cat = []
    for j in range(2 * width):
        term = both[j] if j < width else z3.IntVal(0)
        for k in range(width):
            term = z3.If(e1.length == j - k, _slots(e2.slots, width)[k], term) if j >= k else term
        cat.append(z3.If(j < e1.length, both[j] if j < width else z3.IntVal(0), term))
    equal = e1.counter == e2.counter
    return (
        counter,
        z3.If(equal, e1.length + e2.length, length),
        [z3.If(equal, cat[j], slots[j] if j < width else z3.IntVal(0)) for j in range(2 * width)],
    )


UpdateFn = Callable[..., SymbolicDVV]


def _update_law(law: str, upd: UpdateFn) -> Iterator[Query]:
    server_clock, reader = fresh("server"), fresh("read")
    value, server = z3.Int("value"), 0
    # the client's context: join of a clock it read (any well-formed clock)
    context = context_of(reader)
    client = new_with_context(context, value)
    result = upd(client, value, server_clock, server)
    hyp = [
        wellformed(server_clock),
        wellformed(reader),
        no_anonymous(server_clock),
        value >= 0,
        value < VALUES,
    ]
    if law == "dominates":
        goal = join_dominates(result, context)
        what = "join(update) does not strictly dominate the context"
    else:
        kept = []
        for x, e in enumerate(server_clock.entries):
            p, n = context[x]
            covered = z3.If(p, n, 0)
            for j in range(len(e.slots)):
                dot = e.counter - j
                mine = zt.And(j < e.length, e.present, dot > covered)
                kept.append(zt.Implies(mine, holds_value(result.entries[x], dot, e.slots[j])))
        goal = zt.And(kept)
        what = "a server value whose dot the context does not cover is gone"

    def explain(m: Any) -> str:
        ctx = {ID_NAMES[x]: int_of(m, n) for x, (p, n) in enumerate(context) if bool_of(m, p)}
        return (
            f"server clock {_show(m, s=server_clock)[4:]}, context {ctx}, new value "
            f"{int_of(m, value)} at server {ID_NAMES[server]}: update = "
            f"{_show(m, u=result)[4:]}; {what}"
        )

    yield Query(f"{IDS} ids, {SLOTS} values per entry", (*hyp, zt.Not(goal)), explain)


BOUNDS = f"{IDS} ids, up to {SLOTS} values per entry, {VALUES} distinct values"

PROOFS: tuple[Proof, ...] = (
    Proof(
        "dvv_sync_commutative",
        "sync(a, b) = sync(b, a) for well-formed DVVSets that agree on the value of every "
        "dot both hold (anonymous values included).",
        BOUNDS,
        lambda: _sync_law("commutative", anonymous_allowed=True),
        "the two clocks may hold different values at the same dot",
        lambda: _sync_law("commutative", anonymous_allowed=True, dots_consistent=False),
        group="dvv",
    ),
    Proof(
        "dvv_sync_associative",
        "sync(sync(a, b), c) = sync(a, sync(b, c)) for well-formed, pairwise consistent "
        "DVVSets without anonymous values (the clocks replicas store and sync).",
        BOUNDS,
        lambda: _sync_law("associative", anonymous_allowed=False),
        "anonymous values allowed (client-side clocks): the reference's rule for them "
        "(drop the strictly older side's, else keep both) is not associative",
        lambda: _sync_law("associative", anonymous_allowed=True),
        group="dvv",
    ),
    Proof(
        "dvv_sync_idempotent",
        "sync(a, a) = a for every well-formed DVVSet (anonymous values included).",
        BOUNDS,
        lambda: _sync_law("idempotent", anonymous_allowed=True),
        "merge of two entries with equal counters keeps both entries' values",
        lambda: _sync_law("idempotent", anonymous_allowed=True, merge=_merge_concatenating),
        group="dvv",
    ),
    Proof(
        "dvv_update_dominates_context",
        "update(new(context, v), server_clock, id) has a causal history (join) that "
        "strictly dominates the context, for every context and well-formed server clock.",
        BOUNDS,
        lambda: _update_law("dominates", update),
        "the new value is filed as an anonymous value, without a new event (dot)",
        lambda: _update_law("dominates", _update_without_dot),
        group="dvv",
    ),
    Proof(
        "dvv_update_keeps_uncovered_values",
        "update(new(context, v), server_clock, id) keeps, at the same dot, every value of "
        "the server's clock whose dot the context does not cover (a concurrent write is "
        "never discarded).",
        BOUNDS,
        lambda: _update_law("keeps", update),
        "update ignores the server's clock (update/2 on the client's context): the "
        "coordinator overwrites what it stored",
        lambda: _update_law("keeps", _update_ignoring_server),
        group="dvv",
    ),
)
