"""The clock modes on the implementation side: records, puts, merges, encoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import impl.records
import impl.versions
from impl.errors import BadMessageError, ConfigError
from impl.records import (
    ClockMode,
    Record,
    Sibling,
    Truncation,
    decode_record,
    encode_record,
)
from impl.versions import (
    LWW_TICK_S,
    apply_put,
    context_clock,
    context_pairs,
    lww_stamp_of,
    merge,
    merge_all,
    own_pair,
    truncate,
    values,
)
from spec.vclock import VClock

MODES = list(ClockMode)


def put(record: Record, context: VClock, value: bytes, coordinator: str = "A",
        client: str = "c1", now: float = 0.0) -> Record:
    return apply_put(record, context, value, coordinator=coordinator, client_id=client, now=now)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_a_put_with_the_read_context_supersedes(mode: ClockMode) -> None:
    first = put(Record.empty(mode), VClock(), b"a", now=1.0)
    second = put(first, context_clock(first), b"b", now=2.0)
    assert values(second) == [b"b"]


@pytest.mark.parametrize(("mode", "kept"), [
    (ClockMode.DVV, {b"a", b"b"}),
    (ClockMode.CLIENT_VCLOCK, {b"a", b"b"}),
    (ClockMode.SERVER_VCLOCK, {b"b"}),  # the paper's scheme loses the concurrent write
    (ClockMode.LWW, {b"b"}),
])
def test_concurrent_writes_through_one_coordinator(mode: ClockMode, kept: set[bytes]) -> None:
    first = put(Record.empty(mode), VClock(), b"a", client="c1", now=1.0)
    second = put(first, VClock(), b"b", client="c2", now=2.0)
    assert set(values(second)) == kept


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
def test_concurrent_writes_at_two_replicas_merge(mode: ClockMode) -> None:
    a = put(Record.empty(mode), VClock(), b"a", coordinator="A", client="c1", now=1.0)
    b = put(Record.empty(mode), VClock(), b"b", coordinator="B", client="c2", now=2.0)
    merged = merge(a, b)
    assert merged == merge(b, a)
    expected = {b"b"} if mode is ClockMode.LWW else {b"a", b"b"}
    assert set(values(merged)) == expected
    resolved = put(merged, context_clock(merged), b"ab", coordinator="A", now=3.0)
    assert values(merge(resolved, merged)) == [b"ab"]


def test_server_vclock_entry_is_one_more_than_the_highest_stored() -> None:
    record = put(Record.empty(ClockMode.SERVER_VCLOCK), VClock.of({"B": 4}), b"a")
    assert record.siblings[0].clock == VClock.of({"A": 1, "B": 4})
    record = put(record, VClock(), b"b")
    assert {s.clock for s in record.siblings} == {VClock.of({"A": 1, "B": 4}), VClock.of({"A": 2})}


def test_client_vclock_increments_the_entry_of_the_coordinator_and_client() -> None:
    """Session 23: the entry of (coordinator's actor, client), counted by the
    coordinator (``spec.vclock.client_entry``); a context's other entries (here one of
    the client's own under the rule before) are kept."""
    record = put(Record.empty(ClockMode.CLIENT_VCLOCK), VClock.of({"c9": 2}), b"a", client="c9")
    assert record.siblings[0].clock == VClock.of({"c9": 2, "A c9": 1})
    with pytest.raises(ValueError, match="client_id"):
        put(record, VClock(), b"b", client="")


def test_dvv_uses_the_coordinator_as_the_dot() -> None:
    record = put(Record.empty(ClockMode.DVV), VClock(), b"a", coordinator="n2")
    assert context_clock(record) == VClock.of({"n2": 1})


records = st.builds(
    lambda mode, writes: _build(mode, writes),
    st.sampled_from(MODES),
    st.lists(st.tuples(st.sampled_from("ABC"), st.sampled_from(["c1", "c2"]), st.binary(
        max_size=3), st.booleans()), max_size=6),
)


def _build(mode: ClockMode, writes: list[tuple[str, str, bytes, bool]]) -> Record:
    record = Record.empty(mode)
    for i, (coordinator, client, value, with_context) in enumerate(writes):
        context = context_clock(record) if with_context else VClock()
        record = put(record, context, value, coordinator, client, float(i))
    return record


@given(records)
def test_encoding_round_trips(record: Record) -> None:
    assert decode_record(encode_record(record), record.mode) == record


@given(records)
def test_context_pairs_are_the_context_clocks_pairs(record: Record) -> None:
    assert context_pairs(record) == context_clock(record).pairs


def test_context_pairs_check_catches_a_join_keeping_zero_counters() -> None:
    from spec import dvv
    from spec.dvv import DVVSet, Entry

    record = Record(ClockMode.DVV, dvvset=DVVSet((Entry("A", 2, (b"x",)), Entry("B", 0, ())), ()))
    assert context_pairs(record) == context_clock(record).pairs == (("A", 2),)
    assert dvv.join(record.dvvset) != context_pairs(record), "the naive join differs"


@given(st.sampled_from(MODES), st.data())
def test_merge_is_a_join(mode: ClockMode, data: st.DataObject) -> None:
    # A coordinator (or client) mints each dot once: the two branches use disjoint ones.
    def writes(coordinators: str, clients: list[str]) -> st.SearchStrategy[
            list[tuple[str, str, bytes, bool]]]:
        return st.lists(st.tuples(st.sampled_from(coordinators), st.sampled_from(clients),
                                  st.binary(max_size=2), st.booleans()), max_size=4)

    base = _build(mode, data.draw(writes("ABCD", ["c1", "c2"])))
    a = _build_on(base, data.draw(writes("AB", ["c1"])))
    b = _build_on(base, data.draw(writes("CD", ["c2"])))
    assert merge(a, a) == a
    assert merge(a, b) == merge(b, a)
    assert merge(merge(a, b), b) == merge(a, b)
    assert merge_all(mode, [a, b, base]) == merge(a, b)


def _build_on(record: Record, writes: list[tuple[str, str, bytes, bool]]) -> Record:
    for i, (coordinator, client, value, with_context) in enumerate(writes):
        context = context_clock(record) if with_context else VClock()
        record = put(record, context, value, coordinator, client, 10.0 + i)
    return record


def test_mixing_modes_is_refused() -> None:
    with pytest.raises(BadMessageError, match="cannot merge"):
        merge(Record.empty(ClockMode.DVV), put(Record.empty(ClockMode.LWW), VClock(), b"x"))
    with pytest.raises(BadMessageError, match="clock mode"):
        decode_record(encode_record(put(Record.empty(ClockMode.LWW), VClock(), b"x")),
                      ClockMode.DVV)


@pytest.mark.parametrize(("raw", "words"), [
    (b"", "truncated"),
    (b"X\x01", "marker"),
    (b"R\x09", "unknown clock mode"),
    (b"R\x01\x00\x00\x00\x01", "claims"),
    (b"R\x01\x00\x00\x00\x01\x00\x05A", "truncated"),
    (b"R\x01\xff\xff\xff\xff", "claims"),
    (b"R\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00", "trailing"),
    (b"R\x03\x00\x00\x00\x01\x00\x00\x00\x00" + b"\x00" * 8 + b"\x00\x01\xff"
     + b"\x00\x00\x00\x00", "UTF-8"),
    (b"R\x01\x00\x00\x00\x01\x00\x01A" + b"\x00" * 8 + b"\x00\x00\x00\x01\x00\x00\x00\x00"
     + b"\x00\x00\x00\x00", "malformed"),  # one value but counter 0
])
def test_bad_records_are_refused(raw: bytes, words: str) -> None:
    with pytest.raises(BadMessageError, match=words):
        decode_record(raw)


def test_a_non_canonical_record_is_refused() -> None:
    a = put(Record.empty(ClockMode.CLIENT_VCLOCK), VClock(), b"a", client="c1")
    b = put(Record.empty(ClockMode.CLIENT_VCLOCK), VClock(), b"b", client="c2")
    both = merge(a, b)
    assert len(both.siblings) == 2
    swapped = Record(both.mode, both.siblings[::-1])
    with pytest.raises(BadMessageError, match="canonical"):
        decode_record(encode_record(swapped))
    dominated = Record(both.mode, (*a.siblings, *put(a, context_clock(a), b"c",
                                                      client="c1").siblings))
    with pytest.raises(BadMessageError, match="canonical"):
        decode_record(encode_record(dominated))
    assert decode_record(encode_record(both)) == both


def test_client_vclock_a_blind_rewrite_is_a_sibling_whatever_counter_the_client_sends() -> None:
    """Session 23: the counter a client sends counts for nothing (a client that forgot
    it, one that keeps it, one sending a stale one: the same clock). A client's
    second blind put through the coordinator of its first misses an event of the
    pair the coordinator stores: it takes the pair's first fresh entry and is a
    sibling of the first, which it did not read (before, ``{c1: 2}`` superseded it);
    through another coordinator it is the pair of that coordinator; with the first's
    context it supersedes it."""
    mode = ClockMode.CLIENT_VCLOCK
    first = apply_put(Record.empty(mode), VClock(), b"a", coordinator="A", client_id="c1",
                      now=1.0, client_counter=0)
    assert first.siblings[0].clock == VClock.of({"A c1": 1})
    for sent in (0, 1, 7, 10**12):
        second = apply_put(first, VClock(), b"b", coordinator="A", client_id="c1", now=2.0,
                           client_counter=sent)
        assert sorted(values(second)) == [b"a", b"b"]
        assert VClock.of({"A/1 c1": 1}) in [s.clock for s in second.siblings]
        # and a third blind one: the next fresh entry, a third sibling
        third = apply_put(second, VClock(), b"c", coordinator="A", client_id="c1", now=3.0,
                          client_counter=sent)
        assert sorted(values(third)) == [b"a", b"b", b"c"]
        assert VClock.of({"A/2 c1": 1}) in [s.clock for s in third.siblings]
    elsewhere = apply_put(Record.empty(mode), VClock(), b"b", coordinator="B",
                          client_id="c1", now=2.0, client_counter=1)
    assert elsewhere.siblings[0].clock == VClock.of({"B c1": 1})
    assert sorted(values(merge(first, elsewhere))) == [b"a", b"b"]
    read = apply_put(first, context_clock(first), b"b", coordinator="A", client_id="c1",
                     now=2.0)
    assert values(read) == [b"b"] and read.siblings[0].clock == VClock.of({"A c1": 2})


def test_client_vclock_a_forgetful_clients_stale_put_is_never_dominated() -> None:
    """Session 22's data probe at the unit level: alice's v3 ``{A alice: 2, A bob: 1}``
    was minted through A; restarted (counter 0), she writes v4 through B with the
    stale context ``{A alice: 1}``: ``{A alice: 1, B alice: 1}``, a sibling of v3 on
    every replica (before: ``{alice: 2}``, dominated by v3's ``{alice: 2, bob: 1}``:
    lost). Through A itself (which stores v3) the pair's fresh entry: a sibling too."""
    mode = ClockMode.CLIENT_VCLOCK
    v1 = apply_put(Record.empty(mode), VClock(), b"v1", coordinator="A", client_id="alice",
                   now=1.0)
    stale = context_clock(v1)
    v2 = apply_put(v1, stale, b"v2", coordinator="A", client_id="bob", now=2.0)
    v3 = apply_put(v2, context_clock(v2), b"v3", coordinator="A", client_id="alice", now=3.0)
    assert v3.siblings[0].clock == VClock.of({"A alice": 2, "A bob": 1})
    for coordinator, local in (("B", v1), ("A", v3)):
        v4 = apply_put(local, stale, b"v4", coordinator=coordinator, client_id="alice",
                       now=4.0, client_counter=0)
        assert sorted(values(merge(v3, v4))) == [b"v3", b"v4"], coordinator


# ---------------------------------------------------------------- lww: hybrid logical clock


def test_lww_stamp_is_above_the_contexts_and_the_stored_whatever_the_wall_clock() -> None:
    ahead = put(Record.empty(ClockMode.LWW), VClock(), b"v1", coordinator="B", now=100.0)
    context = context_clock(ahead)
    assert lww_stamp_of(context) == 100.0
    # a coordinator whose clock is far behind, without the stored version
    after_read = put(Record.empty(ClockMode.LWW), context, b"v2", coordinator="A", now=1.0)
    assert after_read.siblings[0].stamp == pytest.approx(100.0 + LWW_TICK_S)
    assert merge(ahead, after_read).siblings[0].value == b"v2"
    # ... and with it, but without a context: one tick above what it stores
    blind = put(ahead, VClock(), b"v3", coordinator="A", now=1.0)
    assert blind.siblings[0].value == b"v3" and blind.siblings[0].stamp > 100.0
    # a wall clock ahead of both wins as it is
    assert put(ahead, context, b"v4", now=500.0).siblings[0].stamp == 500.0


def test_lww_context_of_a_negative_stamp_round_trips() -> None:
    record = put(Record.empty(ClockMode.LWW), VClock(), b"v", now=-30.5)
    stamp = lww_stamp_of(context_clock(record))
    assert stamp is not None and -30.5 <= stamp < -30.5 + 2 * LWW_TICK_S
    assert lww_stamp_of(VClock()) is None


# ---------------------------------------------------------------- truncation (paper 4.4)

TIGHT = Truncation(threshold=2, max_pairs=2, young_s=0.0, old_s=0.0)


def _aged(ages: list[float | None]) -> VClock:
    """A clock whose i-th pair ``c<i>`` is ``ages[i]`` seconds older than 1000
    (None: no time known)."""
    counters = {f"c{i}": 1 for i in range(len(ages))}
    times = {f"c{i}": 1000.0 - age for i, age in enumerate(ages) if age is not None}
    return VClock.of(counters, times)


def test_truncation_keeps_the_threshold_and_drops_by_age_and_size() -> None:
    policy = Truncation(threshold=2, max_pairs=4, young_s=10.0, old_s=100.0)
    assert policy.pairs_to_keep(_aged([500, 500])) == 2  # at most threshold: whole
    assert policy.pairs_to_keep(_aged([0, 200, 300])) == 2  # the old one goes
    assert policy.pairs_to_keep(_aged([0, 50, 60])) == 3  # not old enough
    assert policy.pairs_to_keep(_aged([0, 1, 2, 3, 4, 5])) == 4  # over max_pairs: even young
    assert policy.pairs_to_keep(_aged([0, 1, 2, 300, 400, 500])) == 3  # to max, then by age
    assert policy.pairs_to_keep(_aged([0, 50, None])) == 2  # no time: the oldest of all
    young = Truncation(threshold=1, max_pairs=4, young_s=1000.0, old_s=0.0)
    assert young.pairs_to_keep(_aged([0, 200, 300])) == 3  # young pairs are kept
    with pytest.raises(ConfigError, match="max_pairs"):
        Truncation(threshold=3, max_pairs=2)
    with pytest.raises(ConfigError, match="old_s"):
        Truncation(old_s=float("nan"))


def test_a_truncated_put_still_supersedes_what_it_read_on_every_replica() -> None:
    """A chain of read-modify-writes under a two-pair policy: a replica that receives
    every version holds the last alone (each put keeps its predecessor's own pair,
    ``versions.truncate``). One that receives every other version holds the last
    alone too (session 59): the new record's dropped pairs (``Record.dropped``) hold
    the own pair of the version before, which its clock lost two puts ago. From
    session 30 to 58 that version stayed as a false sibling (``[v1, v3, v5]``), the
    cost of a truncation that never erases a concurrent sibling (before session 30,
    the record rule collapsed it, and a truly concurrent version alike:
    ``test_truncation_keeps_a_concurrent_version_whose_own_pair_is_old``).
    Nothing but earlier versions of the chain is ever kept, and merges commute."""
    record = Record.empty(ClockMode.CLIENT_VCLOCK)
    every, half = record, record
    for index, client in enumerate("abcdef"):
        record = apply_put(record, context_clock(record), b"v%d" % index, coordinator="A",
                           client_id=client, now=float(index), truncation=TIGHT)
        assert values(record) == [b"v%d" % index]
        assert len(context_clock(record).pairs) == min(index + 1, 2)
        every = merge(every, record)
        assert values(every) == [b"v%d" % index]
        if index % 2:  # a replica that receives every other version only
            half = merge(half, record)
            assert b"v%d" % index in values(half)
            assert set(values(half)) <= {b"v%d" % i for i in range(index + 1)}
    assert merge(every, record) == merge(record, every) == record
    assert merge(half, record) == merge(record, half)
    assert sorted(values(half)) == [b"v5"]


def test_a_coordinator_that_missed_the_read_version_still_supersedes_it() -> None:
    """A coordinator that does not store the version a client read knows none of
    its pairs' times. Until session 15 it left them without a time (the oldest), so
    it truncated other pairs than the replica that holds it: the new version, which
    descends the old one, stayed its sibling everywhere (a stale read). Now they are
    as young as the new pair, and the merge drops the ancestor."""
    mode = ClockMode.CLIENT_VCLOCK
    empty = Record.empty(mode)
    older = apply_put(empty, VClock(), b"b", coordinator="X", client_id="b", now=1.0,
                      truncation=TIGHT)
    ancestor = apply_put(older, context_clock(older), b"A", coordinator="X", client_id="a",
                         now=2.0, truncation=TIGHT)  # {a:1 at 2, b:1 at 1}
    read = context_clock(ancestor)
    descendant = apply_put(empty, read, b"D", coordinator="C", client_id="c", now=3.0,
                           truncation=TIGHT)
    assert values(descendant) == [b"D"]
    assert values(merge(ancestor, descendant)) == [b"D"]  # was [A, D]: a false sibling
    assert values(merge(descendant, ancestor)) == [b"D"]
    untruncated = apply_put(empty, read, b"D", coordinator="C", client_id="c", now=3.0)
    assert values(merge(ancestor, untruncated)) == [b"D"]


def test_truncation_keeps_a_concurrent_version_whose_own_pair_is_old() -> None:
    """Two truly concurrent versions that differ only in an old pair: until session
    30 they collapsed once the pair was truncated (the old version lost: the record
    rule's documented lost update). Now the old version keeps its own pair, the one
    pair that sets it apart (``versions.truncate``), and stays a sibling."""
    mode = ClockMode.CLIENT_VCLOCK
    empty = Record.empty(mode)
    lone = apply_put(empty, VClock(), b"s1", coordinator="X", client_id="x", now=1.0,
                     truncation=TIGHT)
    first = apply_put(empty, VClock(), b"y", coordinator="Y", client_id="y", now=10.0,
                      truncation=TIGHT)
    chain = apply_put(first, context_clock(first), b"s2", coordinator="Y", client_id="z",
                      now=11.0, truncation=TIGHT)
    merged = merge(lone, chain)
    assert merged == merge(chain, lone)
    assert sorted(values(merged)) == [b"s1", b"s2"]
    # s1's and s2's own pairs, within max_pairs (session 30's review: else the
    # context, at most max_pairs, lacked s1's own pair and no put superseded s1)
    assert context_clock(merged).pairs == (("X x", 1), ("Y z", 1))
    assert context_pairs(merged, TIGHT.max_pairs) == context_clock(merged).pairs
    plain = Record(mode, lone.siblings)  # the same versions without a policy
    assert sorted(values(merge(plain, Record(mode, chain.siblings)))) == [b"s1", b"s2"]


@pytest.mark.parametrize("mode", [ClockMode.SERVER_VCLOCK, ClockMode.CLIENT_VCLOCK])
def test_truncation_repeats_once_a_stale_ancestor_went(mode: ClockMode) -> None:
    """A stale copy A (``{x:1, b:1}``, its own pair b) meets its descendant D (``{b:1,
    c:1, d:1}``, own pair d). A merge keeps the own pairs of both inputs' versions
    (session 30's review: as a put keeps those of what it supersedes, so that every
    replica drops the same pairs), within the two-pair policy's ``max_pairs``: D
    keeps b and d, c and x go, A is dominated. Truncating a record holding both
    (no merge: nothing but their own pairs kept) under a policy of two pairs, three
    at most, first drops x, A is then dominated and reconciled away, and b, kept
    only as A's own pair, goes too: the result is a fixpoint of truncation, so
    replicas that truncated it once more agree byte for byte (a single pass left D
    with b: ``{b, c, d}``; a surviving mutant of session 30's review)."""
    a = Sibling(b"A", VClock.of({"x": 1, "b": 1}, {"x": 0.5, "b": 2.0}), 2.0, "n1")
    d = Sibling(b"D", VClock.of({"b": 1, "c": 1, "d": 1}, {"b": 2.0, "c": 3.0, "d": 4.0}),
                4.0, "n2")
    stale, fresh = Record(mode, (a,), truncation=TIGHT), Record(mode, (d,), truncation=TIGHT)
    merged = merge(stale, fresh)
    assert merged == merge(fresh, stale)
    assert values(merged) == [b"D"]
    assert merged.siblings[0].clock.pairs == (("b", 1), ("d", 1))
    assert truncate(merged) == merged
    both = Record(mode, (a, d), truncation=Truncation(threshold=2, max_pairs=3, young_s=0.0,
                                                      old_s=0.0))
    once = truncate(both)
    assert values(once) == [b"D"]
    assert once.siblings[0].clock.pairs == (("c", 1), ("d", 1))
    assert truncate(once) == once


def test_encoding_keeps_pair_times_and_the_policy() -> None:
    record = apply_put(Record.empty(ClockMode.SERVER_VCLOCK), VClock.of({"B": 1}), b"v",
                       coordinator="A", client_id="", now=7.5, truncation=TIGHT)
    raw = encode_record(record)
    back = decode_record(raw, ClockMode.SERVER_VCLOCK)
    assert back.truncation == TIGHT and encode_record(back) == raw
    # B, a pair of the context this store holds no time for, is as young as the put;
    # A, the pair it increments, one tick younger (session 30: its own pair)
    assert back.siblings[0].clock.times == (("A", 7.5 + 2.0 ** -20), ("B", 7.5))
    with pytest.raises(BadMessageError):
        decode_record(raw[:-1], ClockMode.SERVER_VCLOCK)
    with pytest.raises(BadMessageError, match="truncation"):
        decode_record(raw[:-_POLICY_BYTES - 1] + b"\x07", ClockMode.SERVER_VCLOCK)


_POLICY_BYTES = 24


def test_the_actor_mints_the_dot_and_the_coordinator_stays_the_writer() -> None:
    dvv_record = apply_put(Record.empty(ClockMode.DVV), VClock(), b"v", coordinator="n1",
                           client_id="", now=0.0, actor="n1~abc")
    assert context_pairs(dvv_record) == (("n1~abc", 1),)
    server = apply_put(Record.empty(ClockMode.SERVER_VCLOCK), VClock(), b"v",
                       coordinator="n1", client_id="", now=0.0, actor="n1~abc")
    assert server.siblings[0].clock.pairs == (("n1~abc", 1),)
    assert server.siblings[0].writer == "n1"


@given(st.sampled_from([ClockMode.SERVER_VCLOCK, ClockMode.CLIENT_VCLOCK]), st.data())
def test_merge_of_truncated_records_is_commutative_and_idempotent(
        mode: ClockMode, data: st.DataObject) -> None:
    def build(record: Record, actors: str, start: float) -> Record:
        writes = data.draw(st.lists(st.tuples(st.sampled_from(actors), st.booleans()),
                                    max_size=5))
        for i, (actor, with_context) in enumerate(writes):
            context = context_clock(record) if with_context else VClock()
            previous = record
            record = apply_put(record, context, b"%s%d" % (actor.encode(), i),
                               coordinator=actor, client_id=actor, now=start + i,
                               truncation=TIGHT)
            # max_pairs, unless the own pairs of the versions the put met and its
            # own are more (versions.truncate keeps them, within max_pairs: session
            # 30 and its review)
            bound = max(TIGHT.max_pairs, len(previous.siblings) + 1)
            assert len(context_clock(record).pairs) <= bound
        return record

    base = build(Record.empty(mode), "abc", 0.0)
    a = build(base, "de", 10.0)
    b = build(base, "fg", 20.0)
    merged = merge(a, b)
    assert merged == merge(b, a)
    assert merge(merged, merged) == merged
    # Merging a again adds back at most versions of a as false siblings (a version
    # whose own pair the merge truncated no longer looks superseded: the cost of
    # never erasing a concurrent one, session 30), and loses no version of merged
    # but as below.
    again = merge(merged, a)
    assert again == merge(a, merged)
    assert set(values(again)) <= set(values(merged)) | set(values(a))
    # In server-vclock a put through a coordinator holding a concurrent version
    # counts its pair above that version's (a blind d1 over d0 {a, d}: {d: 2}), so
    # truncation dropping the pair that sets them apart loses it: the open row of
    # session 30's review (test_truncation_review.py, strict xfail). Nothing else.
    for lost in set(merged.siblings) - set(again.siblings):
        assert lost.value in values(again) or (mode is ClockMode.SERVER_VCLOCK and any(
            s.clock.counter(own_pair(lost.clock) or "") > lost.clock.counter(
                own_pair(lost.clock) or "") for s in again.siblings)), lost
    assert decode_record(encode_record(merged), mode) == merged


def test_versions_re_exports_the_record_names() -> None:
    """Callers import the record value and its encoding from impl.versions too."""
    for name in impl.records.__all__:
        assert getattr(impl.versions, name) is getattr(impl.records, name)
        assert name in impl.versions.__all__
