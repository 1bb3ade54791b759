"""A get that misses R names its nodes (session 35's service probe, "Left open").

Scenario: three ``vdynamo serve`` processes, one killed, ``GET /kv/a?r=3``: 503
``get reached 2 of R=3 replicas before the timeout``, and a DELETE without a context
the same after its prefix. Which replica was silent was said nowhere, while a put's
504 has named its silent nodes since session 32
(``tests/impl/test_put_timeout_names_silent.py``). Now the message ends with the
nodes of the preference list: those asked that did not answer (a fallback as ``n4
for n2``), the targets suspected at the start and never asked themselves, those
whose replies counted, and those whose replies did not
(``impl.get_coordinator._named``)."""

from __future__ import annotations

import math

import pytest

from impl.effects import Reply
from impl.errors import QuorumError
from impl.forwarding import ReplyTo
from impl.messages import GetRequest, ReplicaGetReply
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.timers import GetTimeout
from impl.versions import ClockMode, Record, apply_put, encode_record
from spec.vclock import VClock
from tests.impl.test_node_driver import make_config

KEY = b"k3"  # five nodes: targets n1, n2, n3; fallbacks n4, n5


def _failed(node: Node, op_id: int, at: float = 5.0) -> QuorumError:
    (reply,) = [e for e in node.fire(at, GetTimeout(op_id)) if isinstance(e, Reply)]
    assert isinstance(reply.error, QuorumError)
    return reply.error


@pytest.mark.parametrize(("nodes", "key", "rounds", "named"), [
    # three nodes, cart's preference list n2, n3, n1: named in its order
    (3, b"cart", 0, "no answer from n2; answered: n3, n1"),
    # n2's share asked of n4 at 0.3 s, of n5 at 0.6 s: each silent, each named
    (5, KEY, 1, "no answer from n2, n4 for n2; answered: n1, n3"),
    (5, KEY, 2, "no answer from n2, n4 for n2, n5 for n2; answered: n1, n3"),
])
def test_the_timeout_names_the_silent_and_the_answering_nodes(
        nodes: int, key: bytes, rounds: int, named: str) -> None:
    node = Node("n1", make_config(nodes, n=3, r=3, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    assert node.quorum.split(key)[0] == (("n2", "n3", "n1") if nodes == 3
                                         else ("n1", "n2", "n3"))
    node.client_request(0.0, GetRequest(7, key, None, "c1"))
    (op_id,) = node.gets.coordinations
    node.receive(0.1, "n3", ReplicaGetReply(op_id, key))
    for round_ in range(rounds):
        node.fire(0.3 * (round_ + 1), GetTimeout(op_id))
    error = _failed(node, op_id)
    # before: "get reached 2 of R=3 replicas before the timeout", no node named
    assert str(error) == f"get reached 2 of R=3 replicas before the timeout ({named})"
    assert (error.needed, error.got) == (3, 2)


@pytest.mark.parametrize(("replied", "named"), [
    # n2 suspected at the start: its share went to n4 at once, n2 never asked
    ((), "no answer from n4 for n2, n3; suspected, not asked: n2; answered: n1"),
    # n4 answered for n2 (an empty store, counted beside n1's word)
    (("n4",), "no answer from n3; suspected, not asked: n2; answered: n1, n4 for n2"),
])
def test_a_target_suspected_at_the_start_is_named_apart(
        replied: tuple[str, ...], named: str) -> None:
    node = Node("n1", make_config(5, n=3, r=3, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    node.set_suspected({"n2": math.inf})
    node.client_request(0.0, GetRequest(7, KEY, None, "c1"))
    (op_id,) = node.gets.coordinations
    for name in replied:
        node.receive(0.1, name, ReplicaGetReply(op_id, KEY))
    got = 1 + len(replied)
    assert str(_failed(node, op_id)) == (
        f"get reached {got} of R=3 replicas before the timeout ({named})")


def test_a_coordinator_outside_the_top_n_names_its_own_read() -> None:
    """n4 coordinates (sloppy quorum: its own read counts beside a replica's word)."""
    node = Node("n4", make_config(5, n=3, r=3, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    node.gets.start(0.0, GetRequest(7, KEY, None, "c1"), ReplyTo(7))
    (op_id,) = node.gets.coordinations
    version = apply_put(Record.empty(ClockMode.DVV), VClock(), b"v", coordinator="n1",
                        client_id="c1", now=0.0)
    node.receive(0.1, "n1", ReplicaGetReply(op_id, KEY, encode_record(version)))
    assert str(_failed(node, op_id)) == (
        "get reached 2 of R=3 replicas before the timeout "
        "(no answer from n2, n3; answered: n1, n4)")


def test_replies_that_do_not_count_are_named_with_why() -> None:
    """Only fallbacks' empty stores and the coordinator's own read of a range it has
    not rebuilt: nothing counts, and each is named as not counted."""
    node = Node("n1", make_config(5, n=3, r=3, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    node.gets.uncounted_read = lambda key, own, now: True  # a replaced disk not rebuilt
    node.client_request(0.0, GetRequest(7, KEY, None, "c1"))
    (op_id,) = node.gets.coordinations
    node.fire(0.3, GetTimeout(op_id))  # n2 and n3 silent: n4 for n2, n5 for n3
    node.receive(0.4, "n4", ReplicaGetReply(op_id, KEY))
    node.receive(0.4, "n5", ReplicaGetReply(op_id, KEY))
    assert str(_failed(node, op_id)) == (
        "get reached 0 of R=3 replicas before the timeout (no answer from n2, n3; "
        "not counted: n1 (the coordinator's own read, uncounted at the get's start: its "
        "own reads count now), n4 for n2, "
        "n5 for n3; 2 empty answer(s) of nodes outside the key's top N do not make "
        "a not found)")
