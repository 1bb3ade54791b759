"""Trace validation under disk loss (session 34): the nemesis replaces a crashed
node's disk (``Faults.disk_loss``, drawn per seed by ``Swarm.draw(seed,
disk_losses=True)``), the run records it (``disk_loss``) and the validator maps it
to the spec's ``DiskLoss`` (``trace_config`` allows disk losses); the restore
guard's refusal of a replaced disk's messages is the trace-spec step
``guard-dropped`` (docs/refinement.md, "Trace validation under disk loss (session
34)"). Since session 55 the spec states the rebuild (``features.rebuild``,
:mod:`spec.rebuild`: silent to reads of a key whose exchanges are left, its
acknowledgements, own writes and own reads uncounted until its ``Rebuilt``), so a
rebuilding replica's silence and unacknowledged writes are the spec's own
deliveries and a rebuilding coordinator's uncounted read, session 34's named gap
``rebuild-uncounted-read``, validates; the implementation's progress is the
trace-spec step ``rebuild-progress`` (docs/refinement.md, "The rebuild in the spec
(session 55)").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

import spec.faults as spec_faults
from impl.cluster import SimulatedCluster
from impl.errors import ConfigError
from impl.faults import Faults
from impl.messages import ReplicaPut
from impl.node import Node
from impl.storage.memory import MemoryStorage
from model_check.refinement_state import LockstepState
from model_check.trace_swarm import MAX_DISK_LOSSES, Swarm
from model_check.trace_validation import TraceValidator, trace_config, validate_seed

#: disk-loss seeds of 0-227 (each loses one or two disks and validates): 7, 12, 20
#: (CI seeds whose runs lose two disks; 7 one since session 50), 227 (the guard
#: refuses a replaced disk's messages: ``guard-dropped``; 39 until session 50,
#: whose hinted reads by default moved its schedule: 227 is the first of 0-227
#: now), 199 (a rebuilding replica does not answer a ReplicaGet: ``rebuild-silent``;
#: 69 until session 35's in-sync anti-entropy answer shortened rebuilds: now seeds
#: 199 and 203 of 0-399 show one; with hinted reads on, 199 alone of 0-227
#: validates with one, 203 still stopping at its spec gap)
DISK_SEEDS = (7, 12, 20, 199, 227)
#: the one disk-loss seed of 0-399 that stopped at a spec gap until session 55: a
#: rebuilding coordinator's own read not counted towards R (110 of 0-199 until session
#: 35's in-sync anti-entropy answer moved the schedule)
UNCOUNTED_SEED = 203
#: a fallback's replaced disk numbered its hints from 1 again (the engines until
#: session 34's hintid; :func:`replaced_disks_reuse_hint_ids` brings it back): n3's
#: hint 1 for n4 after its disk loss is not its wiped hint 1 (a mapping gap until
#: session 34's s276: the HintAck abstracted to the wiped hint's payload; seed 276,
#: {v5, v2}, until session 35's in-sync anti-entropy answer moved the schedule: now
#: seed 462 of 400-462, {v4}, none of 0-399)
REUSED_HINT_ID_SEED = 462


def test_the_swarm_draws_disk_losses_only_when_asked() -> None:
    for seed in range(40):
        plain, disk = Swarm.draw(seed), Swarm.draw(seed, disk_losses=True)
        assert plain.disk_loss == 0.0 and plain.faults().disk_loss == 0.0
        # every other fault of the seed's mix is the same
        assert plain == Swarm(**{**{f: getattr(disk, f) for f in disk.__slots__},
                                 "disk_loss": 0.0})
    rates = [Swarm.draw(seed, disk_losses=True).disk_loss for seed in range(40)]
    assert any(rates) and not all(rates)
    assert Swarm.draw(0, disk_losses=True).faults().max_disk_losses == MAX_DISK_LOSSES


def test_the_nemesis_loses_disks_within_its_bound() -> None:
    faults = Faults(crash_interval=0.5, downtime=(0.2, 0.4), disk_loss=1.0,
                    max_disk_losses=2)
    cluster = SimulatedCluster(4, 3, 2, 2, seed=5, faults=faults, log=True)
    cluster.sim.run_for(20.0)
    stats = cluster.sim.stats
    assert stats["disk_losses"] == 2 and stats["crashes"] > 2
    losses = [e for e in cluster.sim.log if e[1] == "disk_loss"]
    assert len(losses) == 2
    for entry in losses:  # recorded right after its crash, in the same event
        at = cluster.sim.log.index(entry)
        assert cluster.sim.log[at - 1][1:3] == ("crash", entry[2])
    cluster.close()
    with pytest.raises(ConfigError):
        Faults(disk_loss=1.5)


def test_disk_loss_seeds_validate() -> None:
    steps: set[str] = set()
    for seed in DISK_SEEDS:
        report = validate_seed(seed, disk_losses=True)
        assert report.verdict == "ok", f"{report.line()}\n{report.rerun()}\n{report.reason}"
        assert report.disks_lost > 0 and report.impl_converged and report.spec_converged
        assert report.rerun() == f"vdynamo validate --seed {seed} --disk-loss -v"
        steps |= {s for s, count in report.trace_steps.items() if count}
    # (session 55: rebuild-progress, the spec's exchanges of the rebuild done and its
    # Rebuilt, in 20, 199 and 227; session 54's rebuild-unacked and session 34's
    # rebuild-silent are the spec's own deliveries now)
    assert {"guard-dropped", "rebuild-progress"} <= steps


def test_an_uncounted_read_validates_and_needs_the_spec_s_rebuild() -> None:
    """Session 34's named spec gap ``rebuild-uncounted-read`` (seed 203: n4, rebuilding,
    coordinates a get and does not count its own read) validates since session 55.
    Mutant: the spec's rebuild removed (``spec.faults.begin`` a no-op: a disk loss
    begins no rebuild): 203 diverges where the implementation's get waits for a
    second reply (event 117), and seed 20 where its rebuilding n1 stores a hint and
    does not acknowledge it (event 199): no trace-spec step stands in for the rule."""
    report = validate_seed(UNCOUNTED_SEED, disk_losses=True)
    assert report.verdict == "ok", (report.line(), report.reason)
    assert report.trace_steps["rebuild-progress"] > 0
    with mock.patch.object(spec_faults, "begin", lambda edit, node: None):
        uncounted = validate_seed(UNCOUNTED_SEED, disk_losses=True)
        unacked = validate_seed(20, disk_losses=True)
    assert uncounted.verdict == "divergence", uncounted.line()
    assert "deliver ReplicaGetReply n2->n4" in uncounted.reason.splitlines()[0]
    assert unacked.verdict == "divergence", unacked.line()
    assert "HintDelivery n3->n1 (unacknowledged: rebuilding)" in unacked.reason.splitlines()[0]


@contextlib.contextmanager
def rebuild_refuses_writes() -> Iterator[None]:
    """The mutant: a rebuilding replica (a replaced disk, impl/rebuild.py) ignores
    replica puts as it ignores replica gets (it must store and acknowledge them)."""
    original = Node.__init__

    def init(self: Node, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        handler = self._messages[ReplicaPut]

        def on_put(now: float, src: str, message: Any) -> Any:
            return [] if self.rebuild.active else handler(now, src, message)

        self._messages[ReplicaPut] = on_put

    with mock.patch.object(Node, "__init__", init):
        yield


def test_a_mutant_only_disk_loss_reaches_is_caught() -> None:
    # seed 110 without disk losses validates under the mutant: no node is ever
    # rebuilding; with them its replaced n4 drops a ReplicaPut its shadow round
    # held. Seed 20 (n1 dropped one) until session 50, whose hinted reads by default
    # moved the schedules: of the 34 disk-loss seeds of 0-121 only 110 catches it
    with rebuild_refuses_writes():
        assert validate_seed(110).verdict == "ok"
        report = validate_seed(110, disk_losses=True)
    assert report.verdict == "divergence", report.line()
    assert "deliver ReplicaPut n2->n4" in report.reason


@contextlib.contextmanager
def hint_ids_noted_once() -> Iterator[None]:
    """The mapping's mutant (main before s276): a (node, hint id) is noted the first
    time it is seen and never again, so a replaced disk's new hint under a reused id
    is abstracted as the wiped one."""
    original = LockstepState._note_hints

    def note(self: LockstepState) -> None:
        for name in self.present:
            for hint in self.cluster.storages[name].hints():
                if (name, hint.hint_id) not in self.hint_payloads:
                    self.hint_payloads[(name, hint.hint_id)] = (
                        hint.key.decode(), self.abstract_record(hint.record))

    LockstepState._note_hints = note  # type: ignore[method-assign]
    try:
        yield
    finally:
        LockstepState._note_hints = original  # type: ignore[method-assign]


@contextlib.contextmanager
def replaced_disks_reuse_hint_ids() -> Iterator[None]:
    """The memory engine before session 34's hintid: every store, a replaced
    disk's too, numbers its hints from 1 (the mapping must still tell a reused id's
    new hint from the wiped one: a store restored from a backup repeats ids too)."""
    original = SimulatedCluster._open_storage

    def open_storage(self: SimulatedCluster, name: str) -> Any:
        engine = original(self, name)
        if isinstance(engine, MemoryStorage):
            engine._next_hint_id = 1
        return engine

    SimulatedCluster._open_storage = open_storage  # type: ignore[method-assign]
    try:
        yield
    finally:
        SimulatedCluster._open_storage = original  # type: ignore[method-assign]


def _hint_deliveries(validator: TraceValidator, src: str, dst: str) -> tuple[list[int], int]:
    """The log positions of ``src``'s HintDelivery sends to ``dst``, and of
    ``src``'s disk loss."""
    log = validator.sim.log
    lost = next(at for at, e in enumerate(log) if e[1:3] == ("disk_loss", src))
    return [at for at, e in enumerate(log)
            if e[1] == "send" and e[3:6] == (src, dst, "HintDelivery")], lost


