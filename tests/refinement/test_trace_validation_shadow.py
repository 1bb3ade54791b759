"""Trace validation with the restore guard on (as in production): a restarted
node's startup shadow round (:meth:`impl.node.Node.start`, docs/runtime.md "A
restored store after a reap") holds its inputs until its peers answered, then
replays them one per ``ShadowRound``. The validator maps a held input to a
stutter (a peer message stays in flight in the abstraction, a client request has
not arrived, a timer has not fired) and its replay to the delivery
(:meth:`model_check.trace_validation.TraceValidator._map`; docs/refinement.md,
"Trace validation"). Seed 30 holds a ``HintDelivery`` to n2 during its round (it
diverged before session 16's fix); each mutant of the round below is caught there.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from impl.effects import Effect
from impl.node import Node
from model_check.trace_validation import validate_seed


def test_held_inputs_validate() -> None:
    """Seeds 12 and 30 (the two that failed with the guard on before the fix), 18
    (13 inputs held, the most of 0-19), 156 and 178 (a held get, a held put: the
    only held client requests of seeds 0-300) validate, every held input replayed;
    43 validates with its 4 held inputs lost (the node crashes in its round: the held
    messages are the spec's ``Deliver`` at a down node)."""
    for seed, held in ((12, 1), (18, 13), (30, 10), (156, 12), (178, 3)):
        report = validate_seed(seed)
        assert report.verdict == "ok", (report.line(), report.reason)
        assert report.held == report.replayed == held, report.line()
    report = validate_seed(43)
    assert report.verdict == "ok", (report.line(), report.reason)
    assert (report.held, report.replayed) == (4, 0), report.line()


def _drops_held_messages(original: Callable[..., list[Effect]]
                         ) -> Callable[..., list[Effect]]:
    def _defer(self: Node, now: float, method: str, args: tuple[object, ...]
               ) -> list[Effect]:
        if method == "receive":  # the mutant: a message received in the round is lost
            return []
        return original(self, now, method, args)
    return _defer


def _skips_the_last_held_input(original: Callable[..., list[Effect]]
                               ) -> Callable[..., list[Effect]]:
    def _shadow_step(self: Node, now: float) -> list[Effect]:
        shadow = self.shadow
        if shadow is not None and len(shadow.deferred) == 1:  # the mutant: not replayed
            shadow.over = True
            shadow.deferred.popleft()
            self.shadow = None
            return []
        return original(self, now)
    return _shadow_step


@pytest.mark.parametrize(("attribute", "mutant"), [
    ("_defer", _drops_held_messages),
    ("_shadow_step", _skips_the_last_held_input),
], ids=["drops-held-messages", "skips-the-last-held-input"])
def test_a_broken_shadow_round_is_caught(
        monkeypatch: pytest.MonkeyPatch, attribute: str,
        mutant: Callable[[Callable[..., list[Effect]]], Callable[..., list[Effect]]]) -> None:
    """A round that drops the messages it should hold, or never replays its last
    held input: seed 30's held ``HintDelivery`` n3->n2 never reaches n2's store, a
    divergence (seeds 0, 5, 18, 20, 21 and 23 hold inputs that change nothing the
    abstraction shows, and validate under both; 156 catches both too, 178 the
    first)."""
    monkeypatch.setattr(Node, attribute, mutant(getattr(Node, attribute)))
    report = validate_seed(30)
    assert report.verdict in ("divergence", "no-convergence"), report.line()
    assert "HintDelivery n3->n2" in report.reason
