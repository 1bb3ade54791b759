"""``vdynamo validate``: trace validation of the implementation's own timing.

Usage::

    vdynamo validate [--seeds N] [--first F] [--seed S] [--keys {1,2}] [--disk-loss] [-v]

Runs :func:`model_check.trace_validation.validate_seed` for seeds ``F .. F+N-1``
(default 0..19), or the one seed ``S``: the simulated implementation runs with
its real timers, retries, failure detector and gossip under the fault mix drawn
for the seed (swarm testing), and every event is validated against the spec.
Prints one line per seed (events validated, spec steps, stutters, hidden spec
steps, trace-spec steps by name, convergence, wall time, verdict, fault mix),
then the totals; ``-v`` prints the reason of every seed that is not ``ok``.

``--keys 2`` (session 31): the two-key runs, keys k and j
(:data:`model_check.trace_swarm.TWO_KEYS`: their replica sets differ on the four
nodes), each client request's key drawn per seed; the line adds what each key saw.
A setting of its own rather than a share of the seeds, so that every seed's
one-key run is the run it always was (a failure found by a seed reproduces from
that seed, and ``--keys 2`` with it from that seed's two-key run).

Exit status: 0 every seed is ``ok`` or a documented ``spec-gap``; 1 a seed
diverged or did not converge (its line names the command that reruns it);
2 usage error.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence

from model_check.trace_swarm import TWO_KEYS
from model_check.trace_validation import trace_config, validate_seed

__all__ = ["main"]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="vdynamo validate", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=None, help="how many seeds (default 20)")
    parser.add_argument("--first", type=int, default=None, help="the first seed (default 0)")
    parser.add_argument("--seed", type=int, default=None,
                        help="validate this one seed (no --seeds or --first)")
    parser.add_argument("--keys", type=int, choices=(1, 2), default=1,
                        help="1: key k (default); 2: keys k and j, a key per request")
    parser.add_argument("--disk-loss", action="store_true",
                        help="the swarm draws the nemesis' disk losses too (session 34)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print the reason of every seed that is not ok")
    args = parser.parse_args(list(argv))
    if args.seed is not None and (args.seeds is not None or args.first is not None):
        # they were ignored silently (session 30's probe)
        parser.error("--seed validates one seed: give no --seeds or --first with it")
    if args.seeds is not None and args.seeds < 1:
        parser.error("--seeds must be at least 1")
    first = 0 if args.first is None else args.first
    seeds = [args.seed] if args.seed is not None else list(
        range(first, first + (20 if args.seeds is None else args.seeds)))
    config = trace_config(keys=TWO_KEYS if args.keys == 2 else ("k",))
    verdicts: Counter[str] = Counter()
    events = 0
    started = time.perf_counter()
    bad = []
    for seed in seeds:
        report = validate_seed(seed, config=config, disk_losses=args.disk_loss)
        verdicts[report.verdict] += 1
        events += report.events
        print(report.line(), flush=True)
        if report.verdict != "ok" and args.verbose:
            print(report.reason)
        if report.verdict in ("divergence", "no-convergence"):
            bad.append(report)
            print(f"  rerun: {report.rerun()}")
    wall = time.perf_counter() - started
    print(f"{len(seeds)} seeds, {events} events validated in {wall:.1f}s "
          f"({events / wall if wall else 0:.0f} events/s): "
          + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
    return 1 if bad else 0
