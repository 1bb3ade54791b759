"""The spec's coordinator gives up on a target that went down (here: lost its disk)
while its acknowledgement was still on the way: session 44's mapping
(``Lockstep.timeout_ack_lost``; docs/refinement.md, "The strict quorum's give-up
mapped (session 44, the ack in flight)").

The spec's ``Timeout`` is enabled because the target is down (``spec.coordination``:
its accurate failure detector) and purges the answer in flight
(``spec.step.Edit.purge``); the harness has the network lose exactly that answer (a
down node's message on the way may be lost, paper section 4.6), nothing of another
exchange, and then fires the coordinator's timer for the target, as for a timeout
with nothing in flight. disk-loss-w2: N = 3, W = 2, strict quorum.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from impl.effects import Send
from impl.messages import ReplicaGet, ReplicaGetReply, ReplicaPut, ReplicaPutAck
from model_check.refinement import Divergence, Lockstep
from model_check.refinement_replay import step_action
from model_check.suite import entry
from spec.actions import ClientGet, ClientPut, Deliver, DiskLoss, Partition, Timeout
from spec.errors import InvalidValueError
from spec.state import Kind


def _put_delivered_to_n2() -> Lockstep:
    """c1's put of v1 at n1; n1's replica put to n2 delivered: n2's ack in flight to
    n1, n1's replica put to n3 in flight."""
    ls = Lockstep(entry("disk-loss-w2").config)
    step_action(ls, ClientPut("c1", "n1", "k"))
    put = next(m for m in ls.frontier[0].messages
               if m.kind is Kind.REPLICA_PUT and m.dst == "n2")
    step_action(ls, Deliver(put))
    return ls


@pytest.fixture
def acked() -> Iterator[Lockstep]:
    """:func:`_put_delivered_to_n2`, closed after the test."""
    ls = _put_delivered_to_n2()
    try:
        yield ls
    finally:
        ls.cluster.close()


def _op(ls: Lockstep) -> int:
    return next(op for (node, op), request in ls.ops.items() if (node, request) == ("n1", 1))


def test_the_down_nodes_ack_in_flight_is_lost_and_nothing_else(acked: Lockstep) -> None:
    """n2 loses its disk with its ack on the way; the spec's ``Timeout(n1, 1, n2)``
    (before session 44's step: unmapped) loses exactly that ack, n1's replica put to
    n3 stays in flight on both sides, and n3's ack then answers the put on both sides
    (W = 2: n1 and n3). Mapping mutants ``loses-another-exchange`` (n1's put to n3
    lost too) and ``keeps-the-ack`` (nothing lost: the ack the spec purged stays in
    flight) diverge here."""
    ls = acked
    step_action(ls, DiskLoss("n2"))
    ack = next(m for m in ls.in_flight() if isinstance(m.message, ReplicaPutAck))
    to_n3 = next(m for m in ls.in_flight() if isinstance(m.message, ReplicaPut))
    assert (ack.src, ack.dest, to_n3.dest) == ("n2", "n1", "n3")
    assert ls.ack_lost_timeout("n1", _op(ls), "n2") == ("n2", (ack.id,))
    lost = ls.sim.stats["lost"]
    step_action(ls, Timeout("n1", 1, "n2"))
    assert ls.history[-1] == "timeout n1 #1 target n2 on n2, its answer in flight lost"
    # the ack, and the timer round's retry to the down n2 (lost as before session 44)
    assert ls.sim.stats["lost"] - lost == 2
    assert [m.id for m in ls.in_flight()] == [to_n3.id]
    assert [m.kind for m in ls.frontier[0].messages] == [Kind.REPLICA_PUT]
    coord = ls.frontier[0].node("n1").coord[0]
    assert coord.awaiting == (("n3", ""),)
    step_action(ls, Deliver(ls.frontier[0].messages[0]))
    step_action(ls, Deliver(next(m for m in ls.frontier[0].messages
                                 if m.kind is Kind.REPLICA_PUT_ACK)))
    handle = next(r.handle for r in ls.requests.values() if r.is_put)
    assert handle.done and handle.error is None
    assert not ls.frontier[0].node("n1").coord


def test_an_ack_of_an_up_node_is_not_lost() -> None:
    """With n2 up its ack can still come: the spec allows no timeout of n2 (its
    accurate failure detector), and the lockstep loses nothing. sloppy-crash (N = 3,
    W = 2, four nodes): c1's put at n1 went to n2 and n4, n3 is a fallback left, so
    the node's being up is all that refuses here (with a strict quorum the retried
    reachable target refuses too). Mapping mutant ``up-target`` (no check that the
    node is down) fails here."""
    ls = Lockstep(entry("sloppy-crash").config)
    try:
        step_action(ls, ClientPut("c1", "n1", "k"))
        put = next(m for m in ls.frontier[0].messages
                   if m.kind is Kind.REPLICA_PUT and m.dst == "n2")
        step_action(ls, Deliver(put))
        assert ls.ack_lost_timeout("n1", _op(ls), "n2") is None
        with pytest.raises(InvalidValueError, match="in flight from a down node"):
            ls.timeout_ack_lost("n1", _op(ls), "n2")
        assert {type(m.message) for m in ls.in_flight()} == {ReplicaPut, ReplicaPutAck}
    finally:
        ls.cluster.close()


