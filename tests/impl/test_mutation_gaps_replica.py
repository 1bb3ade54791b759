"""impl.replica: the behaviours mutmut found no test for (docs/refinement.md, "Mutation
score"): the flush timer's period, what the write listeners hear of a reap."""

from __future__ import annotations

import pytest

from impl.config import KEY_BYTES_CEILING
from impl.effects import Send, SetTimer, SyncStorage, WriteRecord
from impl.errors import BadMessageError
from impl.messages import ReplicaGet, ReplicaGetReply, ReplicaPut, ReplicaPutAck
from impl.node import Node
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.timers import Flush
from impl.versions import ClockMode, Record, apply_put, decode_record, encode_record
from spec.vclock import VClock
from tests.impl.test_node_driver import make_config

KEY = b"cart"


def _node(fsync: str = "always") -> tuple[Node, MemoryStorage]:
    storage = MemoryStorage(fsync)  # type: ignore[arg-type]
    node = Node("n1", make_config(3, n=3, r=2, w=1), storage, seed=1)
    node.start(0.0)
    return node, storage


def test_the_flush_timer_flushes_and_comes_again_a_flush_interval_later() -> None:
    node, _ = _node("buffered")
    assert node.fire(2.0, Flush()) == [SyncStorage(),
                                       SetTimer(Flush(), 2.0 + make_config().flush_interval)]


def test_a_reap_tells_every_write_listener_with_the_empty_bytes() -> None:
    node, _ = _node()
    heard: list[tuple[bytes, bytes]] = []
    node.replica.write_listeners.append(lambda key, encoded: heard.append((key, encoded)))
    node.replica.store(KEY, b"R-record")
    node.replica.reap(KEY)
    assert heard == [(KEY, b"R-record"), (KEY, b"")]


def test_a_stored_record_of_another_clock_mode_is_refused() -> None:
    """``Node.record`` decodes afresh in the node's own mode: bytes of another mode on
    the engine are an error, not a record."""
    storage = MemoryStorage("always")
    storage.write(KEY, encode_record(Record.empty(ClockMode.LWW)))
    node = Node("n1", make_config(3, n=3, r=2, w=1), storage, seed=1)
    assert node.mode is ClockMode.DVV
    with pytest.raises(BadMessageError, match="mode"):
        node.record(KEY)


def test_a_replica_put_that_changes_nothing_writes_nothing() -> None:
    """A duplicated ReplicaPut, or one of a version already superseded here: the merge
    equals the stored record, so no write (and no Merkle update) is staged."""
    node, _ = _node()
    record = encode_record(apply_put(Record.empty(ClockMode.DVV), VClock(), b"milk",
                                     coordinator="n2", client_id="c1", now=0.0))
    first = node.receive(1.0, "n2", ReplicaPut(5, KEY, record))
    assert [e for e in first if isinstance(e, WriteRecord)] == [WriteRecord(KEY, record)]
    persist(node.storage.engine, first)
    again = node.receive(1.5, "n2", ReplicaPut(5, KEY, record))
    assert again == [Send("n2", ReplicaPutAck(5, KEY))]
    newer = encode_record(apply_put(decode_record(record, ClockMode.DVV),
                                    VClock.of({"n2": 1}), b"eggs", coordinator="n2",
                                    client_id="c1", now=2.0))
    persist(node.storage.engine, node.receive(2.0, "n2", ReplicaPut(6, KEY, newer)))
    stale = node.receive(2.5, "n3", ReplicaPut(5, KEY, record))
    assert stale == [Send("n3", ReplicaPutAck(5, KEY))]


def test_a_hint_for_an_unknown_node_is_dropped_saying_which() -> None:
    node, _ = _node()
    record = encode_record(Record.empty(ClockMode.DVV))
    assert node.receive(1.0, "n2", ReplicaPut(5, KEY, record, hint="n9")) == []
    assert node.stats["dropped"] == 1
    assert node.log[-1] == ("1.000 dropped message from 'n2': "
                            "ReplicaPut: hint names unknown node 'n9' (peer data: hint)")


