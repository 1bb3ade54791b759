"""``vdynamo replay TRACE --on impl``: model-checker counterexamples replayed on the
implementation reach the same violation; a divergence is reported with its step."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from model_check.mutations import MUTANTS
from model_check.refinement import replay_on_impl
from model_check.trace import Trace
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