def _reused_hint_seed_validates() -> None:
    """Seed 462 (REUSED_HINT_ID_SEED) validates ``ok`` with both its disks lost and
    both sides converged, and n3 delivers hints to n4 before and after its disk
    loss (the run's point)."""
    seed = REUSED_HINT_ID_SEED
    validator = TraceValidator(trace_config(), seed=seed,
                               swarm=Swarm.draw(seed, disk_losses=True))
    report = validator.run()
    assert report.verdict == "ok", f"{report.line()}\n{report.rerun()}\n{report.reason}"
    assert report.disks_lost == 2 and report.impl_converged and report.spec_converged
    sends, lost = _hint_deliveries(validator, "n3", "n4")
    assert any(at < lost for at in sends) and any(at > lost for at in sends)


def test_a_replaced_disk_numbers_its_hints_apart() -> None:
    # seed 462 with the engines of session 34's hintid: n3 delivers hints to n4
    # before and after its disk loss, under different ids
    _reused_hint_seed_validates()
    # no id repeats, so the mapping's first-sight noting, which diverges when the
    # new disk reuses hint 1 (below), validates too
    with hint_ids_noted_once():
        assert validate_seed(REUSED_HINT_ID_SEED, disk_losses=True).verdict == "ok"


@replaced_disks_reuse_hint_ids()
def test_a_replaced_disks_reused_hint_id_is_a_new_hint() -> None:
    # the run's point: n3 delivers a hint 1 to n4 before and after its disk loss,
    # and they are different hints
    _reused_hint_seed_validates()
    with hint_ids_noted_once():
        mutant = validate_seed(REUSED_HINT_ID_SEED, disk_losses=True)
    assert mutant.verdict == "divergence", mutant.line()
    assert "deliver HintDelivery n3->n4" in mutant.reason
    assert "hint-ack n4->n3 #0 k {v4} intended=n4" in mutant.reason


