"""impl.versions: the behaviours session 47's mutmut run found no test for
(docs/refinement.md, "Mutation score of the coordinators, versions and context
(session 47)")."""

from __future__ import annotations

import pytest

from impl.errors import BadMessageError, BadRequestError, ConfigError
from impl.records import ClockMode, Record, Sibling, Truncation
from impl.storage.memory import MemoryStorage
from impl.versions import (
    ACTOR_META,
    MAX_COUNTER,
    RETIRED_KEPT,
    RETIRED_META,
    STORE_CLOCK_META,
    TOMBSTONE,
    _dot,
    _own_actors,
    _retire,
    _write_key_epochs,
    apply_put,
    check_store_clock,
    context_pairs,
    decode_retired,
    encode_retired,
    is_lifetime_actor,
    lifetime_actor,
    lww_version,
    note_key_merge,
    prune_retired,
    read_key_epochs,
    read_retired,
    replicated_part,
    truncate,
    values,
    written_context_pairs,
)
from spec import dvv
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


def test_a_store_keeps_its_newest_retired_actors_by_rank() -> None:
    """Every start of a store retires the actor of the one before, with its rank (the
    start count it was minted at, or since session 49 its start time in milliseconds
    if higher: ``lifetime_rank``), and the store keeps the newest ``RETIRED_KEPT`` by
    rank: after ``RETIRED_KEPT + 2`` starts the first actor (rank 1) is forgotten,
    whatever the order of the actors' ids (hashes). Killed: ``_retire__mutmut_24``,
    ``_26`` (the newest by id, not by rank)."""
    storage = MemoryStorage("always")
    actors = [lifetime_actor(storage, "n1", seed=1, now=float(start))
              for start in range(RETIRED_KEPT + 2)]
    assert len(set(actors)) == RETIRED_KEPT + 2
    assert sorted(actors[1:-1]) != actors[1:-1]  # ids out of rank order
    assert read_retired(storage) == {actor: max(1000 * start, start + 1) for start, actor
                                     in enumerate(actors[:-1]) if start > 0}


def test_a_retirement_keeps_the_highest_rank_it_was_given() -> None:
    """``_retire`` keeps an actor's highest rank (a retirement told again at a lower
    one changes nothing), and rank 0 as given: the actor of a store written before
    the start count was kept (its ``ACTOR_META`` and no ``LIFETIMES_META``) retires
    at rank 0. Killed: ``_retire__mutmut_17`` (the actor's earlier rank looked up
    by None: the lower one written over it) and ``_21`` (rank 0 read as 1)."""
    storage = MemoryStorage("always")
    old = "n1~" + "0" * 12
    _retire(storage, "n1", old, 5)
    _retire(storage, "n1", old, 3)
    assert read_retired(storage) == {old: 5}
    legacy = MemoryStorage("always")
    legacy.set_meta(ACTOR_META, old.encode())
    actor = lifetime_actor(legacy, "n1", seed=1, now=0.0)
    assert actor != old and read_retired(legacy) == {old: 0}


def test_the_count_rule_ignores_the_byte_budget() -> None:
    """With ``keep`` (the spec's count, session 34) the lifetimes of an age below
    ``keep`` stay whatever the budget: ``budget=0`` beside ``keep=2`` drops the third
    newest retired lifetime of node a only. Killed: ``prune_retired__mutmut_64`` (the
    budget's loop run under the count too: the second newest dropped as well)."""
    a1, a2, a3, b1 = ("a~000000000001", "a~000000000002", "a~000000000003",
                      "b~000000000001")
    record = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of(
        [(a1, 1, []), (a2, 1, []), (a3, 1, []), (b1, 1, [b"v"])]))
    retired = {a1: 1, a2: 2, a3: 3}
    pruned = prune_retired(record, retired, keep=2, budget=0)
    assert [entry.id for entry in pruned.dvvset.entries] == [a2, a3, b1]
    assert prune_retired(record, retired, budget=0).dvvset.entries == (
        record.dvvset.entries[2:])  # the budget alone: the newest (a3) kept


