"""The packed frontier (model_check/frontier.py): the same search with and without it."""

from __future__ import annotations

import io
import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from model_check import explorer
from model_check.check import check
from model_check.cli import EXIT_USAGE, EXIT_VIOLATED, main
from model_check.errors import CheckError
from model_check.explorer import Exploration, Progress, explore, stderr_progress
from model_check.frontier import FrontierCodec
from model_check.spec_model import spec_model
from model_check.suite import entry
from spec.state import State
from tests.model_check.test_check import TINY_LWW
from tests.model_check.toys import counter_successors

# Small suite entries: a violation found with two clients (symmetry), a read violated
# under a weak quorum, and convergence violated (the liveness graph and its trace).
ENTRIES = ("lww-two-clients-drop", "strict-weak-quorum", "strict-no-anti-entropy")


def _states(name: str, count: int) -> list[State]:
    """The first ``count`` states of ``name``'s breadth-first search, as objects."""
    model = spec_model(entry(name).config)
    level, out = list(model.initial_states()), []
    while level and len(out) < count:
        out.extend(level)
        level = [s for state in level for _, s in model.successors(state)]
    return out[:count]


def test_a_decoded_spec_state_equals_the_state_hashes_alike_and_keeps_its_config() -> None:
    states = _states("lww-two-clients-drop", 300)
    config = states[0].config
    codec = FrontierCodec(keep=(config,))
    data = codec.encode(states)
    back = codec.decode(data)
    assert back == states
    assert [hash(s) for s in back] == [hash(s) for s in states]
    assert all(s.config is config for s in back)
    assert len(data) < len(pickle.dumps(states, protocol=5)) / 2


def test_without_compression_and_for_plain_values_the_codec_round_trips() -> None:
    values: list[Any] = [(1, "a", frozenset({2})), None, [3.5, b"x"]]
    for compress in (False, True):
        codec = FrontierCodec(compress=compress)
        assert codec.decode(codec.encode(values)) == values


def _figures(run: Exploration[Any, Any]) -> tuple[Any, ...]:
    graph = run.graph
    assert graph is not None
    return (run.distinct_states, run.transitions, run.depth, run.bounded, run.levels,
            graph.src.tolist(), graph.dst.tolist(), graph.open.tolist(),
            graph.marked.tolist(), [run.ordinals_to(i) for i in range(run.distinct_states)])


@pytest.mark.parametrize("compact_above", [0, 7, 20])
@pytest.mark.parametrize("max_states", [None, 300])
def test_a_packed_search_is_the_same_search(compact_above: int, max_states: int | None
                                            ) -> None:
    """Two counters to 30 (levels of up to 31 states), the steps of x recorded as the
    graph: the same states, edges, open states and parent links whether the levels are
    packed from the first state, from the 7th or 20th queued state (a plain prefix,
    then packed batches), or not at all, with and without a state bound (the open
    states of a level cut short: the indices of its unexpanded packed batches)."""
    def run(codec: FrontierCodec | None) -> Exploration[Any, Any]:
        return explore([(0, 0)], counter_successors(30),
                       graph_edges=lambda action: action["counter"] == "x",
                       marker=lambda state: state[0] == 30, max_states=max_states,
                       chunk_size=5, frontier_codec=codec, compact_above=compact_above)

    plain, packed = run(None), run(FrontierCodec())
    assert _figures(packed) == _figures(plain)
    assert packed.largest_level == plain.largest_level > compact_above
    assert packed.packed_bytes > 0 and plain.packed_bytes == 0
    if max_states is None:
        assert plain.levels == list(range(1, 32)) + list(range(30, 0, -1))
    else:
        assert packed.graph is not None
        assert packed.bounded and np.asarray(packed.graph.open).sum() > 5


def test_a_bounded_depth_search_reads_its_last_packed_level() -> None:
    def run(codec: FrontierCodec | None) -> Exploration[Any, Any]:
        return explore([(0, 0)], counter_successors(20), max_depth=6, frontier_codec=codec)

    plain, packed = run(None), run(FrontierCodec())
    assert (packed.distinct_states, packed.transitions, packed.bounded) == (
        plain.distinct_states, plain.transitions, plain.bounded) == (28, 42, True)


def test_a_negative_threshold_is_refused() -> None:
    with pytest.raises(CheckError, match="compact_above"):
        explore([0], lambda s: iter(()), frontier_codec=FrontierCodec(), compact_above=-1)


@pytest.mark.parametrize("name", ENTRIES)
def test_check_finds_the_same_states_verdicts_and_traces_with_the_frontier_packed(
        name: str) -> None:
    chosen = entry(name)
    packed_bytes: list[int] = []
    plain = check(chosen.config, compact_frontier=False)
    packed = check(chosen.config, compact_frontier=True,
                   on_exploration=lambda run: packed_bytes.append(run.packed_bytes))
    assert packed_bytes[0] > 0
    assert (packed.distinct_states, packed.transitions, packed.depth) == (
        plain.distinct_states, plain.transitions, plain.depth)
    assert chosen.figure_mismatches(packed) == []
    assert packed.verdicts == plain.verdicts
    assert [r.trace and r.trace.actions for r in packed.results] == [
        r.trace and r.trace.actions for r in plain.results]


