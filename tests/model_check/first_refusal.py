"""A Z3 agreement walk under a mutant, ended once it has refused what its test asks for.

Theory of operation
-------------------
A mutant's agreement test passes when the walk of a graph (or of a prefix of it)
refuses some edge: ``result.forward_failures > 0``, ``backward_failures > 0`` or
``not result.ok``. :func:`model_check.proofs.agreement.check_projections` checks the
states one after another, breadth first, so every state checked after the counts
the test asks for are reached is checked in vain: they only grow. Within
:func:`stopping_at_a_refusal` the walk checks the same states in the same order and
ends after the first state at which ``wanted(result)`` holds; :func:`check_graph`
then returns the figures so far. A walk that never gets there walks to its end, as
before, and its test fails as it did. Session 37 (docs/model-checking.md, "Where CI's
test time goes (session 37)").

Only for :func:`~model_check.proofs.agreement.check_graph` (one projection), and only
for a test that asserts counts that can only grow (not a pinned figure, nor a
``states`` or ``edges`` count of the whole walk).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from model_check.proofs import agreement
from model_check.proofs.agreement import GraphAgreement

__all__ = ["stopping_at_a_refusal"]


class _Enough(Exception):
    """The walk has what its test asks for (raised out of a state's check)."""

    def __init__(self, result: GraphAgreement) -> None:
        super().__init__(result.name)
        self.result = result


def _not_ok(result: GraphAgreement) -> bool:
    return not result.ok


@contextlib.contextmanager
def stopping_at_a_refusal(wanted: Callable[[GraphAgreement], bool] = _not_ok
                          ) -> Iterator[None]:
    """Within the block, a walk of :func:`~model_check.proofs.agreement.check_graph`
    ends after the first state whose check makes ``wanted(result)`` true (default:
    some edge refused either way), returning the figures so far."""
    check_state = agreement._check_state
    check_projections = agreement.check_projections

    def checked(*args: Any) -> None:
        check_state(*args)
        result = args[4]
        if wanted(result):
            raise _Enough(result)

    def projections(name: str, config: Any, **options: Any) -> list[GraphAgreement]:
        keys = options.get("keys")
        assert keys is not None and len(keys) == 1, "check_graph's one projection only"
        try:
            return check_projections(name, config, **options)
        except _Enough as enough:
            return [enough.result]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(agreement, "_check_state", checked)
        patch.setattr(agreement, "check_projections", projections)
        yield
