"""Non-vacuity: every seeded bug of tests.refinement.mutations is killed by the lockstep tests.

The one command: ``.venv/bin/python -m pytest -p no:xdist -q tests/refinement/test_mutations.py``
(each case applies one mutant around a lockstep run and passes when the run fails).
"""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from model_check.errors import ExplorationError
from model_check.refinement import Divergence, Lockstep
from spec.errors import InvalidValueError
from tests.conftest import PROFILE, InternalErrors
from tests.refinement.configs import (
    DATA_LOSS_CONFIGS,
    DELETE_WALK_CONFIGS,
    LOCKSTEP_CONFIGS,
    MEMBERSHIP_WALK_CONFIGS,
)
from tests.refinement.machine import machine_for
from tests.refinement.mutations import MUTANTS
from tests.refinement.scenarios import GOSSIP_DELIVERIES, SCENARIOS
from tests.refinement.walks import walk

#: mutant -> the lockstep configuration that kills it
KILLED_BY = {
    "ack-before-w": "strict-dvv",
    "hint-deleted-before-ack": "handoff-dvv",
    "reconcile-keeps-dominated": "scenario:overwrite-after-a-read",
    "reconcile-drops-concurrent": "strict-dvv",
    "read-repair-writes-older": "strict-dvv",
    "fallback-ack-without-hint": "handoff-dvv",
    "read-repair-first-stale-only": "scenario:two-stale-replicas",
    "merkle-one-way": "sloppy-dvv",
    "merkle-back-send-malformed": "sloppy-dvv",
    "merkle-trees-stale": "sloppy-dvv",
    "hint-scan-sends-nothing": "handoff-dvv",
    "trees-kept-at-ring-change": "scenario:anti-entropy-after-a-removal",
    "late-ack-raises": "strict-dvv",
    "gossip-answers-forever": "strict-dvv",
    "actor-reused-after-wipe": "scenario:stale-ack-after-wipe",
    "buffered-restart-keeps-actor": "scenario:restart-after-a-buffered-crash",
    "op-ids-reused-after-wipe": "scenario:stale-ack-after-wipe",
    "hybrid-ignores-context": "scenario:read-then-write-elsewhere",
    "wall-clock-rule-ignored": "lww-skew-wall-clock",
    "truncation-drops-the-new-pair": "scenario:truncated-write-after-a-read",
    "reap-before-all-n": "walk:delete-safe-drop",
    "reap-removes-newer": "walk:delete-concurrent-put",
    "delete-covers-unseen-put": "walk:delete-concurrent-put",
    "delete-keeps-concurrent-tombstones": "walk:delete-concurrent-put",
    "delete-collapses-live-values": "walk:delete-concurrent-put",
    "read-repair-skips-tombstones": "walk:delete-safe",
    "anti-entropy-skips-tombstones": "walk:delete-concurrent-put",
    "handoff-skips-tombstones": "walk:handoff-delete-dvv",
    "old-owner-hands-nothing": "walk:leave-immediate",
    "every-holder-hands-over": "walk:join-immediate",
    "old-copy-kept-after-handover": "walk:join-immediate",
    "write-acked-in-old-group-only": "walk:join-pending",
    "joining-node-serves-before-transfer": "walk:join-pending",
    # session 36: the one-way ask of session 35 (dvv-prune-learnt), run by the lockstep
    "one-way-never-asks": "scenario:one-way-ask",
    "one-way-answer-ignored": "scenario:one-way-ask",
    "one-way-answer-names-nothing": "scenario:one-way-ask",
    "one-way-ask-unanswered": "scenario:one-way-ask",
}

#: mutant -> the lockstep configuration whose random (derandomized) run killed it
#: before session 19 gave it a scenario (``KILLED_BY``): about 4-11 CPU-s each in CI
#: (docs/model-checking.md, "Where CI's test time goes (session 19)"); the soak
#: profile runs it as well, so the random lockstep of those configurations is still
#: shown to catch them
RANDOM_KILLERS_IN_SOAK = {
    "reconcile-keeps-dominated": "strict-dvv",
    "actor-reused-after-wipe": "dvv-amnesia-actor-epochs",
    "buffered-restart-keeps-actor": "dvv-buffered-crash-actor-epochs",
    "truncation-drops-the-new-pair": "client-vclock-truncated",
}

