"""``vdynamo ring``: the paper's three partitioning strategies side by side.

The command layer of :mod:`spec.partitioning` (Dynamo paper, section 6.2, figure
8): it parses the options, runs :func:`spec.partitioning.compare` and prints a
table or JSON. Exit status: 0, or 2 for bad options (argparse).
"""

from __future__ import annotations

import argparse
import json

from spec.partitioning import DEFAULT_TOKENS, compare, format_table

__all__ = ["RING_TOKENS_MAX", "main"]

#: the most tokens (S x the largest T) and strategy-2 partitions (Q) one comparison
#: builds: 4,096 nodes x 256 tokens (2**20) took 31 CPU-s and 830 MB for one trial
#: (session 56), and `--nodes 99999999` or `--partitions 99999999999` ran until the
#: machine's memory ran out rather than saying the options were too large
RING_TOKENS_MAX = 1 << 18


def _positive_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated ints, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected ints >= 1, got {text!r}")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:  # each T is one row: a repeat printed the same row twice (session 30)
        raise argparse.ArgumentTypeError(
            f"{', '.join(map(str, repeated))} given more than once in {text!r}: each value "
            "is one row of the comparison")
    return values


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1, got {value}")
    return value


def main(argv: list[str]) -> int:
    """``vdynamo ring``: print the three strategies side by side (deterministic per seed)."""
    parser = argparse.ArgumentParser(
        prog="vdynamo ring",
        description="Compare the Dynamo paper's three partitioning strategies (section 6.2, "
        "figure 8): load-balancing efficiency at equal membership metadata per node.",
    )
    parser.add_argument("--nodes", type=_positive, default=30, help="S, the number of nodes "
                        "(default 30)")
    parser.add_argument("--n", type=_positive, default=3, help="N, replicas per key (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    parser.add_argument("--tokens", type=_positive_list, default=list(DEFAULT_TOKENS),
                        help="comma-separated tokens per node T, one row each "
                        "(default 1,2,4,...,256)")
    parser.add_argument("--trials", type=_positive, default=5,
                        help="seeded rings averaged per figure (default 5)")
    parser.add_argument("--partitions", type=_positive, default=None,
                        help="Q of strategy 2 (default S x the largest T)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    if args.n > args.nodes:
        parser.error(f"--n {args.n} exceeds --nodes {args.nodes}")
    if args.nodes * max(args.tokens) > RING_TOKENS_MAX:
        parser.error(f"--nodes {args.nodes} x the largest of --tokens ({max(args.tokens)}) "
                     f"is {args.nodes * max(args.tokens)} tokens, over {RING_TOKENS_MAX} (its "
                     "memory and time grow with it: 2**20 tokens took 830 MB and 31 s a trial)")
    if args.partitions is not None and args.partitions > RING_TOKENS_MAX:
        parser.error(f"--partitions {args.partitions}: at most {RING_TOKENS_MAX}")
    rows = compare(args.nodes, args.n, args.tokens, args.seed, args.trials, args.partitions)
    if args.json:
        print(json.dumps({
            "nodes": args.nodes, "n": args.n, "seed": args.seed, "trials": args.trials,
            "load": "share of the key space held among the top N (exact)",
            "efficiency": "mean load / load of the most loaded node",
            "rows": [[m.to_json() for m in row.measures] for row in rows],
        }, indent=2))
    else:
        print(format_table(rows, args.nodes, args.n, args.seed, args.trials))
    return 0
