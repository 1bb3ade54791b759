"""``vdynamo replay TRACE``: re-execute a counterexample and tell it as a story.

Usage::

    vdynamo replay TRACE [--on spec|impl] [--json]

Theory of operation
-------------------
A trace records the configuration, the actions, and a readable form of every
state. Replaying it on the spec (:func:`replay_on_spec`) rebuilds the
configuration, starts from ``initial_state(config)`` and, for each recorded
action, looks for an enabled successor with that very action; the state it
reaches must ``describe`` exactly as the recorded one. The first step where the
action is not enabled, or reaches a different state, refuses the whole trace
with that step and the reason. A replay that goes through then evaluates the
property on the states it reached and says where it broke (for ``convergence``:
that no fault-free continuation from the last state converges).

The story is one numbered line per step (``spec.model.narrate``) that a person
can follow: who sent what to whom, what each node stored, where the property
broke.

``--on impl`` hands the trace to ``model_check.refinement_replay.replay_trace``
(the refinement layer drives the simulated implementation through the same
steps) and returns a :class:`ReplayReport` like the spec's.

Exit status: 0 the trace replayed and the property broke where recorded; 1 the
trace was refused (a step did not replay, or the property did not break);
2 usage error or unreadable trace.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from model_check.reports import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, ReplayReport, ReplayStep
from model_check.trace import Trace, TraceError

__all__ = ["ReplayReport", "ReplayStep", "config_from_trace", "main", "replay_on_spec"]

LIVENESS_SEARCH_LIMIT = 500_000


def config_from_trace(trace: Trace) -> Any:
    """Rebuild the spec Config recorded in a trace (refusing a bad one with the reason)."""
    from spec.config import Config, ConfigError

    data = dict(trace.config)
    from_json = getattr(Config, "from_json", None)
    try:
        if callable(from_json):
            return from_json(data)
        return Config(**data)
    except (ConfigError, TypeError, ValueError, KeyError) as error:
        raise TraceError(f"the trace's configuration is not valid: {error}") from error


def replay_on_spec(trace: Trace) -> ReplayReport:
    """Re-execute ``trace`` on the spec, checking each step (see the module docstring)."""
    from spec import model

    steps: list[ReplayStep] = []

    def refuse(step: int, reason: str) -> ReplayReport:
        return ReplayReport("spec", trace.property, tuple(steps), False, None, reason, step)

    try:
        config = config_from_trace(trace)
    except TraceError as error:
        return refuse(0, str(error))
    state = model.initial_state(config)
    if _normal(model.describe(state)) != _normal(trace.states[0]):
        return refuse(0, "the initial state differs from the recorded one: "
                      + _first_difference(model.describe(state), trace.states[0]))
    states = [state]
    for number, recorded in enumerate(trace.actions, start=1):
        try:
            action = model.action_from_json(dict(recorded))
        except (TypeError, ValueError, KeyError) as error:
            return refuse(number, f"the action {json.dumps(recorded)} is malformed: {error}")
        matches = [after for label, after in model.successors(state) if label == action]
        if not matches:
            return refuse(number, f"the action {json.dumps(recorded)} is not enabled here")
        expected = _normal(trace.states[number])
        reached = next((m for m in matches if _normal(model.describe(m)) == expected), None)
        if reached is None:
            return refuse(number, "the action reaches a different state than recorded: "
                          + _first_difference(model.describe(matches[0]), trace.states[number]))
        steps.append(ReplayStep(number, recorded, model.narrate(state, action, reached)))
        state = reached
        states.append(state)
    broke_at, reason = _where_it_broke(trace, states)
    initial = _describe_initial(model, states[0])
    return ReplayReport("spec", trace.property, tuple(steps), True, broke_at, reason,
                        initial=initial)


def _describe_initial(model: Any, state: Any) -> str:
    narrate_initial = getattr(model, "narrate_initial", None)
    if callable(narrate_initial):
        return str(narrate_initial(state))
    return "initial state: " + "; ".join(
        f"{key} {_summary(value)}" for key, value in model.describe(state).items()
    )


def _summary(value: Any) -> str:
    """A short readable summary of one part of a described state."""
    if isinstance(value, Mapping):
        if not value:
            return "none"
        if all(not isinstance(v, Mapping | list) for v in value.values()):
            return ", ".join(f"{k}={json.dumps(v)}" for k, v in value.items())
        return ", ".join(str(k) for k in value)
    if isinstance(value, list):
        return "none" if not value else f"{len(value)} item{'s' if len(value) > 1 else ''}"
    return "none" if value is None else json.dumps(value)


def _where_it_broke(trace: Trace, states: Sequence[Any]) -> tuple[int | None, str]:
    from model_check.properties import PROPERTIES

    prop = PROPERTIES.get(trace.property)
    if prop is None:
        return None, f"the spec has no property named {trace.property!r}"
    if prop.kind == "always":
        if prop.holds is None:
            return None, f"property {prop.name} has no predicate"
        for index, state in enumerate(states):
            if not prop.holds(state):
                return index, prop.description
        return None, "every replayed state satisfies it"
    return _stuck(prop, states[-1], len(states) - 1)


def _stuck(prop: Any, state: Any, index: int) -> tuple[int | None, str]:
    """Liveness: is there no fault-free path from ``state`` to a converged state?"""
    from model_check.explorer import explore
    from spec import model

    target = prop.converged if prop.converged is not None else model.converged

    def fault_free(s: Any) -> Any:
        return ((a, t) for a, t in model.successors(s) if not model.is_fault(a))

    search = explore([state], fault_free, {"not_converged": lambda s: not target(s)},
                     max_states=LIVENESS_SEARCH_LIMIT)
    if "not_converged" in search.violations:
        path = search.counterexample("not_converged")
        steps = len(path) if path is not None else 0
        return None, f"a fault-free continuation converges after {steps} steps"
    if search.bounded:
        return None, (f"no converged state within {search.distinct_states:,} fault-free "
                      "states: inconclusive")
    return index, (f"from here no fault-free continuation converges "
                   f"({search.distinct_states:,} states reachable without faults, none converged)")


def _normal(value: Any) -> Any:
    """JSON-normalise a described state (tuples -> lists) for comparison."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _first_difference(actual: Any, recorded: Any, where: str = "state") -> str:
    a, r = _normal(actual), _normal(recorded)
    if isinstance(a, dict) and isinstance(r, dict):
        for key in sorted(set(a) | set(r)):
            if a.get(key) != r.get(key):
                return _first_difference(a.get(key), r.get(key), f"{where}.{key}")
    if isinstance(a, list) and isinstance(r, list) and len(a) == len(r):
        for i, (x, y) in enumerate(zip(a, r, strict=True)):
            if x != y:
                return _first_difference(x, y, f"{where}[{i}]")
    return f"{where} is {json.dumps(a)[:200]} but the trace says {json.dumps(r)[:200]}"


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
    if args.on == "impl":
        # Imported here: replaying on the spec needs neither impl nor the simulator.
        from model_check.refinement_replay import replay_trace as replay_on_impl

        report = replay_on_impl(trace)
    else:
        report = replay_on_spec(trace)
    if args.json:
        to_json = getattr(report, "to_json", None)
        print(json.dumps(to_json() if callable(to_json) else {"report": str(report)}))
    else:
        render = getattr(report, "render", None)
        print(render() if callable(render) else str(report))
    code = getattr(report, "exit_code", None)
    if isinstance(code, int):
        return code
    return EXIT_OK if getattr(report, "ok", False) else EXIT_REFUSED


if __name__ == "__main__":
    raise SystemExit(main())
