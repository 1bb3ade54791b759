"""A stale ``HintAck`` deletes a replaced disk's new hint (found by session 34's
s276, diagnosing disk seed 276; open: not fixed).

A ``HintAck`` names its hint by id alone (``impl.messages.HintAck``), and the
holder deletes the hint it keeps under that id when the ack comes from the hint's
intended node (``impl.handoff.HintedHandoff.on_ack``). Ids never repeat within one
disk (the SQLite engine's epochs; the memory engine's counter), but a replaced disk
numbers its hints from the first id again. So an ack of the old disk's hint 1 that
arrives after the replacement (delayed or duplicated in the network: the spec keeps
messages in flight across a ``DiskLoss``) deletes the new disk's hint 1 for the same
node, never delivered: the write it carries has one copy fewer than its W, and with
anti-entropy off its intended replica never gets it. The spec's ``hint-ack``
carries the hint's key and payload, and removes only that hint.

The scenario (5 nodes, N = 3, W = 3, anti-entropy off, seed 1): ``k``'s third
replica n2 cut off, ``v1`` written (the fallback n4 keeps hint 1 for n2), healed
with n2's acks to n4 cut, so n4's delivery arrives and its ack is held; n4's disk
is replaced; n2 cut off again, ``v2`` written over ``v1`` (n4 keeps a new hint 1
for n2); n4's deliveries to n2 cut, the held ack arrives: n4 deletes its hint 1.
After 120 s healed n2 still holds ``v1`` only.

Ways to fix it (not small: a wire field or a store-wide id base): the ack echoes
the delivery's store generation (``HintDelivery.generation`` is the sender's; the
holder takes an ack only of its own generation), or a fresh store numbers its
hints from a base no earlier disk used.
"""

from __future__ import annotations

import pytest

from impl import SimulatedCluster
from impl.effects import Send
from impl.messages import HintAck
from impl.versions import values


def _hints(cluster: SimulatedCluster, name: str) -> list[tuple[int, str]]:
    return [(hint.hint_id, hint.intended) for hint in cluster.storages[name].hints()]


@pytest.mark.xfail(strict=True, reason="open (session 34, s276): a HintAck names its hint "
                   "by id alone, and a replaced disk reuses ids")
def test_a_stale_hint_ack_does_not_delete_a_replaced_disks_new_hint() -> None:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, anti_entropy=False)
    key = b"k"
    first, _, third = cluster.node("n1").preference_list(key)[:3]
    others = set(cluster.node_names) - {third}
    cluster.partition({third}, others)
    cluster.run_for(6.0)
    cluster.client(first).put(key, b"v1", w=3)
    cluster.run_for(0.5)
    holders = [name for name in cluster.node_names
               if third in cluster.node(name).hints.pending_for()]
    assert holders == ["n4"] and third == "n2"
    holder = holders[0]
    assert _hints(cluster, holder) == [(1, third)]
    cluster.heal()
    cluster.partition_one_way([third], [holder])  # the delivery arrives, its ack does not
    cluster.run_for(3.0)
    stored = cluster.replicas(key)[third]
    assert stored is not None and values(stored) == [b"v1"]
    stale = HintAck(1)  # the ack n2 sent, still to come
    cluster.heal()
    cluster.lose_disk(holder)
    cluster.restart(holder)
    cluster.partition({third}, others)
    cluster.run_for(6.0)
    context = cluster.client(first).get(key).context
    cluster.client(first).put(key, b"v2", context, w=3)
    cluster.run_for(0.5)
    assert _hints(cluster, holder) == [(1, third)]  # the new disk's hint 1: v2, for n2
    cluster.heal()
    cluster.partition_one_way([holder], [third])  # its deliveries cut; the stale ack comes
    cluster.sim.perform(third, [Send(holder, stale)])
    cluster.run_for(1.0)
    cluster.heal()
    cluster.run_for(120.0)
    stored = cluster.replicas(key)[third]
    assert stored is not None
    assert values(stored) == [b"v2"], (f"n2 holds {values(stored)}, "
                                       f"n4's hints {_hints(cluster, holder)}")
