"""The generic explorer on toy transition systems with known answers."""

from __future__ import annotations

import gc
import math
import os
import subprocess
import sys
from math import comb
from typing import Any

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_check.errors import CheckError
from model_check.explorer import DEADLOCK, ExplorationError, Progress, explore, explore_model
from model_check.fingerprint import SeenSet, stable_fingerprint
from tests.model_check import toys


def test_counter_pair_counts_every_state_once() -> None:
    result = explore([(0, 0)], toys.counter_successors(4))
    assert result.distinct_states == 25
    assert result.transitions == 2 * 4 * 5
    assert result.depth == 8
    assert result.complete and not result.bounded and not result.violations


def test_counter_invariant_violation_is_a_shortest_path() -> None:
    result = explore([(0, 0)], toys.counter_successors(4), {"sum_below_5": lambda s: sum(s) < 5})
    path = result.counterexample("sum_below_5")
    assert path is not None
    assert len(path) == 5
    assert sum(path.states[-1]) == 5
    assert all(sum(s) < 5 for s in path.states[:-1])
    # Every step of the path is a real transition of the system.
    for before, action, after in zip(path.states[:-1], path.actions, path.states[1:], strict=True):
        assert (action, after) in list(toys.counter_successors(4)(before))


def test_search_stops_once_every_invariant_is_violated() -> None:
    result = explore([(0, 0)], toys.counter_successors(50), {"small": lambda s: sum(s) < 3})
    assert result.stopped_early and not result.complete
    assert result.distinct_states < 51 * 51
    full = explore(
        [(0, 0)], toys.counter_successors(50), {"small": lambda s: sum(s) < 3},
        stop_when_violated=False,
    )
    assert full.distinct_states == 51 * 51 and full.complete
    assert len(full.ordinals_to(full.violations["small"])) - 1 == 3


def test_buggy_mutex_counterexample_has_four_steps() -> None:
    result = explore(
        [toys.MUTEX_INITIAL], toys.mutex_successors(correct=False),
        {"mutual_exclusion": toys.mutual_exclusion},
    )
    path = result.counterexample("mutual_exclusion")
    assert path is not None and len(path) == 4
    assert path.states[-1][:2] == ("crit", "crit")


def test_correct_mutex_holds_but_deadlocks_after_two_steps() -> None:
    result = explore(
        [toys.MUTEX_INITIAL], toys.mutex_successors(correct=True),
        {"mutual_exclusion": toys.mutual_exclusion}, deadlock=True, stop_when_violated=False,
    )
    assert "mutual_exclusion" not in result.violations
    path = result.counterexample(DEADLOCK)
    assert path is not None and len(path) == 2
    assert path.states[-1] == ("wait", "wait", True, True)
    # Without deadlock=True a state with no successors is fine.
    assert DEADLOCK not in explore([toys.MUTEX_INITIAL], toys.mutex_successors(True)).violations


@pytest.mark.parametrize("processes", [2, 3, 4, 5])
def test_symmetry_reduction_explores_one_state_per_class(processes: int) -> None:
    initial = [(0,) * processes]
    plain = explore(initial, toys.symmetric_successors())
    reduced = explore(initial, toys.symmetric_successors(), canonicalize=toys.sort_processes)
    assert plain.distinct_states == 3**processes
    assert reduced.distinct_states == comb(processes + 2, 2)
    assert plain.depth == reduced.depth == 2 * processes


def test_symmetry_keeps_verdicts_and_counterexample_lengths() -> None:
    def not_all_two(state: tuple[int, ...]) -> bool:
        return not all(v == 2 for v in state)

    for canon in (None, toys.sort_processes):
        initial: list[tuple[int, ...]] = [(0, 0, 0)]
        result = explore(initial, toys.symmetric_successors(), {"x": not_all_two}, canon)
        path = result.counterexample("x")
        assert path is not None and len(path) == 6 and path.states[-1] == (2, 2, 2)
        # The recorded path is concrete: each step is a real successor (no permuted jumps).
        steps = zip(path.states[:-1], path.actions, path.states[1:], strict=True)
        for before, action, after in steps:
            assert (action, after) in list(toys.symmetric_successors()(before))


