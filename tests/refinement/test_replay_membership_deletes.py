"""Issue 11, "What this must show": every counterexample of the delete and
membership suite entries replays on the implementation in the matching setting.

The violated (entry, property) pairs are enumerated from the suite's verdicts
(:data:`model_check.suite.DEFAULT_SUITE`: the checker's results, pinned there and
checked against the checker by ``tests/model_check``), plus the naive leave
(``MEMBERSHIP_WALK_CONFIGS["leave-immediate"]``, leave-pending with the naive
handover: not a suite entry, its verdicts pinned below). Each shortest
counterexample is cached in ``traces/`` (the checker takes 10-35 s per entry; the
soak test regenerates them and compares). On the implementation each must reach
the same violation at the same step; a convergence counterexample must also leave
the implementation unconverged once both sides are driven to quiescence with the
spec's fault-free steps (:meth:`Lockstep.quiesce`), while the trace less its last
step quiesces to a converged implementation (the spec's verdict flips at that very
step, and so does the implementation's; not for join-immediate, whose converging
continuation from step 3 gossips before the last delivery, an order the lockstep's
quiescence does not take).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from impl.reaping import Reaper
from model_check.check import check
from model_check.refinement import Lockstep
from model_check.refinement_replay import replay_trace as replay_on_impl
from model_check.refinement_replay import step_action
from model_check.replay import config_from_trace
from model_check.suite import DEFAULT_SUITE
from model_check.trace import Trace
from spec import model as spec_model
from tests.refinement.configs import MEMBERSHIP_WALK_CONFIGS

TRACES = Path(__file__).parent / "traces"
SOAK = os.environ.get("HYPOTHESIS_PROFILE") == "soak"

#: the naive leave's verdicts (``vdynamo check`` of leave-pending with
#: ``join_handover = "immediate"``: not a suite entry)
LEAVE_IMMEDIATE = {"read_your_writes": 8, "convergence": 6}


def _violations() -> list[tuple[str, str, int]]:
    """Every violated (entry, property, shortest length) of the delete and
    membership entries."""
    rows = [(e.name, prop, length) for e in DEFAULT_SUITE
            if e.name.startswith(("delete-", "join-", "leave-"))
            for prop, length in sorted(e.counterexample_length.items())]
    rows += [("leave-immediate", prop, n) for prop, n in sorted(LEAVE_IMMEDIATE.items())]
    return rows


VIOLATIONS = _violations()


def test_every_violation_of_those_entries_is_enumerated() -> None:
    """The enumeration is not empty and names each expected-violated property of the
    suite's delete and membership entries (a new one shows up here, without a cached
    trace the replay test fails)."""
    pairs = {(name, prop) for name, prop, _ in VIOLATIONS}
    assert {("delete-immediate", "no_resurrection"), ("delete-immediate", "convergence"),
            ("delete-safe-drop", "convergence"), ("join-immediate", "read_your_writes"),
            ("join-immediate", "convergence"), ("leave-immediate", "read_your_writes"),
            ("leave-immediate", "convergence")} <= pairs
    for entry in DEFAULT_SUITE:
        if entry.name.startswith(("delete-", "join-", "leave-")):
            violated = {p for p, v in entry.expected.items() if v == "violated"}
            assert violated == {p for n, p, _ in VIOLATIONS if n == entry.name}


def _quiesced(trace: Trace, steps: int) -> Lockstep:
    """The implementation after the first ``steps`` actions of ``trace`` (each checked),
    then driven to quiescence with the spec's fault-free steps."""
    ls = Lockstep(config_from_trace(trace))
    for recorded in trace.actions[:steps]:
        step_action(ls, spec_model.action_from_json(dict(recorded)))
    ls.quiesce()
    return ls


@pytest.mark.parametrize(("name", "prop", "length"), VIOLATIONS,
                         ids=[f"{n}.{p}" for n, p, _ in VIOLATIONS])
def test_the_counterexample_replays_on_the_implementation(
        name: str, prop: str, length: int) -> None:
    trace = Trace.load(TRACES / f"{name}.{prop}.json")
    assert len(trace.actions) == length  # the cache is the checker's shortest trace
    report = replay_on_impl(trace)
    assert report.replayed, report.render()
    assert report.broke_at == length, report.render()
    assert f"{prop} is violated" in report.render()
    if prop != "convergence":
        return
    ls = _quiesced(trace, length)
    try:
        assert not ls.converged(), "the implementation converged after the counterexample"
        assert not spec_model.converged(ls.frontier[0])
    finally:
        ls.cluster.close()
    if name == "join-immediate":
        return  # from step 3 only gossip before the last delivery converges; quiescence
        # delivers first (the spec's continuation exists, the lockstep's order misses it)
    before = _quiesced(trace, length - 1)  # one step earlier both sides still converge
    try:
        assert before.converged() and spec_model.converged(before.frontier[0])
    finally:
        before.cluster.close()


DELETE_IMMEDIATE = [(n, p, k) for n, p, k in VIOLATIONS if n == "delete-immediate"]


@pytest.mark.parametrize(("name", "prop", "length"), DELETE_IMMEDIATE,
                         ids=[f"{n}.{p}" for n, p, _ in DELETE_IMMEDIATE])
def test_an_immediate_mode_that_never_reaps_does_not_replay(
        monkeypatch: pytest.MonkeyPatch, name: str, prop: str, length: int) -> None:
    """A mutant (``immediate-reap-never-scheduled``: the implementation ignores
    ``delete_mode = "immediate"`` and schedules no reap on the acknowledgement): the
    counterexample is refused at its reap step, where no reap timer is due."""
    monkeypatch.setattr(Reaper, "reap_acknowledged", lambda self, *args: [])
    trace = Trace.load(TRACES / f"{name}.{prop}.json")
    reap = next(i for i, a in enumerate(trace.actions, start=1) if a["action"] == "reap")
    report = replay_on_impl(trace)
    assert not report.replayed and report.refused_at == reap, report.render()


@pytest.mark.soak
@pytest.mark.skipif(not SOAK, reason="soak profile only (HYPOTHESIS_PROFILE=soak): the "
                    "checker takes 10-60 s per entry")
@pytest.mark.parametrize("name", sorted({n for n, _, _ in VIOLATIONS}))
def test_the_cached_traces_are_the_checkers(name: str) -> None:
    """Re-run the checker on the entry: the violated properties are the enumerated
    ones, and each shortest counterexample is the cached one."""
    config = (MEMBERSHIP_WALK_CONFIGS[name] if name == "leave-immediate"
              else next(e.config for e in DEFAULT_SUITE if e.name == name))
    result = check(config)
    violated = {r.property: r for r in result.results if r.verdict == "violated"}
    assert set(violated) == {p for n, p, _ in VIOLATIONS if n == name}
    for prop, found in violated.items():
        assert found.trace is not None
        cached = Trace.load(TRACES / f"{name}.{prop}.json")
        assert list(found.trace.actions) == list(cached.actions), prop
