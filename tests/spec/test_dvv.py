"""DVVSet (spec/dvv.py): the reference's eunit cases, Hypothesis laws, mutants.

The reference is ``src/dvvset.erl`` of ricardobcl/Dotted-Version-Vectors (commit
3bb5b7b616c650ac4289fcbd4c965937a9502eba). Its eunit tests are ported one for one
below (``test_ref_*``), with the same inputs and expected outputs; Erlang atoms
become Python strings (``v1`` -> ``"v1"``, ids ``a`` -> ``"a"``), Erlang literals
``{[{a,4,[5,2]}], [10,0]}`` become ``DVVSet.of([("a", 4, [5, 2])], [10, 0])``.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from spec import dvv
from spec.dvv import (
    MAX_PAIRS_PER_ACTOR,
    DVVSet,
    Entry,
    _event,
    equal,
    ids,
    join,
    last,
    less,
    lww,
    new,
    new_list,
    reconcile,
    size,
    sync,
    sync_list,
    update,
    values,
)
from spec.vclock import VClock, Version, client_entry, entry_actor
from spec.vclock import reconcile as vclock_reconcile
from tests.conftest import examples

Clock = DVVSet[object]


def L(*entries: tuple[str, int, list[object]], anonymous: list[object] | None = None) -> Clock:
    """An Erlang literal ``{[{I, N, Vs}, ...], Anonymous}``."""
    return DVVSet.of(entries, anonymous or [])


# == the reference's eunit tests ==================================================================


def test_ref_join() -> None:
    """dvvset.erl join_test/0."""
    a = new("v1")
    a1 = update(a, "a")
    b = new(join(a1), "v2")
    b1 = update(b, a1, "b")
    assert join(a) == ()
    assert join(a1) == (("a", 1),)
    assert join(b1) == (("a", 1), ("b", 1))


def test_ref_update() -> None:
    """dvvset.erl update_test/0."""
    a0 = update(new("v1"), "a")
    a1 = update(new_list(join(a0), ["v2"]), a0, "a")
    a2 = update(new_list(join(a1), ["v3"]), a1, "b")
    a3 = update(new_list(join(a0), ["v4"]), a1, "b")
    a4 = update(new_list(join(a0), ["v5"]), a1, "a")
    assert a0 == L(("a", 1, ["v1"]))
    assert a1 == L(("a", 2, ["v2"]))
    assert a2 == L(("a", 2, []), ("b", 1, ["v3"]))
    assert a3 == L(("a", 2, ["v2"]), ("b", 1, ["v4"]))
    assert a4 == L(("a", 3, ["v5", "v2"]))


def test_ref_sync() -> None:
    """dvvset.erl sync_test/0 (sync/1 of a list is sync_list)."""
    x = L(("x", 1, []))
    a = update(new("v1"), "a")
    y = update(new_list(["v2"]), "b")
    a1 = update(new_list(join(a), ["v2"]), "a")
    a3 = update(new_list(join(a1), ["v3"]), "b")
    a4 = update(new_list(join(a1), ["v3"]), "c")

    def f(left: object, right: object) -> bool:
        return str(left) > str(right)

    w = L(("a", 1, []))
    z = L(("a", 2, ["v2", "v1"]))
    assert sync_list([w, z]) == L(("a", 2, ["v2"]))
    assert sync_list([w, z]) == sync_list([z, w])
    assert sync_list([a, a1]) == sync_list([a1, a])
    assert sync_list([a4, a3]) == sync_list([a3, a4])
    assert sync_list([a4, a3]) == L(("a", 2, []), ("b", 1, ["v3"]), ("c", 1, ["v3"]))
    assert sync_list([x, a]) == L(("a", 1, ["v1"]), ("x", 1, []))
    assert sync_list([x, a]) == sync_list([a, x])
    assert sync_list([x, a]) == sync_list([a, x])
    assert sync_list([a, y]) == L(("a", 1, ["v1"]), ("b", 1, ["v2"]))
    assert sync_list([y, a]) == sync_list([a, y])
    assert sync_list([y, a]) == sync_list([a, y])
    assert sync_list([a, x]) == sync_list([x, a])
    assert lww(f, a4) == sync_list([a4, lww(f, a4)])


def test_ref_sync_update() -> None:
    """dvvset.erl sync_update_test/0: Mary and Peter write the same key."""
    a0 = update(new_list(["v1"]), "a")  # Mary writes v1 w/o VV
    vv1 = join(a0)  # Peter reads v1 with version vector (VV)
    a1 = update(new_list(["v2"]), a0, "a")  # Mary writes v2 w/o VV
    a2 = update(new_list(vv1, ["v3"]), a1, "a")  # Peter writes v3 with VV from v1
    assert vv1 == (("a", 1),)
    assert a0 == L(("a", 1, ["v1"]))
    assert a1 == L(("a", 2, ["v2", "v1"]))
    # now A2 should only have v2 and v3, since v3 was causally newer than v1
    assert a2 == L(("a", 3, ["v3", "v2"]))


def test_ref_event() -> None:
    """dvvset.erl event_test/0 (event/3 is private there too)."""
    a = update(new("v1"), "a").entries
    assert _event(a, "a", "v2") == L(("a", 2, ["v2", "v1"])).entries
    assert _event(a, "b", "v2") == L(("a", 1, ["v1"]), ("b", 1, ["v2"])).entries


def test_ref_lww_last() -> None:
    """dvvset.erl lww_last_test/0."""

    def f(a: int, b: int) -> bool:
        return a <= b

    def f2(a: tuple[int, int], b: tuple[int, int]) -> bool:
        return a[1] <= b[1]

    x = L(("a", 4, [5, 2]), ("b", 1, []), ("c", 1, [3]))
    y = L(("a", 4, [5, 2]), ("b", 1, []), ("c", 1, [3]), anonymous=[10, 0])
    z = L(("a", 4, [5, 2]), ("b", 1, [1]), anonymous=[3])
    a = L(
        ("a", 4, [(5, 1002345), (7, 1002340)]),
        ("b", 1, [(4, 1001340)]),
        anonymous=[(2, 1001140)],
    )
    assert last(f, x) == 5
    assert last(f, y) == 10
    assert lww(f, x) == L(("a", 4, [5]), ("b", 1, []), ("c", 1, []))
    assert lww(f, y) == L(("a", 4, []), ("b", 1, []), ("c", 1, []), anonymous=[10])
    assert lww(f, z) == L(("a", 4, [5]), ("b", 1, []))
    assert lww(f2, a) == L(("a", 4, [(5, 1002345)]), ("b", 1, []))


def test_ref_reconcile() -> None:
    """dvvset.erl reconcile_test/0."""

    def f1(vals: tuple[int, ...]) -> int:
        return sum(vals)

    def f2(vals: tuple[int, ...]) -> int:
        return sorted(vals)[0]

    x = L(("a", 4, [5, 2]), ("b", 1, []), ("c", 1, [3]))
    y = L(("a", 4, [5, 2]), ("b", 1, []), ("c", 1, [3]), anonymous=[10, 0])
    empty = [("a", 4, []), ("b", 1, []), ("c", 1, [])]
    assert reconcile(f1, x) == L(*empty, anonymous=[10])
    assert reconcile(f1, y) == L(*empty, anonymous=[20])
    assert reconcile(f2, x) == L(*empty, anonymous=[2])
    assert reconcile(f2, y) == L(*empty, anonymous=[0])


def test_ref_less() -> None:
    """dvvset.erl less_test/0. The reference writes ``update(new_list(v1), [a])``:
    new_list of a non-list is new/1, and the id is the Erlang list ``[a]``; ids are
    strings here, so that id is the string ``"[a]"`` (the verdicts of less do not
    depend on where it sorts)."""
    a = update(new_list("v1"), "[a]")
    b = update(new_list(join(a), ["v2"]), "a")
    b2 = update(new_list(join(a), ["v2"]), "b")
    b3 = update(new_list(join(a), ["v2"]), "z")
    c = update(new_list(join(b), ["v3"]), a, "c")
    d = update(new_list(join(c), ["v4"]), b2, "d")
    assert less(a, b)
    assert less(a, c)
    assert less(b, c)
    assert less(b, d)
    assert less(b2, d)
    assert less(a, d)
    assert not less(b2, c)
    assert not less(b, b2)
    assert not less(b2, b)
    assert not less(a, a)
    assert not less(c, c)
    assert not less(d, b2)
    assert not less(b3, d)


def test_ref_equal() -> None:
    """dvvset.erl equal_test/0: only the causal history is compared."""
    a = L(("a", 4, ["v5", "v0"]), ("b", 0, []), ("c", 1, ["v3"]), anonymous=["v0"])
    b = L(("a", 4, ["v555", "v0"]), ("b", 0, []), ("c", 1, ["v3"]))
    c = L(("a", 4, ["v5", "v0"]), ("b", 0, []), anonymous=["v6", "v1"])
    assert equal(a, b)
    assert equal(b, a)
    assert not equal(a, c)
    assert not equal(b, c)


def test_ref_size() -> None:
    """dvvset.erl size_test/0."""
    assert size(new_list(["v1"])) == 1
    clock = L(("a", 4, ["v5", "v0"]), ("b", 0, []), ("c", 1, ["v3"]), anonymous=["v4", "v1"])
    assert size(clock) == 5


def test_ref_ids_values() -> None:
    """dvvset.erl ids_values_test/0."""
    a = L(("a", 4, ["v0", "v5"]), ("b", 0, []), ("c", 1, ["v3"]), anonymous=["v1"])
    b = L(("a", 4, ["v0", "v555"]), ("b", 0, []), ("c", 1, ["v3"]))
    c = L(("a", 4, []), ("b", 0, []), anonymous=["v1", "v6"])
    assert ids(a) == ("a", "b", "c")
    assert ids(b) == ("a", "b", "c")
    assert ids(c) == ("a", "b")
    assert sorted(map(str, values(a))) == ["v0", "v1", "v3", "v5"]
    assert sorted(map(str, values(b))) == ["v0", "v3", "v555"]
    assert sorted(map(str, values(c))) == ["v1", "v6"]


def test_ref_map() -> None:
    """dvvset.erl map_test/0."""
    a = L(("a", 4, []), ("b", 0, []), ("c", 1, []), anonymous=[10])
    b = L(("a", 4, [5, 0]), ("b", 0, []), ("c", 1, [2]), anonymous=[20, 10])

    def f(x: object) -> object:
        assert isinstance(x, int)
        return x * 2

    assert dvv.map(f, a) == L(("a", 4, []), ("b", 0, []), ("c", 1, []), anonymous=[20])
    assert dvv.map(f, b) == L(("a", 4, [10, 0]), ("b", 0, []), ("c", 1, [4]), anonymous=[40, 20])


# == layout, construction and errors ==============================================================


def test_equal_clocks_hash_equal_whatever_the_input_order() -> None:
    one = DVVSet.of([("b", 1, ["y"]), ("a", 2, ["x"])], ["q", "p", "q"])
    two = DVVSet.of([("a", 2, ["x"]), ("b", 1, ["y"])], ["p", "q"])
    assert one == two and hash(one) == hash(two)
    assert one.anonymous == ("p", "q")
    assert {one: 1}[two] == 1


def test_new_with_vector_sorts_and_accepts_mappings_and_vclocks() -> None:
    expected = L(("a", 1, []), ("b", 2, []), anonymous=["v"])
    assert new([("b", 2), ("a", 1)], "v") == expected
    assert new({"b": 2, "a": 1}, "v") == expected
    assert new(VClock.of({"a": 1, "b": 2}), "v") == expected
    assert dvv.new_with_context((("a", 1), ("b", 2)), "v") == expected


def test_new_list_takes_a_non_list_as_one_value_like_the_reference() -> None:
    assert new_list((1, 2)) == new((1, 2))
    assert new_list([1, 2]).anonymous == (1, 2)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: DVVSet.of([("a", 1, ["x", "y"])]), "2 values but counter 1"),
        (lambda: DVVSet.of([("a", 1, []), ("a", 2, [])]), "'a' appears in two entries"),
        (lambda: DVVSet.of([("", 1, [])]), "non-empty str"),
        (lambda: DVVSet.of([("a", -1, [])]), ">= 0"),
        (lambda: DVVSet.of([("a", True, [])]), "must be an int"),
        (lambda: DVVSet.of([("a", 1)]), "(id, counter, values)"),  # type: ignore[list-item]
        (lambda: DVVSet.of([], [["unhashable"]]), "hashable"),
        (lambda: DVVSet((Entry("b", 1), Entry("a", 1)), ()), "sorted by id"),
        (lambda: DVVSet((), (2, 1)), "canonical order"),
        (lambda: new([("a", 1), ("a", 2)], "v"), "twice"),
        (lambda: new("not-a-vector", "v"), "pairs"),
        (lambda: update(new_list([1, 2]), "a"), "exactly one anonymous value"),
        (lambda: update(new_list([]), DVVSet(), "a"), "exactly one anonymous value"),
        (lambda: update(new(1), "x", "a"), "server clock must be a DVVSet"),
        (lambda: last(lambda a, b: True, DVVSet()), "at least one value"),
        (lambda: equal(DVVSet(), ()), "not one of each"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    build: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()


def test_sync_list_of_nothing_is_the_empty_clock_and_the_identity() -> None:
    assert sync_list([]) == DVVSet() == dvv.EMPTY
    clock = update(new(1), "a")
    assert sync(dvv.EMPTY, clock) == clock == sync(clock, dvv.EMPTY)


def test_equal_on_version_vectors() -> None:
    assert equal((("a", 1), ("b", 2)), {"b": 2, "a": 1})
    assert not equal((("a", 1),), (("a", 2),))


def test_anonymous_values_break_associativity_as_in_the_reference() -> None:
    """Pinned: the reference keeps anonymous values (no dot) by comparing whole
    histories, which is not associative. The laws below hold for server clocks,
    whose values all carry dots; anonymous values are the client's side."""
    a = L(("p", 1, []), anonymous=["x"])
    b = L(("q", 1, []), anonymous=["y"])
    c = L(("p", 1, []), ("q", 1, []))
    assert values(sync(sync(a, b), c)) == ("x", "y")
    assert values(sync(a, sync(b, c))) == ()