def test_a_screen_skips_only_the_invariants_it_covers() -> None:
    """``screen`` (session 39): a sound one gives the same violations at the same first
    states as none; one that passes every state hides the violations of the names it
    covers, and of no other (so the explorer asks those anyway)."""
    checks = {"x_small": lambda s: s[0] < 3, "y_small": lambda s: s[1] < 2,
              "sum_small": lambda s: sum(s) < 5}
    plain = explore([(0, 0)], toys.counter_successors(6), checks, stop_when_violated=False,
                    chunk_size=4)
    asked: list[tuple[int, int]] = []

    def sound(state: tuple[int, int]) -> bool:
        asked.append(state)
        return state[0] < 3 and state[1] < 2

    screened = explore([(0, 0)], toys.counter_successors(6), checks,
                       stop_when_violated=False, chunk_size=4,
                       screen=(frozenset({"x_small", "y_small"}), sound))
    assert screened.violations == plain.violations and len(plain.violations) == 3
    assert asked[:3] == [(0, 0), (1, 0), (0, 1)]  # asked while an invariant is pending
    blind = explore([(0, 0)], toys.counter_successors(6), checks, stop_when_violated=False,
                    screen=(frozenset({"x_small", "y_small"}), lambda s: True))
    assert blind.violations == {"sum_small": plain.violations["sum_small"]}


def test_depth_bound_reports_bounded_only_when_it_cut_something() -> None:
    cut = explore([(0, 0)], toys.counter_successors(3), max_depth=5)
    assert cut.bounded and cut.depth == 5
    assert cut.distinct_states == sum(1 for x in range(4) for y in range(4) if x + y <= 5)
    exact = explore([(0, 0)], toys.counter_successors(3), max_depth=6)
    assert not exact.bounded and exact.distinct_states == 16
    assert explore([(0, 0)], toys.counter_successors(3), max_depth=0).distinct_states == 1


def test_state_bound_admits_exactly_that_many_states() -> None:
    result = explore([(0, 0)], toys.counter_successors(10), max_states=30, chunk_size=4)
    assert result.bounded and result.distinct_states == 30
    assert not explore([(0, 0)], toys.counter_successors(3), max_states=16).bounded


def test_bad_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="max_depth"):
        explore([(0, 0)], toys.counter_successors(1), max_depth=-1)
    with pytest.raises(ValueError, match="max_states"):
        explore([(0, 0)], toys.counter_successors(1), max_states=0)


def test_duplicate_initial_states_are_one_state() -> None:
    result = explore([(0, 0), (0, 0), (1, 0)], toys.counter_successors(1))
    assert result.distinct_states == 4


def test_progress_is_reported() -> None:
    samples: list[Progress] = []
    explore([(0, 0)], toys.counter_successors(30), progress=samples.append,
            progress_interval=0.0, chunk_size=8)
    assert samples and samples[-1].distinct_states <= 31 * 31
    assert all(s.distinct_states >= 1 and s.seconds >= 0 for s in samples)


def test_statistics_line_and_compact_seen_set() -> None:
    result = explore([(0, 0)], toys.counter_successors(200))
    assert result.distinct_states == 201 * 201
    assert result.bytes_per_state <= 16  # 8 fingerprint + 4 parent + 2 ordinal
    line = result.statistics()
    assert "40,401 distinct states" in line and "transitions" in line and "MiB" in line


def test_nondeterministic_successors_are_caught_when_rebuilding() -> None:
    calls = {"n": 0}

    def flaky(state: int) -> Any:
        calls["n"] += 1
        if calls["n"] > 3:
            return iter(())
        return iter([({"kind": "a"}, state + 1), ({"kind": "b"}, state + 2)])

    result = explore([0], flaky, {"small": lambda s: s < 3})
    with pytest.raises(ExplorationError, match="not deterministic"):
        result.path_to(result.violations["small"])


