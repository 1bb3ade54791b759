"""The C-API connectives (model_check/proofs/terms.py) build the very terms z3's
wrappers build: relations of the kinds the suite's entries need (CI three kinds, soak
all) and one proof's queries of each proof module, built with ``terms.FAST`` on and
off, compared with ``eq()`` (Z3 hash-conses terms: the same AST). Mutant (session 43,
scratch): ``terms._nary`` passing ``len(parts) - 1`` to ``mk`` (the last part
dropped from every ``And`` and ``Or``), ``Implies`` swapping its sides and ``Not``
returning its argument each fail both tests."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

import z3

from model_check.proofs import terms
from model_check.proofs.abstraction import Shape, new_states
from model_check.proofs.mapping import shape_of
from model_check.proofs.membership import Change
from model_check.proofs.registry import all_proofs
from model_check.proofs.transition import causal_store, lossy_store, relation, transition
from model_check.suite import DEFAULT_SUITE
from tests.conftest import PROFILE

SOAK = PROFILE == "soak"
#: the relations CI compares: the first picks of :func:`_covering` (0.3-1 CPU-s each
#: both ways; the soak profile compares every kind, 26 on session 43's suite)
RELATIONS_IN_CI = 3

#: the proofs whose queries are compared, and which side ("check", "twin"): one
#: proof of each module (the pruning modules' twins only: their checks cost 0.5-3
#: CPU-s a build; their connectives are the relations' and these modules')
SAMPLED_PROOFS = (
    ("vclock_merge_least_upper_bound", "check"), ("dvv_update_keeps_uncovered_values", "check"),
    ("quorum_intersection", "check"), ("sloppy_read_your_writes_needs_hints_read", "check"),
    ("pending_join_read_your_writes", "check"), ("ring_top_n_distinct", "check"),
    ("merge_keeps_every_history", "check"), ("inductive_hint_kept_until_acked", "check"),
    ("get_answer_no_resurrection", "check"), ("inductive_pruning_mints_no_dot_twice", "twin"),
    ("inductive_pruning_keeps_acked_writes_with_disk_loss", "twin"),
    ("inductive_pruning_no_resurrection_after_reap", "twin"),
)


def _kinds() -> list[Shape]:
    """One shape per kind of relation the suite's entries need: the entries' shapes
    (the first key's projection for several keys) grouped by everything but their
    sizes (nodes, puts, payloads, top N, the change's nodes), the smallest of each."""
    smallest: dict[Any, Shape] = {}
    for suite_entry in DEFAULT_SUITE:
        config = suite_entry.config
        for key in config.keys[:1] if len(config.keys) > 1 else (None,):
            shape = shape_of(config, key=key)
            change = shape.change and replace(shape.change, members=(), candidates=(),
                                              pref=(), n=0)
            kind = replace(shape, nodes=(), puts=0, payloads=0, top=(), change=change)
            size = (len(shape.nodes), shape.puts, shape.payloads, len(shape.top))
            held = smallest.get(kind)
            if held is None or size < (len(held.nodes), held.puts, held.payloads,
                                        len(held.top)):
                smallest[kind] = shape
    return list(smallest.values())


def _value(value: Any) -> Any:
    """A field's value as the cover counts it (a change by its kind and rule)."""
    return (value.kind, value.pending) if isinstance(value, Change) else value


def _covering(shapes: list[Shape]) -> list[Shape]:
    """The kinds in a greedy cover's order of the values other than their defaults
    that the kinds' fields (but the sizes) take: each time the shape with the most
    values not yet covered per unit of size (nodes times puts and payloads). CI takes
    the first :data:`RELATIONS_IN_CI`; soak every kind."""
    if SOAK:
        return shapes

    def values(shape: Shape) -> set[tuple[str, Any]]:
        return {(f.name, _value(getattr(shape, f.name))) for f in fields(shape)
                if f.name not in ("nodes", "puts", "payloads", "top")
                and getattr(shape, f.name) != f.default}

    wanted = set().union(*(values(shape) for shape in shapes))
    out: list[Shape] = []
    while wanted and len(out) < RELATIONS_IN_CI:
        best = max(shapes, key=lambda s: len(values(s) & wanted)
                   / (len(s.nodes) * (s.puts + s.payloads)))
        wanted -= values(best)
        out.append(best)
    return out


def _relations(shapes: list[Shape]) -> list[z3.BoolRef]:
    """Each shape's steps and whole relation, under the causal rule (and the lossy
    one for the first shape)."""
    out: list[z3.BoolRef] = []
    for k, shape in enumerate(shapes):
        for rule in (causal_store, lossy_store) if k == 0 else (causal_store,):
            x, y, params = new_states(shape)
            steps = transition(x, y, params, rule, ack_quorum=rule is causal_store)
            out += [step.formula for step in steps]
            out.append(relation(x, y, steps, z3.Int("selector")))
    return out


def _same(fast: list[Any], slow: list[Any]) -> None:
    assert len(fast) == len(slow)
    differ = [k for k, (a, b) in enumerate(zip(fast, slow, strict=True))
              if not (a.eq(b) if isinstance(a, z3.AstRef) else a == b)]
    assert not differ, f"{len(differ)} of {len(fast)} terms differ, first {differ[:5]}"


def test_the_relations_are_the_same_terms_through_the_c_api() -> None:
    shapes = _covering(_kinds())
    fast = _relations(shapes)
    terms.FAST = False
    try:
        slow = _relations(shapes)
    finally:
        terms.FAST = True
    assert len(shapes) >= RELATIONS_IN_CI and len(fast) > 500
    _same(fast, slow)


def test_the_sampled_proofs_queries_are_the_same_terms_through_the_c_api() -> None:
    proofs = all_proofs()

    def build() -> list[Any]:
        out: list[Any] = []
        for name, side in SAMPLED_PROOFS:
            builder = getattr(proofs[name], side)
            out += [a for query in builder() for a in query.assertions]
        return out

    fast = build()
    terms.FAST = False
    try:
        slow = build()
    finally:
        terms.FAST = True
    assert len(fast) > 50
    _same(fast, slow)
