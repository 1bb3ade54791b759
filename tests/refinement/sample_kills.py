"""Which mutants the CI conformance sample of a walked suite entry kills, per way of
drawing it (docs/refinement.md, "What the walk sample loses").

``python -m tests.refinement.sample_kills [--variants V,...] [--mutants M,...]
[ENTRY ...]`` (variants by default ``walks,prefix2000,whole``; about 45 minutes of
one core for the three entries and five variants of docs/refinement.md): for each
entry (by default the three of more than WALKS_ABOVE states), each variant and
each mutant (by default every one of ``MUTANTS`` and ``TEST_KILLED``,
tests/refinement/mutations.py), the sample
``test_every_checked_edge_agrees`` checks (40 edges, seed 12, shortest paths only,
clone mode) and, for a delete entry, its 60 delete and reap edges
(``check_every_delete_and_reap_edge``), run under the mutant: a line per run (the
divergences of each sample, the CPU seconds), then a line per variant and entry
with the mutants killed. Variants: ``whole`` (the whole reachable graph, sampled as
every smaller entry is), ``walks`` (the part WALKS_IN_CI random walks find, as
session 11), ``prefixN`` (the walks and a breadth-first prefix of N states:
``walked_parts``, half of each sample from each part). A mutant is killed by a
sample that diverges (or raises: counted apart, as ``error``).
"""

from __future__ import annotations

import argparse
import collections
import time
from collections.abc import Iterator

from model_check.refinement_conformance import (
    Edge,
    clone_outcomes,
    conformance,
    reachable_graph,
    walked_parts,
)
from model_check.suite import DEFAULT_SUITE, entry
from spec.actions import Action
from spec.state import State
from tests.refinement.mutations import MUTANTS, TEST_KILLED, Mutant
from tests.refinement.test_conformance import (
    DELETES,
    SAMPLE_IN_CI,
    WALKS_ABOVE,
    WALKS_IN_CI,
    _delete_and_reap_edges,
)

__all__ = ["main"]


def every_mutant() -> dict[str, Mutant]:
    """The mutants of tests/refinement/mutations.py that a conformance run may meet."""
    every = dict(MUTANTS)
    every.update({name: mutant for name, (mutant, _) in TEST_KILLED.items()
                  if name != "serve-does-not-wait-for-settlement"})  # vdynamo serve only
    return every


def _graph(name: str, variant: str
           ) -> tuple[dict[State, tuple[State, Action] | None], list[Edge], list[Edge]]:
    config = entry(name).config
    if variant == "whole":
        parent, edges = reachable_graph(config)
        return parent, [], edges
    prefix = 0 if variant == "walks" else int(variant.removeprefix("prefix"))
    return walked_parts(config, WALKS_IN_CI, 12, prefix=prefix)


def runs(name: str, variant: str, mutants: dict[str, Mutant]
         ) -> Iterator[tuple[str, int, int, str, float]]:
    """Per mutant: its name, the divergences of the entry's sample, of its delete and
    reap edges (0 for another entry), an error if one was raised, the CPU seconds."""
    config = entry(name).config
    parent, shallow, deep = _graph(name, variant)
    chosen = _delete_and_reap_edges(shallow, deep) if name in DELETES else []
    walks = None if variant == "whole" else WALKS_IN_CI
    prefix = 0 if variant in ("whole", "walks") else int(variant.removeprefix("prefix"))
    for label, mutant in mutants.items():
        began = time.process_time()
        sample = deletes = 0
        error = ""
        try:
            with mutant():
                report = conformance(config, limit=SAMPLE_IN_CI, seed=12, shortest_only=True,
                                     walks=walks, prefix=prefix)
                sample = report.outcomes["diverged"]
                deletes = sum(outcome.startswith("diverged") for _, outcome in
                              clone_outcomes(config, parent, chosen))
        except Exception as raised:  # a mutant that breaks the harness: reported
            error = f"{type(raised).__name__}: {str(raised)[:80]}"
        yield label, sample, deletes, error, time.process_time() - began


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module docstring); 0."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variants", default="walks,prefix2000,whole")
    parser.add_argument("--mutants", default="")
    parser.add_argument("entries", nargs="*")
    args = parser.parse_args(argv)
    names = args.entries or [e.name for e in DEFAULT_SUITE
                             if (e.distinct_states or 0) > WALKS_ABOVE]
    mutants = every_mutant()
    if args.mutants:
        mutants = {m: mutants[m] for m in args.mutants.split(",")}
    killed: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for name in names:
        for variant in args.variants.split(","):
            began = time.process_time()
            _graph(name, variant)
            print(f"{name} {variant}: graph {time.process_time() - began:.1f} s CPU", flush=True)
            for label, sample, deletes, error, cpu in runs(name, variant, mutants):
                print(f"  {name} {variant} {label}: sample {sample} deletes {deletes} "
                      f"{error} {cpu:.1f} s", flush=True)
                if sample or deletes or error:
                    killed[(name, variant)].append(label + (" (error)" if error else ""))
            print(f"{name} {variant} KILLED {len(killed[(name, variant)])}: "
                  + ", ".join(killed[(name, variant)]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
