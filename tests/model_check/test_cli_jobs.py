"""`vdynamo check --jobs J`: suite entries checked at once in forked processes give the
table, the verdicts, the figures and the traces of one process, in suite order
(model_check/cli.py, ``_suite_results``; `make check` runs ``--jobs 0``, one per CPU).

Four small entries of the default suite (two with a violation, so traces are written
from the children's results), about 1 CPU-s in all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import model_check.cli
import model_check.suite
from model_check.cli import main
from model_check.suite import entry

#: the smallest entries (21-138 states), two of them with an expected violation
NAMES = ("client-vclock-forgetful", "client-vclock-forgetful-client-entry",
         "strict-no-anti-entropy", "server-vclock-same-coordinator")


def _records(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
             capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[dict[str, Any]]]:
    monkeypatch.setattr(model_check.suite, "DEFAULT_SUITE", tuple(entry(n) for n in NAMES))
    code = main(["--quiet", "--json", "--trace-dir", str(tmp_path), *extra])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for record in records:  # the process's own figures: its time and peak memory
        for key in [k for k in record if k == "seconds" or "memory" in k]:
            del record[key]
    return code, records


def test_two_jobs_give_one_process_s_records_in_suite_order(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    one_code, one = _records(monkeypatch, tmp_path / "one", capsys)
    two_code, two = _records(monkeypatch, tmp_path / "two", capsys, "--jobs", "2")
    assert one_code == two_code == 0
    assert [r["suite_entry"] for r in two] == list(NAMES)
    assert json.dumps(two) == json.dumps(one).replace(str(tmp_path / "one"),
                                                      str(tmp_path / "two"))
    assert any(item.get("trace") for r in two for item in r["results"])
    written = sorted(p.name for p in (tmp_path / "two").iterdir())
    assert written and written == sorted(p.name for p in (tmp_path / "one").iterdir())


def test_the_jobs_run_in_other_processes(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A pool that ran the entries here, one after the other, would pass the test
    above: each result must come from a forked process."""
    import os

    seen: list[int] = []
    run = model_check.cli._run

    def noting(*args: Any) -> Any:
        seen.append(os.getpid())
        return run(*args)

    monkeypatch.setattr(model_check.cli, "_run", noting)
    code, records = _records(monkeypatch, tmp_path, capsys, "--jobs", "2")
    assert code == 0 and len(records) == len(NAMES)
    assert seen == []  # the children's notes stay in the children


@pytest.mark.parametrize("argv, said", [
    (["--jobs", "-1"], "--jobs must be >= 0"),
    (["--jobs", "2", "--workers", "2"], "--jobs takes no --workers"),
    (["--jobs", "2", "model_check/configs/sloppy-crash.toml"], "give no CONFIG"),
])
def test_bad_jobs_are_refused_naming_the_option(
        argv: list[str], said: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert said in capsys.readouterr().err
