"""Session 16 review of the client-vclock truncation floor and the late re-mint.

Probes written against commits cdd4c7d (a late ack's record re-mints an answered
put in a round that answers nothing) and 7a2edc5 (a record keeps the highest
counter its truncations dropped, its ``floor``, and a put counts above it).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from impl.cluster import SimulatedCluster
from impl.effects import Effect, PutResult, Reply, Send
from impl.errors import BadRequestError
from impl.messages import PutRequest, ReplicaPut, ReplicaPutAck
from impl.node import Node
from impl.records import Truncation
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.versions import (
    MAX_COUNTER,
    ClockMode,
    Record,
    Sibling,
    apply_put,
    context_clock,
    encode_record,
    merge,
)
from spec.vclock import VClock, client_entry
from tests.impl.test_node_driver import make_config
from tests.impl.test_truncation_skew import _forgetful_records

KEY = b"k"


def _truncating_cluster(**options: Any) -> SimulatedCluster:
    """3 nodes (N = 3, R = W = 2, seed 1) in client-vclock that truncate a pair 5 s
    old once a clock holds more than one (the floor's scenarios); no anti-entropy,
    read repair or hinted handoff unless ``options`` say so."""
    settings: dict[str, Any] = {"anti_entropy": False, "read_repair": False,
                                "hinted_handoff": False, **options}
    return SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock="client-vclock",
                            vclock_threshold=1, vclock_young_s=0.0, vclock_old_s=5.0,
                            **settings)


def _alice_writes_five_with_n3_cut_off(cluster: SimulatedCluster) -> None:
    """n3 cut off; alice's read-modify-writes v0..v4 through n1 (her pair at 5)."""
    cluster.partition({"n1", "n2"}, {"n3"})
    alice = cluster.client("n1", client_id="alice")
    for i in range(5):
        alice.put(KEY, b"v%d" % i, context=alice.get(KEY).context)


def _floor_missed_by_the_coordinator(*, missed_b: bool) -> tuple[list[bytes], list[int]]:
    """n3 is cut off while alice writes v0..v4 through n1 (her pair at 5) and carol
    reads them; 15 s on (``vclock_old_s`` 5 s, threshold 1) bob's
    read-modify-write B through n2 drops alice's pair (n1 and n2 keep the floor 5).
    n3, healed, receives B's version alone ({bob: 1}: the replicated part carries
    no floor). alice, forgetful, writes Z blind through n3 (acknowledged), then
    carol writes C with the context she read before. Returns ``GET ?r=3``'s values
    once quiet and every replica's floor; the right value is ``[B, C, Z]``.
    ``missed_b``: n3 stays cut off until B is acknowledged (it holds nothing of the
    key when Z comes; B reaches it with Z's round)."""
    with _truncating_cluster() as cluster:
        _alice_writes_five_with_n3_cut_off(cluster)
        carol = cluster.client("n1", client_id="carol")
        stale = carol.get(KEY).context
        cluster.run_until_quiet()
        if not missed_b:
            cluster.heal()
        cluster.run_for(15.0)
        bob = cluster.client("n2", client_id="bob")
        bob.put(KEY, b"B", context=bob.get(KEY).context)
        cluster.run_for(0.5)
        cluster.heal()
        cluster.client("n3", client_id="alice").put(KEY, b"Z", context=b"")  # acknowledged
        cluster.run_for(0.5)
        carol.put(KEY, b"C", context=stale)  # acknowledged
        cluster.run_until_quiet()
        floors = [cluster.node(n).replica.local_record(KEY).floor for n in ("n1", "n2", "n3")]
        return sorted(cluster.client("n2").get(KEY, r=3).values), floors


def test_the_floor_travels_with_the_put_that_raised_it() -> None:
    """Before: ``[B, C]``, floors ``[5, 5, 0]``: B's replicated part ({bob: 1}) carried
    no floor, n3 minted Z ``{alice: 1}`` and carol's ``{alice: 5}`` covered it. Now
    the replicated part carries the coordinator's floor
    (:func:`impl.versions.replicated_part`)."""
    assert _floor_missed_by_the_coordinator(missed_b=False) == ([b"B", b"C", b"Z"], [5, 5, 5])


def test_a_replica_above_the_coordinators_floor_asks_for_a_re_mint() -> None:
    """n3 holds nothing when Z comes (it missed v0..v4 and B): Z minted ``{alice: 1}``
    was kept by n1 and n2, whose floor is 5, and carol's context covered it
    (``[B, C]``). Now a replica whose floor is above the put's acks with its record
    (:meth:`impl.replica.Replica.on_replica_put`) and the coordinator mints the put
    again above the floor (:meth:`impl.put_coordinator.PutCoordinator._remint`)."""
    assert _floor_missed_by_the_coordinator(missed_b=True) == ([b"B", b"C", b"Z"], [5, 5, 5])


def _peer_record(entry: str) -> bytes:
    """n3's record in the late ack: 49 versions of other clients that each read
    alice's v2 (``{entry: 2, cI: 1}``, 1300 bytes each: 66833 bytes; with alice's
    pair 50, the truncation's ``max_pairs``), all concurrent with a blind put of
    alice minted above them. Since session 23 ``entry`` is the one n1 minted alice's
    put under: a reused dot (a forged or buggy peer), the only record that asks a
    re-mint."""
    record = Record(ClockMode.CLIENT_VCLOCK, (Sibling(
        b"v2", VClock.of({entry: 2}, {entry: 0.0}), 0.0, "n3"),))
    read = context_clock(record)
    for i in range(49):
        record = apply_put(record, read, b"x" * 1300, coordinator="n3", client_id=f"c{i}",
                           now=0.5)
    return encode_record(record)


@pytest.mark.parametrize("limit", ["max_siblings", "max_record_bytes"])
def test_a_re_mint_round_of_an_answered_put_never_answers_its_client_again(limit: str) -> None:
    """max_siblings 49 (or max_record_bytes 67924, between the peer's record and
    the record with alice's version too, 68176 bytes: the 413): alice's blind v3 through n1
    ({alice: 1}) is answered at W=2; n3's late ack holds 63 versions above
    {alice: 2}, so v3 is minted again ({alice: 3}), one more sibling. The round
    answers nothing, so its refusal answered nobody either: before, the client
    got a second Reply (an error after its success) and the re-mint was dropped
    (v3, acknowledged, dominated). Now a limit does not refuse the re-mint of a
    put it accepted (:meth:`impl.put_coordinator.PutCoordinator._coordinate`)."""
    storage = MemoryStorage("always")
    limits = ({"max_siblings": 49} if limit == "max_siblings" else
              {"max_siblings": 100, "max_record_bytes": 67924, "max_value_bytes": 1300})
    node = Node("n1", make_config(3, n=3, r=2, w=2, clock="client-vclock", **limits),
                storage, seed=1)
    node.start(0.0)
    effects = persist(storage, node.client_request(
        1.0, PutRequest(7, KEY, b"v3" * 650, b"", None, "alice")))
    (put, *_) = [e.message for e in effects if isinstance(e, Send)
                 and isinstance(e.message, ReplicaPut)]
    first = [e for e in persist(storage, node.receive(1.01, "n2", ReplicaPutAck(put.op_id, KEY)))
             if isinstance(e, Reply)]
    assert [r.error for r in first] == [None]
    (entry,) = {c.entry for c in node.puts.coordinations.values()}
    out = persist(storage, node.receive(1.02, "n3", ReplicaPutAck(
        put.op_id, KEY, record=_peer_record(entry))))
    assert node.stats["put-remints"] == 1
    assert [e for e in out if isinstance(e, Reply)] == []
    local = node.replica.local_record(KEY)
    assert b"v3" * 650 in [s.value for s in local.siblings]


@pytest.mark.parametrize("sent", [3, 4, 5])
def test_a_replicas_floor_asks_no_re_mint_of_a_pair_it_never_held(sent: int) -> None:
    """n1 holds nothing of the key; alice's put sends counter ``sent``; n2's ack
    carries its record, whose floor is 5 (alice's pair truncated at 5). Before
    session 23 a version minted at or below the floor (4, 5) was minted again above
    it (6): a context read before the truncation held ``{alice: 5}`` and covered
    it. Since then the put is ``{<n1's actor> alice: 1}``, an entry no context read
    before holds (n1 minted none of it): no re-mint, whatever alice sends."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=2, clock="client-vclock"), storage, seed=1)
    node.start(0.0)
    _, truncated = _forgetful_records()
    effects = persist(storage, node.client_request(
        1.0, PutRequest(7, KEY, b"Z", b"", None, "alice", client_counter=sent)))
    (put, *_) = [e.message for e in effects if isinstance(e, Send)
                 and isinstance(e.message, ReplicaPut)]
    persist(storage, node.receive(1.01, "n2", ReplicaPutAck(
        put.op_id, KEY, record=encode_record(truncated))))
    assert node.stats["put-remints"] == 0
    (z,) = [s for s in node.replica.local_record(KEY).siblings if s.value == b"Z"]
    assert z.clock.pairs == ((client_entry("alice", node.key_actor(KEY)), 1),)


def test_a_floor_at_the_u64_limit_refuses_the_put_with_a_400_not_a_crash() -> None:
    """A peer's record with a floor of 2**64 - 1 (decodes: a u64) makes the next
    counter 2**64, which no record's bytes hold. Before: ``struct.error`` out of
    ``Node.client_request`` (an internal error; every client-vclock put of the key
    failed so). Now a 400 naming the limit, and the stored record unchanged."""
    _, truncated = _forgetful_records()
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=2, clock="client-vclock"), storage, seed=1)
    node.start(0.0)
    persist(storage, node.receive(0.5, "n2", ReplicaPut(1, KEY, encode_record(
        dataclasses.replace(truncated, floor=MAX_COUNTER)))))
    before = node.replica.local_record(KEY)
    assert before.floor == MAX_COUNTER
    out = persist(storage, node.client_request(
        1.0, PutRequest(7, KEY, b"Z", b"", None, "alice")))
    (reply,) = [e for e in out if isinstance(e, Reply)]
    assert isinstance(reply.error, BadRequestError) and "limit" in str(reply.error)
    assert node.replica.local_record(KEY) == before


@pytest.mark.parametrize("repair", ["anti-entropy", "read-repair"])
def test_replicas_whose_floors_differ_converge(monkeypatch: pytest.MonkeyPatch,
                                               repair: str) -> None:
    """Puts whose replicated part carries no floor (as before this review: patched
    here) leave n3 with the versions of n1 and n2 but floor 0. A key's Merkle
    digest covers its record's bytes, the floor's included, so anti-entropy
    exchanges it and the merge keeps the larger floor: every floor 5 and the
    records equal (equal bytes, equal digests: the key is not exchanged again).
    So does read repair (a replica whose merge with the read's result differs is
    stale), after a ``GET ?r=3``."""
    import impl.put_coordinator as put_coordinator
    from impl.versions import replicated_part

    def floorless(before: Record, after: Record) -> Record:
        return dataclasses.replace(replicated_part(before, after), floor=0)

    monkeypatch.setattr(put_coordinator, "replicated_part", floorless)
    with _truncating_cluster() as cluster:
        _alice_writes_five_with_n3_cut_off(cluster)
        cluster.run_until_quiet()
        cluster.heal()
        cluster.run_for(15.0)
        bob = cluster.client("n2", client_id="bob")
        # two puts: the first keeps alice's pair, the own pair of what it supersedes
        # (session 30: versions.truncate's keep_own); the second drops it
        bob.put(KEY, b"B0", context=bob.get(KEY).context)
        bob.put(KEY, b"B", context=bob.get(KEY).context)
        cluster.run_until_quiet()
        records = [cluster.node(n).replica.local_record(KEY) for n in ("n1", "n2", "n3")]
        # since session 30 n3 truncates alice's pair itself (B0 brought it, B does not)
        # and raises its own floor: n3's record as before is rebuilt with floor 0
        assert [r.floor for r in records] == [5, 5, 5]
        assert records[0].siblings == records[2].siblings
        records[2] = dataclasses.replace(records[2], floor=0, dropped=())
    monkeypatch.undo()
    with _truncating_cluster(anti_entropy=repair == "anti-entropy",
                             read_repair=repair == "read-repair") as cluster:
        for name, record in zip(("n1", "n2", "n3"), records, strict=True):
            node = cluster.node(name)
            node.replica.write_local(KEY, record)
        assert [cluster.node(n).replica.local_record(KEY).floor
                for n in ("n1", "n2", "n3")] == [5, 5, 0]
        if repair == "read-repair":
            assert cluster.client("n1").get(KEY, r=3).values == [b"B"]
        cluster.run_for(30.0)
        after = [cluster.node(n).replica.local_record(KEY) for n in ("n1", "n2", "n3")]
        assert [r.floor for r in after] == [5, 5, 5]
        assert after[0] == after[1] == after[2]


def _deliver(storage: MemoryStorage, node: Node, now: float, src: str,
             effects: list[Effect], message_type: type) -> list[Effect]:
    """Deliver to ``node`` every Send of ``effects`` addressed to it of ``message_type``."""
    out: list[Effect] = []
    for e in effects:
        if isinstance(e, Send) and e.dest == node.name and isinstance(e.message, message_type):
            out.extend(persist(storage, node.receive(now, src, e.message)))
    return out


def _v4_after_a_late_remint() -> list[bytes]:
    """alice's forgetful blind v3 through n1 ({alice: 1}) is answered by n1 and n2;
    she then writes v4 through n2 with v3's context and her counter (1): n2 mints
    {alice: 2}, which n3, holding her earlier v2 at {alice: 2}, keeps beside it
    (equal clocks, both kept): v4 is answered by n2 and n3. n3's ack of v3, with
    its record ({alice: 2}), reaches n1 only now, before v4's write does. Returns
    the values of n1's and n2's records merged once their writes crossed."""
    config = make_config(3, n=3, r=2, w=2, clock="client-vclock")
    s1, s2 = MemoryStorage("always"), MemoryStorage("always")
    n1, n2 = Node("n1", config, s1, seed=1), Node("n2", config, s2, seed=2)
    n1.start(0.0)
    n2.start(0.0)
    v3 = persist(s1, n1.client_request(1.0, PutRequest(7, KEY, b"v3", b"", None, "alice")))
    acks = _deliver(s2, n2, 1.01, "n1", v3, ReplicaPut)
    answered = _deliver(s1, n1, 1.02, "n2", acks, ReplicaPutAck)
    (reply,) = [e for e in answered if isinstance(e, Reply)]
    assert reply.error is None and isinstance(reply.result, PutResult)
    v4 = persist(s2, n2.client_request(2.0, PutRequest(
        8, KEY, b"v4", reply.result.context, None, "alice", client_counter=1)))
    (to_n3,) = [e.message for e in v4 if isinstance(e, Send) and e.dest == "n3"
                and isinstance(e.message, ReplicaPut)]
    v4_answer = persist(s2, n2.receive(2.01, "n3", ReplicaPutAck(to_n3.op_id, KEY)))
    assert [e.error for e in v4_answer if isinstance(e, Reply)] == [None]
    (to_n3_v3,) = [e.message for e in v3 if isinstance(e, Send) and e.dest == "n3"
                   and isinstance(e.message, ReplicaPut)]
    late = persist(s1, n1.receive(2.02, "n3", ReplicaPutAck(
        to_n3_v3.op_id, KEY, record=_alice_record_at("alice", 2, b"v2"))))
    _deliver(s1, n1, 2.03, "n2", v4, ReplicaPut)
    _deliver(s2, n2, 2.03, "n1", late, ReplicaPut)
    merged = merge(n1.replica.local_record(KEY), n2.replica.local_record(KEY))
    return sorted(s.value for s in merged.siblings)


def _alice_record_at(entry: str, counter: int, value: bytes) -> bytes:
    """A record of one version at ``{entry: counter}``."""
    return encode_record(Record(ClockMode.CLIENT_VCLOCK, (Sibling(
        value, VClock.of({entry: counter}, {entry: 0.0}), 0.0, "n3"),)))


def test_a_late_re_mint_does_not_supersede_a_later_write_through_another_coordinator(
        ) -> None:
    """n1 re-minted the answered v3 over n3's record at {alice: 3}, which dominated
    v4 ({alice: 2}), acknowledged after v3 and written with v3's context, so v4 was
    lost and the value it overwrote was back (``[v3]``; a strict xfail from
    session 16's review to session 21). Before cdd4c7d (an answered put was never
    minted again) the result held v4 (``[v2, v4]``: v2 and v4 collide on
    {alice: 2}, both kept); n1's guard sees only its own record, which v4 has not
    reached. n1 cannot tell v4 from v2 (the same clock), so a late round keeps
    v3's clock and adds a fresh entry's pair: v3 is a sibling of both
    (``[v2, v3, v4]``), neither acknowledged write lost (docs/runtime.md).
    Since session 23 v3 is ``{<n1> alice: 1}`` and v4 ``{<n1> alice: 1, <n2> alice:
    1}``: n3's record of ``{alice: 2}`` (the rule before) asks no re-mint, and v4,
    which read v3, supersedes it: ``[v4]``, the right value."""
    assert _v4_after_a_late_remint() == [b"v4"]


def test_a_late_round_keeps_the_answered_clock_and_is_never_minted_again() -> None:
    """The late round's version is the answered one's clock ({alice: 1}) plus one
    pair of ``<n1's key actor>/remint/<the answered round's op id>``; a replica's
    record ack of that round (n3 holding a later {alice: 5}) counts as an ack: no
    second re-mint (the version is not under any clock of alice's entry alone)."""
    config = make_config(3, n=3, r=2, w=2, clock="client-vclock")
    storage = MemoryStorage("always")
    n1 = Node("n1", config, storage, seed=1)
    n1.start(0.0)
    v3 = persist(storage, n1.client_request(1.0, PutRequest(7, KEY, b"v3", b"", None,
                                                            "alice")))
    (to_n2,) = [e.message for e in v3 if isinstance(e, Send) and e.dest == "n2"
                and isinstance(e.message, ReplicaPut)]
    (to_n3,) = [e.message for e in v3 if isinstance(e, Send) and e.dest == "n3"
                and isinstance(e.message, ReplicaPut)]
    persist(storage, n1.receive(1.01, "n2", ReplicaPutAck(to_n2.op_id, KEY)))
    mine = client_entry("alice", n1.key_actor(KEY))  # a reused dot forged below
    late = persist(storage, n1.receive(1.02, "n3", ReplicaPutAck(
        to_n3.op_id, KEY, record=_alice_record_at(mine, 2, b"v2"))))
    assert n1.stats["put-remints"] == 1
    # the late round's fresh id, minted (session 23) as the pair of n1's actor and it
    entry = client_entry(f"{n1.key_actor(KEY)}/remint/{to_n3.op_id}", n1.key_actor(KEY))
    local = n1.replica.local_record(KEY)
    assert sorted((s.value, sorted(s.clock.entries.items())) for s in local.siblings) == [
        (b"v2", [(mine, 2)]), (b"v3", sorted([(mine, 1), (entry, 1)]))]
    (again,) = [e.message for e in late if isinstance(e, Send) and e.dest == "n3"
                and isinstance(e.message, ReplicaPut)]
    out = persist(storage, n1.receive(1.03, "n3", ReplicaPutAck(
        again.op_id, KEY, record=_alice_record_at(mine, 5, b"v5"))))
    assert n1.stats["put-remints"] == 1
    assert not [e for e in out if isinstance(e, Reply)]


def test_a_truncation_dropping_two_pairs_keeps_the_higher_counter_as_the_floor() -> None:
    """alice's five puts ({alice: 5}) and dave's blind one with his counter 8
    ({dave: 9}) are siblings; bob's read-modify-write 15 s on drops both pairs at
    once: the floor is 9, the higher (the lower, 5, would let a forgetful dave
    mint {dave: 6}, covered by a context read before the truncation)."""
    policy = Truncation(threshold=1, max_pairs=50, young_s=0.0, old_s=5.0)
    record = Record.empty(ClockMode.CLIENT_VCLOCK)
    for i in range(5):
        record = apply_put(record, context_clock(record), b"a%d" % i, coordinator="n1",
                           client_id="alice", now=float(i), truncation=policy)
    # (session 23: a counter comes from the context, not the client: {n1 dave: 8} read)
    record = apply_put(record, VClock.of({"n1 dave": 8}), b"d", coordinator="n1",
                       client_id="dave", now=4.5, truncation=policy)
    assert len(record.siblings) == 2 and record.floor == 0
    first = apply_put(record, context_clock(record), b"B0", coordinator="n2",
                      client_id="bob", now=20.0, truncation=policy)
    # the first keeps the own pairs of the versions it supersedes (session 30)
    assert first.floor == 0 and len(context_clock(first).pairs) == 3
    after = apply_put(first, context_clock(first), b"B", coordinator="n2",
                      client_id="bob", now=20.0, truncation=policy)
    assert [s.clock.pairs for s in after.siblings] == [(("n2 bob", 2),)]
    assert after.floor == 9
    again = apply_put(after, VClock(), b"D", coordinator="n1", client_id="dave", now=21.0)
    (minted,) = [s for s in again.siblings if s.value == b"D"]
    assert minted.clock.counter("n1 dave") == 10
