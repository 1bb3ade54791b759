"""Restore from a backup on the implementation, in lockstep with the spec's ``Backup``
and ``Restore`` (model_check.refinement: a deep copy of a node's storage engine, put
back in place of its engine on a crash; docs/refinement.md, "Restore from a backup").

With ``restore_actor = "kept"`` the harness runs the implementation with
``actor_per_start = false`` and the spec's counterexample replays on it: the
acknowledged write is lost there too. With ``actor_per_start = true`` (the
implementation's default, the spec's feature of that name) every edge agrees.
Mutants of the implementation's actor rule and of the harness's restore diverge."""

from __future__ import annotations

from typing import Any

import pytest

import impl.node
import model_check.refinement_state
from impl.versions import lifetime_actor
from model_check.check import check
from model_check.refinement import Divergence, Lockstep
from model_check.refinement_conformance import _in_shard, conformance, reachable_graph
from model_check.refinement_replay import replay_trace
from model_check.refinement_state import (
    cluster_for,
    guarded,
    set_aside_possible,
    unmapped_features,
)
from model_check.suite import entry
from spec.clocks import values
from spec.config import Config
from spec.errors import ConfigError
from tests.conftest import PROFILE
from tests.refinement.first_divergence import stopping_at_a_divergence

KEPT, NEW = "dvv-restore-kept-actor", "dvv-restore-new-actor"
#: the shard of the two entries' sources whose every edge CI checks (session 45: a
#: sixth, positions 0 mod 6, 1.6-1.8 CPU-s each where every edge took 5-6; each still
#: has backup and restore edges that agree, and each of this file's two mutants still
#: diverges on it: ``lifetime_actor`` with ``per_start`` ignored on 128 edges of
#: dvv-restore-new-actor's, the restore that puts nothing back on 213 and 242 of the
#: two: docs/model-checking.md, "Where CI's test time goes (session 45): the
#: refinement's replay"); the soak profile checks every edge
SHARD_IN_CI = None if PROFILE == "soak" else (0, 6)


def test_the_harness_runs_the_implementation_with_the_specs_actor_rule() -> None:
    assert cluster_for(entry(KEPT).config).config.actor_per_start is False
    assert cluster_for(entry(NEW).config).config.actor_per_start is True
    # the spec's "new" without actor_per_start has no implementation rule to map to
    lone = entry(NEW).config.replace(actor_per_start=False)
    assert unmapped_features(lone)
    with pytest.raises(ConfigError, match="does not map"):
        cluster_for(lone)


def test_the_kept_actor_counterexample_replays_on_the_implementation() -> None:
    """The spec's shortest counterexample, step by step on the implementation: the
    write is lost there as in the spec (docs/impl.md, "Operation ids after a
    restored backup")."""
    trace = check(entry(KEPT).config, properties=["acked_writes_durable"]).result(
        "acked_writes_durable").trace
    assert trace is not None
    report = replay_trace(trace)
    assert report.ok, report.render()
    # 12 with three puts and a get since session 59, 14 with four blind puts from
    # session 29, 11 with three before
    assert report.broke_at == len(trace) == 12


def test_a_new_lifetime_after_a_kept_restore_is_named_as_the_spec_names_it() -> None:
    """Backup, disk loss (n1~1), restore with the actor kept (back to n1), disk loss
    again: the implementation's third actor is the spec's n1~2, and a put through it
    agrees (the spec's lifetimes are never reused, as the implementation's ids)."""
    # (session 60: without the rebuild, on by default since, which the lockstep does not
    # map with restores and disk losses: a restore behind the disk loss's start is set
    # aside by the implementation's restore guard, which the spec does not state;
    # test_a_restore_behind_a_start_its_peers_heard_is_set_aside_and_not_mapped)
    config = entry(KEPT).config.replace(disk_losses=2, rebuild=False)
    ls = Lockstep(config)
    ls.backup("n1")
    ls.disk_loss("n1")
    ls.recover("n1")
    ls.restore("n1")
    ls.recover("n1")
    ls.disk_loss("n1")
    ls.recover("n1")
    ls.put("c1", "n1", "k")  # a spec that named it n1~1 again diverges here
    ls.quiesce()
    assert not ls.failed and ls.state.actor("n1") == "n1~2"


