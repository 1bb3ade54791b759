"""impl.versions: the behaviours mutmut found no test for (docs/refinement.md,
"Mutation score")."""

from __future__ import annotations

from impl.versions import truncate_new_clock
from spec.vclock import VClock


def test_per_put_truncation_keeps_threshold_pairs_when_the_entry_is_the_newest() -> None:
    """The usual case: the pair the put just incremented carries the put's time (the
    newest); the others fill the remaining ``threshold - 1`` places, and the kept
    pairs keep their times."""
    clock = VClock.of({"a": 1, "b": 2, "c": 3}, {"a": 5.0, "b": 1.0, "c": 9.0})
    truncated = truncate_new_clock(clock, 2, "c")
    assert truncated.pairs == (("a", 1), ("c", 3))
    assert truncated.times == (("a", 5.0), ("c", 9.0))


def test_per_put_truncation_breaks_ties_by_node_id_not_counter() -> None:
    clock = VClock.of({"a": 3, "b": 1, "c": 1})
    assert truncate_new_clock(clock, 2, "c").pairs == (("b", 1), ("c", 1))
