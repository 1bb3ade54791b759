"""The lockstep runs the one-way ask of session 35 (session 36).

With ``prune_knowledge = "learnt"`` the harness tells each node the retirements the
spec's state gives it, and until session 36 a told node never asked
(``RetiredActors.kept_pruned`` was false once told), so a mutant that broke the ask
passed every test of tests/refinement. Now the harness tells with ``asks`` and, for
the ask's round, stops telling the two nodes (``RetiredActors.listen``): the ask and
its answer are delivered in one step mapped to the spec's ``AntiEntropy`` of the two
nodes and the key (``Lockstep.ask_round``), and what the nodes learnt from them must
be what the spec's exchange teaches; a replica whose merge owes an ask in the spec's
state (``model_check.refinement_ask.ask_owed``) and sent none is a divergence
(``Lockstep._asked_if_owed``). The exhaustive conformance leaves the ask in flight
(``asks_at_once`` False: each spec edge must reach its own target) and checks only
that it is sent. docs/refinement.md, "The one-way ask in the lockstep (session 36)".
"""

from __future__ import annotations

import pytest

from impl.antientropy import AntiEntropy as AntiEntropy_
from impl.retired import RetiredActors
from model_check.refinement import Divergence, Lockstep
from model_check.refinement_ask import ask_owed
from model_check.suite import entry
from spec.actions import AntiEntropy
from tests.conftest import PROFILE
from tests.refinement.mutations import ONE_WAY_MUTANTS, _mutant, _patch
from tests.refinement.scenarios import SCENARIOS, acked_put, deliver, to_the_one_way_put
from tests.refinement.walks import walk

CONFIG = entry("dvv-prune-learnt").config


def test_the_ask_is_the_spec_exchange_and_teaches_what_it_teaches() -> None:
    """n2's merge of v3's record keeps n1's retired first lifetime's entry: the spec
    owes an ask; n2 asks n1 once; the round maps to the spec's exchange of n1 and n2
    on k (n2 learns n1~0 retired, as the spec's exchange teaches) and leaves both
    copies as n1's, the entry gone."""
    ls = SCENARIOS["one-way-ask"]()
    try:
        state = ls.frontier[0]
        assert ls.history[-2:] == ["one-way ask n2->n1 on k", "deliver ReplicaPutAck n2->n1"]
        assert state.known == {("n2", "n1", 0)}
        assert state.node("n1").store == state.node("n2").store
        assert "n1" not in {e.id for e in state.node("n2").store[0].entries}
        assert ls._node("n2").stats["one-way-pruned-asks"] == 1
        assert ls._node("n1").stats["one-way-pruned-asks"] == 0
    finally:
        ls.cluster.close()


def test_the_spec_owes_the_ask_only_where_the_record_lacks_a_pruned_entry() -> None:
    """:func:`ask_owed` on the spec's states: owed after v3's replica put at n2, not
    after v2's at n1 (n1 knows its own retirement and prunes the entry), nor once n2
    learnt the retirement."""
    ls = Lockstep(CONFIG, asks_at_once=False)
    try:
        to_the_one_way_put(ls)
        put = next(m for m in ls.deliverable() if type(m.message).__name__ == "ReplicaPut")
        message = ls.abstract_message(put)
        assert message is not None
        ls.deliver(put.id)
        state = ls.frontier[0]
        assert ask_owed(CONFIG, state, "n2", "k", message.payload)
        assert not ask_owed(CONFIG, state, "n1", "k", message.payload)
        # the ask is left in flight here (the conformance's mode), the stores untouched
        asks = [m for m in ls.deliverable() if type(m.message).__name__ == "KeyRecords"]
        assert [(m.src, m.dest) for m in asks] == [("n2", "n1")]
        ls.deliver(asks[0].id)  # the round, now: the spec's exchange
        assert ls.history[-1] == "one-way ask n2->n1 on k"
        assert not ask_owed(CONFIG, ls.frontier[0], "n2", "k", message.payload)
        assert ls.verify()
    finally:
        ls.cluster.close()


