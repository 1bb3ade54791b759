"""Hinted reads refined (session 49): the implementation's default
(``ClusterConfig.hinted_reads = True``: a fallback answers a replica get with its
record merged with its hints of the key) checked against the spec's feature of the
same name (:func:`spec.replica.served`), which the refinement harness
(:func:`model_check.refinement_state.cluster_for`) and trace validation map from
the configuration, on and off.

- The lockstep from a hinted put (:func:`_hinted_put`): the put acknowledged by its
  coordinator and the fallback n3 holding it as a hint for the crashed n1, then a
  get through n4 whose messages, and everything after (read repair, handoff,
  anti-entropy, faults), the rules draw; some walk's get is answered by the
  fallback's hint.
- Conformance, edge by edge, on the pinned run of ``tests/spec/test_hinted_reads.py``
  (the fallback's answer the only copy of the put the get reads): on and off.
- Trace validation with the hints on (:func:`model_check.trace_swarm.trace_config`'s
  default since session 50, so tests/refinement/test_trace_validation.py runs every
  CI seed so too): here, on the CI seeds whose runs read a hint, the hinted answers
  counted (the path is run, not only validated).

Mutants, each caught here: the implementation's ``Replica.served`` ignoring the
hints (the lockstep walks, the conformance edge, trace validation seed 9), the spec's
:func:`spec.replica.served` ignoring them (trace validation seed 9; the spec's own
tests in tests/spec/test_hinted_reads.py), and the harness mapping a constant
``hinted_reads = False`` as before session 49 (the conformance edge).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

import impl.replica
import spec.replica
from impl import SimulatedCluster
from model_check import refinement_state
from model_check.refinement import Divergence, Lockstep
from model_check.refinement_conformance import check_edge
from model_check.trace_swarm import trace_config
from model_check.trace_validation import validate_seed
from spec.actions import Action, Deliver, action_from_json
from spec.config import Config
from spec.model import initial_state
from spec.state import Kind, State
from tests.conftest import examples
from tests.refinement.configs import HINTED_READS_CONFIGS
from tests.refinement.machine import COVERAGE, machine_for
from tests.spec.test_hinted_reads import PATH, take, two_crashes

SEARCH = (tuple(Phase) if os.environ.get("REFINEMENT_SHRINK")
          else (Phase.explicit, Phase.reuse, Phase.generate))

#: sloppy-dvv of the lockstep (four nodes, one crash, a partition, a drop and a
#: duplicate, anti-entropy) with the implementation's default
HINTED = HINTED_READS_CONFIGS["sloppy-hinted-reads-dvv"]


@pytest.fixture
def hinted_answers(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the replica answers that merged a hint (``"served"``), behaviour kept."""
    counts: Counter[str] = Counter()
    served = impl.replica.Replica.served

    def counting(self: impl.replica.Replica, key: bytes) -> bytes:
        if self.config.hinted_reads and self.hints.records_of(key):
            counts["served"] += 1
        return served(self, key)

    monkeypatch.setattr(impl.replica.Replica, "served", counting)
    return counts


