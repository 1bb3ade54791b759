"""A generic explicit-state explorer: breadth-first, fingerprinted, with shortest traces.

Theory of operation
-------------------
:func:`explore` knows nothing of Dynamo. It takes a transition system as
*initial states* and a *successors* function that yields ``(action, state)``
pairs in a deterministic order, and searches it breadth-first, one depth level
at a time.

* The seen-set holds 64-bit fingerprints of canonical states, not the states
  (:class:`~model_check.fingerprint.SeenSet`, a sorted numpy array). A level is
  expanded in chunks of the frontier; each chunk's successor fingerprints are
  deduplicated in Python (a set local to the chunk) and tested against the
  seen-set in one vectorised call.
* Symmetry reduction: when a ``canonicalize`` function is given, states are
  fingerprinted by their canonical representative, so every member of a class
  of interchangeable states is explored once. The *concrete* state that first
  reached a class is the one kept in the frontier and expanded, so every
  recorded path is a real run of the system.
* Parent links are two compact arrays, ``parent[i]`` (uint32) and
  ``ordinal[i]`` (uint16: which successor of the parent, or which initial
  state). A counterexample is rebuilt by walking the parents back to the root
  and re-running ``successors`` forward, taking the recorded ordinal at each
  step. Breadth-first order makes it a shortest one.
* Invariants (name -> predicate) are checked on every new state; a violation
  records the first (so shallowest) state index. The search stops once every
  invariant is violated unless a state graph is being recorded.
* Witnesses (sometimes-properties) are the other way round: ``witnesses``
  (name -> state predicate) are checked on every new state until one satisfies
  them, ``step_witnesses`` (name -> predicate on ``(state, action, successor)``)
  on every transition until one satisfies them; the first (so shallowest) hit is
  recorded. They never stop or extend the search, so they do not change what is
  explored; a witness not found by a search that was cut short is unknown. A
  ``witness_group`` answers for several state witnesses in one call per new state
  (the names that hold there), e.g. cached per a part of the state they all read.
* Bounds: ``max_depth`` (states deeper are not added) and ``max_states``
  (distinct states). A bound that actually cut something off marks the result
  ``bounded``: nothing can then be said to hold.
* The state graph, when ``graph_edges`` is given, keeps the edges whose action
  it accepts (e.g. fault-free steps) as two uint32 arrays, and ``marker`` marks
  states (e.g. converged ones) in a bool array; :mod:`model_check.liveness`
  works on it.
* Progress goes to a callback every ``progress_interval`` seconds; the final
  figures are in the returned :class:`Exploration`.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import resource
import sys
import time
from array import array
from collections.abc import (
    Callable,
    Collection,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, ParamSpec, Protocol, TextIO, TypeVar

import numpy as np
import numpy.typing as npt

from model_check.errors import CheckError, ExplorationError
from model_check.fingerprint import SeenSet, as_fingerprints, fast_fingerprint
from model_check.frontier import FrontierCodec

if TYPE_CHECKING:
    from model_check.model import TransitionSystem
    from model_check.parallel import Transport

__all__ = [
    "COMPACT_ABOVE",
    "DEADLOCK",
    "Exploration",
    "ExplorationError",
    "Path",
    "Progress",
    "Reducer",
    "Screen",
    "StateGraph",
    "WitnessGroup",
    "explore",
    "explore_model",
    "format_statistics",
    "peak_memory_bytes",
    "quiet_gc",
    "stderr_progress",
    "tuned_gc",
]

S = TypeVar("S", bound=Hashable)
A = TypeVar("A")
P = ParamSpec("P")
R = TypeVar("R")

GC_THRESHOLD = (100_000, 20, 100)
"""The cyclic garbage collector's thresholds during a search (Python's default is
(700, 10, 10)). A search allocates millions of acyclic objects (states, tuples) and keeps
many alive in its frontier, so the default young-generation threshold runs a
collection every 700 allocations, each tracing survivors that are never garbage:
raising it made check() 1.10-1.16x faster on strict-dvv and sloppy-crash (medians of
3), the same as turning the collector off, while still collecting any cycles a
predicate makes."""


@contextlib.contextmanager
def tuned_gc() -> Iterator[None]:
    """Run the block with :data:`GC_THRESHOLD`, then restore the thresholds."""
    old = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*old)


PROMOTE_ABOVE = 1_000_000
"""Objects allocated (net, tracked by the collector) in a :func:`quiet_gc` block above
which they are moved to the oldest generation at its end, untraced."""


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off; at its end, if more than
    :data:`PROMOTE_ABOVE` tracked objects were allocated, move every tracked object to
    the oldest generation without tracing it (``gc.freeze()`` then ``gc.unfreeze()``: an
    earlier ``gc.freeze()`` of the process is undone with it), then turn the collector
    back on if it was. For a search that makes no cyclic garbage: the packed-state
    kernel's (:func:`model_check.check.check`; tests/model_check/test_kernel.py checks
    that a kernel search leaves none). Session 57: on the first 10^6 states of
    model_check/configs/sloppy-two-keys-drop-partition.toml the collector took 11.4 of
    62.7 CPU-s under :data:`GC_THRESHOLD` (each long-lived object, the kernel's interned
    parts, traced in the young generations, then in every full collection) and found
    nothing; with the collector off during the search alone, 5.5 CPU-s went to the first
    collections after it (every object of the search still young). Cyclic garbage made
    in the block is collected by the next full collection, as any in the oldest
    generation."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc.get_count()[0] > PROMOTE_ABOVE:
            gc.freeze()
            gc.unfreeze()
        if was:
            gc.enable()


def _with_tuned_gc(function: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with tuned_gc():
            return function(*args, **kwargs)
    return run

COMPACT_ABOVE = 1_000_000
"""Queued states of one level above which :func:`explore_model` packs the rest of the
level by default (:mod:`model_check.frontier`). Below it the states stay objects
(about 1.3 KB a spec state, and no cost); above it each costs about 40 B and about
15 us to pack and unpack against about 70 us to expand (spec/default.toml)."""

NO_PARENT = 0xFFFFFFFF
MAX_ORDINAL = 0xFFFF
MAX_STATES = NO_PARENT - 1
DEADLOCK = "deadlock"
"""The name under which a state with no successors is reported (``deadlock=True``)."""


Screen = tuple[frozenset[str], Callable[[S], bool]]
"""A sound fast path for some invariants (:func:`explore`'s ``screen``): their names,
and a predicate True only in states where each of them holds."""

S_contra = TypeVar("S_contra", contravariant=True)
A_contra = TypeVar("A_contra", contravariant=True)


class Reducer(Protocol[S_contra, A_contra]):
    """A partial-order reduction (:mod:`model_check.por`): which states it may reduce
    (``applies``: cheap, asked first) and, given a state's successors in order, the
    ordinals of the steps of a persistent set there, its key step first (``ample``; an
    int: that one step), or None."""

    def applies(self, state: S_contra) -> bool:
        """Whether ``state`` may have a reduced set (False: explore all, unasked)."""
        ...

    def ample(self, state: S_contra,
              steps: Sequence[tuple[A_contra, S_contra]]) -> int | Sequence[int] | None:
        """The ordinals in ``steps`` to explore (key step first), or None for all."""
        ...


class WitnessGroup(Protocol[S_contra]):
    """Several state witnesses asked at once (:func:`explore`'s ``witness_group``; issue
    13, session 55): ``names``, the witnesses it answers for; called with a state, the
    names among them that hold there (any collection; names already found are
    ignored); ``drop(name)`` says a witness was found, so it need not be asked again."""

    names: frozenset[str]

    def __call__(self, state: S_contra, /) -> Collection[str]:
        """The witnesses of :attr:`names` (not yet dropped) that hold in ``state``."""
        ...

    def drop(self, name: str, /) -> None:
        """Stop asking witness ``name`` (found)."""
        ...


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress sample handed to the progress callback."""

    distinct_states: int
    transitions: int
    frontier: int
    depth: int
    seconds: float
    frontier_bytes: int = 0
    """Bytes of the queued states kept packed (:mod:`model_check.frontier`; 0: none)."""
    level_done: bool = False
    """A sample taken as a level ends (once the search has run ``progress_interval``):
    ``frontier`` is then the whole next level, ``depth`` its depth."""

    @property
    def states_per_second(self) -> float:
        return self.distinct_states / self.seconds if self.seconds > 0 else 0.0


def stderr_progress(stream: TextIO | None = None) -> Callable[[Progress], None]:
    """A progress callback that writes one line to ``stream`` (default stderr)."""

    def report(sample: Progress) -> None:
        out = stream if stream is not None else sys.stderr
        packed = (f" ({sample.frontier_bytes / 2**20:,.0f} MiB packed)"
                  if sample.frontier_bytes else "")
        if sample.level_done:
            print(f"  ... level {sample.depth}: {sample.frontier:,} states{packed}; "
                  f"{sample.distinct_states:,} states, {sample.transitions:,} transitions "
                  f"so far, {sample.seconds:.1f} s", file=out, flush=True)
            return
        print(
            f"  ... {sample.distinct_states:,} states ({sample.states_per_second:,.0f}/s), "
            f"{sample.transitions:,} transitions, frontier {sample.frontier:,}{packed}, "
            f"depth {sample.depth}, {sample.seconds:.1f} s",
            file=out,
            flush=True,
        )

    return report


def peak_memory_bytes() -> int:
    """This process's peak resident set size so far, in bytes (Linux: ru_maxrss in KiB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) * (1 if sys.platform == "darwin" else 1024)


@dataclass(frozen=True, slots=True)
class Path(Generic[S, A]):
    """A run of the system: ``states[0]`` is initial, ``actions[i]`` leads to ``states[i+1]``."""

    states: tuple[S, ...]
    actions: tuple[A, ...]

    def __len__(self) -> int:
        """The number of steps (actions)."""
        return len(self.actions)


@dataclass(slots=True)
class StateGraph:
    """The explored state graph, array-backed.

    ``src[k] -> dst[k]`` are the recorded edges (those ``graph_edges`` accepted)
    between state indices; ``marked[i]`` is ``marker(state i)``; ``open[i]`` is
    true for a state whose recorded successors are incomplete because a bound
    stopped the search (not expanded, or a successor was not admitted).
    """

    num_states: int
    src: npt.NDArray[np.uint32]
    dst: npt.NDArray[np.uint32]
    marked: npt.NDArray[np.bool_]
    open: npt.NDArray[np.bool_]

    @property
    def nbytes(self) -> int:
        return int(self.src.nbytes + self.dst.nbytes + self.marked.nbytes + self.open.nbytes)


@dataclass(slots=True)
class Exploration(Generic[S, A]):
    """What :func:`explore` found: statistics, violations and the parent links."""

    distinct_states: int
    transitions: int
    depth: int
    seconds: float
    peak_memory: int
    seen_bytes: int
    bounded: bool
    """A bound (max_depth / max_states) cut off part of the state space."""
    stopped_early: bool
    """The search stopped because every invariant was already violated."""
    violations: dict[str, int]
    """Invariant name (or :data:`DEADLOCK`) -> index of the first state violating it."""
    graph: StateGraph | None
    witnessed: dict[str, int]
    """State witness name -> index of the first state satisfying it."""
    witnessed_steps: dict[str, tuple[int, int]]
    """Step witness name -> (index of the state, ordinal of its successor) of the first
    transition satisfying it."""
    reduced_states: int
    """States expanded through one step of a persistent set (``reduce``), not all."""
    _initial: list[S] = field(repr=False)
    _successors: Callable[[S], Iterable[tuple[A, S]]] = field(repr=False)
    _parent: array[int] = field(repr=False)
    _ordinal: array[int] = field(repr=False)
    _counts: array[int] = field(default_factory=lambda: array("I"), repr=False)
    """The number of successors of each expanded state, in index order (the
    one-process search without ``reduce``; empty otherwise)."""
    levels: list[int] = field(default_factory=list)
    """The distinct states of each breadth-first level, depth 0 first (the one-process
    search, and since session 61 the workers' (:mod:`model_check.parallel`); empty
    otherwise; a level cut short by a bound counts what it admitted)."""
    packed_bytes: int = 0
    """The bytes of the largest level's packed states (:mod:`model_check.frontier`; 0:
    none packed)."""

    @property
    def largest_level(self) -> int:
        """The most states of one level (0 when :attr:`levels` is empty)."""
        return max(self.levels, default=0)

    @property
    def complete(self) -> bool:
        """The whole reachable state space was explored."""
        return not self.bounded and not self.stopped_early

    @property
    def states_per_second(self) -> float:
        return self.distinct_states / self.seconds if self.seconds > 0 else 0.0

    @property
    def bytes_per_state(self) -> float:
        """Seen-set and parent-link bytes per distinct state."""
        return self.seen_bytes / self.distinct_states if self.distinct_states else 0.0

    def ordinals_to(self, index: int) -> list[int]:
        """The successor ordinals from an initial state to state ``index``."""
        if not 0 <= index < self.distinct_states:
            raise IndexError(f"no state {index}: {self.distinct_states} were explored")
        ordinals: list[int] = []
        while True:
            ordinals.append(self._ordinal[index])
            parent = self._parent[index]
            if parent == NO_PARENT:
                break
            index = parent
        ordinals.reverse()
        return ordinals

    def edge_at(self, position: int) -> tuple[int, int]:
        """The transition at ``position`` (0 <= position < transitions) of the complete
        search's transitions listed in breadth-first order (each state's successors
        in ``successors``' order, the states in index order: the order of
        ``model_check.refinement_conformance.reachable_graph``'s edges, without
        symmetry): its source state's index and its ordinal among that state's
        successors. Raises ExplorationError when the search did not record every
        state's successor count (cut short, reduced, or run in workers), IndexError
        for a position out of range."""
        if not self.complete or self.reduced_states or len(self._counts) != self.distinct_states:
            raise ExplorationError("edge_at needs a complete one-process search without reduce")
        if not 0 <= position < self.transitions:
            raise IndexError(f"no transition {position}: {self.transitions} were explored")
        ends = np.cumsum(np.frombuffer(self._counts, dtype=np.uint32), dtype=np.int64)
        source = int(np.searchsorted(ends, position, side="right"))
        return source, position - int(ends[source] - self._counts[source])

    def path_to(self, index: int) -> Path[S, A]:
        """The shortest path to state ``index``, rebuilt by re-running successors."""
        ordinals = self.ordinals_to(index)
        state = self._initial[ordinals[0]]
        states = [state]
        actions: list[A] = []
        for step, ordinal in enumerate(ordinals[1:], start=1):
            chosen = next(itertools.islice(self._successors(state), ordinal, None), None)
            if chosen is None:
                raise ExplorationError(
                    f"rebuilding the path to state {index}: step {step} wants successor "
                    f"#{ordinal} but the state has fewer: successors() is not deterministic"
                )
            action, state = chosen
            states.append(state)
            actions.append(action)
        return Path(tuple(states), tuple(actions))

    def counterexample(self, name: str) -> Path[S, A] | None:
        """The shortest path to a state violating invariant ``name`` (None if none was found)."""
        index = self.violations.get(name)
        return None if index is None else self.path_to(index)

    def witness(self, name: str) -> Path[S, A] | None:
        """The shortest path to the witness of ``name`` (a state witness: the first state
        satisfying it; a step witness: ending with the first step satisfying it), or None
        when none was found."""
        index = self.witnessed.get(name)
        if index is not None:
            return self.path_to(index)
        step = self.witnessed_steps.get(name)
        if step is None:
            return None
        source, ordinal = step
        path = self.path_to(source)
        chosen = next(itertools.islice(self._successors(path.states[-1]), ordinal, None), None)
        if chosen is None:
            raise ExplorationError(
                f"rebuilding the witness of {name!r}: state {source} has no successor "
                f"#{ordinal}: successors() is not deterministic"
            )
        action, state = chosen
        return Path((*path.states, state), (*path.actions, action))

    def statistics(self) -> str:
        return format_statistics(self)


def format_statistics(result: Exploration[S, A]) -> str:
    """The one-line summary printed at the end of a run."""
    tail = " (bounded)" if result.bounded else " (stopped early)" if result.stopped_early else ""
    return (
        f"{result.distinct_states:,} distinct states, {result.transitions:,} transitions, "
        f"depth {result.depth}, {result.seconds:.2f} s ({result.states_per_second:,.0f} states/s), "
        f"seen-set {result.bytes_per_state:.1f} B/state, "
        f"peak memory {result.peak_memory / 2**20:,.0f} MiB{tail}"
    )


class _Arrays:
    """Growing parent/ordinal arrays plus graph buffers."""

    def __init__(self, with_graph: bool) -> None:
        self.parent: array[int] = array("I")
        self.ordinal: array[int] = array("H")
        self.counts: array[int] = array("I")
        self.marked: array[int] = array("B")
        self.src: list[npt.NDArray[np.uint32]] = []
        self.dst: list[npt.NDArray[np.uint32]] = []
        self.open_indices: list[int] = []
        self.with_graph = with_graph


@_with_tuned_gc
def explore(
    initial_states: Iterable[S],
    successors: Callable[[S], Iterable[tuple[A, S]]],
    invariants: Mapping[str, Callable[[S], bool]] | None = None,
    canonicalize: Callable[[S], S] | None = None,
    *,
    max_depth: int | None = None,
    max_states: int | None = None,
    deadlock: bool = False,
    graph_edges: Callable[[A], bool] | None = None,
    marker: Callable[[S], bool] | None = None,
    fingerprint: Callable[[S], int] = fast_fingerprint,
    stop_when_violated: bool = True,
    witnesses: Mapping[str, Callable[[S], bool]] | None = None,
    step_witnesses: Mapping[str, Callable[[S, A, S], bool]] | None = None,
    step_actions: Mapping[str, Callable[[A], bool]] | None = None,
    step_key: Callable[[A], object] = type,
    progress: Callable[[Progress], None] | None = None,
    progress_interval: float = 2.0,
    chunk_size: int = 2048,
    reduce: Reducer[S, A] | None = None,
    frontier_codec: FrontierCodec | None = None,
    compact_above: int = 0,
    screen: Screen[S] | None = None,
    witness_group: WitnessGroup[S] | None = None,
) -> Exploration[S, A]:
    """Explore a transition system breadth-first; see the module docstring.

    ``invariants`` maps names to predicates that must hold in every reachable
    state. ``deadlock=True`` reports a state with no successors under the name
    :data:`DEADLOCK`. ``graph_edges`` (an action filter) turns on recording of
    the state graph for liveness, ``marker`` labels its states. With
    ``stop_when_violated`` the search ends as soon as every invariant (and
    deadlock, when asked) has a counterexample and no graph is recorded.
    ``witnesses`` and ``step_witnesses`` (sometimes-properties) record the first
    state, or transition, that satisfies each; they never change what is explored.
    ``step_actions`` names, for a step witness, a test of the action alone, true of
    every action the witness can hold on: the explorer asks the witness of those
    transitions alone, and the test once per ``step_key(action)`` (by default the
    action's class: the test must depend on that key alone; session 44).
    ``reduce`` (partial-order reduction, a :class:`Reducer`, :mod:`model_check.por`)
    names, for a state it ``applies`` to, the ordinals among its successors of the
    steps to explore (a persistent set, its key step first), or None for all; the
    explorer keeps the breadth-first cycle proviso: the state is fully expanded when
    the key step's successor was already seen.
    ``frontier_codec`` keeps the queued states packed (:mod:`model_check.frontier`)
    once more than ``compact_above`` states are queued for the next level (0: from
    the first); the same states are explored in the same order.
    ``screen`` (``(names, passes)``) is a sound fast path for the invariants
    ``names``: ``passes(state)`` True only when each of them holds in ``state``; the
    explorer then asks only the other invariants there, and every pending one where
    it is False (the same violations, at the same first states).
    ``witness_group`` (a :class:`WitnessGroup`) answers for the state witnesses it
    names at once, one call per new state while any of them is sought (the same
    first states as asking each; its names may not be in ``witnesses``).

    Raises :class:`~model_check.errors.CheckError` for a bad argument and
    :class:`~model_check.errors.ExplorationError` when the system breaks a rule
    (too many initial states or successors for the compact parent links).
    """
    if max_depth is not None and max_depth < 0:
        raise CheckError(f"max_depth must be >= 0, got {max_depth}")
    if max_states is not None and max_states < 1:
        raise CheckError(f"max_states must be >= 1, got {max_states}")
    if chunk_size < 1:
        raise CheckError(f"chunk_size must be >= 1, got {chunk_size}")
    if compact_above < 0:
        raise CheckError(f"compact_above must be >= 0, got {compact_above}")
    limit = MAX_STATES if max_states is None else min(max_states, MAX_STATES)
    checks = dict(invariants or {})
    if deadlock and DEADLOCK in checks:
        raise CheckError(f"an invariant may not be named {DEADLOCK!r} when deadlock=True")
    seeking = dict(witnesses or {})  # state witnesses not yet found
    grouped = set() if witness_group is None else set(witness_group.names)  # not yet found
    if grouped & seeking.keys():
        raise CheckError(f"witnesses and witness_group both name "
                         f"{sorted(grouped & seeking.keys())}")
    seeking_steps = tuple((step_witnesses or {}).items())  # step witnesses not yet found
    step_kinds = dict(step_actions or {})
    unknown = step_kinds.keys() - dict(seeking_steps).keys()
    if unknown:
        raise CheckError(f"step_actions names no step witness: {sorted(unknown)}")
    # the step witnesses still sought that can hold on an action of each step_key
    asked_of: dict[object, tuple[tuple[str, Callable[[S, A, S], bool]], ...]] = {}
    witnessed: dict[str, int] = {}
    witnessed_steps: dict[str, tuple[int, int]] = {}
    with_graph = graph_edges is not None
    canon = canonicalize
    started = time.perf_counter()
    seen = SeenSet(with_index=with_graph)
    arrays = _Arrays(with_graph)
    violations: dict[str, int] = {}
    pending = dict(checks)  # invariants not yet violated
    wanted = len(checks) + (1 if deadlock else 0)
    transitions = 0
    reduced_states = 0
    bounded = False
    stopped_early = False
    last_report = started
    levels: list[int] = []
    packed_bytes = 0

    # Level 0: the initial states (ordinal = position among them).
    initial = list(initial_states)
    if len(initial) > MAX_ORDINAL + 1:
        raise ExplorationError(f"{len(initial)} initial states: at most {MAX_ORDINAL + 1}")
    frontier: _Queue[S] = _Queue(frontier_codec, compact_above)

    def admit(states: Sequence[S], parents: npt.ArrayLike, ordinals: npt.ArrayLike) -> None:
        """Number new states, link them to their parents, check them, queue them."""
        first = len(arrays.parent)
        arrays.parent.frombytes(np.asarray(parents, dtype=np.uint32).tobytes())
        arrays.ordinal.frombytes(np.asarray(ordinals, dtype=np.uint16).tobytes())
        if marker is not None:
            arrays.marked.extend(1 if marker(state) else 0 for state in states)
        if pending:
            asked = list(pending.items())  # every pending invariant
            unscreened = asked if screen is None else [
                (name, holds) for name, holds in asked if name not in screen[0]]
            passed = None if screen is None else list(map(screen[1], states))
            for offset, state in enumerate(states):
                for name, holds in (unscreened if passed is not None and passed[offset]
                                    else asked):
                    if name in pending and not holds(state):
                        violations[name] = first + offset
                        del pending[name]
        if seeking:
            for offset, state in enumerate(states):
                for name, reached in list(seeking.items()):
                    if reached(state):
                        witnessed[name] = first + offset
                        del seeking[name]
        if grouped and witness_group is not None:
            for offset, held in enumerate(map(witness_group, states)):
                if held:
                    for name in held:
                        if name in grouped:
                            witnessed[name] = first + offset
                            grouped.discard(name)
                            witness_group.drop(name)
                    if not grouped:
                        break
        frontier.add(first, states)

    if fingerprint is fast_fingerprint:
        fingerprint = hash
    local: dict[int, tuple[S, int]] = {}
    for ordinal, state in enumerate(initial):
        fp = fingerprint(canon(state) if canon is not None else state)
        if fp in local:
            continue
        if len(local) >= limit:
            bounded = True
            break
        local[fp] = (state, ordinal)
    if local:
        admit([s for s, _ in local.values()], [NO_PARENT] * len(local),
              [o for _, o in local.values()])
        seen.add(as_fingerprints(list(local)), np.arange(len(local), dtype=np.uint32))
    depth = 0
    levels.append(len(frontier))

    def done() -> bool:
        return (
            stop_when_violated and not with_graph and wanted > 0 and len(violations) == wanted
        )

    while frontier:
        if done():
            stopped_early = True
            break
        if max_depth is not None and depth >= max_depth:
            # Expand the last level only to learn whether the bound cut anything off.
            level, frontier = frontier, frontier.empty()
            bounded = _has_unseen_successor(level.items(), successors, canon, fingerprint,
                                            seen)
            if with_graph:
                arrays.open_indices.extend(level.indices())
            break
        level, frontier = frontier, frontier.empty()
        start = 0
        for chunk in level.chunks(chunk_size):
            # the chunk's candidates: fingerprint -> successor, in discovery order, and
            # each one's parent and ordinal as one int (parent << 16 | ordinal)
            batch: dict[int, S] = {}
            cand_link: list[int] = []
            edge_src: list[int] = []
            edge_fps: list[int] = []
            add_link = cand_link.append
            plans = None if reduce is None else _reduce_chunk(
                chunk, successors, reduce, canon, fingerprint, seen)
            for position, (index, state) in enumerate(chunk):
                ordinal = -1
                steps: Iterable[tuple[int, tuple[A, S]]]
                plan = None if plans is None else plans[position]
                if plan is None:
                    steps = enumerate(successors(state))
                else:
                    steps, ample = plan
                    if ample:
                        reduced_states += 1
                for ordinal, (action, successor) in steps:
                    if seeking_steps:
                        kind = step_key(action)
                        asked = asked_of.get(kind)
                        if asked is None:
                            asked = asked_of[kind] = tuple(
                                (n, f) for n, f in seeking_steps
                                if n not in step_kinds or step_kinds[n](action))
                        for name, step in asked:
                            if step(state, action, successor):
                                witnessed_steps[name] = (index, ordinal)
                                seeking_steps = tuple(
                                    (n, f) for n, f in seeking_steps if n not in witnessed_steps)
                                asked_of.clear()
                    fp = fingerprint(successor if canon is None else canon(successor))
                    if graph_edges is not None and graph_edges(action):
                        edge_src.append(index)
                        edge_fps.append(fp)
                    if fp not in batch:
                        batch[fp] = successor
                        add_link(index << 16 | ordinal)
                if ordinal > MAX_ORDINAL:
                    raise ExplorationError(
                        f"state {index} has {ordinal + 1} successors: at most {MAX_ORDINAL + 1}"
                    )
                if plan is None:
                    transitions += ordinal + 1
                    if index == len(arrays.counts):
                        arrays.counts.append(ordinal + 1)
                else:
                    transitions += len(plan[0])
                    ordinal = len(plan[0]) - 1
                if ordinal < 0 and deadlock and DEADLOCK not in violations:
                    violations[DEADLOCK] = index
            # Which candidates are new, in discovery order.
            fps = np.fromiter(batch, dtype=np.int64, count=len(batch))
            new_positions = np.flatnonzero(~seen.contains(fps))
            room = limit - len(arrays.parent)
            if new_positions.size > room:
                bounded = True
                new_positions = new_positions[:room]
            first_new = len(arrays.parent)
            cand_states = list(batch.values())
            links = np.fromiter(cand_link, dtype=np.int64, count=len(cand_link))[new_positions]
            admit(
                [cand_states[p] for p in new_positions.tolist()],
                (links >> 16).astype(np.uint32),
                (links & MAX_ORDINAL).astype(np.uint16),
            )
            new_fps = fps[new_positions]
            seen.add(new_fps, np.arange(first_new, first_new + new_fps.size, dtype=np.uint32))
            if with_graph and edge_fps:
                # every edge's target is one of the chunk's candidates (``fps``, distinct):
                # those are looked up in the seen-set's tiers, the edges in them (session
                # 59: an edge per fault-free transition, 2-3 per distinct candidate)
                order = np.argsort(fps)
                ranked = fps[order]
                targets = seen.lookup(ranked)[np.searchsorted(ranked,
                                                              as_fingerprints(edge_fps))]
                sources = np.asarray(edge_src, dtype=np.uint32)
                kept = targets >= 0
                if not kept.all():
                    arrays.open_indices.extend(np.unique(sources[~kept]).tolist())
                arrays.src.append(sources[kept])
                arrays.dst.append(targets[kept].astype(np.uint32))
            if progress is not None:
                now = time.perf_counter()
                if now - last_report >= progress_interval:
                    last_report = now
                    left = len(level) - start - len(chunk) + len(frontier)
                    progress(Progress(len(arrays.parent), transitions, left, depth, now - started,
                                      level.nbytes + frontier.nbytes))
            if bounded:
                # The state bound was hit: what is left of this level stays open.
                if with_graph:
                    arrays.open_indices.extend(level.indices(start + len(chunk)))
                    arrays.open_indices.extend(frontier.indices())
                break
            if done() and start + len(chunk) < len(level):
                stopped_early = True
                break
            start += len(chunk)
        if frontier:
            if len(frontier) > max(levels):
                packed_bytes = frontier.nbytes
            levels.append(len(frontier))
            depth += 1
            now = time.perf_counter()
            if progress is not None and now - started >= progress_interval:
                progress(Progress(len(arrays.parent), transitions, len(frontier), depth,
                                  now - started, frontier.nbytes, level_done=True))
        if bounded or stopped_early:
            break

    graph: StateGraph | None = None
    num = len(arrays.parent)
    if with_graph:
        open_mask = np.zeros(num, dtype=np.bool_)
        if arrays.open_indices:
            open_mask[np.asarray(arrays.open_indices, dtype=np.int64)] = True
        marked = (
            np.frombuffer(arrays.marked, dtype=np.uint8).astype(np.bool_)
            if marker is not None
            else np.zeros(num, dtype=np.bool_)
        )
        graph = StateGraph(
            num,
            np.concatenate(arrays.src) if arrays.src else np.empty(0, dtype=np.uint32),
            np.concatenate(arrays.dst) if arrays.dst else np.empty(0, dtype=np.uint32),
            marked,
            open_mask,
        )
    seconds = time.perf_counter() - started
    seen_bytes = seen.nbytes + arrays.parent.itemsize * num + arrays.ordinal.itemsize * num
    return Exploration(
        distinct_states=num,
        transitions=transitions,
        depth=depth,
        seconds=seconds,
        peak_memory=peak_memory_bytes(),
        seen_bytes=seen_bytes,
        bounded=bounded,
        stopped_early=stopped_early,
        violations=violations,
        graph=graph,
        witnessed=witnessed,
        witnessed_steps=witnessed_steps,
        reduced_states=reduced_states,
        _initial=initial,
        _successors=successors,
        _parent=arrays.parent,
        _ordinal=arrays.ordinal,
        _counts=arrays.counts,
        levels=levels,
        packed_bytes=packed_bytes,
    )


def explore_model(
    model: TransitionSystem[S, A],
    invariants: Mapping[str, Callable[[S], bool]] | None = None,
    *,
    symmetry: bool = True,
    max_depth: int | None = None,
    max_states: int | None = None,
    graph_edges: Callable[[A], bool] | None = None,
    marker: Callable[[S], bool] | None = None,
    stop_when_violated: bool = True,
    witnesses: Mapping[str, Callable[[S], bool]] | None = None,
    step_witnesses: Mapping[str, Callable[[S, A, S], bool]] | None = None,
    step_actions: Mapping[str, Callable[[A], bool]] | None = None,
    step_key: Callable[[A], object] = type,
    progress: Callable[[Progress], None] | None = None,
    workers: int | None = None,
    ray: str | None = None,
    reduce: Reducer[S, A] | None = None,
    compact_frontier: bool | None = None,
    frontier_keep: Sequence[object] = (),
    screen: Screen[S] | None = None,
    fingerprint: Callable[[S], int] | None = None,
    canonical_identity: bool = False,
    witness_group: WitnessGroup[S] | None = None,
    transport: Transport | None = None,
    partition: Callable[[S], int] | None = None,
) -> Exploration[S, A]:
    """:func:`explore` a model given as a value (:class:`~model_check.model.TransitionSystem`):
    its initial states, its successors, and its canonical form when ``symmetry`` is on
    (unless the caller says it is the identity: ``canonical_identity`` True).
    ``fingerprint`` (None: :func:`fast_fingerprint`) is the one-process search's
    fingerprint (it must be ``hash(state)`` in effect: the spec model's reads the hash
    a state caches; :func:`model_check.check.check` passes it, since the model is a
    value this function does not probe: tests/model_check/test_layers.py).
    With ``workers`` (>= 1) the search runs in that many forked processes, the seen-set
    partitioned by fingerprint (:func:`model_check.parallel.explore_parallel`; no bounds:
    :class:`~model_check.errors.CheckError` when one is given, or ``reduce``); with
    ``ray`` (a Ray
    cluster's address, or ``"local"``) the workers (default 2) are Ray actors there
    (:func:`model_check.distributed.explore_ray`). ``compact_frontier`` keeps the
    one-process search's queued states packed (:mod:`model_check.frontier`): True from
    the first, None (the default) once a level queues more than :data:`COMPACT_ABOVE`
    states, False never; the model's ``config`` attribute, when it has one, is packed
    by reference (the same object comes back). ``screen`` is :func:`explore`'s (the
    workers' too since session 61), and so are ``step_actions``
    and ``step_key`` (the workers' too since session 61) and
    ``witness_group`` (the workers' too since session 61; not Ray's: :class:`CheckError`).
    With ``workers``, a ``fingerprint`` given is the workers' too, and ``transport``
    (:class:`model_check.parallel.Transport`) carries a state to
    its owner when the model's states mean something in one process only (the kernel's
    packed ids; session 61), and ``partition`` says which worker owns a state
    (:func:`~model_check.parallel.explore_parallel`'s)."""
    common = (model.initial_states(), model.successors, invariants,
              model.canonicalize if symmetry else None)
    if workers is not None or ray is not None:
        from model_check.distributed import explore_ray
        from model_check.parallel import explore_parallel

        if max_depth is not None or max_states is not None:
            raise CheckError("a parallel search (workers) takes no max_depth or max_states")
        if reduce is not None:
            raise CheckError("a parallel search (workers) takes no partial-order reduction")
        if ray is not None and witness_group is not None:
            raise CheckError("a Ray search takes no witness_group")
        if ray is not None and transport is not None:
            raise CheckError("a Ray search takes no transport (its workers fingerprint "
                             "the spec's states)")
        if ray is not None:
            return explore_ray(
                ray, *common, workers=2 if workers is None else workers,
                graph_edges=graph_edges, marker=marker,
                stop_when_violated=stop_when_violated, witnesses=witnesses,
                step_witnesses=step_witnesses, progress=progress)
        return explore_parallel(
            *common, workers=1 if workers is None else workers, graph_edges=graph_edges,
            marker=marker,
            stop_when_violated=stop_when_violated, witnesses=witnesses,
            step_witnesses=step_witnesses, progress=progress,
            fingerprint=fast_fingerprint if fingerprint is None else fingerprint,
            transport=transport, screen=screen, step_actions=step_actions,
            step_key=step_key, witness_group=witness_group, partition=partition)
    # objects the states share, packed by reference (the spec's config: check passes it)
    codec = None if compact_frontier is False else FrontierCodec(keep=tuple(frontier_keep))
    if canonical_identity:  # nothing to permute: skip the call
        common = (*common[:3], None)
    return explore(
        *common, max_depth=max_depth, max_states=max_states, graph_edges=graph_edges,
        fingerprint=fast_fingerprint if fingerprint is None else fingerprint,
        marker=marker, stop_when_violated=stop_when_violated, witnesses=witnesses,
        step_witnesses=step_witnesses, step_actions=step_actions, step_key=step_key,
        progress=progress,
        reduce=reduce, frontier_codec=codec, compact_above=0 if compact_frontier else COMPACT_ABOVE,
        screen=screen, witness_group=witness_group)


class _Queue(Generic[S]):
    """The states queued for one level, in index order: a plain prefix of
    ``(index, state)`` pairs, then, once more than ``compact_above`` states are queued
    and a codec is given, packed batches ``(first index, count, bytes)`` of states
    with consecutive indices."""

    __slots__ = ("codec", "compact_above", "nbytes", "packed", "plain", "size")

    def __init__(self, codec: FrontierCodec | None, compact_above: int) -> None:
        self.codec = codec
        self.compact_above = compact_above
        self.plain: list[tuple[int, S]] = []
        self.packed: list[tuple[int, int, bytes]] = []
        self.size = 0
        self.nbytes = 0

    def empty(self) -> _Queue[S]:
        """A new empty queue with the same codec and threshold."""
        return _Queue(self.codec, self.compact_above)

    def __len__(self) -> int:
        return self.size

    def add(self, first: int, states: Sequence[S]) -> None:
        """Queue ``states``, numbered ``first``, ``first + 1``, ..."""
        if not states:
            return
        if self.codec is not None and (self.packed or self.size >= self.compact_above):
            data = self.codec.encode(states)
            self.packed.append((first, len(states), data))
            self.nbytes += len(data)
        else:
            self.plain.extend(zip(range(first, first + len(states)), states, strict=True))
        self.size += len(states)

    def _batches(self) -> Iterator[list[tuple[int, S]]]:
        if self.plain:
            yield self.plain
        for first, count, data in self.packed:
            if self.codec is None:  # pragma: no cover - packed only with a codec
                raise AssertionError("a packed batch without a codec")
            states: list[S] = self.codec.decode(data)
            if len(states) != count:
                raise ExplorationError(f"a packed batch of {count} states decoded to "
                                       f"{len(states)}")
            yield list(zip(range(first, first + count), states, strict=True))

    def chunks(self, size: int) -> Iterator[list[tuple[int, S]]]:
        """The queued ``(index, state)`` pairs in order, ``size`` at a time (the last
        chunk fewer) across the plain prefix and the packed batches, so a search expands
        the same chunks packed or not (a state bound or an early stop is checked per
        chunk); a packed batch is decoded when reached."""
        chunk: list[tuple[int, S]] = []
        for batch in self._batches():
            start = 0
            while start < len(batch):
                piece = batch[start : start + size - len(chunk)]
                start += len(piece)
                chunk = piece if not chunk else chunk + piece
                if len(chunk) == size:
                    yield chunk
                    chunk = []
        if chunk:
            yield chunk

    def items(self) -> Iterator[tuple[int, S]]:
        """Every queued ``(index, state)``, in order."""
        for batch in self._batches():
            yield from batch

    def indices(self, skip: int = 0) -> Iterator[int]:
        """The indices of the queued states after the first ``skip``, in order (nothing
        is decoded)."""
        for index, _ in itertools.islice(self.plain, skip, None):
            yield index
        skip = max(0, skip - len(self.plain))
        for first, count, _ in self.packed:
            yield from range(first + min(skip, count), first + count)
            skip = max(0, skip - count)


def _reduce_chunk(
    chunk: Sequence[tuple[int, S]],
    successors: Callable[[S], Iterable[tuple[A, S]]],
    reduce: Reducer[S, A],
    canon: Callable[[S], S] | None,
    fingerprint: Callable[[S], int],
    seen: SeenSet,
) -> list[tuple[list[tuple[int, tuple[A, S]]], bool] | None]:
    """Per state of ``chunk``: None (explore all its successors), or its numbered steps
    to explore and whether they are a reduced (persistent) set. A reduced set is kept
    only if its key step's successor is not in ``seen`` (the breadth-first cycle
    proviso: a key step always goes one level deeper, so a step postponed by key
    steps is taken at a fully expanded state within as many levels as there are
    states)."""
    plans: list[tuple[list[tuple[int, tuple[A, S]]], bool] | None] = []
    probes: list[tuple[int, list[tuple[int, tuple[A, S]]]]] = []
    probe_fps: list[int] = []
    applies, ample = reduce.applies, reduce.ample
    for _, state in chunk:
        if not applies(state):
            plans.append(None)
            continue
        steps = list(enumerate(successors(state)))
        chosen = ample(state, [step for _, step in steps]) if len(steps) > 1 else None
        if chosen is None:
            plans.append((steps, False))
            continue
        ordinals = (chosen,) if isinstance(chosen, int) else tuple(chosen)
        successor = steps[ordinals[0]][1][1]  # the key step's
        probes.append((len(plans), steps))
        probe_fps.append(fingerprint(canon(successor) if canon is not None else successor))
        plans.append(([steps[o] for o in sorted(ordinals)], True))
    if probe_fps:
        known = seen.contains(as_fingerprints(probe_fps))
        for (position, steps), already in zip(probes, known.tolist(), strict=True):
            if already:
                plans[position] = (steps, False)
    return plans


def _has_unseen_successor(
    level: Iterable[tuple[int, S]],
    successors: Callable[[S], Iterable[tuple[A, S]]],
    canon: Callable[[S], S] | None,
    fingerprint: Callable[[S], int],
    seen: SeenSet,
) -> bool:
    """Whether any state of ``level`` has a successor not in ``seen``."""
    batch: list[int] = []
    for _, state in level:
        for _, successor in successors(state):
            batch.append(fingerprint(canon(successor) if canon is not None else successor))
        if len(batch) >= 65536:
            if not seen.contains(as_fingerprints(batch)).all():
                return True
            batch = []
    return bool(batch) and not bool(seen.contains(as_fingerprints(batch)).all())
