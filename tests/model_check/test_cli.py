"""vdynamo check: configurations and the suite, table, JSON, traces, exit statuses."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from model_check.cli import EXIT_BOUNDED, EXIT_OK, EXIT_USAGE, EXIT_VIOLATED, main
from model_check.trace import Trace
from tests.model_check.test_check import NO_REPAIR, TINY_LWW

DVV = TINY_LWW.replace(clock="dvv", name="tiny-dvv")


def _toml(tmp_path: Path, config: object, name: str) -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(config.to_toml())  # type: ignore[attr-defined]
    return str(path)


def test_a_violation_exits_1_and_writes_its_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    traces = tmp_path / "traces"
    code = main([_toml(tmp_path, TINY_LWW, "lww"), "--trace-dir", str(traces), "--itf",
                 "--quiet"])
    assert code == EXIT_VIOLATED
    out = capsys.readouterr().out
    assert "acked_writes_durable" in out and "violated" in out and "(4 steps)" in out
    saved = traces / "tiny-lww.acked_writes_durable.json"
    assert Trace.load(saved).property == "acked_writes_durable"
    assert Trace.load(traces / "tiny-lww.acked_writes_durable.itf.json") == Trace.load(saved)


def test_all_holding_exits_0_and_json_is_one_object_per_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = [_toml(tmp_path, DVV, "dvv"), _toml(tmp_path, DVV.replace(name="again"), "again")]
    assert main([*paths, "--json", "--quiet", "--trace-dir", str(tmp_path)]) == EXIT_OK
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["config"] == "tiny-dvv"
    judged = [r for r in first["results"] if r["kind"] != "sometimes"]
    assert {r["verdict"] for r in judged} == {"holds"}
    assert all(r["trace"] is None for r in judged)
    # Sometimes-properties are reported (found, with their witness trace, or not).
    reached = {r["property"]: r for r in first["results"] if r["kind"] == "sometimes"}
    assert reached["siblings_stored"]["verdict"] == "found"
    assert Trace.load(reached["siblings_stored"]["trace"]).kind == "sometimes"
    assert reached["hint_handed_off"]["verdict"] == "not found"
    for key in ("distinct_states", "transitions", "depth", "seconds"):
        assert key in first


def test_json_names_the_trace_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([_toml(tmp_path, NO_REPAIR, "nr"), "--property", "convergence", "--json",
                 "--quiet", "--trace-dir", str(tmp_path / "t")])
    assert code == EXIT_VIOLATED
    data = json.loads(capsys.readouterr().out)
    [result] = data["results"]
    assert result["verdict"] == "violated" and Path(result["trace"]).exists()
    assert Trace.load(result["trace"]).kind == "eventually"


def test_a_bound_that_cuts_exits_3_never_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([_toml(tmp_path, DVV, "dvv"), "--max-states", "10", "--quiet"])
    assert code == EXIT_BOUNDED
    assert "bounded" in capsys.readouterr().out
    # A violation within the bound still exits 1.
    assert main([_toml(tmp_path, TINY_LWW, "lww"), "--max-depth", "4", "--quiet",
                 "--trace-dir", str(tmp_path)]) == EXIT_VIOLATED


def test_usage_errors_and_invalid_configurations_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[cluster]\nnodes = ["a"]\nn = 2\n')
    good = _toml(tmp_path, DVV, "dvv")
    assert main([good, str(bad)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "bad.toml" in err and "exceeds the number of nodes" in err
    assert main([str(tmp_path / "nope.toml")]) == EXIT_USAGE
    assert main([good, "--property", "nonsense"]) == EXIT_USAGE
    assert "unknown property 'nonsense'" in capsys.readouterr().err
    assert main([good, "--max-depth", "-1"]) == EXIT_USAGE
    assert main([good, "--max-states", "0"]) == EXIT_USAGE
    assert main(["--no-such-flag"]) == EXIT_USAGE
    assert main(["--help"]) == EXIT_OK


def test_progress_and_statistics_go_to_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main([_toml(tmp_path, DVV, "dvv")])
    err = capsys.readouterr().err
    assert "tiny-dvv:" in err and "distinct states" in err and "peak memory" in err


def _fake_suite(monkeypatch: pytest.MonkeyPatch, entries: list[types.SimpleNamespace]) -> None:
    module = types.ModuleType("model_check.suite")
    module.DEFAULT_SUITE = tuple(entries)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "model_check.suite", module)


def _entry(name: str, config: object, expected: dict[str, str],
           lengths: dict[str, int] | None = None) -> types.SimpleNamespace:
    return types.SimpleNamespace(name=name, config=config, expected=expected, note="",
                                 pinned_length=(lengths or {}).get, pinned_figures=dict,
                                 figure_mismatches=lambda explored, names=None: [])


def test_suite_table_and_exit_0_when_all_as_expected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_suite(monkeypatch, [
        _entry("lww", TINY_LWW, {"acked_writes_durable": "violated", "read_your_writes": "holds",
                                 "put_acknowledged": "found", "siblings_stored": "not found"},
               {"acked_writes_durable": 4, "put_acknowledged": 1}),
        _entry("dvv", DVV, {"acked_writes_durable": "holds"}),
    ])
    assert main(["--quiet", "--trace-dir", str(tmp_path)]) == EXIT_OK
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    for column in ("configuration", "property", "verdict", "as expected?", "states", "seconds"):
        assert column in header
    assert "5 verdicts, 5 as expected" in out
    assert "NO" not in out
    assert any("put_acknowledged" in line and "found" in line for line in out.splitlines())


def test_suite_exits_1_on_a_verdict_or_length_not_as_expected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_suite(monkeypatch, [_entry("lww", TINY_LWW, {"acked_writes_durable": "holds"})])
    assert main(["--quiet", "--trace-dir", str(tmp_path)]) == EXIT_VIOLATED
    assert "NOT as expected" in capsys.readouterr().out
    _fake_suite(monkeypatch, [_entry("lww", TINY_LWW, {"acked_writes_durable": "violated"},
                                     {"acked_writes_durable": 5})])
    assert main(["--quiet", "--trace-dir", str(tmp_path)]) == EXIT_VIOLATED
    # A bounded run is never as expected.
    _fake_suite(monkeypatch, [_entry("dvv", DVV, {"acked_writes_durable": "holds"})])
    assert main(["--quiet", "--max-states", "5"]) == EXIT_VIOLATED
    # A sometimes-property the entry expects but that is not reached is a failure,
    # and so is a witness at another distance than pinned.
    _fake_suite(monkeypatch, [_entry("lww", TINY_LWW, {"siblings_stored": "found"})])
    assert main(["--quiet", "--trace-dir", str(tmp_path)]) == EXIT_VIOLATED
    _fake_suite(monkeypatch, [_entry("lww", TINY_LWW, {"put_acknowledged": "found"},
                                     {"put_acknowledged": 2})])
    assert main(["--quiet", "--trace-dir", str(tmp_path)]) == EXIT_VIOLATED


def test_suite_json_and_property_filter(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_suite(monkeypatch, [
        _entry("lww", TINY_LWW, {"acked_writes_durable": "violated", "read_your_writes": "holds"},
               {"acked_writes_durable": 4}),
        _entry("dvv", DVV, {"acked_writes_durable": "holds"}),
    ])
    code = main(["--json", "--quiet", "--property", "read_your_writes",
                 "--trace-dir", str(tmp_path)])
    assert code == EXIT_OK
    [line] = capsys.readouterr().out.strip().splitlines()
    data = json.loads(line)
    assert data["suite_entry"] == "lww"
    assert [(r["property"], r["verdict"], r["expected"], r["as_expected"])
            for r in data["results"]] == [("read_your_writes", "holds", "holds", True)]


def test_symmetry_savings_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([_toml(tmp_path, TINY_LWW, "lww"), "--symmetry-savings", "--quiet",
                 "--trace-dir", str(tmp_path)])
    assert code == EXIT_VIOLATED
    err = capsys.readouterr().err
    assert "tiny-lww: symmetry saved 38 of 77 states (2.0x)" in err
    assert "identical without it" in err
