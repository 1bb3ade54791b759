"""Trace validation of a request's deadline while a target's startup shadow round
holds the request's replica get or put (session 36; docs/refinement.md, "A deadline
over a held message (session 36)").

The spec's ``Timeout`` of a target waits while a message of the exchange is in
flight (its failure detector is accurate); the implementation's deadline does not
wait, and a message a restarted node's round holds is still in flight in the
abstraction. The trace-spec step ``held-deadline``
(:func:`model_check.trace_spec.deadline`) times such a target out inside a hidden
cut; the held replica get is dead from then on (the validator's purge covers the
held messages, :meth:`model_check.trace_events.TraceEvents._undelivered`). Soak
seed 679 (one key and two keys) holds a get's replica get at n2 past its
deadline, 774 a get's and then a put's: all three diverged before.
"""

from __future__ import annotations

from typing import Any

import pytest

from impl.messages import ReplicaGet
from impl.node import Node
from model_check import trace_spec
from model_check.refinement_state import LockstepState
from model_check.trace_events import TraceEvents
from model_check.trace_swarm import TWO_KEYS, Swarm, trace_config
from model_check.trace_validation import TraceValidator
from spec.actions import Action
from spec.state import Kind, State
from tests.refinement.test_trace_validation_shadow import _drops_held_messages

#: (seed, keys, held-deadline steps) of the runs the fix turned from a divergence
#: into ``ok``
SEEDS = ((679, 1, 3), (774, 1, 2), (679, 2, 1))


class _Watched(TraceValidator):
    """The validator, checking after every event that no held replica get of an
    operation its coordinator ended still maps to a spec message (the spec purged
    it), and counting the held gets it saw so."""

    ended_held = 0

    def step(self, entries: Any) -> None:
        super().step(entries)
        if self.failed:
            return
        for m in (m for inputs in self.held.values() for kind, m in inputs
                  if kind == "receive"):
            if not isinstance(m.message, ReplicaGet) or self.sim.is_down(m.src):
                continue
            if self._coordination(m.src, m.message.op_id) is None:
                self.ended_held += 1
                assert self.abstract_message(m) is None, (
                    f"event {self.report.events}: the held {m.src}->{m.dest} replica "
                    f"get of an ended get still maps to {self.abstract_message(m)}")


def _run(seed: int, keys: int) -> _Watched:
    config = trace_config(keys=TWO_KEYS) if keys == 2 else trace_config()
    validator = _Watched(config, seed=seed, swarm=Swarm.draw(seed))
    validator.failed = False
    validator.run()
    return validator


@pytest.mark.parametrize(("seed", "keys", "steps"), SEEDS,
                         ids=[f"seed{s}-keys{k}" for s, k, _ in SEEDS])
def test_a_deadline_over_a_held_message_validates(seed: int, keys: int, steps: int) -> None:
    """The run is ``ok`` and converges; its deadlines over held messages are the
    trace-spec step ``held-deadline``; the held get is dead in the abstraction
    from its get's deadline until its round replays it."""
    validator = _run(seed, keys)
    report = validator.report
    assert report.verdict == "ok", (report.line(), report.reason)
    assert report.impl_converged and report.spec_converged, report.line()
    assert report.trace_steps["held-deadline"] == steps, report.line()
    assert validator.ended_held > 0, "no held get outlived its get: the scenario moved"


def test_without_the_cut_the_deadline_diverges(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mutant: the deadline times a held target out without the hidden cut (the
    validator before session 36). Seed 679 diverges at its get's deadline, as it
    did: the spec's ``Timeout`` of n2 is not enabled while n2's round holds the
    replica get."""
    def no_cut(state: State, a: str, b: str) -> tuple[list[Action], list[Action]]:
        return [], []

    monkeypatch.setattr(trace_spec, "cut_between", no_cut)
    report = _run(679, 1).report
    assert report.verdict == "divergence", report.line()
    assert "tick n1 GetTimeout" in report.reason
    assert "a candidate is not enabled in the spec" in report.reason


def test_a_put_deadline_needs_the_cut_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mutant: the cut only for a held get. Seed 774's put deadline, with n2's
    round holding the put's replica puts to n2, diverges (they stay in flight on
    both sides and write when the round replays them)."""
    original = trace_spec.deadline

    def gets_only(v: TraceEvents, name: str, request: int,
                  held: Any = ()) -> Any:
        return original(v, name, request, [m for m in held if m.kind is Kind.REPLICA_GET])

    monkeypatch.setattr(trace_spec, "deadline", gets_only)
    report = _run(774, 1).report
    assert report.verdict == "divergence", report.line()
    assert "tick n4 PutTimeout" in report.reason


def test_the_old_purge_keeps_a_held_get_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mutant: the purge at the deadline looks at the simulator's messages in
    flight only (``LockstepState._undelivered``, as before session 36). The run
    still validates (the spec's comparison skips messages of an ended exchange),
    but the abstraction keeps the held get of seed 679's ended get as a spec
    message: the watch fails."""
    monkeypatch.setattr(TraceEvents, "_undelivered", LockstepState._undelivered)
    with pytest.raises(AssertionError, match="held n1->n2 replica get of an ended get"):
        _run(679, 1)


@pytest.mark.parametrize(("seed", "event"), [
    (679, "deliver ReplicaGet n1->n2"), (774, "deliver ReplicaPut n4->n2")])
def test_a_round_that_drops_held_replica_messages_is_caught(
        monkeypatch: pytest.MonkeyPatch, seed: int, event: str) -> None:
    """The shadow round's mutant ``drops-held-messages``
    (``test_trace_validation_shadow.py``: a message received in the round is lost)
    on these seeds, which hold a replica get (679) and replica puts (774) rather
    than seed 157's ``HintDelivery`` (77's until session 50): a divergence at a
    delivery to the restarted n2 (before this session's fix both seeds diverged
    unmutated, so neither could witness a kill)."""
    monkeypatch.setattr(Node, "_defer", _drops_held_messages(Node._defer))
    report = _run(seed, 1).report
    assert report.verdict == "divergence", report.line()
    assert event in report.reason.splitlines()[0]
