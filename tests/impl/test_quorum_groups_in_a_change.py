"""The quorum groups a coordinator gives its requests during a membership change
(docs/impl.md, "Join and leave handover"; the spec's ``Coordination.groups``,
spec/membership.py; riak_core's pending ownership).

Before the handover a put of a moving key must go to, and count W acknowledgements
within each of, the current and the future top N (the pending owner gets every
write); a get reads the current top N alone. After the handover, until the change
settles, a get counts R within each of the previous and the current top N.
Session 6's mutation run found that no test looked at the groups a coordinator
passes on: ``PutCoordinator.start`` with ``groups`` dropped or ``writing=False``
(mutants start__mutmut_99, 110, 122, 124, 125) and ``GetCoordinator.start`` with
``groups`` dropped (start__mutmut_12, 20) passed every test; each fails here.
"""

from __future__ import annotations

from impl import SimulatedCluster
from impl.membership import MemberStatus
from impl.messages import GetRequest, PutRequest
from impl.node import Node
from tests.impl.test_join_strategy3 import KEYS, N, _cluster, _every_node, _status_of


def _top(node: Node, ring: object, key: bytes) -> tuple[str, ...]:
    return tuple(sorted(ring.preference_list(key, N)))  # type: ignore[attr-defined]


def _coordinator(cluster: SimulatedCluster, key: bytes) -> Node:
    """The first node of the key's serving top N (by n1's view): it coordinates itself."""
    first = cluster.node("n1").gossiper.partitioning.preference_list(key, N)[0]
    return cluster.node(first)


def _put_groups(node: Node, now: float, key: bytes) -> tuple[tuple[str, ...], ...]:
    node.client_request(now, PutRequest(990_001, key, b"probe", b""))
    (coordination,) = [c for c in node.puts.coordinations.values() if c.key == key]
    return coordination.groups


def _get_groups(node: Node, now: float, key: bytes) -> tuple[tuple[str, ...], ...]:
    node.client_request(now, GetRequest(990_002, key))
    (coordination,) = [c for c in node.gets.coordinations.values() if c.key == key]
    return coordination.groups


def _joining(strategy: str = "strategy1") -> SimulatedCluster:
    """n6 joining a 5-node cluster, its tokens known to every node, nothing handed over."""
    cluster = _cluster(strategy, 11)
    cluster.join("n6")
    cluster.run_until(lambda: _every_node(cluster, lambda g: _status_of(g, "n6") is not None
                                          and bool(g.view.get("n6").tokens)),  # type: ignore[union-attr]
                      max_time=60)
    assert _status_of(cluster.node("n6").gossiper, "n6") is MemberStatus.JOINING
    return cluster


def test_before_the_handover_a_put_counts_w_in_the_current_and_the_future_top_n() -> None:
    cluster = _joining()
    checked = 0
    for key in KEYS:
        node = _coordinator(cluster, key)
        gossiper = node.gossiper
        current, future = _top(node, gossiper.partitioning, key), _top(node, gossiper.future, key)
        if current == future:
            assert _put_groups(node, cluster.now, key) == ()
            continue
        assert _put_groups(node, cluster.now, key) == (current, future), key
        assert _get_groups(node, cluster.now, key) == ()  # reads: the current top N alone
        checked += 1
    assert checked >= 5


def test_after_the_handover_a_get_counts_r_in_the_previous_and_the_current_top_n() -> None:
    cluster = _joining()
    cluster.run_until(lambda: _every_node(
        cluster, lambda g: _status_of(g, "n6") is MemberStatus.UP and g.previous is not None),
        max_time=900)
    checked = 0
    for key in KEYS:
        node = _coordinator(cluster, key)
        gossiper = node.gossiper
        previous, current = (_top(node, gossiper.previous, key),
                             _top(node, gossiper.partitioning, key))
        if previous == current:
            continue
        assert _get_groups(node, cluster.now, key) == (previous, current), key
        assert _put_groups(node, cluster.now, key) == (previous, current), key
        checked += 1
    assert checked >= 5
