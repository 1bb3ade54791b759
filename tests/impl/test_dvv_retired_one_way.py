"""dvv: a one-way message leaves its receiver holding an entry its sender pruned
(session 35).

A replica R whose copy holds a value-less entry of a retired lifetime that its
peers pruned, and whose retirement R never heard (R was down while it happened:
gossip tells the newest 4 of each node), receives a one-way message of the key: a
coordinator's ReplicaPut, a HintDelivery (a fallback's hint, a handoff's or a
transfer's). Its record no longer holds the entry, so its ``retired`` field
(the retirements of the entries of the records sent and of what the sender pruned
them from at that write) cannot name it, and R's merge (a union) keeps it. Session
34 (docs/runtime.md) healed such a copy at the next anti-entropy exchange or at a
get reading R's copy through a node that knows; until then (for good with
anti-entropy off):

- R's copy holds more bytes and entries than every other copy;
- every get through R that reads another replica repairs it with R's merge (R
  prunes nothing of it: it does not know), and that replica's merge prunes the
  entry again: a read repair of the whole record at every such get, and R's copy
  unchanged (an endless read repair);
- every context a get through R answers names the entry.

Now R, whose merge of a one-way record keeps value-less entries the record lacks
while the record holds every value R's merge holds (evidence that a node upstream
pruned them: without pruning a record covering a value holds every entry of its
causal past), sends its merged copy to a replica of the key as an anti-entropy
batch of that key (a KeyRecords, ``reply`` True); the peer, whose pruning of the
union drops those entries, answers with the union and the retirements of its
entries (``prunes_copy``, session 34), and R prunes alike.
"""

from __future__ import annotations

from typing import Any

from impl.cluster import SimulatedCluster
from impl.messages import KeyRecords, ReadRepair
from impl.versions import encode_record
from tests.impl.test_dvv_retired_carried import (
    _assert_converged,
    _lifetimes,
    _stale_n3_back,
    _told,
    _unheard,
)
from tests.impl.test_dvv_retired_pruning import _LIFETIMES

#: neither anti-entropy rounds nor hints: the one-way message is the only way in
_NO_HEALING: dict[str, Any] = {**_LIFETIMES, "hinted_handoff": False,
                               "anti_entropy": False}


def _shape(record: Any) -> tuple[int, int]:
    return (len(encode_record(record)), len(record.dvvset.entries)) if record else (0, 0)


def _sent(cluster: SimulatedCluster, kind: type) -> list[tuple[str, str, Any]]:
    """Record every message of type ``kind`` the simulator sends from now on:
    (source, destination, message), in the order sent."""
    seen: list[tuple[str, str, Any]] = []
    send = cluster.sim._send

    def spy(src: str, dest: str, message: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(message, kind):
            seen.append((src, dest, message))
        return send(src, dest, message, *args, **kwargs)

    cluster.sim._send = spy  # type: ignore[method-assign]
    return seen


def test_a_replica_put_lacking_a_pruned_entry_leaves_no_copy_holding_it() -> None:
    """n3 back holding a value-less entry of a lifetime of n1 that n1 and n2 pruned
    while it was down (its retirement unheard); anti-entropy off, hints off. A put
    through n1 reaches n3 as a ReplicaPut lacking the entry. Before: n3's copy kept
    it, ``(3747, 25)`` against ``(3718, 24)`` (bytes, entries), and each of 5 gets
    through n3 at R = 2 sent n1 and n2 a read repair of its whole copy (10 of
    3747 bytes) while n3's copy stayed as it was. Now n3's merge keeps entries the
    put's record lacks while that record holds all its values: it sends its copy
    to n1 (a KeyRecords, ``reply`` True), n1 answers naming the retirements, and
    the three copies are equal once the put's messages are delivered; the 5 gets
    send no read repair."""
    with SimulatedCluster(**_NO_HEALING) as cluster:
        stale, fresh, context = _stale_n3_back(cluster, heard_last=False)
        unheard = _unheard(cluster, stale, fresh)
        exchanged = _sent(cluster, KeyRecords)
        cluster.client("n1", client_id="d").put(b"k", b"d" * 3008, context,
                                                coordinator="n1")
        cluster.run_for(cluster.config.request_timeout)
        after_put = {name: _shape(record) for name, record in cluster.replicas(b"k").items()}
        flow = [(src, dest, m.reply) for src, dest, m in exchanged]
        repairs = _sent(cluster, ReadRepair)
        for _ in range(5):
            read = cluster.client("n3").get(b"k", coordinator="n3")
            assert read.values == [b"d" * 3008]
            cluster.run_for(cluster.config.request_timeout)
        assert not repairs, (after_put, len(repairs),
                             [(src, dest, len(m.record)) for src, dest, m in repairs])
        # n3's ask to the coordinator, and its answer naming the retirements
        assert flow == [("n3", "n1", True), ("n1", "n3", False)], flow
        assert unheard <= _told(exchanged[1][2].retired)
        assert cluster.node("n3").stats["one-way-pruned-asks"] == 1
        _assert_converged(cluster)
        assert unheard <= set(cluster.node("n3").retired.known)
        assert not unheard & _lifetimes(cluster.replicas(b"k")["n3"])
