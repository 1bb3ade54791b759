"""``check(config)``: model-check the Dynamo spec against the named properties.

Theory of operation
-------------------
:func:`check` ties the generic explorer to a model given as a value (the spec's,
:func:`model_check.spec_model.spec_model`, unless another is passed). It
resolves the configuration (a :class:`spec.config.Config`, or the path of a TOML
file) and the properties *before* exploring anything, so a bad configuration or
an unknown property is refused at once with a message naming it. It then runs
one breadth-first exploration of the model with

* every ``always`` property (:mod:`model_check.properties`) as an invariant,
  checked on every new state;
* every ``sometimes`` property as a witness, sought on every new state (or
  every transition, for a step witness) until found; it never changes what is
  explored;
* the model's ``canonicalize`` as the symmetry reduction (``symmetry=True``);
* when an ``eventually`` property is asked for, the state graph of fault-free
  steps (``not model.is_fault(action)``) with the property's target marked, on
  which :mod:`model_check.liveness` computes ``AG EF target``.

Each property gets a verdict: ``violated`` with a shortest counterexample
:class:`~model_check.trace.Trace`, ``holds`` when the whole reachable state
space was explored without finding one, and ``bounded`` when ``max_depth`` or
``max_states`` cut the search short and no violation was found: a bounded run
never reports ``holds``. A sometimes-property is ``found`` with the shortest
trace to a witness, ``not found`` when the whole reachable state space was
explored without one, or ``bounded``.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model_check.errors import CheckError, UnknownNameError
from model_check.explorer import (
    Exploration,
    Progress,
    explore_model,
    format_statistics,
    quiet_gc,
)
from model_check.explorer import Path as Run
from model_check.kernel import (
    KernelModel,
    PackedReduction,
    PackedScreen,
    PackedTransport,
    covers,
)
from model_check.liveness import check_eventually_reachable
from model_check.model import Model
from model_check.packed_properties import FLIGHT_PARTS, PackedWitnesses, flight_predicate, ours
from model_check.por import spec_reduction
from model_check.properties import PROPERTIES, Expectation, Property
from model_check.spec_memo import (
    PREDICATE_PARTS,
    WITNESS_PARTS,
    PropertyScreen,
    memo_predicate,
    memo_predicates,
)
from model_check.spec_model import SpecModel, action_kind, spec_model
from model_check.trace import Trace
from spec.actions import Action
from spec.config import Config, load_config
from spec.model import is_fault as spec_is_fault
from spec.state import State

__all__ = [
    "CheckError",
    "CheckResult",
    "PropertyResult",
    "Verdict",
    "check",
    "resolve_config",
    "resolve_properties",
    "simulate_check",
]

SpecProperty = Property[State, Action]


class Verdict(enum.StrEnum):
    """A property's verdict; compares equal to its string value (``"holds"`` ...)."""

    HOLDS = "holds"
    VIOLATED = "violated"
    BOUNDED = "bounded"
    """The search was cut short (a bound, or an early stop) before a verdict."""
    FOUND = "found"
    """A sometimes-property's witness was reached."""
    NOT_FOUND = "not found"
    """The whole reachable state space holds no witness of a sometimes-property."""


