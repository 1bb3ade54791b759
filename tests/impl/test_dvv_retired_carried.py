"""dvv: the retired actors travel with the records they prune (session 33, later).

Session 33 pruned the value-less entries of retired lifetimes at every write
(:func:`impl.versions.prune_retired`) by what a node heard by gossip, the newest
32 retirements of each node in every gossip. Knowledge that travels only by gossip
left three residuals (docs/runtime.md, "dvv: pruning the entries of retired
lifetimes (session 33)"): without the restore guard and with restarts faster than
a gossip round each node knew only its own retirements (the record was refused at
round 37: tests/impl/test_data_loss_probe.py); a node down through many restarts
of another never learnt the older ones, so its copies kept entries the others had
pruned and anti-entropy exchanged those keys at every round; and each gossip of a
100-node cluster carried 62,779 bytes of retirements.

Now every message that sends a record to be merged (ReplicaPut, ReadRepair,
HintDelivery, anti-entropy's KeyRecords) carries, in a trailing ``retired``
field, the retired actors its sender knows among the entries of the record and of
what it pruned it from; the receiver takes them (as a relayed gossip: a
retirement is never undone, and never its own live actor) before it merges, so it
prunes the same entries. The gossip tells the newest 4 of each node.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from impl import wire
from impl.cluster import SimulatedCluster
from impl.messages import Gossip, HintDelivery, KeyRecords, ReadRepair, ReplicaPut
from impl.retired import GOSSIPED_PER_NODE, RetiredActors
from impl.storage.memory import MemoryStorage
from impl.timers import AntiEntropyRound
from impl.versions import decode_retired, encode_record, encode_retired
from tests.impl.test_dvv_retired_pruning import _LIFETIMES, _restart_and_write, kv679_sequence

#: anti-entropy the only way back for a replica that was down: no hints, no read
#: repair (so the test shows what KeyRecords carry)
_ONLY_ANTI_ENTROPY: dict[str, Any] = {**_LIFETIMES, "hinted_handoff": False,
                                      "read_repair": False}


def _roots(cluster: SimulatedCluster, name: str) -> dict[tuple[int, int], bytes]:
    trees = cluster.node(name).anti_entropy.trees
    roots = {}
    for lo, hi in trees.ranges:
        tree = trees.get(lo, hi)
        if tree is not None:
            roots[(lo, hi)] = tree.root()
    return roots


def test_a_node_down_through_forty_restarts_of_another_converges_by_anti_entropy() -> None:
    """n3 up while n1 restarts and writes the key 10 times (it hears those
    retirements), then down while n1 restarts and writes it 40 times more, then
    back. Gossip tells n3 only the newest ``GOSSIPED_PER_NODE`` (4) of n1's 40 later
    retirements: by what it heard alone its copy's 10 old value-less entries are
    within the budget (14 known retired lifetimes of 22) and it keeps them, while
    n1 and n2 pruned them; before this change its copy never equalled theirs and
    anti-entropy exchanged the key at every round. The KeyRecords carry the
    retirements of the records' entries: after anti-entropy n3's copy is n1's and
    n2's, and the three Merkle roots of the range agree."""
    with SimulatedCluster(**_ONLY_ANTI_ENTROPY) as cluster:
        _restart_and_write(cluster, 10, ["n1"], pause_s=2 * cluster.config.gossip_interval)
        # (n3's value is n2's: its dot stays covered by n2's live entry, so no false
        # sibling comes back with n3's copy, the cost of a copy older than 22 lifetimes)
        client = cluster.client("n2", client_id="c")
        client.put(b"k", b"n2" * 1504, client.get(b"k").context)
        cluster.run_for(cluster.config.gossip_interval)
        cluster.crash("n3")
        for round_ in range(40):
            cluster.crash("n1")
            cluster.restart("n1")
            client = cluster.client("n1", client_id="c")
            read = client.get(b"k")
            client.put(b"k", bytes([65 + round_ % 26]) * 3008, read.context)
        # (every put's rounds over: n3 hears the key by anti-entropy only)
        cluster.run_for(5 * cluster.config.request_timeout)
        cluster.restart("n3")
        cluster.run_for(20 * cluster.config.anti_entropy_interval)
        records = {name: encode_record(record) if record is not None else None
                   for name, record in cluster.replicas(b"k").items()}
        assert records["n3"] == records["n1"] == records["n2"], {
            name: (len(encode_record(record)), len(record.dvvset.entries)) if record else 0
            for name, record in cluster.replicas(b"k").items()}
        assert len(cluster.client("n2").get(b"k", r=3).values) == 1  # (no false sibling)
        roots = [_roots(cluster, name) for name in ("n1", "n2", "n3")]
        shared = set(roots[0]) & set(roots[1]) & set(roots[2])
        assert shared and all(roots[0][r] == roots[1][r] == roots[2][r] for r in shared)


