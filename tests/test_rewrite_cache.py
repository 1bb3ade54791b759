"""tests/rewrite_cache.py: the test modules' rewritten pycs written once per run
(session 60; docs/refinement.md, "The suite's time (session 60)").

Mutants, each run, seen failing, reverted: ``rewrite`` compiling the source without
pytest's rewriting (``compile(source.read_bytes(), ...)``): the failing assert's
message lost its operands (``assert 'assert 1 == 2' in ''``); ``stale`` naming only
modules whose pyc is missing (``not cached_pyc(source).exists()``): the changed
source stays cached (``assert [] == [PosixPath(...)]``); ``run_modules`` without its
conftest pattern: ``conftest.py`` not found.
"""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from tests.rewrite_cache import cached_pyc, precompile, run_modules, stale

MODULE = "def check():\n    x = 1\n    assert x == {expected}\n"


def _failure(source: Path) -> str:
    """The message of the AssertionError ``check`` of ``source``'s cached code raises."""
    data = cached_pyc(source).read_bytes()
    namespace: dict[str, object] = {}
    exec(marshal.loads(data[16:]), namespace)
    with pytest.raises(AssertionError) as caught:
        namespace["check"]()  # type: ignore[operator]
    return str(caught.value)


def test_the_stale_modules_are_rewritten_once_as_pytest_would(tmp_path: Path) -> None:
    """A module's pyc is written with pytest's rewriting (the failing assert names
    its operands), read back by pytest's own check, and written again once the
    source changes (its hash); one child process does it."""
    source = tmp_path / "test_sample.py"
    source.write_text(MODULE.format(expected=2))
    assert stale([source]) == [source]
    assert precompile([str(tmp_path)], jobs=1) == 1
    assert stale([source]) == []
    assert "assert 1 == 2" in _failure(source)
    assert precompile([str(tmp_path)], jobs=1) == 0  # nothing stale: no child started
    source.write_text(MODULE.format(expected=3))
    assert stale([source]) == [source]
    assert precompile([str(source)], jobs=1) == 1
    assert "assert 1 == 3" in _failure(source)


def test_the_modules_of_a_run_are_its_test_files_and_conftests(tmp_path: Path) -> None:
    """Files named as pytest collects them and conftests, below a directory or
    named (a node id's file), not in ``__pycache__`` or hidden directories."""
    for name in ("test_a.py", "b_test.py", "conftest.py", "helper.py",
                 "sub/test_c.py", ".hidden/test_d.py", "__pycache__/test_e.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    found = run_modules([str(tmp_path)])
    assert [path.relative_to(tmp_path).as_posix() for path in found] == [
        "b_test.py", "conftest.py", "sub/test_c.py", "test_a.py"]
    assert run_modules([f"{tmp_path / 'helper.py'}::test_x"]) == [
        (tmp_path / "helper.py").resolve()]
