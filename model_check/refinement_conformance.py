"""Exhaustive conformance: every edge of the spec's reachable graph replayed on the
implementation (issue 12, section 2).

Theory of operation
-------------------
:func:`reachable_graph` explores the spec's reachable states breadth-first (no
symmetry reduction: the implementation's node names are not interchangeable) and
keeps each state's shortest path from the initial state. Each edge ``s --a--> t``
(or a seeded sample of them) is checked on a lockstep
(:class:`~model_check.refinement.Lockstep`) at a state that maps to ``s``: ``a``
is performed through the node's public inputs (the steps of ``vdynamo replay --on
impl``, :func:`model_check.refinement_replay.step_action`, checked) and ``t`` must
be among the spec states the lockstep then holds. Two ways to reach ``s``, with
the same outcome for every edge (a test compares them):

- ``clone`` (the default, :func:`clone_outcomes`): a depth-first walk of the BFS
  tree takes every tree edge once on the implementation; at each state a
  snapshot of the lockstep (:mod:`model_check.refinement_snapshot`, a copy of
  the whole simulated cluster) is restored once per edge leaving it. The stack
  holds one lockstep per state on it, so memory grows with the depth and the
  branching, not with the graph;
- ``replay`` (the reference, :func:`check_edge`): a fresh lockstep per edge, the
  shortest path to ``s`` replayed step by step.

An edge's outcome is one of:

- ``agreed``: the implementation took the step and reached ``t``;
- ``diverged``: the step, or reaching ``t``, failed (a :class:`Divergence`: a bug
  of the implementation, the abstraction or the spec);
- ``unmapped``: the lockstep cannot express the step on the implementation (the
  spec's timeout of a replica that is reachable, which the implementation retries
  instead; a message the harness declared dead); counted, never hidden;
- ``source-unreached``: the path to ``s`` itself has such a step.
"""

from __future__ import annotations

import collections
import random
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from model_check.errors import ExplorationError
from model_check.refinement import Divergence, Lockstep
from model_check.refinement_replay import NotExpressible, step_action
from model_check.refinement_snapshot import LockstepSnapshot
from model_check.refinement_state import project, with_idle_clients
from spec import model as spec_model
from spec.actions import Action, Reap, Timeout
from spec.config import Config
from spec.errors import ConfigError
from spec.state import State

__all__ = ["ConformanceReport", "check_edge", "clone_outcomes", "conformance",
           "reachable_graph"]

Edge = tuple[State, Action, State]
#: the ways an edge's source is reached (see :func:`conformance`)
MODES = ("clone", "replay")
#: the header of :meth:`ConformanceReport.row`'s table
HEADER = ("| configuration | states | edges | checked | agreed | diverged | unmapped "
          "| source unreached | wall time | CPU time | CPU ms per edge |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


@dataclass
class ConformanceReport:
    """The outcome of a conformance run over one configuration."""

    config: str
    states: int
    edges: int
    checked: int = 0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    by_action: collections.Counter[str] = field(default_factory=collections.Counter)
    divergences: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: the process's CPU time (the wall time counts the other processes of a
    #: shared machine too)
    cpu_seconds: float = 0.0
    mode: str = "clone"

    def row(self) -> str:
        """A markdown table row (:data:`HEADER`): configuration, states, edges,
        checked, outcomes, wall time, CPU time, CPU milliseconds per checked edge
        (graph exploration included)."""
        per_edge = 1000 * self.cpu_seconds / self.checked if self.checked else 0.0
        return (f"| {self.config} | {self.states:,} | {self.edges:,} | {self.checked:,} | "
                f"{self.outcomes['agreed']:,} | {self.outcomes['diverged']:,} | "
                f"{self.outcomes['unmapped']:,} | {self.outcomes['source-unreached']:,} | "
                f"{_duration(self.seconds)} | {_duration(self.cpu_seconds)} | {per_edge:.1f} |")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.0f} min"


def reachable_graph(config: Config, max_states: int = 200_000
                    ) -> tuple[dict[State, tuple[State, Action] | None], list[Edge]]:
    """The spec's reachable states with each one's BFS parent (state, action), and
    every edge, in BFS order. Raises RuntimeError past ``max_states`` states."""
    start = spec_model.initial_state(config)
    parent: dict[State, tuple[State, Action] | None] = {start: None}
    depth = {start: 0}
    clean = {start: True}  # the shortest path chosen has no Timeout (always expressible)
    edges: list[Edge] = []
    queue = collections.deque([start])
    while queue:
        state = queue.popleft()
        for action, after in spec_model.successors(state):
            edges.append((state, action, after))
            via_clean = clean[state] and not isinstance(action, Timeout)
            if after not in parent:
                if len(parent) >= max_states:
                    raise ExplorationError(f"{config.name}: more than {max_states} states")
                parent[after] = (state, action)
                depth[after] = depth[state] + 1
                clean[after] = via_clean
                queue.append(after)
            elif via_clean and not clean[after] and depth[after] == depth[state] + 1:
                parent[after] = (state, action)  # as short, and replayable
                clean[after] = True
    return parent, edges


