"""Small transition systems with known answers, for testing the generic explorer.

Each toy is a handful of pure functions over tuples: initial states, successors
labelled by actions (plain dicts, JSON-able like the spec's Action.to_json()).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Action = dict[str, Any]

# --------------------------------------------------------------------- counter pair


def counter_successors(bound: int) -> Any:
    """Two counters x, y in 0..bound; each step increments one of them."""

    def successors(state: tuple[int, int]) -> Iterator[tuple[Action, tuple[int, int]]]:
        x, y = state
        if x < bound:
            yield {"kind": "inc", "counter": "x"}, (x + 1, y)
        if y < bound:
            yield {"kind": "inc", "counter": "y"}, (x, y + 1)

    return successors


# --------------------------------------------------------------------- mutual exclusion
# State: (pc0, pc1, flag0, flag1); pc in {"idle", "wait", "crit"}.


def mutex_successors(correct: bool) -> Any:
    """Two processes guarding a critical section with flags.

    The buggy version checks the other's flag *before* raising its own (so both
    can pass the check, then both enter: a 4-step counterexample). The correct
    version raises its flag first, then waits for the other's to be down: mutual
    exclusion holds but both may raise their flags and wait forever (a deadlock
    after 2 steps).
    """

    def successors(
        state: tuple[str, str, bool, bool],
    ) -> Iterator[tuple[Action, tuple[str, str, bool, bool]]]:
        pcs = [state[0], state[1]]
        flags = [state[2], state[3]]
        for me in (0, 1):
            other = 1 - me
            pc = pcs[me]
            new_pcs, new_flags = list(pcs), list(flags)
            if pc == "idle":
                if correct:
                    new_pcs[me], new_flags[me] = "wait", True
                elif not flags[other]:
                    new_pcs[me] = "wait"
                else:
                    continue
            elif pc == "wait":
                if correct:
                    if flags[other]:
                        continue
                    new_pcs[me] = "crit"
                else:
                    new_pcs[me], new_flags[me] = "crit", True
            else:
                new_pcs[me], new_flags[me] = "idle", False
            yield (
                {"kind": "step", "process": me, "from": pc, "to": new_pcs[me]},
                (new_pcs[0], new_pcs[1], new_flags[0], new_flags[1]),
            )

    return successors


MUTEX_INITIAL = ("idle", "idle", False, False)


def mutual_exclusion(state: tuple[str, str, bool, bool]) -> bool:
    return not (state[0] == "crit" and state[1] == "crit")


# --------------------------------------------------------------------- replicas (liveness)


@dataclass(frozen=True, slots=True)
class Replicas:
    """A primary value x copied to a backup y over a link that faults can cut."""

    x: int = 0
    y: int = 0
    link_up: bool = True
    retries: int = 0


def replica_successors(repair: bool, max_writes: int = 2) -> Any:
    """Writes bump x (at most max_writes), sync copies x to y when the link is up.

    ``cut`` is the only fault. Without ``repair`` a cut link stays cut: after
    ``write, cut`` (2 steps) the replicas can never converge again, and a backup
    that keeps ``retry``-ing while the link is down loops forever (a livelock).
    """

    def successors(state: Replicas) -> Iterator[tuple[Action, Replicas]]:
        if state.x < max_writes:
            yield {"kind": "write"}, Replicas(state.x + 1, state.y, state.link_up, state.retries)
        if state.link_up:
            if state.y != state.x:
                yield {"kind": "sync"}, Replicas(state.x, state.x, True, state.retries)
            yield {"kind": "cut"}, Replicas(state.x, state.y, False, state.retries)
        else:
            if repair:
                yield {"kind": "repair"}, Replicas(state.x, state.y, True, state.retries)
            if state.y != state.x:
                yield {"kind": "retry"}, Replicas(state.x, state.y, False, 1 - state.retries)

    return successors


def replica_is_fault(action: Action) -> bool:
    return bool(action["kind"] == "cut")


def replicas_converged(state: Replicas) -> bool:
    return state.x == state.y


# --------------------------------------------------------------------- symmetric processes


def symmetric_successors(modulus: int = 3) -> Any:
    """N interchangeable processes, each with a local value; any one may increment it."""

    def successors(state: tuple[int, ...]) -> Iterator[tuple[Action, tuple[int, ...]]]:
        for i, value in enumerate(state):
            nxt = list(state)
            nxt[i] = (value + 1) % modulus
            yield {"kind": "inc", "process": i}, tuple(nxt)

    return successors


def sort_processes(state: tuple[int, ...]) -> tuple[int, ...]:
    """The symmetry representative: processes are interchangeable, so sort them."""
    return tuple(sorted(state))


# --------------------------------------------------------------------- graphs


def graph_successors(adjacency: dict[int, list[int]]) -> Any:
    """A directed graph as a transition system; the action names the edge."""

    def successors(node: int) -> Iterator[tuple[Action, int]]:
        for target in adjacency.get(node, []):
            yield {"kind": "edge", "from": node, "to": target}, target

    return successors
