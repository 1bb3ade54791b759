"""Anti-entropy's back-send to a batch in dvv: the union, and a peer's own copy back
only where the peer's pruning of it drops entries (session 34's review).

Session 34 (branch s34-tvprune) made the answer to a batch (``KeyRecords``, ``reply``
True) send the union back, and, with pruning on (dvv with actor epochs, the
default), send it back even where the peer's record was the union already, so that
a peer ahead prunes the entries of retired lifetimes as the spec's two-sided
exchange does. That answered every key of a batch sent by a replica ahead with the
very record it sent: a 5-node cluster catching one replica up by anti-entropy alone
(seed 7, 300 keys) moved 68,814 bytes of KeyRecords in 82 messages where main moved
34,407 in 41. The copy now comes back only where the peer's pruning of it drops
something, by what the batch's carried retirements and this node tell
(:meth:`impl.retired.RetiredActors.prunes_copy`): the same figures as main here,
and the lockstep's mutant ``anti-entropy-no-back-send-to-a-peer-ahead``
(tests/refinement/test_prune_retired_lockstep.py) still killed.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from impl import wire
from impl.cluster import SimulatedCluster
from impl.messages import KeyRecords

KEYS = [b"k%04d" % i for i in range(300)]


def _catch_up(**options: Any) -> tuple[Counter[str], int, bool]:
    """n3 misses a put of every key (anti-entropy the only way back), then anti-entropy
    runs 20 rounds: the KeyRecords figures, the keys an answer sent back exactly as
    the batch had sent them, and whether every key converged."""
    with SimulatedCluster(seed=7, hinted_handoff=False, read_repair=False,
                          **options) as cluster:
        client = cluster.client(client_id="c")
        for key in KEYS:
            client.put(key, b"x" * 100, client.get(key).context)
        cluster.run_until_quiet()
        cluster.crash("n3")
        client = cluster.client("n1", client_id="d")
        for key in KEYS:
            client.put(key, b"y" * 100, client.get(key).context)
        cluster.run_for(5 * cluster.config.request_timeout)
        cluster.restart("n3")
        counts: Counter[str] = Counter()
        batches: dict[tuple[str, str, int], dict[bytes, bytes]] = {}
        echoed = 0
        send = cluster.sim._send

        def counting(src: str, dest: str, message: Any) -> None:
            nonlocal echoed
            if isinstance(message, KeyRecords):
                counts["messages"] += 1
                counts["bytes"] += len(wire.encode(message))
                if message.reply:
                    batches[(src, dest, message.session)] = dict(
                        zip(message.keys, message.records, strict=True))
                else:
                    sent = batches.get((dest, src, message.session), {})
                    echoed += sum(sent.get(key) == raw for key, raw in
                                  zip(message.keys, message.records, strict=True))
            send(src, dest, message)

        cluster.sim._send = counting  # type: ignore[method-assign]
        cluster.run_for(20 * cluster.config.anti_entropy_interval)
        return counts, echoed, all(cluster.converged(key) for key in KEYS)


def test_a_batch_from_a_replica_ahead_is_not_echoed_back() -> None:
    """Every record of a batch from a replica ahead is the union already, and holds no
    entry a pruning drops: no answer sends one back (mutant: the merge's condition,
    ``union != record or replica.prunes_retired``, 194 keys echoed, 82 messages)."""
    counts, echoed, converged = _catch_up()
    assert converged
    assert echoed == 0
    assert counts == {"messages": 41, "bytes": 34_407}


def test_without_actor_epochs_the_same_traffic() -> None:
    """Pruning off (no actor epochs): the answer holds only the keys that differ."""
    counts, echoed, converged = _catch_up(actor_epochs=False)
    assert converged
    assert echoed == 0
    assert counts["messages"] == 41
