"""What the session-37 pruning durability proofs cover (review, session 37;
docs/proofs.md, "Pruning, deletes and disk loss (session 37)", "Review").

Two kinds of weakening the proofs' own tests let through: the exemption of
``acked_writes_durable`` read for any performed delete, whether it covers the put or
not (``abstraction.deleted`` without ``hist[d][p]``: the proofs still hold, on a
weaker statement), and the query sets narrowed (the deletes proof without immediate
reaping, the disk-loss proof without ``prune_retired = 1``: still proved, on fewer
shapes). Each test here is a Z3 check of a few literals or a walk of the builders
with the induction stubbed out (no solving), well under a CPU-second.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import z3

from model_check.proofs import pruning_durable
from model_check.proofs.abstraction import deleted, durable_unless_deleted, new_states
from model_check.proofs.pruning_durable import DELETE_SHAPE, LOSS_SHAPE


def test_only_a_delete_covering_the_put_exempts_it() -> None:
    """A performed delete exempts only the puts in its history: with delete 2
    performed and tombstoned, an acknowledged put 1 in no store is a violation unless
    the delete's history holds it (neither other put id a tombstone nor acknowledged)."""
    x, _, params = new_states(DELETE_SHAPE)
    fixed = [x.performed[1], params.tomb[1], z3.Not(params.tomb[0]), z3.Not(params.tomb[2]),
             x.acked[0], z3.Not(x.acked[1]), z3.Not(x.acked[2])]
    for covered in (False, True):
        solver = z3.Solver()
        solver.add(*fixed, params.hist[1][0] == covered, z3.Not(deleted(x, params, 0)))
        assert (solver.check() == z3.sat) == (not covered)
        solver = z3.Solver()
        solver.add(*fixed, params.hist[1][0] == covered,
                   z3.Not(durable_unless_deleted(x, params)))
        assert (solver.check() == z3.sat) == (not covered)


def _shapes(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Any]:
    """The shapes the registered proof ``name`` asks the induction of (the induction
    stubbed: no query built)."""
    asked: list[Any] = []

    def record(shape: Any, hypotheses: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(shape)
        return iter(())

    monkeypatch.setattr(pruning_durable, "_durable", record)
    proof = next(p for p in pruning_durable.PROOFS if p.name == name)
    list(proof.check())
    return asked


def test_the_deletes_proof_asks_every_knowledge_keep_and_immediate_reaping(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Safe reaping with knowledge all, own, learnt and prune_retired 0 and 1, and
    immediate reaping with knowledge all and prune_retired 0 (as its bounds say)."""
    asked = _shapes(monkeypatch, "inductive_pruning_keeps_acked_writes_with_deletes")
    wanted = [replace(DELETE_SHAPE, prune=prune, keep=keep)
              for prune in ("all", "own", "learnt") for keep in (0, 1)]
    wanted.append(replace(DELETE_SHAPE, reap_mode="immediate", prune="all", keep=0))
    assert asked == wanted


def test_the_disk_loss_proof_asks_every_knowledge_and_keep(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Knowledge all, own, learnt and prune_retired 0 and 1, each with buffered
    crashes and disk losses."""
    asked = _shapes(monkeypatch, "inductive_pruning_keeps_acked_writes_with_disk_loss")
    assert asked == [replace(LOSS_SHAPE, prune=prune, keep=keep)
                     for prune in ("all", "own", "learnt") for keep in (0, 1)]
    assert all(shape.buffered and shape.deletes for shape in asked)