def test_a_replica_put_carries_the_retirements_of_its_records_entries() -> None:
    """The coordinator's ReplicaPut names the retired actors it knows among the
    entries of the stored record and of the put's (those it pruned, those it kept):
    after 30 restarts of n1 without time for a gossip round, n2 and n3 know every
    one of n1's retired actors but the first (retired before it wrote the key)."""
    with SimulatedCluster(**_LIFETIMES, restore_guard=False) as cluster:
        _restart_and_write(cluster, 30, ["n1"])
        n1 = cluster.node("n1")
        assert len(n1.retired.known) == 30
        for name in ("n2", "n3"):
            assert len(set(n1.retired.known) - set(cluster.node(name).retired.known)) == 1


def test_a_carried_retirement_of_the_receivers_own_live_actor_is_never_taken() -> None:
    """A record-carried ``retired`` field that names the receiver's own live actor
    (a lie, a copy of its store started elsewhere) is not taken: the owner never
    prunes its own live entry (its dots would be minted again: kv679), and counts
    and logs what it heard (``retired-own-actor-heard``). Here n1's live actor is
    told retired, the oldest of n1's, in a ReplicaPut of a record that holds n1's
    entries; then alice writes v1 through n1 and v2 through n2 (n1's live entry
    holds no value from then on), bob reads, carol writes v3 blind through n1 and
    bob writes v4 with his stale context: v3 must stay beside v4. Had n1 pruned its
    own live entry, it would mint its dot again for v3, which bob's context covers
    (kv679's loss). Told to the other nodes, such a lie costs a false sibling only
    (tests/impl/test_dvv_retired_pruning.py, ``told-retired``)."""
    with SimulatedCluster(**_LIFETIMES) as cluster:
        _restart_and_write(cluster, 30, ["n1"])
        n1 = cluster.node("n1")
        live = n1.actor
        record = cluster.replicas(b"k")["n2"]
        assert record is not None
        lie = ReplicaPut(10**9, b"k", encode_record(record),
                         retired=encode_retired({live: 0}))
        n1.receive(cluster.now, "n2", lie)
        seen, final = kv679_sequence(cluster)
        assert seen.values == [b"v2"] and final == [b"v3", b"v4"], final  # v3 kept
        mine = cluster.replicas(b"k")["n1"]
        assert mine is not None and any(e.id == live for e in mine.dvvset.entries)
        assert live not in n1.retired.known
        assert n1.stats["retired-own-actor-heard"] >= 1


def test_frames_without_the_carried_field_decode_and_empty_fields_are_the_old_frame() -> None:
    """The ``retired`` field is a trailing ``tailblob``: a frame of a node of an
    earlier version (without it) decodes as none, and a message whose field is empty
    encodes to the earlier frame, byte for byte."""
    told = encode_retired({"n1~0123456789ab": 3})
    messages = [ReplicaPut(1, b"k", b"r", hint="n2"), ReadRepair(b"k", b"r"),
                HintDelivery(1, b"k", b"r"), KeyRecords((b"k",), (b"r",), 1, reply=True)]
    for message in messages:
        plain = wire.encode(message)
        assert wire.decode(plain) == message
        carrying = type(message)(**{**{f: getattr(message, f)
                                       for f in message.__dataclass_fields__},
                                    "retired": told})
        frame = wire.encode(carrying)
        assert frame.startswith(plain[:6]) and len(frame) == len(plain) + 4 + len(told)
        assert wire.decode(frame) == carrying


