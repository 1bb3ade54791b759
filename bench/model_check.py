"""Benchmark of the model checker: states/s, seen-set bytes/state, peak memory, symmetry on/off.

Run: ``.venv/bin/python bench/model_check.py [--skip-large] [--only NAME] [--timeout S]``

For every entry of the default suite (or only those named with ``--only``: then the
larger configuration only if ``--only large`` names it too) and for
one larger configuration (at least a million distinct states without symmetry),
it runs ``check()`` with symmetry on and off, each in a fresh subprocess so that the peak resident
memory (``ru_maxrss``) belongs to that run alone, and prints one table, side
by side. A first row measures the explorer alone on a trivial system (two
counters, 1,000,000 states) to separate its own cost from the spec's
successor generation. Then the compiled spec against the pure one (``make
compiled``: states per CPU-second of check() and of the successors alone, and the
ratio), partial-order reduction (``--por`` off and on: the states with and without,
the reduction factor, CPU seconds, verdicts), the worker scaling (``--workers`` 1
and 2, the kernel's workers and the spec's (session 61), with the workers' seen-set bytes
per state) and the swarm simulator's steps
per CPU-second on strict-dvv and the sloppy configurations, and the SPIN comparison
on the reference questions (``bench/promela/strict.pml``, with each question's nodes
and faults as macros, :data:`QUESTIONS`: needs ``spin`` and ``gcc``, from Debian:
``apt-get install spin gcc``; with and without the packed-state kernel), and the
symmetry reduction on two-client configurations (``--section symmetry``: off, on with
the uncached and the cached canonical form of ``spec/symmetry.py``, medians and
ratios). ``--section against --against DIR`` compares this tree's check() with
another checkout's (``DIR``: e.g. ``git archive <commit> | tar -x -C DIR``), in fresh
processes alternating between the two, on strict-dvv and the sloppy configurations:
medians and the ratio (session 18).
``--section membership`` and ``--section reaps`` measure one memo lever each (every lever
against every lever but that one, fresh processes alternating, medians of 3: sessions 21
and 22). ``--section compact`` measures the packed frontier (``check(compact_frontier=True)``,
model_check/frontier.py) against plain states on strict-dvv and sloppy-crash (or the
``--only`` entries): CPU-s, bytes per packed state, peak memory (session 26).
``--section kernel`` measures check() over the packed states of model_check/kernel.py
(the default where it covers the configuration) against the spec's states
(``kernel=False``) on strict-dvv, the sloppy entries and the larger configuration's
first 200,000 states (since session 55 also two-client entries, refused writes and
spec/default.toml's first 200,000 states): CPU-s, states per CPU-second, peak memory,
medians of 3 alternating fresh-process runs (session 54); then (session 57) the kernel
alone on :data:`KERNEL_SCALE`, the first 10^6 states of ``--section big``'s
configuration: CPU-s, states per CPU-second overall and over the second half, the cyclic
collector's CPU-s, the kernel's misses a state and flushes, peak memory, medians of 3
fresh processes. The table's rows use the default (the kernel where it covers the
entry). ``--section big`` (only when named: projected 15-20 CPU-minutes and several GB)
checks :data:`BIG` exhaustively in a fresh process, kernel on, every property of its
configuration file (issue 13's "a configuration of at least 10^7 states (two clients,
two keys, two faults) in under 10 minutes"): states, transitions, depth, verdicts,
CPU-s, wall, peak memory, and "met" or "not met" with the cause (:func:`big_verdict`;
session 56). Its ``--timeout`` defaults to :data:`BIG_TIMEOUT`.
It prints figures and never fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import types
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
SECTIONS = ("table", "split", "memo", "membership", "reaps", "compiled", "por", "workers",
            "simulate", "spin", "symmetry", "against", "compact", "kernel", "big")
"""The parts of the run (``--section``; ``against`` and ``big`` only when named)."""
BIG = "sloppy-two-keys-drop-partition"
"""The configuration of ``--section big`` (model_check/configs/, session 56): sloppy quorum
on four nodes, two clients, two keys, one drop and one partition (about 10^7 states
projected from its first levels; sloppy-two-keys-drop-crash, a crash for the partition,
about 7 million)."""
BIG_STATES = 10_000_000
BIG_CPU_SECONDS = 600.0
"""Issue 13's goal for ``--section big``: at least this many distinct states, exhaustively,
in under this many CPU-seconds of one process (one core: the machine is shared, so the
wall time is printed but not judged)."""
BIG_TIMEOUT = 6 * 3600.0
"""``--section big``'s wall-clock allowance when ``--timeout`` is not given (a loaded
machine gives the run a fraction of a core)."""
MEMBERSHIP = ("join-immediate", "join-pending", "leave-pending", "delete-leave-pending")
"""The configurations of the membership memo rows (issue 13, session 21): the suite
entries of a membership change whose searches are about 30 CPU-s of CI."""
REAPS = ("delete-immediate", "delete-safe-drop", "delete-leave-pending", "delete-concurrent-put",
         "delete-safe-strict-crash")
"""The configurations of the reaps memo rows (issue 13, session 22): the suite's delete
entries of more than 15,000 states."""
COMPILED = (*SCALING, "lww-two-clients", "delete-immediate")
"""The configurations of the compiled-against-pure rows (the last two: two clients, where
the symmetry reduction runs)."""
SYMMETRY = ("lww-two-clients","dvv-two-clients-drop", "delete-concurrent-put",
            "spec/default.toml@100000")
"""The configurations of the symmetry rows: two-client suite entries, and the project's
default configuration (too large to explore here) to its first 100,000 states."""
KERNEL = (*SCALING, "large@200000", "dvv-two-clients-drop", "delete-concurrent-put",
          "write-failure-acked", "spec/default.toml@200000")
"""The configurations of the kernel rows (issue 13, session 54): strict-dvv and the sloppy
entries, and the larger configuration (one client: covered) to its first 200,000 states;
since session 55 two-client entries with symmetry (dvv-two-clients-drop,
delete-concurrent-put), refused writes (write-failure-acked) and the project's default
configuration (two clients, a drop and a crash) to its first 200,000 states."""
KERNEL_SCALE = ("sloppy-two-keys-drop-partition@1000000",)
"""The kernel's scale rows (session 57): the 10^7-state configuration of ``--section big``
(model_check/configs/) to its first 10^6 states, kernel on only (the spec's states would
take several times as long)."""
POR_DEFAULT = ("spec/default.toml", 6)
"""The project's default configuration in the partial-order reduction rows: too large to
explore here (issue 13), so both runs stop at this depth (66,107 states, about 12 s of
CPU without)."""


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

    if kind == "workers":  # name = "<suite entry>:<workers>[:spec]"; CPU includes the
        # workers'; ":spec": the workers expand the spec's states, not the kernel's
        from model_check.parallel import RUNS
        from model_check.suite import entry as suite_entry

        entry_name, workers, *spec = name.split(":")
        wall = time.perf_counter()
        result = check(suite_entry(entry_name).config, workers=int(workers),
                       kernel=not spec)
        wall = time.perf_counter() - wall
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        # Per worker, summed over the check's explorations (one per liveness property).
        per_worker = [[sum(run[w].cpu_seconds for run in RUNS),
                       sum(run[w].expanded for run in RUNS)] for w in range(int(workers))]
        return {"distinct_states": result.distinct_states, "seconds": wall,
                "cpu_seconds": time.process_time() - started + children.ru_utime
                + children.ru_stime, "seen_bytes": result.seen_bytes,
                "coordinator_cpu_seconds": time.process_time() - started,
                "workers": per_worker,
                "verdicts": {r.property: str(r.verdict) for r in result.results}}
    if kind == "split":  # name = suite entry: where check()'s CPU goes
        return _split(name)
    if kind in ("memo", "no-memo") or kind.startswith("memo-but-"):  # name = suite entry;
        # all its properties ("memo-but-membership": every lever but the membership steps')
        from model_check.spec_memo import LEVERS, MemoSuccessors
        from model_check.spec_model import spec_model
        from model_check.suite import entry as suite_entry

        chosen = suite_entry(name)
        model = spec_model(chosen.config, memo=kind != "no-memo")
        if kind.startswith("memo-but-"):
            lever = {"membership": "membership_changes"}.get(kind[9:], kind[9:])
            object.__setattr__(model, "memoised_successors",
                               MemoSuccessors(levers=LEVERS - {lever}))
        result = check(chosen.config, list(chosen.expected), model=model)
        memo = model.memoised_successors
        return {"distinct_states": result.distinct_states, "transitions": result.transitions,
                "cpu_seconds": time.process_time() - started, "peak_memory": peak_memory_bytes(),
                "seen_bytes": result.seen_bytes, "depth": result.depth,
                "entries": memo.entries() if memo else 0,
                "view_entries": len(memo.views) if memo else 0,
                "reap_entries": len(memo.reap_steps) if memo else 0,
                "hits": memo.hits if memo else 0, "misses": memo.misses if memo else 0,
                "verdicts": {r.property: str(r.verdict) for r in result.results}}
    if kind in ("compact-on", "compact-off"):  # name = suite entry; all its properties
        from model_check.suite import entry as suite_entry

        chosen = suite_entry(name)
        levels: list[tuple[int, int]] = []
        result = check(chosen.config, list(chosen.expected),
                       compact_frontier=kind == "compact-on",
                       on_exploration=lambda run: levels.append(
                           (run.largest_level, run.packed_bytes)))
        return {"distinct_states": result.distinct_states, "transitions": result.transitions,
                "cpu_seconds": time.process_time() - started, "peak_memory": peak_memory_bytes(),
                "depth": result.depth, "largest_level": levels[0][0],
                "packed_bytes": levels[0][1],
                "verdicts": {r.property: str(r.verdict) for r in result.results}}
    if kind in ("kernel-on", "kernel-off"):  # name = suite entry, or "large@<max states>"
        from model_check.suite import entry as suite_entry

        if name.startswith("large@"):
            config, props, bound = large_config(), None, int(name.split("@")[1])
        elif "@" in name:  # "<toml>@<max states>"
            from spec.config import load_config

            path, limit = name.split("@")
            config, props, bound = load_config(path), None, int(limit)
        else:
            config, props, bound = suite_entry(name).config, list(suite_entry(name).expected), None
        result = check(config, props, max_states=bound, kernel=kind == "kernel-on")
        return {"distinct_states": result.distinct_states, "transitions": result.transitions,
                "cpu_seconds": time.process_time() - started, "peak_memory": peak_memory_bytes(),
                "depth": result.depth,
                "verdicts": {r.property: str(r.verdict) for r in result.results}}
    if kind == "big":  # name = a configuration of model_check/configs, or "<name>@<max states>"
        return _big_run(name)
    if kind == "kernel-scale":  # name = "<a configuration of model_check/configs>@<max states>"
        return _kernel_scale_run(name)
    if kind in ("sym-cached", "sym-uncached"):  # name = suite entry, or "<toml>@<max states>"
        return _symmetry_run(name, symmetry, cached=kind == "sym-cached")
    if kind == "spec-path":  # name = suite entry; the pure or the compiled spec (the env)
        return _spec_path(name)
    if kind in ("por", "no-por"):  # name = suite entry, or "<toml>@<max depth>"
        from model_check.suite import entry as suite_entry

        if "@" in name:
            from spec.config import load_config

            path, depth = name.rsplit("@", 1)
            result = check(load_config(path), por=kind == "por", max_depth=int(depth))
        else:
            chosen = suite_entry(name)
            result = check(chosen.config, list(chosen.expected), por=kind == "por")
        return {"distinct_states": result.distinct_states, "seconds": result.seconds,
                "transitions": result.transitions,
                "cpu_seconds": time.process_time() - started,
                "reduced_states": result.reduced_states, "por_note": result.por_note,
                "verdicts": {r.property: str(r.verdict) for r in result.results}}
    if kind == "simulate":  # name = suite entry; 500 walks from seed 1
        from model_check.check import simulate_check
        from model_check.suite import entry as suite_entry

        result = simulate_check(suite_entry(name).config, walks=SIMULATED_WALKS, seed=1)
        return {"steps": result.transitions, "seconds": result.seconds,
                "cpu_seconds": time.process_time() - started,
                "violated": result.violated}
    if kind in ("question", "question-no-kernel"):  # read_your_writes alone on a suite
        # entry: time to verdict, with the packed-state kernel (the default) or without
        from model_check.suite import entry as suite_entry

        result = check(suite_entry(name).config, properties=["read_your_writes"],
                       kernel=kind == "question")
        return {"distinct_states": result.distinct_states, "seconds": result.seconds,
                "cpu_seconds": time.process_time() - started,
                "verdict": str(result.verdict("read_your_writes"))}
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


def _big_run(name: str) -> dict[str, Any]:
    """``--section big``'s one run, in this process: check() of the configuration file
    ``model_check/configs/<name>.toml`` (``name@S``: at most S states), every property,
    the kernel on where it covers it. Its figures, the wall and CPU seconds of check(),
    the peak resident memory, and the level sizes."""
    from model_check.check import check
    from model_check.explorer import peak_memory_bytes
    from model_check.kernel import covers
    from model_check.suite import CONFIG_DIR
    from spec.config import load_config

    path, _, bound = name.partition("@")
    config = load_config(CONFIG_DIR / f"{path}.toml")
    wall, cpu = time.perf_counter(), time.process_time()
    result = check(config, max_states=int(bound) if bound else None)
    return {"distinct_states": result.distinct_states, "transitions": result.transitions,
            "depth": result.depth, "levels": list(result.levels),
            "cpu_seconds": time.process_time() - cpu, "seconds": time.perf_counter() - wall,
            "peak_memory": peak_memory_bytes(), "seen_bytes": result.seen_bytes,
            "kernel": covers(config)[0], "bounded": result.bounded,
            "verdicts": {r.property: str(r.verdict) for r in result.results},
            "lengths": {r.property: r.counterexample_length if r.counterexample_length
                        is not None else r.witness_length for r in result.results}}


def _kernel_scale_run(name: str) -> dict[str, Any]:
    """One run of ``--section kernel``'s scale rows, in this process: check() of
    ``model_check/configs/<config>.toml`` to ``name``'s state bound (``<config>@<S>``), every
    property, the kernel on: CPU-s, peak memory, the CPU-s of the second half of the
    states alone (from the progress samples), the cyclic collector's CPU-s (``gc.callbacks``),
    the kernel's misses and cache flushes (session 57), and the misses of its
    per-context tables answered by what the step read (``read_hits``, session 58)."""
    import gc

    from model_check import kernel as kernel_module
    from model_check.check import check
    from model_check.explorer import Progress, peak_memory_bytes
    from model_check.suite import CONFIG_DIR
    from spec.config import load_config

    path, _, bound = name.partition("@")
    config = load_config(CONFIG_DIR / f"{path}.toml")
    collected, flushes, kernels = [0.0, 0.0], [0], []
    samples: list[tuple[int, float]] = []

    def timed(phase: str, _: dict[str, Any]) -> None:
        if phase == "start":
            collected[1] = time.process_time()
        else:
            collected[0] += time.process_time() - collected[1]

    flush, made = kernel_module.Kernel.flush, kernel_module.Kernel.__init__

    def counted(kernel: Any) -> None:
        flushes[0] += 1
        flush(kernel)

    def kept(kernel: Any, *args: Any, **kwargs: Any) -> None:
        made(kernel, *args, **kwargs)
        kernels.append(kernel)

    kernel_module.Kernel.flush = counted  # type: ignore[method-assign,assignment]
    kernel_module.Kernel.__init__ = kept  # type: ignore[method-assign,assignment]
    gc.callbacks.append(timed)
    started = time.process_time()

    def sampled(sample: Progress) -> None:
        samples.append((sample.distinct_states, time.process_time() - started))

    result = check(config, max_states=int(bound), progress=sampled)
    cpu = time.process_time() - started
    gc.callbacks.remove(timed)
    half = result.distinct_states // 2
    before = max([(n, t) for n, t in samples if n <= half], default=(0, 0.0))
    return {"distinct_states": result.distinct_states, "transitions": result.transitions,
            "cpu_seconds": cpu, "peak_memory": peak_memory_bytes(), "depth": result.depth,
            "second_half": ((result.distinct_states - before[0]) / (cpu - before[1])
                            if cpu > before[1] else 0.0),
            "gc_seconds": collected[0], "misses": kernels[0].misses if kernels else 0,
            "read_hits": getattr(kernels[0], "narrow_hits", 0) if kernels else 0,
            "flushes": flushes[0],
            "verdicts": {r.property: str(r.verdict) for r in result.results}}


def big_verdict(figures: dict[str, Any] | None, states: int = BIG_STATES,
                cpu_seconds: float = BIG_CPU_SECONDS) -> str:
    """Issue 13's "a configuration of at least ``states`` states in under ``cpu_seconds``"
    judged on ``--section big``'s figures (:func:`_big_run`'s; ``None`` or an ``error``:
    the run failed): "met" or "not met (<cause>)". Judged on the CPU seconds of the one
    process (the wall time of a shared machine is the load's), on an exhaustive search
    only (a bounded one says nothing of the space's size)."""
    if figures is None or "error" in figures:
        why = "no figures" if figures is None else figures["error"]
        return f"not met (the run did not finish: {why})"
    found, spent = figures["distinct_states"], figures["cpu_seconds"]
    if figures.get("bounded"):
        return f"not met (a bounded search: {found:,} states, not the whole space)"
    if found < states:
        return f"not met (the configuration has {found:,} states, fewer than {states:,})"
    if spent >= cpu_seconds:
        needed = states / cpu_seconds
        return (f"not met ({spent:,.0f} CPU-s: {found / spent:,.0f} states/CPU-s where "
                f"{found:,} states in {cpu_seconds:,.0f} s need {found / cpu_seconds:,.0f}; "
                f"{needed:,.0f} for {states:,})")
    return f"met ({found:,} states in {spent:,.0f} CPU-s)"


def _big_pinned(name: str, run: dict[str, Any]) -> str:
    """Whether ``run`` (:func:`_big_run`'s figures) has the states, transitions, depth,
    verdicts and lengths that the suite entry ``name`` pins (if there is one)."""
    from model_check.errors import CheckError
    from model_check.suite import entry

    if run.get("bounded"):
        return "a bounded search: not compared"
    try:
        pinned = entry(name)
    except CheckError:
        return f"no suite entry {name!r}"
    off = pinned.figure_mismatches(types.SimpleNamespace(**{
        f: run[f] for f in ("distinct_states", "transitions", "depth")}))
    for prop, expected in pinned.expected.items():
        length = pinned.pinned_length(prop)
        if run["verdicts"].get(prop) != expected or length not in (None, run["lengths"][prop]):
            off.append(f"{prop}: {run['verdicts'].get(prop)} ({run['lengths'].get(prop)}), "
                       f"the suite pins {expected} ({length})")
    return "states, transitions, depth, verdicts and lengths as pinned" if not off else (
        "NOT as pinned: " + "; ".join(off))


def _big_rows(timeout: float, name: str = BIG) -> None:
    """``--section big``: :data:`BIG` checked exhaustively in a fresh process (issue 13,
    session 56): its figures and :func:`big_verdict`'s line."""
    print(f"\na configuration of 10^7 states: {name} (model_check/configs), exhaustive, every "
          f"property, one process (allowed {timeout:,.0f} s of wall):", flush=True)
    load = os.getloadavg()[0]
    run = _measure("big", name, True, timeout)
    if run is not None and "error" not in run:
        verdicts = run["verdicts"]
        failed = sorted(p for p, v in verdicts.items() if v == "violated")
        held = sum(v == "holds" for v in verdicts.values())
        found = sum(v == "found" for v in verdicts.values())
        print(f"  {run['distinct_states']:,} states, {run['transitions']:,} transitions, depth "
              f"{run['depth']}; {run['cpu_seconds']:,.1f} CPU-s "
              f"({run['distinct_states'] / run['cpu_seconds']:,.0f} states/CPU-s), "
              f"{run['seconds']:,.0f} s wall (load average {load:.1f} at the start, "
              f"{os.getloadavg()[0]:.1f} at the end); peak {run['peak_memory'] / 2**20:,.0f} "
              f"MiB; kernel {'on' if run['kernel'] else 'OFF'}", flush=True)
        print(f"  levels: {', '.join(f'{n:,}' for n in run['levels'])}")
        print(f"  verdicts: {held} hold, violated: {', '.join(failed) or 'none'}; "
              f"{found} sometimes-properties found: "
              + ", ".join(f"{p} ({run['lengths'][p]})" for p, v in verdicts.items()
                          if v == "found"), flush=True)
        print(f"  against the suite: {_big_pinned(name, run)}", flush=True)
    print(f"  10^7 states in under 10 minutes: {big_verdict(run)}", flush=True)


def _split(name: str) -> dict[str, Any]:
    """CPU-s of: every reachable state's successors built once (the spec), the explorer
    on successors computed beforehand (the explorer alone), the search without any
    property, and check() with all of the entry's properties (medians of 3)."""
    from model_check.check import check
    from model_check.explorer import explore
    from model_check.spec_model import spec_model
    from model_check.suite import entry as suite_entry

    chosen = suite_entry(name)
    model = spec_model(chosen.config)
    table: dict[Any, list[Any] | None] = dict.fromkeys(model.initial_states())
    level = list(table)
    while level:
        following = []
        for state in level:
            steps = list(model.successors(state))
            table[state] = steps
            for _, successor in steps:
                if successor not in table:
                    table[successor] = None
                    following.append(successor)
        level = following
    states = list(table)

    def cpu(run: Any) -> float:
        times = []
        for _ in range(3):
            started = time.process_time()
            run()
            times.append(time.process_time() - started)
        return float(statistics.median(times))

    def spec_only() -> None:
        fresh = spec_model(chosen.config).successors  # the memo's caches empty, as in check()
        for state in states:
            for _ in fresh(state):
                pass

    def replay(state: Any) -> list[Any]:
        return table[state] or []

    return {"distinct_states": len(states),
            "transitions": sum(len(steps or ()) for steps in table.values()),
            "successors": cpu(spec_only),
            "explorer": cpu(lambda: explore(model.initial_states(), replay)),
            "bare": cpu(lambda: _bare(spec_model(chosen.config))),
            "check": cpu(lambda: check(chosen.config, list(chosen.expected)))}


def _bare(model: Any) -> Any:
    """The explorer over the spec model, no property: the spec model's fingerprint and
    canonical form passed as check() passes them (model_check.check)."""
    from model_check.explorer import explore_model

    return explore_model(model, fingerprint=model.fingerprint,
                         canonical_identity=model.canonical_identity)


def _symmetry_run(name: str, symmetry: bool, cached: bool) -> dict[str, Any]:
    """check() of a suite entry (its properties) or of ``<toml>@<max states>`` (every
    property, bounded) with symmetry off, or on with the cached or the uncached
    canonical form (``spec.symmetry.canonicalize(..., cached=False)``)."""
    import functools
    from dataclasses import dataclass

    from model_check.check import check
    from model_check.spec_model import SpecModel
    from model_check.suite import entry as suite_entry
    from spec import symmetry as spec_symmetry
    from spec.config import load_config

    @dataclass(frozen=True, slots=True)
    class Uncached(SpecModel):
        canonicalize = staticmethod(functools.partial(spec_symmetry.canonicalize, cached=False))

    bound: int | None = None
    if "@" in name:
        path, states = name.rsplit("@", 1)
        config, props, bound = load_config(path), None, int(states)
    else:
        chosen = suite_entry(name)
        config, props = chosen.config, list(chosen.expected)
    model = SpecModel(config) if cached else Uncached(config)
    started = time.process_time()
    result = check(config, properties=props, symmetry=symmetry, max_states=bound, model=model)
    return {"distinct_states": result.distinct_states, "transitions": result.transitions,
            "cpu_seconds": time.process_time() - started,
            "verdicts": {r.property: str(r.verdict) for r in result.results}}


def _symmetry_rows(timeout: float) -> None:
    """Symmetry off, on with the uncached canonical form, on with the cached one:
    medians of 3 alternating runs in fresh processes, and the ratios."""
    print("\nsymmetry reduction (check() with all of the entry's properties; off, on uncached "
          "(canonicalize(..., cached=False)), on cached (the default); CPU-s medians of 3 "
          "alternating runs):")
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    modes = (("off", "sym-cached", False), ("uncached", "sym-uncached", True),
             ("cached", "sym-cached", True))
    for name in SYMMETRY:
        runs[name] = {mode: [] for mode, _, _ in modes}
        for _ in range(3):
            for mode, kind, symmetry in modes:
                run = _measure(kind, name, symmetry, timeout)
                if run is not None and "error" not in run:
                    runs[name][mode].append(run)
        done = runs[name]
        label = name.replace("@", " first ")
        if not all(done.values()):
            print(f"  {label:<34} failed", flush=True)
            continue
        cpu = {mode: statistics.median(r["cpu_seconds"] for r in done[mode]) for mode in done}
        states = {mode: done[mode][0]["distinct_states"] for mode in done}
        cached, uncached, off = done["cached"][0], done["uncached"][0], done["off"][0]
        same = (cached["verdicts"] == uncached["verdicts"] and states["cached"]
                == states["uncached"] and cached["transitions"] == uncached["transitions"])
        bounded = "@" in name  # off and on then explore different first states
        if not bounded:
            same = same and cached["verdicts"] == off["verdicts"]
        saved = "bounded" if bounded else f"{states['off'] / states['cached']:.2f}x fewer"
        print(f"  {label:<34} states off {states['off']:,} / on {states['cached']:,} "
              f"({saved}); CPU-s off {cpu['off']:.2f}, on uncached {cpu['uncached']:.2f}, "
              f"on cached {cpu['cached']:.2f}: cached {cpu['uncached'] / cpu['cached']:.2f}x "
              f"uncached's speed, on/off CPU-s {cpu['cached'] / cpu['off']:.2f}; states/CPU-s "
              f"on {states['cached'] / cpu['cached']:,.0f}, off {states['off'] / cpu['off']:,.0f}"
              f"; cached/uncached states and transitions"
              f"{'' if bounded else ', verdicts on/off'} {'same' if same else 'DIFFER'}",
              flush=True)


def _spec_path(name: str) -> dict[str, Any]:
    """check() with all of the entry's properties, and the successors of every reachable
    state (the spec alone), each timed once, with the spec this process imported."""
    from model_check.check import check
    from model_check.spec_model import spec_model
    from model_check.suite import entry as suite_entry
    from spec import compiled

    chosen = suite_entry(name)
    started = time.process_time()
    result = check(chosen.config, list(chosen.expected))
    check_cpu = time.process_time() - started
    model = spec_model(chosen.config)
    seen = dict.fromkeys(model.initial_states())
    level = list(seen)
    while level:  # the reachable states (no symmetry), then their successors timed
        following = []
        for state in level:
            for _, successor in model.successors(state):
                if successor not in seen:
                    seen[successor] = None
                    following.append(successor)
        level = following
    started = time.process_time()
    for state in seen:
        for _ in model.successors(state):
            pass
    return {"distinct_states": result.distinct_states, "cpu_seconds": check_cpu,
            "successors_cpu": time.process_time() - started, "reachable": len(seen),
            "compiled": compiled.ACTIVE, "note": compiled.NOTE,
            "verdicts": {r.property: str(r.verdict) for r in result.results}}


def _compiled_rows(timeout: float) -> None:
    """The compiled spec (``make compiled``, VDYNAMO_COMPILED=1) against the pure one:
    states per CPU-second of check() and of the successors alone, medians of 3 alternating
    runs, and whether the verdicts are the same."""
    from spec import compiled

    print("\ncompiled spec (make compiled; VDYNAMO_COMPILED=1) against pure Python (check() "
          "with all of the entry's properties; successors of every reachable state; medians "
          "of 3 alternating runs):")
    usable, why = compiled.status()
    if not usable:
        print(f"  skipped: {why}")
        return
    for name in COMPILED:
        runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
        for _ in range(3):
            for use in runs:
                run = _measure("spec-path", name, True, timeout,
                               env={compiled.ENV: "1" if use else "0"})
                if run is not None and "error" not in run:
                    runs[use].append(run)
        if not runs[False] or not runs[True] or not runs[True][0]["compiled"]:
            print(f"  {name:<18} failed{(': ' + runs[True][0]['note']) if runs[True] else ''}",
                  flush=True)
            continue
        pure, fast = runs[False][0], runs[True][0]
        cells = []
        for label, key, states in (("check()", "cpu_seconds", "distinct_states"),
                                   ("successors", "successors_cpu", "reachable")):
            cpu = {use: statistics.median(r[key] for r in runs[use]) for use in runs}
            cells.append(f"{label} {pure[states] / cpu[False]:,.0f} -> "
                         f"{pure[states] / cpu[True]:,.0f} states/CPU-s "
                         f"({cpu[False] / cpu[True]:.2f}x)")
        print(f"  {name:<18} {pure['distinct_states']:,} states; " + "; ".join(cells)
              + f"; verdicts {'same' if pure['verdicts'] == fast['verdicts'] else 'DIFFER'}",
              flush=True)


Medians = dict[str, float]


def _alternating(kinds: tuple[str, str], names: tuple[str, ...], timeout: float, width: int
                 ) -> Iterator[tuple[str, dict[str, list[dict[str, Any]]], Medians, Medians]]:
    """Per suite entry of ``names``, 3 alternating fresh-process runs of each of
    ``kinds``: the entry, its runs, and per kind the medians of the CPU seconds and of
    the peak memory (an entry where either kind never succeeded is reported failed)."""
    for name in names:
        runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
        for _ in range(3):
            for kind in kinds:
                run = _measure(kind, name, True, timeout)
                if run is not None and "error" not in run:
                    runs[kind].append(run)
        if not all(runs.values()):
            print(f"  {name:<{width}} failed", flush=True)
            continue
        cpu = {kind: statistics.median(r["cpu_seconds"] for r in runs[kind]) for kind in runs}
        peak = {kind: statistics.median(r["peak_memory"] for r in runs[kind]) for kind in runs}
        yield name, runs, cpu, peak


def _memo_rows(timeout: float) -> None:
    """check() with the memoised successors (model_check/spec_memo.py, the default)
    against the spec's own, medians of 3 alternating runs in fresh processes."""
    print("\nmemoised successors (model_check/spec_memo.py) against the spec's own (check() "
          "with all of the entry's properties; medians of 3 alternating runs):")
    for name, runs, cpu, peak in _alternating(("no-memo", "memo"), SCALING, timeout, 18):
        off, on = runs["no-memo"][0], runs["memo"][0]
        states = off["distinct_states"]
        same = (off["verdicts"] == on["verdicts"] and states == on["distinct_states"]
                and off["transitions"] == on["transitions"])
        print(f"  {name:<18} {states:,} states: {cpu['no-memo']:.2f} -> {cpu['memo']:.2f} CPU-s"
              f" ({cpu['no-memo'] / cpu['memo']:.2f}x), {states / cpu['no-memo']:,.0f} -> "
              f"{states / cpu['memo']:,.0f} states/CPU-s; steps {on['hits']:,} hits, "
              f"{on['misses']:,} misses; {on['entries']:,} cache entries, peak "
              f"{(peak['memo'] - peak['no-memo']) / states:+,.0f} B/state; states, "
              f"transitions and verdicts {'same' if same else 'DIFFER'}", flush=True)


def _kernel_rows(timeout: float) -> None:
    """check() over the packed states of model_check/kernel.py against the spec's states
    (the memoised successors, ``kernel=False``): medians of 3 alternating runs in fresh
    processes (issue 13, session 54)."""
    print("\npacked-state kernel (model_check/kernel.py) against the spec's states (check() "
          "with all of the entry's properties; medians of 3 alternating runs):")
    for name, runs, cpu, peak in _alternating(("kernel-off", "kernel-on"), KERNEL, timeout, 24):
        off, on = runs["kernel-off"][0], runs["kernel-on"][0]
        states = off["distinct_states"]
        same = (off["verdicts"] == on["verdicts"] and states == on["distinct_states"]
                and off["transitions"] == on["transitions"] and off["depth"] == on["depth"])
        print(f"  {name:<24} {states:,} states: {cpu['kernel-off']:.2f} -> "
              f"{cpu['kernel-on']:.2f} CPU-s ({cpu['kernel-off'] / cpu['kernel-on']:.2f}x), "
              f"{states / cpu['kernel-off']:,.0f} -> {states / cpu['kernel-on']:,.0f} "
              f"states/CPU-s; peak {peak['kernel-off'] / 2**20:,.0f} -> "
              f"{peak['kernel-on'] / 2**20:,.0f} MiB; states, transitions, depth and verdicts "
              f"{'same' if same else 'DIFFER'}", flush=True)


def _kernel_scale_rows(timeout: float) -> None:
    """The kernel on a two-client search of millions of states (:data:`KERNEL_SCALE`): a
    run in a fresh process, 3 times; medians (session 57)."""
    print("\nthe kernel at scale (check() with every property; medians of 3 fresh "
          "processes):")
    for name in KERNEL_SCALE:
        runs = [run for run in (_measure("kernel-scale", name, True, timeout)
                                for _ in range(3)) if run is not None and "error" not in run]
        if not runs:
            print(f"  {name} failed", flush=True)
            continue
        states = runs[0]["distinct_states"]
        cpu = statistics.median(r["cpu_seconds"] for r in runs)
        print(f"  {name}: {states:,} states, {runs[0]['transitions']:,} transitions: "
              f"{cpu:.1f} CPU-s, {states / cpu:,.0f} states/CPU-s (the second half of the "
              f"states {statistics.median(r['second_half'] for r in runs):,.0f}); the cyclic "
              f"collector {statistics.median(r['gc_seconds'] for r in runs):.1f} CPU-s; "
              f"{statistics.median(r['misses'] for r in runs) / states:.2f} kernel misses a "
              f"state (and {statistics.median(r.get('read_hits', 0) for r in runs) / states:.2f}"
              f" answered by what the step read: session 58), "
              f"{statistics.median(r['flushes'] for r in runs):.0f} flushes; peak "
              f"{statistics.median(r['peak_memory'] for r in runs) / 2**20:,.0f} MiB",
              flush=True)


def _compact_rows(names: tuple[str, ...], timeout: float) -> None:
    """check() with the frontier packed from the start (model_check/frontier.py,
    ``--compact-frontier``) against never packed, medians of 3 alternating runs in fresh
    processes (session 26)."""
    print("\ncompact frontier (check(compact_frontier=True), every queued state packed) "
          "against plain states (False); all of the entry's properties; medians of 3 "
          "alternating runs:")
    width = max(map(len, names))
    for name, runs, cpu, peak in _alternating(("compact-off", "compact-on"), names, timeout,
                                              width):
        off, on = runs["compact-off"][0], runs["compact-on"][0]
        states = off["distinct_states"]
        same = all(r[f] == off[f] for r in (*runs["compact-on"], *runs["compact-off"])
                   for f in ("verdicts", "distinct_states", "transitions", "depth"))
        before, after = cpu["compact-off"], cpu["compact-on"]
        print(f"  {name:<{width}} {states:,} states: {before:.2f} -> {after:.2f} CPU-s "
              f"({after / before:.2f}x), {states / before:,.0f} -> {states / after:,.0f} "
              f"states/CPU-s, {(after - before) / states * 1e6:+.1f} us/state; largest level "
              f"{on['largest_level']:,} states packed in {on['packed_bytes']:,} B "
              f"({on['packed_bytes'] / on['largest_level']:.1f} B/state); peak "
              f"{peak['compact-off'] / 2**20:,.0f} -> {peak['compact-on'] / 2**20:,.0f} MiB; "
              f"states, transitions, depth and verdicts {'same' if same else 'DIFFER'}",
              flush=True)


def _membership_rows(timeout: float) -> None:
    """check() with every memo lever against every lever but the membership steps'
    (issue 13, session 21), medians of 3 alternating runs in fresh processes."""
    print("\nmembership steps memoised (spec.membership.view_steps cached) against the memo "
          "without them (check() with all of the entry's properties; medians of 3 "
          "alternating runs):")
    _lever_rows("membership", MEMBERSHIP, "view_entries", "view-step", timeout)


def _reap_rows(timeout: float) -> None:
    """check() with every memo lever against every lever but the reaps' (issue 13,
    session 22), medians of 3 alternating runs in fresh processes."""
    print("\nreaps memoised (spec.deletes.reaps cached) against the memo without them "
          "(check() with all of the entry's properties; medians of 3 alternating runs):")
    _lever_rows("reaps", REAPS, "reap_entries", "reap", timeout)


def _lever_rows(lever: str, names: tuple[str, ...], entries: str, label: str,
                timeout: float) -> None:
    """One row per entry of ``names``: check() with every memo lever against every lever
    but ``lever`` (the ``memo-but-<lever>`` measurement), CPU-s and states per CPU-s
    before and after, seen-set bytes per state, the lever's cache entries (the
    figure ``entries``), the peak memory's change, and whether everything else is the
    same."""
    without = f"memo-but-{lever}"
    width = max(map(len, names))
    for name, runs, cpu, peak in _alternating((without, "memo"), names, timeout, width):
        off, on = runs[without][0], runs["memo"][0]
        states = off["distinct_states"]
        same = all(r[f] == off[f] for r in (*runs["memo"], *runs[without])
                   for f in ("verdicts", "distinct_states", "transitions", "depth",
                             "seen_bytes"))
        before, after = cpu[without], cpu["memo"]
        print(f"  {name:<{width}} {states:,} states: {before:.2f} -> {after:.2f} CPU-s "
              f"({before / after:.2f}x), {states / before:,.0f} -> {states / after:,.0f} "
              f"states/CPU-s; seen set {off['seen_bytes'] / states:.1f} -> "
              f"{on['seen_bytes'] / states:.1f} B/state; {on[entries]:,} {label} "
              f"entries, peak {(peak['memo'] - peak[without]) / 2**20:+,.1f} MiB; "
              f"states, transitions, depth and verdicts {'same' if same else 'DIFFER'}",
              flush=True)


def _split_rows(timeout: float) -> None:
    print("\nwhere the CPU goes (CPU-s, medians of 3; explorer alone: on successors computed "
          "beforehand):")
    for name in SCALING:
        run = _measure("split", name, True, timeout)
        if run is None or "error" in run:
            print(f"  {name:<18} {run and run.get('error')}")
            continue
        check_s = run["check"]
        rest = max(check_s - run["bare"], 0.0)
        print(f"  {name:<18} check() {check_s:.2f}: successors (the spec) {run['successors']:.2f}"
              f" ({run['successors'] / check_s:.0%}), explorer alone {run['explorer']:.3f} "
              f"({run['explorer'] / check_s:.0%}, "
              f"{run['explorer'] / run['transitions'] * 1e6:.2f} us/transition), search "
              f"without properties {run['bare']:.2f}; so properties and liveness "
              f"{rest:.2f} ({rest / check_s:.0%})", flush=True)


def _measure(kind: str, name: str, symmetry: bool, timeout: float,
             env: dict[str, str] | None = None) -> dict[str, Any] | None:
    command = [sys.executable, __file__, "--one", kind, name, "1" if symmetry else "0"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return {"error": f"failed (exit {done.returncode})"}
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # the whole fresh process's CPU: the interpreter's start, the imports and the run
    figures.setdefault("process_cpu_seconds", after.ru_utime + after.ru_stime
                       - before.ru_utime - before.ru_stime)
    return figures


QUESTIONS = (
    ("strict", "strict-dvv", ("-DNODES=3", "-DCRASHES=1", "-DDROPS=1")),
    ("sloppy", "sloppy-crash", ("-DSLOPPY", "-DNODES=4", "-DCRASHES=1", "-DDROPS=0")),
    ("sloppy-partition", "sloppy-partition",
     ("-DSLOPPY", "-DNODES=4", "-DCRASHES=0", "-DDROPS=0", "-DPARTITIONS=1")),
)
"""(question, suite entry, spin's flags): the reference questions of issue 13 and the
Promela model's macros that ask each suite entry's question of bench/promela/strict.pml
(its nodes and fault budgets; N=3 R=W=2 in all). Session 57: the strict question had 4
nodes (strict-dvv has 3) and the sloppy one a drop (sloppy-crash has none); the
partition question is new."""
SPIN_ROUNDS = 3
"""Alternating rounds of ``--section spin`` (each: every measurement once, fresh
processes); the figures are medians."""


def _spin(flags: tuple[str, ...], full: bool, timeout: float) -> dict[str, Any]:
    """spin -a, gcc and pan on bench/promela/strict.pml (``flags``: its macros) in a
    scratch folder: wall seconds and CPU seconds end to end (compile included), the CPU
    seconds of ``spin -a``, of gcc and of pan, pan's own elapsed time, states stored,
    and whether an assertion failed. ``full``: pan -c0 (the whole space, past every
    violation). Raises RuntimeError naming the command that failed."""
    import re
    import shutil
    import tempfile

    model = ROOT / "bench" / "promela" / "strict.pml"
    steps: list[float] = []
    with tempfile.TemporaryDirectory(prefix="vdynamo-spin-") as scratch:
        shutil.copy(model, scratch)
        started = time.perf_counter()
        commands = [["spin", *flags, "-a", "strict.pml"],
                    ["gcc", "-O2", "-DSAFETY", "-DNOREDUCE", "-o", "pan", "pan.c"],
                    ["./pan", "-m100000", *(["-c0"] if full else [])]]
        output = ""
        for command in commands:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run(command, cwd=scratch, capture_output=True, text=True,
                                  timeout=timeout, check=False)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            steps.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            if done.returncode != 0 and command[0] != "./pan":
                raise RuntimeError(f"{' '.join(command)} failed (exit {done.returncode}): "
                                   f"{(done.stderr or done.stdout).strip()[:300]}")
            output = done.stdout
        wall = time.perf_counter() - started
    stored = re.search(r"(\d+) states, stored", output)
    errors = re.search(r"errors: (\d+)", output)
    search = re.search(r"elapsed time ([0-9.e+-]+) seconds", output)
    if not stored or not errors:
        raise RuntimeError(f"pan's output has no states or errors line: {output[-300:]!r}")
    return {"seconds": wall, "search_seconds": float(search.group(1)) if search else 0.0,
            "cpu_seconds": sum(steps), "spin_cpu": steps[0], "gcc_cpu": steps[1],
            "pan_cpu": steps[2], "states": int(stored.group(1)),
            "verdict": "violated" if int(errors.group(1)) else "holds"}


def _median(runs: list[dict[str, Any]], field: str) -> float:
    return float(statistics.median(r[field] for r in runs))


def _spin_comparison(timeout: float) -> None:
    """Time to the verdict of read_your_writes, and the whole space: our checker (the
    packed-state kernel, the default, and without it) against SPIN on the Promela model
    of each reference question (:data:`QUESTIONS`), medians of :data:`SPIN_ROUNDS`
    alternating rounds of fresh processes."""
    import shutil

    print(f"\nSPIN comparison (read_your_writes; bench/promela/strict.pml, each question's "
          f"nodes and faults as spin -D macros; medians of {SPIN_ROUNDS} alternating rounds "
          "of fresh processes, CPU-s):")
    if not shutil.which("spin") or not shutil.which("gcc"):
        print("  spin or gcc not found: apt-get update && apt-get install spin gcc "
              "(Debian: spin 6.5.2); skipped")
        return
    ours_kinds = ("question", "question-no-kernel", "kernel-on", "kernel-off")
    for question, name, flags in QUESTIONS:
        ours: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ours_kinds}
        theirs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
        try:
            for _ in range(SPIN_ROUNDS):
                for kind in ours_kinds:
                    run = _measure(kind, name, True, timeout)
                    if run is None or "error" in run:
                        raise RuntimeError(f"ours ({kind}): {run and run.get('error')}")
                    ours[kind].append(run)
                for full in (False, True):
                    theirs[full].append(_spin(flags, full, timeout))
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            print(f"  {question}: {error}", flush=True)
            continue
        verdict, whole = ours["question"][0], ours["kernel-on"][0]
        check_cpu = {kind: _median(ours[kind], "cpu_seconds") for kind in ours_kinds}
        process_cpu = {kind: _median(ours[kind], "process_cpu_seconds") for kind in ours_kinds}
        to_verdict, space = theirs[False], theirs[True]
        spin_cpu, full_cpu = _median(to_verdict, "cpu_seconds"), _median(space, "cpu_seconds")
        pan_cpu = _median(space, "pan_cpu")
        compile_cpu = _median(space, "spin_cpu") + _median(space, "gcc_cpu")
        print(f"  {question} ({name}; spin {' '.join(flags)})")
        print(f"    ours, to the verdict: {verdict['verdict']}, {verdict['distinct_states']:,} "
              f"states; check() {check_cpu['question']:.2f} CPU-s with the kernel "
              f"({verdict['distinct_states'] / check_cpu['question']:,.0f} states/CPU-s), "
              f"{check_cpu['question-no-kernel']:.2f} without; the whole process "
              f"(interpreter, imports, check) {process_cpu['question']:.2f} / "
              f"{process_cpu['question-no-kernel']:.2f}")
        print(f"    ours, the whole check (every property of the entry, liveness included): "
              f"{whole['distinct_states']:,} states; check() {check_cpu['kernel-on']:.2f} "
              f"CPU-s with the kernel ({whole['distinct_states'] / check_cpu['kernel-on']:,.0f}"
              f" states/CPU-s), {check_cpu['kernel-off']:.2f} without; the whole process "
              f"{process_cpu['kernel-on']:.2f} / {process_cpu['kernel-off']:.2f}")
        print(f"    SPIN, to the verdict: {to_verdict[0]['verdict']}, "
              f"{to_verdict[0]['states']:,} states, {spin_cpu:.2f} CPU-s end to end; the "
              f"whole space (-c0): {space[0]['states']:,} states, {full_cpu:.2f} CPU-s end "
              f"to end, of which spin -a and gcc -O2 {compile_cpu:.2f}, pan {pan_cpu:.3f} ("
              + (f"{space[0]['states'] / pan_cpu:,.0f} states/CPU-s)" if pan_cpu > 0
                 else "under the clock's tick)"))
        print(f"    ratio (SPIN / ours, CPU-s): to the verdict "
              f"{spin_cpu / check_cpu['question']:.2f}"
              f" (without the kernel {spin_cpu / check_cpu['question-no-kernel']:.2f}; whole "
              f"processes {spin_cpu / process_cpu['question']:.2f}); SPIN's whole space "
              f"against our whole check {full_cpu / check_cpu['kernel-on']:.2f} (without the "
              f"kernel {full_cpu / check_cpu['kernel-off']:.2f}; whole processes "
              f"{full_cpu / process_cpu['kernel-on']:.2f})", flush=True)
    print("  ours: check()'s CPU-s in a fresh process, and that process's whole CPU-s (the "
          "interpreter's start and the imports included); SPIN: spin -a, gcc -O2 and pan, "
          "the C compile dominating. State counts differ by step granularity and by model: "
          "the Promela model is a reduced question (one version, no clocks, anti-entropy, "
          "read repair or fallback retries; messages as per-node flags, not a bag; each "
          "action one atomic step, as the spec's), so SPIN stores more states per question "
          "than the spec has on strict-dvv and fewer on the sloppy ones; SPIN's depth-first "
          "search stops at its first violation at some depth, ours at the shallowest (to "
          "the verdict); the whole check also checks every other property of the entry.")


def table_jobs(only: list[str] | None, skip_large: bool) -> list[tuple[str, str, str]]:
    """The table's runs, (kind, name, label): the explorer alone (2 s), then the suite's
    entries, or those of ``only``, then the large configuration (about 90 s of CPU),
    unless ``skip_large`` or ``only`` does not name ``large``. Raises ValueError naming
    a name of ``only`` that is neither an entry of the suite nor ``large``.

    Session 49: ``--only`` did not leave the large configuration out, so ``--section
    table --only sloppy-crash`` (1.6 s of checking) ran about 97 s here, and did not
    exit within the 100 s session 48 gave it; a mistyped name gave a table without
    it, silently."""
    from model_check.suite import DEFAULT_SUITE

    names = [entry.name for entry in DEFAULT_SUITE]
    unknown = sorted(set(only or ()) - {*names, "large"})
    if unknown:
        raise ValueError(f"--only {unknown[0]}: no such entry of the suite (its entries: "
                         f"{', '.join(names)}; or large)")
    jobs: list[tuple[str, str, str]] = [("toy", "counters-1000x1000", "explorer alone")]
    jobs += [("suite", name, name) for name in names if not only or name in only]
    if not skip_large and (not only or "large" in only):
        jobs.append(("large", "large", f"large-strict-dvv (first {LARGE_STATES:,})"))
    return jobs


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
                        help="measure only this suite entry in the table (repeatable; "
                        "'large': the large configuration, left out otherwise)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds allowed for each run (default 1800; --section big: "
                        f"{BIG_TIMEOUT:.0f})")
    parser.add_argument("--section", action="append", choices=SECTIONS,
                        help="run only this part (repeatable; default: all)")
    parser.add_argument("--big", default=BIG, metavar="NAME[@S]",
                        help=f"--section big's configuration (model_check/configs/NAME.toml; "
                        f"@S: at most S states; default {BIG})")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="another checkout for --section against (e.g. the commit before)")
    args = parser.parse_args(argv)
    sections = set(args.section or SECTIONS)
    if not args.section:
        sections.discard("big")  # projected 15-20 CPU-minutes: only when named
    big_timeout = BIG_TIMEOUT if args.timeout is None else args.timeout
    if args.timeout is None:
        args.timeout = 1800.0
    if not args.against:
        if args.section and "against" in sections:
            parser.error("--section against needs --against DIR")
        sections.discard("against")
    if args.one:
        kind, name, symmetry = args.one
        print(json.dumps(_one(kind, name, symmetry == "1")))
        return 0

    try:
        jobs = table_jobs(args.only, args.skip_large)
    except ValueError as error:
        parser.error(str(error))
    header = ["configuration", "sym", "states", "wall s", "CPU s", "states/CPU-s", "B/state",
              "peak MiB", "saved by symmetry"]
    widths = [34, 4, 12, 8, 8, 12, 8, 9, 18]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    started = time.perf_counter()
    if "table" in sections:
        print(line(header))
        print(line(["-" * w for w in widths]))
    for kind, name, label in jobs if "table" in sections else []:
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
    if "split" in sections:
        _split_rows(args.timeout)
    if "memo" in sections:
        _memo_rows(args.timeout)
    if "membership" in sections:
        _membership_rows(args.timeout)
    if "reaps" in sections:
        _reap_rows(args.timeout)
    if "compiled" in sections:
        _compiled_rows(args.timeout)
    if "por" in sections:
        _por_rows(args.timeout)
    if "workers" in sections:
        _scaling_rows(args.timeout)
    if "simulate" in sections:
        _simulation_rows(args.timeout)
    if "spin" in sections:
        _spin_comparison(args.timeout)
    if "symmetry" in sections:
        _symmetry_rows(args.timeout)
    if "against" in sections:
        _against_rows(args.against.resolve(), args.timeout)
    if "compact" in sections:
        _compact_rows(tuple(args.only or SCALING[:2]), args.timeout)
    if "kernel" in sections:
        _kernel_rows(args.timeout)
        _kernel_scale_rows(args.timeout)
    if "big" in sections:
        _big_rows(big_timeout, args.big)
    print(f"\ntotal {time.perf_counter() - started:.0f} s. states/CPU-s divides by the run's "
          "CPU time (the machine is shared, so wall time overstates); peak MiB is the run's "
          "own process (ru_maxrss); B/state counts the seen-set and the parent links "
          "(18 with the state-index array that liveness needs, 14 without).")
    return 0