#: seeds a ``walk:CONFIG`` killer tries (each a seeded walk of 40 steps)
WALK_SEEDS = 300

#: mutant -> what its kill's report must say (the check that kills it)
KILLED_WITH = {
    "late-ack-raises": "internal error",  # Lockstep._no_internal_errors
    "merkle-back-send-malformed": "left the replicas of",  # the union check, first
    "trees-kept-at-ring-change": "the exchange n2 -> n3 left the replicas of k other than",
    "gossip-answers-forever": "no quiescence after",  # the teardown's Lockstep.quiesce
    # the scenario killers of session 19: the divergence each was written to reach
    "reconcile-keeps-dominated": 'nodes.n2.store.k: spec "{v2}" vs impl "{v1, v2}"',
    "actor-reused-after-wipe": "nodes.n3.store: spec (DVVSet.of([('n3~1', 1, [2])]",
    "buffered-restart-keeps-actor": "nodes.n3.store: spec (DVVSet.of([('n3~1', 1, [2])]",
    "truncation-drops-the-new-pair": "v1 clock: spec {'n3 c1': 1} vs impl {'n3 c2': 1}",
    # session 36: the ask owed and not sent (Lockstep._asked_if_owed); the answer
    # that leaves n2 holding n1's retired entry (the ask's round: the spec's exchange)
    "one-way-never-asks": "and asked nothing",
    "one-way-ask-unanswered": "and asked nothing",
    "one-way-answer-ignored": "nodes.n2.store: spec (DVVSet.of([('n1~1', 1, [3]), ('n2', 1, "
                              "[2])], []),) vs impl (DVVSet.of([('n1', 1, []),",
    "one-way-answer-names-nothing": "nodes.n2.store: spec (DVVSet.of([('n1~1', 1, [3]), "
                                    "('n2', 1, [2])], []),) vs impl (DVVSet.of([('n1', 1, []),",
}

#: mutant -> the error its kill raises, if not a Divergence (a step's state difference)
KILLED_AS: dict[str, type[Exception]] = {
    "gossip-answers-forever": ExplorationError,
    # Since session 29 the mutant's delete (its context the coordinator's whole clock)
    # is minted under the coordinator's actor where the spec's, past the put it did
    # not read, goes under the pair (actor, client) (spec.dvv.dot_actor): the
    # abstraction meets a tombstone dot no spec delete wrote, before any state compare
    "delete-covers-unseen-put": InvalidValueError,
}


def test_every_mutant_has_a_killer() -> None:
    assert set(KILLED_BY) == set(MUTANTS)


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_is_killed(mutant: str, internal_errors: InternalErrors) -> None:
    """The killer is a lockstep configuration run at random (derandomized),
    ``scenario:NAME``, a fixed lockstep program of ``tests.refinement.scenarios``, or
    ``walk:CONFIG``, the seeded walks of ``tests.refinement.walks`` on a suite delete
    entry (seeds 0, 1, ... until one diverges). Under the soak profile a mutant of
    :data:`RANDOM_KILLERS_IN_SOAK` must also be killed by that configuration's
    random run."""
    killer = KILLED_BY[mutant]
    with MUTANTS[mutant](), pytest.raises(KILLED_AS.get(mutant, Divergence)) as caught:
        if killer.startswith("scenario:"):
            SCENARIOS[killer.removeprefix("scenario:")]()
        elif killer.startswith("walk:"):
            for seed in range(WALK_SEEDS):
                walk({**DELETE_WALK_CONFIGS, **MEMBERSHIP_WALK_CONFIGS}[
                    killer.removeprefix("walk:")], seed)
        else:
            _lockstep(mutant, killer)
    internal_errors.take()  # a mutant's internal errors are what the run must catch
    error = caught.value
    report = (f"{error.step}: {error.report}" if isinstance(error, Divergence)
              else str(error))
    print(f"{mutant}: " + report.split("differences: ")[-1].split("\n")[0][:300])
    assert KILLED_WITH.get(mutant, "") in report
    if PROFILE == "soak" and mutant in RANDOM_KILLERS_IN_SOAK:
        with MUTANTS[mutant](), pytest.raises(Divergence):
            _lockstep(mutant, RANDOM_KILLERS_IN_SOAK[mutant])
        internal_errors.take()