def test_a_malformed_carried_field_drops_the_message_as_the_peers_bad_data() -> None:
    """A ``retired`` field that does not parse (not ``<rank> <actor>`` lines, an actor
    longer than a context id) is the peer's bad data: the message is dropped and
    counted (``dropped``), nothing is merged, and no internal error is reported."""
    with SimulatedCluster(**_LIFETIMES) as cluster:
        cluster.client("n1").put(b"k", b"v0")
        n2 = cluster.node("n2")
        record = cluster.replicas(b"k")["n1"]
        assert record is not None
        before = dict(n2.stats)
        for bad in (b"not a line", b"1 n1~" + b"a" * 300, b"\xff\xfe"):
            n2.receive(cluster.now, "n1", ReadRepair(b"k", encode_record(record),
                                                     retired=bad))
        assert n2.stats["dropped"] == before.get("dropped", 0) + 3
        assert n2.stats.get("internal-error", 0) == 0


def test_gossip_tells_the_newest_four_retirements_of_each_node() -> None:
    """The gossip's cost at 100 nodes each restarted 32 times: 62,779 bytes of
    ``retired`` in every gossip with the newest 32 of each node (session 33), at
    most 8,000 bytes now with the newest 4 (``GOSSIPED_PER_NODE``); the whole Gossip
    frame is measured too (docs/runtime.md gives the figures)."""
    assert GOSSIPED_PER_NODE == 4
    retired = RetiredActors(MemoryStorage(), "me~0123456789ab", enabled=True)
    retired.take(encode_retired({f"n{n}~{n:06x}{i:06x}": i + 1
                                 for n in range(1, 101) for i in range(32)}))
    told = retired.to_gossip()
    assert len(decode_retired(told)) == 400
    assert len(told) <= 8_000, len(told)
    frame = wire.encode(Gossip(b"view", retired=told))
    assert len(frame) <= 8_100, len(frame)


def test_a_hint_delivered_to_a_node_back_carries_the_retirements() -> None:
    """4 nodes (a fallback for the key), anti-entropy and read repair off: the key's
    third replica down while its coordinator restarts and writes the key 30 times;
    back, the hint its fallback kept is delivered with the retirements of the hint
    record's entries. It learns at least the 22 whose entries the record keeps
    (gossip alone tells the newest ``GOSSIPED_PER_NODE``, 4), and its copy is the
    others'."""
    options = {**_LIFETIMES, "nodes": 4, "anti_entropy": False, "read_repair": False}
    with SimulatedCluster(**options) as cluster:
        coordinator, _, down = cluster.node("n1").preference_list(b"k")[:3]
        cluster.crash(down)
        for round_ in range(30):
            cluster.crash(coordinator)
            cluster.restart(coordinator)
            client = cluster.client(coordinator, client_id="c")
            client.put(b"k", b"%d" % round_ * 100, client.get(b"k").context)
        cluster.restart(down)
        cluster.run_for(2 * cluster.config.hint_scan_interval)
        told = set(cluster.node(coordinator).retired.known)
        heard = told & set(cluster.node(down).retired.known)
        assert len(heard) >= 22, (len(told), len(heard))
        records = cluster.replicas(b"k")
        assert records[down] == records[coordinator]


