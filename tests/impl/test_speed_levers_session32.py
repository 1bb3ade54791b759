"""Session 32's speed levers (issue 13) against what they replaced: the node stamps
exactly the messages it stamped before, with the calls it skips now."""

from __future__ import annotations

import dataclasses

from impl.cluster import SimulatedCluster
from impl.effects import Send
from impl.messages import Gossip, HintDelivery, KeyRecords, MerkleExchange, ReplicaPut


def test_finish_stamps_the_generation_messages_and_leaves_the_others_as_they_were() -> None:
    """``Node._finish`` calls ``_stamp`` only for a gossip and the generation-stamped
    types (session 32): those carry the store's generation, every other send is the
    same object as before (no copy)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)
    node = cluster.node("n1")
    guard = node.guard
    assert guard is not None
    stamped = [MerkleExchange(7, 0, 10, 2, 1, "level", indexes=(1,), hashes=(b"h",)),
               KeyRecords((b"k",), (b"r",)), HintDelivery(1, b"k", b"r")]
    plain = Send("n2", ReplicaPut(3, b"k", b"r"))
    out = node._finish([*(Send("n2", message) for message in stamped), plain,
                        Send("n3", Gossip(b"v"))])
    sends = [effect for effect in out if isinstance(effect, Send)]
    assert [send.message for send in sends[:3]] == [
        dataclasses.replace(message, generation=guard.generation) for message in stamped]
    assert sends[3] is plain
    gossip = sends[4].message
    assert isinstance(gossip, Gossip) and gossip.generation == guard.generation