def test_a_request_in_flight_to_the_down_node_is_not_lost() -> None:
    """n2 loses its disk before n1's replica put reaches it: the spec's timeout keeps
    that put in flight (it writes, ``Edit.purge``), so this step loses nothing and
    does not take the timeout (session 45's ``timeout_put_kept`` does, the put kept:
    tests/refinement/test_put_in_flight.py). Mapping mutant ``loses-a-kept-put`` (the
    put counted among the lost) fails here."""
    ls = Lockstep(entry("disk-loss-w2").config)
    try:
        step_action(ls, ClientPut("c1", "n1", "k"))
        step_action(ls, DiskLoss("n2"))
        assert ls.ack_lost_timeout("n1", _op(ls), "n2") is None
        with pytest.raises(InvalidValueError, match="in flight from a down node"):
            ls.timeout_ack_lost("n1", _op(ls), "n2")
        step_action(ls, Timeout("n1", 1, "n2"))
        assert ls.history[-1].endswith("its put in flight kept")
        assert {(m.dest, type(m.message)) for m in ls.in_flight()} == {
            ("n2", ReplicaPut), ("n3", ReplicaPut)}
    finally:
        ls.cluster.close()


def test_losing_a_message_of_another_exchange_diverges(
        acked: Lockstep, monkeypatch: pytest.MonkeyPatch) -> None:
    """The step's check sees what is lost: a harness that also loses n1's replica put
    to n3 (another target's exchange) leaves the implementation without a message
    the spec still has in flight."""
    ls = acked
    step_action(ls, DiskLoss("n2"))
    found = ls.ack_lost_timeout("n1", _op(ls), "n2")
    assert found is not None
    to_n3 = next(m.id for m in ls.in_flight() if isinstance(m.message, ReplicaPut))
    monkeypatch.setattr(Lockstep, "ack_lost_timeout",
                        lambda self, name, op_id, target: (found[0], (*found[1], to_n3)))
    with pytest.raises(Divergence):
        step_action(ls, Timeout("n1", 1, "n2"))


def test_an_answer_of_another_operation_is_not_lost(acked: Lockstep) -> None:
    """Only the exchange's own answer is named: an ack from n2 of another operation
    (one n1 does not coordinate, sent by hand before n2's disk goes) stays out of the
    lost set. Mapping mutant ``any-operation`` (the operation id not compared) fails
    here."""
    ls = acked
    ack = next(m for m in ls.in_flight() if isinstance(m.message, ReplicaPutAck))
    assert isinstance(ack.message, ReplicaPutAck)
    ls.sim.perform("n2", [Send("n1", dataclasses.replace(ack.message,
                                                         op_id=ack.message.op_id + 1))])
    ls.sim.lose_disk("n2")
    assert len(ls.in_flight()) == 3
    assert ls.ack_lost_timeout("n1", _op(ls), "n2") == ("n2", (ack.id,))


def test_a_get_across_a_cut_is_lost_as_a_down_node_s() -> None:
    """Session 45: the node cut off by a partition, not down. sloppy-partition (N = 3,
    R = W = 2, four nodes): c1's get at n2 sent n1 a replica get, then the partition
    puts n1 and n3 on the other side; the spec's ``Timeout(n2, 2, n1)`` (enabled: the
    link is cut) purges that replica get, and the step loses it in the network (with
    the timer's resend to n1, no fallback reachable), nothing of another exchange
    (op 1's put to n1 stays in flight on both sides); n2 then awaits n4 alone. Mapping
    mutant ``down-only`` (the node asked to be down, as before session 45: the
    timeout unmapped) fails here."""
    ls = Lockstep(entry("sloppy-partition").config)
    try:
        def deliver(kind: Kind, src: str, dst: str) -> None:
            step_action(ls, Deliver(next(m for m in ls.frontier[0].messages
                                         if m.kind is kind and (m.src, m.dst) == (src, dst))))

        step_action(ls, ClientPut("c1", "n2", "k"))
        deliver(Kind.REPLICA_PUT, "n2", "n4")
        deliver(Kind.REPLICA_PUT_ACK, "n4", "n2")
        step_action(ls, ClientGet("c1", "n2", "k"))
        deliver(Kind.REPLICA_GET, "n2", "n4")
        step_action(ls, Partition(("n1", "n3")))
        get = next(m for m in ls.in_flight() if isinstance(m.message, ReplicaGet))
        assert (get.src, get.dest) == ("n2", "n1") and ls.up("n1")
        op = next(o for (node, o), request in ls.ops.items() if (node, request) == ("n2", 2))
        assert ls.ack_lost_timeout("n2", op, "n1") == ("n1", (get.id,))
        lost = ls.sim.stats["lost"]
        step_action(ls, Timeout("n2", 2, "n1"))
        assert ls.history[-1] == "timeout n2 #2 target n1 on n1, its answer in flight lost"
        assert ls.sim.stats["lost"] - lost == 2
        assert sorted((m.src, m.dest, type(m.message)) for m in ls.in_flight()) == [
            ("n2", "n1", ReplicaPut), ("n4", "n2", ReplicaGetReply)]
        assert ls.frontier[0].node("n2").coord[0].awaiting == (("n4", ""),)
    finally:
        ls.cluster.close()