AGAINST_ROUNDS = 5
"""Alternating rounds of ``--section against`` (each: one fresh process per tree)."""
_AGAINST = """
import json, sys, time
from model_check.check import check
from model_check.suite import entry
chosen = entry(sys.argv[1])
runs = []
for _ in range(2):
    started = time.process_time()
    result = check(chosen.config, list(chosen.expected))
    runs.append(time.process_time() - started)
print(json.dumps({"cpu_seconds": min(runs), "distinct_states": result.distinct_states,
                  "transitions": result.transitions,
                  "verdicts": {r.property: str(r.verdict) for r in result.results}}))
"""
"""One process's measurement in ``--section against`` (run in either tree): the lesser
CPU-s of two check()s with every property of the entry (the second has the imports and
the spec's own caches warm)."""


def _against_rows(other: Path, timeout: float) -> None:
    """check() of this tree against ``other``'s on :data:`SCALING`: medians of
    :data:`AGAINST_ROUNDS` alternating fresh processes (the order swapped every round)."""
    print(f"\ncheck() against {other} (all of the entry's properties; lesser CPU-s of two "
          f"in-process runs, medians of {AGAINST_ROUNDS} alternating fresh processes):")
    trees = {"this": ROOT, "other": other}
    for name in SCALING:
        runs: dict[str, list[dict[str, Any]]] = {"this": [], "other": []}
        for round_ in range(AGAINST_ROUNDS):
            for side in ("other", "this") if round_ % 2 == 0 else ("this", "other"):
                tree = trees[side]
                try:
                    done = subprocess.run([sys.executable, "-c", _AGAINST, name],
                                          capture_output=True, text=True, timeout=timeout,
                                          check=False, cwd=tree,
                                          env={**os.environ, "PYTHONPATH": str(tree)})
                except subprocess.TimeoutExpired:
                    continue
                if done.returncode == 0:
                    runs[side].append(json.loads(done.stdout.strip().splitlines()[-1]))
        if not runs["this"] or not runs["other"]:
            print(f"  {name:<18} failed", flush=True)
            continue
        cpu = {side: statistics.median(r["cpu_seconds"] for r in runs[side]) for side in runs}
        mine, theirs = runs["this"][0], runs["other"][0]
        states = mine["distinct_states"]
        same = all(mine[k] == theirs[k] for k in ("distinct_states", "transitions", "verdicts"))
        print(f"  {name:<18} {states:,} states: {cpu['other']:.3f} -> {cpu['this']:.3f} CPU-s "
              f"({cpu['other'] / cpu['this']:.3f}x), "
              f"{theirs['distinct_states'] / cpu['other']:,.0f} -> "
              f"{states / cpu['this']:,.0f} states/CPU-s; states, transitions and verdicts "
              f"{'same' if same else 'DIFFER'}", flush=True)


