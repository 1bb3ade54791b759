"""One error hierarchy: every exception class the packages define is a DynamoError.

The bar (spec/errors.py, DESIGN.md): every error the package raises on purpose
derives from :class:`spec.errors.DynamoError`, so ``except vdynamo.DynamoError``
catches them all. A new exception class outside the hierarchy fails here. A
private class (``_Closed``: control flow inside one module, never raised to a
caller) is exempt.
"""

from __future__ import annotations

import functools
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


#: builtin exceptions raised on purpose that stay builtins, each with its reason:
#: (file, exception) -> why
ALLOWED_BUILTIN_RAISES: dict[tuple[str, str], str] = {
    ("spec/dvv.py", "TypeError"): "a call with the wrong number of arguments (Python's own "
                                  "convention for a signature error)",
    ("spec/actions.py", "NotImplementedError"): "an abstract method",
    ("impl/messages.py", "TypeError"): "with_generations called with a field that is not "
                                       "a generation (dataclasses.replace's own error for "
                                       "a field it does not know: a caller's bug)",
    ("impl/staging.py", "ValueError"): "a node returned a write after another effect: "
                                       "a bug in the node, not bad input",
    ("model_check/frontier.py", "KeyError"): "a dispatch table's __missing__ for a "
        "class (the dict protocol: the pickler then reduces it as usual)",
    ("model_check/refinement.py", "KeyError"): "the lockstep asked for a message id it "
                                               "never saw (a harness bug)",
    ("model_check/refinement.py", "ValueError"): "the lockstep asked to refuse the write "
                                                 "of a message that is no ReplicaPut (a "
                                                 "harness bug)",
    ("model_check/explorer.py", "IndexError"): "the sequence protocol of explored states",
    ("model_check/proofs/edges.py", "ValueError"): "a quantifier or bound variable in "
                                                   "a term of the encoding (quantifier-"
                                                   "free by construction): a bug in the "
                                                   "encoding, not input",
    ("impl/runtime.py", "OSError"): "a node that cannot listen re-raises the OS's error "
                                    "(its errno kept) with a text naming the cluster "
                                    "file's key and address: callers handle OSError",
}
BUILTINS = {"ValueError", "RuntimeError", "KeyError", "TypeError", "IndexError",
            "LookupError", "OSError", "Exception", "NotImplementedError"}


@functools.cache
def _builtin_raises() -> frozenset[tuple[str, str]]:
    """Each (module path, builtin exception) a ``raise`` names in the packages: parsed
    once per process for the two tests below (session 43: 1.7 CPU-s each)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    found: set[tuple[str, str]] = set()
    for package in ("spec", "impl", "model_check", "vdynamo"):
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Raise) or node.exc is None:
                    continue
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(exc, ast.Name) and exc.id in BUILTINS:
                    found.add((path.relative_to(root).as_posix(), exc.id))
    return frozenset(found)


def test_no_builtin_exception_is_raised_on_purpose_outside_the_allowed_list() -> None:
    unexpected = sorted(_builtin_raises() - set(ALLOWED_BUILTIN_RAISES))
    assert not unexpected, (
        "raise a DynamoError subclass (spec.errors.InvalidValueError is a LocalError and a "
        f"ValueError) instead of a builtin: {unexpected}")


def test_the_allowed_list_is_not_stale() -> None:
    assert set(ALLOWED_BUILTIN_RAISES) <= _builtin_raises()
