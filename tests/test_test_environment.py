"""tests/conftest.py's speed settings of session 20: under
``PYTHONDONTWRITEBYTECODE`` the processes a test starts keep their bytecode under a
private ``PYTHONPYCACHEPREFIX`` (about 0.35 CPU-s less per ``vdynamo serve``
start), and a cache directory another user could write is never chosen
(``_child_bytecode_cache``); the tests' ``tmp_path`` directories are on tmpfs unless
a place is chosen (``_temp_root_in_memory``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import conftest


def test_children_get_a_private_bytecode_cache_instead_of_none(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
    conftest._child_bytecode_cache()
    cache = tmp_path / f"vdynamo-test-pycache-{os.getuid()}"
    assert os.environ.get("PYTHONPYCACHEPREFIX") == str(cache)
    assert "PYTHONDONTWRITEBYTECODE" not in os.environ
    assert cache.stat().st_mode & 0o777 == 0o700


def test_a_cache_others_can_write_or_a_chosen_prefix_is_left_alone(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
    cache = tmp_path / f"vdynamo-test-pycache-{os.getuid()}"
    cache.mkdir()
    cache.chmod(0o777)
    conftest._child_bytecode_cache()
    assert "PYTHONPYCACHEPREFIX" not in os.environ
    assert os.environ.get("PYTHONDONTWRITEBYTECODE") == "1"
    monkeypatch.setenv("PYTHONPYCACHEPREFIX", "/elsewhere")
    conftest._child_bytecode_cache()
    assert os.environ["PYTHONPYCACHEPREFIX"] == "/elsewhere"
    assert os.environ.get("PYTHONDONTWRITEBYTECODE") == "1"


def test_the_temp_root_is_in_memory_unless_a_place_is_chosen(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(conftest, "MEMORY_TEMP_ROOT", tmp_path)
    given = SimpleNamespace(option=SimpleNamespace(basetemp=None))
    for env in ({"VDYNAMO_TEST_TMP": "disk"}, {"PYTEST_DEBUG_TEMPROOT": "/elsewhere"}):
        monkeypatch.delenv("VDYNAMO_TEST_TMP", raising=False)
        monkeypatch.delenv("PYTEST_DEBUG_TEMPROOT", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        conftest._temp_root_in_memory(given)  # type: ignore[arg-type]
        assert os.environ.get("PYTEST_DEBUG_TEMPROOT") == env.get("PYTEST_DEBUG_TEMPROOT")
    monkeypatch.delenv("VDYNAMO_TEST_TMP", raising=False)
    monkeypatch.delenv("PYTEST_DEBUG_TEMPROOT", raising=False)
    conftest._temp_root_in_memory(SimpleNamespace(  # type: ignore[arg-type]
        option=SimpleNamespace(basetemp="/chosen")))
    assert "PYTEST_DEBUG_TEMPROOT" not in os.environ
    monkeypatch.setattr(conftest, "MEMORY_TEMP_ROOT", tmp_path / "absent")
    conftest._temp_root_in_memory(given)  # type: ignore[arg-type]
    assert "PYTEST_DEBUG_TEMPROOT" not in os.environ
    monkeypatch.setattr(conftest, "MEMORY_TEMP_ROOT", tmp_path)
    conftest._temp_root_in_memory(given)  # type: ignore[arg-type]
    assert os.environ["PYTEST_DEBUG_TEMPROOT"] == str(tmp_path)
