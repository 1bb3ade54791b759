"""Review of the half exchanges (session 38): an ask that teaches, an ask that prunes.

Session 38's half exchanges (:mod:`tests.refinement.test_one_way_ask_half`) had no
scenario where the asked node learns anything from the ask alone, nor one where the
ask's retirements prune the asked node's copy (``half_actions``' copy check was
measured equivalent in 300 walks), nor one where the answer names a retirement of
the asked node's own copy that the ask's record lacks, nor one where the answer
teaches an asker whose copy stays, nor a stale answer whose exchange would teach
the asked node (the review's fix: ``Lockstep.answer_round`` checks the asked node's
knowledge too). The scenarios below are those; they kill impl mutants the session's
tests missed, and the harness's rules made too permissive; walks from both
retirements reach an asker that teaches. docs/refinement.md, "Review (session 38)".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from impl import node as node_module
from impl.antientropy import AntiEntropy as AntiEntropy_
from model_check import refinement
from model_check.refinement import Divergence, Lockstep
from spec.actions import LearnRetirement
from spec.errors import InvalidValueError
from tests.conftest import PROFILE
from tests.refinement.mutations import Mutant, _mutant
from tests.refinement.scenarios import TWO_CRASHES, acked_put, deliver, to_the_one_way_put
from tests.refinement.test_one_way_ask_faults import FOUR_PUTS, _asks, _owed_ask_in_flight
from tests.refinement.test_one_way_ask_half import (
    SOAK_WALKS,
    _answers,
    _from_the_retirement,
    _walk,
)
from tests.refinement.walks import walk

#: TWO_CRASHES with a second get (c1 reads v2 before v3's put: its context covers v2)
TWO_GETS = dataclasses.replace(TWO_CRASHES, gets_per_client=2)
#: FOUR_PUTS with two crashes (the walks from both retirements)
TWO_RESTARTS = dataclasses.replace(FOUR_PUTS, crashes=2)
#: FOUR_PUTS with three crashes (n1 restarted three times)
THREE_CRASHES = dataclasses.replace(FOUR_PUTS, crashes=3)


def ask_teaches_the_asked() -> Lockstep:
    """``one-way-ask-both-retired``'s steps (n2 restarted: n2 knows n2~0 retired, n1
    does not; v2's n2~0 entry is in both copies), its ask delivered alone: n1
    learns n2~0 from the ask (the spec's ``LearnRetirement(n1, n2, n2, 0)``, n1's
    copy unchanged), then the answer teaches n2 n1~0 (the exchange)."""
    ls = Lockstep(TWO_CRASHES, asks_at_once=False)
    to_the_one_way_put(ls, n2_restarts=1)
    deliver(ls, "ReplicaPut", "n1", "n2")
    [ask] = _asks(ls)
    ls.deliver_ask(ask)
    assert ls.history[-1] == "one-way ask n2->n1 on k (alone)"
    assert ls.frontier[0].known == {("n1", "n2", 0)}  # learnt from the ask alone
    [answer] = _answers(ls)
    deliver(ls, "ReplicaPutAck", "n2", "n1")
    ls.deliver(answer)
    assert ls.frontier[0].known == {("n1", "n2", 0), ("n2", "n1", 0)}
    ls.quiesce()
    return ls


def _to_the_pruning_ask(ls: Lockstep) -> int:
    """v1 through n1, n1 restarted (n1 knows n1~0), c1 reads at n2 and puts v2 through
    n2 (n2 keeps n1~0's value-less entry), n2 restarted (n2 knows n2~0, n1 does not),
    c1 reads v2 at n1 (r = 1: n1's copy alone, which n1's merge of v2 pruned of n1~0)
    and puts v3 through n1 (its record holds n2~0's entry, now value-less); n2's
    merge drops n2~0's entry and keeps n1~0's: it asks n1, naming n2~0 (of the
    replica put's record). The ask's id. (Until session 39 c1 read at n2, its
    context holding n1~0; n1's write pruned it from the record it replicated. A put
    is replicated whole since, so the context's entry reaches n2.)"""
    acked_put(ls, "c1", "n1", "n2")
    ls.crash("n1")
    ls.recover("n1")
    ls.get("c1", "n2", "k")
    deliver(ls, "ReplicaGet", "n2", "n1")
    deliver(ls, "ReplicaGetReply", "n1", "n2")
    acked_put(ls, "c1", "n2", "n1")
    ls.crash("n2")
    ls.recover("n2")
    ls.get("c1", "n1", "k")  # answered by n1's own read (its read of n2 in flight)
    ls.put("c1", "n1", "k")
    deliver(ls, "ReplicaPut", "n1", "n2")
    [ask] = _asks(ls)
    return ask


def ask_prunes_the_asked() -> Lockstep:
    """The ask names n2~0, which n1 does not know and whose value-less entry n1's copy
    holds: n1 learning it prunes its copy, which no ``LearnRetirement`` does, so the
    ask is not delivered alone (``half_actions``' copy check; a direct
    ``deliver_ask`` raises InvalidValueError); its whole round is the spec's
    exchange (both learn, both copies {v3} with no retired entry)."""
    ls = Lockstep(TWO_GETS, asks_at_once=False)
    ask = _to_the_pruning_ask(ls)
    assert ask not in [m.id for m in ls.asks_alone()]
    with pytest.raises(InvalidValueError, match="alone"):
        ls.deliver_ask(ask)
    ls.deliver(ask)
    assert ls.history[-1] == "one-way ask n2->n1 on k"
    assert ls.frontier[0].known == {("n1", "n2", 0), ("n2", "n1", 0)}
    ls.quiesce()
    return ls


def _to_the_answer_naming_the_asked_copy(ls: Lockstep) -> int:
    """:func:`answer_names_the_asked_copy`'s steps up to the answer in flight (v4's
    replica put too). The answer's id."""
    ask = _owed_ask_in_flight(ls)
    deliver(ls, "ReplicaPutAck", "n2", "n1")
    ls.crash("n1")
    ls.recover("n1")
    ls.put("c1", "n1", "k")
    ls.crash("n1")
    ls.recover("n1")
    ls.deliver_ask(ask)
    [answer] = _answers(ls)
    return answer


def answer_names_the_asked_copy() -> Lockstep:
    """n2's ask in flight; n1 restarted (n1~1, v3's lifetime, retired), c1 puts v4
    through n1 (n1~2), n1 restarted again (n1~2 retired); the ask delivered alone,
    then its answer: the exchange teaches n2 n1~0, n1~1 and n1~2, the last of an
    entry only n1's copy holds (v4's: its replica put still in flight), so the
    answer must name it."""
    ls = Lockstep(THREE_CRASHES, asks_at_once=False)
    ls.deliver(_to_the_answer_naming_the_asked_copy(ls))
    assert ls.history[-1] == "answer n1->n2 on k"
    assert ls.frontier[0].known == {("n2", "n1", 0), ("n2", "n1", 1), ("n2", "n1", 2)}
    ls.quiesce()
    return ls


def _to_the_pruned_asker(ls: Lockstep) -> int:
    """:func:`answer_teaches_a_pruned_asker`'s steps up to the answer's delivery. The
    answer's id."""
    answer = _to_the_answer_naming_the_asked_copy(ls)
    ls.learn_retirement(LearnRetirement("n2", "n1", "n1", 0))
    deliver(ls, "ReplicaPut", "n1", "n2")
    return answer


def answer_teaches_a_pruned_asker() -> Lockstep:
    """:func:`answer_names_the_asked_copy`'s steps to the answer in flight; n2 learns
    n1~0 by the spec's gossip step, and v4's replica put prunes n1~0's entry from its
    copy; the answer then leaves n2's copy as it is and teaches it n1~1 and n1~2
    (entries with values): ``answer_actions``' ``LearnRetirement`` steps, which no
    other scenario reaches with anything to learn."""
    ls = Lockstep(THREE_CRASHES, asks_at_once=False)
    ls.deliver(_to_the_pruned_asker(ls))
    assert ls.frontier[0].known == {("n2", "n1", 0), ("n2", "n1", 1), ("n2", "n1", 2)}
    ls.quiesce()
    return ls


def answer_stale_by_a_restart() -> Lockstep:
    """The owed ask alone (TWO_CRASHES), v3's acknowledgement, then n2 restarts: n2
    knows n2~0 retired (v2's entry, in both copies), n1 does not. The spec's exchange
    would teach n1 n2~0, the answer teaches n1 nothing: it is stale (not delivered,
    dropped by quiescence; an exchange then teaches both)."""
    ls = Lockstep(TWO_CRASHES, asks_at_once=False)
    ls.deliver_ask(_owed_ask_in_flight(ls))
    [answer] = _answers(ls)
    deliver(ls, "ReplicaPutAck", "n2", "n1")
    ls.crash("n2")
    ls.recover("n2")
    assert [m.id for m in ls.stale_answers()] == [answer]
    ls.quiesce()
    return ls


REVIEWED: dict[str, Callable[[], Lockstep]] = {
    "ask-teaches-the-asked": ask_teaches_the_asked,
    "ask-prunes-the-asked": ask_prunes_the_asked,
    "answer-names-the-asked-copy": answer_names_the_asked_copy,
    "answer-teaches-a-pruned-asker": answer_teaches_a_pruned_asker,
    "answer-stale-by-a-restart": answer_stale_by_a_restart,
}


def test_the_pruned_asker_learns_by_learn_retirement() -> None:
    """The answer of ``answer-teaches-a-pruned-asker`` maps to two LearnRetirement
    steps (not a stutter: n2 learns; not the exchange: its copy stays)."""
    ls = Lockstep(THREE_CRASHES, asks_at_once=False)
    try:
        answer = _to_the_pruned_asker(ls)
        [m] = [m for m in ls.in_flight() if m.id == answer]
        assert ls._answer_actions(ls.answers_sent[id(m.message)]) == [
            LearnRetirement("n2", "n1", "n1", 1), LearnRetirement("n2", "n1", "n1", 2)]
    finally:
        ls.cluster.close()


@pytest.mark.parametrize("scenario", sorted(REVIEWED))
def test_a_reviewed_half_maps(scenario: str) -> None:
    ls = REVIEWED[scenario]()
    try:
        assert ls.verify() and ls.converged()
    finally:
        ls.cluster.close()


# ---------------------------------------------------------------- mutants

#: a one-way ask as the asked node sees it (a batch of no exchange live at it)
_ASK = "message.reply and (src, message.session) not in self._live"

#: impl mutants no test of session 38 killed (the session's walks, 300 from each
#: prefix, kill none of them)
REVIEW_MUTANTS: dict[str, Mutant] = {
    # the asked node takes no retirement a one-way ask names
    "ask-teaches-nothing": _mutant(
        node_module.Node, "receive",
        "elif isinstance(message, _CARRY_RETIRED) and message.retired:",
        "elif isinstance(message, _CARRY_RETIRED) and message.retired and not (\n"
        "                    isinstance(message, KeyRecords) and message.reply\n"
        "                    and (src, message.session) not in self.anti_entropy._live):"),
    # the ask names the retirements of the asker's merged copy only, not of the
    # one-way record it pruned it from
    "ask-names-merged-only": _mutant(
        AntiEntropy_, "ask_pruned", "retired=self.replica.carried(merged, theirs)",
        "retired=self.replica.carried(merged)"),
    # the asked node does not write its merge of a one-way ask
    "ask-merged-not-written": _mutant(
        AntiEntropy_, "on_key_records", "if merged != mine:",
        f"if merged != mine and not ({_ASK}):"),
    # the answer names the retirements of the ask's record only, not of the asked
    # node's own copy
    "answer-names-ask-only": _mutant(
        AntiEntropy_, "on_key_records",
        "seen.extend((mine,) if record is None else (mine, record))",
        f"seen.extend((mine,) if record is None else (record,) if {_ASK}\n"
        "                            else (mine, record))"),
}
#: mutant -> (scenario, the divergence's text)
REVIEW_KILLS = {
    "ask-teaches-nothing": ("ask-teaches-the-asked", r"one-way ask n2->n1 on k \(alone\)"),
    "ask-names-merged-only": ("ask-prunes-the-asked", "one-way ask n2->n1 on k"),
    "ask-merged-not-written": ("ask-prunes-the-asked", "one-way ask n2->n1 on k"),
    "answer-names-ask-only": ("answer-names-the-asked-copy", "answer n1->n2 on k"),
}


@pytest.mark.parametrize("mutant", sorted(REVIEW_KILLS))
def test_a_reviewed_half_kills_a_mutant(mutant: str) -> None:
    scenario, match = REVIEW_KILLS[mutant]
    with REVIEW_MUTANTS[mutant](), pytest.raises(Divergence, match=match):
        REVIEWED[scenario]()


#: harness mutants: the mapping rules made too permissive, or the half's learning
#: not let happen
HARNESS_MUTANTS: dict[str, Mutant] = {
    # half_actions without its copy check: every ask alone is LearnRetirement steps
    "half-skips-the-copy-check": _mutant(
        refinement, "half_actions",  # type: ignore[arg-type]
        "if _stores(config, state, asked, copy, record, new) is not copy:", "if False:"),
    # deliver_ask does not let the asked node learn from the ask
    "asked-not-listening": _mutant(
        Lockstep, "deliver_ask", "self._node(asked).retired.listen()", "pass"),
    # answer_actions' LearnRetirement steps (the asker's copy stays) teach nothing
    "answer-stutters": _mutant(
        refinement, "answer_actions",  # type: ignore[arg-type]
        "return [LearnRetirement(asker, asked, owner, lifetime)\n"
        "                for owner, lifetime in sorted(new)]", "return []"),
    # answer_actions without the check that the exchange teaches the asked node
    # nothing (a stale answer taken for the exchange)
    "answer-skips-the-asked-knowledge": _mutant(
        refinement, "answer_actions",  # type: ignore[arg-type]
        "if taught_asked != know_asked or taught_asker != know_asker | new:",
        "if taught_asker != know_asker | new:"),
    # answer_actions without the check of the asker's store
    "answer-skips-the-asker-store": _mutant(
        refinement, "answer_actions",  # type: ignore[arg-type]
        "if not (clocks.payload_equal(at_asked, theirs) and clocks.payload_equal(at_asker, "
        "outcome)):", "if not clocks.payload_equal(at_asked, theirs):"),
    # the ask kept as naming nothing (AskSent.carried empty)
    "ask-kept-naming-nothing": _mutant(
        Lockstep, "_note_asks", "named(knew, (copy, *(() if one_way is None else (one_way,))))",
        "frozenset()"),
}
#: harness mutant -> (scenario, the divergence's text): the correct implementation
#: diverges under each (the copy check's: below)
HARNESS_KILLS = {
    "asked-not-listening": ("ask-teaches-the-asked", r"n1 learnt \[\(.n1~\w+., 0\)\] from the ask"),
    "ask-kept-naming-nothing": ("ask-teaches-the-asked", "from the ask; the spec's steps"),
    "answer-stutters": ("answer-teaches-a-pruned-asker", "n2 learnt .* from the answer"),
}


def test_the_copy_check_keeps_the_pruning_ask_whole() -> None:
    """Harness mutant ``half-skips-the-copy-check``: the pruning ask is offered alone,
    mapped to ``LearnRetirement(n1, n2, n2, 0)``, and n1's copy (pruned) diverges
    from the spec's (unchanged)."""
    with HARNESS_MUTANTS["half-skips-the-copy-check"]():
        ls = Lockstep(TWO_GETS, asks_at_once=False)
        try:
            ask = _to_the_pruning_ask(ls)
            assert ask in [m.id for m in ls.asks_alone()]
            with pytest.raises(Divergence, match=r"one-way ask n2->n1 on k \(alone\)"):
                ls.deliver_ask(ask)
        finally:
            ls.cluster.close()


@pytest.mark.parametrize("mutant", sorted(HARNESS_KILLS))
def test_the_teaching_ask_kills_a_harness_mutant(mutant: str) -> None:
    scenario, match = HARNESS_KILLS[mutant]
    with HARNESS_MUTANTS[mutant](), pytest.raises(Divergence, match=match):
        REVIEWED[scenario]()


def test_a_stale_answer_teaches_the_asked_node_nothing() -> None:
    """Harness mutant ``answer-skips-the-asked-knowledge``: the stale answer of
    ``answer-stale-by-a-restart`` is taken for the exchange, whose successor has n1
    knowing n2~0; n1 received nothing, so the answer's step must diverge (session
    38's review: ``Lockstep.answer_round`` checks the asked node's knowledge too;
    before, the oracle told it n2~0 and the walk went on)."""
    with HARNESS_MUTANTS["answer-skips-the-asked-knowledge"]():
        ls = Lockstep(TWO_CRASHES, asks_at_once=False)
        try:
            ls.deliver_ask(_owed_ask_in_flight(ls))
            [answer] = _answers(ls)
            deliver(ls, "ReplicaPutAck", "n2", "n1")
            ls.crash("n2")
            ls.recover("n2")
            assert not ls.stale_answers()
            with pytest.raises(Divergence, match=r"n1 learnt .* from the answer; the spec's "
                               r"steps leave it knowing .*n2~"):
                ls.deliver(answer)
        finally:
            ls.cluster.close()


def test_a_walk_kills_the_asker_store_check_removed() -> None:
    """Harness mutant ``answer-skips-the-asker-store``: walk 168 from the retirement
    (the only one of 600, seeds 0-299 from each prefix) diverges."""
    with HARNESS_MUTANTS["answer-skips-the-asker-store"](), pytest.raises(Divergence):
        _walk(168, _from_the_retirement)
    _walk(168, _from_the_retirement).cluster.close()


# ---------------------------------------------------------------- walks


def _from_both_retirements(ls: Lockstep) -> None:
    """A walk prefix (TWO_RESTARTS): v1 put through n1, n1 restarted, c1 reads at n2
    and puts v2 through n2, n2 restarted: each node knows a retirement the other does
    not (the session's prefixes restart n1 only, so no walk of theirs has an asker
    that teaches: 0 of 600 kill ``ask-teaches-nothing``); the walk goes on from
    there (of seeds 0-299: 110 ask, 53 deliver an ask alone)."""
    _from_the_retirement(ls)
    ls.crash("n2")
    ls.recover("n2")


def _walk_both(seed: int) -> Lockstep:
    return walk(TWO_RESTARTS, seed, asks_at_once=False, prefix=_from_both_retirements,
                halves=True)


#: walk 3 from both retirements kills these (of seeds 0-299: 85 kill
#: ask-teaches-nothing, 47 each harness mutant)
BOTH_KILLS = ("ask-teaches-nothing", "asked-not-listening", "ask-kept-naming-nothing")


def test_a_walk_from_both_retirements_passes() -> None:
    _walk_both(3).cluster.close()


@pytest.mark.parametrize("mutant", BOTH_KILLS)
def test_a_walk_from_both_retirements_kills_a_mutant(mutant: str) -> None:
    with {**REVIEW_MUTANTS, **HARNESS_MUTANTS}[mutant](), pytest.raises(Divergence):
        _walk_both(3)


@pytest.mark.skipif(PROFILE != "soak", reason="2,000 walks: about 60 CPU-s (soak profile)")
def test_the_walks_from_both_retirements_pass() -> None:
    asked = 0
    for seed in range(SOAK_WALKS):
        ls = _walk_both(seed)
        asked += bool(ls.asks_sent)
        ls.cluster.close()
    assert asked > 0
