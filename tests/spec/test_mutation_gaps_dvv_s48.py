"""spec.dvv: the behaviours session 48's mutmut run of ``spec/dvv.py`` found no test
for (docs/refinement.md, "Mutation score of spec/dvv.py (session 48)"):
:func:`spec.dvv.drop_superseded` keeps exactly the newest value of the put's own
entry, and drops an entry's superseded oldest values one at a time, up to the first
value it keeps."""

from __future__ import annotations

from collections.abc import Callable

from spec.dvv import DVVSet, drop_superseded


def _dropping(*values: str) -> Callable[[str], bool]:
    return frozenset(values).__contains__


def test_the_puts_own_entry_keeps_its_newest_value_only() -> None:
    """The actor's entry ``[d2, d1]`` (a delete's tombstone d2 over an older one d1,
    both selected): d1 goes, d2 (the put just made) stays. Kills
    ``drop_superseded__mutmut_9`` (the floor 2: both kept)."""
    clock = DVVSet.of([("A", 2, ["d2", "d1"]), ("B", 1, ["b"])])
    after = drop_superseded(clock, _dropping("d1", "d2"), "A")
    assert after == DVVSet.of([("A", 2, ["d2"]), ("B", 1, ["b"])])


def test_an_entrys_oldest_dropped_values_go_one_at_a_time_up_to_a_kept_one() -> None:
    """Another entry ``[live, t]`` with t selected: t goes, the live value stays; and
    ``[t3, t2, t1]`` all selected: all three go (the counter kept). Kills
    ``drop_superseded__mutmut_19`` (two at a time: the live value went too)."""
    clock = DVVSet.of([("A", 1, ["new"]), ("B", 2, ["live", "t"]),
                       ("C", 3, ["t3", "t2", "t1"])])
    after = drop_superseded(clock, _dropping("t", "t1", "t2", "t3"), "A")
    assert after == DVVSet.of([("A", 1, ["new"]), ("B", 2, ["live"]), ("C", 3, [])])
