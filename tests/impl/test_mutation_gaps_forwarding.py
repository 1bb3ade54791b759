"""impl.forwarding: the behaviours mutmut found no test for (docs/refinement.md,
"Mutation score")."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from impl import forwarding
from impl.config import KEY_BYTES_CEILING
from impl.context import encode_context
from impl.effects import CancelTimer, Effect, GetResult, PutResult, Reply, Send
from impl.errors import (
    BadRequestError,
    ErrorCode,
    QuorumError,
    RequestTimeoutError,
    TooLargeError,
)
from impl.forwarding import FORWARD_MEMORY, ReplyTo, answer, check_request, refuse
from impl.messages import (
    Forward,
    ForwardClaim,
    ForwardDecline,
    ForwardGrant,
    ForwardReply,
    GetRequest,
    PutRequest,
    ReplicaPut,
    delete_request,
)
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.timers import ForwardTimeout
from impl.versions import TOMBSTONE, ClockMode
from spec.vclock import VClock
from tests.impl.test_node_driver import make_config


def test_a_refusal_answers_request_id_0_when_the_request_has_no_usable_id() -> None:
    error = BadRequestError("bad")
    assert refuse(object(), error).request_id == 0  # none at all
    for bad in (True, False, "7", 7.0, None):
        reply = refuse(SimpleNamespace(request_id=bad), error)
        assert reply.request_id == 0 and type(reply.request_id) is int, bad
    assert refuse(SimpleNamespace(request_id=7), error).request_id == 7
    assert refuse(object(), error).error is error


def _forwarded(request_of: Callable[[bytes], PutRequest | GetRequest]
               ) -> tuple[Node, str, int]:
    """A node outside the key's top N forwards a client request: (node, target, op id)."""
    node = Node("n1", make_config(5, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    key = next(k for k in (b"k%d" % i for i in range(100))
               if "n1" not in node.preference_list(k)[:3])
    effects = node.client_request(0.0, request_of(key))
    (send,) = [e for e in effects if isinstance(e, Send)]
    assert isinstance(send.message, Forward)
    return node, send.dest, send.message.op_id


def test_a_relayed_answer_cancels_the_forwarding_timer_and_carries_the_context() -> None:
    node, target, op_id = _forwarded(lambda key: PutRequest(7, key, b"milk", b"", None, "c1"))
    effects = node.receive(0.1, target, ForwardReply(op_id, "put", context=b"ctx"))
    assert effects == [Reply(7, PutResult(b"ctx")), CancelTimer(ForwardTimeout(op_id))]
    node, target, op_id = _forwarded(lambda key: GetRequest(8, key, None, "c1"))
    effects = node.receive(0.1, target, ForwardReply(op_id, "get", (b"a", b"b"), b"ctx"))
    assert effects == [Reply(8, GetResult([b"a", b"b"], b"ctx")),
                       CancelTimer(ForwardTimeout(op_id))]
    node, target, op_id = _forwarded(lambda key: GetRequest(9, key, None, "c1"))
    effects = node.receive(0.1, target, ForwardReply(op_id, "get", error=ErrorCode.QUORUM.value,
                                                     message="short"))
    assert len(effects) == 2 and effects[1] == CancelTimer(ForwardTimeout(op_id))
    reply = effects[0]
    assert isinstance(reply, Reply) and reply.request_id == 9
    assert isinstance(reply.error, QuorumError) and str(reply.error) == "short"
    assert node.forwarder.forwardings == {}


def test_a_coordinator_remembers_exactly_the_last_forward_memory_forwards() -> None:
    node = Node("n1", make_config(3, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    seen = node.forwarder._seen
    for op_id in range(1, FORWARD_MEMORY):  # FORWARD_MEMORY - 1 forwards seen
        seen[("n2", op_id)] = None
    get = GetRequest(7, b"cart", None, "c1")
    assert node.receive(0.0, "n2", Forward(FORWARD_MEMORY, get))  # coordinated
    assert len(seen) == FORWARD_MEMORY and ("n2", 1) in seen
    assert node.receive(0.0, "n2", Forward(1, get)) == []  # still known: a duplicate
    assert node.receive(0.0, "n2", Forward(FORWARD_MEMORY + 1, get))
    assert len(seen) == FORWARD_MEMORY and ("n2", 1) not in seen  # the oldest forgotten
    assert node.receive(0.0, "n2", Forward(1, get))  # so coordinated again


def _outsider(nodes: int = 5) -> tuple[Node, bytes, tuple[str, ...]]:
    node = Node("n1", make_config(nodes, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    key = next(k for k in (b"k%d" % i for i in range(100))
               if "n1" not in node.preference_list(k)[:3])
    return node, key, node.preference_list(key)[:3]


def _forward_dests(effects: list[object]) -> list[str]:
    return [e.dest for e in effects if isinstance(e, Send) and isinstance(e.message, Forward)]


def test_a_request_is_forwarded_to_the_first_reachable_target_then_the_next() -> None:
    node, key, targets = _outsider()
    node.set_suspected({targets[0]: math.inf})
    effects = node.client_request(0.0, GetRequest(7, key, None, "c1"))
    assert _forward_dests(effects) == [targets[1]]
    (op_id,) = node.forwarder.forwardings
    assert _forward_dests(node.fire(2.0, ForwardTimeout(op_id))) == [targets[2]]


def test_with_no_target_reachable_the_first_is_probed_then_the_next() -> None:
    node, key, targets = _outsider()
    node.set_suspected({t: math.inf for t in targets})
    effects = node.client_request(0.0, GetRequest(7, key, None, "c1"))
    assert _forward_dests(effects) == [targets[0]]
    node, key, targets = _outsider()
    node.client_request(0.0, GetRequest(7, key, None, "c1"))
    (op_id,) = node.forwarder.forwardings
    assert _forward_dests(node.fire(2.0, ForwardTimeout(op_id))) == [targets[1]]


def test_a_context_is_bounded_by_the_configured_max_context_bytes() -> None:
    node = Node("n1", make_config(3, n=3, r=2, w=2, max_context_bytes=1 << 17),
                MemoryStorage("always"), seed=1)
    node.start(0.0)
    (reply,) = node.client_request(0.0, PutRequest(7, b"cart", b"milk", b"x" * 70_000,
                                                   None, "c1"))
    assert isinstance(reply, Reply) and "failed authentication" in str(reply.error)


def test_a_request_that_is_not_one_is_refused_naming_its_type() -> None:
    """Session 9: ``check_request__mutmut_3`` named ``NoneType`` whatever was sent."""
    config = make_config(3, n=3, r=2, w=2)
    with pytest.raises(BadRequestError) as caught:
        check_request(config, ClockMode.DVV, "get cart")
    assert str(caught.value) == "request must be a GetRequest or a PutRequest, got str"


def test_a_client_key_of_exactly_max_key_bytes_is_accepted_one_more_refused() -> None:
    """Session 9: ``check_request__mutmut_4`` (``>=``) refused a key at the limit."""
    config = make_config(3, n=3, r=2, w=2)
    limit = config.max_key_bytes
    for request in (GetRequest(1, b"k" * limit), PutRequest(1, b"k" * limit, b"v")):
        check_request(config, ClockMode.DVV, request)
    with pytest.raises(TooLargeError) as caught:
        check_request(config, ClockMode.DVV, PutRequest(1, b"k" * (limit + 1), b"v"))
    assert str(caught.value) == (f"key is {limit + 1} bytes, over the limit of {limit} "
                                 "(max_key_bytes)")


def test_a_key_over_max_key_bytes_is_read_and_written_only_with_a_context_of_a_version(
) -> None:
    """Session 18's service probe: a key stored before ``max_key_bytes`` was lowered
    is read, and written (a put, a delete) with the context of a read that found a
    version (contexts are bound to their key); a blind write, or one with the empty
    context of a read that found nothing, is refused as before; over
    ``KEY_BYTES_CEILING`` every request is. Before, all were refused."""
    config = make_config(3, n=3, r=2, w=2)
    long_key = b"k" * (config.max_key_bytes + 1)
    check_request(config, ClockMode.DVV, GetRequest(1, long_key))
    found = encode_context(VClock.of({"n1": 1}), key=long_key, mode=ClockMode.DVV,
                           secret=config.context_secret)
    check_request(config, ClockMode.DVV, PutRequest(1, long_key, b"v", context=found))
    check_request(config, ClockMode.DVV, delete_request(1, long_key, found))
    empty = encode_context(VClock(), key=long_key, mode=ClockMode.DVV,
                           secret=config.context_secret)
    for request in (PutRequest(1, long_key, b"v"), PutRequest(1, long_key, b"v", context=empty),
                    delete_request(1, long_key, empty),
                    GetRequest(1, b"k" * (KEY_BYTES_CEILING + 1))):
        with pytest.raises(TooLargeError, match=r"^key is "):
            check_request(config, ClockMode.DVV, request)


def test_a_put_of_the_tombstone_bytes_is_refused_saying_why() -> None:
    """Session 9: ``check_request__mutmut_11`` to ``_14`` changed the message."""
    config = make_config(3, n=3, r=2, w=2)
    with pytest.raises(BadRequestError) as caught:
        check_request(config, ClockMode.DVV, PutRequest(1, b"cart", TOMBSTONE))
    assert str(caught.value) == ("PutRequest.value: these bytes are the tombstone marker, "
                                 "reserved for deletes")


def test_a_value_of_exactly_max_value_bytes_is_accepted_one_more_refused() -> None:
    """Session 9: ``check_request__mutmut_15`` (``>=``) refused a value at the limit."""
    config = make_config(3, n=3, r=2, w=2)
    limit = config.max_value_bytes
    check_request(config, ClockMode.DVV, PutRequest(1, b"cart", b"v" * limit))
    with pytest.raises(TooLargeError) as caught:
        check_request(config, ClockMode.DVV, PutRequest(1, b"cart", b"v" * (limit + 1)))
    assert str(caught.value) == (f"value is {limit + 1} bytes, over the limit of {limit} "
                                 "(max_value_bytes)")


def test_a_client_vclock_put_without_a_client_id_is_refused_saying_why() -> None:
    """Session 9: ``check_request__mutmut_25`` (a timeout at load) and ``_26`` changed
    the message."""
    config = make_config(3, n=3, r=2, w=2)
    check_request(config, ClockMode.CLIENT_VCLOCK, PutRequest(1, b"cart", b"v", client_id="c"))
    with pytest.raises(BadRequestError) as caught:
        check_request(config, ClockMode.CLIENT_VCLOCK, PutRequest(1, b"cart", b"v"))
    assert str(caught.value) == "PutRequest.client_id: the client-vclock mode needs one"


# Session 28: the survivors of a mutmut run over the rewritten forwarding (session
# 26's ForwardClaim / ForwardGrant / ForwardDecline; docs/refinement.md, "Session 28:
# forwarding and hints").

def test_a_key_of_exactly_the_ceiling_is_served_with_a_context_of_a_version() -> None:
    """``check_request__mutmut_5`` (``>= KEY_BYTES_CEILING``) refused a key of exactly
    ``KEY_BYTES_CEILING`` bytes, stored under a larger ``max_key_bytes``."""
    config = make_config(3, n=3, r=2, w=2)
    key = b"k" * KEY_BYTES_CEILING
    found = encode_context(VClock.of({"n1": 1}), key=key, mode=ClockMode.DVV,
                           secret=config.context_secret)
    check_request(config, ClockMode.DVV, GetRequest(1, key))
    check_request(config, ClockMode.DVV, PutRequest(1, key, b"v", context=found))


def test_a_forwarded_requests_answer_carries_the_error_message_and_the_put_context() -> None:
    """``answer__mutmut_19``, ``_21`` (the error's message left out, or ``"None"``) and
    ``_41`` (a put's context left out of its ForwardReply)."""
    to_peer = ReplyTo(7, "n2", 41)
    assert answer(to_peer, PutResult(b"ctx"), None, kind="put") == Send(
        "n2", ForwardReply(41, "put", context=b"ctx"))
    assert answer(to_peer, None, QuorumError("short"), kind="put") == Send(
        "n2", ForwardReply(41, "put", error=ErrorCode.QUORUM.value, message="short"))
    assert answer(ReplyTo(7), PutResult(b"ctx"), None, kind="put") == Reply(
        7, PutResult(b"ctx"))


def _coordinator() -> Node:
    node = Node("n1", make_config(3, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    return node


def _claim(node: Node, now: float, op_id: int) -> int:
    """n2 forwards the put ``op_id`` to ``node``, which claims it: the claim id."""
    request = PutRequest(op_id, b"cart", b"milk", b"", None, "c1")
    (send,) = node.receive(now, "n2", Forward(op_id, request))
    assert isinstance(send, Send) and isinstance(send.message, ForwardClaim)
    return send.message.claim_id


def _coordinated(effects: list[Effect]) -> bool:
    """Whether ``effects`` start a put's coordination (replica writes sent)."""
    return any(isinstance(e, Send) and isinstance(e.message, ReplicaPut) for e in effects)


def test_a_grant_within_replica_timeout_of_a_claim_made_late_in_the_run_is_taken() -> None:
    """``on_grant__mutmut_19`` and ``_expire_claims__mutmut_4`` (``now + sent`` for
    ``now - sent``): every test claimed at time 0, where the two agree. And the
    coordination answers the forwarder (``on_grant__mutmut_28``: ``peer`` None)."""
    node = _coordinator()
    late = node.config.replica_timeout
    claim = _claim(node, 100.0, 41)
    effects = node.receive(100.0 + late / 2, "n2", ForwardGrant(41, claim, granted=True))
    assert _coordinated(effects)
    (coordination,) = node.puts.coordinations.values()
    assert (coordination.reply_to.peer, coordination.reply_to.op_id) == ("n2", 41)
    _claim(node, 200.0, 42)
    _claim(node, 200.0 + late / 2, 43)  # another put forwarded: the claims are looked at
    assert list(node.forwarder.claims) == [("n2", 42), ("n2", 43)]  # both young: kept


def test_a_claim_exactly_replica_timeout_old_is_kept_for_its_grant() -> None:
    """``_expire_claims__mutmut_5`` (``<``): a claim ``replica_timeout`` old was
    forgotten at another node's input, and its grant, still in time, declined."""
    node = _coordinator()
    late = node.config.replica_timeout
    claim = _claim(node, 0.0, 41)
    _claim(node, late, 42)  # another forward at exactly the bound
    assert ("n2", 41) in node.forwarder.claims
    assert _coordinated(node.receive(late, "n2", ForwardGrant(41, claim, granted=True)))


def test_the_oldest_claims_are_forgotten_first_and_a_young_one_is_kept() -> None:
    """``_expire_claims__mutmut_8`` (``popitem(last=True)``): the newest claim was
    forgotten with the stale one, so its grant, in time, was declined."""
    node = _coordinator()
    late = node.config.replica_timeout
    _claim(node, 0.0, 41)
    young = _claim(node, late * 2 / 3, 42)
    _claim(node, late * 7 / 6, 43)  # 41 too old now, 42 not
    assert list(node.forwarder.claims) == [("n2", 42), ("n2", 43)]
    assert _coordinated(node.receive(late * 4 / 3, "n2", ForwardGrant(42, young,
                                                                     granted=True)))


def test_the_forgotten_claim_ids_kept_are_the_newest(monkeypatch: pytest.MonkeyPatch) -> None:
    """``_expire_claims__mutmut_12`` (``popitem(last=True)``): the bound dropped the id
    just forgotten instead of the oldest, so the late grant of a recent claim was
    ignored (the forwarder waiting out its timeout) rather than declined."""
    monkeypatch.setattr(forwarding, "FORWARD_MEMORY", 3)
    node = _coordinator()
    step = node.config.replica_timeout + 0.1
    claims = {op_id: _claim(node, op_id * step, op_id) for op_id in range(1, 6)}
    assert list(node.forwarder._expired) == [("n2", 2), ("n2", 3), ("n2", 4)]
    late = 5 * step + 0.01
    assert node.receive(late, "n2", ForwardGrant(4, claims[4], granted=True)) == [
        Send("n2", ForwardDecline(4))]
    assert node.receive(late, "n2", ForwardGrant(1, claims[1], granted=True)) == []


def test_a_granted_put_timing_out_answers_its_client_by_request_id() -> None:
    """``on_timeout__mutmut_8``: the RequestTimeoutError went to request id None."""
    node, key, _ = _outsider()
    (send, _timer) = node.client_request(0.0, PutRequest(7, key, b"milk", b"", None, "c1"))
    assert isinstance(send, Send) and isinstance(send.message, Forward)
    op_id = send.message.op_id
    node.receive(0.1, send.dest, ForwardClaim(op_id, 1))
    (reply,) = node.fire(0.1 + node.forwarder.timeout, ForwardTimeout(op_id))
    assert isinstance(reply, Reply) and reply.request_id == 7
    assert isinstance(reply.error, RequestTimeoutError)
    assert str(reply.error) == (f"{send.dest}, granted the forwarded put, did not answer "
                                f"within {node.forwarder.timeout:g} s; the put may still "
                                "be applied")
