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

import math
from typing import Any

import pytest

from impl.cluster import SimulatedCluster
from impl.messages import KeyRecords, ReadRepair
from impl.records import ClockMode, Record
from impl.retired import RetiredActors
from impl.storage.memory import MemoryStorage
from impl.versions import encode_record, encode_retired
from spec.dvv import DVVSet, Entry
from tests.impl.test_dvv_retired_carried import (
    _assert_converged,
    _lifetimes,
    _stale_n3_back,
    _told,
    _unheard,
)
from tests.impl.test_dvv_retired_pruning import _LIFETIMES, _restart_and_write

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


def _key_of(cluster: SimulatedCluster, top: list[str]) -> bytes:
    """The first key ``k<i>`` whose top N is exactly ``top`` (in any order)."""
    node = cluster.node("n1")
    for i in range(1000):
        key = b"k%d" % i
        if sorted(node.preference_list(key)[: cluster.config.n]) == sorted(top):
            return key
    raise AssertionError(f"no key of top N {top}")


def _hint_for_stale_n3(cluster: SimulatedCluster) -> tuple[bytes, set[str]]:
    """4 nodes, a key whose top 3 is n1, n2, n3 (n4 its fallback). n3 up while n1
    restarts and writes the key 10 times (then a put through n2), then n3 and n4
    down while n1 restarts and writes it 40 times more (no fallback up: no hint
    teaches n3 later); both back, gossip: n3 holds a value-less entry of a
    lifetime of n1 pruned since, whose retirement it never heard. n3 down again,
    a put through n1 leaves a hint for it at n4 (the put's record, lacking the
    entry). Returns the key and the retirements n3's copy needs and never heard
    (not empty); n3 is down, n4 holds the hint."""
    key = _key_of(cluster, ["n1", "n2", "n3"])
    pause = 2 * cluster.config.gossip_interval

    def put(through: str = "n1") -> None:
        client = cluster.client(through, client_id="c")
        client.put(key, b"x" * 3008, client.get(key).context, coordinator=through)

    for _ in range(10):
        cluster.crash("n1")
        cluster.restart("n1")
        put()
        cluster.run_for(pause)
    put("n2")  # (n3's value is n2's: no false sibling back, as _stale_n3_back)
    cluster.run_for(pause)
    cluster.crash("n3")
    cluster.crash("n4")
    for _ in range(40):
        put()
        cluster.crash("n1")
        cluster.restart("n1")
    cluster.run_for(5 * cluster.config.request_timeout)
    cluster.restart("n4")
    cluster.restart("n3")
    cluster.run_for(5 * pause)
    copies = cluster.replicas(key)
    stale, fresh = copies["n3"], copies["n1"]
    assert stale is not None and fresh is not None
    known = set(cluster.node("n1").retired.known)
    unheard = (_lifetimes(stale) - _lifetimes(fresh)) & (
        known - set(cluster.node("n3").retired.known))
    assert unheard, "n3 heard every retirement its copy needs: the test shows nothing"
    cluster.crash("n3")
    put()
    cluster.run_for(cluster.config.request_timeout)
    assert cluster.node("n4").hints.holds(key)
    return key, unheard


def test_a_hint_lacking_a_pruned_entry_leaves_no_copy_holding_it() -> None:
    """The same kind through a HintDelivery (:func:`_hint_for_stale_n3`: anti-entropy
    and read repair off); n3 back, the hint delivered. Before: n3's copy kept the
    entry (``(3747, 25)`` against ``(3718, 24)``). Now n3 asks a replica of the
    key (n4, the hint's holder, is none: it is asked nothing and stores no copy),
    and the three copies are equal."""
    options = {**_LIFETIMES, "nodes": 4, "anti_entropy": False, "read_repair": False}
    with SimulatedCluster(**options) as cluster:
        key, unheard = _hint_for_stale_n3(cluster)
        exchanged = _sent(cluster, KeyRecords)
        cluster.restart("n3")
        cluster.run_for(10 * cluster.config.hint_scan_interval)
        assert not cluster.node("n4").hints.holds(key)  # (delivered)
        copies = cluster.replicas(key)
        shapes = {name: _shape(record) for name, record in copies.items()}
        assert len({encode_record(record) for record in copies.values()
                    if record is not None}) == 1, shapes
        assert unheard <= set(cluster.node("n3").retired.known)
        assert [(src, dest, m.reply) for src, dest, m in exchanged] == [
            ("n3", "n1", True), ("n1", "n3", False)]
        assert cluster.node("n4").record(key) is None


