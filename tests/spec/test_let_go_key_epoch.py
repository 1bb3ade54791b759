"""kv679 through a membership change, in the spec: an old owner that lets its
handed-over copy of a key go (the settlement, :mod:`spec.membership`) forgets its
counters for the key with it, so it begins a new key epoch there, as a reap does
(:func:`spec.deletes.forget_copy`).

The walk (41 steps; 4 nodes, two clients, one drop, a join then a leave): n3
coordinates c1's put of ``k`` (dot ``n3:1``; its replica put to n1 is lost); n4
joins and takes n3's place in k's top N; at the settlement n3 lets its copy go.
Then n1 leaves: k's range comes back to n3 with n1's copy, which never held
``n3:1``. c2's blind put through n3 mints ``n3:1`` again, for another value: n2
and n4 hold ``n3:1`` already and drop it as seen, the put is acknowledged (n3 and
n2), and c2's get returns c1's value only (``read_your_writes`` violated). With the
key epoch n3 mints ``n3~0.1:1``: a sibling, kept.

The spec refuses deletes with membership and has no fallback coordinator, so this
is the only way the spec reaches the reuse: a range that comes back from a node
that missed the old owner's write. The checker does not reach it exhaustively:
on this configuration 400,000 states reach depth 10 of the walk's 41 (256 s, session
6). This walk is the counterexample, and the seeded mutant ``let-go-keeps-actor`` (the settlement
empties the copy without a key epoch, the rule before) shows the test fails
without the fix.
"""

from __future__ import annotations

import pytest

import spec.deletes
import spec.membership
from model_check.properties import acked_writes_durable, read_your_writes
from spec.actions import (
    Action,
    ClientGet,
    ClientPut,
    Deliver,
    DiskLoss,
    Drop,
    Gossip,
    Handover,
    Join,
    Leave,
    Recover,
    Settle,
    Transfer,
)
from spec.clocks import values
from spec.config import Config
from spec.dvv import ids
from spec.model import initial_state, successors
from spec.state import State
from spec.step import Edit, plan_of
from tests.spec.test_model import do

CONFIG = Config(name="kv679-let-go", nodes=("n1", "n2", "n3"), n=3, r=2, w=2, clock="dvv",
                drops=1, clients=2, puts_per_client=1, gets_per_client=1,
                anti_entropy=False, joining=("n4",), joins=1, leaves=1)

_PROGRESS = (Gossip, Transfer, Handover, Settle, Deliver)


def _progress(state: State, steps: list[Action]) -> State:
    """Take the first enabled delivery, gossip, transfer, handover or settlement
    until none is left (a fault-free run to quiescence)."""
    while True:
        for action, after in successors(state):
            if isinstance(action, _PROGRESS):
                state = after
                steps.append(action)
                break
        else:
            return state


def _walk() -> tuple[State, list[Action]]:
    steps: list[Action] = []

    def act(state: State, action: Action) -> State:
        steps.append(action)
        return do(state, action)

    assert CONFIG.ring.preference_list("k") == ("n4", "n1", "n2", "n3")  # n4 displaces n3
    state = act(initial_state(CONFIG), ClientPut("c1", "n3", "k"))
    state = act(state, Drop(next(m for m in state.messages if m.dst == "n1")))
    state = _progress(state, steps)
    state = _progress(act(state, Join("n4")), steps)
    assert not values(state.node("n3").store[0])  # let go at the settlement
    state = _progress(act(state, Leave("n1")), steps)
    state = _progress(act(state, ClientPut("c2", "n3", "k")), steps)
    state = _progress(act(state, ClientGet("c2", "n2", "k")), steps)
    return state, steps


def _let_go_keeps_actor(edit: Edit, state: State, name: str, key: str) -> None:
    """The seeded mutant: the copy is emptied, the key epochs are left as they were."""
    kept = edit.key_epochs
    forget_copy(edit, state, name, key)
    edit.key_epochs = kept


forget_copy = spec.membership.forget_copy


