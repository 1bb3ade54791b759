"""The late re-transfer in the lockstep (session 35).

The spec's late re-transfer (``spec.membership.late_transfers``: a ``Transfer`` of
a transfer that arrived carrying versions, sent again once a write reached its
sender) maps to ``Lockstep.transfer``: a hint scan at the old owner due for the hint
it keeps of the key for the new owner, which ``impl.gossip.Gossiper.on_write`` ->
``_hand`` replaced with the whole record when the late write arrived; the step's
check compares that delivery with the spec's message. Before session 35 the spec had
no such step: the handover that followed such a write was unmapped (the
implementation forwards the write first), and so was every edge behind it.

Each scenario is the shortest spec path to the first re-transfer of a suite entry
(:func:`tests.spec.test_late_transfer._search`), replayed on a fresh lockstep
(:func:`model_check.refinement_conformance.check_edge`).
"""

from __future__ import annotations

import pytest

from model_check.refinement import Lockstep
from model_check.refinement_conformance import check_edge, unmapped_kind
from model_check.refinement_replay import step_action
from model_check.refinement_state import LockstepState
from model_check.trace_membership import diagnose
from spec.actions import Action, Deliver, Handover, Transfer
from spec.errors import InvalidValueError
from spec.model import successors
from spec.state import Kind, State
from tests.refinement.mutations import REVIEW3_MUTANTS, _mutant
from tests.spec.test_late_transfer import _adds_copy, _again, _config, _search

ENTRIES = ("delete-join-pending", "delete-join-immediate", "delete-leave-pending")


def _first_re_transfer(name: str) -> tuple[list[Action], State, Transfer, State]:
    """The shortest path to the first state with a late re-transfer, that state, the
    re-transfer and the state it leads to."""
    state, path = _search(_config(name), lambda s: any(True for _ in _again(s)))
    (action, after), = list(_again(state))
    return path, state, action, after


@pytest.mark.parametrize("name", ENTRIES)
def test_the_late_re_transfer_maps_to_the_old_owners_kept_hint(name: str) -> None:
    """The re-transfer edge agrees, and so does the handover once it arrived (every
    kept hint of the change then has its acknowledgement in flight)."""
    path, _, action, after = _first_re_transfer(name)
    assert check_edge(_config(name), path, action, after) == "agreed"
    sent, = [m for m in after.messages if m.kind is Kind.RANGE_TRANSFER]
    delivered = dict(successors(after))[Deliver(sent)]
    handovers = [(a, s) for a, s in successors(delivered) if isinstance(a, Handover)]
    for handover, target in handovers:
        assert check_edge(_config(name), [*path, action, Deliver(sent)], handover,
                          target) == "agreed"
    if name != "delete-join-immediate":  # (the naive handover waits for the delete)
        assert handovers


def test_the_handover_before_the_re_transfer_is_unmapped() -> None:
    """The spec may hand over before it forwards (a possibility, not a duty: the
    implementation's transfer acknowledged before the write ends the forwarding);
    the lockstep, which holds the transfers' acknowledgements until the handover,
    has forwarded already, so that handover is not the implementation's: unmapped,
    naming the re-transfer that comes first."""
    config = _config("delete-join-pending")
    path, state, action, _ = _first_re_transfer(config.name)
    (handover, target), = [(a, s) for a, s in successors(state) if isinstance(a, Handover)]
    assert unmapped_kind(check_edge(config, path, handover, target)
                         ) == "handover before a re-transfer"
    ls = Lockstep(config)
    try:
        for step in path:
            step_action(ls, step)
        with pytest.raises(InvalidValueError) as refused:
            step_action(ls, handover)
    finally:
        ls.cluster.close()
    assert (f"the spec's late re-transfer Transfer({action.src}, {action.dst}, "
            f"{action.key}) comes first" in str(refused.value)), refused.value


