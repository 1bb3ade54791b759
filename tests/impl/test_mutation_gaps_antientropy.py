"""impl.antientropy: the behaviours mutmut found no test for (docs/refinement.md,
"Mutation score"): a rebuild keeps the trees' settings; a key the peer lacks is sent
back."""

from __future__ import annotations

from impl.effects import Send
from impl.messages import KeyRecords
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.versions import ClockMode, Record, apply_put, encode_record
from spec.vclock import VClock
from tests.impl.test_node_driver import make_config

KEY = b"cart"
RECORD = encode_record(apply_put(Record.empty(ClockMode.DVV), VClock(), b"milk",
                                 coordinator="n1", client_id="c1", now=0.0))


def _node(storage: MemoryStorage | None = None) -> Node:
    node = Node("n1", make_config(3, n=3, r=2, w=2), storage or MemoryStorage("always"),
                seed=1)
    node.start(0.0)
    return node


def test_a_rebuild_keeps_the_trees_shape_and_their_bound_on_pending_writes() -> None:
    node = _node()
    trees = node.anti_entropy.trees
    trees.max_pending = 3
    node.anti_entropy.rebuild()
    rebuilt = node.anti_entropy.trees
    assert rebuilt is not trees
    assert (rebuilt.fanout, rebuilt.depth, rebuilt.max_pending) == (
        trees.fanout, trees.depth, 3)
    assert rebuilt.ranges == trees.ranges


def test_a_key_the_peer_has_no_record_of_is_sent_back_to_it() -> None:
    """``b""`` in a KeyRecords: the sender holds no record of that key; the receiver
    keeps its own and answers with it."""
    storage = MemoryStorage("always")
    storage.write(KEY, RECORD)
    node = _node(storage)
    effects = node.receive(1.0, "n2", KeyRecords((KEY,), (b"",), 5, reply=True))
    assert effects == [Send("n2", KeyRecords((KEY,), (RECORD,), 5, reply=False))]
    assert node.stats["dropped"] == 0
