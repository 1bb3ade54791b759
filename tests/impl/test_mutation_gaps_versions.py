"""impl.versions: the behaviours mutmut found no test for (docs/refinement.md,
"Mutation score")."""

from __future__ import annotations

import hashlib

import pytest

from impl.errors import InvalidValueError
from impl.records import Truncation
from impl.storage.memory import MemoryStorage
from impl.versions import (
    ACTOR_META,
    KEY_EPOCH_META,
    KEY_EPOCHS_META,
    LIFETIMES_META,
    LWW_ACTOR,
    LWW_TICK_S,
    STORAGE_ID_META,
    ClockMode,
    Record,
    Sibling,
    apply_put,
    context_clock,
    key_actor,
    lifetime_actor,
    lww_version,
    merge,
    note_key_merge,
    own_epoch,
    read_key_epochs,
    renew_key_actor,
    replicated_part,
    truncate,
    truncate_new_clock,
    values,
)
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


def test_an_lww_context_counter_is_at_least_one_whatever_the_stamp() -> None:
    """Counters are positive: a stamp so far in the past that its offset counter
    would be below 1 gives counter 1."""
    record = Record(ClockMode.LWW, (Sibling(b"v", VClock(), -(2.0 ** 43), "A"),))
    assert context_clock(record) == VClock.of({LWW_ACTOR: 1})


def test_lww_version_is_hybrid_by_default() -> None:
    stored = Record(ClockMode.LWW, (Sibling(b"old", VClock(), 10.0, "B"),))
    new = lww_version(stored, VClock(), b"new", coordinator="A", now=5.0)
    assert new.stamp == 10.0 + LWW_TICK_S
    naive = lww_version(stored, VClock(), b"new", coordinator="A", now=5.0, hybrid=False)
    assert naive.stamp == 5.0


def test_a_merge_keeps_the_truncation_policy_either_side_carries() -> None:
    policy = Truncation(threshold=2, max_pairs=3)
    mode = ClockMode.SERVER_VCLOCK
    kept = apply_put(Record.empty(mode), VClock(), b"a", coordinator="A", client_id="c",
                     now=1.0, truncation=policy)
    plain = apply_put(Record.empty(mode), VClock(), b"b", coordinator="B", client_id="c",
                      now=2.0)
    assert (kept.truncation, plain.truncation) == (policy, None)
    assert merge(kept, plain).truncation == policy
    assert merge(plain, kept).truncation == policy


def test_key_epochs_are_one_node_wide_counter_within_one_storage_lifetime() -> None:
    """``renew_key_actor`` (a reap of a copy holding the key's actor) bumps one
    node-wide counter; an absent key is minted under ``<lifetime>.<counter>``, a
    key held under the highest epoch its copy carries; the table names its
    lifetime, and a table of an earlier lifetime counts as empty. One meta entry,
    whatever the number of keys reaped (session 14's probe A)."""
    storage = MemoryStorage("always")
    empty = Record.empty(ClockMode.DVV)
    assert key_actor(storage, "n1~aaa", b"k", empty) == "n1~aaa"
    assert renew_key_actor(storage, "n1~aaa", b"k") == "n1~aaa.1"
    assert renew_key_actor(storage, "n1~aaa", b"j") == "n1~aaa.2"
    assert key_actor(storage, "n1~aaa", b"k", empty) == "n1~aaa.2"
    assert storage.get_meta(KEY_EPOCHS_META) == b"n1~aaa 2"
    assert storage.get_meta(KEY_EPOCH_META + b"k".hex()) is None
    held = apply_put(empty, VClock(), b"x", coordinator="n1", client_id="c", now=1.0,
                     actor="n1~aaa.1")
    assert own_epoch(held, "n1~aaa") == 1 and own_epoch(held, "n1~bbb") is None
    assert key_actor(storage, "n1~aaa", b"k", held) == "n1~aaa.1"
    assert renew_key_actor(storage, "n1~aaa", b"k", held=False) == "n1~aaa.2"
    assert storage.get_meta(KEY_EPOCHS_META) == b"n1~aaa 2"  # nothing to write
    assert key_actor(storage, "n1~bbb", b"k", empty) == "n1~bbb"
    assert renew_key_actor(storage, "n1~bbb", b"k") == "n1~bbb.1"
    assert storage.get_meta(KEY_EPOCHS_META) == b"n1~bbb 1"