def test_a_carried_lie_naming_a_peers_live_actor_loses_no_acknowledged_write() -> None:
    """Session 33's review: a ``retired`` field naming n1's *live* actor (forged, or
    a copy of n1's store started elsewhere) sent to n2 and n3 is taken there (they
    cannot tell), and they prune n1's value-less entries. That must cost at most a
    false sibling: n1 mints its dots over its own copy
    (:meth:`impl.put_coordinator.PutCoordinator._coordinate` reads only
    ``replica.local_record``; the client's context only covers), which keeps its
    live entry (a merge is a union, and n1 never prunes its own actor), so no dot
    is minted again. Alice writes v1 through n1 and v2 through n2; bob reads
    through n2 (a context pruned of n1's entry); carol writes v3 blind through n1;
    bob writes v4 and v5 with his stale context through n2 and n3: v3 stays (v1
    comes back as a false sibling: the lie's cost, figures in docs/runtime.md)."""
    with SimulatedCluster(**_LIFETIMES) as cluster:
        _restart_and_write(cluster, 30, ["n1"])
        n1 = cluster.node("n1")
        live = n1.actor
        for name in ("n2", "n3"):
            record = cluster.replicas(b"k")[name]
            assert record is not None
            cluster.node(name).receive(cluster.now, "n1", ReadRepair(
                b"k", encode_record(record), retired=encode_retired({live: 0})))
            assert live in cluster.node(name).retired.known  # (the lie is taken)
        alice = cluster.client("n1", client_id="alice")
        alice.put(b"k", b"v1", alice.get(b"k").context, coordinator="n1")
        alice.put(b"k", b"v2", alice.get(b"k").context, coordinator="n2")
        record = cluster.replicas(b"k")["n2"]  # n1's value-less live entry pruned there
        assert record is not None and not any(e.id == live for e in record.dvvset.entries)
        bob = cluster.client("n2", client_id="bob")
        seen = bob.get(b"k", coordinator="n2")
        cluster.client("n1", client_id="carol").put(b"k", b"v3", coordinator="n1")
        bob.put(b"k", b"v4", seen.context, coordinator="n2")
        bob.put(b"k", b"v5", seen.context, coordinator="n3")
        cluster.run_for(5 * cluster.config.request_timeout)
        final = sorted(cluster.client("n2").get(b"k", r=3).values)
        # v3 kept (no dot minted again); v1 back beside v2 in bob's read is the lie's
        # cost, a false sibling (n2's pruned record no longer covers v1's dot)
        assert b"v2" in seen.values and b"v2" not in final, (seen.values, final)
        assert {b"v3", b"v4", b"v5"} <= set(final), final
        mine = cluster.replicas(b"k")["n1"]
        assert mine is not None and any(e.id == live for e in mine.dvvset.entries)


def _told(data: bytes) -> set[str]:
    return set(decode_retired(data))


def _lifetimes(record: Any) -> set[str]:
    from impl.versions import _entry_lifetime
    return {_entry_lifetime(entry.id) for entry in record.dvvset.entries}


def test_a_put_tells_the_retirements_of_the_entries_it_pruned() -> None:
    """Session 33's review (a mutant that told only the sent record's survived): the
    coordinator's ReplicaPut names the retired actors of the entries its put pruned
    from the record it stores, so a replica whose copy still holds them prunes them
    too. After 30 restarts of n1 without a gossip round and one more restart, n1's
    next put prunes the oldest retired entry left. (Until session 39 the sent record
    was the pruned one; it is the put whole since, and the entries n1's pruning
    drops from it are the ones named.)"""
    from impl.messages import PutRequest
    with SimulatedCluster(**_LIFETIMES, restore_guard=False) as cluster:
        _restart_and_write(cluster, 30, ["n1"])
        cluster.crash("n1")
        cluster.restart("n1")  # (retires the actor of the last write)
        n1 = cluster.node("n1")
        stored = cluster.replicas(b"k")["n1"]
        assert stored is not None
        context = cluster.client("n1", client_id="c").get(b"k").context
        effects = n1.client_request(cluster.now, PutRequest(10**6, b"k", b"Z" * 3008,
                                                            context, None, "c"))
        puts = [e.message for e in effects if isinstance(getattr(e, "message", None), ReplicaPut)]
        assert puts
        for put in puts:
            sent = n1.replica.parse(put.record)
            kept = n1.replica.prune(sent)  # the record n1 stores
            pruned = (_lifetimes(sent) - _lifetimes(kept)) & set(n1.retired.known)
            assert pruned, "the put pruned nothing: the test shows nothing"
            assert pruned <= _told(put.retired), (pruned, _told(put.retired))
            assert _told(put.retired) == (_lifetimes(stored) | _lifetimes(sent)) & set(
                n1.retired.known)


