"""Read-your-writes across a join: pending ownership keeps it, the immediate rule does not.

Theory of operation
-------------------
The statement is about one key, one acknowledged put and a get that begins after
it, while one node joins the ring (spec/membership.py; paper 4.8, 4.9), at the
level of :mod:`model_check.proofs.reads`: nodes are positions of the key's
preference list over *every* node, the joining node ``X`` at a symbolic position
``x < N`` (at ``x >= N`` the key's top N does not change); the old top N is
positions ``0..N`` without ``x``, the new one ``0..N-1``, and the node at
position ``N`` is the one ``X`` displaces (``d``: the transfer goes from ``d`` to
``X``, :func:`model_check.proofs.membership.transfers`). ``N``, ``R``, ``W`` and
the position are symbolic.

Each coordinator acts by its view: the number of log entries it knows when the
request begins (0: before the join; 1: the join; 2: the handover; 3: settled).
With **pending ownership** a put at view 0 needs W acks of the old top N, at
views 1 and 2 W within the old and W within the new, at view 3 W of the new; a
get at views 0 and 1 R replies of the old top N, at 2 R within each, at 3 R of
the new. What the spec's guards give (spec/membership.py's docstring), as
hypotheses:

- views differ by at most one step at any time (a transfer waits until every
  member knows the join, the handover until every transfer arrived, the
  settlement until every member knows the handover), so the get's view is at
  least the put's minus one;
- a get at view 2 or more begins after every transfer arrived; ``d``'s copy is
  emptied only at the settlement, so only for a get at view 2 or more (a request
  in progress holds the settlement back);
- a put at view 0 began before the transfer (every member knew the join before
  it), and the transfer waits while a write to ``d`` is in flight: if ``d``
  acknowledged the put, the transfer carried it to ``X``;
- stores only grow otherwise (``merge_keeps_every_history``; no fault).

Proved: with R + W > N the get's repliers include a node that holds the put.
Twin (``join_handover = "immediate"``): a node that knows the join routes by the
new top N at once (puts and gets), and the transfer waits only for its sender
to know the join, so it may precede the put; Z3 finds the stale read of the
suite's join-immediate, which the checker finds as its ``read_your_writes``
counterexample (tests/model_check/test_proof_membership.py compares the roles).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from model_check.proofs import terms as zt
from model_check.proofs.framework import (
    DEFAULT_TIMEOUT_MS,
    Proof,
    Query,
    bool_of,
    count_true,
    int_of,
)
from model_check.proofs.quorum import NAMES
from model_check.proofs.reads import model_or_none

__all__ = ["PROOFS", "JoinRead", "join_read_scenario"]

#: Largest N (positions 0..N are the old and the new top N).
MAX_N = 6


@dataclass(frozen=True, slots=True)
class JoinRead:
    """A get that misses an acknowledged put across a join (positions of the key's
    preference list over every node; ``joiner`` is the joining node's)."""

    n: int
    r: int
    w: int
    joiner: int
    put_view: int  # the put's coordinator's view when the put began
    get_view: int
    acks: tuple[int, ...]
    replies: tuple[int, ...]
    transferred: bool  # the transfer to the joining node arrived before the get's replies
    carried: bool  # ... and carried the put

    def describe(self, names: Sequence[str] = NAMES) -> str:
        """The scenario in words."""

        def show(positions: Sequence[int]) -> str:
            return "{" + ", ".join(names[i] for i in positions) + "}"

        old = [i for i in range(self.n + 1) if i != self.joiner]
        new = list(range(self.n))
        stages = ("before the join", "the join", "the handover", "the settlement")
        transfer = ("the transfer to it arrived, " + ("with" if self.carried else "without")
                    + " the put") if self.transferred else "no transfer arrived yet"
        return (
            f"N={self.n} R={self.r} W={self.w}, preference list "
            f"{', '.join(names[: self.n + 1])}, {names[self.joiner]} joins (old top N "
            f"{show(old)}, new {show(new)}): the put's coordinator knows "
            f"{stages[self.put_view]} and the put is acknowledged by {show(self.acks)}; "
            f"the get's coordinator knows {stages[self.get_view]}, {transfer}; the get is "
            f"answered by {show(self.replies)}, none of which holds the put"
        )


def _query(pending: bool, *, max_n: int = MAX_N, fixed: tuple[int, int, int, int] | None = None,
           pinned: dict[str, Any] | None = None, drop: frozenset[str] = frozenset()
           ) -> tuple[list[Any], dict[str, Any]]:
    """The assertions that say the get misses the put, and the terms; ``drop``
    leaves out hypotheses of the pending rule (``"views"``, ``"carried"``: a test's
    proof that each is needed)."""
    n, r, w, x = z3.Ints("N R W x")
    pw, pr = z3.Ints("put_view get_view")
    k = range(max_n + 1)
    acks = [z3.Bool(f"ack_{i}") for i in k]
    replies = [z3.Bool(f"reply_{i}") for i in k]
    holds = [z3.Bool(f"holds_{i}") for i in k]  # the main store covers the put at its reply
    transferred, carried, emptied = z3.Bools("transferred carried emptied")
    old = [zt.And(i <= n, x != i) for i in k]
    new = [i < n for i in k]

    def quorum(flags: Sequence[Any], group: Sequence[Any], size: Any) -> Any:
        return count_true([zt.And(f, g) for f, g in zip(flags, group, strict=True)]) >= size

    last = 3 if pending else 2
    assertions = [
        n >= 1, n <= max_n, r >= 1, r <= n, w >= 1, w <= n, r + w > n, x >= 0, x < n,
        pw >= 0, pw <= last, pr >= 0, pr <= last,
        # the put's targets and acknowledgements by its coordinator's view
        *[zt.Implies(acks[i], zt.Or(old[i], new[i])) for i in k],
        # the transfer (d -> X) arrived before a get that knows the handover
        zt.Implies(pr >= 2, transferred), zt.Implies(emptied, zt.And(transferred, pr >= 2)),
        # what holds the put when the get's repliers answer: every node that stored
        # it, but the displaced node once emptied, and the joining node if carried
        *[zt.Implies(zt.And(acks[i], zt.Or(i != n, zt.Not(emptied))), holds[i]) for i in k],
        *[zt.Implies(zt.And(carried, x == i), holds[i]) for i in k],
        # the get misses it
        *[zt.Not(zt.And(replies[i], holds[i])) for i in k],
    ]
    if pending:
        assertions += [
            *[zt.Implies(acks[i], z3.If(pw == 0, old[i], z3.If(pw == 3, new[i],
                                                                zt.Or(old[i], new[i]))))
              for i in k],
            zt.Implies(pw <= 2, quorum(acks, old, w)), zt.Implies(pw >= 1, quorum(acks, new, w)),
            *[zt.Implies(replies[i], z3.If(pr <= 1, old[i],
                                           z3.If(pr == 2, zt.Or(old[i], new[i]), new[i])))
              for i in k],
            zt.Implies(pr <= 2, quorum(replies, old, r)),
            zt.Implies(pr >= 2, quorum(replies, new, r)),
        ]
        if "views" not in drop:  # views differ by at most one step
            assertions.append(pr >= pw - 1)
        if "carried" not in drop:  # a put before the join reached d before the transfer
            assertions.append(zt.Implies(
                zt.And(transferred, pw == 0, zt.Or([zt.And(acks[i], i == n) for i in k])),
                carried))
    else:  # immediate: a node that knows the join uses the new top N at once
        assertions += [
            *[zt.Implies(acks[i], z3.If(pw == 0, old[i], new[i])) for i in k],
            quorum(acks, [z3.If(pw == 0, o, m) for o, m in zip(old, new, strict=True)], w),
            *[zt.Implies(replies[i], z3.If(pr == 0, old[i], new[i])) for i in k],
            quorum(replies, [z3.If(pr == 0, o, m) for o, m in zip(old, new, strict=True)], r),
        ]
    if fixed is not None:
        assertions += [n == fixed[0], r == fixed[1], w == fixed[2], x == fixed[3]]
    for name, value in (pinned or {}).items():
        if name in ("acks", "replies"):
            flags = acks if name == "acks" else replies
            assertions += [flags[i] if i in value else zt.Not(flags[i]) for i in k]
        else:
            assertions.append({"put_view": pw, "get_view": pr}[name] == value)
    terms = {"n": n, "r": r, "w": w, "x": x, "pw": pw, "pr": pr, "acks": acks,
             "replies": replies, "transferred": transferred, "carried": carried}
    return assertions, terms


def _scenario(m: Any, terms: dict[str, Any]) -> JoinRead:
    def positions(flags: Sequence[Any]) -> tuple[int, ...]:
        return tuple(i for i, f in enumerate(flags) if bool_of(m, f))

    return JoinRead(
        int_of(m, terms["n"]), int_of(m, terms["r"]), int_of(m, terms["w"]),
        int_of(m, terms["x"]), int_of(m, terms["pw"]), int_of(m, terms["pr"]),
        positions(terms["acks"]), positions(terms["replies"]),
        bool_of(m, terms["transferred"]), bool_of(m, terms["carried"]),
    )


#: The suite's join-immediate and join-pending: N=3 R=2 W=2, n4 joins first in k's list.
SUITE = (3, 2, 2, 0)


def _queries(pending: bool) -> Iterator[Query]:
    if pending:
        assertions, terms = _query(True)
        label = f"N<={MAX_N}, R+W>N, any position of the joining node"
    else:  # the suite's configuration and its put before the join (join-immediate)
        assertions, terms = _query(False, max_n=3, fixed=SUITE, pinned={"put_view": 0})
        label = "N=3 R=2 W=2, the joining node first, the put before the join"
    yield Query(label, tuple(assertions), lambda m: _scenario(m, terms).describe())


def join_read_scenario(pending: bool, fixed: tuple[int, int, int, int] = SUITE,
                       pinned: dict[str, Any] | None = None, drop: frozenset[str] = frozenset(),
                       timeout_ms: int = DEFAULT_TIMEOUT_MS) -> JoinRead | None:
    """Z3's model of a get that misses an acknowledged put across a join, for
    ``fixed`` = (N, R, W, the joining node's position) under pending ownership or
    the immediate rule; ``pinned`` fixes roles (``"acks"``, ``"replies"``:
    positions; ``"put_view"``, ``"get_view"``: ints; ``drop``: as :func:`_query`).
    None when there is none.
    Raises ProofError when Z3 cannot decide."""
    assertions, terms = _query(pending, max_n=fixed[0], fixed=fixed, pinned=pinned, drop=drop)
    m = model_or_none(assertions, timeout_ms, "the join read")
    return None if m is None else _scenario(m, terms)


PROOFS: tuple[Proof, ...] = (
    Proof(
        "pending_join_read_your_writes",
        "Strict quorum, R + W > N, one node joins with pending ownership (no fault): a "
        "get that begins after a put was acknowledged returns it, whatever the views of "
        "their coordinators (joint quorums while the range moves; the transfer carries "
        "what the old top N acknowledged).",
        f"every N <= {MAX_N}, R, W and the joining node's position symbolic",
        lambda: _queries(True),
        "join_handover = \"immediate\": a node that knows the join serves by the new "
        "ring at once; Z3 gives the stale read of join-immediate",
        lambda: _queries(False),
        group="quorum",
    ),
)
