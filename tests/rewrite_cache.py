"""Each test module's assertion rewriting done once per run, not once per xdist worker.

pytest rewrites the ``assert`` statements of every test module it imports and keeps
the rewritten code in a pyc of its own (``__pycache__/NAME.cpython-311-pytest-9.2.0.pyc``,
hash-checked against the source) -- unless ``sys.dont_write_bytecode`` is set, which
``PYTHONDONTWRITEBYTECODE=1`` does (this project's test machine sets it; the Makefile's
``compileall`` comment). Then nothing is written, and every xdist worker parsed,
rewrote and compiled all ~730 test modules again at each run: 10-11 of a worker's 15
CPU-s of collection (session 60: ``pytest --collect-only tests`` under cProfile,
``_rewrite_test`` 245 of 345 s profiled; ``make test`` runs 3 workers).

:func:`precompile` (called by tests/conftest.py in the xdist controller, before the
workers start) writes the pycs pytest itself would write -- pytest's own
``_rewrite_test`` and ``_write_pyc`` (atomic: a complete pyc or none), for the test
modules and conftests below the run's paths whose pyc is missing or stale -- on
``os.cpu_count()`` child processes; the workers' import hook then reads them (pytest
reads a valid cached pyc whatever ``sys.dont_write_bytecode`` says). Nothing else
changes: the same code is executed, a source changed since is rewritten again (the
hash), and any failure here only leaves the workers to rewrite as before. Docs:
docs/refinement.md, "The suite's time (session 60)".
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

#: the modules pytest rewrites on import (its default ``python_files`` and conftests)
PATTERNS = ("test_*.py", "*_test.py", "conftest.py")


class _Quiet:
    """The ``AssertionState`` stand-in ``_write_pyc`` traces to."""

    @staticmethod
    def trace(*_: object) -> None:
        return None


def cached_pyc(source: Path) -> Path:
    """Where the pytest processes started from this one (xdist's workers, this
    module's children) keep ``source``'s rewritten code: pytest's ``get_cache_dir``
    under the ``PYTHONPYCACHEPREFIX`` they start with (tests/conftest.py's
    ``_child_bytecode_cache`` sets it after this process started, so this process's
    own ``sys.pycache_prefix`` may differ); the ``PYC_TAIL`` names the interpreter
    and pytest's version."""
    from _pytest.assertion.rewrite import PYC_TAIL, get_cache_dir

    own = sys.pycache_prefix
    sys.pycache_prefix = os.environ.get("PYTHONPYCACHEPREFIX") or None
    try:
        return get_cache_dir(source) / (source.name[:-3] + PYC_TAIL)
    finally:
        sys.pycache_prefix = own


def stale(sources: Iterable[Path]) -> list[Path]:
    """The ``sources`` whose cached rewritten pyc is missing, unreadable or of
    another source (pytest's own check, ``_read_pyc``)."""
    from _pytest.assertion.rewrite import _read_pyc

    return [source for source in sources if _read_pyc(source, cached_pyc(source)) is None]


def rewrite(sources: Iterable[Path]) -> int:
    """Rewrite each of ``sources`` as pytest's import hook does (no assertion-pass
    hook: pytest's default) and write its pyc where the hook reads it; how many
    were written (one that cannot be written is left to the hook)."""
    from _pytest.assertion.rewrite import _rewrite_test, _write_pyc, try_makedirs

    written = 0
    for source in sources:
        pyc = cached_pyc(source)
        if not try_makedirs(pyc.parent):
            continue
        source_hash, code = _rewrite_test(source, None)  # type: ignore[arg-type]
        written += _write_pyc(_Quiet(), code, source_hash, pyc)  # type: ignore[arg-type]
    return written


def run_modules(paths: Sequence[str]) -> list[Path]:
    """The test modules and conftests a run of ``paths`` (files, directories,
    node ids) may import, sorted; hidden and ``__pycache__`` directories skipped."""
    found: set[Path] = set()
    for arg in paths:
        path = Path(arg.split("::")[0])
        if path.is_file() and path.suffix == ".py":
            found.add(path.resolve())
        elif path.is_dir():
            for pattern in PATTERNS:
                found.update(source.resolve() for source in path.rglob(pattern)
                             if "__pycache__" not in source.parts
                             and not any(part.startswith(".") for part in source.parts))
    return sorted(found)


def precompile(paths: Sequence[str], jobs: int | None = None) -> int:
    """Write the missing or stale rewritten pycs of the test modules below
    ``paths`` on ``jobs`` child processes (``os.cpu_count()`` by default; at most
    one per 20 modules); how many modules were stale. A child that fails leaves
    its modules to the workers' import hook."""
    todo = stale(run_modules(paths))
    if not todo:
        return 0
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo) // 20 or 1))
    children = [subprocess.Popen([sys.executable, __file__, *map(str, todo[i::jobs])],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for i in range(jobs)]
    for child in children:
        child.wait()
    return len(todo)


if __name__ == "__main__":
    rewrite(Path(arg) for arg in sys.argv[1:])
