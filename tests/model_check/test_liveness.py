"""AG EF over fault-free edges: the array-backed graph search, on toys and against networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from model_check.explorer import Exploration, StateGraph, explore
from model_check.liveness import can_reach, check_eventually_reachable
from tests.model_check import toys


def _to_networkx(graph: StateGraph) -> nx.DiGraph[int]:
    """The explored graph as a ``networkx.DiGraph``, to cross-check the array search."""
    out: nx.DiGraph[int] = nx.DiGraph()
    out.add_nodes_from(range(graph.num_states))
    out.add_edges_from(zip(graph.src.tolist(), graph.dst.tolist(), strict=True))
    return out


def _replicas(
    repair: bool, max_depth: int | None = None
) -> Exploration[toys.Replicas, toys.Action]:
    return explore(
        [toys.Replicas()], toys.replica_successors(repair),
        graph_edges=lambda a: not toys.replica_is_fault(a),
        marker=toys.replicas_converged, max_depth=max_depth,
    )


def test_replicas_with_link_repair_always_converge() -> None:
    result = _replicas(repair=True)
    assert result.graph is not None
    verdict = check_eventually_reachable(result.graph)
    assert verdict.holds and verdict.stuck_states == 0


def test_replicas_without_repair_get_stuck_after_two_steps() -> None:
    result = _replicas(repair=False)
    assert result.graph is not None
    verdict = check_eventually_reachable(result.graph)
    assert not verdict.holds and verdict.first_stuck is not None
    path = result.path_to(verdict.first_stuck)
    assert len(path) == 2
    assert [a["kind"] for a in path.actions] in (["write", "cut"], ["cut", "write"])
    last = path.states[-1]
    assert not last.link_up and last.x != last.y
    # The stuck region has a fault-free cycle (retry) that never converges: a livelock.
    graph = _to_networkx(result.graph)
    assert isinstance(graph, nx.DiGraph)
    assert any(len(c) > 1 for c in nx.strongly_connected_components(graph))


def test_open_states_of_a_bounded_search_are_not_reported_stuck() -> None:
    # Depth 1 does not reach any stuck state; states left unexpanded count as hopeful.
    result = _replicas(repair=False, max_depth=1)
    assert result.bounded and result.graph is not None
    assert check_eventually_reachable(result.graph).holds
    # A bounded search whose stuck region was fully expanded reports it for certain:
    # 0 -> 1 (1 loops on itself, never converged), 0 -> 2 -> 3 -> ... -> 10 (converged).
    chain = {0: [2, 1], 1: [1], **{k: [k + 1] for k in range(2, 10)}}
    deep = explore([0], toys.graph_successors(chain), graph_edges=lambda a: True,
                   marker=lambda n: n == 10, max_depth=3)
    assert deep.bounded and deep.graph is not None
    verdict = check_eventually_reachable(deep.graph)
    assert verdict.stuck_states == 1 and verdict.first_stuck is not None
    assert deep.path_to(verdict.first_stuck).states == (0, 1)


def test_fault_edges_do_not_count_towards_recovery() -> None:
    # Counting every edge (faults too) hides nothing here, but ignoring the filter must
    # still give a graph on which repair-less replicas are stuck: cut is the only way down.
    result = explore([toys.Replicas()], toys.replica_successors(repair=False),
                     graph_edges=lambda a: True, marker=toys.replicas_converged)
    assert result.graph is not None
    assert not check_eventually_reachable(result.graph).holds


edges = st.integers(min_value=1, max_value=30).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60),
        st.lists(st.booleans(), min_size=n, max_size=n),
    )
)


@given(edges)
def test_backward_reachability_agrees_with_networkx(
    case: tuple[int, list[tuple[int, int]], list[bool]],
) -> None:
    n, edge_list, marks = case
    src = np.asarray([u for u, _ in edge_list], dtype=np.uint32)
    dst = np.asarray([v for _, v in edge_list], dtype=np.uint32)
    reached = can_reach(n, src, dst, np.asarray(marks, dtype=np.bool_))
    graph: nx.DiGraph[int] = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edge_list)
    expected = set()
    for node in range(n):
        if marks[node]:
            expected |= {node} | nx.ancestors(graph, node)
    assert set(np.flatnonzero(reached).tolist()) == expected