def test_a_record_holding_a_value_over_the_limit_is_taken_from_a_peer() -> None:
    """A peer's record holding a value over this node's ``max_value_bytes`` is
    stored: the limit is the client's (413 at the HTTP port), and such a record was
    stored when the limit was larger. Until session 17's service probe it was
    refused ("record holds a value over the size limit"), which stranded every
    such key once an operator lowered the limit (docs/runtime.md, "Faults found
    by session 17's service probe")."""
    node = Node("n1", make_config(3, n=3, r=2, w=1, max_value_bytes=100),
                MemoryStorage("always"), seed=1)
    node.start(0.0)
    record = encode_record(apply_put(Record.empty(ClockMode.DVV), VClock(), b"x" * 150,
                                     coordinator="n2", client_id="c1", now=0.0))
    assert len(record) > 100 and len(record) // 4 <= 3 * node.config.max_siblings
    effects = node.receive(1.0, "n2", ReplicaPut(5, KEY, record))
    assert node.stats["dropped"] == 0, node.log[-1]
    assert any(isinstance(e, WriteRecord) and e.key == KEY for e in effects), effects


def _siblings(count: int, value: bytes = b"") -> bytes:
    record = Record.empty(ClockMode.DVV)
    # blind puts of no client: each one a sibling in the actor's entry (a named
    # client's mint under fresh pairs since session 59, an entry each, up to 8)
    for _ in range(count):
        record = apply_put(record, VClock(), value, coordinator="n2", client_id="", now=0.0)
    return encode_record(record)


def test_a_peer_record_may_hold_k_times_max_siblings_and_no_more() -> None:
    """k = 3 (the nodes: each may fill the key on its own side of a partition), counted
    exactly, even for a small record of empty values (4-5 bytes each). Was 2 x
    until session 13 (the review's open finding)."""
    node, _ = _node()
    limit = 3 * node.config.max_siblings
    assert limit == 75 and len(_siblings(limit + 1)) < 5 * limit
    assert node.receive(1.0, "n2", ReplicaPut(5, KEY, _siblings(limit)))  # acknowledged
    assert node.stats["dropped"] == 0
    assert node.receive(1.0, "n2", ReplicaPut(6, KEY, _siblings(limit + 1))) == []
    assert node.log[-1].endswith(
        "ReplicaPut: record holds 76 siblings, more than the 75 that merges of 3 nodes' "
        "puts within max_siblings can make (peer data: record)")


def test_a_value_of_exactly_max_value_bytes_is_accepted() -> None:
    node = Node("n1", make_config(3, n=3, r=2, w=1, max_value_bytes=100),
                MemoryStorage("always"), seed=1)
    node.start(0.0)
    assert node.receive(1.0, "n2", ReplicaPut(5, KEY, _siblings(1, b"x" * 100)))
    assert node.stats["dropped"] == 0


def test_a_peer_record_of_another_clock_mode_is_dropped() -> None:
    node, _ = _node()
    lww = encode_record(Record.empty(ClockMode.LWW))
    assert node.receive(1.0, "n2", ReplicaPut(5, KEY, lww)) == []
    assert node.stats["dropped"] == 1 and "mode" in node.log[-1]


def test_a_key_of_exactly_max_key_bytes_is_served_one_byte_more_is_refused() -> None:
    """A peer's ReplicaGet and record of a key over ``max_key_bytes`` are taken
    (the key may be stored from before the limit was lowered: session 18's service
    probe; none stored: b""); over ``KEY_BYTES_CEILING`` both are refused."""
    node, _ = _node()
    limit = node.config.max_key_bytes
    assert node.receive(1.0, "n2", ReplicaGet(5, b"k" * limit))
    assert node.receive(1.0, "n2", ReplicaGet(6, b"k" * (limit + 1))) == [
        Send("n2", ReplicaGetReply(6, b"k" * (limit + 1), b""))]
    record = encode_record(apply_put(Record.empty(ClockMode.DVV), VClock(), b"v",
                                     coordinator="n2", client_id="c", now=0.0))
    too_long = b"k" * (KEY_BYTES_CEILING + 1)
    assert node.receive(1.0, "n2", ReplicaPut(7, too_long, record)) == []
    assert node.log[-1].endswith(f"ReplicaPut: key is {KEY_BYTES_CEILING + 1} bytes, over the "
                                 f"{KEY_BYTES_CEILING} no configuration's max_key_bytes "
                                 "exceeds (peer data: record)")
    assert node.receive(1.0, "n2", ReplicaGet(8, too_long)) == []
    assert node.log[-1].endswith("(peer data: key)")


