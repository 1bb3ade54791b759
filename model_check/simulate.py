"""Swarm simulation: seeded random walks over a model, checking safety on the way.

Theory of operation
-------------------
Exhaustive exploration stops where the state space outgrows the machine. Beyond
it, :func:`simulate` runs ``walks`` random walks over the same model (the
spec's, through the :class:`~model_check.model.Model` protocol) and evaluates
every ``always`` property (an invariant) on every state a walk reaches.

* Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012; TigerBeetle's VOPR):
  each walk draws its own *configuration of the walk generator*
  (:class:`WalkDraw`) before its first step, so that rare combinations of
  choices get a fair share of the walks instead of one fixed mix for all:

  - a *fault probability* ``p`` from :data:`FAULT_PROBABILITIES`: at every step
    the walk takes a fault among the enabled steps with probability ``p`` (when
    one is enabled), otherwise a non-fault step;
  - an *omission rate* from :data:`OMISSION_RATES`: each action kind
    (``kind_of(action)``; for the spec the action's name, and for a delivery the
    message's kind) is, when the walk first meets it, omitted with that
    probability. An omitted kind is taken only when no kept kind is enabled (it
    is postponed, never lost): a walk without read repair or anti-entropy, say,
    reaches the states those mechanisms would have repaired (Groce et al.'s
    feature omission: some features suppress a bug);
  - *newest first* (probability 1/2): among the steps left, only those whose
    action has been enabled for the fewest steps, so a message in flight since
    the walk's start can stay there while newer ones are delivered;
  - *novelty* (1/2): actions this walk has not taken yet before those it has
    (a second get at another node rather than the same one again);
  - *by kind* (1/2): a kind uniformly among the kinds left, then a step of it,
    rather than a step uniformly (a kind with one enabled step is as likely as
    one with six).

  Then a step uniformly among those left. The model's own fault budgets
  (``drops``, ``crashes`` ... in the configuration) still bound what a walk can
  do. With ``swarm=False`` a walk draws its fault probability alone and then
  chooses uniformly (the walk before session 34, kept to measure against: same
  seed, same walks as then).
* A walk ends at a state without successors, after ``max_steps`` steps, or at
  the first state violating a property; a violation ends the walk (its state is
  the trace's last).
* Reproducible: walk ``i`` uses ``random.Random(f"{seed}:{i}")`` (a string seed:
  stable across processes and Python versions, no ``hash()``), the model's
  successors come in a fixed order and kinds are drawn in the order the walk
  meets them, so the same seed gives the same walks and the same traces.
* For each violated property the *shortest* violating walk over all walks is
  kept (ties: the earliest walk), as a :class:`~model_check.trace.Trace` that
  ``vdynamo replay`` accepts. A simulation proves nothing holds: a property not
  violated is reported as such, never as ``holds``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from model_check.errors import CheckError
from model_check.model import Model

__all__ = ["FAULT_PROBABILITIES", "OMISSION_RATES", "Simulation", "Walk", "WalkDraw",
           "simulate"]

S = TypeVar("S")
A = TypeVar("A")

FAULT_PROBABILITIES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)
"""The per-walk fault probabilities a walk draws from (swarm testing)."""

OMISSION_RATES = (0.0, 0.4)
"""The per-walk probabilities that an action kind is omitted (swarm testing; 0.4 is
about the best rate for a bug that needs two kinds omitted and three kept,
``q**2 * (1 - q)**3``; half the walks omit nothing)."""


@dataclass(frozen=True, slots=True)
class WalkDraw:
    """One walk's configuration of the walk generator (module docstring)."""

    fault_probability: float
    omission: float = 0.0
    newest_first: bool = False
    novelty: bool = False
    by_kind: bool = False

    def to_json(self) -> dict[str, float | bool]:
        return {"fault_probability": self.fault_probability, "omission": self.omission,
                "newest_first": self.newest_first, "novelty": self.novelty,
                "by_kind": self.by_kind}


@dataclass(frozen=True, slots=True)
class Walk(Generic[S, A]):
    """A violating walk: which walk, its draw, its states and actions."""

    walk: int
    draw: WalkDraw
    states: tuple[S, ...]
    actions: tuple[A, ...]

    @property
    def fault_probability(self) -> float:
        return self.draw.fault_probability

    def __len__(self) -> int:
        return len(self.actions)


@dataclass(slots=True)
class Simulation(Generic[S, A]):
    """What :func:`simulate` found."""

    walks: int
    """Walks run (fewer than asked for when ``until_found`` stopped early)."""
    steps: int
    """Steps taken over all walks (transitions executed)."""
    seconds: float
    cpu_seconds: float
    seed: int
    violations: dict[str, Walk[S, A]] = field(default_factory=dict)
    """Property name -> the shortest walk violating it."""
    first_found: dict[str, int] = field(default_factory=dict)
    """Property name -> walks run up to and including its first violating walk."""

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    def statistics(self) -> str:
        return (f"{self.walks:,} walks, {self.steps:,} steps, {self.seconds:.2f} s "
                f"({self.steps_per_second:,.0f} steps per CPU-second), seed {self.seed}")


