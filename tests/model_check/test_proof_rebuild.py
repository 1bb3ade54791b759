"""The rebuild of a lost disk in the Z3 encoding (session 57; model_check/proofs/rebuild.py,
spec/rebuild.py) agrees with the spec on the edges of the four rebuild entries, and the
check has teeth: each rule of :mod:`model_check.proofs.rebuild` broken is refused.

Mutants of model_check/proofs/rebuild.py, each edited in the source and run against
this file in CI's configuration (session 57), and the tests that failed:

- M1 ``acknowledges_hint`` always true (the encoding before session 57: a hint
  delivered to a node rebuilding the key acknowledged): the sloppy entry's edge walk
  (both ways) and its monkeypatched test below;
- M2 ``rebuild_over`` always true (``rebuilt`` with exchanges left): all four edge
  walks (backward: a mark dropped that no spec step drops);
- M3 ``answers_reads`` always true (a rebuilding node answers a read): only
  :func:`test_a_node_rebuilding_the_key_answers_no_read` (the spec's silent delivery
  is a stutter of the abstraction: no edge walk can refuse the looser step);
- M4 ``exchange_due`` empty (no exchange between equal copies): all four (forward);
- M5 ``restarted`` always dropping the mark: the crash entry's walk (both ways);
- M6 ``begun`` setting the mark alone: all four (both ways);
- M7 (session 61) ``restarted_again`` never enabled (the encoding without
  ``Crash.again``): the crash entry's walk forward, and its test below.

docs/proofs.md, "The rebuild in the Z3 encoding (session 57)"."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from typing import Any

import pytest
import z3

from model_check import properties
from model_check.proofs import abstraction as enc
from model_check.proofs import invariants
from model_check.proofs import rebuild as rb
from model_check.proofs.agreement import check_graph, unencoded
from model_check.proofs.cli import main as prove_main
from model_check.proofs.edges import EdgeCheck
from model_check.proofs.framework import Verdict, decide
from model_check.proofs.transition import lossy_store
from model_check.suite import entry
from spec import clocks
from spec.delivery import deliver
from spec.state import Kind
from spec.step import Edit, plan_of
from tests.model_check.first_refusal import stopping_at_a_refusal
from tests.proof_cache import RELATIONS, reachable

SOAK = os.environ.get("HYPOTHESIS_PROFILE") == "soak"

#: CI's walk of each entry: one state in ``every`` checked, the walk stopped after
#: ``max_states`` (None: the whole graph); every edge of every entry under
#: HYPOTHESIS_PROFILE=soak (and ``vdynamo prove --all-edges``): 4.4 (sloppy), 6.3
#: (crash), 4.7 (drop) and 9.8 (read) CPU-s at load 16. The read and drop entries'
#: first 500 states are also in test_proof_agreement.py's sample of the suite.
IN_CI: dict[str, tuple[int, int | None]] = {
    "disk-loss-rebuild-sloppy": (3, None), "disk-loss-rebuild-crash": (16, None),
    "disk-loss-rebuild-drop": (8, 3_000), "disk-loss-read-rebuild": (8, 3_000)}

REBUILD_ENTRIES = tuple(IN_CI)


def _steps(result: Any, prefix: str) -> int:
    """Edges explained by a step whose name starts with ``prefix``."""
    return sum(n for name, n in result.by_step.items() if name.startswith(prefix))


@pytest.mark.parametrize("name", REBUILD_ENTRIES)
def test_every_edge_of_the_rebuild_entries_agrees(name: str) -> None:
    """Every edge of the walk both ways (in CI a sample: :data:`IN_CI`): the
    ``rebuilt`` step, a crash's restart, the exchanges between equal copies, the
    silent reads and the unacknowledged hint deliveries are the encoding's; no edge is
    left unencoded."""
    suite_entry = entry(name)
    assert not unencoded(suite_entry.config)
    every, max_states = (1, None) if SOAK else IN_CI[name]
    result = check_graph(name, suite_entry.config, every=every, max_states=max_states,
                         relations=RELATIONS)
    assert result.ok, (result.disagreements, result.exact_disagreements)
    if max_states is None:
        assert result.states == suite_entry.distinct_states
        assert result.checked_states == result.states // every
    assert not result.not_encoded and result.outside == 0
    assert result.by_family["rebuilt"] > 0 and result.by_family["disk-loss"] > 0
    assert result.exact_proposals > 0
    if name == "disk-loss-rebuild-sloppy":  # a hint delivered to a rebuilding node
        assert _steps(result, "hint-deliver unacked") > 0
        assert _steps(result, "hint-deliver n") > 0
    if name == "disk-loss-rebuild-crash":
        assert result.by_family["crash"] > 0
        # session 61: Crash.again (306 of the whole graph's 5,739 crash edges; 17 in
        # CI's walk)
        assert sum(n for step, n in result.by_step.items() if step.endswith(" again")) > 0


def test_a_hint_acknowledged_while_rebuilding_is_refused(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """Mutant M1, the encoding before session 57: a hint delivered to a node rebuilding
    the key is acknowledged (``acknowledges_hint`` always true: the exact
    ``hint-deliver`` records and acknowledges it, ``hint-deliver unacked`` never holds).
    Refused both ways on disk-loss-rebuild-sloppy: the spec's unacknowledged delivery
    has no step (forward), and the exact step proposes the acknowledgement the spec
    does not make (backward; session 56's measured disagreement)."""
    monkeypatch.setattr(rb, "acknowledges_hint", lambda x, i: z3.BoolVal(True))
    config = entry("disk-loss-rebuild-sloppy").config
    with stopping_at_a_refusal(lambda r: r.forward_failures > 0 and r.backward_failures > 0):
        result = check_graph("hint-acked-while-rebuilding", config)
    assert result.forward_failures > 0 and result.backward_failures > 0
    assert any("hint-delivery" in text for text in result.disagreements)


def test_rebuilt_with_exchanges_left_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant M2: ``rebuilt`` enabled with exchanges left (``rebuild_over`` always
    true). Refused backward on disk-loss-rebuild-crash: the exact step proposes a
    successor (the mark dropped) that no spec step reaches; forward it agrees (the
    spec's own ``Rebuilt`` edges are still steps)."""
    monkeypatch.setattr(rb, "rebuild_over", lambda x, n: z3.BoolVal(True))
    config = entry("disk-loss-rebuild-crash").config
    with stopping_at_a_refusal(lambda r: r.backward_failures > 0):
        result = check_graph("rebuilt-with-exchanges-left", config)
    assert result.backward_failures > 0 and result.forward_failures == 0
    assert any("mark[" in text for text in result.exact_disagreements)


def test_an_exchange_between_equal_copies_is_a_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant M4: anti-entropy enabled only between copies that differ (``exchange_due``
    empty: the encoding before session 57). Refused forward on disk-loss-rebuild-crash:
    the spec's exchange between equal copies, which does a rebuild's pair, has no
    step."""
    monkeypatch.setattr(rb, "exchange_due", lambda x, a, b: [])
    config = entry("disk-loss-rebuild-crash").config
    with stopping_at_a_refusal(lambda r: r.forward_failures > 0):
        result = check_graph("exchange-only-between-different-copies", config,
                             backward=False)
    assert result.forward_failures > 0
    assert any("anti-entropy" in text.lower() or "AntiEntropy" in text
               for text in result.disagreements), result.disagreements


def test_a_crash_with_exchanges_left_begins_them_again(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    """Mutant M5: a crash drops the mark and the exchanges left (as a crash with none
    left does). Refused forward on disk-loss-rebuild-crash: the spec's crash of a
    node with exchanges left keeps its mark and begins them all again."""
    original = rb.restarted

    def dropped(x: Any, y: Any, n: int) -> tuple[list[Any], set[str]]:
        _, names = original(x, y, n)
        mine = [e for e in x.todo if e[0] == n]
        return [z3.Not(y.mark[n]), *[z3.Not(y.todo[e]) for e in mine]], names

    monkeypatch.setattr(rb, "restarted", dropped)
    config = entry("disk-loss-rebuild-crash").config
    with stopping_at_a_refusal(lambda r: r.forward_failures > 0):
        result = check_graph("crash-drops-the-rebuild", config, backward=False)
    assert result.forward_failures > 0
    assert any("Crash" in text or "crash" in text for text in result.disagreements)


def test_a_crash_with_none_left_may_begin_them_again(monkeypatch: pytest.MonkeyPatch
                                                     ) -> None:
    """Mutant M7 (session 61): the encoding without ``Crash.again`` (the step
    ``crash n again`` never enabled). Refused forward on disk-loss-rebuild-crash: the
    spec's crash of a marked node with no exchange left may keep its mark and begin
    them all again (``spec.rebuild.restarts``; 306 of the entry's edges)."""
    def never(x: Any, y: Any, n: int) -> tuple[list[Any], set[str]]:
        _, names = rb.restarted(x, y, n)
        return [z3.BoolVal(False)], names

    monkeypatch.setattr(rb, "restarted_again", never)
    config = entry("disk-loss-rebuild-crash").config
    with stopping_at_a_refusal(lambda r: r.forward_failures > 0):
        result = check_graph("crash-never-begins-again", config, backward=False)
    assert result.forward_failures > 0
    assert any("again" in text for text in result.disagreements)


def test_a_disk_loss_begins_every_exchange(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant M6: a disk loss sets the mark alone (no exchange to do). Refused forward
    on disk-loss-rebuild-crash at its first disk loss of a replica."""
    original = rb.begun

    def mark_only(x: Any, y: Any, n: int) -> tuple[list[Any], set[str]]:
        _, names = original(x, y, n)
        mine = [e for e in x.todo if e[0] == n]
        return [y.mark[n], *[z3.Not(y.todo[e]) for e in mine]], names

    monkeypatch.setattr(rb, "begun", mark_only)
    config = entry("disk-loss-rebuild-crash").config
    with stopping_at_a_refusal(lambda r: r.forward_failures > 0):
        result = check_graph("loss-without-exchanges", config, backward=False)
    assert result.forward_failures > 0


def _answered_anyway(config: Any) -> tuple[Any, Any, str]:
    """A reachable state of ``config`` in which a ``replica-get`` is in flight to a
    node rebuilding the key whose copy is not empty, and the state the spec would reach
    if that node answered it (the spec's delivery with ``State.rebuilding`` set aside,
    then put back): the pair and the encoding's step that would explain the answer."""
    plan = plan_of(config)
    for state in reachable(config):
        if not state.rebuilding:
            continue
        for position, m in enumerate(state.messages):
            if m.kind is not Kind.REPLICA_GET:
                continue
            if not any(e[0] == m.dst and e[1] == m.key for e in state.rebuilding):
                continue
            node = state.nodes[plan.index[m.dst]]
            if not node.up or not clocks.values(node.store[plan.key_index[m.key]]):
                continue
            edit = Edit(state, plan)
            edit.rebuilding = frozenset()
            deliver(edit, m, position)
            edit.rebuilding = state.rebuilding
            after = edit.build()
            if any(r.kind is Kind.REPLICA_GET_REPLY for r in after.messages):
                return state, after, f"replica-get at {m.dst} from {m.src}"
    raise AssertionError("no replica-get in flight to a rebuilding node holding a copy")


def test_a_node_rebuilding_the_key_answers_no_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The encoding's ``replica-get`` step refuses an answer from a node rebuilding the
    key (the spec's delivery is silent: a stutter, which no forward check can tell
    from an answer the encoding would allow): on disk-loss-read-rebuild's first state
    with a read in flight to such a node holding a copy, the step does not lead to the
    state of its answer; mutant M3 (``answers_reads`` always true, the encoding before
    session 57) does."""
    config = entry("disk-loss-read-rebuild").config
    pre, answered, step = _answered_anyway(config)
    right = EdgeCheck(config, relations=RELATIONS)
    assert right.abstract(pre, {}) != right.abstract(answered, {})  # the answer shows
    assert right.step_holds(step, pre, answered) is False
    monkeypatch.setattr(rb, "answers_reads", lambda x, n: z3.BoolVal(True))
    mutant = EdgeCheck(config)
    assert mutant.step_holds(step, pre, answered) is True


@pytest.mark.parametrize(("statement", "twin"), [
    # the suite's dvv-amnesia entries: causal merges after the loss (actor epochs); the
    # naive actor's lossy merge drops the put
    (lambda: invariants._induction(invariants.REBUILD_SHAPE,
                                   invariants.strong_durable_with_losses,
                                   enc.acked_writes_durable, parts=("step",),
                                   losses=invariants._w2_one_loss),
     lambda: invariants._induction(invariants.REBUILD_SHAPE,
                                   invariants.strong_durable_with_losses,
                                   enc.acked_writes_durable, lossy_store, parts=("step",),
                                   losses=invariants._w2_one_loss)),
    # the failing disk's (session 52) and its twin, a refused write acknowledged
    (lambda: invariants._induction(replace(invariants.WRITE_FAILURE_SHAPE, rebuild=True),
                                   invariants.strong_durable_with_losses,
                                   enc.acked_writes_durable,
                                   losses=invariants._fewer_losses_than_w),
     lambda: invariants._induction(replace(invariants.WRITE_FAILURE_SHAPE, rebuild=True,
                                           failed_write_acks=True),
                                   invariants.strong_durable_with_losses,
                                   enc.acked_writes_durable, parts=("step",))),
    # the delete shields with disk loss, and the read of R + W > N only
    (lambda: invariants._induction(replace(invariants.DELETE_SHAPE, rebuild=True),
                                   invariants.strong_delete_shields,
                                   invariants.quorum_read_sees_delete,
                                   losses=invariants._fewer_losses_than_w),
     lambda: invariants._read_without_losses(replace(invariants.DELETE_SHAPE, rebuild=True))),
], ids=["actor-epochs", "write-failures", "delete-shields-with-disk-loss"])
def test_the_disk_loss_proofs_hold_with_the_rebuild(statement: Any, twin: Any) -> None:
    """The disk-loss proofs of model_check/proofs/invariants.py other than
    ``inductive_acked_writes_durable_with_rebuild`` (registered: test_proofs.py) on
    their shapes with the rebuild encoded: each statement proved, each twin refuted
    (its broken variant), as without the rebuild."""
    assert decide(statement()).verdict is Verdict.PROVED
    assert decide(twin()).verdict is Verdict.REFUTED


def test_the_rebuild_proof_invariant_holds_on_every_reachable_state() -> None:
    """``strong_durable_with_losses`` (the invariant of
    ``inductive_acked_writes_durable_with_rebuild``) holds on every reachable state of
    disk-loss-rebuild-crash (it is not stronger than the spec), and
    acked_writes_durable agrees with the checker's."""
    config = entry("disk-loss-rebuild-crash").config
    check = EdgeCheck(config, relations=RELATIONS)
    states = 0
    for state in reachable(config):
        states += 1
        assert check.holds(invariants.strong_durable_with_losses, state)
        assert check.holds(enc.acked_writes_durable, state) is (
            properties.acked_writes_durable(state))
    assert states == entry("disk-loss-rebuild-crash").distinct_states


def test_vdynamo_prove_shows_a_rebuild_entry_agreement(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    """``vdynamo prove NAME --configuration CONFIG`` (session 57): the proof and the
    agreement figures of that configuration alone (its default sample); a configuration
    the suite lacks, or one the encoding does not cover, is a usage error naming it.
    (Mutant: the agreement run with proof names only under ``--all-edges``, as before
    session 57: no agreement row, the row assertion fails.)"""
    assert prove_main(["inductive_acked_writes_durable_with_rebuild", "--json",
                       "--configuration", "disk-loss-rebuild-sloppy"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["inductive_acked_writes_durable_with_rebuild",
                                         "agreement:disk-loss-rebuild-sloppy"]
    assert rows[0]["verdict"] == "proved" and rows[1]["verdict"] == "agrees"
    assert rows[1]["edges"] > 0 and rows[1]["not_encoded"] == {}
    assert prove_main(["--configuration", "no-such-entry"]) == 2
    assert "no-such-entry" in capsys.readouterr().err
    assert prove_main(["--configuration", "forward-pw-partition"]) == 2
    assert "does not cover forward-pw-partition" in capsys.readouterr().err


def test_the_rebuild_is_not_encoded_with_pruning() -> None:
    """The encoding states the rebuild without pruning: the agreement declines it,
    naming why (mutant: the guard of ``unencoded`` removed, the pruned variant of
    disk-loss-read-rebuild is taken as encoded: this fails). Since session 61 several
    keys are encoded (tests/model_check/test_proof_rebuild_keys.py)."""
    config = entry("disk-loss-read-rebuild").config
    assert not unencoded(config)
    assert not unencoded(config.replace(name="two", keys=("j", "k")))
    assert "pruning" in unencoded(config.replace(name="pruned", prune_retired=0))
