"""The properties asked of packed states a part at a time (model_check/packed_properties.py)
and the sometimes-properties a configuration rules out (``Property.possible``): the same
answers, on every reachable state, as asking each property of the decoded state, and
the same check() verdicts and traces; each short-cut has a mutant the tests catch."""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

from model_check import packed_properties
from model_check.check import CheckResult, check
from model_check.kernel import KernelModel, Packed
from model_check.packed_properties import (
    FLIGHT_PARTS,
    PackedWitnesses,
    _flight_view,
    flight_predicate,
)
from model_check.properties import PROPERTIES, SOMETIMES, Expectation, Property
from model_check.suite import DEFAULT_SUITE
from spec.config import Config
from spec.state import State

WALKED = ("sloppy-no-handoff", "strict-weak-quorum", "dvv-prune-retired-delete")
"""Covered entries walked whole: a convergence violation (504 states), a
read_your_writes violation, and deletes with pruning (every context witness asked)."""


def _config(name: str) -> Config:
    return next(e for e in DEFAULT_SUITE if e.name == name).config


def _reachable(model: KernelModel, limit: int = 2_500) -> list[Packed]:
    (start,) = model.initial_states()
    seen, queue = {start: None}, deque([start])
    while queue and len(seen) < limit:
        for _, successor in model.successors(queue.popleft()):
            if successor not in seen:
                seen[successor] = None
                queue.append(successor)
    return list(seen)


def _first_difference(model: KernelModel, states: list[Packed],
                      packed: Callable[[Packed], Any],
                      decoded: Callable[[State], Any]) -> Packed | None:
    for state in states:
        if packed(state) != decoded(model.decode(state)):
            return state
    return None


def _context_only(model: KernelModel, holds: Callable[[State], bool],
                  parts: tuple[str, ...]) -> Callable[[Packed], bool]:
    """A mutant of :func:`flight_predicate`: cached per context id alone (whether a
    message is in flight left out of the key)."""
    cache: dict[int, bool] = {}

    def asked(packed: Packed) -> bool:
        if packed[0] not in cache:
            cache[packed[0]] = holds(_flight_view(model.decode(packed), parts))
        return cache[packed[0]]

    return asked


@pytest.mark.parametrize("name", WALKED)
def test_the_flight_predicates_answer_as_the_spec_on_every_state(name: str) -> None:
    """convergence's target (the marker) and converged_after_a_write, cached per
    (context, any message in flight), are the spec's on every reachable state; the
    mutant keyed by the context alone is caught on sloppy-no-handoff (a context
    converged with nothing in flight, not with a message in flight)."""
    model = KernelModel(_config(name))
    states = _reachable(model)
    for prop in FLIGHT_PARTS:
        holds = PROPERTIES[prop].holds
        assert holds is not None
        fast = flight_predicate(model, holds, FLIGHT_PARTS[prop])
        assert _first_difference(model, states, fast, holds) is None, prop
    if name == "sloppy-no-handoff":
        holds = PROPERTIES["convergence"].holds
        assert holds is not None
        mutant = _context_only(model, holds, FLIGHT_PARTS["convergence"])
        assert _first_difference(model, states, mutant, holds) is not None


def _answers(witnesses: dict[str, Callable[[State], bool]]) -> Callable[[State], frozenset[str]]:
    return lambda state: frozenset(n for n, holds in witnesses.items() if holds(state))


@pytest.mark.parametrize("name", WALKED)
def test_the_witness_group_answers_each_witness_on_every_state(name: str) -> None:
    """:class:`PackedWitnesses` covers every state witness of the module, and gives on
    every reachable state the names that hold, as each witness asked of the decoded
    state; the mutant that never asks a witness of FLIGHT_PARTS with a message in
    flight apart (its key the context alone) is caught."""
    model = KernelModel(_config(name))
    states = _reachable(model)
    witnesses = {p.name: p.holds for p in SOMETIMES if p.holds is not None}
    group = PackedWitnesses(model, witnesses)
    assert group.names == set(witnesses)
    assert _first_difference(model, states, group, _answers(witnesses)) is None
    mutant = PackedWitnesses(model, witnesses)
    mutant.flight = False
    missed = _first_difference(model, states, mutant, _answers(witnesses))
    assert missed is not None


def test_a_flight_property_that_reads_the_messages_raises() -> None:
    """A property of FLIGHT_PARTS that reads more of the messages than whether one is
    in flight, or a part it does not declare, fails loudly rather than answering from
    the key."""
    model = KernelModel(_config("sloppy-no-handoff"))
    states = _reachable(model, 40)
    flying = next(s for s in states if model.decode(s).messages)
    counts = flight_predicate(model, lambda s: len(s.messages) > 1, ("nodes",))
    with pytest.raises(AssertionError, match="more of the messages"):
        counts(flying)
    reads_clients = flight_predicate(model, lambda s: bool(s.clients[0].acked), ("nodes",))
    with pytest.raises(AssertionError, match="outside its key"):
        reads_clients(flying)


