"""Lockstep refinement: the implementation against the spec, for every clock mode."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from impl.antientropy import AntiEntropy
from impl.effects import Effect
from impl.messages import KeyRecords
from model_check.refinement import Divergence, Lockstep
from tests.conftest import PROFILE, examples
from tests.refinement.configs import (
    DATA_LOSS_CONFIGS,
    DELETE_CONFIGS,
    HINTED_READS_CONFIGS,
    LOCKSTEP_CONFIGS,
    MEMBERSHIP_WALK_CONFIGS,
)
from tests.refinement.machine import COVERAGE, STEPS, machine_for

# Shrinking a lockstep run can take minutes: CI searches only (a failure still prints
# the whole program); set REFINEMENT_SHRINK=1 to shrink.
SEARCH = (tuple(Phase) if os.environ.get("REFINEMENT_SHRINK")
          else (Phase.explicit, Phase.reuse, Phase.generate))

# Every configuration must refine the spec: the divergences the lockstep found are
# resolved (docs/refinement.md), so none is expected to fail.
CASES = [pytest.param(name, config, id=name)
         for name, config in {**LOCKSTEP_CONFIGS, **HINTED_READS_CONFIGS,
                              **DELETE_CONFIGS}.items()]


@pytest.fixture(scope="module", autouse=True)
def coverage_report() -> Iterator[None]:
    """Write how often each rule fired and the steps per example (per configuration)."""
    yield
    report = {name: {"rules": dict(counts), "steps_per_example": _summary(STEPS[name])}
              for name, counts in sorted(COVERAGE.items())}
    path = os.environ.get("REFINEMENT_COVERAGE", f"/tmp/vdynamo-refinement-coverage-{PROFILE}.json")
    with open(path, "w", encoding="utf-8") as out:
        json.dump(report, out, indent=1, sort_keys=True)
    print(f"\nrefinement coverage ({PROFILE} profile) written to {path}")


def _summary(steps: list[int]) -> dict[str, float]:
    if not steps:
        return {}
    return {"examples": len(steps), "min": min(steps), "max": max(steps),
            "mean": round(sum(steps) / len(steps), 1)}


@pytest.mark.parametrize(("name", "config"), CASES)
def test_implementation_refines_the_spec(name: str, config: object) -> None:
    machine = machine_for(name, config)  # type: ignore[arg-type]
    run_state_machine_as_test(
        machine, settings=settings(max_examples=examples(15), stateful_step_count=30,
                          phases=SEARCH))


@pytest.mark.parametrize(("name", "config"), [
    pytest.param(name, config, id=name) for name, config in DATA_LOSS_CONFIGS.items()])
def test_issue_10_faults_refine_the_spec(name: str, config: object) -> None:
    """Disk loss, buffered crashes, clock skew and truncation (the suite's entries,
    random walks of up to 30 steps)."""
    machine = machine_for(name, config)  # type: ignore[arg-type]
    run_state_machine_as_test(
        machine, settings=settings(max_examples=examples(10), stateful_step_count=30,
                          phases=SEARCH))


@pytest.mark.parametrize(("name", "config"), [
    pytest.param(name, config, id=name) for name, config in MEMBERSHIP_WALK_CONFIGS.items()])
def test_membership_changes_refine_the_spec(name: str, config: object) -> None:
    """Joins and leaves, pending and naive (the machine's ``join``, ``leave`` and
    ``ring_change`` rules, issue 11), random walks of up to 30 steps; each example
    ends with quiescence, membership steps included, and the convergence check."""
    machine = machine_for(name, config)  # type: ignore[arg-type]
    run_state_machine_as_test(
        machine, settings=settings(max_examples=examples(10), stateful_step_count=30,
                          phases=SEARCH))
    fired = COVERAGE[name]
    assert fired["join"] + fired["leave"] > 0, dict(fired)


# ---------------------------------------------------------------- anti-entropy, mapped


def _two_concurrent_puts() -> tuple[Lockstep, str, str]:
    """sloppy-dvv: two clients put ``k`` at two different replicas, nothing delivered:
    the two replicas hold concurrent versions."""
    ls = Lockstep(LOCKSTEP_CONFIGS["sloppy-dvv"])
    a, b = ls.entry_nodes("k")[:2]
    ls.put("c1", a, "k")
    ls.put("c2", b, "k")
    return ls, a, b


def test_an_anti_entropy_exchange_is_the_specs_atomic_merge() -> None:
    ls, a, b = _two_concurrent_puts()
    before = ls.abstract()
    ls.anti_entropy_pair(b, a, "k")
    assert ls.verify()
    index = {n: i for i, n in enumerate(ls.config.nodes)}
    after = ls.abstract()
    merged = after.nodes[index[a]][1]
    assert merged == after.nodes[index[b]][1] != before.nodes[index[a]][1]
    assert before.messages == after.messages  # no other message moved
    ls.anti_entropy_pair(a, b, "k")  # nothing differs now: a stutter
    assert ls.abstract() == after
    ls.cluster.close()


def test_a_one_sided_anti_entropy_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant: a replica takes the records it is sent instead of merging them."""
    def overwrite(self: AntiEntropy, src: str, message: KeyRecords) -> list[Effect]:
        for key, raw in zip(message.keys, message.records, strict=True):
            if raw:
                self.replica.write_local(key, self.replica.decode(key, raw))
        return []
    monkeypatch.setattr(AntiEntropy, "on_key_records", overwrite)
    ls, a, b = _two_concurrent_puts()
    with pytest.raises(Divergence):
        ls.anti_entropy_pair(a, b, "k")
    ls.cluster.close()
