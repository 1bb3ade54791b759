"""Parallel breadth-first exploration: the seen-set partitioned by fingerprint across workers.

Theory of operation
-------------------
TLC's workers and Stateright's threads share one seen-set; here ``workers``
forked processes each *own* the states whose fingerprint ``fp`` has
``fp % workers == w`` (the seen-set is partitioned, never shared), and the
search goes level by level, synchronously:

1. *expand*: every worker computes the successors of its part of the frontier,
   fingerprints their canonical forms with :func:`~model_check.fingerprint.
   stable_fingerprint` (a digest of a canonical encoding, never Python's
   randomised ``hash()``), and sorts them into one outbox per owner;
2. *admit*: the coordinating process hands each owner its candidates (in worker
   order, so the run is deterministic); the owner keeps those it has not seen,
   records ``fp -> (parent fp, successor ordinal)``, checks the invariants and
   witnesses on them, and they are its part of the next frontier.

Breadth-first levels are kept exactly, so the distinct states and every verdict
are those of one process (:func:`model_check.explorer.explore`) and every
counterexample is a shortest one (of the same length; possibly another run of
that length). At the end the workers hand over their parent links (and the
fault-free edges and marks when a state graph is recorded, for liveness); the
result is an ordinary :class:`~model_check.explorer.Exploration`, so
:func:`model_check.check.check` rebuilds traces and runs the liveness check as
for one process. Bounds (``max_depth``, ``max_states``) are not supported here.

The workers are forked (``multiprocessing`` ``fork`` context: Linux, macOS), so
the model and the predicates need not be picklable; states and actions cross
process boundaries and must be. Cost: every successor is pickled twice
(worker -> coordinator -> owner), which is what the scaling figures of
``bench/model_check.py`` pay for.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import time
from array import array
from collections.abc import Callable, Hashable, Iterable, Mapping
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import numpy as np

from model_check.errors import CheckError
from model_check.explorer import NO_PARENT, Exploration, Progress, StateGraph, peak_memory_bytes
from model_check.fingerprint import stable_fingerprint

__all__ = ["coordinate", "explore_parallel"]

S = TypeVar("S", bound=Hashable)
A = TypeVar("A")

_ROOT = -1  # the parent of an initial state


class _Worker:
    """One partition of the seen-set, and the states this worker generated (forked)."""

    def __init__(self, number: int, workers: int,
                 successors: Callable[[Any], Iterable[tuple[Any, Any]]],
                 canonicalize: Callable[[Any], Any] | None,
                 invariants: Mapping[str, Callable[[Any], bool]],
                 witnesses: Mapping[str, Callable[[Any], bool]],
                 step_witnesses: Mapping[str, Callable[[Any, Any, Any], bool]],
                 graph_edges: Callable[[Any], bool] | None,
                 marker: Callable[[Any], bool] | None,
                 fingerprint: Callable[[Any], int]) -> None:
        self.number = number
        self.workers = workers
        self.successors = successors
        self.canon = canonicalize
        self.pending = dict(invariants)
        self.seeking = dict(witnesses)
        self.seeking_steps = dict(step_witnesses)
        self.graph_edges = graph_edges
        self.marker = marker
        self.fingerprint = fingerprint
        self.seen: dict[int, tuple[int, int]] = {}
        """The owned partition: fp -> (parent fp, successor ordinal)."""
        self.frontier: list[tuple[int, Any]] = []
        self.candidates: list[tuple[int, Any]] = []
        self.edges: list[tuple[int, int]] = []
        self.marked: list[int] = []

    def expand(self) -> tuple[list[list[tuple[int, int, int]]], int, dict[str, tuple[int, int]]]:
        """Successors of this worker's frontier: ``(fp, parent fp, ordinal)`` per owner;
        the states stay here (``candidates``) until their owners say which are new."""
        outboxes: list[list[tuple[int, int, int]]] = [[] for _ in range(self.workers)]
        transitions = 0
        steps_found: dict[str, tuple[int, int]] = {}
        canon, fingerprint, workers = self.canon, self.fingerprint, self.workers
        local: set[int] = set()
        candidates: list[tuple[int, Any]] = []
        for source, state in self.frontier:
            for ordinal, (action, successor) in enumerate(self.successors(state)):
                transitions += 1
                if self.seeking_steps:
                    for name, step in list(self.seeking_steps.items()):
                        if step(state, action, successor):
                            steps_found[name] = (source, ordinal)
                            del self.seeking_steps[name]
                fp = fingerprint(canon(successor) if canon is not None else successor)
                if self.graph_edges is not None and self.graph_edges(action):
                    self.edges.append((source, fp))
                if fp not in local:
                    local.add(fp)
                    candidates.append((fp, successor))
                    outboxes[fp % workers].append((fp, source, ordinal))
        self.frontier = []
        self.candidates = candidates
        return outboxes, transitions, steps_found

    def own(self, offers: list[list[tuple[int, int, int]]]) -> list[list[int]]:
        """Record the offered fingerprints not seen yet (offers in worker order); return,
        per offering worker, the new ones."""
        seen = self.seen
        accepted: list[list[int]] = []
        for offer in offers:
            new: list[int] = []
            for fp, parent, ordinal in offer:
                if fp not in seen:
                    seen[fp] = (parent, ordinal)
                    new.append(fp)
            accepted.append(new)
        return accepted

    def admit(self, accepted: list[int]) -> tuple[int, dict[str, int], dict[str, int]]:
        """Queue the candidates their owners accepted; check them."""
        wanted = set(accepted)
        violated: dict[str, int] = {}
        witnessed: dict[str, int] = {}
        for fp, state in self.candidates:
            if fp not in wanted:
                continue
            self.frontier.append((fp, state))
            if self.marker is not None and self.marker(state):
                self.marked.append(fp)
            for name, holds in list(self.pending.items()):
                if not holds(state):
                    violated[name] = fp
                    del self.pending[name]
            for name, reached in list(self.seeking.items()):
                if reached(state):
                    witnessed[name] = fp
                    del self.seeking[name]
        self.candidates = []
        return len(self.frontier), violated, witnessed

    def dump(self) -> tuple[dict[int, tuple[int, int]], list[tuple[int, int]], list[int], int]:
        return self.seen, self.edges, self.marked, peak_memory_bytes()

    def serve(self, conn: Connection) -> None:
        while True:
            command, argument = conn.recv()
            if command == "stop":
                conn.close()
                return
            else:
                conn.send(self.call(command, argument))

    def call(self, command: str, argument: Any) -> Any:
        """Run one command of the coordinator (``expand``, ``own``, ``admit``, ``seed``,
        ``dump``) and return its reply."""
        if command == "expand":
            return self.expand()
        if command == "own":
            return self.own(argument)
        if command == "admit":
            return self.admit(argument)
        if command == "seed":
            return self.seed(argument)
        if command == "dump":
            return self.dump()
        raise CheckError(f"unknown worker command {command!r}")

    def seed(self, initial: list[Any]) -> list[list[tuple[int, int, int]]]:
        """Fingerprint the initial states here (one process computes every fingerprint the
        workers compare) and offer them, as :meth:`expand` offers successors."""
        outboxes: list[list[tuple[int, int, int]]] = [[] for _ in range(self.workers)]
        self.candidates = []
        for ordinal, state in enumerate(initial):
            fp = self.fingerprint(self.canon(state) if self.canon is not None else state)
            self.candidates.append((fp, state))
            outboxes[fp % self.workers].append((fp, _ROOT, ordinal))
        return outboxes


def explore_parallel(
    initial_states: Iterable[S],
    successors: Callable[[S], Iterable[tuple[A, S]]],
    invariants: Mapping[str, Callable[[S], bool]] | None = None,
    canonicalize: Callable[[S], S] | None = None,
    *,
    workers: int,
    graph_edges: Callable[[A], bool] | None = None,
    marker: Callable[[S], bool] | None = None,
    stop_when_violated: bool = True,
    witnesses: Mapping[str, Callable[[S], bool]] | None = None,
    step_witnesses: Mapping[str, Callable[[S, A, S], bool]] | None = None,
    progress: Callable[[Progress], None] | None = None,
    fingerprint: Callable[[S], int] = stable_fingerprint,
) -> Exploration[S, A]:
    """Explore like :func:`model_check.explorer.explore` (same arguments, no bounds) with
    ``workers`` forked processes owning a partition of the seen-set each; see the module
    docstring. Raises :class:`~model_check.errors.CheckError` for ``workers < 1``."""
    if workers < 1:
        raise CheckError(f"workers must be >= 1, got {workers}")
    checks = dict(invariants or {})
    context = multiprocessing.get_context("fork")
    conns: list[Connection] = []
    processes = []
    for number in range(workers):
        worker = _Worker(number, workers, successors, canonicalize, checks,
                         dict(witnesses or {}), dict(step_witnesses or {}), graph_edges,
                         marker, fingerprint)
        mine, theirs = context.Pipe()
        process = context.Process(target=worker.serve, args=(theirs,), daemon=True)
        process.start()
        theirs.close()
        conns.append(mine)
        processes.append(process)

    def send(conn: Connection) -> Callable[[str, Any], Callable[[], Any]]:
        def call(command: str, argument: Any) -> Callable[[], Any]:
            conn.send((command, argument))
            return conn.recv
        return call

    try:
        return coordinate([send(conn) for conn in conns], list(initial_states), successors,
                          len(checks), with_graph=graph_edges is not None,
                          stop_when_violated=stop_when_violated, progress=progress)
    finally:
        for conn in conns:
            with contextlib.suppress(BrokenPipeError, OSError):  # a worker that died
                conn.send(("stop", None))
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():  # pragma: no cover - a worker that did not stop
                process.kill()


Call = Callable[[str, Any], Callable[[], Any]]
"""Send one command to a worker; returns a function that waits for its reply."""


def coordinate(
    workers: list[Call],
    initial: list[S],
    successors: Callable[[S], Iterable[tuple[A, S]]],
    invariants: int,
    *,
    with_graph: bool,
    stop_when_violated: bool,
    progress: Callable[[Progress], None] | None,
) -> Exploration[S, A]:
    """The coordinating side of the level-synchronous search over ``workers`` (each a
    :data:`Call` reaching one :class:`_Worker`, in a forked process or a Ray actor);
    ``invariants`` is their number. Returns the :class:`Exploration` of the whole search."""
    started = time.perf_counter()
    count = len(workers)
    violations_fp: dict[str, int] = {}
    witnessed_fp: dict[str, int] = {}
    witnessed_steps_fp: dict[str, tuple[int, int]] = {}
    transitions = 0
    depth = 0
    stopped_early = False
    # Level 0: worker 0 fingerprints and offers the initial states.
    seeded = workers[0]("seed", initial)()
    offers: list[list[list[tuple[int, int, int]]]] = [seeded] + [
        [[] for _ in range(count)] for _ in range(count - 1)]
    distinct = 0
    first = True
    while True:
        # Owners decide which offered fingerprints are new ...
        replies = [call("own", [offers[w][owner] for w in range(count)])
                   for owner, call in enumerate(workers)]
        accepted: list[list[int]] = [[] for _ in range(count)]
        for reply in replies:
            for offerer, new in enumerate(reply()):
                accepted[offerer].extend(new)
        # ... and the workers that generated them queue and check them.
        replies = [call("admit", new) for call, new in zip(workers, accepted, strict=True)]
        frontier = 0
        for reply in replies:
            size, violated, witnessed = reply()
            frontier += size
            for name, fp in violated.items():
                violations_fp.setdefault(name, fp)
            for name, fp in witnessed.items():
                witnessed_fp.setdefault(name, fp)
        distinct += frontier
        if frontier and not first:
            depth += 1
        first = False
        if progress is not None:
            progress(Progress(distinct, transitions, frontier, depth,
                              time.perf_counter() - started))
        if frontier == 0:
            break
        if stop_when_violated and not with_graph and invariants and \
                len(violations_fp) == invariants:
            stopped_early = True
            break
        replies = [call("expand", None) for call in workers]
        offers = []
        for reply in replies:
            outboxes, steps, steps_found = reply()
            transitions += steps
            for name, step in steps_found.items():
                witnessed_steps_fp.setdefault(name, step)
            offers.append(outboxes)
    dumps = [reply() for reply in [call("dump", None) for call in workers]]
    # Number the states: the links are fingerprints, the Exploration wants indices.
    index: dict[int, int] = {}
    for seen, _, _, _ in dumps:
        for fp in seen:
            index[fp] = len(index)
    parent = array("I", bytes(4 * len(index)))
    ordinal_of = array("H", bytes(2 * len(index)))
    for seen, _, _, _ in dumps:
        for fp, (source, ordinal) in seen.items():
            i = index[fp]
            parent[i] = NO_PARENT if source == _ROOT else index[source]
            ordinal_of[i] = ordinal
    graph: StateGraph | None = None
    if with_graph:
        pairs = [(index[s], index[d]) for _, edges, _, _ in dumps for s, d in edges if d in index]
        marked = np.zeros(len(index), dtype=np.bool_)
        for _, _, marks, _ in dumps:
            if marks:
                marked[np.asarray([index[fp] for fp in marks], dtype=np.int64)] = True
        graph = StateGraph(
            len(index),
            np.asarray([s for s, _ in pairs], dtype=np.uint32),
            np.asarray([d for _, d in pairs], dtype=np.uint32),
            marked,
            np.zeros(len(index), dtype=np.bool_),
        )
    # A dict entry: a key, a 2-tuple of two ints; plus the parent links kept here.
    seen_bytes = sum(sys.getsizeof(seen) + len(seen) * (sys.getsizeof((0, 0)) + 2 * 28)
                     for seen, _, _, _ in dumps)
    return Exploration(
        distinct_states=len(index),
        transitions=transitions,
        depth=depth,
        seconds=time.perf_counter() - started,
        peak_memory=max([peak_memory_bytes()] + [d[3] for d in dumps]),
        seen_bytes=seen_bytes,
        bounded=False,
        stopped_early=stopped_early,
        violations={name: index[fp] for name, fp in violations_fp.items()},
        graph=graph,
        witnessed={name: index[fp] for name, fp in witnessed_fp.items()},
        witnessed_steps={name: (index[fp], o) for name, (fp, o) in witnessed_steps_fp.items()},
        reduced_states=0,
        _initial=initial,
        _successors=successors,
        _parent=parent,
        _ordinal=ordinal_of,
    )
