"""Pending ownership on knowledge (docs/impl.md, "Join and leave handover").

The spec's guards (``spec/membership.py``): a range transfer starts once every
member knows the change, and the change settles once every member knows the
handover. The implementation knows it by gossiping what each member has seen
(:class:`impl.messages.SeenDigest`, riak_core's ring ``seen`` list and
``ring_ready``). These scenarios cut one member off the gossip during a join;
both fail on the rule before (a settlement ``JOINT_ROUNDS`` gossip rounds after
the handover, a transfer at the old owner's next hint scan).
"""

from __future__ import annotations

from impl import DynamoError, SimulatedCluster
from impl.membership import MemberStatus
from impl.versions import values

NODES = ("n1", "n2", "n3", "n4", "n5")


def _cluster(seed: int) -> tuple[SimulatedCluster, list[bytes], dict[bytes, tuple[str, ...]]]:
    """Five nodes, strict quorums with R=1 and W=3, anti-entropy off (only what the
    handover moves moves), 40 keys written to all three replicas; returns the keys
    and their top N before n6 joins."""
    cluster = SimulatedCluster(nodes=5, n=3, r=1, w=3, seed=seed, sloppy_quorum=False,
                               anti_entropy=False)
    client = cluster.client("n1")
    keys = [b"key-%d" % i for i in range(40)]
    for key in keys:
        client.put(key, b"v0")
    return cluster, keys, {key: cluster.node("n1").preference_list(key)[:3] for key in keys}


def _status(cluster: SimulatedCluster, at: str, node: str) -> MemberStatus | None:
    member = cluster.node(at).view.get(node)
    return None if member is None else member.status


def test_a_member_cut_off_from_the_handover_holds_the_settlement() -> None:
    """An old owner ``cut`` of a key n6 takes over is partitioned away just as n6
    announces itself up (it heard the join, not the handover). The change must not
    settle until it heard the handover: it still reads the key from the old top N.
    Then an acknowledged put of the key (W=3, through a node on the other side)
    must be read back by a get (R=1) through ``cut`` once the partition heals.

    With the settlement ``JOINT_ROUNDS`` rounds after the handover, n6 settles while
    ``cut`` is away, the other nodes write the new top N alone (acknowledged without
    ``cut``), and ``cut``, still on the old ring, answers the get from its own copy:
    the client misses its own acknowledged write."""
    cluster, keys, old_top = _cluster(seed=4)
    cluster.join("n6")
    cluster.run_until(lambda: _status(cluster, "n6", "n6") is MemberStatus.UP, max_time=300)
    new_top = {key: cluster.node("n6").preference_list(key)[:3] for key in keys}
    moved = [(key, node) for key in keys for node in old_top[key]
             if node not in new_top[key] and _status(cluster, node, "n6") is MemberStatus.JOINING]
    assert moved
    key, cut = moved[0]
    cluster.partition([cut], [n for n in (*NODES, "n6") if n != cut])
    cluster.run_for(30.0)  # six times JOINT_ROUNDS gossip rounds
    assert _status(cluster, cut, "n6") is MemberStatus.JOINING
    settled = cluster.node("n6").view.get("n6")
    early = settled is not None and settled.settled
    record = cluster.node(cut).record(key)
    kept = record is not None and values(record) == [b"v0"]
    writer = next(n for n in new_top[key] if n != "n6")
    client = cluster.client(writer)
    try:
        client.put(key, b"v1", context=client.get(key).context, w=3)
        acked = True
    except DynamoError:  # pending ownership: the old group lacks ``cut``
        acked = False
    cluster.heal()
    read = cluster.client(cut).get(key, r=1).values
    assert not acked or read == [b"v1"], f"acknowledged v1, then read {read}"
    assert not early, "settled before every member saw the handover"
    assert kept
    cluster.run_until_quiet()
    for name in (*NODES, "n6"):
        member = cluster.node(name).view.get("n6")
        assert member is not None and member.settled
    assert cluster.node(cut).record(key) is None  # let go once the change settled


def test_a_write_from_a_node_unaware_of_the_join_reaches_the_new_owner() -> None:
    """``cut``, a replica of a key that stays in its top N, is partitioned away before
    it hears that n6 joins; once the partition heals it coordinates a put of the key
    by the old ring (the old top N only). The old owner that hands the key to n6
    must hand that write on too: after the join completes n6 holds it, with no read
    repair and no anti-entropy.

    With the transfer at the old owner's next hint scan, the transfer happened while
    ``cut`` was away; the write reaches the old owner after it and n6 never gets it."""
    cluster, keys, old_top = _cluster(seed=7)
    joined = cluster.node("n1")
    cluster.join("n6")
    cluster.run_until(lambda: joined.view.get("n6") is not None
                      and bool(joined.view.get("n6").tokens),  # type: ignore[union-attr]
                      max_time=30)
    new_top = {key: joined.gossiper.future.preference_list(key, 3) for key in keys}
    stays = [(key, node) for key in keys for node in old_top[key]
             if "n6" in new_top[key] and node in new_top[key]
             and _status(cluster, node, "n6") is None]
    assert stays
    key, cut = stays[0]
    cluster.partition([cut], [n for n in (*NODES, "n6") if n != cut])
    cluster.run_for(30.0)  # every other old owner's hint scans ran
    cluster.heal()
    assert _status(cluster, cut, "n6") is None
    client = cluster.client(cut)
    client.put(key, b"late", context=client.get(key).context, w=2)
    cluster.run_until_quiet()
    assert _status(cluster, "n1", "n6") is MemberStatus.UP
    record = cluster.node("n6").record(key)
    assert record is not None and values(record) == [b"late"]
