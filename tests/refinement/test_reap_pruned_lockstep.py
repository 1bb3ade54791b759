"""The lockstep checks the reap of copies that differ in pruned entries (session 34).

``dvv-prune-retired-delete`` (dvv, ``prune_retired = 0``, a delete and safe reaps)
was unmapped: 10 of its 10,306 edges diverged, every one a ``Reap``. The
implementation's reap removed a replica's copy only if it was exactly the deciding
node's tombstone record, and pruning makes two copies of one tombstone differ (one
still holds a value-less entry of a retired lifetime); the spec's reap compares
nothing. Fixed: a copy is the decided record when the two are equal once both are
pruned by what the reaping node knows (``impl.reaping.same_tombstone``).

The entry stays unmapped for another difference, named in ``unmapped_features``: the
implementation's read repair also repairs a replica whose copy holds entries the
coordinator's pruning of the merge drops (``read-repairs-pruned``), which the spec's
read repair does not. So these tests run its conformance with that repair set aside
(:func:`_pruned_read_repair_set_aside`: the coordinator's repair computed without
pruning, as before session 34's change) and the entry's reason lifted: every edge of
a sixth of its sources agrees, and the old exact comparison diverges there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

import impl.reaping
from impl.read_repair import ReadRepairer
from impl.records import Record
from model_check import refinement_state
from model_check.refinement_conformance import conformance
from model_check.suite import entry
from spec.config import Config

#: the shard of dvv-prune-retired-delete's sources checked (as CI's FULL_SHARD_IN_CI:
#: every edge of the sources at breadth-first positions 0 mod 6; about 3 CPU-s)
SHARD = (0, 6)
ENTRY = "dvv-prune-retired-delete"


@contextlib.contextmanager
def _pruned_read_repair_set_aside() -> Iterator[None]:
    """The read repair as before session 34's ``read-repairs-pruned``: the repair's
    targets are those that answered without the merge (the coordinator's prune is
    the identity while it decides them; a replica still prunes what it merges)."""
    original = ReadRepairer.repair

    def repair(self: ReadRepairer, key: bytes, replies: Any,
               replicas: frozenset[str] | None = None) -> Any:
        prune = self.replica.prune
        self.replica.prune = _unchanged
        try:
            return original(self, key, replies, replicas)
        finally:
            self.replica.prune = prune

    ReadRepairer.repair = repair  # type: ignore[method-assign]
    try:
        yield
    finally:
        ReadRepairer.repair = original  # type: ignore[method-assign]


def _unchanged(record: Record) -> Record:
    return record


@pytest.fixture
def lifted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Config]:
    """The entry's configuration, its unmapped reason lifted and the pruned read
    repair set aside."""
    original = refinement_state.unmapped_features

    def without_the_read_repair(config: Config, *, traces: bool = False) -> tuple[str, ...]:
        return tuple(reason for reason in original(config, traces=traces)
                     if "prune_retired with deletes" not in reason)

    monkeypatch.setattr(refinement_state, "unmapped_features", without_the_read_repair)
    with _pruned_read_repair_set_aside():
        yield entry(ENTRY).config


def test_the_delete_entry_is_unmapped_for_the_pruned_read_repair_only() -> None:
    (reason,) = refinement_state.unmapped_features(entry(ENTRY).config)
    assert "read-repairs-pruned" in reason and "same_tombstone" in reason


def test_reaps_of_copies_differing_in_pruned_entries_agree(lifted: Config) -> None:
    """Every edge of the shard agrees (0 diverged; the whole graph: 0 of 10,306)."""
    report = conformance(lifted, shard=SHARD)
    assert report.outcomes["diverged"] == 0, report.divergences
    assert report.by_action["reap agreed"] > 0


def test_the_exact_comparison_diverges(lifted: Config, monkeypatch: pytest.MonkeyPatch
                                       ) -> None:
    """The mutant: the reap's comparison as before the fix (exact): a spec reap the
    implementation refuses (the whole graph: 10 diverged edges, all reaps)."""
    monkeypatch.setattr(impl.reaping, "same_tombstone",
                        lambda mine, decided, prune=None: mine == decided)
    report = conformance(lifted, shard=SHARD)
    assert report.outcomes["diverged"] >= 1
    assert any(line.startswith("reap") for line in report.divergences), report.divergences