@dataclass(frozen=True, slots=True)
class PropertyResult:
    """One property's verdict, with the shortest counterexample when it is violated, or
    the shortest trace to a witness when a sometimes-property was found."""

    property: str
    verdict: Verdict
    trace: Trace | None = None
    kind: Expectation = Expectation.ALWAYS

    @builtins.property
    def counterexample_length(self) -> int | None:
        """Steps in the counterexample (None when there is none)."""
        if self.trace is None or self.kind is Expectation.SOMETIMES:
            return None
        return len(self.trace)

    @builtins.property
    def witness_length(self) -> int | None:
        """Steps to a sometimes-property's witness (None when there is none)."""
        if self.trace is None or self.kind is not Expectation.SOMETIMES:
            return None
        return len(self.trace)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of :func:`check` for one configuration."""

    config: Config
    results: tuple[PropertyResult, ...]
    distinct_states: int
    transitions: int
    depth: int
    seconds: float
    peak_memory: int
    symmetry: bool = True
    bounded: bool = False
    seen_bytes: int = 0
    statistics: str = field(default="", compare=False)
    por: bool = False
    """Partial-order reduction was asked for (``check(..., por=True)``)."""
    por_note: str = ""
    """Why the reduction was off although asked for ("" when it was on or not asked)."""
    reduced_states: int = 0
    """States expanded through one step of a persistent set (:mod:`model_check.por`)."""
    levels: tuple[int, ...] = ()
    """The distinct states of each breadth-first level, depth 0 first (one process; empty
    with workers)."""

    def result(self, name: str) -> PropertyResult:
        """The result of property ``name``; raises UnknownNameError if it was not checked."""
        for result in self.results:
            if result.property == name:
                return result
        raise UnknownNameError(
            f"property {name!r} was not checked (checked: {self.property_names})")

    def verdict(self, name: str) -> Verdict:
        return self.result(name).verdict

    @builtins.property
    def property_names(self) -> list[str]:
        return [r.property for r in self.results]

    @builtins.property
    def verdicts(self) -> dict[str, Verdict]:
        return {r.property: r.verdict for r in self.results}

    @builtins.property
    def ok(self) -> bool:
        """Every always- and eventually-property holds (a bounded run is never ok);
        sometimes-properties are reported, and judged by whoever expects them."""
        return all(r.verdict is Verdict.HOLDS for r in self.results
                   if r.kind is not Expectation.SOMETIMES)

    @builtins.property
    def violated(self) -> list[str]:
        return [r.property for r in self.results if r.verdict is Verdict.VIOLATED]

    def to_json(self, trace_paths: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The ``--json`` object; ``trace_paths`` maps a property to its saved trace file."""
        paths = trace_paths or {}
        return {
            "config": _config_name(self.config),
            "configuration": self.config.to_json(),
            "results": [
                {
                    "property": r.property,
                    "kind": str(r.kind),
                    "verdict": str(r.verdict),
                    "trace": paths.get(r.property),
                    "counterexample_length": r.counterexample_length,
                    "witness_length": r.witness_length,
                }
                for r in self.results
            ],
            "distinct_states": self.distinct_states,
            "transitions": self.transitions,
            "depth": self.depth,
            "seconds": round(self.seconds, 3),
            "peak_memory": self.peak_memory,
            "symmetry": self.symmetry,
            "bounded": self.bounded,
            "seen_bytes_per_state": round(self.seen_bytes / self.distinct_states, 2)
            if self.distinct_states else None,
            "por": self.por,
            "por_reduced_states": self.reduced_states,
            "por_off_because": self.por_note or None,
            "levels": list(self.levels),
        }


def resolve_config(config: Config | str | Path) -> Config:
    """A Config as given, or loaded (and validated) from a TOML file's path.

    Raises :class:`spec.errors.ConfigError` for an invalid file and
    :class:`CheckError` for anything that is neither.
    """
    if isinstance(config, Config):
        return config
    if isinstance(config, str | Path):
        return load_config(config)
    raise CheckError(f"check() wants a spec.config.Config or a TOML path, got {type(config)!r}")


def resolve_properties(
    names: Iterable[str | SpecProperty] | str | None,
) -> list[SpecProperty]:
    """The named properties (all of them for None), refusing unknown names with
    :class:`~model_check.errors.UnknownNameError`; a :class:`Property` is taken as given."""
    if names is None:
        return list(PROPERTIES.values())
    wanted = [names] if isinstance(names, str) else list(names)
    unknown = [name for name in wanted if isinstance(name, str) and name not in PROPERTIES]
    if unknown:
        raise UnknownNameError(
            f"unknown propert{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(map(repr, unknown))}: known are {', '.join(PROPERTIES)}"
        )
    if not wanted:
        raise CheckError("no property to check")
    chosen = [PROPERTIES[item] if isinstance(item, str) else item for item in wanted]
    return list({prop.name: prop for prop in chosen}.values())