@pytest.mark.parametrize("actor", ["n1~00000000000X", "n1~X00000000000", "n1~00000000000A"])
def test_a_lifetime_actor_s_digest_is_lowercase_hex_only(actor: str) -> None:
    """Killed: ``is_lifetime_actor__mutmut_14`` (``"XX0123456789abcdefXX"``: an ``X``
    taken as a digit)."""
    assert is_lifetime_actor("n1~00000000000f")
    assert not is_lifetime_actor(actor)


@pytest.mark.parametrize("mode", [ClockMode.SERVER_VCLOCK, ClockMode.CLIENT_VCLOCK])
def test_a_truncated_sibling_keeps_its_stamp_and_writer(mode: ClockMode) -> None:
    """Truncation cuts clock pairs only: the sibling keeps its value, stamp and writer
    (the writer ``written_context_pairs`` compares). Killed: ``_cut__mutmut_8`` (the
    writer left out: "")."""
    clock = VClock.of({"A": 1, "B": 1, "C": 1, "D": 1},
                      {"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0})
    record = Record(mode, (Sibling(b"v", clock, 7.0, "n1"),),
                    truncation=Truncation(threshold=2, max_pairs=2))
    (sibling,) = truncate(record).siblings
    assert sibling == Sibling(b"v", VClock.of({"C": 1, "D": 1}, {"C": 3.0, "D": 4.0}),
                              7.0, "n1")


def test_a_dot_is_the_strictly_youngest_pair_only() -> None:
    """``_dot``: a clock whose two youngest pairs share a time has no known own pair,
    however many pairs it holds. Killed: ``_dot__mutmut_10`` (``times[1:3]``: a tie
    missed in a clock of three pairs or more)."""
    assert _dot(VClock.of({"A": 1, "B": 1}, {"A": 2.0, "B": 2.0})) is None
    assert _dot(VClock.of({"A": 1, "B": 1, "C": 1}, {"A": 1.0, "B": 2.0, "C": 2.0})) is None
    assert _dot(VClock.of({"A": 1, "B": 1, "C": 1}, {"A": 1.0, "B": 2.0, "C": 3.0})) == "C"


@pytest.mark.parametrize("mode", [ClockMode.SERVER_VCLOCK, ClockMode.CLIENT_VCLOCK])
def test_a_covered_sibling_dropped_by_truncation_keeps_the_record_s_policy(
        mode: ClockMode) -> None:
    """A sibling whose dot another sibling's clock covers goes (session 31); the record
    keeps its truncation policy when nothing else is cut. Killed:
    ``_without_covered__mutmut_43``, ``_47`` (the policy dropped: the next put's record
    truncated by none)."""
    policy = Truncation(threshold=10, max_pairs=10)
    old = Sibling(b"old", VClock.of({"A": 1}, {"A": 1.0}))
    new = Sibling(b"new", VClock.of({"A": 1, "B": 1}, {"A": 0.5, "B": 2.0}))
    truncated = truncate(Record(mode, (old, new), truncation=policy))
    assert truncated.siblings == (new,) and truncated.truncation == policy


@pytest.mark.parametrize("mode", [ClockMode.SERVER_VCLOCK, ClockMode.CLIENT_VCLOCK])
def test_truncate_alone_keeps_every_own_pair_and_drops_the_oldest_others(
        mode: ClockMode) -> None:
    """``truncate`` called without ``keep`` (its callers pass the own pairs as ``keep``
    too, which hid both): each sibling keeps its own pair (its clock's youngest), even
    one older than every pair the policy would keep, and past ``max_pairs`` the oldest
    other pairs go first (D at 9 s before C at 10 s). Killed: ``truncate__mutmut_22``
    (no own pair protected: A's sibling left with an empty clock, erased) and ``_34``,
    ``_36`` (the others dropped by id, C first)."""
    a = Sibling(b"a", VClock.of({"A": 1}, {"A": 1.0}))
    b = Sibling(b"b", VClock.of({"B": 1}, {"B": 2.0}))
    c = Sibling(b"c", VClock.of({"C": 1, "D": 1, "E": 1}, {"C": 10.0, "D": 9.0, "E": 11.0}))
    g = Sibling(b"g", VClock.of({"F": 1, "G": 1}, {"F": 1.5, "G": 3.0}))
    four = truncate(Record(mode, (a, b, c), truncation=Truncation(threshold=4, max_pairs=4)))
    assert [(s.value, s.clock.pairs) for s in four.siblings] == [
        (b"a", (("A", 1),)), (b"b", (("B", 1),)), (b"c", (("C", 1), ("E", 1)))]
    three = truncate(Record(mode, (a, g, c), truncation=Truncation(threshold=3, max_pairs=3)))
    assert sorted((s.value, s.clock.pairs) for s in three.siblings) == [
        (b"a", (("A", 1),)), (b"c", (("E", 1),)), (b"g", (("G", 1),))]


def test_retired_actors_refused_with_what_was_wrong() -> None:
    """``decode_retired``'s errors name the problem; a 19-digit rank under 2**63 is
    taken; an actor whose node name holds a space round-trips (the rank is the text
    before the first space). Killed: ``decode_retired__mutmut_8``, ``_10`` (the
    messages None), ``_14`` (``rpartition``: the actor cut at its last space) and
    ``_21`` (``len(rank) < 19``: the largest ranks refused)."""
    with pytest.raises(BadMessageError, match=r"^retired actors: not UTF-8 \("):
        decode_retired(b"\xff")
    with pytest.raises(BadMessageError, match=r"^retired actors: 3 of them, over 2$"):
        decode_retired(b"1 a~000000000001\n2 a~000000000002\n3 a~000000000003", 2)
    spaced = {"node one~000000000001": 4}
    assert decode_retired(encode_retired(spaced)) == spaced
    big = 10 ** 18  # 19 digits, under 2**63
    assert decode_retired(b"%d a~000000000001" % big) == {"a~000000000001": big}


@pytest.mark.parametrize("count", [RETIRED_KEPT, RETIRED_KEPT + 1, RETIRED_KEPT + 2])
def test_a_store_s_retired_entry_is_read_up_to_one_past_what_it_keeps(count: int) -> None:
    """``read_retired`` takes an entry of up to ``RETIRED_KEPT + 1`` lines (what a
    store wrote keeps ``RETIRED_KEPT``) and counts a longer one as none (malformed).
    Killed: ``read_retired__mutmut_4`` (the wire's limit), ``_8`` (``RETIRED_KEPT - 1``:
    a full entry read as none) and ``_9`` (``+ 2``)."""
    storage = MemoryStorage("always")
    retired = {f"n1~{rank:012x}": rank for rank in range(1, count + 1)}
    storage.set_meta(RETIRED_META, encode_retired(retired))
    assert read_retired(storage) == (retired if count <= RETIRED_KEPT + 1 else {})


def test_a_key_epoch_table_of_a_node_name_with_a_space_reads_back() -> None:
    """The table's head is ``<lifetime> <counter>``, the lifetime cut at the last
    space. Killed: ``read_key_epochs__mutmut_13`` (``partition``: a name with a space
    read as another lifetime's, the table lost)."""
    storage = MemoryStorage("always")
    lifetime = "node one~000000000001"
    _write_key_epochs(storage, lifetime, 3, {b"k": 2})
    assert read_key_epochs(storage, lifetime) == (3, {b"k": 2})


def test_a_truncation_that_drops_every_own_pair_unpins_the_key() -> None:
    """``note_key_merge``: a truncated copy that lost this lifetime's pairs bumps the
    node-wide counter; a key pinned before and now holding no counter of the lifetime
    is unpinned (its next put mints under the new counter's epoch). Killed:
    ``note_key_merge__mutmut_24`` (``pinned.pop(None, None)``: the old pin kept)."""
    lifetime, other = "n1~000000000001", "n2~000000000001"
    policy = Truncation(threshold=1, max_pairs=1)
    before = Record(ClockMode.SERVER_VCLOCK, (Sibling(b"v", VClock.of(
        {lifetime: 1, other: 1}, {lifetime: 1.0, other: 2.0})),), truncation=policy)
    after = Record(ClockMode.SERVER_VCLOCK, (Sibling(b"v", VClock.of({other: 1}, {other: 2.0})),),
                   truncation=policy)
    storage = MemoryStorage("always")
    _write_key_epochs(storage, lifetime, 1, {b"k": 1, b"j": 1})
    note_key_merge(storage, lifetime, b"k", before, after)
    assert read_key_epochs(storage, lifetime) == (2, {b"j": 1})


@pytest.mark.parametrize("mode", [ClockMode.SERVER_VCLOCK, ClockMode.CLIENT_VCLOCK])
def test_a_vector_clock_put_answers_its_own_version_s_clock_capped(mode: ClockMode) -> None:
    """``written_context_pairs`` in the vector-clock modes: the clock of the sibling
    that is the put's own (its value, writer and stamp all equal), capped at
    ``max_pairs`` when given, else whole; the context alone when the version is not in
    the record. Killed: ``written_context_pairs__mutmut_48`` (no context to fall back
    on), ``_49``, ``_50`` (another sibling of the same stamp, or of the same value,
    taken for the put's), ``_56`` (uncapped: ``len > None``), ``_57`` (capped: never
    pruned)."""
    context = VClock.of({"A": 1}, {"A": 1.0})
    same_stamp = Sibling(b"x", VClock.of({"B": 1}, {"B": 5.0}), 5.0, "n2")
    same_value = Sibling(b"v", VClock.of({"C": 1}, {"C": 4.0}), 4.0, "n2")
    own = Sibling(b"v", VClock.of({"A": 1, "D": 1, "E": 1}, {"A": 1.0, "D": 2.0, "E": 5.0}),
                  5.0, "n1")
    after = Record(mode, (same_stamp, same_value, own))
    args = {"actor": "E", "writer": "n1", "now": 5.0}
    assert written_context_pairs(after, context, b"v", **args) == (("A", 1), ("D", 1),
                                                                   ("E", 1))
    assert written_context_pairs(after, context, b"v", max_pairs=2, **args) == (("D", 1),
                                                                                ("E", 1))
    assert written_context_pairs(Record(mode, (same_stamp,)), context, b"v", **args) == (
        ("A", 1),)


def test_retired_actor_lines_read_strictly() -> None:
    """``decode_retired``: a rank of 2**63 or more is refused, a malformed line named
    (its first 80 characters), an actor named twice keeps its highest rank, rank 0
    stays 0. Killed: ``decode_retired__mutmut_24``, ``_26``, ``_27`` (2**63 taken),
    ``_29`` (the message None), ``_30`` (81 characters), ``_37`` (the last rank of an
    actor named twice) and ``_41`` (rank 0 read as 1)."""
    actor = "a~000000000001"
    with pytest.raises(BadMessageError):
        decode_retired(b"%d %s" % (1 << 63, actor.encode()))
    line = "x" * 100
    with pytest.raises(BadMessageError) as refused:
        decode_retired(line.encode())
    assert str(refused.value) == f"retired actors: malformed line {line[:80]!r}"
    assert decode_retired(b"5 %s\n3 %s" % (actor.encode(), actor.encode())) == {actor: 5}
    assert decode_retired(b"0 " + actor.encode()) == {actor: 0}


def test_equal_ranks_at_the_cut_go_by_actor_id() -> None:
    """``_retire`` keeps the newest ``RETIRED_KEPT`` by (rank, id): of two retirements
    of rank 0 at the cut the lower id goes, whichever was retired last. Killed:
    ``_retire__mutmut_29`` (ties by rank again: the order of insertion decides)."""
    storage = MemoryStorage("always")
    known = {f"n1~{rank:012x}": rank for rank in range(1, RETIRED_KEPT)}
    known["n1~bbbbbbbbbbbb"] = 0
    storage.set_meta(RETIRED_META, encode_retired(known))
    _retire(storage, "n1", "n1~aaaaaaaaaaaa", 0)
    assert len(known) == RETIRED_KEPT and read_retired(storage) == known


def test_a_store_clock_entry_not_ascii_is_refused_as_a_config_error() -> None:
    """The refusal shows the first 40 characters of what the store holds. Killed:
    ``check_store_clock__mutmut_19``, ``_22``, ``_23`` (no or an unknown error handler:
    a UnicodeDecodeError or LookupError instead of the ConfigError naming what the
    store holds) and ``_24`` (41 characters)."""
    storage = MemoryStorage("always")
    storage.set_meta(STORE_CLOCK_META, b"dv\xff")
    with pytest.raises(ConfigError, match="written with clock = 'dv\ufffd', the "
                                          "configuration says 'dvv'"):
        check_store_clock(storage, ClockMode.DVV)
    storage.set_meta(STORE_CLOCK_META, b"x" * 50)
    with pytest.raises(ConfigError, match=f"written with clock = '{'x' * 40}', the "):
        check_store_clock(storage, ClockMode.DVV)


@pytest.mark.parametrize(("fsync", "again"), [("buffered", True), ("always", False)])
def test_without_an_actor_per_start_only_a_buffered_store_takes_a_new_actor(
        fsync: str, again: bool) -> None:
    """``per_start=False``: a restart of a durable engine keeps its actor, of a
    ``buffered`` one (a crash may have lost a dot's local copy) takes a new one.
    Killed: ``lifetime_actor__mutmut_4``, ``_5``, ``_11``, ``_12``, and ``_16``, ``_17``
    of the resumed run (``buffered`` never true: the buffered store's actor kept)."""
    storage = MemoryStorage(fsync)  # type: ignore[arg-type]
    first = lifetime_actor(storage, "n1", seed=1, now=0.0, per_start=False)
    second = lifetime_actor(storage, "n1", seed=1, now=1.0, per_start=False)
    assert (first != second) is again


def test_retired_actors_are_encoded_by_rank_then_id() -> None:
    """The text of ``RETIRED_META`` and the gossip's ``retired`` field is one line per
    actor sorted by rank, ties by id (``encode_retired``), not by id: the same set
    gives the same bytes whatever the order of the dict. Killed (the resumed run):
    ``encode_retired__mutmut_4``, ``_6`` (``sorted(..., key=None)`` or no key: by id
    first) and ``_9`` (ties by rank again: the dict's order, c before b, kept)."""
    retired = {"n1~aaaaaaaaaaaa": 3, "n1~cccccccccccc": 1, "n1~bbbbbbbbbbbb": 1}
    assert encode_retired(retired) == (b"1 n1~bbbbbbbbbbbb\n1 n1~cccccccccccc\n"
                                       b"3 n1~aaaaaaaaaaaa")
    assert decode_retired(encode_retired(retired)) == retired


def test_a_dvv_entry_of_counter_zero_is_not_an_actor_of_the_lifetime() -> None:
    """A dvv entry with no event (counter 0: a peer's record may hold one, the
    decoder allows it) is not in the record's context, so its actor is not one of the
    lifetime's with a counter there (``_own_actors``). Killed (the resumed run):
    ``_own_actors__mutmut_7`` (``not counter and not ...``: the counter-0 entry of the
    lifetime's epoch 2 counted)."""
    lifetime = "n1~aaaaaaaaaaaa"
    record = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of(
        [(lifetime, 3, [b"v"]), (f"{lifetime}.2", 0, []), ("n2~bbbbbbbbbbbb", 1, [])]))
    assert _own_actors(record, lifetime) == {lifetime: 0}


def test_the_replicated_new_version_carries_the_client_floor() -> None:
    """Session 16's review: a vector-clock put sends its replicas the new version
    alone, with the record's truncation policy and its client-vclock ``floor`` (a
    replica that never held the truncated pair learns the floor from it). Killed (the
    resumed run): ``replicated_part__mutmut_14`` (the floor left out: 0)."""
    old = Sibling(b"a", VClock.of({"n1": 1}))
    new = Sibling(b"b", VClock.of({"n1": 2}))
    policy = Truncation(threshold=2, max_pairs=2)
    before = Record(ClockMode.CLIENT_VCLOCK, (old,), truncation=policy, floor=3)
    after = Record(ClockMode.CLIENT_VCLOCK, (new,), truncation=policy, floor=5)
    assert replicated_part(before, after) == after
    both = Record(ClockMode.CLIENT_VCLOCK, (old, new), truncation=policy, floor=5)
    assert replicated_part(before, both) == after


def test_a_dvv_delete_collapses_concurrent_tombstones_and_a_value_keeps_them() -> None:
    """Session 26: in dvv a delete drops the tombstones it is concurrent with into its
    own (a blind DELETE retried added a sibling per try), and only a delete does: a
    blind put of a value beside a tombstone keeps it. Killed (the resumed run):
    ``apply_put__mutmut_32`` (``value != TOMBSTONE``: two tombstones, then none)."""
    record = Record.empty(ClockMode.DVV)
    for value, node in ((b"v", "n1"), (TOMBSTONE, "n1"), (TOMBSTONE, "n2"), (b"w", "n1")):
        record = apply_put(record, VClock(), value, coordinator=node, client_id="c1",
                           now=1.0, actor=f"{node}~{node[1] * 12}")
    assert sorted(values(record)) == [TOMBSTONE, b"v", b"w"]


def test_a_client_vclock_put_counts_above_the_nodes_counter_floor() -> None:
    """Sessions 15, 16 and 19: a client-vclock put mints above every counter this node
    reaped or let go of (``counter_floor``), which a context read before may hold,
    even on a record holding none; the record keeps a floor only under a truncation
    policy (``Record.floor``; ``merge`` relies on it). Killed (the resumed run):
    ``apply_put__mutmut_113`` (``counter_floor`` left out: counter 1) and ``_189`` (the
    floor kept without a policy: 7)."""
    put = apply_put(Record.empty(ClockMode.CLIENT_VCLOCK), VClock(), b"v", coordinator="n1",
                    client_id="c1", now=1.0, counter_floor=7)
    assert [counter for _, counter in put.siblings[0].clock.pairs] == [8]
    assert put.floor == 0 and put.truncation is None


def test_a_counter_may_reach_the_limit_but_not_pass_it() -> None:
    """Session 16's review: a put whose counter would pass ``MAX_COUNTER`` (the u64 a
    record's bytes hold) is refused; one reaching it exactly is stored. Killed (the
    resumed run): ``apply_put__mutmut_116`` (``>=``: the last counter refused)."""
    def put_over(counter: int) -> Record:
        stored = Record(ClockMode.SERVER_VCLOCK, (Sibling(b"a", VClock.of({"n1": counter})),))
        return apply_put(stored, VClock(), b"b", coordinator="n1", client_id="c1", now=1.0)
    assert put_over(MAX_COUNTER - 1).siblings[-1].clock.counter("n1") == MAX_COUNTER
    with pytest.raises(BadRequestError, match="at its limit"):
        put_over(MAX_COUNTER)
