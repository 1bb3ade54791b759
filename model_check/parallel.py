"""Parallel breadth-first exploration: the seen-set and the frontier partitioned by fingerprint.

Theory of operation
-------------------
TLC's workers and Stateright's threads share one seen-set; here ``workers``
forked processes each *own* the states whose fingerprint ``fp`` has
``fp % workers == w`` (the seen-set is partitioned, never shared), and the
search goes level by level, synchronously:

1. *expand*: every worker computes the successors of its part of the frontier
   (the states it owns),
   fingerprints their canonical forms with :func:`~model_check.fingerprint.
   fast_fingerprint` (the state's cached ``hash()``: the workers are forks of
   one process and share its hash secret, so their fingerprints agree), and
   sorts them into one outbox per owner, a numpy array of ``(fp, parent fp,
   ordinal)`` rows; the states stay with the worker that generated them;
2. *own*: the coordinating process hands each owner its candidates (in worker
   order, so the run is deterministic); the owner keeps those it has not seen
   (one vectorised test against its :class:`~model_check.fingerprint.SeenSet`)
   and records their parent fingerprint and successor ordinal in arrays;
3. *admit*: each generating worker gets back its accepted fingerprints and
   hands over the accepted states it does not own, one list per owner, through
   the coordinating process (only new states are pickled, never every successor;
   with two workers about half of them);
4. *receive*: each owner takes its new states (those it generated itself, then
   those of worker 0, 1, ...), checks the invariants and witnesses on them, and
   they are its part of the next frontier. So the frontier is partitioned as
   the seen-set is, and every worker expands about ``1/workers`` of the states
   (:data:`RUNS` says how many each did).

With the packed-state kernel (:mod:`model_check.kernel`; session 61) each forked worker
expands packed states with its own copy of the coordinator's
:class:`~model_check.kernel.Kernel`, whose ids diverge from the first new part: the
fingerprint is the state hash computed from the ids
(:meth:`~model_check.kernel.PackedTransport.fingerprint`, the one formula
:func:`spec.state.state_hash`), never ``hash`` of the ids, and step 3 hands the new
states over through a :class:`Transport` (:class:`~model_check.kernel.PackedTransport`:
the ids, and each part the first time it crosses to that owner, which interns it and
keeps the sender's id -> its own). The invariants' screen, the step witnesses' gate by
action (``step_actions``) and the witness group are :func:`~model_check.explorer.
explore`'s.

A worker's part of the seen-set costs 22 bytes a state: 8 for the fingerprint
and 4 for its local number in the sorted tiers of a ``SeenSet``, 8 for the
parent's fingerprint, 2 for the ordinal (a ``dict`` of tuples cost about 120).

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
process boundaries and must be. Cost: every new state not owned by the worker
that generated it is pickled twice (worker -> coordinator -> owner), and every
successor's ``(fp, parent fp, ordinal)`` row crosses as a numpy array: that is
what the scaling figures of ``bench/model_check.py`` pay for.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import time
from array import array
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from model_check.errors import CheckError
from model_check.explorer import (
    GC_THRESHOLD,
    NO_PARENT,
    Exploration,
    Progress,
    StateGraph,
    WitnessGroup,
    peak_memory_bytes,
)
from model_check.fingerprint import SeenSet, fast_fingerprint

__all__ = ["RUNS", "Transport", "WorkerReport", "coordinate", "explore_parallel"]

S = TypeVar("S", bound=Hashable)
A = TypeVar("A")

_ROOT = -1  # the parent of an initial state (hash() is never -1)


class Transport(Protocol):
    """How the new states cross from the worker that generated them to their owner, when
    a state means something in one process only (the kernel's packed ids:
    :class:`model_check.kernel.PackedTransport`, session 61). Each worker holds its own
    (forked) copy."""

    def export(self, owner: int, states: list[tuple[int, Any]]) -> Any:
        """``states`` (``(fp, state)`` pairs, in order) for worker ``owner``: picklable."""

    def adopt(self, sender: int, shipped: Any) -> list[tuple[int, Any]]:
        """What worker ``sender`` exported for this worker, as this worker's states (the
        same pairs, in order)."""


@dataclass(frozen=True)
class WorkerReport:
    """What one worker did in a run: the states it owns (its seen-set partition), the
    states it expanded, and its process's CPU seconds (user + system) at the end."""

    owned: int
    expanded: int
    cpu_seconds: float


