"""Vector clocks in Z3: the definitions of spec/vclock.py (their laws: vclock_laws).

Theory of operation
-------------------
The definitions below are written once, against a small :class:`Clocks`
interface, and read the same as :mod:`spec.vclock`:

- ``descends(a, b)``: every node with a non-zero counter in ``b`` has a counter
  at least as large in ``a`` (the spec loops over ``b``'s pairs);
- ``dominates(a, b)``: ``a`` and ``b`` differ and ``a`` descends ``b``;
- ``compare(a, b)``: EQUAL if the same clock, else AFTER if ``a`` descends ``b``,
  else BEFORE if ``b`` descends ``a``, else CONCURRENT (the spec's order of tests);
- ``merge(a, b)``: per node, ``b``'s counter if it is larger, else ``a``'s;
- ``increment(a, n)``: ``n``'s counter plus one;
- ``reconcile(versions)``: keep a version unless another's clock strictly
  dominates it; exact duplicates once.

Two interchangeable backends implement the interface:

- :class:`UnboundedClocks`: a clock is a Z3 array ``Int -> Int`` (every integer
  names a node; a node absent from the spec's clock has counter 0, which is also
  the spec's canonical form); ``descends`` quantifies over all nodes and ``merge``
  is a lambda. Proofs over it hold for clocks of any number of entries.
- :class:`BoundedClocks`: a clock is a tuple of ``k`` integer terms (nodes
  ``0 .. k-1``). It is used where quantifiers would slow Z3 down (reconcile over
  several versions) and by the agreement tests, which substitute concrete clocks
  and simplify, and compare with the Python spec.

The laws proved of these definitions, each with its broken twin, are in
:mod:`model_check.proofs.vclock_laws` (split by theme: definitions here, proofs
there).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import z3

from model_check.errors import ProofError, ProofInputError
from model_check.proofs import terms as zt
from model_check.proofs.framework import int_of

__all__ = [
    "AFTER",
    "BEFORE",
    "CONCURRENT",
    "EQUAL",
    "ORDER_NAMES",
    "VERSIONS",
    "BoundedClocks",
    "Clock",
    "Clocks",
    "K",
    "Node",
    "Term",
    "UnboundedClocks",
    "compare",
    "descends",
    "dominates",
    "increment",
    "merge",
    "reconcile_kept",
    "wellformed",
]

#: compare() results as integers (spec.vclock.Order).
EQUAL, AFTER, BEFORE, CONCURRENT = 0, 1, 2, 3
ORDER_NAMES = {EQUAL: "EQUAL", AFTER: "AFTER", BEFORE: "BEFORE", CONCURRENT: "CONCURRENT"}

#: Entries of the bounded clocks used by the proofs (the issue asks for >= 6).
K = 6
#: Versions reconciled at once in the reconcile proof.
VERSIONS = 4

Clock = Any
Node = Any
Term = Any


class Clocks(Protocol):
    """What the definitions need of a clock representation."""

    name: str

    def fresh(self, name: str) -> Clock: ...
    def fresh_node(self, name: str) -> Node: ...
    def node_ok(self, node: Node) -> Term: ...
    def at(self, clock: Clock, node: Node) -> Term: ...
    def forall_nodes(self, body: Callable[[Node], Term]) -> Term: ...
    def pointwise(self, f: Callable[[Term, Term], Term], a: Clock, b: Clock) -> Clock: ...
    def store(self, clock: Clock, node: Node, value: Term) -> Clock: ...
    def same(self, a: Clock, b: Clock) -> Term: ...
    def show(self, model: Any, clock: Clock) -> str: ...


class BoundedClocks:
    """Clocks of ``k`` entries: tuples of integer terms; nodes are ``0 .. k-1``."""

    def __init__(self, k: int = K) -> None:
        self.k = k
        self.name = f"k={k}"

    def fresh(self, name: str) -> Clock:
        return tuple(z3.Int(f"{name}[n{i}]") for i in range(self.k))

    def constant(self, counters: Sequence[int]) -> Clock:
        if len(counters) != self.k:
            raise ProofInputError(f"a bounded clock has {self.k} entries, got {len(counters)}")
        return tuple(z3.IntVal(c) for c in counters)

    def fresh_node(self, name: str) -> Node:
        return z3.Int(name)

    def node_ok(self, node: Node) -> Term:
        return zt.And(node >= 0, node < self.k)

    def at(self, clock: Clock, node: Node) -> Term:
        if isinstance(node, int):
            return clock[node]
        if z3.is_int_value(node):
            return clock[node.as_long()]
        term = clock[self.k - 1]
        for i in range(self.k - 2, -1, -1):
            term = z3.If(node == i, clock[i], term)
        return term

    def forall_nodes(self, body: Callable[[Node], Term]) -> Term:
        return zt.And([body(i) for i in range(self.k)])

    def pointwise(self, f: Callable[[Term, Term], Term], a: Clock, b: Clock) -> Clock:
        return tuple(f(x, y) for x, y in zip(a, b, strict=True))

    def store(self, clock: Clock, node: Node, value: Term) -> Clock:
        if isinstance(node, int):
            return tuple(value if i == node else c for i, c in enumerate(clock))
        return tuple(z3.If(node == i, value, c) for i, c in enumerate(clock))

    def same(self, a: Clock, b: Clock) -> Term:
        return zt.And([x == y for x, y in zip(a, b, strict=True)])

    def show(self, model: Any, clock: Clock) -> str:
        counters = {f"n{i}": int_of(model, c) for i, c in enumerate(clock)}
        return "{" + ", ".join(f"{n}: {c}" for n, c in counters.items() if c != 0) + "}"


class UnboundedClocks:
    """Clocks as arrays ``Int -> Int``: any number of nodes, quantified definitions."""

    name = "unbounded"

    def __init__(self) -> None:
        self._bound = 0

    def fresh(self, name: str) -> Clock:
        return z3.Array(name, z3.IntSort(), z3.IntSort())

    def fresh_node(self, name: str) -> Node:
        return z3.Int(name)

    def node_ok(self, node: Node) -> Term:
        return z3.BoolVal(True)

    def _variable(self) -> Term:
        self._bound += 1
        return z3.Int(f"node{self._bound}")

    def at(self, clock: Clock, node: Node) -> Term:
        return z3.Select(clock, node)

    def forall_nodes(self, body: Callable[[Node], Term]) -> Term:
        x = self._variable()
        return z3.ForAll([x], body(x))

    def pointwise(self, f: Callable[[Term, Term], Term], a: Clock, b: Clock) -> Clock:
        x = self._variable()
        return z3.Lambda([x], f(z3.Select(a, x), z3.Select(b, x)))

    def store(self, clock: Clock, node: Node, value: Term) -> Clock:
        return z3.Store(clock, node, value)

    def same(self, a: Clock, b: Clock) -> Term:
        return a == b

    def show(self, model: Any, clock: Clock) -> str:
        entries, default = array_entries(model, clock)
        text = ", ".join(f"n{n}: {c}" for n, c in sorted(entries.items()) if c != default)
        if default != 0:
            text += (", " if text else "") + f"every other node: {default}"
        return "{" + text + "}"


def array_entries(model: Any, array: Any) -> tuple[dict[int, int], int]:
    """A model's value of an ``Int -> Int`` array as (explicit entries, default)."""
    value = model.eval(array, model_completion=True)
    entries: dict[int, int] = {}
    while z3.is_store(value):
        index, element = value.arg(1), value.arg(2)
        entries.setdefault(index.as_long(), element.as_long())
        value = value.arg(0)
    if z3.is_const_array(value):
        return entries, value.arg(0).as_long()
    if z3.is_as_array(value):
        interpretation = model[z3.get_as_array_func(value)]
        for index, element in interpretation.as_list()[:-1]:
            entries.setdefault(index.as_long(), element.as_long())
        return entries, interpretation.else_value().as_long()
    if z3.is_lambda(value):  # an explicit lambda: read it at the nodes Z3 mentions
        return entries, model.eval(z3.Select(array, z3.IntVal(-(10**9))), True).as_long()
    raise ProofError(f"cannot read array value {value}")


