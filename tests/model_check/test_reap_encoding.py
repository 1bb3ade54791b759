"""The Z3 encoding of the per-node safe reap (model_check/proofs/transition.py)
proves ``no_resurrection_after_reap`` only with its full guard: the seeded mutant
``down-replica`` (the guard reads only the up nodes' stores) is refuted, with a
reap at a node while a down replica still holds the deleted version."""

from __future__ import annotations

from typing import Any

import pytest
import z3

from model_check.proofs import transition
from model_check.proofs.framework import Verdict, decide
from model_check.proofs.invariants import (
    DELETE_SHAPE,
    _induction,
    no_resurrection_after_reap,
    strong_no_resurrection,
)


def _up_only(x: Any, params: Any, members: Any = None) -> list[Any]:
    puts = range(x.shape.puts)
    return [z3.Implies(z3.And(x.acked[d], params.tomb[d], params.hist[d][q],
                              z3.Not(params.tomb[q]), up), z3.Not(live[q]))
            for d in puts for q in puts if d != q for up, live in zip(x.up, x.live, strict=True)]


@pytest.mark.parametrize("mutant", [None, "down-replica"])
def test_the_safe_reap_guard_needs_the_down_replicas(mutant: str | None,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    if mutant:
        monkeypatch.setattr(transition, "reap_covered_nowhere", _up_only)
    outcome = decide(_induction(DELETE_SHAPE, strong_no_resurrection,
                                no_resurrection_after_reap, parts=("step",)))
    if mutant:
        assert outcome.verdict is Verdict.REFUTED
        assert outcome.counterexample is not None
        assert "step: reap at" in outcome.counterexample, outcome.counterexample
    else:
        assert outcome.verdict is Verdict.PROVED