def test_a_stale_copy_of_a_forgotten_epoch_pins_the_key_until_its_copy_goes() -> None:
    """``note_key_merge``: a merge into a copy holding no counter of this lifetime
    that brings one of an epoch below the counter (a stale copy after the reap)
    pins the key to the counter, so the node does not continue the stale epoch;
    a merge into a copy holding the lifetime's counters, or bringing none, or of
    the counter's own epoch, pins nothing; the reap of the key unpins it."""
    storage = MemoryStorage("always")
    empty = Record.empty(ClockMode.DVV)
    stale = apply_put(empty, VClock(), b"x", coordinator="n1", client_id="c", now=1.0,
                      actor="n1~aaa")
    other = apply_put(empty, VClock(), b"y", coordinator="n2", client_id="c", now=1.0,
                      actor="n2~bbb")
    note_key_merge(storage, "n1~aaa", b"k", empty, stale)  # no reap yet: nothing forgotten
    assert storage.get_meta(KEY_EPOCHS_META) is None
    renew_key_actor(storage, "n1~aaa", b"k")  # the reap: counter 1
    note_key_merge(storage, "n1~aaa", b"k", empty, other)  # none of n1's counters
    note_key_merge(storage, "n1~aaa", b"k", stale, stale)  # held already
    assert storage.get_meta(KEY_EPOCHS_META) == b"n1~aaa 1"
    note_key_merge(storage, "n1~aaa", b"k", other, merge(other, stale))
    assert read_key_epochs(storage, "n1~aaa") == (1, {b"k": 1})
    assert storage.get_meta(KEY_EPOCHS_META) == b"n1~aaa 1\n" + b"k".hex().encode() + b" 1"
    assert key_actor(storage, "n1~aaa", b"k", merge(other, stale)) == "n1~aaa.1"
    assert key_actor(storage, "n1~aaa", b"j", stale) == "n1~aaa"  # only k is pinned
    assert read_key_epochs(storage, "n1~bbb") == (0, {})
    renew_key_actor(storage, "n1~aaa", b"k", held=False)  # its copy reaped: unpinned
    assert read_key_epochs(storage, "n1~aaa") == (1, {})


def _expected_actor(name: str, seed: int, now: float, lifetimes: int, entropy: bytes = b"",
                    prefix: str | None = None) -> str:
    """The documented id: ``name~`` and 12 hex digits of the SHA-256 of ``repr((name,
    seed, float(now), lifetimes))`` and the store's id, computed here independently."""
    digest = hashlib.sha256(repr((name, seed, float(now), lifetimes)).encode("utf-8")
                            + entropy).hexdigest()[:12]
    return f"{name if prefix is None else prefix}~{digest}"


def test_a_lifetime_actor_is_the_documented_digest_persisted_and_flushed() -> None:
    storage = MemoryStorage("buffered")
    storage.set_meta(STORAGE_ID_META, b"disk-7")
    actor = lifetime_actor(storage, "n1", seed=3, now=2)
    assert actor == _expected_actor("n1", 3, 2.0, 1, b"disk-7")
    assert storage.get_meta(ACTOR_META) == actor.encode("utf-8")
    assert storage.get_meta(LIFETIMES_META) == b"1"
    assert storage.pending == 0  # flushed before it is returned
    # a buffered store starts a new lifetime at each start: the count goes on
    again = lifetime_actor(storage, "n1", seed=3, now=2)
    assert again == _expected_actor("n1", 3, 2.0, 2, b"disk-7") != actor
    assert storage.get_meta(LIFETIMES_META) == b"2"
    assert storage.get_meta(ACTOR_META) == again.encode("utf-8")


def test_a_durable_store_keeps_its_actor_and_its_count_without_per_start() -> None:
    storage = MemoryStorage("always")
    actor = lifetime_actor(storage, "n1", seed=3, now=2.0)
    assert actor == _expected_actor("n1", 3, 2.0, 1)
    assert lifetime_actor(storage, "n1", seed=4, now=9.0, per_start=False) == actor
    assert storage.get_meta(LIFETIMES_META) == b"1"
    assert lifetime_actor(storage, "n1", seed=3, now=2.0, epochs=False) == "n1"
    assert lifetime_actor(storage, "n1", seed=3, now=2.0, epochs=False,
                          per_start=False) == "n1"


def test_per_start_gives_a_durable_store_a_new_actor_at_every_start() -> None:
    """The default: a durable store counts a new lifetime at each start too (a
    restored backup is self-consistent: nothing local tells it from the live store)."""
    storage = MemoryStorage("always")
    storage.set_meta(STORAGE_ID_META, b"disk-7")
    actor = lifetime_actor(storage, "n1", seed=3, now=2.0)
    again = lifetime_actor(storage, "n1", seed=3, now=2.0)
    assert again == _expected_actor("n1", 3, 2.0, 2, b"disk-7") != actor
    assert storage.get_meta(LIFETIMES_META) == b"2"
    assert storage.get_meta(ACTOR_META) == again.encode("utf-8")


