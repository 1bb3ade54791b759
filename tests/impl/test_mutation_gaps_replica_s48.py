"""impl.replica: the behaviours session 48's mutmut run of the file found no test for
(docs/refinement.md, "Mutation score of read_repair, forwarding, retired, reaping,
membership (session 48)"): the lww floors at their bounds (a stamp equal to the
clock, a floor within ``lww_floor_margin_s``: sessions 25-26), the kept record
bounds (session 23's review), and what a replica's message tells of retired actors.
A :class:`~impl.replica.Replica` built alone with its clock set, as
tests/impl/test_lww_stamp_floor.py builds one; deterministic.
"""

from __future__ import annotations

import collections

import pytest

from impl.config import KEY_BYTES_CEILING, merge_sides, merged_record_bytes
from impl.effects import Send
from impl.hints import HintStore
from impl.internal_errors import PeerDataError
from impl.messages import ReplicaGet, ReplicaPut, ReplicaPutAck
from impl.node import Node
from impl.records import ClockMode, Record
from impl.replica import RECORD_BOUNDS_META, Replica
from impl.storage.memory import MemoryStorage
from impl.versions import (
    CLIENT_FLOOR_META,
    TOMBSTONE,
    apply_put,
    encode_record,
    encode_retired,
    lww_after,
)
from spec import dvv
from spec.vclock import VClock
from tests.impl.test_lww_stamp_floor import KEY, _reap, _replica
from tests.impl.test_mutation_gaps_read_repair import HOLDING, OLD
from tests.impl.test_node_driver import make_config

OTHER = b"other"


def test_a_stamp_at_the_clock_is_adopted_and_a_put_at_it_stamped_above() -> None:
    """A replica's floor equal to the clock is adopted, one behind it is not
    (``adopt_lww_floor__mutmut_1``: ``>``); a put at that very time is stamped one
    tick above it (``lww_now__mutmut_9``: ``floor <= now`` took the clock's)."""
    replica = _replica(MemoryStorage("always"), 10.0, margin=60.0)
    replica.adopt_lww_floor(OTHER, 9.5)
    replica.adopt_lww_floor(KEY, 10.0)
    assert replica.lww_floors == {KEY: 10.0}
    assert replica.lww_now(KEY, 10.0) == lww_after(10.0) > 10.0


def test_a_floor_is_kept_until_the_clock_passed_it_by_the_margin() -> None:
    """Margin 60 s: a floor at 10 s stays while a put of another key is stamped at
    69 s, and goes at 70.5 s (``lww_now__mutmut_4``: the floors below ``now +
    margin`` dropped)."""
    replica = _replica(MemoryStorage("always"), 10.0, margin=60.0)
    replica.adopt_lww_floor(KEY, 10.0)
    assert replica.lww_now(OTHER, 69.0) == 69.0 and replica.lww_floors == {KEY: 10.0}
    assert replica.lww_now(OTHER, 70.5) == 70.5 and replica.lww_floors == {}


def test_a_reap_keeps_a_tombstone_stamp_the_margin_behind_the_clock() -> None:
    """Clock 100 s, margin 60 s, a floor of another key at 100 s: a tombstone
    stamped 40 s, exactly the margin behind, is kept as the key's floor when reaped,
    and the other floor stays (``_keep_lww_floor__mutmut_3``: ``drop_passed(None)``,
    a TypeError; ``_4``: the floors below ``now + margin`` dropped; ``_9``: ``stamp -
    margin``, only stamps a margin ahead kept; ``_10``: ``>``)."""
    replica = _replica(MemoryStorage("always"), 100.0, margin=60.0)
    replica.adopt_lww_floor(OTHER, 100.0)
    _reap(replica, TOMBSTONE, 40.0)
    assert replica.lww_floors == {OTHER: 100.0, KEY: 40.0}


def test_kept_bounds_rise_each_on_its_own_and_are_stored() -> None:
    """Kept bounds (1000 bytes, 5 siblings): a smaller record bound changes nothing
    (``raise_kept_bounds__mutmut_6``: the byte bound compared with the siblings'),
    a larger one rises, is stored and answered True (``_21``: False)."""
    storage = MemoryStorage("always")
    replica = Replica("n1", make_config(3), storage, HintStore(storage, collections.Counter()),
                      lambda node: True, kept_bounds=(1000, 5))
    assert replica.raise_kept_bounds(10, 5) is False and replica.kept_bounds == (1000, 5)
    assert replica.raise_kept_bounds(1001, 5) is True and replica.kept_bounds == (1001, 5)
    assert storage.get_meta(RECORD_BOUNDS_META) == b"1001 5"


def test_a_replicas_message_tells_retired_actors_only_where_it_knows_some() -> None:
    """Outside dvv with actor epochs a replica tells nothing, b"" (``_nothing_carried
    __mutmut_1``, ``carried_raw__mutmut_2``: b"XXXX"); a dvv node that knows ``OLD``
    retired tells it for an encoded record holding its entry
    (``carried_raw__mutmut_1``: ``is not``, nothing told)."""
    replica = _replica(MemoryStorage("always"), 10.0)
    assert replica.carried(HOLDING) == b"" and replica.carried_raw(b"x") == b""
    node = Node("n1", make_config(3, n=3, r=2, w=2, retired_keep=0), MemoryStorage("always"),
                seed=1)
    node.start(0.0)
    node.retired.take(encode_retired({OLD: 1}))
    assert node.replica.carried_raw(encode_record(HOLDING)) == encode_retired({OLD: 1})


