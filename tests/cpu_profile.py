"""Where the suite's CPU goes, per test: an opt-in pytest plugin and its summary.

Wall times (``--durations``) on a shared 2-core machine measure the other helpers'
load as much as the tests; this plugin records each test's own CPU instead (the
process's ``time.process_time`` plus the CPU of the child processes it waited for,
``RUSAGE_CHILDREN``) over setup, call and teardown, one JSON line per test, one
file per xdist worker (``cpu-gw0.jsonl``, ...; ``cpu-main.jsonl`` without xdist)::

    CI=true VDYNAMO_CPU_PROFILE=/tmp/cpu python -m pytest -n 2 -p tests.cpu_profile
    python -m tests.cpu_profile /tmp/cpu [N]   # the N costliest files and tests

Not loaded unless ``-p tests.cpu_profile`` is given (CI never loads it). A child
process the test did not wait for (a server left to a fixture's teardown after the
test) is counted where it is reaped. Session 13's figures: docs/model-checking.md,
"Where CI's test CPU goes (session 13)".
"""

from __future__ import annotations

import collections
import json
import os
import resource
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import IO, Any

import pytest

__all__ = ["main", "pytest_runtest_protocol"]

_out: list[IO[str]] = []


def _cpu() -> tuple[float, float, float]:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (time.process_time(), children.ru_utime + children.ru_stime, time.perf_counter())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None
                            ) -> Generator[None, Any, None]:
    """Record ``item``'s CPU (own, children's) and wall seconds, setup to teardown."""
    if not _out:
        directory = Path(os.environ.get("VDYNAMO_CPU_PROFILE", "."))
        directory.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        _out.append((directory / f"cpu-{worker}.jsonl").open("a", encoding="utf-8"))
    before = _cpu()
    yield
    after = _cpu()
    _out[0].write(json.dumps({"id": item.nodeid, "cpu": after[0] - before[0],
                              "child": after[1] - before[1],
                              "wall": after[2] - before[2]}) + "\n")
    _out[0].flush()


def main(argv: list[str]) -> None:
    """Print the totals, the costliest files and the costliest tests of a profile
    directory (``argv``: the directory, then how many rows, 40 by default)."""
    directory = Path(argv[0])
    rows = [json.loads(line) for path in sorted(directory.glob("cpu-*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]
    count = int(argv[1]) if len(argv) > 1 else 40
    own = sum(r["cpu"] for r in rows)
    children = sum(r["child"] for r in rows)
    print(f"{len(rows)} tests: {own:.0f} CPU-s own, {children:.0f} CPU-s in child "
          f"processes, {sum(r['wall'] for r in rows):.0f} s wall summed")
    files: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0.0])
    for r in rows:
        totals = files[r["id"].split("::")[0]]
        totals[0] += r["cpu"] + r["child"]
        totals[1] += r["wall"]
        totals[2] += 1
    print("CPU-s  wall-s  tests  file")
    for name, (cpu, wall, tests) in sorted(files.items(), key=lambda f: -f[1][0])[:count]:
        print(f"{cpu:6.1f} {wall:7.1f} {tests:6.0f}  {name}")
    print("CPU-s  (child)  wall-s  test")
    for r in sorted(rows, key=lambda r: -(r["cpu"] + r["child"]))[:count]:
        print(f"{r['cpu'] + r['child']:6.1f} {r['child']:7.1f} {r['wall']:7.1f}  {r['id']}")


if __name__ == "__main__":
    main(sys.argv[1:])
