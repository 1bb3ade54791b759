"""impl.put_coordinator: the behaviours mutmut found no test for (docs/refinement.md,
"Mutation score")."""

from __future__ import annotations

from impl.effects import CancelTimer, Reply, Send
from impl.errors import ErrorCode, StorageError
from impl.messages import Forward, ForwardReply, PutRequest
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.timers import PutTimeout
from tests.impl.test_node_driver import make_config

KEY = b"cart"


def _node() -> Node:
    node = Node("n1", make_config(3, n=3, r=2, w=3), MemoryStorage("always"), seed=1)
    node.start(0.0)
    return node


def _put_timeouts(effects: list[object]) -> list[PutTimeout]:
    return [e.timer for e in effects
            if isinstance(e, CancelTimer) and isinstance(e.timer, PutTimeout)]


def test_a_failed_persist_fails_the_put_and_cancels_its_timer() -> None:
    node = _node()
    node.client_request(1.0, PutRequest(7, KEY, b"milk", b"", None, "c1"))
    (op_id,) = node.puts.coordinations
    effects = node.persist_failed(1.0, StorageError("disk full"))
    replies = [e for e in effects if isinstance(e, Reply)]
    assert [(r.request_id, type(r.error)) for r in replies] == [(7, StorageError)]
    assert _put_timeouts(effects) == [PutTimeout(op_id)]
    assert node.puts.coordinations == {}


def test_a_failed_persist_answers_a_forwarded_put_as_a_put() -> None:
    node = _node()
    node.receive(1.0, "n2", Forward(41, PutRequest(7, KEY, b"milk", b"", None, "c1")))
    effects = node.persist_failed(1.0, StorageError("disk full"))
    sends = [e for e in effects if isinstance(e, Send)]
    assert len(sends) == 1 and sends[0].dest == "n2"
    reply = sends[0].message
    assert isinstance(reply, ForwardReply)
    assert (reply.op_id, reply.kind, reply.error) == (41, "put", ErrorCode.STORAGE.value)
    assert len(_put_timeouts(effects)) == 1