def test_a_hint_receiver_asks_a_replica_it_does_not_suspect() -> None:
    """As above, n1 (the first of the key's top N) down and suspected by n3 when the
    hint arrives: n3 asks n2, the next replica, which knows the retirement too, and
    n2's and n3's copies are equal. (Session 35's review: the mutant asking
    suspected nodes too lived; it sends the ask to the down n1, where it is lost,
    and n3 keeps the entry.) n4 delivers the hint twice (n3, starting, acked
    neither within the retry interval): one ask (before the review: two asks and
    two answers, 4 KeyRecords of about 3.7 KB); the second delivery was held by
    the ask's throttle until session 41, and is now dropped by n3's shadow round
    as a resend of the hint it holds (the throttle: tests/refinement's
    test_one_way_ask_*)."""
    options = {**_LIFETIMES, "nodes": 4, "anti_entropy": False, "read_repair": False}
    with SimulatedCluster(**options) as cluster:
        key, unheard = _hint_for_stale_n3(cluster)
        cluster.crash("n1")
        exchanged = _sent(cluster, KeyRecords)
        cluster.restart("n3")
        cluster.node("n3").set_suspected({"n1": math.inf})
        cluster.run_for(10 * cluster.config.hint_scan_interval)
        assert not cluster.node("n4").hints.holds(key)  # (delivered)
        assert [(src, dest, m.reply) for src, dest, m in exchanged] == [
            ("n3", "n2", True), ("n2", "n3", False)]
        assert cluster.node("n3").stats["shadow-round-duplicate-hint"] == 1
        assert cluster.node("n3").stats["one-way-pruned-asks-held"] == 0
        assert unheard <= set(cluster.node("n3").retired.known)
        copies = cluster.replicas(key)
        assert copies["n2"] == copies["n3"], {
            name: _shape(record) for name, record in copies.items()}


_A = "n1~0123456789ab"  # a lifetime of n1 (retired or not: the rule does not ask)
_B = "n1~0123456789ac"
_LIVE = "n3~0123456789ab"  # the receiver's own live actor


def _dvv(*entries: tuple[str, int, tuple[bytes, ...]],
         anonymous: tuple[bytes, ...] = ()) -> Record:
    return Record(ClockMode.DVV, dvvset=DVVSet(
        tuple(Entry(id_, counter, values) for id_, counter, values in sorted(entries)),
        anonymous))


@pytest.mark.parametrize(("merged", "theirs", "kept"), [
    # the entry a pruning upstream dropped, every value theirs: the trace
    (_dvv((_A, 3, ()), (_B, 2, (b"v",))), _dvv((_B, 2, (b"v",))), True),
    # a key epoch or a pair with a client of that lifetime: the same
    (_dvv((_A + ".2", 3, ()), (_B, 2, (b"v",))), _dvv((_B, 2, (b"v",))), True),
    (_dvv((_A + " alice", 3, ()), (_B, 2, (b"v",))), _dvv((_B, 2, (b"v",))), True),
    # equal: nothing kept
    (_dvv((_B, 2, (b"v",))), _dvv((_B, 2, (b"v",))), False),
    # a sibling theirs lacks (a concurrent write: no evidence of pruning)
    (_dvv((_A, 3, ()), (_B, 2, (b"v",)), ("n2~0123456789ab", 1, (b"w",))),
     _dvv((_B, 2, (b"v",))), False),
    # a newer value of an entry theirs holds older
    (_dvv((_A, 3, ()), (_B, 3, (b"u",))), _dvv((_B, 2, (b"v",))), False),
    # an anonymous value theirs lacks
    (_dvv((_A, 3, ()), (_B, 2, (b"v",)), anonymous=(b"z",)), _dvv((_B, 2, (b"v",))), False),
    # a value-less entry theirs holds at a lower counter: a union, no pruning
    (_dvv((_A, 3, ()), (_B, 2, (b"v",))), _dvv((_A, 1, ()), (_B, 2, (b"v",))), False),
    # the receiver's own live actor: never pruned by a node that tells the truth
    (_dvv((_LIVE, 3, ()), (_B, 2, (b"v",))), _dvv((_B, 2, (b"v",))), False),
    # not a lifetime actor (no epochs in its name)
    (_dvv(("n1", 3, ()), (_B, 2, (b"v",))), _dvv((_B, 2, (b"v",))), False),
])
def test_the_trace_of_a_pruning_upstream(merged: Record, theirs: Record, kept: bool) -> None:
    """:meth:`impl.retired.RetiredActors.kept_pruned`: a value-less entry of a
    lifetime actor (not the receiver's live one) the one-way record lacks, while
    that record holds every value of the merge."""
    retired = RetiredActors(MemoryStorage(), _LIVE, enabled=True)
    assert retired.kept_pruned(merged, theirs) is kept


