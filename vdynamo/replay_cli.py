"""``vdynamo replay TRACE``: re-execute a counterexample on the spec or the implementation.

Usage::

    vdynamo replay TRACE [--on spec|impl] [--json]

The command layer's choice of backend: ``--on spec`` (the default) is
:func:`model_check.replay.replay_on_spec`, which checks every step against the
spec; ``--on impl`` is :func:`model_check.refinement_replay.replay_trace`, which
drives the simulated implementation through the same steps under the refinement
mapping, imported only when asked for (replaying on the spec needs neither the
implementation nor the simulator). The implementation runs in the setting the
trace's configuration names (``model_check.refinement_state.cluster_for``): the
naive actor (``actor_epochs = false``), the wall-clock lww rule, the paper's
per-put truncation, a buffered engine, per-node clock skew, so the broken
variants' counterexamples (kv679 amnesia, W = 1 with a disk loss, lww under
skew, truncation's false sibling) show the same violation on the implementation.
Both print the numbered story of :class:`model_check.reports.ReplayReport` (or its
JSON with ``--json``).

Exit status: 0 the trace replayed and the property broke where recorded; 1 the
trace was refused (a step did not replay, or the property did not break);
2 usage error or unreadable trace.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from model_check.errors import TraceError
from model_check.replay import rebuild_default_note, replay_on_spec
from model_check.reports import EXIT_USAGE, ReplayReport
from model_check.trace import Trace

__all__ = ["main", "replay"]


def replay(trace: Trace, on: str = "spec") -> ReplayReport:
    """Replay ``trace`` on the backend ``on`` (``"spec"`` or ``"impl"``).

    Raises :class:`model_check.errors.TraceError` for an unknown backend; a trace
    that does not replay is not an error (the report says where and why). A refused
    trace without a ``rebuild`` key whose configuration can rebuild a lost disk gets
    :func:`model_check.replay.rebuild_default_note` among its notes (session 60: it
    may have been recorded before the rebuild became the default).
    """
    if on == "spec":
        report = replay_on_spec(trace)
    elif on == "impl":
        from model_check.refinement_replay import replay_trace

        report = replay_trace(trace)
    else:
        raise TraceError(f"no replay backend {on!r}: choose spec or impl")
    note = "" if report.replayed else rebuild_default_note(trace)
    return dataclasses.replace(report, notes=(*report.notes, note)) if note else report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="vdynamo replay",
        description="Replay a counterexample trace (native or ITF JSON) step by step.",
        epilog="exit status: 0 replayed and the property broke; 1 refused (a step did not "
        "replay, or the property did not break); 2 usage error or unreadable trace.",
    )
    parser.add_argument("trace", metavar="TRACE", help="a trace file written by vdynamo check")
    parser.add_argument("--on", choices=("spec", "impl"), default="spec",
                        help="replay on the spec (default) or on the simulated implementation")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as stop:
        return int(stop.code or 0)
    try:
        trace = Trace.load(Path(args.trace))
    except TraceError as error:
        print(f"vdynamo replay: {error}", file=sys.stderr)
        return EXIT_USAGE
    report = replay(trace, args.on)
    print(json.dumps(report.to_json()) if args.json else report.render())
    return report.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
