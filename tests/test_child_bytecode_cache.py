"""tests/conftest.py's ``_child_bytecode_cache``: under ``PYTHONDONTWRITEBYTECODE``
the processes a test starts keep their bytecode under a private
``PYTHONPYCACHEPREFIX`` (session 20: about 0.35 CPU-s less per ``vdynamo serve``
start), and a cache directory another user could write is never chosen."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

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
