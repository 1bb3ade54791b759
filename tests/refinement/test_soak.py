"""The implementation in production settings under random faults, against the spec's
properties (a few seeds in CI, many in the soak profile)."""

from __future__ import annotations

import dataclasses

import pytest

from model_check.refinement_soak import DEFAULT_FAULTS, Workload, soak_run
from tests.conftest import examples

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
