"""Two keys in the Z3 encoding (session 32): a state of a configuration of several keys
is abstracted one key at a time (model_check/proofs/mapping.py ``abstract_state`` with a
key), another key's actions are stutters of the projection or the steps of
``transition._other_key_steps`` (a put id or a fault budget spent elsewhere), and the
suite's two-key entry agrees edge by edge, per key, both ways, and the inductive
invariants stay inductive over a key's projection (docs/proofs.md, "Two keys (session
32)"). A spec that lets one key's put write the other key's store, a projection that
filters nothing and an encoding whose other key's drops spend no budget are each caught;
keys sharing a copy break the induction."""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import z3

from model_check.errors import ProofInputError
from model_check.proofs import abstraction as enc
from model_check.proofs import invariants, mapping, transition
from model_check.proofs.agreement import GraphAgreement, check_projections
from model_check.proofs.edges import STUTTER, EdgeCheck
from model_check.proofs.framework import Verdict, decide
from model_check.proofs.mapping import projected_families, shape_of
from model_check.suite import entry
from spec import clocks, model
from spec.config import Config
from spec.step import Edit, Plan
from tests.model_check.test_proof_agreement import RELATIONS, _walks

SOAK = os.environ.get("HYPOTHESIS_PROFILE") == "soak"
NAME = "dvv-two-keys-drop"
#: the first states of the entry's breadth-first walk whose every edge CI checks, per
#: key and both ways (its 22,756 states under soak, as ``vdynamo prove --all-edges``)
CI_STATES = 1_500
#: the families a key's projection of the two-key entry must use (its own key's puts,
#: replica puts and acknowledgements, drops and anti-entropy, and the other key's puts
#: and drops)
FAMILIES = {"put", "put elsewhere", "replica-put", "replica-put-ack", "drop",
            "drop elsewhere", "anti-entropy"}
#: a configuration of two keys with every fault and a get per client: walks reach the
#: gets, read repair, hints, crashes and duplicates of both keys
RICH = Config(
    nodes=("n1", "n2", "n3", "n4"), n=3, r=2, w=2, sloppy_quorum=True, clock="dvv",
    crashes=1, drops=1, duplicates=1, clients=2, puts_per_client=1, gets_per_client=1,
    keys=("k", "j"),
)


def _whole(results: list[GraphAgreement]) -> None:
    """Both projections of the two-key entry agree on every edge they checked."""
    assert [r.key for r in results] == ["k", "j"]
    for result in results:
        assert result.ok, (result.key, result.disagreements, result.exact_disagreements)
        assert not result.not_encoded and result.outside == 0
        assert set(result.by_family) >= FAMILIES, (result.key, result.by_family)
        assert result.stutters > 0 and result.exact_proposals > 0
    k, j = results
    assert k.edges == j.edges and k.checked_states == j.checked_states
    # one key's put (drop) is the other's put (drop) elsewhere, edge for edge: neither
    # is ever a stutter (``performed``, ``elsewhere`` and ``drops`` change)
    for one, other in ((k, j), (j, k)):
        assert one.by_family["put"] == other.by_family["put elsewhere"]
        assert one.by_family["drop"] == other.by_family["drop elsewhere"]


def test_every_edge_of_the_two_key_entry_agrees_per_key() -> None:
    """The first ``CI_STATES`` states of dvv-two-keys-drop (every state under soak),
    every edge, per key, forward and backward (the exact steps here: anti-entropy)."""
    suite_entry = entry(NAME)
    results = check_projections(NAME, suite_entry.config, relations=RELATIONS,
                                max_states=None if SOAK else CI_STATES)
    _whole(results)
    if SOAK:
        for result in results:
            assert result.checked_states == result.states == suite_entry.distinct_states
            assert result.edges == suite_entry.transitions


