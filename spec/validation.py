"""Checks of configuration values, shared by every layer's configuration.

The spec's :class:`spec.config.Config` and the implementation's
``impl.config.ClusterConfig`` validate their fields with these functions and
copy themselves with :func:`replace_fields`, so a rule (what a clock mode is,
what counts as an integer or a duration) is written once. Each check takes
``where``, the text that names the field in the error (``"[cluster] n"`` for a
TOML key, ``"n:"`` for a keyword argument), and raises
:class:`spec.errors.ConfigError` with the field, the rule and the value.

A value-type module: it imports nothing of the spec's model, so the
implementation may use it (``.importlinter``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from spec.errors import ConfigError

__all__ = [
    "CLOCK_MODES",
    "check_bool",
    "check_choice",
    "check_int",
    "check_positive",
    "check_seconds",
    "replace_fields",
]

#: The clock modes (Dynamo 4.4 and its variants): last-write-wins timestamps,
#: server-side vector clocks (the paper's), client-side vector clocks, and
#: dotted version vector sets (Riak's fix for sibling explosion).
CLOCK_MODES = ("lww", "server-vclock", "client-vclock", "dvv")


def check_bool(where: str, value: object) -> bool:
    """``value`` if it is a bool; ConfigError otherwise."""
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    return value


def check_int(where: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` if it is an int (not a bool) in ``[low, high]`` (no upper bound when
    ``high`` is None); ConfigError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ConfigError(f"{where} must be {bound}, got {value}")
    return value


def check_choice(where: str, value: object, choices: tuple[str, ...]) -> str:
    """``value`` if it is one of ``choices``; ConfigError listing them otherwise."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{where} must be one of {', '.join(choices)}; got {value!r}")
    return value


def check_positive(where: str, value: object) -> float:
    """``value`` as a float if it is a finite number > 0; ConfigError otherwise."""
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or value <= 0):
        raise ConfigError(f"{where} must be a finite number > 0, got {value!r}")
    return float(value)


def check_seconds(where: str, value: object) -> float:
    """A duration in seconds: a finite number > 0, as a float; ConfigError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{where} must be a finite number of seconds > 0, got {value!r}")
    return float(value)


def replace_fields(instance: Any, changes: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The field values of dataclass ``instance`` with ``changes`` applied, for the
    caller to build (and so validate) a new instance; ConfigError naming the first
    change that is not a field of ``kind``."""
    values = {f.name: getattr(instance, f.name) for f in dataclasses.fields(instance)}
    unknown = sorted(set(changes) - set(values))
    if unknown:
        raise ConfigError(f"unknown configuration key {unknown[0]!r}: not a {kind} field")
    values.update(changes)
    return values