def test_without_the_owed_check_a_replica_that_never_asks_passes() -> None:
    """The check that kills ``one-way-never-asks`` is the owed ask's
    (``Lockstep._asked_if_owed``): without it every step of the scenario is a spec
    step (the delivery alone; the spec's exchange is optional), so the mutant passes."""
    with ONE_WAY_MUTANTS["one-way-never-asks"](), \
            _patch(Lockstep, "_asked_if_owed", lambda *args: None):
        ls = Lockstep(CONFIG)
        try:
            to_the_one_way_put(ls)
            deliver(ls, "ReplicaPut", "n1", "n2")
            deliver(ls, "ReplicaPutAck", "n2", "n1")
            assert ls.verify()
            assert not any(step.startswith("one-way ask") for step in ls.history)
            # n2 keeps n1's retired entry, as the spec's state after the delivery does
            assert "n1" in {e.id for e in ls.frontier[0].node("n2").store[0].entries}
        finally:
            ls.cluster.close()


def test_the_round_must_be_the_spec_exchange() -> None:
    """Harness mutant: the ask's round mapped to a stutter: n2's copy lost the entry,
    which no stutter does, so the round diverges."""
    def stutter(self: Lockstep, label: str, actions: list[object], before: set[int],
                gap: object = None) -> None:
        if label.startswith("one-way ask"):
            actions = [a for a in actions if not isinstance(a, AntiEntropy)]
        real(self, label, actions, before, gap)  # type: ignore[arg-type]

    real = Lockstep._settle
    with _patch(Lockstep, "_settle", stutter), pytest.raises(Divergence, match="one-way ask"):
        SCENARIOS["one-way-ask"]()


@pytest.mark.parametrize("mutant", sorted(ONE_WAY_MUTANTS))
def test_the_conformance_mode_checks_the_ask_is_sent(mutant: str) -> None:
    """With the ask left in flight (``asks_at_once`` False, the conformance's mode)
    the delivery step checks only that the owed ask was sent: the mutants that send
    none (never asking; the ask sent as an answer) diverge there, the others only
    at the round (which the conformance never runs: its edges are the spec's)."""
    sends_none = mutant in ("one-way-never-asks", "one-way-ask-unanswered")
    with ONE_WAY_MUTANTS[mutant]():
        ls = Lockstep(CONFIG, asks_at_once=False)
        try:
            to_the_one_way_put(ls)
            if sends_none:
                with pytest.raises(Divergence, match="and asked nothing"):
                    deliver(ls, "ReplicaPut", "n1", "n2")
            else:
                deliver(ls, "ReplicaPut", "n1", "n2")
                with pytest.raises(Divergence, match="one-way ask n2->n1 on k"):
                    deliver(ls, "KeyRecords", "n2", "n1")
        finally:
            ls.cluster.close()


@pytest.mark.skipif(PROFILE != "soak", reason="the whole graph: about 25 CPU-s per run "
                    "(soak profile)")
@pytest.mark.parametrize("mutant", [None, "one-way-never-asks", "one-way-ask-unanswered"])
def test_the_whole_graph_conformance(mutant: str | None) -> None:
    """Every edge of dvv-prune-learnt (19,768 agreed, 0 diverged; 19,506 from session
    36 until session 39 replicated a put whole); the mutants that send no ask diverge
    on edges where the spec owes one."""
    from contextlib import nullcontext

    from model_check.refinement_conformance import conformance

    with ONE_WAY_MUTANTS[mutant]() if mutant else nullcontext():
        report = conformance(CONFIG)
    if mutant is None:
        assert report.outcomes["diverged"] == 0, "\n".join(report.divergences[:3])
        assert report.outcomes["agreed"] == 19_768
    else:
        assert report.outcomes["diverged"] > 0, report.row()


#: seeded walks of dvv-prune-learnt (``tests.refinement.walks``, 40 steps) whose run
#: sends a one-way ask: 4 of seeds 0-1999 (217, 222, 1041, 1297; session 36: 217,
#: 616, 1138, 1297, before session 39 replicated a put whole, its context's entries
#: with it); every mutant of ``ONE_WAY_MUTANTS`` diverges on each (session 36)
ASKING_WALKS = (217, 222)
#: the seeds the soak profile walks (about 43 CPU-s)
SOAK_WALKS = 2000