def test_walks_of_two_keys_with_every_fault_agree_per_key() -> None:
    """Seeded walks of ``RICH`` (sloppy quorum, a crash, a drop, a duplicate, a get per
    client): every edge of every state met, per key, forward; the exact steps'
    successors backward. Gets, read repair, hints, crashes and the duplicate of another
    key's message are reached."""
    checks = {key: EdgeCheck(RICH, relations=RELATIONS, key=key) for key in RICH.keys}
    used: Counter[str] = Counter()
    proposed = 0
    for state, successors in _walks(RICH, 12, 40, 5):
        for key, check in checks.items():
            verdicts = check.edges(state, successors)
            for (action, _), verdict in zip(successors, verdicts, strict=True):
                assert verdict is not None, (key, action)
                if verdict != STUTTER:
                    used[check.steps_family(verdict)] += 1
            answer = check.exact_successors(state, [after for _, after in successors])
            assert answer is not None
            found, expected = answer
            assert all(candidate in expected for candidate in found), key
            proposed += len(found)
    assert {"get", "replica-get", "replica-get-reply", "handoff", "hint-deliver", "hint-ack",
            "crash", "recover", "timeout", "duplicate", "duplicate elsewhere",
            "put elsewhere", "drop elsewhere"} <= set(used), used
    assert proposed > 100


def test_a_projection_needs_its_key() -> None:
    """A configuration of several keys is abstracted per key: without a key, or with
    one it does not have, the encoding refuses it; the other key's actions map to the
    steps of another key's actions, a keyless action keeps its own."""
    config = entry(NAME).config
    with pytest.raises(ProofInputError, match="name the key"):
        shape_of(config)
    with pytest.raises(ProofInputError, match="no key"):
        shape_of(config, key="x")
    assert shape_of(config, key="k").other_keys and not shape_of(
        entry("dvv-two-clients-drop").config).other_keys
    with pytest.raises(ProofInputError, match="one key"):
        EdgeCheck(config, relations=RELATIONS)
    state = model.initial_state(config)
    put = next(a for a, _ in model.successors(state) if a.kind == "client-put" and a.key == "j")
    assert projected_families(put, state, "k") == ("put elsewhere",)
    assert projected_families(put, state, "j") == ("put",)
    assert projected_families(put, state, None) == ("put",)


def test_another_keys_steps_spend_a_put_id_or_a_budget_only() -> None:
    """What the forward agreement cannot see (it refuses steps, it does not miss a
    guard or a frame): the encoding's put of p needs p not performed elsewhere, and
    ``put p elsewhere`` needs p performed nowhere, so after it Z3 finds no step of
    either family for p; another key's steps change only ``elsewhere``, ``drops`` and
    ``duplicates``."""
    check = EdgeCheck(entry(NAME).config, relations=RELATIONS, key="k")
    for step in check.steps:
        if step.family in ("put", "put elsewhere") and step.name.startswith("put 1 "):
            solver = z3.Solver()
            solver.add(step.formula, check.x.elsewhere[0])
            assert solver.check() == z3.unsat, step.name
    assert sum(s.family == "put elsewhere" for s in check.steps) == check.shape.puts
    # another key's steps change nothing of this key's but what the keys share: no
    # store, message, record, hint, nor acknowledgement (an over-approximated step
    # that did would pass the forward agreement)
    shared = {"drops", "duplicates", *(f"elsewhere[{p + 1}]" for p in range(check.shape.puts))}
    others = [s for s in check.steps if s.family.endswith(" elsewhere")]
    assert len(others) == check.shape.puts + 2
    assert all(s.changes <= shared and not s.exact for s in others)


@pytest.mark.parametrize(("shape", "invariant", "prop"), [
    (invariants.SHAPE, invariants._strong_awd, enc.acked_writes_durable),
    (invariants.SHAPE, enc.strong_hints, enc.hint_kept_until_acked),
    (invariants.DELETE_SHAPE, invariants.strong_delete_shields,
     invariants.quorum_read_sees_delete),
], ids=["acked_writes_durable", "hint_kept_until_acked", "delete_shields"])
def test_the_inductive_invariants_hold_on_each_keys_projection(
        shape: enc.Shape, invariant: Any, prop: Any) -> None:
    """The proofs ``inductive_acked_writes_durable``, ``inductive_hint_kept_until_acked``
    and ``inductive_delete_shields_quorum_reads`` again over the projection's relation
    (their shapes with ``other_keys``): still inductive, so with the agreement above they
    hold for each key of a run of two keys, within the bounds."""
    two = dataclasses.replace(shape, other_keys=True)
    assert decide(invariants._induction(two, invariant, prop)).verdict is Verdict.PROVED


