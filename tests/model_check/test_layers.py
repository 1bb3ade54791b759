"""The checker's shape: report types in a leaf module, the spec replay free of the
refinement layer, the backend chosen by the command layer, one error hierarchy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from model_check import errors
from model_check.trace import Trace
from spec.errors import ConfigError, DynamoError, LocalError
from vdynamo.replay_cli import replay

ROOT = Path(__file__).resolve().parents[2]


def _loaded_after_import(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return set(out.split())


def test_the_spec_replay_loads_neither_the_refinement_nor_the_implementation() -> None:
    loaded = _loaded_after_import("model_check.replay")
    assert "model_check.reports" in loaded
    assert not {m for m in loaded if m.startswith(("model_check.refinement", "impl"))}


def test_the_report_module_is_a_leaf() -> None:
    tree = ast.parse((ROOT / "model_check" / "reports.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for a in node.names}
    assert not {m for m in imported if m and m.split(".")[0] in (
        "model_check", "impl", "spec", "vdynamo")}


def test_check_and_replay_do_not_probe_the_spec() -> None:
    """The model is a value: no function body imports spec.model or calls getattr."""
    for name in ("check.py", "replay.py", "liveness.py", "explorer.py", "cli.py"):
        tree = ast.parse((ROOT / "model_check" / name).read_text())
        for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            for node in ast.walk(func):
                assert not isinstance(node, ast.Import | ast.ImportFrom) or (
                    isinstance(node, ast.ImportFrom) and node.module
                    and not node.module.startswith("spec")), (name, func.name)
                assert not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                            and node.func.id == "getattr"), (name, func.name)


def test_an_unknown_backend_is_refused() -> None:
    trace = Trace({}, "p", "always", (), ({},))
    with pytest.raises(errors.TraceError, match="no replay backend 'moon'"):
        replay(trace, "moon")


@pytest.mark.parametrize(
    ("error", "base"),
    [
        (errors.CheckError, LocalError),
        (errors.UnknownNameError, LocalError),
        (errors.TraceError, LocalError),
        (errors.ProofInputError, LocalError),
        (errors.ExplorationError, DynamoError),
        (errors.ProofError, DynamoError),
    ],
)
def test_every_checker_error_is_in_the_one_hierarchy(error: type[Exception],
                                                     base: type[Exception]) -> None:
    assert issubclass(error, base)
    assert not issubclass(errors.ExplorationError, LocalError)
    assert not issubclass(ConfigError, errors.CheckError)  # ConfigError stays spec's own


def test_lookups_by_name_are_still_key_errors() -> None:
    from model_check.suite import entry

    with pytest.raises(KeyError, match="no suite entry 'nope'"):
        entry("nope")
    assert str(errors.UnknownNameError("x y")) == "x y"
