"""A put's timeout names the nodes that did not acknowledge it (session 32's
service probe).

Scenario (disk full at a replica): three ``vdynamo serve`` processes, n1 under
``ulimit -f`` and full; 60 puts at ``w=3`` through n2. 53 were answered 504 ``put
reached 2 of W=3 replicas before the timeout``: n1's writes failed and it sent
nothing back, and the answer did not say which replica was silent; only n1's own
log (its failed commits) named the cause. Now the message ends ``(no
acknowledgement from n1)``, and a target whose part went to a fallback is named
as ``n4 for n2``, after n2 itself (``impl.put_coordinator._silent``)."""

from __future__ import annotations

import pytest

from impl.effects import Reply
from impl.messages import PutRequest, ReplicaPutAck
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.timers import PutTimeout
from tests.impl.test_node_driver import make_config


@pytest.mark.parametrize(("nodes", "key", "rounds", "silent"), [
    (3, b"cart", 0, "n2"),
    (5, b"k3", 1, "n2, n4 for n2"),  # n2's part resent to n4, hinted, at 0.3 s
    # and to n5 at 0.6 s: n2 and n4 silent too (only "n5 for n2" before the review)
    (5, b"k3", 2, "n2, n4 for n2, n5 for n2"),
])
def test_the_timeout_names_the_nodes_that_did_not_acknowledge(
        nodes: int, key: bytes, rounds: int, silent: str) -> None:
    node = Node("n1", make_config(nodes, n=3, r=2, w=3), MemoryStorage("always"), seed=1)
    node.start(0.0)
    node.client_request(0.0, PutRequest(7, key, b"milk", b"", None, "c1"))
    (op_id,) = node.puts.coordinations
    node.receive(0.1, "n3", ReplicaPutAck(op_id, key))
    for round_ in range(rounds):
        node.fire(0.3 * (round_ + 1), PutTimeout(op_id))
    (reply,) = [e for e in node.fire(5.0, PutTimeout(op_id)) if isinstance(e, Reply)]
    assert str(reply.error) == ("put reached 2 of W=3 replicas before the timeout "
                                f"(no acknowledgement from {silent})")
