"""Quorum intersection, strict and sloppy, in Z3.

Theory of operation
-------------------
Nodes of a key's preference list are numbered ``0, 1, ...`` in list order; a set
of nodes is a vector of Booleans. ``N``, ``R`` and ``W`` are symbolic integers,
so one query covers every ``N <= MAX_N`` and every ``R, W <= N`` at once.

*Strict quorum.* A write is acknowledged by a set of at least ``W`` of the top N,
a read hears from at least ``R`` of the top N. If ``R + W > N`` the two sets
share a node (the pigeonhole principle); Z3 shows the query "disjoint sets exist"
is unsat. The twin drops ``R + W > N`` and Z3 returns two disjoint sets.

*Sloppy quorum.* A coordinator sends to the first ``N`` *reachable* nodes of
the preference list (a fallback below the top N stands in for an unreachable
one, holding a hint). The write set is ``W`` of the first ``N`` nodes reachable
at write time; the read set is ``R`` of the first ``N`` reachable at read time.
When reachability is the same at both times the sets intersect (proved); when
it changes between the write and the read (a node fails, another recovers) Z3
gives a read set and a write set for the same key that are disjoint although
``R + W > N`` (the twin): sloppy quorums trade this guarantee for availability,
and hinted handoff plus read repair repair it later.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import z3

from model_check.proofs import terms as zt
from model_check.proofs.framework import Proof, Query, bool_of, count_true, int_of

__all__ = ["MAX_N", "PROOFS", "first_reachable"]

#: Largest N covered by the strict-quorum proof (the issue asks for >= 10).
MAX_N = 12
#: Sloppy quorum: largest N, and the length of the preference list (with fallbacks).
SLOPPY_MAX_N = 5
SLOPPY_LIST = 8

NAMES = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _set(model: Any, members: Sequence[Any]) -> str:
    return "{" + ", ".join(NAMES[i] for i, m in enumerate(members) if bool_of(model, m)) + "}"


def _strict(with_hypothesis: bool) -> Iterator[Query]:
    n, r, w = z3.Ints("N R W")
    read = [z3.Bool(f"read_{i}") for i in range(MAX_N)]
    write = [z3.Bool(f"write_{i}") for i in range(MAX_N)]
    assertions = [
        n >= 1,
        n <= MAX_N,
        r >= 1,
        r <= n,
        w >= 1,
        w <= n,
        *[zt.Implies(i >= n, zt.And(zt.Not(read[i]), zt.Not(write[i]))) for i in range(MAX_N)],
        count_true(read) >= r,
        count_true(write) >= w,
        *[zt.Not(zt.And(read[i], write[i])) for i in range(MAX_N)],
    ]
    if with_hypothesis:
        assertions.append(r + w > n)
    else:
        assertions.append(r + w <= n)

    def explain(m: Any) -> str:
        top = NAMES[: int_of(m, n)]
        return (
            f"N={int_of(m, n)} R={int_of(m, r)} W={int_of(m, w)}, top N = {', '.join(top)}: "
            f"read set {_set(m, read)} and write set {_set(m, write)} are disjoint"
        )

    label = f"N<={MAX_N}, R+W>N" if with_hypothesis else f"N<={MAX_N}, R+W<=N"
    yield Query(label, tuple(assertions), explain)


def first_reachable(reachable: Sequence[Any], n: Any) -> list[Any]:
    """Which list positions a sloppy-quorum coordinator sends to: the first ``n``
    reachable nodes, walking the preference list in order."""
    chosen = []
    for i, up in enumerate(reachable):
        chosen.append(zt.And(up, count_true(list(reachable[:i])) < n))
    return chosen


def _sloppy(same_reachability: bool) -> Iterator[Query]:
    n, r, w = z3.Ints("N R W")
    up_at_write = [z3.Bool(f"up_at_write_{i}") for i in range(SLOPPY_LIST)]
    up_at_read = [z3.Bool(f"up_at_read_{i}") for i in range(SLOPPY_LIST)]
    write_targets = first_reachable(up_at_write, n)
    read_targets = first_reachable(up_at_read, n)
    read = [z3.Bool(f"read_{i}") for i in range(SLOPPY_LIST)]
    write = [z3.Bool(f"write_{i}") for i in range(SLOPPY_LIST)]
    assertions = [
        n >= 1,
        n <= SLOPPY_MAX_N,
        r >= 1,
        r <= n,
        w >= 1,
        w <= n,
        r + w > n,
        *[zt.Implies(read[i], read_targets[i]) for i in range(SLOPPY_LIST)],
        *[zt.Implies(write[i], write_targets[i]) for i in range(SLOPPY_LIST)],
        count_true(read) >= r,
        count_true(write) >= w,
        *[zt.Not(zt.And(read[i], write[i])) for i in range(SLOPPY_LIST)],
    ]
    if same_reachability:
        assertions += [a == b for a, b in zip(up_at_write, up_at_read, strict=True)]
    else:  # the paper's configuration, for a readable counterexample
        assertions += [n == 3, r == 2, w == 2]

    def explain(m: Any) -> str:
        size = int_of(m, n)
        down_w = [NAMES[i] for i, u in enumerate(up_at_write) if not bool_of(m, u)]
        down_r = [NAMES[i] for i, u in enumerate(up_at_read) if not bool_of(m, u)]
        return (
            f"N={size} R={int_of(m, r)} W={int_of(m, w)}, preference list "
            f"{', '.join(NAMES[:SLOPPY_LIST])} (top N = {', '.join(NAMES[:size])}); "
            f"unreachable at the write: {{{', '.join(down_w)}}}, write sent to "
            f"{_set(m, write_targets)}, acknowledged by {_set(m, write)}; "
            f"unreachable at the read: {{{', '.join(down_r)}}}, read sent to "
            f"{_set(m, read_targets)}, answered by {_set(m, read)}: disjoint"
        )

    label = f"N<={SLOPPY_MAX_N}, list of {SLOPPY_LIST}"
    yield Query(label, tuple(assertions), explain)


PROOFS: tuple[Proof, ...] = (
    Proof(
        "quorum_intersection",
        "For every N <= MAX_N and every R, W <= N with R + W > N, every set of R of the "
        "top N and every set of W of the top N share a node.",
        f"every N <= {MAX_N}, R and W symbolic",
        lambda: _strict(True),
        "R + W <= N: Z3 gives a read set and a write set that are disjoint",
        lambda: _strict(False),
        group="quorum",
    ),
    Proof(
        "sloppy_quorum_intersection_needs_stable_membership",
        "Under a sloppy quorum (each request goes to the first N reachable nodes of the "
        "preference list, fallbacks included) with R + W > N, a read set and a write "
        "set for one key intersect when the same nodes are reachable at both times.",
        f"every N <= {SLOPPY_MAX_N}, preference lists of {SLOPPY_LIST} nodes",
        lambda: _sloppy(True),
        "reachability changes between the write and the read: Z3 gives disjoint read "
        "and write sets for one key although R + W > N",
        lambda: _sloppy(False),
        group="quorum",
    ),
)
