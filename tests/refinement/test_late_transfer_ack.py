"""A range transfer's acknowledgement sent after the change completed (session 60).

The lockstep holds a transfer's ``HintAck`` until the spec's ``Handover``
(``LockstepState.deliverable``), which delivers those in flight then. A second
copy of a late re-transfer (the hint scan of ``Lockstep.transfer`` and the
handover's own re-send carry the same hint id) delivered after the handover draws
one more ``HintAck``, which nothing delivered: the membership walk leave-pending
with ``puts_per_client = 2``, seed 7, ended "implementation converged: False, spec:
True" with ``HintAck(hint_id=2)`` n3->n4 in flight and every store equal (n4, gone,
held no hint: the settlement's hint scan let it go). A harness gap, not an
implementation bug: quiescence now delivers such acks once the change is complete
(``Lockstep.deliver_late_ack``, a checked stutter). Of 2,400 walks (the four
membership entries, ``puts_per_client`` 1 and 2, seeds 0-299) five ended so before
(join-pending 64; leave-pending 7, 34, 40, 115, all ``puts_per_client = 2``), none
after; exactly those five take the new step.
"""

from __future__ import annotations

import dataclasses

import pytest

from impl.effects import Effect, Send
from impl.handoff import HintedHandoff
from impl.messages import HintAck
from model_check.errors import ExplorationError
from model_check.refinement_state import LockstepState
from tests.refinement.configs import MEMBERSHIP_WALK_CONFIGS
from tests.refinement.walks import walk

#: the walks whose quiescence ended with a late transfer ack in flight (session 60)
LATE_ACK_WALKS = [("leave-pending", 7), ("leave-pending", 34), ("join-pending", 64)]


def _config(name: str) -> object:
    return dataclasses.replace(MEMBERSHIP_WALK_CONFIGS[name], puts_per_client=2)


@pytest.mark.parametrize(("name", "seed"), LATE_ACK_WALKS)
def test_a_late_transfer_ack_is_delivered_at_quiescence(name: str, seed: int) -> None:
    """The walk converges on both sides, its quiescence delivering the late ack.
    Harness mutant (the old quiescence: ``LockstepState.late_acks`` returning []):
    every one fails "implementation converged: False, spec: True"."""
    ls = walk(_config(name), seed)  # type: ignore[arg-type]
    assert any(step.startswith("deliver late HintAck") for step in ls.history), ls.history


def test_the_old_quiescence_reported_the_walk_unconverged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The gap itself: without the late ack's delivery, leave-pending seed 7 ends
    "implementation converged: False, spec: True"."""
    monkeypatch.setattr(LockstepState, "late_acks", lambda self: [])
    with pytest.raises(AssertionError, match="implementation converged: False, spec: True"):
        walk(_config("leave-pending"), 7)  # type: ignore[arg-type]


def test_a_late_ack_answered_by_the_old_owner_is_caught(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Implementation mutant ``ack-echo``: an old owner answers an acknowledgement of
    a hint it no longer keeps with one of its own (the two nodes then ack each other
    for ever). The fixed quiescence delivers each ack and finds no end
    (ExplorationError, "no quiescence after 400 steps"); the old one stopped at the
    first ack and reported "implementation converged: False", the verdict it gave the
    correct implementation too, so it could not tell the two apart."""
    original = HintedHandoff.on_ack

    def echo(self: HintedHandoff, src: str, message: HintAck, now: float = 0.0
             ) -> list[Effect]:
        if self.hints.get(message.hint_id) is None:
            return [Send(src, HintAck(message.hint_id))]
        return original(self, src, message, now)
    monkeypatch.setattr(HintedHandoff, "on_ack", echo)
    with pytest.raises(ExplorationError, match="no quiescence"):
        walk(_config("leave-pending"), 7)  # type: ignore[arg-type]