def test_the_cli_packs_on_request_with_the_same_figures(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lww.toml"
    path.write_text(TINY_LWW.to_toml())
    runs = []
    for flag in ("--compact-frontier", "--no-compact-frontier"):
        code = main([str(path), flag, "--json", "--quiet", "--trace-dir", str(tmp_path)])
        assert code == EXIT_VIOLATED
        record = json.loads(capsys.readouterr().out)
        runs.append({k: record[k] for k in ("distinct_states", "transitions", "results")})
    assert runs[0] == runs[1]
    assert main([str(path), "--compact-frontier", "--no-compact-frontier"]) == EXIT_USAGE


def test_by_default_a_level_is_packed_past_the_threshold(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """strict-dvv's largest level (4,917 states) is admitted in a few batches (a chunk of
    2,048 states expanded at a time): those after the first 1,000 queued are packed.
    Session 43: one search, packed, against the suite's pinned figures and verdicts (the
    unpacked search's, test_suite_verdicts.py's: under the default threshold nothing of
    strict-dvv is packed) where it searched twice."""
    chosen = entry("strict-dvv")
    runs: list[Exploration[Any, Any]] = []
    default = explorer.COMPACT_ABOVE
    monkeypatch.setattr(explorer, "COMPACT_ABOVE", 1000)
    packed = check(chosen.config, list(chosen.expected), on_exploration=runs.append)
    assert 2000 < runs[0].largest_level < default
    assert runs[0].packed_bytes > 0
    assert chosen.figure_mismatches(packed) == []
    assert {p: str(v) for p, v in packed.verdicts.items()} == dict(chosen.expected)


def test_each_finished_level_is_reported_with_its_size() -> None:
    samples: list[Progress] = []
    run = explore([(0, 0)], counter_successors(30), progress=samples.append,
                  progress_interval=0.0, chunk_size=4, frontier_codec=FrontierCodec(),
                  compact_above=10)
    done = [s for s in samples if s.level_done]
    assert [(s.depth, s.frontier) for s in done] == list(enumerate(run.levels))[1:]
    assert all(s.frontier_bytes > 0 for s in done if s.frontier > 16)
    out = io.StringIO()
    stderr_progress(out)(done[2])
    assert out.getvalue().startswith("  ... level 3: 4 states; 10 states, ")


@dataclass(frozen=True, slots=True)
class _Cached:
    """A frozen slotted value whose pickling drops its cache (its own __getstate__)."""

    value: int
    cache: list[int] = field(default_factory=list, compare=False)

    def __getstate__(self) -> tuple[int]:
        return (self.value,)

    def __setstate__(self, state: tuple[int]) -> None:
        object.__setattr__(self, "value", state[0])
        object.__setattr__(self, "cache", [])


def test_a_class_with_its_own_pickling_keeps_it() -> None:
    codec = FrontierCodec()
    [back] = codec.decode(codec.encode([_Cached(3, [1, 2])]))
    assert back == _Cached(3) and back.cache == []


@pytest.mark.parametrize("compact_above", [0, 3])
def test_a_state_bound_cuts_a_packed_search_where_it_cuts_the_plain_one(
        compact_above: int) -> None:
    """Packed batches are as long as the chunks that admitted them (fewer than
    ``chunk_size`` states when a chunk found few new ones), so the queue re-chunks across
    them: a search bounded by max_states expands the same chunks packed or not (the same
    transitions and open states; before, max_states=13 counted 20 transitions plain and
    18 packed). Every bound's levels add up to the states admitted."""
    for max_states in range(1, 120, 4):
        def run(codec: FrontierCodec | None, bound: int = max_states) -> Exploration[Any, Any]:
            return explore([(0, 0)], counter_successors(12),
                           graph_edges=lambda action: action["counter"] == "x",
                           marker=lambda state: state[0] == 12, max_states=bound,
                           chunk_size=2, frontier_codec=codec, compact_above=compact_above)

        plain, packed = run(None), run(FrontierCodec())
        assert _figures(packed) == _figures(plain), max_states
        assert sum(packed.levels) == packed.distinct_states == min(max_states, 169)


@dataclass(frozen=True, slots=True)
class _Reduced:
    """A frozen slotted value with its own ``__reduce__`` (it decodes doubled)."""

    value: int

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return _Reduced, (self.value * 2,)


def test_a_class_with_its_own_reduce_keeps_it() -> None:
    codec = FrontierCodec()
    assert codec.decode(codec.encode([_Reduced(3)])) == [_Reduced(6)]
