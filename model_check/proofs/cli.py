"""``vdynamo prove [NAME ...] [--json] [--verbose] [--all-edges | --no-agreement]
[--configuration CONFIG ...]``:
run the Z3 proofs and their twins, and check the encoding against the spec.

Prints a table (proof, verdict, seconds, the twin's verdict) or, with ``--json``, a
list of ``{"name", "verdict", "seconds", "twin_verdict"}`` (and
``"twin_counterexample"`` for a shown twin, below). ``--verbose`` also prints
each twin's counterexample; a twin whose counterexample is a result of its own
(``Proof.shown``: the spec's hinted read that misses an acknowledged put although
the read and write sets intersect) is printed without it too, one clause a line.
Without proof names (or with ``--all-edges``) it then
checks the invariants' encoding against the spec on the edges of every suite
configuration (the membership ones with their one change:
:mod:`model_check.proofs.membership`; the one of two keys once per key, projected
onto it; :mod:`model_check.proofs.agreement`): a
sample by default, every
edge with ``--all-edges``; a table of edges compared per configuration and time
(in JSON, one more row per configuration, ``"name": "agreement:<configuration>"``,
``"agreement:<configuration>[<key>]"`` per key of a configuration of several,
``"verdict": "agrees"`` or ``"disagrees"``, with the figures). Exit status 0 iff
every proof run is proved, every twin refuted and every configuration agrees; 1
otherwise; 2 for a usage error (an unknown proof name lists the names).

``--configuration CONFIG`` (repeatable; session 57): the agreement on those suite
configurations only, with proof names too (``vdynamo prove
inductive_acked_writes_durable_with_rebuild --all-edges --configuration
disk-loss-rebuild-sloppy``); a configuration the suite does not have, or one the
encoding does not cover (:func:`~model_check.proofs.agreement.unencoded`), is a usage
error naming it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from types import FrameType

import z3

from model_check.proofs.agreement import agreement_json, agreement_table, check_suite
from model_check.proofs.framework import DEFAULT_TIMEOUT_MS, ProofResult, run_proof
from model_check.proofs.pruning import shared_relations
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
        "--all-edges", action="store_true",
        help="check the encoding on every edge of every suite configuration (minutes)",
    )
    parser.add_argument(
        "--no-agreement", action="store_true",
        help="skip the check of the encoding against the spec",
    )
    parser.add_argument(
        "--configuration", "-c", action="append", default=[], metavar="CONFIG",
        help="check the encoding on this suite configuration only (repeatable; with "
        "proof names too)",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=DEFAULT_TIMEOUT_MS / 1000,
        help="per-query solver timeout in seconds (default %(default)s)",
    )
    return parser


#: the longest ``--timeout`` (a day; Z3's timeout is an unsigned 32-bit count of
#: milliseconds, about 49.7 days)
MAX_TIMEOUT_S = 86400.0


def _seconds(text: str) -> float:
    """``--timeout``: a finite number of seconds of at least a millisecond and at most
    :data:`MAX_TIMEOUT_S` (Z3 takes whole milliseconds, and 0 means none: `--timeout
    0`, `-1` and `nan` were taken, `nan` and `inf` then crashed converting to
    milliseconds; session 30; `1e308` was taken and crashed with OverflowError
    converting to milliseconds until session 56's red team)."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(seconds) or not 0.001 <= seconds <= MAX_TIMEOUT_S:
        raise argparse.ArgumentTypeError(
            f"expected a finite number of seconds in [0.001, {MAX_TIMEOUT_S:g}], got {text!r}")
    return seconds


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
        elif r.proof.shown and r.twin.counterexample is not None:
            lines += _shown(r)
        if r.twin.reason is not None:
            lines.append(f"    twin unknown ({r.twin.label}): {r.twin.reason}")
    return "\n".join(lines)


def _shown(r: ProofResult) -> list[str]:
    """A twin's counterexample that is a result of its own (``Proof.shown``: the
    spec's hinted read), one clause a line."""
    assert r.twin.counterexample is not None
    head, _, rest = r.twin.counterexample.partition(": ")
    clauses = [c for c in rest.split("; ") if c] if rest else []
    return [f"    what the spec does (Z3's model): {head}:", *[f"      {c}" for c in clauses]]


@contextlib.contextmanager
def _stopped_by_ctrl_c() -> Iterator[None]:
    """Within: Ctrl-C (SIGINT) ends the process at once, status 130, one line. Z3's own
    SIGINT handler (its ``ctrl_c`` parameter, on by default while a solver checks) is
    turned off, so the signal always reaches this one. Before session 48 Z3 took it:
    the query at hand came back ``unknown``, and every other proof and the agreement
    check ran on (50 s) to exit 1; or it was lost (a check that finished anyway), or
    Python raised it inside a Z3 object's ``__del__`` or a ctypes call, where it was
    dropped or became a ``ctypes.ArgumentError`` traceback. A check under way is not
    cut short: the process ends when Z3 returns (a query takes at most a few seconds
    here; ``--timeout`` bounds it). Only in the main thread (elsewhere a handler cannot
    be set); the handler and the parameter are restored on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        print("vdynamo prove: interrupted", file=sys.stderr, flush=True)
        os._exit(130)

    before = signal.signal(signal.SIGINT, stop)
    z3_before = z3.get_param("ctrl_c") == "true"
    z3.set_param("ctrl_c", False)
    try:
        yield
    finally:
        z3.set_param("ctrl_c", z3_before)
        signal.signal(signal.SIGINT, before)


def main(argv: Sequence[str] | None = None) -> int:
    with _stopped_by_ctrl_c():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
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
    wrong = _wrong_configurations(args.configuration)
    if wrong:
        print(f"vdynamo prove: {wrong}", file=sys.stderr)
        return 2
    chosen = [proofs[name] for name in args.names] if args.names else list(proofs.values())
    start = time.perf_counter()
    with shared_relations():  # the pruning proofs' relations built once per shape
        results = [run_proof(proof, int(args.timeout * 1000)) for proof in chosen]
    total = time.perf_counter() - start
    agreement = []
    if (args.all_edges or not args.names or args.configuration) and not args.no_agreement:
        agreement = check_suite(all_edges=args.all_edges, names=args.configuration)
    if args.json:
        rows = [r.to_json() for r in results] + [agreement_json(a) for a in agreement]
        print(json.dumps(rows, indent=2))
    else:
        print(_table(results, args.verbose))
        good = sum(r.ok for r in results)
        print(f"\n{good}/{len(results)} proofs proved with their twins refuted, {total:.1f} s")
        if agreement:
            what = "every edge" if args.all_edges else "a sample of edges"
            print(f"\nThe invariants' encoding against the spec ({what} of each suite "
                  "configuration; edges compared, abstract successors proposed by the "
                  "exact steps, edges the causal store rule refuses):")
            print(agreement_table(agreement))
    return 0 if all(r.ok for r in results) and all(a.ok for a in agreement) else 1


def _wrong_configurations(names: Sequence[str]) -> str:
    """What is wrong with the ``--configuration`` names ("": nothing): a name the suite
    does not have (the names listed), or a configuration the encoding does not cover
    (why)."""
    from model_check.proofs.agreement import unencoded
    from model_check.suite import DEFAULT_SUITE

    known = {e.name: e for e in DEFAULT_SUITE}
    unknown = [name for name in names if name not in known]
    if unknown:
        return (f"unknown configuration(s) {', '.join(unknown)}; the suite's are:\n  "
                + "\n  ".join(known))
    for name in names:
        reason = unencoded(known[name].config)
        if reason:
            return f"the encoding does not cover {name}: {reason}"
    return ""


if __name__ == "__main__":
    raise SystemExit(main())
