"""A put's timeout names the nodes that did not acknowledge it (session 32's
service probe).

Scenario (disk full at a replica): three ``vdynamo serve`` processes, n1 under
``ulimit -f`` and full; 60 puts at ``w=3`` through n2. 53 were answered 504 ``put
reached 2 of W=3 replicas before the timeout``: n1's writes failed and it sent
nothing back, and the answer did not say which replica was silent; only n1's own
log (its failed commits) named the cause. Now the message ends ``(no
acknowledgement from n1)``, and a target whose part went to a fallback is named
as ``n4 for n2`` (``impl.put_coordinator._silent``)."""

from __future__ import annotations

from impl.effects import Reply
from impl.messages import PutRequest, ReplicaPutAck
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.timers import PutTimeout
from tests.impl.test_node_driver import make_config


def _timed_out(node: Node, op_id: int, now: float) -> str:
    (reply,) = [e for e in node.fire(now, PutTimeout(op_id)) if isinstance(e, Reply)]
    return str(reply.error)


def test_the_timeout_names_the_targets_that_did_not_acknowledge() -> None:
    node = Node("n1", make_config(3, n=3, r=2, w=3), MemoryStorage("always"), seed=1)
    node.start(0.0)
    node.client_request(0.0, PutRequest(7, b"cart", b"milk", b"", None, "c1"))
    (op_id,) = node.puts.coordinations
    node.receive(0.1, "n3", ReplicaPutAck(op_id, b"cart"))
    assert _timed_out(node, op_id, 5.0) == ("put reached 2 of W=3 replicas before the timeout "
                                            "(no acknowledgement from n2)")


def test_a_target_whose_part_went_to_a_fallback_is_named_with_it() -> None:
    node = Node("n1", make_config(5, n=3, r=2, w=3), MemoryStorage("always"), seed=1)
    node.start(0.0)
    node.client_request(0.0, PutRequest(7, b"k3", b"milk", b"", None, "c1"))
    (op_id,) = node.puts.coordinations
    node.receive(0.1, "n3", ReplicaPutAck(op_id, b"k3"))
    node.fire(0.3, PutTimeout(op_id))  # n2's part to n4, hinted
    assert _timed_out(node, op_id, 5.0) == ("put reached 2 of W=3 replicas before the timeout "
                                            "(no acknowledgement from n4 for n2)")
