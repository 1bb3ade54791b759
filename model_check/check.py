"""``check(config)``: model-check the Dynamo spec against the named properties.

Theory of operation
-------------------
:func:`check` ties the generic explorer to the spec. It resolves the
configuration (a :class:`spec.config.Config`, or the path of a TOML file) and
the property names *before* exploring anything, so a bad configuration or an
unknown property is refused at once with a message naming it. It then runs one
breadth-first exploration from ``spec.model.initial_state(config)`` with

* every ``always`` property of :data:`model_check.properties.PROPERTIES` as an
  invariant, checked on every new state;
* ``spec.model.canonicalize`` as the symmetry reduction (``symmetry=True``);
* when a liveness property is asked for, the state graph of fault-free steps
  (``not is_fault(action)``) with the property's target (``converged``) marked,
  on which :mod:`model_check.liveness` computes ``AG EF converged``.

Each property gets a verdict: ``violated`` with a shortest counterexample
:class:`~model_check.trace.Trace`, ``holds`` when the whole reachable state
space was explored without finding one, and ``bounded`` when ``max_depth`` or
``max_states`` cut the search short and no violation was found: a bounded run
never reports ``holds``.
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model_check.explorer import Exploration, Progress, explore, format_statistics
from model_check.liveness import check_eventually_reachable
from model_check.trace import Trace

if TYPE_CHECKING:
    from model_check.properties import Property
    from spec.config import Config

__all__ = [
    "CheckError",
    "CheckResult",
    "PropertyResult",
    "Verdict",
    "check",
    "resolve_config",
    "resolve_properties",
]


class CheckError(ValueError):
    """A request that cannot be checked (unknown property, bad bound); says which."""


class Verdict(enum.StrEnum):
    """A property's verdict; compares equal to its string value (``"holds"`` ...)."""

    HOLDS = "holds"
    VIOLATED = "violated"
    BOUNDED = "bounded"


@dataclass(frozen=True, slots=True)
class PropertyResult:
    """One property's verdict, with the shortest counterexample when it is violated."""

    property: str
    verdict: Verdict
    trace: Trace | None = None
    kind: str = "always"

    @builtins.property
    def counterexample_length(self) -> int | None:
        """Steps in the counterexample (None when there is none)."""
        return None if self.trace is None else len(self.trace)


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

    def result(self, name: str) -> PropertyResult:
        for result in self.results:
            if result.property == name:
                return result
        raise KeyError(f"property {name!r} was not checked (checked: {self.property_names})")

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
        """Every property holds (a bounded run is never ok)."""
        return all(r.verdict is Verdict.HOLDS for r in self.results)

    @builtins.property
    def violated(self) -> list[str]:
        return [r.property for r in self.results if r.verdict is Verdict.VIOLATED]

    def to_json(self, trace_paths: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The ``--json`` object; ``trace_paths`` maps a property to its saved trace file."""
        paths = trace_paths or {}
        return {
            "config": _config_name(self.config),
            "configuration": _config_json(self.config),
            "results": [
                {
                    "property": r.property,
                    "verdict": str(r.verdict),
                    "trace": paths.get(r.property),
                    "counterexample_length": r.counterexample_length,
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
        }


def resolve_config(config: Config | str | Path) -> Config:
    """A Config as given, or loaded (and validated) from a TOML file's path."""
    from spec.config import Config, load_config

    if isinstance(config, Config):
        return config
    if isinstance(config, str | Path):
        return load_config(config)
    raise CheckError(f"check() wants a spec.config.Config or a TOML path, got {type(config)!r}")


def resolve_properties(names: Iterable[str] | str | None) -> list[Property]:
    """The named properties (all of them for None), refusing unknown names."""
    from model_check.properties import PROPERTIES

    if names is None:
        return list(PROPERTIES.values())
    wanted = [names] if isinstance(names, str) else list(names)
    unknown = [name for name in wanted if name not in PROPERTIES]
    if unknown:
        raise CheckError(
            f"unknown propert{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(map(repr, unknown))}: known are {', '.join(PROPERTIES)}"
        )
    if not wanted:
        raise CheckError("no property to check")
    return [PROPERTIES[name] for name in dict.fromkeys(wanted)]


def check(
    config: Config | str | Path,
    properties: Iterable[str] | str | None = None,
    symmetry: bool = True,
    max_depth: int | None = None,
    max_states: int | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
) -> CheckResult:
    """Model-check ``config`` against ``properties`` (names; default: all of them).

    Raises ``spec.config.ConfigError`` for an invalid configuration and
    :class:`CheckError` for an unknown property or a bad bound, before exploring.
    """
    if max_depth is not None and max_depth < 0:
        raise CheckError(f"max_depth must be >= 0, got {max_depth}")
    if max_states is not None and max_states < 1:
        raise CheckError(f"max_states must be >= 1, got {max_states}")
    resolved = resolve_config(config)
    props = resolve_properties(properties)
    from spec import model

    safety = {p.name: p.holds for p in props if p.kind == "always" and p.holds is not None}
    liveness = [p for p in props if p.kind == "liveness"]
    canonicalize = model.canonicalize if symmetry else None

    def run(target: Callable[[Any], bool] | None) -> Exploration[Any, Any]:
        return explore(
            [model.initial_state(resolved)],
            model.successors,
            safety,
            canonicalize,
            max_depth=max_depth,
            max_states=max_states,
            graph_edges=(lambda action: not model.is_fault(action)) if target else None,
            marker=target,
            progress=progress,
        )

    first_target = _target(liveness[0], model.converged) if liveness else None
    exploration = run(first_target)
    verdicts: dict[str, PropertyResult] = {}
    for prop in props:
        if prop.kind == "always":
            verdicts[prop.name] = _safety_result(prop, exploration, resolved)
    for number, prop in enumerate(liveness):
        graph_run = exploration if number == 0 else run(_target(prop, model.converged))
        verdicts[prop.name] = _liveness_result(prop, graph_run, resolved)
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
    )


