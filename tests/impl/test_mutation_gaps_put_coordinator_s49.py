"""impl.put_coordinator: the two open survivors of session 47's mutmut run of the
file (docs/refinement.md, "### `impl/put_coordinator.py`"): a put tells its
replicas the retirement of an entry that only its context brought and its pruning
removed (``_coordinate__mutmut_277``; session 35's review); a client-vclock put
whose truncation cut a concurrent sibling's clock keeps the entry it minted, so a
replica's ack carrying that sibling's later version asks no re-mint
(``_coordinate__mutmut_292``), also when that sibling's counter is above the
minted one (a strict xfail of session 49's mutmut helper, fixed by the lead: the
put's entry is one minted above the stored record's counters too). A
Node alone, its ReplicaPuts read from the effects, its acks from a
:class:`~impl.replica.Replica` built alone; deterministic.
"""

from __future__ import annotations

import collections

import pytest

from impl.context import encode_context_pairs
from impl.effects import Reply, Send
from impl.hints import HintStore
from impl.messages import PutRequest, ReplicaPut, ReplicaPutAck
from impl.node import Node
from impl.records import ClockMode, Record, Sibling
from impl.replica import Replica
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.versions import encode_record, encode_retired
from spec.vclock import VClock
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


BOB = "n2~000000000001/bob"
CAROL = "n3~000000000001/carol"


def _bob(value: bytes, counter: int, *, carol: int = 0, at: float = 0.5) -> Sibling:
    """bob's version written through n2 (and after a read of carol's ``carol``)."""
    pairs = ((BOB, counter), (CAROL, carol)) if carol else ((BOB, counter),)
    times = ((BOB, at), (CAROL, 0.2)) if carol else ((BOB, at),)
    return Sibling(value, VClock(pairs, times), at, "n2")


@pytest.mark.parametrize("counter", [1, 7])
def test_a_truncated_concurrent_sibling_asks_no_remint(counter: int) -> None:
    """client-vclock, truncation to 2 pairs past 1: n1 stores bob's version
    ``{bob: counter, carol: 3}``; alice's blind put through n1 mints ``{alice: 1}``
    and cuts bob's clock to ``{bob: counter}`` (carol's pair the oldest), so the
    ReplicaPut holds both. n2, whose client floor a reap raised to 5 and which
    holds bob's later ``{bob: counter + 1}``, acks with its record (its floor:
    :meth:`impl.replica.Replica.on_replica_put`). n1 minted alice's entry, which
    no replica holds higher: the put is answered on that ack, no re-mint
    (``_coordinate__mutmut_292``: ``>=``, the tie at counter 1 went to bob's
    entry, and bob's 2 asked a re-mint). At counter 7 (above alice's 1) n1 took
    bob's entry until session 49: re-minted on bob's 8 and, after an answer, minted
    alice's value a second time over bob's clock (a false sibling)."""
    config = make_config(3, n=3, r=2, w=2, clock="client-vclock", vclock_threshold=1,
                         vclock_max_pairs=2)
    storage = MemoryStorage("always")
    node = Node("n1", config, storage, seed=1)
    node.start(0.0)
    node.replica.store(b"k", encode_record(Record(
        ClockMode.CLIENT_VCLOCK, (_bob(b"bob", counter, carol=3),), truncation=config.truncation)))
    effects = persist(storage, node.client_request(
        1.0, PutRequest(7, b"k", b"alice", b"", None, "alice")))
    put = next(effect.message for effect in effects
               if isinstance(effect, Send) and isinstance(effect.message, ReplicaPut))
    sent = node.replica.parse(put.record)
    assert sorted(sibling.value for sibling in sent.siblings) == [b"alice", b"bob"]
    assert _bob(b"bob", counter) in sent.siblings
    other = MemoryStorage("always")
    n2 = Replica("n2", config, other, HintStore(other, collections.Counter()), lambda node: True)
    n2.raise_floor(5)
    n2.store(b"k", encode_record(Record(ClockMode.CLIENT_VCLOCK, (
        _bob(b"bob2", counter + 1, at=0.9),), truncation=config.truncation)))
    (ack,) = n2.on_replica_put("n1", put, 1.1)
    assert isinstance(ack, Send) and isinstance(ack.message, ReplicaPutAck)
    assert ack.message.record  # (the client floor's record)
    out = persist(storage, node.receive(1.2, "n2", ack.message))
    assert node.stats["put-remints"] == 0
    assert [(e.request_id, e.error) for e in out if isinstance(e, Reply)] == [(7, None)]