RUNS: list[list[WorkerReport]] = []
"""Per :func:`coordinate` run of this process, in order, what each worker did (in worker
order): for the benchmark's scaling rows and the tests (a check with several liveness
properties explores more than once)."""


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
                 fingerprint: Callable[[Any], int],
                 transport: Transport | None = None,
                 screen: tuple[frozenset[str], Callable[[Any], bool]] | None = None,
                 step_actions: Mapping[str, Callable[[Any], bool]] | None = None,
                 step_key: Callable[[Any], object] = type,
                 witness_group: WitnessGroup[Any] | None = None,
                 partition: Callable[[Any], int] | None = None) -> None:
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
        self.transport = transport
        self.screen = screen
        self.step_actions = dict(step_actions or {})
        self.step_key = step_key
        #: the step witnesses still sought that can hold on an action of each step key
        #: (:func:`~model_check.explorer.explore`'s ``step_actions``; session 61)
        self.asked_of: dict[object, tuple[tuple[str, Callable[[Any, Any, Any], bool]], ...]] = {}
        self.group = witness_group
        self.partition = partition
        """The owner of a (canonical) state is ``partition(state) % workers``; None: its
        fingerprint's."""
        self.grouped = set() if witness_group is None else set(witness_group.names)
        """The state witnesses the group answers for, not yet found here."""
        """:func:`~model_check.explorer.explore`'s sound fast path for some invariants."""
        self.seen = SeenSet(with_index=True)
        """The owned partition: fingerprint -> local number (0, 1, ...)."""
        self.parents: array[int] = array("q")
        """Per local number: the parent's fingerprint (``_ROOT`` for an initial state)."""
        self.ordinals: array[int] = array("H")
        """Per local number: which successor of the parent (or which initial state)."""
        self.frontier: list[tuple[int, Any]] = []
        self.candidates: list[tuple[int, int, Any]] = []
        """This level's new successors generated here: (fingerprint, owner, state)."""
        self.kept: list[tuple[int, Any]] = []
        """Accepted states this worker generated and owns, until :meth:`receive`."""
        self.expanded = 0
        """States this worker expanded (its frontiers, summed over the levels)."""
        self.edges: array[int] = array("q")
        """The recorded edges, as (source fp, target fp) pairs, flat."""
        self.marked: array[int] = array("q")
        self.levels: list[int] = []
        """How many owned states each breadth-first level added (local numbers are in
        level order, so these sizes say each state's depth)."""

    def expand(self) -> tuple[list[Offer], int, dict[str, tuple[int, int]]]:
        """Successors of this worker's frontier: ``(fp, parent fp, ordinal)`` rows per
        owner; the states stay here (``candidates``) until their owners say which are new."""
        outboxes: list[list[int]] = [[] for _ in range(self.workers)]
        transitions = 0
        steps_found: dict[str, tuple[int, int]] = {}
        canon, fingerprint, workers = self.canon, self.fingerprint, self.workers
        local: set[int] = set()
        candidates: list[tuple[int, int, Any]] = []
        partition = self.partition
        edges = self.edges if self.graph_edges is not None else None
        self.expanded += len(self.frontier)
        for source, state in self.frontier:
            for ordinal, (action, successor) in enumerate(self.successors(state)):
                transitions += 1
                if self.seeking_steps:
                    kind = self.step_key(action)
                    asked = self.asked_of.get(kind)
                    if asked is None:
                        kinds = self.step_actions
                        asked = self.asked_of[kind] = tuple(
                            (n, f) for n, f in self.seeking_steps.items()
                            if n not in kinds or kinds[n](action))
                    for name, step in asked:
                        if name in self.seeking_steps and step(state, action, successor):
                            steps_found[name] = (source, ordinal)
                            del self.seeking_steps[name]
                            self.asked_of.clear()
                canonical = canon(successor) if canon is not None else successor
                fp = fingerprint(canonical)
                if edges is not None and self.graph_edges is not None \
                        and self.graph_edges(action):
                    edges.append(source)
                    edges.append(fp)
                if fp not in local:
                    local.add(fp)
                    owner = (fp if partition is None else partition(canonical)) % workers
                    candidates.append((fp, owner, successor))
                    outboxes[owner] += (fp, source, ordinal)
        self.frontier = []
        self.candidates = candidates
        return [_offer(box) for box in outboxes], transitions, steps_found

    def own(self, offers: list[Offer]) -> list[Fingerprints]:
        """Record the offered fingerprints not seen yet (offers in worker order, the first
        offer of a fingerprint wins); return, per offering worker, the new ones."""
        rows = np.concatenate(offers) if offers else np.empty((0, 3), dtype=np.int64)
        offerer = np.repeat(np.arange(len(offers)), [len(o) for o in offers])
        _, first = np.unique(rows[:, 0], return_index=True)
        first.sort()
        fresh = first[~self.seen.contains(np.ascontiguousarray(rows[first, 0]))]
        start = len(self.parents)
        self.seen.add(np.ascontiguousarray(rows[fresh, 0]),
                      np.arange(start, start + fresh.size, dtype=np.uint32))
        self.parents.frombytes(np.ascontiguousarray(rows[fresh, 1]).tobytes())
        self.ordinals.frombytes(rows[fresh, 2].astype(np.uint16).tobytes())
        by = offerer[fresh]
        return [np.ascontiguousarray(rows[fresh[by == w], 0]) for w in range(len(offers))]

    def admit(self, accepted: Fingerprints) -> list[list[tuple[int, Any]]]:
        """Keep the candidates their owners accepted that this worker owns; return the
        others, one list per owner (empty for this worker), to be sent to their owners."""
        wanted = set(accepted.tolist())
        outboxes: list[list[tuple[int, Any]]] = [[] for _ in range(self.workers)]
        for fp, owner, state in self.candidates:
            if fp in wanted:
                outboxes[owner].append((fp, state))
        self.candidates = []
        self.kept = outboxes[self.number]
        outboxes[self.number] = []
        if self.transport is not None:  # this worker's packed ids mean nothing elsewhere
            export = self.transport.export
            return [box if owner == self.number else export(owner, box)
                    for owner, box in enumerate(outboxes)]
        return outboxes

    def receive(self, incoming: list[list[tuple[int, Any]]]
                ) -> tuple[int, dict[str, int], dict[str, int]]:
        """Take this worker's new states (per generating worker, in worker order; its own
        from :meth:`admit`) as its part of the next frontier; check them."""
        violated: dict[str, int] = {}
        witnessed: dict[str, int] = {}
        frontier: list[tuple[int, Any]] = []
        for sender, states in enumerate(incoming):
            if sender == self.number:
                frontier += self.kept
            elif self.transport is not None:
                frontier += self.transport.adopt(sender, states)
            else:
                frontier += states
        self.kept = []
        screen = self.screen
        for fp, state in frontier:
            if self.marker is not None and self.marker(state):
                self.marked.append(fp)
            if self.pending:
                asked = list(self.pending.items())
                if screen is not None and screen[1](state):  # as explore's screen
                    asked = [(name, holds) for name, holds in asked if name not in screen[0]]
                for name, holds in asked:
                    if not holds(state):
                        violated[name] = fp
                        del self.pending[name]
            for name, reached in list(self.seeking.items()):
                if reached(state):
                    witnessed[name] = fp
                    del self.seeking[name]
            if self.grouped and self.group is not None:
                for name in self.group(state):
                    if name in self.grouped:
                        witnessed[name] = fp
                        self.grouped.discard(name)
                        self.group.drop(name)
        self.frontier = frontier
        self.levels.append(len(frontier))
        return len(frontier), violated, witnessed

    def dump(self) -> Dump:
        """The owned states' fingerprints (by local number), parent fingerprints and
        ordinals, the edges and marks, this process's peak memory and seen-set bytes, the
        states expanded here, this process's CPU seconds and the level sizes."""
        seen_bytes = self.seen.nbytes + self.parents.itemsize * len(self.parents) \
            + self.ordinals.itemsize * len(self.ordinals)
        return (self.seen.by_index(), np.frombuffer(self.parents, dtype=np.int64).copy(),
                np.frombuffer(self.ordinals, dtype=np.uint16).copy(),
                np.frombuffer(self.edges, dtype=np.int64).copy(),
                np.frombuffer(self.marked, dtype=np.int64).copy(), peak_memory_bytes(),
                seen_bytes, self.expanded, time.process_time(),
                np.asarray(self.levels, dtype=np.int64))

    def serve(self, conn: Connection) -> None:
        gc.set_threshold(*GC_THRESHOLD)  # a forked worker: see explorer.GC_THRESHOLD
        while True:
            command, argument = conn.recv()
            if command == "stop":
                conn.close()
                return
            else:
                conn.send(self.call(command, argument))

    def call(self, command: str, argument: Any) -> Any:
        """Run one command of the coordinator (``expand``, ``own``, ``admit``,
        ``receive``, ``seed``, ``dump``) and return its reply."""
        if command == "expand":
            return self.expand()
        if command == "own":
            return self.own(argument)
        if command == "admit":
            return self.admit(argument)
        if command == "receive":
            return self.receive(argument)
        if command == "seed":
            return self.seed(argument)
        if command == "dump":
            return self.dump()
        raise CheckError(f"unknown worker command {command!r}")

    def seed(self, initial: list[Any]) -> list[Offer]:
        """Fingerprint the initial states here (the workers compute every fingerprint they
        compare) and offer them, as :meth:`expand` offers successors."""
        outboxes: list[list[int]] = [[] for _ in range(self.workers)]
        self.candidates = []
        for ordinal, state in enumerate(initial):
            canonical = self.canon(state) if self.canon is not None else state
            fp = self.fingerprint(canonical)
            owner = (fp if self.partition is None else self.partition(canonical)) % self.workers
            self.candidates.append((fp, owner, state))
            outboxes[owner] += (fp, _ROOT, ordinal)
        return [_offer(box) for box in outboxes]


