"""Concrete values for the algebra's agreement tests (tests/model_check/test_proofs.py).

:func:`evaluate` simplifies a closed Z3 term to a Python value; :func:`dvv_constant`
turns a spec DVVSet into Z3 constants. The agreement of the spec's *transitions*
with the invariants' encoding is package code now
(:mod:`model_check.proofs.agreement`: ``vdynamo prove`` reports it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import z3

from model_check.proofs import dvv
from model_check.proofs.framework import python_value

__all__ = ["dvv_constant", "evaluate"]


# -- concrete values ------------------------------------------------------------------------


def evaluate(term: Any) -> Any:
    """Simplify a closed term to a Python int or bool (its value in any model)."""
    value = python_value(z3.simplify(term))
    if not isinstance(value, int | bool):
        raise AssertionError(f"term did not simplify to a constant: {value}")
    return value


def dvv_constant(
    clock: Any, ids: Sequence[str], slots: int = dvv.SLOTS, values: int = dvv.VALUES
) -> dvv.SymbolicDVV:
    """A spec DVVSet (ids among ``ids``, int values in ``0 .. values-1``) as constants."""
    by_id = {entry.id: entry for entry in clock.entries}
    entries = []
    for name in ids:
        entry = by_id.get(name)
        if entry is None:
            entries.append(
                dvv.SymbolicEntry(
                    z3.BoolVal(False),
                    z3.IntVal(0),
                    z3.IntVal(0),
                    tuple(z3.IntVal(0) for _ in range(slots)),
                )
            )
            continue
        vals = list(entry.values) + [0] * (slots - len(entry.values))
        entries.append(
            dvv.SymbolicEntry(
                z3.BoolVal(True),
                z3.IntVal(entry.counter),
                z3.IntVal(len(entry.values)),
                tuple(z3.IntVal(v) for v in vals[:slots]),
            )
        )
    anonymous = tuple(z3.BoolVal(u in clock.anonymous) for u in range(values))
    return dvv.SymbolicDVV(tuple(entries), anonymous)
