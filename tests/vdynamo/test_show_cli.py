"""``vdynamo show`` (vdynamo/show_cli.py): a configuration, its initial state, its actions."""

from __future__ import annotations

from pathlib import Path

import pytest

from vdynamo.show_cli import main


def test_show_prints_the_default_configuration_and_its_enabled_actions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert 'name = "default"' in out and '"nodes"' in out
    assert "# 15 enabled actions" in out


def test_show_refuses_a_bad_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[cluster]\nr = 9\n")
    assert main([str(bad)]) == 2
    assert "r = 9 exceeds n = 3" in capsys.readouterr().err