@pytest.mark.parametrize("seed", ASKING_WALKS)
def test_a_seeded_walk_that_asks_passes_and_kills_every_one_way_mutant(seed: int) -> None:
    ls = walk(CONFIG, seed)
    assert any(step.startswith("one-way ask") for step in ls.history), ls.history
    for mutant in ONE_WAY_MUTANTS.values():
        with mutant(), pytest.raises(Divergence):
            walk(CONFIG, seed)


@pytest.mark.skipif(PROFILE != "soak", reason="2,000 walks: about 43 CPU-s (soak profile)")
def test_the_seeded_walks_of_the_learnt_entry_pass() -> None:
    asking = [seed for seed in range(SOAK_WALKS)
              if any(step.startswith("one-way ask") for step in walk(CONFIG, seed).history)]
    assert set(ASKING_WALKS) <= set(asking), asking


#: mutants of session 36's support for the ask in impl/retired.py (one further mutant,
#: ``listen`` setting ``learns`` only, is equivalent: no one-way merge happens within
#: a round, and the nodes are told again, with ``asks``, right after it)
SUPPORT_MUTANTS = {
    # the revert: a told node never asks (kept_pruned guarded by learns, as before)
    "kept-pruned-guarded-by-learns": _mutant(
        RetiredActors, "kept_pruned", "if not self.asks or", "if not self.learns or"),
    "tell-ignores-asks": _mutant(RetiredActors, "tell", "self.asks = asks", "self.asks = False"),
    # the harness cannot stop telling: the asker never takes the answer's retirements
    "listen-a-no-op": _mutant(RetiredActors, "listen", "self.learns = self.asks = True",
                              "return"),
}


@pytest.mark.parametrize("mutant", sorted(SUPPORT_MUTANTS))
def test_the_scenario_kills_a_mutant_of_the_support(mutant: str) -> None:
    with SUPPORT_MUTANTS[mutant](), pytest.raises(Divergence):
        SCENARIOS["one-way-ask"]()


# ---- session 36's review: a hold of the ask must stand on an ask the lockstep saw ----

#: mutants of the review (session 36): one the lockstep's owed check missed before
#: its fix (a node that counts a hold and never asks), and the ask asked in fewer cases
REVIEW_MUTANTS = {
    # every owed ask held back (counted as ``one-way-pruned-asks-held``), none sent
    "held-always": _mutant(
        AntiEntropy_, "ask_pruned",
        "if last is not None and now - last < self.config.request_timeout:", "if True:"),
    # a replica asks after every merge that changed its copy (session 35's rule
    # dropped: the round maps to the spec's exchange, which may happen at any moment)
    "asks-always": _mutant(RetiredActors, "kept_pruned", "return extra", "return True"),
    # the asked node's answer names every retirement it knows, not those of the
    # entries of the records it merged (the asker learns more than the exchange teaches)
    "answer-names-all-known": _mutant(
        RetiredActors, "carried", "told = retired_among(records, self.known)",
        "told = dict(self.known)"),
    # the ask names no retirement (the asked node learns nothing from the asker)
    "ask-names-nothing": _mutant(
        AntiEntropy_, "ask_pruned", "retired=self.replica.carried(merged, theirs)",
        "retired=b''"),
    # the asked node stores the union unpruned (a one-key batch, reply True: the ask)
    "asked-stores-union": _mutant(
        AntiEntropy_, "on_key_records", "merged = replica.prune(union)\n",
        "merged = replica.prune(union)\n"
        "        if message.reply and len(message.keys) == 1 and union != mine:\n"
        "            replica.store(key, encode_record(union))\n"
        "            merged = mine\n"),
}


def test_a_hold_without_an_ask_is_no_excuse() -> None:
    """``Lockstep._asked_if_owed`` took the receiver's own counter
    ``one-way-pruned-asks-held`` as the proof that an ask of the key is on its way:
    a node that counted a hold and sent nothing passed the owed check (the scenario
    killed ``held-always`` only by its own assertion on the history, and the
    whole-graph conformance not at all). A hold now counts only where the lockstep
    saw that node, since its last start, send an ask of the key (``Lockstep.asked``)."""
    with REVIEW_MUTANTS["held-always"]():
        ls = Lockstep(CONFIG, asks_at_once=False)
        try:
            to_the_one_way_put(ls)
            with pytest.raises(Divergence, match="counted a hold, but sent no ask"):
                deliver(ls, "ReplicaPut", "n1", "n2")
            assert ls._node("n2").stats["one-way-pruned-asks-held"] == 1
        finally:
            ls.cluster.close()