def _type_name(action: object) -> str:
    return type(action).__name__


def draw_walk(rng: random.Random, fault_probabilities: tuple[float, ...],
              swarm: bool) -> WalkDraw:
    """A walk's :class:`WalkDraw` from its ``rng`` (the fault probability first)."""
    p_fault = rng.choice(fault_probabilities)
    if not swarm:
        return WalkDraw(p_fault)
    return WalkDraw(p_fault, rng.choice(OMISSION_RATES), rng.random() < 0.5,
                    rng.random() < 0.5, rng.random() < 0.5)


def simulate(
    model: Model[S, A],
    invariants: Mapping[str, Callable[[S], bool]],
    walks: int,
    seed: int,
    *,
    max_steps: int = 60,
    fault_probabilities: tuple[float, ...] = FAULT_PROBABILITIES,
    kind_of: Callable[[A], str] = _type_name,
    swarm: bool = True,
    until_found: bool = False,
) -> Simulation[S, A]:
    """Run ``walks`` seeded random walks of at most ``max_steps`` steps over ``model``,
    evaluating ``invariants`` (name -> predicate) on every state; see the module docstring.
    ``kind_of`` names an action's kind (default: its class's name); ``swarm=False`` turns
    the swarm draw off (the fault probability alone, then uniform choice);
    ``until_found`` stops after the first walk by which every invariant has been violated
    (for measuring walks to a first violation).

    Raises :class:`~model_check.errors.CheckError` for ``walks < 1``, ``max_steps < 1``
    or a fault probability outside [0, 1].
    """
    if walks < 1:
        raise CheckError(f"the number of walks must be >= 1, got {walks}")
    if max_steps < 1:
        raise CheckError(f"max_steps must be >= 1, got {max_steps}")
    if not fault_probabilities or any(not 0.0 <= p <= 1.0 for p in fault_probabilities):
        raise CheckError(f"fault probabilities must lie in [0, 1], got {fault_probabilities}")
    started, cpu_started = time.perf_counter(), time.process_time()
    initial = model.initial_states()
    found: dict[str, Walk[S, A]] = {}
    first_found: dict[str, int] = {}
    total_steps = 0
    checks = tuple(invariants.items())
    run = 0
    for number in range(walks):
        rng = random.Random(f"{seed}:{number}")
        draw = draw_walk(rng, fault_probabilities, swarm)
        start = initial[rng.randrange(len(initial))]
        states, actions, broken = _walk(model, checks, rng, draw, start, max_steps, kind_of)
        run = number + 1
        total_steps += len(actions)
        for name in broken:
            first_found.setdefault(name, run)
            best = found.get(name)
            if best is None or len(actions) < len(best):
                found[name] = Walk(number, draw, tuple(states), tuple(actions))
        if until_found and len(first_found) == len(checks):
            break
    return Simulation(
        walks=run,
        steps=total_steps,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        seed=seed,
        violations=found,
        first_found=first_found,
    )


def _walk(
    model: Model[S, A],
    checks: tuple[tuple[str, Callable[[S], bool]], ...],
    rng: random.Random,
    draw: WalkDraw,
    state: S,
    max_steps: int,
    kind_of: Callable[[A], str],
) -> tuple[list[S], list[A], list[str]]:
    """One walk from ``state``: its states, its actions, the invariants its last state
    breaks (none when it ended without a violation)."""
    is_fault = model.is_fault
    states: list[S] = [state]
    actions: list[A] = []
    kept: dict[str, bool] = {}
    enabled_since: dict[A, int] = {}
    taken: set[A] = set()
    broken = [name for name, holds in checks if not holds(state)]
    while not broken and len(actions) < max_steps:
        steps = list(model.successors(state))
        if not steps:
            break
        if draw.newest_first:
            since = enabled_since
            enabled_since = {a: since.get(a, len(actions)) for a, _ in steps}
        if draw.omission:
            for action, _ in steps:
                kind = kind_of(action)
                if kind not in kept:
                    kept[kind] = rng.random() >= draw.omission
            steps = [s for s in steps if kept[kind_of(s[0])]] or steps
        faults = [s for s in steps if is_fault(s[0])]
        others = [s for s in steps if not is_fault(s[0])] if faults else steps
        pool = faults if faults and (not others or rng.random() < draw.fault_probability) \
            else others
        if draw.by_kind:
            kinds = sorted({kind_of(a) for a, _ in pool})
            kind = kinds[rng.randrange(len(kinds))]
            pool = [s for s in pool if kind_of(s[0]) == kind]
        if draw.novelty:
            pool = [s for s in pool if s[0] not in taken] or pool
        if draw.newest_first:
            newest = max(enabled_since[a] for a, _ in pool)
            pool = [s for s in pool if enabled_since[s[0]] == newest]
        action, state = pool[rng.randrange(len(pool))]
        states.append(state)
        actions.append(action)
        if draw.novelty:
            taken.add(action)
        broken = [name for name, holds in checks if not holds(state)]
    return states, actions, broken
