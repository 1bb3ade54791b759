"""The checker finds the restore-from-backup fault (docs/impl.md, "Operation ids after
a restored backup"): with the actor kept, ``dvv-restore-kept-actor``'s shortest
counterexample to acked_writes_durable backs a node up, restores it and re-mints a
dot; with a new actor, ``dvv-restore-new-actor`` holds. Mutants of the spec's
``Restore`` show each verdict depends on what the action does."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import spec.faults
from model_check.check import Verdict, check
from model_check.replay import replay_on_spec
from model_check.suite import entry
from model_check.trace import Trace
from spec.actions import Backup, DiskLoss, Restore, action_from_json
from spec.state import Backup as DiskCopy
from spec.state import Backups, NodeState, State
from spec.step import Edit, Plan

KEPT, NEW = "dvv-restore-kept-actor", "dvv-restore-new-actor"
_original = spec.faults._restored
Restored = Callable[[State, Plan, str, NodeState, DiskCopy, Backups], Edit]


def test_the_kept_actor_loses_an_acknowledged_write_through_a_restore() -> None:
    result = check(entry(KEPT).config, properties=["acked_writes_durable"])
    outcome = result.result("acked_writes_durable")
    # 12 steps since session 59 (three puts and a get: the get reads the re-minted
    # (n1, 1), the third put with its context re-mints (n1, 2)); 14 with four blind
    # puts from session 29 (the fourth, past the pair (n1, c1), took n1 then; a
    # fresh pair now), 11 with three before
    assert outcome.verdict is Verdict.VIOLATED and outcome.counterexample_length == 12
    trace = outcome.trace
    assert trace is not None
    actions = [action_from_json(a) for a in trace.actions]
    backup = actions[0]
    assert isinstance(backup, Backup)
    assert Restore(backup.node) in actions
    assert not any(isinstance(a, DiskLoss) for a in actions)
    # the trace survives its JSON form and replays on the spec to where it broke
    again = Trace.from_json(trace.to_json())
    report = replay_on_spec(again)
    assert report.ok and report.broke_at == 12, report.render()


def test_the_new_actor_keeps_every_acknowledged_write() -> None:
    result = check(entry(NEW).config, properties=["acked_writes_durable", "convergence",
                                                  "restored_behind", "new_actor_writes"])
    assert result.verdict("acked_writes_durable") is Verdict.HOLDS
    assert result.verdict("convergence") is Verdict.HOLDS
    assert result.verdict("restored_behind") is Verdict.FOUND  # not vacuous
    assert result.verdict("new_actor_writes") is Verdict.FOUND


def _mutant(monkeypatch: pytest.MonkeyPatch, restored: Restored) -> None:
    monkeypatch.setattr(spec.faults, "_restored", restored)


def test_a_restore_that_keeps_the_actor_whatever_the_rule_is_caught(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def kept(state: State, plan: Plan, name: str, node: NodeState, copy: DiskCopy,
             backups: Backups) -> Edit:
        edit = _original(state, plan, name, node, copy, backups)
        i = plan.index[name]
        edit.epochs = (*edit.epochs[:i], copy.epoch, *edit.epochs[i + 1 :])
        return edit

    _mutant(monkeypatch, kept)
    result = check(entry(NEW).config, properties=["acked_writes_durable"])
    assert result.verdict("acked_writes_durable") is Verdict.VIOLATED


def test_a_restore_that_rolls_nothing_back_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Restore that is only a crash (the disk kept): the fault the spec must
    express is gone, and with it the kept actor's counterexample."""
    def crash_only(state: State, plan: Plan, name: str, node: NodeState,
                   copy: DiskCopy, backups: Backups) -> Edit:
        return _original(state, plan, name, node,
                         DiskCopy(node.store, node.hints, copy.epoch, copy.key_epochs),
                         backups)

    _mutant(monkeypatch, crash_only)
    result = check(entry(KEPT).config, properties=["acked_writes_durable", "restored_behind"])
    assert result.verdict("acked_writes_durable") is Verdict.HOLDS
    assert result.verdict("restored_behind") is Verdict.NOT_FOUND


def test_partial_order_reduction_is_off_with_restores_and_says_why() -> None:
    result = check(entry(KEPT).config, properties=["acked_writes_durable"], por=True)
    assert "Backup" in result.por_note and "Restore" in result.por_note
    assert result.verdict("acked_writes_durable") is Verdict.VIOLATED
    # without a restore budget the new actions do not turn the reduction off (the note
    # is decided before the search: its first 500 states, not its 9,877, session 25)
    # (session 60: without the rebuild, on by default, whose Rebuilt step turns it off)
    other = check(entry("dvv-amnesia-actor-epochs").config.replace(rebuild=False),
                  properties=["acked_writes_durable"], por=True, max_states=500)
    assert other.por and other.por_note == ""