# -- the definitions (spec/vclock.py) -------------------------------------------------------


def wellformed(c: Clocks, clock: Clock) -> Term:
    """Counters are >= 0 (VClock refuses negative counters)."""
    return c.forall_nodes(lambda n: c.at(clock, n) >= 0)


def descends(c: Clocks, a: Clock, b: Clock) -> Term:
    """``a >= b``: each node with a non-zero counter in ``b`` is matched or exceeded in ``a``."""
    return c.forall_nodes(lambda n: zt.Implies(c.at(b, n) != 0, c.at(a, n) >= c.at(b, n)))


def dominates(c: Clocks, a: Clock, b: Clock) -> Term:
    """``a > b``: the clocks differ and ``a`` descends ``b``."""
    return zt.And(zt.Not(c.same(a, b)), descends(c, a, b))


def compare(c: Clocks, a: Clock, b: Clock) -> Term:
    """EQUAL, AFTER, BEFORE or CONCURRENT (as integers), tested in the spec's order."""
    return z3.If(
        c.same(a, b),
        EQUAL,
        z3.If(descends(c, a, b), AFTER, z3.If(descends(c, b, a), BEFORE, CONCURRENT)),
    )


def merge(c: Clocks, a: Clock, b: Clock) -> Clock:
    """The least upper bound: per node, ``b``'s counter where it is larger, else ``a``'s."""
    return c.pointwise(lambda x, y: z3.If(y > x, y, x), a, b)


def increment(c: Clocks, a: Clock, node: Node) -> Clock:
    """``a`` with ``node``'s counter one higher."""
    return c.store(a, node, c.at(a, node) + 1)


def reconcile_kept(
    c: Clocks,
    versions: Sequence[tuple[Term, Clock]],
    drops: Callable[[Clocks, Clock, Clock], Term] | None = None,
) -> list[Term]:
    """Which of ``versions`` (value, clock) ``reconcile`` keeps, as Booleans.

    A version is kept unless another version's clock strictly dominates its clock
    (``drops(other, mine)``; a twin passes a mutated rule) and unless an earlier
    version is the very same (value and clock): exact duplicates are kept once.
    """
    rule = drops or (lambda cl, other, mine: dominates(cl, other, mine))

    def identical(i: int, j: int) -> Term:
        return zt.And(versions[i][0] == versions[j][0], c.same(versions[i][1], versions[j][1]))

    kept = []
    for i, (_, clock) in enumerate(versions):
        # the spec compares distinct versions (it reconciles a set)
        dropped = [
            zt.And(zt.Not(identical(i, j)), rule(c, other, clock))
            for j, (_, other) in enumerate(versions)
            if j != i
        ]
        duplicate = [identical(i, j) for j in range(i)]
        kept.append(zt.And(zt.Not(zt.Or(dropped)), zt.Not(zt.Or(duplicate))))
    return kept
