"""Preference lists of the consistent-hashing ring (spec/ring.py) in Z3.

Theory of operation
-------------------
A ring of ``T`` tokens is a strictly increasing sequence of symbolic positions
``p_0 < ... < p_{T-1}`` in ``[0, RING_SIZE)`` with symbolic owners ``o_j`` (physical
nodes numbered ``0 .. S-1``, every one of which owns at least one token). A key's
position is ``hash(key)`` with ``hash`` an *uninterpreted function* into
``[0, RING_SIZE)``: nothing is assumed of MD5.

The walk is the spec's, literally: the start is ``bisect_right(positions,
position)`` (the number of tokens at or below the position), wrapping to 0 past
the last token; step ``t`` visits the owner of token ``(start + t) mod T`` and
lists it unless an earlier step listed it. Entry ``k`` of the preference list is
the owner at the step that listed the ``(k+1)``-th node. These are closed terms
of the positions, owners and key position, so the agreement test can substitute
a concrete ring and compare with :meth:`spec.ring.Ring.preference_list`.

Proved for every ring of ``T <= MAX_TOKENS`` tokens and ``S <= T`` physical nodes
(each holding at least one token), every key position: the walk lists at least
``S`` nodes and its first ``S`` entries are pairwise distinct; so for every
``N <= S`` the top N (a prefix) are N distinct physical nodes. The walk compares
owners only for equality, so renaming nodes maps a counterexample to a
counterexample; the query breaks that symmetry (nodes are numbered in the order
the walk first meets them), which turns a pigeonhole-hard query into an easy one.
The twin walks without skipping already-listed nodes (a plain clockwise walk over
virtual nodes) and Z3 finds a key whose top N name one physical node twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import z3

from model_check.proofs import terms as zt
from model_check.proofs.framework import Proof, Query, count_true, int_of

__all__ = ["MAX_TOKENS", "PROOFS", "preference_list"]

#: Rings of up to this many tokens (virtual nodes) are covered.
MAX_TOKENS = 6
RING_SIZE = 2**128
NAMES = "ABCDEFGHIJKLMNOP"


def preference_list(
    positions: Sequence[Any],
    owners: Sequence[Any],
    position: Any,
    skip_listed: bool = True,
    with_visited: bool = False,
) -> Any:
    """The walk of :meth:`spec.ring.Ring.preference_list` as Z3 terms.

    Returns ``(length, entries)``: how many distinct nodes the full walk lists, and
    entry ``k`` for ``k < len(positions)`` (meaningful for ``k < length``; -1 past it).
    ``skip_listed=False`` is the twin's broken walk.
    """
    count = len(positions)
    index = count_true([p <= position for p in positions])  # bisect_right
    start = z3.If(index == count, 0, index)

    def owner_at_step(step: int) -> Any:
        term = owners[(count - 1 + step) % count]
        for s in range(count - 2, -1, -1):
            term = z3.If(start == s, owners[(s + step) % count], term)
        return term

    visited = [owner_at_step(t) for t in range(count)]
    if skip_listed:
        listed = [zt.And([visited[t] != visited[u] for u in range(t)]) for t in range(count)]
    else:
        listed = [z3.BoolVal(True) for _ in range(count)]
    so_far = [count_true(listed[: t + 1]) for t in range(count)]
    entries = []
    for k in range(count):
        term: Any = z3.IntVal(-1)
        for t in range(count - 1, -1, -1):
            term = z3.If(zt.And(listed[t], so_far[t] == k + 1), visited[t], term)
        entries.append(term)
    if with_visited:
        return so_far[-1], entries, visited
    return so_far[-1], entries


def _queries(skip_listed: bool) -> Iterator[Query]:
    key_sort = z3.DeclareSort("Key")
    hash_fn = z3.Function("hash", key_sort, z3.IntSort())
    key = z3.Const("key", key_sort)
    for count in range(1, MAX_TOKENS + 1):
        yield _query(count, hash_fn(key), skip_listed)


def _query(count: int, position: Any, skip_listed: bool) -> Query:
    positions = [z3.Int(f"token_{j}") for j in range(count)]
    owners = [z3.Int(f"owner_{j}") for j in range(count)]
    nodes = z3.Int("S")
    assertions = [
        position >= 0,
        position < RING_SIZE,
        positions[0] >= 0,
        positions[-1] < RING_SIZE,
        *[positions[j] < positions[j + 1] for j in range(count - 1)],
        nodes >= 1,
        nodes <= count,
        *[zt.And(o >= 0, o < nodes) for o in owners],
        # every one of the S nodes holds a token
        *[zt.Implies(s < nodes, zt.Or([o == s for o in owners])) for s in range(count)],
    ]
    length, entries, visited = preference_list(
        positions, owners, position, skip_listed, with_visited=True
    )
    # Symmetry breaking: the walk compares owners only for equality, so renaming the
    # nodes maps any counterexample to one whose nodes are numbered in the order the
    # walk first meets them (0 first, each new node one more than the largest so far).
    assertions.append(visited[0] == 0)
    largest = visited[0]
    for step in range(1, count):
        assertions.append(visited[step] <= largest + 1)
        largest = z3.If(visited[step] > largest, visited[step], largest)
    # N = S: the top S are S distinct nodes; the top N (N <= S) is a prefix of them
    distinct = zt.And(
        [
            zt.Implies(k2 < nodes, entries[k1] != entries[k2])
            for k2 in range(count)
            for k1 in range(k2)
        ]
    )
    assertions.append(zt.Not(zt.And(length >= nodes, distinct)))

    def explain(m: Any) -> str:
        ring = ", ".join(
            f"{int_of(m, p)}:{NAMES[int_of(m, o)]}" for p, o in zip(positions, owners, strict=True)
        )
        size = int_of(m, nodes)
        top = [NAMES[v] if 0 <= (v := int_of(m, e)) < len(NAMES) else "-" for e in entries]
        return (
            f"{size} nodes, tokens (position:owner) {ring}; hash(key) = "
            f"{int_of(m, position)}; N={size}: top N = {', '.join(top[:size])}"
        )

    return Query(f"T={count}", tuple(assertions), explain)


PROOFS: tuple[Proof, ...] = (
    Proof(
        "ring_top_n_distinct",
        "On a ring with at least N physical nodes, the top N of every key's preference "
        "list are N distinct physical nodes (the key's hash is an uninterpreted function).",
        f"every ring of T <= {MAX_TOKENS} tokens and S <= T nodes, N = S (so every N <= S)",
        lambda: _queries(True),
        "the walk does not skip nodes already listed (virtual nodes counted as replicas)",
        lambda: _queries(False),
        group="ring",
    ),
)
