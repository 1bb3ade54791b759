"""Read-your-writes as the spec does it: strict quorums keep it, a hinted write is missed.

Theory of operation
-------------------
Both proofs speak of one key, one acknowledged put and a get that begins after it
(paper sections 4.5 and 4.6), at the level of the spec's stores: a node's *main
store* (``NodeState.store``), which answers replica gets, and a fallback's *hint
store* (``NodeState.hints``), which does not. Nodes are positions ``0, 1, ...`` of
the key's preference list; ``N``, ``R``, ``W`` are symbolic in the proofs.

*Strict quorum* (``strict_quorum_read_your_writes``). The put is acknowledged once
``W`` of the top N stored it in their main stores (the coordinator's own write
included); the get answers with the reconciliation of ``R`` replies from the top
N, each a replica's main store. Between the two, stores only grow (no disk loss,
no reap of a version not deleted, no membership change): that is
``merge_keeps_every_history`` (:mod:`model_check.proofs.merge`), so a replica that
stored the put still covers it, and the reconciliation of the replies covers
every put a reply covers (the same lemma). With ``R + W > N`` the get returns the
put (unsat: a get that misses it). Twin: a store may lose the put between the put
and the get (a disk loss): Z3 gives the replica that acknowledged it and then
answered empty.

*Sloppy quorum* (``sloppy_read_your_writes_needs_hints_read``). Both requests go
to the first N reachable nodes of the preference list, with the same nodes
reachable at both times (so the read and write sets intersect: the quorum proof
``sloppy_quorum_intersection_needs_stable_membership``); a fallback (a position
>= N standing in for an unreachable top-N node) acknowledges the put by keeping
it in its hint store, and its intended node stays unreachable, so no handoff
happens in between. If fallbacks answered gets from their hint stores too, every
get would return the put (proved). The twin is the spec itself: a fallback
answers from its main store only, and Z3 finds the get that misses the
acknowledged put although the get's repliers include a node that acknowledged it
(:func:`hinted_read_scenario`: a top-N node down before the put and never back,
the put acknowledged by another top-N node and the fallback, the get answered by
the fallback and a top-N node the put had not reached). The checker finds the
same scenario as its shortest ``read_your_writes`` counterexample in
``sloppy-crash`` (tests/model_check/test_proof_reads.py compares them).

*Primary quorums* (``primary_quorum_read_your_writes``; session 39's review of
Riak's ``pr``/``pw``, ``[cluster] pr``, ``pw``). Sloppy quorum, and reachability
may change arbitrarily between the put and the get (a node fails, another
recovers: what breaks the sloppy proof above). The put is acknowledged only
once ``PW`` of its acks come from the top N (a *primary* ack: a top-N node
stores the put in its main store; a fallback keeps a hint), the get answered
only once ``PR`` of its replies do (a top-N node answers from its main store).
With ``PR + PW > N`` the get returns the put (unsat), whatever ``R`` and ``W``
and whoever else answered: the primaries that acknowledged and those that
replied are two sets of sizes ``PW`` and ``PR`` among ``N`` positions. The
hypotheses are the strict proof's: stores only grow (no disk loss, no membership
change; the spec models membership with a strict quorum only). Twin: ``PR + PW
<= N`` (``sloppy-crash-pw``'s PR = 0, PW = 2): Z3 gives the get that misses the
put. It turns the checker's verdict on ``sloppy-crash-pr-pw`` (one configuration,
N = 3, four nodes) into one for every ``N <= PRIMARY_MAX_N``, preference lists of
``PRIMARY_LIST`` nodes and every R, W, PR, PW.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import z3

from model_check.errors import ProofError
from model_check.proofs import terms as zt
from model_check.proofs.framework import (
    DEFAULT_TIMEOUT_MS,
    Proof,
    Query,
    bool_of,
    count_true,
    int_of,
    new_solver,
)
from model_check.proofs.quorum import NAMES, first_reachable

__all__ = ["PROOFS", "HintedRead", "hinted_read_scenario", "model_or_none"]

#: Strict: largest N. Sloppy: largest N and the preference list's length.
STRICT_MAX_N = 7
SLOPPY_MAX_N = 4
SLOPPY_LIST = 6
#: Primary quorums: largest N and the preference list's length (session 39)
PRIMARY_MAX_N = 5
PRIMARY_LIST = 8


def _names(model: Any, flags: Sequence[Any]) -> tuple[int, ...]:
    return tuple(i for i, flag in enumerate(flags) if bool_of(model, flag))


def _show(positions: Sequence[int]) -> str:
    return "{" + ", ".join(NAMES[i] for i in positions) + "}"


def _strict(stores_only_grow: bool) -> Iterator[Query]:
    n, r, w = z3.Ints("N R W")
    k = range(STRICT_MAX_N)
    acked = [z3.Bool(f"acked_{i}") for i in k]  # stored the put in its main store
    replied = [z3.Bool(f"replied_{i}") for i in k]
    holds_at_get = [z3.Bool(f"holds_at_get_{i}") for i in k]  # main store covers the put
    assertions = [
        n >= 1, n <= STRICT_MAX_N, r >= 1, r <= n, w >= 1, w <= n, r + w > n,
        *[zt.Implies(i >= n, zt.And(zt.Not(acked[i]), zt.Not(replied[i]))) for i in k],
        count_true(acked) >= w,
        count_true(replied) >= r,
        # the get's answer (the reconciliation of the replies) covers the put
        # exactly when one reply does (merge_keeps_every_history); it does not:
        *[zt.Not(zt.And(replied[i], holds_at_get[i])) for i in k],
    ]
    if stores_only_grow:
        assertions += [zt.Implies(acked[i], holds_at_get[i]) for i in k]

    def explain(m: Any) -> str:
        return (
            f"N={int_of(m, n)} R={int_of(m, r)} W={int_of(m, w)}: the put is stored and "
            f"acknowledged by {_show(_names(m, acked))}; by the get, the put is in the "
            f"stores of {_show(_names(m, holds_at_get))} only; the get is answered by "
            f"{_show(_names(m, replied))} and misses it"
        )

    label = f"N<={STRICT_MAX_N}, R+W>N"
    yield Query(label, tuple(assertions), explain)


@dataclass(frozen=True, slots=True)
class HintedRead:
    """A get that misses an acknowledged, hinted put (positions in the preference
    list; the first ``n`` are the top N)."""

    n: int
    r: int
    w: int
    nodes: int
    down: tuple[int, ...]  # unreachable from before the put to after the get
    sent_to: tuple[int, ...]  # the put's and the get's (the same nodes are reachable)
    acks: tuple[int, ...]  # acknowledged the put
    replies: tuple[int, ...]  # answered the get

    @property
    def fallbacks(self) -> tuple[int, ...]:
        """The nodes sent to outside the top N (each keeps a hint)."""
        return tuple(i for i in self.sent_to if i >= self.n)

    def describe(self, names: Sequence[str] = NAMES) -> str:
        """The scenario in words."""

        def show(positions: Sequence[int]) -> str:
            return "{" + ", ".join(names[i] for i in positions) + "}"

        top = [names[i] for i in range(self.n)]
        stored = [i for i in self.acks if i < self.n]
        fallbacks = [i for i in self.acks if i >= self.n]
        missed = [i for i in self.replies if i < self.n and i not in self.acks]
        return (
            f"N={self.n} R={self.r} W={self.w}, preference list "
            f"{', '.join(names[: self.nodes])} (top N = {', '.join(top)}): "
            f"{show(self.down)} unreachable from before the put until after the get; "
            f"the put is sent to {show(self.sent_to)} and acknowledged by {show(self.acks)}: "
            f"{show(stored)} store(s) it, {show(fallbacks)} keep(s) it as a hint; the get is "
            f"sent to the same nodes and answered by {show(self.replies)}: "
            f"{show(missed)} has not stored the put and {show(fallbacks)} answer(s) from the "
            f"main store, without the hint: the get misses the acknowledged put although "
            f"its repliers include {show([i for i in self.replies if i in self.acks])}, "
            f"which acknowledged it"
        )


def _sloppy(
    read_hints: bool,
    *,
    max_n: int = SLOPPY_MAX_N,
    nodes: int = SLOPPY_LIST,
    fixed: tuple[int, int, int] | None = None,
    pinned: dict[str, Sequence[int]] | None = None,
) -> tuple[list[Any], dict[str, Any]]:
    n, r, w = z3.Ints("N R W")
    k = range(nodes)
    up = [z3.Bool(f"up_{i}") for i in k]  # the same at the put and at the get
    sent = first_reachable(up, n)
    acks = [z3.Bool(f"ack_{i}") for i in k]
    replies = [z3.Bool(f"reply_{i}") for i in k]
    main = [z3.Bool(f"main_{i}") for i in k]  # main store covers the put at the get
    hint = [z3.Bool(f"hint_{i}") for i in k]  # hint store covers the put at the get
    returned = zt.Or([zt.And(replies[i], zt.Or(main[i], zt.And(hint[i], read_hints)))
                      for i in k])
    assertions = [
        n >= 1, n <= max_n, r >= 1, r <= n, w >= 1, w <= n, r + w > n,
        *[zt.Implies(acks[i], sent[i]) for i in k],
        *[zt.Implies(replies[i], sent[i]) for i in k],
        count_true(acks) >= w,
        count_true(replies) >= r,
        # a top-N node that acknowledged stored the put in its main store, and
        # stores only grow; a fallback that acknowledged keeps it as a hint, and its
        # intended node stays unreachable: no handoff deletes the hint
        *[zt.Implies(zt.And(acks[i], i < n), main[i]) for i in k],
        *[zt.Implies(zt.And(acks[i], i >= n), hint[i]) for i in k],
        zt.Not(returned),
    ]
    if not read_hints:  # the interesting case: the read and write sets intersect
        assertions.append(zt.Or([zt.And(acks[i], replies[i]) for i in k]))
    if fixed is not None:
        assertions += [n == fixed[0], r == fixed[1], w == fixed[2]]
    for name, positions in (pinned or {}).items():
        flags = {"down": [zt.Not(u) for u in up], "acks": acks, "replies": replies}[name]
        assertions += [flags[i] if i in positions else zt.Not(flags[i]) for i in k]
    terms = {"n": n, "r": r, "w": w, "up": up, "sent": sent, "acks": acks,
             "replies": replies, "nodes": nodes}
    return assertions, terms


def _scenario(m: Any, terms: dict[str, Any]) -> HintedRead:
    return HintedRead(
        int_of(m, terms["n"]), int_of(m, terms["r"]), int_of(m, terms["w"]), terms["nodes"],
        tuple(i for i, u in enumerate(terms["up"]) if not bool_of(m, u)),
        _names(m, terms["sent"]), _names(m, terms["acks"]), _names(m, terms["replies"]),
    )


def _sloppy_queries(read_hints: bool) -> Iterator[Query]:
    if read_hints:
        assertions, terms = _sloppy(True)
        label = f"N<={SLOPPY_MAX_N}, list of {SLOPPY_LIST}"
    else:  # the suite's sloppy-crash configuration, for a readable counterexample
        assertions, terms = _sloppy(False, max_n=3, nodes=4, fixed=(3, 2, 2))
        label = "N=3 R=2 W=2, list of 4"
    yield Query(label, tuple(assertions), lambda m: _scenario(m, terms).describe())


def hinted_read_scenario(
    n: int = 3, r: int = 2, w: int = 2, nodes: int = 4,
    pinned: dict[str, Sequence[int]] | None = None,
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> HintedRead | None:
    """Z3's model of a get that misses a hinted put although its repliers include a
    node that acknowledged it (the spec's fallbacks answer from their main stores),
    for the given N, R, W and preference-list length; ``pinned`` fixes some roles
    (``"down"``, ``"acks"``, ``"replies"``: list positions). None when there is no
    such model. Raises ProofError when Z3 cannot decide."""
    assertions, terms = _sloppy(False, max_n=n, nodes=nodes, fixed=(n, r, w), pinned=pinned)
    m = model_or_none(assertions, timeout_ms, "the hinted read")
    return None if m is None else _scenario(m, terms)


def model_or_none(assertions: Sequence[Any], timeout_ms: int, what: str) -> Any:
    """A model of ``assertions`` (None: unsat). Raises ProofError naming ``what``
    when Z3 cannot decide."""
    solver = new_solver(timeout_ms)
    solver.add(*assertions)
    answer = solver.check()
    if answer == z3.unsat:
        return None
    if answer != z3.sat:
        raise ProofError(f"Z3 could not decide {what}: {solver.reason_unknown()}")
    return solver.model()


def _primary(with_hypothesis: bool) -> Iterator[Query]:
    """The primary quorums' read-your-writes (see the module docstring): the put's
    and the get's sends each to the first N reachable nodes of its own time."""
    n, r, w, pr, pw = z3.Ints("N R W PR PW")
    k = range(PRIMARY_LIST)
    up_put = [z3.Bool(f"up_at_put_{i}") for i in k]
    up_get = [z3.Bool(f"up_at_get_{i}") for i in k]
    sent_put, sent_get = first_reachable(up_put, n), first_reachable(up_get, n)
    acks = [z3.Bool(f"ack_{i}") for i in k]
    replies = [z3.Bool(f"reply_{i}") for i in k]
    main = [z3.Bool(f"main_{i}") for i in k]  # main store covers the put at the get
    primary = [z3.IntVal(i) < n for i in k]
    assertions = [
        n >= 1, n <= PRIMARY_MAX_N, r >= 1, r <= n, w >= 1, w <= n,
        pr >= 0, pr <= n, pw >= 0, pw <= n,
        *[zt.Implies(acks[i], sent_put[i]) for i in k],
        *[zt.Implies(replies[i], sent_get[i]) for i in k],
        count_true(acks) >= w,
        count_true(replies) >= r,
        count_true([zt.And(acks[i], primary[i]) for i in k]) >= pw,
        count_true([zt.And(replies[i], primary[i]) for i in k]) >= pr,
        # a primary's ack: the put is in its main store, and stores only grow (a
        # fallback's ack is a hint: its main store is left free)
        *[zt.Implies(zt.And(acks[i], primary[i]), main[i]) for i in k],
        # the get's answer covers the put exactly when one reply does; it does not
        *[zt.Not(zt.And(replies[i], main[i])) for i in k],
        pr + pw > n if with_hypothesis else pr + pw <= n,
    ]
    if not with_hypothesis:  # sloppy-crash-pw's configuration, for a readable twin
        assertions += [n == 3, r == 2, w == 2, pr == 0, pw == 2]

    def explain(m: Any) -> str:
        def down(up: Sequence[Any]) -> str:
            return _show(tuple(i for i, u in enumerate(up) if not bool_of(m, u)))

        return (
            f"N={int_of(m, n)} R={int_of(m, r)} W={int_of(m, w)} PR={int_of(m, pr)} "
            f"PW={int_of(m, pw)}, preference list {', '.join(NAMES[:PRIMARY_LIST])}: "
            f"unreachable at the put {down(up_put)}, acknowledged by "
            f"{_show(_names(m, acks))}; unreachable at the get {down(up_get)}, answered "
            f"by {_show(_names(m, replies))}, none of whose main stores holds the put"
        )

    label = (f"N<={PRIMARY_MAX_N}, list of {PRIMARY_LIST}, PR+PW>N" if with_hypothesis
             else "N=3 R=2 W=2 PR=0 PW=2, list of 8")
    yield Query(label, tuple(assertions), explain)


PROOFS: tuple[Proof, ...] = (
    Proof(
        "strict_quorum_read_your_writes",
        "Strict quorum, R + W > N, no disk loss, no membership change: a get that begins "
        "after a put was acknowledged returns it (its replies come from R of the top N, "
        "the put is in the main stores of W of them, and stores only grow).",
        f"every N <= {STRICT_MAX_N}, R and W symbolic",
        lambda: _strict(True),
        "a store may lose the put between the put and the get (a disk loss): Z3 gives "
        "the get that misses it",
        lambda: _strict(False),
        group="quorum",
    ),
    Proof(
        "sloppy_read_your_writes_needs_hints_read",
        "Sloppy quorum, R + W > N, the same nodes reachable at the put and the get: if "
        "fallbacks answered gets from their hint stores too, a get after an acknowledged "
        "put would return it.",
        f"every N <= {SLOPPY_MAX_N}, preference lists of {SLOPPY_LIST} nodes",
        lambda: _sloppy_queries(True),
        "the spec: a fallback answers from its main store only; Z3 gives a get that "
        "misses the hinted put although the get's repliers include a node that "
        "acknowledged it",
        lambda: _sloppy_queries(False),
        group="quorum",
        shown=True,
    ),
    Proof(
        "primary_quorum_read_your_writes",
        "Sloppy quorum with Riak's primary quorums, PR + PW > N, no disk loss, no "
        "membership change, reachability changing freely between the put and the get: "
        "a get answered after a put was acknowledged returns it (PW of the top N stored "
        "the put in their main stores, PR of the top N answered from theirs).",
        f"every N <= {PRIMARY_MAX_N}, preference lists of {PRIMARY_LIST} nodes, R, W, "
        "PR and PW symbolic",
        lambda: _primary(True),
        "PR + PW <= N (PW = 2 alone on N = 3, sloppy-crash-pw): Z3 gives the get that "
        "misses the acknowledged put",
        lambda: _primary(False),
        group="quorum",
    ),
)
