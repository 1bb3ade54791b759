"""Swarm simulation: seeded random walks over a model, checking safety on the way.

Theory of operation
-------------------
Exhaustive exploration stops where the state space outgrows the machine. Beyond
it, :func:`simulate` runs ``walks`` random walks over the same model (the
spec's, through the :class:`~model_check.model.Model` protocol) and evaluates
every ``always`` property (an invariant) on every state a walk reaches.

* Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012; TigerBeetle's VOPR):
  each walk draws its own *fault probability* ``p`` from
  :data:`FAULT_PROBABILITIES`. At every step the walk first looks at the
  enabled steps; with probability ``p`` it takes a fault among them (when one is
  enabled), otherwise a non-fault step, each uniformly. Some walks are thus
  fault-heavy and others nearly fault-free, which reaches corners that one fixed
  mix of actions rarely does. The model's own fault budgets (``drops``,
  ``crashes`` ... in the configuration) still bound what a walk can do.
* A walk ends at a state without successors, after ``max_steps`` steps, or at
  the first state violating a property; a violation ends the walk (its state is
  the trace's last).
* Reproducible: walk ``i`` uses ``random.Random(f"{seed}:{i}")`` (a string seed:
  stable across processes and Python versions, no ``hash()``), and the model's
  successors come in a fixed order, so the same seed gives the same walks and
  the same traces.
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

__all__ = ["FAULT_PROBABILITIES", "Simulation", "Walk", "simulate"]

S = TypeVar("S")
A = TypeVar("A")

FAULT_PROBABILITIES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)
"""The per-walk fault probabilities a walk draws from (swarm testing)."""


@dataclass(frozen=True, slots=True)
class Walk(Generic[S, A]):
    """A violating walk: which walk, its fault probability, its states and actions."""

    walk: int
    fault_probability: float
    states: tuple[S, ...]
    actions: tuple[A, ...]

    def __len__(self) -> int:
        return len(self.actions)


@dataclass(slots=True)
class Simulation(Generic[S, A]):
    """What :func:`simulate` found."""

    walks: int
    steps: int
    """Steps taken over all walks (transitions executed)."""
    seconds: float
    cpu_seconds: float
    seed: int
    violations: dict[str, Walk[S, A]] = field(default_factory=dict)
    """Property name -> the shortest walk violating it."""

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    def statistics(self) -> str:
        return (f"{self.walks:,} walks, {self.steps:,} steps, {self.seconds:.2f} s "
                f"({self.steps_per_second:,.0f} steps per CPU-second), seed {self.seed}")


def simulate(
    model: Model[S, A],
    invariants: Mapping[str, Callable[[S], bool]],
    walks: int,
    seed: int,
    *,
    max_steps: int = 60,
    fault_probabilities: tuple[float, ...] = FAULT_PROBABILITIES,
) -> Simulation[S, A]:
    """Run ``walks`` seeded random walks of at most ``max_steps`` steps over ``model``,
    evaluating ``invariants`` (name -> predicate) on every state; see the module docstring.

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
    total_steps = 0
    checks = tuple(invariants.items())
    is_fault = model.is_fault
    for number in range(walks):
        rng = random.Random(f"{seed}:{number}")
        p_fault = rng.choice(fault_probabilities)
        state = initial[rng.randrange(len(initial))]
        states: list[S] = [state]
        actions: list[A] = []
        broken = [name for name, holds in checks if not holds(state)]
        while not broken and len(actions) < max_steps:
            steps = list(model.successors(state))
            if not steps:
                break
            faults = [s for s in steps if is_fault(s[0])]
            others = [s for s in steps if not is_fault(s[0])] if faults else steps
            pool = faults if faults and (not others or rng.random() < p_fault) else others
            action, state = pool[rng.randrange(len(pool))]
            states.append(state)
            actions.append(action)
            broken = [name for name, holds in checks if not holds(state)]
        total_steps += len(actions)
        for name in broken:
            best = found.get(name)
            if best is None or len(actions) < len(best):
                found[name] = Walk(number, p_fault, tuple(states), tuple(actions))
    return Simulation(
        walks=walks,
        steps=total_steps,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        seed=seed,
        violations=found,
    )
