"""``vdynamo replay TRACE --on impl``: model-checker counterexamples replayed on the
implementation reach the same violation; a divergence is reported with its step."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from impl.antientropy import AntiEntropy as AntiEntropyMechanism
from impl.effects import Effect
from impl.messages import KeyRecords
from model_check.refinement_replay import replay_trace as replay_on_impl
from model_check.reports import WitnessReport
from model_check.trace import Trace
from spec import model as spec_model
from spec.actions import Action, AntiEntropy, ClientPut
from tests.refinement.configs import LOCKSTEP_CONFIGS
from tests.refinement.mutations import MUTANTS
from vdynamo.replay_cli import main

TRACES = sorted((Path(__file__).parent / "traces").glob("*.json"))


@pytest.mark.parametrize("path", TRACES, ids=[p.stem for p in TRACES])
def test_the_implementation_reaches_the_same_violation(path: Path) -> None:
    trace = Trace.load(path)
    report = replay_on_impl(trace)
    assert report.backend == "impl"
    assert report.replayed, report.render()
    assert report.property == trace.property
    assert report.broke_at == trace.violated_at, report.render()
    assert f"{trace.property} is violated" in report.render()


def test_the_command_replays_on_the_implementation(capsys: pytest.CaptureFixture[str]) -> None:
    path = next(p for p in TRACES if p.stem.startswith("sloppy-crash"))
    assert main([str(path), "--on", "impl"]) == 0
    out = capsys.readouterr().out
    assert "on the impl" in out and "read_your_writes broke here" in out


def test_a_divergence_names_the_step_and_both_states() -> None:
    """With a seeded bug (a put acknowledged before W replicas stored it) the replay
    stops at the first step where the implementation leaves the spec."""
    path = next(p for p in TRACES if p.stem.startswith("sloppy-crash"))
    with MUTANTS["ack-before-w"]():
        report = replay_on_impl(Trace.load(path))
    assert not report.replayed and report.refused_at == 1
    assert "diverges" in report.reason
    assert "implementation's abstract state" in report.reason
    assert "spec successor" in report.reason


def test_a_step_the_implementation_cannot_take_is_refused() -> None:
    path = next(p for p in TRACES if p.stem.startswith("lww"))
    trace = Trace.load(path)
    actions = list(trace.actions)
    actions.insert(1, dict(actions[-1]))  # deliver an ack before its replica was written
    states = [trace.states[0], *trace.states]
    broken = dataclasses.replace(trace, actions=tuple(actions), states=tuple(states))
    report = replay_on_impl(broken)
    assert not report.replayed and report.refused_at == 2


def _anti_entropy_trace() -> Trace:
    """sloppy-dvv: two clients put ``k`` at two replicas (nothing delivered), then the
    two replicas run anti-entropy on ``k``: a trace the spec allows."""
    config = LOCKSTEP_CONFIGS["sloppy-dvv"]
    a, b = config.top_n("k")[:2]
    actions: list[Action] = [ClientPut("c1", a, "k"), ClientPut("c2", b, "k"),
                             AntiEntropy(a, b, "k")]
    states = [spec_model.initial_state(config)]
    for action in actions:
        states.append(next(after for label, after in spec_model.successors(states[-1])
                           if label == action))
    return Trace(config=dict(config.to_json()), property="read_your_writes", kind="always",
                 actions=tuple(action.to_json() for action in actions),
                 states=tuple(spec_model.describe(state) for state in states))


def test_an_anti_entropy_trace_replays_on_the_implementation() -> None:
    report = replay_on_impl(_anti_entropy_trace())
    assert report.replayed, report.render()
    assert len(report.steps) == 3 and report.refused_at is None
    assert report.broke_at is None  # read_your_writes holds on every state


def test_an_anti_entropy_replay_catches_a_one_sided_merge(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def overwrite(self: AntiEntropyMechanism, src: str, message: KeyRecords) -> list[Effect]:
        for key, raw in zip(message.keys, message.records, strict=True):
            if raw:
                self.replica.write_local(key, self.replica.decode(key, raw))
        return []

    monkeypatch.setattr(AntiEntropyMechanism, "on_key_records", overwrite)
    report = replay_on_impl(_anti_entropy_trace())
    assert not report.replayed and report.refused_at == 3, report.render()
    assert "diverges" in report.reason


def test_a_witness_trace_is_told_as_reached_on_the_implementation() -> None:
    """A trace to a sometimes-property's witness (anti_entropy_repairs: the exchange
    changes a replica) replays on the implementation as a witness reached, not as a
    counterexample, the way ``--on spec`` tells it."""
    trace = dataclasses.replace(_anti_entropy_trace(), property="anti_entropy_repairs",
                                kind="sometimes", violated_at=3)
    report = replay_on_impl(trace)
    assert isinstance(report, WitnessReport), type(report)
    assert report.replayed and report.broke_at == 3, report.render()
    text = report.render()
    assert "anti_entropy_repairs reached here" in text and "is reached (step 3)" in text
    assert "violated" not in text and "counterexample" not in text