def check(
    config: Config | str | Path,
    properties: Iterable[str | SpecProperty] | str | None = None,
    symmetry: bool = True,
    max_depth: int | None = None,
    max_states: int | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
    model: Model[State, Action] | None = None,
    workers: int | None = None,
    ray: str | None = None,
    por: bool = False,
    compact_frontier: bool | None = None,
    on_exploration: Callable[[Exploration[Any, Action]], None] | None = None,
    kernel: bool = True,
) -> CheckResult:
    """Model-check ``config`` against ``properties`` (names or :class:`Property` values;
    default: every property of :data:`~model_check.properties.PROPERTIES`).

    ``model`` is the transition system explored (default: ``spec_model(config)``;
    a test passes a mutated spec). ``workers`` runs the search in that many processes
    (:mod:`model_check.parallel`: same states and verdicts, no bounds); ``ray`` (an
    address, or ``"local"``) runs them as Ray actors (:mod:`model_check.distributed`,
    the optional extra ``vdynamo[distributed]``). ``por`` turns on partial-order
    reduction (:mod:`model_check.por`: the same verdicts, fewer states; counterexample
    and witness lengths may be longer than the shortest; off, with
    :attr:`CheckResult.por_note` saying why, when a checked property or an action kind
    is not in its tables). ``compact_frontier`` keeps the queued states packed
    (:mod:`model_check.frontier`: True always, None above
    :data:`~model_check.explorer.COMPACT_ABOVE` queued states, False never; the same
    states, transitions and verdicts). Raises :class:`spec.errors.ConfigError` for an invalid
    configuration and :class:`CheckError` for an unknown property, a bad bound, or
    ``por`` with ``workers``/``ray`` or with a model other than the spec's, before
    exploring. ``on_exploration`` is called with the search's first (the verdicts')
    :class:`~model_check.explorer.Exploration`, before the verdicts are read from it
    (tests/run_cache.py reads a conformance sample from it: its parent links and
    :meth:`~model_check.explorer.Exploration.edge_at`). ``kernel`` explores the packed
    states of :mod:`model_check.kernel` when it covers the configuration (no ``model``
    given, no ``ray``; with ``workers`` since session 61, each worker its own kernel;
    :func:`model_check.kernel.covers`; with ``por`` since session 55): the same states,
    transitions and verdicts; its states are packed (``decode`` gives the spec's).
    """
    if max_depth is not None and max_depth < 0:
        raise CheckError(f"max_depth must be >= 0, got {max_depth}")
    if max_states is not None and max_states < 1:
        raise CheckError(f"max_states must be >= 1, got {max_states}")
    resolved = resolve_config(config)
    props = resolve_properties(properties)
    if kernel and model is None and ray is None and covers(resolved, symmetry)[0]:
        if por and workers is not None:
            raise CheckError("partial-order reduction (por) runs in one process: "
                             "no workers or ray")
        return _check_packed(resolved, props, symmetry, max_depth, max_states, progress,
                             compact_frontier, on_exploration, por, workers)
    system = model if model is not None else spec_model(resolved)
    reduction, por_note = None, ""
    if por:
        if workers is not None or ray is not None:
            raise CheckError("partial-order reduction (por) runs in one process: "
                             "no workers or ray")
        if type(system) is not SpecModel:
            raise CheckError("partial-order reduction (por) knows the spec's actions only: "
                             "no other model")
        reduction, por_note = spec_reduction(resolved, props)
    safety = {p.name: p.holds for p in props if p.kind is Expectation.ALWAYS and p.holds}
    memoised = isinstance(system, SpecModel) and system.memoised
    screen = None
    if memoised:  # the costly ones cached per the parts they read (model_check.spec_memo)
        screened = PropertyScreen(safety)
        if screened.covers:  # all at once, per the parts they read (session 39)
            screen = (screened.covers, screened)
        safety = memo_predicates(safety)
    eventually = [p for p in props if p.kind is Expectation.EVENTUALLY]
    # those a witness may exist of in this configuration (Property.possible; session 55)
    sometimes = [p for p in props if p.kind is Expectation.SOMETIMES and p.possible_in(resolved)]
    # the state witnesses; with the memo, those of WITNESS_PARTS (as properties.py
    # defines them: a mutated or a user's one is asked as given) cached per the parts
    # they read (session 44)
    witnesses = {p.name: memo_predicate(p.holds, WITNESS_PARTS[p.name])
                 if memoised and p is PROPERTIES.get(p.name) and p.name in WITNESS_PARTS
                 else p.holds for p in sometimes if p.holds}

    def fault_free(action: Action) -> bool:
        return not system.is_fault(action)

    # the spec's filter in C (spec/actions.py's fault_free; the same as not is_fault)
    edges = (system.fault_free if isinstance(system, SpecModel)
             and system.is_fault is spec_is_fault else fault_free)

    def run(target: Callable[[State], bool] | None, seek: bool) -> Exploration[State, Action]:
        return explore_model(
            system,
            safety,
            symmetry=symmetry,
            max_depth=max_depth,
            max_states=max_states,
            graph_edges=edges if target else None,
            marker=target,
            witnesses=witnesses if seek else {},
            step_witnesses={p.name: p.step for p in sometimes if seek and p.step},
            step_actions={p.name: p.can_hold for p in sometimes
                          if seek and p.step and p.actions is not None},
            step_key=system.step_key if isinstance(system, SpecModel) else type,
            progress=progress,
            workers=workers,
            ray=ray,
            reduce=reduction,
            compact_frontier=compact_frontier,
            frontier_keep=(resolved,),
            screen=screen,
            fingerprint=system.fingerprint if isinstance(system, SpecModel) else None,
            canonical_identity=isinstance(system, SpecModel) and system.canonical_identity,
        )

    def marked(prop: SpecProperty) -> Callable[[State], bool] | None:
        if prop.holds is None or not memoised:
            return prop.holds
        return memo_predicates({prop.name: prop.holds})[prop.name]

    exploration = run(marked(eventually[0]) if eventually else None, True)
    if on_exploration is not None:
        on_exploration(exploration)
    return _results(resolved, props, symmetry, system, exploration, run, marked, por,
                    por_note)


