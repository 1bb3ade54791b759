"""Stores only grow: derived from the encoding of the causal merge.

Theory of operation
-------------------
The transition relation of :mod:`model_check.proofs.transition` updates a store
with :func:`~model_check.proofs.transition.causal_store`: after a merge, the
store covers a put (holds a version whose true history contains it) exactly when
the store before or the incoming version did. This module proves that rule from
the merge itself instead of assuming it.

The merge is ``reconcile`` of both sides' versions (the encoding of
:mod:`model_check.proofs.vclock`, the spec's ``clocks.merge`` for vector clocks;
dvv's sync drops a value under the same rule, with "its dot is covered" for
"dominated"): a version is kept unless a different version's clock strictly
dominates it. Each version also carries its true causal history, a set of put ids
(the spec's ghost ``PutRecord.history``). The hypothesis that makes the merge
causal is that clocks are *faithful* to histories: a version whose clock dominates
another's has that version's history in its own (``history(w) >= history(v)``),
and equal versions (same value, same clock) have the same history. That is what
dvv guarantees with actor epochs and client vector clocks with read-before-write;
the suite's lossy configurations (lww, server-vclock, a blind rewrite under
client clocks, dvv's naive actor after amnesia) are exactly those where it fails,
and the edge agreement (:mod:`model_check.proofs.agreement`) checks them against
the lossy rule instead.

Bounds: 2 versions on each side (a side with one version repeats it), clocks of 4
entries, 3 put ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import z3

from model_check.proofs import terms as zt
from model_check.proofs.framework import Proof, Query, bool_of, int_of
from model_check.proofs.vclock import BoundedClocks, dominates, reconcile_kept, wellformed

__all__ = ["PROOFS", "PUTS", "SIDE"]

#: Versions per side of a merge, put ids, clock entries.
SIDE, PUTS, ENTRIES = 2, 3, 4


def _merge_query(faithful: bool) -> Iterator[Query]:
    c = BoundedClocks(ENTRIES)
    names = [f"a{j}" for j in range(SIDE)] + [f"b{j}" for j in range(SIDE)]
    values = [z3.Int(f"value[{n}]") for n in names]
    clocks = [c.fresh(n) for n in names]
    history = [[z3.Bool(f"history[{n}][{q + 1}]") for q in range(PUTS)] for n in names]
    hypotheses: list[Any] = [wellformed(c, clock) for clock in clocks]
    hypotheses += [zt.Or(row) for row in history]  # a version's history holds its put
    for i in range(len(names)):
        for j in range(len(names)):
            if i == j:
                continue
            contained = zt.And([zt.Implies(history[j][q], history[i][q])
                                for q in range(PUTS)])
            if faithful:  # the twin drops this one (a dominated version's put is lost)
                hypotheses.append(zt.Implies(dominates(c, clocks[i], clocks[j]), contained))
            same = zt.And(values[i] == values[j], c.same(clocks[i], clocks[j]))
            hypotheses.append(zt.Implies(same, contained))
    kept = reconcile_kept(c, list(zip(values, clocks, strict=True)))
    # the merge's coverage differs from the union of both sides' coverage for some put
    before = [zt.Or([history[i][q] for i in range(len(names))]) for q in range(PUTS)]
    after = [zt.Or([zt.And(kept[i], history[i][q]) for i in range(len(names))])
             for q in range(PUTS)]
    differs = zt.Or([before[q] != after[q] for q in range(PUTS)])

    def explain(m: Any) -> str:
        parts = []
        for i, n in enumerate(names):
            puts = [str(q + 1) for q in range(PUTS) if bool_of(m, history[i][q])]
            state = "kept" if bool_of(m, kept[i]) else "dropped"
            parts.append(f"{n} = value {int_of(m, values[i])} clock {c.show(m, clocks[i])} "
                         f"history {{{', '.join(puts)}}} ({state})")
        lost = [str(q + 1) for q in range(PUTS) if bool_of(m, before[q])
                and not bool_of(m, after[q])]
        return (f"store {{a0, a1}} merged with incoming {{b0, b1}}: {'; '.join(parts)}; "
                f"put(s) {{{', '.join(lost)}}} covered before the merge, not after")

    yield Query(f"reconcile of {SIDE}+{SIDE} versions, k={ENTRIES}",
                (*hypotheses, differs), explain)


PROOFS: tuple[Proof, ...] = (
    Proof(
        "merge_keeps_every_history",
        "The causal merge (reconcile: keep a version unless a different version's clock "
        "strictly dominates it) covers exactly the puts either side covered, when clocks "
        "are faithful to histories (a dominating clock's version has the dominated one's "
        "history): so a store only grows by merging, the rule the invariants' transition "
        "relation uses (causal_store), derived rather than assumed.",
        f"{SIDE} versions per side, clocks of {ENTRIES} entries, {PUTS} put ids",
        lambda: _merge_query(faithful=True),
        "clocks not faithful to histories (lww, server-vclock, a blind rewrite under "
        "client clocks, dvv's naive actor after a disk loss): the merge drops a put",
        lambda: _merge_query(faithful=False),
        group="invariants",
    ),
)
