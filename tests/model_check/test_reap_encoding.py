"""The Z3 encoding of the per-node safe reap (model_check/proofs/transition.py)
proves ``no_resurrection_after_reap`` and ``delete_shields`` only with its full
guard: the seeded mutants ``down-replica`` (the guard reads only the up nodes'
stores) and ``not-quiet`` (no guard 2: something about the key may be in flight)
are refuted, each with a reap. And ``delete_shields`` is the invariant the
checker's delete-immediate counterexample breaks (at its reap, two steps before
the get that returns the deleted value), where ``no_resurrection_after_reap``
holds on every state of that trace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import z3

from model_check import properties
from model_check.proofs import transition
from model_check.proofs.edges import EdgeCheck
from model_check.proofs.framework import Verdict, decide
from model_check.proofs.invariants import (
    DELETE_SHAPE,
    _fewer_losses_than_w,
    _induction,
    delete_shields,
    no_resurrection_after_reap,
    strong_delete_shields,
    strong_no_resurrection,
)
from model_check.suite import entry
from spec import model
from spec.actions import Reap, action_from_json
from spec.config import Config
from tests.conftest import PROFILE
from tests.proof_cache import delete_readings, graph_readings, superseded_not_live
from tests.run_cache import run_cache_dir

TRACE = (Path(__file__).resolve().parents[1] / "refinement" / "traces"
         / "delete-immediate.no_resurrection.json")


def _up_only(x: Any, params: Any, members: Any = None) -> list[Any]:
    puts = range(x.shape.puts)
    return [z3.Implies(z3.And(x.acked[d], params.tomb[d], params.hist[d][q],
                              z3.Not(params.tomb[q]), up), z3.Not(live[q]))
            for d in puts for q in puts if d != q for up, live in zip(x.up, x.live, strict=True)]


def _no_loss(params: Any) -> Any:
    return params.max_losses == 0


def _nothing_quiet(x: Any, params: Any) -> list[Any]:
    return []


def _gets_ignored(x: Any, params: Any) -> list[Any]:
    """Guard 2 without its get part (session 39): a reply in flight or a coordination
    record may hold a live version a performed delete covers."""
    quiet = [z3.Not(f) for r in x.wmsg for f in r]
    quiet += [z3.Not(f) for f in x.hint.values()]
    return quiet + [c == 0 for c in (*x.hmsg.values(), *x.hack.values())]


MUTANTS = {"down-replica": ("reap_covered_nowhere", _up_only),
           "not-quiet": ("key_quiet", _nothing_quiet),
           "gets-ignored": ("key_quiet", _gets_ignored)}
INVARIANTS = {"after-reap": (strong_no_resurrection, no_resurrection_after_reap, None),
              "shields": (strong_delete_shields, delete_shields, None),
              "shields-disk-loss": (strong_delete_shields, delete_shields,
                                    _fewer_losses_than_w)}


@pytest.mark.parametrize("invariant", list(INVARIANTS))
@pytest.mark.parametrize("mutant", [None, *MUTANTS])
def test_the_safe_reap_guard_needs_each_part(mutant: str | None, invariant: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if mutant:
        monkeypatch.setattr(transition, *MUTANTS[mutant])
    strong, prop, losses = INVARIANTS[invariant]
    outcome = decide(_induction(DELETE_SHAPE, strong, prop, parts=("step",),
                                losses=losses or _no_loss))
    if mutant:
        assert outcome.verdict is Verdict.REFUTED
        assert outcome.counterexample is not None
        assert "step: reap at" in outcome.counterexample, outcome.counterexample
    else:
        assert outcome.verdict is Verdict.PROVED


def test_the_checkers_immediate_reap_breaks_the_shields_invariant() -> None:
    """Replay the checker's ``no_resurrection`` counterexample of delete-immediate
    (tests/refinement/traces): its reap (n1 reaps while n2, which missed the delete,
    holds v1 and n3 still holds the tombstone) is a step of the encoding from a
    state of the strengthened invariant to one where fewer than W stores cover the
    delete -- a concrete counterexample to induction, the twin's. The get that
    returns v1 comes two steps later; ``no_resurrection_after_reap`` holds on every
    state of the trace, so it alone does not exclude this resurrection."""
    config = entry("delete-immediate").config
    check = EdgeCheck(config)
    state = model.initial_state(config)
    run: list[tuple[Any, Any]] = [(None, state)]
    for data in json.loads(TRACE.read_text())["actions"]:
        wanted = action_from_json(dict(data))
        state = next(after for action, after in model.successors(state) if action == wanted)
        run.append((wanted, state))
    assert all(check.holds(no_resurrection_after_reap, s) for _, s in run)
    broken = next(j for j, (_, s) in enumerate(run) if not check.holds(delete_shields, s))
    action, post = run[broken]
    pre = run[broken - 1][1]
    assert isinstance(action, Reap) and action.nodes == ("n1",)
    assert check.holds(strong_delete_shields, pre)
    step = check.edge(pre, action, post)
    assert step is not None and step.startswith("reap at"), step
    assert not properties.no_resurrection(run[-1][1])
    assert all(properties.no_resurrection(s) for _, s in run[:-1])
    assert broken == len(run) - 3  # the reap, a replica get, the reply that answers v1


#: delete-immediate's 128,103 states take about 20 CPU-s: soak only (CI: delete-safe,
#: 14,151 states, about 4 CPU-s in session 43)
SUPERSEDED = ["delete-safe", *(["delete-immediate"] if PROFILE == "soak" else [])]


@pytest.mark.parametrize("name", SUPERSEDED)
def test_a_store_covering_a_delete_holds_nothing_it_deleted(
        name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """The step from ``quorum_read_sees_delete`` to a get that returns nothing the
    delete covers is the spec's merge, which the encoding over-approximates for
    live versions (docs/proofs.md): a reply covering the delete makes the
    reconciliation drop what it deleted. Checked here at the level of stores
    (:func:`tests.proof_cache.superseded_not_live`), on every reachable state of
    delete-safe and (soak) delete-immediate (the get reconciles its replies with the
    same ``spec.clocks.merge``). Session 45: delete-safe's states read once per test
    run with test_proof_agreement.py's invariants (:func:`tests.proof_cache.graph_readings`;
    one client, so symmetry is the identity and every state is its class)."""
    config = entry(name).config
    assert config.clients == 1
    predicates = (delete_readings() if name == "delete-safe"
                  else {"superseded_not_live": superseded_not_live})
    read = graph_readings(run_cache_dir(tmp_path_factory), config, predicates)
    assert read.name == name
    assert read.failing["superseded_not_live"] == 0, read.first["superseded_not_live"]
    assert read.states == entry(name).distinct_states


LOSS_TRACE = Path(__file__).resolve().parent / "delete-safe-disk-loss.no_resurrection.json"


def test_the_checkers_disk_loss_resurrection_is_the_disk_loss_twin() -> None:
    """delete-safe with one disk loss (not a suite entry: 274,242 states, about 60
    CPU-s; the trace cached from ``vdynamo check``, docs/proofs.md): the checker's
    ``no_resurrection`` counterexample is the twin of
    ``inductive_delete_shields_with_disk_loss``. The delete is acknowledged by n1 and
    n3, n2 holds v1; n1 loses its disk; a get answered by n1 and n2 (R = 2, R + W > N
    but not R + W - losses > N) returns v1, with no reap. Every step is one the
    encoding explains, and the strengthened invariant (``W - losses``) holds on
    every state: it is the read that needs the larger quorum."""
    data = json.loads(LOSS_TRACE.read_text())
    config = Config.from_json(data["config"])
    assert config.disk_losses == 1 and config.delete_mode == "safe"
    check = EdgeCheck(config)
    state = model.initial_state(config)
    run = [state]
    for item in data["actions"]:
        wanted = action_from_json(dict(item))
        after = next(a for action, a in model.successors(state) if action == wanted)
        step = check.edge(state, wanted, after)
        assert step is not None, wanted
        state = after
        run.append(state)
    assert all(check.holds(strong_delete_shields, s) for s in run)
    assert all(properties.acked_writes_durable(s) for s in run)
    assert not properties.no_resurrection(run[-1])
    assert all(properties.no_resurrection(s) for s in run[:-1])
    kinds = [item["action"] for item in data["actions"]]
    assert "reap" not in kinds and kinds.count("disk-loss") == 1
    lost = next(item["node"] for item in data["actions"] if item["action"] == "disk-loss")
    last = data["actions"][-1]["message"]  # the reply that answers the get with v1
    assert (lost, last["src"], last["dst"]) == ("n1", "n1", "n2")
