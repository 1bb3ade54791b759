"""vdynamo replay: traces re-executed on the spec, refused with the step and the reason."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from model_check.check import check
from model_check.replay import rebuild_default_note, replay_on_spec
from model_check.reports import ReplayReport, ReplayStep
from model_check.suite import entry
from model_check.trace import Trace
from tests.model_check.test_check import NO_REPAIR, TINY_LWW
from vdynamo.replay_cli import main, replay


@pytest.fixture(scope="module")
def lww_trace() -> Trace:
    trace = check(TINY_LWW, properties=["acked_writes_durable"]).result(
        "acked_writes_durable").trace
    assert trace is not None
    return trace


def test_a_trace_replays_as_a_numbered_story(
    lww_trace: Trace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = lww_trace.save(tmp_path / "t.json")
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "counterexample to 'acked_writes_durable'" in lines[0]
    assert lines[1].strip().startswith("0. initial state")
    for number in range(1, 5):
        assert any(line.startswith(f"{number:>3}. ") for line in lines)
    # what should hold is told as such (session 22: the bare description after
    # "broke here:" read as what went wrong)
    assert ("*** acked_writes_durable broke here: the property requires that a put "
            "acknowledged to its client is never lost") in out
    assert "violated (step 4)" in lines[-1]


def test_report_says_where_it_broke(lww_trace: Trace) -> None:
    report = replay_on_spec(lww_trace)
    assert report.ok and report.replayed and report.broke_at == 4
    assert [s.number for s in report.steps] == [1, 2, 3, 4]
    assert report.to_json()["broke_at"] == 4


def test_an_itf_trace_replays_too(lww_trace: Trace, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = lww_trace.save(tmp_path / "t.itf.json", itf=True)
    assert main([str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["broke_at"] == 4 and len(data["steps"]) == 4


def test_a_liveness_trace_replays() -> None:
    trace = check(NO_REPAIR, properties=["convergence"]).result("convergence").trace
    assert trace is not None
    report = replay_on_spec(trace)
    assert report.ok and report.broke_at == len(trace)
    assert "no fault-free continuation converges" in report.reason


def test_an_action_that_is_not_enabled_is_refused(lww_trace: Trace) -> None:
    # Swap steps 3 and 4: delivering a's second replicate first is enabled, but the
    # states recorded no longer match; dropping step 1 leaves step 2 without its put.
    actions = list(lww_trace.actions)
    skipped = dataclasses.replace(lww_trace, actions=(actions[1], actions[1], *actions[2:]))
    report = replay_on_spec(skipped)
    assert not report.replayed and report.refused_at is not None
    assert report.exit_code == 1
    assert "REFUSED at step" in report.render()


def test_a_tampered_state_is_refused_with_the_difference(lww_trace: Trace) -> None:
    states = list(lww_trace.states)
    tampered_state = json.loads(json.dumps(states[2]))
    tampered_state["partition"] = [["a"], ["b"]]
    tampered = dataclasses.replace(lww_trace, states=(*states[:2], tampered_state, *states[3:]))
    report = replay_on_spec(tampered)
    assert not report.replayed and report.refused_at == 2
    assert "different state" in report.reason and "state.partition" in report.reason


def test_a_malformed_action_is_refused(lww_trace: Trace) -> None:
    actions = list(lww_trace.actions)
    bad = dataclasses.replace(lww_trace, actions=({"kind": "teleport"}, *actions[1:]))
    report = replay_on_spec(bad)
    assert not report.replayed and report.refused_at == 1
    assert "teleport" in report.reason


def test_a_trace_whose_property_holds_is_not_ok(lww_trace: Trace) -> None:
    report = replay_on_spec(dataclasses.replace(lww_trace, property="read_your_writes"))
    assert report.replayed and not report.ok and report.exit_code == 1
    assert "did not break" in report.render()


def test_a_bad_configuration_is_refused(lww_trace: Trace) -> None:
    config = dict(lww_trace.config)
    config["cluster"] = {**config["cluster"], "n": 9}
    report = replay_on_spec(dataclasses.replace(lww_trace, config=config))
    assert not report.replayed and report.refused_at == 0
    assert "configuration is not valid" in report.reason


def test_unreadable_trace_and_usage_errors(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing.json")]) == 2
    assert "cannot read trace" in capsys.readouterr().err
    assert main(["--on", "moon", "x.json"]) == 2


def test_replay_on_impl_reaches_the_same_violation(
    lww_trace: Trace, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    path = lww_trace.save(tmp_path / "t.json")
    assert main([str(path), "--on", "impl"]) == 0
    assert "acked_writes_durable" in capsys.readouterr().out


def test_one_step_is_told_in_the_singular() -> None:
    """"Replayed 1 steps" until session 22's walk through README."""
    report = ReplayReport("spec", "p", (ReplayStep(1, {}, "c1 put v1 of k to n1"),), True,
                          broke_at=1, reason="r")
    assert report.render().splitlines()[-1] == "Replayed 1 step: p is violated (step 1)."


def test_a_refused_trace_that_may_predate_the_rebuild_default_says_so(
        lww_trace: Trace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Session 60 made ``[features] rebuild`` true by default and writes no key when
    true, so a disk-loss trace written before session 60 (recorded without the rebuild)
    loads with it on. disk-loss-read's counterexample (``rebuild = false``, 8 steps)
    with its key removed stands for such a trace: the spec refuses it at step 7 (n1,
    rebuilding, no longer answers the get; ``--on impl`` refuses it at step 8) and the
    command names the key and the fix; with ``"rebuild": false`` kept it replays, with
    no note. Mutants, each seen failing: the note left out of
    ``vdynamo.replay_cli.replay`` (the note's assertion); :func:`rebuild_default_note`
    ignoring the key (``said``'s assertion) or whether the configuration rebuilds at
    all (``lww_trace``'s); ``notes`` left out of the report's JSON (KeyError)."""
    recorded = check(entry("disk-loss-read").config, properties=["read_your_writes"]).result(
        "read_your_writes").trace
    assert recorded is not None and recorded.config["features"]["rebuild"] is False
    config = json.loads(json.dumps(recorded.config))
    del config["features"]["rebuild"]
    old = dataclasses.replace(recorded, config=config)
    path = old.save(tmp_path / "old.json")
    assert main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "REFUSED at step 7" in out
    assert ('note: the trace\'s configuration has no [features] rebuild key, which since '
            'session 60 means rebuild = true') in out
    assert 'add "rebuild": false to its "features"' in out
    assert main([str(path), "--json"]) == 1
    assert "rebuild key" in json.loads(capsys.readouterr().out)["notes"][0]
    assert rebuild_default_note(old) != ""
    kept = replay(recorded)
    assert kept.ok and kept.notes == () and rebuild_default_note(recorded) == ""
    said = dataclasses.replace(old, config={**config, "features": {
        **config["features"], "rebuild": True}})
    assert rebuild_default_note(said) == ""  # the key written: nothing to guess
    assert rebuild_default_note(lww_trace) == ""  # no disk to lose: the key is inert