def path_to(parent: dict[State, tuple[State, Action] | None], state: State) -> list[Action]:
    """The shortest path's actions from the initial state to ``state``."""
    actions: list[Action] = []
    link = parent[state]
    while link is not None:
        before, action = link
        actions.append(action)
        link = parent[before]
    actions.reverse()
    return actions


def check_edge(config: Config, path: list[Action], action: Action, target: State) -> str:
    """Replay ``path`` then ``action`` on a fresh lockstep; the outcome (see the
    module docstring), with the divergence's first line after a colon."""
    ls = Lockstep(config)
    try:
        ahead: frozenset[str] = frozenset()
        for step in path:
            failed, blocked, ahead = _attempt(ls, step, ahead)
            if blocked is not None:
                return blocked
        failed, _, _ = _attempt(ls, action, ahead)
        return failed if failed is not None else _reached(ls, target, action)
    finally:
        ls.cluster.close()


def _attempt(ls: Lockstep, action: Action, ahead: frozenset[str]
             ) -> tuple[str | None, str | None, frozenset[str]]:
    """Take ``action`` on ``ls`` at a source where the implementation already reaped the
    nodes ``ahead`` that the spec's path has not (one reap timer of the implementation
    reaps every target node at once, one spec ``Reap`` each): the edge's outcome if it
    failed (else None), the outcome of every edge whose path goes through it if that
    path cannot go on (``source-unreached``, or diverged on the path; else None), and
    the nodes reaped ahead after it. While some are, only the spec's reaps may come next
    (a path that keeps a copy the implementation reaped is not reached)."""
    blocked: str | None = None
    if ahead:
        if not isinstance(action, Reap):
            return "source-unreached", "source-unreached", ahead
        if not ahead.issuperset(action.nodes):
            blocked = "source-unreached"
    try:
        extra = _reap_ahead(ls, action)
    except (NotExpressible, ValueError, KeyError, LookupError):
        return "unmapped", "source-unreached", ahead
    except Divergence as divergence:
        return (f"diverged: {divergence.step}: {divergence.report.splitlines()[0][:200]}",
                f"diverged: on the path: {divergence.step}", ahead)
    done = set(action.nodes) if isinstance(action, Reap) else set()
    return None, blocked, frozenset((ahead - done) | extra)


def _reap_ahead(ls: Lockstep, step: Action) -> set[str]:
    """Take ``step``; for a spec ``Reap``, the nodes the implementation reaped with it
    beyond the step's own (one reap timer reaps every target node at once)."""
    if not isinstance(step, Reap):
        step_action(ls, step)
        return set()
    key = step.key.encode()
    held = {n for n in ls.present if ls.cluster.storages[n].read(key) is not None}
    step_action(ls, step)
    return {n for n in held if ls.cluster.storages[n].read(key) is None} - set(step.nodes)


def _and_reaps(target: State, action: Action) -> list[State]:
    """``target``, and after a spec ``Reap`` every state further per-node reaps of its
    key reach from it: one reap timer of the implementation reaps every target node
    at once, one spec ``Reap`` each (checked step by step by the lockstep)."""
    found = [target]
    if isinstance(action, Reap):
        for state in found:
            found.extend(after for label, after in spec_model.successors(state)
                         if isinstance(label, Reap) and label.key == action.key
                         and after not in found)
    return found


def _reached(ls: Lockstep, target: State, action: Action) -> str:
    wanted = {project(with_idle_clients(state)) for state in _and_reaps(target, action)}
    if not any(project(state) in wanted for state in ls.frontier):
        return "diverged: the implementation reached another spec successor"
    return "agreed"


