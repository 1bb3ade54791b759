"""Line coverage of ``impl/`` by the conformance harness, over every mapped suite entry.

``python -m bench.conformance_coverage [--walks N] [--steps N] [--seed S] [ENTRY ...]``

For each mapped suite entry (model_check/suite.py; all by default) it takes ``--walks``
seeded random walks of spec edges from the initial state, each edge performed on one
:class:`~model_check.refinement.Lockstep` by the conformance run's own step
(:func:`model_check.refinement_replay.step_action`, checked): at each state a random
enabled spec action, another one if the lockstep cannot express it (a spec timeout of
a reachable replica, a reap the implementation has not decided), the walk ending
after ``--steps`` edges, at a state with no expressible action, or at a divergence
(counted). Random walks rather than a sample of the reachable graph: they reach every
depth without exploring the graph (delete-safe-strict-crash alone has 665,108 edges,
90 s to explore), so the run stays a few minutes of CPU.

Coverage is measured with coverage.py's API (statements, not branches) over every file
of ``impl/``, each file counted whole: the denominator is every statement of ``impl/``,
comparable with the issue's "56% of impl lines". Two figures per file: *run* counts
every statement executed (the module-level ``def``/``class``/import lines included,
as coverage.py counts them), *by the walks* only the statements the walks executed
after every module of ``impl/`` was imported (measured apart: function bodies, the
code the harness actually drives; a file the walks never enter is 0% there). Prints
a markdown table per file, then the totals. Needs coverage.py (``pip install
coverage``; not a dependency of the package).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

IMPL = Path(__file__).resolve().parent.parent / "impl"


def walks(names: list[str], count: int, steps: int, seed: int) -> dict[str, tuple[int, int]]:
    """Entry -> (edges taken, divergences) of ``count`` walks of up to ``steps`` edges."""
    from model_check.refinement import Divergence, Lockstep
    from model_check.refinement_replay import NotExpressible, step_action
    from model_check.suite import entry
    from spec import model as spec_model

    out: dict[str, tuple[int, int]] = {}
    for name in names:
        config = entry(name).config
        taken = diverged = 0
        for number in range(count):
            rng = random.Random(f"{seed}/{name}/{number}")
            ls = Lockstep(config, asks_at_once=False)
            try:
                for _ in range(steps):
                    actions = [a for a, _ in spec_model.successors(ls.state)]
                    rng.shuffle(actions)
                    for action in actions:
                        try:
                            step_action(ls, action)
                        except NotExpressible:
                            continue
                        except Divergence:
                            diverged += 1
                            raise
                        except (ValueError, KeyError, LookupError):
                            continue
                        taken += 1
                        break
                    else:
                        break  # nothing expressible here
            except Divergence:
                pass
            finally:
                ls.cluster.close()
        out[name] = (taken, diverged)
    return out


def _import_all() -> None:
    """Import every module of ``impl/`` (their module-level statements run here)."""
    import importlib

    for path in sorted(IMPL.rglob("*.py")):
        parts = path.relative_to(IMPL.parent).with_suffix("").parts
        importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))


def main(argv: list[str] | None = None) -> int:
    import coverage

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walks", type=int, default=6)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("entries", nargs="*")
    args = parser.parse_args(argv)
    began, cpu = time.perf_counter(), time.process_time()
    at_import = coverage.Coverage(source=[str(IMPL)], branch=False, data_file=None)
    at_import.start()
    _import_all()
    at_import.stop()
    from model_check.refinement_state import unmapped_features
    from model_check.suite import DEFAULT_SUITE

    names = args.entries or [e.name for e in DEFAULT_SUITE if not unmapped_features(e.config)]
    walked = coverage.Coverage(source=[str(IMPL)], branch=False, data_file=None)
    walked.start()
    taken = walks(names, args.walks, args.steps, args.seed)
    walked.stop()
    rows = []
    totals = [0, 0, 0]
    for path in sorted(IMPL.rglob("*.py")):
        _, statements, _, missing_at_import, _ = at_import.analysis2(str(path))
        _, _, _, missing_walked, _ = walked.analysis2(str(path))
        by_walks = set(statements) - set(missing_walked)
        run = by_walks | (set(statements) - set(missing_at_import))
        counts = (len(run), len(by_walks), len(statements))
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        rows.append((str(path.relative_to(IMPL)), *counts))
    print("| file | statements | run | % | by the walks | % |\n|---|---|---|---|---|---|")

    def pct(part: int, whole: int) -> str:
        return f"{100 * part / whole:.0f}%" if whole else "-"

    for name, run, by_walks, count in sorted(rows, key=lambda r: (-r[1] / max(r[3], 1), r[0])):
        print(f"| {name} | {count:,} | {run:,} | {pct(run, count)} | {by_walks:,} | "
              f"{pct(by_walks, count)} |")
    run, by_walks, count = totals
    print(f"| **all of impl/** | {count:,} | {run:,} | {pct(run, count)} | {by_walks:,} | "
          f"{pct(by_walks, count)} |")
    edges = sum(t for t, _ in taken.values())
    print(f"\n{len(names)} entries, {args.walks} walks each of up to {args.steps} edges: "
          f"{edges:,} edges taken, {sum(d for _, d in taken.values())} walks ended by a "
          f"divergence; {time.perf_counter() - began:.0f} s wall, "
          f"{time.process_time() - cpu:.0f} s CPU", file=sys.stderr)
    for name, (t, d) in taken.items():
        print(f"  {name}: {t} edges, {d} divergences", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