def test_an_ask_no_spec_state_owes_diverges() -> None:
    """An ask is checked both ways: a replica that asks where ``ask_owed`` holds in no
    spec state of the frontier diverges at the delivery (session 36's review: the
    round maps to the spec's exchange, enabled whenever the copies differ, so
    ``asks-always`` passed the lockstep; the scenario caught it only by its own
    assertion on the history, the whole-graph conformance not at all: 19,506 agreed,
    0 diverged; now 1,182 diverged)."""
    with REVIEW_MUTANTS["asks-always"]():
        ls = Lockstep(CONFIG)
        try:
            acked_put(ls, "c1", "n1", "n2")
            ls.crash("n1")
            ls.recover("n1")
            ls.get("c1", "n2", "k")
            deliver(ls, "ReplicaGet", "n2", "n1")
            deliver(ls, "ReplicaGetReply", "n1", "n2")
            ls.put("c1", "n2", "k")  # v2 over v1: n2's record keeps n1's entry
            # n1 prunes it (its own retired lifetime): its copy differs from the
            # record, an entry fewer, nothing owed
            with pytest.raises(Divergence, match="where no spec state owes an ask"):
                deliver(ls, "ReplicaPut", "n2", "n1")
        finally:
            ls.cluster.close()


def test_the_ask_seen_is_recorded_per_start() -> None:
    """The ask the lockstep saw is kept with the node object that sent it, so a
    hold after a restart (a new node, its ``_asked`` empty) stands on nothing."""
    ls = Lockstep(CONFIG, asks_at_once=False)
    try:
        to_the_one_way_put(ls)
        deliver(ls, "ReplicaPut", "n1", "n2")
        assert ls.asked == {("n2", "k"): ls._node("n2")}
    finally:
        ls.cluster.close()


#: review mutant -> the scenario that kills it, and the divergence's text
REVIEW_KILLS = {
    "answer-names-all-known": ("one-way-ask-two-retirements",
                               "n2 learnt .* from the ask; the spec's steps"),
    "ask-names-nothing": ("one-way-ask-both-retired",
                          "n1 learnt .* from the ask; the spec's steps"),
    "asked-stores-union": ("one-way-ask", "nodes.n1.store"),
}


@pytest.mark.parametrize("mutant", sorted(REVIEW_KILLS))
def test_a_review_mutant_of_the_round_is_killed(mutant: str) -> None:
    """Session 36's review: in dvv-prune-learnt (one crash: one retirement, the one
    the ask is about) what the round teaches beyond it cannot differ, so the
    knowledge check of ``Lockstep.ask_round`` had nothing to kill; with two crashes
    (``scenarios.TWO_CRASHES``) an answer naming more, or an ask naming nothing,
    diverges there. A wrong merge at the asked node diverges on its store."""
    scenario, match = REVIEW_KILLS[mutant]
    with REVIEW_MUTANTS[mutant](), pytest.raises(Divergence, match=match):
        SCENARIOS[scenario]()


@pytest.mark.parametrize("mutant", ["answer-names-all-known", "ask-names-nothing"])
def test_only_the_knowledge_check_kills_a_wrong_teaching(mutant: str) -> None:
    """Without the round's knowledge check (its condition made false) the two
    mutants that teach wrongly pass their scenarios: the stores are the same (the
    extra retirement minted no entry; the unlearnt one's entry holds a value)."""
    scenario, _ = REVIEW_KILLS[mutant]
    # (the round's check is ``Lockstep._check_learnt`` since session 38, shared with
    # the half exchanges)
    with REVIEW_MUTANTS[mutant](), _mutant(Lockstep, "_check_learnt",
                                           "if known not in taught:", "if False:")():
        SCENARIOS[scenario]().cluster.close()