def test_a_record_of_a_key_of_exactly_the_ceiling_is_taken() -> None:
    """Session 18's review: ``Replica.check_key`` with ``>=`` for ``>`` (a key of
    exactly ``KEY_BYTES_CEILING`` refused, the ``max_key_bytes`` a configuration
    may give) survived every test; the key's record and ReplicaGet are taken
    (one byte more is refused: the test before)."""
    node, _ = _node()
    key = b"k" * KEY_BYTES_CEILING
    record = encode_record(apply_put(Record.empty(ClockMode.DVV), VClock(), b"v",
                                     coordinator="n2", client_id="c", now=0.0))
    assert Send("n2", ReplicaPutAck(7, key)) in node.receive(1.0, "n2", ReplicaPut(7, key, record))
    assert node.receive(1.0, "n2", ReplicaGet(8, key)) == [
        Send("n2", ReplicaGetReply(8, key, b""))]  # none stored here: WriteRecord is an effect
    assert node.stats.get("dropped", 0) == 0


@pytest.mark.parametrize("stored", [True, False])
def test_a_record_of_a_key_over_max_key_bytes_is_taken_from_a_peer(stored: bool) -> None:
    """Session 18's service probe: the key was stored before ``max_key_bytes`` was
    lowered; refusing its records (a delete's, read repair's, anti-entropy's)
    stranded it, and a replica that missed it (``stored`` False) refused it at every
    anti-entropy round, for good."""
    node, storage = _node()
    key = b"k" * (node.config.max_key_bytes + 1)
    first = apply_put(Record.empty(ClockMode.DVV), VClock(), b"v",
                      coordinator="n2", client_id="c", now=0.0)
    if stored:
        storage.write(key, encode_record(first))
    other = apply_put(Record.empty(ClockMode.DVV), VClock(), b"w",  # a concurrent write
                      coordinator="n3", client_id="c", now=1.0)
    effects = node.receive(1.0, "n2", ReplicaPut(9, key, encode_record(other)))
    assert node.stats.get("dropped", 0) == 0
    assert Send("n2", ReplicaPutAck(9, key)) in effects  # merged and acknowledged
    assert any(isinstance(effect, WriteRecord) for effect in effects)


def test_an_engine_that_does_not_say_its_fsync_policy_gets_no_flush_timer() -> None:
    """Session 9: ``first_timers__mutmut_6`` (``getattr`` without its default) raised
    AttributeError for an engine with no ``fsync`` attribute (a Storage may not say);
    the buffered engine gets its first flush one ``flush_interval`` after the start."""
    node, _ = _node()
    node.replica.storage = object()  # type: ignore[assignment]
    assert node.replica.first_timers(0.0, lambda lo, hi: lo) == []
    buffered, _ = _node("buffered")
    assert buffered.replica.first_timers(5.0, lambda lo, hi: lo) == [
        SetTimer(Flush(), 5.0 + make_config().flush_interval)]


def test_a_replica_put_whose_hint_names_this_node_is_stored_not_kept_as_a_hint() -> None:
    """Session 9: ``Replica.__init____mutmut_1`` (the replica's name ``None``) kept a
    write naming this very node as its intended node in the hint store."""
    node, _ = _node()
    record = encode_record(apply_put(Record.empty(ClockMode.DVV), VClock(), b"milk",
                                     coordinator="n2", client_id="c1", now=0.0))
    effects = node.receive(1.0, "n2", ReplicaPut(5, KEY, record, hint="n1"))
    assert [e for e in effects if isinstance(e, WriteRecord)] == [WriteRecord(KEY, record)]
    assert [e for e in effects if isinstance(e, Send)] == [Send("n2", ReplicaPutAck(5, KEY))]


def test_a_stored_empty_record_is_answered_as_none() -> None:
    """Session 9: ``Replica.__init____mutmut_9`` (no empty encoding to compare with)
    answered a stored empty record with its bytes instead of ``b""`` (none)."""
    node, storage = _node()
    storage.write(KEY, encode_record(Record.empty(ClockMode.DVV)))
    assert node.receive(1.0, "n2", ReplicaGet(7, KEY)) == [
        Send("n2", ReplicaGetReply(7, KEY, b""))]
