"""impl.node: the behaviours mutmut found no test for (docs/refinement.md, "Mutation
score"): what the node records when its engine fails and when it drops messages."""

from __future__ import annotations

from impl.errors import StorageError
from impl.messages import PutRequest
from impl.node import Node
from impl.storage.memory import MemoryStorage
from tests.impl.test_node_driver import make_config

KEY = b"cart"


def _node() -> Node:
    node = Node("n1", make_config(3, n=3, r=2, w=3), MemoryStorage("always"), seed=1)
    node.start(0.0)
    return node


def test_a_failed_persist_is_counted_logged_and_moves_the_nodes_time() -> None:
    node = _node()
    node.client_request(1.0, PutRequest(7, KEY, b"milk", b"", None, "c1"))
    node.persist_failed(2.5, StorageError("disk full"))
    assert node.stats["storage-error"] == 1
    assert node.log[-1] == "2.500 storage error, nothing acknowledged: disk full"
    assert node.snapshot().now == 2.5


def test_every_dropped_message_is_counted() -> None:
    node = _node()
    node.receive(1.0, "n2", object())
    node.receive(1.5, "n9", object())
    assert node.stats["dropped"] == 2
    assert node.log[-1] == "1.500 dropped message from 'n9': unknown message type object"


def test_leaving_moves_the_nodes_time() -> None:
    node = _node()
    node.leave(3.25)
    assert node.snapshot().now == 3.25
