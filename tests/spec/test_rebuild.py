"""A replaced disk's rebuild in the spec (session 55, issue 12 section 3):
``features.rebuild`` (:mod:`spec.rebuild`), and a refusing target kept eligible
(``spec.state.Coordination.refused``).

The implementation (``impl/rebuild.py``, ``Node._acks_uncounted``, sessions 16-54)
keeps a replaced disk silent to reads of a range it has not rebuilt, does not count
its acknowledgements, its own writes or its own reads while it rebuilds and for a
grace after, and keeps retrying a target that refused a put's copy (its later
acknowledgement counts). Each test names the mutant it was seen to fail on
(docs/spec.md, "The rebuild in the spec (session 55)").
"""

from __future__ import annotations

import dataclasses

import pytest

from model_check.properties import acked_writes_durable, read_your_writes
from spec.actions import (
    Action,
    AntiEntropy,
    ClientGet,
    ClientPut,
    Crash,
    Deliver,
    DiskLoss,
    Duplicate,
    FailedWrite,
    Handoff,
    Rebuilt,
    Recover,
    action_from_json,
)
from spec.clocks import values
from spec.config import Config
from spec.errors import InvalidValueError
from spec.model import initial_state, successors
from spec.state import Kind, Message, State

#: disk-loss-read-rebuild's configuration (model_check/configs): strict R = W = 2 of 3
REBUILD = Config(name="rebuild", disk_losses=1, rebuild=True, puts_per_client=1,
                 gets_per_client=1)


def _do(state: State, action: Action) -> State:
    for candidate, after in successors(state):
        if candidate == action:
            return after
    raise AssertionError(f"{action} is not enabled: {[a.to_json() for a, _ in successors(state)]}")


def _message(state: State, kind: Kind, src: str, dst: str, request: int = 0) -> Message:
    return next(m for m in state.messages if m.kind is kind and m.src == src and m.dst == dst
                and request in (0, m.request))


def _enabled(state: State, action: Action) -> bool:
    return any(candidate == action for candidate, _ in successors(state))


def _put_acked_then_n1_lost(config: Config) -> State:
    """c1's put through n2, acknowledged by n2 and n3 (n1's copy still in flight), then
    n1 loses its disk and recovers."""
    state = _do(initial_state(config), ClientPut("c1", "n2", "k"))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT, "n2", "n3")))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT_ACK, "n3", "n2")))
    assert state.client("c1").acked == (1,)
    state = _do(state, DiskLoss("n1"))
    return _do(state, Recover("n1"))


def test_a_lost_disk_rebuilds_each_key_with_each_other_replica() -> None:
    """The disk loss begins the rebuild: one exchange per other replica of the key and
    the node's mark; without the feature nothing (no state of an earlier
    configuration changes). Mutant: ``spec.rebuild.begin`` a no-op: fails."""
    state = _put_acked_then_n1_lost(REBUILD)
    assert state.rebuilding == frozenset({("n1", "k", "n2"), ("n1", "k", "n3"),
                                          ("n1", "", "")})
    plain = _put_acked_then_n1_lost(dataclasses.replace(REBUILD, rebuild=False))
    assert plain.rebuilding == frozenset()
    assert "rebuild" not in Config().to_json()["features"]
    assert action_from_json(Rebuilt("n1").to_json()) == Rebuilt("n1")


def test_a_rebuilding_node_is_silent_to_reads_and_its_own_read_waits_for_all() -> None:
    """c1's get through n1 (rebuilding): its own empty read does not count, n2's reply
    alone is not R = 2; n3's reply (every top-N node answered) lets it count and the
    get returns the put. A get through n3 asking n1 gets no answer from n1. Mutants:
    the own read counted (``Coordination.uncounted`` left empty): the get answers with
    n1's and n2's copies at n2's reply (n2 holds v1 too, so the test reads the
    answer's moment); the silence removed (``on_replica_get`` answers): fails."""
    state = _put_acked_then_n1_lost(REBUILD)
    state = _do(state, ClientGet("c1", "n1", "k"))
    coord = state.node("n1").coord[0]
    assert coord.uncounted == ("n1",)
    state = _do(state, Deliver(_message(state, Kind.REPLICA_GET, "n1", "n2")))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_GET_REPLY, "n2", "n1")))
    assert state.client("c1").outstanding  # one counted reply of R = 2
    state = _do(state, Deliver(_message(state, Kind.REPLICA_GET, "n1", "n3")))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_GET_REPLY, "n3", "n1")))
    assert not state.client("c1").outstanding
    assert state.client("c1").gets[-1].returned == (1,)
    # a replica get to n1 from another coordinator is not answered
    other = _put_acked_then_n1_lost(REBUILD)
    other = _do(other, ClientGet("c1", "n3", "k"))
    other = _do(other, Deliver(_message(other, Kind.REPLICA_GET, "n3", "n1")))
    assert not [m for m in other.messages if m.kind is Kind.REPLICA_GET_REPLY]


