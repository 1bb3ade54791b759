"""spec.vclock: the behaviours mutmut found no test for (docs/refinement.md,
"Mutation score"): errors naming what was wrong, zero counters dropped, sorted pairs
enforced, the time that goes with a merged pair, prune's tie-break, the repr."""

from __future__ import annotations

import pytest

from spec.errors import InvalidValueError
from spec.vclock import VClock


def test_zero_counters_are_dropped_not_refused() -> None:
    assert VClock.of({"a": 0, "b": 1}) == VClock.of({"b": 1})
    assert VClock.of({"a": 0}).pairs == ()


@pytest.mark.parametrize(("build", "message"), [
    (lambda: VClock.of({"a": -1}), r"counter for 'a' must be >= 0, got -1"),
    (lambda: VClock.of({"a": "1"}), r"counter for 'a' must be an int, got '1'"),
    (lambda: VClock((("a", -1),)), r"counter for 'a' must be >= 0"),
    (lambda: VClock.of({"": 1}), r"node id must be a non-empty str, got ''"),
    (lambda: VClock((("b", 1), ("a", 1))), r"sorted by node"),
    (lambda: VClock((("a", 1), ("a", 2))), r"without repeats"),
    (lambda: VClock((("a", 0),)), r"has counter 0; use VClock.of"),
    (lambda: VClock.from_json("x"), r"JSON object of counters, got 'x'"),
    (lambda: VClock.of({"a": 1}).prune(0), r"prune threshold must be >= 1, got 0"),
])
def test_errors_name_what_was_wrong(build: object, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        build()  # type: ignore[operator]


def test_a_merged_pair_keeps_the_time_of_its_counter() -> None:
    timed_old = VClock.of({"n": 1}, {"n": 5.0})
    untimed_new = VClock.of({"n": 2})
    assert timed_old.merge(untimed_new).time_of("n") is None  # 2's time is unknown
    assert untimed_new.merge(timed_old).time_of("n") is None
    untimed_same = VClock.of({"n": 1})
    assert untimed_same.merge(timed_old).time_of("n") == 5.0  # equal counters: the known
    assert VClock.of({"n": 1}, {"n": 7.0}).merge(timed_old).time_of("n") == 7.0  # later


def test_prune_breaks_equal_times_by_node_id() -> None:
    clock = VClock.of({"a": 2, "b": 1}, {"a": 1.0, "b": 1.0})
    assert clock.prune(1) == VClock.of({"b": 1})  # riak_core drops the head of {T, N}


def test_repr() -> None:
    assert repr(VClock.of({"a": 1, "b": 2})) == "VClock({'a': 1, 'b': 2})"
