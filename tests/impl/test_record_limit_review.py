"""The record limit at the put coordinator (``max_record_bytes``), pinned where the
runtime test (tests/runtime/test_record_limit.py) leaves it open: a delete is never
refused, a put that does not grow a record already over the limit is accepted, a
record of exactly the limit is accepted; and the speed-ups of the same commit keep
their behaviour (the decode cache never confuses two records of one length, the
Merkle digest is the digest of key length, key and record, as before).

Source: session 12's review of 945a7a6; each test kills a mutant that survived
every earlier test (docs/runtime.md, "Record size").
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Any

import pytest

from impl import SimulatedCluster
from impl.config import (
    DEFAULT_FRAME_BYTES,
    ClusterConfig,
    merge_sides,
    merged_record_bytes,
    replicable_frame_bytes,
    side_record_bytes,
)
from impl.effects import WriteRecord
from impl.errors import ConfigError, TooLargeError
from impl.merkle import DIGEST_SIZE, record_digest
from impl.messages import KeyRecords, ReplicaPut
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.versions import TOMBSTONE, ClockMode, Record, apply_put, encode_record, values
from spec.vclock import VClock
from tests.impl.test_node_driver import make_config

LIMIT = 4096
VALUE = 1000  # max_value_bytes
#: the values :func:`_fill` puts: four siblings fit the limit, five do not (1,000
#: before session 59; since then a named client's blind puts each mint under a
#: fresh pair, ``spec.dvv.dot_actor``, about 45 bytes of entry more per sibling:
#: four of 1,000 bytes made 4,176 bytes)
FILL = 960


def _cluster(**options: Any) -> SimulatedCluster:
    options.setdefault("seed", 7)
    options.setdefault("max_value_bytes", VALUE)
    options.setdefault("max_record_bytes", LIMIT)
    return SimulatedCluster(nodes=3, n=3, r=2, w=2, **options)


def _size(cluster: SimulatedCluster, node: str, key: bytes) -> int:
    record = cluster.node(node).record(key)
    return 0 if record is None else len(encode_record(record))


def _fill(cluster: SimulatedCluster, key: bytes, coordinator: str = "n1") -> int:
    """Blind puts of FILL-byte values through ``coordinator`` until one gets 413;
    the number accepted."""
    client = cluster.client(coordinator, client_id=f"filler-{coordinator}")
    for i in range(20):
        try:
            client.put(key, bytes([i]) * FILL, coordinator=coordinator, w=1)
        except TooLargeError:
            cluster.run_until_quiet()
            return i
    raise AssertionError("the record limit never refused a put")


def _top_up(cluster: SimulatedCluster, key: bytes, coordinator: str = "n1",
            w: int | None = None) -> None:
    """Blind puts of the largest value that still fits, until not even an empty
    value fits: the record is then within a sibling's overhead of the limit."""
    client = cluster.client(coordinator, client_id=f"topper-{coordinator}")
    size = LIMIT
    while size >= 0:
        try:
            client.put(key, b"t" * size, coordinator=coordinator, w=w)
        except TooLargeError:
            size -= 1
    cluster.run_until_quiet()


def test_a_blind_delete_of_a_key_at_the_limit_is_never_refused() -> None:
    """A blind delete adds a tombstone sibling (it grows the record), yet deletes are
    never refused for the record's size. Kills: the check without ``not delete``."""
    cluster = _cluster()
    assert _fill(cluster, b"k") == 4
    _top_up(cluster, b"k")
    handle = cluster.client("n1").submit_delete(b"k", coordinator="n1")
    cluster.wait([handle])
    assert handle.error is None
    assert TOMBSTONE in values(cluster.node("n1").record(b"k"))  # type: ignore[arg-type]
    assert _size(cluster, "n1", b"k") > LIMIT


def test_a_put_that_shrinks_a_record_merges_made_too_large_is_accepted() -> None:
    """Two sides of a partition each fill the key to the limit; after the heal the
    merged record is about twice the limit. A put whose context covers one sibling
    (a smaller value in its place) leaves the record over the limit but smaller:
    accepted. Kills: the check without the does-not-grow exception."""
    cluster = _cluster()
    cluster.partition({"n1"}, {"n2", "n3"})
    assert _fill(cluster, b"k", "n1") == 4
    assert _fill(cluster, b"k", "n2") == 4
    # The context of a read of n1 alone: it covers n1's own four siblings only.
    mine = cluster.client("n1", client_id="r1").get(b"k", r=1, coordinator="n1")
    assert len(mine.values) == 4
    cluster.heal()
    client = cluster.client("n1", client_id="reader")
    assert len(client.get(b"k", r=3, coordinator="n1").values) == 8
    cluster.run_until_quiet()
    before = _size(cluster, "n1", b"k")
    assert before > 2 * LIMIT - 200
    with pytest.raises(TooLargeError, match="max_record_bytes"):  # a blind put grows it
        client.put(b"k", b"x", coordinator="n1")
    client.put(b"k", b"s" * 500, context=mine.context, coordinator="n1")
    after = _size(cluster, "n1", b"k")
    assert LIMIT < after < before
    assert len(values(cluster.node("n1").record(b"k"))) == 5  # type: ignore[arg-type]


