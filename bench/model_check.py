"""Benchmark of the model checker: states/s, seen-set bytes/state, peak memory, symmetry on/off.

Run: ``.venv/bin/python bench/model_check.py [--skip-large] [--only NAME] [--timeout S]``

For every entry of the default suite (or those named with ``--only``) and for
one larger configuration (at least a million distinct states without symmetry),
it runs ``check()`` with symmetry on and off, each in a fresh subprocess so that the peak resident
memory (``ru_maxrss``) belongs to that run alone, and prints one table, side
by side. A first row measures the explorer alone on a trivial system (two
counters, 1,000,000 states) to separate its own cost from the spec's
successor generation. Then the worker scaling (``--workers`` 1 and 2) and the
swarm simulator's steps per CPU-second on strict-dvv and the sloppy
configurations. It prints figures and never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on sys.path, and this file's name would
# shadow the model_check package: put the project root first instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))


def large_config() -> Any:
    """The larger configuration: the suite's strict-dvv with bigger fault budgets.

    Three drops, two crashes, one duplicate and one partition instead of one drop
    and one crash: well over a million distinct states, of which the benchmark
    explores the first ``LARGE_STATES`` (a bounded run: throughput, bytes/state and
    memory are the point, not the verdicts).
    """
    from model_check.suite import entry

    return entry("strict-dvv").config.replace(name="large-strict-dvv", **LARGE_FAULTS)


LARGE_FAULTS: dict[str, Any] = {"drops": 3, "crashes": 2, "duplicates": 1, "partitions": 1}
LARGE_STATES = 1_000_000
SIMULATED_WALKS = 500
SCALING = ("strict-dvv", "sloppy-crash", "sloppy-partition")
"""The configurations of the worker scaling and simulation rows."""


def _one(kind: str, name: str, symmetry: bool) -> dict[str, Any]:
    """Run one measurement in this process and return its figures."""
    from model_check.explorer import explore, peak_memory_bytes

    started = time.process_time()
    if kind == "toy":
        def successors(state: tuple[int, int]) -> Iterator[tuple[str, tuple[int, int]]]:
            x, y = state
            if x < 999:
                yield "x", (x + 1, y)
            if y < 999:
                yield "y", (x, y + 1)

        run = explore([(0, 0)], successors)
        return {"distinct_states": run.distinct_states, "transitions": run.transitions,
                "seconds": run.seconds, "cpu_seconds": time.process_time() - started,
                "seen_bytes": run.seen_bytes, "peak_memory": peak_memory_bytes(),
                "verdicts": {}}
    from model_check.check import check

    if kind == "workers":  # name = "<suite entry>:<workers>"; CPU includes the workers'
        from model_check.suite import entry as suite_entry

        entry_name, workers = name.rsplit(":", 1)
        result = check(suite_entry(entry_name).config, workers=int(workers))
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {"distinct_states": result.distinct_states, "seconds": result.seconds,
                "cpu_seconds": time.process_time() - started + children.ru_utime
                + children.ru_stime,
                "verdicts": {r.property: str(r.verdict) for r in result.results}}
    if kind == "simulate":  # name = suite entry; 500 walks from seed 1
        from model_check.check import simulate_check
        from model_check.suite import entry as suite_entry

        result = simulate_check(suite_entry(name).config, walks=SIMULATED_WALKS, seed=1)
        return {"steps": result.transitions, "seconds": result.seconds,
                "cpu_seconds": time.process_time() - started,
                "violated": result.violated}
    if kind == "suite":
        from model_check.suite import DEFAULT_SUITE

        entry = next(e for e in DEFAULT_SUITE if e.name == name)
        config, props = entry.config, list(entry.expected)
    else:
        config, props = large_config(), None
    bound = LARGE_STATES if kind == "large" else None
    started = time.process_time()
    result = check(config, properties=props, symmetry=symmetry, max_states=bound)
    return {"distinct_states": result.distinct_states, "transitions": result.transitions,
            "seconds": result.seconds, "cpu_seconds": time.process_time() - started,
            "seen_bytes": result.seen_bytes,
            "peak_memory": peak_memory_bytes(),
            "verdicts": {r.property: str(r.verdict) for r in result.results}}


def _measure(kind: str, name: str, symmetry: bool, timeout: float) -> dict[str, Any] | None:
    command = [sys.executable, __file__, "--one", kind, name, "1" if symmetry else "0"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return {"error": f"failed (exit {done.returncode})"}
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _cells(figures: dict[str, Any] | None) -> list[str]:
    if figures is None:
        return ["-", "", "", "", "", ""]
    if "error" in figures:
        return [figures["error"], "", "", "", "", ""]
    states, cpu = figures["distinct_states"], figures["cpu_seconds"]
    return [
        f"{states:,}",
        f"{figures['seconds']:.2f}",
        f"{cpu:.2f}",
        f"{states / cpu:,.0f}" if cpu else "-",
        f"{figures['seen_bytes'] / states:.1f}" if states else "-",
        f"{figures['peak_memory'] / 2**20:,.0f}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=3, metavar=("KIND", "NAME", "SYMMETRY"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--skip-large", action="store_true", help="skip the large config")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="measure only this suite entry in the table (repeatable)")
    parser.add_argument("--timeout", type=float, default=1800.0,
                        help="seconds allowed for each run (default 1800)")
    args = parser.parse_args(argv)
    if args.one:
        kind, name, symmetry = args.one
        print(json.dumps(_one(kind, name, symmetry == "1")))
        return 0

    from model_check.suite import DEFAULT_SUITE

    jobs: list[tuple[str, str, str]] = [("toy", "counters-1000x1000", "explorer alone")]
    jobs += [("suite", entry.name, entry.name) for entry in DEFAULT_SUITE
             if not args.only or entry.name in args.only]
    if not args.skip_large:
        jobs.append(("large", "large", f"large-strict-dvv (first {LARGE_STATES:,})"))
    header = ["configuration", "sym", "states", "wall s", "CPU s", "states/CPU-s", "B/state",
              "peak MiB", "saved by symmetry"]
    widths = [34, 4, 12, 8, 8, 12, 8, 9, 18]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    print(line(header))
    print(line(["-" * w for w in widths]))
    started = time.perf_counter()
    for kind, name, label in jobs:
        on = _measure(kind, name, True, args.timeout)
        off = _measure(kind, name, False, args.timeout) if kind != "toy" else None
        saved = "n/a (bounded runs)" if kind == "large" else ""
        if kind != "large" and on and off and "error" not in on and "error" not in off:
            factor = off["distinct_states"] / on["distinct_states"]
            saved = f"{off['distinct_states'] - on['distinct_states']:,} ({factor:.1f}x)"
        print(line([label, "on" if kind != "toy" else "-", *_cells(on), saved]), flush=True)
        if kind != "toy":
            print(line(["", "off", *_cells(off), ""]), flush=True)
            if on and off and on.get("verdicts") != off.get("verdicts"):
                print(f"  !! verdicts differ with symmetry on/off: {on['verdicts']} vs "
                      f"{off['verdicts']}", flush=True)
    print("\nworker scaling (vdynamo check --workers N; all properties; CPU includes the "
          "workers'):")
    for name in SCALING:
        runs = {n: _measure("workers", f"{name}:{n}", True, args.timeout) for n in (1, 2)}
        cells = []
        for n, run in runs.items():
            if run is None or "error" in run:
                cells.append(f"{n} worker(s): {run and run.get('error')}")
                continue
            cells.append(f"{n} worker(s) {run['distinct_states']:,} states "
                         f"{run['seconds']:.2f} s wall, {run['cpu_seconds']:.2f} CPU-s")
        one, two = runs[1], runs[2]
        if one and two and "error" not in one and "error" not in two:
            cells.append(f"speed-up {one['seconds'] / two['seconds']:.2f}x, verdicts "
                         f"{'same' if one['verdicts'] == two['verdicts'] else 'DIFFER'}")
        print(f"  {name:<18} " + "; ".join(cells), flush=True)
    print(f"\nswarm simulation (vdynamo check --simulate {SIMULATED_WALKS} --seed 1):")
    for name in SCALING:
        run = _measure("simulate", name, True, args.timeout)
        if run is None or "error" in run:
            print(f"  {name:<18} {run and run.get('error')}")
            continue
        print(f"  {name:<18} {run['steps']:,} steps in {run['cpu_seconds']:.2f} CPU-s: "
              f"{run['steps'] / run['cpu_seconds']:,.0f} steps/CPU-s; violated: "
              f"{', '.join(run['violated']) or 'none'}", flush=True)
    print(f"\ntotal {time.perf_counter() - started:.0f} s. states/CPU-s divides by the run's "
          "CPU time (the machine is shared, so wall time overstates); peak MiB is the run's "
          "own process (ru_maxrss); B/state counts the seen-set and the parent links "
          "(18 with the state-index array that liveness needs, 14 without).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
