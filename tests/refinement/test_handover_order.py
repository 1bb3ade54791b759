"""The order of the two checks at the spec's ``Handover`` (``Lockstep.handover``):
first the kept transfer hints, each of which must cover its old owner's copy
(``LockstepState.stale_transfers``, a divergence otherwise), then the late
re-transfers (``LockstepState.late_transfers``: one the spec cannot take makes the
handover unmapped; the others are delivered as stutters). Issue 12, the session-10
reviewer's finding 8: no test pinned that order.

Why it matters: a stale hint is the implementation doing less (its re-transfer would
not carry a late write, and the old owner lets the write go), while "unmapped" excuses
the edge. A stale hint that is itself a late re-transfer the spec cannot take (its
acknowledgement lost, its old owner down or cut off), or one beside such a
re-transfer, is reported unmapped when the re-transfers are judged first: the bug
passes on that edge. The suite's membership entries never meet it (no fault; every
transfer's acknowledgement held until the handover, so a stale transfer hint is never
a late one): on every ``Handover`` edge of delete-join-pending (383, shortest paths)
the reviewer's F1 (``late-write-keeps-stale-hint``) gives 30 stale hints and no late
re-transfer, the real code 30 refused late re-transfers and no stale hint;
delete-join-immediate (899) the same with 56 (docs/refinement.md). So the scenario is
built from the shortest path of F1's first diverged handover edge of
delete-join-pending, with a crash of the old owner allowed (``crashes = 1``), the
transfer's acknowledgement lost (a lockstep ``drop`` of a message the spec does not
have: a stutter) and the old owner crashed before the handover.
"""

from __future__ import annotations

import contextlib
import dataclasses

import pytest

from impl.messages import HintAck
from model_check.refinement import Divergence, Lockstep
from model_check.refinement_replay import step_action
from model_check.suite import entry
from spec.actions import (
    Action,
    ClientDelete,
    ClientGet,
    ClientPut,
    Crash,
    Deliver,
    Gossip,
    Handover,
    Join,
    Transfer,
)
from spec.dvv import DVVSet
from spec.errors import InvalidValueError
from spec.state import Kind, Message
from tests.refinement.mutations import TEST_KILLED

#: delete-join-pending with one crash allowed (the suite entry has no fault)
CONFIG = dataclasses.replace(entry("delete-join-pending").config,
                             name="delete-join-pending-crash", crashes=1)

_V1 = DVVSet.of([("n1", 1, [1])], [])
#: c1 puts v1 through n1 (n2 stores it), reads; n3 joins; the old owner n2 sends its
#: range transfer of k (v1) to n3; c1 deletes through n2 (a late write at n2: the
#: tombstone); the transfer arrives. The shortest path of delete-join-pending's first
#: ``Handover`` edge under F1 that diverges (the conformance's clone mode).
PATH: list[Action] = [
    ClientPut(client="c1", node="n1", key="k"),
    Deliver(Message(Kind.REPLICA_PUT, "n1", "n2", 1, "k", _V1, "")),
    Deliver(Message(Kind.REPLICA_PUT_ACK, "n2", "n1", 1, "k", None, "")),
    ClientGet(client="c1", node="n1", key="k"),
    Join(node="n3"),
    Gossip(src="n3", dst="n1"),
    Gossip(src="n1", dst="n2"),
    Transfer(src="n2", dst="n3", key="k"),
    ClientDelete(client="c1", node="n2", key="k"),
    Deliver(Message(Kind.RANGE_TRANSFER, "n2", "n3", 0, "k", _V1, "")),
]


def _handover(*, stale_hint: bool, order_mutant: bool) -> tuple[str, list[str], list[str]]:
    """:data:`PATH`, then n3's transfer acknowledgement to n2 lost and n2 crashed, on a
    lockstep of :data:`CONFIG` (``stale_hint``: under F1; ``order_mutant``: under
    ``stale-check-after-late-transfers``); then the spec's ``Handover(n3)``. Returns
    its outcome (``agreed``, ``unmapped: ...`` or ``diverged: ...``) and, before it,
    the stale hints (``stale_transfers``) and why not of each late re-transfer
    (``late_transfers``)."""
    with contextlib.ExitStack() as mutants:
        if stale_hint:
            mutants.enter_context(TEST_KILLED["late-write-keeps-stale-hint"][0]())
        if order_mutant:
            mutants.enter_context(TEST_KILLED["stale-check-after-late-transfers"][0]())
        ls = Lockstep(CONFIG)
        try:
            for step in PATH:
                step_action(ls, step)
            acks = [m for m in ls.sim.in_flight() if isinstance(m.message, HintAck)]
            assert [(m.src, m.dest) for m in acks] == [("n3", "n2")]
            ls.drop(acks[0].id)  # a stutter: the spec has no acknowledgement
            step_action(ls, Crash(node="n2"))
            stale = ls.stale_transfers()
            late = [why for _, _, why in ls.late_transfers()]
            try:
                step_action(ls, Handover(node="n3"))
            except Divergence as divergence:
                return f"diverged: {divergence.step}: {divergence.report}", stale, late
            except InvalidValueError as error:
                return f"unmapped: {error}", stale, late
            return "agreed", stale, late
        finally:
            ls.cluster.close()


def test_a_stale_hint_beside_a_refused_late_transfer_diverges() -> None:
    """Under F1 n2's transfer hint keeps v1 while n2 holds the tombstone: stale. Its
    acknowledgement lost, it is a late re-transfer too, one the spec cannot take (n2
    is down): the stale hint is reported first, a divergence at the handover."""
    outcome, stale, late = _handover(stale_hint=True, order_mutant=False)
    assert len(stale) == 1 and late == [
        "n2's late re-transfer of k to n3 cannot be completed (down or cut off)"]
    assert outcome.startswith("diverged: step 13: handover n3"), outcome
    assert "n2's transfer hint of k for n3 lacks a version n2 holds" in outcome


def test_the_real_code_is_unmapped_there() -> None:
    """The same steps on the real code: n2's late write went into its hint (no stale
    hint), whose re-transfer would add the tombstone at n3 (the spec's late re-transfer
    comes first, session 35; before, a step the spec did not have): the handover is
    unmapped, not a divergence (the scenario is fair)."""
    outcome, stale, late = _handover(stale_hint=False, order_mutant=False)
    assert stale == [] and late == [
        "n2 forwards the late write of k to n3 first (n3's copy lacks a version of it: "
        "the spec's late re-transfer Transfer(n2, n3, k) comes first)"]
    assert outcome.startswith("unmapped: no handover by n3 on the implementation"), outcome


@pytest.mark.parametrize("stale_hint", [True, False])
def test_the_order_mutant_takes_the_stale_hint_for_unmapped(stale_hint: bool) -> None:
    """Non-vacuity: with the re-transfers judged first (the harness mutant
    ``stale-check-after-late-transfers``) F1's stale hint passes as unmapped on that
    edge, so the first test fails on it; on the real code the mutant changes nothing."""
    outcome, _, _ = _handover(stale_hint=stale_hint, order_mutant=True)
    assert outcome.startswith("unmapped: no handover by n3 on the implementation"), outcome
    if stale_hint:
        assert "cannot be completed (down or cut off)" in outcome