def _colliding_puts(x: Any, y: Any, params: Any, add: Any) -> None:
    """``transition._other_key_steps`` mutated: another key's put empties this key's
    copy at its coordinator (two keys sharing one slot of a store)."""
    nodes, puts = range(len(x.shape.nodes)), range(x.shape.puts)
    for p in puts:
        for c in nodes:
            add(f"put {p + 1} elsewhere at {x.shape.nodes[c]}", "put elsewhere", False,
                z3.Not(x.performed[p]), z3.Not(x.elsewhere[p]), y.elsewhere[p],
                *[z3.Not(y.store[c][q]) for q in puts],
                skip={f"elsewhere[{p + 1}]", *(f"store[{x.shape.nodes[c]}][{q + 1}]"
                                               for q in puts)},
                acknowledges=False)


def test_keys_sharing_a_copy_break_the_induction(monkeypatch: pytest.MonkeyPatch) -> None:
    """The twin: with another key's put emptying this key's copy, the strengthened
    acked_writes_durable is not inductive (Z3's counterexample: the put elsewhere takes
    a performed put's last copy)."""
    monkeypatch.setattr(transition, "_other_key_steps", _colliding_puts)
    two = dataclasses.replace(invariants.SHAPE, other_keys=True)
    outcome = decide(invariants._induction(two, invariants._strong_awd,
                                           enc.acked_writes_durable, parts=("step",)))
    assert outcome.verdict is Verdict.REFUTED
    assert "elsewhere" in (outcome.counterexample or ""), outcome.counterexample


# -- teeth ---------------------------------------------------------------------------------


def _writes_both_keys(original: Any) -> Any:
    """``spec.requests.client_requests`` mutated: a put of j also merges its new
    version into the coordinator's copy of k (a two-key-only spec mutant)."""

    def client_requests(state: Any, plan: Plan) -> Iterator[tuple[Any, Any]]:
        for action, after in original(state, plan):
            if action.kind == "client-put" and action.key == "j":
                node = after.node(action.node)
                k, j = plan.key_index["k"], plan.key_index["j"]
                edit = Edit(after, plan)
                edit.store(action.node, "k", clocks.merge(plan.config.clock, node.store[k],
                                                          node.store[j], after.puts))
                after = edit.build()
            yield action, after

    return client_requests


def test_a_put_that_writes_the_other_keys_store_is_caught(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A spec mutant only two keys can have: a put of j that writes k's copy too. Its
    edges are refused in k's projection (``put elsewhere`` touches no store of k), and
    only there (j's projection does not see k's copies)."""
    original = model.MECHANISMS
    monkeypatch.setattr(model, "MECHANISMS", (_writes_both_keys(original[0]), *original[1:]))
    k, j = check_projections(NAME, entry(NAME).config, relations=RELATIONS, max_states=300)
    assert k.forward_failures > 0 and all("key='j'" in d for d in k.disagreements)
    assert j.ok


def test_a_projection_that_filters_nothing_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken projection: every coordination record, message, hint and put counted
    as the projected key's (the one-key abstraction read over both keys): the other
    key's puts are refused in both projections."""
    monkeypatch.setattr(mapping, "_belongs", lambda part_key, key: True)
    results = check_projections(NAME, entry(NAME).config, relations=RELATIONS,
                                max_states=300, backward=False)  # forward only
    for result, other in zip(results, ("j", "k"), strict=True):
        assert result.forward_failures > 0
        assert all(f"key='{other}'" in d for d in result.disagreements), result.disagreements


def _free_drops(x: Any, y: Any, params: Any, add: Any) -> None:
    """``transition._other_key_steps`` mutated: another key's drop spends no budget of
    this key's (budgets per key)."""
    add("drop elsewhere", "drop elsewhere", False, y.drops == x.drops, skip=set(),
        acknowledges=False)
    for p in range(x.shape.puts):
        add(f"put {p + 1} elsewhere", "put elsewhere", False, z3.Not(x.performed[p]),
            z3.Not(x.elsewhere[p]), y.elsewhere[p], skip={f"elsewhere[{p + 1}]"},
            acknowledges=False)


def test_budgets_kept_per_key_are_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """An encoding whose projections keep their own drop budget: the other key's drop
    spends the shared budget in the spec, and that edge is refused (a relation of its
    own: the mutated one is not shared)."""
    monkeypatch.setattr(transition, "_other_key_steps", _free_drops)
    (k,) = check_projections(NAME, entry(NAME).config, keys=("k",), max_states=300,
                             backward=False)  # forward only
    assert k.forward_failures > 0
    assert all("Drop(" in d and "key='j'" in d for d in k.disagreements), k.disagreements
