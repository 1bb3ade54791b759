"""The lockstep checks the reap of copies that differ in pruned entries, and the read
repair of copies holding pruned entries (session 34).

``dvv-prune-retired-delete`` (dvv, ``prune_retired = 0``, a delete and safe reaps)
was unmapped: 10 of its 10,306 edges diverged, every one a ``Reap``. The
implementation's reap removed a replica's copy only if it was exactly the deciding
node's tombstone record, and pruning makes two copies of one tombstone differ (one
still holds a value-less entry of a retired lifetime); the spec's reap compares
nothing. Fixed: a copy is the decided record when the two are equal once both are
pruned by what the reaping node knows (``impl.reaping.same_tombstone``).

It then stayed unmapped for another difference: the implementation's read repair
also repairs a replica whose copy holds entries the coordinator's pruning of the
merge drops (``read-repairs-pruned``), its own copy included, which the spec's read
repair did not. The spec's does too since (spec/read_repair.py, session 34), and the
entry is mapped: every edge of a sixth of its sources agrees (the whole graph: 5,608
agreed, 0 diverged), and three mutants of the implementation diverge there: the
reap's exact comparison, the pruned read repair set aside
(:func:`_pruned_read_repair_set_aside`: the coordinator's repair computed without
pruning, as before session 34's change), and the coordinator's own holding copy left
unrepaired (:func:`_own_copy_left`).

Session 37: the shard's run without a mutant is tests/refinement/test_conformance.py's
``test_every_checked_edge_agrees[dvv-prune-retired-delete]`` (the same call: every
edge of the sources at positions 0 mod 6; 0 mod 12 since session 40, 0 mod 24 since
session 43), which also
asserts that reaps and gets agree there (``MUST_AGREE``); it ran here a second time.
Each mutant's run ends at its first divergence of the kind its test asks for
(tests/refinement/first_divergence.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

import impl.reaping
from impl.read_repair import ReadRepairer
from impl.records import Record
from impl.versions import merge
from model_check import refinement_state
from model_check.refinement_conformance import conformance
from model_check.suite import entry
from tests.refinement.first_divergence import stopping_at_a_divergence

#: the shard of dvv-prune-retired-delete's sources checked (as CI's SHARD_IN_CI of
#: tests/refinement/test_conformance.py: every edge of the sources at breadth-first
#: positions 0 mod 24 since session 43, 0 mod 12 since session 40, 0 mod 6 before;
#: each read repair mutant still diverges there, 0.4-0.5 CPU-s each to its first
#: divergence in session 43)
SHARD = (0, 24)
ENTRY = "dvv-prune-retired-delete"
#: the shard the exact comparison's mutant is checked on: since the spec's read repair
#: prunes holding copies (session 34) its 10 diverged reaps of the whole graph lie at
#: sources 1-5 mod 6 (2, 2, 2, 3 and 1 of them), none at 0 mod 6
EXACT_SHARD = (1, 6)


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

    with mock.patch.object(ReadRepairer, "repair", repair):
        yield


def _unchanged(record: Record) -> Record:
    return record


@contextlib.contextmanager
def _own_copy_left() -> Iterator[None]:
    """A mutant of the pruned read repair: the coordinator's own copy is repaired only
    if it answered without the merge (a copy holding the merge, whose repair would
    only prune it, is left as it is); the other replicas are repaired as the fix
    says."""
    original = ReadRepairer.repair

    def repair(self: ReadRepairer, key: bytes, replies: Any,
               replicas: frozenset[str] | None = None) -> Any:
        replica = self.replica
        merge_into_local = replica.merge_into_local

        def unless_holding(key: bytes, record: Record, raw: bytes | None = None) -> Record:
            mine = replica.local_record(key)
            if merge(mine, record) == mine:
                return mine
            return merge_into_local(key, record, raw)

        replica.merge_into_local = unless_holding  # type: ignore[method-assign]
        try:
            return original(self, key, replies, replicas)
        finally:
            del replica.merge_into_local

    with mock.patch.object(ReadRepairer, "repair", repair):
        yield


def test_the_delete_entry_is_mapped() -> None:
    assert refinement_state.unmapped_features(entry(ENTRY).config) == ()


def test_the_shard_without_a_mutant_is_the_conformance_test_s() -> None:
    """Every edge of the shard agrees (0 diverged; the whole graph: 5,608 agreed, 0 of
    10,356 diverged), reaps and gets among them: checked by test_conformance.py's run
    of the entry, on this very shard (session 37: it ran here too). The exact
    comparison's shard (1 mod 6) is not checked unmutated in CI: soak checks every
    edge."""
    from tests.refinement import test_conformance

    assert ENTRY in test_conformance.FULL_IN_CI and test_conformance.SHARD_IN_CI[ENTRY] == SHARD
    assert test_conformance.MUST_AGREE[ENTRY] == ("reap", "client-get")


def test_the_exact_comparison_diverges(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mutant: the reap's comparison as before the fix (exact): a spec reap the
    implementation refuses (the whole graph: 10 diverged edges, all reaps)."""
    monkeypatch.setattr(impl.reaping, "same_tombstone",
                        lambda mine, decided, prune=None: mine == decided)
    with stopping_at_a_divergence(lambda action, outcome: action.kind == "reap"):
        report = conformance(entry(ENTRY).config, shard=EXACT_SHARD)
    assert report.outcomes["diverged"] >= 1
    assert any(line.startswith("reap") for line in report.divergences), report.divergences


@pytest.mark.parametrize("mutant", [_pruned_read_repair_set_aside, _own_copy_left])
def test_a_read_repair_leaving_a_holding_copy_diverges(mutant: Any) -> None:
    """The mutants: the implementation's read repair without its pruned targets, or
    leaving the coordinator's own holding copy: a get after which the spec's copy no
    longer holds the retired value-less entry and the implementation's still does."""
    with mutant(), stopping_at_a_divergence(lambda action, outcome: "get c1" in outcome):
        report = conformance(entry(ENTRY).config, shard=SHARD)
    assert report.outcomes["diverged"] >= 1
    assert any("get c1" in line for line in report.divergences), report.divergences
