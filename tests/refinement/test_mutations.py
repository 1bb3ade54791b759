"""Non-vacuity: every seeded bug of tests.refinement.mutations is killed by the lockstep tests.

The one command: ``.venv/bin/python -m pytest -p no:xdist -q tests/refinement/test_mutations.py``
(each case applies one mutant around a lockstep run and passes when the run fails).
"""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from model_check.refinement import Divergence
from tests.refinement.configs import LOCKSTEP_CONFIGS
from tests.refinement.machine import machine_for
from tests.refinement.mutations import MUTANTS

#: mutant -> the lockstep configuration that kills it
KILLED_BY = {
    "ack-before-w": "strict-dvv",
    "hint-deleted-before-ack": "handoff-dvv",
    "reconcile-keeps-dominated": "strict-dvv",
    "reconcile-drops-concurrent": "strict-dvv",
    "read-repair-writes-older": "strict-dvv",
    "fallback-ack-without-hint": "handoff-dvv",
}


def test_every_mutant_has_a_killer() -> None:
    assert set(KILLED_BY) == set(MUTANTS)


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_is_killed(mutant: str) -> None:
    name = KILLED_BY[mutant]
    machine = machine_for(f"mutant-{mutant}", LOCKSTEP_CONFIGS[name])
    run = settings(max_examples=200, stateful_step_count=40, derandomize=True,
                   phases=(Phase.explicit, Phase.generate), database=None)
    with MUTANTS[mutant](), pytest.raises(Divergence) as caught:
        run_state_machine_as_test(machine, settings=run)
    print(f"{mutant}: {caught.value.step}: " + caught.value.report.split("differences: ")[-1]
          .split("\n")[0][:300])


def test_mutants_are_restored() -> None:
    import impl.antientropy as antientropy_module
    import impl.put_coordinator as put_coordinator_module
    import impl.read_repair as read_repair_module
    import impl.replica as replica_module
    from impl.handoff import HintedHandoff
    from impl.read_repair import ReadRepairer
    from impl.replica import Replica

    def snapshot() -> tuple[object, ...]:
        return (put_coordinator_module.put_quorum_reached, put_coordinator_module.ack_counts,
                replica_module.merge, antientropy_module.merge, read_repair_module.merge,
                HintedHandoff.on_scan, ReadRepairer.repair, Replica.on_replica_put)

    before = snapshot()
    for mutant in MUTANTS.values():
        with mutant():
            assert snapshot() != before
    assert snapshot() == before
