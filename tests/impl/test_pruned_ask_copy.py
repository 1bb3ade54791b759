"""dvv: the one-way ask sends the union, not its pruned copy (session 40; docs/runtime.md,
"The pruned ask's copy (session 40)").

A replica whose merge of a one-way record (a HintDelivery here) keeps a value-less
entry the record lacks asks a replica of the key that knows
(:meth:`impl.antientropy.AntiEntropy.ask_pruned`, session 35). Until session 40 the
ask carried the asker's copy *pruned*: the merge had just emptied the entry of a
value the hinted delete superseded and, knowing its lifetime retired, pruned it.
The asked replica had missed that delete (its own hint sat on a fallback that was
down), so its union with the ask still held the deleted value, uncovered, and its
answer gave the value back to the asker, which had acknowledged the delete (through
its fallback). Once the asked replica got its hint it dropped the value, but the
asker kept it: every get through it answered the deleted value, for good (R = 3
too: the others had pruned the entry that covered it). Now the ask carries the
union (the asker's copy before the merge merged with the record, unpruned, as
anti-entropy's answer sends it): the asked replica merges the delete too.
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.messages import KeyRecords
from impl.records import Record
from impl.versions import TOMBSTONE


def _live(record: Record | None) -> list[bytes]:
    if record is None:
        return []
    values = [v for e in record.dvvset.entries for v in e.values]
    return sorted(v for v in [*values, *record.dvvset.anonymous] if v != TOMBSTONE)


@pytest.mark.parametrize("keep", [0, 1])
def test_the_asked_replica_that_missed_a_delete_gives_nothing_back(keep: int) -> None:
    """5 nodes (N = 3, R = W = 2, sloppy quorum, hints on, anti-entropy and read repair
    off), ``retired_keep`` 0 or 1, key ``k6`` (top N a, b, c; fallbacks d, e). v0
    through a, v1 through b over it at W = 3; c (and the fallbacks) down while a
    restarts four times and writes v2 over v1 (keep 1: restarted again, a blind
    sibling w too), then restarts once more (those lifetimes retired); a down, a
    delete through b at W = 2 (hints for a and c on the fallbacks); the fallback
    holding a's hint down; a and c back. c's merge of its hint empties and prunes
    a's last entries (their retirements the hint names), keeps a's first lifetime's
    value-less entry (whose retirement c never heard) and asks a. Then every node
    up, quiet, and gets at R = 3 through a, b and c. Before: the ask (c's copy
    pruned) gave v2 back to c, and the three gets answered ``[v2]`` (c's copy
    ``[v2]``, a's and b's none); now none. About 0.3 s of CPU."""
    options = {"nodes": 5, "n": 3, "r": 2, "w": 2, "seed": 1, "clock": "dvv",
               "sloppy_quorum": True, "anti_entropy": False, "read_repair": False,
               "retired_keep": keep}
    with SimulatedCluster(**options) as cluster:
        key = b"k6"
        a, b, c, d, e = cluster.node("n1").preference_list(key)
        pause = 2 * cluster.config.gossip_interval

        def put(via: str, value: bytes, w: int | None = None) -> None:
            client = cluster.client(via, client_id="c")
            client.put(key, value, client.get(key, r=1).context, coordinator=via, w=w)

        def restart_a() -> None:
            cluster.crash(a)
            cluster.restart(a)
            cluster.run_for(pause)

        cluster.client(a, client_id="c").put(key, b"v0", coordinator=a, w=3)
        put(b, b"v1", w=3)
        cluster.run_for(pause)
        for name in (c, d, e):
            cluster.crash(name)
        for _ in range(4):
            restart_a()
        put(a, b"v2")
        restart_a()
        if keep:
            cluster.client(a, client_id="w").put(key, b"w", coordinator=a)
        restart_a()
        cluster.restart(d)
        cluster.restart(e)
        cluster.run_for(pause)
        cluster.crash(a)
        client = cluster.client(b, client_id="d")
        read = client.get(key, r=1)
        assert sorted(read.values) == sorted([b"v2", *([b"w"] if keep else [])])
        client.delete(key, read.context, w=2)
        holding = [name for name in (d, e)
                   if any(h.intended == a for h in cluster.node(name).hints.all())]
        assert len(holding) == 1
        cluster.crash(holding[0])  # a's hint of the delete waits
        cluster.restart(a)
        cluster.run_for(pause / 4)
        asks: list[tuple[str, str]] = []
        send = cluster.sim._send

        def spy(src: str, dest: str, message: object, *args: object, **kwargs: object) -> None:
            if isinstance(message, KeyRecords) and message.reply:
                asks.append((src, dest))
            send(src, dest, message, *args, **kwargs)

        cluster.sim._send = spy  # type: ignore[assignment, method-assign]
        cluster.restart(c)
        cluster.run_for(10 * cluster.config.hint_scan_interval)
        assert asks == [(c, a)]  # (the ask this test is about)
        assert _live(cluster.replicas(key)[c]) == []
        for name in cluster.node_names:
            if cluster.is_down(name):
                cluster.restart(name)
        cluster.run_until_quiet()
        copies = {name: _live(record) for name, record in cluster.replicas(key).items()}
        reads = {name: cluster.client(name, client_id="r").get(key, r=3).values
                 for name in (a, b, c)}
        assert (copies, reads) == ({a: [], b: [], c: []}, {a: [], b: [], c: []})
