"""The model checker benchmark's choice of runs (bench/model_check.py, ``table_jobs``),
without running any: ``--only NAME`` measures that entry and not the large
configuration (session 49: ``--section table --only sloppy-crash`` ran the large one too,
about 97 s of the 100 s it was given), and a name that is no entry is refused."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
table_jobs = runpy.run_path(str(ROOT / "bench" / "model_check.py"))["table_jobs"]


def test_only_an_entry_runs_that_entry_beside_the_explorer_alone() -> None:
    assert [kind for kind, _, _ in table_jobs(None, False)][-1] == "large"
    assert [(kind, name) for kind, name, _ in table_jobs(["sloppy-crash"], False)] == [
        ("toy", "counters-1000x1000"), ("suite", "sloppy-crash")]
    chosen = table_jobs(["sloppy-crash", "large"], False)
    assert [kind for kind, _, _ in chosen] == ["toy", "suite", "large"]
    assert [kind for kind, _, _ in table_jobs(["large"], True)] == ["toy"]


def test_an_unknown_entry_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"^--only sloppy-crsh: no such entry .*sloppy-crash"):
        table_jobs(["sloppy-crash", "sloppy-crsh"], False)
