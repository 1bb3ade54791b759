"""The spec's coordinator gives up on a reachable target whose request was lost, where
the implementation asks it again (strict quorum, no fallback left): session 44's
mapping (``Lockstep.retries_lost``, ``Lockstep.retry_given_up``;
docs/refinement.md, "The strict quorum's give-up mapped (session 44)").

Where the spec's ``Timeout`` fails the request, the implementation's timer rounds are
fired up to its deadline, each retry lost, and the round at the deadline fails it
(Riak's put FSM sends once and answers ``{error, timeout}`` at its request timeout,
``riak_kv_put_fsm:waiting_remote_vnode/2``); where the request goes on, the spec's
give-up is a stutter of the implementation, whose later retries of that target are
lost.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from impl.effects import Effect, PutResult, Send
from impl.errors import QuorumError
from impl.forwarding import answer
from impl.messages import ReplicaPut
from impl.put_coordinator import PutCoordination, PutCoordinator
from impl.timers import PutTimeout
from model_check.refinement import Divergence, Lockstep
from model_check.refinement_replay import step_action
from model_check.suite import entry
from spec.actions import ClientGet, ClientPut, Deliver, Drop, Gossip, Join, Timeout
from spec.state import Kind


def _message(ls: Lockstep, kind: Kind, dst: str) -> Deliver:
    return Deliver(next(m for m in ls.frontier[0].messages if m.kind is kind and m.dst == dst))


def _dropped() -> Lockstep:
    """delete-join-drop's monotonic_reads counterexample to its step 5: c1's put of v1
    at n1, n3 joins and n1, n2 learn it, n1's replica put to n2 dropped (W = 2 of N =
    2, strict: n1 awaits n2, reachable, and has no fallback)."""
    ls = Lockstep(entry("delete-join-drop").config)
    for action in (ClientPut("c1", "n1", "k"), Join("n3"), Gossip("n3", "n1"),
                   Gossip("n1", "n2")):
        step_action(ls, action)
    step_action(ls, Drop(_message(ls, Kind.REPLICA_PUT, "n2").message))
    return ls


def _give_up_diverges(match: str) -> None:
    """:func:`_dropped` on the (patched) implementation: the spec's step 6,
    ``Timeout(n1, 1, n2)``, raises a Divergence matching ``match``."""
    ls = _dropped()
    try:
        with pytest.raises(Divergence, match=match):
            step_action(ls, Timeout("n1", 1, "n2"))
    finally:
        ls.cluster.close()


@pytest.fixture
def dropped() -> Iterator[Lockstep]:
    """:func:`_dropped`, closed after the test."""
    ls = _dropped()
    try:
        yield ls
    finally:
        ls.cluster.close()


def test_a_give_up_that_fails_the_put_is_the_deadline_after_lost_retries(
        dropped: Lockstep) -> None:
    """Step 6, the spec's ``Timeout(n1, 1, n2)``: n1's timer rounds retry n2 up to the
    deadline (request_timeout 1e6 s, rounds every replica_timeout 1e5 s: 9 retries),
    each lost; the round at the deadline fails c1's put with a QuorumError, and n2
    never stored v1. Mapping mutant ``retries-delivered`` (each retry delivered
    rather than lost: n2 stores v1, acks, and the put is answered at a round) fails
    here and in the counterexample's replay."""
    ls = dropped
    lost = ls.sim.stats["lost"]
    assert ls.retried_timeout("n1", 1, "n2") is not None
    step_action(ls, Timeout("n1", 1, "n2"))
    assert ls.sim.stats["lost"] - lost == 9
    assert ls.history[-1] == "timeout n1 #1 on n2, retried to the deadline"
    handle = next(r.handle for r in ls.requests.values() if r.is_put)
    assert handle.done and isinstance(handle.error, QuorumError)
    assert ls.cluster.storages["n2"].read(b"k") is None
    assert not ls.cluster.node("n1").coordinations()


