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
from impl.replica import RECORD_BOUNDS_META
from impl.staging import persist
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


def _restart(storage: MemoryStorage, now: float, **limits: int) -> Node:
    node = Node("n1", make_config(3, n=3, r=2, w=1, **limits), storage, seed=1, now=now)
    node.start(now)
    return node


def test_a_replica_that_missed_the_writes_takes_a_record_of_earlier_record_bytes() -> None:
    """The kept bytes bound alone (session 22's review: a mutant ignoring it in
    ``Replica.decode`` passed every test): a store that ran under the default
    limits and holds nothing of the key takes 5 siblings of 99,000 B after a
    restart with ``max_value_bytes`` 100,000 and ``max_record_bytes`` 110,000
    (merges of 3 sides: 406,800 B), within its siblings bound; the mutant refused
    it ("over the 406800 that merges of 3 nodes' puts within max_record_bytes can
    make")."""
    storage = MemoryStorage("always")
    _restart(storage, 0.0)
    limits = {"max_value_bytes": 100_000, "max_record_bytes": 110_000}
    node = _restart(storage, 5.0, **limits)
    record = _siblings(5, b"x" * 99_000)
    assert len(record) > merged_record_bytes(make_config(3, n=3, r=2, w=1, **limits))
    assert node.receive(6.0, "n2", ReplicaPut(5, KEY, record))
    assert node.stats["dropped"] == 0, node.log[-1]


def test_limits_changed_both_ways_keep_the_larger_of_each_bound() -> None:
    """Three starts: small values and 25 siblings, then 1 MiB values and 2
    siblings (the bytes bound rises, the siblings bound falls), then the same
    again: the store keeps 75 siblings (3 sides x 25) from the first start and
    takes the 10 siblings a replica that missed the writes is sent. A meta entry
    written with the second start's bounds alone (a mutant of session 22's review)
    kept 6 and refused them at the third start."""
    storage = MemoryStorage("always")
    _restart(storage, 0.0, max_value_bytes=1000, max_record_bytes=4096)
    _restart(storage, 5.0, max_siblings=2)
    node = _restart(storage, 10.0, max_siblings=2)
    assert node.replica.kept_bounds[1] == 75
    assert node.receive(11.0, "n2", ReplicaPut(5, KEY, _siblings(10)))
    assert node.stats["dropped"] == 0, node.log[-1]


def test_an_unreadable_record_bounds_entry_counts_as_none_and_is_rewritten() -> None:
    """A ``record_bounds`` meta entry that is not two ASCII integers (a store
    written by hand, a torn entry) counts as none: the node starts with its
    configuration's bounds and rewrites the entry (session 22's review: a mutant
    that parsed it unchecked raised ValueError at the start)."""
    storage = MemoryStorage("always")
    storage.set_meta(RECORD_BOUNDS_META, b"75 x")
    node = _restart(storage, 0.0)
    config = make_config(3, n=3, r=2, w=1)
    assert node.replica.kept_bounds == (merged_record_bytes(config), 3 * config.max_siblings)
    assert storage.get_meta(RECORD_BOUNDS_META) == b"%d %d" % node.replica.kept_bounds


def test_a_store_keeps_the_byte_bound_of_the_members_it_knew() -> None:
    """The bytes bound of :func:`test_a_store_keeps_the_bounds_of_the_members_it_knew`
    (session 23's review: a mutant raising the siblings bound alone with the members
    passed every test): a store of 5 members under ``max_value_bytes`` 100,000 and
    ``max_record_bytes`` 110,000 (merges of 5 sides: 678,000 B, of 3: 406,800 B),
    restarted with both lowered, takes 5 siblings of 99,000 B (495,051 B) from a
    peer; the mutant refused them (over 406,800)."""
    storage = MemoryStorage("always")
    limits = {"max_value_bytes": 100_000, "max_record_bytes": 110_000}
    first = _restart(storage, 0.0, **limits)
    first.gossiper.known_nodes = frozenset({"n1", "n2", "n3", "n4", "n5"})
    assert persist(storage, first.receive(1.0, "n2", ReplicaPut(5, b"k9", _siblings(1))))
    node = _restart(storage, 5.0, max_value_bytes=50_000, max_record_bytes=60_000)
    record = _siblings(5, b"x" * 99_000)
    assert len(record) > merged_record_bytes(make_config(3, n=3, r=2, w=1, **limits))
    assert node.receive(6.0, "n2", ReplicaPut(6, KEY, record))
    assert node.stats["dropped"] == 0, node.log[-1]


def test_a_store_keeps_the_bounds_of_the_members_it_knew() -> None:
    """A store of a cluster grown by joins past its 3 configured nodes (5 members)
    takes a peer's 100 siblings under ``max_siblings`` 25 (5 x 25); restarted with
    ``max_siblings`` 2 and holding nothing of another key, it takes the same from a
    peer. Before session 22's review it refused them ("more than the 75"): the
    bounds kept at each start counted the configured nodes only."""
    storage = MemoryStorage("always")
    first = _restart(storage, 0.0)
    first.gossiper.known_nodes = frozenset({"n1", "n2", "n3", "n4", "n5"})
    assert persist(storage, first.receive(1.0, "n2", ReplicaPut(5, b"k9", _siblings(100))))
    node = _restart(storage, 5.0, max_siblings=2)
    assert node.receive(6.0, "n2", ReplicaPut(6, KEY, _siblings(100)))
    assert node.stats["dropped"] == 0, node.log[-1]