adjacency = st.integers(min_value=1, max_value=25).flatmap(
    lambda n: st.dictionaries(
        st.integers(0, n - 1), st.lists(st.integers(0, n - 1), max_size=4), max_size=n
    )
)


@given(adjacency, st.integers(0, 24), st.integers(1, 5))
def test_explorer_agrees_with_networkx_on_random_graphs(
    graph: dict[int, list[int]], bad: int, chunk: int
) -> None:
    oracle: nx.DiGraph[int] = nx.DiGraph()
    oracle.add_node(0)
    oracle.add_edges_from((u, v) for u, vs in graph.items() for v in vs)
    distances = nx.single_source_shortest_path_length(oracle, 0)
    result = explore([0], toys.graph_successors(graph), {"avoid": lambda s: s != bad},
                     stop_when_violated=False, chunk_size=chunk)
    assert result.distinct_states == len(distances)
    assert result.depth == max(distances.values())
    assert result.transitions == sum(len(graph.get(u, [])) for u in distances)
    path = result.counterexample("avoid")
    if bad in distances:
        assert path is not None and len(path) == distances[bad] and path.states[-1] == bad
    else:
        assert path is None


@given(st.lists(st.integers(-(2**63), 2**63 - 1), unique=True, max_size=200),
       st.lists(st.integers(-(2**63), 2**63 - 1), max_size=50))
def test_seen_set_is_a_set(values: list[int], probes: list[int]) -> None:
    seen = SeenSet(with_index=True)
    half = len(values) // 2
    for batch, offset in ((values[:half], 0), (values[half:], half)):
        seen.add(np.asarray(batch, dtype=np.int64), np.arange(offset, offset + len(batch),
                                                              dtype=np.uint32))
    assert len(seen) == len(values)
    everything = values + probes
    found = seen.contains(np.asarray(everything, dtype=np.int64)).tolist()
    assert found == [v in set(values) for v in everything]
    indices = seen.lookup(np.asarray(everything, dtype=np.int64)).tolist()
    assert indices == [values.index(v) if v in set(values) else -1 for v in everything]


def test_seen_set_answers_a_large_batch_in_the_callers_order() -> None:
    """A batch of at least ``SORT_QUERIES`` fingerprints is searched sorted (session 57):
    its answers come back in the batch's own order, repeats included. Mutants, each
    failing here (run by hand, reverted): ``contains`` returning its answers in sorted
    order (the membership assertion fails), ``lookup`` likewise (the index assertion
    fails)."""
    from model_check.fingerprint import SORT_QUERIES

    rng = np.random.default_rng(57)
    values = rng.integers(-(2**63), 2**63 - 1, size=6000, dtype=np.int64)
    seen = SeenSet(with_index=True)
    for offset in range(0, 6000, 1500):  # four tiers merged as the explorer adds them
        seen.add(values[offset:offset + 1500],
                 np.arange(offset, offset + 1500, dtype=np.uint32))
    probes = np.concatenate([values[rng.integers(0, 6000, 1500)],
                             rng.integers(-(2**63), 2**63 - 1, size=1500, dtype=np.int64)])
    assert probes.size >= SORT_QUERIES
    where = {int(v): i for i, v in enumerate(values.tolist())}
    assert seen.contains(probes).tolist() == [int(v) in where for v in probes.tolist()]
    assert seen.lookup(probes).tolist() == [where.get(int(v), -1) for v in probes.tolist()]


