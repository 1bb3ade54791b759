"""The spec's get reads its coordinator's own copy again as it answers (session 56:
:func:`spec.coordination._read_own_again`), so a hint handed to the coordinator
during the read is not missed: hole 4 closed in the spec and the implementation
together (``tests/impl/test_hint_moved_during_a_read.py``). The schedule
(sloppy-crash-hinted-reads with no crash and two drops; ``k``'s top N is n1, n2,
n4, its fallback n3): a put through n1 whose replica put to n2 is dropped, n3
keeping n2's share as a hint, acknowledged by n1 and n3 (n4's replica put still in
flight); a get through n2 (its own empty copy counted), whose replica get to n1 is
dropped, n3 asked on the timeout; n3 hands its hint to n2 (delivered,
acknowledged); n3 answers empty. W = {n1, n3} and R = {n2, n3} meet at n3, and the
write moved from n3 to n2 between n2's first read and n3's answer: the get returns
the put.

Mutant (the rule before session 56, kept as :func:`_read_once`, run by the third
test): the coordinator's own copy read once, when the get starts
(:func:`spec.coordination.start`), ``_read_own_again`` returning the replies
unchanged: the get returns nothing and ``read_your_writes`` fails in 14 steps
(the first test then fails: ``[((1,), ())] == [((1,), (1,))]``). No suite entry
showed it: sloppy-crash-hinted-reads (one crash, no drops) expects
``read_your_writes`` violated already, by a shorter crash schedule; no entry has
hinted reads with drops. The second test shows the hand-over is what made the
miss (without it n3 answers with its hint).
"""

from __future__ import annotations

from typing import Any

import pytest

from model_check.properties import read_your_writes
from model_check.spec_model import spec_model
from model_check.suite import entry
from spec import coordination
from spec.state import Coordination, State
from spec.step import Edit

#: (action, node or message fields) matched against the enabled steps' JSON, in order
_PUT: tuple[dict[str, Any], ...] = (
    {"action": "client-put", "node": "n1"},
    {"action": "drop", "message": {"kind": "replica-put", "dst": "n2"}},
    {"action": "timeout", "node": "n1", "target": "n2"},
    {"action": "deliver", "message": {"kind": "replica-put", "dst": "n3"}},
    {"action": "deliver", "message": {"kind": "replica-put-ack", "src": "n3"}},
    {"action": "client-get", "node": "n2"},
    {"action": "drop", "message": {"kind": "replica-get", "src": "n2", "dst": "n1"}},
    {"action": "timeout", "node": "n2", "target": "n1"},
)
_HAND_OVER: tuple[dict[str, Any], ...] = (
    {"action": "handoff", "node": "n3"},
    {"action": "deliver", "message": {"kind": "hint-delivery", "src": "n3", "dst": "n2"}},
    {"action": "deliver", "message": {"kind": "hint-ack", "src": "n2", "dst": "n3"}},
)
_ANSWER: tuple[dict[str, Any], ...] = (
    {"action": "deliver", "message": {"kind": "replica-get", "src": "n2", "dst": "n3"}},
    {"action": "deliver", "message": {"kind": "replica-get-reply", "src": "n3", "dst": "n2"}},
)


def _matches(found: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(found.get(field) == value if not isinstance(value, dict)
               else _matches(found.get(field, {}), value) for field, value in wanted.items())


def _run(steps: tuple[dict[str, Any], ...]) -> State:
    """The state the schedule ``steps`` reaches (each the first enabled step matching)."""
    config = entry("sloppy-crash-hinted-reads").config.replace(
        name="hint-moved-during-a-get", crashes=0, drops=2)
    model = spec_model(config)
    state = model.initial_states()[0]
    for wanted in steps:
        state = next(after for action, after in model.successors(state)
                     if _matches(model.action_to_json(action), wanted))
    return state


def test_the_spec_s_get_reads_a_hint_handed_to_its_coordinator() -> None:
    state = _run(_PUT + _HAND_OVER + _ANSWER)
    assert state.clients[0].acked == (1,)
    assert [(get.acked_before, get.returned) for get in state.clients[0].gets] == [((1,), (1,))]
    assert read_your_writes(state)


def test_without_the_hand_over_the_fallback_answers_with_its_hint() -> None:
    state = _run(_PUT + _ANSWER)
    assert [(get.acked_before, get.returned) for get in state.clients[0].gets] == [((1,), (1,))]
    assert read_your_writes(state)


def _read_once(edit: Edit, node: str, coord: Coordination) -> tuple[tuple[str, Any], ...]:
    """The rule before session 56: the coordinator's first read only."""
    return coord.replies


def test_the_rule_before_session_56_missed_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mutant of the module docstring, pinned: the old rule's 14-step
    ``read_your_writes`` violation."""
    monkeypatch.setattr(coordination, "_read_own_again", _read_once)
    state = _run(_PUT + _HAND_OVER + _ANSWER)
    assert [(get.acked_before, get.returned) for get in state.clients[0].gets] == [((1,), ())]
    assert not read_your_writes(state)
