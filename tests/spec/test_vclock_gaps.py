"""spec.vclock: the behaviours mutmut found no test for (docs/refinement.md,
"Mutation score"): errors naming what was wrong, zero counters dropped, sorted pairs
enforced, the time that goes with a merged pair, prune's tie-break, the repr; and
(session 55, without the opt-in reference test that killed them before) prune's order by
time, the client entries' spelling and their actors."""

from __future__ import annotations

import pytest

from spec.errors import InvalidValueError
from spec.vclock import VClock, client_entry, entry_actor


def test_zero_counters_are_dropped_not_refused() -> None:
    assert VClock.of({"a": 0, "b": 1}) == VClock.of({"b": 1})
    assert VClock.of({"a": 0}).pairs == ()


@pytest.mark.parametrize(("build", "message"), [
    (lambda: VClock.of({"a": -1}), r"counter for 'a' must be >= 0, got -1"),
    (lambda: VClock.of({"a": "1"}), r"counter for 'a' must be an int, got '1'"),
    (lambda: VClock((("a", -1),)), r"counter for 'a' must be >= 0"),
    (lambda: VClock.of({"": 1}), r"node id must be a non-empty str, got ''"),
    (lambda: VClock((("b", 1), ("a", 1))),
     r"^vector clock pairs must be sorted by node, without repeats$"),
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


def test_prune_drops_the_oldest_by_time_and_an_untimed_pair_first() -> None:
    """Session 55 (mutmut 3.8.1 at baec5eed; only the opt-in riak_core reference test
    killed them): ``prune`` 9, 11, 13, 15, 17 (the pairs sorted by node, not by time)
    and 14, 16 (an untimed pair's time ``None``: a TypeError)."""
    clock = VClock.of({"a": 1, "b": 1, "c": 1}, {"a": 5.0, "b": 1.0})
    assert clock.prune(2) == VClock.of({"a": 1, "b": 1})  # c has no time: oldest
    assert clock.prune(1) == VClock.of({"a": 1})  # b (1.0) older than a (5.0)


def test_client_entries_and_their_actors() -> None:
    """Session 55: ``client_entry`` 1 (``fresh`` 1 by default), 2 (a client id of
    exactly 255 bytes hashed); ``entry_actor`` 3 (the last space splits: a client id
    may hold spaces), 9 (the first ``/``: a node name may hold one), 10, 11 (the fresh
    number never taken off), 13 (``or``: a tail that is no number taken off)."""
    assert client_entry("c", "n1~1") == "n1~1 c"
    assert client_entry("c", "n1~1", 2) == "n1~1/2 c"
    assert client_entry("x" * 255, "n1~1") == "n1~1 " + "x" * 255
    assert client_entry("x" * 256, "n1~1").startswith("n1~1 sha256:")
    assert entry_actor("n1~1/2 a client") == "n1~1"
    assert entry_actor("n/1~1/2 c") == "n/1~1"
    assert entry_actor("a/b~1 c") == "a/b~1"
    assert entry_actor("n1~1") == ""
