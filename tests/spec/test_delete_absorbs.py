"""``spec.coordination.absorbed`` on literals (session 38, review of s38-deldrop's fix;
docs/proofs.md, "Merge and review (session 38)").

A dvv delete's write takes over the ghost histories of the tombstones it removes from
its coordinator's copy, every one of them and no other. The suite's graphs have at
most two deletes, so a write there removes at most one other tombstone, and no state
of theirs keeps a tombstone through a delete's write. Three mutants of ``absorbed``
therefore changed no state count, no verdict and no test: taking over only the first
tombstone removed, taking over the tombstones the write keeps as well, and (killed by
the walk in test_proof_pruning_resurrection.py, but not by the suite) taking over each
tombstone's id without its history. The copies here come from ``spec.clocks.put``: a
blind delete through n1 drops two concurrent tombstones at once.
"""

from __future__ import annotations

import pytest

from spec import clocks
from spec.clocks import Payload, PutRecord
from spec.coordination import absorbed
from spec.dvv import DVVSet, Entry

#: puts 1 and 2 values; 3 a delete of 1, 4 a delete of 2 (concurrent, coordinated by
#: n1 and n2); 5 a blind delete through n1
TOMBSTONES = frozenset({3, 4, 5})
HISTORIES = {1: {1}, 2: {2}, 3: {1, 3}, 4: {2, 4}, 5: {5}}
PUTS = tuple(PutRecord(p, "c1", "k", "n1", (), (0, ""), frozenset(h), ())
             for p, h in HISTORIES.items())
BOTH = DVVSet((Entry("n1", 1, (3,)), Entry("n2", 1, (4,))))


def _blind_delete(local: Payload) -> Payload:
    """The copy put 5's write leaves at n1 (the spec's coordinator put)."""
    return clocks.put("dvv", local, None, 5, "n1", "c1", 0, PUTS, actor="n1",
                      tombstones=TOMBSTONES)[0]


def test_a_blind_delete_removes_both_concurrent_tombstones() -> None:
    """The premise: the spec's delete drops every tombstone it is concurrent with
    (spec.dvv.drop_superseded), here two at once."""
    assert clocks.values(_blind_delete(BOTH)) == (5,)


@pytest.mark.parametrize(("before", "after", "taken"), [
    (BOTH, _blind_delete(BOTH), {1, 2, 3, 4}),  # both removed: both histories, whole
    (BOTH, DVVSet((Entry("n1", 2, (5,)), Entry("n2", 1, (4,)))), {1, 3}),  # 4 kept
    (DVVSet((Entry("n2", 1, (4,)),)), DVVSet((Entry("n1", 1, (5,)), Entry("n2", 1, (4,)))),
     set()),  # nothing removed
    (DVVSet((Entry("n1", 1, (1,)), Entry("n2", 1, (4,)))),
     DVVSet((Entry("n1", 2, (5,)), Entry("n2", 1, ()))), {2, 4}),  # a value removed: not taken
])
def test_a_delete_takes_over_exactly_the_tombstones_its_write_removes(
        before: Payload, after: Payload, taken: set[int]) -> None:
    """Every tombstone the write removed, each with its whole history; none it kept,
    and no value. Mutants killed: the first removed only, each tombstone's id without
    its history, its history without its id, the kept tombstones taken over too, the
    kept ones only, a removed value taken over."""
    assert absorbed(PUTS, before, after, TOMBSTONES) == frozenset(taken)
