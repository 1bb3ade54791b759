"""spec.dvv: the behaviours mutmut found no test for (docs/refinement.md, "Mutation
score"): the JSON methods pass their codec on, ``equal`` compares ids, counters and
value counts each, ``last`` looks at every entry, errors name what was wrong."""

from __future__ import annotations

import pytest

from spec import dvv
from spec.dvv import DVVSet, Entry, equal, last, sync
from spec.errors import InvalidValueError


def test_the_json_methods_pass_their_codec_on() -> None:
    clock = DVVSet.of([("a", 2, [b"\x00new", b"old"])], [b"anon"])
    data = clock.to_json(dvv.encode_bytes)
    assert data == dvv.to_json(clock, dvv.encode_bytes)
    assert data["entries"] == [["a", 2, ["AG5ldw==", "b2xk"]]]
    assert DVVSet.from_json(data, dvv.decode_bytes) == clock


@pytest.mark.parametrize(("a", "b"), [
    # same id and counter, another number of values
    (DVVSet.of([("a", 2, [1, 0])]), DVVSet.of([("a", 2, [1])])),
    # another id, same counter and number of values
    (DVVSet.of([("a", 1, [])]), DVVSet.of([("b", 1, [])])),
    # same id and number of values, another counter
    (DVVSet.of([("a", 1, [])]), DVVSet.of([("a", 2, [])])),
])
def test_equal_needs_the_same_ids_counters_and_value_counts(
        a: DVVSet[int], b: DVVSet[int]) -> None:
    assert not equal(a, b)
    assert not equal(b, a)
    assert equal(a, a)


def test_last_looks_at_the_newest_value_of_every_entry() -> None:
    clock = DVVSet.of([("a", 1, [1]), ("b", 1, [5]), ("c", 1, [2])])
    assert last(lambda x, y: x <= y, clock) == 5


@pytest.mark.parametrize(("call", "message"), [
    (lambda: equal(DVVSet(), ()),
     "equal compares two clocks or two version vectors, not one of each"),
    (lambda: last(lambda x, y: x <= y, DVVSet()),
     "last/lww need a clock with at least one value; this one has none"),
])
def test_errors_name_what_was_wrong(call: object, message: str) -> None:
    with pytest.raises(InvalidValueError) as raised:
        call()  # type: ignore[operator]
    assert str(raised.value) == message


@pytest.mark.parametrize("values", [5, "ab", b"ab"])
def test_of_refuses_entry_values_that_are_not_a_list(values: object) -> None:
    with pytest.raises(InvalidValueError) as raised:
        DVVSet.of([("a", 2, values)])  # type: ignore[list-item]
    assert str(raised.value) == "DVVSet entry 'a': values must be a list"


def test_from_json_names_the_unknown_keys() -> None:
    with pytest.raises(InvalidValueError) as raised:
        dvv.from_json({"entries": [], "anonymous": [], "zz": 1, "extra": 2})
    assert str(raised.value) == "DVVSet JSON has unknown keys ['extra', 'zz']"


@pytest.mark.parametrize(("vector", "message"), [
    ((("a", 1, 2),), "a version vector entry is (id, counter), got ('a', 1, 2)"),
    (((5, 1),), "DVVSet id must be a non-empty str, got 5"),
    ((("", 1),), "DVVSet id must be a non-empty str, got ''"),
    ((("a", 1), ("a", 2)), "version vector names id 'a' twice"),
    ((("b", 1), ("a", 1), ("a", 2)), "version vector names id 'a' twice"),
    ((("a", -1),), "DVVSet counter of 'a' must be >= 0, got -1"),
    ((("a", "1"),), "DVVSet counter of 'a' must be an int, got '1'"),
    ((("a", True),), "DVVSet counter of 'a' must be an int, got True"),
])
def test_a_vector_given_as_a_tuple_is_checked_like_any_other(
        vector: tuple[object, ...], message: str) -> None:
    """A tuple of pairs takes a fast path when it is already canonical; anything
    else in a tuple is refused or canonicalized like a list or a mapping."""
    with pytest.raises(InvalidValueError) as raised:
        dvv.new(vector, 5)  # type: ignore[arg-type]
    assert str(raised.value) == message


def test_a_tuple_vector_out_of_order_or_with_list_pairs_is_canonicalized() -> None:
    assert dvv.join(dvv.new((("b", 1), ("a", 2)), 5)) == (("a", 2), ("b", 1))
    assert equal((["a", 1],), (("a", 1),))  # type: ignore[arg-type]


def test_the_repr_is_the_literal_that_builds_the_clock() -> None:
    clock = DVVSet.of([("a", 2, [1, 0]), ("b", 1, [])], [10])
    assert repr(clock) == "DVVSet.of([('a', 2, [1, 0]), ('b', 1, [])], [10])"