def clone_outcomes(config: Config, parent: dict[State, tuple[State, Action] | None],
                   edges: Iterable[Edge]) -> Iterator[tuple[Edge, str]]:
    """The outcome of each of ``edges``, each checked on a copy of a lockstep at its
    source (:class:`~model_check.refinement_snapshot.LockstepSnapshot`) rather than
    by replaying its path: a depth-first walk of the BFS tree of ``parent`` (the
    same shortest paths as :func:`check_edge`, so the same outcomes), which holds
    a lockstep and a snapshot for each state on the stack only. A state's tree
    children are reached by the step of their tree edge, checked or not; every
    other edge from it on a restored copy (the last one on the lockstep itself).
    Yields in depth-first order."""
    by_source: dict[State, list[tuple[Action, State]]] = collections.defaultdict(list)
    for source, action, target in edges:
        by_source[source].append((action, target))
    needed: set[State] = set()  # the sources and their tree ancestors
    for source in by_source:
        state: State | None = source
        while state is not None and state not in needed:
            needed.add(state)
            link = parent[state]
            state = link[0] if link is not None else None
    tree: dict[State, list[tuple[Action, State]]] = collections.defaultdict(list)
    for state in needed:
        link = parent[state]
        if link is not None:
            tree[link[0]].append((link[1], state))
    start = next(s for s, link in parent.items() if link is None)
    stack: list[tuple[State, Lockstep | str, frozenset[str]]] = [
        (start, Lockstep(config), frozenset())]
    while stack:
        state, held, ahead = stack.pop()
        checked = {action: target for action, target in by_source.get(state, ())}
        children = dict(tree.get(state, ()))
        steps = list(checked) + [a for a in children if a not in checked]
        if isinstance(held, str):  # the path to ``state`` failed: every edge from it too
            for action in checked:
                yield (state, action, checked[action]), held
            stack.extend((child, held, ahead) for child in children.values())
            continue
        if not steps:
            held.cluster.close()
        snapshot = LockstepSnapshot(held) if len(steps) > 1 else None
        for number, action in enumerate(steps):
            ls = held if snapshot is None or number == len(steps) - 1 else snapshot.restore()
            failed, blocked, after = _attempt(ls, action, ahead)
            if action in checked:
                outcome = (failed if failed is not None
                           else _reached(ls, checked[action], action))
                yield (state, action, checked[action]), outcome
            if action in children:
                stack.append((children[action], ls if blocked is None else blocked, after))
            if action not in children or blocked is not None:
                ls.cluster.close()


def _sample(edges: list[Edge], limit: int | None, seed: int) -> Iterator[Edge]:
    if limit is None or limit >= len(edges):
        yield from edges
        return
    yield from random.Random(seed).sample(edges, limit)


def conformance(config: Config, *, limit: int | None = None, seed: int = 0,
                max_states: int = 200_000, mode: str = "clone") -> ConformanceReport:
    """Check every edge of ``config``'s reachable graph (``limit``: a seeded sample
    of that many edges) on the implementation. ``mode``: ``"clone"`` (each source
    reached once, its edges on copies: :func:`clone_outcomes`) or ``"replay"``
    (each edge on a fresh lockstep, its path replayed: :func:`check_edge`); both
    give each edge the same outcome. ConfigError for another mode."""
    if mode not in MODES:
        raise ConfigError(f"conformance mode: one of {', '.join(MODES)}, got {mode!r}")
    began, cpu_began = time.perf_counter(), time.process_time()
    parent, edges = reachable_graph(config, max_states)
    report = ConformanceReport(config.name, len(parent), len(edges), mode=mode)
    chosen = list(_sample(edges, limit, seed))
    outcomes: Iterable[tuple[Edge, str]] = (
        clone_outcomes(config, parent, chosen) if mode == "clone"
        else (((s, a, t), check_edge(config, path_to(parent, s), a, t)) for s, a, t in chosen))
    for (source, action, _), outcome in outcomes:
        kind = outcome.split(":")[0]
        report.checked += 1
        report.outcomes[kind] += 1
        report.by_action[f"{action.kind} {kind}"] += 1
        if kind == "diverged" and len(report.divergences) < 20:
            report.divergences.append(f"{action.kind} after {len(path_to(parent, source))} "
                                      f"steps: {outcome}")
    report.seconds = time.perf_counter() - began
    report.cpu_seconds = time.process_time() - cpu_began
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m model_check.refinement_conformance [--limit N] [--seed S] [--mode M]
    [CONFIG ...]``:
    a table row per suite configuration (all of them by default)."""
    import argparse

    from model_check.suite import DEFAULT_SUITE, entry

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--limit", type=int, default=None, help="a seeded sample of edges")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", choices=MODES, default="clone",
                        help="reach each source by copying a snapshot (default) or by "
                        "replaying its path")
    parser.add_argument("configs", nargs="*")
    args = parser.parse_args(argv)
    names = args.configs or [e.name for e in DEFAULT_SUITE]
    print(HEADER)
    failed = False
    for name in names:
        report = conformance(entry(name).config, limit=args.limit, seed=args.seed,
                             mode=args.mode)
        print(report.row(), flush=True)
        for line in report.divergences:
            print("   ", line, flush=True)
        failed = failed or bool(report.outcomes["diverged"])
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
