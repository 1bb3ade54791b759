"""The opt-in compiled node core (impl/compiled.py, `make compiled-impl`, session 60): it
gives the pure-Python implementation's seeded results, and a build that is missing or
stale is never used.

The agreement test needs a build (`make compiled-impl`: mypyc, gcc and python3-dev,
about 3 minutes of wall time on an idle machine, 8 under load); it is skipped, saying
why, where there is none or it is stale. CI builds nothing, so there it is skipped: the
build and the two digest runs (about 17 CPU-s each) would take too much of the
10-minute budget.

Mutants killed (docs/simulator.md, "A compiled node core (session 60)"): a compiled
copy of a changed module (``impl/versions.py``'s lww ``merge`` keeping the older
version, ``min`` for ``max``; built with :func:`vdynamo.compile_cli.build_impl` into
another folder from a tree carrying the change, its stamp then rewritten to this tree's
digests so that :func:`impl.compiled.status` accepts it, and the test run with
``VDYNAMO_COMPILED_IMPL_DIR`` naming it): the agreement test fails at the first lww
line (``lww 1 6435f79a018d0f55 24817`` for ``lww 1 ce23b70d7d1e505a 23912``). It first
passed that mutant: ``_run`` dropped ``VDYNAMO_COMPILED_IMPL_DIR`` from the child's
environment, so the child ran the default build; fixed. :func:`impl.compiled.status`
without its comparison of the sources (``if changed:`` made ``if False:``): the stale
test fails (the child imports the stale build's empty ``.so`` and exits 1);
:func:`impl.compiled.activate` that ignores the status: both stale-build tests fail
(``['True', 'True']``: the missing folder "used").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from impl import compiled

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != compiled.ENV}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=300, check=False)


def _digests(env: dict[str, str]) -> tuple[list[str], str]:
    """(``bench/sim_digest.py --members``'s lines, impl.compiled's state) in a fresh
    process under ``env`` and PYTHONHASHSEED=0."""
    code = ("import runpy, sys; sys.argv = ['sim_digest', '--members']\n"
            "from impl import compiled\n"
            "print('ACTIVE', compiled.ACTIVE, compiled.NOTE, file=sys.stderr)\n"
            "runpy.run_path('bench/sim_digest.py', run_name='__main__')\n")
    done = _run(code, {"PYTHONHASHSEED": "0", **env})
    assert done.returncode == 0, done.stderr[-2000:]
    state = next(line for line in done.stderr.splitlines() if line.startswith("ACTIVE"))
    return done.stdout.splitlines(), state


def test_the_compiled_core_gives_the_pure_digests() -> None:
    """``bench/sim_digest.py --members`` (17 seeded runs: every clock mode, faults,
    the wire codec, the unlogged fast paths, membership changes) prints the same lines
    with the compiled core as with the pure one."""
    usable, why = compiled.status()
    if not usable:
        pytest.skip(f"compiled node core not usable: {why}")
    lines, state = _digests({compiled.ENV: "1"})
    assert state == "ACTIVE True ", state  # the build ran, not the pure fallback
    pure, state = _digests({})  # (the build's folder passed on: the pure one is asked)
    assert state.startswith("ACTIVE False"), state
    assert len(pure) == 17
    assert lines == pure


def _stamp(folder: Path, sources: dict[str, str]) -> None:
    (folder / "impl" / "storage").mkdir(parents=True)
    for module in compiled.MODULES:
        (folder / "impl" / f"{module}.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    (folder / "stamp.json").write_text(json.dumps(
        {"python": sys.implementation.cache_tag, "modules": list(compiled.MODULES),
         "sources": sources}))


def test_a_stale_build_is_not_used(tmp_path: Path) -> None:
    """A build whose stamp names other sources (one file changed since) is refused with
    the file named, and impl stays pure; one that matches is accepted by status."""
    now = compiled.source_digests()
    assert "impl/node.py" in now and "spec/dvv.py" in now
    _stamp(tmp_path, {**now, "impl/versions.py": "0" * 64})
    done = _run("from impl import compiled; import impl.versions as v; "
                "print(compiled.ACTIVE, v.__file__.endswith('.py'))",
                {compiled.ENV: "1", "VDYNAMO_COMPILED_IMPL_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
    assert "impl/versions.py changed since the build" in done.stderr
    (tmp_path / "stamp.json").unlink()
    _stamp(tmp_path / "fresh", now)
    os.environ["VDYNAMO_COMPILED_IMPL_DIR"] = str(tmp_path / "fresh")
    try:
        assert compiled.status() == (True, "")
    finally:
        del os.environ["VDYNAMO_COMPILED_IMPL_DIR"]


def test_a_missing_build_is_not_used(tmp_path: Path) -> None:
    """No build: VDYNAMO_COMPILED_IMPL=1 says so on stderr and runs the pure modules."""
    done = _run("from impl import compiled; import impl.node as n; "
                "print(compiled.ACTIVE, n.__file__.endswith('.py'))",
                {compiled.ENV: "1", "VDYNAMO_COMPILED_IMPL_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]
    assert "no compiled build in" in done.stderr and "make compiled-impl" in done.stderr