def _target(prop: Property, default: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return prop.converged if prop.converged is not None else default


def _safety_result(prop: Property, run: Exploration[Any, Any], config: Config) -> PropertyResult:
    index = run.violations.get(prop.name)
    if index is not None:
        return PropertyResult(prop.name, Verdict.VIOLATED, _trace(prop, run, index, config),
                              prop.kind)
    verdict = Verdict.BOUNDED if run.bounded else Verdict.HOLDS
    return PropertyResult(prop.name, verdict, None, prop.kind)


def _liveness_result(prop: Property, run: Exploration[Any, Any], config: Config) -> PropertyResult:
    if run.graph is None:  # pragma: no cover - run() always records a graph for liveness
        raise AssertionError("liveness needs the state graph")
    outcome = check_eventually_reachable(run.graph)
    if outcome.first_stuck is not None:
        trace = _trace(prop, run, outcome.first_stuck, config,
                       note=f"{outcome.stuck_states} explored states cannot converge")
        return PropertyResult(prop.name, Verdict.VIOLATED, trace, prop.kind)
    verdict = Verdict.BOUNDED if run.bounded else Verdict.HOLDS
    return PropertyResult(prop.name, verdict, None, prop.kind)


def _trace(
    prop: Property, run: Exploration[Any, Any], index: int, config: Config, note: str = ""
) -> Trace:
    from spec import model

    path = run.path_to(index)
    description = prop.description + (f" ({note})" if note else "")
    return Trace(
        config=_config_json(config),
        property=prop.name,
        kind=prop.kind,
        actions=tuple(action.to_json() for action in path.actions),
        states=tuple(model.describe(state) for state in path.states),
        description=description,
        violated_at=len(path),
        extra={"distinct_states": run.distinct_states, "depth": run.depth},
    )


def _config_json(config: Config) -> dict[str, Any]:
    data = config.to_json()
    return dict(data)


def _config_name(config: Config) -> str:
    return str(getattr(config, "name", "") or "config")
