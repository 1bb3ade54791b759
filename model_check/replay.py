"""Replay a counterexample trace on the spec, step by step, and tell it as a story.

Theory of operation
-------------------
A trace records the configuration, the actions, and a readable form of every
state. Replaying it on the spec (:func:`replay_on_spec`) rebuilds the
configuration (:func:`config_from_trace`), takes the spec's model for it
(:func:`model_check.spec_model.spec_model`, or a model given as a value), starts
from its initial state and, for each recorded action, looks for an enabled
successor with that very action; the state it reaches must ``describe`` exactly
as the recorded one. The first step where the action is not enabled, or reaches
a different state, refuses the whole trace with that step and the reason. A
replay that goes through then evaluates the property on the states it reached
(:func:`where_it_broke`) and says where it broke (for an eventually-property
such as ``convergence``: that no fault-free continuation from the last state
reaches its target; for a sometimes-property: where its witness is).

The story is one numbered line per step (the model's ``narrate``) that a person
can follow: who sent what to whom, what each node stored, where the property
broke.

This module replays on the spec only. Replaying on the implementation is
:func:`model_check.refinement_replay.replay_trace`; the command
``vdynamo replay TRACE [--on spec|impl] [--json]`` (:mod:`vdynamo.replay_cli`)
chooses between the two. Both return a :class:`~model_check.reports.ReplayReport`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from model_check.errors import TraceError
from model_check.explorer import explore
from model_check.model import Model
from model_check.properties import PROPERTIES, Expectation, Property
from model_check.rebuild_witnesses import rebuilds
from model_check.reports import ReplayReport, ReplayStep, WitnessReport
from model_check.spec_model import spec_model
from model_check.trace import Trace
from spec.actions import Action
from spec.config import Config, ConfigError
from spec.errors import InvalidValueError
from spec.state import State

__all__ = ["LIVENESS_SEARCH_LIMIT", "check_fields", "config_from_trace", "rebuild_default_note",
           "replay_on_spec", "where_it_broke"]

LIVENESS_SEARCH_LIMIT = 500_000
"""At most this many fault-free states are searched for a converged one after a replay."""

SpecModel = Model[State, Action]


def config_from_trace(trace: Trace) -> Config:
    """Rebuild the spec Config recorded in a trace.

    Raises :class:`~model_check.errors.TraceError` (with the reason) for a
    configuration that is not valid, or none (an empty one).
    """
    if not trace.config:  # it would replay against Config()'s defaults (session 30)
        raise TraceError("the trace records no configuration (an ITF trace without "
                         "vdynamo's #meta, written by another tool?)")
    try:
        return Config.from_json(dict(trace.config))
    except (ConfigError, TypeError, ValueError, KeyError) as error:
        raise TraceError(f"the trace's configuration is not valid: {error}") from error


def rebuild_default_note(trace: Trace) -> str:
    """The note for a refused replay whose trace may predate the rebuild's default.

    Session 60 made ``[features] rebuild`` true by default and ``Config.to_sections``
    omits the key when true, so a trace written before session 60 (recorded without the
    rebuild) and one written since (with it) both lack the key, and both load with the
    rebuild on. Where that matters (a disk-loss budget, anti-entropy, a fixed ring:
    :func:`model_check.rebuild_witnesses.rebuilds`) a refused replay may be an old trace
    replayed under the new rule; the note says so and how to replay it as recorded.
    Returns ``""`` where the key is written or the rebuild cannot happen (a trace whose
    configuration is not valid: ``config_from_trace`` refuses it with its own reason).
    """
    features = trace.config.get("features")
    if isinstance(features, Mapping) and "rebuild" in features:
        return ""
    try:
        config = config_from_trace(trace)
    except TraceError:
        return ""
    if not rebuilds(config):
        return ""
    return ("the trace's configuration has no [features] rebuild key, which since "
            "session 60 means rebuild = true (a replaced disk rebuilds before it counts "
            "or answers reads); a trace written before session 60 was recorded without "
            "the rebuild: add \"rebuild\": false to its \"features\" to replay it as "
            "recorded")


def replay_on_spec(trace: Trace, model: SpecModel | None = None) -> ReplayReport:
    """Re-execute ``trace`` on the spec, checking each step (see the module docstring).

    ``model`` is the spec's model for the trace's configuration unless given.
    Never raises for a bad trace: the report says where and why it was refused.
    """
    steps: list[ReplayStep] = []
    report = WitnessReport if trace.kind == Expectation.SOMETIMES else ReplayReport

    def refuse(step: int, reason: str) -> ReplayReport:
        return report("spec", trace.property, tuple(steps), False, None, reason, step)

    if model is None:
        try:
            model = spec_model(config_from_trace(trace))
        except TraceError as error:
            return refuse(0, str(error))
    initial = model.initial_states()
    recorded_initial = _normal(trace.states[0])
    state = next((s for s in initial if _normal(model.describe(s)) == recorded_initial), None)
    if state is None:
        return refuse(0, "the initial state differs from the recorded one: "
                      + _first_difference(model.describe(initial[0]), trace.states[0]))
    states = [state]
    for number, recorded in enumerate(trace.actions, start=1):
        try:
            action = model.action_from_json(recorded)
            check_fields(recorded, model.action_to_json(action))
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
    broke_at, reason = where_it_broke(trace, states, model)
    return report("spec", trace.property, tuple(steps), True, broke_at, reason,
                  initial=model.narrate_initial(states[0]))


_NAME_KEYS = ("action", "kind", "type", "name")
"""The keys an action's name may be under (:mod:`model_check.trace`'s ITF reading)."""


def check_fields(recorded: Mapping[str, object], parsed: Mapping[str, object]) -> None:
    """Raise InvalidValueError (a ValueError) naming the fields of a recorded action
    that the action read from it does not have (a tampered or misspelt field was
    ignored: session 30's probe)."""
    extra = sorted(set(recorded) - set(parsed) - set(_NAME_KEYS))
    if extra:
        raise InvalidValueError(f"unknown field{'s' if len(extra) > 1 else ''} "
                         f"{', '.join(map(repr, extra))} (the action has "
                         f"{', '.join(k for k in parsed if k not in _NAME_KEYS)})")


def where_it_broke(
    trace: Trace, states: Sequence[State], model: SpecModel | None = None
) -> tuple[int | None, str]:
    """Evaluate the trace's property over the states a replay reached.

    Returns ``(index, reason)``: the index of the state where the property is
    seen broken (an always-property: the first state where it is false; an
    eventually-property: the last state, when no fault-free continuation from it
    reaches the target; a sometimes-property: the first witness), or ``None``
    and why not (also when the trace's ``kind`` is not its property's, or an
    always-property first fails at another state than the trace's ``violated_at``).
    ``states[i]`` is the state after ``trace.actions[i - 1]``;
    ``model`` (the spec's for the trace's configuration unless given) is needed
    for eventually-properties and step witnesses. Raises
    :class:`~model_check.errors.TraceError` when the trace's configuration is not
    valid and a model must be built from it.
    """
    prop = PROPERTIES.get(trace.property)
    if prop is None:
        return None, f"the spec has no property named {trace.property!r}"
    if trace.kind != prop.kind:  # an edited trace was told as its kind said (session 30)
        return None, (f"the trace calls it {_a(trace.kind)}-property, but it is "
                      f"{_a(prop.kind)}-property (an edited trace, or one of another version)")
    if prop.kind is Expectation.ALWAYS and prop.holds is not None:
        for index, state in enumerate(states):
            if not prop.holds(state):
                if trace.violated_at is not None and trace.violated_at != index:
                    # the recorded step was not checked (session 30's probe)
                    return None, (f"the trace records it broken at step "
                                  f"{trace.violated_at} (violated_at), but it first fails "
                                  f"at step {index}")
                # the description says what should hold: told bare after "broke
                # here:", it read as what went wrong (session 22's walk through README)
                return index, f"the property requires that {prop.description}"
        return None, "every replayed state satisfies it"
    if model is None:
        model = spec_model(config_from_trace(trace))
    if prop.kind is Expectation.SOMETIMES:
        return _witnessed(prop, trace, states, model)
    return _stuck(prop, states[-1], len(states) - 1, model)


def _a(kind: str) -> str:
    """``kind`` with its article: "an always", "a sometimes"."""
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _witnessed(prop: Property[State, Action], trace: Trace, states: Sequence[State],
               model: SpecModel) -> tuple[int | None, str]:
    """Sometimes: the first replayed state (or step) that is a witness."""
    if prop.holds is not None:
        for index, state in enumerate(states):
            if prop.holds(state):
                return index, prop.description
    elif prop.step is not None:
        for index, recorded in enumerate(trace.actions[: len(states) - 1], start=1):
            action = model.action_from_json(recorded)
            if prop.step(states[index - 1], action, states[index]):
                return index, prop.description
    return None, "no replayed state or step is a witness"


def _stuck(prop: Property[State, Action], state: State, index: int,
           model: SpecModel | None = None) -> tuple[int | None, str]:
    """Eventually: is there no fault-free path from ``state`` to a target state?"""
    if model is None:
        model = spec_model(state.config)
    target = prop.holds
    assert target is not None  # an eventually-property always has its target

    system = model

    def fault_free(s: State) -> Iterator[tuple[Action, State]]:
        return ((a, t) for a, t in system.successors(s) if not system.is_fault(a))

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
