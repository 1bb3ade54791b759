"""A peer's record kept from before a limit was lowered is taken when this node
stores one as large (session 17's service probe; case 22's kind).

Each replica refused a peer's record over the siblings or bytes that merges
within its *current* limits make (``Replica.decode``), while a coordinator took
its own stored copy unchecked. So once an operator lowered ``max_siblings`` or
``max_record_bytes`` on every node, a key stored under the larger limits was
stranded: its replicas hold the same record and refuse each other's (a GET at
R=2 503, anti-entropy re-sending it every round). Now a record no larger, and
with no more siblings, than the one this node stores is taken; one beyond both
the limits and the stored record is still the peer's bad data. The value limit:
tests/runtime/test_lowered_value_limit.py."""

from __future__ import annotations

from impl.config import merged_record_bytes
from impl.messages import ReplicaPut
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.versions import ClockMode, Record, apply_put, encode_record
from spec.vclock import VClock
from tests.impl.test_node_driver import make_config

KEY = b"k3"


def _siblings(count: int, value: bytes = b"v") -> bytes:
    record = Record.empty(ClockMode.DVV)
    for i in range(count):  # blind puts: each one a sibling
        record = apply_put(record, VClock(), value + bytes([i]), coordinator="n2",
                           client_id="c1", now=0.0)
    return encode_record(record)


def _node(stored: bytes, **limits: int) -> Node:
    storage = MemoryStorage("always")
    storage.write(KEY, stored)
    node = Node("n1", make_config(3, n=3, r=2, w=1, **limits), storage, seed=1)
    node.start(0.0)
    return node


def test_a_record_over_the_lowered_max_siblings_is_taken_when_stored_alike() -> None:
    stored = _siblings(10)
    node = _node(stored, max_siblings=2)  # merges of 3 sides: 6 siblings at most
    assert node.receive(1.0, "n2", ReplicaPut(5, KEY, stored))  # before: dropped
    assert node.stats["dropped"] == 0, node.log[-1]
    assert node.receive(1.0, "n2", ReplicaPut(6, KEY, _siblings(11))) == []
    assert node.log[-1].endswith(
        "ReplicaPut: record holds 11 siblings, more than the 6 that merges of 3 nodes' "
        "puts within max_siblings can make (peer data: record)")


def test_a_record_over_the_lowered_record_bytes_is_taken_when_stored_alike() -> None:
    limits = {"max_value_bytes": 100, "max_record_bytes": 2000, "max_siblings": 2}
    largest = merged_record_bytes(make_config(3, n=3, r=2, w=1, **limits))
    stored = _siblings(2, b"x" * (largest // 2))  # two siblings: within max_siblings
    assert len(stored) > largest
    node = _node(stored, **limits)
    assert node.receive(1.0, "n2", ReplicaPut(5, KEY, stored))  # before: dropped
    assert node.stats["dropped"] == 0, node.log[-1]
    larger = _siblings(2, b"x" * (largest // 2 + 10))
    assert node.receive(1.0, "n2", ReplicaPut(6, KEY, larger)) == []
    assert f"over the {largest} that merges of 3 nodes' puts" in node.log[-1]


def test_a_replica_that_missed_the_writes_takes_a_record_of_its_earlier_limits() -> None:
    """A store that ran under ``max_siblings`` 25 and holds nothing of the key (down
    while it was written) takes the key's 10 siblings after a restart with
    ``max_siblings`` 2: before, it had no record to compare with and refused it
    for good (session 21's second service probe). A record beyond the bounds of
    every configuration the store ran with is still refused."""
    storage = MemoryStorage("always")
    Node("n1", make_config(3, n=3, r=2, w=1), storage, seed=1).start(0.0)  # max_siblings 25
    node = Node("n1", make_config(3, n=3, r=2, w=1, max_siblings=2), storage, seed=1, now=5.0)
    node.start(5.0)
    assert node.receive(6.0, "n2", ReplicaPut(5, KEY, _siblings(10)))  # before: dropped
    assert node.stats["dropped"] == 0, node.log[-1]
    assert node.receive(6.0, "n2", ReplicaPut(6, b"k4", _siblings(76))) == []
    assert node.log[-1].endswith(
        "ReplicaPut: record holds 76 siblings, more than the 75 that merges of 3 nodes' "
        "puts within max_siblings can make (peer data: record)")


def test_a_fresh_store_keeps_the_bounds_of_its_own_limits_only() -> None:
    """A store that never ran under larger limits, and heard of none in a peer's
    hello (``impl.runtime.NodeServer._adopt_record_bounds``), refuses a peer's record
    beyond its bounds as before (the peer's bad data): 7 siblings over
    ``max_siblings`` 2 (merges of 3 sides: 6)."""
    node = Node("n1", make_config(3, n=3, r=2, w=1, max_siblings=2), MemoryStorage("always"),
                seed=1)
    node.start(0.0)
    assert node.receive(1.0, "n2", ReplicaPut(5, KEY, _siblings(7))) == []
    assert "more than the 6 that merges" in node.log[-1]
