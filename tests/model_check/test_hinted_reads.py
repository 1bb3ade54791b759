"""Hinted reads in the checker and the Z3 encoding (session 49: the spec's
``features.hinted_reads``, :func:`spec.replica.served`; the suite entry
``sloppy-crash-hinted-reads``).

Issue 12 section 6's read (a top-N node down before the put and never back, the put
acknowledged by a top-N node and a fallback holding it as a hint, the get answered
by that fallback and not the node with the write in its store) is what the checker
finds on sloppy-crash with reachability stable from the put on; with hinted reads
there is no such read: read_your_writes holds there, as Z3's
``sloppy_read_your_writes_needs_hints_read`` says. Without that restriction it is
still violated (the suite entry: 7 steps, the node sets changed between the put and
the get).

The encoding's ``replica-get`` step serves the node's hints with
``Shape.hinted_reads`` (:mod:`model_check.proofs.transition`). Within the suite's
bounds (one crash) the step's over-approximation (any up node's copy may answer)
already covers a hinted answer; with a second crash it does not: at the pinned state
of tests/spec/test_hinted_reads.py, the fallback's hint is the only copy of the put
an up node holds, and the encoding without the hints refuses the spec's edge.

Mutants (run and seen failing): :func:`spec.replica.served` ignoring the hints makes
the stable-reachability search find the hinted read (the first test); the encoding's
replica-get without the hints refuses the pinned edge (the second, which builds that
twin itself).
"""

from __future__ import annotations

import dataclasses

import pytest

import spec.replica
from model_check.check import Verdict, check
from model_check.proofs.edges import EdgeCheck
from model_check.proofs.mapping import shape_of
from model_check.suite import entry
from spec.actions import Deliver
from spec.model import successors
from spec.state import Kind
from tests.model_check.test_proof_reads import (
    StableReachability,
    _is_hinted_read,
    _scenario_of_trace,
)
from tests.spec.test_hinted_reads import at_the_read, two_crashes


def _stable_read_your_writes(name: str) -> tuple[Verdict, bool | None]:
    """The checker's read_your_writes on entry ``name`` with reachability stable from
    the put on, and whether its counterexample is section 6's hinted read."""
    config = entry(name).config
    result = check(config, ["read_your_writes"], model=StableReachability(config))
    trace = result.result("read_your_writes").trace
    hinted = None if trace is None else _is_hinted_read(
        _scenario_of_trace(config, trace.actions))
    return result.verdict("read_your_writes"), hinted


def test_the_hinted_read_is_gone_with_hinted_reads() -> None:
    assert _stable_read_your_writes("sloppy-crash") == (Verdict.VIOLATED, True)
    assert _stable_read_your_writes("sloppy-crash-hinted-reads") == (Verdict.HOLDS, None)


def test_a_spec_that_serves_no_hint_has_the_hinted_read_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The mutant of :func:`spec.replica.served` (its copy only, the feature on)."""
    monkeypatch.setattr(spec.replica, "served",
                        lambda edit, name, node, key: node.store[edit.plan.key_index[key]])
    assert _stable_read_your_writes("sloppy-crash-hinted-reads") == (Verdict.VIOLATED, True)


def test_the_entry_s_counterexample_changes_the_node_sets() -> None:
    """The suite entry's shortest counterexample is not the hinted read: a node crashes
    between the put and the get (no node is down at the put)."""
    config = entry("sloppy-crash-hinted-reads").config
    result = check(config, ["read_your_writes"])
    trace = result.result("read_your_writes").trace
    assert trace is not None and len(trace.actions) == 7
    scenario = _scenario_of_trace(config, trace.actions)
    assert scenario.down == () and not _is_hinted_read(scenario)


@pytest.mark.parametrize(("hinted_reads", "agrees"), [(True, True), (False, False)])
def test_the_encoding_serves_the_hint_at_the_pinned_read(hinted_reads: bool,
                                                        agrees: bool) -> None:
    """The spec's edge (n3 answers n4's replica get with its hint) against the encoding
    with the hints served (``Shape.hinted_reads``) and without (the twin): the first
    agrees, the second refuses it (``None``: no step of the family holds)."""
    config = two_crashes(True)
    state = at_the_read(True)
    edges = list(successors(state))
    (position,) = [j for j, (action, _) in enumerate(edges)
                   if isinstance(action, Deliver) and action.message.kind is Kind.REPLICA_GET
                   and action.message.dst == "n3"]
    shape = dataclasses.replace(shape_of(config), hinted_reads=hinted_reads)
    verdict = EdgeCheck(config, shape=shape).edges(state, edges)[position]
    assert (verdict is not None) == agrees, verdict
