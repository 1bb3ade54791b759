"""Session 34's speed levers (issue 13) against what they replaced: the node and the
simulator do exactly what they did before, with less work on the way."""

from __future__ import annotations

import dataclasses

import pytest

from impl.cluster import SimulatedCluster
from impl.effects import Send
from impl.messages import Gossip, HintDelivery, KeyRecords, MerkleExchange, ReplicaPut


@pytest.mark.parametrize("message", [
    MerkleExchange(7, 0, 10, 2, 1, "level", indexes=(1,), hashes=(b"h",)),
    KeyRecords((b"k",), (b"r",)),
    HintDelivery(1, b"k", b"r"),
], ids=["merkle-exchange", "key-records", "hint-delivery"])
def test_finish_stamps_a_generation_message_sent_without_a_gossip(message: object) -> None:
    """``Node._finish`` looks once over the effects for a send it changes (session 34):
    a batch whose only such send is an anti-entropy message or a hint delivery, with
    no gossip, still has it stamped with the store's generation, and the plain sends
    around it are the same objects."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)
    node = cluster.node("n1")
    guard = node.guard
    assert guard is not None
    before, after = Send("n2", ReplicaPut(3, b"k", b"r")), Send("n3", ReplicaPut(4, b"k", b"r"))
    out = node._finish([before, Send("n2", message), after])
    sends = [effect for effect in out if isinstance(effect, Send)]
    assert sends[0] is before and sends[2] is after
    assert sends[1].message == dataclasses.replace(message, generation=guard.generation)


def test_finish_leaves_a_batch_without_stamped_sends_as_it_was() -> None:
    """No send of a stamped type: every effect comes out as the same object, in order."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)
    node = cluster.node("n1")
    effects = [Send("n2", ReplicaPut(3, b"k", b"r")), Send("n3", ReplicaPut(4, b"k", b"r"))]
    out = node._finish(list(effects))
    assert len(out) == 2 and all(a is b for a, b in zip(out, effects, strict=True))


def test_finish_gives_a_lone_gossip_its_beats_and_generation() -> None:
    """A gossip alone in its batch gets the guard's generation and this node's beats."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)
    node = cluster.node("n1")
    guard = node.guard
    assert guard is not None
    out = node._finish([Send("n2", Gossip(b"v"))])
    gossip = out[-1].message  # type: ignore[union-attr]
    assert isinstance(gossip, Gossip)
    assert gossip.generation == guard.generation and gossip.beats