@pytest.fixture
def no_hint_served(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mutant: the implementation's replica answers from its own record only."""
    monkeypatch.setattr(impl.replica.Replica, "served",
                        lambda self, key: self.storage.read(key) or b"")


def _hinted_put(ls: Lockstep, data: st.DataObject) -> None:
    """The prefix: n1 (a replica of k, whose top N is n4, n1, n2) crashes; c1's put
    through n2 is acknowledged by n2 and by the fallback n3 (its hint for n1) while
    n2's copy to n4 is in flight; c1's get through n4. ``data``: unused (the walk's
    choices come after)."""
    del data
    ls.crash("n1")
    ls.put("c1", "n2", "k")
    ls.deliver(next(m.id for m in ls.deliverable() if m.dest == "n3"))
    ls.deliver(next(m.id for m in ls.deliverable() if m.src == "n3" and m.dest == "n2"))
    ls.get("c1", "n4", "k")


def _walks(max_examples: int) -> None:
    label = "sloppy-hinted-reads-dvv from a hinted put"
    run_state_machine_as_test(
        machine_for(label, HINTED, prefix=_hinted_put),
        settings=settings(max_examples=max_examples, stateful_step_count=20, phases=SEARCH,
                          database=None))
    assert COVERAGE[label]["deliver"] > 0


def test_walks_from_a_hinted_put_refine_the_spec(hinted_answers: Counter[str]) -> None:
    _walks(examples(10))
    assert hinted_answers["served"] > 0  # a fallback's hint was read, not vacuous


def test_walks_catch_a_replica_that_serves_no_hint(no_hint_served: None) -> None:
    with pytest.raises(Divergence):
        _walks(10)


def _pinned_edges(hinted_reads: bool) -> Iterator[tuple[list[Action], Action, State]]:
    """The edges of the pinned run: its six steps, then n3's answer to the get, then
    its delivery at n4 (the get's end, read repair of n4's own copy): (path, action,
    target) each."""
    state = initial_state(two_crashes(hinted_reads))
    path: list[Action] = []
    actions = [action_from_json(dict(data)) for data in PATH]
    for action in actions:
        after = take(state, action)
        yield list(path), action, after
        path.append(action)
        state = after
    asked = next(m for m in state.messages if m.kind is Kind.REPLICA_GET and m.dst == "n3")
    after = take(state, Deliver(asked))
    yield list(path), Deliver(asked), after
    path.append(Deliver(asked))
    reply = next(m for m in after.messages if m.kind is Kind.REPLICA_GET_REPLY)
    yield list(path), Deliver(reply), take(after, Deliver(reply))


@pytest.mark.parametrize("hinted_reads", [True, False])
def test_every_edge_of_the_pinned_hinted_read_agrees(hinted_reads: bool) -> None:
    config = two_crashes(hinted_reads)
    outcomes = [check_edge(config, path, action, target)
                for path, action, target in _pinned_edges(hinted_reads)]
    assert outcomes == ["agreed"] * (len(PATH) + 2), outcomes


def test_the_pinned_answer_diverges_without_the_hint(no_hint_served: None) -> None:
    *_, (path, action, target), _ = _pinned_edges(True)
    assert check_edge(two_crashes(True), path, action, target).startswith("diverged")


def test_the_pinned_answer_diverges_mapped_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness's mapping before this session (the implementation's hinted_reads a
    constant False), the spec's feature on."""
    cluster_for = refinement_state.cluster_for

    def old_mapping(config: Config, **options: Any) -> SimulatedCluster:
        return cluster_for(config.replace(hinted_reads=False), **options)

    monkeypatch.setattr(refinement_state, "cluster_for", old_mapping)
    *_, (path, action, target), _ = _pinned_edges(True)
    assert check_edge(two_crashes(True), path, action, target).startswith("diverged")


#: the one-key CI seeds of tests/refinement/test_trace_validation.py (which run
#: with the hints on too, the default since session 50) whose runs answer a replica
#: get with a hint: 9 (5 such answers), 12 (3), 14 (3); 0, 3, 4, 8, 11, 13 and 58
#: none. Session 49 had 18 (5) and 267 (2) too, CI seeds then (session 50:
#: no longer; docs/refinement.md "Trace validation with hinted reads by default
#: (session 50)")
HINT_SEEDS = (9, 12, 14)


@pytest.mark.parametrize("seed", HINT_SEEDS)
def test_trace_validation_with_hinted_reads(seed: int, hinted_answers: Counter[str]) -> None:
    report = validate_seed(seed, config=trace_config(hinted_reads=True))
    assert report.verdict == "ok", report.reason
    assert report.impl_converged and report.spec_converged
    assert hinted_answers["served"] > 0


def test_trace_validation_catches_a_replica_that_serves_no_hint(no_hint_served: None) -> None:
    report = validate_seed(HINT_SEEDS[0], config=trace_config(hinted_reads=True))
    assert report.verdict == "divergence" and "ReplicaGet" in report.reason


def test_trace_validation_catches_a_spec_that_serves_no_hint(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec.replica, "served",
                        lambda edit, name, node, key: node.store[edit.plan.key_index[key]])
    report = validate_seed(HINT_SEEDS[0], config=trace_config(hinted_reads=True))
    assert report.verdict == "divergence" and "ReplicaGet" in report.reason
