"""Mutation gaps of :func:`impl.versions.prune_retired` (session 34: ``keep``, the
spec's count): the mutants the tests of the pruning let live (docs/refinement.md,
"Session 34: the changed functions of antientropy, read_repair, retired,
versions"). The pure rule on hand-built dvv records.
"""

from __future__ import annotations

import pytest

from impl.records import ClockMode, Record
from impl.versions import prune_retired
from spec import dvv


def _record(*entries: tuple[str, int, list[bytes]]) -> Record:
    return Record(ClockMode.DVV, dvvset=dvv.DVVSet.of(entries))


def _ids(record: Record) -> list[str]:
    return [entry.id for entry in record.dvvset.entries]


def test_the_count_ages_each_nodes_lifetimes_apart() -> None:
    """``keep`` 1 keeps the newest retired lifetime of *each* node: the value-less
    entries of a~..01 and b~..01 (each its node's newest) both stay, and of the
    three nodes ``x~1``, ``x~2`` (names holding a ``~``: the node is the prefix
    before the last one) and ``x`` each keeps its own (``prune_retired__mutmut_22``,
    ``_28``, ``_29``: every lifetime one node's, the older one pruned; ``_27``:
    ``partition``, the three nodes one)."""
    a, b = "a~000000000001", "b~000000000001"
    record = _record((a, 1, []), (b, 1, []), ("c~000000000009", 1, [b"v"]))
    assert prune_retired(record, {a: 1, b: 2}, keep=1) is record
    lifetimes = ["x~1~000000000001", "x~2~000000000001", "x~000000000001"]
    record = _record(*((lifetime, 1, []) for lifetime in lifetimes))
    assert prune_retired(record, dict.fromkeys(lifetimes, 1), keep=1) is record
    # (the count at work: a node's older lifetime goes)
    older = "a~000000000000"
    record = _record((older, 1, []), (a, 1, []))
    assert _ids(prune_retired(record, {older: 1, a: 2}, keep=1)) == [a]


#: node a's older retired lifetime holding three value-less entries (itself 22
#: bytes, its pair with a client 28, its key epoch 24: 74), its newer one (22: 96 in
#: all), and a value of node b's
OLD, NEW, VALUE = "a~000000000001", "a~000000000002", "b~000000000009"
OLD_AND_NEW = _record((OLD, 3, []), (f"{OLD}.2", 1, []), (f"{OLD} alice", 2, []),
                      (NEW, 1, []), (VALUE, 1, [b"v"]))


@pytest.mark.parametrize("budget", [90, 22])
def test_past_the_budget_the_older_lifetime_goes_whole(budget: int) -> None:
    """96 bytes over a budget of 90: the older lifetime goes, all three entries
    (``prune_retired__mutmut_33``: ``costs.get(None, 0)``, a lifetime's cost its
    last entry's alone: 46 in all, within the budget, nothing pruned). Over 22:
    the same, the newer one's 22 bytes exactly the budget, kept
    (``prune_retired__mutmut_66``: ``spent < budget``, the newer one pruned too). With
    the newest retired lifetime never pruned (session 39's ``newest_kept``) the newer
    one would stay whatever the comparison, so the byte rule is checked without it."""
    assert _ids(prune_retired(OLD_AND_NEW, {OLD: 1, NEW: 2}, budget=budget,
                              newest_kept=0)) == [NEW, VALUE]


def test_with_a_count_the_byte_budget_is_not_read() -> None:
    """``keep`` 1 and a budget of 0: only the lifetimes past the newest go, a~..03's
    value-less entry stays though it takes more than the budget
    (``prune_retired__mutmut_59``: the budget's loop run after the count, every
    lifetime pruned)."""
    lifetimes = [f"a~00000000000{i}" for i in (1, 2, 3)]
    record = _record(*((lifetime, 1, []) for lifetime in lifetimes))
    retired = {lifetime: rank for rank, lifetime in enumerate(lifetimes, start=1)}
    assert _ids(prune_retired(record, retired, keep=1, budget=0)) == [lifetimes[2]]


def test_pruning_keeps_the_anonymous_values() -> None:
    """A record holding an anonymous value (a put of no entry's) keeps it when
    entries of retired lifetimes are pruned (``prune_retired__mutmut_90``: the
    anonymous values dropped: a sibling lost)."""
    old = "a~000000000001"
    record = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of([(old, 1, [])], [b"anon"]))
    pruned = prune_retired(record, {old: 1}, keep=0)
    assert _ids(pruned) == [] and pruned.dvvset.anonymous == (b"anon",)
