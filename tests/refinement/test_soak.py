"""The implementation in production settings under random faults, against the spec's
properties (a few seeds in CI, many in the soak profile)."""

from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import examples
from tests.refinement.soak import DEFAULT_FAULTS, Workload, soak_run

FAULTS = DEFAULT_FAULTS
WORKLOAD = Workload(keys=100, clients=4, rounds=20)


@pytest.mark.parametrize("seed", range(1, 1 + examples(2)))
def test_default_configuration_survives_random_faults(seed: int) -> None:
    result = soak_run(seed, workload=WORKLOAD, faults=FAULTS)
    assert result.ok, result.violations
    assert result.puts_acked > 0 and result.events > 0


@pytest.mark.parametrize("seed", range(1, 1 + examples(1)))
def test_strict_quorum_reads_your_writes_under_faults(seed: int) -> None:
    result = soak_run(seed, workload=WORKLOAD, faults=FAULTS, sloppy_quorum=False)
    assert result.ok, result.violations


def test_the_durability_check_catches_a_lost_write() -> None:
    """Non-vacuity: a node that forgets every write breaks acked_writes_durable."""
    from impl.storage.memory import MemoryStorage

    original = MemoryStorage.write
    MemoryStorage.write = lambda self, key, record: None  # type: ignore[method-assign]
    try:
        result = soak_run(1, workload=Workload(keys=5, clients=2, rounds=3),
                          faults=dataclasses.replace(FAULTS, crash_interval=None,
                                                     partition_interval=None))
    finally:
        MemoryStorage.write = original  # type: ignore[method-assign]
    assert any("acked_writes_durable" in v for v in result.violations)


def test_the_antichain_check_catches_a_dominated_sibling() -> None:
    """Non-vacuity: a merge that keeps dominated versions breaks siblings_are_antichain."""
    from tests.refinement.mutations import MUTANTS

    with MUTANTS["reconcile-keeps-dominated"]():
        result = soak_run(1, workload=Workload(keys=3, clients=4, rounds=10), faults=FAULTS)
    assert any("siblings_are_antichain" in v for v in result.violations)


def test_the_read_your_writes_check_catches_an_early_ack() -> None:
    """Non-vacuity: acknowledging a put before W replicas stored it breaks
    read_your_writes under a strict quorum (some seed among a few). The restore
    guard is off: its startup shadow round (session 16) moves every restart's
    schedule, and with it on, seed 34 is the one seed of 1-40 whose run shows the
    early ack (seed 2 with it off); the check under test is the soak's, not the
    guard's. Session 26's forwarded-put grant (one round trip more for each put
    the soak's random clients send through a node outside the key's top N) moved
    the schedules again: of seeds 1-40, 14, 22, 25 and 31 show it (2 before).
    Session 35's in-sync answer (a peer answers an in-sync root with its children)
    moved them once more: of seeds 1-100, 32, 35, 44, 67, 94 and 97 show it (7 of
    100 on the parent 63cae961: 22, 25, 31, 48, 66, 87, 89)."""
    from tests.refinement.mutations import MUTANTS

    found = []
    with MUTANTS["ack-before-w"]():
        for seed in (32, 35, 44):
            result = soak_run(seed, workload=Workload(keys=3, clients=4, rounds=10),
                              faults=dataclasses.replace(FAULTS, loss=0.3),
                              sloppy_quorum=False, restore_guard=False)
            found += [v for v in result.violations if "read_your_writes" in v]
            if found:
                break
    assert found