def test_a_rebuilding_node_acknowledges_nothing_and_its_own_write_is_uncounted() -> None:
    """c1's second put through n2: n1 (rebuilding) stores its replica put and does not
    acknowledge it, n3's ack makes W = 2; its third put through n1 stores n1's own
    copy and does not count it: W = 2 needs both other replicas. Mutants: the ack
    sent (``on_replica_put`` without the rule); the own write counted (``start``
    without the rule): each fails."""
    config = dataclasses.replace(REBUILD, puts_per_client=3, gets_per_client=0)
    state = _put_acked_then_n1_lost(config)
    state = _do(state, ClientPut("c1", "n2", "k"))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT, "n2", "n1", 2)))
    assert 2 in values(state.node("n1").store[0])  # stored
    assert not [m for m in state.messages if m.kind is Kind.REPLICA_PUT_ACK]
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT, "n2", "n3", 2)))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT_ACK, "n3", "n2", 2)))
    assert state.client("c1").acked == (1, 2)
    state = _do(state, ClientPut("c1", "n1", "k"))
    coord = state.node("n1").coord[0]
    assert coord.acks == () and {t for t, _ in coord.awaiting} == {"n2", "n3"}
    assert 3 in values(state.node("n1").store[0])  # its own copy, stored
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT, "n1", "n2")))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT_ACK, "n2", "n1")))
    assert state.client("c1").acked == (1, 2)  # one ack of W = 2
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT, "n1", "n3")))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT_ACK, "n3", "n1")))
    assert state.client("c1").acked == (1, 2, 3)


def test_a_rebuilding_node_keeps_a_hint_unacknowledged() -> None:
    """Four nodes, sloppy quorum (k's top N: n4, n1, n2): n1 loses its disk, c1's put
    through n2 goes to the fallback n3, hinted for n1; n1 recovers rebuilding, and
    the hint handed to it is stored and not acknowledged (the fallback keeps it and
    serves it). Mutant: the hint acknowledged while the key is not rebuilt
    (``on_hint_delivery`` without the rule): fails."""
    config = Config(name="hinted", nodes=("n1", "n2", "n3", "n4"), sloppy_quorum=True,
                    disk_losses=1, rebuild=True, puts_per_client=1, gets_per_client=0)
    state = _do(initial_state(config), DiskLoss("n1"))
    state = _do(state, ClientPut("c1", "n2", "k"))
    hinted = _message(state, Kind.REPLICA_PUT, "n2", "n3")
    assert hinted.intended == "n1"
    state = _do(state, Deliver(hinted))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT_ACK, "n3", "n2")))
    state = _do(state, Recover("n1"))
    assert payload_values(state, "n3") == {1}
    state = _do(state, Handoff("n3", "n1", "k", state.node("n3").hints[0].payload))
    state = _do(state, Deliver(_message(state, Kind.HINT_DELIVERY, "n3", "n1")))
    assert 1 in values(state.node("n1").store[0])
    assert not [m for m in state.messages if m.kind is Kind.HINT_ACK]
    assert state.node("n3").hints  # kept


def payload_values(state: State, node: str) -> set[int]:
    """The put ids of ``node``'s hints."""
    return {v for h in state.node(node).hints for v in values(h.payload)}


def test_the_rebuild_ends_after_an_exchange_with_each_other_replica() -> None:
    """Anti-entropy with a replica whose exchange is to do is enabled even between equal
    copies; ``Rebuilt`` only once none is left; then n1 answers and counts again.
    Mutants: the exchange enabled only between differing copies (the rebuild never
    ends here: n2 and n3 hold the same); ``Rebuilt`` with exchanges left: each fails."""
    state = _put_acked_then_n1_lost(REBUILD)
    state = _do(state, Deliver(_message(state, Kind.REPLICA_PUT, "n2", "n1")))
    assert state.node("n1").store == state.node("n2").store  # equal copies
    assert not _enabled(state, Rebuilt("n1"))
    state = _do(state, AntiEntropy("n1", "n2", "k"))
    assert not _enabled(state, Rebuilt("n1"))
    state = _do(state, AntiEntropy("n3", "n1", "k"))
    assert state.rebuilding == frozenset({("n1", "", "")})
    state = _do(state, Rebuilt("n1"))
    assert state.rebuilding == frozenset()
    state = _do(state, ClientGet("c1", "n3", "k"))
    state = _do(state, Deliver(_message(state, Kind.REPLICA_GET, "n3", "n1")))
    assert [m for m in state.messages if m.kind is Kind.REPLICA_GET_REPLY]