@pytest.mark.parametrize("name", ENTRIES)
def test_an_old_owner_that_does_not_forward_diverges_at_the_re_transfer(name: str) -> None:
    """Review 3's Go6 (``late-write-not-handed-on``: ``Gossiper.on_write`` hands
    nothing on): before session 35 the samples agreed *more* under it (the spec had
    no forwarding); now the spec's re-transfer finds no hint to send."""
    path, _, action, after = _first_re_transfer(name)
    with REVIEW3_MUTANTS["late-write-not-handed-on"]():
        outcome = check_edge(_config(name), path, action, after)
    assert outcome.startswith("diverged"), outcome
    assert "did not forward the late write" in outcome, outcome


@pytest.mark.parametrize("name", ENTRIES)
def test_a_lockstep_that_sends_nothing_for_the_re_transfer_fails(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mapping removed (the lockstep finds no hint for a transfer that arrived, as
    if a spec re-transfer were an empty transfer): the edge no longer agrees, so
    ``test_the_late_re_transfer_maps_to_the_old_owners_kept_hint`` fails."""
    original = Lockstep.transfer_hint

    def first_only(self: Lockstep, src: str, dst: str, key: str) -> object:
        ms = self.frontier[0].membership
        if ms is not None and (key, src, dst) in ms.handed:
            return None
        return original(self, src, dst, key)

    path, _, action, after = _first_re_transfer(name)
    monkeypatch.setattr(Lockstep, "transfer_hint", first_only)
    with _mutant(Lockstep, "transfer", "if ms is not None and (key, src, dst) in ms.handed:",
                 "if False:")():
        outcome = check_edge(_config(name), path, action, after)
    assert outcome.startswith("diverged"), outcome


def test_trace_validation_names_the_re_transfer_the_handover_waits_for() -> None:
    """Trace validation's reason for a handover the spec refuses while a late
    re-transfer that adds a version is in flight names it (before session 35's
    review it said a transfer "has not arrived", which every transfer had)."""
    *_, after = _first_re_transfer("delete-join-pending")
    text = diagnose(after, [[Handover("n3")]])
    assert "a late re-transfer is in flight" in text, text
    assert "has not arrived" not in text, text


def _covered_handover(name: str) -> tuple[list[Action], Handover, State]:
    """The shortest path to a state where the spec may hand over while a re-transfer
    that adds nothing to its receiver's copy any more is in flight, and that edge."""
    def covered_in_flight(state: State) -> bool:
        ms = state.membership
        return ms is not None and any(
            m.kind is Kind.RANGE_TRANSFER and (m.key, m.src, m.dst) in ms.handed
            and not _adds_copy(state, m) for m in state.messages) and any(
            isinstance(a, Handover) for a, _ in successors(state))

    state, path = _search(_config(name), covered_in_flight)
    handover, target = next((a, s) for a, s in successors(state) if isinstance(a, Handover))
    assert isinstance(handover, Handover)
    return path, handover, target


@pytest.mark.parametrize("name", ["delete-join-pending", "delete-leave-pending"])
def test_a_handover_with_a_covered_re_transfer_in_flight_agrees(name: str) -> None:
    """Session 35's review: a range transfer in flight holds the handover only while it
    adds a version to its receiver's copy, so the pending handover may go while a
    re-transfer the joint write group already brought to the new owner is in flight
    (the implementation's old owner keeps that late hint until it is acknowledged;
    the lockstep's handover completes it as a stutter,
    ``LockstepState.late_transfers``). The first such handover agrees."""
    path, handover, target = _covered_handover(name)
    assert check_edge(_config(name), path, handover, target) == "agreed"


def test_covered_late_hints_left_to_the_handover_are_needed() -> None:
    """Mutant: ``LockstepState.late_transfers`` never counts a late hint as covered,
    so the handover does not complete it as a stutter: the handover above is then
    unmapped (it went unnoticed by test_conformance.py's samples)."""
    path, handover, target = _covered_handover("delete-join-pending")
    with _mutant(LockstepState, "late_transfers", 'why = "" if covered else (',
                 'why = "not completed" if covered else (')():
        outcome = check_edge(_config("delete-join-pending"), path, handover, target)
    assert outcome.startswith("unmapped"), outcome
