"""The conformance harness's two reap refusals (model_check/refinement_conformance.py,
``MEMBER_DOWN`` and ``LIVE_ELSEWHERE``) on an edge of each, and mutants they must not
excuse: a rule that says "unmapped" for a reap the implementation does not take has to
bite when the implementation does less for another reason.

The paths are spec paths of the suite entries (shortest paths of their reachable
graphs, found by the conformance run), replayed on a fresh lockstep
(:func:`~model_check.refinement_conformance.check_edge`, the reference mode).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from impl.reaping import Reaper
from model_check.refinement_conformance import LIVE_ELSEWHERE, MEMBER_DOWN, check_edge
from model_check.suite import entry
from spec import model as spec_model
from spec.actions import Action
from spec.config import Config
from spec.state import State
from tests.refinement.mutations import TEST_KILLED

OTHER_SUCCESSOR = "diverged: the implementation reached another spec successor"

#: the edges, each a spec path of a suite entry and a ``Reap`` from its end:
#: ``strict-crash-member-down`` (delete-safe-strict-crash): c1 puts v1 through n3, reads
#: it, deletes it through n1; every replica acknowledges, a get through n2 begins, n2
#: crashes. The spec reaps n1 (guard 3 reads n2's store: the tombstone); the
#: implementation's round waits for n2. ``strict-crash-all-up``: the same, the get
#: answered instead of the crash: the implementation reaps.
#: ``join-immediate-live-elsewhere`` (delete-join-immediate): n3 joins (naive handover);
#: c1 puts v1 through n1, reads nothing through n3 and deletes blindly through n3: n1
#: keeps v1 beside the tombstone (concurrent). The spec reaps n3 (no acknowledged delete
#: covers v1); the implementation's round finds n1's live v1 and refuses.
#: ``join-immediate-outside-copy``: n3 joins and hands over; c1's put through n1 (which
#: has not heard of the join) writes a late copy of v1 to the old owner n2; c1 reads v1
#: and deletes it through n3. The spec drops n2's copy (the tombstone dominates it);
#: the implementation's query settles it (``Reaper._settle_dominated``).
PATHS: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parent / "reap_refusal_paths.json").read_text())


def _edge(name: str) -> tuple[Config, list[Action], Action, State]:
    """Edge ``name``'s config, path, action and target (the spec's)."""
    config = entry(PATHS[name]["entry"]).config
    path = [spec_model.action_from_json(dict(step)) for step in PATHS[name]["path"]]
    state = spec_model.initial_state(config)
    for step in path:
        state = next(after for label, after in spec_model.successors(state) if label == step)
    action = spec_model.action_from_json(dict(PATHS[name]["edge"]))
    target = next(after for label, after in spec_model.successors(state) if label == action)
    return config, path, action, target


def _outcome(name: str) -> str:
    return check_edge(*_edge(name))


def test_a_reap_with_a_member_down_is_refused_by_rule() -> None:
    assert _outcome("strict-crash-member-down") == MEMBER_DOWN
    # the same edge with every member up: the implementation reaps
    assert _outcome("strict-crash-all-up") == "agreed"


def test_a_reap_with_a_live_version_elsewhere_is_refused_by_rule() -> None:
    assert _outcome("join-immediate-live-elsewhere") == LIVE_ELSEWHERE


@pytest.mark.parametrize("mutant", ["round-ignores-answers", "member-never-clean"])
def test_the_reap_refusal_rules_bite(monkeypatch: pytest.MonkeyPatch, mutant: str) -> None:
    """A reap round that never hears its members' clean answers (it waits for members
    that are up), or members that always answer not clean (holding no live version),
    does less: neither rule excuses it, with a member down or not."""
    if mutant == "round-ignores-answers":
        monkeypatch.setattr(Reaper, "on_query_reply", lambda self, src, message: [])
    else:
        monkeypatch.setattr(Reaper, "_clean", lambda self, key, view: False)
    assert _outcome("strict-crash-member-down") == OTHER_SUCCESSOR
    assert _outcome("strict-crash-all-up") == OTHER_SUCCESSOR


def test_a_round_that_skips_the_member_down_reaps_and_agrees() -> None:
    """The outcome follows what the implementation does: with the reviewer's M17 (a
    round asks only the members its failure detector believes up; the harness's
    detector suspects exactly the unreachable nodes) the implementation reaps with n2
    down, and the spec allows it (n2 holds the tombstone): agreed, not excused. (M17
    is killed by tests/impl/test_reap_members.py, where the member down holds a
    live version.)"""
    mutant, _ = TEST_KILLED["reap-asks-only-believed-up"]
    with mutant():
        assert _outcome("strict-crash-member-down") == "agreed"


def test_a_round_that_reaps_on_its_retry_is_not_excused() -> None:
    """An excuse is checked, not trusted (session 10): after a spec ``Reap`` refused by
    ``MEMBER_DOWN`` the harness fires the deciding node's reap timer again until the
    round is given up (``_refusal_checked``: 8 more firings, each a checked stutter on
    the real code); the reviewer's F2 (``reap-on-retry``: the retry reaps while the
    member it waits for is still down) reaps at the first retry, which the spec allows
    here (n2's store holds the tombstone) but the rule's claim does not: diverged. The
    ``LIVE_ELSEWHERE`` edge is driven the same way and stays excused under F2 (its
    rounds end on n1's not-clean answer, no round waits at a retry)."""
    mutant, _ = TEST_KILLED["reap-on-retry"]
    assert _outcome("strict-crash-member-down") == MEMBER_DOWN
    with mutant():
        outcome = _outcome("strict-crash-member-down")
        assert _outcome("join-immediate-live-elsewhere") == LIVE_ELSEWHERE
        assert _outcome("strict-crash-all-up") == "agreed"
    assert outcome.startswith("diverged: n1 reaped n1, n3 at retry 1 of a round its rule "
                              "excused"), outcome


@pytest.mark.parametrize(("name", "retry"), [("reap-on-second-retry", "retry 2"),
                                            ("reap-after-one-round-more", "retry 9"),
                                            ("reap-never-given-up", "never given up")])
def test_a_round_that_reaps_on_a_later_retry_is_not_excused(name: str, retry: str) -> None:
    """The refused round is driven to its very end: a reaper that reaps from its 2nd
    retry on (a harness that drove one retry excused it), and one that gives up one
    round later than ``REAP_ATTEMPTS`` and reaps at that extra retry (the session-10
    harness stopped after ``REAP_ATTEMPTS`` firings with the timer still set and
    excused it; now the timer is fired up to ``REFUSAL_FIRINGS`` times and one still
    set then is a round never given up, the third mutant): all diverge (the first two
    are the session-10 reviewer's F2' and F2'')."""
    mutant, _ = TEST_KILLED[name]
    with mutant():
        outcome = _outcome("strict-crash-member-down")
    assert outcome.startswith("diverged: n1"), outcome
    assert retry in outcome, outcome


def test_a_dominated_copy_is_no_excuse(monkeypatch: pytest.MonkeyPatch) -> None:
    """``LIVE_ELSEWHERE`` excuses a live version the tombstone does not dominate only:
    a member that keeps a copy the tombstone dominates (it does not settle it, and
    answers not clean) does less, and the spec's outside-copy drop diverges."""
    assert _outcome("join-immediate-outside-copy") == "agreed"
    monkeypatch.setattr(Reaper, "_settle_dominated", lambda self, key, tombstone, view: None)
    assert _outcome("join-immediate-outside-copy") == OTHER_SUCCESSOR


def test_a_path_through_a_refused_reap_is_not_followed() -> None:
    """A spec ``Reap`` on the path to an edge's source that the implementation refused
    (a stutter) leaves the implementation's copy where the spec's path has none: the
    edges after it are not reached (``source-unreached``), not compared with the
    wrong state. (Without that rule, delete-fallback-copy had 4 reap edges "diverged"
    and 2 "agreed" on such paths.)"""
    config, path, reap, _ = _edge("strict-crash-member-down")
    state = spec_model.initial_state(config)
    for step in [*path, reap]:
        state = next(after for label, after in spec_model.successors(state) if label == step)
    after, target = next((label, after) for label, after in spec_model.successors(state)
                         if label.kind == "reap")
    assert check_edge(config, [*path, reap], after, target) == "source-unreached"
