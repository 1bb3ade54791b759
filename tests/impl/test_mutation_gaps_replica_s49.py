"""impl.replica: the survivors session 48's mutmut run of the file left open
(docs/refinement.md, "### `impl/replica.py` (every mutant run; 27 survivors open)";
session 49's section says which each test kills and which survivors are
equivalent): the one-way merge's hook called with its documented arguments
(session 35), client-vclock's ack carrying this node's client floor only under a
truncation policy (session 19), the record bounds of a replica given no kept
bounds and of :func:`impl.replica.kept_record_bounds` for a grown cluster
(sessions 21-22), a large record of another clock mode refused, the lww floors
loaded only in lww, and ``merged-over-limit`` for a record of many small values.
A :class:`~impl.replica.Replica` built alone, as tests/impl/test_lww_stamp_floor.py
builds one; deterministic.
"""

from __future__ import annotations

import collections

import pytest

from impl.config import merge_sides, merged_record_bytes
from impl.effects import Effect, Send
from impl.hints import HintStore
from impl.internal_errors import PeerDataError
from impl.messages import ReplicaPut, ReplicaPutAck
from impl.records import ClockMode, Record, Truncation
from impl.replica import RECORD_BOUNDS_META, Replica, kept_record_bounds
from impl.storage.memory import MemoryStorage
from impl.versions import apply_put, encode_record, merge
from spec import dvv
from spec.vclock import VClock
from tests.impl.test_mutation_gaps_read_repair import HOLDING, OLD
from tests.impl.test_mutation_gaps_replica_s34 import KEY, _replica
from tests.impl.test_node_driver import make_config


def test_a_one_way_merge_calls_its_hook_with_now_the_holder_and_the_union() -> None:
    """dvv: a ReplicaPut merged one way calls :attr:`Replica.one_way` with ``(now,
    src, key, theirs, merged, holder=True, union)``, ``union`` the stored copy
    merged with the put's unpruned (session 40) and ``now`` the handler's
    (``on_replica_put__mutmut_52``: now None; ``_57``: holder None; ``_66``:
    False, so the ask went to the key's first replica rather than the coordinator;
    ``_58``: union None, so the ask sent ``merge(merged, theirs)`` after the prune;
    ``handlers__mutmut_4``: now None; ``_7``: now left out, 0.0, so a second ask of
    the key was held for ever by ``request_timeout``)."""
    replica = _replica("dvv")
    stored = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of([(OLD, 2, [])]))
    replica.store(KEY, encode_record(stored))
    pruned = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of([("n8~000000000002", 1, [b"milk"])]))
    replica.prune = lambda record: pruned if record == merge(stored, HOLDING) else record
    calls: list[tuple[object, ...]] = []

    def one_way(*args: object) -> list[Effect]:
        calls.append(args)
        return []

    replica.one_way = one_way  # type: ignore[assignment]
    sent = replica.handlers()[ReplicaPut](12.5, "n2", ReplicaPut(1, KEY, encode_record(HOLDING)))
    assert sent == [Send("n2", ReplicaPutAck(1, KEY))]
    assert replica.local_record(KEY) == pruned
    assert calls == [(12.5, "n2", KEY, HOLDING, pruned, True, merge(stored, HOLDING))]


def _truncated_put(policy: Truncation | None) -> Record:
    return apply_put(Record.empty(ClockMode.CLIENT_VCLOCK), VClock(), b"v", coordinator="n2",
                     client_id="c1", now=1.0, client_counter=1, truncation=policy)


def test_the_client_floor_goes_with_an_ack_only_under_a_truncation_policy() -> None:
    """client-vclock, this node's client floor 5 (a reap), a put of counter 1 kept:
    under a truncation policy the ack carries the record with floor 5, so the
    coordinator mints again above (session 19's probe; ``on_replica_put__mutmut_73``:
    ``truncation is None``, nothing carried); without a policy a record holds no
    floor and the ack carries nothing (``_67``: ``or``, ``_73``: the record
    carried)."""
    for policy in (Truncation(), None):
        replica = _replica("client-vclock")
        replica.raise_floor(5)
        put = _truncated_put(policy)
        assert put.floor == 0 and (put.truncation is None) is (policy is None)
        sent = replica.on_replica_put("n2", ReplicaPut(1, KEY, encode_record(put)))
        carried = b"" if policy is None else encode_record(Record(
            ClockMode.CLIENT_VCLOCK, put.siblings, truncation=policy, floor=5))
        assert sent == [Send("n2", ReplicaPutAck(1, KEY, record=carried))]