def test_the_does_not_grow_test_admits_an_equal_size() -> None:
    """``_record_too_large`` refuses only a put that makes the record larger: the
    same size is accepted. Kills: ``size < stored`` for ``size <= stored``."""
    cluster = _cluster()
    assert _fill(cluster, b"k") == 4
    node: Any = cluster.node("n1")
    coordinator = node.puts if hasattr(node, "puts") else None
    if coordinator is None:
        coordinator = next(v for v in vars(node).values()
                           if type(v).__name__ == "PutCoordinator")
    stored = coordinator.replica.local_record(b"k")
    size = len(encode_record(stored))
    assert coordinator._record_too_large(b"k", stored, size, 5, VALUE) is None
    assert isinstance(coordinator._record_too_large(b"k", stored, size + 1, 5, VALUE),
                      TooLargeError)


def test_a_record_of_exactly_the_limit_is_accepted() -> None:
    """Measure the record three values make, then set max_record_bytes to exactly that:
    the second put is accepted, one byte more is refused. Kills: ``>=`` for ``>``."""
    probe = _cluster(max_record_bytes=1 << 20)
    client = probe.client("n1", client_id="c")
    client.put(b"k", b"a" * VALUE, coordinator="n1")
    client.put(b"k", b"c" * VALUE, coordinator="n1")
    client.put(b"k", b"b" * 900, coordinator="n1")
    exact = _size(probe, "n1", b"k")
    cluster = _cluster(max_record_bytes=exact)
    client = cluster.client("n1", client_id="c")
    client.put(b"k", b"a" * VALUE, coordinator="n1")
    client.put(b"k", b"c" * VALUE, coordinator="n1")
    client.put(b"k", b"b" * 900, coordinator="n1")
    assert _size(cluster, "n1", b"k") == exact
    other = _cluster(max_record_bytes=exact)
    client = other.client("n1", client_id="c")
    client.put(b"k", b"a" * VALUE, coordinator="n1")
    client.put(b"k", b"c" * VALUE, coordinator="n1")
    with pytest.raises(TooLargeError):
        client.put(b"k", b"b" * 901, coordinator="n1")


def test_the_decode_cache_never_confuses_two_records_of_one_length() -> None:
    """Replica.parse caches small records by their bytes: two different records of
    the same length decode to themselves. Kills: a cache keyed by the length."""
    cluster = _cluster()
    client = cluster.client("n1", client_id="c")
    client.put(b"a", b"x" * 10, coordinator="n1")
    client.put(b"b", b"y" * 10, coordinator="n1")
    node: Any = cluster.node("n1")
    replica = next(v for v in vars(node).values() if type(v).__name__ == "Replica")
    raw_a, raw_b = replica.storage.read(b"a"), replica.storage.read(b"b")
    assert raw_a != raw_b and len(raw_a) == len(raw_b)
    assert values(replica.parse(raw_a)) == [b"x" * 10]
    assert values(replica.parse(raw_b)) == [b"y" * 10]
    assert values(replica.parse(raw_a)) == [b"x" * 10]


