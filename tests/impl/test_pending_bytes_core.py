"""``Node.pending_bytes``, the bytes of the puts in flight that the runtime's byte
admission (``max_pending_bytes``, session 23) compares with its limit: the record
of each put the node coordinates, until the coordination ends (after the client's
answer while a replica is late), and the value of each put it forwarded and waits
on; nothing for gets, nothing once the node is quiet."""

from __future__ import annotations

from impl import SimulatedCluster

KEY = b"k"
VALUE = b"v" * 5000


def _cluster() -> tuple[SimulatedCluster, tuple[str, ...]]:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, request_timeout=1.0,
                               anti_entropy=False)
    return cluster, cluster.node("n1").preference_list(KEY)[:3]


def test_a_coordinated_put_counts_its_record_until_the_coordination_ends() -> None:
    cluster, (first, _, third) = _cluster()
    cluster.partition({third}, {first})  # the third replica never acks: held to the end
    cluster.client(coordinator=first).submit_put(KEY, VALUE)
    cluster.run_for(0.05)
    node = cluster.node(first)
    [coordination] = node.puts.coordinations.values()
    assert node.pending_bytes == len(coordination.record) > len(VALUE)
    cluster.client(coordinator=first).submit_get(KEY)
    cluster.run_for(0.01)
    assert node.gets.coordinations and node.pending_bytes == len(coordination.record)
    cluster.run_for(5.0)
    assert not node.puts.coordinations and node.pending_bytes == 0


def test_a_forwarded_put_counts_its_value_while_the_forwarder_waits() -> None:
    cluster, targets = _cluster()
    outsider = next(name for name in cluster.node_names if name not in targets)
    cluster.partition({outsider}, set(targets))  # its Forwards are lost: it waits
    cluster.client(coordinator=outsider).submit_put(KEY, VALUE)
    cluster.run_for(0.05)
    node = cluster.node(outsider)
    assert node.forwarder.forwardings and not node.puts.coordinations
    assert node.pending_bytes == len(VALUE)
