"""The laws of vector clocks, proved by Z3 over the definitions of spec/vclock.py.

Theory of operation
-------------------
Each law is stated once over the :class:`~model_check.proofs.vclock.Clocks`
interface and proved on both backends (unbounded clocks, arrays ``Int -> Int``,
and bounded clocks of ``K`` entries): descends is a partial order on well-formed
clocks, compare is antisymmetric and exhaustive, merge is the least upper bound
(commutative, associative, idempotent), increment dominates, and reconcile keeps
exactly the versions no other version strictly dominates. Every law has a
deliberately broken twin (a definition with a plausible bug, or a hypothesis
dropped) that Z3 must refute, so no proof is vacuous.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import z3

from model_check.proofs import terms as zt
from model_check.proofs.framework import Proof, Query, bool_of, int_of
from model_check.proofs.vclock import (
    AFTER,
    BEFORE,
    CONCURRENT,
    EQUAL,
    ORDER_NAMES,
    VERSIONS,
    BoundedClocks,
    Clock,
    Clocks,
    K,
    Node,
    Term,
    UnboundedClocks,
    compare,
    descends,
    dominates,
    increment,
    merge,
    reconcile_kept,
    wellformed,
)

__all__ = ["PROOFS"]


def _show(backend: Clocks, model: Any, **clocks: Clock) -> str:
    return ", ".join(f"{name} = {backend.show(model, clock)}" for name, clock in clocks.items())


def _law(
    label: str,
    make: Callable[[Clocks], tuple[list[Term], Callable[[Any], str]]],
    backends: Sequence[Clocks] | None = None,
) -> Iterator[Query]:
    for c in backends or (UnboundedClocks(), BoundedClocks(K)):
        assertions, explain = make(c)
        yield Query(f"{label} {c.name}", tuple(assertions), explain)


def _three(c: Clocks, well: bool = True) -> tuple[Clock, Clock, Clock, list[Term]]:
    a, b, d = c.fresh("a"), c.fresh("b"), c.fresh("c")
    hypotheses = [wellformed(c, x) for x in (a, b, d)] if well else []
    return a, b, d, hypotheses


def _reflexive(
    desc: Callable[[Clocks, Clock, Clock], Term],
) -> Callable[[Clocks], tuple[list[Term], Callable[[Any], str]]]:
    def make(c: Clocks) -> tuple[list[Term], Callable[[Any], str]]:
        a, _, _, hyp = _three(c)
        return [*hyp, zt.Not(desc(c, a, a))], lambda m: (
            f"a = {c.show(m, a)} does not descend itself"
        )

    return make


def _strict_descends(c: Clocks, a: Clock, b: Clock) -> Term:
    # mutant: ">" where the spec has ">="
    return c.forall_nodes(lambda n: zt.Implies(c.at(b, n) != 0, c.at(a, n) > c.at(b, n)))


def _antisymmetric(well: bool) -> Callable[[Clocks], tuple[list[Term], Callable[[Any], str]]]:
    def make(c: Clocks) -> tuple[list[Term], Callable[[Any], str]]:
        a, b, _, hyp = _three(c, well)
        goal = zt.Implies(zt.And(descends(c, a, b), descends(c, b, a)), c.same(a, b))
        return [*hyp, zt.Not(goal)], lambda m: (
            f"{_show(c, m, a=a, b=b)}: each descends the other, yet they differ"
        )

    return make


def _shared_descends(c: Clocks, a: Clock, b: Clock) -> Term:
    # mutant: only nodes present in both clocks are compared
    return c.forall_nodes(
        lambda n: zt.Implies(
            zt.And(c.at(a, n) != 0, c.at(b, n) != 0), c.at(a, n) >= c.at(b, n)
        )
    )


def _transitive(
    desc: Callable[[Clocks, Clock, Clock], Term],
) -> Callable[[Clocks], tuple[list[Term], Callable[[Any], str]]]:
    def make(c: Clocks) -> tuple[list[Term], Callable[[Any], str]]:
        a, b, d, hyp = _three(c)
        goal = zt.Implies(zt.And(desc(c, a, b), desc(c, b, d)), desc(c, a, d))
        return [*hyp, zt.Not(goal)], lambda m: (
            f"{_show(c, m, a=a, b=b, c=d)}: a descends b, b descends c, a does not descend c"
        )

    return make


CompareFn = Callable[[Clocks, Clock, Clock], Term]


def _compare_without_equal(c: Clocks, a: Clock, b: Clock) -> Term:
    # mutant: the EQUAL test is dropped, so a clock compares AFTER itself
    return z3.If(descends(c, a, b), AFTER, z3.If(descends(c, b, a), BEFORE, CONCURRENT))


def _flip(order: Term) -> Term:
    return z3.If(order == AFTER, BEFORE, z3.If(order == BEFORE, AFTER, order))


def _compare_antisymmetric(cmp: CompareFn) -> Callable[[Clocks], tuple[list[Term], Any]]:
    def make(c: Clocks) -> tuple[list[Term], Any]:
        a, b, _, hyp = _three(c)

        def explain(m: Any) -> str:
            ab, ba = int_of(m, cmp(c, a, b)), int_of(m, cmp(c, b, a))
            return (
                f"{_show(c, m, a=a, b=b)}: compare(a, b) = {ORDER_NAMES[ab]} but "
                f"compare(b, a) = {ORDER_NAMES[ba]}"
            )

        return [*hyp, cmp(c, a, b) != _flip(cmp(c, b, a))], explain

    return make


DominatesFn = Callable[[Clocks, Clock, Clock], Term]


def _compare_exhaustive(dom: DominatesFn) -> Callable[[Clocks], tuple[list[Term], Any]]:
    """compare() agrees with the relations, and exactly one relation holds."""

    def make(c: Clocks) -> tuple[list[Term], Any]:
        a, b, _, hyp = _three(c)
        order = compare(c, a, b)
        relations = {
            EQUAL: c.same(a, b),
            AFTER: dom(c, a, b),
            BEFORE: dom(c, b, a),
            CONCURRENT: zt.And(zt.Not(descends(c, a, b)), zt.Not(descends(c, b, a))),
        }
        exactly_one = z3.PbEq([(r, 1) for r in relations.values()], 1)
        agrees = zt.And([(order == code) == rel for code, rel in relations.items()])

        def explain(m: Any) -> str:
            held = [ORDER_NAMES[code] for code, rel in relations.items() if bool_of(m, rel)]
            return (
                f"{_show(c, m, a=a, b=b)}: relations that hold: {held or 'none'}; "
                f"compare says {ORDER_NAMES[int_of(m, order)]}"
            )

        return [*hyp, zt.Not(zt.And(exactly_one, agrees))], explain

    return make


def _descends_only(c: Clocks, a: Clock, b: Clock) -> Term:
    # mutant: "dominates" that forgets "and differs"
    return descends(c, a, b)


MergeFn = Callable[[Clocks, Clock, Clock], Clock]


def _merge_commutative(mrg: MergeFn) -> Callable[[Clocks], tuple[list[Term], Any]]:
    def make(c: Clocks) -> tuple[list[Term], Any]:
        a, b, _, hyp = _three(c)
        ab, ba = mrg(c, a, b), mrg(c, b, a)
        return [*hyp, zt.Not(c.same(ab, ba))], lambda m: (
            f"{_show(c, m, a=a, b=b)}: merge(a, b) = {c.show(m, ab)}, "
            f"merge(b, a) = {c.show(m, ba)}"
        )

    return make


def _merge_left_biased(c: Clocks, a: Clock, b: Clock) -> Clock:
    # mutant: dict-update merge: a's counter wherever a has the node, else b's
    return c.pointwise(lambda x, y: z3.If(x != 0, x, y), a, b)


def _merge_associative(mrg: MergeFn) -> Callable[[Clocks], tuple[list[Term], Any]]:
    def make(c: Clocks) -> tuple[list[Term], Any]:
        a, b, d, hyp = _three(c)
        left, right = mrg(c, mrg(c, a, b), d), mrg(c, a, mrg(c, b, d))
        return [*hyp, zt.Not(c.same(left, right))], lambda m: (
            f"{_show(c, m, a=a, b=b, c=d)}: merge(merge(a, b), c) = {c.show(m, left)}, "
            f"merge(a, merge(b, c)) = {c.show(m, right)}"
        )

    return make


def _merge_pick_one(c: Clocks, a: Clock, b: Clock) -> Clock:
    # mutant: "merge" that keeps the newer clock whole instead of the pointwise maximum:
    # a if a descends b, else b (wrong for concurrent clocks)
    take_a = descends(c, a, b)
    return c.pointwise(lambda x, y: z3.If(take_a, x, y), a, b)


def _merge_idempotent(mrg: MergeFn) -> Callable[[Clocks], tuple[list[Term], Any]]:
    def make(c: Clocks) -> tuple[list[Term], Any]:
        a, _, _, hyp = _three(c)
        aa = mrg(c, a, a)
        return [*hyp, zt.Not(c.same(aa, a))], lambda m: (
            f"a = {c.show(m, a)}: merge(a, a) = {c.show(m, aa)}"
        )

    return make


def _merge_sum(c: Clocks, a: Clock, b: Clock) -> Clock:
    # mutant: counters added instead of maximised
    return c.pointwise(lambda x, y: x + y, a, b)


def _merge_lub(mrg: MergeFn) -> Callable[[Clocks], tuple[list[Term], Any]]:
    def make(c: Clocks) -> tuple[list[Term], Any]:
        a, b, d, hyp = _three(c)
        m_ab = mrg(c, a, b)
        upper = zt.And(descends(c, m_ab, a), descends(c, m_ab, b))
        least = zt.Implies(zt.And(descends(c, d, a), descends(c, d, b)), descends(c, d, m_ab))

        def explain(m: Any) -> str:
            if not bool_of(m, upper):
                what = "not an upper bound of a and b"
            else:
                what = "not the least: c descends a and b but not merge(a, b)"
            return f"{_show(c, m, a=a, b=b, c=d)}: merge(a, b) = {c.show(m, m_ab)} is {what}"

        return [*hyp, zt.Not(zt.And(upper, least))], explain

    return make


IncrementFn = Callable[[Clocks, Clock, Node], Clock]


def _increment_dominates(inc: IncrementFn) -> Callable[[Clocks], tuple[list[Term], Any]]:
    def make(c: Clocks) -> tuple[list[Term], Any]:
        a, _, _, hyp = _three(c)
        n = c.fresh_node("n")
        after = inc(c, a, n)
        return [*hyp, c.node_ok(n), zt.Not(dominates(c, after, a))], lambda m: (
            f"a = {c.show(m, a)}, node n{int_of(m, n)}: increment gives "
            f"{c.show(m, after)}, which does not dominate a"
        )

    return make


def _increment_sets_one(c: Clocks, a: Clock, node: Node) -> Clock:
    # mutant: the node's counter is set to 1 instead of incremented
    return c.store(a, node, z3.IntVal(1))


DropRule = Callable[[Clocks, Clock, Clock], Term]


def _reconcile(
    rule: DropRule | None, count: int = VERSIONS
) -> Callable[[Clocks], tuple[list[Term], Any]]:
    """reconcile keeps an antichain, distinct, and every input is kept or dominated."""

    def make(c: Clocks) -> tuple[list[Term], Any]:
        versions = [(z3.Int(f"value{i}"), c.fresh(f"clock{i}")) for i in range(count)]
        hyp = [wellformed(c, clock) for _, clock in versions]
        kept = reconcile_kept(c, versions, rule)
        n = len(versions)
        antichain = zt.And(
            [
                zt.Not(zt.And(kept[i], kept[j], dominates(c, versions[i][1], versions[j][1])))
                for i in range(n)
                for j in range(n)
                if i != j
            ]
        )
        distinct = zt.And(
            [
                zt.Not(
                    zt.And(
                        kept[i],
                        kept[j],
                        versions[i][0] == versions[j][0],
                        c.same(versions[i][1], versions[j][1]),
                    )
                )
                for i in range(n)
                for j in range(i)
            ]
        )
        covered = zt.And(
            [
                zt.Or(
                    [
                        zt.And(
                            kept[j],
                            zt.Or(
                                dominates(c, versions[j][1], versions[i][1]),
                                zt.And(
                                    versions[j][0] == versions[i][0],
                                    c.same(versions[j][1], versions[i][1]),
                                ),
                            ),
                        )
                        for j in range(n)
                    ]
                )
                for i in range(n)
            ]
        )

        def explain(m: Any) -> str:
            lines = [
                f"v{i} = (value {int_of(m, value)}, clock {c.show(m, clock)})"
                + (" kept" if bool_of(m, kept[i]) else " dropped")
                for i, (value, clock) in enumerate(versions)
            ]
            broken = [
                name
                for name, term in (
                    ("antichain", antichain),
                    ("distinct", distinct),
                    ("every input kept or dominated", covered),
                )
                if not bool_of(m, term)
            ]
            return "; ".join(lines) + f"; violated: {', '.join(broken)}"

        return [*hyp, zt.Not(zt.And(antichain, distinct, covered))], explain

    return make


def _drop_if_descended_by_other_value(c: Clocks, other: Clock, mine: Clock) -> Term:
    # mutant: a version is dropped when another version's clock merely descends it,
    # so two different values written with the same clock drop each other
    return descends(c, other, mine)


def _make(
    name: str,
    statement: str,
    law: Callable[[Clocks], tuple[list[Term], Any]],
    twin_statement: str,
    twin_law: Callable[[Clocks], tuple[list[Term], Any]],
    backends: Callable[[], Sequence[Clocks]] | None = None,
    bounds: str = f"unbounded (arrays Int -> Int) and k={K} entries",
) -> Proof:
    def check() -> Iterator[Query]:
        return _law(name, law, backends() if backends else None)

    def twin() -> Iterator[Query]:
        # bounded first: its counterexample has finitely many entries, as real clocks do
        twin_backends = backends() if backends else (BoundedClocks(3), UnboundedClocks())
        return _law(name + " twin", twin_law, twin_backends)

    return Proof(name, statement, bounds, check, twin_statement, twin, group="vclock")


PROOFS: tuple[Proof, ...] = (
    _make(
        "vclock_descends_reflexive",
        "Every clock descends itself.",
        _reflexive(descends),
        "descends compares with > instead of >=",
        _reflexive(_strict_descends),
    ),
    _make(
        "vclock_descends_antisymmetric",
        "If a descends b and b descends a, then a and b are the same clock.",
        _antisymmetric(True),
        "the hypothesis 'counters are >= 0' is dropped",
        _antisymmetric(False),
    ),
    _make(
        "vclock_descends_transitive",
        "If a descends b and b descends c, then a descends c.",
        _transitive(descends),
        "descends compares only the nodes present in both clocks",
        _transitive(_shared_descends),
    ),
    _make(
        "vclock_compare_antisymmetric",
        "compare(a, b) is AFTER iff compare(b, a) is BEFORE; EQUAL and CONCURRENT are "
        "symmetric.",
        _compare_antisymmetric(compare),
        "compare without its EQUAL test",
        _compare_antisymmetric(_compare_without_equal),
    ),
    _make(
        "vclock_compare_exhaustive",
        "Exactly one of EQUAL, a dominates b, b dominates a, concurrent holds, and "
        "compare returns that one.",
        _compare_exhaustive(dominates),
        "dominates without 'and differs'",
        _compare_exhaustive(_descends_only),
    ),
    _make(
        "vclock_merge_commutative",
        "merge(a, b) = merge(b, a).",
        _merge_commutative(merge),
        "merge as a dict update (a's counter wherever a has the node)",
        _merge_commutative(_merge_left_biased),
    ),
    _make(
        "vclock_merge_associative",
        "merge(merge(a, b), c) = merge(a, merge(b, c)).",
        _merge_associative(merge),
        "merge keeps one whole clock (a if a descends b, else b)",
        _merge_associative(_merge_pick_one),
    ),
    _make(
        "vclock_merge_idempotent",
        "merge(a, a) = a.",
        _merge_idempotent(merge),
        "merge adds counters",
        _merge_idempotent(_merge_sum),
    ),
    _make(
        "vclock_merge_least_upper_bound",
        "merge(a, b) descends a and b, and every c that descends a and b descends "
        "merge(a, b).",
        _merge_lub(merge),
        "merge adds counters (an upper bound, not the least)",
        _merge_lub(_merge_sum),
    ),
    _make(
        "vclock_increment_dominates",
        "increment(a, n) strictly dominates a, for every node n.",
        _increment_dominates(increment),
        "increment sets the node's counter to 1",
        _increment_dominates(_increment_sets_one),
    ),
    _make(
        "vclock_reconcile_antichain",
        f"reconcile of up to {VERSIONS} versions returns distinct versions no one of which "
        "dominates another, and every input is returned or strictly dominated by a "
        "returned version (equal clocks with different values are both kept).",
        _reconcile(None),
        "a version is dropped when another version's clock merely descends it "
        "(equal clocks with different values drop each other)",
        _reconcile(_drop_if_descended_by_other_value, 2),
        backends=lambda: (BoundedClocks(K),),
        bounds=f"{VERSIONS} versions, k={K} entries",
    ),
)