# == JSON =========================================================================================


def test_json_round_trip_and_form() -> None:
    clock = L(("a", 3, [3, 2]), ("b", 1, []), anonymous=[7])
    assert clock.to_json() == {"entries": [["a", 3, [3, 2]], ["b", 1, []]], "anonymous": [7]}
    assert DVVSet.from_json(clock.to_json()) == clock
    raw = update(new(b"\x00v"), "n1")
    data = dvv.to_json(raw, dvv.encode_bytes)
    assert data == {"entries": [["n1", 1, ["AHY="]]], "anonymous": []}
    assert dvv.from_json(data, dvv.decode_bytes) == raw
    vv = join(clock)
    assert dvv.vector_from_json(dvv.vector_to_json(vv)) == vv


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "JSON object"),
        ({"entries": []}, "'anonymous' must be a list"),
        ({"entries": {}, "anonymous": []}, "'entries' must be a list"),
        ({"entries": [], "anonymous": [], "x": 1}, "unknown keys"),
        ({"entries": [["a", 1]], "anonymous": []}, "[id, counter, [values]]"),
        ({"entries": [["a", "1", []]], "anonymous": []}, "must be an int"),
        ({"entries": [["a", 1, [1, 2]]], "anonymous": []}, "2 values but counter 1"),
        ({"entries": [["a", 1, []], ["a", 1, []]], "anonymous": []}, "two entries"),
        ({"entries": [], "anonymous": [[1]]}, "pass a decoder"),
        ({"entries": [], "anonymous": [1.5]}, "pass a decoder"),
    ],
)
def test_from_json_refuses_malformed_input(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        dvv.from_json(data)


def test_to_json_refuses_values_it_cannot_write_and_bad_bytes() -> None:
    with pytest.raises(ValueError, match="pass an encoder"):
        dvv.to_json(new(b"x"))
    with pytest.raises(ValueError, match="base64"):
        dvv.from_json({"entries": [], "anonymous": ["!!"]}, dvv.decode_bytes)
    with pytest.raises(ValueError, match="JSON object"):
        dvv.vector_from_json([["a", 1]])


# == the shopping cart: why DVVSets ===============================================================


def test_two_clients_on_one_server_keep_both_values_as_siblings() -> None:
    """Two clients read the empty cart, each adds an item, both puts go through
    coordinator A. A DVVSet keeps both as siblings; the paper's server-side vector
    clock gives the second write {A: 2}, which dominates the first's {A: 1}, and
    syntactic reconciliation silently drops the first client's item."""
    context = join(dvv.EMPTY)  # both clients read the empty cart
    stored = update(new(context, "milk"), dvv.EMPTY, "A")
    stored = update(new(context, "eggs"), stored, "A")
    assert sorted(map(str, values(stored))) == ["eggs", "milk"]
    # A later put whose context covers both collapses them.
    merged = update(new(join(stored), "eggs+milk"), stored, "A")
    assert values(merged) == ("eggs+milk",)

    first = Version("milk", VClock().increment("A"))
    second = Version("eggs", VClock.of({"A": first.clock.counter("A") + 1}))
    assert [v.value for v in vclock_reconcile([first, second])] == ["eggs"]  # milk lost


def test_the_docs_example() -> None:
    """The example of docs/dvv.md, kept true."""
    stored: DVVSet[str] = dvv.EMPTY
    context = dvv.join(stored)
    stored = dvv.update(dvv.new(context, "milk"), stored, "A")
    stored = dvv.update(dvv.new(context, "eggs"), stored, "A")
    assert stored == dvv.DVVSet.of([("A", 2, ["eggs", "milk"])])
    context = dvv.join(stored)
    assert context == (("A", 2),)
    stored = dvv.update(dvv.new(context, "eggs+milk"), stored, "B")
    assert dvv.values(stored) == ("eggs+milk",)


# == Hypothesis: reachable server clocks with ghost dots ==========================================

SERVERS = ("A", "B", "C")


@dataclass(frozen=True)
class Run:
    """Server clocks after a random history of puts, gets and replica syncs, with
    the ghost dot ``(server, counter)`` each value was written under, and the
    contexts clients read (plus the empty context)."""

    clocks: tuple[Clock, ...]
    dots: dict[object, tuple[str, int]]
    contexts: tuple[dvv.Vector, ...]


Sync = Callable[[Clock, Clock], Clock]
Update = Callable[[Clock, Clock, str], Clock]


def _update3(client: Clock, server: Clock, server_id: str) -> Clock:
    return update(client, server, server_id)


operations = st.lists(
    st.tuples(
        st.sampled_from(["put", "get", "sync"]),
        st.sampled_from(SERVERS),
        st.sampled_from(SERVERS),
        st.integers(0, 20),
    ),
    max_size=14,
)


def run(ops: list[tuple[str, str, str, int]], sync_fn: Sync = sync) -> Run:
    clocks: dict[str, Clock] = {s: DVVSet() for s in SERVERS}
    dots: dict[object, tuple[str, int]] = {}
    contexts: list[dvv.Vector] = [()]
    for number, (kind, here, there, pick) in enumerate(ops):
        if kind == "put":
            context = contexts[pick % len(contexts)]
            clocks[here] = update(new(context, number), clocks[here], here)
            counter = dict(join(clocks[here]))[here]
            dots[number] = (here, counter)
        elif kind == "get":
            contexts.append(join(clocks[here]))
        else:
            clocks[there] = sync_fn(clocks[here], clocks[there])
    return Run(tuple(clocks.values()), dots, tuple(contexts))


runs = operations.map(run)


def covers(vector: dvv.Vector, dot: tuple[str, int]) -> bool:
    return dict(vector).get(dot[0], 0) >= dot[1]


def sync_is_commutative(sync_fn: Sync, r: Run) -> bool:
    a, b, _ = r.clocks
    return sync_fn(a, b) == sync_fn(b, a)


def sync_is_associative(sync_fn: Sync, r: Run) -> bool:
    a, b, c = r.clocks
    return sync_fn(sync_fn(a, b), c) == sync_fn(a, sync_fn(b, c))


def sync_is_idempotent(sync_fn: Sync, r: Run) -> bool:
    return all(sync_fn(clock, clock) == clock for clock in r.clocks)


def sync_keeps_exactly_the_live_values(sync_fn: Sync, r: Run) -> bool:
    """values(sync(a, b)) ⊆ values(a) ∪ values(b), and a value stays iff neither side
    has seen the other overwrite it (its dot is covered by a side that lacks it)."""
    a, b = r.clocks[0], r.clocks[1]
    merged = set(values(sync_fn(a, b)))
    live = {v for v in values(a) if v in values(b) or not covers(join(b), r.dots[v])}
    live |= {v for v in values(b) if v in values(a) or not covers(join(a), r.dots[v])}
    return merged <= set(values(a)) | set(values(b)) and merged == live


def join_is_merge_of_joins(sync_fn: Sync, r: Run) -> bool:
    a, b = r.clocks[0], r.clocks[1]
    return join_vclock_of(sync_fn(a, b)) == join_vclock_of(a).merge(join_vclock_of(b))


def join_vclock_of(clock: Clock) -> VClock:
    return dvv.join_vclock(clock)


def update_dominates(update_fn: Update, r: Run, pick: int) -> bool:
    context = r.contexts[pick % len(r.contexts)]
    server = r.clocks[0]
    updated = update_fn(new(context, "new"), server, "A")
    return less(new(context, "old"), updated) and less(server, updated)


def update_keeps_uncovered(update_fn: Update, r: Run, pick: int) -> bool:
    """The put keeps every value the context does not cover, drops every value it
    covers, and adds the new one."""
    context = r.contexts[pick % len(r.contexts)]
    server = r.clocks[0]
    updated = set(values(update_fn(new(context, "new"), server, "A")))
    kept = {v for v in values(server) if not covers(context, r.dots[v])}
    return updated == kept | {"new"}


@given(runs)
def test_sync_is_commutative(r: Run) -> None:
    assert sync_is_commutative(sync, r)


@given(runs)
def test_sync_is_associative(r: Run) -> None:
    assert sync_is_associative(sync, r)


@given(runs)
def test_sync_is_idempotent(r: Run) -> None:
    assert sync_is_idempotent(sync, r)


@given(runs)
def test_sync_keeps_exactly_the_values_not_overwritten(r: Run) -> None:
    assert sync_keeps_exactly_the_live_values(sync, r)


@given(runs)
def test_join_of_sync_is_merge_of_joins(r: Run) -> None:
    assert join_is_merge_of_joins(sync, r)


@given(runs, st.integers(0, 20))
def test_update_dominates_its_context_and_the_server_clock(r: Run, pick: int) -> None:
    assert update_dominates(_update3, r, pick)


@given(runs, st.integers(0, 20))
def test_update_discards_only_covered_values(r: Run, pick: int) -> None:
    assert update_keeps_uncovered(_update3, r, pick)


def test_the_generator_reaches_siblings_and_overwrites() -> None:
    """Guards against vacuous properties: histories with concurrent siblings on one
    server, and with values overwritten through a context, are generated."""
    find(runs, lambda r: any(size(c) >= 2 for c in r.clocks), settings=MUTANT_SETTINGS)
    find(
        runs,
        lambda r: any(len(e.values) < e.counter for c in r.clocks for e in c.entries),
        settings=MUTANT_SETTINGS,
    )


@given(runs)
def test_clocks_round_trip_through_json_and_hash_canonically(r: Run) -> None:
    for clock in r.clocks:
        again = dvv.from_json(dvv.to_json(clock))
        assert again == clock and hash(again) == hash(clock)


# == mutants: each property above must catch a broken variant =====================================


def _sync_with_merge(merge: Callable[[Entry[object], Entry[object]], Entry[object]]) -> Sync:
    def mutant(a: Clock, b: Clock) -> Clock:
        left = {e.id: e for e in a.entries}
        right = {e.id: e for e in b.entries}
        entries = []
        for server_id in sorted(left.keys() | right.keys()):
            if server_id in left and server_id in right:
                entries.append(merge(left[server_id], right[server_id]))
            else:
                entries.append(left.get(server_id) or right[server_id])
        return DVVSet(tuple(entries), ())

    return mutant


def _keep_left_values(x: Entry[object], y: Entry[object]) -> Entry[object]:
    """Drops the other side's newer dots: the larger counter, the left values."""
    return Entry(x.id, max(x.counter, y.counter), x.values)


def _keep_every_value(x: Entry[object], y: Entry[object]) -> Entry[object]:
    """Never truncates: values the other side overwrote come back."""
    both = tuple(dict.fromkeys(x.values + y.values))
    return Entry(x.id, max(x.counter, y.counter), both[: max(x.counter, y.counter)])


def _prefer_right_on_tie(x: Entry[object], y: Entry[object]) -> Entry[object]:
    """On equal counters takes the right side's values, truncated or not."""
    if x.counter == y.counter:
        return y
    return dvv._merge(x.id, x.counter, x.values, y.counter, y.values)


def _add_counters(x: Entry[object], y: Entry[object]) -> Entry[object]:
    """Adds the counters, as for a grow-only counter, instead of taking the larger."""
    bigger = x if x.counter >= y.counter else y
    return Entry(x.id, x.counter + y.counter, bigger.values)


def _resurrect_when_concurrent(a: Clock, b: Clock) -> Clock:
    """When neither clock is older, keeps every value of both, by dot, including
    those the other side had overwritten."""
    if less(a, b):
        return b
    if less(b, a):
        return a

    def by_dot(entry: Entry[object]) -> dict[int, object]:
        return {entry.counter - j: value for j, value in enumerate(entry.values)}

    def merge(x: Entry[object], y: Entry[object]) -> Entry[object]:
        dots = by_dot(x) | by_dot(y)
        kept = tuple(dots[dot] for dot in sorted(dots, reverse=True))
        return Entry(x.id, max(x.counter, y.counter), kept)

    return _sync_with_merge(merge)(a, b)


def _drop_right_only_entries(a: Clock, b: Clock) -> Clock:
    """Forgets the ids that only the right clock has."""
    merged = sync(a, b)
    keep = set(ids(a))
    return DVVSet(tuple(e for e in merged.entries if e.id in keep), merged.anonymous)


def _update_ignoring_context(client: Clock, server: Clock, server_id: str) -> Clock:
    """Does not sync the client's context into the server clock."""
    return update(DVVSet(server.entries, client.anonymous), server_id)


def _update_dropping_siblings(client: Clock, server: Clock, server_id: str) -> Clock:
    """Overwrites every stored value, covered or not."""
    synced = sync(DVVSet(client.entries, ()), server)
    blank = tuple(Entry(e.id, e.counter, ()) for e in synced.entries)
    return update(DVVSet(blank, client.anonymous), server_id)


# Finding one counterexample is enough: no shrinking, so each search stays short.
MUTANT_SETTINGS = settings(max_examples=examples(2000), database=None, phases=[Phase.generate])


def _caught(condition: Callable[[Run], bool]) -> Run:
    return find(runs, condition, settings=MUTANT_SETTINGS)


def _caught_with_pick(condition: Callable[[tuple[Run, int]], bool]) -> tuple[Run, int]:
    return find(st.tuples(runs, st.integers(0, 20)), condition, settings=MUTANT_SETTINGS)


@pytest.mark.parametrize(
    "mutant",
    [_sync_with_merge(_keep_left_values), _sync_with_merge(_prefer_right_on_tie)],
    ids=["keep-left-values", "prefer-right-on-tie"],
)
def test_commutativity_catches_mutants(mutant: Sync) -> None:
    _caught(lambda r: not sync_is_commutative(mutant, r))


def test_associativity_catches_a_mutant() -> None:
    mutant = _resurrect_when_concurrent
    _caught(lambda r: not sync_is_associative(mutant, r))


@given(runs)
def test_the_associativity_mutant_passes_the_other_laws(r: Run) -> None:
    """So that only associativity is what catches it."""
    mutant = _resurrect_when_concurrent
    assert sync_is_commutative(mutant, r) and sync_is_idempotent(mutant, r)


def test_idempotence_catches_a_mutant() -> None:
    _caught(lambda r: not sync_is_idempotent(_sync_with_merge(_add_counters), r))


@pytest.mark.parametrize(
    "mutant",
    [_sync_with_merge(_keep_left_values), _sync_with_merge(_keep_every_value)],
    ids=["drops-newer-dot", "resurrects-overwritten"],
)
def test_live_values_property_catches_mutants(mutant: Sync) -> None:
    _caught(lambda r: not sync_keeps_exactly_the_live_values(mutant, r))


def test_join_property_catches_a_mutant() -> None:
    _caught(lambda r: not join_is_merge_of_joins(_drop_right_only_entries, r))


def test_update_dominates_catches_a_mutant() -> None:
    _caught_with_pick(lambda rp: not update_dominates(_update_ignoring_context, *rp))


def test_update_keeps_uncovered_catches_a_mutant() -> None:
    _caught_with_pick(lambda rp: not update_keeps_uncovered(_update_dropping_siblings, *rp))


# == differential check against the reference itself (opt-in) ======================================
#
# With Erlang installed and DVVSET_REFERENCE naming a copy of the reference's dvvset.erl,
# this runs seeded random programs on both and compares every step: each step's result
# (a clock, with its anonymous values compared as a set; a boolean; a number; a list) or
# that both fail. The reference is not part of this repository; the run is recorded in
# docs/dvv.md.

REFERENCE = os.environ.get("DVVSET_REFERENCE", "")
DIFF_IDS = ("a", "b", "c", "d")
DIFF_KINDS = (
    "new_ctx", "update2", "update3", "update3", "sync", "sync", "lww", "last",
    "reconcile", "map", "less", "equal", "size", "values", "ids",
)


def _erl(term: object) -> str:
    """An Erlang literal for a Python result (ids are lowercase names: atoms)."""
    if isinstance(term, DVVSet):
        inner = ",".join(f"{{{e.id},{e.counter},{_erl(list(e.values))}}}" for e in term.entries)
        return f"{{[{inner}],{_erl(sorted(term.anonymous, key=_as_int))}}}"
    if isinstance(term, bool):
        return "true" if term else "false"
    if isinstance(term, int):
        return str(term)
    if isinstance(term, str):
        return term
    if isinstance(term, list | tuple):
        return "[" + ",".join(_erl(x) for x in term) + "]"
    raise TypeError(term)


def _as_int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _le(a: object, b: object) -> bool:
    return _as_int(a) <= _as_int(b)


def _max(vals: tuple[object, ...]) -> object:
    if not vals:
        raise ValueError("lists:max([]) fails in the reference too")
    return max(_as_int(v) for v in vals)


def _plus(v: object) -> object:
    return _as_int(v) + 1000


def _run_step(op: tuple[object, ...], regs: list[Clock]) -> object:
    """What spec.dvv computes for one step of a differential program."""
    kind, args = op[0], op[1:]
    if kind == "new":
        return new(args[0])
    if kind == "new_list":
        return new_list(list(args[0]))  # type: ignore[call-overload]
    if kind == "new_vv":
        return new(args[0], args[1])  # type: ignore[call-overload]
    clock = regs[_as_int(args[0])]
    if kind == "new_ctx":
        return new(join(clock), args[1])
    if kind == "update2":
        return update(clock, str(args[1]))
    if kind in ("update3", "sync", "less", "equal"):
        other = regs[_as_int(args[1])]
        if kind == "update3":
            return update(clock, other, str(args[2]))
        if kind == "sync":
            return sync(clock, other)
        return less(clock, other) if kind == "less" else equal(clock, other)
    unary: dict[object, Callable[[Clock], object]] = {
        "lww": lambda c: lww(_le, c),
        "last": lambda c: last(_le, c),
        "reconcile": lambda c: reconcile(_max, c),
        "map": lambda c: dvv.map(_plus, c),
        "size": size,
        "values": lambda c: sorted(values(c), key=_as_int),
        "ids": lambda c: list(ids(c)),
    }
    return unary[kind](clock)


def _random_op(rng: random.Random, regs: int, fresh: Iterator[int]) -> tuple[object, ...]:
    kind = rng.choice(DIFF_KINDS if regs else ("new", "new_list", "new_vv"))
    if regs and rng.random() < 0.15:
        kind = rng.choice(("new", "new_list", "new_vv"))
    server = rng.choice(DIFF_IDS)
    if kind == "new":
        return (kind, next(fresh))
    if kind == "new_list":
        return (kind, tuple(next(fresh) for _ in range(rng.randrange(3))))
    if kind == "new_vv":
        vv = [(i, rng.randrange(3)) for i in DIFF_IDS if rng.random() < 0.5]
        rng.shuffle(vv)
        return (kind, tuple(vv), next(fresh))
    first, second = rng.randrange(regs), rng.randrange(regs)
    if kind == "new_ctx":
        return (kind, first, next(fresh))
    if kind == "update2":
        return (kind, first, server)
    if kind == "update3":
        return (kind, first, second, server)
    if kind in ("sync", "less", "equal"):
        return (kind, first, second)
    return (kind, first)


def _erl_op(op: tuple[object, ...]) -> str:
    kind = op[0]
    if kind == "new_vv":
        pairs = op[1]
        assert isinstance(pairs, tuple)
        vv = "[" + ",".join(f"{{{i},{n}}}" for i, n in pairs) + "]"
        return f"{{new_vv,{vv},{op[2]}}}"
    return "{" + ",".join(_erl(x) for x in op) + "}"


def differential_programs(seed: int, programs: int) -> str:
    """Seeded random programs as Erlang terms ``{Program, Step, Op, Expected}``,
    ``Expected`` being ``error`` or ``{ok, Result}`` as spec.dvv computes it."""
    rng = random.Random(seed)
    lines: list[str] = []
    for number in range(programs):
        regs: list[Clock] = []
        fresh = iter(range(1, 10_000))
        for step in range(rng.randrange(5, 40)):
            op = _random_op(rng, len(regs), fresh)
            try:
                result = _run_step(op, regs)
            except ValueError:
                expected = "error"
            else:
                expected = f"{{ok,{_erl(result)}}}"
                if isinstance(result, DVVSet):
                    regs.append(result)
            lines.append(f"{{{number},{step},{_erl_op(op)},{expected}}}.")
    return "\n".join(lines) + "\n"


# The interpreter on the Erlang side: runs each op on the reference, keeps the clocks it
# made (numbered in order, per program), and prints any step whose outcome differs.
DRIVER = r"""-module(dvv_differential).
-export([main/1]).
main(File) ->
    {ok, Steps} = file:consult(File),
    {_, _, Bad} = lists:foldl(fun step/2, {-1, #{}, 0}, Steps),
    io:format("STEPS ~p MISMATCHES ~p~n", [length(Steps), Bad]).
step({P, S, Op, Expected}, {P0, Regs0, Bad}) ->
    Regs = case P of P0 -> Regs0; _ -> #{} end,
    Got = try {ok, run(Op, Regs)} catch _:_ -> error end,
    Same = normal(Got) =:= Expected,
    Same orelse io:format("MISMATCH p~p step ~p ~p: ~p /= ~p~n", [P, S, Op, Got, Expected]),
    Regs2 = case Got of
        {ok, {E, A}} when is_list(E), is_list(A) -> Regs#{map_size(Regs) => {E, A}};
        _ -> Regs
    end,
    {P, Regs2, case Same of true -> Bad; false -> Bad + 1 end}.
normal({ok, {E, A}}) when is_list(E), is_list(A) -> {ok, {E, lists:usort(A)}};
normal(Other) -> Other.
le(X, Y) -> X =< Y.
run({new, V}, _) -> dvvset:new(V);
run({new_list, Vs}, _) -> dvvset:new_list(Vs);
run({new_vv, VV, V}, _) -> dvvset:new(VV, V);
run({new_ctx, I, V}, R) -> dvvset:new(dvvset:join(maps:get(I, R)), V);
run({update2, I, Id}, R) -> dvvset:update(maps:get(I, R), Id);
run({update3, I, J, Id}, R) -> dvvset:update(maps:get(I, R), maps:get(J, R), Id);
run({sync, I, J}, R) -> dvvset:sync([maps:get(J, R), maps:get(I, R)]);
run({less, I, J}, R) -> dvvset:less(maps:get(I, R), maps:get(J, R));
run({equal, I, J}, R) -> dvvset:equal(maps:get(I, R), maps:get(J, R));
run({lww, I}, R) -> dvvset:lww(fun le/2, maps:get(I, R));
run({last, I}, R) -> dvvset:last(fun le/2, maps:get(I, R));
run({reconcile, I}, R) -> dvvset:reconcile(fun lists:max/1, maps:get(I, R));
run({map, I}, R) -> dvvset:map(fun(X) -> X + 1000 end, maps:get(I, R));
run({size, I}, R) -> dvvset:size(maps:get(I, R));
run({values, I}, R) -> lists:sort(dvvset:values(maps:get(I, R)));
run({ids, I}, R) -> dvvset:ids(maps:get(I, R)).
"""


@pytest.mark.skipif(
    not (REFERENCE and shutil.which("erlc") and shutil.which("erl")),
    reason="set DVVSET_REFERENCE to the reference dvvset.erl, with Erlang installed",
)
def test_differential_against_the_reference(tmp_path: Path) -> None:
    """spec.dvv and the reference agree step for step on seeded random programs
    (sync/1 folds, so ``sync([Y, X])`` there is ``sync(X, Y)`` here)."""
    programs = int(os.environ.get("DVVSET_PROGRAMS", "300"))
    (tmp_path / "steps.terms").write_text(differential_programs(20140101, programs))
    (tmp_path / "dvv_differential.erl").write_text(DRIVER)
    shutil.copy(REFERENCE, tmp_path / "dvvset.erl")
    for source in ("dvvset.erl", "dvv_differential.erl"):
        subprocess.run(["erlc", source], cwd=tmp_path, check=True, capture_output=True)
    out = subprocess.run(
        ["erl", "-noshell", "-pa", ".", "-eval",
         'dvv_differential:main("steps.terms"), halt().'],
        cwd=tmp_path, check=True, capture_output=True, text=True, timeout=600,
    ).stdout
    print(out.splitlines()[-1])
    assert "MISMATCHES 0" in out, out[:4000]


# == dot_actor: the id a put's event takes (session 29) ==========================================


def _dots(clock: Clock) -> list[tuple[object, tuple[str, int]]]:
    return [(value, (e.id, e.counter - j)) for e in clock.entries
            for j, value in enumerate(e.values)]


def _assert_answers_exactly(clock: Clock, context: Any, chosen: str) -> None:
    """A put of ``"new"`` with ``context`` under ``chosen`` over ``clock``: the context
    plus the new dot covers the new value and exactly the values ``context`` did."""
    after = update(new(context, "new"), clock, chosen)
    answered = {**dict(context), chosen: dict(join(after))[chosen]}
    for value, dot in _dots(after):
        covered = answered.get(dot[0], 0) >= dot[1]
        assert covered == (value == "new" or covers(context, dot)), (value, dot)


@given(runs, st.integers(0, 20), st.sampled_from(SERVERS))
def test_a_put_under_dot_actor_can_answer_its_context_plus_its_dot(
        r: Run, pick: int, server: str) -> None:
    """Whatever the server's clock and the client's context: ``dot_actor`` is the
    server or the pair (server, client) (the runs' clocks hold no pair: its fresh
    pairs are the test below), and the context plus the new dot covers the new
    value and no value the context did not cover: the context a put answers
    (impl/versions.py ``written_context_pairs``). Under the server alone (the
    reference's rule) that fails past an unread value of the server's
    (test_dot_actor_cases_and_errors)."""
    clock = r.clocks[pick % len(r.clocks)]
    context = r.contexts[pick % len(r.contexts)]
    chosen = dvv.dot_actor(clock, context, server, "alice")
    assert chosen in (server, f"{server} alice")
    _assert_answers_exactly(clock, context, chosen)


def test_dot_actor_cases_and_errors() -> None:
    """The cases, and the reference's rule failing: after ``old`` and a blind put
    under "A", no vector covers the put's dot without old's."""
    stored = update(new((), "old"), DVVSet(), "A")
    assert dvv.dot_actor(stored, join(stored), "A", "c") == "A"  # read: the server
    assert dvv.dot_actor(stored, (), "A", "c") == "A c"  # past the unread "old"
    reference = update(new((), "v0"), stored, "A")  # [("A", 2, ["v0", "old"])]
    assert [v for v, d in _dots(reference) if covers((("A", 2),), d)] == ["v0", "old"]
    assert dvv.dot_actor(stored, (), "B", "c") == "B"  # another server's: no matter
    assert dvv.dot_actor(stored, (), "A", "") == "A"  # no client: the reference's rule
    both = update(new((), "mine"), stored, "A c")
    # the pair unread too: a fresh pair (session 48 for a shared id, session 59 for
    # every client; the server before, whose dot no context names), and on
    assert dvv.dot_actor(both, (), "A", "c") == "A/1 c"
    assert dvv.dot_actor(both, {"A c": 1}, "A", "c") == "A c"
    third = update(new((), "yours"), both, "A/1 c")
    assert dvv.dot_actor(third, (), "A", "c") == "A/2 c"
    assert dvv.dot_actor(third, {"A/1 c": 1}, "A", "c") == "A/1 c"
    full = stored  # the bound counts the fresh pairs too: past it, the server
    for k in range(MAX_PAIRS_PER_ACTOR):
        full = update(new((), f"f{k}"), full, client_entry("c", "A", k))
    assert dvv.dot_actor(full, (), "A", "c") == "A"
    last = f"A/{MAX_PAIRS_PER_ACTOR - 1} c"
    assert dvv.dot_actor(full, {last: 1}, "A", "c") == last
    # past the bound, the first pair whose values the context covers, whatever its
    # client (session 48's review: the server alone refused case 05's chain)
    assert dvv.dot_actor(full, {"A/2 c": 1}, "A", "d") == "A/2 c"
    assert dvv.dot_actor(full, (), "A", "d") == "A"
    with pytest.raises(ValueError, match="non-empty str"):
        dvv.dot_actor(stored, (), "", "c")
    with pytest.raises(ValueError, match="twice"):
        dvv.dot_actor(stored, [("A", 1), ("A", 2)], "A", "c")


@given(runs, st.integers(0, 20), st.sampled_from(SERVERS), st.sampled_from(["alice", "a b"]))
def test_a_put_answers_its_context_plus_its_dot_past_its_pairs_values(
        r: Run, pick: int, server: str, client: str) -> None:
    """Session 48 (a shared client id), session 59 (every client): ``dot_actor`` is
    the server or the first of the pair and its fresh pairs whose entry holds no
    value the context misses (the server again only past
    :data:`MAX_PAIRS_PER_ACTOR` pairs), and then the context plus the new dot covers
    the new value and nothing the context did not: the context a put of a client
    past its own blind puts, or of one of the programs sharing an id, answers. The
    runs' clocks are re-keyed so that their other servers' entries are pairs of
    ``server``'s (the shape such writers leave), and merged into one. Mutant: the
    loop returning ``server`` past an unread pair (the rule before session 59 for
    named clients): falsified (the fallback's dot unread)."""
    names = [s for s in SERVERS if s != server]
    rename = {s: client_entry(client, server, k) for k, s in enumerate(names)}
    clock = r.clocks[0]
    for other in r.clocks[1:]:  # every server's values in one clock
        clock = sync(clock, other)
    clock = DVVSet.of([Entry(rename.get(e.id, e.id), e.counter, e.values)
                       for e in clock.entries], list(clock.anonymous))
    context = [(rename.get(i, i), c) for i, c in r.contexts[pick % len(r.contexts)]]
    chosen = dvv.dot_actor(clock, context, server, client)

    def unread(entry: str) -> bool:
        return any(d[0] == entry and not covers(context, d) for _, d in _dots(clock))

    assert chosen == server or entry_actor(chosen) == server
    if unread(chosen):  # the fallback: the pairs at their bound
        assert chosen == server and sum(
            entry_actor(e.id) == server for e in clock.entries) >= MAX_PAIRS_PER_ACTOR
        return
    _assert_answers_exactly(clock, context, chosen)


@given(runs, st.integers(0, 20), st.sampled_from(SERVERS), st.sampled_from(["alice", "a b", "B"]))
def test_dot_actor_takes_the_pair_exactly_past_an_unread_value_of_the_server(
        r: Run, pick: int, server: str, client: str) -> None:
    """Session 29's review: ``dot_actor`` is the pair iff the server's entry holds a
    value the context does not cover (its newest dot above the context's counter)
    and the pair's entry holds none; an entry whose values were all superseded
    (counter above the context, no value) takes no pair, which would only grow the
    record by one entry per client (the mutant reading the counter alone survived
    the property above). Client ids with a space or equal to a server's name are
    ids like any other: the first space splits the pair (server names have none)."""
    clock = r.clocks[pick % len(r.clocks)]
    context = r.contexts[pick % len(r.contexts)]
    pair = f"{server} {client}"

    def unread(entry: str) -> bool:
        return any(d[0] == entry and not covers(context, d) for _, d in _dots(clock))

    ids = [e.id for e in clock.entries]
    full = pair not in ids and sum(i.startswith(server + " ") for i in ids) >= MAX_PAIRS_PER_ACTOR
    expected = pair if unread(server) and not unread(pair) and not full else server
    assert dvv.dot_actor(clock, context, server, client) == expected
    assert entry_actor(pair) == server


def test_dot_actor_takes_no_new_pair_past_the_bound() -> None:
    """A key's pairs of one server are bounded (``MAX_PAIRS_PER_ACTOR``): past the
    unread ``old`` under "A", the bound's clients each take a pair; the next new
    client takes "A" (the reference's rule: a false sibling at worst, never a lost
    write), while a client that has a pair keeps it; another server's pairs do not
    count against A's (session 29: 1,000 writers left 1,001 entries before)."""
    clock = update(new((), "old"), DVVSet(), "A")
    for i in range(MAX_PAIRS_PER_ACTOR):
        pair = dvv.dot_actor(clock, (), "A", f"c{i}")
        assert pair == f"A c{i}"
        clock = update(new((), f"v{i}"), clock, pair)
    assert dvv.dot_actor(clock, (), "A", "late") == "A"
    assert dvv.dot_actor(clock, {"A c0": 1}, "A", "c0") == "A c0"
    other = update(new((), "b"), update(new((), "old"), DVVSet(), "B"), "B c9")
    assert dvv.dot_actor(sync(clock, other), (), "B", "late") == "B late"


def test_dot_actor_keeps_the_server_past_a_superseded_value() -> None:
    """The case: ``old`` under "A", superseded by a put through "B" that read it:
    A's entry keeps counter 1 and no value; a blind put through A is the reference's
    (no pair entry), one past a live unread value of A's is the pair's."""
    stored = update(new((), "old"), DVVSet(), "A")
    superseded = update(new(join(stored), "new"), stored, "B")
    assert [(e.id, e.counter, e.values) for e in superseded.entries] == [
        ("A", 1, ()), ("B", 1, ("new",))]
    assert dvv.dot_actor(superseded, (), "A", "c") == "A"
    assert dvv.dot_actor(superseded, (), "B", "c") == "B c"