def test_a_replica_given_no_kept_bounds_takes_records_within_its_configurations() -> None:
    """A Replica built with no kept bounds ((0, 0), the default) takes a peer's
    one-value record within its configuration's bounds, and its kept bounds rise
    only once the members outnumber the sides counted (:meth:`Replica._keep_members`)
    (``decode__mutmut_7``: the byte bound always the kept one, 0, every record
    refused; ``_29``: the siblings bound ``sides / max_siblings``, a one-value record
    refused; ``_2``: ``>=``, the bounds raised and stored at the first record). In
    a Node these three are equivalent: it builds the replica with
    :func:`kept_record_bounds` of the configured nodes, never below the
    configuration's (docs/refinement.md, session 49)."""
    storage = MemoryStorage("always")
    replica = Replica("n1", make_config(3), storage, HintStore(storage, collections.Counter()),
                      lambda node: True)
    record = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of([("n8~000000000002", 1, [b"x" * 64])]))
    assert replica.decode(KEY, encode_record(record)) == record
    assert replica.kept_bounds == (0, 0) and storage.get_meta(RECORD_BOUNDS_META) is None


def test_the_kept_record_bounds_count_the_members_given() -> None:
    """A store started by a node that knows 10 members (the configuration names 3)
    keeps the bounds of 10 sides (``kept_record_bounds__mutmut_5``: the bytes of 3
    sides; ``_10``: the siblings of 3 sides). The Node passes 0 members (the
    bounds grow later, :meth:`Replica._keep_members`), where both are equivalent."""
    config = make_config(3)
    storage = MemoryStorage("always")
    expected = (merged_record_bytes(config, 10), merge_sides(config, 10) * config.max_siblings)
    assert merge_sides(config, 10) == 10 > merge_sides(config)
    assert kept_record_bounds(storage, config, 10) == expected
    assert storage.get_meta(RECORD_BOUNDS_META) == b"%d %d" % expected


def test_a_large_record_of_another_clock_mode_is_refused() -> None:
    """A peer's server-vclock record of over 4096 bytes (too large for the decode
    cache) reaching a dvv replica is refused as the small one is, the mode named
    (``parse__mutmut_3``, ``_5``: the mode not passed to ``decode_record`` for an
    uncached record, so any mode was taken)."""
    replica = _replica("dvv")
    for size in (10, 5000):
        other = apply_put(Record.empty(ClockMode.SERVER_VCLOCK), VClock(), b"x" * size,
                          coordinator="n2", client_id="", now=1.0)
        with pytest.raises(PeerDataError, match="record is in clock mode server-vclock, "
                                                "the cluster uses dvv"):
            replica.decode(KEY, encode_record(other))


def test_the_lww_floors_are_loaded_in_lww_only() -> None:
    """A store holding an lww floor, started in another clock mode, loads none
    (``__init____mutmut_36``: :class:`impl.lww_floors.LwwFloors` loaded in every
    mode); started in lww it loads it."""
    storage = MemoryStorage("always")
    _replica("lww", storage).adopt_lww_floor(KEY, 5.0)
    assert _replica("dvv", storage).lww_floors == {}
    assert _replica("lww", storage).lww_floors == {KEY: 5.0}


def test_a_merge_of_many_empty_values_over_max_siblings_is_counted() -> None:
    """dvv, ``max_siblings`` 100: a merged record of 101 empty values (4 bytes each,
    443 bytes in all) is counted ``merged-over-limit``
    (``_warn_over_limits__mutmut_6``: the prefilter ``len // 5 > max_siblings``,
    88, skipped the count: a value takes at least 4 bytes, not 5); 100 are not."""
    for values, counted in ((101, 1), (100, 0)):
        replica = _replica("dvv", max_siblings=100)
        record = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of(
            [("n8~000000000002", values, [b""] * values)]))
        assert dvv.size(record.dvvset) == values
        assert len(encode_record(record)) == 39 + 4 * values
        assert replica.merge_into_local(KEY, record) == record
        assert replica.stats["merged-over-limit"] == counted
