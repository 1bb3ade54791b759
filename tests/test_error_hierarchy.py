"""One error hierarchy: every exception class the packages define is a DynamoError.

The bar (spec/errors.py, DESIGN.md): every error the package raises on purpose
derives from :class:`spec.errors.DynamoError`, so ``except vdynamo.DynamoError``
catches them all. A new exception class outside the hierarchy fails here. A
private class (``_Closed``: control flow inside one module, never raised to a
caller) is exempt.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import impl
import model_check
import spec
import vdynamo
from spec.errors import DynamoError

PACKAGES: tuple[ModuleType, ...] = (spec, impl, model_check, vdynamo)


def _modules() -> list[ModuleType]:
    out = []
    for package in PACKAGES:
        out.append(package)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith(".__main__"):
                continue  # runs the command line on import
            out.append(importlib.import_module(info.name))
    return out


def test_every_exception_class_of_the_packages_is_a_dynamo_error() -> None:
    outside = sorted(
        f"{module.__name__}.{name}"
        for module in _modules()
        for name, value in vars(module).items()
        if inspect.isclass(value) and issubclass(value, BaseException)
        and value.__module__ == module.__name__ and not name.startswith("_")
        and not issubclass(value, DynamoError))
    assert not outside, f"exception classes outside the DynamoError hierarchy: {outside}"


def test_the_walk_sees_the_classes_it_must() -> None:
    seen = {f"{value.__module__}.{value.__qualname__}"
            for module in _modules() for value in vars(module).values()
            if inspect.isclass(value) and issubclass(value, BaseException)}
    for name in ("impl.simulator.SimulationError", "model_check.refinement.Divergence",
                 "impl.errors.QuorumError", "model_check.errors.TraceError"):
        assert name in seen
