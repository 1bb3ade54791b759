"""The forwarder's retries and its copy's hand-off (session 54, issue 12 §3):
``spec.requests.forward_retries`` (``ForwardAgain``, ``ForwardFallback``) and
``spec.handoff.outsider_copies`` (``OutsiderHandoff``, ``OutsiderLetGo``), each enabled
only with ``workload.coordinator = "any"``.

Broken variants each test was checked against (by hand, the spec edited and the file
run; docs/refinement.md, "Trace validation: the forward's gaps (session 54)"):
``ForwardAgain`` enabled while the target is reachable, or to an earlier top-N node;
``ForwardFallback`` while a top-N node is reachable, or without the hinted stand-in;
``OutsiderLetGo`` before every top-N copy covers the outsider's.
"""

from __future__ import annotations

from spec.actions import (
    ClientPut,
    Crash,
    Deliver,
    ForwardAgain,
    ForwardFallback,
    Handoff,
    OutsiderHandoff,
    OutsiderLetGo,
    Recover,
)
from spec.clocks import values
from spec.config import Config
from spec.model import initial_state, successors
from spec.state import Kind, Message, State
from tests.spec.test_model import do

#: 4 nodes, N = 2 (k's top N: n4, n1; n2 and n3 outside), sloppy quorum, W = 1
CONFIG = Config(name="forward-retries", nodes=("n1", "n2", "n3", "n4"), n=2, r=1, w=1,
                sloppy_quorum=True, coordinator="any", crashes=2, clients=1,
                puts_per_client=1, gets_per_client=0)
FIRST, SECOND = CONFIG.top_n("k")
OUTSIDER = "n2"


def _retries(state: State) -> list[object]:
    return [a for a, _ in successors(state)
            if isinstance(a, ForwardAgain | ForwardFallback | OutsiderHandoff | OutsiderLetGo)]


def _forwarded() -> State:
    """c1's put sent to the outsider, forwarded to the first of the top N."""
    state = do(initial_state(CONFIG), ClientPut("c1", OUTSIDER, "k"))
    assert state.messages == (Message(Kind.FORWARD, OUTSIDER, FIRST, 1, "k"),)
    return state


def test_a_forward_goes_on_only_once_its_target_cannot_answer() -> None:
    state = _forwarded()
    assert _retries(state) == []  # the first of the top N is up and reachable
    state = do(state, Crash(FIRST))
    (forward,) = state.messages
    assert _retries(state) == [ForwardAgain(forward, SECOND)]  # later nodes only
    state = do(state, ForwardAgain(forward, SECOND))
    assert state.messages == (Message(Kind.FORWARD, OUTSIDER, SECOND, 1, "k"),)
    assert _retries(state) == []  # SECOND is up
    after = do(state, Crash(SECOND))
    (forward,) = after.messages
    assert _retries(after) == [ForwardFallback(forward)]  # no going back to FIRST
    state = do(state, Deliver(state.messages[0]))
    assert state.clients[0].acked == (1,)


def test_a_forwarder_coordinates_only_when_no_top_n_node_is_reachable() -> None:
    state = do(_forwarded(), Crash(FIRST))
    assert not any(isinstance(a, ForwardFallback) for a in _retries(state))  # SECOND is up
    state = do(state, Crash(SECOND))
    (forward,) = state.messages
    assert ForwardFallback(forward) in _retries(state)
    state = do(state, ForwardFallback(forward))
    outsider = state.node(OUTSIDER)
    # its own copy, and a hint for the last top-N node it cannot reach, counted (W = 1)
    assert values(outsider.store[0]) == (1,)
    assert [(h.intended, values(h.payload)) for h in outsider.hints] == [(SECOND, (1,))]
    assert state.clients[0].acked == (1,)
    assert [(m.kind, m.dst) for m in state.messages] == [(Kind.REPLICA_PUT, FIRST)]


def test_an_outsiders_copy_is_handed_on_and_let_go_once_covered() -> None:
    state = do(do(do(_forwarded(), Crash(FIRST)), Crash(SECOND)), ForwardFallback(
        Message(Kind.FORWARD, OUTSIDER, FIRST, 1, "k")))
    state = do(do(state, Recover(FIRST)), Recover(SECOND))
    assert OutsiderLetGo(OUTSIDER, "k") not in _retries(state)  # the top N hold nothing
    state = do(state, OutsiderHandoff(OUTSIDER, "k"))
    assert sorted(h.intended for h in state.node(OUTSIDER).hints) == sorted((FIRST, SECOND))
    assert OutsiderHandoff(OUTSIDER, "k") not in _retries(state)  # handed already
    for intended in (FIRST, SECOND):
        hint = next(h for h in state.node(OUTSIDER).hints if h.intended == intended)
        state = do(state, Handoff(OUTSIDER, intended, "k", hint.payload))
        delivery = next(m for m in state.messages if m.kind is Kind.HINT_DELIVERY)
        state = do(state, Deliver(delivery))
        if intended == FIRST:  # one owner's copy covers it, the other's not yet
            assert OutsiderLetGo(OUTSIDER, "k") not in _retries(state)
    assert OutsiderLetGo(OUTSIDER, "k") in _retries(state)
    state = do(state, OutsiderLetGo(OUTSIDER, "k"))
    assert values(state.node(OUTSIDER).store[0]) == ()


def test_nothing_of_it_without_forwards() -> None:
    config = CONFIG.replace(coordinator="top-n")
    state = do(do(initial_state(config), ClientPut("c1", FIRST, "k")), Crash(SECOND))
    seen = [a for a, _ in successors(state)]
    assert not any(isinstance(a, ForwardAgain | ForwardFallback | OutsiderHandoff
                              | OutsiderLetGo) for a in seen)
