"""The forwarder's retries and its copy's hand-off (session 54, issue 12 §3):
``spec.requests.forward_retries`` (``ForwardAgain``, ``ForwardFallback``) and
``spec.handoff.outsider_copies`` (``OutsiderHandoff``, ``OutsiderLetGo``), each enabled
only with ``workload.coordinator = "any"``.

Broken variants each test was checked against (by hand, the spec edited and the file
run; docs/refinement.md, "Trace validation: the forward's gaps (session 54)"):
``ForwardAgain`` enabled while the target is reachable, or to an earlier top-N node;
``ForwardFallback`` while a top-N node is reachable, or without the hinted stand-in;
``OutsiderLetGo`` before every top-N copy covers the outsider's. Session 54's review:
``OutsiderLetGo`` on the owners' copies covering it, not their acknowledgements (the
rule before it); ``OutsiderHandoff`` of a copy the node did not coordinate.
"""

from __future__ import annotations

from spec.actions import (
    ClientGet,
    ClientPut,
    Crash,
    Deliver,
    DiskLoss,
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


def _forwarded(config: Config = CONFIG) -> State:
    """c1's put sent to the outsider, forwarded to the first of the top N."""
    state = do(initial_state(config), ClientPut("c1", OUTSIDER, "k"))
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


def _fallen_back(config: Config = CONFIG) -> State:
    """The outsider coordinated c1's put (both top-N nodes down), both recovered."""
    state = do(do(_forwarded(config), Crash(FIRST)), Crash(SECOND))
    state = do(state, ForwardFallback(Message(Kind.FORWARD, OUTSIDER, FIRST, 1, "k")))
    return do(do(state, Recover(FIRST)), Recover(SECOND))


def _hand_to(state: State, intended: str) -> State:
    """The outsider's hint for ``intended`` delivered and acknowledged."""
    hint = next(h for h in state.node(OUTSIDER).hints if h.intended == intended)
    state = do(state, Handoff(OUTSIDER, intended, "k", hint.payload))
    state = do(state, Deliver(next(m for m in state.messages if m.kind is Kind.HINT_DELIVERY)))
    return do(state, Deliver(next(m for m in state.messages if m.kind is Kind.HINT_ACK)))


def test_an_outsiders_copy_is_handed_on_and_let_go_once_acknowledged() -> None:
    state = _fallen_back()
    assert OutsiderLetGo(OUTSIDER, "k") not in _retries(state)  # the top N hold nothing
    state = do(state, OutsiderHandoff(OUTSIDER, "k"))
    assert sorted(h.intended for h in state.node(OUTSIDER).hints) == sorted((FIRST, SECOND))
    assert OutsiderHandoff(OUTSIDER, "k") not in _retries(state)  # handed already
    state = _hand_to(state, FIRST)
    assert OutsiderLetGo(OUTSIDER, "k") not in _retries(state)  # SECOND has not acked
    # the replica put in flight to FIRST since the fallback: a copy that covers the
    # outsider's is not an acknowledgement (the implementation waits for HintAcks)
    state = _hand_to(state, SECOND)
    assert OutsiderLetGo(OUTSIDER, "k") in _retries(state)
    # (handed again, the spec's over-approximation of the implementation's atomic
    # last-ack let-go) a let-go empties the store alone: the hints stay until acked
    again = do(state, OutsiderHandoff(OUTSIDER, "k"))
    assert do(again, OutsiderLetGo(OUTSIDER, "k")).node(OUTSIDER).hints == again.node(
        OUTSIDER).hints
    state = do(state, OutsiderLetGo(OUTSIDER, "k"))
    assert values(state.node(OUTSIDER).store[0]) == ()


def test_an_owner_that_acked_then_lost_its_disk_does_not_hold_the_copy() -> None:
    """Session 54's review: the implementation lets the outsider's copy go once every
    owner acknowledged it (``Gossiper._stray_acknowledged``); it cannot know that an
    owner lost its disk since. The spec's rule is the same (before, it waited for the
    owners' copies to cover the copy: the mutant ``_acknowledged`` -> covers fails
    here). The other owner still holds the write."""
    config = CONFIG.replace(disk_losses=1)
    state = do(_fallen_back(config), OutsiderHandoff(OUTSIDER, "k"))
    state = _hand_to(_hand_to(state, FIRST), SECOND)
    state = do(do(state, DiskLoss(FIRST)), Recover(FIRST))
    assert values(state.node(FIRST).store[0]) == ()
    assert OutsiderLetGo(OUTSIDER, "k") in _retries(state)
    assert values(state.node(SECOND).store[0]) == (1,)


def test_a_copy_read_repair_wrote_outside_the_top_n_is_not_handed() -> None:
    """Session 54's review: only a node that coordinated a put of the key hands its
    copy (the implementation's ``mark_outsider_copy`` at ``_coordinate``); a read
    repair's copy at a fallback stays, as the implementation's (mutant: the
    ``_coordinated`` guard dropped, an ``OutsiderHandoff`` here)."""
    config = CONFIG.replace(gets_per_client=1, r=2, crashes=1)
    state = do(initial_state(config), ClientPut("c1", FIRST, "k"))
    state = do(state, Deliver(state.messages[0]))  # the replica put to SECOND (W = 1: acked)
    state = do(state, Crash(FIRST))
    state = do(state, ClientGet("c1", SECOND, "k"))
    while not any(m.kind is Kind.READ_REPAIR for m in state.messages):
        state = do(state, Deliver(next(m for m in state.messages
                                        if m.kind in (Kind.REPLICA_GET, Kind.REPLICA_GET_REPLY))))
    repair = next(m for m in state.messages if m.kind is Kind.READ_REPAIR)
    state = do(state, Deliver(repair))
    assert values(state.node(repair.dst).store[0]) == (1,) and repair.dst not in (FIRST, SECOND)
    assert _retries(state) == []


def test_nothing_of_it_without_forwards() -> None:
    config = CONFIG.replace(coordinator="top-n")
    state = do(do(initial_state(config), ClientPut("c1", FIRST, "k")), Crash(SECOND))
    seen = [a for a, _ in successors(state)]
    assert not any(isinstance(a, ForwardAgain | ForwardFallback | OutsiderHandoff
                              | OutsiderLetGo) for a in seen)