def test_a_node_that_does_not_learn_or_does_not_prune_asks_nothing() -> None:
    """Disabled (lww, vector clocks, no actor epochs) or told by the refinement
    harness (:meth:`impl.retired.RetiredActors.tell`: it could not take the
    answer, and the spec's replica put carries no knowledge), never."""
    merged, theirs = _dvv((_A, 3, ()), (_B, 2, (b"v",))), _dvv((_B, 2, (b"v",)))
    assert not RetiredActors(MemoryStorage(), _LIVE, enabled=False).kept_pruned(merged, theirs)
    told = RetiredActors(MemoryStorage(), _LIVE, enabled=True)
    # (told another retirement: told _A's, it would not ask anyway, as a node that
    # learnt it does not; session 35's review: the mutant ignoring ``learns`` lived)
    told.tell({"n2~0123456789ab": 1})
    assert not told.kept_pruned(merged, theirs)


@pytest.mark.parametrize("order", [["n1", "n2", "n3"], ["n1"]])
def test_ordinary_writes_through_restarted_nodes_ask_nothing(order: list[str]) -> None:
    """60 read-modify-writes, a node restarted before each (pruning past the budget
    at every put from round 23 on), and then concurrent blind puts through each
    node: each ReplicaPut names what its coordinator pruned, so no replica's merge
    keeps an entry the put lacks: not one ask, and the copies agree."""
    with SimulatedCluster(**_LIFETIMES) as cluster:
        _restart_and_write(cluster, 60, order)
        for name in ("n1", "n2", "n3"):
            cluster.client(name, client_id=name).put(b"k", name.encode(), coordinator=name)
        cluster.run_for(cluster.config.request_timeout)
        assert len(cluster.client("n1").get(b"k", r=3).values) == 4
        cluster.run_for(cluster.config.request_timeout)
        asks = {name: cluster.node(name).stats["one-way-pruned-asks"]
                for name in ("n1", "n2", "n3")}
        assert asks == {"n1": 0, "n2": 0, "n3": 0}
        assert cluster.converged(b"k")


def test_a_batchs_carried_field_is_decoded_once_for_all_its_keys(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """:meth:`impl.retired.RetiredActors.prunes_copy` (anti-entropy asks it for each
    key of a batch, every key with the message's one field) decodes the field once
    while what the node knows is unchanged (session 34's open point: 100 keys, 100
    decodes), again for another field or once the node learnt something, and
    answers as a fresh decode would."""
    import impl.retired as retired_module

    calls: list[bytes] = []
    decode = retired_module.decode_retired

    def counted(raw: bytes, *args: Any) -> dict[str, int]:
        calls.append(raw)
        return decode(raw, *args)

    monkeypatch.setattr(retired_module, "decode_retired", counted)
    node = RetiredActors(MemoryStorage(), _LIVE, enabled=True, keep=0)
    calls.clear()  # (its start read the store's)
    told = encode_retired({_A: 1})
    copy = _dvv((_A, 3, ()), (_B, 2, (b"v",)))
    assert all(node.prunes_copy(copy, told) for _ in range(100))
    assert len(calls) == 1
    assert not node.prunes_copy(copy, encode_retired({"n2~0123456789ab": 1}))
    assert len(calls) == 2
    other = _dvv(("n2~0123456789ac", 3, ()), (_B, 2, (b"v",)))
    assert not node.prunes_copy(other, told) and len(calls) == 3
    node._add({"n2~0123456789ac": 1})  # (learnt: another dict, the same field)
    assert node.prunes_copy(other, told) and len(calls) == 4
    node.renew("n3~0123456789ff")  # (known changed in place)
    assert node.prunes_copy(copy, told) and len(calls) == 5
