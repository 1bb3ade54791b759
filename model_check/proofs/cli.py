"""``vdynamo prove [NAME ...] [--json] [--verbose]``: run the Z3 proofs and their twins.

Prints a table (proof, verdict, seconds, the twin's verdict) or, with ``--json``, a
list of ``{"name", "verdict", "seconds", "twin_verdict"}``. ``--verbose`` also prints
each twin's counterexample. Exit status 0 iff every proof run is proved and every
twin refuted; 1 otherwise; 2 for a usage error (an unknown proof name lists the
names).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from model_check.proofs.framework import DEFAULT_TIMEOUT_MS, ProofResult, run_proof
from model_check.proofs.registry import all_proofs

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vdynamo prove",
        description="Run the Z3 proofs (each must be proved) and their broken twins "
        "(each must be refuted with a counterexample).",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="proofs to run (default: all)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of results")
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="print each twin's counterexample"
    )
    parser.add_argument("--list", action="store_true", help="list the proofs and exit")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_MS / 1000,
        help="per-query solver timeout in seconds (default %(default)s)",
    )
    return parser


def _table(results: Sequence[ProofResult], verbose: bool) -> str:
    width = max([len("proof"), *(len(r.name) for r in results)])
    lines = [f"{'proof':<{width}}  {'verdict':<8} {'seconds':>8}  twin"]
    for r in results:
        seconds = r.outcome.seconds + r.twin.seconds
        mark = "" if r.ok else "   <-- FAILED"
        lines.append(
            f"{r.name:<{width}}  {r.outcome.verdict.value:<8} {seconds:>8.2f}  "
            f"{r.twin.verdict.value}{mark}"
        )
        if r.outcome.counterexample is not None:
            lines.append(f"    counterexample ({r.outcome.label}): {r.outcome.counterexample}")
        if r.outcome.reason is not None:
            lines.append(f"    unknown ({r.outcome.label}): {r.outcome.reason}")
        if verbose:
            lines.append(f"    twin: {r.proof.twin_statement}")
            if r.twin.counterexample is not None:
                lines.append(f"    twin's counterexample ({r.twin.label}): {r.twin.counterexample}")
        if r.twin.reason is not None:
            lines.append(f"    twin unknown ({r.twin.label}): {r.twin.reason}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    proofs = all_proofs()
    if args.list:
        for proof in proofs.values():
            print(f"{proof.name}: {proof.statement}")
        return 0
    unknown = [name for name in args.names if name not in proofs]
    if unknown:
        print(
            f"vdynamo prove: unknown proof(s) {', '.join(unknown)}; the proofs are:\n  "
            + "\n  ".join(proofs),
            file=sys.stderr,
        )
        return 2
    chosen = [proofs[name] for name in args.names] if args.names else list(proofs.values())
    start = time.perf_counter()
    results = [run_proof(proof, int(args.timeout * 1000)) for proof in chosen]
    total = time.perf_counter() - start
    if args.json:
        print(json.dumps([r.to_json() for r in results], indent=2))
    else:
        print(_table(results, args.verbose))
        good = sum(r.ok for r in results)
        print(f"\n{good}/{len(results)} proofs proved with their twins refuted, {total:.1f} s")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