Fingerprints = npt.NDArray[np.int64]
Offer = npt.NDArray[np.int64]
"""Offered candidates: one ``(fingerprint, parent fingerprint, ordinal)`` row each."""
Dump = tuple[Fingerprints, Fingerprints, npt.NDArray[np.uint16], Fingerprints, Fingerprints,
             int, int, int, float, Fingerprints]


def _offer(flat: list[int]) -> Offer:
    return np.asarray(flat, dtype=np.int64).reshape(-1, 3)


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
    fingerprint: Callable[[S], int] = fast_fingerprint,
    transport: Transport | None = None,
    screen: tuple[frozenset[str], Callable[[S], bool]] | None = None,
    step_actions: Mapping[str, Callable[[A], bool]] | None = None,
    step_key: Callable[[A], object] = type,
    witness_group: WitnessGroup[S] | None = None,
    partition: Callable[[S], int] | None = None,
) -> Exploration[S, A]:
    """Explore like :func:`model_check.explorer.explore` (same arguments, no bounds) with
    ``workers`` forked processes owning a partition of the seen-set each; see the module
    docstring. ``fingerprint`` must agree across the workers (the kernel's: its state
    hash, not its packed ids); ``transport`` (a :class:`Transport`) carries the new states
    to their owners when the states are one process's ids; ``screen``,
    ``step_actions``, ``step_key`` and ``witness_group`` are
    :func:`~model_check.explorer.explore`'s; ``partition`` (a function of a canonical
    state, the same in every worker) says its owner, ``partition(state) % workers``
    (None: the fingerprint's; session 61). Raises
    :class:`~model_check.errors.CheckError` for ``workers < 1``, and, with a
    ``partition``, when two workers own distinct states of one fingerprint (a hash
    collision: one process, or the fingerprint's owner, keeps one state of a fingerprint;
    two owners keep both and the parent links, by fingerprint, could not say which)."""
    if workers < 1:
        raise CheckError(f"workers must be >= 1, got {workers}")
    checks = dict(invariants or {})
    context = multiprocessing.get_context("fork")
    conns: list[Connection] = []
    processes = []
    for number in range(workers):
        worker = _Worker(number, workers, successors, canonicalize, checks,
                         dict(witnesses or {}), dict(step_witnesses or {}), graph_edges,
                         marker, fingerprint, transport, screen, step_actions, step_key,
                         witness_group, partition)
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
    offers: list[list[Offer]] = [seeded] + [
        [_offer([]) for _ in range(count)] for _ in range(count - 1)]
    distinct = 0
    first = True
    while True:
        # Owners decide which offered fingerprints are new ...
        replies = [call("own", [offers[w][owner] for w in range(count)])
                   for owner, call in enumerate(workers)]
        parts: list[list[Fingerprints]] = [[] for _ in range(count)]
        for reply in replies:
            for offerer, new in enumerate(reply()):
                parts[offerer].append(new)
        accepted = [np.concatenate(p) for p in parts]
        # ... the workers that generated them hand them to their owners ...
        replies = [call("admit", new) for call, new in zip(workers, accepted, strict=True)]
        shipped: list[list[list[Any]]] = [reply() for reply in replies]
        # ... and the owners queue and check them.
        replies = [call("receive", [shipped[sender][owner] for sender in range(count)])
                   for owner, call in enumerate(workers)]
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
    dumps: list[Dump] = [reply() for reply in [call("dump", None) for call in workers]]
    RUNS.append([WorkerReport(int(d[0].size), d[7], d[8]) for d in dumps])
    # Number the states level by level (within a level in worker order, then each
    # worker's order), as one process numbers them, so that a lower index is never
    # deeper: "the lowest-index stuck state" is a shallowest one (numbered worker by
    # worker, a deep state of worker 0 came before a shallow one of worker 1 and the
    # convergence counterexample of strict-no-anti-entropy was 3 steps, not 2, for some
    # hash seeds). The links are fingerprints, the Exploration wants indices.
    depth_of = np.concatenate([np.repeat(np.arange(d[9].size, dtype=np.int64), d[9])
                               for d in dumps])
    by_level = np.argsort(depth_of, kind="stable")
    fps = np.concatenate([d[0] for d in dumps])[by_level]
    order = np.argsort(fps, kind="stable")
    ordered = fps[order]
    twins = ordered[1:][ordered[1:] == ordered[:-1]]
    if twins.size:  # only with a partition: an owner keeps one state of a fingerprint
        raise CheckError(f"{twins.size} fingerprint(s) owned by two workers, e.g. "
                         f"{int(twins[0]):#x}: distinct states of one 64-bit hash (a "
                         "collision; its traces would be ambiguous): check in one process")

    def number(wanted: Fingerprints) -> npt.NDArray[np.int64]:
        """The state index of each fingerprint, -1 where none has it."""
        pos = np.searchsorted(ordered, wanted)
        pos[pos == ordered.size] = 0
        found = ordered[pos] == wanted if ordered.size else np.zeros(wanted.shape, np.bool_)
        return np.where(found, order[pos] if ordered.size else -1, -1).astype(np.int64)

    def index_of(fp: int) -> int:
        return int(number(np.asarray([fp], dtype=np.int64))[0])

    sources = np.concatenate([d[1] for d in dumps])[by_level]
    roots = sources == _ROOT
    parent_index = np.full(fps.size, NO_PARENT, dtype=np.uint32)
    parent_index[~roots] = number(sources[~roots]).astype(np.uint32)
    parent = array("I", parent_index.tobytes())
    ordinal_of = array("H", np.concatenate([d[2] for d in dumps])[by_level]
                       .astype(np.uint16).tobytes())
    graph: StateGraph | None = None
    if with_graph:
        pairs = np.concatenate([d[3] for d in dumps]).reshape(-1, 2)
        src, dst = number(pairs[:, 0]), number(pairs[:, 1])
        kept = dst >= 0
        marked = np.zeros(fps.size, dtype=np.bool_)
        marks = np.concatenate([d[4] for d in dumps])
        if marks.size:
            marked[number(marks)] = True
        graph = StateGraph(
            int(fps.size),
            src[kept].astype(np.uint32),
            dst[kept].astype(np.uint32),
            marked,
            np.zeros(fps.size, dtype=np.bool_),
        )
    seen_bytes = sum(d[6] for d in dumps)
    return Exploration(
        distinct_states=int(fps.size),
        transitions=transitions,
        depth=depth,
        seconds=time.perf_counter() - started,
        peak_memory=max([peak_memory_bytes()] + [d[5] for d in dumps]),
        seen_bytes=seen_bytes,
        bounded=False,
        stopped_early=stopped_early,
        violations={name: index_of(fp) for name, fp in violations_fp.items()},
        graph=graph,
        witnessed={name: index_of(fp) for name, fp in witnessed_fp.items()},
        witnessed_steps={name: (index_of(fp), o)
                         for name, (fp, o) in witnessed_steps_fp.items()},
        reduced_states=0,
        levels=[int(size) for size in np.sum([d[9] for d in dumps], axis=0) if size],
        _initial=initial,
        _successors=successors,
        _parent=parent,
        _ordinal=ordinal_of,
    )