def test_a_read_repair_tells_the_retirements_of_the_records_entries() -> None:
    """Session 33's review (a mutant that sent ReadRepair without the field
    survived): the repair of a stale replica names the retired actors of the
    entries of the records the get reconciled."""
    with SimulatedCluster(**_LIFETIMES, restore_guard=False) as cluster:
        _restart_and_write(cluster, 30, ["n1"])
        n1 = cluster.node("n1")
        mine = cluster.replicas(b"k")["n1"]
        assert mine is not None
        stale = n1.replica.parse(encode_record(mine))  # as if n3 held nothing
        from impl.records import Record
        effects = n1.read_repair.repair(b"k", {"n1": mine, "n3": Record.empty(mine.mode)})
        (repair,) = [e.message for e in effects
                     if isinstance(getattr(e, "message", None), ReadRepair)]
        expected = _lifetimes(stale) & set(n1.retired.known)
        assert expected and _told(repair.retired) == expected


def test_a_retirement_of_the_own_live_actor_told_with_others_is_not_taken() -> None:
    """A field naming this node's own live actor beside an actor it did not know
    (a mutant that took every actor the field named, the own one too, survived:
    the tests told the own actor alone, which the no-news shortcut skips)."""
    own = "me~0123456789ab"
    retired = RetiredActors(MemoryStorage(), own, enabled=True)
    assert retired.take(encode_retired({own: 5, "n9~0123456789ab": 1}))
    assert set(retired.known) == {"n9~0123456789ab"}


def _stale_n3_back(cluster: SimulatedCluster, *,
                   heard_last: bool) -> tuple[Any, Any, bytes]:
    """n3 up while n1 restarts and writes ``k`` 10 times (then a put through n2),
    down while n1 writes and restarts 40 times more, then back: by gossip it knows
    only the newest 4 of those 40 retirements. ``heard_last``: n1 restarts once
    more before n3 goes down, so n3 hears the retirement of every lifetime of n1
    its copy holds; else n3's copy holds a value-less entry of n1's lifetime live
    when it went down, which n1 and n2 pruned before it came back, whose
    retirement it never heard. Returns n3's copy and n1's then (not equal: no
    anti-entropy round ran), and the context of a read through n1 while n3 was
    down."""
    pause = 2 * cluster.config.gossip_interval
    _restart_and_write(cluster, 10, ["n1"], pause_s=pause)
    client = cluster.client("n2", client_id="c")
    client.put(b"k", b"n2" * 1504, client.get(b"k").context)
    if heard_last:
        cluster.crash("n1")
        cluster.restart("n1")
        cluster.run_for(pause)
    cluster.crash("n3")
    for round_ in range(40):
        client = cluster.client("n1", client_id="c")
        client.put(b"k", bytes([65 + round_ % 26]) * 3008, client.get(b"k").context)
        cluster.crash("n1")
        cluster.restart("n1")
    cluster.run_for(5 * cluster.config.request_timeout)
    context = cluster.client("n1", client_id="c").get(b"k").context
    cluster.restart("n3")
    cluster.run_for(5 * pause)  # (gossip: the newest 4 of each node)
    copies = cluster.replicas(b"k")
    stale, fresh = copies["n3"], copies["n1"]
    assert stale is not None and fresh is not None
    assert encode_record(stale) != encode_record(fresh)  # (no round ran)
    return stale, fresh, context


