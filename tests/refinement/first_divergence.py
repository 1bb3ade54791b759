"""A conformance run under a mutant, ended at the first divergence its test asks for.

Theory of operation
-------------------
A mutant's conformance test passes when some edge of the run diverges
(``report.outcomes["diverged"] > 0``, or some divergence of a kind). The run
checks the edges one after another (:func:`model_check.refinement_conformance.detour_outcomes`,
depth-first in clone mode), so every edge after the first such divergence is
checked in vain: the verdict cannot change. Within :func:`stopping_at_a_divergence`
:func:`~model_check.refinement_conformance.conformance` yields the same edges in
the same order, and stops after the first divergence ``wanted`` accepts: the
report then counts the edges checked up to it, that divergence among them. A run
with no such divergence checks every edge, as before, and its test fails as it
did. Session 37: the pruning mutants of tests/refinement/test_prune_retired_lockstep.py
diverge first at edges 136-439 of their shard's 2,195 (docs/model-checking.md,
"Where CI's test time goes (session 37)").

Not for a test that asserts something of every divergence (``all(...)`` over
``report.divergences``) or of the run's other outcomes: those need the whole run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from model_check import refinement_conformance
from spec.actions import Action

__all__ = ["stopping_at_a_divergence"]


def _any(action: Action, outcome: str) -> bool:
    return True


@contextlib.contextmanager
def stopping_at_a_divergence(wanted: Callable[[Action, str], bool] = _any
                             ) -> Iterator[None]:
    """Within the block, a conformance run stops after the first edge whose outcome
    is a divergence (``"diverged: ..."``) that ``wanted(action, outcome)`` accepts
    (default: any); ``action`` is the edge's spec action (its ``kind`` begins the
    report's line for it)."""
    real = refinement_conformance.detour_outcomes

    def until_wanted(*args: Any, **kwargs: Any
                     ) -> Iterator[tuple[refinement_conformance.Edge, str, int]]:
        for edge, outcome, number in real(*args, **kwargs):
            yield edge, outcome, number
            if outcome.startswith("diverged") and wanted(edge[1], outcome):
                return

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(refinement_conformance, "detour_outcomes", until_wanted)
        yield
