"""One verdict search per suite entry per test run, shared by the xdist workers.

tests/model_check/test_suite_verdicts.py searches every suite entry
(``check(entry.config, properties=list(entry.expected), symmetry=True)``, as ``make
check``), and tests/refinement/test_conformance.py explored the whole reachable
graph of each sampled entry again (``reachable_graph``) for a seeded sample of
:data:`SAMPLE` edges. For an entry of one client the two explore the same graph
(symmetry is the identity for one client, spec/symmetry.py; the explorer numbers
the states in the order ``reachable_graph`` finds them and expands each one's
successors in the same order: tests/refinement/test_conformance.py checks it), so
the verdict search also records that sample: each sampled edge's position in the
breadth-first edge list, the successor ordinals from the initial state to its
source (``Exploration.ordinals_to``) and its own ordinal (``Exploration.edge_at``).
:func:`sampled_graph` rebuilds the sampled edges and their sources' paths from them
(40 paths of a few dozen steps, where the whole graph is tens of thousands of
states). Docs: docs/model-checking.md, "Where CI's test CPU goes (session 15)".

Session 16: the search of an entry of one client also records, for each of the
kinds ``ClientDelete`` and ``Reap``, the breadth-first list of its edges (each
expanded state's successors seen through :class:`_KindRecorder`, a ``SpecModel``
whose ``successors`` notes the ordinals of those kinds) and keeps the seeded
sample of :data:`DELETE_SAMPLE` of each that tests/refinement/test_conformance.py's
``_delete_and_reap_edges`` draws from ``reachable_graph``'s edges;
:func:`sampled_deletes` rebuilds them (docs/model-checking.md, "Where CI's test
CPU goes (session 16)").

Session 43: an entry of two clients or more is sampled from its search without
symmetry (``search(name, symmetry=False)``): that search explores ``reachable_graph``'s
graph in its order as the one-client search does (the reduction off), and
tests/model_check/test_suite_verdicts.py's ``test_symmetry_does_not_change_verdicts``
reads the same search for its verdicts without symmetry; tests/refinement/
test_conformance.py's nine sampled entries of two clients no longer explore their
graph with ``reachable_graph`` (docs/model-checking.md, "Where CI's test time goes
(session 43): the two-client samples shared").

The search runs once per test run (:func:`once_per_run`, which tests/proof_cache.py
uses too): its result is pickled in a directory the xdist workers share
(:func:`run_cache_dir`, the parent of a worker's base temporary directory), under an
``fcntl`` lock per entry, so the first test that needs it searches and a test in the
other worker waits for it and reads it.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, overload

import pytest

from model_check.check import CheckResult, check
from model_check.explorer import Exploration
from model_check.refinement_conformance import Edge
from model_check.spec_memo import MemoSuccessors, memo_available
from model_check.spec_model import SpecModel
from model_check.suite import DEFAULT_SUITE
from spec import model as spec_model
from spec.actions import Action, ClientDelete, Reap
from spec.config import Config
from spec.state import State

SAMPLE = 40
"""The edges sampled (tests/refinement/test_conformance.py's ``SAMPLE_IN_CI``)."""
SEED = 12
"""Their seed (``conformance(..., seed=12)``)."""

#: each sampled edge: its position in the breadth-first edge list, the successor
#: ordinals from the initial state to its source, its ordinal among the source's
#: successors
SampledEdge = tuple[int, tuple[int, ...], int]
DELETE_SAMPLE = 30
"""The edges of each kind, ClientDelete and Reap, sampled (half of
tests/refinement/test_conformance.py's ``DELETE_EDGES_IN_CI``)."""
#: the kinds whose edges are sampled apart (test_conformance's ``_delete_and_reap_edges``)
DELETE_KINDS = (ClientDelete, Reap)
_KIND_NUMBER: dict[type, int] = {kind: number for number, kind in enumerate(DELETE_KINDS)}
T = TypeVar("T")
#: the entries of two clients or more whose CI sample tests/refinement/test_conformance.py
#: takes from their search without symmetry (mapped, not checked whole, at most its
#: ``WALKS_ABOVE`` states; that file asserts the list): CI pays that search anyway, so
#: tests/model_check/test_suite_verdicts.py compares symmetry on/off on them in CI too
SAMPLED_UNREDUCED = frozenset({
    "lww-two-clients", "lww-two-clients-drop", "server-vclock-two-clients-drop",
    "client-vclock-two-clients-drop", "dvv-two-keys-drop", "dvv-two-clients-drop",
    "client-vclock-truncated", "client-vclock-untruncated", "delete-concurrent-put",
    "write-failure-same-coordinator",  # session 51
    "dvv-chain-two-clients"})  # session 60 (s60-chain)


@dataclass(frozen=True, slots=True)
class SuiteSearch:
    """A suite entry's verdict search and, when it explored the whole reachable
    graph (one client, or symmetry off), the conformance sample of that graph (else
    None) and the sample of its edges of each of :data:`DELETE_KINDS` (None without
    deletes)."""

    result: CheckResult
    sample: tuple[SampledEdge, ...] | None
    deletes: tuple[tuple[SampledEdge, ...], ...] | None = None


@dataclass(frozen=True)
class _KindRecorder(SpecModel):
    """The spec's model, its ``successors`` noting, call by call (the explorer
    expands each state once, in index order), the number of successors and the
    ordinals of the :data:`DELETE_KINDS` edges; ``recording`` cleared once the
    verdicts' exploration is done (later calls rebuild traces)."""

    calls: list[int] = field(default_factory=list)
    kinds: tuple[list[tuple[int, int]], ...] = field(
        default_factory=lambda: tuple([] for _ in DELETE_KINDS))
    recording: list[bool] = field(default_factory=lambda: [True])

    def successors(self, state: State) -> Iterator[tuple[Action, State]]:
        steps = list(SpecModel.successors(self, state))
        if self.recording[0]:
            index = len(self.calls)
            self.calls.append(len(steps))
            for ordinal, (action, _) in enumerate(steps):
                kind = _KIND_NUMBER.get(type(action))
                if kind is not None:
                    self.kinds[kind].append((index, ordinal))
        return iter(steps)


def run_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory of this test run shared by its xdist workers (under xdist a
    worker's base temporary directory is ``.../pytest-N/popen-gwK``: its parent),
    else the base temporary directory's ``run-cache``."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    directory = root / "run-cache"
    directory.mkdir(exist_ok=True)
    return directory


def _sample_of(exploration: Exploration[State, Action]) -> tuple[SampledEdge, ...]:
    """:data:`SAMPLE` edges of a complete search, as ``random.Random(SEED).sample``
    picks them from the edge list (it draws positions from the list's length only),
    every edge when there are no more."""
    count = exploration.transitions
    positions = (range(count) if count <= SAMPLE
                 else random.Random(SEED).sample(range(count), SAMPLE))
    sample = []
    for position in positions:
        source, ordinal = exploration.edge_at(position)
        sample.append((position, tuple(exploration.ordinals_to(source)), ordinal))
    return tuple(sample)


def search(name: str, symmetry: bool = True) -> SuiteSearch:
    """The suite entry ``name``'s verdict search (every property of its expectations,
    symmetry on as ``make check``, or off) and its sample, computed here (no cache).
    The sample is recorded when the search explores ``reachable_graph``'s graph: one
    client (the reduction is the identity) or ``symmetry`` off. StopIteration for a
    name not in the suite."""
    entry = next(e for e in DEFAULT_SUITE if e.name == name)
    sample: list[tuple[SampledEdge, ...]] = []
    deletes: list[tuple[tuple[SampledEdge, ...], ...]] = []
    whole = entry.config.clients == 1 or not symmetry
    # an entry with deletes: its delete and reap sample recorded as it is searched
    model = _KindRecorder(entry.config) if whole and entry.config.deletes_per_client else None

    def record(exploration: Exploration[State, Action]) -> None:
        if whole and exploration.complete:
            sample.append(_sample_of(exploration))
        if model is not None:
            model.recording[0] = False
            if exploration.complete:
                deletes.append(_deletes_of(exploration, model))

    result = check(entry.config, properties=list(entry.expected), symmetry=symmetry,
                   model=model, on_exploration=record)
    return SuiteSearch(result, sample[0] if sample else None,
                       deletes[0] if deletes else None)


def _deletes_of(exploration: Exploration[State, Action], model: _KindRecorder
                ) -> tuple[tuple[SampledEdge, ...], ...]:
    """For each of :data:`DELETE_KINDS`: :data:`DELETE_SAMPLE` of its edges as
    ``random.Random(SEED).sample`` picks them from that kind's edges in breadth-first
    order (every one when there are no more), each as (position in that list, the
    ordinals to its source, its ordinal). AssertionError when the recorder's calls
    are not the exploration's expanded states (one call per state, in index order,
    the same numbers of successors)."""
    counts = exploration._counts  # the explorer's own record, read only
    assert len(model.calls) == exploration.distinct_states == len(counts)
    assert model.calls == counts.tolist()
    out = []
    for found in model.kinds:
        positions = (range(len(found)) if len(found) <= DELETE_SAMPLE
                     else random.Random(SEED).sample(range(len(found)), DELETE_SAMPLE))
        out.append(tuple((position, tuple(exploration.ordinals_to(found[position][0])),
                          found[position][1]) for position in positions))
    return tuple(out)


_READ: dict[tuple[str, bool], SuiteSearch] = {}


def suite_search(directory: Path, name: str, symmetry: bool = True) -> SuiteSearch:
    """:func:`search` once per test run (:func:`once_per_run` in ``directory``): read
    from ``directory`` if a worker has searched it, else searched here (the entry's
    lock held, so the other worker waits) and written there; kept in this process
    too. The search without symmetry is kept apart (``-unreduced``)."""
    key = (name, symmetry)
    if key not in _READ:
        stem = f"suite-search-{name}" + ("" if symmetry else "-unreduced")
        _READ[key] = once_per_run(directory, stem, lambda: search(name, symmetry))
    return _READ[key]


def once_per_run(directory: Path, stem: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per test run for all the xdist workers: read from
    ``directory/stem.pickle`` if a worker has computed it, else computed here (under
    ``stem``'s ``fcntl`` lock, so that the other worker waits for it) and written
    there (atomically: a ``.partial`` file renamed). :func:`suite_search`'s and
    tests/proof_cache.py's ``proof_run``'s."""
    path = directory / f"{stem}.pickle"
    with open(directory / f"{stem}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if path.exists():
                found: T = pickle.loads(path.read_bytes())
                return found
            value = compute()
            partial = path.with_suffix(".partial")
            partial.write_bytes(pickle.dumps(value))
            os.replace(partial, path)
            return value
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class _Parents(dict[State, tuple[State, Action] | None]):
    """The parent links of the sampled edges' paths, with the whole graph's number
    of states as its length (``conformance``'s report counts the graph's states)."""

    states = 0

    def __len__(self) -> int:
        return self.states


class _SampledEdges(Sequence[Edge]):
    """The whole edge list's length, the sampled edges at their positions (any
    other position: LookupError, so a different sample cannot pass unseen)."""

    def __init__(self, count: int, edges: dict[int, Edge]) -> None:
        self._count, self._edges = count, edges

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Edge: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Edge]: ...

    def __getitem__(self, index: int | slice) -> Edge | Sequence[Edge]:
        if isinstance(index, slice):
            raise LookupError("a sampled edge list is read by position only")
        return self._edges[index]

    def __iter__(self) -> Iterator[Edge]:
        raise LookupError("a sampled edge list holds the sampled edges only")


Step = Callable[[State], Iterable[tuple[Action, State]]]


def _successors() -> Step:
    """``reachable_graph``'s successors: one memo for all the paths of a sample
    (session 16: a memo per path cost about 1.5 CPU-s an entry, filling it again)."""
    return MemoSuccessors() if memo_available() else spec_model.successors


def _rebuild(config: Config, step: Step, parent: dict[State, tuple[State, Action] | None],
             ordinals: tuple[int, ...], ordinal: int) -> Edge:
    """The edge of successor ``ordinal`` at the end of the path of ``ordinals``
    (``step``: ``reachable_graph``'s successors), its path's links added to ``parent``."""
    state = spec_model.initial_state(config)
    assert ordinals[0] == 0  # one initial state
    parent.setdefault(state, None)
    for number in ordinals[1:]:
        action, after = list(step(state))[number]
        parent.setdefault(after, (state, action))
        state = after
    action, after = list(step(state))[ordinal]
    return state, action, after


def sampled_deletes(search: SuiteSearch
                    ) -> tuple[dict[State, tuple[State, Action] | None], list[Edge]]:
    """The parent links of the sampled delete and reap edges' sources' shortest
    paths, and those edges: ``_delete_and_reap_edges([], edges)`` of
    ``reachable_graph``'s edges (tests/refinement/test_conformance.py), rebuilt
    from ``search``. ValueError when the search has none (no deletes, or a reduced
    search of more than one client)."""
    if search.deletes is None:
        raise ValueError(f"{search.result.config.name}: no delete sample (no deletes, "
                         "or a reduced search of more than one client)")
    parent: dict[State, tuple[State, Action] | None] = {}
    step = _successors()
    chosen = [_rebuild(search.result.config, step, parent, ordinals, ordinal)
              for kind in search.deletes for _, ordinals, ordinal in kind]
    return parent, chosen


def sampled_graph(search: SuiteSearch
                  ) -> tuple[dict[State, tuple[State, Action] | None], Sequence[Edge]]:
    """What ``reachable_graph`` gives a seeded sample of :data:`SAMPLE` edges
    (``random.Random(SEED).sample(edges, SAMPLE)``) and the sample's sources'
    shortest paths (``path_to(parent, source)``), rebuilt from ``search``'s sample
    with ``reachable_graph``'s successors: the parent links of those paths only, and
    an edge list that holds the sampled edges at their positions. ValueError when
    the search has no sample (a reduced search of more than one client)."""
    if search.sample is None:
        raise ValueError(f"{search.result.config.name}: no sample (a reduced search "
                         "of more than one client)")
    parent = _Parents()
    parent.states = search.result.distinct_states
    step = _successors()
    edges = {position: _rebuild(search.result.config, step, parent, ordinals, ordinal)
             for position, ordinals, ordinal in search.sample}
    return parent, _SampledEdges(search.result.transitions, edges)