def _por_rows(timeout: float) -> None:
    from model_check.suite import DEFAULT_SUITE

    print("\npartial-order reduction (vdynamo check --por; all of the entry's properties; "
          "one run each, off then on; factors are without/with: states, transitions, "
          "CPU-s):")
    path, depth = POR_DEFAULT
    jobs = [(e.name, e.name) for e in DEFAULT_SUITE]
    jobs.append((f"{path}@{depth}", f"{Path(path).name} to depth {depth}"))
    for name, label in jobs:
        off = _measure("no-por", name, True, timeout)
        on = _measure("por", name, True, timeout)
        if not on or not off or "error" in on or "error" in off:
            print(f"  {label:<34} failed", flush=True)
            continue
        if on["por_note"]:
            print(f"  {label:<34} POR off: {on['por_note']}", flush=True)
            continue
        print(f"  {label:<34} states {off['distinct_states']:>9,} / {on['distinct_states']:>9,}"
              f" ({off['distinct_states'] / on['distinct_states']:.3f}x), transitions "
              f"{off['transitions'] / on['transitions']:.3f}x, CPU-s {off['cpu_seconds']:.1f} / "
              f"{on['cpu_seconds']:.1f} ({off['cpu_seconds'] / on['cpu_seconds']:.2f}x), "
              f"{on['reduced_states']:,} states reduced; verdicts "
              f"{'same' if off['verdicts'] == on['verdicts'] else 'DIFFER'}", flush=True)