def _check_packed(resolved: Config, props: list[SpecProperty], symmetry: bool,
                  max_depth: int | None, max_states: int | None,
                  progress: Callable[[Progress], None] | None,
                  compact_frontier: bool | None,
                  on_exploration: Callable[[Exploration[Any, Action]], None] | None,
                  por: bool = False, workers: int | None = None) -> CheckResult:
    """:func:`check` over the packed states of :mod:`model_check.kernel` (issue 13,
    session 54): the properties, memoised as with the spec's model, read each packed
    state decoded (:meth:`~model_check.kernel.KernelModel.lift`); ``por``: the spec's
    reduction asked of the decoded states (:class:`~model_check.kernel.PackedReduction`,
    session 55). ``workers``: the parallel search (:mod:`model_check.parallel`), each
    worker with its own (forked) kernel, the states fingerprinted by their state hash and
    carried to their owners by a :class:`~model_check.kernel.PackedTransport` (session
    61)."""
    system = KernelModel(resolved)
    reduction, por_note = None, ""
    if por:
        spec_reduced, por_note = spec_reduction(resolved, props)
        if spec_reduced is not None:
            reduction = PackedReduction(spec_reduced, system)
    lift, by_context = system.lift, system.lift_context
    safety = {p.name: p.holds for p in props if p.kind is Expectation.ALWAYS and p.holds}
    screened = PackedScreen(system, safety)
    screen = (screened.covers, screened) if screened.covers else None
    # a predicate memoised per parts of the context (spec_memo's tables) is a function
    # of the context id: asked once per context
    invariants = {name: by_context(holds) if name in PREDICATE_PARTS else lift(holds)
                  for name, holds in memo_predicates(safety).items()}
    sometimes = [p for p in props if p.kind is Expectation.SOMETIMES and p.possible_in(resolved)]
    # the state witnesses that read the context (and whether a message is in flight)
    # answered at once per context id (model_check.packed_properties; session 55), the
    # rest asked one by one of the decoded state
    group = PackedWitnesses(system, {p.name: p.holds for p in sometimes if p.holds})
    witnesses = {p.name: lift(p.holds) for p in sometimes
                 if p.holds and p.name not in group.names}
    transport = PackedTransport(system.kernel) if workers is not None else None

    def run(target: Callable[[Any], bool] | None, seek: bool) -> Exploring:
        with quiet_gc():  # a kernel search makes no cyclic garbage (session 57)
            return explore_model(
                system,
                invariants,
                symmetry=symmetry,
                max_depth=max_depth,
                max_states=max_states,
                graph_edges=system.fault_free if target else None,
                marker=target,
                witnesses=witnesses if seek else {},
                witness_group=group if seek and group.names else None,
                step_witnesses={p.name: system.lift_step(p.step) for p in sometimes
                                if seek and p.step},
                step_actions={p.name: p.can_hold for p in sometimes
                              if seek and p.step and p.actions is not None},
                step_key=SpecModel.step_key,
                progress=progress,
                compact_frontier=compact_frontier,
                frontier_keep=(resolved,),
                reduce=reduction,
                screen=screen,
                canonical_identity=resolved.clients < 2,  # else the kernel's canonical packing
                workers=workers,
                fingerprint=transport.fingerprint if transport is not None else None,
                transport=transport,
                partition=transport.partition if transport is not None else None,
            )

    def marked(prop: SpecProperty) -> Callable[[Any], bool] | None:
        if prop.holds is None:
            return None
        if prop.name in FLIGHT_PARTS and ours(prop.name, prop.holds):  # per context id
            return flight_predicate(system, prop.holds, FLIGHT_PARTS[prop.name])
        return lift(memo_predicates({prop.name: prop.holds})[prop.name])

    eventually = [p for p in props if p.kind is Expectation.EVENTUALLY]
    exploration = run(marked(eventually[0]) if eventually else None, True)
    if on_exploration is not None:
        on_exploration(exploration)
    return _results(resolved, props, symmetry, system, exploration, run, marked, por,
                    por_note)


