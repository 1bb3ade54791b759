"""Boolean connectives built through Z3's C API: the very terms ``z3.And``, ``z3.Or``,
``z3.Not`` and ``z3.Implies`` build, without their coercions.

z3's Python wrappers coerce every argument (a sort merge over the list, then a cast
of each part with its sort check): about half of a pruning proof's CPU and most of
a relation's build were those checks (session 43, cProfile of
tests/model_check/test_proof_pruning.py). When every argument is a plain
``z3.BoolRef`` of one context, these call ``Z3_mk_and``, ``Z3_mk_or``,
``Z3_mk_not`` or ``Z3_mk_implies`` directly on the same arguments in the same
order, which is what the wrappers end with; anything else (a Python ``bool``, a
quantifier, a probe, a ``Context`` argument, mixed contexts, an empty list) goes
through the wrapper itself, so its errors and coercions are unchanged. The same
AST either way (Z3 hash-conses terms: ``eq()`` holds; tests/model_check/
test_proof_terms.py checks every relation and proof query it builds both ways).

``FAST`` turns the C API path off (every call through the wrapper): the tests'
reference build. Source: z3's own z3.py (``And``, ``Or``, ``Not``, ``Implies``).
"""

from __future__ import annotations

from typing import Any

import z3

#: False: every constructor goes through z3's wrapper (the reference build)
FAST = True

_BOOL = z3.BoolRef


def _parts(args: tuple[Any, ...]) -> Any:
    """The argument list ``z3.And``/``z3.Or`` read: one list or tuple argument is the list."""
    if len(args) == 1 and type(args[0]) in (list, tuple):
        return args[0]
    return args


def _array(parts: Any) -> Any:
    """The parts' ASTs as a C array, or None if some part is not a plain BoolRef of
    the first part's context (or there is no part)."""
    if not FAST or not parts:
        return None
    ctx = parts[0].ctx if type(parts[0]) is _BOOL else None
    if ctx is None:
        return None
    asts = (z3.Ast * len(parts))()
    for j, part in enumerate(parts):
        if type(part) is not _BOOL or part.ctx is not ctx:
            return None
        asts[j] = part.ast
    return asts


def _nary(args: tuple[Any, ...], mk: Any, wrapper: Any) -> Any:
    """``wrapper(*args)`` (``z3.And``/``z3.Or``), or the same term by ``mk``
    (``Z3_mk_and``/``Z3_mk_or``) when every part is a plain BoolRef of one context."""
    parts = _parts(args)
    asts = _array(parts)
    if asts is None:
        return wrapper(*args)
    ctx = parts[0].ctx
    return _BOOL(mk(ctx.ref(), len(parts), asts), ctx)


def And(*args: Any) -> Any:
    """``z3.And(*args)``: the same term (one list argument or several parts)."""
    return _nary(args, z3.Z3_mk_and, z3.And)


def Or(*args: Any) -> Any:
    """``z3.Or(*args)``: the same term (one list argument or several parts)."""
    return _nary(args, z3.Z3_mk_or, z3.Or)


def Not(a: Any) -> Any:
    """``z3.Not(a)``: the same term."""
    if not FAST or type(a) is not _BOOL:
        return z3.Not(a)
    return _BOOL(z3.Z3_mk_not(a.ctx.ref(), a.ast), a.ctx)


def Implies(a: Any, b: Any) -> Any:
    """``z3.Implies(a, b)``: the same term."""
    if not FAST or type(a) is not _BOOL or type(b) is not _BOOL or a.ctx is not b.ctx:
        return z3.Implies(a, b)
    return _BOOL(z3.Z3_mk_implies(a.ctx.ref(), a.ast, b.ast), a.ctx)