def test_a_crash_during_the_rebuild_begins_it_again() -> None:
    """The implementation restarts a rebuild that had not ended from scratch, and
    forgets its grace (in memory) after one that had. Mutant: ``restart`` a no-op:
    fails."""
    config = dataclasses.replace(REBUILD, crashes=1)
    state = _put_acked_then_n1_lost(config)
    state = _do(state, AntiEntropy("n1", "n2", "k"))
    state = _do(_do(state, Crash("n1")), Recover("n1"))
    assert ("n1", "k", "n2") in state.rebuilding
    state = _do(_do(state, AntiEntropy("n1", "n2", "k")), AntiEntropy("n3", "n1", "k"))
    assert state.rebuilding == frozenset({("n1", "", "")})


def test_a_crash_with_no_exchange_left_may_begin_the_rebuild_again() -> None:
    """Session 61 (``Crash.again``, ``spec.rebuild.restarts``): the crash of a marked
    node with no exchange left has two outcomes, the mark dropped (the rebuild over,
    its grace in memory) or kept with every exchange to do again (a range holding no
    key was left: seed 187 of the trace validation's rebuild mix); a crash with
    exchanges left, or of an unmarked node, has one. The action's JSON keeps the
    outcome, and a bad ``again`` is refused by name. Mutant: ``restarts`` giving
    ``(False,)`` alone (the spec before session 61): ``Crash(n1, again=True)`` not
    enabled, fails."""
    config = dataclasses.replace(REBUILD, crashes=1)
    state = _put_acked_then_n1_lost(config)
    assert not _enabled(state, Crash("n1", True))  # exchanges left: one outcome
    state = _do(_do(state, AntiEntropy("n1", "n2", "k")), AntiEntropy("n3", "n1", "k"))
    assert state.rebuilding == frozenset({("n1", "", "")})
    assert not _enabled(state, Crash("n2", True))  # not marked
    dropped = _do(state, Crash("n1"))
    again = _do(state, Crash("n1", True))
    assert dropped.rebuilding == frozenset()
    assert again.rebuilding == frozenset({("n1", "", ""), ("n1", "k", "n2"),
                                          ("n1", "k", "n3")})
    assert Crash("n1", True).to_json() == {"action": "crash", "node": "n1", "again": True}
    assert action_from_json(Crash("n1", True).to_json()) == Crash("n1", True)
    assert action_from_json(Crash("n1").to_json()) == Crash("n1")
    with pytest.raises(InvalidValueError, match="'again'"):
        action_from_json({"action": "crash", "node": "n1", "again": "yes"})


def test_a_read_after_the_rebuild_begun_again_waits_for_every_replica() -> None:
    """Session 61's review: the crash's second outcome on a path with a read of an
    acknowledged write (the only suite entry that reaches it, disk-loss-rebuild-crash,
    has no get; with one get its graph has 912 states after a ``Crash(n, again=True)``
    where a completed get follows an acknowledged put, read_your_writes and
    acked_writes_durable hold in all: docs/refinement.md, session 61's review). c1's put
    is acknowledged, n1 loses its disk, rebuilds k with n2 and n3, crashes with no
    exchange left and recovers. Begun again, n1 is silent to n3's replica get and its
    own read waits for both others; after the plain crash it answers and its own read
    counts at once. Mutants: the ``again`` outcome keeping the mark without the
    exchanges (``spec.rebuild.restart`` not calling ``begin``): n1 answers n3, fails;
    ``restarts`` giving ``(False,)`` only: ``Crash(n1, again=True)`` not enabled."""
    config = dataclasses.replace(REBUILD, crashes=1)
    rebuilt = _put_acked_then_n1_lost(config)
    rebuilt = _do(_do(rebuilt, AntiEntropy("n1", "n2", "k")), AntiEntropy("n3", "n1", "k"))
    outcomes = {again: _do(_do(rebuilt, Crash("n1", again)), Recover("n1"))
                for again in (False, True)}
    for again, state in outcomes.items():
        asked = _do(_do(state, ClientGet("c1", "n3", "k")), Deliver(
            _message(_do(state, ClientGet("c1", "n3", "k")), Kind.REPLICA_GET, "n3", "n1")))
        answered = [m for m in asked.messages if m.kind is Kind.REPLICA_GET_REPLY]
        assert bool(answered) is not again, again
        own = _do(state, ClientGet("c1", "n1", "k"))
        assert own.node("n1").coord[0].uncounted == (("n1",) if again else ())
        own = _do(own, Deliver(_message(own, Kind.REPLICA_GET, "n1", "n2")))
        own = _do(own, Deliver(_message(own, Kind.REPLICA_GET_REPLY, "n2", "n1")))
        assert bool(own.client("c1").outstanding) is again
        if again:
            own = _do(own, Deliver(_message(own, Kind.REPLICA_GET, "n1", "n3")))
            own = _do(own, Deliver(_message(own, Kind.REPLICA_GET_REPLY, "n3", "n1")))
        assert own.client("c1").gets[-1].returned == (1,)
        assert read_your_writes(own) and acked_writes_durable(own)