def _results(resolved: Config, props: list[SpecProperty], symmetry: bool,
             system: SpecModelValue, exploration: Exploring,
             run: Callable[[Any, bool], Exploring],
             marked: Callable[[SpecProperty], Any], por: bool, por_note: str) -> CheckResult:
    """The verdicts of ``exploration`` (the search's first run; ``run(marker, seek)``
    searches again for a second eventually-property)."""
    eventually = [p for p in props if p.kind is Expectation.EVENTUALLY]
    verdicts: dict[str, PropertyResult] = {}
    for prop in props:
        if prop.kind is Expectation.ALWAYS:
            verdicts[prop.name] = _safety_result(prop, exploration, resolved, system)
        elif prop.kind is Expectation.SOMETIMES:
            verdicts[prop.name] = _sometimes_result(prop, exploration, resolved, system)
    for number, prop in enumerate(eventually):
        graph_run = exploration if number == 0 else run(marked(prop), False)
        verdicts[prop.name] = _liveness_result(prop, graph_run, resolved, system)
    return CheckResult(
        config=resolved,
        results=tuple(verdicts[p.name] for p in props),
        distinct_states=exploration.distinct_states,
        transitions=exploration.transitions,
        depth=exploration.depth,
        seconds=exploration.seconds,
        peak_memory=exploration.peak_memory,
        symmetry=symmetry,
        bounded=exploration.bounded,
        seen_bytes=exploration.seen_bytes,
        statistics=format_statistics(exploration),
        por=por,
        por_note=por_note,
        reduced_states=exploration.reduced_states,
        levels=tuple(exploration.levels),
    )