@contextlib.contextmanager
def _asks_lost(cluster: SimulatedCluster, src: str = "n3") -> Iterator[list[Any]]:
    """Within the block, the network loses every KeyRecords ``src`` opens (``reply``
    True: session 35's ask after a one-way merge that kept entries a pruning
    upstream dropped, :meth:`impl.antientropy.AntiEntropy.ask_pruned`), as it may
    lose any message; yields the list of those lost. For the tests of what heals
    such a copy when the ask does not arrive."""
    lost: list[Any] = []
    sim = cluster.sim
    send = sim._send

    def lossy(source: str, dest: str, message: Any) -> None:
        if source == src and isinstance(message, KeyRecords) and message.reply:
            lost.append(message)
            return
        send(source, dest, message)

    sim._send = lossy  # type: ignore[method-assign]
    try:
        yield lost
    finally:
        del sim._send


def _n3_opens_exchanges(cluster: SimulatedCluster) -> None:
    """n3 opens an exchange with n1, then with n2, each let run to its end."""
    n3 = cluster.node("n3")
    for peer in ("n1", "n2"):
        cluster.sim.perform("n3", n3.fire(cluster.sim.node_now("n3"),
                                          AntiEntropyRound(peer=peer)))
        cluster.run_for(cluster.config.request_timeout)


def _assert_converged(cluster: SimulatedCluster) -> None:
    """The three copies of ``k`` are equal, and so are the three Merkle roots of
    every range the three hold (the message: each copy's bytes and entries)."""
    copies = {name: (len(encode_record(record)), len(record.dvvset.entries))
              if record else 0 for name, record in cluster.replicas(b"k").items()}
    records = {name: encode_record(record) if record is not None else None
               for name, record in cluster.replicas(b"k").items()}
    assert records["n3"] == records["n1"] == records["n2"], copies
    roots = [_roots(cluster, name) for name in ("n1", "n2", "n3")]
    shared = set(roots[0]) & set(roots[1]) & set(roots[2])
    assert shared and all(roots[0][r] == roots[1][r] == roots[2][r] for r in shared)


def _unheard(cluster: SimulatedCluster, stale: Any, fresh: Any) -> set[str]:
    """The retired lifetimes of entries of n3's copy ``stale`` that n1's ``fresh``
    lacks, retirements n1 knows and n3 never heard (asserted not empty)."""
    known = set(cluster.node("n1").retired.known)
    unheard = (_lifetimes(stale) - _lifetimes(fresh)) & (
        known - set(cluster.node("n3").retired.known))
    assert unheard, "n3 heard every retirement its copy needs: the test shows nothing"
    return unheard


_NO_ROUND: dict[str, Any] = {**_ONLY_ANTI_ENTROPY, "anti_entropy_interval": 10**6}


def test_a_stale_node_that_opens_the_exchange_learns_the_retirements_from_the_reply() -> None:
    """Session 33's review (a mutant that sent the KeyRecords answering a Merkle
    step without the ``retired`` field survived: the down-node test above heals
    through the other direction). As there, n3 is down while n1 writes the key and
    restarts 40 times, and back it knows by gossip only the newest 4 of those
    retirements; here no anti-entropy round runs by itself (an interval of 10**6
    s), and n3 alone opens an exchange with n1, then with n2. The peer finds the
    out-of-sync key and sends its records to n3 with the retirements of their
    entries: n3 learns them there only, prunes as the peer did, and its copy is
    theirs, the three Merkle roots of the range agree. (n3 first hears, by gossip,
    the retirement of every lifetime its copy holds; the case where it did not,
    session 33's residual, is the next test's.)"""
    with SimulatedCluster(**_NO_ROUND) as cluster:
        _stale_n3_back(cluster, heard_last=True)
        n3 = cluster.node("n3")
        missing = set(cluster.node("n1").retired.known) - set(n3.retired.known)
        assert len(missing) >= 10, len(missing)
        _n3_opens_exchanges(cluster)
        left = set(cluster.node("n1").retired.known) - set(n3.retired.known)
        assert len(left) < len(missing), (len(left), len(missing))  # (taken)
        _assert_converged(cluster)