@pytest.mark.parametrize("mutant", [None, "let-go-keeps-actor"])
def test_a_let_go_copy_begins_a_key_epoch(mutant: str | None,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if mutant:
        monkeypatch.setattr(spec.membership, "forget_copy", _let_go_keeps_actor)
    state, steps = _walk()
    assert len(steps) == 41
    assert state.clients[1].acked == (2,)  # c2's put (put id 2) was acknowledged
    (get,) = state.clients[1].gets
    assert get.acked_before == (2,)
    if mutant:  # n3 re-minted n3:1: the replicas dropped c2's value as seen
        assert state.key_epochs == frozenset()
        assert get.returned == (1,)
        assert not read_your_writes(state)
    else:
        assert state.key_epochs == frozenset({("n3", "k", 1)})
        assert state.actor("n3", "k") == "n3~0.1"
        assert get.returned == (1, 2)
        assert read_your_writes(state) and acked_writes_durable(state)


# -- a let-go after the node's actor is no longer its bare name (review 2's B5) -----
# The rule asks whether the copy carries a counter of the actor the node mints the
# key under *now* (``Edit.actor(name, key)``), not of its bare name: after a disk
# loss (actor ``n3~1``) or an earlier let-go of the same key (actor ``n3~0.1``) the
# copy carries only the new actor's counters. The mutant that asks about the bare
# name begins no epoch there, and the node would mint those counters again (kv679).

_DIRECT = Config(name="kv679-let-go-again", nodes=("n1", "n2", "n3"), n=3, r=2, w=2,
                 clock="dvv", clients=1, puts_per_client=2, gets_per_client=0,
                 anti_entropy=False, disk_losses=1)


def _delivered(state: State) -> State:
    while True:
        step = next(((a, s) for a, s in successors(state) if isinstance(a, Deliver)), None)
        if step is None:
            return state
        state = step[1]


def _let_go(state: State, name: str, key: str) -> State:
    edit = Edit(state, plan_of(state.config))
    spec.membership.forget_copy(edit, state, name, key)
    return edit.build()


_forget_copy = spec.deletes.forget_copy


def _bare_name_rule(edit: Edit, state: State, name: str, key: str) -> None:
    """The mutant B5: the epoch begins only if the copy mentions ``name`` itself."""
    plan = edit.plan
    held = edit.node(name).store[plan.key_index[key]]
    kept = edit.key_epochs
    _forget_copy(edit, state, name, key)
    if not spec.deletes._mentions(state, held, name):
        edit.key_epochs = kept


@pytest.mark.parametrize("mutant", [False, True])
def test_a_second_let_go_of_a_key_begins_another_epoch(
        mutant: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if mutant:
        monkeypatch.setattr(spec.membership, "forget_copy", _bare_name_rule)
    state = _delivered(do(initial_state(_DIRECT), ClientPut("c1", "n3", "k")))
    state = _let_go(state, "n3", "k")
    assert state.actor("n3", "k") == "n3~0.1"  # the first epoch: both rules agree
    state = _delivered(do(state, ClientPut("c1", "n3", "k")))
    assert {"n3~0.1"} <= set(ids(state.node("n3").store[0]))
    assert "n3" not in ids(state.node("n3").store[0])
    state = _let_go(state, "n3", "k")
    assert state.actor("n3", "k") == ("n3~0.1" if mutant else "n3~0.2")


@pytest.mark.parametrize("mutant", [False, True])
def test_a_let_go_after_a_disk_loss_begins_an_epoch(
        mutant: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if mutant:
        monkeypatch.setattr(spec.membership, "forget_copy", _bare_name_rule)
    state = do(initial_state(_DIRECT), DiskLoss("n3"))
    if not state.node("n3").up:
        state = do(state, Recover("n3"))
    assert state.actor("n3", "k") == "n3~1"
    state = _delivered(do(state, ClientPut("c1", "n3", "k")))
    assert set(ids(state.node("n3").store[0])) == {"n3~1"}
    state = _let_go(state, "n3", "k")
    assert state.actor("n3", "k") == ("n3~1" if mutant else "n3~1.1")