def test_a_name_is_kept_in_the_actor_up_to_242_bytes_then_replaced_by_its_digest() -> None:
    fits = "a" * 242  # 242 + "~" + 12 hex digits = 255 bytes
    assert lifetime_actor(MemoryStorage(), fits, seed=0, now=0.0) == \
        _expected_actor(fits, 0, 0.0, 1)
    long = "a" * 243
    digest = hashlib.sha256(long.encode("utf-8")).hexdigest()[:32]
    assert lifetime_actor(MemoryStorage(), long, seed=0, now=0.0) == \
        _expected_actor(long, 0, 0.0, 1, prefix=digest)
    wide = "\u00e9" * 122  # 244 bytes of UTF-8 in 122 characters
    assert lifetime_actor(MemoryStorage(), wide, seed=0, now=0.0).startswith(
        hashlib.sha256(wide.encode("utf-8")).hexdigest()[:32] + "~")


def test_the_replicated_part_of_a_vclock_put_is_the_new_version_with_the_policy() -> None:
    policy = Truncation(threshold=2, max_pairs=3)
    mode = ClockMode.SERVER_VCLOCK
    before = apply_put(Record.empty(mode), VClock(), b"a", coordinator="A", client_id="c",
                       now=1.0, truncation=policy)
    after = apply_put(before, VClock(), b"b", coordinator="B", client_id="c", now=2.0,
                      truncation=policy)
    (new,) = (s for s in after.siblings if s not in before.siblings)
    part = replicated_part(before, after)
    assert part == Record(mode, (new,), truncation=policy)
    assert part.truncation == policy  # a replica's merge keeps truncating


def test_a_put_whose_new_version_truncation_reconciles_away_sends_the_whole_record() -> None:
    """A put that adds no version (nothing of ``after`` is new) sends the whole record
    rather than an empty one. Until session 15 truncation to one pair made one: the
    new version's pair tied on time with the stored one and lost by node id, and the
    new version was dominated at its own coordinator (an acknowledged write lost).
    Session 15 stamped the new pair after every stored one, and the stored version
    went instead (a lost update). Since session 30 truncation keeps every sibling's
    own pair (``versions.truncate``): the blind put and the stored version stay
    siblings, each clock keeping its own pair past the one-pair policy."""
    policy = Truncation(threshold=1, max_pairs=1)
    mode = ClockMode.SERVER_VCLOCK
    stored = Record(mode, (Sibling(b"old", VClock.of({"b": 1}, {"b": 5.0}), 5.0, "B"),),
                    truncation=policy)
    after = apply_put(stored, VClock(), b"new", coordinator="a", client_id="c", now=5.0,
                      truncation=policy)
    assert sorted(values(after)) == [b"new", b"old"]
    assert sorted(s.clock.pairs for s in after.siblings) == [(("a", 1),), (("b", 1),)]
    assert replicated_part(stored, after).siblings == tuple(
        s for s in after.siblings if s.value == b"new")
    assert replicated_part(stored, stored) is stored


class _MetaOnly:
    """A storage view with meta entries and flush but no ``fsync`` attribute."""

    def __init__(self) -> None:
        self.meta: dict[str, bytes] = {}
        self.flushes = 0

    def get_meta(self, name: str) -> bytes | None:
        return self.meta.get(name)

    def set_meta(self, name: str, value: bytes) -> None:
        self.meta[name] = value

    def flush(self) -> None:
        self.flushes += 1


def test_a_storage_that_names_no_fsync_policy_is_taken_as_durable() -> None:
    storage = _MetaOnly()
    actor = lifetime_actor(storage, "n1", seed=1, now=0.0)  # type: ignore[arg-type]
    assert actor == _expected_actor("n1", 1, 0.0, 1) and storage.flushes == 1
    assert lifetime_actor(storage, "n1", seed=2, now=1.0,  # type: ignore[arg-type]
                          per_start=False) == actor
    assert storage.meta[LIFETIMES_META] == b"1" and storage.flushes == 1


def test_a_server_vclock_put_counts_past_the_contexts_entry_of_its_actor() -> None:
    """A coordinator that does not hold the key (or lost it) still makes a clock that
    supersedes the context: its entry is one more than the context's."""
    record = apply_put(Record.empty(ClockMode.SERVER_VCLOCK), VClock.of({"A": 5, "B": 2}),
                       b"v", coordinator="A", client_id="c", now=1.0)
    (sibling,) = record.siblings
    assert sibling.clock.pairs == (("A", 6), ("B", 2))