def test_quiet_gc_turns_the_collector_off_and_promotes_a_large_block(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """:func:`model_check.explorer.quiet_gc` (session 57): the collector off in the block
    and as it was after (on, or off; after an exception too); a block that allocated more
    than ``PROMOTE_ABOVE`` tracked objects leaves them in the oldest generation, a smaller
    one leaves them young. Mutants, each failing here (run by hand, reverted): the
    collector not turned back on (the first assertion after the block), the promotion
    left out (the large block's objects still young), the promotion made for every block
    (the small block's objects in the oldest generation); rerun in session 60 on the
    cheaper reads below, each failing the same way.

    Session 60: the large block's objects are checked tracked and in neither young
    generation (a tracked object is in one of the three, the permanent one being
    emptied by the promotion's ``gc.unfreeze``), and the count is reset by a young
    collection: before, the ids of every object of the oldest generation (the whole
    heap of an xdist worker, its kept graphs, once the promotion moved them there)
    and a full collection took 3.0 CPU-s of a loaded CI-profile run (0.1 in a fresh
    process)."""
    from model_check import explorer as explorer_module

    monkeypatch.setattr(explorer_module, "PROMOTE_ABOVE", 2_000)
    was = gc.isenabled()
    try:
        gc.enable()
        with explorer_module.quiet_gc():
            assert not gc.isenabled()
            large = [[] for _ in range(5_000)]
        assert gc.isenabled()
        young = {id(o) for generation in (0, 1) for o in gc.get_objects(generation)}
        assert all(gc.is_tracked(o) and id(o) not in young for o in large)
        gc.collect(0)
        with explorer_module.quiet_gc():
            small = [[] for _ in range(100)]
        young = {id(o) for o in gc.get_objects(generation=0)}
        assert all(id(o) in young for o in small)
        with pytest.raises(ZeroDivisionError), explorer_module.quiet_gc():
            _ = 1 // 0
        assert gc.isenabled()
        gc.disable()
        with explorer_module.quiet_gc():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()


def test_stable_fingerprint_is_the_same_in_every_process() -> None:
    state = (("A", 1), frozenset({"x"}), "put-1")
    code = (
        "from model_check.fingerprint import stable_fingerprint;"
        "print(stable_fingerprint((('A', 1), frozenset({'x'}), 'put-1')))"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        outputs.add(subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                   capture_output=True, text=True).stdout.strip())
    assert outputs == {str(stable_fingerprint(state))}
    assert -(2**63) <= stable_fingerprint(state) < 2**63


def test_stable_fingerprint_gives_the_same_exploration() -> None:
    fast = explore([(0, 0)], toys.counter_successors(20))
    stable = explore([(0, 0)], toys.counter_successors(20), fingerprint=stable_fingerprint)
    assert (fast.distinct_states, fast.transitions, fast.depth) == (
        stable.distinct_states, stable.transitions, stable.depth)
    assert math.isclose(fast.bytes_per_state, stable.bytes_per_state)


def test_edge_at_walks_the_breadth_first_edge_list() -> None:
    """``Exploration.edge_at``: position ``p`` of the transitions listed state by state
    in index order, each state's successors in order, is the ``p``-th of that list
    (built here by a plain breadth-first search); refused for a search cut short or
    out of range (tests/run_cache.py draws the conformance sample with it)."""
    successors = toys.counter_successors(3)
    result = explore([(0, 0)], successors, stop_when_violated=False)
    order: list[tuple[int, int]] = [(0, 0)]
    listed = []
    for state in order:  # the BFS order (the explorer's indices)
        for ordinal, (_, after) in enumerate(successors(state)):
            listed.append((state, ordinal))
            if after not in order:
                order.append(after)
    assert result.transitions == len(listed) == 24
    for position, (state, ordinal) in enumerate(listed):
        source, at = result.edge_at(position)
        assert (result.path_to(source).states[-1], at) == (state, ordinal)
    with pytest.raises(IndexError):
        result.edge_at(len(listed))
    bounded = explore([(0, 0)], successors, max_states=5)
    with pytest.raises(ExplorationError, match="complete"):
        bounded.edge_at(0)


def test_a_step_witness_is_asked_only_of_its_action_classes() -> None:
    """``step_actions`` (session 44): a step witness named there is asked of the
    transitions whose action is of its classes alone, and finds the same first step as
    when asked of every transition; a name that is no step witness is refused."""

    def successors(state: tuple[int, int]) -> Any:
        x, y = state
        if x < 3:
            yield "x", (x + 1, y)  # a str action steps x, an int action steps y
        if y < 3:
            yield 1, (x, y + 1)

    asked: list[type[Any]] = []

    def y_reaches_two(before: tuple[int, int], action: Any, after: tuple[int, int]) -> bool:
        asked.append(type(action))
        return isinstance(action, int) and after[1] == 2

    witnesses = {"y_reaches_two": y_reaches_two}
    everywhere = explore([(0, 0)], successors, step_witnesses=witnesses)
    assert str in asked
    asked.clear()
    filtered = explore([(0, 0)], successors, step_witnesses=witnesses,
                       step_actions={"y_reaches_two": lambda action: isinstance(action, int)})
    assert asked and set(asked) == {int}
    assert filtered.witnessed_steps == everywhere.witnessed_steps
    assert "y_reaches_two" in filtered.witnessed_steps
    with pytest.raises(CheckError, match="names no step witness"):
        explore([(0, 0)], successors, step_witnesses=witnesses, step_actions={"other": bool})


class _Group:
    """A witness group over the grid of ``(x, y)``: x + y == 3, x == 2 and never."""

    def __init__(self) -> None:
        self.names = frozenset({"sum_three", "x_two", "never"})
        self.dropped: list[str] = []
        self.asked = 0

    def __call__(self, state: tuple[int, int]) -> frozenset[str]:
        self.asked += 1
        held = {"sum_three"} if sum(state) == 3 else set()
        return frozenset(held | ({"x_two"} if state[0] == 2 else set()))

    def drop(self, name: str) -> None:
        self.dropped.append(name)


def test_a_witness_group_finds_the_first_states_each_witness_would() -> None:
    """``witness_group`` (session 55): one call per new state gives the same first
    state per witness as asking each witness; each found name is dropped once; a name
    also in ``witnesses`` is refused, and so is a group with Ray's workers."""

    def successors(state: tuple[int, int]) -> Any:
        x, y = state
        if x < 3:
            yield "x", (x + 1, y)
        if y < 3:
            yield "y", (x, y + 1)

    each = {"sum_three": lambda s: sum(s) == 3, "x_two": lambda s: s[0] == 2,
            "never": lambda s: False}
    alone = explore([(0, 0)], successors, witnesses=each, chunk_size=3)
    group = _Group()
    grouped = explore([(0, 0)], successors, witness_group=group, chunk_size=3)
    assert grouped.witnessed == alone.witnessed and set(alone.witnessed) == {"sum_three",
                                                                             "x_two"}
    assert sorted(group.dropped) == ["sum_three", "x_two"]
    assert group.asked == grouped.distinct_states == 16
    with pytest.raises(CheckError, match="both name"):
        explore([(0, 0)], successors, witnesses={"x_two": each["x_two"]},
                witness_group=_Group())
    model = type("Grid", (), {"initial_states": lambda self: [(0, 0)],
                              "successors": lambda self, s: successors(s),
                              "canonicalize": lambda self, s: s})()
    # since session 61 the forked workers take the group (its first states at the same
    # depths; mutant: a worker that never asks the group finds neither name); Ray's not
    depths = {n: len(alone.path_to(i).actions) for n, i in alone.witnessed.items()}
    parallel = explore_model(model, workers=2, witness_group=_Group())
    assert {n: len(parallel.path_to(i).actions) for n, i in parallel.witnessed.items()} \
        == depths
    with pytest.raises(CheckError, match="no witness_group"):
        explore_model(model, ray="local", witness_group=_Group())
