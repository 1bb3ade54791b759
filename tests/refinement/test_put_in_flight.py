"""The spec's coordinator gives up on a target that is down while its own replica put
to it is still on the way: session 45's mapping (``Lockstep.timeout_put_kept``,
``LockstepState.put_kept_timeout``; docs/refinement.md, "The strict quorum's give-up
mapped (session 45, the put in flight)").

The spec's ``Timeout`` is enabled because the target is down (``spec.coordination``:
its accurate failure detector); it stops awaiting the node and keeps the put, which
writes when the node is back (``spec.step.Edit.purge`` keeps replica puts), and sends
no ack then (``spec.replica.awaited``). The harness fires the coordinator's timer for
the target (its resend to the down node lost; a fallback sent the write where one is
left), keeps the put in flight, and counts the node's later ack dead: the
implementation's coordinator still counts the node silent, and that ack, were it
delivered while the put is open, would answer it where the spec's give-up does not.
That answer is the spec's too on the run without the give-up (paper section 4.5: W
replicas stored the write; Riak's put FSM counts a vnode's reply until its request
timeout, ``riak_kv_put_fsm:waiting_remote_vnode/2``), which
:func:`test_the_late_ack_s_answer_is_the_spec_s_without_the_give_up` replays.
disk-loss-w2: N = 3, W = 2, strict quorum, one disk loss.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from impl.effects import Send
from impl.errors import QuorumError
from impl.messages import ReplicaGet, ReplicaPut, ReplicaPutAck
from model_check.refinement import Divergence, Lockstep
from model_check.refinement_replay import NotExpressible, step_action
from model_check.suite import entry
from spec.actions import (
    ClientDelete,
    ClientGet,
    ClientPut,
    Crash,
    Deliver,
    DiskLoss,
    Drop,
    Duplicate,
    Heal,
    Partition,
    Reap,
    Recover,
    Timeout,
)
from spec.errors import InvalidValueError
from spec.state import Kind, Message

#: disk-loss-w2 without the rebuild (session 60: the rebuild is on by default since;
#: these scripts step the spec's rule before it, the replaced disk counted at once)
W2_NO_REBUILD = entry("disk-loss-w2").config.replace(rebuild=False)


def _spec_message(ls: Lockstep, kind: Kind, src: str, dst: str) -> Message:
    return next(m for m in ls.frontier[0].messages
                if m.kind is kind and (m.src, m.dst) == (src, dst))


def _op(ls: Lockstep) -> int:
    return next(op for (node, op), request in ls.ops.items() if (node, request) == ("n1", 1))


def _put_answered(ls: Lockstep) -> tuple[bool, str | None]:
    """(done, the error's type name or None) of c1's put."""
    handle = next(r.handle for r in ls.requests.values() if r.is_put)
    error = None if not handle.done or handle.error is None else type(handle.error).__name__
    return handle.done, error


@pytest.fixture
def given_up() -> Iterator[Lockstep]:
    """c1's put of v1 at n1; n2 loses its disk before n1's replica put reaches it; the
    spec's ``Timeout(n1, 1, n2)`` (unmapped before session 45)."""
    ls = Lockstep(W2_NO_REBUILD)
    try:
        step_action(ls, ClientPut("c1", "n1", "k"))
        step_action(ls, DiskLoss("n2"))
        yield ls
    finally:
        ls.cluster.close()


def test_the_kept_put_writes_after_the_give_up_and_its_ack_is_dead(
        given_up: Lockstep) -> None:
    """The give-up keeps n1's put to n2 in flight on both sides (the timer's resend to
    the down n2 lost, one message), the spec awaits n3 alone; n2 back, the put writes
    v1 on both sides, and n2's ack is dead (the spec sends none); n3's ack then
    answers the put on both (W = 2: n1 and n3). Mapping mutants ``unmapped-as-before``
    (``step_action`` does not take the step: NotExpressible) fails here; ``put-lost``
    (the kept put lost too) does not (review, session 45): the timer's resend to n2
    is the same abstract message, so only the sloppy test tells them apart."""
    ls = given_up
    to_n2 = next(m.id for m in ls.in_flight() if m.dest == "n2")
    assert ls.put_kept_timeout("n1", _op(ls), "n2") == ("n2", (to_n2,), ())
    lost = ls.sim.stats["lost"]
    step_action(ls, Timeout("n1", 1, "n2"))
    assert ls.history[-1] == "timeout n1 #1 target n2 on n2, its put in flight kept"
    assert ls.sim.stats["lost"] - lost == 1
    assert sorted((m.dest, type(m.message)) for m in ls.in_flight()) == [
        ("n2", ReplicaPut), ("n3", ReplicaPut)]
    assert ls.frontier[0].node("n1").coord[0].awaiting == (("n3", ""),)
    step_action(ls, Recover("n2"))
    step_action(ls, Deliver(_spec_message(ls, Kind.REPLICA_PUT, "n1", "n2")))
    ack = next(m for m in ls.in_flight() if isinstance(m.message, ReplicaPutAck))
    assert ack.id in ls.dead and ls.abstract_message(ack) is None
    assert ls.abstract().nodes[1][1] == ls.abstract().nodes[0][1]  # n2 holds v1 as n1
    assert _put_answered(ls) == (False, None)
    step_action(ls, Deliver(_spec_message(ls, Kind.REPLICA_PUT, "n1", "n3")))
    step_action(ls, Deliver(_spec_message(ls, Kind.REPLICA_PUT_ACK, "n3", "n1")))
    assert _put_answered(ls) == (True, None)
    assert ls.clients["c1"].acked == [1]


@pytest.mark.parametrize("order", [("n3", "n2"), ("n2", "n3")])
def test_a_give_up_that_fails_the_put(given_up: Lockstep, order: tuple[str, str]) -> None:
    """n1's put to n3 dropped too: the two give-ups fail the put on both sides, in
    either order (n3 first: session 44's stutter, then this step fails the request and
    the harness fires the deadline; n2 first: this step, then session 44's timer rounds
    to the deadline, which retry n2 as well as n3, 9 rounds of 2 retries lost). The
    kept put still writes v1 at n2 after its recovery; its late ack is a late ack on
    both sides (the put ended), a stutter even when delivered."""
    ls = given_up
    step_action(ls, Drop(_spec_message(ls, Kind.REPLICA_PUT, "n1", "n3")))
    for target in order:
        step_action(ls, Timeout("n1", 1, target))
    assert _put_answered(ls) == (True, "QuorumError")
    assert ls.sim.stats["lost"] == (2 if order[0] == "n3" else 20)
    assert [(m.dest, type(m.message)) for m in ls.in_flight()] == [("n2", ReplicaPut)]
    step_action(ls, Recover("n2"))
    step_action(ls, Deliver(_spec_message(ls, Kind.REPLICA_PUT, "n1", "n2")))
    assert ls.abstract().nodes[1][1] == ls.abstract().nodes[0][1]
    ack = next(m for m in ls.in_flight() if isinstance(m.message, ReplicaPutAck))
    assert ack.id in ls.dead
    ls.deliver(ack.id)  # the implementation's late ack: ignored, as the spec has none
    assert ls.clients["c1"].acked == []


def test_the_late_ack_while_the_put_is_open_is_where_the_two_part(
        given_up: Lockstep) -> None:
    """The disagreement the mapping hides, made explicit: after the give-up, n2 back
    and written, n1's put to n3 dropped, n2's dead ack delivered would answer the put
    on the implementation (it still counts n2 silent: n1 and n2 make W = 2) where no
    spec state of the frontier answers it (the spec's give-up awaits n3 alone, whose
    put is gone): the lockstep reports it. The mapping therefore loses that ack."""
    ls = given_up
    step_action(ls, Timeout("n1", 1, "n2"))
    step_action(ls, Recover("n2"))
    step_action(ls, Deliver(_spec_message(ls, Kind.REPLICA_PUT, "n1", "n2")))
    step_action(ls, Drop(_spec_message(ls, Kind.REPLICA_PUT, "n1", "n3")))
    ack = next(m for m in ls.in_flight() if isinstance(m.message, ReplicaPutAck))
    with pytest.raises(Divergence, match="clients"):
        ls.deliver(ack.id)


def test_the_late_ack_s_answer_is_the_spec_s_without_the_give_up() -> None:
    """The same run without the spec's give-up: n2 back, its put written, its ack
    delivered answers c1's put on both sides (n1 and n2), and n1's put to n3 dropped
    changes nothing: the implementation's answer on a late ack is a spec behaviour
    (the spec's ``Timeout`` may fire or not), so the implementation, which keeps
    counting the node, refines the spec; only the give-up's own run loses the ack."""
    ls = Lockstep(W2_NO_REBUILD)
    try:
        for action in (ClientPut("c1", "n1", "k"), DiskLoss("n2"), Recover("n2")):
            step_action(ls, action)
        step_action(ls, Deliver(_spec_message(ls, Kind.REPLICA_PUT, "n1", "n2")))
        step_action(ls, Deliver(_spec_message(ls, Kind.REPLICA_PUT_ACK, "n2", "n1")))
        step_action(ls, Drop(_spec_message(ls, Kind.REPLICA_PUT, "n1", "n3")))
        assert _put_answered(ls) == (True, None)
        assert ls.clients["c1"].acked == [1]
    finally:
        ls.cluster.close()


def test_a_sloppy_give_up_hands_the_target_on_and_keeps_the_put() -> None:
    """sloppy-crash (N = 3, W = 2, four nodes): n2 crashes with n1's put to it on the
    way; the give-up sends the write to the fallback n3 with a hint for n2 on both
    sides, and n1's put to n2 stays in flight. Mapping mutant ``no-timer`` (no timer
    fired: a stutter, the same as the strict quorum's give-up on the abstraction)
    fails here; so does an up node's put (mutant ``reachable-target``: no check that
    the node is unreachable): the spec allows no timeout of n2 then."""
    ls = Lockstep(entry("sloppy-crash").config)
    try:
        step_action(ls, ClientPut("c1", "n1", "k"))
        assert ls.put_kept_timeout("n1", _op(ls), "n2") is None  # n2 up
        with pytest.raises(InvalidValueError, match="to an unreachable node"):
            ls.timeout_put_kept("n1", _op(ls), "n2")
        step_action(ls, Crash("n2"))
        step_action(ls, Timeout("n1", 1, "n2"))
        assert ls.history[-1] == "timeout n1 #1 target n2 on n2, its put in flight kept"
        assert sorted((m.dest, getattr(m.message, "hint", None)) for m in ls.in_flight()
                      ) == [("n2", ""), ("n3", "n2"), ("n4", "")]
        assert ls.frontier[0].node("n1").coord[0].awaiting == (("n3", "n2"), ("n4", ""))
    finally:
        ls.cluster.close()


def test_a_put_across_a_cut_is_kept_as_a_down_node_s() -> None:
    """sloppy-partition (N = 3, W = 2, four nodes): c1's put at n2, its replica puts to
    n1 and n4 on the way, then the partition cuts n1 and n3 off (n1 up). The spec's
    ``Timeout(n2, 1, n1)`` (enabled: the link is cut) keeps n2's put to n1, and the
    step takes it (no fallback reachable: the timer's resend to n1 lost, one
    message); n2 awaits n4 alone. After the heal the kept put writes v1 at n1, its
    ack dead; n4's ack answers the put on both sides. The cut case the docs count in
    sloppy-partition's gain; mapping mutant ``put-kept-down-only`` (the node asked to
    be down, as session 44's check was: the timeout unmapped) fails here, and
    survived the rest of tests/refinement's timeout files (session 45 review)."""
    ls = Lockstep(entry("sloppy-partition").config)
    try:
        step_action(ls, ClientPut("c1", "n2", "k"))
        to_n1 = next(m.id for m in ls.in_flight() if m.dest == "n1")
        step_action(ls, Partition(("n1", "n3")))
        op = next(o for (node, o), request in ls.ops.items() if (node, request) == ("n2", 1))
        assert ls.up("n1") and ls.put_kept_timeout("n2", op, "n1") == ("n1", (to_n1,), ())
        lost = ls.sim.stats["lost"]
        step_action(ls, Timeout("n2", 1, "n1"))
        assert (ls.history[-1], ls.sim.stats["lost"] - lost) == (
            "timeout n2 #1 target n1 on n1, its put in flight kept", 1)
        assert sorted((m.src, m.dest, type(m.message)) for m in ls.in_flight()) == [
            ("n2", "n1", ReplicaPut), ("n2", "n4", ReplicaPut)]
        assert ls.frontier[0].node("n2").coord[0].awaiting == (("n4", ""),)
        step_action(ls, Heal())
        step_action(ls, Deliver(_spec_message(ls, Kind.REPLICA_PUT, "n2", "n1")))
        ack = next(m for m in ls.in_flight() if isinstance(m.message, ReplicaPutAck))
        assert (ack.src, ack.dest) == ("n1", "n2") and ack.id in ls.dead
        assert ls.abstract().nodes[0][1] == ls.abstract().nodes[1][1]  # n1 holds v1 as n2
        assert _put_answered(ls) == (False, None)
        step_action(ls, Deliver(_spec_message(ls, Kind.REPLICA_PUT, "n2", "n4")))
        step_action(ls, Deliver(_spec_message(ls, Kind.REPLICA_PUT_ACK, "n4", "n2")))
        assert _put_answered(ls) == (True, None)
    finally:
        ls.cluster.close()


def test_an_ack_on_the_way_is_lost_and_a_copy_of_the_put_kept() -> None:
    """disk-loss-w2 with one duplicate: n1's put to n2 copied, one copy delivered (n2's
    ack on the way), then n2 loses its disk: the give-up loses the ack (the spec purges
    it) and keeps the other copy (it writes), on both sides; session 44's
    ``ack_lost_timeout`` does not take it (a put is in flight). Mapping mutants
    ``keeps-the-ack`` (the ack not lost) fails here (``put-lost`` does not: the
    strict resend stands in for the copy, as in the first test)."""
    ls = Lockstep(W2_NO_REBUILD.replace(duplicates=1))
    try:
        step_action(ls, ClientPut("c1", "n1", "k"))
        step_action(ls, Duplicate(_spec_message(ls, Kind.REPLICA_PUT, "n1", "n2")))
        step_action(ls, Deliver(_spec_message(ls, Kind.REPLICA_PUT, "n1", "n2")))
        step_action(ls, DiskLoss("n2"))
        ack = next(m.id for m in ls.in_flight() if isinstance(m.message, ReplicaPutAck))
        copy = next(m.id for m in ls.in_flight() if m.dest == "n2")
        assert ls.ack_lost_timeout("n1", _op(ls), "n2") is None
        assert ls.put_kept_timeout("n1", _op(ls), "n2") == ("n2", (copy,), (ack,))
        step_action(ls, Timeout("n1", 1, "n2"))
        assert sorted(m.dest for m in ls.in_flight()) == ["n2", "n3"]
        assert sorted((m.kind, m.dst) for m in ls.frontier[0].messages) == [
            (Kind.REPLICA_PUT, "n2"), (Kind.REPLICA_PUT, "n3")]
    finally:
        ls.cluster.close()


def test_messages_of_another_operation_are_neither_kept_nor_lost() -> None:
    """Only the exchange's own messages are named: a replica put from n1 to n2 and an
    ack from n2 to n1 of another operation, and a message of the operation from n2
    that is not an answer (sent by hand, then n2's disk lost in the simulator: the
    lockstep's steps would refuse to abstract them) stay out of ``kept`` and
    ``lost``; the latter refuses the step until it is gone. Mapping mutants
    ``any-operation`` (the operation id not compared) and ``ack-of-any-kind`` (any
    message of the operation from the node counted lost, not only its acks) fail
    here."""
    ls = Lockstep(W2_NO_REBUILD)
    try:
        step_action(ls, ClientPut("c1", "n1", "k"))
        op, other = _op(ls), _op(ls) + 1
        put = next(m for m in ls.in_flight() if m.dest == "n2")
        assert isinstance(put.message, ReplicaPut)
        ls.sim.perform("n1", [Send("n2", dataclasses.replace(put.message, op_id=other))])
        ls.sim.perform("n2", [Send("n1", ReplicaPutAck(op, b"k")),
                              Send("n1", ReplicaPutAck(other, b"k")),
                              Send("n1", ReplicaGet(op, b"k"))])
        ls.sim.lose_disk("n2")
        ack = next(m.id for m in ls.in_flight() if isinstance(m.message, ReplicaPutAck)
                   and m.message.op_id == op)
        assert len(ls.in_flight()) == 6
        # a message of the exchange neither kept nor purged by the spec refuses
        assert ls.put_kept_timeout("n1", op, "n2") is None
        ls.sim.drop(next(m.id for m in ls.in_flight() if isinstance(m.message, ReplicaGet)))
        assert ls.put_kept_timeout("n1", op, "n2") == ("n2", (put.id,), (ack,))
    finally:
        ls.cluster.close()


def test_a_failed_delete_is_not_held_open_for_its_kept_put() -> None:
    """dvv-prune-retired-delete (N = W = 2, safe reaps): c1's delete at n2, n1 crashed
    with n2's put of the tombstone on the way; the give-up fails the delete on both
    sides (the implementation's deadline fired at once, ``QuorumError``), the put kept.
    n1 back and written, the spec's ``Reap(k, n1)`` is not expressible (no operation
    saw both targets hold the tombstone), not a divergence. Before session 45's fix of
    ``LockstepState._acks_may_come`` (mutant ``held-open``: a delete not answered
    held open while its put is in flight) the delete stayed open, and the reap step,
    delivering the dead ack of n1 first, answered it on the implementation only."""
    ls = Lockstep(entry("dvv-prune-retired-delete").config)
    try:
        step_action(ls, ClientPut("c1", "n1", "k"))
        step_action(ls, Deliver(_spec_message(ls, Kind.REPLICA_PUT, "n1", "n2")))
        step_action(ls, Deliver(_spec_message(ls, Kind.REPLICA_PUT_ACK, "n2", "n1")))
        for action in (ClientGet("c1", "n1", "k"), ClientDelete("c1", "n2", "k"),
                       Crash("n1"), Timeout("n2", 2, "n1")):
            step_action(ls, action)
        assert ls.history[-1] == "timeout n2 #2 target n1 on n1, its put in flight kept"
        delete = next(r.handle for r in ls.requests.values() if r.spec_id == 2)
        assert delete.done and isinstance(delete.error, QuorumError)
        assert not ls.cluster.node("n2").coordinations()
        step_action(ls, Recover("n1"))
        step_action(ls, Deliver(_spec_message(ls, Kind.REPLICA_PUT, "n2", "n1")))
        with pytest.raises(NotExpressible, match="no node has a reap timer"):
            step_action(ls, Reap("k", ("n1",)))
    finally:
        ls.cluster.close()
