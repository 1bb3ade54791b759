"""Load balance of the paper's three partitioning strategies (section 6.2, figure 8).

Theory of operation
-------------------
The strategies themselves live in :mod:`spec.ring` (:func:`spec.ring.strategy1`,
:func:`~spec.ring.strategy2`, :func:`~spec.ring.strategy3`). This module measures
them as the paper does:

- *load* of a node: the share of the key space for which it is among a key's top
  N, computed exactly from the partitions (equivalently: the share of requests it
  serves when requests are spread uniformly over the key space).
  :func:`sampled_loads` counts a sample of keys instead, as a cross-check;
- *load-balancing efficiency*: mean load / load of the most loaded node (1.0 is
  perfect balance);
- *metadata*: the membership information each node keeps to route any key: the
  token positions of all nodes (S x T) for strategies 1 and 2, the node of each
  partition (Q) for strategy 3.

:func:`compare` lays the strategies side by side at equal metadata, as figure 8
does: for each T, strategy 1 and 2 run with T tokens per node (metadata S x T)
and strategy 3 with Q = S x T partitions, so Q/S = T tokens per node (metadata
Q = S x T). Strategy 2 keeps one Q for all rows (by default S x the largest T,
the Q a strategy-3 deployment would migrate to), so that Q >= S x T as the paper
asks. Each figure is the mean over a few seeded trials; every random choice comes
from ``random.Random`` seeded by a string (stable across processes and runs).

``vdynamo ring`` (:mod:`vdynamo.ring_cli`) prints the comparison.

Errors: :func:`compare` refuses a bad S, N, T or Q with a ValueError naming it.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from spec.errors import InvalidValueError
from spec.ring import Partitioning, Strategy, strategy1, strategy2, strategy3

__all__ = [
    "DEFAULT_TOKENS",
    "Measure",
    "Row",
    "compare",
    "format_table",
    "sampled_loads",
]

#: Tokens per node (T) compared by default: metadata from 30 to 7 680 entries for S=30.
DEFAULT_TOKENS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def sampled_loads(
    partitioning: Partitioning, keys: Iterable[bytes | str], n: int
) -> dict[str, int]:
    """How many of ``keys`` each node holds among the top ``n`` (load by a key sample)."""
    load = dict.fromkeys(partitioning.nodes, 0)
    for key in keys:
        for node in partitioning.preference_list(key, n):
            load[node] += 1
    return load


@dataclass(frozen=True, slots=True)
class Measure:
    """One strategy at one setting: metadata per node and efficiency over the trials."""

    strategy: Strategy
    tokens_per_node: int
    partitions: int | None
    metadata: int
    efficiency: float  # mean over trials
    lowest: float
    highest: float

    def to_json(self) -> dict[str, object]:
        return {
            "strategy": self.strategy.value,
            "tokens_per_node": self.tokens_per_node,
            "partitions": self.partitions,
            "metadata_per_node": self.metadata,
            "efficiency": round(self.efficiency, 4),
            "efficiency_min": round(self.lowest, 4),
            "efficiency_max": round(self.highest, 4),
        }


@dataclass(frozen=True, slots=True)
class Row:
    """The three strategies at equal metadata (one value of T)."""

    tokens_per_node: int
    measures: tuple[Measure, Measure, Measure]


def _measure(
    build: Sequence[Partitioning], n: int, strategy: Strategy, tokens: int, partitions: int | None
) -> Measure:
    effs = [p.efficiency(n) for p in build]
    metadata = {p.metadata_size for p in build}
    assert len(metadata) == 1, metadata
    return Measure(strategy, tokens, partitions, metadata.pop(), statistics.fmean(effs),
                   min(effs), max(effs))


def compare(
    nodes: int = 30,
    n: int = 3,
    tokens: Sequence[int] = DEFAULT_TOKENS,
    seed: int = 0,
    trials: int = 5,
    strategy2_partitions: int | None = None,
) -> list[Row]:
    """The three strategies side by side at equal metadata, one row per T in ``tokens``."""
    for name, value in (("nodes", nodes), ("n", n), ("trials", trials)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidValueError(f"{name} must be an int >= 1, got {value!r}")
    if n > nodes:
        raise InvalidValueError(f"n={n} exceeds the number of nodes {nodes}")
    if not tokens or any(isinstance(t, bool) or not isinstance(t, int) or t < 1 for t in tokens):
        raise InvalidValueError(f"tokens must be ints >= 1, got {list(tokens)!r}")
    names = [f"node{i:02d}" for i in range(1, nodes + 1)]
    q2 = strategy2_partitions if strategy2_partitions is not None else nodes * max(tokens)

    def rng(strategy: int, t: int, trial: int) -> random.Random:
        return random.Random(f"vdynamo-ring:{seed}:{strategy}:{t}:{trial}")

    rows: list[Row] = []
    for t in tokens:
        runs = range(trials)
        one = [strategy1(names, t, rng(1, t, k)) for k in runs]
        two = [strategy2(names, t, q2, rng(2, t, k)) for k in runs]
        three = [strategy3(names, nodes * t, rng(3, t, k)) for k in runs]
        rows.append(Row(t, (
            _measure(one, n, Strategy.RANDOM_TOKENS, t, None),
            _measure(two, n, Strategy.RANDOM_TOKENS_EQUAL_PARTITIONS, t, q2),
            _measure(three, n, Strategy.EQUAL_PARTITIONS, t, nodes * t),
        )))
    return rows


def format_table(rows: Sequence[Row], nodes: int, n: int, seed: int, trials: int) -> str:
    """The comparison as a plain-text table."""
    q2 = rows[0].measures[1].partitions
    lines = [
        f"Load-balancing efficiency (mean load / most loaded node) for S={nodes} nodes, N={n}, "
        f"seed={seed}, mean of {trials} trial(s)",
        f"load = share of the key space a node holds among the top N (exact). "
        f"Strategy 2 uses Q={q2}.",
        "metadata = membership entries each node keeps: all tokens (S*T) for strategies 1 and 2, "
        "partitions (Q) for strategy 3",
        "",
        f"{'T':>5} {'metadata':>9} | {'1: T random tokens':>18} | "
        f"{'2: T random, Q equal':>20} | {'3: Q=S*T, Q/S each':>18}",
    ]
    lines.append("-" * len(lines[-1]))
    for row in rows:
        one, two, three = row.measures
        assert one.metadata == two.metadata == three.metadata
        lines.append(
            f"{row.tokens_per_node:>5} {one.metadata:>9} | {one.efficiency:>18.3f} | "
            f"{two.efficiency:>20.3f} | {three.efficiency:>18.3f}"
        )
    best = [max(r.measures, key=lambda m: m.efficiency).strategy.value for r in rows]
    lines.append("")
    lines.append(
        "best per row: " + " ".join(f"T={r.tokens_per_node}:s{b}" for r, b in zip(rows, best,
                                                                                  strict=True))
    )
    return "\n".join(lines)
