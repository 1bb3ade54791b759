"""``Node.pending_bytes``, the bytes of the puts in flight that the runtime's byte
admission (``max_pending_bytes``, session 23) compares with its limit: the record
of each put the node coordinates until it answers its client (not while it waits
only for a late replica after that), and the value of each put it forwarded and
waits on; since session 24 the largest record each get it coordinates gathered,
until it answers; nothing once the node is quiet."""

from __future__ import annotations

from impl import SimulatedCluster

KEY = b"k"
VALUE = b"v" * 5000


def _cluster() -> tuple[SimulatedCluster, tuple[str, ...]]:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, request_timeout=1.0,
                               anti_entropy=False)
    return cluster, cluster.node("n1").preference_list(KEY)[:3]


def test_a_coordinated_put_counts_its_record_until_its_client_is_answered() -> None:
    cluster, (first, second, third) = _cluster()
    cluster.partition({second, third}, {first})  # no ack: short of W=2 to the deadline
    cluster.client(coordinator=first).submit_put(KEY, VALUE)
    cluster.run_for(0.05)
    node = cluster.node(first)
    [coordination] = node.puts.coordinations.values()
    assert not coordination.replied
    assert node.pending_bytes == len(coordination.record) > len(VALUE)
    cluster.client(coordinator=first).submit_get(KEY)
    cluster.run_for(0.01)
    # since session 24 the get counts too: its own read holds the put's value
    assert node.gets.coordinations and node.pending_bytes == len(coordination.record) + len(VALUE)
    cluster.run_for(5.0)
    assert not node.puts.coordinations and node.pending_bytes == 0


def test_a_put_answered_and_waiting_for_a_late_replica_counts_nothing() -> None:
    """A replica that does not ack (a stopped process, a lost link) keeps the
    coordination until its deadline after the client has its W acks: counted, one
    such replica made a client's sequential 500 KB puts fail 503 from the third on
    (``tests/runtime/test_connections.py::test_stop_ends_while_a_peer_reads_nothing``)."""
    cluster, (first, _, third) = _cluster()
    cluster.partition({third}, {first})
    cluster.client(coordinator=first).submit_put(KEY, VALUE)
    cluster.run_for(0.05)
    node = cluster.node(first)
    [coordination] = node.puts.coordinations.values()
    assert coordination.replied and node.pending_bytes == 0


def test_a_forwarded_put_counts_its_value_while_the_forwarder_waits() -> None:
    cluster, targets = _cluster()
    outsider = next(name for name in cluster.node_names if name not in targets)
    cluster.partition({outsider}, set(targets))  # its Forwards are lost: it waits
    cluster.client(coordinator=outsider).submit_put(KEY, VALUE)
    cluster.run_for(0.05)
    node = cluster.node(outsider)
    assert node.forwarder.forwardings and not node.puts.coordinations
    assert node.pending_bytes == len(VALUE)


def test_a_coordinated_get_counts_its_largest_record_until_its_client_is_answered() -> None:
    """A get of a key of two siblings counts their bytes from its own read on, and
    nothing once answered (session 24: gets of records of 1 MiB siblings were
    admitted without limit, and 112 of 128 failed after the quorum timeout)."""
    cluster, (first, second, _) = _cluster()
    client = cluster.client(coordinator=first)
    client.submit_put(KEY, VALUE)
    client.submit_put(KEY, b"w" * 7000)  # blind: a second sibling
    cluster.run_for(2.0)
    node = cluster.node(first)
    assert node.pending_bytes == 0
    # two copies of R=3 (no fallback answers): the largest counted, not their sum
    cluster.partition(set(cluster.node_names) - {first, second}, {first, second})
    client.submit_get(KEY, r=3)
    cluster.run_for(0.1)
    [coordination] = node.gets.coordinations.values()
    assert second in coordination.replies and not coordination.replied
    assert node.pending_bytes == len(VALUE) + 7000
    cluster.heal()
    cluster.run_for(2.0)
    assert node.pending_bytes == 0
    cluster.partition(set(cluster.node_names) - {first}, {first})  # 1 of R=2: in flight
    client.submit_get(KEY)
    cluster.run_for(0.05)
    [coordination] = node.gets.coordinations.values()
    assert not coordination.replied
    assert node.pending_bytes == coordination.record_bytes == len(VALUE) + 7000
    cluster.heal()
    cluster.run_for(2.0)
    assert node.pending_bytes == 0
    client.submit_get(KEY)
    cluster.run_for(0.05)  # answered at R = 2, maybe waiting for the third
    assert all(c.replied for c in node.gets.coordinations.values())
    assert node.pending_bytes == 0


def test_a_get_counts_the_larger_record_a_replica_sends() -> None:
    """The coordinator's own copy may be smaller than a replica's (it missed a
    put): the count grows to the largest record gathered."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, request_timeout=1.0,
                               anti_entropy=False, hinted_handoff=False, sloppy_quorum=False)
    first, second, third = cluster.node("n1").preference_list(KEY)[:3]
    client = cluster.client(coordinator=second)
    cluster.partition({first}, {second, third})
    client.submit_put(KEY, VALUE)
    cluster.run_for(2.0)
    cluster.heal()
    assert cluster.node(first).record(KEY) is None  # it missed the put
    cluster.partition({third}, {first, second})  # one reply of R=3 missing
    cluster.client(coordinator=first).submit_get(KEY, r=3)
    cluster.run_for(0.1)
    node = cluster.node(first)
    [coordination] = node.gets.coordinations.values()
    assert not coordination.replied and second in coordination.replies
    assert node.pending_bytes == len(VALUE)