@pytest.mark.parametrize("name", [KEPT, NEW])
def test_every_edge_of_the_restore_entries_agrees(name: str) -> None:
    """Every edge of the entry's sources in :data:`SHARD_IN_CI` (every source under
    soak) agrees; some backup and some restore agree. (Until session 46 the kept
    actor's exchanges of replicas holding a re-issued dot were unmapped, 18 edges of
    the CI shard's 387, and 11 behind them unreachable: the lockstep maps them since,
    tests/refinement/test_reissued_dot_exchange.py.)"""
    report = conformance(entry(name).config, shard=SHARD_IN_CI)
    print(report.row())
    parent, edges = reachable_graph(entry(name).config)
    assert report.checked == len(_in_shard(parent, edges, SHARD_IN_CI)) > (
        report.edges // 8 if SHARD_IN_CI is not None else report.edges - 1)
    assert report.outcomes["diverged"] == 0, "\n".join(report.divergences)
    assert report.outcomes["agreed"] == report.checked, report.outcomes
    assert report.by_action["backup agreed"] > 0 and report.by_action["restore agreed"] > 0


def test_conformance_catches_an_implementation_that_keeps_the_actor(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant of the implementation: ``actor_per_start`` ignored (a durable restart
    keeps the stored actor, the rule before session 10)."""
    def kept(*args: Any, **kwargs: Any) -> str:
        kwargs["per_start"] = False
        return lifetime_actor(*args, **kwargs)

    monkeypatch.setattr(impl.node, "lifetime_actor", kept)
    with stopping_at_a_divergence():  # (session 37)
        report = conformance(entry(NEW).config, limit=300, seed=3)
    assert report.outcomes["diverged"] > 0


def test_conformance_catches_a_restore_that_puts_nothing_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant of the harness: the restore crashes the node and keeps its engine."""
    def crash_only(self: Lockstep, node: str) -> None:
        backup = self.disk_backups[node]
        self.disk_backups[node] = self.cluster.storages[node].inner
        try:
            original(self, node)
        finally:
            self.disk_backups[node] = backup

    original = Lockstep.restore
    monkeypatch.setattr(Lockstep, "restore", crash_only)
    with stopping_at_a_divergence():  # (session 37)
        report = conformance(entry(KEPT).config, limit=300, seed=3)
    assert report.outcomes["diverged"] > 0


def test_a_restore_with_membership_is_not_mapped(monkeypatch: pytest.MonkeyPatch) -> None:
    """The implementation keeps a node's membership view on its disk (the
    ``membership`` meta entry, impl/gossip.py), so a restored disk forgets a join
    it had learnt, while the spec's ``Restore`` keeps ``State.membership``: the
    lockstep would diverge at the next put (review, session 12). Named by
    ``unmapped_features``; forced through, it diverges."""
    config = Config(name="restore-join", nodes=("n1", "n2"), n=2, r=1, w=1,
                    anti_entropy=False, actor_per_start=True, restores=1,
                    joining=("n3",), joins=1, clients=1, puts_per_client=1,
                    gets_per_client=0, coordinator="first")
    assert any("membership" in u for u in unmapped_features(config))
    with pytest.raises(ConfigError, match="does not map"):
        cluster_for(config)
    monkeypatch.setattr(model_check.refinement_state, "unmapped_features",
                        lambda *args, **kwargs: ())
    ls = Lockstep(config)
    ls.backup("n1")
    ls.join("n3")
    ls.gossip_to("n3", "n1")
    ls.restore("n1")
    ls.recover("n1")
    with pytest.raises(Divergence, match="replica-put n1->n3"):
        ls.put("c1", "n1", "k")


def test_a_second_restore_puts_the_backup_back_again() -> None:
    """With a budget of two, the second restore of a node is the backup again, not
    what the node wrote since the first (review, session 12: a harness restore that
    put the backup's copy itself in place, so that the node's later writes changed
    the backup, survived every test with one restore)."""
    config = entry(NEW).config.replace(name="restore-twice", restores=2)
    assert not guarded(config)  # (session 61: the second restore may be set aside)
    ls = Lockstep(config)
    ls.backup("n1")
    ls.restore("n1")
    ls.recover("n1")
    ls.put("c1", "n1", "k")
    ls.quiesce()
    assert ls.clients["c1"].acked
    ls.restore("n1")  # the spec's second Restore: n1 empty again; a divergence else
    assert ls.frontier and all(values(s.node("n1").store[0]) == () for s in ls.frontier)


RESTORE_ENTRIES = (KEPT, NEW, "delete-restore-keep")


def test_the_restore_entries_run_the_implementation_s_restore_guard() -> None:
    """Session 61: with the rebuild on (their own config) the lockstep runs the
    implementation's restore guard as it ships (``restore_guard``), so the spec's restore
    is compared with the implementation's guarded one; every edge of the CI shard agrees
    (:func:`test_every_edge_of_the_restore_entries_agrees`). Where the guard may set a
    restored store aside (a restart, a reap: ``set_aside_possible``), which the spec does
    not state, the lockstep runs it off as before (delete-restore-after-reap: its
    resurrection is the unguarded restore's), or, with disk losses, does not map.
    Mutants: ``cluster_for`` with session 60's ``restore_guard=rebuilds(config)`` (the
    guard off without disk losses) fails the first loop's assertion; ``set_aside_possible``
    without its reap term fails the reaping entry's, and the implementation's replay of
    delete-restore-after-reap's trace is refused at step 14, ``recover n2`` (the guard
    sets the restored n2 aside: tests/refinement/test_replay.py)."""
    for name in RESTORE_ENTRIES:
        config = entry(name).config
        assert config.rebuild and guarded(config) and not set_aside_possible(config)
        assert cluster_for(config).config.restore_guard, name
    assert not cluster_for(entry(NEW).config.replace(rebuild=False)).config.restore_guard
    reaping = entry("delete-restore-after-reap").config
    assert set_aside_possible(reaping) and not cluster_for(reaping).config.restore_guard
    for change in ({"crashes": 1}, {"restores": 2}):
        config = entry(NEW).config.replace(**change)
        assert set_aside_possible(config) and not cluster_for(config).config.restore_guard
    assert any("restore guard" in u
               for u in unmapped_features(entry(NEW).config.replace(disk_losses=1)))


@pytest.mark.parametrize("name", [NEW, KEPT])
def test_a_restore_behind_a_start_its_peers_heard_is_set_aside_and_not_mapped(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real divergence behind the unmapped rule and :func:`set_aside_possible`
    (session 61; the spec is the side that does not state it, spec/rebuild.py "Not
    stated"), the guard on (a disk loss in the budget, unused): backup, crash, recover
    (a start n2 hears), v1 acknowledged, restore, recover. The implementation's guard
    finds the restored store behind the start n2 heard and sets it aside
    (``Node._set_aside``: emptied, a new generation, under ``actor_epochs`` a new
    actor, rebuilding: its acknowledgements uncounted); the spec's ``Restore`` keeps
    the backup's copies counted and marks nothing. Since s61-reviewspec's
    ``_rebuild_compared`` (the rebuild mark compared at every recovery) the lockstep
    diverges at that recovery, step 8; before it, the next put diverged (step 10,
    ``deliver ReplicaPut n1->n2``: no acknowledgement from the set-aside n2, new
    actor; step 9, ``put c1 v2 k @n1``: n1 minting with the counters set aside, kept
    actor). Forced through ``unmapped_features``."""
    config = entry(name).config.replace(crashes=1, disk_losses=1)
    assert unmapped_features(config) and guarded(config)
    monkeypatch.setattr(model_check.refinement_state, "unmapped_features",
                        lambda *args, **kwargs: ())
    ls = Lockstep(config)
    ls.backup("n1")
    ls.crash("n1")
    ls.recover("n1")
    ls.put("c1", "n1", "k")
    ls.quiesce()
    assert ls.clients["c1"].acked
    ls.restore("n1")
    with pytest.raises(Divergence) as raised:
        ls.recover("n1")
    node = ls.cluster.node("n1")
    assert node.stats["restore-set-aside"] == 1 and node.rebuilding
    text = str(raised.value)
    assert text.startswith("step 8: recover n1") and (
        "n1's rebuild is kept on the implementation, the spec drops its mark" in text), \
        text[:300]