def test_a_client_vclock_put_without_a_client_id_is_refused_word_for_word() -> None:
    with pytest.raises(InvalidValueError,
                       match=r"^client-vclock mode needs a client_id on every put$"):
        apply_put(Record.empty(ClockMode.CLIENT_VCLOCK), VClock(), b"v", coordinator="A",
                  client_id="", now=1.0)


def test_a_per_put_truncated_version_names_its_coordinator_and_time() -> None:
    policy = Truncation(threshold=1, max_pairs=1)
    record = apply_put(Record.empty(ClockMode.SERVER_VCLOCK), VClock.of({"B": 2}), b"v",
                       coordinator="A", client_id="c", now=3.0, actor="A~1",
                       truncation=policy, per_put=True)
    (sibling,) = record.siblings
    assert (sibling.value, sibling.stamp, sibling.writer) == (b"v", 3.0, "A")
    assert sibling.clock.pairs == (("A~1", 1),) and record.truncation is None


def test_a_put_keeps_the_policy_its_stored_record_carries() -> None:
    policy = Truncation(threshold=2, max_pairs=3)
    mode = ClockMode.SERVER_VCLOCK
    stored = apply_put(Record.empty(mode), VClock(), b"a", coordinator="A", client_id="c",
                       now=1.0, truncation=policy)
    again = apply_put(stored, VClock(), b"b", coordinator="B", client_id="c", now=2.0)
    assert again.truncation == policy


def test_a_truncation_dropping_an_own_pair_begins_a_pinned_key_epoch() -> None:
    """``note_key_merge`` (session 15, "(trunc)"): a merge whose truncation drops a
    pair of this lifetime's actors bumps the counter, and pins the key to it when
    the copy still holds an older epoch of the lifetime (continuing that one could
    mint again a dot of it); a merge dropping none, or with no truncation policy,
    writes nothing."""
    storage = MemoryStorage("always")
    policy = Truncation(threshold=1, max_pairs=1, young_s=0.0, old_s=0.0)
    old = Sibling(b"a", VClock.of({"n1~aaa": 3, "n1~aaa.2": 7}, {"n1~aaa": 5.0,
                                                                  "n1~aaa.2": 1.0}))
    before = Record(ClockMode.SERVER_VCLOCK, (old,), truncation=policy)
    newer = Sibling(b"b", VClock.of({"n1~aaa": 3, "n1~aaa.2": 7, "n2~bbb": 1},
                                    {"n1~aaa": 5.0, "n1~aaa.2": 1.0, "n2~bbb": 9.0}))
    # a merge keeps the own pair of the version it reconciles away (n1~aaa, session
    # 30's review), and drops n1~aaa.2
    merged = merge(before, Record(ClockMode.SERVER_VCLOCK, (newer,), truncation=policy))
    assert [s.clock.pairs for s in merged.siblings] == [(("n1~aaa", 3), ("n2~bbb", 1))]
    after = truncate(merged)  # a truncation dropping both
    assert [s.clock.pairs for s in after.siblings] == [(("n2~bbb", 1),)]
    note_key_merge(storage, "n1~aaa", b"k", before, before)  # nothing dropped
    untruncated = Record(ClockMode.SERVER_VCLOCK, (newer,))
    note_key_merge(storage, "n1~aaa", b"k", untruncated, Record(
        ClockMode.SERVER_VCLOCK, (Sibling(b"c", VClock.of({"n2~bbb": 2})),)))  # no policy
    assert storage.get_meta(KEY_EPOCHS_META) is None
    renew_key_actor(storage, "n1~aaa", b"x")
    renew_key_actor(storage, "n1~aaa", b"x")  # two reaps: counter 2, as epoch .2 needs
    kept = Record(ClockMode.SERVER_VCLOCK, (Sibling(b"b", VClock.of(
        {"n1~aaa": 3, "n2~bbb": 1}, {"n1~aaa": 5.0, "n2~bbb": 9.0})),), truncation=policy)
    note_key_merge(storage, "n1~aaa", b"k", before, kept)  # n1~aaa.2 dropped, n1~aaa kept
    assert read_key_epochs(storage, "n1~aaa") == (3, {b"k": 3})
    assert key_actor(storage, "n1~aaa", b"k", kept) == "n1~aaa.3"  # not n1~aaa: pinned
    note_key_merge(storage, "n1~aaa", b"j", before, after)  # both dropped
    assert read_key_epochs(storage, "n1~aaa") == (4, {b"k": 3})  # j: the counter's epoch
    assert key_actor(storage, "n1~aaa", b"j", after) == "n1~aaa.4"