def _scaling_rows(timeout: float) -> None:
    print("\nworker scaling (vdynamo check --workers N, the kernel's workers and "
          "--no-kernel's; all properties; medians of 3 "
          "alternating runs; wall: the whole check; CPU: the coordinator's and each "
          "worker's process; expanded: the states each worker expanded; B/state: the "
          "workers' seen-set partitions and parent links):")
    # session 61: the workers expand the kernel's packed states ("kernel") beside the
    # spec's ("spec", the rows before it)
    variants = ("1", "2", "1:spec", "2:spec")
    for name in SCALING:
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        errors: dict[str, str] = {}
        for _ in range(3):
            for v in runs:
                run = _measure("workers", f"{name}:{v}", True, timeout)
                if run is None or "error" in run:
                    errors[v] = str(run and run.get("error"))
                else:
                    runs[v].append(run)
        cells = []
        walls: dict[str, float] = {}
        for v, done in runs.items():
            n, label = int(v[0]), "spec" if v.endswith("spec") else "kernel"
            if not done:
                cells.append(f"{n} worker(s) {label}: {errors.get(v)}")
                continue
            walls[v] = statistics.median(r["seconds"] for r in done)
            per_worker = ", ".join(
                f"{statistics.median(r['workers'][w][0] for r in done):.2f}"
                for w in range(n))
            expanded = ", ".join(f"{e:,}" for _, e in done[0]["workers"])
            cells.append(f"{n} worker(s) {label} {done[0]['distinct_states']:,} states, "
                         f"{walls[v]:.2f} s wall, CPU-s coordinator "
                         f"{statistics.median(r['coordinator_cpu_seconds'] for r in done):.2f}"
                         f" + workers ({per_worker}), expanded ({expanded}), "
                         f"{done[0]['seen_bytes'] / done[0]['distinct_states']:.1f} B/state")
        if len(walls) == len(variants):
            same = len({str(runs[v][0]["verdicts"]) for v in variants}) == 1
            cells.append(f"speed-up (wall) kernel {walls['1'] / walls['2']:.2f}x, spec "
                         f"{walls['1:spec'] / walls['2:spec']:.2f}x, 2 kernel workers "
                         f"against 2 spec workers {walls['2:spec'] / walls['2']:.2f}x; "
                         f"verdicts {'same' if same else 'DIFFER'}")
        print(f"  {name:<18} " + "; ".join(cells), flush=True)


def _simulation_rows(timeout: float) -> None:
    print(f"\nswarm simulation (vdynamo check --simulate {SIMULATED_WALKS} --seed 1):")
    for name in SCALING:
        run = _measure("simulate", name, True, timeout)
        if run is None or "error" in run:
            print(f"  {name:<18} {run and run.get('error')}")
            continue
        print(f"  {name:<18} {run['steps']:,} steps in {run['cpu_seconds']:.2f} CPU-s: "
              f"{run['steps'] / run['cpu_seconds']:,.0f} steps/CPU-s; violated: "
              f"{', '.join(run['violated']) or 'none'}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
