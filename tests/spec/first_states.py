"""The first states of a configuration, breadth-first, for tests that look at each."""

from __future__ import annotations

from collections.abc import Iterator

from spec.config import Config
from spec.model import initial_state, successors
from spec.state import State


def first_states(config: Config, limit: int) -> Iterator[State]:
    """The first ``limit`` states of ``config`` (the initial state first; a few more
    where the last expanded state adds them), breadth-first, without symmetry."""
    first = initial_state(config)
    seen = {first}
    queue = [first]
    for state in queue:
        yield state
        if len(seen) >= limit:
            continue
        for _, after in successors(state):
            if after not in seen:
                seen.add(after)
                queue.append(after)