def _refused_put() -> tuple[State, Message]:
    """Strict W = 2 of 3: c1's put through n1, its replica put to n2 duplicated, the
    first copy refused by n2's disk (its ``replica-put-failed`` in flight)."""
    config = Config(name="refused", duplicates=1, write_failures=1, puts_per_client=1,
                    gets_per_client=0)
    state = _do(initial_state(config), ClientPut("c1", "n1", "k"))
    put = _message(state, Kind.REPLICA_PUT, "n1", "n2")
    state = _do(_do(state, Duplicate(put)), FailedWrite(put))
    return state, put


def test_a_refusing_target_s_later_acknowledgement_counts() -> None:
    """n2 refused one copy of c1's replica put and stores its duplicate: its
    acknowledgement counts (the implementation's ``ack_counts``) and the put is
    acknowledged with n1's own copy, whether the refusal arrives first or the ack was
    sent before it arrived. Mutants: the refused target not kept (``time_out``'s
    ``refused`` ignored): no ack is sent in the first order, the ack is not counted in
    the second; the ack in flight purged at the refusal (session 55's trace seed 82):
    the second order fails."""
    state, put = _refused_put()
    first = _do(state, Deliver(_message(state, Kind.REPLICA_PUT_FAILED, "n2", "n1")))
    coord = first.node("n1").coord[0]
    assert coord.refused == ("n2",) and all(t != "n2" for t, _ in coord.awaiting)
    first = _do(first, Deliver(put))  # the duplicate stored, acknowledged
    first = _do(first, Deliver(_message(first, Kind.REPLICA_PUT_ACK, "n2", "n1")))
    assert first.client("c1").acked == (1,)
    second = _do(state, Deliver(put))  # stored and acknowledged before the refusal arrives
    second = _do(second, Deliver(_message(second, Kind.REPLICA_PUT_FAILED, "n2", "n1")))
    assert second.client("c1").acked == ()
    second = _do(second, Deliver(_message(second, Kind.REPLICA_PUT_ACK, "n2", "n1")))
    assert second.client("c1").acked == (1,)


def test_the_rebuild_is_on_by_default_as_in_the_implementation() -> None:
    """Session 60 (issue 12): the implementation always rebuilds a replaced disk
    (``impl/rebuild.py``), so ``features.rebuild`` is true by default; ``rebuild =
    false`` (the suite's broken twin disk-loss-read) is the key written to TOML and
    JSON, and the key noted as having no effect without a disk to lose. Mutants, each
    seen failing: the default ``False`` (the first assertion; make check's
    disk-loss-w1 found 607 states, not 2,269); ``to_sections`` dropping the key when
    false, as before (``rebuild = false`` is not written and reads back true); the
    note on ``rebuild = true`` as before (the default configuration has a note)."""
    plain = Config(name="plain", disk_losses=1, puts_per_client=1, gets_per_client=1)
    assert plain.rebuild
    assert _put_acked_then_n1_lost(plain).rebuilding == frozenset(
        {("n1", "k", "n2"), ("n1", "k", "n3"), ("n1", "", "")})
    assert "rebuild" not in plain.to_json()["features"]
    off = plain.replace(rebuild=False)
    assert off.to_json()["features"]["rebuild"] is False
    assert Config.from_json(off.to_json()) == off
    assert Config.from_toml(off.to_toml()) == off
    assert Config().inert_settings() == ()
    assert off.inert_settings() == ()
    assert any("rebuild = false has no effect without disk losses" in note
               for note in Config(rebuild=False).inert_settings())