def _lockstep(mutant: str, killer: str, examples: int = 200) -> None:
    """The lockstep configuration ``killer`` run at random (derandomized)."""
    configs = {**LOCKSTEP_CONFIGS, **DATA_LOSS_CONFIGS}
    machine = machine_for(f"mutant-{mutant}", configs[killer])
    run = settings(max_examples=examples, stateful_step_count=40, derandomize=True,
                   phases=(Phase.explicit, Phase.generate), database=None)
    run_state_machine_as_test(machine, settings=run)


def test_only_the_internal_error_check_kills_late_ack_raises(
        monkeypatch: pytest.MonkeyPatch, internal_errors: InternalErrors) -> None:
    """Without ``Lockstep._no_internal_errors`` the same steps pass: every state of
    the mutant matches the spec; only its internal errors tell. (Session 20: the
    scenario ``ack-after-the-put-ended``, where 30 random strict-dvv examples ran
    twice, 3.3 CPU-s; the random run still kills the mutant in
    ``test_mutant_is_killed``.)"""
    with MUTANTS["late-ack-raises"]():
        with pytest.raises(Divergence, match="deliver ReplicaPutAck n3->n1"):
            SCENARIOS["ack-after-the-put-ended"]()
        internal_errors.take()
        monkeypatch.setattr(Lockstep, "_no_internal_errors", lambda self, label: None)
        SCENARIOS["ack-after-the-put-ended"]().cluster.close()
    assert internal_errors.take(), "the run never took the late ack's path"


def test_only_the_progress_check_kills_gossip_answers_forever() -> None:
    """Without the teardown's progress check the same steps pass: every step of the
    endless gossip is a stutter; only driving the run to quiescence tells.
    (Session 20: the scenario ``a-gossip-round``, where 30 random strict-dvv
    examples ran twice, 4.7 CPU-s; the random run with its teardown still kills the
    mutant in ``test_mutant_is_killed``.)"""
    clean = SCENARIOS["a-gossip-round"]()
    clean.quiesce()  # the real gossiper's round ends
    clean.cluster.close()
    with MUTANTS["gossip-answers-forever"]():
        ls = SCENARIOS["a-gossip-round"]()  # passes: every delivery a stutter
        assert len(ls.history) == 1 + GOSSIP_DELIVERIES  # still gossiping
        with pytest.raises(ExplorationError, match="no quiescence after"):
            ls.quiesce()
        ls.cluster.close()


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_scenario_passes_without_mutants(scenario: str) -> None:
    ls = SCENARIOS[scenario]()
    assert ls.verify()
    ls.cluster.close()


def test_mutants_are_restored() -> None:
    import impl.antientropy as antientropy_module
    import impl.node as node_module
    import impl.put_coordinator as put_coordinator_module
    import impl.read_repair as read_repair_module
    import impl.replica as replica_module
    from impl import versions
    from impl.antientropy import AntiEntropy, RangeTrees
    from impl.gossip import Gossiper
    from impl.handoff import HintedHandoff
    from impl.put_coordinator import PutCoordinator
    from impl.read_repair import ReadRepairer
    from impl.reaping import Reaper
    from impl.replica import Replica

    def snapshot() -> tuple[object, ...]:
        return (put_coordinator_module.put_quorum_reached, put_coordinator_module.ack_counts,
                replica_module.merge, antientropy_module.merge, read_repair_module.merge,
                HintedHandoff.on_scan, ReadRepairer.repair, Replica.on_replica_put,
                read_repair_module.read_repair_targets, AntiEntropy.on_key_records,
                PutCoordinator.on_ack, Gossiper.on_gossip,
                RangeTrees.update, node_module.lifetime_actor, node_module._op_id_base,
                versions.lww_version, versions.truncate_new_clock, PutCoordinator._check,
                PutCoordinator.start, Reaper.reap_local, Gossiper._rebalance,
                Gossiper.scanned, Gossiper.let_go, Gossiper._routing_partitioning,
                AntiEntropy.on_ring_change, versions._is_tombstone, AntiEntropy.ask_pruned)

    before = snapshot()
    for mutant in MUTANTS.values():
        with mutant():
            assert snapshot() != before
    assert snapshot() == before