@pytest.mark.parametrize("size", [0, 1, 100, 1 << 16])
def test_the_merkle_digest_is_that_of_the_concatenation(size: int) -> None:
    """record_digest, fed in two parts, is the digest of len(key), key, record as
    before the speed-up (nodes of both versions compare trees)."""
    key, record = b"some-key", bytes(range(256)) * (size // 256) + b"r" * (size % 256)
    before = blake2b(len(key).to_bytes(4, "big") + key + record, digest_size=DIGEST_SIZE,
                     person=b"vdynamo-key").digest()
    assert record_digest(key, record) == before



@pytest.mark.parametrize("bad", ["4194304", 4194304.0, True, 1023, (1 << 31) + 1])
def test_max_record_bytes_must_be_an_int_in_range(bad: object) -> None:
    """A string, a float, a bool or an out-of-range number is refused naming the
    field (a ConfigError, not a TypeError deeper down). Kills: the check without
    its ``_int`` (every other test passed)."""
    with pytest.raises(ConfigError, match="max_record_bytes:"):
        ClusterConfig(nodes=("n1", "n2", "n3"), max_record_bytes=bad,  # type: ignore[arg-type]
                      request_timeout=1000.0)


def test_a_key_three_partitions_filled_stays_readable_at_the_default_r() -> None:
    """Three isolated nodes each fill one key to max_siblings; after the heal every
    replica converges to 3 x max_siblings siblings, and a read at R=2 gets them all.
    Until session 13 peers refused a record over 2 x max_siblings, so the read got
    one reply (its own) and failed; only r=1 and a put with its context got out
    (session 12's review; docs/runtime.md, "Merged records")."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, max_siblings=5)
    for i in range(5):  # merged at every replica, within the limits: not counted
        cluster.client("n1", client_id="c").put(b"other", bytes([i]), w=3)
    cluster.partition({"n1"}, {"n2"}, {"n3"})
    for node in ("n1", "n2", "n3"):
        client = cluster.client(node, client_id=f"c{node}")
        for i in range(5):
            client.put(b"k", f"{node}-{i}".encode(), coordinator=node, w=1)
    nodes: list[Any] = [cluster.node(n) for n in ("n1", "n2", "n3")]
    assert [node.stats["merged-over-limit"] for node in nodes] == [0, 0, 0]
    cluster.heal()
    cluster.run_until_quiet()
    assert {len(values(node.record(b"k"))) for node in nodes} == {15}
    # accepted, and counted as Riak warns (warn_siblings): a key to reconcile
    assert all(node.stats["merged-over-limit"] >= 1 for node in nodes)
    assert len(cluster.client("n1").get(b"k", r=2, coordinator="n1").values) == 15


def test_a_key_filled_in_bytes_on_three_sides_stays_readable_at_the_default_r() -> None:
    """The same with bytes: three sides each fill the key to max_record_bytes, then
    each adds ten tombstones (blind deletes, never refused for size); the merged
    record, over 3 x the limit, is read whole at R=2 and reconciled by a put with
    the read's context. Kills: a byte bound without the tombstones' allowance."""
    cluster = _cluster()
    cluster.partition({"n1"}, {"n2"}, {"n3"})
    for node in ("n1", "n2", "n3"):
        assert _fill(cluster, b"k", node) == 4
        _top_up(cluster, b"k", node, w=1)
        deleter = cluster.client(node, client_id=f"deleter-{node}")
        for _ in range(10):
            cluster.wait([deleter.submit_delete(b"k", coordinator=node, w=1)])
    cluster.heal()
    cluster.run_until_quiet()
    assert all(_size(cluster, n, b"k") > 3 * LIMIT for n in ("n1", "n2", "n3"))
    client = cluster.client("n2", client_id="reader")
    read = client.get(b"k", coordinator="n2")
    # the 4 fills of each side (and no top-up since session 29: the second fill is
    # minted under the pair (actor, filler), whose entry's 39 bytes leave 2)
    assert len([v for v in read.values if v is not None]) >= 12
    client.put(b"k", b"merged", context=read.context, coordinator="n2")
    cluster.run_until_quiet()
    assert client.get(b"k", coordinator="n3").values == [b"merged"]


def _peer_node(**changes: Any) -> Node:
    node = Node("n1", make_config(3, n=3, r=2, w=1, **changes), MemoryStorage("always"),
                seed=1)
    node.start(0.0)
    return node


def test_a_peer_record_over_the_merged_byte_bound_is_refused_before_it_is_decoded() -> None:
    """A peer's record may be as large as the merge of every node's puts within the
    limits (3 x (max_record_bytes + the tombstones' metadata) here), not a byte
    more: over it, refused naming the bound, without decoding it (junk bytes of
    the bound's length get the decoder's error instead). Kills: ``>=`` for ``>``,
    the check removed."""
    node = _peer_node(max_value_bytes=VALUE, max_record_bytes=LIMIT)
    largest = merged_record_bytes(node.config)
    assert largest == 3 * (LIMIT + 25 * 1024)
    assert node.receive(1.0, "n2", ReplicaPut(5, b"k", b"R" * (largest + 1))) == []
    assert node.log[-1].endswith(
        f"ReplicaPut: record is {largest + 1} bytes, over the {largest} that merges of "
        "3 nodes' puts within max_record_bytes can make (peer data: record)")
    assert node.receive(1.0, "n2", ReplicaPut(6, b"k", b"R" * largest)) == []
    assert "over the" not in node.log[-1] and node.stats["dropped"] == 2


def _siblings(count: int) -> bytes:
    record = Record.empty(ClockMode.DVV)
    for _ in range(count):  # blind puts: each one a sibling
        record = apply_put(record, VClock(), b"", coordinator="n2", client_id="c1", now=0.0)
    return encode_record(record)


def test_a_node_that_learnt_of_a_joined_node_accepts_its_merges_too() -> None:
    """k counts the nodes this node knows of, not only the configured ones: with a
    fourth node joined, 4 x max_siblings siblings are accepted, one more refused.
    Kills: ``merge_sides`` without ``members``."""
    node = _peer_node(max_siblings=5)
    assert node.receive(1.0, "n2", ReplicaPut(5, b"k", _siblings(16))) == []
    node.gossiper.known_nodes = frozenset({"n1", "n2", "n3", "n4"})
    assert node.receive(1.0, "n2", ReplicaPut(6, b"k", _siblings(20)))
    assert node.receive(1.0, "n2", ReplicaPut(7, b"k", _siblings(21))) == []
    assert node.log[-1].endswith("record holds 21 siblings, more than the 20 that merges "
                                 "of 4 nodes' puts within max_siblings can make "
                                 "(peer data: record)")


def test_a_frame_that_cannot_carry_three_nodes_merged_records_is_refused() -> None:
    """The review's bytes half: with three nodes a 9 MiB frame was accepted (2 x 4 MiB
    fit) and three sides' 12.5 MB record was dropped at every send for good. Now
    refused at load naming the fields; with two nodes (k = 2) the same frame fits."""
    with pytest.raises(ConfigError, match="max_value_bytes, max_siblings") as caught:
        ClusterConfig(nodes=("n1", "n2", "n3"), max_frame_bytes=9 << 20)
    assert "once the records of 3 nodes merge" in str(caught.value)
    assert "max_frame_bytes (9437184)" in str(caught.value)
    ClusterConfig(nodes=("n1", "n2"), n=2, r=1, w=1, max_frame_bytes=9 << 20)


def test_the_derived_frame_carries_what_every_node_merges() -> None:
    """max_frame_bytes not given: 64 MiB, or more when the nodes' merged records need
    more (20 nodes of the default 4 MiB records: about 80 MiB); ``ring_slots`` count
    as nodes (they may join). A frame given is kept as given."""
    three = ClusterConfig(nodes=("n1", "n2", "n3"))
    assert three.max_frame_bytes == DEFAULT_FRAME_BYTES
    names = tuple(f"n{i}" for i in range(1, 21))
    twenty = ClusterConfig(nodes=names)
    assert merge_sides(twenty) == 20
    assert twenty.max_frame_bytes == replicable_frame_bytes(twenty) > DEFAULT_FRAME_BYTES
    slots = ClusterConfig(nodes=names[:3], ring_slots=names, partitioning="evenly-spaced")
    assert slots.max_frame_bytes == twenty.max_frame_bytes
    assert ClusterConfig(nodes=names[:3], max_frame_bytes=(16 << 20) + 1,
                         max_value_bytes=1000).max_frame_bytes == (16 << 20) + 1
    with pytest.raises(ConfigError, match="max_frame_bytes: must be 0"):
        ClusterConfig(nodes=names[:3], max_frame_bytes=1000)


def test_a_one_node_configuration_still_bounds_two_nodes_merged_records() -> None:
    """k is at least 2: a cluster configured with one node grows by joins, and the
    frame (fixed at load) must carry what it and the first node joined merge. Kills
    the mutant ``max(1, ...)`` in merge_sides (the frame then derived from k = 1)."""
    one = ClusterConfig(nodes=("n1",), n=1, r=1, w=1)
    assert merge_sides(one) == 2
    assert replicable_frame_bytes(one) >= 2 * side_record_bytes(one)


def test_every_merge_path_counts_a_record_over_the_put_limits() -> None:
    """A replica's put and anti-entropy's records each merge a peer's record of 8
    siblings (over max_siblings 5, within 3 x 5): accepted, and counted as
    ``merged-over-limit`` each time it changes the stored record; 5 siblings are
    not. Kills: the count in ``write_local`` (anti-entropy) removed."""
    node = _peer_node(max_siblings=5)
    assert node.receive(1.0, "n2", ReplicaPut(5, b"a", _siblings(5)))
    assert node.stats["merged-over-limit"] == 0
    assert node.receive(1.0, "n2", ReplicaPut(6, b"b", _siblings(8)))
    assert node.stats["merged-over-limit"] == 1
    effects = node.receive(1.0, "n2", KeyRecords((b"c",), (_siblings(8),), reply=False))
    assert [e.key for e in effects if isinstance(e, WriteRecord)] == [b"c"]
    assert node.stats["merged-over-limit"] == 2 and node.stats["dropped"] == 0
