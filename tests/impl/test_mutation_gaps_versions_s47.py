"""impl.versions: the behaviours session 47's mutmut run found no test for
(docs/refinement.md, "Mutation score of the coordinators, versions and context
(session 47)")."""

from __future__ import annotations

import pytest

from impl.records import ClockMode, Record, Sibling
from impl.versions import context_pairs, lww_version
from spec.vclock import VClock


@pytest.mark.parametrize("mode", [ClockMode.SERVER_VCLOCK, ClockMode.CLIENT_VCLOCK])
def test_a_capped_context_drops_the_oldest_other_pairs_first(mode: ClockMode) -> None:
    """Session 31's rule (``_prune_keeping``): the siblings' own pairs (A, B: each its
    clock's youngest) are kept; of the others the oldest go first, a pair with no
    time the oldest of all (G), equal times broken by node id (P before Q). Killed:
    ``_prune_keeping__mutmut_11`` to ``_17`` (the times looked up by None, by the
    counter or not at all, no default or ``+inf`` for a pair with none, the tie
    broken by counter)."""
    one = Sibling(b"a", VClock.of({"A": 1, "C": 1, "G": 1}, {"A": 5.0, "C": 1.0}))
    two = Sibling(b"b", VClock.of({"B": 1, "P": 2, "Q": 1, "F": 1},
                                  {"B": 6.0, "P": 0.5, "Q": 0.5, "F": 4.0}))
    record = Record(mode, (one, two))
    assert context_pairs(record) == (("A", 1), ("B", 1), ("C", 1), ("F", 1), ("G", 1),
                                     ("P", 2), ("Q", 1))
    assert context_pairs(record, 5) == (("A", 1), ("B", 1), ("C", 1), ("F", 1), ("Q", 1))
    assert context_pairs(record, 2) == (("A", 1), ("B", 1))
    assert context_pairs(record, 1) == (("B", 1),)


def test_an_lww_version_names_its_coordinator_as_writer() -> None:
    """The writer breaks ties of equal stamps (``_lww_key``). Killed:
    ``lww_version__mutmut_29`` (the coordinator left out: writer "")."""
    new = lww_version(Record.empty(ClockMode.LWW), VClock(), b"v", coordinator="n2", now=5.0)
    assert new == Sibling(b"v", VClock(), 5.0, "n2")
