"""Exhaustive conformance: every edge of the spec's reachable graph replayed on the
implementation (issue 12, section 2).

Theory of operation
-------------------
:func:`reachable_graph` explores the spec's reachable states breadth-first (no
symmetry reduction: the implementation's node names are not interchangeable) and
keeps each state's shortest path from the initial state. For every edge ``s --a-->
t`` (or a seeded sample of them), :func:`check_edge` builds a fresh
:class:`~model_check.refinement.Lockstep`, replays the shortest path to ``s``
through the node's public inputs (the steps of ``vdynamo replay --on impl``,
:func:`model_check.refinement_replay.step_action`; every step checked), performs
``a`` the same way and checks that ``t`` is among the spec states the lockstep
then holds. Replaying rather than cloning: a node's dispatch tables close over its
mechanisms, so a copy of a running cluster is not a faithful one.

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
from collections.abc import Iterator
from dataclasses import dataclass, field

from model_check.errors import ExplorationError
from model_check.refinement import Divergence, Lockstep
from model_check.refinement_replay import NotExpressible, step_action
from model_check.refinement_state import project, with_idle_clients
from spec import model as spec_model
from spec.actions import Action, Reap, Timeout
from spec.config import Config
from spec.state import State

__all__ = ["ConformanceReport", "check_edge", "conformance", "reachable_graph"]

Edge = tuple[State, Action, State]


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

    def row(self) -> str:
        """A markdown table row: configuration, states, edges, checked, outcomes, time."""
        return (f"| {self.config} | {self.states:,} | {self.edges:,} | {self.checked:,} | "
                f"{self.outcomes['agreed']:,} | {self.outcomes['diverged']:,} | "
                f"{self.outcomes['unmapped']:,} | {self.outcomes['source-unreached']:,} | "
                f"{self.seconds:.0f} s |")


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
        ahead: set[str] = set()  # nodes the implementation reaped before the path did
        try:
            for step in path:
                if ahead:  # only the spec's reaps of those nodes may come next
                    if not (isinstance(step, Reap) and ahead.issuperset(step.nodes)):
                        return "source-unreached"  # the path keeps a copy the impl reaped
                    ahead -= set(step.nodes)
                ahead |= _reap_ahead(ls, step)
        except (NotExpressible, ValueError, KeyError, LookupError):
            return "source-unreached"
        except Divergence as divergence:  # on the way: that edge diverges too
            return f"diverged: on the path: {divergence.step}"
        if ahead and not isinstance(action, Reap):
            return "source-unreached"
        try:
            step_action(ls, action)
        except NotExpressible:
            return "unmapped"
        except Divergence as divergence:
            return f"diverged: {divergence.step}: {divergence.report.splitlines()[0][:200]}"
        except (ValueError, KeyError, LookupError):
            return "unmapped"
        wanted = {project(with_idle_clients(state)) for state in _and_reaps(target, action)}
        if not any(project(state) in wanted for state in ls.frontier):
            return "diverged: the implementation reached another spec successor"
        return "agreed"
    finally:
        ls.cluster.close()


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


def _sample(edges: list[Edge], limit: int | None, seed: int) -> Iterator[Edge]:
    if limit is None or limit >= len(edges):
        yield from edges
        return
    yield from random.Random(seed).sample(edges, limit)


def conformance(config: Config, *, limit: int | None = None, seed: int = 0,
                max_states: int = 200_000) -> ConformanceReport:
    """Check every edge of ``config``'s reachable graph (``limit``: a seeded sample
    of that many edges) on the implementation."""
    began = time.perf_counter()
    parent, edges = reachable_graph(config, max_states)
    report = ConformanceReport(config.name, len(parent), len(edges))
    for source, action, target in _sample(edges, limit, seed):
        outcome = check_edge(config, path_to(parent, source), action, target)
        kind = outcome.split(":")[0]
        report.checked += 1
        report.outcomes[kind] += 1
        report.by_action[f"{action.kind} {kind}"] += 1
        if kind == "diverged" and len(report.divergences) < 20:
            report.divergences.append(f"{action.kind} after {len(path_to(parent, source))} "
                                      f"steps: {outcome}")
    report.seconds = time.perf_counter() - began
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m model_check.refinement_conformance [--limit N] [--seed S] [CONFIG ...]``:
    a table row per suite configuration (all of them by default)."""
    import argparse

    from model_check.suite import DEFAULT_SUITE, entry

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--limit", type=int, default=None, help="a seeded sample of edges")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("configs", nargs="*")
    args = parser.parse_args(argv)
    names = args.configs or [e.name for e in DEFAULT_SUITE]
    print("| configuration | states | edges | checked | agreed | diverged | unmapped "
          "| source unreached | time |")
    print("|---|---|---|---|---|---|---|---|---|")
    failed = False
    for name in names:
        report = conformance(entry(name).config, limit=args.limit, seed=args.seed)
        print(report.row(), flush=True)
        for line in report.divergences:
            print("   ", line, flush=True)
        failed = failed or bool(report.outcomes["diverged"])
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