def test_the_client_floor_only_rises_and_only_in_client_vclock() -> None:
    """(``raise_floor__mutmut_1``: ``or``, a lower counter taken in client-vclock and
    any counter in another mode.)"""
    storage = MemoryStorage("always")
    replica = Replica("n1", make_config(3, clock="client-vclock"), storage,
                      HintStore(storage, collections.Counter()), lambda node: True)
    replica.raise_floor(5)
    replica.raise_floor(3)
    assert replica.client_floor == 5 and storage.get_meta(CLIENT_FLOOR_META) == b"5"
    other = MemoryStorage("always")
    dvv_replica = Replica("n1", make_config(3, clock="dvv"), other,
                          HintStore(other, collections.Counter()), lambda node: True)
    dvv_replica.raise_floor(5)
    assert dvv_replica.client_floor == 0 and other.get_meta(CLIENT_FLOOR_META) is None


def test_a_read_of_a_key_no_configuration_allows_is_the_peers_fault_word_for_word() -> None:
    """(``on_replica_get__mutmut_3``, ``_8``: the error's message None.)"""
    replica = _replica(MemoryStorage("always"), 10.0)
    key = b"k" * (KEY_BYTES_CEILING + 1)
    with pytest.raises(PeerDataError) as refused:
        replica.on_replica_get("n2", ReplicaGet(1, key))
    assert str(refused.value) == (
        f"key is {KEY_BYTES_CEILING + 1} bytes, over the {KEY_BYTES_CEILING} no "
        "configuration's max_key_bytes exceeds")


def test_a_merged_record_of_exactly_max_record_bytes_is_not_over_the_limit() -> None:
    """``merged-over-limit`` counts a record over ``max_record_bytes``, not one of
    exactly that size (``_warn_over_limits__mutmut_3``: ``>=``)."""
    big = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of([("n8~000000000002", 1, [b"x" * 1200])]))
    size = len(encode_record(big))
    for limit, counted in ((size, 0), (size - 1, 1)):
        storage = MemoryStorage("always")
        replica = Replica("n1", make_config(3, max_record_bytes=limit, max_value_bytes=64),
                          storage, HintStore(storage, collections.Counter()), lambda node: True)
        replica.write_local(b"k", big)
        assert replica.stats["merged-over-limit"] == counted


def test_the_merge_bounds_count_the_members_the_node_knows() -> None:
    """A node that knows 10 members (joined since the configuration named 3) takes a
    peer's record up to 10 sides' bytes (``_merge_bounds__mutmut_21``: the members
    left out of the bytes, 3 sides')."""
    storage = MemoryStorage("always")
    config = make_config(3)
    replica = Replica("n1", config, storage, HintStore(storage, collections.Counter()),
                      lambda node: True, members=lambda: 10)
    assert merge_sides(config, 10) == 10 > merge_sides(config)
    assert replica._merge_bounds() == (10, merged_record_bytes(config, 10))


def test_a_replica_outside_dvv_with_epochs_prunes_nothing_of_a_peers_copy() -> None:
    """Anti-entropy asks every replica whether a peer prunes its copy
    (:meth:`impl.antientropy.AntiEntropy.on_key_records`); outside dvv with actor
    epochs the node sets no hook and the answer is no (``__init____mutmut_21``: the
    default hook None, a TypeError)."""
    replica = _replica(MemoryStorage("always"), 10.0)
    assert replica.prunes_copy(HOLDING, encode_retired({OLD: 1})) is False


def _client_vclock_replica(stored: Record) -> Replica:
    storage = MemoryStorage("always")
    replica = Replica("n1", make_config(3, clock="client-vclock"), storage,
                      HintStore(storage, collections.Counter()), lambda node: True)
    replica.store(b"k", encode_record(stored))
    return replica


def test_a_client_vclock_ack_carries_the_record_only_when_the_put_was_dominated() -> None:
    """client-vclock, client c1 through n2: a put of counter 1 reaching a replica that
    stores counter 2's version is dominated, and the ack carries the stored record
    (session 14: the coordinator re-mints above it); counter 2's put reaching a
    replica that stores counter 1's is kept, and the ack carries nothing
    (``on_replica_put__mutmut_74``: ``and``; ``_75``: ``>=``, every ack carrying it;
    ``_76``, ``_78``: the "kept all" test inverted; ``_88``: the record left out)."""
    old = apply_put(Record.empty(ClockMode.CLIENT_VCLOCK), VClock(), b"old", coordinator="n2",
                    client_id="c1", now=1.0, client_counter=1)
    new = apply_put(old, old.siblings[0].clock, b"new", coordinator="n2", client_id="c1",
                    now=2.0, client_counter=2)
    for stored, put, carried in ((new, old, encode_record(new)), (old, new, b"")):
        sent = _client_vclock_replica(stored).on_replica_put(
            "n2", ReplicaPut(1, b"k", encode_record(put)))
        assert sent == [Send("n2", ReplicaPutAck(1, b"k", record=carried))]