def test_a_retry_that_is_not_the_request_diverges(
        dropped: Lockstep, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rounds' messages are checked before they are lost: an implementation whose
    retry goes to another node (mutant ``retry-misaddressed``: n2's retry sent to n3,
    never asked) diverges at the give-up. Mapping mutant ``retries-unchecked``
    (every new message of a round dropped unseen) fails it."""
    send = PutCoordinator._send

    def misaddressed(self: PutCoordinator, coordination: PutCoordination, target: str,
                     now: float, *, initial: bool) -> Effect:
        effect = send(self, coordination, target, now, initial=initial)
        if not initial and isinstance(effect, Send) and effect.dest == "n2":
            return dataclasses.replace(effect, dest="n3")
        return effect

    monkeypatch.setattr(PutCoordinator, "_send", misaddressed)
    with pytest.raises(Divergence, match="not a retry of request #1"):
        step_action(dropped, Timeout("n1", 1, "n2"))


def test_a_round_that_answers_the_put_diverges(monkeypatch: pytest.MonkeyPatch) -> None:
    """An implementation whose timer round counts a retried target as acknowledged
    (mutant ``retry-counts-as-ack``) answers c1's put at its first round, short of
    n2's write: a divergence at the give-up, not a stutter."""
    on_timeout = PutCoordinator.on_timeout

    def acks_on_retry(self: PutCoordinator, now: float, timer: PutTimeout) -> list[Effect]:
        effects = on_timeout(self, now, timer)
        coordination = self.coordinations.get(timer.op_id)
        if coordination is not None:
            coordination.acks.update(coordination.targets)
            effects = [*effects, *self._check(coordination, now)]
        return effects

    monkeypatch.setattr(PutCoordinator, "on_timeout", acks_on_retry)  # before the nodes
    _give_up_diverges("at a timer round whose retries were lost")


def test_a_give_up_that_leaves_the_put_going_on_is_a_stutter() -> None:
    """strict-dvv (N = 3, W = 2, strict): n1's replica put to n2 dropped, the spec's
    ``Timeout(n1, 1, n2)`` leaves the put awaiting n3; on the implementation a
    stutter (n1 still counts n2 silent, its later retries lost). n3's ack then
    answers the put on both sides, and n2 never holds v1. Mapping mutant
    ``given-up-always-fails`` (every such timeout taken as failing the request: the
    implementation's deadline fired) fails it."""
    ls = Lockstep(entry("strict-dvv").config)
    try:
        step_action(ls, ClientPut("c1", "n1", "k"))
        step_action(ls, Drop(_message(ls, Kind.REPLICA_PUT, "n2").message))
        assert ls.retried_timeout("n1", 1, "n2") == (next(iter(ls.ops))[1], False)
        step_action(ls, Timeout("n1", 1, "n2"))
        assert ls.history[-1] == "timeout n1 #1 on n2, its retries lost"
        assert ls.cluster.node("n1").coordinations(), "the put goes on"
        step_action(ls, _message(ls, Kind.REPLICA_PUT, "n3"))
        step_action(ls, _message(ls, Kind.REPLICA_PUT_ACK, "n1"))
        assert ls.frontier[0].clients[0].acked == (1,)
        handle = next(r.handle for r in ls.requests.values() if r.is_put)
        assert handle.done and handle.error is None
        assert ls.cluster.storages["n2"].read(b"k") is None
    finally:
        ls.cluster.close()


def test_a_round_that_asks_an_acknowledged_target_again_diverges(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A timer round asks again only the targets still silent: an implementation whose
    round resends the write to every target, acknowledged ones too (mutant
    ``retry-acked``: n1's own write sent again each round), diverges at the give-up.
    Before session 44's review the mapping lost any retry to a node the put had asked
    (18 messages lost here, not 9) and passed it."""
    on_timeout = PutCoordinator.on_timeout

    def resend_acked(self: PutCoordinator, now: float, timer: PutTimeout) -> list[Effect]:
        effects = on_timeout(self, now, timer)
        coordination = self.coordinations.get(timer.op_id)
        if coordination is None or now >= coordination.deadline:
            return effects
        return [*effects, *(self._send(coordination, t, now, initial=False)
                            for t in coordination.targets if t in coordination.acks)]

    monkeypatch.setattr(PutCoordinator, "on_timeout", resend_acked)  # before the nodes
    _give_up_diverges("not a retry of request #1")


def test_a_put_that_outlives_its_deadline_diverges(monkeypatch: pytest.MonkeyPatch) -> None:
    """An implementation whose round at the deadline does nothing (mutant
    ``deadline-round-idle``) leaves the coordination open where the spec's timeout
    failed the request: a divergence naming it. Mapping mutant
    ``outlived-unchecked`` (the check after the deadline's round dropped) survived
    the file before this test."""
    on_timeout = PutCoordinator.on_timeout

    def late(self: PutCoordinator, now: float, timer: PutTimeout) -> list[Effect]:
        coordination = self.coordinations.get(timer.op_id)
        if coordination is not None and now >= coordination.deadline:
            return []  # the deadline's round does nothing: the put stays open
        return on_timeout(self, now, timer)

    monkeypatch.setattr(PutCoordinator, "on_timeout", late)  # before the nodes
    _give_up_diverges("outlived its deadline")


def test_a_round_that_answers_the_put_and_keeps_it_open_diverges(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An implementation whose timer round answers c1's put as written but keeps the
    coordination open, awaiting n2 (mutant ``round-answers-open``: at its first
    round the put is marked answered, a success sent to the client) diverges at the
    give-up, where the spec fails the request. Mapping mutant ``answered-unchecked``
    (the check after each round that the operation was not answered dropped: only
    an ended one diverged, as in ``retry-counts-as-ack``) survived the file before
    this test."""
    on_timeout = PutCoordinator.on_timeout

    def answers_open(self: PutCoordinator, now: float, timer: PutTimeout) -> list[Effect]:
        effects = on_timeout(self, now, timer)
        coordination = self.coordinations.get(timer.op_id)
        if coordination is None or coordination.replied or now >= coordination.deadline:
            return effects
        coordination.replied = True
        return [*effects, answer(coordination.reply_to,
                                 PutResult(coordination.result_context), None)]

    monkeypatch.setattr(PutCoordinator, "on_timeout", answers_open)  # before the nodes
    _give_up_diverges("op [0-9]+ answered at a timer round whose retries were lost")


def test_a_retry_under_another_requests_id_diverges(monkeypatch: pytest.MonkeyPatch) -> None:
    """delete-join-drop's config: c1's get at n1 (request #3, answered by n1 alone,
    R = 1), then its put at n1 (request #1, W = 2 of N = 2, strict), n1's replica put
    to n2 dropped. An implementation whose retries carry the op id before the put's
    (mutant ``retry-other-op``: n1's get's, which maps to request #3) sends no retry
    of request #1, the same write to the same node otherwise: a divergence at the
    give-up. Mapping mutant ``retry-request-unchecked`` (the comparison of the
    retry's request dropped) survived the file before this test."""
    send = PutCoordinator._send

    def other_op(self: PutCoordinator, coordination: PutCoordination, target: str,
                 now: float, *, initial: bool) -> Effect:
        effect = send(self, coordination, target, now, initial=initial)
        if not initial and isinstance(effect, Send) and isinstance(effect.message, ReplicaPut):
            return dataclasses.replace(effect, message=dataclasses.replace(
                effect.message, op_id=effect.message.op_id - 1))
        return effect

    monkeypatch.setattr(PutCoordinator, "_send", other_op)
    ls = Lockstep(entry("delete-join-drop").config)
    try:
        step_action(ls, ClientGet("c1", "n1", "k"))
        step_action(ls, ClientPut("c1", "n1", "k"))
        assert sorted(ls.ops.values()) == [1, 3]
        step_action(ls, Drop(_message(ls, Kind.REPLICA_PUT, "n2").message))
        with pytest.raises(Divergence, match=r"not a retry of request #1 \(to n2\)"):
            step_action(ls, Timeout("n1", 1, "n2"))
    finally:
        ls.cluster.close()
