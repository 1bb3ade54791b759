"""A forwarded put is minted once, and only while its client waits (session 26;
docs/runtime.md, "A late Forward (session 26)"): the coordinator claims a
forwarded put (``ForwardClaim``) and coordinates it only on the forwarder's
``ForwardGrant`` (:mod:`impl.forwarding`).

The unit tests drive one :class:`~impl.node.Node` with injected times; the
cluster tests are seeded simulator runs of session 25's scenario
(``tests/impl/test_lww_floor_review.py``: a Forward held back past the
forwarder's timeout, delivered after the client's next write)."""

from __future__ import annotations

import pytest

from impl import forwarding
from impl.effects import Reply, Send, SetTimer
from impl.errors import RequestTimeoutError
from impl.messages import (
    Forward,
    ForwardClaim,
    ForwardDecline,
    ForwardGrant,
    ForwardReply,
    GetRequest,
    PutRequest,
    ReplicaPutAck,
)
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.timers import ForwardTimeout
from tests.impl.test_lww_floor_review import _late_forward_after_a_delete
from tests.impl.test_node_driver import make_config


def _outsider() -> tuple[Node, bytes, tuple[str, ...]]:
    """n1 of 5 nodes (N = 3) and a key outside n1's top N, with that top N."""
    node = Node("n1", make_config(5, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    key = next(k for k in (b"k%d" % i for i in range(100))
               if "n1" not in node.preference_list(k)[:3])
    return node, key, node.preference_list(key)[:3]


def _forward_put(node: Node, key: bytes) -> tuple[str, int]:
    """A client's put through ``node``, forwarded: (target, op id)."""
    (send, _timer) = node.client_request(0.0, PutRequest(7, key, b"milk", b"", None, "c1"))
    assert isinstance(send, Send) and isinstance(send.message, Forward)
    return send.dest, send.message.op_id


def _grants(effects: list[object]) -> list[tuple[str, bool]]:
    return [(e.dest, e.message.granted) for e in effects
            if isinstance(e, Send) and isinstance(e.message, ForwardGrant)]


def test_the_forwarder_grants_the_node_it_waits_for_once_and_restarts_its_wait() -> None:
    node, key, _ = _outsider()
    target, op_id = _forward_put(node, key)
    effects = node.receive(0.4, target, ForwardClaim(op_id, 1))
    timeout = node.forwarder.timeout
    assert effects == [Send(target, ForwardGrant(op_id, 1, granted=True)),
                       SetTimer(ForwardTimeout(op_id), 0.4 + timeout)]
    # a copy of that claim (a duplicated message): granted again, the wait kept
    assert node.receive(0.5, target, ForwardClaim(op_id, 1)) == [
        Send(target, ForwardGrant(op_id, 1, granted=True))]
    # a second claim (a duplicated Forward the coordinator forgot): refused
    assert _grants(node.receive(0.5, target, ForwardClaim(op_id, 2))) == [(target, False)]
    assert node.forwarder.forwardings[op_id].granted == target


def test_a_claim_of_a_node_the_forwarder_gave_up_on_is_refused() -> None:
    node, key, top = _outsider()
    target, op_id = _forward_put(node, key)
    assert target == top[0]
    node.fire(node.forwarder.timeout, ForwardTimeout(op_id))  # on to top[1]
    assert node.forwarder.forwardings[op_id].target == top[1]
    assert _grants(node.receive(3.0, top[0], ForwardClaim(op_id, 1))) == [(top[0], False)]
    assert _grants(node.receive(3.0, top[1], ForwardClaim(op_id, 1))) == [(top[1], True)]


def test_a_claim_after_the_answer_or_of_an_unknown_op_is_refused() -> None:
    node, key, _ = _outsider()
    target, op_id = _forward_put(node, key)
    node.receive(0.1, target, ForwardClaim(op_id, 1))
    (reply, _) = node.receive(0.2, target, ForwardReply(op_id, "put", context=b"ctx"))
    assert isinstance(reply, Reply) and reply.error is None
    assert _grants(node.receive(0.3, target, ForwardClaim(op_id, 1))) == [(target, False)]
    assert _grants(node.receive(0.3, target, ForwardClaim(op_id + 99, 1))) == [(target, False)]


def test_a_granted_put_is_never_tried_elsewhere_nor_coordinated_by_the_forwarder() -> None:
    # Before session 26 the forwarder's timeout sent the put to the next node (or
    # coordinated it here) while the first might still run it: two versions.
    node, key, _ = _outsider()
    target, op_id = _forward_put(node, key)
    node.receive(0.1, target, ForwardClaim(op_id, 1))
    effects = node.fire(0.1 + node.forwarder.timeout, ForwardTimeout(op_id))
    assert [type(e) for e in effects] == [Reply]
    (reply,) = effects
    assert isinstance(reply, Reply) and isinstance(reply.error, RequestTimeoutError)
    assert "may still be applied" in str(reply.error)
    assert node.forwarder.forwardings == {} and node.puts.coordinations == {}
    assert node.suspects(target)  # routed around for a while, as any silent coordinator


def test_an_ungranted_put_is_still_tried_at_the_next_node_then_coordinated_here() -> None:
    node, key, top = _outsider()
    target, op_id = _forward_put(node, key)
    assert target == top[0]
    timeout = node.forwarder.timeout
    (send, _) = node.fire(timeout, ForwardTimeout(op_id))
    assert isinstance(send, Send) and send.dest == top[1]
    node.fire(2 * timeout, ForwardTimeout(op_id))
    node.fire(3 * timeout, ForwardTimeout(op_id))
    assert len(node.puts.coordinations) == 1  # the sloppy-quorum fallback, as before


def test_a_declined_grant_hands_the_put_to_the_next_node_then_to_the_forwarder() -> None:
    # The node granted it will never coordinate it: try the next (before session
    # 26's decline the client was answered RequestTimeoutError, outcome unknown,
    # though nothing was written), and a decline of a node not granted is ignored.
    node, key, top = _outsider()
    target, op_id = _forward_put(node, key)
    node.receive(0.1, target, ForwardClaim(op_id, 1))
    assert node.receive(0.2, top[1], ForwardDecline(op_id)) == []
    (send, timer) = node.receive(0.5, target, ForwardDecline(op_id))
    assert send == Send(top[1], Forward(op_id, node.forwarder.forwardings[op_id].request))
    assert timer == SetTimer(ForwardTimeout(op_id), 0.5 + node.forwarder.timeout)
    assert node.receive(0.5, target, ForwardDecline(op_id)) == []  # a copy: no longer granted
    assert _grants(node.receive(0.6, top[1], ForwardClaim(op_id, 1))) == [(top[1], True)]
    assert not node.suspects(target)
    node, key, top = _outsider()
    target, op_id = _forward_put(node, key)
    node.fire(1.3, ForwardTimeout(op_id))
    node.fire(2.6, ForwardTimeout(op_id))
    node.receive(2.7, top[2], ForwardClaim(op_id, 1))
    node.receive(3.2, top[2], ForwardDecline(op_id))  # the last one: coordinated here
    assert node.forwarder.forwardings == {} and len(node.puts.coordinations) == 1


def _coordinator() -> tuple[Node, bytes]:
    node = Node("n1", make_config(3, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    return node, b"cart"


def _claim(node: Node, now: float, op_id: int, request: PutRequest) -> int:
    """n2 forwards ``request`` as ``op_id`` to ``node``, which claims it: the claim id."""
    (send,) = node.receive(now, "n2", Forward(op_id, request))
    assert isinstance(send, Send) and isinstance(send.message, ForwardClaim)
    assert (send.dest, send.message.op_id) == ("n2", op_id)
    return send.message.claim_id


def test_a_coordinator_claims_a_forwarded_put_and_mints_it_only_on_the_grant() -> None:
    node, key = _coordinator()
    claim = _claim(node, 0.0, 41, PutRequest(7, key, b"milk", b"", None, "c1"))
    assert node.puts.coordinations == {}
    assert node.receive(0.1, "n3", ForwardGrant(41, claim, granted=True)) == []  # not n2's
    assert node.receive(0.1, "n2", ForwardGrant(41, claim + 1, granted=True)) == []  # not it
    assert node.receive(0.1, "n2", ForwardGrant(41, claim, granted=True))
    assert len(node.puts.coordinations) == 1
    assert node.receive(0.1, "n2", ForwardGrant(41, claim, granted=True)) == []  # a duplicate
    assert len(node.puts.coordinations) == 1


def test_a_refused_claim_is_dropped_and_a_get_is_coordinated_on_arrival() -> None:
    node, key = _coordinator()
    claim = _claim(node, 0.0, 41, PutRequest(7, key, b"milk", b"", None, "c1"))
    assert node.receive(0.1, "n2", ForwardGrant(41, claim, granted=False)) == []
    assert node.forwarder.claims == {}
    assert node.receive(0.2, "n2", ForwardGrant(41, claim, granted=True)) == []
    assert node.puts.coordinations == {}
    assert node.receive(0.3, "n2", Forward(42, GetRequest(8, key, None, "c1")))
    assert len(node.gets.coordinations) == 1


def test_a_grant_later_than_replica_timeout_after_the_claim_is_not_coordinated() -> None:
    # The forwarder waits request_timeout + replica_timeout after granting; a grant
    # taken within replica_timeout of the claim (this node's clock) starts the
    # coordination before the forwarder gives up, whatever the clocks' skew.
    node, key = _coordinator()
    late = node.config.replica_timeout
    claim = _claim(node, 0.0, 41, PutRequest(7, key, b"milk", b"", None, "c1"))
    effects = node.receive(late + 0.01, "n2", ForwardGrant(41, claim, granted=True))
    assert node.puts.coordinations == {}
    assert effects == [Send("n2", ForwardDecline(41))]  # given back
    assert node.receive(late + 0.02, "n2", ForwardGrant(41, claim, granted=True)) == []
    claim = _claim(node, 0.0, 43, PutRequest(8, key, b"tea", b"", None, "c1"))
    assert node.receive(late, "n2", ForwardGrant(43, claim, granted=True))  # at the bound
    assert len(node.puts.coordinations) == 1
    # a claim forgotten (expired at another node's forward) is declined all the same
    claim = _claim(node, 1.0, 44, PutRequest(9, key, b"jam", b"", None, "c1"))
    _claim(node, 1.0 + late + 0.1, 45, PutRequest(10, key, b"oat", b"", None, "c1"))
    assert ("n2", 44) not in node.forwarder.claims
    assert node.receive(1.0 + late + 0.2, "n2", ForwardGrant(44, claim + 1, granted=True)) == []
    assert node.receive(1.0 + late + 0.2, "n2", ForwardGrant(44, claim, granted=True)) == [
        Send("n2", ForwardDecline(44))]
    assert node.receive(1.0 + late + 0.3, "n2", ForwardGrant(44, claim, granted=True)) == []
    assert len(node.puts.coordinations) == 1


@pytest.mark.parametrize("clock", ["lww", "dvv"])
def test_a_late_forward_does_not_undo_a_later_put(clock: str) -> None:
    # As the delete of session 25's scenario: before, the late Forward minted v1
    # again after the client's v2 (dvv: [v1, v2] siblings; lww: the later stamp).
    assert _late_forward_after_a_delete(clock, then="put") == [b"v2"]


@pytest.mark.parametrize("clock", ["lww", "dvv"])
@pytest.mark.parametrize("then", ["delete", "put"])
def test_a_late_forward_delivered_three_times_is_refused_each_time(clock: str,
                                                                   then: str) -> None:
    expected = [] if then == "delete" else [b"v2"]
    assert _late_forward_after_a_delete(clock, then=then, copies=3, seed=2) == expected


def test_a_claim_counts_in_pending_bytes_until_granted_or_too_old_for_a_grant() -> None:
    node, key = _coordinator()
    late = node.config.replica_timeout
    node.receive(0.0, "n2", Forward(41, PutRequest(7, key, b"m" * 1000, b"", None, "c1")))
    assert node.pending_bytes == 1000
    node.receive(0.0, "n2", Forward(42, GetRequest(8, key, None, "c1")))
    assert node.pending_bytes == 1000
    node.receive(late + 0.1, "n3", ReplicaPutAck(999, key))  # any later input
    assert node.pending_bytes == 0  # its grant would be refused now
    node.receive(late + 0.2, "n2", Forward(43, PutRequest(9, key, b"t", b"", None, "c1")))
    assert list(node.forwarder.claims) == [("n2", 43)]  # the old one forgotten


def test_a_claim_of_another_node_with_the_granted_claim_id_is_refused() -> None:
    # Claim ids are each coordinator's own (session 26's review: a copy of the
    # granted claim is told by its sender and its id together; by the id alone a
    # second node whose counter gave the same id was granted too: two mints).
    node, key, top = _outsider()
    target, op_id = _forward_put(node, key)
    assert _grants(node.receive(0.1, target, ForwardClaim(op_id, 5))) == [(target, True)]
    assert _grants(node.receive(0.2, top[1], ForwardClaim(op_id, 5))) == [(top[1], False)]
    assert node.forwarder.forwardings[op_id].granted == target


def test_a_claim_of_a_forwarded_get_is_refused() -> None:
    # Gets are coordinated on arrival, never claimed: a claim of one (a forged or
    # confused peer) is refused, and the get is still tried at the next node on a
    # timeout (session 26's review; a granted get was answered RequestTimeoutError).
    node, key, top = _outsider()
    (send, _timer) = node.client_request(0.0, GetRequest(8, key, None, "c1"))
    assert isinstance(send, Send) and isinstance(send.message, Forward)
    op_id = send.message.op_id
    assert _grants(node.receive(0.1, send.dest, ForwardClaim(op_id, 1))) == [(send.dest, False)]
    (retry, _) = node.fire(node.forwarder.timeout, ForwardTimeout(op_id))
    assert isinstance(retry, Send) and retry.dest == top[1]


def test_a_duplicated_forward_of_a_put_is_claimed_once() -> None:
    # A second claim of the same put would replace the first at the coordinator,
    # which then ignored the first claim's grant while the forwarder refused the
    # second: RequestTimeoutError for a put nobody coordinated (session 26's review).
    node, key = _coordinator()
    request = PutRequest(7, key, b"milk", b"", None, "c1")
    claim = _claim(node, 0.0, 41, request)
    assert node.receive(0.05, "n2", Forward(41, request)) == []
    assert node.receive(0.1, "n2", ForwardGrant(41, claim, granted=True))
    assert len(node.puts.coordinations) == 1


def test_the_claims_and_the_forgotten_claim_ids_are_bounded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Each table keeps FORWARD_MEMORY entries at most, the oldest dropped first
    # (session 26's review: neither bound was tested).
    monkeypatch.setattr(forwarding, "FORWARD_MEMORY", 3)
    node, key = _coordinator()
    late = node.config.replica_timeout
    for op_id in range(1, 6):
        _claim(node, 0.0, op_id, PutRequest(op_id, key, b"m", b"", None, "c1"))
    assert list(node.forwarder.claims) == [("n2", 3), ("n2", 4), ("n2", 5)]
    for op_id in range(6, 11):  # each forgets the one before (too old for a grant)
        _claim(node, (op_id - 5) * (late + 0.1), op_id,
               PutRequest(op_id, key, b"m", b"", None, "c1"))
    assert list(node.forwarder.claims) == [("n2", 10)]
    assert len(node.forwarder._expired) == 3