def test_a_rebuild_that_never_begins_or_ends_early_is_caught() -> None:
    """Session 55's review: trace validation read the end of the rebuild off the
    node's own ``Rebuild.pending``, and ended the spec's rebuild of a replaced disk
    not seen rebuilding (never told it is one) even once it was told: an
    implementation whose replaced disk never rebuilds (``Rebuild.begin`` inactive),
    and one whose rebuild ends at its first completed exchange, validated all 44
    seeds of 0-199 that lose a disk. Now a pair dropped at an event that is no
    anti-entropy message of that peer stays to do for the spec, and a told node's
    ended spec rebuild is no match: seed 199 (validates, in :data:`DISK_SEEDS`)
    diverges under both (37 and 38 of the 44)."""
    from impl.rebuild import Rebuild

    def never(self: Rebuild, *, hold: bool = False) -> bool:
        self.active = False
        self._pending(set())
        return False

    original = Rebuild.synced

    def first(self: Rebuild, pair: Any) -> bool:
        if self.active and pair in self.pending and len(self.pending) > 1:
            self._pending(set())
            self.active = False
            return True
        return original(self, pair)

    with mock.patch.object(Rebuild, "begin", never):
        report = validate_seed(199, disk_losses=True)
    assert report.verdict == "divergence", report.line()
    assert "deliver Gossip n3->n4" in report.reason.splitlines()[0]
    with mock.patch.object(Rebuild, "synced", first):
        report = validate_seed(199, disk_losses=True)
    assert report.verdict == "divergence", report.line()
    assert "deliver HintDelivery n3->n4" in report.reason.splitlines()[0]


def test_a_rebuilding_coordinator_counting_its_own_read_is_caught() -> None:
    """Session 55's review: the implementation mutant that counts a rebuilding
    coordinator's own read (``Node._uncounted_read`` false) diverges on
    :data:`UNCOUNTED_SEED` (event 117, where the get would answer at once); it is the
    only seed of 0-299 that exercises the rule (every other validates with it)."""
    with mock.patch.object(Node, "_uncounted_read", lambda self, key, own, now: False):
        report = validate_seed(UNCOUNTED_SEED, disk_losses=True)
    assert report.verdict == "divergence", report.line()
    assert "deliver ReplicaGetReply n2->n4" in report.reason.splitlines()[0]
