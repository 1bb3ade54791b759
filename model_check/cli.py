"""``vdynamo check``: model-check configurations, or the embedded default suite.

Usage::

    vdynamo check [CONFIG.toml ...] [--property NAME ...] [--no-symmetry]
                  [--symmetry-savings] [--max-depth D] [--max-states S]
                  [--trace-dir DIR] [--itf] [--json] [--quiet]
                  [--workers N] [--ray ADDRESS] [--simulate N [--seed S] [--max-steps K]]
                  [--por [--por-savings]] [--compiled] [--soak] [--jobs J]
                  [--compact-frontier | --no-compact-frontier] [--no-kernel]

Without a configuration it runs :data:`model_check.suite.DEFAULT_SUITE` (with
``--soak``: :data:`model_check.suite.SOAK_SUITE`, the entries too large for
``make check``), each
entry with its expected verdicts (always- and eventually-properties: ``holds``
or ``violated``; sometimes-properties: ``found`` or ``not found``), prints a
table (configuration, property, verdict, expected, as expected?, length of the
counterexample or of the trace to the witness, states, seconds) and exits 0 when
every verdict and pinned length is as expected, and the search of each entry
found the distinct states, transitions and depth the suite pins for it
(:meth:`model_check.suite.SuiteEntry.pinned_figures`; compared only when the
search is the pinned one: every property of the entry, symmetry on, no bound, no
``--por`` or ``--simulate``; with ``--workers``/``--ray`` the distinct states
only); 1 otherwise, naming the entry, the figure and both values. ``--jobs J``
checks J entries at once, each in a forked process of its own (0: one per CPU;
`make check` runs ``--jobs 0``): the same searches, the table in suite order, each
entry's statistics line on stderr when it is done instead of progress lines
(session 46: the whole suite 175.6 s of wall in one process here, 81.0 s with
``--jobs 0`` on two cores; docs/model-checking.md, "Session 46"). It exposes no
parallelism inside a search: ``--workers`` does that.

With configurations it checks each (all properties, or those named with
``--property``), prints every verdict (a sometimes-property's ``found`` or
``not found`` is reported, not judged) and exits

* 0 when every property holds in every configuration,
* 1 when a property is violated (its trace is written under ``--trace-dir``),
* 3 when nothing is violated but a bound (``--max-depth``/``--max-states``) cut
  a search short, so some verdict is ``bounded``, not ``holds``,
* 2 for a usage error or an invalid configuration (refused before exploring).

``--json`` prints one JSON object per configuration, one per line.
Counterexample traces, and the traces to the witnesses of sometimes-properties,
go to ``--trace-dir`` (default ``traces/``, git-ignored) as
``<config>.<property>.json`` (and ``.itf.json`` with ``--itf``). Progress
goes to stderr every 2 s during long searches, and a statistics line after
each configuration (``--quiet`` silences both). ``--symmetry-savings`` explores
each configuration a second time without symmetry reduction and reports on
stderr how many states the reduction saved and whether the verdicts agree.
``--por`` turns on partial-order reduction (:mod:`model_check.por`): the same
verdicts, the states it reduced in the statistics line and the JSON
(``por_reduced_states``); counterexample and witness lengths may be longer than
the shortest, so the suite judges verdicts only. Where it cannot apply (a
property or an action kind :mod:`model_check.por` has no table for, such as the
membership actions of a configuration with a ``[membership]`` budget, or deletes) the run
is unreduced and says ``POR off: <why>`` on stderr (JSON: ``por_off_because``).
``--por-savings`` explores each
configuration again without it and reports the states with and without (also in
the JSON: ``states_without_por``, ``por_factor``).
``--compiled`` runs the check in a child process with ``VDYNAMO_COMPILED=1``: the
spec's successor generation from the mypyc build of ``make compiled``
(:mod:`spec.compiled`), when that build was made from the current sources;
otherwise it says why on stderr and checks with the pure-Python spec here.
``--compact-frontier`` keeps the states queued for the next level packed from the
start (:mod:`model_check.frontier`: about 40 B a state instead of about 1.3 KB,
for about 15 us a state), ``--no-compact-frontier`` never; by default a level is
packed once it queues more than :data:`model_check.explorer.COMPACT_ABOVE` states.
The states, transitions and verdicts are the same.
By default a configuration the packed-state kernel covers (:mod:`model_check.kernel`:
every one while the spec's mechanisms are the kernel's; not with ``--ray``) is explored
over its packed states (with ``--workers`` since session 61: each worker its own
kernel); ``--no-kernel`` explores the spec's states through its memoised
successors instead. The states, transitions, verdicts and traces are the same.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model_check.check import (
    CheckResult,
    PropertyResult,
    check,
    resolve_properties,
    simulate_check,
)
from model_check.errors import CheckError
from model_check.explorer import Progress, stderr_progress
from spec import compiled
from spec.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from model_check.suite import SuiteEntry

__all__ = ["EXIT_BOUNDED", "EXIT_OK", "EXIT_USAGE", "EXIT_VIOLATED", "main"]

EXIT_OK = 0
EXIT_VIOLATED = 1
EXIT_USAGE = 2
EXIT_BOUNDED = 3
DEFAULT_TRACE_DIR = "traces"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vdynamo check",
        description="Model-check Dynamo configurations against the named properties "
        "(default: the embedded suite with its expected verdicts).",
        epilog="exit status: 0 all hold (suite: all as expected); 1 a violation (suite: a "
        "verdict not as expected); 2 usage error or invalid configuration; 3 no violation "
        "but a bound cut the search (verdict 'bounded').",
    )
    parser.add_argument("configs", nargs="*", metavar="CONFIG.toml", help="configurations")
    parser.add_argument("--property", action="append", dest="properties", metavar="NAME",
                        help="check only this property (repeatable)")
    parser.add_argument("--no-symmetry", action="store_true",
                        help="explore without symmetry reduction")
    parser.add_argument("--symmetry-savings", action="store_true",
                        help="also explore without symmetry and report (on stderr) how many "
                        "states the reduction saved and whether the verdicts agree")
    parser.add_argument("--max-depth", type=int, metavar="D", help="explore at most D steps")
    parser.add_argument("--max-states", type=int, metavar="S",
                        help="explore at most S distinct states")
    parser.add_argument("--trace-dir", default=DEFAULT_TRACE_DIR, metavar="DIR",
                        help=f"where counterexample traces go (default: {DEFAULT_TRACE_DIR}/)")
    parser.add_argument("--itf", action="store_true",
                        help="also write each trace in the Informal Trace Format (.itf.json)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per configuration")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress or statistics on stderr")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="explore with N worker processes, the seen-set partitioned by "
                        "fingerprint (same states and verdicts; no --max-depth/--max-states)")
    parser.add_argument("--ray", metavar="ADDRESS",
                        help="explore with --workers (default 2) Ray actors on the cluster at "
                        "ADDRESS ('local': a private one-machine cluster); needs "
                        "vdynamo[distributed]")
    parser.add_argument("--por", action="store_true",
                        help="partial-order reduction: persistent sets of one step (same "
                        "verdicts; traces may be longer than the shortest)")
    parser.add_argument("--por-savings", action="store_true",
                        help="with --por, also explore without it and report the states "
                        "with and without and whether the verdicts agree")
    parser.add_argument("--simulate", type=int, metavar="N",
                        help="run N seeded random walks checking always-properties "
                        "instead of exploring exhaustively")
    parser.add_argument("--seed", type=int, metavar="S",
                        help="the simulation's seed (default 0; only with --simulate)")
    parser.add_argument("--compiled", action="store_true",
                        help="run with the spec compiled by `make compiled` (mypyc), if it was "
                        "built from the current sources; else say why and run pure Python")
    parser.add_argument("--max-steps", type=int, metavar="K",
                        help="steps per simulated walk (default 60; only with --simulate)")
    packing = parser.add_mutually_exclusive_group()
    packing.add_argument("--compact-frontier", action="store_true", default=None,
                         help="keep the queued states packed from the start (default: once "
                         "a level queues over 10^6; same states, less memory, more CPU)")
    packing.add_argument("--no-compact-frontier", action="store_false",
                         dest="compact_frontier", help="never pack the queued states")
    parser.add_argument("--jobs", type=int, default=1, metavar="J",
                        help="without CONFIG: check J suite entries at once, each in its own "
                        "process (0: one per CPU; default 1); the table stays in suite order, "
                        "the verdicts and figures are those of one process")
    parser.add_argument("--no-kernel", action="store_true",
                        help="explore the spec's states, not the packed states of the "
                             "kernel (model_check/kernel.py; same states and verdicts)")
    parser.add_argument("--soak", action="store_true",
                        help="without CONFIG: the soak-only suite entries (over 10^6 states, "
                        "minutes each) instead of the default suite")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(_argv(argv))
    except SystemExit as stop:
        return int(stop.code or 0)
    try:
        if args.max_depth is not None and args.max_depth < 0:
            raise CheckError(f"--max-depth must be >= 0, got {args.max_depth}")
        if args.max_states is not None and args.max_states < 1:
            raise CheckError(f"--max-states must be >= 1, got {args.max_states}")
        if args.properties:
            resolve_properties(args.properties)
        if args.workers is not None and args.workers < 1:
            raise CheckError(f"--workers must be >= 1, got {args.workers}")
        if (args.workers is not None or args.ray) and (args.max_depth is not None
                                         or args.max_states is not None):
            raise CheckError("--workers takes no --max-depth or --max-states")
        if args.por and (args.workers is not None or args.ray or args.simulate is not None):
            raise CheckError("--por runs in one process: no --workers, --ray or --simulate")
        if args.por_savings and not args.por:
            raise CheckError("--por-savings needs --por")
        for flag, on in (("--symmetry-savings", args.symmetry_savings),
                         ("--por-savings", args.por_savings)):
            if on and args.max_states is not None:
                # each search stops at a different prefix: "saved 0 of 2,000 states;
                # verdicts DIFFER" read as an unsound reduction (session 30's probe)
                raise CheckError(f"{flag} compares two searches: no --max-states (each "
                                 f"would stop at a different prefix of its own; --max-depth "
                                 f"compares the states to a depth)")
        if args.simulate is not None and args.simulate < 1:
            raise CheckError(f"--simulate must be >= 1, got {args.simulate}")
        _check_simulate_options(args)
        _check_trace_dir(args.trace_dir)
        if args.soak and args.configs:
            raise CheckError("--soak selects suite entries: give no CONFIG")
        if args.jobs < 0:
            raise CheckError(f"--jobs must be >= 0 (0: one per CPU), got {args.jobs}")
        if args.jobs != 1 and args.configs:
            raise CheckError("--jobs runs suite entries at once: give no CONFIG")
        if args.jobs != 1 and (args.workers is not None or args.ray or args.por_savings):
            raise CheckError("--jobs takes no --workers, --ray or --por-savings (each entry "
                             "runs in one process of its own)")
    except CheckError as error:
        print(f"vdynamo check: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.compiled and not compiled.ACTIVE:
        usable, why = compiled.status()
        if usable:
            return _run_compiled([a for a in _argv(argv) if a != "--compiled"])
        print(f"vdynamo check: --compiled: {why}; checking with the pure-Python spec",
              file=sys.stderr, flush=True)
    try:
        return _check_configs(args) if args.configs else _check_suite(args)
    except CheckError as error:  # a trace that could not be written, a check refused
        print(f"vdynamo check: {error}", file=sys.stderr)
        return EXIT_USAGE


def _check_trace_dir(path: str) -> None:
    """Refuse a ``--trace-dir`` that is a file or under one, before a search whose
    traces could not be written (session 30: a traceback after the search)."""
    probe = Path(path)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise CheckError(f"--trace-dir {path!r}: {str(probe)!r} is not a directory")


DEFAULT_SEED = 0
DEFAULT_MAX_STEPS = 60


def _check_simulate_options(args: argparse.Namespace) -> None:
    """Options of ``--simulate`` only, and those it does not take, refused rather than
    ignored (session 30's probe: ``--seed 3`` without ``--simulate`` ran the exhaustive
    search, and ``--simulate`` ignored ``--max-states``, ``--workers``, ...). Fills in
    the defaults of ``--seed`` and ``--max-steps``; raises CheckError."""
    if args.simulate is None:
        given = [flag for flag, value in (("--seed", args.seed),
                                          ("--max-steps", args.max_steps)) if value is not None]
        if given:
            raise CheckError(f"{' and '.join(given)} appl{'ies' if len(given) == 1 else 'y'} "
                             f"only with --simulate N")
        return
    ignored = [flag for flag, value in (
        ("--max-depth", args.max_depth), ("--max-states", args.max_states),
        ("--workers", args.workers), ("--ray", args.ray),
        ("--symmetry-savings", args.symmetry_savings or None)) if value is not None]
    if ignored:
        raise CheckError(f"--simulate takes no {', '.join(ignored)} (random walks in one "
                         f"process; a walk's length is --max-steps)")
    args.seed = DEFAULT_SEED if args.seed is None else args.seed
    args.max_steps = DEFAULT_MAX_STEPS if args.max_steps is None else args.max_steps
    if args.max_steps < 1:
        raise CheckError(f"--max-steps must be >= 1, got {args.max_steps}")


def _argv(argv: Sequence[str] | None) -> list[str]:
    """The command's arguments: ``argv``, or the process's own after the program name."""
    return list(sys.argv[1:] if argv is None else argv)


def _run_compiled(rest: list[str]) -> int:
    """``vdynamo check REST`` in a child interpreter whose spec is the compiled build (the
    spec is imported before any option is read, so this process cannot switch)."""
    env = {**os.environ, compiled.ENV: "1"}
    sys.stdout.flush()
    return subprocess.run([sys.executable, "-m", "vdynamo", "check", *rest], env=env,
                          check=False).returncode


def _progress(args: argparse.Namespace) -> Callable[[Progress], None] | None:
    # entries checked at once (--jobs) would interleave their progress lines: each
    # prints its statistics line when done
    return None if args.quiet or args.jobs != 1 else stderr_progress()


def _run_entry(job: tuple[argparse.Namespace, Config, list[str]]) -> CheckResult:
    """One suite entry's check in a process of ``--jobs``' pool (module level: the pool
    pickles the function by name)."""
    args, config, names = job
    return _run(args, config, names)


def _suite_results(args: argparse.Namespace,
                   jobs: list[tuple[Config, list[str]]]) -> Iterator[CheckResult]:
    """The suite entries' results in suite order: one after the other in this process
    (``--jobs 1``), or ``--jobs`` J at once in forked processes (0: ``os.cpu_count()``),
    each result yielded when it and every entry before it are done. Each entry is the
    same ``check`` call either way: the same states, verdicts and traces."""
    workers = args.jobs or os.cpu_count() or 1
    if workers == 1 or len(jobs) < 2:
        for config, names in jobs:
            yield _run(args, config, names)
        return
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
        yield from pool.map(_run_entry, [(args, config, names) for config, names in jobs])


def _run(args: argparse.Namespace, config: Config, properties: Sequence[str] | None) -> CheckResult:
    if args.simulate is not None:
        simulated = simulate_check(config, properties, walks=args.simulate, seed=args.seed,
                                   max_steps=args.max_steps)
        if not args.quiet:
            print(f"{_name(config)}: {simulated.statistics}", file=sys.stderr, flush=True)
        return simulated
    result = check(
        config,
        properties=properties,
        symmetry=not args.no_symmetry,
        max_depth=args.max_depth,
        max_states=args.max_states,
        progress=_progress(args),
        workers=args.workers,
        ray=args.ray,
        por=args.por,
        compact_frontier=args.compact_frontier,
        kernel=not args.no_kernel,
    )
    if not args.quiet:
        print(f"{_name(config)}: {result.statistics}"
              + (" (compiled spec)" if compiled.ACTIVE else ""), file=sys.stderr, flush=True)
        if args.por:
            print(f"{_name(config)}: " + (f"POR off: {result.por_note}" if result.por_note
                  else f"POR reduced {result.reduced_states:,} states to one step"),
                  file=sys.stderr, flush=True)
    if args.symmetry_savings and not args.no_symmetry:
        print(_savings(args, config, properties, result), file=sys.stderr, flush=True)
    if args.por_savings:
        full = check(config, properties=properties, symmetry=not args.no_symmetry,
                     max_depth=args.max_depth, max_states=args.max_states,
                     progress=_progress(args))
        _POR_SAVINGS[id(result)] = full
        if not args.quiet:
            print(f"{_name(config)}: {_por_savings(full, result)}", file=sys.stderr,
                  flush=True)
    return result


_POR_SAVINGS: dict[int, CheckResult] = {}
"""The run without POR of a result checked with ``--por-savings`` (by the result's id)."""


def _por_savings(full: CheckResult, reduced: CheckResult) -> str:
    factor = full.distinct_states / reduced.distinct_states if reduced.distinct_states else 1.0
    same = full.verdicts == reduced.verdicts
    return (f"POR: {reduced.distinct_states:,} states with it, {full.distinct_states:,} "
            f"without ({factor:.3f}x); verdicts {'identical' if same else 'DIFFER'} without it")


def _json(result: CheckResult, paths: dict[str, str]) -> dict[str, Any]:
    record = result.to_json(paths)
    record["compiled"] = compiled.ACTIVE
    full = _POR_SAVINGS.pop(id(result), None)
    if full is not None:
        record["states_without_por"] = full.distinct_states
        record["por_factor"] = round(full.distinct_states / max(result.distinct_states, 1), 4)
        record["por_verdicts_identical"] = full.verdicts == result.verdicts
    return record


def _savings(args: argparse.Namespace, config: Config, properties: Sequence[str] | None,
             reduced: CheckResult) -> str:
    """Run again without symmetry: how many states the reduction saved, same verdicts?"""
    full = check(config, properties=properties, symmetry=False, max_depth=args.max_depth,
                 max_states=args.max_states, progress=_progress(args))
    saved = full.distinct_states - reduced.distinct_states
    factor = full.distinct_states / reduced.distinct_states if reduced.distinct_states else 1.0
    same = full.verdicts == reduced.verdicts and [
        r.counterexample_length for r in full.results] == [
        r.counterexample_length for r in reduced.results]
    return (f"{_name(config)}: symmetry saved {saved:,} of {full.distinct_states:,} states "
            f"({factor:.1f}x); verdicts and counterexample lengths "
            f"{'identical' if same else 'DIFFER'} without it")


def _save_traces(args: argparse.Namespace, result: CheckResult,
                 base: str | None = None) -> dict[str, str]:
    """Write each trace as ``<base>.<property>.json`` (``base``: the configuration's
    name, made file-safe, unless given). Raises CheckError when it cannot be written."""
    paths: dict[str, str] = {}
    for r in result.results:
        if r.trace is None:
            continue
        stem = f"{base or _slug(_name(result.config))}.{r.property}"
        target = Path(args.trace_dir) / f"{stem}.json"
        try:
            paths[r.property] = str(r.trace.save(target))
            if args.itf:
                r.trace.save(Path(args.trace_dir) / f"{stem}.itf.json", itf=True)
        except OSError as error:  # e.g. a directory that cannot be created
            raise CheckError(f"cannot write the trace of {r.property} to "
                             f"{args.trace_dir!r}: {error.strerror or error}") from None
    return paths


def _check_configs(args: argparse.Namespace) -> int:
    configs: list[Config] = []
    for path in args.configs:
        try:
            configs.append(load_config(path))
        except (ConfigError, OSError) as error:
            print(f"vdynamo check: {path}: {error}", file=sys.stderr)
            return EXIT_USAGE
        for note in configs[-1].inert_settings():
            print(f"vdynamo check: {path}: note: {note}", file=sys.stderr)
    status = EXIT_OK
    for config, base in zip(configs, _trace_bases(args.configs, configs), strict=True):
        result = _run(args, config, args.properties)
        paths = _save_traces(args, result, base)
        if args.json:
            print(json.dumps(_json(result, paths)), flush=True)
        else:
            _print_config_result(result, paths)
        if result.violated:
            status = EXIT_VIOLATED
        elif result.bounded and not result.ok and status == EXIT_OK:
            status = EXIT_BOUNDED
    return status


def _trace_bases(paths: Sequence[str], configs: Sequence[Config]) -> list[str]:
    """Each configuration's trace file stem: its name, or, when configurations given
    together share a name (two files without one are both "default"), the name and
    the file's stem (then a number), so that no trace overwrites another's (session 30:
    the second file's trace replaced the first's, whose printed path then led to it)."""
    names = [_slug(_name(config)) for config in configs]
    bases: list[str] = []
    for name, path in zip(names, paths, strict=True):
        base = name if names.count(name) == 1 else f"{name}-{_slug(Path(path).stem)}"
        while base in bases:
            base = f"{base}-{len(bases) + 1}"
        bases.append(base)
    return bases


def _print_config_result(result: CheckResult, paths: dict[str, str]) -> None:
    if result.distinct_states == 0:  # a simulation: walks, not distinct states
        print(f"{_name(result.config)}: simulated, {result.statistics}")
    else:
        print(f"{_name(result.config)}: {result.distinct_states:,} states, depth "
              f"{result.depth}, {result.seconds:.2f} s{' (bounded)' if result.bounded else ''}")
    for r in result.results:
        length = _length(r)
        where = (f"  trace: {paths[r.property]} ({length} step{'' if length == 1 else 's'})"
                 if r.property in paths else "")
        print(f"  {r.property:<30} {r.verdict!s:<9}{where}")
    sys.stdout.flush()


COLUMNS = ("configuration", "property", "verdict", "expected", "as expected?", "length",
           "states", "seconds")


def _check_suite(args: argparse.Namespace) -> int:
    from model_check.properties import PROPERTIES, Expectation
    from model_check.suite import DEFAULT_SUITE

    wanted = set(args.properties or [])
    figure_errors: list[str] = []
    rows: list[tuple[str, ...]] = []
    all_as_expected = True
    if not args.json:
        print(_row(COLUMNS))
        print(_row(tuple("-" * _WIDTHS[i] for i in range(len(COLUMNS)))))
    entries = DEFAULT_SUITE
    if args.soak:
        from model_check.suite import SOAK_SUITE

        entries = SOAK_SUITE
    chosen: list[tuple[SuiteEntry, list[str]]] = []
    for entry in entries:
        names = [n for n in entry.expected if not wanted or n in wanted]
        if args.simulate is not None:
            names = [n for n in names if PROPERTIES[n].kind is Expectation.ALWAYS]
        if names:
            chosen.append((entry, names))
    results = _suite_results(args, [(entry.config, names) for entry, names in chosen])
    for (entry, names), result in zip(chosen, results, strict=True):
        paths = _save_traces(args, result)
        record: dict[str, Any] = _json(result, paths)
        record["suite_entry"] = entry.name
        for item, r in zip(record["results"], result.results, strict=True):
            expected = entry.expected[r.property]
            pinned = entry.pinned_length(r.property)
            length = _length(r)
            if args.simulate is not None:  # a walk need not be a shortest run
                as_expected = (r.verdict == "violated") == (expected == "violated")
            elif args.por:  # a reduced search's traces need not be shortest
                as_expected = r.verdict == expected
            else:
                as_expected = r.verdict == expected and (
                    pinned is None or length is None or length == pinned
                )
            all_as_expected &= as_expected
            item.update(expected=expected, as_expected=as_expected,
                        expected_length=pinned)
            row = (entry.name, r.property, str(r.verdict), expected,
                   "yes" if as_expected else "NO",
                   "" if length is None else str(length),
                   f"{result.distinct_states:,}", f"{result.seconds:.2f}")
            rows.append(row)
            if not args.json:
                print(_row(row), flush=True)
        off = _figures_off(args, list(entry.expected), names)
        wrong = [] if off else entry.figure_mismatches(
            result, ("distinct_states",) if args.workers or args.ray else None)
        figure_errors += wrong
        all_as_expected &= not wrong
        record.update(expected_figures=entry.pinned_figures(),
                      figures_as_expected=None if off else not wrong)
        if args.json:
            print(json.dumps(record), flush=True)
        else:
            for line in wrong:
                print(f"{line}: NOT as expected", flush=True)
    if not args.json:
        bad = sum(1 for row in rows if row[4] != "yes")
        print(f"\n{len(rows)} verdicts, {len(rows) - bad} as expected"
              + (f", {bad} NOT as expected" if bad else ""))
        if figure_errors:
            print(f"{len(figure_errors)} pinned figures NOT as expected (a spec change that "
                  "changes them updates model_check/suite.py on purpose):")
            print("\n".join(f"  {line}" for line in figure_errors))
    return EXIT_OK if all_as_expected else EXIT_VIOLATED


def _figures_off(args: argparse.Namespace, expected: Sequence[str],
                 names: Sequence[str]) -> bool:
    """Whether this run's states, transitions and depth are not comparable with the
    suite's pinned ones: a subset of properties (the search may stop sooner), symmetry
    off, a bound, partial-order reduction or random walks."""
    return (list(names) != list(expected) or args.no_symmetry or args.por
            or args.simulate is not None or args.max_depth is not None
            or args.max_states is not None)


_WIDTHS = (30, 29, 9, 9, 12, 6, 11, 8)


def _length(result: PropertyResult) -> int | None:
    """The counterexample's length, or the witness trace's (None when there is none)."""
    length: int | None = result.counterexample_length
    return result.witness_length if length is None else length


def _row(cells: Sequence[str]) -> str:
    return "  ".join(
        f"{c:<{w}}" if i < 5 else f"{c:>{w}}"
        for i, (c, w) in enumerate(zip(cells, _WIDTHS, strict=True))
    ).rstrip()


def _name(config: Config) -> str:
    return config.name or "config"


def _slug(name: str) -> str:
    # no leading dot: a name like "../x" made the hidden "..-x.<property>.json" (session 30)
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).lstrip("-.").rstrip("-") or "config"


if __name__ == "__main__":
    raise SystemExit(main())