def _figures(result: CheckResult) -> list[Any]:
    return [result.distinct_states, result.transitions, result.levels,
            [(r.property, r.verdict, r.trace.to_json() if r.trace else None)
             for r in result.results]]


def _ungated(props: list[Property[State, Any]]) -> list[Property[State, Any]]:
    return [dataclasses.replace(p, possible=None) for p in props]


GATED = [p for p in PROPERTIES.values() if p.possible is not None]


def test_only_sometimes_properties_are_gated_and_each_is_false_where_ruled_out() -> None:
    assert {p.name for p in GATED} == {"delete_acknowledged", "read_after_delete",
                                       "put_survives_delete", "retired_entry_pruned",
                                       "joined_node_coordinates",
                                       # session 56 (model_check.rebuild_witnesses)
                                       "rebuilding_put_unacked",
                                       "rebuilding_own_write_uncounted",
                                       "rebuilding_read_fails", "refused_target_acks_again",
                                       # session 59: the big configuration's never-found
                                       # step witnesses (docs/model-checking.md, "The
                                       # kernel at scale (session 59)")
                                       "anti_entropy_with_new_owner",
                                       "acked_after_refused_write",
                                       # session 60 (model_check.chain_witnesses)
                                       "write_after_own_write", "fresh_pair_minted"}
    assert all(p.kind is Expectation.SOMETIMES for p in GATED)
    config = _config("strict-weak-quorum")  # no delete, no pruning, no join
    assert not any(p.possible_in(config) for p in GATED)
    with pytest.raises(Exception, match="takes no possible"):
        Property("x", Expectation.ALWAYS, "x", lambda s: True, possible=bool)


@pytest.mark.parametrize(("name", "kernel", "max_states"), [
    ("strict-weak-quorum", True, None),  # every gated witness ruled out: not asked
    ("strict-weak-quorum", False, None),
    ("dvv-prune-retired-delete", True, 1_500),  # pruning and deletes: every gate open
    ("delete-join-pending", False, 1_500),  # a join: joined_node_coordinates
    ("disk-loss-rebuild-drop", False, 1_500),  # session 56: the rebuild's (no kernel)
    ("write-failure-duplicate", True, 1_500),  # session 56: refused_target_acks_again
    ("join-anti-entropy", True, None),  # session 59: anti_entropy_with_new_owner
    ("dvv-chain-fresh-pair", True, None),  # session 60: the chaining witnesses
])
def test_gated_properties_give_the_same_check(name: str, kernel: bool,
                                              max_states: int | None) -> None:
    """check() with the gates is check() with every sometimes-property asked, with the
    kernel and without: the same states, verdicts and traces."""
    props = list(PROPERTIES.values())
    config = _config(name)
    gated = check(config, props, max_states=max_states, kernel=kernel)
    assert _figures(gated) == _figures(check(config, _ungated(props), max_states=max_states,
                                             kernel=kernel))
    if name != "strict-weak-quorum":
        found = {r.property for r in gated.results if r.verdict == "found"}
        assert found >= GATED_FOUND[name]


#: a gated witness each configuration of the test above finds in its first 1,500 states
GATED_FOUND = {
    "dvv-prune-retired-delete": {"retired_entry_pruned", "delete_acknowledged"},
    "delete-join-pending": {"joined_node_coordinates"},
    "disk-loss-rebuild-drop": {"rebuilding_put_unacked", "rebuilding_own_write_uncounted",
                               "rebuilding_read_fails"},
    "write-failure-duplicate": {"refused_target_acks_again", "acked_after_refused_write"},
    "join-anti-entropy": {"anti_entropy_with_new_owner"},
    "dvv-chain-fresh-pair": {"write_after_own_write", "fresh_pair_minted"},
}


def test_a_gate_that_rules_out_too_much_is_caught() -> None:
    """The mutant gate of retired_entry_pruned that rules out every configuration:
    the witness found within 1,500 states of dvv-prune-retired-delete is then not."""
    prop = PROPERTIES["retired_entry_pruned"]
    config = _config("dvv-prune-retired-delete")
    assert check(config, [prop], max_states=1_500).verdict(prop.name) == "found"
    mutant = dataclasses.replace(prop, possible=lambda _: False)
    assert check(config, [mutant], max_states=1_500).verdict(prop.name) == "bounded"


def test_packed_properties_names_no_property_outside_the_module() -> None:
    assert set(packed_properties.FLIGHT_PARTS) <= set(PROPERTIES)
