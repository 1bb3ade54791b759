"""impl.put_coordinator: an open survivor of session 47's mutmut run of the file
(docs/refinement.md, "### `impl/put_coordinator.py`", ``_coordinate__mutmut_277``):
a put tells its replicas the retirement of an entry that only its context brought
and its pruning removed (session 35's review). A Node alone, its ReplicaPuts
read from the effects; deterministic.
"""

from __future__ import annotations

from impl.context import encode_context_pairs
from impl.effects import Send
from impl.messages import PutRequest, ReplicaPut
from impl.node import Node
from impl.records import ClockMode
from impl.storage.memory import MemoryStorage
from impl.versions import encode_retired
from tests.impl.test_mutation_gaps_read_repair import OLD
from tests.impl.test_node_driver import make_config


def test_a_put_tells_the_retirement_of_an_entry_only_its_context_brought() -> None:
    """dvv with actor epochs, ``retired_keep`` 0: n1 knows ``OLD`` retired and
    stores nothing of ``k``; a put with a context naming ``OLD`` at 2 makes a
    record holding ``OLD``'s value-less entry, which n1's pruning removes from what
    it stores (and the put sends whole, session 39). Each ReplicaPut tells ``OLD``'s
    retirement, so that a replica whose copy holds the entry prunes it too
    (``_coordinate__mutmut_277``: ``carried(stored, record)``, the put before its
    pruning left out: neither names ``OLD``, nothing told)."""
    config = make_config(3, n=3, r=2, w=2, retired_keep=0)
    node = Node("n1", config, MemoryStorage("always"), seed=1)
    node.start(0.0)
    node.retired.take(encode_retired({OLD: 1}))
    context = encode_context_pairs([(OLD, 2)], key=b"k", mode=ClockMode.DVV,
                                   secret=config.context_secret)
    effects = node.client_request(1.0, PutRequest(7, b"k", b"v", context, None, "c"))
    puts = [effect for effect in effects
            if isinstance(effect, Send) and isinstance(effect.message, ReplicaPut)]
    assert sorted(put.dest for put in puts) == ["n2", "n3"]
    for put in puts:
        assert isinstance(put.message, ReplicaPut)
        sent = node.replica.parse(put.message.record)
        assert OLD in {entry.id for entry in sent.dvvset.entries}
        assert OLD not in {entry.id for entry in node.replica.prune(sent).dvvset.entries}
        assert put.message.retired == encode_retired({OLD: 1})