def simulate_check(
    config: Config | str | Path,
    properties: Iterable[str | SpecProperty] | str | None = None,
    *,
    walks: int,
    seed: int,
    max_steps: int = 60,
    model: Model[State, Action] | None = None,
    swarm: bool = True,
    until_found: bool = False,
) -> CheckResult:
    """Swarm-simulate ``config`` (:func:`model_check.simulate.simulate`): ``walks`` seeded
    random walks of at most ``max_steps`` steps, checking every always-property asked for
    on every state. A violated property gets the shortest violating walk as its trace;
    every other is ``bounded`` (a simulation proves nothing holds). Eventually- and
    sometimes-properties are not simulated and are left out of the result. ``swarm=False``:
    walks without the swarm draw (a fault probability, then uniform choice; for measuring).
    ``until_found``: stop after the first walk by which every property asked for has been
    violated (each trace is then the shortest violating walk among those run, not among
    all ``walks``; session 43, for the tests that need a violation, not the shortest).

    Raises :class:`CheckError` when no always-property is asked for or an argument is bad
    (before any walk), :class:`spec.errors.ConfigError` for an invalid configuration.
    """
    from model_check.simulate import simulate

    resolved = resolve_config(config)
    props = [p for p in resolve_properties(properties)
             if p.kind is Expectation.ALWAYS and p.holds is not None]
    if not props:
        raise CheckError("--simulate checks always-properties: none was asked for")
    system = model if model is not None else spec_model(resolved)
    outcome = simulate(system, {p.name: p.holds for p in props if p.holds is not None},
                       walks, seed, max_steps=max_steps, kind_of=action_kind, swarm=swarm,
                       until_found=until_found)
    results = []
    for prop in props:
        walk = outcome.violations.get(prop.name)
        if walk is None:
            results.append(PropertyResult(prop.name, Verdict.BOUNDED, None, prop.kind))
            continue
        trace = Trace(
            config=resolved.to_json(),
            property=prop.name,
            kind=str(prop.kind),
            actions=tuple(system.action_to_json(a) for a in walk.actions),
            states=tuple(system.describe(s) for s in walk.states),
            description=prop.description,
            violated_at=len(walk),
            extra={"simulation_seed": seed, "walk": walk.walk, "walks": outcome.walks,
                   "fault_probability": walk.fault_probability, "swarm": walk.draw.to_json()},
        )
        results.append(PropertyResult(prop.name, Verdict.VIOLATED, trace, prop.kind))
    return CheckResult(
        config=resolved,
        results=tuple(results),
        distinct_states=0,
        transitions=outcome.steps,
        depth=max((len(w) for w in outcome.violations.values()), default=0),
        seconds=outcome.seconds,
        peak_memory=0,
        bounded=True,
        statistics=outcome.statistics(),
    )


Exploring = Exploration[Any, Action]
SpecModelValue = Model[Any, Action]


def _safety_result(prop: SpecProperty, run: Exploring, config: Config,
                   model: SpecModelValue) -> PropertyResult:
    index = run.violations.get(prop.name)
    if index is not None:
        trace = _trace(prop, run.path_to(index), run, config, model)
        return PropertyResult(prop.name, Verdict.VIOLATED, trace, prop.kind)
    verdict = Verdict.BOUNDED if run.bounded else Verdict.HOLDS
    return PropertyResult(prop.name, verdict, None, prop.kind)


def _sometimes_result(prop: SpecProperty, run: Exploring, config: Config,
                      model: SpecModelValue) -> PropertyResult:
    path = run.witness(prop.name)
    if path is not None:
        trace = _trace(prop, path, run, config, model)
        return PropertyResult(prop.name, Verdict.FOUND, trace, prop.kind)
    verdict = Verdict.NOT_FOUND if run.complete else Verdict.BOUNDED
    return PropertyResult(prop.name, verdict, None, prop.kind)


def _liveness_result(prop: SpecProperty, run: Exploring, config: Config,
                     model: SpecModelValue) -> PropertyResult:
    if run.graph is None:  # pragma: no cover - run() always records a graph for liveness
        raise AssertionError("liveness needs the state graph")
    outcome = check_eventually_reachable(run.graph)
    if outcome.first_stuck is not None:
        trace = _trace(prop, run.path_to(outcome.first_stuck), run, config, model,
                       note=f"{outcome.stuck_states} explored states cannot converge")
        return PropertyResult(prop.name, Verdict.VIOLATED, trace, prop.kind)
    verdict = Verdict.BOUNDED if run.bounded else Verdict.HOLDS
    return PropertyResult(prop.name, verdict, None, prop.kind)


def _trace(prop: SpecProperty, path: Run[Any, Action], run: Exploring, config: Config,
           model: SpecModelValue, note: str = "") -> Trace:
    description = prop.description + (f" ({note})" if note else "")
    return Trace(
        config=config.to_json(),
        property=prop.name,
        kind=str(prop.kind),
        actions=tuple(model.action_to_json(action) for action in path.actions),
        states=tuple(model.describe(state) for state in path.states),
        description=description,
        violated_at=len(path),
        extra={"distinct_states": run.distinct_states, "depth": run.depth},
    )


def _config_name(config: Config) -> str:
    return config.name or "config"