def test_sync_drops_the_values_the_other_side_saw_overwritten_whichever_side_is_newer() -> None:
    """The reference's merge/5, second branch: ``a`` has seen events 1..3 with values
    for all three; the other side has seen 1..2 and holds only event 2's value, so
    event 1's value was overwritten there and goes."""
    newer = DVVSet.of([("a", 3, ["c", "b", "a"])])
    older = DVVSet.of([("a", 2, ["b"])])
    expected = DVVSet.of([("a", 3, ["c", "b"])])
    assert sync(newer, older) == expected
    assert sync(older, newer) == expected


def test_an_entrys_bad_counter_is_refused_naming_its_id() -> None:
    with pytest.raises(ValueError, match=r"^DVVSet counter of 'a' must be >= 0, got -1$"):
        Entry("a", -1)


def test_the_constructors_refuse_unhashable_values_and_repeated_ids() -> None:
    unhashable = r"^DVVSet values must be hashable, got \[1\]$"
    with pytest.raises(ValueError, match=unhashable):
        Entry("a", 1, ([1],))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=unhashable):
        DVVSet((), ([1],))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^DVVSet entries must be sorted by id without "
                                         r"repeats: 'a' after 'a' \(use DVVSet.of\)$"):
        DVVSet((Entry("a", 1), Entry("a", 2)))


def test_anonymous_values_out_of_canonical_order_are_refused_word_for_word() -> None:
    with pytest.raises(ValueError) as raised:
        DVVSet((), (2, 1))
    assert str(raised.value) == ("DVVSet anonymous values must be in canonical order "
                                 "without repeats (use DVVSet.of)")


def test_a_dot_collision_keeps_the_values_the_reference_keeps() -> None:
    """Two entries of one id with equal counters and different values (the kv679 dot
    collision: a node that lost its disk mints a dot again; reachable clocks of a
    store with actor epochs never hold one): like the reference's merge/5, the first
    entry ``sync2`` compares keeps its values, and ``sync2`` swaps the two sides after
    taking an entry only the second clock has (``[H2 | sync2(T2, C1)]``)."""
    mine, theirs = DVVSet.of([("x", 1, ["p"])]), DVVSet.of([("x", 1, ["q"])])
    assert sync(mine, theirs) == mine
    assert sync(theirs, mine) == theirs
    # after the entry of "a" (only the second clock has it) the sides swap
    second = DVVSet.of([("a", 1, []), ("x", 1, ["q"])])
    assert sync(mine, second) == second
    assert sync(second, mine) == second


def test_less_compares_the_histories_entry_by_entry() -> None:
    """``less`` is strict and a bool: a larger counter of one id is newer, whichever
    side it is on; clocks newer on different ids are concurrent."""
    older, newer = DVVSet.of([("x", 1, [])]), DVVSet.of([("x", 2, [])])
    assert dvv.less(older, newer) is True
    assert dvv.less(newer, older) is False
    assert dvv.less(older, older) is False
    other = DVVSet.of([("x", 1, []), ("y", 1, [])])
    assert not dvv.less(newer, other)
    assert not dvv.less(other, newer)


def test_a_new_id_ordered_before_the_others_starts_at_counter_one() -> None:
    server = DVVSet.of([("b", 1, ["old"])])
    client = dvv.new(dvv.join(server), "new")
    assert dvv.update(client, server, "a") == DVVSet.of([("a", 1, ["new"]), ("b", 1, [])])


def test_update_refuses_a_client_clock_without_its_new_value_word_for_word() -> None:
    with pytest.raises(InvalidValueError) as raised:
        dvv.update(DVVSet(), "a")
    assert str(raised.value) == ("update needs a client clock with exactly one anonymous "
                                 "value, the new one (made by new(vector, value)); this "
                                 "one has 0")


def test_anonymous_values_of_mixed_types_take_the_canonical_order() -> None:
    """By type name, then natively for the primitive types (9 before 10, which their
    reprs would swap), else by repr (complex numbers have no native order)."""
    clock = dvv.new_list([10, 9, "b", 2j, 1j, b"x"])
    assert clock.anonymous == (b"x", 1j, 2j, 9, 10, "b")


def test_a_new_value_that_is_not_hashable_is_refused_by_name() -> None:
    with pytest.raises(InvalidValueError, match=r"^DVVSet values must be hashable, got \[1\]$"):
        dvv.new((("a", 1),), [1])


class _UnhashableBytes(bytes):
    __hash__ = None  # type: ignore[assignment]


@pytest.mark.parametrize("value", [[1], _UnhashableBytes(b"ab")])
def test_unhashable_values_are_refused_even_a_bytes_subclass(value: object) -> None:
    """_check_value skips hash() only for values whose type is exactly a native one
    (bytes, str...: hashable by type; session 12's speed-up): a subclass that is not
    hashable is still refused. Kills: ``isinstance`` for ``type(value) in``."""
    with pytest.raises(InvalidValueError, match="must be hashable"):
        DVVSet.of([("a", 1, [value])])
    assert dvv.values(DVVSet.of([("a", 1, [b"x" * (1 << 20)])])) == (b"x" * (1 << 20),)
