"""Walks to a first violation: the swarm draw against the uniform walk (session 34).

Run: ``.venv/bin/python bench/swarm.py [--walks N] [--seed S] [--only NAME]``

For every always-property the default suite expects violated (or those of the entries
named with ``--only``), it simulates the entry's configuration for that property alone,
from the same seed, twice in one process: without the swarm draw (``swarm=False``: a
fault probability per walk, then uniform choice; the walk before session 34) and with
it (``model_check/simulate.py``), each stopping at its first violating walk
(``until_found``) or after ``--walks`` walks. It prints one table: the breadth-first
counterexample's length, then for each walk the walks run to the first violation
("-" when none within the budget), the CPU seconds spent and the length of that walk,
and the totals. It prints figures and never fails on time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))


def _first(config: object, prop: str, walks: int, seed: int,
           swarm: bool) -> tuple[int | None, float, int | None]:
    """Walks to the first violation of ``prop`` (None: not within ``walks``), CPU-s, length."""
    from model_check.properties import PROPERTIES
    from model_check.simulate import simulate
    from model_check.spec_model import action_kind, spec_model

    holds = PROPERTIES[prop].holds
    assert holds is not None
    started = time.process_time()
    outcome = simulate(spec_model(config), {prop: holds}, walks, seed,
                       kind_of=action_kind, swarm=swarm, until_found=True)
    cpu = time.process_time() - started
    walk = outcome.violations.get(prop)
    return outcome.first_found.get(prop), cpu, None if walk is None else len(walk)


def main(argv: list[str] | None = None) -> int:
    from model_check.properties import PROPERTIES, Expectation
    from model_check.suite import DEFAULT_SUITE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walks", type=int, default=10_000,
                        help="walks at most per entry and walk (default 10,000)")
    parser.add_argument("--seed", type=int, default=7, help="the seed (default 7)")
    parser.add_argument("--only", action="append", help="a suite entry (repeatable)")
    args = parser.parse_args(argv)
    pairs = [(e, name) for e in DEFAULT_SUITE if not args.only or e.name in args.only
             for name, verdict in e.expected.items()
             if verdict == "violated" and PROPERTIES[name].kind is Expectation.ALWAYS]
    print(f"walks to a first violation from seed {args.seed}, at most {args.walks:,} walks "
          f"(uniform: swarm=False; swarm: the session-34 draw)")
    print(f"{'entry':<31} {'property':<23} {'bfs':>3} | {'uniform':>7} {'CPU-s':>6} {'len':>3}"
          f" | {'swarm':>7} {'CPU-s':>6} {'len':>3}")
    totals = {False: [0, 0.0], True: [0, 0.0]}
    for suite_entry, prop in pairs:
        cells = [f"{suite_entry.name:<31} {prop:<23} "
                 f"{suite_entry.counterexample_length[prop]:>3}"]
        for swarm in (False, True):
            walks, cpu, length = _first(suite_entry.config, prop, args.walks, args.seed, swarm)
            totals[swarm][0] += walks is not None
            totals[swarm][1] += cpu
            cells.append(f"{walks if walks is not None else '-':>7} {cpu:>6.2f} "
                         f"{length if length is not None else '-':>3}")
        print(" | ".join(cells), flush=True)
    for swarm in (False, True):
        found, cpu = totals[swarm]
        print(f"{'swarm' if swarm else 'uniform'}: {found} of {len(pairs)} found, "
              f"{cpu:.1f} CPU-s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