def test_a_stale_opener_learns_the_retirements_of_entries_only_its_copy_holds() -> None:
    """Session 34 (helper aeprune), session 33's residual: n3 holds a value-less
    entry of a lifetime of n1 whose retirement it never heard, which n1 and n2
    pruned before it came back, and n3 alone opens an exchange with n1, then with
    n2 (no round runs by itself). The peer finds the out-of-sync key and sends its
    records first; they no longer hold that entry, so their ``retired`` field
    cannot name it, and n3's answer (its merge, which keeps the entry) goes back
    naming what n3 knows only. Before, the peer pruned the answer's entry again and
    the exchange ended there: n3's copy kept it, ``(3747, 25)`` against the
    others' ``(3718, 24)`` (bytes, entries), and the Merkle roots differed until a
    peer opened an exchange. Now the peer, whose merge of the answer pruned entries
    the answer holds, follows it up once (its records again, ``reply`` False:
    never answered) with the retirements of the answer's entries: n3 takes them,
    prunes alike, and after one exchange with each peer the three copies and the
    three Merkle roots of the range are equal."""
    with SimulatedCluster(**_NO_ROUND) as cluster:
        stale, fresh, _ = _stale_n3_back(cluster, heard_last=False)
        n3 = cluster.node("n3")
        unheard = _unheard(cluster, stale, fresh)
        _n3_opens_exchanges(cluster)
        _assert_converged(cluster)
        assert unheard <= set(n3.retired.known)
        followups = sum(cluster.node(name).stats["anti-entropy-followups"]
                        for name in ("n1", "n2", "n3"))
        assert followups >= 1, followups


@pytest.mark.parametrize("heal", ["get", "exchange"])
def test_a_replica_a_put_left_holding_more_than_the_pruned_merge_learns_the_retirements(
        heal: str) -> None:
    """Session 34 (helper aeprune), the one-way side of session 33's residual. n3
    is back as above (an entry of a lifetime of n1 whose retirement it never
    heard, pruned by n1 and n2), hints off; a put through n1 reaches it as a
    ReplicaPut, whose record lacks that entry (n1 pruned it before) and so cannot
    name its retirement: n3's merge keeps it, and n3's copy holds the put's record
    and more (a HintDelivery or a handoff would leave it so too: a one-way message
    cannot know what the receiver holds). Then:

    ``get`` (anti-entropy off): a get through n1 at R = 3 reconciles the three
    copies; the merge is n3's copy, which before was no replica's repair
    (``read_repair_targets``: only n1 and n2 answered with less than the merge,
    and their merges of the repair pruned the entry again), and n3 kept it,
    ``(3747, 25)`` against ``(3718, 24)`` (bytes, entries). Now the coordinator
    also repairs a replica whose copy holds entries its own pruning of the merge
    drops, with the retirements of the replies' entries.

    ``exchange`` (read repair off, no round by itself): n3 opens an exchange with
    n1, then n2 (the follow-up of the test above).

    Either way n3 takes the retirements and prunes alike: the three copies (and
    Merkle roots) are equal."""
    options = {**_LIFETIMES, "hinted_handoff": False}
    options.update({"anti_entropy": False} if heal == "get" else
                   {"read_repair": False, "anti_entropy_interval": 10**6})
    with SimulatedCluster(**options) as cluster:
        stale, fresh, context = _stale_n3_back(cluster, heard_last=False)
        unheard = _unheard(cluster, stale, fresh)
        with _asks_lost(cluster) as lost:  # (session 35's ask heals it at once)
            cluster.client("n1", client_id="d").put(b"k", b"d" * 3008, context,
                                                    coordinator="n1")
            cluster.run_for(cluster.config.request_timeout)
        assert len(lost) == 1
        copies = cluster.replicas(b"k")
        assert unheard <= _lifetimes(copies["n3"]) - _lifetimes(copies["n1"])
        assert not unheard & set(cluster.node("n3").retired.known)
        if heal == "get":
            read = cluster.client("n1").get(b"k", r=3, coordinator="n1")
            assert read.values == [b"d" * 3008]
            cluster.run_for(cluster.config.request_timeout)
        else:
            _n3_opens_exchanges(cluster)
        _assert_converged(cluster)
        assert unheard <= set(cluster.node("n3").retired.known)
